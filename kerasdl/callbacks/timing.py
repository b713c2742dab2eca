"""Callbacks that time training."""

import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Adds up the seconds spent inside epochs (training plus validation),
    and adds each epoch's to its logs as `seconds`, so that `history.csv`
    keeps them across a resume.

    Time spent in other callbacks' `on_epoch_end` after this one is not
    counted, so put it first to leave out slow evaluations.
    """

    def __init__(self):
        super().__init__()
        self.seconds = 0.0
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        self.seconds += seconds
        if logs is not None:
            logs["seconds"] = seconds


class TimeToAccuracy(EpochTimer):
    """Evaluates test accuracy after every epoch and records the training
    seconds at which each target accuracy is first reached.

    Args:
        x, y: the test split.
        targets: accuracies to time, such as `(0.99, 0.993)`.

    Attributes:
        reached: maps each target reached to `(seconds, epoch)`.
        curve: one `(epoch, seconds, accuracy)` per epoch.
    """

    def __init__(self, x, y, targets):
        super().__init__()
        self.x, self.y, self.targets = x, y, tuple(targets)
        self.reached = {}
        self.curve = []

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        result = self.model.evaluate(self.x, self.y, batch_size=1000, verbose=0,
                                     return_dict=True)
        accuracy = result["accuracy"]
        self.curve.append((epoch + 1, self.seconds, accuracy))
        print(f"  epoch {epoch + 1}: {self.seconds:.1f} s of training, "
              f"test accuracy {accuracy:.4f}", flush=True)
        for target in self.targets:
            if accuracy >= target and target not in self.reached:
                self.reached[target] = (self.seconds, epoch + 1)
