"""Image classifiers: MLP, LeNet-5, All-CNN, VGG, ResNet, Wide ResNet, DenseNet.

Every builder takes the same keyword options and returns a `keras.Model`:

- `input_shape`, `num_classes`;
- `depth` and `width` (what they count is family-specific, see each builder);
- `dropout`, `batchnorm`, `weight_decay` (L2 on kernels), `initializer`
  (`"glorot"` or `"he"`);
- `augment`: names from `AUGMENTATIONS`, applied during training only;
- `head`: `"multiclass"` (softmax), `"multilabel"` (a sigmoid per class) or
  `"binary"` (one sigmoid);
- `api`: `"functional"` or `"sequential"`, for the families without skip
  connections.

Builders never read flags or files: apps, tuning and tests all call them.
"""

import contextlib

import keras
from keras import layers

from kerasdl import backend
from kerasdl.errors import UsageError, check_choice
from kerasdl.models.layers import BlockMaxPooling2D, RandomShift
from kerasdl.names import HEADS, PRECISIONS

INITIALIZERS = {"glorot": "glorot_uniform", "he": "he_normal"}
AUGMENTATIONS = {  # name: (layer class, its options)
    "flip": (layers.RandomFlip, {"mode": "horizontal"}),
    "shift": (RandomShift, {"max_shift": 2}),  # whole pixels; cheap on every backend
    "translate": (layers.RandomTranslation, {"height_factor": 0.1, "width_factor": 0.1,
                                             "fill_mode": "constant"}),
    "zoom": (layers.RandomZoom, {"height_factor": 0.1, "fill_mode": "constant"}),
    "rotate": (layers.RandomRotation, {"factor": 0.04, "fill_mode": "constant"}),  # 15 degrees
    "contrast": (layers.RandomContrast, {"factor": 0.2}),
    "brightness": (layers.RandomBrightness, {"factor": 0.2, "value_range": (0.0, 1.0)}),
    "noise": (layers.GaussianNoise, {"stddev": 0.2}),
    # Random erasing (Zhong et al. 2017): a rectangle of noise over a share of the images
    "erase": (layers.RandomErasing, {"factor": 1.0, "value_range": (0.0, 1.0)}),
    "invert": (layers.RandomInvert, {"factor": 0.5, "value_range": (0.0, 1.0)}),
}
APIS = ("functional", "sequential")


def augmentation_layers(names):
    """New augmentation layers for `names` (keys of `AUGMENTATIONS`), active
    in training only. Where `backend.JIT_GEOMETRIC_AUGMENTATION` says so,
    the geometric ones let Keras compile the model that holds them.

    Raises:
        UsageError: for an unknown name.
    """
    made = []
    for name in names:
        kind, options = AUGMENTATIONS[check_choice("augmentation", name, AUGMENTATIONS)]
        layer = kind(**options)
        layer.supports_jit = layer.supports_jit or backend.JIT_GEOMETRIC_AUGMENTATION
        made.append(layer)
    return made


def for_inference(model):
    """`model` as it is saved: its augmentation layers, which pass images
    through unchanged outside training, become `keras.layers.Identity`, and
    its `BlockMaxPooling2D` layers become `keras.layers.MaxPooling2D`, so
    that the file loads with `keras.saving.load_model` alone, without
    kerasdl (whose `RandomShift` it would otherwise need). The other layers,
    and so the weights, are `model`'s own; `model` itself when it has none
    of those layers, at its top level or in the models it holds.
    """
    augmentations = tuple(kind for kind, _ in AUGMENTATIONS.values())

    def plain(layer):
        if isinstance(layer, augmentations):
            return layers.Identity(name=layer.name)
        if isinstance(layer, BlockMaxPooling2D):
            return layers.MaxPooling2D.from_config(layer.get_config())
        if isinstance(layer, keras.Model):  # a classifier inside a training model
            return for_inference(layer)
        return layer

    def saved_otherwise(layer):
        return isinstance(layer, (*augmentations, BlockMaxPooling2D)) or (
            isinstance(layer, keras.Model) and any(map(saved_otherwise, layer.layers)))

    if not any(map(saved_otherwise, model.layers)):
        return model
    return keras.models.clone_model(model, clone_function=plain)


PADDINGS = ("same", "valid")


