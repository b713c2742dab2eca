"""End-to-end smoke tests of each app on tiny data (--dry-run)."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from kerasdl import cards, cli, data, presets
from kerasdl.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
METRIC_KEYS = {"app", "backend", "device", "dataset", "model", "params", "epochs_run",
               "train_seconds", "test_loss", "test_accuracy", "keras_version"}


def dry_run(app, output_dir, *extra):
    return cli.load_app(app).main(["--dry-run", "--backend", keras.backend.backend(),
                                   "--output-dir", str(output_dir), *extra])


def test_classification_dry_run(tmp_path, has_mnist, capsys):
    metrics = dry_run("classification", tmp_path)
    assert METRIC_KEYS <= set(metrics)
    assert metrics["backend"] == keras.backend.backend()
    assert metrics["epochs_run"] == 1
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    for name in ("history.csv", "learning_curves.png", "model.keras", "config.json"):
        assert (tmp_path / name).exists()
    card = cards.read_card(tmp_path)
    assert card["metrics"]["test_accuracy"] == metrics["test_accuracy"]
    assert card["command"].startswith("kerasdl run classification --dry-run")
    # Its preset augments with kerasdl's RandomShift; plain Keras loads both models.
    plain = subprocess.run([sys.executable, "-c", "import sys, keras\n" + "".join(
        f"keras.saving.load_model({str(tmp_path / name)!r})\n"
        for name in ("model.keras", "best.keras")) + "print('kerasdl' in sys.modules)"],
        capture_output=True, text=True, timeout=300)
    assert plain.stdout.split() == ["False"], plain.stderr[-2000:]

    with pytest.raises(UsageError, match="already holds a finished run"):
        dry_run("classification", tmp_path)
    capsys.readouterr()
    again = dry_run("classification", tmp_path, "--overwrite", "--model", "mlp", "--quiet")
    assert again["model"] == "mlp"
    [line] = capsys.readouterr().out.splitlines()  # --quiet: the result only
    assert f"test_accuracy {again['test_accuracy']:.4g}" in line
    assert line.endswith(f"Everything is in {tmp_path} (report.html).")


def test_classification_dry_run_on_the_offline_fallback(tmp_path, monkeypatch):
    """What a newcomer without the data and offline gets: scikit-learn's
    digits, said to be not MNIST."""
    pytest.importorskip("sklearn")
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setitem(data.images.IMAGE_DATASETS["mnist"], "download", lambda: None)
    with pytest.warns(UserWarning, match="falling back to scikit-learn"):
        metrics = dry_run("classification", tmp_path / "run")
    assert "NOT MNIST" in metrics["data_source"]
    assert 0 <= metrics["test_accuracy"] <= 1 and metrics["epochs_run"] == 1


def test_classification_dry_run_in_mixed_precision(tmp_path, has_mnist):
    metrics = dry_run("classification", tmp_path, "--precision", "mixed_bfloat16")
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["precision"] == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"
    saved = keras.saving.load_model(tmp_path / "model.keras")
    assert {layer.dtype_policy.name for layer in saved.layers if layer.weights} >= {
        "mixed_bfloat16"}
    # The test accuracy is the saved model's on the dry run's test split.
    test = data.load_run_images(config)
    assert len(test.x_test) == presets.DRY_RUN_SIZES["test"]
    result = saved.evaluate(test.x_test, test.y_test, batch_size=500, verbose=0,
                            return_dict=True)
    assert metrics["test_accuracy"] == pytest.approx(result["accuracy"])


def test_classification_as_a_script(tmp_path, has_mnist):
    result = subprocess.run(
        [sys.executable, str(ROOT / "apps" / "classification.py"), "--dry-run",
         "--backend", keras.backend.backend(), "--output-dir", str(tmp_path),
         "--model", "lenet5"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"backend {keras.backend.backend()}, device" in result.stdout
    assert json.loads((tmp_path / "metrics.json").read_text())["model"] == "lenet5"
