"""Image classification: train a CNN or an MLP on MNIST or Fashion-MNIST.

A classifier maps an image to a probability for each class. It is trained by
minimising the cross-entropy between those probabilities and the true labels
with a gradient-based optimizer, on mini-batches, under a learning-rate
schedule; a validation split (taken from the training set) watches for
overfitting, and the test split, used once at the end, gives the accuracy.
The defaults are the project's best recipe for each dataset
(`kerasdl/presets.py`).

The run writes metrics.json, history.csv, learning_curves.png, model.keras,
card.json (its model card) and report.html (all of it, for a browser) into
--output-dir; run the same command again after an interruption to resume it.
"""

import argparse
import sys

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402

from kerasdl import cards, data, models, presets, runs, training  # noqa: E402
from kerasdl.names import PRECISIONS, SCHEDULES  # noqa: E402

APP = "classification"
PRESETS = presets.CLASSIFICATION  # one per dataset: its best recipe
# The builder options that a flag can set; another model family than the
# preset's starts from these alone.
OPTIONS = ("depth", "width", "dropout", "batchnorm", "weight_decay", "initializer",
           "augment")
FLAGS = {
    "dataset": {"choices": data.TRAINING_DATASETS, "default": "mnist",
                "help": "dataset; its preset gives the defaults"},
    "model": {"choices": tuple(models.CLASSIFIERS), "preset": "model",
              "help": "model family"},
    "optimizer": {"choices": tuple(training.OPTIMIZERS), "preset": "optimizer",
                  "help": "optimizer"},
    "schedule": {"choices": SCHEDULES, "preset": "schedule",
                 "help": "learning-rate schedule"},
    "depth": {"type": flags.positive_int, "preset": "model_options.depth",
              "help": "depth of the model family (else the builder's default)"},
    "width": {"type": flags.positive_int, "preset": "model_options.width",
              "help": "width of the model family (else the builder's default)"},
    "dropout": {"type": flags.fraction, "preset": "model_options.dropout",
                "help": "dropout rate"},
    "batchnorm": {"action": argparse.BooleanOptionalAction,
                  "preset": "model_options.batchnorm", "help": "BatchNorm after each layer"},
    "weight_decay": {"type": flags.fraction, "preset": "model_options.weight_decay",
                     "help": "L2 factor on the kernels"},
    "initializer": {"choices": tuple(models.INITIALIZERS), "preset": "model_options.initializer",
                    "help": "kernel initializer (default: he)"},
    "augment": {"type": flags.augmentation_list, "preset": "model_options.augment",
                "help": "comma-separated augmentations from "
                        f"{{{','.join(models.AUGMENTATIONS)}}}, or 'none'"},
    "precision": {"choices": PRECISIONS, "default": "float32",
                  "help": "Keras dtype policy; the mixed ones speed up larger models on a GPU"},
    "patience": {"type": flags.positive_int,
                 "help": "early-stopping patience in epochs (default: no early stopping)"},
}
# What `kerasdl tune classification` searches, and the validation figure
# (a key of the metrics below) that it optimises.
TUNING = {
    "space": {
        "depth": {"type": "int", "min": 1, "max": 2},
        "width": {"type": "choice", "values": [16, 32, 64]},
        "dropout": {"type": "float", "min": 0.0, "max": 0.5, "step": 0.1},
        "batchnorm": {"type": "boolean"},
        "augment": {"type": "choice", "values": ["none", "shift"]},
        "lr": {"type": "float", "min": 1e-4, "max": 1e-2, "step": 10**0.5, "sampling": "log"},
        "optimizer": {"type": "choice", "values": ["adam", "nadam", "momentum"]},
    },
    "objective": "val_accuracy",
    "direction": "max",
}


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Trains one classifier as `config` (from `parse_config`) says, in
    `output_dir`, and returns its metrics; `command` goes on its card."""
    # Data: train, validation (split off train, seeded) and test splits.
    images = data.load_run_images(config)
    print(images.summary(), flush=True)
    resumed = runs.prepare(output_dir, config, overwrite, resumes=True, command=command)
    keras.utils.set_random_seed(config["seed"])

    # Model: a builder from `kerasdl/models/classifiers.py`; its summary
    # lists the layers.
    with models.precision(config["precision"]):
        model = models.build_classifier(config["model"], images.input_shape,
                                        images.num_classes, **config["model_options"])
    model.summary(print_fn=lambda line, **_: print(line, flush=True))

    # Train with the optimizer and schedule named, then evaluate on the test
    # split.
    metrics = training.fit_and_evaluate(
        model, (images.x_train, images.y_train),
        (images.x_val, images.y_val) if len(images.x_val) else None,
        (images.x_test, images.y_test), output_dir=output_dir,
        epochs=config["epochs"], batch_size=config["batch_size"],
        optimizer=config["optimizer"], lr=config["lr"], schedule=config["schedule"],
        warmup=config["warmup"], patience=config["patience"])

    # Evaluate: the metrics and the model card.
    metrics = {"app": APP, "dataset": images.name, "data_source": images.source,
               "model": config["model"], "resumed": resumed, **metrics}
    cards.write_card(output_dir, cards.make_card(
        model, app=APP, dataset=images.name, class_names=images.class_names,
        preprocessing=images.preprocessing, metrics=cards.run_metrics(metrics),
        seed=config["seed"], command=command))
    runs.write_metrics(output_dir, metrics)
    print(f"Test accuracy {metrics['test_accuracy']:.4f}, loss {metrics['test_loss']:.4f}, "
          f"{metrics['train_seconds']} s of training. Results in {output_dir}", flush=True)
    return metrics


def parse_config(argv=None):
    """Parses the flags into `(config, args)`, with defaults from the preset."""
    config, args = flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS,
                               pick=lambda args: args.dataset)
    if config["model"] != PRESETS[args.dataset]["model"]:
        config["model_options"] = {key: getattr(args, key) for key in OPTIONS
                                   if getattr(args, key) is not None}
    config["validation_size"] = presets.VALIDATION_SIZE
    return config, args


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
