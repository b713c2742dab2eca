"""kerasdl.transfer.model: bases, their blocks, freezing, and the new head."""

import argparse

import keras
import numpy as np
import pytest

from kerasdl import cards, data, models, training, transfer
from kerasdl.errors import UsageError


def small_classifier(num_classes=2):
    return models.build_classifier("vgg", (8, 8, 1), num_classes, width=4, depth=2,
                                   stages=1, dense=8, batchnorm=True)


def weights_of(layers):
    return [keras.ops.convert_to_numpy(w).copy() for layer in layers for w in layer.weights]


def one_epoch(model, split, lr):
    training.compile_model(model, total_steps=8, lr=lr)
    model.fit(*split, batch_size=32, epochs=1, verbose=0)


def test_base_is_the_classifier_below_its_dense_layers():
    base = transfer.feature_extractor(small_classifier())
    assert base.output.shape[-1] == 4 * 4 * 4  # flattened, like include_top=False
    assert not any(isinstance(layer, keras.layers.Dense) for layer in base.layers)
    mlp_base = transfer.feature_extractor(models.build_classifier("mlp", (8, 8, 1), 2))
    assert mlp_base.output.shape[-1] == 512  # no weights below its first Dense
    convolutions = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3)])
    with pytest.raises(UsageError, match="has no Dense layers to replace"):
        transfer.feature_extractor(convolutions)


def test_blocks_pair_each_weighted_layer_with_its_batchnorm():
    base = transfer.feature_extractor(small_classifier())
    found = transfer.blocks(base)
    assert [type(block[0]).__name__ for block in found] == ["Conv2D", "Conv2D"]
    assert all(isinstance(block[1], keras.layers.BatchNormalization) for block in found)
    with pytest.raises(UsageError, match="Cannot unfreeze 3 blocks: .* has 2"):
        transfer.set_trainable(base, 3)


def test_frozen_base_stays_fixed_and_finetune_trains_only_the_top_blocks(tiny_split):
    train, _, _ = tiny_split
    base = transfer.feature_extractor(small_classifier())
    transfer.set_trainable(base, 0)
    model = transfer.with_new_head(base, 2)
    before = weights_of(base.layers)
    head_before = weights_of(model.layers[-2:])
    one_epoch(model, train, lr=1e-2)
    for a, b in zip(before, weights_of(base.layers)):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b)
               for a, b in zip(head_before, weights_of(model.layers[-2:])))

    transfer.set_trainable(base, 1)
    low, top = transfer.blocks(base)
    low_before, top_before = weights_of(low), weights_of(top[:1])
    norm_before = weights_of(top[1:2])
    one_epoch(model, train, lr=1e-2)
    for a, b in zip(low_before, weights_of(low)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(top_before[0], weights_of(top[:1])[0])
    # BatchNorm stays frozen, so in inference mode: its statistics do not move.
    for a, b in zip(norm_before, weights_of(top[1:2])):
        np.testing.assert_array_equal(a, b)


def test_new_head_sits_on_the_base_behind_the_augmentations():
    base = transfer.feature_extractor(small_classifier())
    model = transfer.with_new_head(base, 3, augment=["shift"], hidden=16, dropout=0.5)
    assert transfer.base_of(model) is base
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [16, 3]
    assert any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)
    assert model.layers.index(base) > 1  # the input, then the augmentation
    assert model.output.shape[-1] == 3


def test_saved_base_loads_pretrained_or_fresh_weights(tmp_path):
    classifier = small_classifier()
    card = cards.make_card(classifier, app="test", dataset="tiny", class_names="ab",
                           preprocessing="none", metrics={"test_accuracy": 0.5}, seed=0,
                           command="kerasdl run test")
    cards.save(classifier, tmp_path / "m", card)
    load = transfer.saved_base(tmp_path / "m")
    pretrained, fresh = load(), load(pretrained=False)
    expected = weights_of(transfer.feature_extractor(classifier).layers)
    for a, b in zip(expected, weights_of(pretrained.layers)):
        np.testing.assert_array_equal(a, b)
    assert [w.shape for w in fresh.weights] == [w.shape for w in pretrained.weights]
    assert not np.array_equal(weights_of(fresh.layers)[0], expected[0])


def test_open_base_says_it_is_the_shipped_one_and_checks_the_image_shape(capsys):
    folder = cards.shipped("mnist_0_4_vgg")
    config = {"backbone": None, "base": str(folder)}
    x = np.zeros((2, 28, 28, 1), "float32")
    y = np.zeros(2, "int32")
    images = data.ImageData("mnist_5_9", "test", tuple("56789"), x, y, x, y, x, y)
    load_base, name, card = transfer.open_base(config, images)
    assert name == str(folder) and card["dataset"] == "mnist_0_4"
    assert f"Base: the shipped model {folder}, test accuracy" in capsys.readouterr().out
    assert load_base().output.shape[-1] == 3 * 3 * 128
    wrong = data.ImageData("rgb", "test", ("a",), *[np.zeros((2, 8, 8, 3), "float32"),
                                                    np.zeros(2, "int32")] * 3)
    with pytest.raises(UsageError, match=r"takes \(28, 28, 1\) images, but rgb has"):
        transfer.open_base(config, wrong)


def test_flag_types_name_the_bad_value(tmp_path):
    weights = tmp_path / "weights.h5"
    weights.write_bytes(b"")
    assert transfer.weights_choice("none") is None
    assert transfer.weights_choice("imagenet") == "imagenet"
    assert transfer.weights_choice(str(weights)) == str(weights)
    with pytest.raises(argparse.ArgumentTypeError, match="'nope.h5' is neither"):
        transfer.weights_choice("nope.h5")
    assert transfer.saved_model(str(tmp_path)) == str(tmp_path)
    with pytest.raises(argparse.ArgumentTypeError, match="no saved model at 'nowhere'"):
        transfer.saved_model("nowhere")
