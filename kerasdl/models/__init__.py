"""Model builders. Each takes keyword options and returns a `keras.Model`."""

from kerasdl.models.classifiers import (
    AUGMENTATIONS,
    CLASSIFIERS,
    HEADS,
    INITIALIZERS,
    SEARCH_SPACE,
    build_classifier,
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
