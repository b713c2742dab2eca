"""The models of transfer learning: a pretrained base, frozen or partly
unfrozen, under a new head.

A base is any classifier without its output layers (`feature_extractor`),
such as a saved one (`saved_base`), or an ImageNet backbone from
`keras.applications` (`imagenet_base`). Its "blocks" are counted from the
layers that hold weights: each starts at one such layer (not BatchNorm) and
runs up to the next, so a Conv2D or Dense layer and the BatchNorm behind it
form one block. `open_base` opens the base that the app's config names;
`saved_model` and `weights_choice` check the flags that name it.
"""

import argparse
from pathlib import Path

import keras
from keras import layers

from kerasdl import cards
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


def weights_choice(text):
    """argparse type: the weights of a backbone, 'imagenet' (downloaded by
    Keras), the path of a weights file, or 'none' (`None`: random weights)."""
    if text not in ("imagenet", "none") and not Path(text).is_file():
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither 'imagenet', 'none' nor a weights file")
    return None if text == "none" else text


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



def base_of(model):
    """The base inside a model made by `with_new_head`."""
    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


def saved_model(text):
    """argparse type: the path of a saved model folder or `.keras` file."""
    if not Path(text).exists():
        raise argparse.ArgumentTypeError(f"no saved model at {text!r}")
    return text


def saved_base(folder):
    """Returns a function that loads a fresh copy of the base of the
    classifier saved in `folder`: from its saved weights when called with
    `pretrained=True`, else the same architecture with new random weights."""
    def load(pretrained=True):
        model, _ = cards.load(folder)
        return feature_extractor(model if pretrained else keras.models.clone_model(model))

    return load


def open_base(config, images):
    """Opens the base that `config` names, and prints which it is.

    Args:
        config: the transfer app's config: `backbone` (with `weights` and
            `image_size`) for an ImageNet backbone, else `base`, a saved
            model folder or `.keras` file.
        images: the target task, an `ImageData`.

    Returns:
        `(load_base, name, card)`: a function that returns a fresh copy of
        the base (`pretrained=False`: the same architecture with random
        weights), the base's name for the report, and the card of the saved
        model (`None` for a backbone, or a file without one).

    Raises:
        UsageError: when the saved model cannot be loaded or takes other
            images than the target's.
    """
    if config["backbone"]:
        backbone, weights = config["backbone"], config["weights"]

        def load_base(pretrained=True):
            return imagenet_base(backbone, config["image_size"], weights if pretrained else None)

        name = f"{backbone} (weights: {weights or 'random'})"
        print(f"Base: {name}, {load_base().count_params():,} parameters", flush=True)
        return load_base, name, None
    name = str(config["base"])
    _, card = cards.load(name)
    if card and tuple(card["input_shape"]) != images.input_shape:
        raise UsageError(f"The base takes {tuple(card['input_shape'])} images, "
                         f"but {images.name} has {images.input_shape}")
    if card:
        shipped = cards.shipped(Path(name).name) == Path(name).resolve()
        print(f"Base: {'the shipped model ' if shipped else ''}{name}, test accuracy "
              f"{card['metrics']['test_accuracy']:.4f} on {card['dataset']}; "
              f"made by: {card['command']}", flush=True)
    return saved_base(name), name, card
