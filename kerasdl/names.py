"""The names that are chosen before Keras is imported (the backend, and
the choices of commands that pick it), and the few registries that hold
names only. Kept free of Keras imports. The registries that implement the
other names live beside their code, and apps take their choices from them."""

BACKENDS = ("tensorflow", "jax", "torch")
DISTRIBUTE_MODES = ("none", "data_parallel")
SCHEDULES = ("constant", "cosine", "exponential")
# Keras dtype policies: computations in float32, or in 16 bits with float32
# variables (mixed precision).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
HEADS = ("multiclass", "multilabel", "binary")
TUNERS = ("random", "hyperband", "bayesian", "grid")
# Classification tasks: a dataset, or some of its classes (for transfer
# learning), as (dataset, class indices).
TASKS = {
    "mnist": ("mnist", tuple(range(10))),
    "fashion_mnist": ("fashion_mnist", tuple(range(10))),
    "mnist_0_4": ("mnist", tuple(range(5))),
    "mnist_5_9": ("mnist", tuple(range(5, 10))),
}
EXPORT_FORMATS = ("keras", "tf_saved_model", "onnx")
