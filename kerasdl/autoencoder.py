"""Autoencoders: dense and convolutional, plain or denoising; the tied
dense layer `DenseTranspose`; greedy layer-wise pretraining (Bengio et al.,
2007; Vincent et al., 2010); reconstruction metrics; and classifiers on a
pretrained encoder against the same from scratch, on a few labels.

Each builder returns a flat functional `keras.Model` that maps images to
their reconstruction (a sigmoid per pixel); `encoder_of(autoencoder)` is its
encoder as a model of its own. (Flat, because Keras restores the weight
sharing of `DenseTranspose` within one model's layers.) With `noise`, the
inputs are corrupted during training only: Gaussian noise of that standard
deviation, or masking noise that zeroes that fraction of the inputs.
"""

import math
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from kerasdl import backend, data, plots, training
from kerasdl.errors import UsageError, check_choice

NOISES = ("gaussian", "masking")


@keras.saving.register_keras_serializable(package="kerasdl")
class DenseTranspose(layers.Layer):
    """A dense layer whose kernel is another `Dense` layer's, transposed.

    The decoder half of a tied autoencoder: `W` encodes and `W^T` decodes.
    It owns only its bias; training it trains the shared kernel. A model that
    holds both layers saves and loads with the tie intact (Keras' object
    sharing restores the same `Dense` instance).

    Args:
        dense: the `Dense` layer whose kernel is shared.
        activation: the activation of this layer.
    """

    def __init__(self, dense, activation=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(dense, dict):
            dense = keras.saving.deserialize_keras_object(dense)
        self.dense = dense
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        units = self.dense.kernel.shape[0]
        self.bias = self.add_weight(name="bias", shape=(units,), initializer="zeros")

    def call(self, inputs):
        return self.activation(ops.matmul(inputs, ops.transpose(self.dense.kernel))
                               + self.bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.dense.kernel.shape[0])

    def get_config(self):
        return {**super().get_config(),
                "dense": keras.saving.serialize_keras_object(self.dense),
                "activation": keras.activations.serialize(self.activation)}


def _phase_taps(kernel, stride):
    """For one axis of a "same" transposed convolution: `(taps, before)`,
    where `taps[p, a, k]` is 1 when kernel tap `k` reaches output phase `a`
    (outputs `stride * j + a`) from input `j + p - before`."""
    offset = max(kernel - stride, 0) // 2  # the padding TensorFlow's SAME puts first
    reach = [(a, k, (a + offset - k) // stride) for a in range(stride) for k in range(kernel)
             if (a + offset - k) % stride == 0]
    before = max(-min(d for _, _, d in reach), 0)
    taps = np.zeros((before + max(max(d for _, _, d in reach), 0) + 1, stride, kernel),
                    "float32")
    for a, k, d in reach:
        taps[d + before, a, k] = 1
    return taps, before


@keras.saving.register_keras_serializable(package="kerasdl")
class PhaseConv2DTranspose(layers.Conv2DTranspose):
    """`Conv2DTranspose` with "same" padding computed as one ordinary
    convolution: each of its stride x stride output phases is a set of
    output channels of that convolution, and the phases are then
    interleaved. The same weights and outputs (to rounding) as
    `Conv2DTranspose`, without the input-dilated convolution that XLA runs
    slowly on a CPU (jax-ml/jax#23783; see BENCHMARKS.md). Used where
    `backend.phase_conv_transpose()` says it is faster; elsewhere it is
    `Conv2DTranspose`."""

    def call(self, inputs):
        if (not backend.phase_conv_transpose() or self.padding != "same"
                or None in inputs.shape[1:3]
                or self.data_format != "channels_last"
                or self.output_padding is not None or max(self.dilation_rate) > 1):
            return super().call(inputs)
        (rows, top), (cols, left) = map(_phase_taps, self.kernel_size, self.strides)
        (sr, sc), filters = self.strides, self.filters
        # kernel: (height, width, filters, input channels) -> a phase kernel
        # (window rows, window columns, input channels, phases x filters).
        phases = ops.einsum("par,qbs,rsoi->pqiabo", rows, cols, self.kernel)
        kernel = ops.reshape(phases, (rows.shape[0], cols.shape[0], -1, sr * sc * filters))
        padded = ops.pad(inputs, [[0, 0], [top, rows.shape[0] - 1 - top],
                                  [left, cols.shape[0] - 1 - left], [0, 0]])
        height, width = inputs.shape[1], inputs.shape[2]
        outputs = ops.reshape(ops.conv(padded, kernel), (-1, height, width, sr, sc, filters))
        outputs = ops.reshape(ops.transpose(outputs, (0, 1, 3, 2, 4, 5)),
                              (-1, height * sr, width * sc, filters))
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs) if self.activation else outputs


@keras.saving.register_keras_serializable(package="kerasdl")
class MaskingNoise(layers.Layer):
    """Zeroes a random `rate` of the inputs during training (no rescaling,
    unlike `Dropout`): the masking corruption of denoising autoencoders."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training or not self.rate:
            return inputs
        keep = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator) >= self.rate
        return ops.where(keep, inputs, ops.zeros_like(inputs))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def noise_layer(noise=0.0, noise_type="gaussian"):
    """The corruption layer of a denoising autoencoder, or `None` without noise."""
    check_choice("noise type", noise_type, NOISES)
    if not noise:
        return None
    if noise_type == "gaussian":
        return layers.GaussianNoise(noise, name="noise")
    return MaskingNoise(noise, name="noise")


def _autoencoder(name, input_shape, encoder, decoder, noise, noise_type):
    """Chains the corruption, the `encoder` layers (the last named "code")
    and the `decoder` layers into one flat functional model."""
    inputs = keras.Input(input_shape)
    corrupt = noise_layer(noise, noise_type)
    x = corrupt(inputs) if corrupt else inputs
    for layer in encoder + decoder:
        x = layer(x)
    return keras.Model(inputs, x, name=name)


def encoder_of(autoencoder):
    """The encoder of `autoencoder` as a model of its own, which shares the
    autoencoder's layers (and so its weights): input to code, no noise."""
    stack = [layer for layer in autoencoder.layers
             if not isinstance(layer, layers.InputLayer) and layer.name != "noise"]
    names = [layer.name for layer in stack]
    inputs = keras.Input(autoencoder.input_shape[1:])
    x = inputs
    for layer in stack[:names.index("code") + 1]:
        x = layer(x)
    return keras.Model(inputs, x, name="encoder")


def dense_autoencoder(input_shape, *, code_size=32, hidden=(128, 64), activation="relu",
                      tied=False, noise=0.0, noise_type="gaussian"):
    """A dense autoencoder: input, `hidden` layers, a code of `code_size`
    (all with `activation`), and the mirror image back to a sigmoid per pixel.

    Args:
        input_shape: the image shape, such as `(28, 28, 1)`.
        code_size: units of the code layer.
        hidden: units of the hidden layers between input and code.
        activation: of the encoder layers and of the hidden decoder layers.
        tied: decode with `DenseTranspose` layers that share the encoder's
            kernels, as greedy pretraining needs.
        noise, noise_type: the input corruption (see the module docstring).

    Returns:
        The autoencoder. Its encoder layers are `encode_1`, ..., `code` and
        its decoder layers the mirror image `decode_...`, ..., `decode_1`
        (pair 1 the outermost).
    """
    sizes = [math.prod(input_shape), *hidden, code_size]
    depth = len(sizes) - 1
    dense = [layers.Dense(units, activation=activation,
                          name="code" if i == depth else f"encode_{i}")
             for i, units in enumerate(sizes[1:], 1)]
    decoder = []
    for i in range(depth, 0, -1):
        output = "sigmoid" if i == 1 else activation
        decoder.append(
            DenseTranspose(dense[i - 1], output, name=f"decode_{i}") if tied
            else layers.Dense(sizes[i - 1], activation=output, name=f"decode_{i}"))
    return _autoencoder("dense_autoencoder", input_shape, [layers.Flatten(), *dense],
                        [*decoder, layers.Reshape(input_shape)], noise, noise_type)


def conv_autoencoder(input_shape, *, code_size=32, width=32, noise=0.0,
                     noise_type="gaussian"):
    """A convolutional autoencoder: two stride-2 3x3 convolutions (`width`
    and `2 * width` channels) and a linear dense code of `code_size`; the
    decoder mirrors it with transposed convolutions.

    Args:
        input_shape: the image shape; height and width divisible by 4.
        code_size: units of the code layer (linear).
        width: channels of the first convolution.
        noise, noise_type: the input corruption (see the module docstring).

    Returns:
        The autoencoder; its encoder ends at the layer named `code`.

    Raises:
        UsageError: when the image sides are not divisible by 4.
    """
    height, side, channels = input_shape
    if height % 4 or side % 4:
        raise UsageError(f"conv autoencoder needs image sides divisible by 4, "
                         f"got {height}x{side}")
    small = (height // 4, side // 4, 2 * width)
    encoder = [
        layers.Conv2D(width, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dense(code_size, name="code"),
    ]
    decoder = [
        layers.Dense(math.prod(small), activation="relu"),
        layers.Reshape(small),
        PhaseConv2DTranspose(2 * width, 3, strides=2, padding="same", activation="relu"),
        PhaseConv2DTranspose(width, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2D(channels, 3, padding="same", activation="sigmoid"),
    ]
    return _autoencoder("conv_autoencoder", input_shape, encoder, decoder, noise,
                        noise_type)


AUTOENCODERS = {"dense": dense_autoencoder, "conv": conv_autoencoder}


def build_autoencoder(arch, input_shape, **options):
    """Builds the autoencoder `arch` from `AUTOENCODERS` with `options`.

    Raises:
        UsageError: for an unknown architecture or option value.
    """
    return AUTOENCODERS[check_choice("architecture", arch, AUTOENCODERS)](
        input_shape, **options)


def tied_pairs(autoencoder):
    """Returns the `(Dense, DenseTranspose)` pairs of a tied dense
    autoencoder, outermost first.

    Raises:
        UsageError: when `autoencoder` is not a tied dense autoencoder.
    """
    pairs = [(layer.dense, layer) for layer in autoencoder.layers
             if isinstance(layer, DenseTranspose)]
    if not pairs:
        raise UsageError("greedy pretraining needs a tied dense autoencoder "
                         "(dense_autoencoder(..., tied=True))")
    return pairs[::-1]


def classifier_on_encoder(encoder, num_classes):
    """A softmax classifier on the code of `encoder` (whose layers it shares)."""
    return keras.Sequential([encoder, layers.Dense(num_classes, activation="softmax")],
                            name="encoder_classifier")


EPSILON = 1e-7  # Keras' clipping of probabilities in binary cross-entropy


def reconstruction_metrics(reconstructed, x):
    """Mean squared error and binary cross-entropy per pixel.

    Args:
        reconstructed: the autoencoder's outputs, in (0, 1).
        x: the original images, in [0, 1].

    Returns:
        A dict with `test_mse` and `test_bce`.
    """
    p = np.clip(reconstructed, EPSILON, 1 - EPSILON)
    bce = -np.mean(x * np.log(p) + (1 - x) * np.log(1 - p))
    return {"test_mse": float(np.mean((reconstructed - x) ** 2)), "test_bce": float(bce)}


def compile_autoencoder(model, *, total_steps, lr, schedule="constant"):
    """Compiles an autoencoder with Adam, binary cross-entropy per pixel as
    the loss and the mean squared error as a metric."""
    training.compile_model(model, total_steps=total_steps, lr=lr, schedule=schedule,
                           loss="binary_crossentropy", metrics=("mean_squared_error",))


def greedy_stages(autoencoder):
    """Walks the tied pairs of `autoencoder`, outermost first, leaving only
    the current pair trainable; all pairs are trainable again at the end.

    Yields:
        `(index, encode_layer, decode_layer)`, index from 0.

    Raises:
        UsageError: when `autoencoder` is not a tied dense autoencoder.
    """
    pairs = tied_pairs(autoencoder)
    for index, (encode, decode) in enumerate(pairs):
        for other, (e, d) in enumerate(pairs):
            e.trainable = d.trainable = other == index
        yield index, encode, decode
    for encode, decode in pairs:
        encode.trainable = decode.trainable = True


def greedy_pretrain(autoencoder, x, *, epochs, batch_size, optimizer="adam", lr=1e-3,
                    schedule="constant", noise=0.0, noise_type="gaussian", output_dir):
    """Pretrains a tied dense autoencoder one encoder/decoder pair at a time.

    Pair 1 learns to reconstruct the pixels (binary cross-entropy); each
    next pair learns to reconstruct the code of the frozen pairs outside it
    (mean squared error), from that code corrupted by `noise`. Each finished
    pair is saved, so an interrupted run resumes at the pair it stopped in.

    Args:
        autoencoder: from `dense_autoencoder(..., tied=True)`.
        x: the training images (no labels).
        epochs: epochs per pair.
        batch_size, optimizer, lr, schedule: as in `training.compile_model`.
        noise, noise_type: the corruption of each pair's input.
        output_dir: the folder for each pair's run (`pair_1/`, ...).
    """
    output_dir = Path(output_dir)
    pairs = len(tied_pairs(autoencoder))
    h = x.reshape(len(x), -1)
    for index, encode, decode in greedy_stages(autoencoder):
        name = f"pair_{index + 1}"
        print(f"Greedy pretraining: pair {index + 1} of {pairs}, "
              f"{h.shape[1]} -> {encode.units} -> {h.shape[1]}", flush=True)
        inputs = keras.Input(h.shape[1:])
        corrupt = noise_layer(noise, noise_type)
        stage = keras.Model(inputs, decode(encode(corrupt(inputs) if corrupt else inputs)),
                            name=name)
        finished = output_dir / f"{name}.weights.h5"
        if finished.exists():
            stage.load_weights(finished)
        else:
            training.compile_model(
                stage, total_steps=training.total_steps(epochs, len(h), batch_size),
                optimizer=optimizer, lr=lr, schedule=schedule, metrics=(),
                loss="binary_crossentropy" if index == 0 else "mean_squared_error")
            training.fit(stage, (h, h), None, epochs=epochs, batch_size=batch_size,
                         output_dir=output_dir / name)
            stage.save_weights(finished)
        h = keras.Model(inputs, encode(inputs)).predict(h, batch_size=1000, verbose=0)


def compare_on_few_labels(encoder, images, *, labels_per_class, draws, epochs, batch_size,
                          lr, schedule, seed, output_dir):
    """Fine-tunes a classifier on `encoder` and trains the same classifier
    from random weights, on `labels_per_class` labels per class, for each of
    `draws` draws of the labelled examples; both start their head from the
    same weights.

    Returns:
        A dict: `pretrained_accuracy` and `scratch_accuracy` (test accuracy,
        the mean over draws), `pretrained_accuracies` and
        `scratch_accuracies` (per draw), and `labels_per_class`.
    """
    test = (images.x_test, images.y_test)
    pretrained_weights = encoder.get_weights()
    accuracies = {"pretrained": [], "scratch": []}
    for draw in range(draws):
        few = data.labels_per_class(images.y_train, labels_per_class, seed=seed + draw)
        for name, found in accuracies.items():
            keras.utils.set_random_seed(seed + draw)
            start = keras.models.clone_model(encoder)
            if name == "pretrained":
                start.set_weights(pretrained_weights)
            print(f"Classifier from the {name} encoder on {len(few)} labels "
                  f"(draw {draw + 1} of {draws})", flush=True)
            result = training.fit_and_evaluate(
                classifier_on_encoder(start, images.num_classes),
                (images.x_train[few], images.y_train[few]), None, test,
                output_dir=Path(output_dir) / f"classifier_{name}_{draw + 1}",
                epochs=epochs, batch_size=batch_size, lr=lr, schedule=schedule)
            found.append(result["test_accuracy"])
    metrics = {}
    for name, found in accuracies.items():
        metrics.update({f"{name}_accuracy": float(np.mean(found)), f"{name}_accuracies": found})
    return {**metrics, "labels_per_class": labels_per_class}


def plot_reconstructions(autoencoder, encoder, images, output_dir):
    """Writes `reconstructions.png` (ten test images: original, noisy when
    the autoencoder corrupts its input, reconstructed) and `codes.png` (the
    test codes, in 2-D or their PCA, coloured by label) into `output_dir`."""
    output_dir = Path(output_dir)
    shown = images.x_test[:10]
    rows, titles = [shown], ["original"]
    if "noise" in [layer.name for layer in autoencoder.layers]:
        noisy = ops.convert_to_numpy(autoencoder.get_layer("noise")(shown, training=True))
        rows, titles = rows + [np.clip(noisy, 0, 1)], titles + ["noisy"]
    rows.append(autoencoder.predict(rows[-1], verbose=0))
    plots.image_grid(rows, output_dir / "reconstructions.png", titles + ["reconstructed"],
                     title=f"{autoencoder.name} on {images.name} test images")
    codes = encoder.predict(images.x_test, batch_size=1000, verbose=0)
    plots.scatter_2d(codes if codes.shape[-1] == 2 else plots.pca_2d(codes), images.y_test,
                     output_dir / "codes.png", images.class_names,
                     title=f"Test codes ({'PCA of ' if codes.shape[-1] != 2 else ''}"
                           f"{codes.shape[-1]}-d), coloured by label")


def summary(metrics):
    """The reconstruction figures of an autoencoder run's `metrics`, and the
    classifiers' accuracies where it has them, as one line."""
    line = f"Test BCE {metrics['test_bce']:.4f}, MSE {metrics['test_mse']:.4f} per pixel"
    if "pretrained_accuracy" in metrics:
        line += (f"; classifier accuracy (mean of {len(metrics['pretrained_accuracies'])} "
                 f"draws of the labels) pretrained {metrics['pretrained_accuracy']:.4f}, "
                 f"scratch {metrics['scratch_accuracy']:.4f}")
    return line


def trained_whole(config):
    """The config of tuning trials, which train the autoencoder whole.

    Raises:
        UsageError: when `config` pretrains greedily.
    """
    if config["pretrain"] != "none":
        raise UsageError("kerasdl tune autoencoder tunes the autoencoder trained whole; "
                         f"drop --pretrain {config['pretrain']}")
    return config
