"""Generative adversarial networks: everything that the GAN app and
`kerasdl gan sample` use.

- `steps.py`: `adversarial_step`, one training step: the discriminator's
  gradient step, then the generator's;
- `model.py`: `GAN`, the Keras model whose `fit` runs that step, with two
  optimizers, on every backend, and gives the generator with averaged
  weights;
- `nets.py`: the DCGAN generator and discriminator, what they are
  conditioned on (classes, clusters of the images, or nothing), and the
  mixture that samples a generator conditioned on clusters as an
  unconditional one;
- `fid.py`: FID on a classifier's features, class coverage, and the choice
  of that classifier;
- `sampling.py`: drawing from a generator, and grids of samples.
"""

from kerasdl.gan.fid import (
    CARD_METRICS,
    FIDMonitor,
    class_coverage,
    evaluate,
    feature_model,
    fid_classifier,
    frechet_distance,
    summary,
    train_classifier,
)
from kerasdl.gan.model import GAN, OptimizerPair
from kerasdl.gan.nets import (
    ClusterPick,
    build_discriminator,
    build_generator,
    cluster_mixture,
    conditioning,
    generator_classes,
)
from kerasdl.gan.sampling import SampleGrid, fixed_inputs, sample, save_grid, tile
from kerasdl.gan.steps import GENERATOR_LOSSES, adversarial_step
