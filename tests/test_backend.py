import ast
import re
from pathlib import Path

import keras
import numpy as np
import pytest

from kerasdl import backend

MODULES = Path(backend.__file__).parent


def _functions(name):
    tree = ast.parse((MODULES / f"{name}.py").read_text())
    return {node.name for node in tree.body
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}


def test_every_backend_module_has_the_same_functions():
    names = [_functions(b) for b in ("tensorflow", "jax", "torch")]
    assert names[0] == names[1] == names[2]
    assert {"device_info", "clear_caches", "minimize", "train_step"} <= names[0]


def test_describe_names_the_backend_and_a_device():
    info = backend.describe()
    assert info == {"backend": keras.backend.backend(), "device": backend.device_info(),
                    "devices": 1}  # no --distribute: one device takes each batch
    assert backend.DATA_PARALLEL == (keras.backend.backend() == "jax")
    assert re.fullmatch(r"CPU|GPU \(.+\)", info["device"]), info["device"]
    backend.clear_caches()


class _Pull(keras.Model):
    """A vector `w` that each step pulls towards the mean target with
    `backend.minimize`, and a non-trainable `steps` that the loss counts."""

    def __init__(self):
        super().__init__()
        self.w = self.add_weight(shape=(3,), initializer="zeros", name="w")
        self.steps = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                     name="steps")

    def call(self, x):
        return x * self.w

    def train_step(self, *args):
        return backend.train_step(self, self._step, *args)

    def _step(self, data):
        _, target = data

        def loss_fn():
            self.steps.assign(self.steps + 1.0)
            gap = self.w - keras.ops.mean(target, axis=0)
            return keras.ops.sum(gap**2), keras.ops.max(keras.ops.abs(gap))

        loss, gap = backend.minimize(loss_fn, [self.w], self.optimizer)
        return {"loss": loss, "gap": gap}


def test_minimize_takes_one_gradient_step_in_a_train_step():
    model = _Pull()
    model.compile(optimizer=keras.optimizers.SGD(0.25))
    target = np.array([[1.0, -2.0, 4.0]] * 4, "float32")
    history = model.fit(np.ones_like(target), target, batch_size=4, epochs=2, verbose=0)
    # w <- w - 0.25 * 2 (w - t), from w = 0: t / 2, then 3 t / 4.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.w), 0.75 * target[0],
                               rtol=1e-6)
    # The loss and the other outputs are those before each step.
    np.testing.assert_allclose(history.history["loss"], [21.0, 21.0 / 4], rtol=1e-6)
    np.testing.assert_allclose(history.history["gap"], [4.0, 2.0], rtol=1e-6)
    # Variables that the loss assigns keep their new values.
    assert float(keras.ops.convert_to_numpy(model.steps)) == 2.0


def test_value_and_grad_outside_a_step():
    w = keras.Variable(np.array([1.0, -2.0, 3.0], "float32"))
    b = keras.Variable(np.array(0.5, "float32"))
    value, (grad_w, grad_b) = backend.value_and_grad(
        lambda: keras.ops.sum(w * w) * b, [w, b])
    assert float(value) == 7.0
    np.testing.assert_allclose(keras.ops.convert_to_numpy(grad_w), [1.0, -2.0, 3.0])
    assert float(grad_b) == 14.0
    assert float(b.value) == 0.5  # nothing is updated


def test_value_and_grad_in_float64():
    with backend.float64():
        w = keras.Variable(np.array([1 / 3], "float64"), dtype="float64")
        value, (grad,) = backend.value_and_grad(lambda: keras.ops.sum(w**3), [w])
    assert keras.ops.convert_to_numpy(grad).dtype == np.float64
    assert float(grad[0]) == 3 * (1 / 3) ** 2


IMAGE_LAYERS = [
    (keras.layers.Conv2D, (5, 3), {"padding": "same"}, (4, 10, 9, 3)),
    (keras.layers.MaxPooling2D, (), {}, (4, 10, 9, 3)),
    (keras.layers.AveragePooling2D, (3, 2), {"padding": "same"}, (4, 10, 9, 3)),
    (keras.layers.Conv2DTranspose, (4, 3), {"strides": 2, "padding": "same"}, (4, 10, 9, 3)),
    (keras.layers.Conv3D, (2, 2), {}, (2, 5, 6, 4, 3)),
    (keras.layers.MaxPooling3D, (), {}, (2, 5, 6, 4, 3)),
    (keras.layers.Conv1D, (4, 3), {}, (4, 10, 3)),
]


def _output_and_input_gradient(layer, x):
    import torch

    x = torch.tensor(x, requires_grad=True)
    y = layer(x)
    y.sum().backward()
    return y.detach(), keras.ops.convert_to_numpy(x.grad)


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="a PyTorch memory layout")
@pytest.mark.parametrize("kind, args, options, shape", IMAGE_LAYERS)
def test_images_keep_their_memory_layout_with_the_same_results_as_keras(
        kind, args, options, shape, monkeypatch):
    from keras.src.backend.torch import nn

    from kerasdl.backend import torch as torch_backend

    rng = np.random.default_rng(0)
    x = rng.random(shape, dtype=np.float32)
    layer = kind(*args, **options)
    layer.build(shape)
    layer.set_weights([rng.standard_normal(w.shape, dtype=np.float32)
                       for w in layer.get_weights()])
    assert nn._transpose_spatial_inputs is torch_backend._channels_first_view
    ours, our_gradient = _output_and_input_gradient(layer, x)
    monkeypatch.setattr(nn, "_transpose_spatial_inputs", torch_backend._keras_channels_first)
    theirs, their_gradient = _output_and_input_gradient(layer, x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours),
                               keras.ops.convert_to_numpy(theirs), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(our_gradient, their_gradient, rtol=1e-5, atol=1e-5)
    if "Pooling" in kind.__name__:  # Keras' copy leaves the output's strides permuted
        assert ours.is_contiguous() and not theirs.is_contiguous()
