"""PyTorch implementations of the kerasdl backend functions."""

import contextlib

import keras
import torch
from keras.src.backend.torch import nn as keras_torch_nn


def device_info():
    """Returns 'GPU (name)' when PyTorch sees CUDA, else 'CPU'."""
    if torch.cuda.is_available():
        return f"GPU ({torch.cuda.get_device_name(0)})"
    return "CPU"


# Keras 3 has no `keras.distribution` for PyTorch: a fit runs on one device.
DATA_PARALLEL = False


def _channels_first_view(inputs, *args, **kwargs):
    """Keras' images in PyTorch's axis order (batch, channels, height, width),
    moved in memory only if they are not contiguous: the permuted view of a
    contiguous (batch, height, width, channels) tensor already is PyTorch's
    `channels_last` layout, which its convolutions and pooling take as it
    is. Sequences (3-D) go to Keras' own function, with the further
    arguments that a later Keras passes; images ignore them (keras#23199
    adds a flag asking for `channels_last` memory, which they get
    anyway)."""
    if inputs.ndim == 4:
        return torch.permute(inputs, (0, 3, 1, 2)).contiguous(memory_format=torch.channels_last)
    if inputs.ndim == 5:
        return torch.permute(inputs, (0, 4, 1, 2, 3)).contiguous(
            memory_format=torch.channels_last_3d)
    return _keras_channels_first(inputs, *args, **kwargs)


# Keras 3.15's function copies each image into NCHW memory (`.contiguous()`)
# before every convolution and pooling, which made Keras' step on PyTorch
# far slower than a plain-PyTorch twin's ("Keras' own cost" in
# BENCHMARKS.md). Keras has fixed its convolution (keras#23199) and has its
# pooling open (keras#23649); until a release has both, kerasdl's function
# replaces Keras' in the one place that both look it up (if a later Keras
# has renamed it, Keras' own code runs).
_keras_channels_first = getattr(keras_torch_nn, "_transpose_spatial_inputs", None)
if _keras_channels_first is not None:
    keras_torch_nn._transpose_spatial_inputs = _channels_first_view


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


# PyTorch's own recurrent ops, by Keras cell: the op, and the order of
# Keras' gates in PyTorch's weights (a GRU's are [z, r, h] in Keras,
# [r, z, h] in PyTorch).
_RECURRENT_OPS = {
    keras.layers.SimpleRNNCell: (torch._VF.rnn_tanh, None),
    keras.layers.LSTMCell: (torch._VF.lstm, None),
    keras.layers.GRUCell: (torch._VF.gru, [1, 0, 2]),
}


def recurrent_loop(layer, sequences, initial_state, mask, training):
    """Runs the loop over time of `layer`, a Keras `SimpleRNN`, `LSTM` or
    `GRU`, as one call of PyTorch's own recurrent op, on a CPU as on CUDA.
    On a CPU Keras runs that loop in Python, one time step after another:
    a training step of long_memory's LSTM at T = 200 took 7.7x to 9.5x as
    long that way, its GRU's 3.5x to 3.9x (BENCHMARKS.md). Under a mask
    of right-padded sequences, as of embedded sentences, the op reads each
    sequence up to its length, where Keras' loop carries the state over
    the padding.

    Args:
        layer: the recurrent layer, built; its cell's weights are used.
        sequences: inputs of shape `(batch, time, features)`.
        initial_state: the list of the cell's state tensors.
        mask: the time steps' mask, `(batch, time)`, or None.
        training: whether the call trains.

    Returns:
        `(last_output, outputs, states)`, as the layer's `inner_loop`
        returns them; or None where PyTorch's op does not compute what
        Keras' loop does (dropout in training, other activations, a GRU
        with `reset_after=False`, a stateful layer, a mask that is not
        right padding or leaves a sequence empty, a mask with
        `return_sequences` or `zero_output_for_mask`), and Keras' loop
        must run.
    """
    cell = layer.cell
    if (type(cell) not in _RECURRENT_OPS or getattr(layer, "use_cudnn", "auto") is False
            or layer.stateful  # Keras overwrites the state in place before the backward pass
            or training and (cell.dropout or cell.recurrent_dropout)
            or cell.activation is not keras.activations.tanh
            or getattr(cell, "recurrent_activation", keras.activations.sigmoid)
            is not keras.activations.sigmoid
            or not getattr(cell, "reset_after", True)):
        return None
    x = keras.ops.convert_to_tensor(sequences)
    if mask is not None:
        steps = torch.arange(x.shape[1], device=x.device)
        mask = keras.ops.convert_to_tensor(mask[0] if isinstance(mask, (list, tuple)) else mask)
        lengths = mask.sum(1)
        if (layer.return_sequences or layer.zero_output_for_mask or lengths.min() == 0
                or not torch.equal(mask.bool(), steps < lengths[:, None])):
            return None
    op, order = _RECURRENT_OPS[type(cell)]

    def gates(weights):  # Keras' gate order as PyTorch's, along the last axis
        return torch.cat([weights.chunk(3, -1)[i] for i in order], -1) if order else weights

    params = [gates(cell.kernel.value).T.contiguous(),
              gates(cell.recurrent_kernel.value).T.contiguous()]
    if cell.use_bias:  # PyTorch adds one bias to the input's part, one to the state's
        bias = gates(cell.bias.value)
        params += [bias, torch.zeros_like(bias)] if bias.ndim == 1 else list(bias)
    x = x.to(params[0].dtype)
    state = [keras.ops.convert_to_tensor(s).to(x.dtype)[None] for s in initial_state]

    def hidden(state):  # PyTorch's LSTM takes (h, c), the other ops h alone
        return tuple(state) if len(state) > 1 else state[0]

    # Biases, layers, dropout, and "train", which cuDNN needs for any backward pass.
    options = (cell.use_bias, 1, 0.0, torch.is_grad_enabled(), False)
    if mask is None:
        if layer.go_backwards:
            x = torch.flip(x, [1])
        outputs, *state = op(x, hidden(state), params, *options, True)
        return outputs[:, -1], outputs, [s[0] for s in state]
    if layer.go_backwards:  # each sequence's own steps, its last first
        x = x.gather(1, (lengths[:, None] - 1 - steps).clamp(min=0)[..., None].expand_as(x))
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True,
                                                     enforce_sorted=False)
    state = [s[:, packed.sorted_indices] for s in state]
    _, *state = op(packed.data, packed.batch_sizes, hidden(state), params, *options)
    state = [s[0, packed.unsorted_indices] for s in state]
    return state[0], state[0][:, None], state


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
