"""Model builders. Each takes keyword options and returns a `keras.Model`."""

from kerasdl.models.classifiers import (
    AUGMENTATIONS,
    CLASSIFIERS,
    HEADS,
    INITIALIZERS,
    SEARCH_SPACE,
    augmentation_layers,
    build_classifier,
    precision,
)
from kerasdl.models.autoencoder import (
    AUTOENCODERS,
    NOISES,
    DenseTranspose,
    MaskingNoise,
    build_autoencoder,
    classifier_on_encoder,
    encoder_of,
)
from kerasdl.models.transfer import (
    BACKBONES,
    ImagenetPreprocessing,
    blocks,
    feature_extractor,
    imagenet_base,
    set_trainable,
    sum_over_turns,
    with_new_head,
)
from kerasdl.models.gan import (GAN, ClusterPick, OptimizerPair, build_discriminator,
                                build_generator, cluster_mixture, generator_classes)
