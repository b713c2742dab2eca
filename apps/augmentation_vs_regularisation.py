"""Lab: data augmentation instead of explicit regularisation.

Weight decay and dropout fight overfitting by constraining the model: they
shrink its weights or thin it at random, whatever the data. Data
augmentation fights it with more data: each epoch sees every image moved,
flipped or recoloured in ways that keep its label. Hernandez-Garcia and
Koenig (2018, "Data augmentation instead of explicit regularization")
trained All-CNN and WRN on CIFAR with both, apart and together, and found
that augmentation alone matches or beats weight decay and dropout, and that
adding them on top of augmentation brings little or nothing.

The lab trains All-CNN on the first 10,000 Fashion-MNIST training images,
on a grid: no augmentation, light (horizontal flips and shifts of up to 2
pixels) and heavy (flips, translations, zooms and rotations, contrast and
brightness), each without and with explicit regularisation (L2 weight decay
5e-4 on every kernel, dropout 0.5 after each strided convolution), all with
the same recipe (SGD with momentum, cosine-decayed rate) from one seed. A
gap counts only beyond two standard errors of the difference of two test
accuracies on 10,000 images. It writes results.md, metrics.json and
curves.png (training and validation accuracy per epoch) into --output-dir.
"""

import sys

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerasdl import data, labs, models, runs, training  # noqa: E402

APP = "augmentation_vs_regularisation"
PRESETS = {"fashion_mnist": {"dataset": "fashion_mnist", "validation_size": 5000,
                             "epochs": 15, "batch_size": 128, "lr": 0.05}}
FLAGS = {}
TRAIN_SIZE, WIDTH = 10_000, 32
AUGMENTATION = {"none": [], "light": ["flip", "shift"],
                "heavy": ["flip", "translate", "zoom", "rotate", "contrast", "brightness"]}
REGULARISATION = {"none": {}, "weight decay + dropout": {"weight_decay": 5e-4, "dropout": 0.5}}


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs the lab as `config` says, in `output_dir`; returns its metrics."""
    # Data: the first 10,000 Fashion-MNIST training images.
    images = data.load_run_images(config)
    print(images.summary(), f"(training on the first {TRAIN_SIZE:,})", flush=True)
    runs.prepare(output_dir, config, overwrite, command=command)
    train = images.x_train[:TRAIN_SIZE], images.y_train[:TRAIN_SIZE]
    steps = training.total_steps(config["epochs"], len(train[0]), config["batch_size"])

    # Model and train: the same All-CNN for each cell of the grid; the
    # augmentation layers come first in the model and act in training only.
    rows, histories = [], {}
    for augmentation, augment in AUGMENTATION.items():
        for regularisation, options in REGULARISATION.items():
            keras.utils.set_random_seed(config["seed"])
            model = models.build_classifier("allcnn", images.input_shape, images.num_classes,
                                            width=WIDTH, augment=augment, **options)
            optimizer = keras.optimizers.SGD(
                keras.optimizers.schedules.CosineDecay(config["lr"], steps), momentum=0.9)
            history, accuracy = labs.train(
                model, optimizer, train, (images.x_test, images.y_test),
                validation=(images.x_val, images.y_val),
                epochs=config["epochs"], batch_size=config["batch_size"],
                progress=f"{augmentation} augmentation, {regularisation}")
            histories[augmentation, regularisation] = history
            rows.append({"augmentation": augmentation,
                         "explicit regularisation": regularisation,
                         "final training accuracy": history["accuracy"][-1],
                         "best validation accuracy": max(history["val_accuracy"]),
                         "test accuracy": accuracy})
            print(labs.describe(rows[-1]), flush=True)

    # Evaluate: the curves, then the paper's two claims on test accuracy.
    panels = {title: {f"{aug}, {'wd + dropout' if reg != 'none' else 'no wd/dropout'}": h[key]
                      for (aug, reg), h in histories.items()}
              for title, key in (("Training accuracy (augmented images)", "accuracy"),
                                 ("Validation accuracy", "val_accuracy"))}
    labs.plot_curves(f"{output_dir}/curves.png", panels, "epoch", "accuracy")
    test = {(row["augmentation"], row["explicit regularisation"]): row["test accuracy"]
            for row in rows}
    regularised = "weight decay + dropout"
    p = test["none", regularised]
    noise = 2 * np.sqrt(2 * p * (1 - p) / len(images.y_test))
    best = max(("light", "heavy"), key=lambda aug: test[aug, "none"])
    gains = {aug: test[aug, regularised] - test[aug, "none"] for aug in ("light", "heavy")}
    claim = (f"{best} augmentation alone reaches {test[best, 'none']:.2%} test accuracy against "
             f"{p:.2%} for weight decay + dropout alone ({test['none', 'none']:.2%} with "
             f"neither); adding them to augmentation changes it by "
             f"{gains['light']:+.2%} (light) and {gains['heavy']:+.2%} (heavy); a gap counts "
             f"beyond {noise:.2%}")
    holds = test[best, "none"] >= p - noise and all(g <= noise for g in gains.values())
    return labs.finish(output_dir, config, rows, claim, holds, noise=float(noise),
                       curves={f"{aug}, {reg}": h for (aug, reg), h in histories.items()})


def parse_config(argv=None):
    """Parses the flags into `(config, args)`."""
    return flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
