"""Learning curves: `history.csv` and `learning_curves.png`, every epoch."""

import csv
from pathlib import Path

import keras

from kerasdl.history import plot_learning_curves


class LearningCurves(keras.callbacks.CSVLogger):
    """Writes the epoch logs to `history.csv` and redraws
    `learning_curves.png` from that file after every epoch.

    It appends to an existing `history.csv`, so a resumed run keeps the
    epochs it ran before the interruption, in the same columns. The columns
    are the first epoch's logs; unlike `CSVLogger`, it adds no empty
    `val_*` twins when a fit has no validation figures (a GAN's).

    Args:
        output_dir: the folder for both files.
    """

    def __init__(self, output_dir):
        self.output_dir = Path(output_dir)
        super().__init__(str(self.output_dir / "history.csv"), append=True)

    def on_epoch_end(self, epoch, logs=None):
        if self.keys is None:
            with open(self.filename, newline="") as f:
                header = next(csv.reader(f), None)
            self.keys = header[1:] if header else sorted(logs or {})
        super().on_epoch_end(epoch, logs)
        self.csv_file.flush()
        plot_learning_curves(self.filename, self.output_dir / "learning_curves.png")