class _Blocks:
    """Holds the options every builder shares and makes layers with them."""

    def __init__(self, head="multiclass", augment=(), dropout=0.0, batchnorm=True,
                 weight_decay=0.0, initializer="he", api="functional"):
        self.head_type = check_choice("head", head, HEADS)
        self.augment = [check_choice("augmentation", name, AUGMENTATIONS)
                        for name in augment or ()]
        self.api = check_choice("api", api, APIS)
        self.batchnorm = batchnorm
        self.dropout = dropout
        self.kernel = dict(
            kernel_initializer=INITIALIZERS[check_choice("initializer", initializer,
                                                         INITIALIZERS)],
            kernel_regularizer=keras.regularizers.L2(weight_decay) if weight_decay else None,
        )

    def functional_only(self, name):
        if self.api != "functional":
            raise UsageError(f"{name} has skip connections, so it has no Sequential "
                             "form; use api='functional'")

    def augmentation(self):
        return augmentation_layers(self.augment)

    def conv(self, filters, kernel_size=3, strides=1, padding="same", activate=True):
        """Conv2D, then BatchNorm (when on) and ReLU (when `activate`)."""
        stack = [layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                               use_bias=not self.batchnorm, **self.kernel)]
        return stack + self.norm_act(activate)

    def dense(self, units):
        """Dense, then BatchNorm (when on) and ReLU."""
        return [layers.Dense(units, use_bias=not self.batchnorm, **self.kernel),
                *self.norm_act()]

    def norm_act(self, activate=True):
        stack = [layers.BatchNormalization()] if self.batchnorm else []
        return stack + ([layers.ReLU()] if activate else [])

    def drop(self):
        return [layers.Dropout(self.dropout)] if self.dropout else []

    def head(self, num_classes):
        """The output layer for the head type, in float32 for mixed precision."""
        units = 1 if self.head_type == "binary" else num_classes
        activation = "softmax" if self.head_type == "multiclass" else "sigmoid"
        return [layers.Dense(units, **self.kernel),
                layers.Activation(activation, dtype="float32")]


@contextlib.contextmanager
def precision(name):
    """Builds the layers made inside the block with the Keras dtype policy
    `name`, then restores the previous one.

    With `"mixed_bfloat16"` or `"mixed_float16"`, layers compute in 16 bits
    and keep float32 variables; the heads stay in float32. `Model.compile`
    adds loss scaling for `"mixed_float16"`.

    Raises:
        UsageError: for a name not in `PRECISIONS`.
    """
    check_choice("precision", name, PRECISIONS)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _apply(stack, x):
    for layer in stack:
        x = layer(x)
    return x


def _plain(name, body, input_shape, num_classes, **options):
    """Builds a network without skip connections, Sequential or functional:
    `body(blocks)` gives the layers between the augmentation and the head."""
    b = _Blocks(**options)
    stack = b.augmentation() + body(b) + b.head(num_classes)
    inputs = keras.Input(input_shape)
    if b.api == "sequential":
        return keras.Sequential([inputs, *stack], name=name)
    return keras.Model(inputs, _apply(stack, inputs), name=name)


def mlp(input_shape, num_classes, *, depth=2, width=512, **options):
    """A multilayer perceptron: `depth` hidden layers of `width` units."""
    def body(b):
        stack = [layers.Flatten()]
        for _ in range(depth):
            stack += b.dense(width) + b.drop()
        return stack

    return _plain("mlp", body, input_shape, num_classes, **options)


def lenet5(input_shape, num_classes, *, depth=2, width=1.0, **options):
    """LeNet-5 (LeCun et al., 1998) with ReLU and max pooling.

    `width` multiplies the channels (6, 16) and units (120, 84); `depth` is
    the number of hidden dense layers (1 or 2).
    """
    def body(b):
        stack = b.conv(round(6 * width), 5) + [BlockMaxPooling2D()]
        stack += b.conv(round(16 * width), 5, padding="valid") + [BlockMaxPooling2D()]
        stack += [layers.Flatten()]
        for units in (120, 84)[:depth]:
            stack += b.dense(round(units * width)) + b.drop()
        return stack

    return _plain("lenet5", body, input_shape, num_classes, **options)


def all_cnn(input_shape, num_classes, *, depth=2, width=48, **options):
    """All-CNN (Springenberg et al., 2015): convolutions only, downsampling by
    stride-2 convolutions, global average pooling.

    Two stages of `depth` 3x3 convolutions plus one strided convolution, with
    `width` and `2 * width` channels.
    """
    def body(b):
        stack = []
        for filters in (width, 2 * width):
            for _ in range(depth):
                stack += b.conv(filters)
            stack += b.conv(filters, strides=2) + b.drop()
        stack += b.conv(2 * width, 1) + [layers.GlobalAveragePooling2D()]
        return stack

    return _plain("allcnn", body, input_shape, num_classes, **options)


def vgg(input_shape, num_classes, *, depth=2, width=32, stages=2, dense=128,
        padding="same", **options):
    """A small VGG-style net: `stages` stages of `depth` 3x3 convolutions,
    each followed by 2x2 max pooling; channels double per stage from `width`;
    then a dense layer of `dense` units. With `padding="valid"` each
    convolution trims the border, which makes the net cheaper."""
    check_choice("padding", padding, PADDINGS)
    size = min(input_shape[:2])
    for _ in range(stages):
        size = (size - (2 * depth if padding == "valid" else 0)) // 2
    if size < 1:
        raise UsageError(f"vgg with depth={depth}, stages={stages} and padding={padding!r} "
                         f"shrinks a {input_shape[0]}x{input_shape[1]} input to nothing; "
                         "use fewer stages or padding='same'")

    def body(b):
        stack = []
        for stage in range(stages):
            for _ in range(depth):
                stack += b.conv(width * 2**stage, padding=padding)
            stack += [BlockMaxPooling2D()]
        return stack + [layers.Flatten(), *b.drop()] + b.dense(dense) + b.drop()

    return _plain("vgg", body, input_shape, num_classes, **options)


