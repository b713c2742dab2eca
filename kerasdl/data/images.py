"""Image classification datasets: MNIST, Fashion-MNIST and USPS.

Each dataset is looked for in three places, in order:

1. a local copy under `$KERASDL_DATA_DIR`: `keras-datasets/` for MNIST and
   Fashion-MNIST, `usps/usps.h5` for USPS;
2. a download: through `keras.datasets` (cached in `~/.keras/datasets`), or
   LIBSVM's copy of USPS;
3. offline, real data that something installed ships: scikit-learn's 1,797
   handwritten digits for MNIST, Debian's `dataset-fashion-mnist` package for
   Fashion-MNIST (nothing ships USPS). A warning says so, since results are
   then not comparable.
"""

import bz2
import dataclasses
import gzip
import sys
import warnings
from pathlib import Path

import numpy as np

from kerasdl.data.paths import DATA_DIR_ENV, local_file, reading
from kerasdl.errors import UsageError, check_choice
from kerasdl.names import TASKS
from kerasdl.presets import DRY_RUN_SIZES

DIGITS = tuple(str(i) for i in range(10))
FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
USPS_URL = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/"
IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def image_preprocessing(color_mode, scale):
    """How a loader made its images from files, as a model card's
    `preprocessing` entry records it: read in `color_mode` (`"grayscale"`
    or `"rgb"`), resized to the input shape, and their 0-255 pixel values
    multiplied by `scale`."""
    return {"color_mode": color_mode, "scale": scale, "resize": "bilinear"}


@dataclasses.dataclass
class ImageData:
    """Train, validation and test splits of an image dataset.

    Images are float32 in [0, 1] with shape (n, height, width, channels);
    labels are int class indices.
    """

    name: str
    source: str
    class_names: tuple
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    preprocessing: dict = dataclasses.field(
        default_factory=lambda: image_preprocessing("grayscale", 1 / 255))

    @property
    def input_shape(self):
        return self.x_train.shape[1:]

    @property
    def num_classes(self):
        return len(self.class_names)

    def summary(self):
        """One line: the dataset, where it came from, and its split sizes."""
        return (f"Data: {self.name} from {self.source}: {len(self.x_train)} train, "
                f"{len(self.x_val)} validation, {len(self.x_test)} test")

    def select_classes(self, classes, name):
        """Returns a copy holding only the examples of `classes` (indices),
        relabelled 0, 1, ... in the order given, as the task `name`."""
        classes = list(classes)
        lookup = np.full(self.num_classes, -1, "int32")
        lookup[classes] = np.arange(len(classes))

        def keep(x, y):
            kept = lookup[y] >= 0
            return x[kept], lookup[y[kept]]

        return dataclasses.replace(
            self, name=name, class_names=tuple(self.class_names[c] for c in classes),
            **dict(zip(("x_train", "y_train"), keep(self.x_train, self.y_train))),
            **dict(zip(("x_val", "y_val"), keep(self.x_val, self.y_val))),
            **dict(zip(("x_test", "y_test"), keep(self.x_test, self.y_test))),
        )

    def map_images(self, transform):
        """Returns a copy whose images are `transform` of each split's."""
        return dataclasses.replace(self, x_train=transform(self.x_train),
                                   x_val=transform(self.x_val), x_test=transform(self.x_test))

    def head(self, train, val, test):
        """Returns a copy holding only the first examples of each split."""
        return dataclasses.replace(
            self,
            x_train=self.x_train[:train], y_train=self.y_train[:train],
            x_val=self.x_val[:val], y_val=self.y_val[:val],
            x_test=self.x_test[:test], y_test=self.y_test[:test],
        )


def _read_idx(path):
    """Reads a gzipped IDX file (the original MNIST format) into uint8."""
    with reading(path), gzip.open(path, "rb") as f:
        data = f.read()
        ndim = data[3]
        shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
        return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _read_idx_folder(folder):
    x_train, y_train, x_test, y_test = (_read_idx(folder / f) for f in IDX_FILES)
    return (x_train, y_train), (x_test, y_test)


def _mnist_local():
    path = local_file("keras-datasets", "mnist.npz")
    if path is None:
        return None
    with reading(path), np.load(path) as d:
        return ((d["x_train"], d["y_train"]), (d["x_test"], d["y_test"])), str(path)


def _fashion_local():
    folder = local_file("keras-datasets", "fashion-mnist")
    if folder is None or not all((folder / f).exists() for f in IDX_FILES):
        return None
    return _read_idx_folder(folder), str(folder)


def _usps_local():
    path = local_file("usps", "usps.h5")
    if path is None:
        return None
    import h5py

    with reading(path, "USPS in HDF5"), h5py.File(path, "r") as f:
        splits = tuple((f[split]["data"][()].reshape(-1, 16, 16), f[split]["target"][()])
                       for split in ("train", "test"))
    return splits, str(path)


