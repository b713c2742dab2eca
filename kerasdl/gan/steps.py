"""One training step of a GAN: the discriminator's gradient step, then the
generator's, written once for every backend."""

import keras
from keras import ops

from kerasdl import backend


def _bce(targets, logits):
    """Mean binary cross-entropy of `logits` against `targets`."""
    return ops.mean(keras.losses.binary_crossentropy(targets, logits, from_logits=True))


# What the generator minimises, given the discriminator's logits for its
# samples: -log D(G(z)) (non-saturating), or log(1 - D(G(z))) (minimax).
GENERATOR_LOSSES = {
    "non_saturating": lambda logits: _bce(ops.ones_like(logits), logits),
    "minimax": lambda logits: -_bce(ops.zeros_like(logits), logits),
}


def adversarial_step(gan, real, labels):
    """Takes one training step of `gan`, a `GAN`: a gradient step of the
    discriminator, then one of the generator.

    The discriminator learns to tell the `real` images from as many generated
    ones: a binary cross-entropy whose target is 1 for real images (less
    `gan.label_smoothing`) and 0 for generated ones. The generator then learns
    to fool it on new noise, with `gan.generator_loss`. `backend.minimize`
    takes each gradient step; the rest is Keras ops.

    Args:
        gan: a compiled `GAN`.
        real: a batch of real images.
        labels: their labels, which a conditional GAN gives both nets.

    Returns:
        The logs: `d_loss`, `g_loss`, and `d_real` and `d_fake`, the
        discriminator's mean probability of "real" on real and on generated
        images.
    """
    n = ops.shape(real)[0]
    fake = ops.stop_gradient(gan.generate(n, labels))

    def discriminator_loss():
        real_logits, fake_logits = gan.discriminate(real, labels), gan.discriminate(fake, labels)
        targets = ops.full_like(real_logits, 1.0 - gan.label_smoothing)
        loss = _bce(targets, real_logits) + _bce(ops.zeros_like(fake_logits), fake_logits)
        return loss, (ops.mean(ops.sigmoid(real_logits)), ops.mean(ops.sigmoid(fake_logits)))

    def generator_loss():
        logits = gan.discriminate(gan.generate(n, labels), labels)
        return GENERATOR_LOSSES[gan.generator_loss](logits), ()

    d_loss, (d_real, d_fake) = backend.minimize(
        discriminator_loss, gan.discriminator.trainable_variables, gan.optimizer.discriminator)
    g_loss, _ = backend.minimize(
        generator_loss, gan.generator.trainable_variables, gan.optimizer.generator)
    return {"d_loss": d_loss, "g_loss": g_loss, "d_real": d_real, "d_fake": d_fake}
