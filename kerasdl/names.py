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
HEADS = ("multiclass", "multilabel", "binary")
TUNERS = ("random", "hyperband", "bayesian", "grid")
AUTOENCODERS = ("dense", "conv")
NOISES = ("gaussian", "masking")
TUNABLE_APPS = ("classification", "autoencoder")
WORD2VEC_ARCHS = ("skipgram", "cbow")
