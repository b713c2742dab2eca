"""The base of transfer learning: a classifier pretrained on a source task,
shipped with the package or trained here, and saved with its model card.

With `label_rotations` above 1 in its recipe (`presets.TRANSFER_BASE`), the
classifier learns (class, quarter turn) pairs from every image turned 0 to
`label_rotations - 1` times (self-supervised label augmentation,
`quarter_turns`), and the saved classifier adds up each class's
probabilities (`sum_over_turns`).
"""

import shlex
from pathlib import Path

import keras
import numpy as np
from keras import layers

from kerasdl import cards, presets, training
from kerasdl.models.classifiers import augmentation_layers, build_classifier
from kerasdl.names import TASKS


def base_recipe(source, dry_run=False, **given):
    """The recipe of a base for the source task `source`: the
    `presets.TRANSFER_BASE` entry of its dataset, with the settings `given`
    that are set (such as `epochs=3`); one epoch for a dry run."""
    recipe = {**presets.TRANSFER_BASE[TASKS[source][0]],
              **{key: value for key, value in given.items() if value}}
    return {**recipe, "epochs": 1} if dry_run else recipe


def shipped_base(source):
    """The folder, as a string, of the base that the package ships for the
    source task `source` (`kerasdl/saved_models/SOURCE_MODEL`, MODEL being
    the model of its recipe), or `None` when it ships none."""
    folder = cards.shipped(f"{source}_{base_recipe(source)['model']}")
    return str(folder) if folder else None


def pretrain_command(config, output_dir):
    """The command line that pretrains the base of `config` in `output_dir`."""
    recipe = config["pretrain"]
    words = ["kerasdl", "run", "transfer", "--mode", "pretrain", "--source", config["source"],
             "--backend", config["backend"], "--seed", str(config["seed"]),
             "--epochs", str(recipe["epochs"]), "--batch-size", str(recipe["batch_size"]),
             "--lr", str(recipe["lr"]), "--output-dir", str(output_dir)]
    return shlex.join(words + (["--dry-run"] if config["dry_run"] else []))


def pretrain_base(images, config, output_dir):
    """Trains a classifier on the source task `images` as `config["pretrain"]`
    says and saves it with its card in `output_dir/base`, unless it is
    there already; its training run goes to `output_dir/pretraining`.

    Args:
        images: the source task, an `ImageData`.
        config: the transfer app's config: `pretrain`, a recipe from
            `base_recipe` (the model and how to train it; its augmentation
            is applied in training but is not part of the saved classifier,
            so that each target chooses its own), and `source`, `backend`,
            `seed` and `dry_run` for the card's command.
        output_dir: the run's folder.

    Returns:
        The folder of the saved base.
    """
    output_dir = Path(output_dir)
    if (output_dir / "base" / cards.CARD_FILE).exists():
        return output_dir / "base"
    recipe = config["pretrain"]
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
                           preprocessing=images.preprocessing, metrics=metrics,
                           seed=config["seed"], command=pretrain_command(config, output_dir))
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


def sum_over_turns(classifier, num_classes, turns):
    """Turns a classifier of (class, quarter turn) pairs, whose output `k`
    is class `k // turns` turned `k % turns` times, into a plain classifier
    of `num_classes`: a fixed layer on top adds up each class's
    probabilities. The result is a flat functional model, so that
    `feature_extractor` cuts it as it cuts `classifier`."""
    total = layers.Dense(num_classes, use_bias=False, trainable=False, name="sum_over_turns")
    outputs = total(classifier.outputs[0])
    total.set_weights([np.repeat(np.eye(num_classes, dtype="float32"), turns, axis=0)])
    return keras.Model(classifier.inputs, outputs, name=classifier.name)
