"""Lab: sigmoid gradients vanish in a deep net; ReLU and GELU keep them alive.

Backpropagation multiplies, layer after layer, by the activation's
derivative. The sigmoid's derivative is at most 1/4, so in a 10-layer
sigmoid net the gradient reaching the first layer is orders of magnitude
smaller than the last layer's, and the early layers barely learn. tanh's
derivative reaches 1 at 0; ReLU's is exactly 1 wherever a unit is active,
and GELU (Hendrycks & Gimpel 2016) is a smooth ReLU; so with them the
gradient keeps its size through the depth.

The lab builds the same 10-layer MLP (64 units a layer, Glorot-initialised)
with each activation, measures the norm of the loss gradient for each
layer's kernel at initialisation and after one epoch, and trains each on
MNIST with SGD and momentum. It writes results.md, metrics.json,
gradients.png (gradient norm against layer, log scale) and training.png
(training loss per epoch) into --output-dir.
"""

import sys

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402

from kerasdl import data, labs, runs  # noqa: E402

APP = "activations"
PRESETS = {"mnist": {"dataset": "mnist", "validation_size": 5000, "epochs": 5,
                     "batch_size": 64, "lr": 0.01}}
FLAGS = {}
ACTIVATIONS = ["sigmoid", "tanh", "relu", "gelu"]
DEPTH, WIDTH = 10, 64


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs the lab as `config` says, in `output_dir`; returns its metrics."""
    # Data: MNIST; a fixed batch of 512 training images for the gradients.
    images = data.load_run_images(config)
    print(images.summary(), flush=True)
    runs.prepare(output_dir, config, overwrite, command=command)
    probe = images.x_train[:512], images.y_train[:512]

    # Model and train: one net per activation, from the same seed.
    gradients, losses, rows = {"at initialisation": {}, "after one epoch": {}}, {}, []
    for activation in ACTIVATIONS:
        keras.utils.set_random_seed(config["seed"])
        model = labs.mlp(DEPTH, WIDTH, activation=activation)
        gradients["at initialisation"][activation] = labs.layer_statistics(
            model, *probe)["gradient_norm"]

        def after_first_epoch(epoch, logs):
            if epoch == 0:
                gradients["after one epoch"][activation] = labs.layer_statistics(
                    model, *probe)["gradient_norm"]

        history, accuracy = labs.train(
            model, keras.optimizers.SGD(config["lr"], momentum=0.9),
            (images.x_train, images.y_train), (images.x_test, images.y_test),
            epochs=config["epochs"], batch_size=config["batch_size"],
            callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=after_first_epoch)])
        losses[activation] = history["loss"]
        norms = gradients["at initialisation"][activation]
        rows.append({"activation": activation, "first layer gradient norm": norms[0],
                     "last layer gradient norm": norms[-1], "first / last": norms[0] / norms[-1],
                     "final training loss": losses[activation][-1], "test accuracy": accuracy})
        print(f"{activation}: first/last gradient norm {norms[0] / norms[-1]:.2e}, "
              f"training loss {losses[activation][-1]:.4f}, test accuracy {accuracy:.4f}",
              flush=True)

    # Evaluate: the pictures and the claim.
    labs.plot_curves(f"{output_dir}/gradients.png", {
        name: {a: (range(1, DEPTH + 2), norms) for a, norms in curves.items()}
        for name, curves in gradients.items()},
        "layer (1 = first)", "gradient norm of the kernel", log_y=True)
    labs.plot_curves(f"{output_dir}/training.png", {"Training loss": losses}, "epoch",
                     "cross-entropy")
    ratio = {row["activation"]: row["first / last"] for row in rows}
    final = {a: curve[-1] for a, curve in losses.items()}
    claim = (f"at initialisation the sigmoid net's first-layer gradient is {ratio['sigmoid']:.1e} "
             f"of its last layer's (tanh {ratio['tanh']:.1e}, ReLU {ratio['relu']:.1e}, GELU "
             f"{ratio['gelu']:.1e}), and after {config['epochs']} epochs ReLU and GELU reach "
             f"a training loss of {final['relu']:.3f} and {final['gelu']:.3f} against "
             f"sigmoid's {final['sigmoid']:.3f}")
    holds = ratio["sigmoid"] <= 1e-2 and max(final["relu"], final["gelu"]) < final["sigmoid"]
    return labs.finish(output_dir, config, rows, claim, holds, gradient_norms=gradients,
                       training_losses=losses)


def parse_config(argv=None):
    """Parses the flags into `(config, args)`."""
    return flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
