"""Lab: stop when the validation loss stops falling, and keep the best weights.

Trained long enough on few examples, a net drives its training loss to
zero by memorising them; the validation loss falls, reaches a minimum, then
rises. Early stopping watches it: Keras' EarlyStopping ends the run once
`--patience` epochs have passed without a new minimum, and with
restore_best_weights it hands back the weights of the best epoch rather
than those of the last. The claim is that these beat the last epoch's.

One caveat the lab measures: the loss punishes confident mistakes, and the
net's outputs grow more confident as it memorises, so the validation loss
can rise while the accuracy stays flat. The claim is therefore checked
where it matters, on test accuracy, and counts a gain only when it exceeds
one standard error of the test accuracy (about 0.3% on 10,000 images).

The lab trains an MLP (2 hidden layers of 512 ReLU units, Adam) on the
first 1,000 MNIST training images, validated on 5,000 others, twice from
the same seed: once with EarlyStopping(patience, restore_best_weights), and
once for all --epochs, to show the whole curve. It compares the test
accuracy of the restored best weights, of the weights at the patience stop,
and of the last epoch. It writes results.md, metrics.json and curves.png
(the losses and accuracies per epoch, the best epoch and the stop marked)
into --output-dir.
"""

import sys

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from kerasdl import data, labs, runs  # noqa: E402

APP = "early_stopping"
PRESETS = {"mnist": {"dataset": "mnist", "validation_size": 5000, "epochs": 100,
                     "batch_size": 32, "lr": 1e-3}}
FLAGS = {"patience": {"type": flags.positive_int, "default": 10,
                      "help": "epochs without a lower validation loss before the run stops"}}
TRAIN_SIZE, DEPTH, WIDTH = 1000, 2, 512


def train(images, config, epochs, patience=None):
    """Trains the MLP from the seed on the first TRAIN_SIZE training images;
    with `patience`, EarlyStopping on the validation loss may stop it early
    and restores the best epoch's weights at the end.

    Returns:
        `(history, test_accuracy, best_epoch)`: `fit`'s figures per epoch
        plus "test_accuracy" (at each epoch's end), the test accuracy of
        the final (with `patience`, restored) weights, and the best epoch
        (0-based; `None` without `patience`).
    """
    keras.utils.set_random_seed(config["seed"])
    model = labs.mlp(DEPTH, WIDTH, initializer="he_normal")
    test, per_epoch = (images.x_test, images.y_test), []
    callbacks = [keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: per_epoch.append(labs.test_accuracy(model, *test)))]
    if patience:
        callbacks.append(keras.callbacks.EarlyStopping(
            "val_loss", patience=patience, restore_best_weights=True))
    history, test_accuracy = labs.train(
        model, keras.optimizers.Adam(config["lr"]),
        (images.x_train[:TRAIN_SIZE], images.y_train[:TRAIN_SIZE]), test,
        validation=(images.x_val, images.y_val), epochs=epochs,
        batch_size=config["batch_size"], callbacks=callbacks)
    return {**history, "test_accuracy": per_epoch}, test_accuracy, (
        callbacks[-1].best_epoch if patience else None)


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs the lab as `config` says, in `output_dir`; returns its metrics."""
    # Data: the first 1,000 MNIST training images; validation from the rest.
    images = data.load_run_images(config)
    print(images.summary(), f"(training on the first {TRAIN_SIZE:,})", flush=True)
    runs.prepare(output_dir, config, overwrite, command=command)
    epochs, patience = config["epochs"], config["patience"]

    # Model and train: with EarlyStopping, then the same net for every epoch.
    stopped, restored, best = train(images, config, epochs, patience)
    full, last, _ = train(images, config, epochs)
    stop = len(stopped["loss"]) - 1

    # Evaluate: the three sets of weights, the picture and the claim.
    def row(weights, history, epoch, test_accuracy):
        return {"weights": weights, "epoch": epoch + 1,
                "validation loss": history["val_loss"][epoch],
                "validation accuracy": history["val_accuracy"][epoch],
                "test accuracy": test_accuracy}

    rows = [row("best validation loss, restored", stopped, best, restored),
            row(f"at the stop (patience {patience})", stopped, stop,
                stopped["test_accuracy"][stop]),
            row("last, without early stopping", full, epochs - 1, last)]
    for r in rows:
        print(labs.describe(r), flush=True)
    fig = Figure(figsize=(9.6, 3.6), layout="constrained")
    panels = {"Cross-entropy": {"training": "loss", "validation": "val_loss"},
              "Accuracy": {"training": "accuracy", "validation": "val_accuracy",
                           "test": "test_accuracy"}}
    for ax, (title, keys) in zip(fig.subplots(1, 2), panels.items()):
        for label, key in keys.items():
            ax.plot(range(1, epochs + 1), full[key], label=label)
        ax.axvline(best + 1, color="green", linestyle="--", label=f"restored epoch {best + 1}")
        ax.axvline(stop + 1, color="red", linestyle=":", label=f"patience stop, epoch {stop + 1}")
        ax.set(title=title, xlabel="epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(f"MLP {DEPTH}x{WIDTH} on {len(images.x_train[:TRAIN_SIZE]):,} MNIST images")
    fig.savefig(f"{output_dir}/curves.png", dpi=100)

    best_row, stop_row, last_row = rows
    # Gaps under the standard error of an accuracy p on n images count as noise.
    noise = np.sqrt(restored * (1 - restored) / len(images.y_test))
    claim = (f"EarlyStopping (patience {patience}) stops at epoch {stop + 1} and restores "
             f"epoch {best + 1}, the lowest validation loss by then "
             f"({best_row['validation loss']:.3f}; {last_row['validation loss']:.3f} after all "
             f"{epochs} epochs); the restored weights reach {restored:.2%} test accuracy against "
             f"{stop_row['test accuracy']:.2%} at the stop and {last:.2%} after all {epochs}, "
             f"a gain over both of more than one standard error ({noise:.2%})")
    holds = restored - max(stop_row["test accuracy"], last) > noise
    return labs.finish(output_dir, config, rows, claim, holds, best_epoch=best + 1,
                       stop_epoch=stop + 1, patience=patience, curves=full)


def parse_config(argv=None):
    """Parses the flags into `(config, args)`."""
    return flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
