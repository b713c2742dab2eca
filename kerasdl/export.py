"""Export and reuse: other formats, inputs read as a model's card says, and
the top classes of a prediction."""

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np

from kerasdl import runs
from kerasdl.data.paths import reading
from kerasdl.errors import UsageError, check_choice

# Each export format, and the backends that can produce it here (Keras
# 3.15): PyTorch's SavedModel export fails in torch.export, and JAX's ONNX
# (through jax2onnx) gives MaxPool nodes that onnxruntime rejects. A .keras
# file loads on every backend, so on another backend `export_model` hands the
# model to one of these in a new process.
FORMATS = {
    "keras": ("tensorflow", "jax", "torch"),
    "tf_saved_model": ("tensorflow", "jax"),
    "onnx": ("tensorflow", "torch"),
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def export_model(model, path, format, overwrite=False):
    """Writes `model` to `path` in `format`: `"keras"` (`model.save`), or
    `"tf_saved_model"` or `"onnx"` (`model.export`).

    When the running backend cannot produce `format` (`FORMATS`), the model
    is saved as a .keras file and exported by `kerasdl export` on an
    installed backend that can, in a new process: the same weights, so the
    same predictions.

    Raises:
        UsageError: for an unknown format, one that no installed backend can
            produce, an existing `path` without `overwrite`, or a failed
            export.
    """
    check_choice("format", format, FORMATS)
    path = Path(path)
    if format == "keras" and path.suffix != ".keras":
        raise UsageError(f"A Keras model file must end in .keras, got {str(path)!r}")
    if path.exists():
        if not overwrite:
            raise UsageError(f"{path} already exists; pass --overwrite to replace it")
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    runs.make_folder(path.parent, "--output")
    backend = keras.backend.backend()
    if backend not in FORMATS[format]:
        return _export_on_another_backend(model, path, format, backend)
    if format == "keras":
        model.save(path)
    else:
        # PyTorch's exporter refuses a model that has never been called.
        model(np.zeros((1, *model.input_shape[1:]), "float32"))
        try:
            model.export(str(path), format=format, verbose=False)
        except ImportError as error:
            raise UsageError(f"Exporting {format} needs a package that is not installed: "
                             f"{error}") from None
    return path


def _export_on_another_backend(model, path, format, backend):
    """Exports `model` through `kerasdl export` on the first installed
    backend of `FORMATS[format]`, from a temporary .keras file."""
    able = FORMATS[format]
    other = next((name for name in able if importlib.util.find_spec(name)), None)
    if other is None:
        raise UsageError(f"The {backend} backend cannot export {format}, and none of the "
                         f"backends that can is installed: {', '.join(able)}")
    print(f"The {backend} backend cannot export {format}; exporting the same weights "
          f"with the {other} backend", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder) / "model.keras"
        model.save(saved)
        # The model is already in memory, so its loading was allowed: --unsafe.
        result = subprocess.run(
            [sys.executable, "-m", "kerasdl", "export", str(saved), "--format", format,
             "--output", str(path), "--backend", other, "--unsafe"],
            capture_output=True, text=True)
    if result.returncode:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise UsageError(f"Exporting {format} with the {other} backend failed: {last}")
    return path


def read_inputs(paths, input_shape, preprocessing):
    """Reads model inputs from files: images (PNG, JPEG) are converted,
    resized and scaled as `preprocessing` (a card's) says; `.npy` files are
    taken as they are, one example or a batch.

    Args:
        paths: the files.
        input_shape: the model's input shape, without the batch.
        preprocessing: the card's `preprocessing` dict, or `None` when the
            model has no card (then only `.npy` inputs are accepted).

    Returns:
        `(names, batch)`: a name per example, and a float32 array.

    Raises:
        UsageError: for a missing, damaged or unknown kind of file, or an
            array of the wrong shape or with NaN or Inf values.
    """
    names, examples = [], []
    for path in map(Path, paths):
        if not path.is_file():
            raise UsageError(f"No such input file: {str(path)!r}")
        suffix = path.suffix.lower()
        if suffix == ".npy":
            with reading(path, "a NumPy array of numbers", fix=None):
                array = np.load(path, allow_pickle=False).astype("float32")
            if array.shape == tuple(input_shape):
                array = array[None]
            if array.shape[1:] != tuple(input_shape):
                raise UsageError(f"{path} holds an array of shape {array.shape}; the model "
                                 f"takes {tuple(input_shape)}, or a batch of them")
            names += [f"{path}[{i}]" for i in range(len(array))] if len(array) > 1 else [
                str(path)]
            if not np.isfinite(array).all():
                raise UsageError(f"{path} holds NaN or Inf values; the model needs finite "
                                 "numbers")
            examples += list(array)
        elif suffix in IMAGE_SUFFIXES:
            if not isinstance(preprocessing, dict):
                raise UsageError(f"The model has no card saying how to preprocess images, "
                                 f"so {path} cannot be read; pass a .npy array instead")
            with reading(path, "an image", fix=None):
                image = keras.utils.load_img(
                    path, color_mode=preprocessing["color_mode"],
                    target_size=tuple(input_shape[:2]), interpolation=preprocessing["resize"])
            array = keras.utils.img_to_array(image, dtype="float32")
            names.append(str(path))
            examples.append(array * preprocessing["scale"])
        else:
            raise UsageError(f"Unknown input {str(path)!r}: expected an image "
                             f"({', '.join(IMAGE_SUFFIXES)}) or a .npy array")
    return names, np.stack(examples)


def top_classes(probabilities, class_names, k):
    """The `k` most probable classes of each row of `probabilities`, as
    lists of `(class name, probability)`."""
    k = min(k, probabilities.shape[-1])
    order = np.argsort(-probabilities, axis=-1)[:, :k]
    return [[(class_names[i], float(row[i])) for i in top]
            for row, top in zip(probabilities, order)]
