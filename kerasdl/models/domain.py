"""Domain adaptation (Ganin & Lempitsky 2015): `GradientReversal`, the
layer that turns a domain classifier into an adversary of the features
below it. `kerasdl.models.batches.DomainBatches` holds both domains."""

import keras
from keras import ops


@keras.saving.register_keras_serializable("kerasdl")
class GradientReversal(keras.layers.Layer):
    """The identity going forward; going backward, the incoming gradient
    times -λ. λ grows from 0 to 1 over training as Ganin & Lempitsky's
    schedule, λ = 2 / (1 + exp(-γ p)) - 1 where p is the fraction of
    `total_steps` done, so the domain classifier's noisy early gradient
    does not disturb the features.

    The reversal is `stop_gradient((1 + λ) x) - λ x`: its value is x, and
    only the second term passes a gradient. Each call in training counts
    one step.

    Args:
        total_steps: the training steps over which λ rises.
        gamma: the schedule's γ (10 in the paper).
    """

    def __init__(self, total_steps, gamma=10.0, **kwargs):
        super().__init__(**kwargs)
        self.total_steps, self.gamma = total_steps, gamma
        self.step = self.add_weight(shape=(), initializer="zeros", trainable=False, name="step")

    def strength(self):
        """λ at the current step."""
        progress = ops.minimum(self.step / self.total_steps, 1.0)
        return 2.0 / (1.0 + ops.exp(-self.gamma * progress)) - 1.0

    def call(self, x, training=False):
        strength = ops.cast(self.strength(), x.dtype)
        if training:
            self.step.assign(self.step + 1.0)
        return ops.stop_gradient((1.0 + strength) * x) - strength * x

    def get_config(self):
        return {**super().get_config(), "total_steps": self.total_steps, "gamma": self.gamma}
