"""Lab: a wide MLP fits random labels too, more slowly, and then tests at chance.

Zhang et al. (2017) trained the nets that generalise well on real images on
the same images with random labels, and found that they fit those too, to
100% training accuracy, only more slowly; their test accuracy is then that
of a guess. The net is big enough to memorise every example, so what makes
it generalise on real labels cannot be its capacity alone: it must lie in
the data and in how the training finds its solution among the many that
fit.

The lab trains the same MLP (2 hidden layers of 1024 ReLU units, Adam with
a cosine-decayed rate) from the same seed on the first 10,000 MNIST
training images four ways: with the true labels; with 50% and with 100% of
the labels redrawn at random (each redrawn label uniform over all ten
classes, as in the paper, so one in ten keeps its class); and with shuffled
pixels (one fixed random permutation of the 784 pixels applied to every
image, test and validation images included). An MLP is blind to the order
of its inputs, so shuffled pixels train like true labels: a control for the
CNNs of the paper, which lose their local structure. Validation and test
accuracy are always measured against the true labels. It writes
results.md, metrics.json and accuracy.png (training and validation
accuracy per epoch) into --output-dir.
"""

import sys

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerasdl import data, labs, runs, training  # noqa: E402

APP = "memorisation"
PRESETS = {"mnist": {"dataset": "mnist", "validation_size": 5000, "epochs": 50,
                     "batch_size": 128, "lr": 1e-3}}
FLAGS = {}
TRAIN_SIZE, DEPTH, WIDTH = 10_000, 2, 1024
CONDITIONS = {  # the share of labels redrawn, and whether the pixels are shuffled
    "true labels": (0.0, False),
    "50% random labels": (0.5, False),
    "100% random labels": (1.0, False),
    "shuffled pixels": (0.0, True),
}
FITTED, TARGET, CHANCE = 0.95, 0.9, 0.1  # "near 100%", the race's finish, a guess


def randomise_labels(y, share, rng, num_classes=10):
    """A copy of the labels `y` in which exactly `round(share * len(y))`,
    picked by the NumPy generator `rng`, are redrawn uniformly from all
    `num_classes` classes (their own included)."""
    y = y.copy()
    picked = rng.choice(len(y), round(share * len(y)), replace=False)
    y[picked] = rng.integers(0, num_classes, len(picked))
    return y


def shuffle_pixels(x, permutation):
    """The images `x` with the pixels of each reordered by the same
    `permutation` of `range(x[0].size)`."""
    return x.reshape(len(x), -1)[:, permutation].reshape(x.shape)


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs the lab as `config` says, in `output_dir`; returns its metrics."""
    # Data: the first 10,000 MNIST training images; one generator from --seed
    # draws the pixel permutation, then the labels redrawn.
    images = data.load_run_images(config)
    x, y = images.x_train[:TRAIN_SIZE], images.y_train[:TRAIN_SIZE]
    print(images.summary(), f"(training on the first {len(x):,})", flush=True)
    runs.prepare(output_dir, config, overwrite, command=command)
    rng = np.random.default_rng(config["seed"])
    permutation = rng.permutation(x[0].size)

    # Model and train: the same MLP from the same seed on each training set.
    rows, train_curves, val_curves = [], {}, {}
    steps = training.total_steps(config["epochs"], len(x), config["batch_size"])
    for name, (share, shuffled) in CONDITIONS.items():
        labels = randomise_labels(y, share, rng)
        order = permutation if shuffled else np.arange(x[0].size)  # identity
        keras.utils.set_random_seed(config["seed"])
        history, accuracy = labs.train(
            labs.mlp(DEPTH, WIDTH),
            keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(config["lr"], steps)),
            (shuffle_pixels(x, order), labels), (shuffle_pixels(images.x_test, order),
                                                 images.y_test),
            validation=(shuffle_pixels(images.x_val, order), images.y_val),
            epochs=config["epochs"], batch_size=config["batch_size"])
        train_curves[name], val_curves[name] = history["accuracy"], history["val_accuracy"]
        rows.append({"training set": name, "labels changed": float(np.mean(labels != y)),
                     f"epochs to {TARGET:.0%} training accuracy": labs.epochs_to(
                         history["accuracy"], TARGET),
                     "final training accuracy": history["accuracy"][-1],
                     "final validation accuracy": history["val_accuracy"][-1],
                     "test accuracy": accuracy})
        print(labs.describe(rows[-1]), flush=True)

    # Evaluate: the curves; random labels fitted (>= 95%), later than the true
    # ones to 90%, and a test accuracy within 3 points of a guess.
    labs.plot_curves(f"{output_dir}/accuracy.png", {
        "Training accuracy (labels trained on)": train_curves,
        "Validation accuracy (true labels)": val_curves}, "epoch", "accuracy",
        title=f"MLP {DEPTH}x{WIDTH}, Adam, {len(x):,} MNIST training images")
    by = {row["training set"]: row for row in rows}
    true, half, random, shuffled = (by[name] for name in CONDITIONS)
    race = f"epochs to {TARGET:.0%} training accuracy"
    claim = (f"on {len(x):,} MNIST images the {DEPTH}x{WIDTH} MLP fits 100% random labels to "
             f"{random['final training accuracy']:.2%} training accuracy in {config['epochs']} "
             f"epochs (near 100%: >= {FITTED:.0%}), reaching {TARGET:.0%} in {random[race]} "
             f"epochs against {true[race]} with the true labels (None: never), and tests at "
             f"{random['test accuracy']:.2%} (chance: {CHANCE:.0%} ± 3 points); 50% random "
             f"labels end at {half['final training accuracy']:.2%} training and "
             f"{half['test accuracy']:.2%} test accuracy; true labels test at "
             f"{true['test accuracy']:.2%}, shuffled pixels at {shuffled['test accuracy']:.2%}")
    holds = (random["final training accuracy"] >= FITTED
             and (random[race] or np.inf) > (true[race] or np.inf)
             and abs(random["test accuracy"] - CHANCE) <= 0.03)
    return labs.finish(output_dir, config, rows, claim, holds, train_size=len(x),
                       training_accuracy=train_curves, validation_accuracy=val_curves)


def parse_config(argv=None):
    """Parses the flags into `(config, args)`."""
    return flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
