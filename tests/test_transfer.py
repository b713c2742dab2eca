"""The transfer app (apps/transfer_learning.py): its flags, its dry runs on
both routes, its one-line errors and the shipped base; also model cards and
class selection, which it relies on. The library's tests are in
tests/test_transfer_*.py."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from kerasdl import cards, cli, data, models, presets
from kerasdl.errors import UsageError


def small_classifier(num_classes=2):
    return models.build_classifier("vgg", (8, 8, 1), num_classes, width=4, depth=2,
                                   stages=1, dense=8, batchnorm=True)


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
    tuning = cli.load_app("transfer").TUNING
    assert metrics[tuning["objective"]] == metrics["results"][-1]["val_accuracy"]
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


def parse(*args):
    config, _ = cli.load_app("transfer").parse_config(list(args))
    return config


def test_the_default_base_is_the_shipped_one_whatever_the_working_folder(tmp_path,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse()["base"] == str(cards.shipped("mnist_0_4_vgg"))
    assert parse("--base", str(tmp_path))["base"] == str(tmp_path)
    assert parse("--mode", "pretrain")["base"] is None
    assert parse("--source", "mnist_5_9", "--target", "mnist_0_4")["base"] is None


def test_with_mode_pretrain_the_training_flags_train_the_base():
    flags = ("--epochs", "3", "--lr", "0.5", "--batch-size", "64")
    config = parse("--mode", "pretrain", *flags)
    assert {key: config["pretrain"][key] for key in ("epochs", "lr", "batch_size")} == {
        "epochs": 3, "lr": 0.5, "batch_size": 64}
    assert (config["epochs"], config["lr"]) == (presets.TRANSFER["epochs"],
                                                presets.TRANSFER["lr"])
    config = parse(*flags)
    assert (config["epochs"], config["lr"], config["batch_size"]) == (3, 0.5, 64)
    assert config["pretrain"] == presets.TRANSFER_BASE["mnist"]
    dry = parse("--dry-run", "--epochs", "3")
    assert dry["epochs"] == 3 and dry["pretrain"]["epochs"] == 1
    assert dry["labels_per_class"] == presets.TRANSFER_DRY_RUN["labels_per_class"]


def test_each_target_has_its_augmentation(tmp_path):
    assert parse("--target", "fashion_mnist")["augment"] == (
        presets.CLASSIFICATION["fashion_mnist"]["model_options"]["augment"])
    assert parse("--augment", "none")["augment"] == []
    folder = parse("--backbone", "resnet50", "--images", str(tmp_path), "--weights", "none")
    assert folder["augment"] == presets.TRANSFER_FOLDER_AUGMENT and folder["weights"] is None


@pytest.mark.parametrize("args,expected", [
    (["--base", "nowhere"], "argument --base: no saved model at 'nowhere'"),
    (["--backbone", "resnet50"], "route 2 needs both --backbone and --images"),
    (["--labels-per-class", "10,0"], "must be positive integers or 'all', comma-separated, "
                                     "got '10,0'"),
    (["--target", "mnist_0_4"], "--source and --target are the same task, 'mnist_0_4'"),
    (["--weights", "nope.h5", "--backbone", "resnet50", "--images", "."],
     "'nope.h5' is neither 'imagenet', 'none' nor a weights file"),
    (["--backbone", "resnet50", "--images", ".", "--mode", "pretrain"],
     "pretrain is for route 1 (no --backbone)"),
])
def test_bad_transfer_input(args, expected):
    result = subprocess.run([sys.executable, "-m", "kerasdl", "run", "transfer", *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert expected in result.stderr


def test_shipped_base_loads_and_classifies_on_this_backend(full_mnist):
    folder = cards.shipped("mnist_0_4_vgg")
    assert (folder / cards.MODEL_FILE).stat().st_size < 5 * 2**20
    model, card = cards.load(folder)
    assert card["dataset"] == "mnist_0_4" and card["metrics"]["test_accuracy"] > 0.99
    images = data.load_task("mnist_0_4")
    predicted = model.predict(images.x_test[:500], verbose=0).argmax(axis=1)
    assert np.mean(predicted == images.y_test[:500]) > 0.98
