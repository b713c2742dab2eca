"""kerasdl.transfer.modes: scratch, frozen and finetune on a few labels per
class, and where a tuning trial starts."""

import argparse
import json

import numpy as np
import pytest

from kerasdl import cards, data, models, presets, transfer
from kerasdl.errors import UsageError
from kerasdl.transfer import modes

SETTINGS = {"epochs": 1, "fine_tune_epochs": 1, "lr": 1e-2, "fine_tune_lr": 1e-3,
            "batch_size": 32, "unfreeze_blocks": 1, "augment": [], "head_units": 8,
            "head_dropout": 0.0, "min_epoch_size": 64, "seed": 0,
            "labels_per_class": [5, "all"]}


def tiny_images(tiny_split):
    (x, y), (xv, yv), (xt, yt) = tiny_split
    return data.ImageData("tiny", "test", ("dark", "bright"), x, y, xv, yv, xt, yt)


def small_base(pretrained=True):
    classifier = models.build_classifier("vgg", (8, 8, 1), 2, width=4, depth=2, stages=1,
                                         dense=8, batchnorm=True)
    return transfer.feature_extractor(classifier)


def test_labels_list_reads_counts_and_all():
    assert transfer.labels_list("10,all,5") == [10, "all", 5]
    for bad in ("10,0", "x", "", "-1"):
        with pytest.raises(argparse.ArgumentTypeError, match="must be positive integers"):
            transfer.labels_list(bad)


def test_finetune_needs_frozen():
    assert modes.needed(("finetune",)) == ["frozen", "finetune"]
    assert modes.needed(("scratch", "finetune")) == ["scratch", "frozen", "finetune"]
    assert modes.needed(("scratch",)) == ["scratch"]


def test_labelled_picks_the_count_of_each_class(tiny_split):
    images = tiny_images(tiny_split)
    x, y = transfer.labelled(images, 5, seed=0)
    assert np.bincount(y).tolist() == [5, 5]
    np.testing.assert_array_equal(transfer.labelled(images, 5, seed=0)[0], x)
    assert not np.array_equal(transfer.labelled(images, 5, seed=1)[0], x)
    assert len(transfer.labelled(images, "all", seed=0)[0]) == len(images.x_train)


def test_repeat_to_fills_an_epoch():
    x, y = np.arange(3), np.arange(3) * 10
    rx, ry = transfer.repeat_to(x, y, 7)
    np.testing.assert_array_equal(rx, [0, 1, 2, 0, 1, 2, 0])
    np.testing.assert_array_equal(ry, rx * 10)
    assert transfer.repeat_to(x, y, 2)[0] is x


def test_target_augment_defaults_to_the_target_preset():
    mnist = presets.CLASSIFICATION["mnist"]["model_options"]["augment"]
    assert transfer.target_augment("mnist_5_9", folder=False) == mnist
    assert transfer.target_augment("mnist_5_9", folder=True) == presets.TRANSFER_FOLDER_AUGMENT
    assert transfer.target_augment("mnist_5_9", folder=True, given=[]) == []


def test_a_tuning_trial_runs_one_mode_on_the_fewest_labels(capsys):
    config = {"mode": "all", "labels_per_class": ["all", 100, 10]}
    assert transfer.one_trial(config) == {"mode": "finetune", "labels_per_class": [10]}
    assert "in mode finetune on 10 labels per class" in capsys.readouterr().out
    assert transfer.one_trial({"mode": "frozen", "labels_per_class": ["all"]}) == {
        "mode": "frozen", "labels_per_class": ["all"]}
    with pytest.raises(UsageError, match="drop --mode pretrain"):
        transfer.one_trial({"mode": "pretrain", "labels_per_class": [10]})


def test_modes_train_what_they_should_and_finished_runs_are_read_back(tmp_path, tiny_split):
    images = tiny_images(tiny_split)
    results = transfer.train_modes(small_base, images, ("scratch", "finetune"), SETTINGS,
                                   tmp_path, "kerasdl run transfer")
    assert [(r["labels_per_class"], r["mode"]) for r in results] == [
        (5, "scratch"), (5, "finetune"), ("all", "scratch"), ("all", "finetune")]
    assert results[0]["examples"] == 10 and results[2]["examples"] == len(images.x_train)
    frozen = json.loads((tmp_path / "5" / "frozen" / modes.RESULT_FILE).read_text())
    # frozen trains the head alone (8 * 64 + 8 + 8 * 2 + 2 weights), finetune
    # also the top block of the base (BatchNorm stays frozen), scratch all.
    assert frozen["trainable_params"] == 8 * 64 + 8 + 8 * 2 + 2
    assert frozen["trainable_params"] < results[1]["trainable_params"] < results[0][
        "trainable_params"]
    assert {"val_accuracy", "test_accuracy", "epochs_run"} <= set(results[1])
    assert (tmp_path / "all" / "finetune" / "model.keras").exists()

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    again = transfer.train_modes(no_training, images, ("scratch", "finetune"), SETTINGS,
                                 tmp_path, "kerasdl run transfer")
    assert again == results


def test_finetune_starts_from_the_frozen_weights_with_its_augmentation(tmp_path, tiny_split,
                                                                       monkeypatch):
    # The frozen run's file is saved without augmentation; finetune must put it back.
    started, train_mode = {}, modes.train_mode

    def record(model, run_dir, mode, *args):
        started[mode] = [type(layer).__name__ for layer in model.layers], model.get_weights()
        return train_mode(model, run_dir, mode, *args)

    monkeypatch.setattr(modes, "train_mode", record)
    transfer.train_modes(small_base, tiny_images(tiny_split), ("finetune",),
                         {**SETTINGS, "augment": ["shift"], "labels_per_class": [5]}, tmp_path,
                         "kerasdl run transfer")
    kinds, weights = started["finetune"]
    assert "RandomShift" in kinds and "RandomShift" in started["frozen"][0]
    frozen, _ = cards.load(tmp_path / "5" / "frozen")
    assert "RandomShift" not in [type(layer).__name__ for layer in frozen.layers]
    assert len(weights) == len(frozen.get_weights())
    for start, saved in zip(weights, frozen.get_weights()):
        np.testing.assert_array_equal(start, saved)
