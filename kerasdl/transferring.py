"""Transfer learning runs: pretrain a base on a source task, then train on a
target task from scratch, with the base frozen, and fine-tuned, for several
numbers of labels per class."""

import json
from pathlib import Path

import keras
import numpy as np

from kerasdl import cards, training
from kerasdl.data import labels_per_class
from kerasdl.models import (augmentation_layers, build_classifier, feature_extractor,
                            set_trainable, sum_over_turns, with_new_head)
from kerasdl.plots import accuracy_by_labels

MODES = ("scratch", "frozen", "finetune")


def pretrain_base(images, recipe, output_dir, *, seed, command):
    """Trains a classifier on the source task `images` and saves it with its
    card in `output_dir/base`; its training run goes to
    `output_dir/pretraining`.

    With `recipe["label_rotations"]` above 1, the classifier learns
    (class, quarter turn) pairs from every image turned 0 to
    `label_rotations - 1` times (`quarter_turns`), and the saved classifier
    adds up each class's probabilities (`sum_over_turns`); its card gives
    its accuracy on the upright test images.

    Args:
        images: the source task, an `ImageData`.
        recipe: a `presets.TRANSFER_BASE` entry: the model and how to train
            it. Its augmentation is applied during training but is not part
            of the saved classifier, so each target chooses its own.
        output_dir: the run's folder.
        seed: the run's seed, recorded on the card.
        command: the command line that recreates the base.

    Returns:
        The folder of the saved base.
    """
    output_dir = Path(output_dir)
    options = dict(recipe["model_options"])
    augment = options.pop("augment", [])
    turns = recipe["label_rotations"]
    classifier = build_classifier(recipe["model"], images.input_shape,
                                  images.num_classes * turns, **options)
    trainer = keras.Sequential([keras.Input(images.input_shape),
                                *augmentation_layers(augment), classifier],
                               name=f"{classifier.name}_training")
    print(f"Pretraining the base: {recipe['model']} on {images.name}"
          + (f" in {turns} quarter turns ({images.num_classes * turns} classes)"
             if turns > 1 else "") + f", {classifier.count_params():,} parameters", flush=True)
    result = training.fit_and_evaluate(
        trainer, quarter_turns(images.x_train, images.y_train, turns),
        quarter_turns(images.x_val, images.y_val, turns) if len(images.x_val) else None,
        quarter_turns(images.x_test, images.y_test, turns), output_dir=output_dir / "pretraining",
        epochs=recipe["epochs"], batch_size=recipe["batch_size"],
        optimizer=recipe["optimizer"], lr=recipe["lr"], schedule=recipe["schedule"],
        warmup=recipe["warmup"])
    if turns > 1:
        classifier = sum_over_turns(classifier, images.num_classes, turns)
        classifier.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        upright = classifier.evaluate(images.x_test, images.y_test, verbose=0,
                                      return_dict=True)
        result.update(test_accuracy=upright["accuracy"], test_loss=upright["loss"])
    metrics = cards.run_metrics(result)
    card = cards.make_card(classifier, app="transfer", dataset=images.name,
                           class_names=images.class_names,
                           preprocessing=images.preprocessing, metrics=metrics, seed=seed,
                           command=command)
    print(f"Base: test accuracy {metrics['test_accuracy']:.4f} on {images.name}", flush=True)
    return cards.save(classifier, output_dir / "base", card)


def quarter_turns(x, y, turns):
    """Self-supervised label augmentation: the images `x` turned 0 to
    `turns - 1` quarter turns, each labelled `y * turns + turn`; `(x, y)`
    themselves for one turn."""
    if turns == 1:
        return x, y
    return (np.concatenate([np.rot90(x, turn, axes=(1, 2)) for turn in range(turns)]),
            np.concatenate([y * turns + turn for turn in range(turns)]))


def saved_base(folder):
    """Returns a function that loads a fresh copy of the base of the
    classifier saved in `folder`: from its saved weights when called with
    `pretrained=True`, else the same architecture with new random weights."""
    def load(pretrained=True):
        model, _ = cards.load(folder)
        return feature_extractor(model if pretrained else keras.models.clone_model(model))

    return load


def repeat_to(x, y, size):
    """Repeats a small training set until it holds at least `size` examples,
    so that an epoch is never shorter than `size` examples."""
    if len(x) >= size:
        return x, y
    index = np.resize(np.arange(len(x)), size)
    return x[index], y[index]


