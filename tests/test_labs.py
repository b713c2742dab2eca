"""The labs: a dry run of each, and the pieces their claims rest on."""

import json
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from kerasdl import callbacks, cli, labs
from kerasdl.callbacks import tensorboard_logs
from kerasdl.errors import UsageError

PLOTS = {
    "perceptron": ["mistakes.png", "xor_boundaries.png"],
    "universal_approximation": ["fits.png", "errors.png"],
    "backprop": [],
    "activations": ["gradients.png", "training.png"],
    "initialisation": ["signal.png", "training.png"],
    "optimizers": ["losses.png", "rosenbrock.png"],
    "depth_vs_width": ["accuracy.png"],
    "batchnorm": ["training.png", "validation.png"],
    "batch_size": ["batch_size.png"],
    "dropout": ["errors.png"],
    "early_stopping": ["curves.png"],
    "memorisation": ["accuracy.png"],
    "augmentation_vs_regularisation": ["curves.png"],
}


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_lab_dry_run(name, tmp_path, request, assert_same_figures, capsys):
    app = cli.load_app(name)
    request.getfixturevalue("has_fashion_mnist" if "fashion_mnist" in app.PRESETS
                            else "has_mnist")

    def dry_run(output_dir, *extra):
        return app.main(["--dry-run", "--backend", keras.backend.backend(),
                         "--output-dir", str(output_dir), *extra])

    metrics = dry_run(tmp_path)
    assert json.loads((tmp_path / "metrics.json").read_text()) == json.loads(
        json.dumps(metrics))
    assert metrics["app"] == name and metrics["backend"] == keras.backend.backend()
    assert isinstance(metrics["holds"], bool) and metrics["results"]
    results = (tmp_path / "results.md").read_text().splitlines()
    assert results[0] == f"# {name}"
    assert results[-1] == (f"Claim: {metrics['claim']}: "
                           f"{'holds' if metrics['holds'] else 'does not hold'}.")
    assert len([line for line in results if line.startswith("| ")]) == len(
        metrics["results"]) + 1
    for plot in PLOTS[name]:
        assert (tmp_path / plot).stat().st_size > 5000, plot
    # Determinism: the same dry run again gives the same figures; --quiet
    # prints only the claim line.
    capsys.readouterr()
    again = dry_run(tmp_path / "again", "--quiet")
    assert_same_figures(metrics, again)
    assert capsys.readouterr().out == (
        f"Claim: {again['claim']}: {'holds' if again['holds'] else 'does not hold'}. "
        f"Everything is in {tmp_path / 'again'} (report.html).\n")


def test_a_diverging_lab_with_a_batch_over_its_data_still_ends_with_its_claim(tmp_path):
    """universal_approximation at --lr 1e30 has no positive error to put on
    its log axis, and a batch over its 256 points once made 0 decay steps."""
    metrics = cli.load_app("universal_approximation").main(
        ["--dry-run", "--backend", keras.backend.backend(), "--output-dir", str(tmp_path),
         "--lr", "1e30", "--batch-size", "100000"])
    assert "rows hold NaN or Inf: their training diverged" in metrics["claim"]
    assert (tmp_path / "errors.png").stat().st_size > 5000


def test_backprop_gradients_match_autodiff_and_finite_differences():
    app = cli.load_app("backprop")
    rng = np.random.default_rng(0)
    net = app.build(rng, "float64")
    x, y = rng.random((16, 784)), rng.integers(0, 10, 16)
    # Keras computes float64 matmuls in float32 on PyTorch (see
    # kerasdl/backend/torch.py): exact to float64 elsewhere.
    limit = 1e-6 if keras.backend.backend() == "torch" else 1e-12
    assert app.autodiff_gap(net, x, y) < limit
    pairs = [(p, g.copy()) for m in net[::2] for p, g in zip(m.params, m.grads)]
    assert labs.finite_difference_gap(lambda: app.loss_and_gradients(net, x, y), pairs,
                                      rng) < 1e-6
    # A wrong gradient is caught: every entry of the last bias is checked.
    pairs[-1][1][3] += 0.1
    assert labs.finite_difference_gap(lambda: app.loss_and_gradients(net, x, y),
                                      pairs[-1:], rng, count=10) > 0.09


