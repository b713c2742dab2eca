"""TerminateOnNaN that says where training diverged and what to try."""

import keras

from kerasdl.errors import UsageError


class StopOnNaN(keras.callbacks.TerminateOnNaN):
    """Stops at the first NaN or Inf loss with a one-line `UsageError`.

    It raises instead of stopping gracefully, so the other callbacks do not
    clean up: the last good epoch stays in the run's backup.
    """

    def __init__(self):
        super().__init__(raise_error=True)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        try:
            super().on_batch_end(batch, logs)
        except RuntimeError:
            raise UsageError(
                f"Training diverged: the loss became NaN or Inf at epoch "
                f"{self.epoch + 1}, batch {batch}. Try a lower --lr, or BatchNorm."
            ) from None
