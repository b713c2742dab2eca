"""The three ways to train on a target task from a base: `scratch` (the
base's architecture with random weights, under a new head), `frozen` (the
pretrained base, frozen, under a new head) and `finetune` (frozen's model
with the top blocks of its base unfrozen, trained on at a lower rate).

Each run lives in a folder of its own, with its `model.keras`, its card and
`result.json`; a finished run is read back rather than redone. Here too are
the app's settings for the target: the labels counts (`labels_list`), the
augmentation (`target_augment`), and where a tuning trial starts
(`one_trial`).
"""

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from kerasdl import cards, presets, runs, training
from kerasdl.data import labels_per_class
from kerasdl.errors import UsageError
from kerasdl.names import TASKS
from kerasdl.transfer.model import base_of, set_trainable, with_new_head

MODES = ("scratch", "frozen", "finetune")
RESULT_FILE = "result.json"


def labels_list(text):
    """argparse type: comma-separated labels per class, each a positive
    count or 'all'."""
    items = text.split(",")
    if not all(item == "all" or item.isdigit() and int(item) > 0 for item in items):
        raise argparse.ArgumentTypeError(
            f"must be positive integers or 'all', comma-separated, got {text!r}")
    return [item if item == "all" else int(item) for item in items]


def train_modes(load_base, images, modes, settings, output_dir, command):
    """Trains a classifier for the target task `images` in each of `modes`,
    on each count of `settings["labels_per_class"]`, each in
    `output_dir/LABELS/MODE`; a finished run is read back.

    scratch and frozen put a new head on a fresh base: with random weights
    for scratch, pretrained and frozen for frozen. finetune loads frozen's
    trained model, unfreezes the top `settings["unfreeze_blocks"]` blocks of
    its base, and trains on (`train_mode` compiles it anew, at the
    fine-tuning rate).

    Args:
        load_base: a function that returns a fresh base, pretrained or, with
            `pretrained=False`, with random weights (see `open_base`).
        images: the target task, an `ImageData`.
        modes: some of `MODES`.
        settings: the app's config (see `with_new_head` and `train_mode`).
        output_dir: the folder of the runs.
        command: the command line of the run, for the model cards.

    Returns:
        The results (see `train_mode`) of `modes`, by labels count and mode.
    """
    results = []
    for labels, mode in itertools.product(settings["labels_per_class"], needed(modes)):
        run_dir = Path(output_dir) / str(labels) / mode
        result = finished(run_dir)
        if result is None:
            base = load_base(pretrained=mode == "frozen")
            if mode == "frozen":
                set_trainable(base, 0)
            model = with_new_head(base, images.num_classes, settings["augment"],
                                  settings["head_units"], settings["head_dropout"])
            if mode == "finetune":
                # The frozen run's weights; its saved file lacks the augmentation.
                model.set_weights(cards.load(run_dir.parent / "frozen")[0].get_weights())
                set_trainable(base_of(model), settings["unfreeze_blocks"])
            train = labelled(images, labels, settings["seed"])
            result = train_mode(model, run_dir, mode, labels, train, images, settings, command)
        if mode in modes:
            results.append(result)
    return results


def one_trial(config):
    """The config that each trial of `kerasdl tune transfer` starts from:
    one mode (finetune, unless `config` asks for one) on the smallest
    labels count of `config`.

    Raises:
        UsageError: for the mode "pretrain", which has no target to tune.
    """
    if config["mode"] == "pretrain":
        raise UsageError("kerasdl tune transfer tunes the transfer to the target; "
                         "drop --mode pretrain")
    mode = "finetune" if config["mode"] == "all" else config["mode"]
    labels = min(config["labels_per_class"], key=lambda n: float("inf") if n == "all" else n)
    print(f"Tuning transfer in mode {mode} on {labels} labels per class "
          "(--mode, --labels-per-class)", flush=True)
    return {**config, "mode": mode, "labels_per_class": [labels]}


