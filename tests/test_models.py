import keras
import numpy as np
import pytest

from kerasdl.errors import UsageError
from kerasdl.models import AUGMENTATIONS, CLASSIFIERS, build_classifier, for_inference
from kerasdl import backend
from kerasdl.models import layers as kerasdl_layers
from kerasdl.models.layers import BlockMaxPooling2D, RandomShift

TINY = {
    "mlp": {"depth": 1, "width": 8},
    "lenet5": {"width": 0.5},
    "allcnn": {"depth": 1, "width": 4},
    "vgg": {"depth": 1, "width": 4, "dense": 8},
    "resnet": {"depth": 1, "width": 4},
    "wrn": {"depth": 10, "width": 1},
    "densenet": {"depth": 2, "width": 4, "blocks": 2},
}
PLAIN = ("mlp", "lenet5", "allcnn", "vgg")
X = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("head,units", [("multiclass", 10), ("multilabel", 10), ("binary", 1)])
def test_output_shape_and_head(name, head, units):
    keras.utils.set_random_seed(0)
    model = build_classifier(name, (28, 28, 1), 10, head=head, **TINY[name])
    y = keras.ops.convert_to_numpy(model(X, training=False))
    assert y.shape == (2, units)
    assert not np.allclose(y[0], y[1])  # the output depends on the input
    if head == "multiclass":
        np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)
    else:
        assert ((y > 0) & (y < 1)).all()


def test_parameter_counts():
    # 784*8 + 8 hidden, 8*10 + 10 output.
    assert build_classifier("mlp", (28, 28, 1), 10, depth=1, width=8,
                            batchnorm=False).count_params() == 6370
    # The classic LeNet-5 figure.
    assert build_classifier("lenet5", (28, 28, 1), 10, batchnorm=False).count_params() == 61706
    # The MNIST recipe: 3x3 convolutions of 32 and 64 channels without
    # padding (28 -> 26 -> 13 -> 11 -> 5), dense 128, output 10.
    assert build_classifier("vgg", (28, 28, 1), 10, depth=1, width=32, padding="valid",
                            batchnorm=False).count_params() == (
        (9 * 32 + 32) + (9 * 32 * 64 + 64) + (5 * 5 * 64 * 128 + 128) + (128 * 10 + 10))
    narrow = build_classifier("resnet", (28, 28, 1), 10, depth=1, width=4)
    wide = build_classifier("resnet", (28, 28, 1), 10, depth=1, width=8)
    deep = build_classifier("resnet", (28, 28, 1), 10, depth=2, width=4)
    assert narrow.count_params() < wide.count_params()
    assert narrow.count_params() < deep.count_params()


@pytest.mark.parametrize("name", PLAIN)
def test_sequential_and_functional_agree(name):
    functional = build_classifier(name, (28, 28, 1), 10, **TINY[name])
    sequential = build_classifier(name, (28, 28, 1), 10, api="sequential", **TINY[name])
    assert isinstance(sequential, keras.Sequential)
    assert not isinstance(functional, keras.Sequential)
    assert functional.count_params() == sequential.count_params()


@pytest.mark.parametrize("name", ["resnet", "wrn", "densenet"])
def test_skip_connections_have_no_sequential_form(name):
    with pytest.raises(UsageError, match="functional"):
        build_classifier(name, (28, 28, 1), 10, api="sequential", **TINY[name])


def _layer_types(model):
    return [type(layer).__name__ for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer)]


def test_regularisation_options():
    plain = build_classifier("vgg", (28, 28, 1), 10, batchnorm=False, **TINY["vgg"])
    assert "BatchNormalization" not in _layer_types(plain)
    assert "Dropout" not in _layer_types(plain)
    assert not plain.losses

    regular = build_classifier("vgg", (28, 28, 1), 10, dropout=0.3, weight_decay=1e-4,
                               initializer="glorot", **TINY["vgg"])
    assert "BatchNormalization" in _layer_types(regular)
    assert "Dropout" in _layer_types(regular)
    assert len(regular.losses) == 4  # one L2 term per kernel
    conv = next(l for l in regular.layers if isinstance(l, keras.layers.Conv2D))
    assert type(conv.kernel_initializer).__name__ == "GlorotUniform"


