"""JAX implementations of the kerasdl backend functions."""

import re

import jax
import jax.numpy as jnp
import keras


def device_info():
    """Returns 'GPU (name)' when JAX computes on a GPU, else 'CPU'."""
    device = jax.devices()[0]
    if device.platform == "gpu":
        return f"GPU ({device.device_kind})"
    return device.platform.upper()


# Whether `keras.distribution.DataParallel` spreads `model.fit` over the
# devices on this backend: the one backend Keras 3 does it on.
DATA_PARALLEL = True


def phase_conv_transpose():
    """Whether `Conv2DTranspose` runs faster as an ordinary convolution over
    its output phases (`kerasdl.autoencoder.PhaseConv2DTranspose`): on a
    CPU, where XLA's input-dilated convolution made the conv autoencoder's
    step 3.4x as long (BENCHMARKS.md). Asked at the first call, not at
    import, so that JAX starts after `keras.distribution.initialize`."""
    return jax.default_backend() == "cpu"


def block_max_pooling():
    """Whether 2x2 max pooling runs faster as a reshape and a max
    (`kerasdl.models.layers.BlockMaxPooling2D`): on a CPU, where XLA's
    `select_and_scatter` backward pass made the MNIST recipe's step 1.8x
    as long (BENCHMARKS.md)."""
    return jax.default_backend() == "cpu"


def recurrent_loop(layer, sequences, initial_state, mask, training):
    """None, always: JAX compiles Keras' loop over time with XLA (a
    `lax.scan`), so a recurrent layer runs Keras' own loop. The arguments
    are those of `kerasdl.backend.torch.recurrent_loop`."""
    return None


def clear_caches():
    """Frees per-model state that `keras.backend.clear_session()` leaves
    behind: JAX's cache of compiled functions, which grows with every model."""
    jax.clear_caches()


# Whether Keras' geometric augmentation layers (`RandomTranslation`,
# `RandomZoom`, `RandomRotation`) may be compiled with the rest of a model.
# Keras marks them as not compilable on every backend, so `fit` would run a
# model that holds one op by op; on JAX their ops compile under `jax.jit`,
# and the epoch of an augmented All-CNN ran 1.7x faster (BENCHMARKS.md).
JIT_GEOMETRIC_AUGMENTATION = True


# `Model.compile` options for models made of embedding lookups (word2vec):
# Keras' defaults (XLA, one step per call) are the fastest measured on JAX.
LOOKUP_COMPILE_OPTIONS = {}


# The StatelessScope of each `train_step` running, innermost last, with the
# variables it maps: `minimize` computes inside it.
_steps = []


def minimize_rows(loss_fn, tables, ids, optimizer):
    """Takes one plain SGD step on the rows of embedding tables that a loss
    reads, inside a `train_step`: the gradient is taken with respect to the
    rows looked up, not the tables, and each row's step is added back into
    its table (rows read twice get both steps), so a step costs what the
    rows do, whatever the tables' size.

    Args:
        loss_fn: a function of the list of looked-up rows (`take(tables[i],
            ids[i])` for each i, read before any update) that returns the
            scalar loss.
        tables: the embedding variables; one may appear more than once.
        ids: integer tensors of row ids, one per table.
        optimizer: the Keras optimizer whose `learning_rate` (its schedule
            at its step count) gives the rate; its step count goes up by 1.

    Returns:
        The loss, as computed before the step.
    """
    rows = [jnp.take(table.value, i, axis=0) for table, i in zip(tables, ids)]
    loss, grads = jax.value_and_grad(loss_fn)(rows)
    rate = optimizer.learning_rate
    for table, i, grad in zip(tables, ids, grads):
        table.assign(table.value.at[i].add(-rate * grad))
    optimizer.iterations.assign_add(1)
    return loss


def train_step(model, step, state, data):
    """Runs `step(data)`, the stateful body of `model.train_step`, as JAX's
    trainer calls it: `model.train_step(state, data)`.

    JAX's trainer threads the values of all variables through the step as
    `state`. This maps the model's, its optimizer's and its metrics' variables
    to those values in a `keras.StatelessScope`, so that `step` can read and
    assign variables as on the other backends, and returns the assigned
    values as the new state.

    Returns:
        `(logs, new_state)`.
    """
    groups = (model.trainable_variables, model.non_trainable_variables,
              model.optimizer.variables, model.metrics_variables)
    variables = [v for group in groups for v in group]
    values = [x for group in state for x in group]
    with keras.StatelessScope(list(zip(variables, values))) as scope:
        _steps.append((scope, variables))
        try:
            logs = step(data)
        finally:
            _steps.pop()
    return logs, tuple([scope.get_current_value(v) for v in group] for group in groups)


def minimize(loss_fn, variables, optimizer):
    """Takes one optimizer step on `variables` down the gradient of `loss_fn`,
    inside a `train_step`.

    The loss is differentiated as a pure function of the values of
    `variables` (`jax.value_and_grad`); the updates it makes to other
    variables, such as BatchNorm statistics, come back as auxiliary outputs
    and are assigned afterwards, like the optimizer's.

    Args:
        loss_fn: a function of no arguments that returns `(loss, aux)`, a
            scalar loss and any other outputs (a tuple or dict of tensors).
        variables: the Keras variables to update.
        optimizer: a built Keras optimizer that knows `variables`.

    Returns:
        `(loss, aux)`, as computed before the step.
    """
    scope, known = _steps[-1]
    targets = {id(v) for v in variables}
    others = [v for v in known if id(v) not in targets]

    def loss_and_updates(values):
        mapping = [(v, scope.get_current_value(v)) for v in others]
        with keras.StatelessScope(mapping + list(zip(variables, values))) as inner:
            loss, aux = loss_fn()
        return loss, (aux, [inner.get_current_value(v) for v in others])

    (loss, (aux, updates)), grads = jax.value_and_grad(loss_and_updates, has_aux=True)(
        [scope.get_current_value(v) for v in variables])
    for variable, value in zip(others, updates):
        scope.add_update((variable, value))
    optimizer.apply(grads, variables)
    return loss, aux


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

    def pure(values):
        with keras.StatelessScope(list(zip(variables, values))):
            return fn()

    return jax.value_and_grad(pure)([v.value for v in variables])


def input_gradient(fn, x):
    """The gradient of `fn(x)`, a scalar, with respect to the tensor `x`;
    inside a training step too, where `fn` may call the model.

    Args:
        fn: a function of one tensor that returns a scalar tensor.
        x: the tensor (or array) to differentiate at.

    Returns:
        A tensor of `x`'s shape.
    """
    return jax.grad(fn)(keras.ops.convert_to_tensor(x))


def float64():
    """A context in which float64 tensors stay float64; JAX otherwise
    computes them in float32."""
    return jax.enable_x64(True)


def is_nan_error(error):
    """Whether `error`, raised in training, is the backend refusing a NaN
    or Inf value (a diverged model) rather than a bug: never, on this
    backend."""
    return False


def unsplit_batch_size(error):
    """The size of the batch that `error` says could not be split over the
    devices of a data-parallel run, 0 if it does not say, or `None` when
    `error` is something else. JAX raises an `IndivisibleError` (a
    `ValueError` from a private module, so known here by its name)."""
    if type(error).__name__ != "IndivisibleError":
        return None
    size = re.search(r"dimension size is (\d+)", str(error))
    return int(size.group(1)) if size else 0
