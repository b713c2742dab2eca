import json

import pytest

from kerasdl import runs
from kerasdl.errors import UsageError

CONFIG = {"model": "mlp", "lr": 0.1}


def test_new_run_writes_its_config(tmp_path):
    assert runs.prepare(tmp_path / "run", CONFIG) is False
    assert json.loads((tmp_path / "run" / "config.json").read_text()) == CONFIG


def test_interrupted_run_with_same_config_resumes(tmp_path):
    runs.prepare(tmp_path, CONFIG)
    assert runs.prepare(tmp_path, CONFIG) is True


def test_interrupted_run_with_other_config_is_refused(tmp_path):
    runs.prepare(tmp_path, CONFIG)
    with pytest.raises(UsageError, match="other settings.*lr: 0.1 then, 0.2 now"):
        runs.prepare(tmp_path, {**CONFIG, "lr": 0.2})


def test_finished_run_is_refused_unless_overwrite(tmp_path):
    runs.prepare(tmp_path, CONFIG)
    runs.write_metrics(tmp_path, {"test_accuracy": 0.9})
    with pytest.raises(UsageError, match="already holds a finished run.*--overwrite"):
        runs.prepare(tmp_path, CONFIG)
    assert (tmp_path / "metrics.json").exists()
    assert runs.prepare(tmp_path, CONFIG, overwrite=True) is False
    assert not (tmp_path / "metrics.json").exists()


def test_folder_that_is_not_a_run_is_never_touched(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(UsageError, match="holds no kerasdl run"):
            runs.prepare(tmp_path, CONFIG, overwrite=overwrite)
    assert (tmp_path / "thesis.tex").read_text() == "precious"
