"""Layers that Keras does not ship, written with `keras.ops`, and Keras'
layers in the form that runs fastest on each backend (`kerasdl.backend`)."""

import keras
from keras import layers, ops

from kerasdl import backend


@keras.saving.register_keras_serializable(package="kerasdl")
class RandomShift(layers.Layer):
    """Shifts each image by a random whole number of pixels, up to
    `max_shift` each way along each axis, filling with zeros; training only.

    The same augmentation as `RandomTranslation` with nearest-pixel
    interpolation, but done as two small batched matrix products (a one-hot
    row selector and a one-hot column selector per image), which costs little
    on every backend, where the general affine transform is slow on JAX and
    PyTorch CPUs.

    Args:
        max_shift: the largest shift in pixels.
        seed: seed of the shifts.
    """

    def __init__(self, max_shift=3, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.max_shift, self.seed = max_shift, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _selector(self, size, batch, dtype):
        """One-hot `(batch, size, size)` matrices; entry `[b, i, j]` is 1
        where output position `i` reads input position `j = i - shift[b]`."""
        shift = keras.random.randint((batch, 1, 1), -self.max_shift, self.max_shift + 1,
                                     seed=self.seed_generator)
        out = ops.arange(size)[None, :, None]
        source = ops.arange(size)[None, None, :]
        return ops.cast(ops.equal(source, out - shift), dtype)

    def call(self, images, training=False):
        if not training or not self.max_shift:
            return images
        batch = ops.shape(images)[0]
        rows = self._selector(images.shape[1], batch, images.dtype)
        cols = self._selector(images.shape[2], batch, images.dtype)
        images = ops.einsum("bij,bjwc->biwc", rows, images)
        return ops.einsum("bvw,bhwc->bhvc", cols, images)

    def get_config(self):
        return {**super().get_config(), "max_shift": self.max_shift, "seed": self.seed}


@keras.saving.register_keras_serializable(package="kerasdl")
class BlockMaxPooling2D(layers.MaxPooling2D):
    """`MaxPooling2D` with its default 2x2 window and stride, computed as a
    reshape into 2x2 blocks and a max over each block (an odd last row or
    column is dropped, as "valid" pooling does). The same outputs as
    `MaxPooling2D`, and the same gradients wherever a window has one
    largest value; where several tie, the gradient is split among them. On
    an XLA CPU it avoids the slow `select_and_scatter` backward pass of
    windowed pooling (BENCHMARKS.md). Used where
    `backend.block_max_pooling()` says it is faster; elsewhere it is
    `MaxPooling2D`. `kerasdl.models.for_inference` saves it as
    `MaxPooling2D`."""

    def call(self, inputs):
        if (not backend.block_max_pooling() or self.pool_size != (2, 2)
                or self.strides != (2, 2) or self.padding != "valid"
                or self.data_format != "channels_last" or None in inputs.shape[1:]):
            return super().call(inputs)
        rows, cols = inputs.shape[1] // 2, inputs.shape[2] // 2
        blocks = ops.reshape(inputs[:, :2 * rows, :2 * cols],
                             (-1, rows, 2, cols, 2, inputs.shape[3]))
        return ops.max(blocks, axis=(2, 4))


class _OneOpLoop:
    """Runs a recurrent layer's loop over time as one op of the backend,
    where `backend.recurrent_loop` has one (PyTorch), else as Keras does."""

    def inner_loop(self, sequences, initial_state, mask, training=False):
        result = backend.recurrent_loop(self, sequences, initial_state, mask, training)
        if result is None:
            return super().inner_loop(sequences, initial_state, mask, training=training)
        return result


@keras.saving.register_keras_serializable(package="kerasdl")
class SimpleRNN(_OneOpLoop, layers.SimpleRNN):
    """`keras.layers.SimpleRNN`, with its loop over time run as one op where
    the backend has one (`backend.recurrent_loop`): the same outputs."""


@keras.saving.register_keras_serializable(package="kerasdl")
class LSTM(_OneOpLoop, layers.LSTM):
    """`keras.layers.LSTM`, with its loop over time run as one op where the
    backend has one (`backend.recurrent_loop`): the same outputs."""


@keras.saving.register_keras_serializable(package="kerasdl")
class GRU(_OneOpLoop, layers.GRU):
    """`keras.layers.GRU`, with its loop over time run as one op where the
    backend has one (`backend.recurrent_loop`): the same outputs."""
