"""Autoencoders: dense and convolutional, plain or denoising, and the tied
dense layer `DenseTranspose` that greedy layer-wise pretraining uses.

Each builder returns a flat functional `keras.Model` that maps images to
their reconstruction (a sigmoid per pixel); `encoder_of(autoencoder)` is its
encoder as a model of its own. (Flat, because Keras restores the weight
sharing of `DenseTranspose` within one model's layers.) With `noise`, the inputs are corrupted during training
only: Gaussian noise of that standard deviation, or masking noise that zeroes
that fraction of the inputs.
"""

import math

import keras
from keras import layers, ops

from kerasdl.errors import UsageError, check_choice

NOISES = ("gaussian", "masking")
ARCHS = ("dense", "conv")


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
        layers.Conv2DTranspose(2 * width, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu"),
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



# The autoencoders' search space for `kerasdl tune autoencoder`, as data:
# builder options and training settings (`kerasdl.tuning.TRAINING_KEYS`).
SEARCH_SPACE = {
    "code_size": {"type": "choice", "values": [16, 32, 64]},
    "noise": {"type": "float", "min": 0.0, "max": 0.3, "step": 0.1},
    "lr": {"type": "float", "min": 3e-4, "max": 1e-2, "step": 10**0.5, "sampling": "log"},
    "batch_size": {"type": "choice", "values": [128, 256]},
}
