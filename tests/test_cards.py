"""Saved models and their cards: what a card holds, saving and loading,
refusing damaged or unsafe files, the shipped models and the catalog."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from kerasdl import cards
from kerasdl.errors import UsageError

PREPROCESSING = {"color_mode": "grayscale", "resize": "bilinear", "scale": 1 / 255}


def tiny_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4, 3, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(2, activation="softmax")])


def tiny_card(model, **changes):
    return cards.make_card(model, **{
        "app": "test", "dataset": "tiny", "class_names": ("a", "b"),
        "preprocessing": PREPROCESSING, "metrics": {"test_accuracy": 0.875}, "seed": 3,
        "command": "kerasdl run test --seed 3", **changes})


@pytest.fixture
def saved(tmp_path):
    """A tiny model saved with its card in `tmp_path / "model"`."""
    model = tiny_model()
    card = tiny_card(model)
    cards.save(model, tmp_path / "model", card)
    return model, card, tmp_path / "model"


def test_make_card_records_the_model_and_the_running_keras():
    model = tiny_model()
    card = tiny_card(model)
    assert set(card) == {*cards.CARD_KEYS, "params", "summary"}
    assert any("Total params: 26" in line for line in card["summary"])
    assert card["class_names"] == ["a", "b"]
    assert card["input_shape"] == [4, 3, 1] and card["dtype"] == "float32"
    assert card["params"] == model.count_params() == 4 * 3 * 2 + 2
    assert card["backend"] == keras.backend.backend()
    assert card["keras_version"] == keras.__version__
    assert (card["seed"], card["command"]) == (3, "kerasdl run test --seed 3")


def test_make_card_lists_the_shape_of_each_input():
    a, b = keras.Input((5,)), keras.Input((2, 3))
    both = keras.layers.Concatenate()([a, keras.layers.Flatten()(b)])
    model = keras.Model([a, b], keras.layers.Dense(1)(both))
    assert tiny_card(model)["input_shape"] == [[5], [2, 3]]


def test_run_metrics_keeps_the_figures_a_card_records():
    metrics = {"test_accuracy": 0.9, "test_loss": 0.3, "train_seconds": 1.5,
               "epochs_run": 2, "device": "CPU", "backend": "jax", "resumed": False}
    assert cards.run_metrics(metrics) == {key: metrics[key] for key in cards.RUN_METRICS}
    with pytest.raises(KeyError, match="test_loss"):
        cards.run_metrics({"test_accuracy": 0.9})


def test_write_and_read_card_round_trip(tmp_path):
    card = tiny_card(tiny_model())
    cards.write_card(tmp_path, card)
    text = (tmp_path / cards.CARD_FILE).read_text()
    assert text.endswith("}\n") and json.loads(text) == card
    assert cards.read_card(tmp_path) == card


def test_save_and_load_round_trip(saved, tmp_path):
    model, card, folder = saved
    assert sorted(p.name for p in folder.iterdir()) == [cards.CARD_FILE, cards.MODEL_FILE]
    x = np.random.default_rng(0).random((5, 4, 3, 1), dtype=np.float32)
    loaded, loaded_card = cards.load(folder)
    assert loaded_card == card == cards.read_card(folder)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)
    # The model file alone finds the card beside it; a copy elsewhere has none.
    assert cards.load(folder / cards.MODEL_FILE)[1] == card
    (tmp_path / "copy.keras").write_bytes((folder / cards.MODEL_FILE).read_bytes())
    copy, no_card = cards.load(tmp_path / "copy.keras")
    assert no_card is None
    np.testing.assert_allclose(copy.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_read_card_names_the_file_it_cannot_read(tmp_path):
    path = tmp_path / cards.CARD_FILE
    with pytest.raises(UsageError, match=f"No readable model card at {path}"):
        cards.read_card(tmp_path)
    path.write_text('{"app": "x", ')
    with pytest.raises(UsageError, match=f"No readable model card at {path}"):
        cards.read_card(tmp_path)
    path.write_text('{"app": "x", "seed": 0}')
    with pytest.raises(UsageError, match=f"The model card {path} lacks dataset, class_names, "
                                         "input_shape, dtype, preprocessing, metrics, "
                                         "backend, keras_version, command$"):
        cards.read_card(tmp_path)


def test_load_refuses_a_missing_model(tmp_path):
    with pytest.raises(UsageError, match=f"No saved model at {tmp_path / 'missing'}"):
        cards.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="No saved model at .*empty/model.keras"):
        cards.load(tmp_path / "empty")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_load_refuses_a_file_that_is_not_a_zip(saved, tmp_path, damage):
    data = (saved[2] / cards.MODEL_FILE).read_bytes()
    bad = tmp_path / "bad.keras"
    bad.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"\x00" * 999,
                     "empty": b""}[damage])
    with pytest.raises(UsageError, match=f"{bad} is not a Keras model file .*truncated or "
                                         "corrupted"):
        cards.load(bad)


def test_load_refuses_a_zip_that_is_not_a_keras_model(tmp_path):
    other = tmp_path / "notes.keras"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("notes.txt", "not a model")
    with pytest.raises(UsageError, match=f"Cannot load {other} as a Keras model: "):
        cards.load(other)


def test_lambda_layers_are_refused_unless_unsafe(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda x: x * 2)])
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(UsageError) as refused:
        cards.load(tmp_path / "lambda.keras")
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'lambda.keras'} holds Python code (a Lambda layer)")
    assert "--unsafe" in message
    loaded, card = cards.load(tmp_path / "lambda.keras", unsafe=True)
    assert card is None and isinstance(loaded.layers[0], keras.layers.Lambda)
    np.testing.assert_allclose(loaded.predict(np.ones((1, 3)), verbose=0), [[2, 2, 2]])


def test_shipped_models_come_with_the_package():
    assert cards.SHIPPED == Path(cards.__file__).resolve().parent / "saved_models"
    folder = cards.shipped("mnist_vgg")
    assert folder == cards.SHIPPED / "mnist_vgg"
    assert (folder / cards.MODEL_FILE).is_file()
    assert cards.shipped("nope") is None
    assert cards.shipped("README.md") is None  # a file there, not a model
    assert {path.name for path in cards.find(cards.SHIPPED)} >= {
        "mnist_vgg", "mnist_vgg_robust", "mnist_0_4_vgg", "fashion_mnist_vgg"}


def test_a_shipped_model_loads_by_name_and_matches_its_card():
    model, card = cards.load("mnist_vgg")
    assert card == cards.read_card(cards.shipped("mnist_vgg"))
    assert (card["app"], card["dataset"]) == ("classification", "mnist")
    assert list(model.input_shape[1:]) == card["input_shape"] == [28, 28, 1]
    assert model.output_shape == (None, len(card["class_names"])) == (None, 10)
    assert model.count_params() == card["params"]


def test_shipped_models_load_with_plain_keras_in_a_process_without_kerasdl():
    paths = [str(folder / cards.MODEL_FILE) for folder in cards.find(cards.SHIPPED)]
    code = (f"import sys, keras\nfor path in {paths!r}:\n    keras.saving.load_model(path)\n"
            "print('kerasdl' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(paths) == 4 and result.stdout.split() == ["False"]


def test_find_lists_only_the_folders_with_a_card_sorted(tmp_path):
    for name in ("b", "a", "c"):
        (tmp_path / name).mkdir()
    for name in ("b", "a"):
        (tmp_path / name / cards.CARD_FILE).write_text("{}")
    (tmp_path / "c" / cards.MODEL_FILE).write_text("")
    (tmp_path / "a" / "nested").mkdir()
    (tmp_path / "a" / "nested" / cards.CARD_FILE).write_text("{}")
    assert cards.find(tmp_path) == [tmp_path / "a", tmp_path / "b"]
    assert cards.find(tmp_path / "nowhere") == []


def test_catalog_has_a_row_per_model_from_its_card(saved, tmp_path):
    model, card, folder = saved
    other = dict(card, metrics={}, class_names=["x", "y", "z"])
    del other["params"]  # not a required key: older cards lack it
    (tmp_path / "older").mkdir()
    (tmp_path / "older" / cards.MODEL_FILE).write_bytes(b"0" * 2**20)
    cards.write_card(tmp_path / "older", other)
    header, rule, *rows = cards.catalog(tmp_path).splitlines()
    columns = [cell.strip() for cell in header.strip("|").split("|")]
    assert columns == ["folder", "app", "dataset", "classes", "input", "test accuracy",
                       "params", "size", "backend", "Keras", "command"]
    assert rule.count("|") == header.count("|")
    size = (folder / cards.MODEL_FILE).stat().st_size / 2**20
    assert rows == [
        f"| `model` | test | tiny | 2 | 4x3x1 | 87.50% | 26 | {size:.1f} MB | "
        f"{keras.backend.backend()} | {keras.__version__} | `kerasdl run test --seed 3` |",
        f"| `older` | test | tiny | 3 | 4x3x1 |  |  | 1.0 MB | "
        f"{keras.backend.backend()} | {keras.__version__} | `kerasdl run test --seed 3` |"]
    assert cards.catalog(tmp_path / "nowhere").splitlines() == [header, rule]


def test_catalog_of_the_shipped_models_is_in_their_readme():
    table = cards.catalog(cards.SHIPPED)
    assert "`mnist_0_4_vgg`" in table
    assert table in (cards.SHIPPED / "README.md").read_text()
