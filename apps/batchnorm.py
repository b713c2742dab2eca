"""Lab: BatchNorm lets a CNN train at rates where the plain net fails.

Batch normalisation (Ioffe & Szegedy 2015) standardises each channel over
the batch, then rescales it with two learnt numbers. A layer's output then
keeps its scale whatever the scale of the weights before it, so a large
step cannot blow the signal up layer after layer: the net trains at higher
rates, and reaches a given accuracy in fewer steps (on ImageNet, the
paper's Inception matched its plain version's accuracy in 14 times fewer).

The lab trains the same small VGG-style CNN, with and without BatchNorm
after each convolution and its hidden dense layer, with SGD and momentum
at three rates ten times apart, on 10,000 Fashion-MNIST training images.
It writes results.md, metrics.json, training.png (training loss per
epoch) and validation.png (validation accuracy per epoch) into
--output-dir.
"""

import sys

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerasdl import data, labs, models, runs  # noqa: E402

APP = "batchnorm"
PRESETS = {"fashion_mnist": {"dataset": "fashion_mnist", "validation_size": 5000,
                             "epochs": 8, "batch_size": 64}}
FLAGS = {}
RATES = [0.003, 0.03, 0.3]  # --lr replaces the highest
FAILED = 0.5  # a net below this training accuracy at the end diverged or stalled


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs the lab as `config` says, in `output_dir`; returns its metrics."""
    # Data: the first 10,000 Fashion-MNIST training images.
    images = data.load_run_images(config)
    print(images.summary(), "(training on the first 10,000)", flush=True)
    runs.prepare(output_dir, config, overwrite, command=command)
    train = images.x_train[:10_000], images.y_train[:10_000]
    rates = RATES[:-1] + [config.get("lr", RATES[-1])]

    # Model and train: the same CNN with and without BatchNorm, at each rate.
    rows, histories = [], {}
    for rate in rates:
        for batchnorm in (False, True):
            keras.utils.set_random_seed(config["seed"])
            model = models.build_classifier(
                "vgg", images.input_shape, images.num_classes, depth=1, width=16, stages=2,
                dense=64, batchnorm=batchnorm)
            history, accuracy = labs.train(
                model, keras.optimizers.SGD(rate, momentum=0.9), train,
                (images.x_test, images.y_test), validation=(images.x_val, images.y_val),
                epochs=config["epochs"], batch_size=config["batch_size"],
                callbacks=[keras.callbacks.TerminateOnNaN()])
            histories[batchnorm, rate] = history
            trained = bool(np.isfinite(history["loss"][-1])
                           and history["accuracy"][-1] >= FAILED)
            rows.append({"rate": rate, "batchnorm": batchnorm,
                         "final training loss": history["loss"][-1],
                         "final training accuracy": history["accuracy"][-1],
                         "best validation accuracy": max(history["val_accuracy"]),
                         "test accuracy": accuracy, "trained": trained})
            print(labs.describe(rows[-1]), flush=True)

    # Evaluate: the curves; BatchNorm at the highest rate; and the race: the
    # epochs each net needs, at its best rate, to reach the best accuracy the
    # plain net ever reaches, in training (what BatchNorm speeds up) and on
    # the validation set (where overfitting the 10,000 images also counts).
    label = {(bn, rate): f"{'BatchNorm' if bn else 'plain'}, rate {rate}"
             for bn, rate in histories}
    losses = {label[net]: h["loss"] for net, h in histories.items()}
    accuracies = {label[net]: h["val_accuracy"] for net, h in histories.items()}
    labs.plot_curves(f"{output_dir}/training.png", {"Training loss": losses},
                     "epoch", "cross-entropy", log_y=True)
    labs.plot_curves(f"{output_dir}/validation.png", {"Validation accuracy": accuracies},
                     "epoch", "accuracy")
    top = {row["batchnorm"]: row for row in rows if row["rate"] == rates[-1]}

    def race(key):
        target = max(max(h[key]) for (bn, _), h in histories.items() if not bn)
        return target, {bn: min(labs.epochs_to(h[key], target) or np.inf
                                for (b, _), h in histories.items() if b == bn)
                        for bn in (False, True)}

    (target, fastest), (val_target, val_fastest) = race("accuracy"), race("val_accuracy")
    unreached = np.isinf([*fastest.values(), *val_fastest.values()]).any()
    note = f"; inf: not in {config['epochs']}" if unreached else ""
    claim = (f"at rate {rates[-1]} the plain CNN ends at "
             f"{top[False]['final training accuracy']:.2%} training accuracy and the BatchNorm "
             f"CNN at {top[True]['final training accuracy']:.2%}; the plain net's best "
             f"training accuracy, {target:.2%}, takes it {fastest[False]} epochs and "
             f"BatchNorm {fastest[True]} (its best validation accuracy, {val_target:.2%}: "
             f"{val_fastest[False]} and {val_fastest[True]}{note})")
    holds = not top[False]["trained"] and top[True]["trained"] and fastest[True] < fastest[False]
    return labs.finish(output_dir, config, rows, claim, holds, training_loss=losses,
                       validation_accuracy=accuracies)


def parse_config(argv=None):
    """Parses the flags into `(config, args)`."""
    return flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