def target_augment(target, folder, given=None):
    """The augmentations of the target's images: `given`, unless `None`;
    else, for a `folder` of images, `presets.TRANSFER_FOLDER_AUGMENT`, and
    for a task, those of its dataset's classification preset."""
    if given is not None:
        return given
    if folder:
        return presets.TRANSFER_FOLDER_AUGMENT
    return presets.CLASSIFICATION[TASKS[target][0]]["model_options"]["augment"]


def needed(modes):
    """The modes that running `modes` takes, in order: finetune goes on
    from frozen."""
    return [m for m in MODES if m in modes or (m == "frozen" and "finetune" in modes)]


def labelled(images, labels, seed):
    """The labelled examples of a few-label experiment: `labels` examples
    per class of the training split of `images`, picked with `seed`, or all
    of them for `"all"`, as an `(x, y)` pair."""
    pick = (np.arange(len(images.x_train)) if labels == "all" else
            labels_per_class(images.y_train, labels, seed=seed))
    return images.x_train[pick], images.y_train[pick]


def repeat_to(x, y, size):
    """Repeats a small training set until it holds at least `size` examples,
    so that an epoch is never shorter than `size` examples."""
    if len(x) >= size:
        return x, y
    index = np.resize(np.arange(len(x)), size)
    return x[index], y[index]


def finished(run_dir):
    """The result of the finished run in `run_dir`, or `None`."""
    done = Path(run_dir) / RESULT_FILE
    return json.loads(done.read_text()) if done.exists() else None


def train_mode(model, run_dir, mode, labels, train, images, settings, command):
    """Compiles and trains `model` on the labelled examples `train`,
    evaluates it on the test split of `images`, and saves it in `run_dir`
    with its card and result.

    Each mode trains with Adam under a cosine schedule: finetune for
    `settings["fine_tune_epochs"]` at `settings["fine_tune_lr"]`, the others
    for `settings["epochs"]` at `settings["lr"]`. A training set smaller
    than `settings["min_epoch_size"]` is repeated up to that size.

    Args:
        model: the model of `mode`, with its trainable layers set.
        run_dir: the run's folder.
        mode: one of `MODES`.
        labels: labels per class, or `"all"`, for the result.
        train: the labelled examples, from `labelled`.
        images: the target task, an `ImageData`.
        settings: the app's config (see above; and `batch_size`, `seed`).
        command: the command line of the run, for the model card.

    Returns:
        The result: `labels_per_class`, `examples`, `mode`,
        `trainable_params`, `val_accuracy`, `test_accuracy`, `test_loss`,
        `train_seconds` and `epochs_run`.
    """
    print(f"Transfer: {mode} on {len(train[0])} {images.name} images"
          + ("" if labels == "all" else f" ({labels} per class)"), flush=True)
    prefix = "fine_tune_" if mode == "finetune" else ""
    validation = (images.x_val, images.y_val) if len(images.x_val) else None
    metrics = training.fit_and_evaluate(
        model, repeat_to(*train, settings["min_epoch_size"]), validation,
        (images.x_test, images.y_test), output_dir=run_dir,
        epochs=settings[f"{prefix}epochs"], batch_size=settings["batch_size"],
        optimizer="adam", lr=settings[f"{prefix}lr"], schedule="cosine")
    result = {"labels_per_class": labels, "examples": int(len(train[0])), "mode": mode,
              "trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
              **{key: metrics[key] for key in ("val_accuracy", "test_accuracy", "test_loss",
                                               "train_seconds", "epochs_run") if key in metrics}}
    cards.write_card(run_dir, cards.make_card(
        model, app="transfer", dataset=images.name, class_names=images.class_names,
        preprocessing=images.preprocessing, metrics=result, seed=settings["seed"],
        command=command))
    runs.write_json(Path(run_dir) / RESULT_FILE, result)
    return result
