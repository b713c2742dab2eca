"""Long memory: the adding problem's data, the claim's judgement, and dry
runs of the app on the adding problem and on MNIST rows."""

import keras
import numpy as np
import pytest

from kerasdl import cli
from kerasdl.data.sequences import BASELINE_MSE, adding_problem


def test_the_adding_problem_marks_one_step_in_each_half_and_sums_their_values():
    x, y = adding_problem(500, 10, seed=3)
    assert x.shape == (500, 10, 2) and y.shape == (500,) and x.dtype == np.float32
    markers = x[..., 1]
    assert (markers.sum(1) == 2).all()
    assert (markers[:, :5].sum(1) == 1).all() and (markers[:, 5:].sum(1) == 1).all()
    np.testing.assert_allclose((x[..., 0] * markers).sum(1), y, rtol=1e-6)
    np.testing.assert_array_equal(adding_problem(500, 10, seed=3)[1], y)


def test_always_answering_one_scores_the_baseline():
    _, y = adding_problem(200_000, 6, seed=0)
    assert np.mean((y - 1) ** 2) == pytest.approx(BASELINE_MSE, rel=0.02)


def rows(mse):
    return [{"task": f"adding, T={t}", "cell": c, "test_mse": m} for (c, t), m in mse.items()]


def test_the_claim_needs_the_gated_cells_to_solve_every_length_and_the_rnn_to_fail():
    judge = cli.load_app("long_memory").judge
    config = {"task": "adding", "cells": ["simple_rnn", "lstm"], "lengths": [50, 400]}
    good = {("simple_rnn", 50): 0.01, ("lstm", 50): 0.001, ("simple_rnn", 400): 0.16,
            ("lstm", 400): 0.02}
    claim, holds = judge(config, rows(good))
    assert holds and "simple_rnn T=400 0.1600" in claim
    assert not judge(config, rows({**good, ("lstm", 400): 0.09}))[1]
    assert not judge(config, rows({**good, ("simple_rnn", 400): 0.01}))[1]


def dry_run(output_dir, *extra):
    return cli.load_app("long_memory").main(
        ["--dry-run", "--backend", keras.backend.backend(), "--output-dir", str(output_dir),
         "--units", "8", *extra])


def test_long_memory_dry_run_on_the_adding_problem(tmp_path):
    metrics = dry_run(tmp_path, "--lengths", "6,12", "--cells", "simple_rnn,gru")
    assert [(r["task"], r["cell"]) for r in metrics["results"]] == [
        ("adding, T=6", "simple_rnn"), ("adding, T=6", "gru"),
        ("adding, T=12", "simple_rnn"), ("adding, T=12", "gru")]
    assert all(r["test_mse"] > 0 and r["steps"] == 6 for r in metrics["results"])
    assert (tmp_path / "curves.png").exists() and (tmp_path / "results.md").exists()


def test_long_memory_dry_run_on_mnist_rows(tmp_path, has_mnist):
    metrics = dry_run(tmp_path, "--task", "mnist_rows", "--cells", "lstm")
    [row] = metrics["results"]
    assert row["task"] == "MNIST, 28 rows" and 0 <= row["test_accuracy"] <= 1


def test_training_stops_once_the_validation_mse_is_a_tenth_of_solved(tmp_path, monkeypatch):
    app = cli.load_app("long_memory")
    flags = ["--backend", keras.backend.backend(), "--units", "4", "--lengths", "6",
             "--cells", "gru", "--train-size", "100", "--validation-size", "20", "--epochs", "3"]
    ran = app.main([*flags, "--output-dir", str(tmp_path / "all")])
    assert ran["results"][0]["steps"] == 3 * 2  # 100 sequences in batches of 50
    monkeypatch.setattr(app, "SOLVED", 1e9)  # every validation MSE counts as learned
    stopped = app.main([*flags, "--output-dir", str(tmp_path / "stopped")])
    assert stopped["results"][0]["steps"] == 2
