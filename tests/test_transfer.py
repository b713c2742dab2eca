"""Transfer learning: freezing, blocks, model cards, the image-folder route,
and the app's dry runs."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from kerasdl import cards, cli, data, models, names, presets, training
from kerasdl.errors import UsageError
from kerasdl.transferring import quarter_turns, repeat_to


def small_classifier(num_classes=2):
    return models.build_classifier("vgg", (8, 8, 1), num_classes, width=4, depth=2,
                                   stages=1, dense=8, batchnorm=True)


def weights_of(layers):
    return [keras.ops.convert_to_numpy(w).copy() for layer in layers for w in layer.weights]


def one_epoch(model, split, lr):
    training.compile_model(model, total_steps=8, lr=lr)
    model.fit(*split, batch_size=32, epochs=1, verbose=0)


def test_backbones_match_the_command_line():
    assert tuple(models.BACKBONES) == names.BACKBONES


def test_base_is_the_classifier_below_its_dense_layers():
    base = models.feature_extractor(small_classifier())
    assert base.output.shape[-1] == 4 * 4 * 4  # flattened, like include_top=False
    assert not any(isinstance(layer, keras.layers.Dense) for layer in base.layers)
    mlp_base = models.feature_extractor(models.build_classifier("mlp", (8, 8, 1), 2))
    assert mlp_base.output.shape[-1] == 512  # no weights below its first Dense


def test_blocks_pair_each_weighted_layer_with_its_batchnorm():
    base = models.feature_extractor(small_classifier())
    found = models.blocks(base)
    assert [type(block[0]).__name__ for block in found] == ["Conv2D", "Conv2D"]
    assert all(isinstance(block[1], keras.layers.BatchNormalization) for block in found)
    with pytest.raises(UsageError, match="Cannot unfreeze 3 blocks: .* has 2"):
        models.set_trainable(base, 3)


def test_frozen_base_stays_fixed_and_finetune_trains_only_the_top_blocks(tiny_split):
    train, _, _ = tiny_split
    base = models.feature_extractor(small_classifier())
    models.set_trainable(base, 0)
    model = models.with_new_head(base, 2)
    before = weights_of(base.layers)
    head_before = weights_of(model.layers[-2:])
    one_epoch(model, train, lr=1e-2)
    for a, b in zip(before, weights_of(base.layers)):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b)
               for a, b in zip(head_before, weights_of(model.layers[-2:])))

    models.set_trainable(base, 1)
    low, top = models.blocks(base)
    low_before, top_before = weights_of(low), weights_of(top[:1])
    norm_before = weights_of(top[1:2])
    one_epoch(model, train, lr=1e-2)
    for a, b in zip(low_before, weights_of(low)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(top_before[0], weights_of(top[:1])[0])
    # BatchNorm stays frozen, so in inference mode: its statistics do not move.
    for a, b in zip(norm_before, weights_of(top[1:2])):
        np.testing.assert_array_equal(a, b)


def test_model_card_round_trips(tmp_path, tiny_split):
    _, _, (x, _) = tiny_split
    model = small_classifier()
    card = cards.make_card(model, app="test", dataset="tiny", class_names=["a", "b"],
                           preprocessing="none", metrics={"test_accuracy": 0.5}, seed=3,
                           command="kerasdl run test")
    cards.save(model, tmp_path / "m", card)
    loaded, loaded_card = cards.load(tmp_path / "m")
    assert loaded_card == card == cards.read_card(tmp_path / "m")
    assert card["input_shape"] == [8, 8, 1] and card["backend"] == keras.backend.backend()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_bad_saved_models_give_one_line_errors(tmp_path):
    with pytest.raises(UsageError, match="No saved model at"):
        cards.load(tmp_path / "missing")
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip file")
    with pytest.raises(UsageError, match="broken.keras is not a Keras model file"):
        cards.load(broken)
    (tmp_path / "card.json").write_text('{"app": "x"}')
    with pytest.raises(UsageError, match="lacks dataset"):
        cards.read_card(tmp_path)


def test_select_classes_relabels_from_zero():
    y = np.array([0, 5, 7, 9, 5, 2], "int32")
    x = np.arange(len(y), dtype="float32")[:, None]
    images = data.ImageData("d", "s", tuple("abcdefghij"), x, y, x, y, x, y)
    picked = images.select_classes([5, 9], "d_5_9")
    assert picked.class_names == ("f", "j")
    np.testing.assert_array_equal(picked.y_train, [0, 1, 0])
    np.testing.assert_array_equal(picked.x_train[:, 0], [1, 3, 4])


def test_repeat_to_fills_an_epoch():
    x, y = np.arange(3), np.arange(3) * 10
    rx, ry = repeat_to(x, y, 7)
    np.testing.assert_array_equal(rx, [0, 1, 2, 0, 1, 2, 0])
    np.testing.assert_array_equal(ry, rx * 10)
    assert repeat_to(x, y, 2)[0] is x


def test_quarter_turns_label_each_class_in_each_turn():
    x = np.arange(2 * 3 * 3, dtype="float32").reshape(2, 3, 3, 1)
    y = np.array([0, 1])
    tx, ty = quarter_turns(x, y, 4)
    np.testing.assert_array_equal(ty, [0, 4, 1, 5, 2, 6, 3, 7])
    np.testing.assert_array_equal(tx[2, :, :, 0], np.rot90(x[0, :, :, 0]))  # counterclockwise
    np.testing.assert_array_equal(tx[6, :, :, 0], np.rot90(x[0, :, :, 0], 3))
    assert quarter_turns(x, y, 1) == (x, y)


def test_sum_over_turns_gives_class_probabilities_on_the_same_base():
    turned = small_classifier(num_classes=3 * 4)
    model = models.sum_over_turns(turned, 3, 4)
    x = np.random.default_rng(0).random((5, 8, 8, 1), dtype="float32")
    pairs = turned.predict(x, verbose=0)
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               pairs.reshape(5, 3, 4).sum(axis=-1), rtol=1e-5)
    assert model.layers[-1].trainable is False
    assert len(model.trainable_weights) == len(turned.trainable_weights)
    base = models.feature_extractor(model)
    assert base.output.shape == models.feature_extractor(turned).output.shape


def app(*args):
    return cli.load_app("transfer").main(["--dry-run", "--backend", keras.backend.backend(),
                                          *map(str, args)])


def test_pretrain_then_transfer_dry_run(tmp_path, has_mnist):
    pretrained = app("--mode", "pretrain", "--output-dir", tmp_path / "p")
    card = cards.read_card(tmp_path / "p" / "base")
    assert card["dataset"] == "mnist_0_4" and card["class_names"] == list("01234")
    assert card["command"].startswith("kerasdl run transfer --mode pretrain --source mnist_0_4")
    assert pretrained["test_accuracy"] == card["metrics"]["test_accuracy"]
    base, _ = cards.load(tmp_path / "p" / "base")
    assert base.output.shape[-1] == 5 and base.layers[-1].name == "sum_over_turns"

    metrics = app("--base", tmp_path / "p" / "base", "--labels-per-class", "5,all",
                  "--output-dir", tmp_path / "t")
    assert metrics["target"] == "mnist_5_9" and metrics["base"] == str(tmp_path / "p" / "base")
    assert [(r["labels_per_class"], r["mode"]) for r in metrics["results"]] == [
        (labels, mode) for labels in (5, "all") for mode in ("scratch", "frozen", "finetune")]
    assert metrics["results"][0]["examples"] == 25
    frozen, finetune = metrics["results"][4:6]
    assert frozen["trainable_params"] < finetune["trainable_params"]
    assert "| 5 |" in (tmp_path / "t" / "transfer.md").read_text()
    assert (tmp_path / "t" / "transfer.png").exists()
    assert json.loads((tmp_path / "t" / "metrics.json").read_text()) == metrics
    model, card = cards.load(tmp_path / "t" / "all" / "finetune")
    assert card["metrics"]["test_accuracy"] == finetune["test_accuracy"]
    assert card["class_names"] == list("56789") and card["dataset"] == "mnist_5_9"


def test_image_folder_route_with_random_weights(tmp_path):
    pytest.importorskip("tensorflow")  # image_dataset_from_directory reads with tf.data
    rng = np.random.default_rng(0)
    for label in ("cats", "dogs"):
        (tmp_path / "images" / label).mkdir(parents=True)
        for i in range(6):
            pixels = rng.integers(0, 256, (40, 36, 3), dtype=np.uint8)
            keras.utils.save_img(tmp_path / "images" / label / f"{i}.png", pixels)
    metrics = app("--backbone", "mobilenet_v3_small", "--weights", "none",
                  "--images", tmp_path / "images", "--image-size", 32,
                  "--labels-per-class", "all", "--mode", "frozen",
                  "--output-dir", tmp_path / "out")
    assert metrics["target"] == "images" and metrics["source"] == "imagenet"
    (result,) = metrics["results"]
    assert result["mode"] == "frozen" and result["examples"] == 9
    model, _ = cards.load(tmp_path / "out" / "all" / "frozen" / "model.keras")
    assert model.input_shape == (None, 32, 32, 3)


@pytest.mark.parametrize("args,expected", [
    (["--base", "nowhere"], "argument --base: no saved model at 'nowhere'"),
    (["--backbone", "resnet50"], "route 2 needs both --backbone and --images"),
    (["--labels-per-class", "10,0"], "must be positive integers or 'all', comma-separated, "
                                     "got '10,0'"),
    (["--target", "mnist_0_4"], "--source and --target are the same task, 'mnist_0_4'"),
    (["--weights", "nope.h5", "--backbone", "resnet50", "--images", "."],
     "'nope.h5' is neither 'imagenet', 'none' nor a weights file"),
])
def test_bad_transfer_input(args, expected):
    result = subprocess.run([sys.executable, "-m", "kerasdl", "run", "transfer", *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert expected in result.stderr


def test_shipped_base_loads_and_classifies_on_this_backend(has_mnist):
    folder = Path(__file__).resolve().parents[1] / "saved_models" / "mnist_0_4_vgg"
    assert (folder / cards.MODEL_FILE).stat().st_size < 5 * 2**20
    model, card = cards.load(folder)
    assert card["dataset"] == "mnist_0_4" and card["metrics"]["test_accuracy"] > 0.99
    images = data.load_task("mnist_0_4")
    predicted = model.predict(images.x_test[:500], verbose=0).argmax(axis=1)
    assert np.mean(predicted == images.y_test[:500]) > 0.98


def test_shipped_base_is_built_by_its_preset():
    recipe = presets.TRANSFER_BASE["mnist"]
    options = {k: v for k, v in recipe["model_options"].items() if k != "augment"}
    classes = 5 * recipe["label_rotations"]
    built = models.sum_over_turns(models.build_classifier(recipe["model"], (28, 28, 1), classes,
                                                          **options), 5, recipe["label_rotations"])
    shipped, _ = cards.load(Path(__file__).resolve().parents[1] / "saved_models" / "mnist_0_4_vgg")
    assert [w.shape for w in shipped.weights] == [w.shape for w in built.weights]
