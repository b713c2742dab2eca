"""kerasdl tune: tiny searches (2 trials, 1 epoch, tiny data) on each tuner,
and for each tunable app."""

import csv
import json

import keras
import keras_tuner as kt
import numpy as np
import pytest

from kerasdl import cli, names, tuning
from kerasdl.errors import UsageError
from kerasdl.models import SEARCH_SPACE, build_autoencoder, build_classifier, gan, transfer
from kerasdl.models import word2vec
from kerasdl.models.autoencoder import SEARCH_SPACE as AUTOENCODER_SPACE


def search(output_dir, *extra, app="classification", trials_per_process=0):
    return cli.tune(app, ["--dry-run", "--backend", keras.backend.backend(),
                          "--output-dir", str(output_dir),
                          "--trials-per-process", str(trials_per_process), *extra])


def read_trials(output_dir):
    with open(output_dir / "trials.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_every_tunable_app_has_a_search_space():
    assert tuple(tuning.APPS) == tuple(names.TUNABLE_APPS)
    assert {cli.load_app(name).APP for name in cli.app_names()} == set(names.TUNABLE_APPS)
    spaces = {"classification": SEARCH_SPACE, "autoencoder": AUTOENCODER_SPACE,
              "word2vec": word2vec.SEARCH_SPACE, "transfer": transfer.SEARCH_SPACE,
              "gan": gan.SEARCH_SPACE}
    assert {app: tuning.APPS[app].space for app in spaces} == spaces


def test_hypermodel_builds_what_the_app_builder_builds():
    config, _ = cli.load_app("classification").parse_config(
        ["--backend", keras.backend.backend()])
    hypermodel = tuning.AppHyperModel(config, tuning.APPS["classification"], (28, 28, 1),
                                      10, train_size=256, objective="val_accuracy")
    hp = kt.HyperParameters()
    tuned = hypermodel.build(hp)
    chosen = tuning.apply(config, hp.values)
    direct = build_classifier(chosen["model"], (28, 28, 1), 10, **chosen["model_options"])
    assert tuned.count_params() == direct.count_params()
    assert [type(l).__name__ for l in tuned.layers] == [type(l).__name__ for l in direct.layers]
    assert float(tuned.optimizer.learning_rate) >= 0  # compiled, ready for the tuner


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
    assert set(SEARCH_SPACE) <= set(trials[0])
    best = json.loads((tmp_path / "best_hyperparameters.json").read_text())
    assert set(best) == set(SEARCH_SPACE) and metrics["best_hyperparameters"] == best
    assert (tmp_path / "trials.md").read_text().count("\n") == len(trials) + 2
    assert (tmp_path / "objective.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "search.json").read_text())["seed"] == 0
    retrained = json.loads((tmp_path / "best" / "metrics.json").read_text())
    assert retrained["test_accuracy"] == metrics["test_accuracy"]
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


def test_autoencoder_hypermodel_and_tiny_search(tmp_path, has_mnist):
    config, _ = cli.load_app("autoencoder").parse_config(
        ["--backend", keras.backend.backend(), "--arch", "conv"])
    hypermodel = tuning.AppHyperModel(config, tuning.APPS["autoencoder"], (28, 28, 1), 10,
                                      train_size=256, objective="val_loss")
    hp = kt.HyperParameters()
    tuned = hypermodel.build(hp)
    chosen = tuning.apply(config, hp.values)
    direct = build_autoencoder("conv", (28, 28, 1), **chosen["model_options"])
    assert tuned.count_params() == direct.count_params()
    assert tuned.loss == "binary_crossentropy"

    metrics = search(tmp_path, "--max-trials", "2", app="autoencoder")
    trials = read_trials(tmp_path)
    assert "val_loss" in trials[0] and set(AUTOENCODER_SPACE) <= set(trials[0])
    assert json.loads((tmp_path / "search.json").read_text())["objective"] == "val_loss"
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
    assert len(trials) == 2 and set(word2vec.SEARCH_SPACE) <= set(trials[0])
    for trial, run in zip(trials, read_trial_runs(tmp_path / "s", trials)):
        assert float(trial["val_similarity"]) == pytest.approx(
            run["similarity"]["dev_spearman"], abs=1e-6)
    assert set(metrics["best_hyperparameters"]) == set(word2vec.SEARCH_SPACE)
    assert metrics["similarity"]["heldout_spearman"] is not None
    # No validation split to add back: the best is retrained as its trial ran.
    retrained = json.loads((tmp_path / "s" / "best" / "config.json").read_text())
    assert "validation_size" not in retrained


def test_transfer_trials_tune_one_mode_on_one_labels_count(tmp_path, has_mnist):
    metrics = search(tmp_path, "--max-trials", "2", app="transfer")
    trials = read_trials(tmp_path)
    assert len(trials) == 2 and set(transfer.SEARCH_SPACE) <= set(trials[0])
    for trial, run in zip(trials, read_trial_runs(tmp_path, trials)):
        [result] = run["results"]
        assert (result["mode"], result["labels_per_class"]) == ("finetune", 10)
        assert float(trial["val_accuracy"]) == pytest.approx(result["val_accuracy"])
    [best] = metrics["results"]  # retrained on the same few labels, validation kept
    assert best["mode"] == "finetune" and "test_accuracy" in best and "val_accuracy" in best
    with pytest.raises(UsageError, match="drop --mode pretrain"):
        search(tmp_path / "pretrain", "--mode", "pretrain", app="transfer")


def test_gan_trials_are_scored_by_fid_on_validation_images(tmp_path, has_mnist):
    """Hyperband over whole runs: each trial trains the epochs it is given."""
    metrics = search(tmp_path, "--tuner", "hyperband", app="gan")
    trials = read_trials(tmp_path)
    assert trials and set(gan.SEARCH_SPACE) <= set(trials[0])
    assert json.loads((tmp_path / "search.json").read_text())["objective"] == "val_fid"
    [run] = read_trial_runs(tmp_path, trials[:1])
    assert float(trials[0]["val_fid"]) == pytest.approx(run["val_fid"]) and run["fid"] > 0
    assert "val_fid" not in metrics and metrics["fid"] > 0  # retrained on all of train