def read_libsvm_usps(path):
    """Reads one of LIBSVM's bzip2-compressed USPS files: lines of a label
    from 1 (the digit 0) to 10, then `index:value` pixels in [-1, 1]; returns
    the 16x16 images in [0, 1] and the digits."""
    with reading(path, "a LIBSVM USPS file"), bz2.open(path, "rt") as f:
        lines = [line.split() for line in f if line.strip()]
    x = np.zeros((len(lines), 256), "float32")
    for row, (_, *pixels) in enumerate(lines):
        for pixel in pixels:
            index, value = pixel.split(":")
            x[row, int(index) - 1] = (float(value) + 1) / 2
    return x.reshape(-1, 16, 16), np.array([int(float(line[0])) - 1 for line in lines])


def _usps_download():
    import keras

    try:
        paths = [keras.utils.get_file(name, USPS_URL + name)
                 for name in ("usps.bz2", "usps.t.bz2")]
    except Exception as error:  # Keras raises bare Exceptions when offline.
        print(f"Download of usps failed: {error}", file=sys.stderr)
        return None
    return tuple(map(read_libsvm_usps, paths)), f"{USPS_URL}usps.bz2 (download cache)"


def _sklearn_digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        return None
    digits = load_digits()
    # 8x8 images with values 0..16 -> 24x24 by pixel repetition, padded to 28x28.
    x = np.kron(digits.images, np.ones((3, 3)))
    x = np.pad(x, ((0, 0), (2, 2), (2, 2))) * (255 / 16)
    x, y = x.round().astype(np.uint8), digits.target.astype(np.uint8)
    order = np.random.default_rng(0).permutation(len(x))
    cut = int(0.8 * len(x))
    train, test = order[:cut], order[cut:]
    note = "scikit-learn's 1,797 8x8 digits, upscaled to 28x28 (NOT MNIST)"
    return ((x[train], y[train]), (x[test], y[test])), note


def _debian_fashion():
    if not all((DEBIAN_FASHION_MNIST / f).exists() for f in IDX_FILES):
        return None
    return _read_idx_folder(DEBIAN_FASHION_MNIST), f"{DEBIAN_FASHION_MNIST} (Debian)"


def _download(name):
    def load():
        import keras

        try:
            arrays = getattr(keras.datasets, name).load_data()
        except Exception as error:  # Keras raises bare Exceptions when offline.
            print(f"Download of {name} failed: {error}", file=sys.stderr)
            return None
        return arrays, f"keras.datasets.{name} (download cache)"

    return load


# The datasets that the image apps (classification, autoencoder, GAN) train on.
TRAINING_DATASETS = ("mnist", "fashion_mnist")
IMAGE_DATASETS = {
    "mnist": dict(class_names=DIGITS, local=_mnist_local, where="keras-datasets/",
                  download=_download("mnist"), fallback=_sklearn_digits),
    "fashion_mnist": dict(class_names=FASHION, local=_fashion_local, where="keras-datasets/",
                          download=_download("fashion_mnist"), fallback=_debian_fashion),
    "usps": dict(class_names=DIGITS, local=_usps_local, where="usps/usps.h5",
                 download=_usps_download, fallback=lambda: None),
}


def _find(name):
    spec = IMAGE_DATASETS[name]
    for step in ("local", "download", "fallback"):
        found = spec[step]()
        if found is not None:
            if step == "fallback":
                warnings.warn(
                    f"{name} is not available locally (${DATA_DIR_ENV}) or online; "
                    f"falling back to {found[1]}. Results are not comparable to "
                    f"published {name} figures.",
                    stacklevel=3,
                )
            return found
    raise UsageError(
        f"Cannot find {name}: set ${DATA_DIR_ENV} to a folder holding "
        f"{spec['where']}, or connect to the internet once to download it."
    )


def load_images(name, *, validation_size=5000, seed=0):
    """Loads an image dataset and splits a validation set off its train set.

    Args:
        name: one of `IMAGE_DATASETS` (`"mnist"`, `"fashion_mnist"`, `"usps"`).
        validation_size: number of training images held out for validation,
            or a fraction of the training set when below 1.
        seed: seed of the shuffle that picks the validation images.

    Returns:
        An `ImageData`.

    Raises:
        UsageError: for an unknown name, or when no copy can be found.
    """
    check_choice("dataset", name, IMAGE_DATASETS)
    ((x_train, y_train), (x_test, y_test)), source = _find(name)
    if validation_size < 1:
        validation_size = int(round(validation_size * len(x_train)))
    if validation_size > len(x_train) // 2:
        # The small offline fallback: keep most of it for training.
        warnings.warn(f"{name} from {source} has only {len(x_train)} training images; "
                      f"holding out {len(x_train) // 10} for validation instead of "
                      f"{validation_size}", stacklevel=2)
        validation_size = len(x_train) // 10
    order = np.random.default_rng(seed).permutation(len(x_train))
    val, train = order[:validation_size], order[validation_size:]

    def scale(x):  # bytes from 0 to 255, or floats in [0, 1]
        return (x.astype("float32") / (255.0 if x.dtype == np.uint8 else 1.0))[..., None]

    return ImageData(
        name=name, source=source, class_names=IMAGE_DATASETS[name]["class_names"],
        x_train=scale(x_train[train]), y_train=y_train[train].astype("int32"),
        x_val=scale(x_train[val]), y_val=y_train[val].astype("int32"),
        x_test=scale(x_test), y_test=y_test.astype("int32"),
    )


