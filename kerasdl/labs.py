"""What the labs share: small MLPs, per-layer statistics, curve plots, and
the results every lab writes (results.md, metrics.json and its claim line).

A lab compares a few models or settings and checks one claim from the
course against its own numbers; see the apps whose docstring starts with
"Lab".
"""

import math
from pathlib import Path

import keras
import numpy as np
from matplotlib.figure import Figure

from kerasdl import backend, runs
from kerasdl.callbacks import tensorboard

CHANCE_LOSS = math.log(10)  # cross-entropy of a uniform guess over 10 classes


def mlp(depth, width, *, activation="relu", initializer="glorot_uniform",
        input_shape=(28, 28, 1), num_classes=10, dtype=None):
    """A classifier: Flatten, `depth` hidden Dense layers of `width` units,
    then a softmax Dense layer.

    Args:
        depth, width: the hidden layers' number and size.
        activation: the hidden layers' activation.
        initializer: every kernel's initializer: a name, or a config dict
            such as `{"class_name": "RandomNormal", "config": {"stddev":
            0.01}}` (each layer gets its own instance).
        input_shape, num_classes: the data's.
        dtype: the layers' dtype, by default Keras' float32.

    Returns:
        A built, uncompiled `keras.Sequential`.
    """
    layers = [keras.Input(input_shape, dtype=dtype), keras.layers.Flatten(dtype=dtype)]
    layers += [keras.layers.Dense(width, activation, kernel_initializer=initializer,
                                  dtype=dtype) for _ in range(depth)]
    layers.append(keras.layers.Dense(num_classes, "softmax", kernel_initializer=initializer,
                                     dtype=dtype))
    return keras.Sequential(layers)


def train(model, optimizer, train, test, *, epochs, batch_size, validation=None,
          callbacks=(), progress=None):
    """Compiles `model` with `optimizer` and the cross-entropy, trains it
    (validating in batches of 1,000), then evaluates it.

    Args:
        model: a classifier with softmax outputs.
        optimizer: a Keras optimizer (or its name).
        train, test: `(x, y)` pairs, integer labels.
        epochs, batch_size: as for `fit`.
        validation: an `(x, y)` pair, or `None`.
        callbacks: Keras callbacks for `fit`.
        progress: a name to print with each epoch's figures, or `None` to
            train without output; it also names the fit's TensorBoard logs.

    Returns:
        `(history, test_accuracy)`: the dict of per-epoch figures from
        `fit` ("loss", "accuracy", and "val_..." with a validation set),
        and the accuracy on `test`.
    """
    named = fit_callbacks(progress, epochs) if progress else tensorboard("fit")
    callbacks = [*callbacks, *named]
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(*train, validation_data=validation, epochs=epochs,
                        batch_size=batch_size, validation_batch_size=1000,
                        callbacks=callbacks, verbose=0).history
    return history, test_accuracy(model, *test)


def fit_callbacks(name, epochs):
    """The callbacks of a lab's fit: one that prints `name`, the epoch of
    `epochs` and its figures after each epoch; and, in a run with
    `--tensorboard`, one that logs the fit under `name`."""
    return [keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print(
        f"{name}: epoch {epoch + 1}/{epochs}, {describe(logs)}", flush=True)),
        *tensorboard(name)]


def test_accuracy(model, x, y):
    """The accuracy of `model` (compiled with an "accuracy" metric) on the
    images `x` with integer labels `y`, evaluated in batches of 1,000."""
    return float(model.evaluate(x, y, batch_size=1000, verbose=0, return_dict=True)["accuracy"])


def accuracy(model, x, y):
    """The accuracy of `model`'s most probable class for the images `x`
    against the integer labels `y`, predicted in batches of 1,000 (for a
    model that is not compiled, or not with an "accuracy" metric)."""
    return float(np.mean(np.argmax(model.predict(x, batch_size=1000, verbose=0), -1) == y))


def loss_gradients(model, x, y, variables=None, from_logits=False):
    """The gradients of the cross-entropy of `model` on the batch `(x, y)`
    (integer labels), by the backend's autodiff.

    Args:
        model: a Keras model.
        x, y: the batch.
        variables: the variables to differentiate with respect to, by
            default the model's trainable weights.
        from_logits: whether the model outputs logits, not probabilities.

    Returns:
        One NumPy array per variable.
    """
    variables = model.trainable_weights if variables is None else variables

    def loss():  # the loss function, not the class, which casts to float32
        return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(
            y, model(x), from_logits=from_logits))

    _, grads = backend.value_and_grad(loss, variables)
    return [keras.ops.convert_to_numpy(g) for g in grads]


