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


def test_an_empty_folder_is_a_new_run_and_parents_are_made(tmp_path):
    (tmp_path / "empty").mkdir()
    assert runs.prepare(tmp_path / "empty", CONFIG) is False
    assert runs.prepare(tmp_path / "a" / "b", CONFIG) is False
    assert json.loads((tmp_path / "a" / "b" / "config.json").read_text()) == CONFIG


def test_resuming_says_so(tmp_path, capsys):
    runs.prepare(tmp_path, CONFIG)
    assert capsys.readouterr().out == ""
    runs.prepare(tmp_path, CONFIG)
    assert capsys.readouterr().out == f"Resuming the interrupted run in {tmp_path}\n"


def test_overwrite_replaces_an_interrupted_run_with_other_settings(tmp_path):
    runs.prepare(tmp_path, CONFIG)
    (tmp_path / "backup").mkdir()
    assert runs.prepare(tmp_path, {"model": "vgg"}, overwrite=True) is False
    assert json.loads((tmp_path / "config.json").read_text()) == {"model": "vgg"}
    assert not (tmp_path / "backup").exists()


def test_the_refusal_names_every_setting_that_differs(tmp_path):
    runs.prepare(tmp_path, CONFIG)
    with pytest.raises(UsageError) as refused:
        runs.prepare(tmp_path, {"model": "vgg", "epochs": 3})
    assert ("(epochs: None then, 3 now; lr: 0.1 then, None now; model: 'mlp' then, "
            "'vgg' now)") in str(refused.value)


def test_write_metrics_marks_the_run_finished(tmp_path):
    metrics = {"test_accuracy": 0.9, "epochs_run": 2}
    path = runs.write_metrics(tmp_path, metrics)
    assert path == tmp_path / "metrics.json"
    assert path.read_text() == json.dumps(metrics, indent=2) + "\n"