def test_augmentation_only_in_training():
    model = build_classifier("mlp", (28, 28, 1), 10, augment=["translate", "zoom", "rotate"],
                             **TINY["mlp"])
    assert _layer_types(model)[:3] == ["RandomTranslation", "RandomZoom", "RandomRotation"]
    first = keras.ops.convert_to_numpy(model(X, training=False))
    np.testing.assert_allclose(first, keras.ops.convert_to_numpy(model(X, training=False)))


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_each_augmentation_changes_some_images_in_training_and_none_after(name):
    keras.utils.set_random_seed(0)
    images = np.random.default_rng(1).random((16, 28, 28, 1), dtype=np.float32)
    model = build_classifier("mlp", (28, 28, 1), 10, augment=[name], **TINY["mlp"])
    layer = model.layers[1]
    changed = [np.abs(keras.ops.convert_to_numpy(layer(images, training=training)) - images)
               .reshape(16, -1).max(axis=1) > 1e-6 for training in (True, False)]
    assert changed[0].any() and not changed[1].any()
    assert type(for_inference(model).layers[1]).__name__ == "Identity"


def test_geometric_augmentation_is_compiled_with_the_model_where_the_backend_allows_it():
    # Keras marks RandomTranslation, RandomZoom and RandomRotation as not
    # compilable, so a model holding one would train op by op (on JAX, 1.7x
    # slower, and stalling on two simulated devices).
    compiled = {}
    for augment in ([], ["translate", "zoom", "rotate"]):
        model = build_classifier("mlp", (28, 28, 1), 10, augment=augment, **TINY["mlp"])
        model.compile("sgd", "sparse_categorical_crossentropy")
        model.fit(X, np.array([0, 1]), epochs=1, verbose=0)
        compiled[bool(augment)] = model.jit_compile
    if backend.JIT_GEOMETRIC_AUGMENTATION:
        assert compiled[True] == compiled[False]
    else:
        assert not compiled[True]


@pytest.mark.parametrize("api", ["functional", "sequential"])
def test_for_inference_replaces_the_augmentation_and_shares_the_rest(api):
    model = build_classifier("mlp", (28, 28, 1), 10, augment=["shift", "zoom", "noise"],
                             api=api, **TINY["mlp"])
    plain = for_inference(model)
    new, old = ([layer for layer in m.layers if not isinstance(layer, keras.layers.InputLayer)]
                for m in (plain, model))
    assert [type(layer).__name__ for layer in new[:3]] == ["Identity"] * 3
    assert len(new) == len(old) and all(a is b for a, b in zip(new[3:], old[3:]))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(plain(X, training=False)),
                               keras.ops.convert_to_numpy(model(X, training=False)))
    unaugmented = build_classifier("mlp", (28, 28, 1), 10, api=api, **TINY["mlp"])
    assert for_inference(unaugmented) is unaugmented


