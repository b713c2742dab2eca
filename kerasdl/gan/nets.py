"""The DCGAN's two nets for small images, the generator and the
discriminator; what they are conditioned on; and the mixture that samples a
generator conditioned on clusters as an unconditional one."""

import math

import keras
import numpy as np
from keras import layers, ops

from kerasdl.data import pixel_clusters


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


def conditioning(images, conditional=False, clusters=0, seed=0):
    """What both nets of a GAN on `images` (an `ImageData`) see besides the
    images or noise: the class (`conditional`), else the k-means cluster of
    the image's pixels among `clusters` (found without labels, see
    `data.pixel_clusters`), else nothing.

    Returns:
        `(targets, num_classes, shares)`: what `fit` takes as `y` (the
        labels, or the cluster of each training image), the `num_classes` of
        the nets (`None` for nothing), and the share of the training images
        in each cluster (`None` without clusters).
    """
    if conditional or not clusters:
        return images.y_train, images.num_classes if conditional else None, None
    targets = pixel_clusters(images.x_train, clusters, seed=seed)
    shares = np.bincount(targets, minlength=clusters) / len(targets)
    print(f"Clusters: {clusters} k-means clusters of the training images' pixels (no "
          f"labels), {shares.min():.1%} to {shares.max():.1%} of them each", flush=True)
    return targets, clusters, shares
