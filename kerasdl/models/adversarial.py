"""Adversarial training and evaluation: `AdversarialTraining`, the Keras model
that trains a classifier on attacked batches under `fit`, and `Attacked`,
the one that `predict`s its classes for attacked images, on every backend;
`logits_model`, the view of a classifier that attacks differentiate."""

import keras
import numpy as np
from keras import ops

from kerasdl import backend
from kerasdl.errors import UsageError


def logits_model(classifier):
    """The logits of `classifier`: a model that shares its weights and stops
    before its softmax, whether that is a final `Activation` layer (as in
    kerasdl's classifiers) or the activation of its final layer (a softmax
    `Dense`); a classifier without a final softmax is taken to output logits.

    Attacks differentiate the logits: through a saturated softmax, whose
    output rounds to exactly 1 for a confident prediction, the cross-entropy's
    gradient is 0 and the attack would not move.
    """
    last = classifier.layers[-1]
    if getattr(last, "activation", None) is not keras.activations.softmax:
        return classifier
    features = keras.Model(classifier.inputs[0], last.input)
    if isinstance(last, keras.layers.Activation):
        return features
    if not isinstance(last, keras.layers.Dense):
        raise UsageError(f"Cannot take the logits of {classifier.name!r}: it ends with a "
                         f"softmax {type(last).__name__}; end it with a Dense or an Activation")

    def logits(x, training=False):
        z = ops.matmul(features(x, training=training), last.kernel)
        return z + last.bias if last.use_bias else z

    return logits


def cross_entropy(y, logits):
    """The mean cross-entropy of integer labels `y` under `logits`."""
    return ops.mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))


class Attacked(keras.Model):
    """`classifier` under `attack`: called on a dict of "images", their
    integer "labels" and the "epsilon" of each, it attacks the images with
    `attack(logits, images, labels, epsilon, seed=...)` and returns the
    classes that `classifier` predicts for them. `predict` runs the attack
    compiled, in batches, on every backend.

    Args:
        classifier: a model with softmax outputs.
        attack: the attack, on `logits_model(classifier)`.
        seed: seed of the attack's random numbers.
    """

    def __init__(self, classifier, attack, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.logits, self.attack = logits_model(classifier), attack
        self.seed = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        images = self.attack(self.logits, inputs["images"], inputs["labels"],
                             inputs["epsilon"][0], seed=self.seed)
        return ops.argmax(self.logits(images), -1)


def attacked_accuracy(model, x, y, epsilon, batch_size=500):
    """The accuracy of `model`, an `Attacked` classifier, on the images `x`
    with integer labels `y`, attacked with `epsilon`."""
    predicted = model.predict({"images": x, "labels": y, "epsilon": np.full(
        len(x), epsilon, "float32")}, batch_size=batch_size, verbose=0)
    return float(np.mean(predicted == y))


class AdversarialTraining(keras.Model):
    """Trains `classifier` on its own adversarial examples.

    On each batch `(x, y)`, `fit` attacks the classifier with
    `attack(logits, x, y, seed=seed)`, then takes a gradient step on
    `clean_weight` times the cross-entropy of the clean batch plus the rest
    times that of the attacked batch (Goodfellow et al. 2015 weigh them
    equally; Madry et al. 2018 train on the attacked batch alone).

    Args:
        classifier: a model with softmax outputs; it is what is trained, and
            what to save.
        attack: a function `(logits, x, y, seed=...)` that returns the attacked
            images, where `logits` is `logits_model(classifier)` and `seed`
            a `keras.random.SeedGenerator` for random starts.
        clean_weight: the weight of the clean batch's loss, in [0, 1].
        seed: seed of the attacks' random numbers.
    """

    def __init__(self, classifier, attack, clean_weight=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.classifier, self.attack, self.clean_weight = classifier, attack, clean_weight
        self.logits = logits_model(classifier)
        self.seed = keras.random.SeedGenerator(seed)
        self.trackers = [keras.metrics.Mean(name="loss"),
                         keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
                         keras.metrics.SparseCategoricalAccuracy(name="attacked_accuracy")]
        self.built = True

    def compile(self, optimizer, **kwargs):
        optimizer.build(self.classifier.trainable_variables)
        super().compile(optimizer=optimizer, **kwargs)

    @property
    def metrics(self):
        return self.trackers

    def call(self, x, training=False):
        return self.classifier(x, training=training)

    def train_step(self, *args):
        return backend.train_step(self, self._step, *args)

    def _step(self, data):
        x, y = data[:2]
        attacked = ops.stop_gradient(self.attack(self.logits, x, y, seed=self.seed))

        def loss_fn():
            clean, bad = self.logits(x, training=True), self.logits(attacked, training=True)
            loss = (self.clean_weight * cross_entropy(y, clean)
                    + (1 - self.clean_weight) * cross_entropy(y, bad))
            return loss + sum(self.classifier.losses), (clean, bad)

        loss, (clean, bad) = backend.minimize(
            loss_fn, self.classifier.trainable_variables, self.optimizer)
        for tracker, args in zip(self.trackers, ((loss,), (y, clean), (y, bad))):
            tracker.update_state(*args)
        return {tracker.name: tracker.result() for tracker in self.trackers}
