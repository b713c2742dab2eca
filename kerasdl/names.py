"""The names users can pick from, kept free of Keras imports so that the
command line can check them, and list them in its help, before the backend
is chosen. The registries that implement them are tested to match."""

BACKENDS = ("tensorflow", "jax", "torch")
IMAGE_DATASETS = ("mnist", "fashion_mnist")
CLASSIFIERS = ("mlp", "lenet5", "allcnn", "vgg", "resnet", "wrn", "densenet")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "nadam")
SCHEDULES = ("constant", "cosine", "exponential")
AUGMENTATIONS = ("flip", "shift", "translate", "zoom", "contrast", "brightness")
INITIALIZERS = ("glorot", "he")
# Keras dtype policies: computations in float32, or in 16 bits with float32
# variables (mixed precision).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
HEADS = ("multiclass", "multilabel", "binary")
TUNERS = ("random", "hyperband", "bayesian", "grid")
AUTOENCODERS = ("dense", "conv")
NOISES = ("gaussian", "masking")
# The apps `kerasdl tune` searches, each with its default objective.
TUNABLE_APPS = {"classification": "val_accuracy", "autoencoder": "val_loss",
                "word2vec": "val_similarity", "transfer": "val_accuracy", "gan": "val_fid"}
WORD2VEC_ARCHS = ("skipgram", "cbow")
# Classification tasks: a dataset, or some of its classes (for transfer
# learning), as (dataset, class indices).
TASKS = {
    "mnist": ("mnist", tuple(range(10))),
    "fashion_mnist": ("fashion_mnist", tuple(range(10))),
    "mnist_0_4": ("mnist", tuple(range(5))),
    "mnist_5_9": ("mnist", tuple(range(5, 10))),
}
GENERATOR_LOSSES = ("non_saturating", "minimax")
TRANSFER_MODES = ("scratch", "frozen", "finetune", "all", "pretrain")
BACKBONES = ("mobilenet_v3_small", "efficientnet_b0", "resnet50")
EXPORT_FORMATS = ("keras", "tf_saved_model", "onnx")