def dense_layers(model):
    """The Dense layers of `model`, input side first."""
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def layer_statistics(model, x, y):
    """The forward and backward signal of each Dense layer of `model` on the
    batch `(x, y)`, at its current weights.

    Returns:
        A dict of lists, one value per Dense layer, input side first:
        "activation_std" (the standard deviation of the layer's outputs),
        "gradient_std" and "gradient_norm" (of the cross-entropy's gradient
        with respect to the layer's kernel).
    """
    dense = dense_layers(model)
    probe = keras.Model(model.inputs[0], [layer.output for layer in dense])
    outputs = probe(x)
    grads = loss_gradients(model, x, y, [layer.kernel for layer in dense])
    return {"activation_std": [float(np.std(keras.ops.convert_to_numpy(o))) for o in outputs],
            "gradient_std": [float(np.std(g)) for g in grads],
            "gradient_norm": [float(np.linalg.norm(g)) for g in grads]}


def plot_curves(path, panels, xlabel, ylabel, *, log_x=False, log_y=False, title=None):
    """Writes a PNG with one subplot per panel.

    Args:
        path: where to write it.
        panels: a dict from each subplot's title to its curves, a dict from
            a label to the y values (against 1, 2, ...) or an `(x, y)` pair.
        xlabel, ylabel: the axes' labels.
        log_x, log_y: logarithmic axes (y stays linear in a panel with
            no positive value).
        title: the figure's title.
    """
    fig = Figure(figsize=(4.2 * len(panels), 3.4), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, curves) in zip(axes, panels.items()):
        positive = False
        for label, values in curves.items():
            xs, ys = values if isinstance(values, tuple) else (
                range(1, len(values) + 1), values)
            ax.plot(list(xs), list(ys), marker="o" if len(ys) < 12 else None,
                    markersize=3, label=str(label))
            ys = np.asarray(ys, float)
            positive |= bool((np.isfinite(ys) & (ys > 0)).any())
        ax.set(title=name, xlabel=xlabel, ylabel=ylabel)
        ax.set_xscale("log" if log_x else "linear")
        # A log axis needs a positive value (a diverged run may have none).
        ax.set_yscale("log" if log_y and positive else "linear")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)


def epochs_to(curve, target):
    """The first epoch (from 1) whose value in `curve`, one per epoch,
    reaches `target`; `None` if none does."""
    reached = np.flatnonzero(np.array(curve) >= target)
    return int(reached[0]) + 1 if reached.size else None


def _cell(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def markdown_table(rows):
    """A markdown table of `rows`, dicts whose keys are the columns (a
    missing key is an empty cell); floats show four significant digits."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def describe(row):
    """One line for a row of the table: "key value, key value, ..."."""
    return ", ".join(f"{key} {_cell(value)}" for key, value in row.items())


def finish(output_dir, config, rows, claim, holds, **metrics):
    """Ends a lab run: writes `results.md` (the table of `rows` and the claim
    line) and `metrics.json`, and prints the claim line.

    Args:
        output_dir: the run's folder.
        config: the run's config.
        rows: the comparison, as `markdown_table` takes it.
        claim: the lab's claim, stated with its numbers; it is followed
            by the count of rows with a NaN or infinite figure, as diverged.
        holds: whether the numbers bear the claim out.
        **metrics: the lab's own figures, for `metrics.json`.

    Returns:
        The metrics written.
    """
    diverged = sum(any(isinstance(value, float) and not math.isfinite(value)
                       for value in row.values()) for row in rows)
    if diverged:
        claim += (f"; {diverged} of the {len(rows)} rows hold NaN or Inf: their training "
                  "diverged (try a lower --lr)")
    line = f"Claim: {claim}: {'holds' if holds else 'does not hold'}."
    text = f"# {config['app']}\n\n{markdown_table(rows)}\n\n{line}\n"
    Path(output_dir, "results.md").write_text(text)
    metrics = {"app": config["app"], **backend.describe(), "claim": claim,
               "holds": bool(holds), **metrics, "results": rows,
               "keras_version": keras.__version__}
    runs.write_metrics(output_dir, metrics)
    print(f"{line} Results in {output_dir}", flush=True)
    return metrics


def finite_difference_gap(loss, pairs, rng, count=10, eps=1e-6):
    """Checks gradients against central differences.

    Args:
        loss: a function of no arguments: the loss at the arrays' current
            values.
        pairs: `(array, gradient)` pairs, NumPy arrays; each array is
            nudged in place, then restored.
        rng: the NumPy generator that picks the entries.
        count: entries checked per array.
        eps: the nudge.

    Returns:
        The largest gap between a gradient entry and
        `(loss(p + eps) - loss(p - eps)) / (2 eps)`.
    """
    gaps = []
    for array, grad in pairs:
        for i in rng.choice(array.size, min(count, array.size), replace=False):
            index = np.unravel_index(i, array.shape)
            array[index] += eps
            up = loss()
            array[index] -= 2 * eps
            gaps.append(abs((up - loss()) / (2 * eps) - grad[index]))
            array[index] += eps
    return float(max(gaps))
