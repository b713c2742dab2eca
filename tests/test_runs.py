import json
import resource
import subprocess
import sys

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


@pytest.mark.parametrize("text", ["", "{\"model\": ", "[1, 2]", "\xff\xfe"])
def test_a_damaged_config_is_one_line_and_overwrite_replaces_it(tmp_path, text):
    runs.prepare(tmp_path, CONFIG)
    (tmp_path / "config.json").write_text(text, encoding="latin-1")
    with pytest.raises(UsageError, match=r"config.json is damaged .*pass --overwrite"):
        runs.prepare(tmp_path, CONFIG)
    assert runs.prepare(tmp_path, CONFIG, overwrite=True) is False
    assert json.loads((tmp_path / "config.json").read_text()) == CONFIG


@pytest.mark.parametrize("text, ended", [("{\"diverged\": true", "finished"),
                                         ("{\"diverged\": true}", "diverged")])
def test_a_damaged_metrics_file_still_marks_the_run_ended(tmp_path, text, ended):
    runs.prepare(tmp_path, CONFIG)
    (tmp_path / "metrics.json").write_text(text)
    with pytest.raises(UsageError, match=f"already holds a {ended} run"):
        runs.prepare(tmp_path, CONFIG)


def test_folder_that_is_not_a_run_is_never_touched(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(UsageError, match="holds no kerasdl run"):
            runs.prepare(tmp_path, CONFIG, overwrite=overwrite)
    assert [path.name for path in tmp_path.iterdir()] == ["thesis.tex"]
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_an_empty_folder_is_a_new_run_and_parents_are_made(tmp_path):
    (tmp_path / "empty").mkdir()
    assert runs.prepare(tmp_path / "empty", CONFIG) is False
    assert runs.prepare(tmp_path / "a" / "b", CONFIG) is False
    assert json.loads((tmp_path / "a" / "b" / "config.json").read_text()) == CONFIG


def test_resuming_says_so(tmp_path, capsys):
    runs.prepare(tmp_path, CONFIG)
    assert capsys.readouterr().out == ""
    runs.prepare(tmp_path, CONFIG, resumes=True)
    assert capsys.readouterr().out == f"Resuming the interrupted run in {tmp_path}\n"
    assert runs.prepare(tmp_path, CONFIG) is True
    assert capsys.readouterr().out == (f"Starting the interrupted run in {tmp_path} again "
                                       "(this app does not resume)\n")


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


def test_a_second_run_into_the_folder_refuses_until_the_first_ends_however_it_ends(tmp_path):
    first = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from kerasdl import runs; "
         f"runs.prepare(sys.argv[1], {CONFIG!r}); print('ready', flush=True); time.sleep(60)",
         str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline() == "ready\n"
        with pytest.raises(UsageError, match=f"another run is writing to {tmp_path}; wait"):
            runs.prepare(tmp_path, CONFIG)
    finally:
        first.kill()  # SIGKILL: no clean-up runs, as in a crash
        first.wait()
    assert runs.prepare(tmp_path, CONFIG) is True


@pytest.mark.parametrize("inside", ["", "run"])
def test_an_output_dir_that_is_a_file_or_under_one_is_one_line(tmp_path, inside):
    (tmp_path / "notes.txt").write_text("precious")
    with pytest.raises(UsageError, match="^cannot make the folder .*notes.txt.*: .*; choose"):
        runs.prepare(tmp_path / "notes.txt" / inside, CONFIG)
    assert (tmp_path / "notes.txt").read_text() == "precious"


def test_write_json_replaces_whole_files_and_names_one_it_cannot_write(tmp_path):
    path = tmp_path / "metrics.json"
    runs.write_json(path, {"a": 1})
    runs.write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="^cannot write .*file/x.json: Not a directory$"):
        runs.write_json(tmp_path / "file" / "x.json", {})


def test_a_full_disk_keeps_the_old_file_and_says_so(tmp_path):
    path = tmp_path / "metrics.json"
    runs.write_json(path, {"a": 1})
    script = ("import sys; from kerasdl import runs, errors\n"
              "try:\n    runs.write_json(sys.argv[1], {'a': 'x' * 100_000})\n"
              "except errors.UsageError as e:\n    print(e)")
    done = subprocess.run(  # files may not grow past 4 KiB, as on a full disk
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096)))
    assert done.stdout == f"cannot write {path}: File too large\n", done.stderr
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_a_diverged_run_says_so_in_its_metrics_and_is_not_resumed(tmp_path):
    from kerasdl import flags
    from kerasdl.callbacks.nan import Diverged, diverged

    def parse_config(argv):
        return {**CONFIG, "backend": "tensorflow"}, type("Args", (), {
            "output_dir": tmp_path, "overwrite": False, "tensorboard": False})

    def train_and_evaluate(config, output_dir, overwrite, command):
        runs.prepare(output_dir, config, overwrite)
        raise diverged("val_loss", "in epoch 3")

    with pytest.raises(Diverged):
        flags.run_app("app", parse_config, train_and_evaluate, [])
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics == {"diverged": "Training diverged: val_loss became NaN or Inf in epoch 3. "
                                   "Try a lower --lr, or BatchNorm."}
    assert flags.run_main(lambda argv: flags.run_app(
        "app", parse_config, train_and_evaluate, argv)) == 2
    with pytest.raises(UsageError, match="already holds a diverged run; choose another"):
        runs.prepare(tmp_path, {**CONFIG, "backend": "tensorflow"})