def test_perceptron_converges_only_when_a_line_separates():
    app = cli.load_app("perceptron")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2)).astype("float32")
    y = np.where(x[:, 0] + 0.5 * x[:, 1] > 0.1, 1.0, -1.0)
    w, b, mistakes = app.perceptron(x, y, passes=100)
    assert mistakes[-1] == 0 and len(mistakes) < 100
    assert np.all(np.sign(x @ w + b) == y)
    _, _, mistakes = app.perceptron(app.XOR_X, app.XOR_Y, passes=20)
    assert len(mistakes) == 20 and min(mistakes) > 0


@pytest.mark.parametrize("depth", [1, 2, 4, 8])
def test_depth_vs_width_gives_every_depth_the_same_budget(depth):
    app = cli.load_app("depth_vs_width")
    width = app.width_for(depth, 200_000)
    params = labs.mlp(depth, width).count_params()
    assert abs(params / 200_000 - 1) < 0.01 and params == app.weights(depth, width)
    assert labs.mlp(depth, width + 5).count_params() > params
    assert app.width_for(depth, app.weights(8, 1)) >= 1


def test_depth_vs_width_refuses_too_few_params_for_one_unit_a_layer():
    app = cli.load_app("depth_vs_width")
    with pytest.raises(UsageError, match="--params: 818 is too few .* at least 819"):
        app.parse_config(["--params", "818"])
    assert app.parse_config(["--params", "819"])[0]["params"] == 819


def test_layer_statistics_show_vanishing_sigmoid_gradients():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((64, 28, 28, 1)).astype("float32")
    y = np.arange(64) % 10
    stats = labs.layer_statistics(labs.mlp(10, 32, activation="sigmoid"), x, y)
    assert set(stats) == {"activation_std", "gradient_std", "gradient_norm"}
    assert all(len(values) == 11 for values in stats.values())
    assert stats["gradient_norm"][0] < 1e-3 * stats["gradient_norm"][-1]
    relu = labs.layer_statistics(labs.mlp(10, 32, initializer="he_normal"), x, y)
    assert relu["gradient_norm"][0] > 1e-2 * relu["gradient_norm"][-1]


def test_loss_gradients_match_a_hand_computed_softmax_gradient():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, "softmax")])
    x, y = np.array([[1.0, 2.0, -1.0]], "float32"), np.array([1])
    kernel, bias = labs.loss_gradients(model, x, y)
    p = keras.ops.convert_to_numpy(model(x))[0]
    np.testing.assert_allclose(bias, p - [0, 1], atol=1e-6)
    np.testing.assert_allclose(kernel, np.outer(x[0], p - [0, 1]), atol=1e-6)


def test_finish_writes_the_table_and_the_claim(tmp_path):
    config = {"app": "some_lab"}
    metrics = labs.finish(tmp_path, config, [{"a": 1, "b": 0.123456}, {"a": 2, "b": "x"}],
                          "b is small", False, extra=3)
    assert (tmp_path / "results.md").read_text() == (
        "# some_lab\n\n| a | b |\n|---|---|\n| 1 | 0.1235 |\n| 2 | x |\n\n"
        "Claim: b is small: does not hold.\n")
    assert metrics["holds"] is False and metrics["extra"] == 3
    assert json.loads((tmp_path / "metrics.json").read_text())["claim"] == "b is small"


def test_finish_names_the_diverged_rows_and_keeps_every_column(tmp_path):
    rows = [{"model": "plain", "loss": float("nan")}, {"model": "bn", "loss": 0.5, "note": "ok"},
            {"model": "wide", "loss": float("inf")}]
    metrics = labs.finish(tmp_path, {"app": "some_lab"}, rows, "bn trains", True)
    assert metrics["claim"] == ("bn trains; 2 of the 3 rows hold NaN or Inf: their training "
                                "diverged (try a lower --lr)")
    assert "| model | loss | note |\n|---|---|---|\n| plain | nan |  |\n| bn | 0.5 | ok |" in (
        tmp_path / "results.md").read_text()


