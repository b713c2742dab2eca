"""Named configurations, as plain dicts.

Kept free of Keras imports, so that the command line can show them as
defaults before the backend is chosen.
"""

# The project's best recipe per dataset for the classification app: the
# fastest route to its accuracy target on a 2-core CPU (see BENCHMARKS.md).
CLASSIFICATION = {
    "mnist": {
        "model": "vgg",
        "model_options": {"width": 32, "depth": 1, "stages": 2, "dense": 128,
                          "dropout": 0.4, "batchnorm": True, "weight_decay": 0.0,
                          "augment": []},
        "optimizer": "adam",
        "lr": 3e-3,
        "schedule": "cosine",
        "warmup": 0.1,
        "epochs": 8,
        "batch_size": 128,
    },
    "fashion_mnist": {
        "model": "vgg",
        "model_options": {"width": 32, "depth": 2, "stages": 2, "dense": 256,
                          "dropout": 0.4, "batchnorm": True, "weight_decay": 0.0,
                          "augment": ["flip"]},
        "optimizer": "adam",
        "lr": 3e-3,
        "schedule": "cosine",
        "warmup": 0.1,
        "epochs": 15,
        "batch_size": 128,
    },
}

# Size of the validation set split off the training set, and of the tiny
# splits that --dry-run uses.
VALIDATION_SIZE = 5000
DRY_RUN_SIZES = {"train": 256, "val": 64, "test": 128}
