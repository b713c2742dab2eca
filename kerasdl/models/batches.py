"""Batches half from one set of examples and half from another, for a
model with two outputs that each half trains differently: `DomainBatches`
(domain adaptation's source and target images) and `RotationBatches`
(labelled images, and rotated ones for a self-supervised head)."""

import math

import keras
import numpy as np

from kerasdl.errors import UsageError


class HalfBatches(keras.utils.PyDataset):
    """Batches whose first half comes from `first` and second half from
    `second`, two `(x, y)` pairs. Each epoch takes every example of the
    larger once, in a new random order, and cycles the smaller.

    A subclass's `__getitem__` makes a batch from `halves(index)`.

    Raises:
        UsageError: for a `batch_size` under 2.
    """

    def __init__(self, first, second, batch_size, seed=0, **kwargs):
        super().__init__(**kwargs)
        if batch_size < 2:
            raise UsageError(f"Bad batch size: {batch_size}. Half of each batch comes from "
                             "each of two sets, so it must be at least 2")
        # A half as large as the larger set at most: more would only repeat examples.
        self.largest = max(len(first[0]), len(second[0]))
        self.pairs, self.half = (first, second), min(batch_size // 2, self.largest)
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def __len__(self):
        return math.ceil(self.largest / self.half)

    def on_epoch_end(self):
        self.orders = [np.resize(self.rng.permutation(len(x)), len(self) * self.half)
                       for x, _ in self.pairs]

    def halves(self, index):
        """The `(x, y)` of the `index`-th batch's first half, then its second's."""
        picks = [order[index * self.half:(index + 1) * self.half] for order in self.orders]
        return [(x[pick], y[pick]) for (x, y), pick in zip(self.pairs, picks)]

    def weights(self, first, second):
        """Sample weights: `first` on the first half, `second` on the other."""
        return np.repeat(np.array([first, second], "float32"), self.half)


class DomainBatches(HalfBatches):
    """Batches of source images, then target images, for a model with a
    "label" and a "domain" output (0 for source images, 1 for target ones).

    The labelled half weighs 2 in the label loss, the other 0: the loss,
    which Keras averages over the whole batch, is the mean over the labelled
    images.

    Args:
        source, target: `(x, y)` pairs, with images of the same shape.
        batch_size: images per batch, half from each domain.
        labelled: the domain whose class labels the loss sees, "source" or
            "target".
        seed: seed of the shuffles.
    """

    def __init__(self, source, target, batch_size, labelled="source", seed=0, **kwargs):
        super().__init__(source, target, batch_size, seed, **kwargs)
        self.labelled = labelled

    def __getitem__(self, index):
        (xs, ys), (xt, yt) = self.halves(index)
        source = self.labelled == "source"
        return np.concatenate([xs, xt]), {
            "label": np.concatenate([ys, yt]), "domain": self.weights(0, 1)}, {
            "label": self.weights(2 * source, 2 * (not source)), "domain": self.weights(1, 1)}


class RotationBatches(HalfBatches):
    """Batches of labelled images, then images turned by 0, 90, 180 or 270
    degrees at random, for a model with a "label" output and a "rotation"
    output (the quarter turns, 0 to 3), as in Gidaris et al. 2018.

    The label loss sees the labelled half (weight 2), the rotation loss the
    turned half (weight 2): each is the mean over its own half.

    Args:
        labelled: an `(x, y)` pair of square images and their classes.
        images: images to turn, labelled or not.
        batch_size: images per batch, half of each kind.
        seed: seed of the shuffles and the turns.
    """

    def __init__(self, labelled, images, batch_size, seed=0, **kwargs):
        super().__init__(labelled, (images, np.zeros(len(images), "int32")), batch_size, seed,
                         **kwargs)

    def __getitem__(self, index):
        (x, y), (images, _) = self.halves(index)
        turns = self.rng.integers(0, 4, len(images))
        turned = np.stack([np.rot90(image, k) for image, k in zip(images, turns)])
        return np.concatenate([x, turned]), {
            "label": np.concatenate([y, np.zeros_like(y)]),
            "rotation": np.concatenate([np.zeros_like(turns), turns])}, {
            "label": self.weights(2, 0), "rotation": self.weights(0, 2)}