@pytest.mark.parametrize("size", [(6, 8), (11, 5)])
def test_block_max_pooling_is_keras_max_pooling(size, monkeypatch):
    monkeypatch.setattr(backend, "block_max_pooling", lambda: True)  # on every backend
    x = np.random.default_rng(0).normal(size=(2, *size, 3)).astype("float32")
    weights = keras.ops.convert_to_tensor(np.random.default_rng(1).normal(
        size=(2, size[0] // 2, size[1] // 2, 3)).astype("float32"))
    results = []
    for layer in (keras.layers.MaxPooling2D(), BlockMaxPooling2D()):
        loss = lambda t: keras.ops.sum(layer(t) * weights)  # noqa: E731
        results.append([keras.ops.convert_to_numpy(f) for f in (
            layer(x), backend.input_gradient(loss, x))])
    assert results[1][0].shape == (2, size[0] // 2, size[1] // 2, 3)
    for mine, keras_own in zip(*results):
        np.testing.assert_allclose(mine, keras_own, atol=1e-6)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("options,lengths", [
    ({}, None), ({"go_backwards": True, "return_sequences": True}, None),
    ({"use_bias": False}, None), ({}, [3, 7, 1]), ({"go_backwards": True}, [3, 7, 1])])
def test_recurrent_layers_compute_what_keras_layers_do(kind, options, lengths):
    x = np.random.default_rng(0).normal(size=(3, 7, 2)).astype("float32")
    mask = None if lengths is None else keras.ops.convert_to_tensor(
        np.arange(7) < np.array(lengths)[:, None])  # right padding, as of sentences
    keras_own, mine = (getattr(module, kind)(5, **options) for module in (keras.layers,
                                                                          kerasdl_layers))
    for layer in (keras_own, mine):
        layer.build(x.shape)
    mine.set_weights(keras_own.get_weights())
    results = []
    for layer in (keras_own, mine):
        loss = lambda t: keras.ops.sum(layer(t, mask=mask, training=True) ** 2)  # noqa: E731
        _, grads = backend.value_and_grad(lambda: loss(x), layer.trainable_variables)
        results.append([keras.ops.convert_to_numpy(f) for f in (
            layer(x, mask=mask), backend.input_gradient(loss, x), *grads)])
    for theirs, ours in zip(*results):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_recurrent_loop_is_one_op_on_pytorch_unless_keras_loop_differs(kind):
    x = keras.ops.ones((2, 3, 2))
    made = lambda **options: getattr(kerasdl_layers, kind)(4, **options)  # noqa: E731
    plain, with_dropout, sequences, stateful = (made(), made(dropout=0.5),
                                                made(return_sequences=True), made(stateful=True))
    for layer in (plain, with_dropout, sequences, stateful):
        layer.build(x.shape)
    state = [keras.ops.zeros((2, 4))] * (2 if kind == "LSTM" else 1)
    on_torch = keras.backend.backend() == "torch"
    right, left = (keras.ops.convert_to_tensor([m, [True] * 3]) for m in (
        [True, True, False], [False, True, True]))
    assert (backend.recurrent_loop(plain, x, state, None, True) is not None) == on_torch
    assert (backend.recurrent_loop(plain, x, state, right, True) is not None) == on_torch
    assert backend.recurrent_loop(plain, x, state, left, False) is None
    assert backend.recurrent_loop(sequences, x, state, right, False) is None
    assert backend.recurrent_loop(stateful, x, state, None, True) is None
    assert backend.recurrent_loop(with_dropout, x, state, None, True) is None
    in_inference = backend.recurrent_loop(with_dropout, x, state, None, False)
    assert (in_inference is not None) == on_torch


def test_for_inference_saves_block_pooling_as_keras_pooling(tmp_path):
    model = build_classifier("vgg", (28, 28, 1), 10, stages=2, depth=1, width=4, dense=8)
    assert sum(isinstance(layer, BlockMaxPooling2D) for layer in model.layers) == 2
    plain = for_inference(model)
    assert [type(layer).__name__ for layer in plain.layers].count("MaxPooling2D") == 2
    assert not any(isinstance(layer, BlockMaxPooling2D) for layer in plain.layers)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(plain(X)),
                               keras.ops.convert_to_numpy(model(X)))
    trainer = keras.Sequential([keras.Input((28, 28, 1)), model])  # as transfer pretrains
    assert "BlockMaxPooling2D" not in for_inference(trainer).to_json()
    assert "BlockMaxPooling2D" in trainer.to_json()


@pytest.mark.parametrize("options,match", [
    ({"head": "softmax"}, "Unknown head: 'softmax'. Choose one of: multiclass"),
    ({"initializer": "zeros"}, "Unknown initializer: 'zeros'. Choose one of: glorot, he"),
    ({"augment": ["spin"]}, "Unknown augmentation: 'spin'"),
])


def test_bad_options_name_the_choices(options, match):
    with pytest.raises(UsageError, match=match):
        build_classifier("mlp", (28, 28, 1), 10, **options)


def test_bad_names():
    with pytest.raises(UsageError, match="Unknown model: 'alexnet'. Choose one of: mlp"):
        build_classifier("alexnet", (28, 28, 1), 10)
    with pytest.raises(UsageError, match="padding='valid' shrinks a 28x28 input to nothing"):
        build_classifier("vgg", (28, 28, 1), 10, depth=2, stages=3, padding="valid")
    with pytest.raises(UsageError, match="Unknown padding: 'full'"):
        build_classifier("vgg", (28, 28, 1), 10, padding="full")
    with pytest.raises(UsageError, match="6n \\+ 4"):
        build_classifier("wrn", (28, 28, 1), 10, depth=12)


def _shifted(image, dy, dx):
    out = np.zeros_like(image)
    h, w = image.shape[:2]
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def test_random_shift_moves_whole_images_by_whole_pixels():
    layer = RandomShift(2, seed=1)
    images = np.random.default_rng(0).random((32, 6, 7, 2), dtype=np.float32)
    shifted = keras.ops.convert_to_numpy(layer(images, training=True))
    seen = set()
    for image, out in zip(images, shifted):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if np.allclose(out, _shifted(image, dy, dx))]
        assert matches, "not a shift of at most 2 pixels"
        seen.add(matches[0])
    assert len(seen) > 5  # shifts differ from image to image
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(images)), images)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_precision_builds_mixed_layers_with_a_float32_head_and_restores(policy):
    from kerasdl.models import precision

    with precision(policy):
        model = build_classifier("vgg", (28, 28, 1), 10, **TINY["vgg"])
    assert keras.config.dtype_policy().name == "float32"
    conv = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    assert conv.compute_dtype == policy.split("_")[1]
    assert conv.kernel.dtype == "float32"
    assert model.layers[-1].compute_dtype == "float32"
    y = model(X, training=False)
    assert keras.backend.standardize_dtype(y.dtype) == "float32"


def test_precision_names_a_bad_policy():
    from kerasdl.models import precision

    with pytest.raises(UsageError, match="'float8'"):
        with precision("float8"):
            pass
    assert keras.config.dtype_policy().name == "float32"
