"""Lab: deep and narrow against shallow and wide, for the same number of weights.

One hidden layer can approximate anything, given enough units; but some
functions need exponentially many units in a shallow net and only a few in
a deeper one (Montufar et al. 2014; Eldan & Shamir 2016), and the course's
slogan is that deep networks learn better than fat ones. This lab puts the
slogan to a fair test: MLPs of depth 1, 2, 4 and 8 whose widths are chosen
so that all have the same parameter count (within 5%), trained the same way
on Fashion-MNIST from several seeds, compared on the test split. A gap
smaller than twice its standard error is no gap: the lab reports what the
numbers show, whichever way they go.

It writes results.md, metrics.json and accuracy.png (test and validation
accuracy against depth, and the training curves) into --output-dir.
"""

import sys

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerasdl import data, labs, runs  # noqa: E402
from kerasdl.errors import UsageError  # noqa: E402

APP = "depth_vs_width"
PRESETS = {"fashion_mnist": {"dataset": "fashion_mnist", "validation_size": 5000,
                             "epochs": 10, "batch_size": 128, "lr": 1e-3}}
FLAGS = {"params": {"type": flags.positive_int, "default": 200_000,
                    "help": "the parameter count every net is given"},
         "seeds": {"type": flags.positive_int, "default": 3,
                   "help": "runs per depth, from --seed up (one with --dry-run)"}}
DEPTHS = [1, 2, 4, 8]


def weights(depth, width, inputs=784, classes=10):
    """The parameters of an MLP with `depth` hidden layers of `width` units."""
    return (depth - 1) * (width ** 2 + width) + (inputs + 1) * width + (width + 1) * classes


def width_for(depth, params, inputs=784, classes=10):
    """The hidden width that gives an MLP of `depth` hidden layers about
    `params` parameters: the root w of `weights(depth, w) = params`."""
    a, b, c = depth - 1, (depth - 1) + inputs + 1 + classes, classes - params
    return round(-c / b if a == 0 else (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a))


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs the lab as `config` says, in `output_dir`; returns its metrics."""
    # Data: Fashion-MNIST, with a validation split from the training set.
    images = data.load_run_images(config)
    print(images.summary(), flush=True)
    runs.prepare(output_dir, config, overwrite, command=command)

    # Model and train: one MLP per depth and seed, same budget, same recipe.
    seeds = [config["seed"]] if config["dry_run"] else [
        config["seed"] + i for i in range(config["seeds"])]
    rows, curves, per_seed = [], {}, {}
    for depth in DEPTHS:
        width, trained = width_for(depth, config["params"]), []
        for seed in seeds:
            keras.utils.set_random_seed(seed)
            model = labs.mlp(depth, width, initializer="he_normal")
            history, accuracy = labs.train(
                model, keras.optimizers.Adam(config["lr"]), (images.x_train, images.y_train),
                (images.x_test, images.y_test), validation=(images.x_val, images.y_val),
                epochs=config["epochs"], batch_size=config["batch_size"])
            trained.append((history, accuracy))
        curves[f"depth {depth}"] = np.mean([h["val_accuracy"] for h, _ in trained], axis=0)
        test = [accuracy for _, accuracy in trained]
        rows.append({"depth": depth, "width": width, "params": model.count_params(),
                     "final training loss": float(np.mean([h["loss"][-1] for h, _ in trained])),
                     "validation accuracy": float(np.mean(
                         [h["val_accuracy"][-1] for h, _ in trained])),
                     "test accuracy": float(np.mean(test)), "test sd": float(np.std(test))})
        per_seed[depth] = test
        print(labs.describe(rows[-1]), flush=True)

    # Evaluate: the picture, and whether the best deep net beats the wide one
    # by more than twice the standard error of the difference of the means
    # (from population sds over n seeds: sqrt((sd1^2 + sd2^2) / (n - 1))).
    labs.plot_curves(f"{output_dir}/accuracy.png", {
        f"Accuracy against depth, mean of {len(seeds)} seeds": {
            split: (DEPTHS, [row[f"{split} accuracy"] for row in rows])
            for split in ("validation", "test")},
        "Validation accuracy per epoch": curves}, "depth / epoch", "accuracy")
    shallow, deep = rows[0], max(rows[1:], key=lambda row: row["test accuracy"])
    gap = deep["test accuracy"] - shallow["test accuracy"]
    error = np.sqrt((shallow["test sd"] ** 2 + deep["test sd"] ** 2) / max(len(seeds) - 1, 1))
    same_budget = all(abs(row["params"] / config["params"] - 1) <= 0.05 for row in rows)
    verdict = ("deeper beats fatter here" if gap > 2 * error else "fatter wins here"
               if gap < -2 * error else "no clear difference here")
    claim = (f"with {config['params']:,} parameters each (all within 5%: {same_budget}), "
             f"mean test accuracy over {len(seeds)} seeds is "
             + ", ".join(f"{r['test accuracy']:.2%} ± {r['test sd']:.2%} at depth {r['depth']}"
                         for r in rows)
             + f"; the best deep net's gap to one wide layer is {gap:+.2%} (2 SE = "
             f"{2 * error:.2%}): {verdict}")
    holds = same_budget and gap > 2 * error
    return labs.finish(output_dir, config, rows, claim, holds, test_per_seed=per_seed)


def parse_config(argv=None):
    """Parses the flags into `(config, args)`; refuses a --params too few for
    one unit in each layer of the deepest net."""
    config, args = flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)
    least = weights(DEPTHS[-1], 1)
    if config["params"] < least:
        raise UsageError(f"argument --params: {config['params']} is too few for {DEPTHS[-1]} "
                         f"hidden layers of one unit each; give at least {least}")
    return config, args


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
