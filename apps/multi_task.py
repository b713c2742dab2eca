"""Multi-task learning: does a self-supervised rotation head help a classifier with few labels?

With 100 labelled digits per class, a convnet learns from 1,000 images and
leaves the other 54,000 of MNIST's training set unused. A second head on
the same trunk, trained jointly with a weighted sum of the two losses, can
learn from them too: as Gidaris et al. 2018 do, it turns each image by 0,
90, 180 or 270 degrees and predicts which, a task that needs the digit's
shape but no label. The run trains a single-task net (the rotation loss
weighs 0) and a multi-task net (it weighs --rotation-weight) of one
architecture with Keras' multi-output `compile` and `fit`, on
--labels-per-class labels per class, for each of --seeds seeds (each picks
its own labelled images), and reports their test accuracy, the mean over
seeds, and the gain. It writes results.md, metrics.json, accuracy.png (the
validation accuracy by epoch) and the first seed's multi-task net with its
card into --output-dir.
"""

import sys

import numpy as np

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402
from keras import layers  # noqa: E402

from kerasdl import backend, cards, data, labs, runs  # noqa: E402
from kerasdl.models.batches import RotationBatches  # noqa: E402

APP = "multi_task"
PRESETS = {"few_labels": {"validation_size": 5000, "epochs": 5, "batch_size": 128, "lr": 1e-3}}
FLAGS = {
    "dataset": {"choices": ("mnist", "fashion_mnist"), "default": "mnist",
                "help": "the images"},
    "labels_per_class": {"type": flags.positive_int, "default": 100,
                         "help": "labelled training images per class"},
    "seeds": {"type": flags.positive_int, "default": 3,
              "help": "runs from --seed on, each with its own labelled images"},
    "rotation_weight": {"type": flags.positive_float, "default": 1.0,
                        "help": "weight of the rotation loss in the multi-task net"},
}
TUNING = {"space": {"lr": {"type": "choice", "values": [3e-4, 1e-3, 3e-3]},
                    "rotation_weight": {"type": "choice", "values": [0.3, 1.0, 3.0]}},
          "objective": "val_accuracy", "direction": "max", "retrain_on_validation": False}


def build_multi_task(input_shape, num_classes):
    """A convolutional trunk shared by two softmax heads: "label", the
    classes, and "rotation", the quarter turns (0 to 3)."""
    images = keras.Input(input_shape)
    trunk = keras.Sequential([
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dropout(0.5), layers.Dense(128, "relu")], name="trunk")(images)
    return keras.Model(images, {"label": layers.Dense(num_classes, "softmax", name="label")(trunk),
                                "rotation": layers.Dense(4, "softmax", name="rotation")(trunk)})


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Trains and compares the nets as `config` says, in `output_dir`; returns the metrics."""
    # Data: the training images, a few of them labelled; a validation split.
    images = data.load_run_images(config)
    print(images.summary(), flush=True)
    runs.prepare(output_dir, config, overwrite, command=command)
    epochs, rows, curves, val_accuracies = config["epochs"], [], {}, []
    # The validation images have labels, and no rotation loss.
    validation = (images.x_val, {"label": images.y_val, "rotation": np.zeros_like(images.y_val)},
                  {"label": np.ones(len(images.x_val)), "rotation": np.zeros(len(images.x_val))})

    for seed in range(config["seed"], config["seed"] + config["seeds"]):
        picked = data.labels_per_class(images.y_train, config["labels_per_class"], seed=seed)
        row, curves[f"seed {seed}"] = {"seed": seed, "labelled images": len(picked)}, {}
        # Model and train: each batch is half labelled images, half turned
        # images from the whole training set; the rotation loss, weighted, sees
        # the second half.
        for name, rotation_weight in (("single-task", 0.0),
                                      ("multi-task", config["rotation_weight"])):
            keras.utils.set_random_seed(seed)
            model = build_multi_task(images.input_shape, images.num_classes)
            model.compile(keras.optimizers.Adam(config["lr"]),
                          {"label": "sparse_categorical_crossentropy",
                           "rotation": "sparse_categorical_crossentropy"},
                          loss_weights={"label": 1.0, "rotation": rotation_weight},
                          weighted_metrics={"label": ["accuracy"], "rotation": ["accuracy"]})
            history = model.fit(RotationBatches(
                (images.x_train[picked], images.y_train[picked]), images.x_train,
                config["batch_size"], seed=seed), validation_data=validation, epochs=epochs,
                verbose=0, callbacks=labs.fit_callbacks(f"seed {seed} {name}", epochs))
            curves[f"seed {seed}"][name] = history.history["val_label_accuracy"]
            classifier = keras.Model(model.inputs, model.get_layer("label").output)
            row[name] = labs.accuracy(classifier, images.x_test, images.y_test)
            if name == "multi-task":
                val_accuracies.append(labs.accuracy(classifier, images.x_val, images.y_val))
            if name == "multi-task" and seed == config["seed"]:
                cards.save(classifier, f"{output_dir}/multi-task", cards.make_card(
                    classifier, app=APP, dataset=images.name, class_names=images.class_names,
                    preprocessing=images.preprocessing, seed=seed, command=command, metrics={
                        "test_accuracy": row[name], "labels_per_class":
                        config["labels_per_class"], "device": backend.device_info()}))
        rows.append({**row, "gain": row["multi-task"] - row["single-task"]})
        print(labs.describe(rows[-1]), flush=True)

    # Evaluate: the mean test accuracy over seeds, and the gain.
    labs.plot_curves(f"{output_dir}/accuracy.png", curves, "epoch", "validation accuracy",
                     title=f"{config['labels_per_class']} labels per class")
    single, multi, gains = (np.array([r[k] for r in rows]) for k in
                            ("single-task", "multi-task", "gain"))
    claim = (f"with {config['labels_per_class']} labels per class, the rotation head takes test "
             f"accuracy from {single.mean():.2%} to {multi.mean():.2%} (mean of {len(rows)} "
             f"seeds): a gain of {100 * gains.mean():+.2f} points, from {100 * gains.min():+.2f} "
             f"to {100 * gains.max():+.2f} (target: a gain with every seed)")
    return labs.finish(output_dir, config, rows, claim, gains.min() > 0,
                       data_source=images.source, val_accuracy=float(np.mean(val_accuracies)))


def parse_config(argv=None):
    """Parses the flags into `(config, args)`."""
    return flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