def _residual_net(name, input_shape, num_classes, *, blocks_per_stage, widths, preact,
                  **options):
    """Shared body of ResNet (post-activation) and Wide ResNet (pre-activation)."""
    b = _Blocks(**options)
    b.functional_only(name)
    inputs = keras.Input(input_shape)
    x = _apply(b.augmentation(), inputs)
    if preact:
        x = layers.Conv2D(widths[0], 3, padding="same", **b.kernel)(x)
    else:
        x = _apply(b.conv(widths[0]), x)
    for stage, filters in enumerate(widths):
        for block in range(blocks_per_stage):
            strides = 2 if stage > 0 and block == 0 else 1
            x = _residual_block(b, x, filters, strides, preact)
    if preact:
        x = _apply(b.norm_act(), x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, _apply(b.head(num_classes), x), name=name)


def _residual_block(b, x, filters, strides, preact):
    """A basic block of two 3x3 convolutions with an identity or 1x1 shortcut."""
    shortcut = x
    if preact:
        x = _apply(b.norm_act(), x)
        if strides != 1 or shortcut.shape[-1] != filters:
            shortcut = layers.Conv2D(filters, 1, strides=strides, **b.kernel)(x)
        x = _apply(b.conv(filters, strides=strides) + b.drop(), x)
        x = layers.Conv2D(filters, 3, padding="same", **b.kernel)(x)
        return layers.Add()([shortcut, x])
    if strides != 1 or shortcut.shape[-1] != filters:
        shortcut = _apply(b.conv(filters, 1, strides=strides, activate=False), shortcut)
    x = _apply(b.conv(filters, strides=strides) + b.drop(), x)
    x = _apply(b.conv(filters, activate=False), x)
    return layers.ReLU()(layers.Add()([shortcut, x]))


def resnet(input_shape, num_classes, *, depth=2, width=16, **options):
    """A ResNet (He et al., 2016) of basic blocks: three stages of `depth`
    blocks with `width`, `2 * width`, `4 * width` channels."""
    return _residual_net("resnet", input_shape, num_classes, blocks_per_stage=depth,
                         widths=(width, 2 * width, 4 * width), preact=False, **options)


def wide_resnet(input_shape, num_classes, *, depth=10, width=2, **options):
    """A Wide ResNet WRN-`depth`-`width` (Zagoruyko and Komodakis, 2016):
    pre-activation blocks, (depth - 4) / 6 per stage, 16, 32 and 64 channels
    times the widening factor `width`; dropout sits between the convolutions."""
    if (depth - 4) % 6 or depth < 10:
        raise UsageError(f"Wide ResNet depth must be 6n + 4 with n >= 1, got {depth}")
    return _residual_net("wrn", input_shape, num_classes, blocks_per_stage=(depth - 4) // 6,
                         widths=(16 * width, 32 * width, 64 * width), preact=True, **options)


def densenet(input_shape, num_classes, *, depth=4, width=12, blocks=3, **options):
    """A small DenseNet (Huang et al., 2017): `blocks` dense blocks of `depth`
    BN-ReLU-3x3 conv layers, each adding `width` (the growth rate) channels,
    joined by transitions that halve the channels and the resolution."""
    b = _Blocks(**options)
    b.functional_only("densenet")
    inputs = keras.Input(input_shape)
    x = _apply(b.augmentation(), inputs)
    x = layers.Conv2D(2 * width, 3, padding="same", **b.kernel)(x)
    for block in range(blocks):
        for _ in range(depth):
            y = _apply(b.norm_act(), x)
            y = layers.Conv2D(width, 3, padding="same", **b.kernel)(y)
            x = layers.Concatenate()([x, _apply(b.drop(), y)])
        if block < blocks - 1:
            x = _apply(b.norm_act(), x)
            x = layers.Conv2D(x.shape[-1] // 2, 1, **b.kernel)(x)
            x = layers.AveragePooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(_apply(b.norm_act(), x))
    return keras.Model(inputs, _apply(b.head(num_classes), x), name="densenet")


CLASSIFIERS = {
    "mlp": mlp,
    "lenet5": lenet5,
    "allcnn": all_cnn,
    "vgg": vgg,
    "resnet": resnet,
    "wrn": wide_resnet,
    "densenet": densenet,
}


def build_classifier(name, input_shape, num_classes, **options):
    """Builds the classifier `name` from `CLASSIFIERS` with `options`.

    Raises:
        UsageError: for an unknown name or option value.
    """
    builder = CLASSIFIERS[check_choice("model", name, CLASSIFIERS)]
    return builder(input_shape, num_classes, **options)

