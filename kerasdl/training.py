"""Compile, fit and evaluate any builder's model; optimizers and schedules by name."""

import math
import sys
from pathlib import Path

import keras

from kerasdl import backend, runs
from kerasdl.callbacks import (EpochTimer, InferenceCheckpoint, LearningCurves, StopOnNaN,
                               tensorboard)
from kerasdl.callbacks.nan import diverged
from kerasdl.history import read_history
from kerasdl.errors import check_choice
from kerasdl.models.classifiers import for_inference
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


def total_steps(epochs, examples, batch_size):
    """The optimizer steps of `epochs` over `examples` in batches of
    `batch_size` (the last batch may be short): what schedules span."""
    return epochs * math.ceil(examples / batch_size)


def make_optimizer(name, lr, schedule="constant", total_steps=1, warmup=0.0):
    """Returns the optimizer `name` from `OPTIMIZERS` with a learning-rate schedule."""
    check_choice("optimizer", name, OPTIMIZERS)
    return OPTIMIZERS[name](learning_rate(lr, schedule, total_steps, warmup))


def compile_model(model, *, total_steps, optimizer="adam", lr=1e-3, schedule="constant",
                  warmup=0.0, head="multiclass", loss=None, metrics=("accuracy",),
                  jit_compile="auto"):
    """Compiles `model` with the optimizer and schedule named, the loss of its
    head, and accuracy as the metric.

    Args:
        model: a `keras.Model`.
        total_steps: optimizer steps in the whole run, for the schedule.
        optimizer, lr, schedule, warmup: see `make_optimizer`.
        head: the output head of the model (`LOSSES`), which picks the loss.
        loss, metrics: a loss that replaces the head's (such as
            `"binary_crossentropy"` for a reconstruction), and the metrics.
        jit_compile: `Model.compile`'s: `"auto"` (XLA on TensorFlow and
            JAX, eager on PyTorch), `True` (XLA, or `torch.compile`) or
            `False`.
    """
    check_choice("head", head, LOSSES)
    model.compile(
        optimizer=make_optimizer(optimizer, lr, schedule, total_steps, warmup),
        loss=loss or LOSSES[head],
        metrics=list(metrics),
        jit_compile=jit_compile,
    )


def fit(model, train, validation, *, epochs, batch_size, output_dir=None, patience=None,
        monitor="val_accuracy", callbacks=(), verbose=None, **fit_kwargs):
    """Trains a compiled `model` with the project's callbacks.

    With an `output_dir`, training state is backed up after every epoch
    (`backup/`), so the same call after an interruption resumes where it
    stopped, and `history.csv` (with each epoch's `seconds`),
    `learning_curves.png` and `best.keras` (the epoch of best `monitor`
    value, saved without augmentation) are written there; the report of
    the run it belongs to is refreshed after every epoch, and a run with
    `--tensorboard` logs it (see `kerasdl.callbacks.tensorboard_logs`).

    Args:
        model: a compiled `keras.Model`.
        train: an `(x, y)` pair of arrays, or a 1-tuple holding a
            generator of `(x, y)` batches (then pass `batch_size=None` and
            `steps_per_epoch`).
        validation: an `(x, y)` pair, or `None` to train without one.
        epochs, batch_size: the length of training and the batch size.
        output_dir: the folder for the files above, or `None` for none.
        patience: epochs without improvement of `monitor` before early
            stopping (the best weights are then restored); `None` for no
            early stopping.
        monitor: the validation metric that picks the best epoch,
            maximised if its name holds "accuracy" and minimised otherwise.
        callbacks: extra callbacks, run before the project's own.
        verbose: Keras' verbosity; by default a progress bar on a terminal
            and one line per epoch otherwise.
        **fit_kwargs: passed to `model.fit`, such as `initial_epoch`.

    Returns:
        The `History` of `model.fit`.

    Raises:
        Diverged: when a loss, a metric or a weight becomes NaN or Inf.
    """
    all_callbacks = [*callbacks, EpochTimer(), StopOnNaN()]
    mode = "max" if "accuracy" in monitor else "min"
    if output_dir is not None:
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        all_callbacks += [keras.callbacks.BackupAndRestore(str(output_dir / "backup")),
                          LearningCurves(output_dir)]
        run = runs.run_folder(output_dir)
        if run is not None:
            all_callbacks.append(keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: runs.write_report(run)))
            all_callbacks += tensorboard(str(output_dir.resolve().relative_to(run)))
        if validation is not None:
            all_callbacks.append(InferenceCheckpoint(
                str(output_dir / "best.keras"), monitor=monitor, mode=mode,
                save_best_only=True))
    if patience and validation is not None:
        all_callbacks.append(keras.callbacks.EarlyStopping(
            monitor=monitor, mode=mode, patience=patience, restore_best_weights=True))
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    return model.fit(*train, validation_data=validation, epochs=epochs,
                     batch_size=batch_size, callbacks=all_callbacks, verbose=verbose,
                     **fit_kwargs)


def train_seconds(output_dir):
    """The seconds that the epochs in `output_dir`'s `history.csv` took,
    those before a resume included."""
    return sum(read_history(Path(output_dir) / "history.csv").get("seconds", []))


def fit_and_evaluate(model, train, validation, test, *, output_dir, epochs, batch_size,
                     optimizer="adam", lr=1e-3, schedule="constant", warmup=0.0,
                     head="multiclass", patience=None, callbacks=(), verbose=None):
    """Compiles, trains and evaluates `model`, saving the run in `output_dir`.

    Args:
        model: a built `keras.Model`.
        train, validation, test: `(x, y)` pairs of arrays; `validation` may
            be `None`.
        output_dir: the folder for everything the run writes: the files of
            `fit`, and `model.keras`, the final model; both models are saved
            without augmentation (see `for_inference`).
        epochs, batch_size, patience, callbacks, verbose: see `fit`.
        optimizer, lr, schedule, warmup, head: see `compile_model`.

    Returns:
        A dict of metrics: backend, device, params, epochs_run,
        train_seconds (of every epoch, those before a resume included),
        val_loss and val_accuracy (of the last epoch, with a validation
        set), test_loss, test_accuracy, keras_version.

    Raises:
        UsageError: for an unknown optimizer, schedule or head.
        Diverged: when a loss, a metric or a weight becomes NaN or Inf
            (the test loss included); no `model.keras` is then saved.
    """
    compile_model(model, total_steps=total_steps(epochs, len(train[0]), batch_size),
                  optimizer=optimizer, lr=lr, schedule=schedule, warmup=warmup, head=head)
    fit(model, train, validation, epochs=epochs, batch_size=batch_size,
        output_dir=output_dir, patience=patience, callbacks=callbacks, verbose=verbose)
    result = model.evaluate(*test, batch_size=max(batch_size, 500), verbose=0,
                            return_dict=True)
    if not math.isfinite(result["loss"]):
        raise diverged("the test loss", "after training")
    for_inference(model).save(Path(output_dir) / "model.keras")
    history = read_history(Path(output_dir) / "history.csv")
    return {
        **backend.describe(),
        "params": model.count_params(),
        "epochs_run": len(history["epoch"]),
        "train_seconds": round(train_seconds(output_dir), 1),
        **{key: history[key][-1] for key in ("val_loss", "val_accuracy")
           if key in history and not math.isnan(history[key][-1])},
        "test_loss": float(result["loss"]),
        "test_accuracy": float(result["accuracy"]),
        "keras_version": keras.__version__,
    }
