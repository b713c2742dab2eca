"""Lab: the perceptron learns what a line can separate, and no more (XOR).

Rosenblatt's perceptron predicts sign(w . x + b) and learns one example at
a time, with no loss and no gradient: when it gets an example (x, y) wrong,
y being -1 or +1, it adds y * x to w and y to b. When a hyperplane separates
the two classes, it stops making mistakes after finitely many updates
(Novikoff, 1962). On XOR no line separates the classes, so it never stops;
one hidden layer with a non-linearity, trained by gradient descent, solves
XOR at once.

The lab runs the rule on two MNIST digits (0 against 1), then on XOR, then
trains a one-hidden-layer MLP on XOR. It writes results.md, metrics.json,
mistakes.png (mistakes in each pass) and xor_boundaries.png (both models'
decision boundaries on XOR) into --output-dir.
"""

import sys

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from kerasdl import callbacks, data, labs, runs  # noqa: E402

APP = "perceptron"
# --epochs caps the perceptron's passes; --lr and --batch-size are the MLP's.
PRESETS = {"mnist": {"dataset": "mnist", "validation_size": 5000, "epochs": 30,
                     "batch_size": 20, "lr": 0.05}}
FLAGS = {}
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], "float32")
XOR_Y = np.array([-1, 1, 1, -1], "float32")


def perceptron(x, y, passes):
    """Rosenblatt's rule: up to `passes` passes over `(x, y)`, y in {-1, +1},
    stopping after a pass without mistakes. Returns `(w, b, mistakes)`, the
    last with one count per pass."""
    x = keras.ops.convert_to_tensor(x)
    w, b, mistakes = keras.ops.zeros(x.shape[1]), 0.0, []
    for _ in range(passes):
        count = 0
        for i, label in enumerate(y):
            if label * (float(keras.ops.dot(w, x[i])) + b) <= 0:
                w, b, count = w + label * x[i], b + label, count + 1
        mistakes.append(count)
        if count == 0:
            break
    return keras.ops.convert_to_numpy(w), b, mistakes


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs the lab as `config` (from `parse_config`) says, in `output_dir`,
    and returns its metrics."""
    # Data: MNIST's zeros and ones, flattened, labels -1 (zero) and +1 (one).
    digits = data.load_run_images(config).select_classes([0, 1], "mnist 0 vs 1")
    print(digits.summary(), flush=True)
    runs.prepare(output_dir, config, overwrite, command=command)
    keras.utils.set_random_seed(config["seed"])

    def flat(x, y):
        return x.reshape(len(x), -1), np.where(y == 1, 1.0, -1.0)

    x_train, y_train = flat(digits.x_train, digits.y_train)
    x_test, y_test = flat(digits.x_test, digits.y_test)

    # Model and train: the perceptron on the digits, then on XOR.
    w, b, digit_mistakes = perceptron(x_train, y_train, config["epochs"])
    test_accuracy = float(np.mean(np.sign(x_test @ w + b) == y_test))
    print(f"Digits: mistakes per pass {digit_mistakes}, test accuracy {test_accuracy:.4f}")
    xor_w, xor_b, xor_mistakes = perceptron(XOR_X, XOR_Y, config["epochs"])
    print(f"XOR: mistakes per pass {xor_mistakes}")

    # A hidden layer of 8 tanh units, by gradient descent on the cross-entropy.
    mlp = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, "tanh"),
                            keras.layers.Dense(1, "sigmoid")])
    mlp.compile(keras.optimizers.Adam(config["lr"]), "binary_crossentropy")
    repeats = 5 if config["dry_run"] else 250
    mlp.fit(np.tile(XOR_X, (repeats, 1)), np.tile(XOR_Y > 0, repeats), verbose=0,
            batch_size=config["batch_size"], epochs=10, callbacks=callbacks.tensorboard("mlp"))
    mlp_correct = int(np.sum((mlp.predict(XOR_X, verbose=0)[:, 0] > 0.5) == (XOR_Y > 0)))

    # Evaluate: the mistakes, the boundaries, and the claim; accuracy is on
    # the test split for the digits, on the four points for XOR.
    curves = {"MNIST 0 vs 1": digit_mistakes, "XOR": xor_mistakes}
    labs.plot_curves(f"{output_dir}/mistakes.png", {"Perceptron": curves}, "pass",
                     "mistakes", log_y=True)
    plot_xor(f"{output_dir}/xor_boundaries.png", (xor_w, xor_b), mlp)
    rows = [{"task": "MNIST 0 vs 1", "model": "perceptron", "passes": len(digit_mistakes),
             "last pass mistakes": digit_mistakes[-1], "accuracy": test_accuracy},
            {"task": "XOR", "model": "perceptron", "passes": len(xor_mistakes),
             "last pass mistakes": xor_mistakes[-1],
             "accuracy": float(np.mean(np.sign(XOR_X @ xor_w + xor_b) == XOR_Y))},
            {"task": "XOR", "model": "MLP, 8 tanh units", "passes": 10,
             "last pass mistakes": "", "accuracy": mlp_correct / 4}]
    claim = (f"the perceptron separates 0 from 1 after {len(digit_mistakes)} passes "
             f"(test accuracy {test_accuracy:.4f}), still errs on XOR after "
             f"{len(xor_mistakes)} passes, and the MLP gets {mlp_correct}/4 XOR points")
    holds = digit_mistakes[-1] == 0 and min(xor_mistakes) > 0 and mlp_correct == 4
    return labs.finish(output_dir, config, rows, claim, holds,
                       digit_mistakes=digit_mistakes, xor_mistakes=xor_mistakes,
                       test_accuracy=test_accuracy, xor_mlp_correct=mlp_correct)


def plot_xor(path, line, mlp):
    """Draws the perceptron's line `(w, b)` and the MLP's 0.5 contour over the
    four XOR points."""
    grid = np.stack(np.meshgrid(np.linspace(-0.5, 1.5, 101), np.linspace(-0.5, 1.5, 101)), -1)
    points = grid.reshape(-1, 2).astype("float32")
    fig = Figure(figsize=(8, 3.8), layout="constrained")
    for ax, (name, scores) in zip(fig.subplots(1, 2), {
            "Perceptron (no line fits)": points @ line[0] + line[1],
            "MLP, one hidden layer": mlp.predict(points, verbose=0)[:, 0] - 0.5}.items()):
        ax.contourf(grid[..., 0], grid[..., 1], scores.reshape(101, 101) > 0, alpha=0.3,
                    cmap="coolwarm", levels=[-0.5, 0.5, 1.5])
        ax.scatter(*XOR_X.T, c=XOR_Y, cmap="coolwarm", edgecolors="k", s=80)
        ax.set(title=name, xlabel="x1", ylabel="x2")
    fig.savefig(path, dpi=100)


def parse_config(argv=None):
    """Parses the flags into `(config, args)`."""
    return flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
