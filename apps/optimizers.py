"""Lab: momentum and adaptive rates descend faster than plain SGD.

Plain SGD steps down the gradient: w -= lr * g. Momentum (Polyak 1964)
steps along a running sum of past gradients, which cancels the zig-zag
across a narrow valley and builds speed along it; Nesterov's variant takes
the gradient where the momentum is about to carry the weights. Adagrad
(Duchi et al. 2011) divides each weight's step by the root of its summed
squared gradients, RMSprop (Hinton 2012) by a running average of them, and
Adam (Kingma & Ba 2015) combines that with momentum; Nadam (Dozat 2016) is
Adam with Nesterov's momentum.

The lab trains one MLP on MNIST with each optimizer for the same epochs,
each at the rate of a small grid that gives the lowest training loss per
epoch (the mean over the epochs: the claim is about speed of descent), then
runs each from the same start on the Rosenbrock function f(x, y) = (1 - x)^2
+ 100 (y - x^2)^2, whose curved valley is the classic test. It writes
results.md, metrics.json, losses.png (training loss per epoch) and
rosenbrock.png (the paths) into --output-dir.
"""

import sys

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from kerasdl import backend, data, labs, runs, training  # noqa: E402

APP = "optimizers"
# Each optimizer tries the rates in GRIDS, or only --lr when it is given.
PRESETS = {"mnist": {"dataset": "mnist", "validation_size": 5000, "epochs": 3,
                     "batch_size": 128}}
FLAGS = {}
# sgd, momentum and nesterov (momentum 0.9), adagrad, rmsprop, adam, nadam:
# each a function of the rate that returns a Keras optimizer.
OPTIMIZERS = training.OPTIMIZERS
# Four rates each, a factor of about 10 / 3 apart; momentum's span is that
# of SGD divided by 10, as its steps sum about 1 / (1 - 0.9) gradients.
GRIDS = {"sgd": [0.03, 0.1, 0.3, 1.0], "momentum": [0.003, 0.01, 0.03, 0.1],
         "nesterov": [0.003, 0.01, 0.03, 0.1], "adagrad": [0.01, 0.03, 0.1, 0.3],
         "rmsprop": [3e-4, 1e-3, 3e-3, 1e-2], "adam": [3e-4, 1e-3, 3e-3, 1e-2],
         "nadam": [3e-4, 1e-3, 3e-3, 1e-2]}
# Rosenbrock: the start, the steps, and each optimizer's rate there.
START, STEPS = (-1.5, 2.0), 500
ROSENBROCK_RATES = {"sgd": 2e-4, "momentum": 2e-4, "nesterov": 2e-4, "adagrad": 0.5,
                    "rmsprop": 0.01, "adam": 0.05, "nadam": 0.05}


def rosenbrock_path(optimizer, steps=STEPS):
    """The points that `optimizer` visits from START on the Rosenbrock
    function, one per step."""
    point = keras.Variable(np.array(START, "float32"))
    path = [START]
    for _ in range(steps):
        _, grads = backend.value_and_grad(
            lambda: (1 - point[0]) ** 2 + 100 * (point[1] - point[0] ** 2) ** 2, [point])
        optimizer.apply(grads, [point])
        path.append(tuple(keras.ops.convert_to_numpy(point)))
    return np.array(path)


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs the lab as `config` says, in `output_dir`; returns its metrics."""
    # Data: MNIST, with the validation split that picks each rate.
    images = data.load_run_images(config)
    print(images.summary(), flush=True)
    runs.prepare(output_dir, config, overwrite, command=command)

    # Model and train: the same MLP from the same seed, per optimizer and rate.
    losses, rows, grids = {}, [], {}
    for name, make in OPTIMIZERS.items():
        tried = {}
        grid = [config["lr"]] if "lr" in config else GRIDS[name]
        for lr in grid[:1] if config["dry_run"] else grid:
            keras.utils.set_random_seed(config["seed"])
            tried[lr] = labs.train(
                labs.mlp(2, 128), make(lr), (images.x_train, images.y_train),
                (images.x_test, images.y_test), validation=(images.x_val, images.y_val),
                epochs=config["epochs"], batch_size=config["batch_size"])
        grids[name] = {lr: {"loss": h["loss"], "val_loss": h["val_loss"]}
                       for lr, (h, _) in tried.items()}
        best = min(tried, key=lambda lr: np.mean(tried[lr][0]["loss"]))
        history, accuracy = tried[best]
        losses[name] = history["loss"]
        rows.append({"optimizer": name, "grid": grid, "best rate": best,
                     "mean training loss": float(np.mean(history["loss"])),
                     "final training loss": history["loss"][-1],
                     "validation loss": history["val_loss"][-1], "test accuracy": accuracy})
        print(labs.describe(rows[-1]), flush=True)

    # Evaluate: the curves, the Rosenbrock paths, and the claim.
    labs.plot_curves(f"{output_dir}/losses.png", {"Training loss, best rate of each": losses},
                     "epoch", "cross-entropy", log_y=True)
    steps = 20 if config["dry_run"] else STEPS
    paths = {name: rosenbrock_path(make(ROSENBROCK_RATES[name]), steps)
             for name, make in OPTIMIZERS.items()}
    plot_rosenbrock(f"{output_dir}/rosenbrock.png", paths)
    mean = {row["optimizer"]: row["mean training loss"] for row in rows}
    others = {name: loss for name, loss in mean.items() if name != "sgd"}
    claim = (f"over {config['epochs']} epochs plain SGD's mean training loss per epoch is "
             f"{mean['sgd']:.4f}, and every other optimizer's is lower ("
             + ", ".join(f"{n} {loss:.4f}" for n, loss in others.items()) + ")")
    holds = all(loss < mean["sgd"] for loss in others.values())
    return labs.finish(output_dir, config, rows, claim, holds, training_losses=losses,
                       grids=grids,
                       rosenbrock_ends={n: p[-1].tolist() for n, p in paths.items()})


def plot_rosenbrock(path, paths):
    """Draws the function's contours, its minimum at (1, 1), and each path."""
    x, y = np.meshgrid(np.linspace(-2, 2, 200), np.linspace(-1, 3, 200))
    fig = Figure(figsize=(7, 5.5), layout="constrained")
    ax = fig.subplots()
    ax.contour(x, y, np.log1p((1 - x) ** 2 + 100 * (y - x**2) ** 2), levels=20, cmap="Greys")
    for name, points in paths.items():
        ax.plot(points[:, 0], points[:, 1], label=name, linewidth=1.2)
    ax.plot(1, 1, "k*", markersize=12)
    ax.set(title=f"Rosenbrock, {len(points) - 1} steps from {START}", xlabel="x", ylabel="y",
           xlim=(-2, 2), ylim=(-1, 3))
    ax.legend(fontsize="small")
    fig.savefig(path, dpi=100)


def parse_config(argv=None):
    """Parses the flags into `(config, args)`."""
    return flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