def test_train_prints_each_epoch_only_when_asked(capsys):
    rng = np.random.default_rng(0)
    data = rng.random((32, 28, 28, 1), dtype="float32"), rng.integers(0, 10, 32)
    for progress in (None, "tiny net"):
        history, accuracy = labs.train(labs.mlp(1, 4), "sgd", data, data, epochs=2,
                                       batch_size=16, progress=progress)
        assert len(history["loss"]) == 2 and 0 <= accuracy <= 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(", ")[0] for line in lines] == ["tiny net: epoch 1/2",
                                                        "tiny net: epoch 2/2"]
    assert "loss" in lines[-1] and "accuracy" in lines[-1]


def test_in_a_tensorboard_run_each_fit_logs_under_its_own_name(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.random((32, 28, 28, 1), dtype="float32"), rng.integers(0, 10, 32)
    with tensorboard_logs.logging_to(tmp_path):
        for progress in ("p=0.5", "p=0.5", None):
            labs.train(labs.mlp(1, 4), "sgd", data, data, epochs=1, batch_size=16,
                       progress=progress)
        assert callbacks.log_folder() == tmp_path
    assert sorted(path.name for path in tmp_path.iterdir()) == ["fit", "p=0.5", "p=0.5-2"]
    assert list((tmp_path / "p=0.5-2" / "train").glob("events.out.tfevents.*"))
    assert callbacks.log_folder() is None and callbacks.tensorboard("after") == []


def test_epochs_to_counts_from_one_and_says_never():
    assert labs.epochs_to([0.5, 0.84, 0.85, 0.9], 0.85) == 3
    assert labs.epochs_to([0.5, 0.84], 0.85) is None


def test_batch_size_warms_the_rate_up_then_holds_it():
    schedule = cli.load_app("batch_size").rate_schedule(0.64, 10)
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in (0, 5, 10, 500)]
    np.testing.assert_allclose(rates, [0.0, 0.32, 0.64, 0.64], rtol=1e-6)


def test_early_stopping_restores_the_weights_of_the_best_epoch():
    rng = np.random.default_rng(0)
    images = SimpleNamespace(**{
        name: rng.random((64, 28, 28, 1)).astype("float32") if name[0] == "x"
        else rng.integers(0, 10, 64)
        for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")})
    config = {"seed": 0, "lr": 1e-3, "batch_size": 16}
    # Random labels: the validation loss soon rises, and patience stops the run.
    history, restored, best = cli.load_app("early_stopping").train(images, config, 30, 3)
    epochs = len(history["loss"])
    assert epochs < 30 and len(history["test_accuracy"]) == epochs
    assert best == int(np.argmin(history["val_loss"])) == epochs - 1 - 3
    assert restored == pytest.approx(history["test_accuracy"][best], abs=1e-6)


def test_memorisation_redraws_the_share_and_shuffles_every_image_alike():
    app = cli.load_app("memorisation")
    rng = np.random.default_rng(0)
    # Labels of no class: every redrawn one changes, so the count is exact.
    y = np.full(1000, -1)
    for share in (0.0, 0.5, 1.0):
        redrawn = app.randomise_labels(y, share, rng)
        assert np.sum(redrawn != y) == 1000 * share
        assert set(redrawn[redrawn != y]) <= set(range(10))
    assert np.all(y == -1)
    # Drawn from all ten classes, its own included: one in ten keeps its class.
    true = np.arange(10_000) % 10
    assert 0.08 < np.mean(app.randomise_labels(true, 1.0, rng) == true) < 0.12
    x = rng.random((3, 28, 28, 1)).astype("float32")
    x[2] = x[0]
    permutation = rng.permutation(784)
    shuffled = app.shuffle_pixels(x, permutation)
    assert shuffled.shape == x.shape and not np.array_equal(shuffled, x)
    np.testing.assert_array_equal(shuffled[2], shuffled[0])
    np.testing.assert_array_equal(app.shuffle_pixels(shuffled, np.argsort(permutation)), x)