def _fit(model, train, validation, test, output_dir, settings, fine_tune=False):
    prefix = "fine_tune_" if fine_tune else ""
    train = repeat_to(*train, settings["min_epoch_size"])
    return training.fit_and_evaluate(
        model, train, validation, test, output_dir=output_dir,
        epochs=settings[f"{prefix}epochs"], batch_size=settings["batch_size"],
        optimizer="adam", lr=settings[f"{prefix}lr"], schedule="cosine")


def transfer(load_base, images, modes, labels, settings, output_dir, command):
    """Trains classifiers for the target `images` in each of `modes`, on
    `labels` labelled examples per class, and evaluates them on its test set.

    `scratch` trains the base's architecture from random weights; `frozen`
    trains a new head on the frozen base; `finetune` goes on from `frozen`
    with the top `settings["unfreeze_blocks"]` blocks of the base unfrozen,
    at the lower fine-tuning rate. Each run lives in
    `output_dir/LABELS/MODE`; finished runs are read back rather than redone.

    Args:
        load_base: a function that returns a fresh base, pretrained or, with
            `pretrained=False`, randomly initialised.
        images: the target task, an `ImageData`.
        modes: some of `MODES`.
        labels: labels per class, or `"all"`.
        settings: a dict with `epochs`, `lr`, `fine_tune_epochs`,
            `fine_tune_lr`, `batch_size`, `unfreeze_blocks`, `augment`,
            `head_units`, `head_dropout` (see `with_new_head`),
            `min_epoch_size` (small label sets are repeated up to this many
            examples per epoch) and `seed` (picks the labelled examples).
        output_dir: the folder of the runs.
        command: the command line of the run, for the model cards written
            beside each run's `model.keras`.

    Returns:
        A list of result dicts, one per mode run.
    """
    pick = (np.arange(len(images.x_train)) if labels == "all" else
            labels_per_class(images.y_train, labels, seed=settings["seed"]))
    train = (images.x_train[pick], images.y_train[pick])
    validation = (images.x_val, images.y_val) if len(images.x_val) else None
    test = (images.x_test, images.y_test)
    folder = Path(output_dir) / str(labels)
    needed = [m for m in MODES if m in modes or (m == "frozen" and "finetune" in modes)]
    results = []
    for mode in needed:
        run_dir = folder / mode
        done = run_dir / "result.json"
        if done.exists():
            result = json.loads(done.read_text())
        else:
            print(f"Transfer: {mode} on {len(pick)} {images.name} images"
                  + ("" if labels == "all" else f" ({labels} per class)"), flush=True)
            if mode == "finetune":
                model, _ = cards.load(folder / "frozen")
                base = next(layer for layer in model.layers
                            if isinstance(layer, keras.Model))
                set_trainable(base, settings["unfreeze_blocks"])
            else:
                base = load_base(pretrained=mode == "frozen")
                if mode == "frozen":
                    set_trainable(base, 0)
                model = with_new_head(base, images.num_classes, settings["augment"],
                                      settings["head_units"], settings["head_dropout"])
            metrics = _fit(model, train, validation, test, run_dir, settings,
                           fine_tune=mode == "finetune")
            result = {"labels_per_class": labels, "examples": int(len(pick)), "mode": mode,
                      "trainable_params": int(sum(np.prod(w.shape)
                                                  for w in model.trainable_weights)),
                      **{key: metrics[key] for key in ("val_accuracy", "test_accuracy",
                                                       "test_loss", "train_seconds",
                                                       "epochs_run") if key in metrics}}
            cards.write_card(run_dir, cards.make_card(
                model, app="transfer", dataset=images.name,
                class_names=images.class_names, preprocessing=images.preprocessing,
                metrics=result, seed=settings["seed"], command=command))
            done.write_text(json.dumps(result, indent=2) + "\n")
        if mode in modes:
            results.append(result)
    return results


def results_table(results, modes):
    """A markdown table of test accuracies: one row per labels-per-class
    count, one column per mode."""
    rows = {}
    for r in results:
        rows.setdefault(r["labels_per_class"], {})[r["mode"]] = r["test_accuracy"]
    lines = ["| labels per class | " + " | ".join(modes) + " |",
             "|---|" + "---:|" * len(modes)]
    for labels, accuracy in rows.items():
        cells = [f"{100 * accuracy[m]:.2f}%" if m in accuracy else "" for m in modes]
        lines.append(f"| {labels} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(results, modes, num_classes, output_dir, title):
    """Writes `transfer.md` (the table) and `transfer.png` (test accuracy
    against labels per class, one line per mode) into `output_dir`."""
    output_dir = Path(output_dir)
    (output_dir / "transfer.md").write_text(f"{title}\n\n{results_table(results, modes)}")
    accuracy_by_labels(results, modes, output_dir / "transfer.png", num_classes, title)
