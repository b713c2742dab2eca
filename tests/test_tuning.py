"""kerasdl tune: tiny searches (2 trials, 1 epoch, tiny data) on each tuner,
and for each tunable app."""

import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from kerasdl import cli, names, tuning
from kerasdl.callbacks.nan import Diverged
from kerasdl.errors import UsageError
from kerasdl.models import build_classifier

LABS = {"perceptron", "universal_approximation", "backprop", "activations", "initialisation",
        "optimizers", "depth_vs_width", "dropout", "batchnorm", "early_stopping", "batch_size",
        "memorisation", "augmentation_vs_regularisation"}


def space(app):
    return cli.load_app(app).TUNING["space"]


def search(output_dir, *extra, app="classification", trials_per_process=0):
    return cli.tune(app, ["--dry-run", "--backend", keras.backend.backend(),
                          "--output-dir", str(output_dir),
                          "--trials-per-process", str(trials_per_process), *extra])


def read_trials(output_dir):
    with open(output_dir / "trials.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_every_app_but_the_labs_declares_its_tuning():
    assert set(cli.app_names()) - {n for n in cli.app_names() if cli.tunable(n)} == LABS
    for name in filter(cli.tunable, cli.app_names()):
        spec = cli.load_app(name).TUNING
        assert spec["space"] and spec["direction"] in ("min", "max")
        assert spec["objective"].startswith("val_")
        assert set(spec) <= {"space", "objective", "direction", "prepare",
                             "retrain_on_validation"}
        for entry in spec["space"].values():
            assert entry["type"] in ("int", "float", "choice", "boolean")


def test_the_library_knows_no_app():
    source = (Path(tuning.__file__)).read_text()
    for name in cli.app_names():
        assert name not in source.replace("knows no app", "")


def test_direction_of_the_app_and_of_other_objectives():
    spec = {"objective": "val_similarity", "direction": "max"}
    assert tuning.direction(spec, "val_similarity") == "max"
    assert tuning.direction({"objective": "val_x", "direction": "min"}, "val_x") == "min"
    assert tuning.direction(spec, "val_loss") == "min"
    assert tuning.direction(spec, "val_fid") == "min"
    assert tuning.direction(spec, "val_accuracy") == "max"


def test_score_reads_the_objective_or_names_the_choices():
    assert tuning.score({"val_accuracy": 0.75, "test_accuracy": 0.5}, "val_accuracy") == 0.75
    with pytest.raises(UsageError, match="Unknown objective: 'val_auc'.*report val_accuracy$"):
        tuning.score({"val_accuracy": 0.75, "test_accuracy": 0.5}, "val_auc")


def test_apply_puts_values_in_their_places():
    config = {"lr": 0.1, "optimizer": "sgd", "model_options": {"width": 8}}
    tuned = tuning.apply(config, {"lr": 0.01, "width": 16, "augment": "translate"})
    assert tuned["lr"] == 0.01 and config["lr"] == 0.1
    assert tuned["model_options"] == {"width": 16, "augment": ["translate"]}
    assert tuning.apply(config, {"augment": "none"})["model_options"]["augment"] == []


@pytest.mark.parametrize("tuner", names.TUNERS)
def test_tiny_search_with_each_tuner(tuner, tmp_path, has_mnist):
    metrics = search(tmp_path, "--tuner", tuner, "--max-trials", "2")
    trials = read_trials(tmp_path)
    assert 1 <= len(trials) <= 2
    assert set(space("classification")) <= set(trials[0])
    best = json.loads((tmp_path / "best_hyperparameters.json").read_text())
    assert set(best) == set(space("classification"))
    assert metrics["best_hyperparameters"] == best
    assert (tmp_path / "trials.md").read_text().count("\n") == len(trials) + 2
    assert (tmp_path / "objective.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "search.json").read_text())["seed"] == 0
    retrained = json.loads((tmp_path / "best" / "metrics.json").read_text())
    assert retrained["test_accuracy"] == metrics["test_accuracy"]
    # Each trial is a run of the app, with the sampled values in its config
    # and the model that the app's builder makes of them.
    for trial, run in zip(trials, read_trial_runs(tmp_path, trials)):
        config = json.loads((tmp_path / "search" / "trials" / trial["trial"]
                             / "config.json").read_text())
        assert config["lr"] == pytest.approx(float(trial["lr"]), rel=1e-5)
        assert config["model_options"]["width"] == int(trial["width"])
        assert float(trial["val_accuracy"]) == pytest.approx(run["val_accuracy"], rel=1e-5)
        direct = build_classifier(config["model"], (28, 28, 1), 10, **config["model_options"])
        assert run["params"] == direct.count_params()
    if tuner == "random":
        # The same seed tries the same hyperparameters, also when each trial
        # runs in a process of its own (which resumes the search).
        search(tmp_path / "again", "--tuner", tuner, "--max-trials", "2",
               trials_per_process=1)
        drop = ("val_accuracy", "rss_mb", "peak_rss_mb")
        assert ([{k: v for k, v in t.items() if k not in drop} for t in trials]
                == [{k: v for k, v in t.items() if k not in drop}
                    for t in read_trials(tmp_path / "again")])


def test_resume_continues_and_existing_search_is_refused(tmp_path, has_mnist):
    search(tmp_path, "--max-trials", "1")
    first = read_trials(tmp_path)
    with pytest.raises(UsageError, match="already holds a search; pass --resume"):
        search(tmp_path, "--max-trials", "2")
    with pytest.raises(UsageError, match="other settings"):
        search(tmp_path, "--max-trials", "2", "--resume", "--seed", "7")
    search(tmp_path, "--max-trials", "2", "--resume")
    both = read_trials(tmp_path)
    assert len(both) == 2
    assert both[0] == first[0]
    assert both[0]["trial"] != both[1]["trial"]


def test_nothing_to_resume(tmp_path):
    with pytest.raises(UsageError, match="Nothing to resume"):
        search(tmp_path / "absent", "--resume")


def test_autoencoder_tiny_search(tmp_path, has_mnist):
    from kerasdl import autoencoder

    metrics = search(tmp_path, "--max-trials", "2", app="autoencoder")
    trials = read_trials(tmp_path)
    assert "val_loss" in trials[0] and set(space("autoencoder")) <= set(trials[0])
    assert json.loads((tmp_path / "search.json").read_text())["objective"] == "val_loss"
    for trial, run in zip(trials, read_trial_runs(tmp_path, trials)):
        assert float(trial["val_loss"]) == pytest.approx(run["val_loss"], rel=1e-5)
        config = json.loads((tmp_path / "search" / "trials" / trial["trial"]
                             / "config.json").read_text())
        direct = autoencoder.build_autoencoder(config["arch"], (28, 28, 1),
                                               **config["model_options"])
        assert run["params"] == direct.count_params()
    assert metrics["test_bce"] > 0
    with pytest.raises(UsageError, match="drop --pretrain greedy"):
        search(tmp_path / "greedy", "--pretrain", "greedy", app="autoencoder")


def read_trial_runs(output_dir, trials):
    """The metrics.json of the app run behind each trial."""
    return [json.loads((output_dir / "search" / "trials" / t["trial"] / "metrics.json")
                       .read_text()) for t in trials]


def test_word2vec_trials_are_app_runs_scored_on_the_dev_half(tmp_path):
    rng = np.random.default_rng(0)
    groups = {"count": "one two three four five".split(),
              "paint": "red green blue black white".split()}
    words = []
    for _ in range(3000):
        verb = rng.choice(list(groups))
        words += [verb, "it", rng.choice(groups[verb]), "now"]
    corpus = tmp_path / "toy.txt"
    corpus.write_text(" ".join(words) + "\n")
    similarity = tmp_path / "sim.tsv"
    similarity.write_text("".join(f"{a} {b} {score}\n" for a, b, score in (
        ("one", "two", 9), ("red", "blue", 9), ("three", "five", 8), ("green", "white", 8),
        ("one", "red", 1), ("two", "green", 2), ("four", "black", 1), ("five", "blue", 2),
        ("three", "four", 8), ("black", "red", 9))))
    metrics = search(tmp_path / "s", "--max-trials", "2", "--corpus", str(corpus),
                     "--similarity", str(similarity), app="word2vec")
    trials = read_trials(tmp_path / "s")
    assert len(trials) == 2 and set(space("word2vec")) <= set(trials[0])
    for trial, run in zip(trials, read_trial_runs(tmp_path / "s", trials)):
        assert float(trial["val_similarity"]) == pytest.approx(
            run["similarity"]["dev_spearman"], abs=1e-6)
    assert set(metrics["best_hyperparameters"]) == set(space("word2vec"))
    assert metrics["similarity"]["heldout_spearman"] is not None
    # No validation split to add back: the best is retrained as its trial ran.
    retrained = json.loads((tmp_path / "s" / "best" / "config.json").read_text())
    assert "validation_size" not in retrained


def test_transfer_trials_tune_one_mode_on_one_labels_count(tmp_path, has_mnist):
    metrics = search(tmp_path, "--max-trials", "2", app="transfer")
    trials = read_trials(tmp_path)
    assert len(trials) == 2 and set(space("transfer")) <= set(trials[0])
    for trial, run in zip(trials, read_trial_runs(tmp_path, trials)):
        [result] = run["results"]
        assert (result["mode"], result["labels_per_class"]) == ("finetune", 10)
        assert float(trial["val_accuracy"]) == pytest.approx(result["val_accuracy"], rel=1e-5)
    [best] = metrics["results"]  # retrained on the same few labels, validation kept
    assert best["mode"] == "finetune" and "test_accuracy" in best and "val_accuracy" in best
    with pytest.raises(UsageError, match="drop --mode pretrain"):
        search(tmp_path / "pretrain", "--mode", "pretrain", app="transfer")


def test_gan_trials_are_scored_by_fid_on_validation_images(tmp_path, has_mnist):
    """Hyperband over whole runs: each trial trains the epochs it is given."""
    metrics = search(tmp_path, "--tuner", "hyperband", app="gan")
    trials = read_trials(tmp_path)
    assert trials and set(space("gan")) <= set(trials[0])
    assert json.loads((tmp_path / "search.json").read_text())["objective"] == "val_fid"
    [run] = read_trial_runs(tmp_path, trials[:1])
    assert float(trials[0]["val_fid"]) == pytest.approx(run["val_fid"], rel=1e-5)
    assert run["fid"] > 0
    assert "val_fid" not in metrics and metrics["fid"] > 0  # retrained on all of train


def test_gnn_trials_tune_the_graph_net_on_its_validation_nodes(tmp_path, has_planetoid):
    metrics = search(tmp_path, "--max-trials", "2", app="gnn")
    trials = read_trials(tmp_path)
    assert len(trials) == 2 and set(space("gnn")) <= set(trials[0])
    for trial, run in zip(trials, read_trial_runs(tmp_path, trials)):
        assert float(trial["val_accuracy"]) == pytest.approx(run["val_accuracy"], rel=1e-5)
        assert run["results"][0]["val_accuracy"] == run["val_accuracy"]
    assert metrics["app"] == "gnn" and 0 <= metrics["test_accuracy"] <= 1


def test_adversarial_trials_are_scored_by_pgd_accuracy_on_validation_images(tmp_path,
                                                                            has_mnist):
    metrics = search(tmp_path, "--max-trials", "1", "--pgd-steps", "1", app="adversarial")
    [trial] = read_trials(tmp_path)
    assert set(space("adversarial")) <= set(trial)
    [run] = read_trial_runs(tmp_path, [trial])
    assert float(trial["val_pgd_accuracy"]) == pytest.approx(run["val_pgd_accuracy"], rel=1e-5)
    assert metrics["app"] == "adversarial" and len(metrics["results"]) == 3


def test_domain_adaptation_trials_are_scored_by_dann_on_target_validation_images(
        tmp_path, has_mnist, has_usps):
    metrics = search(tmp_path, "--max-trials", "1", "--directions", "usps_to_mnist",
                     app="domain_adaptation")
    [trial] = read_trials(tmp_path)
    assert set(space("domain_adaptation")) <= set(trial)
    [run] = read_trial_runs(tmp_path, [trial])
    assert float(trial["val_target_accuracy"]) == pytest.approx(run["val_target_accuracy"],
                                                                rel=1e-5)
    assert [row["direction"] for row in metrics["results"]] == ["usps → mnist"]


def test_multi_task_trials_are_scored_by_the_multi_task_net_on_validation_images(tmp_path,
                                                                                has_mnist):
    metrics = search(tmp_path, "--max-trials", "1", "--seeds", "1", app="multi_task")
    [trial] = read_trials(tmp_path)
    assert set(space("multi_task")) <= set(trial)
    [run] = read_trial_runs(tmp_path, [trial])
    assert float(trial["val_accuracy"]) == pytest.approx(run["val_accuracy"], rel=1e-5)
    assert [row["seed"] for row in metrics["results"]] == [0]


def test_few_shot_trials_are_scored_on_episodes_of_the_validation_alphabet(tmp_path,
                                                                           has_omniglot):
    search(tmp_path, "--max-trials", "1", app="few_shot")
    [trial] = read_trials(tmp_path)
    assert set(space("few_shot")) <= set(trial)
    [run] = read_trial_runs(tmp_path, [trial])
    assert float(trial["val_accuracy"]) == pytest.approx(run["val_accuracy"], rel=1e-5)


def test_text_classification_trials_are_scored_on_the_held_out_tenth(tmp_path, has_polarity):
    metrics = search(tmp_path, "--max-trials", "2", "--models", "bag", app="text_classification")
    trials = read_trials(tmp_path)
    assert len(trials) == 2 and set(space("text_classification")) <= set(trials[0])
    for trial, run in zip(trials, read_trial_runs(tmp_path, trials)):
        assert float(trial["val_accuracy"]) == pytest.approx(run["val_accuracy"], rel=1e-5)
        assert run["results"][0]["model"] == "bag"
    assert metrics["app"] == "text_classification" and 0 <= metrics["test_accuracy"] <= 1


def test_long_memory_trials_are_scored_by_the_validation_mse(tmp_path):
    metrics = search(tmp_path, "--max-trials", "2", "--lengths", "6", "--cells", "gru",
                     app="long_memory")
    trials = read_trials(tmp_path)
    assert len(trials) == 2 and set(space("long_memory")) <= set(trials[0])
    for trial, run in zip(trials, read_trial_runs(tmp_path, trials)):
        assert float(trial["val_loss"]) == pytest.approx(run["results"][0]["val_loss"], rel=1e-5)
    assert metrics["app"] == "long_memory" and metrics["results"][0]["test_mse"] > 0


@pytest.mark.parametrize("trials_per_process", [0, 1])
def test_an_unknown_objective_stops_the_search_after_one_trial_with_one_line(
        trials_per_process, tmp_path, has_mnist):
    with pytest.raises(UsageError, match=r"^Unknown objective: 'val_banana'; .*val_accuracy"):
        search(tmp_path, "--max-trials", "3", "--objective", "val_banana",
               trials_per_process=trials_per_process)
    assert len(list((tmp_path / "search" / "trials").iterdir())) == 1


def _run_diverging_at_one(config, output_dir, overwrite=False):
    if config["x"] == 1:
        raise Diverged("Training diverged: the loss is nan in epoch 1, batch 1")
    return {"val_accuracy": config["x"] / 10, "test_accuracy": 0.5}


def _run_printing(config, output_dir, overwrite=False):
    print("a trial's own output")
    return {"val_accuracy": config["x"] / 10, "test_accuracy": 0.5}


def test_a_quiet_search_prints_only_its_result(tmp_path, capsys):
    spec = {"space": {"x": {"type": "int", "min": 0, "max": 2}},
            "objective": "val_accuracy", "direction": "max"}
    tuning.tune(_run_printing, spec, {"seed": 0, "x": 0}, tuner="grid", max_trials=3,
                objective=None, output_dir=tmp_path, trials_per_process=0, quiet=True)
    out = capsys.readouterr().out
    assert not re.search(r"^Trial \d", out, re.M) and "a trial's own output" not in out, out
    assert out.splitlines()[-1].startswith("Trials completed: 3; the best, val_accuracy 0.2")


def test_a_diverged_trial_fails_alone_and_the_search_goes_on(tmp_path, capsys):
    spec = {"space": {"x": {"type": "int", "min": 0, "max": 3}},
            "objective": "val_accuracy", "direction": "max"}
    metrics = tuning.tune(_run_diverging_at_one, spec, {"seed": 0, "x": 0}, tuner="grid",
                          max_trials=4, objective=None, output_dir=tmp_path,
                          trials_per_process=0)
    assert sorted(int(row["x"]) for row in read_trials(tmp_path)) == [0, 2, 3]
    assert metrics["best_hyperparameters"] == {"x": 3}
    # Each trial is announced with the best so far and the time left.
    lines = [line for line in capsys.readouterr().out.splitlines()
             if re.match(r"Trial \d+/", line)]
    assert lines[0] == "Trial 1/4: {'x': 0}"
    assert lines[3].startswith("Trial 4/4: {'x': 3}; best so far val_accuracy 0.2 (trial 3), ")
    assert lines[3].endswith(" s left")


def _run_once_each(config, output_dir, overwrite=False):
    """A trial of a second that notes where it ran in $RUNS_LOG; run in a
    worker (a new process), it kills its process the first time it sees
    x == 1, mid-trial."""
    log = Path(os.environ["RUNS_LOG"])
    with open(log, "a") as f:
        f.write(f"{Path(output_dir).name} {os.environ.get('KERASTUNER_TUNER_ID')}\n")
    killed = log.with_name("killed")
    if config["x"] == 1 and not killed.exists():
        killed.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(1)
    return {"val_accuracy": config["x"] / 10, "test_accuracy": 0.5}


def test_workers_share_the_search_and_a_killed_worker_s_trial_runs_again(tmp_path, capsys,
                                                                          monkeypatch):
    monkeypatch.setenv("RUNS_LOG", str(tmp_path / "runs.log"))  # the workers inherit it
    spec = {"space": {"x": {"type": "int", "min": 0, "max": 3}},
            "objective": "val_accuracy", "direction": "max"}
    metrics = tuning.tune(_run_once_each, spec, {"seed": 0, "x": 0}, tuner="grid",
                          max_trials=4, objective=None, output_dir=tmp_path, workers=2)
    assert metrics["best_hyperparameters"] == {"x": 3}
    assert sorted(int(row["x"]) for row in read_trials(tmp_path)) == [0, 1, 2, 3]
    ran = [line for line in (tmp_path / "runs.log").read_text().splitlines()
           if not line.endswith(" None")]  # the trials, not the retraining
    trials = [line.split()[0] for line in ran]
    # Each trial ran once, but the killed one, which its worker ran again.
    killed = [trial for trial in set(trials) if trials.count(trial) == 2]
    assert len(ran) == 5 and len(set(trials)) == 4 and len(killed) == 1
    assert {line.split()[1] for line in ran} == {"worker0", "worker1"}
    [by] = {line.split()[1] for line in ran if line.split()[0] == killed[0]}
    assert f"{by} stopped (exit status -9); starting it again" in capsys.readouterr().out


def test_a_search_over_two_hosts_chief_and_worker_on_loopback(tmp_path, has_mnist):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def part(role, folder):
        return subprocess.Popen(
            [sys.executable, "-m", "kerasdl", "tune", "classification", "--dry-run",
             "--max-trials", "2", "--quiet", "--backend", keras.backend.backend(),
             "--role", role, "--chief", f"127.0.0.1:{port}", "--output-dir",
             str(tmp_path / folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True)

    chief, worker = part("chief", "chief"), part("worker", "worker")
    try:
        (worker_out, worker_err), (chief_out, chief_err) = (
            process.communicate(timeout=600) for process in (worker, chief))
    finally:  # the two commands, and the processes they started
        for process in (worker, chief):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    assert (worker.returncode, chief.returncode) == (0, 0), worker_err[-2000:] + chief_err
    assert "This host's workers are done" in worker_out
    assert len(read_trials(tmp_path / "chief")) == 2  # ranked by the chief
    assert len(list((tmp_path / "worker" / "search" / "trials").iterdir())) == 2  # run there
    assert json.loads((tmp_path / "chief" / "best" / "metrics.json").read_text())["epochs_run"]


def test_role_and_chief_go_together(capsys):
    assert cli.main(["tune", "gnn", "--role", "worker"]) == 2
    assert cli.main(["tune", "gnn", "--role", "chief", "--chief", "nohost"]) == 2
    assert capsys.readouterr().err.count("--role and --chief go together") == 2
