"""A NaN stop that watches every loss, the epoch's figures and the weights."""

import keras
import numpy as np

from kerasdl.errors import UsageError


def _not_finite(logs, chosen=lambda key: True):
    """The keys of `logs` (chosen by `chosen`) whose values are NaN or Inf,
    joined by "and"; "" when there are none."""
    return " and ".join(key for key, value in (logs or {}).items()
                        if chosen(key) and not np.isfinite(value).all())


class Diverged(UsageError):
    """Training diverged: a loss, a metric or a weight became NaN or Inf."""


def diverged(what, where):
    """The `Diverged` error for `what` (such as "loss") becoming NaN or Inf
    `where` (such as "in epoch 3")."""
    return Diverged(f"Training diverged: {what} became NaN or Inf {where}. "
                    "Try a lower --lr, or BatchNorm.")


class StopOnNaN(keras.callbacks.Callback):
    """Stops with a one-line `Diverged` error at the first batch whose losses
    (every figure named "...loss", a GAN's two included) are NaN or Inf, and
    at the end of an epoch whose figures or weights are (a loss can stay
    finite while the weights are not, because Keras clips the probabilities
    inside the cross-entropy).

    It raises instead of stopping gracefully, so the other callbacks do not
    clean up: the last good epoch stays in the run's backup.
    """

    def __init__(self):
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        bad = _not_finite(logs, lambda key: key.endswith("loss"))
        if bad:
            raise diverged(bad, f"at epoch {self.epoch + 1}, batch {batch}")

    def on_epoch_end(self, epoch, logs=None):
        bad = _not_finite(logs)
        if not all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in self.model.weights):
            bad += " and the weights" if bad else "the weights"
        if bad:
            raise diverged(bad, f"in epoch {epoch + 1}")
