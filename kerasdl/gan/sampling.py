"""Drawing from a generator: seeded samples, the fixed inputs a GAN run
draws from after every epoch, and grids of samples as PNG files."""

from pathlib import Path

import keras
import numpy as np


def sample(generator, n, labels=None, seed=0):
    """Draws `n` images from `generator` (with `labels` for a conditional
    one: an int for all, or one per image), in batches.

    Returns:
        A `(n, height, width, channels)` NumPy array.
    """
    noise = np.random.default_rng(seed).standard_normal(
        (n, generator.inputs[0].shape[-1])).astype("float32")
    if len(generator.inputs) == 1:
        return generator.predict(noise, batch_size=500, verbose=0)
    labels = np.broadcast_to(np.asarray(labels, "int32"), (n,))
    return generator.predict([noise, labels], batch_size=500, verbose=0)


def fixed_inputs(latent_dim, n, num_classes=None, shares=None, seed=0):
    """The seeded inputs that a GAN run draws from: those of the grid of
    samples written after every epoch, and the labels of the `n` samples
    that FID measures.

    Args:
        latent_dim: the size of the noise vector.
        n: the number of samples FID measures.
        num_classes: the classes, or clusters, that the generator is
            conditioned on, if any.
        shares: for clusters, the share of each: the grid has 64 samples,
            and its clusters and the labels are drawn by these shares. For
            classes (`None`), the grid has 8 rows of one sample of each
            class, and the labels are drawn uniformly.
        seed: seed of the draws.

    Returns:
        `(grid, columns, labels)`: the generator's inputs for the grid (the
        noise, or `[noise, labels]`), the samples per row of the grid, and
        the labels of the `n` samples, or `None` when unconditional.
    """
    rng = np.random.default_rng(seed)
    columns = num_classes if num_classes and shares is None else 8
    noise = rng.standard_normal((8 * columns, latent_dim)).astype("float32")
    if not num_classes:
        return noise, columns, None
    if shares is None:
        return ([noise, np.tile(np.arange(columns, dtype="int32"), 8)], columns,
                rng.integers(0, num_classes, n).astype("int32"))
    return ([noise, rng.choice(num_classes, len(noise), p=shares).astype("int32")], columns,
            rng.choice(num_classes, n, p=shares).astype("int32"))


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
