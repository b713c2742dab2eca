"""Few-shot learning (Snell et al. 2017): `PrototypicalNetwork`, which
classifies the queries of an episode by their distance to the mean
embedding of each class's support images, and `Episodes`, the episodes
it trains and is tested on."""

import keras
import numpy as np
from keras import ops

from kerasdl.errors import UsageError


def prototype_logits(support, queries, ways):
    """Minus the squared Euclidean distance from each query embedding to
    each class's prototype, the mean of its support embeddings.

    Args:
        support: `(ways * shots, dim)` embeddings, class by class.
        queries: `(n, dim)` embeddings.
        ways: the number of classes.

    Returns:
        `(n, ways)` logits.
    """
    prototypes = ops.mean(ops.reshape(support, (ways, -1, ops.shape(support)[-1])), axis=1)
    return -(ops.sum(ops.square(queries), axis=-1, keepdims=True)
             - 2 * ops.matmul(queries, ops.transpose(prototypes))
             + ops.sum(ops.square(prototypes), axis=-1))


class PrototypicalNetwork(keras.Model):
    """An `encoder` used as a prototypical network on `ways`-way
    `shots`-shot episodes: called on the images of an episode, class by
    class, each class's `shots` support images then its queries, it returns
    the queries' logits over the episode's classes (`prototype_logits`).

    `compile` it with a sparse cross-entropy from logits and `fit` it on
    `Episodes`, whose labels are the queries' classes; another
    `PrototypicalNetwork` on the same encoder tests it at other ways and
    shots.
    """

    def __init__(self, encoder, ways, shots, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.ways, self.shots = encoder, ways, shots

    def call(self, images, training=False):
        embeddings = self.encoder(images, training=training)
        embeddings = ops.reshape(embeddings, (self.ways, -1, ops.shape(embeddings)[-1]))
        dim = ops.shape(embeddings)[-1]
        return prototype_logits(ops.reshape(embeddings[:, :self.shots], (-1, dim)),
                                ops.reshape(embeddings[:, self.shots:], (-1, dim)), self.ways)


class Episodes(keras.utils.PyDataset):
    """Few-shot episodes drawn at random from `images`, `(classes,
    drawings, ...)`: each picks `ways` classes, then `shots` support and
    `queries` query drawings of each, in the order `PrototypicalNetwork`
    takes, with the queries' classes (0 to `ways` - 1) as labels.

    Args:
        images: the classes' images.
        ways, shots, queries: the episode's shape.
        episodes: the episodes in an epoch.
        seed: seed of the draws; the same seed gives the same episodes.
        redraw: draw new episodes at the end of each epoch, for training.
            Otherwise every epoch holds the first draws, on every backend,
            even where a trainer resets its data after peeking at a batch
            (JAX's does, before its first `predict`).

    Raises:
        UsageError: when there are too few classes or drawings.
    """

    def __init__(self, images, ways, shots, queries, episodes, seed=0, redraw=False, **kwargs):
        super().__init__(**kwargs)
        if not 1 < ways <= len(images) or shots + queries > images.shape[1]:
            raise UsageError(f"Cannot draw {ways}-way {shots}-shot episodes with {queries} "
                             f"queries from {len(images)} classes of {images.shape[1]} images: "
                             f"an episode needs 2 to {len(images)} ways, and at most "
                             f"{images.shape[1]} shots and queries together")
        self.images, self.shape, self.episodes = images, (ways, shots, queries), episodes
        self.redraw = redraw
        self.rng = np.random.default_rng(seed)
        self.draws = [self.draw() for _ in range(episodes)]

    def draw(self):
        ways, shots, queries = self.shape
        classes = self.rng.choice(len(self.images), ways, replace=False)
        drawings = np.stack([self.rng.choice(self.images.shape[1], shots + queries,
                                             replace=False) for _ in classes])
        return classes, drawings

    def __len__(self):
        return self.episodes

    def __getitem__(self, index):
        classes, drawings = self.draws[index]
        x = self.images[classes[:, None], drawings]
        return (x.reshape(-1, *self.images.shape[2:]),
                np.repeat(np.arange(len(classes)), self.shape[2]))

    def on_epoch_end(self):
        if self.redraw:
            self.draws = [self.draw() for _ in range(self.episodes)]
