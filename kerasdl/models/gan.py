"""A DCGAN for small images: generator and discriminator builders, and the
`GAN` model whose `fit` alternates their updates on every backend."""

import math

import keras
import numpy as np
from keras import layers, ops

from kerasdl import backend
from kerasdl.errors import check_choice

from kerasdl.names import GENERATOR_LOSSES


def _label_inputs(num_classes, size, name):
    """A label input and its learned embedding of `size` units, or
    `(None, None)` for an unconditional net."""
    if num_classes is None:
        return None, None
    label = keras.Input((), dtype="int32", name="label")
    embedded = layers.Embedding(num_classes, size, name=f"{name}_label_embedding")(label)
    return label, embedded


def generator_classes(generator):
    """The number of classes a conditional generator from `build_generator`
    draws (the rows of its label embedding), or `None` when unconditional."""
    if len(generator.inputs) == 1:
        return None
    return generator.get_layer("generator_label_embedding").input_dim


def build_generator(image_shape=(28, 28, 1), latent_dim=64, width=64, num_classes=None):
    """Builds a DCGAN generator for images whose sides are multiples of 4.

    A dense layer maps the noise to a `side/4 x side/4 x 2*width` tensor; two
    upsampling convolutions (2x nearest-neighbour upsampling, then a 3x3
    convolution, BatchNorm, ReLU) double its size twice; a last convolution
    gives the image through tanh, rescaled to [0, 1] like the data.
    Upsampling then convolving avoids the checkerboard artefacts of
    transposed convolutions, and is twice as fast on JAX's CPU backend.

    Args:
        image_shape: `(height, width, channels)` of the images.
        latent_dim: the size of the noise vector.
        width: filters of the last upsampling convolution; the one before
            has twice as many.
        num_classes: for a class-conditional generator, the number of
            classes; the label's embedding is joined to the noise.

    Returns:
        A `keras.Model` from noise (and label) to images.
    """
    height, side, channels = image_shape
    if height % 4 or side % 4:
        raise ValueError(f"Image sides must be multiples of 4, got {image_shape!r}")
    noise = keras.Input((latent_dim,), name="noise")
    label, embedded = _label_inputs(num_classes, latent_dim, "generator")
    x = noise if label is None else layers.Concatenate()([noise, embedded])
    x = layers.Dense(height // 4 * side // 4 * 2 * width, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((height // 4, side // 4, 2 * width))(x)
    for filters in (2 * width, width):
        x = layers.UpSampling2D()(x)
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.Conv2D(channels, 3, padding="same", activation="tanh")(x)
    images = layers.Rescaling(0.5, offset=0.5, name="to_unit_range")(x)
    inputs = noise if label is None else [noise, label]
    return keras.Model(inputs, images, name="generator")


def build_discriminator(image_shape=(28, 28, 1), width=64, dropout=0.3, num_classes=None):
    """Builds a DCGAN discriminator: two strided convolutions with
    LeakyReLU (0.2) and dropout, and a dense layer that gives one logit,
    real against generated.

    Args:
        image_shape: `(height, width, channels)` of the images, in [0, 1].
        width: filters of the first convolution; the second has twice as
            many.
        dropout: dropout rate after each convolution.
        num_classes: for a class-conditional discriminator, the number of
            classes; the label's embedding is joined as one more image
            channel.

    Returns:
        A `keras.Model` from images (and label) to logits `(batch, 1)`.
    """
    images = keras.Input(image_shape, name="images")
    x = layers.Rescaling(2.0, offset=-1.0, name="to_tanh_range")(images)
    label, embedded = _label_inputs(num_classes, image_shape[0] * image_shape[1],
                                    "discriminator")
    if label is not None:
        plane = layers.Reshape((*image_shape[:2], 1))(embedded)
        x = layers.Concatenate()([x, plane])
    for filters in (width, 2 * width):
        x = layers.Conv2D(filters, 4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.Dropout(dropout)(x)
    logits = layers.Dense(1)(layers.Flatten()(x))
    inputs = images if label is None else [images, label]
    return keras.Model(inputs, logits, name="discriminator")


@keras.saving.register_keras_serializable(package="kerasdl")
class ClusterPick(layers.Layer):
    """Splits noise vectors into a cluster and the noise for a generator
    conditioned on clusters: the first component, mapped to a uniform number
    by the normal CDF, picks cluster `i` with probability `shares[i]`; the
    other components are the noise.

    Args:
        shares: the probability of each cluster, summing to 1.
    """

    def __init__(self, shares, **kwargs):
        super().__init__(**kwargs)
        self.shares = [float(share) for share in shares]

    def call(self, inputs):
        uniform = 0.5 * (1.0 + ops.erf(inputs[:, :1] / math.sqrt(2.0)))
        bounds = ops.convert_to_tensor(np.cumsum(self.shares)[:-1], inputs.dtype)
        cluster = ops.sum(ops.cast(uniform >= bounds, "int32"), axis=-1)
        return inputs[:, 1:], cluster

    def get_config(self):
        return {**super().get_config(), "shares": self.shares}


def cluster_mixture(generator, shares):
    """Turns a generator conditioned on clusters into an unconditional one.

    Trained on clusters of the unlabelled training images (see
    `data.pixel_clusters`), the generator draws each cluster apart; drawing
    the clusters in proportion to their sizes draws from the whole dataset.
    The returned model takes one more noise component, which picks the
    cluster (`ClusterPick`), so that it samples like any unconditional
    generator: standard normal noise in, images out.

    Args:
        generator: a generator from `build_generator` with `num_classes`
            set to the number of clusters.
        shares: the share of the training images in each cluster.

    Returns:
        A `keras.Model` from noise of `latent_dim + 1` components to images.
    """
    noise = keras.Input((generator.inputs[0].shape[-1] + 1,), name="noise")
    rest, cluster = ClusterPick(shares, name="cluster_pick")(noise)
    return keras.Model(noise, generator([rest, cluster]), name="cluster_mixture")


class OptimizerPair(keras.optimizers.Optimizer):
    """The discriminator's and the generator's optimizers, presented to Keras'
    trainers as the model's one optimizer.

    Its `variables` are both optimizers' state, so that JAX's trainer, which
    passes the optimizer's state through each step, keeps both.

    Args:
        discriminator, generator: the two built optimizers.
    """

    def __init__(self, discriminator, generator, name="gan_optimizers"):
        super().__init__(learning_rate=0.0, name=name)
        self.discriminator, self.generator = discriminator, generator
        self.built = True

    @property
    def variables(self):
        return self.discriminator.variables + self.generator.variables


class GAN(keras.Model):
    """A generator and a discriminator that `fit` trains in turn.

    Each step takes one discriminator update on a batch of real images and as
    many generated ones, then one generator update on new noise. The step's
    only backend-specific piece, computing gradients and applying them, is
    `kerasdl.backend.minimize`; everything else is shared.

    `fit` takes the real images as `x` and their labels as `y` (used by a
    conditional GAN, ignored otherwise). The logs are `d_loss`, `g_loss`, and
    the discriminator's mean probability of "real" on real and on generated
    images, `d_real` and `d_fake`.

    Args:
        generator, discriminator: models from `build_generator` and
            `build_discriminator`, both conditional or both not.
        label_smoothing: one-sided smoothing: real images get the target
            `1 - label_smoothing` in the discriminator's loss.
        generator_loss: `"non_saturating"`, maximise log D(G(z)) (the
            default), or `"minimax"`, minimise log(1 - D(G(z))).
        seed: seed of the noise.
    """

    def __init__(self, generator, discriminator, label_smoothing=0.0,
                 generator_loss="non_saturating", seed=None, **kwargs):
        super().__init__(**kwargs)
        check_choice("generator loss", generator_loss, GENERATOR_LOSSES)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = generator.inputs[0].shape[-1]
        self.num_classes = generator_classes(generator)
        self.conditional = self.num_classes is not None
        self.label_smoothing = label_smoothing
        self.generator_loss = generator_loss
        self.noise = keras.random.SeedGenerator(seed)
        self.trackers = [keras.metrics.Mean(name=name)
                         for name in ("d_loss", "g_loss", "d_real", "d_fake")]
        self.built = True

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """Sets the two optimizers, which may differ in learning rate;
        `kwargs` go to `keras.Model.compile` (such as `jit_compile`)."""
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)
        super().compile(optimizer=OptimizerPair(d_optimizer, g_optimizer), **kwargs)

    @property
    def metrics(self):
        return self.trackers

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _inputs(self, x, labels):
        """The nets' inputs: images or noise, with the labels when conditional."""
        x = ops.convert_to_tensor(x)
        return [x, ops.convert_to_tensor(labels, "int32")] if self.conditional else x

    def averaged_generator(self, calibration_samples=2000):
        """The generator to sample from: when the generator's optimizer keeps
        an exponential moving average of its weights (`use_ema=True`), a copy
        of the generator with those averaged weights, else the generator.

        Averaging the generator's weights over the last steps smooths out the
        oscillation of GAN training and gives better samples than the last
        step's weights. The copy's BatchNorm statistics are re-estimated for
        its own weights on `calibration_samples` noise vectors (the moving
        statistics were gathered with the unaveraged weights).

        Returns:
            A `keras.Model` with the generator's inputs and outputs.
        """
        optimizer = self.optimizer.generator
        if not optimizer.use_ema:
            return self.generator
        average = keras.models.clone_model(self.generator)
        average.set_weights(self.generator.get_weights())
        optimizer.finalize_variable_values(average.trainable_variables)
        # Copies of the averages: JAX's predict may donate the arrays it is given.
        average.set_weights(average.get_weights())
        noise = keras.random.normal((calibration_samples, self.latent_dim), seed=0)
        labels = ops.arange(calibration_samples) % self.num_classes if self.conditional else None
        norms = [layer for layer in average.layers
                 if isinstance(layer, layers.BatchNormalization)]
        momenta = [layer.momentum for layer in norms]
        for layer in norms:
            layer.momentum = 0.0
        average(self._inputs(noise, labels), training=True)
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
        return average

    def sample_noise(self, n):
        return keras.random.normal((n, self.latent_dim), seed=self.noise)

    def train_step(self, *args):
        return backend.train_step(self, self._step, *args)

    def _step(self, data):
        real, labels = data[:2]
        logs = {**self.discriminator_step(real, labels),
                **self.generator_step(ops.shape(real)[0], labels)}
        for tracker in self.trackers:
            tracker.update_state(logs[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.trackers}

    def discriminator_step(self, real, labels):
        """Updates the discriminator on `real` images and as many generated
        ones; returns `d_loss`, `d_real` and `d_fake`."""
        fake = ops.stop_gradient(self.generator(
            self._inputs(self.sample_noise(ops.shape(real)[0]), labels), training=True))

        def loss_fn():
            real_logits = self.discriminator(self._inputs(real, labels), training=True)
            fake_logits = self.discriminator(self._inputs(fake, labels), training=True)
            targets = ops.full_like(real_logits, 1.0 - self.label_smoothing)
            loss = (_bce(targets, real_logits)
                    + _bce(ops.zeros_like(fake_logits), fake_logits))
            return loss, (ops.mean(ops.sigmoid(real_logits)),
                          ops.mean(ops.sigmoid(fake_logits)))

        loss, (d_real, d_fake) = backend.minimize(
            loss_fn, self.discriminator.trainable_variables, self.optimizer.discriminator)
        return {"d_loss": loss, "d_real": d_real, "d_fake": d_fake}

    def generator_step(self, n, labels):
        """Updates the generator on `n` new samples (of `labels`, when
        conditional); returns `g_loss`."""
        def loss_fn():
            generated = self.generator(self._inputs(self.sample_noise(n), labels),
                                       training=True)
            logits = self.discriminator(self._inputs(generated, labels), training=True)
            if self.generator_loss == "non_saturating":
                return _bce(ops.ones_like(logits), logits), ()
            return -_bce(ops.zeros_like(logits), logits), ()

        loss, _ = backend.minimize(loss_fn, self.generator.trainable_variables,
                                   self.optimizer.generator)
        return {"g_loss": loss}


def _bce(targets, logits):
    """Mean binary cross-entropy of `logits` against `targets`."""
    return ops.mean(keras.losses.binary_crossentropy(targets, logits, from_logits=True))


# The GAN's search space for `kerasdl tune gan`, as data: settings of the
# app's config (`presets.GAN`). The objective is the FID of the samples
# against a validation split of the training images.
SEARCH_SPACE = {
    "lr_g": {"type": "float", "min": 1e-4, "max": 8e-4, "step": 2, "sampling": "log"},
    "lr_d": {"type": "float", "min": 1e-4, "max": 8e-4, "step": 2, "sampling": "log"},
    "latent_dim": {"type": "choice", "values": [32, 64, 128]},
    "d_width": {"type": "choice", "values": [32, 64, 128]},
    "label_smoothing": {"type": "choice", "values": [0.0, 0.1, 0.2]},
}
