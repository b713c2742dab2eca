"""Lab: one hidden layer of ReLU units fits a function better as it widens.

The universal approximation theorem (Cybenko 1989; Hornik 1991; Leshno et
al. 1993 for any non-polynomial activation) says that one hidden layer of
enough units approximates any continuous function on a bounded interval as
closely as we like. With ReLU units the reason is plain to see: the network
is a sum of N hinges, a piecewise-linear curve with up to N kinks, and more
kinks follow a curve more closely. The theorem promises that good weights
exist, not that training finds them; this lab checks both at once by
training, for each width N, a net x -> Dense(N, relu) -> Dense(1) on three
targets over [-1, 1]: a smooth one (sin 2πx), a kink (abs(x)) and a jump (a
step). For continuous targets the theorem promises a small maximum error;
for the step it promises only a small mean squared error (in L2), since
every net is continuous and so misses a jump by half its height somewhere
near it. The lab judges each target by the error the theorem speaks of.

It writes results.md, metrics.json, fits.png (the fits for N = 2, 8, 32,
128) and errors.png (max and RMS error on the grid against N, log-log) into
--output-dir.
"""

import math
import sys

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerasdl import labs, runs  # noqa: E402

APP = "universal_approximation"
# --epochs counts passes over the grid; each is 256 / --batch-size steps.
PRESETS = {"fit": {"epochs": 250, "batch_size": 32, "lr": 0.01}}
FLAGS = {"tensorboard": None}  # each net trains as one long epoch: no curves to log
# Each target, and the error the theorem bounds for it.
TARGETS = {"sin 2πx": (lambda x: np.sin(2 * np.pi * x), "max"),
           "abs(x)": (np.abs, "max"),
           "step": (lambda x: (x > 0).astype("float32"), "rms")}
WIDTHS = [1, 2, 4, 8, 16, 32, 64, 128]
SHOWN = [2, 8, 32, 128]  # the widths whose fits are drawn


def fit(x, y, width, config):
    """Trains x -> Dense(width, relu) -> Dense(1) on the mean squared error
    and returns its predictions on `x`.

    Unit i is a hinge relu(w_i x + b_i) with its kink at x = -b_i / w_i. Zero
    biases would put every kink at 0, so w and b are drawn from U(-1, 1),
    which spreads the kinks over the interval."""
    model = keras.Sequential([
        keras.Input((1,)),
        keras.layers.Dense(width, "relu",
                           kernel_initializer=keras.initializers.RandomUniform(-1, 1),
                           bias_initializer=keras.initializers.RandomUniform(-1, 1)),
        keras.layers.Dense(1)])
    steps = math.ceil(config["epochs"] * len(x) / config["batch_size"])
    model.compile(keras.optimizers.Adam(
        keras.optimizers.schedules.CosineDecay(config["lr"], steps)), "mse")
    # All epochs as one pass over a tiled grid: the same steps, shuffled,
    # without Keras' per-epoch work.
    model.fit(np.tile(x, (config["epochs"], 1)), np.tile(y, config["epochs"]),
              batch_size=config["batch_size"], epochs=1, verbose=0)
    return model.predict(x, verbose=0)[:, 0]


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs the lab as `config` (from `parse_config`) says, in `output_dir`,
    and returns its metrics."""
    # Data: 256 points evenly spread over [-1, 1] (0 is not one of them).
    runs.prepare(output_dir, config, overwrite, command=command)
    keras.utils.set_random_seed(config["seed"])
    x = np.linspace(-1, 1, 256, dtype="float32")[:, None]
    widths = [2, 8] if config["dry_run"] else WIDTHS

    # Model and train: one net per target and width.
    fits, errors = {}, {}
    for name, (target, _) in TARGETS.items():
        y = target(x)[:, 0]
        for width in widths:
            fits[name, width] = fit(x, y, width, config)
            gap = fits[name, width] - y
            errors[name, width] = {"max": float(np.max(np.abs(gap))),
                                   "rms": float(np.sqrt(np.mean(gap**2)))}
            print(f"{name}, N = {width}: max error {errors[name, width]['max']:.4f}, "
                  f"RMS error {errors[name, width]['rms']:.4f}", flush=True)

    # Evaluate: the fits, max error against N, and the claim.
    labs.plot_curves(f"{output_dir}/fits.png", {
        name: {"target": (x[:, 0], target(x)[:, 0]),
               **{f"N = {w}": (x[:, 0], fits[name, w]) for w in SHOWN if w in widths}}
        for name, (target, _) in TARGETS.items()}, "x", "f(x)")
    labs.plot_curves(f"{output_dir}/errors.png", {
        f"{kind} error on the grid": {
            name: (widths, [errors[name, w][kind.lower()] for w in widths])
            for name in TARGETS} for kind in ("Max", "RMS")},
        "hidden units N", "|f(x) - net(x)|", log_x=True, log_y=True)
    rows = [{"N": w, **{f"{name} {kind}": errors[name, w][kind] for name in TARGETS
                        for kind in ("max", "rms")}} for w in widths]

    # The trend: the slope of log error against log N, by least squares.
    slopes = {name: float(np.polyfit(np.log(widths), np.log(
        [errors[name, w][kind] for w in widths]), 1)[0]) for name, (_, kind) in TARGETS.items()}
    drops = {name: errors[name, widths[0]][kind] / errors[name, widths[-1]][kind]
             for name, (_, kind) in TARGETS.items()}
    claim = (f"the error falls as N grows from {widths[0]} to {widths[-1]}, for every "
             "target: " + ", ".join(
                 f"{name} {kind} error {drops[name]:.0f}x lower, log-log slope "
                 f"{slopes[name]:.2f}" for name, (_, kind) in TARGETS.items()))
    holds = all(slopes[n] < 0 and drops[n] > 1 for n in TARGETS)
    return labs.finish(output_dir, config, rows, claim, holds, errors={
        name: [errors[name, w] for w in widths] for name in TARGETS}, widths=widths,
        slopes=slopes)


def parse_config(argv=None):
    """Parses the flags into `(config, args)`."""
    return flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
