"""PyTorch implementations of the kerasdl backend functions."""

import contextlib

import keras
import torch


def device_info():
    """Returns 'GPU (name)' when PyTorch sees CUDA, else 'CPU'."""
    if torch.cuda.is_available():
        return f"GPU ({torch.cuda.get_device_name(0)})"
    return "CPU"


# Keras 3 has no `keras.distribution` for PyTorch: a fit runs on one device.
DATA_PARALLEL = False


def phase_conv_transpose():
    """Whether `Conv2DTranspose` runs faster as an ordinary convolution over
    its output phases: not on PyTorch, where the conv autoencoder's step
    took 0.8x to 1.15x as long: no steady gain (BENCHMARKS.md)."""
    return False


def block_max_pooling():
    """Whether 2x2 max pooling runs faster as a reshape and a max:
    not on PyTorch, where it made the MNIST recipe's step 1.27x as long
    (BENCHMARKS.md)."""
    return False


def clear_caches():
    """Frees per-model state that `keras.backend.clear_session()` leaves
    behind: the CUDA allocator's cached blocks, when there is a GPU."""
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# Whether Keras' geometric augmentation layers may be compiled with the
# rest of a model (see the JAX module): Keras runs PyTorch eagerly anyway.
JIT_GEOMETRIC_AUGMENTATION = False


# `Model.compile` options for models made of embedding lookups (word2vec):
# Keras' defaults (eager; PyTorch takes one step per call).
LOOKUP_COMPILE_OPTIONS = {}


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
    loss, aux = loss_fn()
    grads = torch.autograd.grad(loss, [v.value for v in variables])
    with torch.no_grad():
        optimizer.apply(grads, variables)
    return loss, aux


def minimize_rows(loss_fn, tables, ids, optimizer):
    """One plain SGD step on the rows of `tables` that `loss_fn` reads,
    each row's step added in place by `index_add_`;
    the arguments and the result are those of
    `kerasdl.backend.jax.minimize_rows`."""
    ids = [keras.ops.convert_to_tensor(i).long() for i in ids]
    rows = [table.value.detach()[i].requires_grad_(True) for table, i in zip(tables, ids)]
    with torch.enable_grad():
        loss = loss_fn(rows)
    grads = torch.autograd.grad(loss, rows)
    rate = optimizer.learning_rate
    with torch.no_grad():
        for table, i, grad in zip(tables, ids, grads):
            table.value.index_add_(0, i.reshape(-1), -rate * grad.reshape(-1, grad.shape[-1]))
    optimizer.iterations.assign_add(1)
    return loss.detach()


def train_step(model, step, data):
    """Runs `step(data)`, the stateful body of `model.train_step`, as
    PyTorch's trainer calls it: `model.train_step(data)`."""
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
    value = fn()
    return value.detach(), list(torch.autograd.grad(value, [v.value for v in variables]))


def input_gradient(fn, x):
    """The gradient of `fn(x)`, a scalar, with respect to the tensor `x`;
    inside a training step too, where `fn` may call the model.

    Args:
        fn: a function of one tensor that returns a scalar tensor.
        x: the tensor (or array) to differentiate at.

    Returns:
        A tensor of `x`'s shape.
    """
    x = keras.ops.convert_to_tensor(x).detach().requires_grad_(True)
    with torch.enable_grad():
        value = fn(x)
    return torch.autograd.grad(value, x)[0].detach()


def float64():
    """A context in which float64 tensors stay float64, as they always do
    on PyTorch. Keras' own ops promote float64 to float32 on this backend
    (`keras.backend.result_type`), so a Keras matmul of float64 tensors
    computes in float32 whatever the context."""
    return contextlib.nullcontext()


def is_nan_error(error):
    """Whether `error`, raised in training, is the backend refusing a NaN
    or Inf value (a diverged model) rather than a bug. PyTorch's binary
    cross-entropy refuses probabilities outside [0, 1], NaN included, with
    a `RuntimeError`."""
    return isinstance(error, RuntimeError) and (
        "all elements of input should be between 0 and 1" in str(error))


def unsplit_batch_size(error):
    """The size of the batch that `error` says could not be split over the
    devices of a data-parallel run, 0 if it does not say, or `None` when
    `error` is something else: always `None` on this backend, where Keras
    does not distribute."""
    return None
