"""Lab: for the same number of weights, is a deep narrow MLP better than a
shallow wide one?

One hidden layer can approximate anything, given enough units; but some
functions need exponentially many units in a shallow net and only a few in
a deeper one (Montufar et al. 2014; Eldan & Shamir 2016), and the course's
slogan is that deep networks learn better than fat ones. This lab puts the
slogan to a fair test: MLPs of depth 1, 2, 4 and 8 whose widths are chosen
so that all have the same parameter count (within 5%), trained the same way
on Fashion-MNIST, compared on the test split. It reports what the numbers
show, whichever way they go.

It writes results.md, metrics.json and accuracy.png (test and validation
accuracy against depth, and the training curves) into --output-dir.
"""

import sys

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerasdl import data, labs, runs  # noqa: E402

APP = "depth_vs_width"
PRESETS = {"fashion_mnist": {"dataset": "fashion_mnist", "validation_size": 5000,
                             "epochs": 10, "batch_size": 128, "lr": 1e-3}}
FLAGS = {"params": {"type": flags.positive_int, "default": 200_000,
                    "help": "the parameter count every net is given"}}
DEPTHS = [1, 2, 4, 8]


def width_for(depth, params, inputs=784, classes=10):
    """The hidden width that gives an MLP of `depth` hidden layers about
    `params` parameters: the root of (depth - 1) (w^2 + w) + (inputs + 1) w
    + (w + 1) classes = params."""
    a, b, c = depth - 1, (depth - 1) + inputs + 1 + classes, classes - params
    return round(-c / b if a == 0 else (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a))


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs the lab as `config` says, in `output_dir`; returns its metrics."""
    # Data: Fashion-MNIST, with a validation split from the training set.
    images = data.load_run_images(config)
    print(images.summary(), flush=True)
    runs.prepare(output_dir, config, overwrite)

    # Model and train: one MLP per depth, same budget, same recipe.
    rows, curves = [], {}
    for depth in DEPTHS:
        keras.utils.set_random_seed(config["seed"])
        model = labs.mlp(depth, width_for(depth, config["params"]), initializer="he_normal")
        history, accuracy = labs.train(
            model, keras.optimizers.Adam(config["lr"]), (images.x_train, images.y_train),
            (images.x_test, images.y_test), validation=(images.x_val, images.y_val),
            epochs=config["epochs"], batch_size=config["batch_size"])
        curves[f"depth {depth}"] = history["val_accuracy"]
        rows.append({"depth": depth, "width": width_for(depth, config["params"]),
                     "params": model.count_params(),
                     "final training loss": history["loss"][-1],
                     "validation accuracy": history["val_accuracy"][-1],
                     "test accuracy": accuracy})
        print(", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in rows[-1].items()), flush=True)

    # Evaluate: the picture and what the numbers show.
    labs.plot_curves(f"{output_dir}/accuracy.png", {
        "Accuracy against depth, same parameters": {
            split: (DEPTHS, [row[f"{split} accuracy"] for row in rows])
            for split in ("validation", "test")},
        "Validation accuracy per epoch": curves}, "depth / epoch", "accuracy")
    best = max(rows, key=lambda row: row["test accuracy"])
    shallow = rows[0]
    same_budget = all(abs(row["params"] / config["params"] - 1) <= 0.05 for row in rows)
    claim = (f"with {config['params']:,} parameters each (all within 5%: {same_budget}), the "
             f"best test accuracy is depth {best['depth']}'s {best['test accuracy']:.2%}, "
             f"against {shallow['test accuracy']:.2%} for one wide layer: "
             + ("deeper beats fatter here" if best["depth"] > 1 else "fatter wins here"))
    holds = same_budget and best["depth"] > 1
    return labs.finish(output_dir, config, rows, claim, holds)


def parse_config(argv=None):
    """Parses the flags into `(config, args)`."""
    return flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