def load_task(name, *, validation_size=5000, seed=0):
    """Loads the classification task `name` from `TASKS`: `load_images` of
    its dataset, keeping only its classes, relabelled from 0; or a whole
    dataset of `IMAGE_DATASETS` that is not a task (USPS).

    Raises:
        UsageError: for an unknown name, or when no copy can be found.
    """
    if name in IMAGE_DATASETS and name not in TASKS:
        return load_images(name, validation_size=validation_size, seed=seed)
    dataset, classes = TASKS[check_choice("task", name, TASKS)]
    images = load_images(dataset, validation_size=validation_size, seed=seed)
    return images if len(classes) == images.num_classes else images.select_classes(
        classes, name)


def load_run_images(config, task=None):
    """Loads the images an app config names: the task `task`, by default its
    `dataset`, with a validation split of `validation_size` picked with
    `seed`; only the first few images of each split
    (`presets.DRY_RUN_SIZES`) when `dry_run`."""
    images = load_task(task or config["dataset"], seed=config["seed"],
                       validation_size=config["validation_size"])
    return images.head(**DRY_RUN_SIZES) if config["dry_run"] else images


def labels_per_class(y, count, seed=0):
    """Picks `count` examples of each class, at random: the labelled subset
    of a few-label experiment.

    Args:
        y: int class labels.
        count: examples per class; a class with fewer gives all it has.
        seed: seed of the pick.

    Returns:
        The sorted indices of the examples picked.
    """
    rng = np.random.default_rng(seed)
    picked = [rng.permutation(np.flatnonzero(y == label))[:count] for label in np.unique(y)]
    return np.sort(np.concatenate(picked))


def pixel_clusters(x, k, seed=0, iterations=30):
    """Groups images into `k` clusters by k-means on their pixels, without
    labels: similar-looking images (on MNIST, mostly one digit drawn one way)
    share a cluster.

    Args:
        x: images, `(n, ...)`.
        k: the number of clusters.
        seed: seed of the first centres (`k` images picked at random).
        iterations: the most assignment-and-update rounds; it stops earlier
            when no image changes cluster.

    Returns:
        The cluster of each image, int32 `(n,)`.

    Raises:
        UsageError: when there are fewer images than clusters.
    """
    if not 0 < k <= len(x):
        raise UsageError(f"Cannot make {k} clusters of {len(x)} images: choose 1 to {len(x)}")
    x = np.asarray(x, "float32").reshape(len(x), -1)
    centres = x[np.random.default_rng(seed).choice(len(x), k, replace=False)]
    norms = (x ** 2).sum(axis=1, keepdims=True)
    clusters = None
    for _ in range(iterations):
        distances = norms - 2 * x @ centres.T + (centres ** 2).sum(axis=1)
        found = distances.argmin(axis=1).astype("int32")
        if clusters is not None and np.array_equal(found, clusters):
            break
        clusters = found
        for j in np.unique(clusters):
            centres[j] = x[clusters == j].mean(axis=0)
    return clusters


def load_image_folder(folder, image_size, *, validation_size=0.1, test_size=0.2, seed=0):
    """Loads a folder of images with one subfolder per class, and splits it
    at random into train, validation and test sets.

    The images are read by `keras.utils.image_dataset_from_directory`
    (which needs TensorFlow installed, whatever the backend), resized to
    `image_size` x `image_size`, in RGB, with pixel values in [0, 255] as
    ImageNet backbones take them.

    Args:
        folder: the folder; each subfolder's name is a class name.
        image_size: the side of the resized images.
        validation_size, test_size: the fractions of the images held out.
        seed: seed of the split.

    Returns:
        An `ImageData`.

    Raises:
        UsageError: when the folder is missing or holds no images in class
            subfolders.
    """
    import keras

    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"Image folder not found: {str(folder)!r}")
    try:
        dataset = keras.utils.image_dataset_from_directory(
            folder, labels="inferred", label_mode="int", color_mode="rgb",
            image_size=(image_size, image_size), batch_size=None, shuffle=False,
            verbose=False)
    except ValueError as error:
        raise UsageError(f"Cannot read images from {str(folder)!r}: {error}") from None
    pairs = [(np.asarray(x), int(y)) for x, y in dataset.as_numpy_iterator()]
    x = np.stack([p[0] for p in pairs]).astype("float32")
    y = np.array([p[1] for p in pairs], "int32")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = max(1, int(round(test_size * len(x))))
    n_val = max(1, int(round(validation_size * len(x))))
    test, val, train = np.split(order, [n_test, n_test + n_val])
    if not len(train):
        raise UsageError(f"{str(folder)!r} holds only {len(x)} images: too few to split")
    return ImageData(
        name=folder.name, source=str(folder), class_names=tuple(dataset.class_names),
        x_train=x[train], y_train=y[train], x_val=x[val], y_val=y[val],
        x_test=x[test], y_test=y[test], preprocessing=image_preprocessing("rgb", 1.0),
    )
