"""Model builders. Each takes keyword options and returns a `keras.Model`."""

from kerasdl.models.classifiers import (
    AUGMENTATIONS,
    CLASSIFIERS,
    HEADS,
    INITIALIZERS,
    augmentation_layers,
    build_classifier,
    for_inference,
    precision,
)
