"""`GAN`: the Keras model that trains a generator and a discriminator
together, with two optimizers, under `fit` on every backend."""

import keras
from keras import layers, ops

from kerasdl import backend
from kerasdl.errors import check_choice
from kerasdl.gan.nets import generator_classes
from kerasdl.gan.steps import GENERATOR_LOSSES


class OptimizerPair(keras.optimizers.Optimizer):
    """The discriminator's and the generator's optimizers, presented to Keras'
    trainers as the model's one optimizer.

    Its `variables` are both optimizers' state, so that JAX's trainer, which
    passes the optimizer's state through each step, keeps both.

    Args:
        discriminator, generator: the two built optimizers.
    """

    def __init__(self, discriminator, generator, name="gan_optimizers"):
        super().__init__(learning_rate=0.0, name=name)
        self.discriminator, self.generator = discriminator, generator
        self.built = True

    @property
    def variables(self):
        return self.discriminator.variables + self.generator.variables


class GAN(keras.Model):
    """A generator and a discriminator that `fit` trains together.

    On each batch, `fit` runs `step(gan, real, labels)`, such as
    `kerasdl.gan.adversarial_step`, which takes the gradient steps of both
    nets; this model holds what a step needs on every backend: the two nets,
    their two optimizers, the noise, and the running means of the step's
    logs over each epoch.

    `fit` takes the real images as `x` and their labels as `y` (used by a
    conditional GAN, ignored otherwise).

    Args:
        generator, discriminator: models from `build_generator` and
            `build_discriminator`, both conditional or both not.
        step: a function `(gan, real, labels)` that takes one training
            step and returns the logs `d_loss`, `g_loss`, `d_real` and
            `d_fake` (the discriminator's mean probability of "real" on real
            and on generated images).
        label_smoothing: one-sided smoothing: real images get the target
            `1 - label_smoothing` in the discriminator's loss.
        generator_loss: a key of `GENERATOR_LOSSES`: `"non_saturating"`,
            maximise log D(G(z)) (the default), or `"minimax"`, minimise
            log(1 - D(G(z))).
        seed: seed of the noise.
    """

    def __init__(self, generator, discriminator, step, label_smoothing=0.0,
                 generator_loss="non_saturating", seed=None, **kwargs):
        super().__init__(**kwargs)
        check_choice("generator loss", generator_loss, GENERATOR_LOSSES)
        self.generator, self.discriminator, self.step = generator, discriminator, step
        self.latent_dim = generator.inputs[0].shape[-1]
        self.num_classes = generator_classes(generator)
        self.conditional = self.num_classes is not None
        self.label_smoothing = label_smoothing
        self.generator_loss = generator_loss
        self.noise = keras.random.SeedGenerator(seed)
        self.trackers = [keras.metrics.Mean(name=name)
                         for name in ("d_loss", "g_loss", "d_real", "d_fake")]
        self.built = True

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """Sets the two optimizers, which may differ in learning rate;
        `kwargs` go to `keras.Model.compile` (such as `jit_compile`)."""
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)
        super().compile(optimizer=OptimizerPair(d_optimizer, g_optimizer), **kwargs)

    @property
    def metrics(self):
        return self.trackers

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _inputs(self, x, labels):
        """The nets' inputs: images or noise, with the labels when conditional."""
        x = ops.convert_to_tensor(x)
        return [x, ops.convert_to_tensor(labels, "int32")] if self.conditional else x

    def averaged_generator(self, calibration_samples=2000):
        """The generator to sample from: when the generator's optimizer keeps
        an exponential moving average of its weights (`use_ema=True`), a copy
        of the generator with those averaged weights, else the generator.

        Averaging the generator's weights over the last steps smooths out the
        oscillation of GAN training and gives better samples than the last
        step's weights. The copy's BatchNorm statistics are re-estimated for
        its own weights on `calibration_samples` noise vectors (the moving
        statistics were gathered with the unaveraged weights).

        Returns:
            A `keras.Model` with the generator's inputs and outputs.
        """
        optimizer = self.optimizer.generator
        if not optimizer.use_ema:
            return self.generator
        average = keras.models.clone_model(self.generator)
        average.set_weights(self.generator.get_weights())
        optimizer.finalize_variable_values(average.trainable_variables)
        # Copies of the averages: JAX's predict may donate the arrays it is given.
        average.set_weights(average.get_weights())
        noise = keras.random.normal((calibration_samples, self.latent_dim), seed=0)
        labels = ops.arange(calibration_samples) % self.num_classes if self.conditional else None
        norms = [layer for layer in average.layers
                 if isinstance(layer, layers.BatchNormalization)]
        momenta = [layer.momentum for layer in norms]
        for layer in norms:
            layer.momentum = 0.0
        average(self._inputs(noise, labels), training=True)
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
        return average

    def generate(self, n, labels=None):
        """`n` images from new noise (and `labels`, when conditional), as in
        training."""
        noise = keras.random.normal((n, self.latent_dim), seed=self.noise)
        return self.generator(self._inputs(noise, labels), training=True)

    def discriminate(self, images, labels=None):
        """The discriminator's logits for `images` (and `labels`, when
        conditional), as in training."""
        return self.discriminator(self._inputs(images, labels), training=True)

    def train_step(self, *args):
        return backend.train_step(self, self._step, *args)

    def _step(self, data):
        real, labels = data[:2]
        logs = self.step(self, real, labels)
        for tracker in self.trackers:
            tracker.update_state(logs[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.trackers}

