"""TensorFlow implementations of the kerasdl backend functions."""

import contextlib

import tensorflow as tf


def device_info():
    """Returns 'GPU (name)' when TensorFlow sees a GPU, else 'CPU'."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    return f"GPU ({name})"


# Keras 3's `DataParallel` does not spread `model.fit` on TensorFlow (use
# tf.distribute there): a fit runs on one device.
DATA_PARALLEL = False


def phase_conv_transpose():
    """Whether `Conv2DTranspose` runs faster as an ordinary convolution over
    its output phases: not on TensorFlow, where the conv autoencoder's step
    took 1.7x as long (BENCHMARKS.md)."""
    return False


def block_max_pooling():
    """Whether 2x2 max pooling runs faster as a reshape and a max:
    not on TensorFlow, where it made the MNIST recipe's step 1.8x as long
    (BENCHMARKS.md)."""
    return False


def recurrent_loop(layer, sequences, initial_state, mask, training):
    """None, always: TensorFlow compiles Keras' loop over time into its
    graph (and runs cuDNN's on a GPU), so a recurrent layer runs Keras'
    own loop. The arguments are those of
    `kerasdl.backend.torch.recurrent_loop`."""
    return None


def clear_caches():
    """Frees per-model state that `keras.backend.clear_session()` leaves
    behind. TensorFlow needs nothing more."""


# Whether Keras' geometric augmentation layers may be compiled with the
# rest of a model (see the JAX module): Keras' own choice is kept here;
# TensorFlow compiles with XLA only on a GPU, where this was not tried.
JIT_GEOMETRIC_AUGMENTATION = False


# `Model.compile` options for models made of embedding lookups (word2vec):
# XLA even on a CPU, where Keras' "auto" leaves it off, and many steps per
# call; together 1.5x faster than Keras' defaults on a 2-core CPU.
LOOKUP_COMPILE_OPTIONS = {"jit_compile": True, "steps_per_execution": 50}


def minimize(loss_fn, variables, optimizer):
    """Takes one optimizer step on `variables` down the gradient of `loss_fn`.

    Args:
        loss_fn: a function of no arguments that returns `(loss, aux)`, a
            scalar loss and any other outputs (a tuple or dict of tensors).
        variables: the Keras variables to update.
        optimizer: a built Keras optimizer that knows `variables`.

    Returns:
        `(loss, aux)`, as computed before the step.
    """
    with tf.GradientTape() as tape:
        loss, aux = loss_fn()
    optimizer.apply(tape.gradient(loss, variables), variables)
    return loss, aux


def minimize_rows(loss_fn, tables, ids, optimizer):
    """One plain SGD step on the rows of `tables` that `loss_fn` reads,
    each row's step added in place by `scatter_add`;
    the arguments and the result are those of
    `kerasdl.backend.jax.minimize_rows`."""
    rows = [tf.gather(table.value, i) for table, i in zip(tables, ids)]
    with tf.GradientTape() as tape:
        tape.watch(rows)
        loss = loss_fn(rows)
    grads = tape.gradient(loss, rows)
    rate = optimizer.learning_rate
    for table, i, grad in zip(tables, ids, grads):
        table.value.scatter_add(tf.IndexedSlices(
            -rate * tf.reshape(grad, (-1, grad.shape[-1])), tf.reshape(i, (-1,))))
    optimizer.iterations.assign_add(1)
    return loss


def train_step(model, step, data):
    """Runs `step(data)`, the stateful body of `model.train_step`, as
    TensorFlow's trainer calls it: `model.train_step(data)`."""
    return step(data)


def value_and_grad(fn, variables):
    """Computes `fn()` and its gradient with respect to `variables`, outside
    a training step.

    Args:
        fn: a function of no arguments that returns a scalar tensor computed
            from the current values of `variables`.
        variables: the Keras variables to differentiate with respect to.

    Returns:
        `(value, grads)`: the scalar and one gradient per variable.
    """
    with tf.GradientTape() as tape:
        value = fn()
    return value, tape.gradient(value, variables)


def input_gradient(fn, x):
    """The gradient of `fn(x)`, a scalar, with respect to the tensor `x`;
    inside a training step too, where `fn` may call the model.

    Args:
        fn: a function of one tensor that returns a scalar tensor.
        x: the tensor (or array) to differentiate at.

    Returns:
        A tensor of `x`'s shape.
    """
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = fn(x)
    return tape.gradient(value, x)


def float64():
    """A context in which float64 tensors stay float64, as they always do
    on TensorFlow."""
    return contextlib.nullcontext()


def is_nan_error(error):
    """Whether `error`, raised in training, is the backend refusing a NaN
    or Inf value (a diverged model) rather than a bug: never, on this
    backend."""
    return False


def unsplit_batch_size(error):
    """The size of the batch that `error` says could not be split over the
    devices of a data-parallel run, 0 if it does not say, or `None` when
    `error` is something else: always `None` on this backend, where Keras
    does not distribute."""
    return None
