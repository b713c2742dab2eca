"""Compile, fit and evaluate any builder's model; optimizers and schedules by name."""

import math
import sys
import time
from pathlib import Path

import keras

from kerasdl import backend
from kerasdl.callbacks import LearningCurves, StopOnNaN
from kerasdl.errors import check_choice
from kerasdl.names import SCHEDULES

OPTIMIZERS = {
    "sgd": lambda lr: keras.optimizers.SGD(lr),
    "momentum": lambda lr: keras.optimizers.SGD(lr, momentum=0.9),
    "nesterov": lambda lr: keras.optimizers.SGD(lr, momentum=0.9, nesterov=True),
    "adagrad": lambda lr: keras.optimizers.Adagrad(lr),
    "rmsprop": lambda lr: keras.optimizers.RMSprop(lr),
    "adam": lambda lr: keras.optimizers.Adam(lr),
    "nadam": lambda lr: keras.optimizers.Nadam(lr),
}
LOSSES = {
    "multiclass": "sparse_categorical_crossentropy",
    "multilabel": "binary_crossentropy",
    "binary": "binary_crossentropy",
}


def learning_rate(lr, schedule, total_steps, warmup=0.0):
    """Returns a learning rate or a `LearningRateSchedule`.

    Args:
        lr: the peak learning rate.
        schedule: `"constant"`; `"cosine"`, a cosine decay to 0 after a linear
            warmup from 0 over the fraction `warmup` of `total_steps`; or
            `"exponential"`, a smooth decay to `lr / 100` at the end.
        total_steps: the number of optimizer steps of the whole run.
        warmup: the fraction of steps used for warmup (cosine only).
    """
    check_choice("schedule", schedule, SCHEDULES)
    if schedule == "constant":
        return lr
    if schedule == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(lr, total_steps, 0.01)
    warmup_steps = int(warmup * total_steps)
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup_steps else lr, total_steps - warmup_steps,
        warmup_target=lr if warmup_steps else None, warmup_steps=warmup_steps,
    )


def make_optimizer(name, lr, schedule="constant", total_steps=1, warmup=0.0):
    """Returns the optimizer `name` from `OPTIMIZERS` with a learning-rate schedule."""
    check_choice("optimizer", name, OPTIMIZERS)
    return OPTIMIZERS[name](learning_rate(lr, schedule, total_steps, warmup))


def fit_and_evaluate(model, train, validation, test, *, output_dir, epochs, batch_size,
                     optimizer="adam", lr=1e-3, schedule="constant", warmup=0.0,
                     head="multiclass", patience=None, callbacks=(), verbose=None):
    """Compiles, trains and evaluates `model`, saving the run in `output_dir`.

    Training state is backed up after every epoch (`backup/`), so the same
    call on the same `output_dir` after an interruption resumes where it
    stopped. `history.csv`, `learning_curves.png`, `best.keras` (best
    validation accuracy) and `model.keras` (the final model) are written.

    Args:
        model: a built `keras.Model`.
        train, validation, test: `(x, y)` pairs of arrays.
        output_dir: the folder for everything the run writes.
        epochs, batch_size: the length of training and the batch size.
        optimizer, lr, schedule, warmup: see `make_optimizer`.
        head: the output head of the model (`LOSSES`), which picks the loss.
        patience: epochs without improvement of the validation accuracy
            before early stopping (the best weights are then restored);
            `None` for no early stopping.
        callbacks: extra callbacks, run before the project's own.
        verbose: Keras' verbosity; by default a progress bar on a terminal
            and one line per epoch otherwise.

    Returns:
        A dict of metrics: backend, device, params, epochs_run,
        train_seconds, test_loss, test_accuracy, keras_version.

    Raises:
        UsageError: for an unknown optimizer, schedule or head, or when the
            loss becomes NaN.
    """
    check_choice("head", head, LOSSES)
    output_dir = Path(output_dir)
    steps = epochs * math.ceil(len(train[0]) / batch_size)
    model.compile(
        optimizer=make_optimizer(optimizer, lr, schedule, steps, warmup),
        loss=LOSSES[head],
        metrics=["accuracy"],
    )
    curves = LearningCurves(output_dir)
    all_callbacks = [
        *callbacks,
        keras.callbacks.BackupAndRestore(str(output_dir / "backup")),
        curves,
        keras.callbacks.ModelCheckpoint(str(output_dir / "best.keras"),
                                        monitor="val_accuracy", save_best_only=True),
        StopOnNaN(),
    ]
    if patience:
        all_callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_accuracy", patience=patience, restore_best_weights=True))
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    start = time.perf_counter()
    model.fit(*train, validation_data=validation, epochs=epochs, batch_size=batch_size,
              callbacks=all_callbacks, verbose=verbose)
    train_seconds = time.perf_counter() - start
    result = model.evaluate(*test, batch_size=max(batch_size, 500), verbose=0,
                            return_dict=True)
    model.save(output_dir / "model.keras")
    with open(curves.filename) as f:
        epochs_run = sum(1 for _ in f) - 1
    return {
        **backend.describe(),
        "params": model.count_params(),
        "epochs_run": epochs_run,
        "train_seconds": round(train_seconds, 1),
        "test_loss": float(result["loss"]),
        "test_accuracy": float(result["accuracy"]),
        "keras_version": keras.__version__,
    }
