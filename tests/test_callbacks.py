"""The project's callbacks: learning curves, timers and the NaN stop, on
tiny models and arrays."""

import types

import keras
import numpy as np
import pytest
from PIL import Image

from kerasdl.callbacks import EpochTimer, LearningCurves, StopOnNaN, TimeToAccuracy
from kerasdl.callbacks import timing
from kerasdl.history import curve_panels, plot_learning_curves, read_history
from kerasdl.errors import UsageError

PNG = b"\x89PNG\r\n\x1a\n"


def fake_clock(monkeypatch, times):
    """Makes `timing`'s clock return `times`, one per reading."""
    readings = iter(times)
    monkeypatch.setattr(timing, "time", types.SimpleNamespace(
        perf_counter=lambda: next(readings)))


# Learning curves.

def test_history_has_a_column_per_figure_and_keeps_them_on_resume(tmp_path):
    curves_ = LearningCurves(tmp_path)
    curves_.on_train_begin()
    curves_.on_epoch_end(0, {"loss": 1.0, "fid": 9.0})
    curves_.on_train_end()
    assert set(read_history(tmp_path / "history.csv")) == {"epoch", "fid", "loss"}

    resumed = LearningCurves(tmp_path)
    resumed.on_train_begin()
    resumed.on_epoch_end(1, {"fid": 8.0, "loss": 0.5, "other": 3.0})
    resumed.on_train_end()
    assert read_history(tmp_path / "history.csv") == {
        "epoch": [0, 1], "fid": [9.0, 8.0], "loss": [1.0, 0.5]}


def test_learning_curves_are_redrawn_after_every_epoch(tmp_path):
    callback = LearningCurves(tmp_path)
    callback.on_train_begin()
    png = tmp_path / "learning_curves.png"
    callback.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.2})
    first = png.read_bytes()
    assert first.startswith(PNG)
    # Saved before training ends: an interrupted run keeps its epochs.
    assert read_history(tmp_path / "history.csv") == {
        "epoch": [0], "loss": [1.0], "val_loss": [1.2]}
    callback.on_epoch_end(1, {"loss": 0.5, "val_loss": 0.9})
    assert png.read_bytes() != first
    callback.on_train_end()


def test_read_history_reads_na_as_nan(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss\n0,1.5,NA\n1,0.5,0.75\n")
    history = read_history(path)
    assert history["epoch"] == [0.0, 1.0] and history["loss"] == [1.5, 0.5]
    assert np.isnan(history["val_loss"][0]) and history["val_loss"][1] == 0.75
    path.write_text("")
    assert read_history(path) == {}


def test_curve_panels_pair_each_metric_with_a_validation_twin_that_has_values():
    nan = float("nan")
    history = {"epoch": [0, 1], "loss": [1.0, 0.5], "val_loss": [nan, 0.6],
               "accuracy": [0.5, 0.7], "val_accuracy": [nan, nan], "val_fid": [9.0, 8.0],
               "learning_rate": [1e-3, 1e-4], "seconds": [2.5, 1.0]}
    assert curve_panels(history) == [("loss", "val_loss"), ("accuracy", None),
                                     ("val_fid", None)]


def test_plot_learning_curves_draws_one_panel_per_metric(tmp_path):
    csv = tmp_path / "history.csv"
    csv.write_text("epoch,accuracy,loss,val_accuracy,val_loss\n"
                   "0,0.5,1,0.4,1.1\n1,0.7,0.5,0.6,0.8\n")
    plot_learning_curves(csv, tmp_path / "two.png")
    assert Image.open(tmp_path / "two.png").size == (1000, 380)  # 2 panels of 5 x 3.8 in
    csv.write_text("epoch,learning_rate\n0,0.1\n")
    plot_learning_curves(csv, tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


# Timers.

def test_epoch_timer_adds_up_the_seconds_inside_epochs(monkeypatch):
    fake_clock(monkeypatch, [10.0, 12.5, 20.0, 21.0])
    timer = EpochTimer()
    logs = [{}, {}]
    for epoch in range(2):
        timer.on_epoch_begin(epoch)
        timer.on_epoch_end(epoch, logs[epoch])
    assert timer.seconds == 3.5  # 2.5 + 1, not the 7.5 between the epochs
    assert logs == [{"seconds": 2.5}, {"seconds": 1.0}]  # for history.csv


def test_time_to_accuracy_records_targets(tiny_split):
    (x, y), _, (x_test, y_test) = tiny_split
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    timer = TimeToAccuracy(x_test, y_test, targets=(0.5, 1.01))
    model.fit(x, y, epochs=4, batch_size=32, callbacks=[timer], verbose=0)
    assert [epoch for epoch, _, _ in timer.curve] == [1, 2, 3, 4]
    assert 0.5 in timer.reached and 1.01 not in timer.reached
    seconds = [s for _, s, _ in timer.curve]
    assert seconds == sorted(seconds) and seconds[0] > 0 and seconds[-1] == timer.seconds
    # Each target is timed at the first epoch that reached it.
    first = next((s, epoch) for epoch, s, accuracy in timer.curve if accuracy >= 0.5)
    assert timer.reached[0.5] == first
    # The accuracy is the model's on the split it was given.
    final = model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
    assert timer.curve[-1][2] == pytest.approx(final) and final > 0.8


# The NaN stop.

def test_stop_on_nan_names_the_epoch_and_the_batch():
    stop = StopOnNaN()
    stop.on_epoch_begin(2)
    stop.on_batch_end(3, {"loss": 0.7})
    stop.on_batch_end(4, {})
    for bad in (float("nan"), float("inf")):
        with pytest.raises(UsageError, match=r"^Training diverged: loss became NaN or "
                                             r"Inf at epoch 3, batch 5\. Try a lower --lr"):
            stop.on_batch_end(5, {"loss": bad, "accuracy": 0.5})
    with pytest.raises(UsageError, match=r"^Training diverged: g_loss became NaN or Inf"):
        stop.on_batch_end(6, {"d_loss": 0.7, "g_loss": float("nan"), "fid": float("nan")})


def test_stop_on_nan_checks_the_validation_figures_and_the_weights_after_each_epoch():
    stop = StopOnNaN()
    stop.set_model(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
    stop.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.6})
    with pytest.raises(UsageError, match=r"^Training diverged: val_loss became NaN or Inf "
                                         r"in epoch 2\. Try a lower --lr"):
        stop.on_epoch_end(1, {"loss": 0.5, "val_loss": float("nan")})
    stop.model.layers[0].kernel.assign([[1.0], [float("inf")]])
    with pytest.raises(UsageError, match=r"^Training diverged: the weights became NaN or Inf "
                                         r"in epoch 3\."):
        stop.on_epoch_end(2, {"loss": 0.5})
