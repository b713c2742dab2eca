"""Measuring generated images: the Fréchet distance (FID) between the
features that a classifier gives to generated and to real images, class
coverage, and the choice of that classifier."""

import math
from pathlib import Path

import keras
import numpy as np

from kerasdl import cards, models, presets, training
from kerasdl.errors import UsageError
from kerasdl.gan.sampling import sample

# The scores of a GAN run that the generator's card records.
CARD_METRICS = ("fid_samples", "fid", "fid_real_halves", "fid_train_test", "fid_ratio",
                "confident", "class_entropy", "label_accuracy")


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


def evaluate(features, generated, real_test, real_train, labels=None, seed=0):
    """Scores generated images against real ones.

    Args:
        features: a model from `feature_model`.
        generated: generated images, as many as `real_test`.
        real_test, real_train: real test and training images.
        labels: for a conditional generator, the label asked for each
            generated image.
        seed: seed of the random halves of the test images.

    Returns:
        A dict: `fid` (generated against test), the references
        `fid_real_halves` (a random half of the test images against the
        other half) and `fid_train_test` (as many training images as test
        ones, against test), `fid_ratio` (fid / fid_real_halves), the
        `class_coverage` keys of the generated images, and with `labels`,
        `label_accuracy`, the share of them classified as their label.
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
    scores.update(class_coverage(probabilities))
    if labels is not None:
        scores["label_accuracy"] = float((probabilities.argmax(-1) == labels).mean())
    return scores


def summary(scores):
    """One line of the scores of `evaluate`."""
    line = (f"FID {scores['fid']:.2f} (real halves {scores['fid_real_halves']:.2f}, "
            f"train vs test {scores['fid_train_test']:.2f}); confident "
            f"{scores['confident']:.3f}, class entropy {scores['class_entropy']:.3f} "
            f"of {scores['max_entropy']:.3f}")
    if "label_accuracy" in scores:
        line += f"; samples classified as the label asked {scores['label_accuracy']:.3f}"
    return line


class FIDMonitor(keras.callbacks.Callback):
    """Logs the FID of a `GAN`'s samples after every epoch, so that it
    appears in the progress bar, the history and the learning curves beside
    the losses: against the validation images as `val_fid` when there are,
    else against the first `n` test images as `fid`.

    The samples come from `GAN.averaged_generator()`, drawn from the same
    seeded noise (and labels) each time.

    Args:
        features: a model from `feature_model`.
        images: the run's `ImageData`.
        n: the number of samples.
        labels: for a conditional GAN, one label per sample.
        seed: seed of the noise.
    """

    def __init__(self, features, images, n, labels=None, seed=0):
        super().__init__()
        self.features, self.n, self.labels, self.seed = features, n, labels, seed
        self.name, real = (("val_fid", images.x_val) if len(images.x_val)
                           else ("fid", images.x_test[:n]))
        self.real, _ = features.predict(real, batch_size=1000, verbose=0)

    def on_epoch_end(self, epoch, logs=None):
        generated = sample(self.model.averaged_generator(), self.n, self.labels, self.seed)
        fake, _ = self.features.predict(generated, batch_size=1000, verbose=0)
        logs[self.name] = frechet_distance(fake, self.real)


def fid_classifier(images, output_dir, fid_model=None, seed=0, dry_run=False):
    """Chooses the classifier whose features FID uses, and says which.

    Args:
        images: the run's `ImageData`.
        output_dir: the run's folder.
        fid_model: a saved classifier's folder, to use if given.
        seed, dry_run: of the run, for a classifier trained now.

    Returns:
        The folder of `fid_model` if given, else of the shipped classifier of
        the dataset (`DATASET_vgg`), else of one trained now by
        `train_classifier` into `output_dir/fid_classifier`.
    """
    if fid_model:
        folder, which = Path(fid_model), "the model given"
    elif cards.shipped(f"{images.name}_vgg"):
        folder, which = cards.shipped(f"{images.name}_vgg"), "the shipped model"
    else:
        folder = train_classifier(images, Path(output_dir) / "fid_classifier", seed, dry_run)
        which = f"none is shipped for {images.name}, so one trained in"
    print(f"FID classifier: {which} {folder}", flush=True)
    return folder


def train_classifier(images, output_dir, seed=0, dry_run=False):
    """Trains a classifier of `images` with the classification app's recipe
    for the dataset (`presets.CLASSIFICATION`), for one epoch when `dry_run`,
    and saves it with its card in `output_dir`; keeps the one there if any.

    Returns:
        `output_dir`.
    """
    output_dir = Path(output_dir)
    if (output_dir / cards.CARD_FILE).exists():
        return output_dir
    recipe = presets.CLASSIFICATION[images.name]
    keras.utils.set_random_seed(seed)
    model = models.build_classifier(recipe["model"], images.input_shape, images.num_classes,
                                    **recipe["model_options"])
    metrics = training.fit_and_evaluate(
        model, (images.x_train, images.y_train),
        (images.x_val, images.y_val) if len(images.x_val) else None,
        (images.x_test, images.y_test), output_dir=output_dir,
        epochs=1 if dry_run else recipe["epochs"], batch_size=recipe["batch_size"],
        optimizer=recipe["optimizer"], lr=recipe["lr"], schedule=recipe["schedule"],
        warmup=recipe["warmup"])
    cards.write_card(output_dir, cards.make_card(
        model, app="classification", dataset=images.name, class_names=images.class_names,
        preprocessing=images.preprocessing, metrics=cards.run_metrics(metrics), seed=seed,
        command=None))
    return output_dir
