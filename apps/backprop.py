"""Lab: backpropagation is the chain rule, applied one module at a time.

A module's forward pass maps its input to its output and keeps what its
backward pass needs, which maps dL/d(output) to dL/d(input) and stores
dL/d(weights) on the way. Run in reverse order over a chain of modules, the
backward passes give every gradient for about the cost of a forward pass:
what autodiff does for us. Here an MLP written by hand in NumPy has its
gradients checked against the backend's autodiff of the same Keras model in
float64 and against finite differences, then trains on MNIST by plain SGD.
It writes results.md and metrics.json into --output-dir.
"""

import sys

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerasdl import backend, data, labs, runs  # noqa: E402

APP = "backprop"
PRESETS = {"mnist": {"dataset": "mnist", "validation_size": 5000, "epochs": 8,
                     "batch_size": 64, "lr": 0.1}}
FLAGS = {"tensorboard": None}  # its own training loop runs no Keras callbacks
SIZES = [784, 256, 128, 10]


class Dense:  # y = x w + b
    def __init__(self, w, b):
        self.params = [w, b]

    def forward(self, x):
        self.x = x
        return x @ self.params[0] + self.params[1]

    def backward(self, grad):  # grad is dL/dy, one row per example
        self.grads = [self.x.T @ grad, grad.sum(axis=0)]  # dL/dw, dL/db
        return grad @ self.params[0].T


class ReLU:
    def forward(self, x):
        self.positive = x > 0
        return x * self.positive

    def backward(self, grad):
        return grad * self.positive


def softmax_cross_entropy(logits, labels):
    """The mean loss, and its gradient by the logits: (softmax - one_hot) / n."""
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rows, grad = np.arange(len(labels)), p.copy()
    grad[rows, labels] -= 1
    return -np.mean(np.log(p[rows, labels])), grad / len(labels)


def build(rng, dtype="float32"):
    """The hand-written MLP, He-initialised: its modules in order, Dense
    modules at the even places."""
    net = [module for n_in, n_out in zip(SIZES, SIZES[1:]) for module in (Dense(
        rng.normal(0, np.sqrt(2 / n_in), (n_in, n_out)).astype(dtype), np.zeros(n_out, dtype)),
        ReLU())]
    return net[:-1]  # no ReLU on the logits


def forward(net, x):
    for module in net:
        x = module.forward(x)
    return x


def loss_and_gradients(net, x, y):
    """The loss; every Dense module's `grads` are filled in."""
    loss, grad = softmax_cross_entropy(forward(net, x), y)
    for module in reversed(net):
        grad = module.backward(grad)
    return loss


def autodiff_gap(net, x, y):
    """The largest difference between `net`'s gradients and the backend's
    autodiff of the same Keras model on `(x, y)`, all in float64."""
    loss_and_gradients(net, x, y)
    with backend.float64():
        model = keras.Sequential([keras.Input((SIZES[0],), dtype="float64")] + [
            keras.layers.Dense(size, "relu", dtype="float64") for size in SIZES[1:-1]] + [
            keras.layers.Dense(SIZES[-1], dtype="float64")])
        model.set_weights([p for m in net[::2] for p in m.params])
        grads = labs.loss_gradients(model, x, y, from_logits=True)
    return max(float(np.max(np.abs(a - b)))
               for a, b in zip(grads, [g for m in net[::2] for g in m.grads]))


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs the lab as `config` says, in `output_dir`; returns its metrics."""
    # Data: MNIST, flattened.
    images = data.load_run_images(config)
    print(images.summary(), flush=True)
    runs.prepare(output_dir, config, overwrite, command=command)
    rng = np.random.default_rng(config["seed"])
    x_train, x_test = (x.reshape(len(x), -1) for x in (images.x_train, images.x_test))

    # Check the hand-written gradients, in float64, on 32 training images.
    net = build(rng, "float64")
    x, y = x_train[:32].astype("float64"), images.y_train[:32]
    autodiff = autodiff_gap(net, x, y)
    finite = labs.finite_difference_gap(  # the gradients that autodiff_gap filled in
        lambda: loss_and_gradients(net, x, y),
        [(p, g.copy()) for m in net[::2] for p, g in zip(m.params, m.grads)], rng)

    # Train: plain mini-batch SGD, w <- w - lr * dL/dw, with our gradients.
    net, losses, accuracies = build(rng), [], []
    for epoch in range(config["epochs"]):
        order, total = rng.permutation(len(x_train)), 0.0
        for start in range(0, len(order), config["batch_size"]):
            batch = order[start:start + config["batch_size"]]
            total += loss_and_gradients(net, x_train[batch], images.y_train[batch]) * len(batch)
            for param, grad in [pair for m in net[::2] for pair in zip(m.params, m.grads)]:
                param -= config["lr"] * grad
        losses.append(float(total) / len(order))
        accuracies.append(float(np.mean(forward(net, x_test).argmax(1) == images.y_test)))
        print(f"Epoch {epoch + 1}: loss {losses[-1]:.4f}, test accuracy {accuracies[-1]:.4f}")

    # Evaluate: the claim.
    rows = [{"largest gap to autodiff": autodiff, "largest gap to finite differences": finite,
             "test accuracy": accuracies[-1]}]
    claim = (f"the hand-written gradients match autodiff within {autodiff:.1e} and finite "
             f"differences within {finite:.1e} (both <= 1e-6), and the NumPy net reaches "
             f"{accuracies[-1]:.2%} test accuracy (>= 97%)")
    holds = autodiff <= 1e-6 and finite <= 1e-6 and accuracies[-1] >= 0.97
    return labs.finish(output_dir, config, rows, claim, holds, autodiff_gap=autodiff,
                       finite_difference_gap=finite, test_accuracies=accuracies)


def parse_config(argv=None):
    """Parses the flags into `(config, args)`."""
    return flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
