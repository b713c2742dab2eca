import keras
import numpy as np
import pytest

from kerasdl import backend, training
from kerasdl.history import read_history
from kerasdl.errors import UsageError
from kerasdl.models import build_classifier


def _model(**options):
    keras.utils.set_random_seed(0)
    options = {"depth": 1, "width": 16, "batchnorm": False, **options}
    return build_classifier("mlp", (8, 8, 1), 2, **options)


def _fit(split, output_dir, model=None, **options):
    train, val, test = split
    options = {"epochs": 4, "batch_size": 32, "lr": 1e-2, "verbose": 0, **options}
    return training.fit_and_evaluate(model or _model(), train, val, test,
                                     output_dir=output_dir, **options)


def test_fit_and_evaluate_learns_and_writes_its_files(tiny_split, tmp_path):
    model = _model()
    metrics = _fit(tiny_split, tmp_path, model=model, schedule="cosine", warmup=0.1)
    assert metrics["test_accuracy"] > 0.8
    assert metrics["epochs_run"] == 4
    assert metrics["backend"] == keras.backend.backend()
    assert metrics["device"] == backend.device_info()
    assert metrics["params"] == model.count_params() == 64 * 16 + 16 + 16 * 2 + 2
    assert metrics["keras_version"] == keras.__version__
    assert "train_seconds" in metrics
    # The test figures are the final model's on the test split.
    test = model.evaluate(*tiny_split[2], verbose=0, return_dict=True)
    assert metrics["test_loss"] == pytest.approx(test["loss"], rel=1e-5)
    assert metrics["test_accuracy"] == pytest.approx(test["accuracy"])
    history = read_history(tmp_path / "history.csv")
    assert history["epoch"] == [0, 1, 2, 3]
    assert history["loss"][-1] < history["loss"][0]
    assert {"accuracy", "val_accuracy", "val_loss"} <= set(history)
    assert metrics["val_accuracy"] == history["val_accuracy"][-1]
    assert metrics["val_loss"] == history["val_loss"][-1]
    assert (tmp_path / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # model.keras is the final model; best.keras the epoch of best val_accuracy.
    x_test, (x_val, y_val) = tiny_split[2][0], tiny_split[1]
    final = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(final.predict(x_test, verbose=0), model.predict(x_test, verbose=0),
                               atol=1e-6)
    best = keras.saving.load_model(tmp_path / "best.keras")
    assert best.evaluate(x_val, y_val, verbose=0, return_dict=True)["accuracy"] == pytest.approx(
        max(history["val_accuracy"]))
    assert not (tmp_path / "backup").exists()  # removed once training ends


def test_other_heads_train(tiny_split, tmp_path):
    (x, y), (xv, yv), (xt, yt) = tiny_split
    split = (x, y[:, None]), (xv, yv[:, None]), (xt, yt[:, None])
    metrics = _fit(split, tmp_path, model=_model(head="binary"), head="binary")
    assert metrics["test_accuracy"] > 0.7


def test_nan_loss_stops_with_a_clear_error(tiny_split, tmp_path):
    (x, y), val, test = tiny_split
    x = np.full_like(x, np.nan)
    with pytest.raises(UsageError, match="Training diverged.*epoch 1, batch 0.*--lr"):
        _fit(((x, y), val, test), tmp_path, model=_model(batchnorm=True))


def test_a_nan_test_loss_is_divergence_and_saves_no_model(tiny_split, tmp_path):
    # The clipped cross-entropy stays finite even on NaN predictions, so the
    # test loss is made NaN here as another loss could make it (without a
    # validation set, which `fit` would evaluate the same way).
    train, _, test = tiny_split
    model = _model()
    model.evaluate = lambda *args, **kwargs: {"loss": float("nan"), "accuracy": 0.5}
    with pytest.raises(UsageError, match="^Training diverged: the test loss became NaN or Inf "
                                         "after training"):
        _fit((train, None, test), tmp_path, model=model)
    assert (tmp_path / "history.csv").exists() and not (tmp_path / "model.keras").exists()


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise KeyboardInterrupt


def test_interrupted_run_resumes_where_it_stopped(tiny_split, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _fit(tiny_split, tmp_path, callbacks=[_Interrupt()])
    assert (tmp_path / "backup").exists()
    assert read_history(tmp_path / "history.csv")["epoch"] == [0, 1]

    model = _model()
    metrics = _fit(tiny_split, tmp_path, model=model)
    history = read_history(tmp_path / "history.csv")
    assert history["epoch"] == [0, 1, 2, 3]
    assert metrics["epochs_run"] == 4
    # The training time counts the epochs before the interruption too.
    assert all(seconds > 0 for seconds in history["seconds"])
    assert metrics["train_seconds"] == round(sum(history["seconds"]), 1)
    # The optimizer state came back too: 4 epochs of 8 steps in all.
    assert int(model.optimizer.iterations) == 32


@pytest.mark.parametrize("augment", ["translate", "shift"])
def test_save_load_round_trip(tiny_split, tmp_path, augment):
    model = build_classifier("vgg", (8, 8, 1), 2, depth=1, width=4, dense=8,
                             augment=[augment])
    _fit(tiny_split, tmp_path, model=model, epochs=1)
    x = tiny_split[2][0]
    # With one epoch, best.keras is the final model too; both leave out augmentation.
    for name in ("model.keras", "best.keras"):
        loaded = keras.saving.load_model(tmp_path / name, safe_mode=True)
        assert not any("Random" in type(layer).__name__ for layer in loaded.layers)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                                   atol=1e-6)


def test_optimizers_by_name():
    nesterov = training.make_optimizer("nesterov", 0.1)
    assert isinstance(nesterov, keras.optimizers.SGD)
    assert nesterov.nesterov and nesterov.momentum == 0.9
    assert isinstance(training.make_optimizer("nadam", 0.1), keras.optimizers.Nadam)
    with pytest.raises(UsageError, match="Unknown optimizer: 'lion'. Choose one of: sgd"):
        training.make_optimizer("lion", 0.1)


def test_schedules():
    cosine = training.learning_rate(1.0, "cosine", total_steps=100, warmup=0.1)
    values = [float(cosine(step)) for step in (0, 5, 10, 55, 100)]
    np.testing.assert_allclose(values, [0.0, 0.5, 1.0, 0.5, 0.0], atol=1e-6)
    decay = training.learning_rate(1.0, "exponential", total_steps=100)
    np.testing.assert_allclose(float(decay(100)), 0.01, rtol=1e-5)
    assert training.learning_rate(0.1, "constant", total_steps=100) == 0.1
    with pytest.raises(UsageError, match="Unknown schedule: 'step'"):
        training.learning_rate(0.1, "step", total_steps=100)


def test_total_steps_counts_the_short_last_batch():
    assert training.total_steps(2, 10, 4) == 6
    assert training.total_steps(3, 8, 4) == 6
