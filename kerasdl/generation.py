"""Measuring generated images: Fréchet distance (FID) on a classifier's
features, class coverage, and sampling a saved generator."""

import math

import keras
import numpy as np

from kerasdl.errors import UsageError


def feature_model(classifier):
    """Returns a model from images to `(features, probabilities)`: the raw
    activations that feed the classifier's last Dense layer (its penultimate
    layer), and its class probabilities.

    Raises:
        UsageError: when the classifier has no Dense layer.
    """
    dense = [layer for layer in classifier.layers if isinstance(layer, keras.layers.Dense)]
    if not dense:
        raise UsageError(f"The classifier {classifier.name!r} has no Dense layer to take "
                         "features from")
    return keras.Model(classifier.inputs, [dense[-1].input, classifier.output])


def frechet_distance(a, b):
    """The Fréchet distance between Gaussians fitted to two sets of features.

    ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)). The trace of the
    matrix square root is computed from the eigenvalues of the symmetric
    matrix S_a^(1/2) S_b S_a^(1/2), which has the same trace of square root,
    so no general matrix square root is needed.

    Args:
        a, b: `(n, d)` arrays of features.

    Returns:
        The distance, a float.
    """
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = np.sqrt(np.clip(middle, 0, None)).sum()
    mean_gap = ((a.mean(axis=0) - b.mean(axis=0)) ** 2).sum()
    return float(mean_gap + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def class_coverage(probabilities, threshold=0.9):
    """How well generated samples cover the classes, as a classifier sees them.

    Args:
        probabilities: `(n, classes)` class probabilities of the samples.
        threshold: the confidence that counts as a clear sample.

    Returns:
        A dict: `confident`, the share of samples whose top probability is
        above `threshold`; `class_entropy`, the entropy (nats) of the
        histogram of predicted classes, at most `max_entropy` = log(classes);
        and `class_histogram`, the share of each class.
    """
    probabilities = np.asarray(probabilities)
    classes = probabilities.shape[-1]
    shares = np.bincount(probabilities.argmax(-1), minlength=classes) / len(probabilities)
    seen = shares[shares > 0]
    return {"confident": float((probabilities.max(-1) > threshold).mean()),
            "class_entropy": float(-(seen * np.log(seen)).sum()),
            "max_entropy": math.log(classes),
            "class_histogram": [round(float(s), 4) for s in shares]}


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


def evaluate(features, generated, real_test, real_train, seed=0):
    """Scores generated images against real ones.

    Args:
        features: a model from `feature_model`.
        generated: generated images, as many as `real_test`.
        real_test, real_train: real test and training images.
        seed: seed of the random halves of the test images.

    Returns:
        A dict: `fid` (generated against test), the references
        `fid_real_halves` (a random half of the test images against the
        other half) and `fid_train_test` (as many training images as test
        ones, against test), `fid_ratio` (fid / fid_real_halves), and the
        `class_coverage` keys of the generated images.
    """
    def embed(images):
        return features.predict(images, batch_size=1000, verbose=0)

    test, _ = embed(real_test)
    fake, probabilities = embed(generated)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(test))
    half = len(test) // 2
    train, _ = embed(real_train[rng.choice(len(real_train), len(real_test), replace=False)])
    scores = {"fid": frechet_distance(fake, test),
              "fid_real_halves": frechet_distance(test[order[:half]], test[order[half:]]),
              "fid_train_test": frechet_distance(train, test)}
    scores["fid_ratio"] = scores["fid"] / scores["fid_real_halves"]
    return {**scores, **class_coverage(probabilities)}


class FIDMonitor(keras.callbacks.Callback):
    """Logs the FID of a `GAN`'s samples against real images after every
    epoch, so that it appears in the progress bar, the history and the
    learning curves beside the losses.

    The samples come from `GAN.averaged_generator()`, drawn from the same
    seeded noise (and labels) each time.

    Args:
        features: a model from `feature_model`.
        real: the real images to compare with.
        n: the number of samples.
        labels: for a conditional GAN, one label per sample.
        seed: seed of the noise.
        name: the name it is logged under, such as `"val_fid"` for
            validation images.
    """

    def __init__(self, features, real, n, labels=None, seed=0, name="fid"):
        super().__init__()
        self.features, self.n, self.labels, self.seed = features, n, labels, seed
        self.name = name
        self.real, _ = features.predict(real, batch_size=1000, verbose=0)

    def on_epoch_end(self, epoch, logs=None):
        generated = sample(self.model.averaged_generator(), self.n, self.labels, self.seed)
        fake, _ = self.features.predict(generated, batch_size=1000, verbose=0)
        logs[self.name] = frechet_distance(fake, self.real)
