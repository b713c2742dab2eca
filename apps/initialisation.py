"""Lab: the initial weights decide whether a deep net trains at all.

Each layer multiplies the signal's variance, forward and backward, by about
fan_in * Var(w) times a factor of the activation. Too small a variance and
the signal dies out over the depth; too large and it explodes. Glorot &
Bengio (2010) keep it steady for tanh with Var(w) = 2 / (fan_in + fan_out);
He et al. (2015) for ReLU, which zeroes half of its inputs, with Var(w) =
2 / fan_in. All-zero weights are worse still: every unit of a layer computes
the same function and gets the same gradient, so they never become
different (the symmetry is never broken).

The lab builds MLPs of depth 5, 10 and 20 (64 units a layer) with ReLU and
with tanh, initialised with zeros, normal(0.01), normal(1.0), Glorot and
He; it measures the standard deviation of each layer's activations and
kernel gradients at initialisation, and trains each net on 10,000 MNIST
images with SGD and momentum. It writes results.md, metrics.json,
signal.png (the 20-layer nets' standard deviations per layer) and
training.png (their training loss per epoch) into --output-dir.
"""

import sys

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerasdl import data, labs, runs  # noqa: E402

APP = "initialisation"
PRESETS = {"mnist": {"dataset": "mnist", "validation_size": 5000, "epochs": 5,
                     "batch_size": 64, "lr": 0.01}}
FLAGS = {}
DEPTHS, ACTIVATIONS, WIDTH = [5, 10, 20], ["relu", "tanh"], 64
INITIALIZERS = {
    "zeros": "zeros",
    "normal(0.01)": {"class_name": "RandomNormal", "config": {"stddev": 0.01}},
    "normal(1.0)": {"class_name": "RandomNormal", "config": {"stddev": 1.0}},
    "Glorot": "glorot_normal",
    "He": "he_normal",
}


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs the lab as `config` says, in `output_dir`; returns its metrics."""
    # Data: the first 10,000 MNIST training images; 512 of them as a probe.
    images = data.load_run_images(config)
    print(images.summary(), "(training on the first 10,000)", flush=True)
    runs.prepare(output_dir, config, overwrite, command=command)
    train = images.x_train[:10_000], images.y_train[:10_000]
    probe = images.x_train[:512], images.y_train[:512]

    # Model and train: every depth, activation and initialiser.
    signal = {f"{kind}, {a}": {} for kind in ("activation std", "gradient std")
              for a in ACTIVATIONS}
    losses = {a: {} for a in ACTIVATIONS}
    rows = []
    for depth in [5] if config["dry_run"] else DEPTHS:
        for activation in ACTIVATIONS:
            for name, initializer in INITIALIZERS.items():
                keras.utils.set_random_seed(config["seed"])
                model = labs.mlp(depth, WIDTH, activation=activation, initializer=initializer)
                stats = labs.layer_statistics(model, *probe)
                history, accuracy = labs.train(
                    model, keras.optimizers.SGD(config["lr"], momentum=0.9), train,
                    (images.x_test, images.y_test), epochs=config["epochs"],
                    batch_size=config["batch_size"])
                # Symmetry: do all units of each hidden layer have equal weights?
                kernels = [keras.ops.convert_to_numpy(layer.kernel)
                           for layer in labs.dense_layers(model)[:-1]]
                symmetric = all(np.allclose(k, k[:, :1]) for k in kernels)
                rows.append({"depth": depth, "activation": activation, "initialiser": name,
                             "first layer gradient std": stats["gradient_std"][0],
                             "final training loss": history["loss"][-1],
                             "test accuracy": accuracy, "units still identical": symmetric})
                print(labs.describe(rows[-1]), flush=True)
                if depth == max(DEPTHS) or config["dry_run"]:
                    for kind in ("activation", "gradient"):
                        signal[f"{kind} std, {activation}"][name] = stats[f"{kind}_std"]
                    losses[activation][name] = history["loss"]

    # Evaluate: the pictures and the claim, on the deepest ReLU nets.
    labs.plot_curves(f"{output_dir}/signal.png", signal, "layer (1 = first)",
                     "standard deviation at initialisation", log_y=True)
    labs.plot_curves(f"{output_dir}/training.png", {
        f"{a}, depth {rows[-1]['depth']}": curves for a, curves in losses.items()},
        "epoch", "training loss")
    deepest = {row["initialiser"]: row for row in rows
               if row["activation"] == "relu" and row["depth"] == rows[-1]["depth"]}
    he, small, zeros = deepest["He"], deepest["normal(0.01)"], deepest["zeros"]
    claim = (f"He trains the {he['depth']}-layer ReLU net to {he['test accuracy']:.2%} test "
             f"accuracy, normal(0.01) stays near chance (training loss "
             f"{small['final training loss']:.3f}, ln 10 = {labs.CHANCE_LOSS:.3f}; test "
             f"accuracy {small['test accuracy']:.2%}), and zeros never breaks symmetry "
             f"(units still identical: {zeros['units still identical']})")
    holds = (he["test accuracy"] >= 0.8  # chance is 0.1
             and abs(small["final training loss"] - labs.CHANCE_LOSS) < 0.05
             and zeros["units still identical"])
    return labs.finish(output_dir, config, rows, claim, holds)


def parse_config(argv=None):
    """Parses the flags into `(config, args)`."""
    return flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
