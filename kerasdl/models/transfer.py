"""Transfer learning: a pretrained base, frozen or partly unfrozen, under a
new head.

A base is any classifier without its output layer (`feature_extractor`), or
an ImageNet backbone from `keras.applications` (`imagenet_base`). Its
"blocks" are counted from the layers that hold weights: each starts at one
such layer (not BatchNorm) and runs up to the next, so a Conv2D or Dense layer
and the BatchNorm behind it form one block.
"""

import keras
import numpy as np
from keras import layers

from kerasdl.errors import UsageError, check_choice
from kerasdl.models.classifiers import augmentation_layers

# For each backbone: its builder in `keras.applications`, and its
# `preprocess_input`, which takes pixels in [0, 255]. MobileNetV3 and
# EfficientNet rescale inside the model, so theirs returns its input.
BACKBONES = {
    "mobilenet_v3_small": (keras.applications.MobileNetV3Small,
                           keras.applications.mobilenet_v3.preprocess_input),
    "efficientnet_b0": (keras.applications.EfficientNetB0,
                        keras.applications.efficientnet.preprocess_input),
    "resnet50": (keras.applications.ResNet50, keras.applications.resnet.preprocess_input),
}


@keras.saving.register_keras_serializable(package="kerasdl")
class ImagenetPreprocessing(layers.Layer):
    """Applies a backbone's `preprocess_input` to pixels in [0, 255], so that
    the saved model takes plain images."""

    def __init__(self, backbone, **kwargs):
        super().__init__(**kwargs)
        self.backbone = check_choice("backbone", backbone, BACKBONES)

    def call(self, images):
        return BACKBONES[self.backbone][1](images)

    def get_config(self):
        return {**super().get_config(), "backbone": self.backbone}


def feature_extractor(model):
    """Returns the base of a classifier, as `include_top=False` does for
    `keras.applications`: `model` from its input to the input of its first
    Dense layer (its last, when nothing with weights comes before the
    first), sharing `model`'s layers and weights.

    Raises:
        UsageError: when `model` has no Dense layer.
    """
    dense = [i for i, layer in enumerate(model.layers) if isinstance(layer, layers.Dense)]
    if not dense:
        raise UsageError(f"{model.name} has no Dense layers to replace")
    weighted_before = any(layer.weights for layer in model.layers[:dense[0]])
    cut = model.layers[dense[0] if weighted_before else dense[-1]]
    return keras.Model(model.inputs, cut.input, name=f"{model.name}_base")


def imagenet_base(backbone, image_size, weights="imagenet"):
    """Returns an ImageNet backbone, without its top, as a base that takes
    `(image_size, image_size, 3)` pixels in [0, 255] and gives pooled
    features.

    Args:
        backbone: a name from `BACKBONES`.
        image_size: the side of the input images.
        weights: `"imagenet"` (downloaded by Keras), `None` for random
            weights, or the path of a weights file for the model without top.

    Raises:
        UsageError: for an unknown backbone, or weights that cannot be had.
    """
    build, _ = BACKBONES[check_choice("backbone", backbone, BACKBONES)]
    shape = (image_size, image_size, 3)
    try:
        net = build(include_top=False, weights=weights, input_shape=shape, pooling="avg")
    except Exception as error:  # Keras raises bare Exceptions when a download fails.
        if weights != "imagenet":
            raise UsageError(f"Cannot load the {backbone} weights {weights}: "
                             f"{str(error).splitlines()[0]}") from None
        raise UsageError(
            f"Cannot download the ImageNet weights of {backbone} (offline?). Pass "
            "--weights PATH for a local weights file (without top), or --weights none "
            "to continue with random weights.") from None
    inputs = keras.Input(shape)
    features = net(ImagenetPreprocessing(backbone)(inputs))
    return keras.Model(inputs, features, name=f"{backbone}_base")


def blocks(base):
    """Splits the layers of `base` into blocks (see the module docstring).

    Returns:
        A list of lists of layers; layers before the first weighted one
        belong to no block.
    """
    found = []
    for layer in _flat_layers(base):
        starts = layer.weights and not isinstance(layer, layers.BatchNormalization)
        if starts:
            found.append([])
        if found:
            found[-1].append(layer)
    return found


def _flat_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _flat_layers(layer)
        else:
            yield layer


def sum_over_turns(classifier, num_classes, turns):
    """Turns a classifier of (class, quarter turn) pairs, whose output `k`
    is class `k // turns` turned `k % turns` times, into a plain classifier
    of `num_classes`: a fixed layer on top adds up each class's
    probabilities. The result is a flat functional model, so that
    `feature_extractor` cuts it as it cuts `classifier`."""
    total = layers.Dense(num_classes, use_bias=False, trainable=False, name="sum_over_turns")
    outputs = total(classifier.outputs[0])
    total.set_weights([np.repeat(np.eye(num_classes, dtype="float32"), turns, axis=0)])
    return keras.Model(classifier.inputs, outputs, name=classifier.name)


def set_trainable(base, unfreeze_blocks):
    """Freezes `base` except its top `unfreeze_blocks` blocks; BatchNorm
    layers stay frozen, which keeps them in inference mode.

    Args:
        base: a base model.
        unfreeze_blocks: how many blocks, from the top, to train; 0 freezes
            the whole base.

    Raises:
        UsageError: when `unfreeze_blocks` exceeds the number of blocks.
    """
    found = blocks(base)
    if unfreeze_blocks > len(found):
        raise UsageError(f"Cannot unfreeze {unfreeze_blocks} blocks: {base.name} has "
                         f"{len(found)}")
    base.trainable = bool(unfreeze_blocks)
    if not unfreeze_blocks:
        return
    unfrozen = {id(layer) for block in found[len(found) - unfreeze_blocks:]
                for layer in block}
    for layer in _flat_layers(base):
        layer.trainable = (id(layer) in unfrozen
                           and not isinstance(layer, layers.BatchNormalization))


def with_new_head(base, num_classes, augment=(), hidden=0, dropout=0.0,
                  name="transfer"):
    """Puts a new head on `base`: a ReLU layer of `hidden` units (none when
    0) with `dropout` after it, then a softmax layer for `num_classes`; the
    augmentation layers `augment` (names from `AUGMENTATIONS`) go before the
    base.

    Returns:
        A `keras.Model` that holds `base` as one layer.
    """
    inputs = keras.Input(base.input_shape[1:])
    x = inputs
    for augmentation in augmentation_layers(augment):
        x = augmentation(x)
    x = base(x)
    if hidden:
        x = layers.Dropout(dropout)(layers.Dense(hidden, activation="relu")(x))
    x = layers.Dense(num_classes)(x)
    outputs = layers.Activation("softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


# The transfer app's search space for `kerasdl tune transfer`, as data:
# settings of the app's config (`presets.TRANSFER`), for the new head and
# its training on the target.
SEARCH_SPACE = {
    "lr": {"type": "float", "min": 1e-4, "max": 1e-2, "step": 10**0.5, "sampling": "log"},
    "fine_tune_lr": {"type": "float", "min": 1e-5, "max": 1e-3, "step": 10**0.5,
                     "sampling": "log"},
    "unfreeze_blocks": {"type": "int", "min": 1, "max": 2},
    "head_units": {"type": "choice", "values": [64, 128, 256]},
    "head_dropout": {"type": "float", "min": 0.0, "max": 0.5, "step": 0.25},
    "augment": {"type": "choice", "values": ["none", "shift"]},
}
