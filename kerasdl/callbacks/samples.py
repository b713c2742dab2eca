"""Sample grids: what a generator draws from fixed noise, every epoch."""

from pathlib import Path

import keras
import numpy as np


def tile(images, columns):
    """Tiles `(n, height, width, channels)` images in [0, 1] into one
    `(rows*height, columns*width, channels)` image, with a 1-pixel gap."""
    images = np.asarray(images)
    n, height, width, channels = images.shape
    rows = -(-n // columns)
    sheet = np.ones((rows * (height + 1) - 1, columns * (width + 1) - 1, channels),
                    images.dtype)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        sheet[r * (height + 1):r * (height + 1) + height,
              c * (width + 1):c * (width + 1) + width] = image
    return sheet


def save_grid(images, path, columns=8, zoom=2):
    """Writes `images` in [0, 1] as one tiled PNG, each pixel `zoom` x `zoom`."""
    sheet = np.clip(tile(images, columns), 0, 1).repeat(zoom, 0).repeat(zoom, 1)
    keras.utils.save_img(path, (255 * sheet).astype("uint8"), scale=False)


class SampleGrid(keras.callbacks.Callback):
    """After every epoch, writes a `GAN`'s samples from the same noise (drawn
    by `GAN.averaged_generator()`, as FID and the saved generator are) to
    `samples/epoch_NNN.png`; at the end of training, joins all of them into
    `progress.gif`.

    Args:
        output_dir: the run's folder.
        inputs: the generator's fixed inputs (noise, or `[noise, labels]`).
        columns: images per row of the grid.
    """

    def __init__(self, output_dir, inputs, columns=8):
        super().__init__()
        self.output_dir = Path(output_dir)
        self.inputs, self.columns = inputs, columns
        (self.output_dir / "samples").mkdir(parents=True, exist_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        images = self.model.averaged_generator().predict(self.inputs, verbose=0)
        save_grid(images, self.output_dir / "samples" / f"epoch_{epoch + 1:03d}.png",
                  self.columns)

    def on_train_end(self, logs=None):
        frames = [keras.utils.load_img(path)
                  for path in sorted((self.output_dir / "samples").glob("epoch_*.png"))]
        if frames:
            frames[0].save(self.output_dir / "progress.gif", save_all=True,
                           append_images=frames[1:], duration=400, loop=0)
