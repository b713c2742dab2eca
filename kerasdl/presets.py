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
                          "padding": "valid", "dropout": 0.4, "batchnorm": False,
                          "weight_decay": 0.0, "augment": ["shift"]},
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

# The base that the transfer app pretrains on a source task, per dataset:
# the Fashion-MNIST net above (stages of two convolutions with BatchNorm)
# with each dataset's augmentation. On digits 0-4 to 5-9 its frozen features
# beat those of the smaller MNIST net with every labels count. With
# `label_rotations` of 4 it learns each digit in its four quarter turns as 20
# classes (self-supervised label augmentation, Lee et al., 2020), which
# raised transfer at 10 labels per class on every seed and backend tried,
# by 0.85 points on average; it trains 4 epochs of four times the images.
# A third stage (128 channels, 3x3x128 = 1,152 features) raised frozen
# transfer at 10 labels per class again, on each of five seeds (BENCHMARKS.md).
_BASE = {**CLASSIFICATION["fashion_mnist"], "label_rotations": 1}
TRANSFER_BASE = {
    "mnist": {**_BASE, "epochs": CLASSIFICATION["mnist"]["epochs"] // 2, "label_rotations": 4,
              "model_options": {**_BASE["model_options"], "stages": 3,
                                "augment": CLASSIFICATION["mnist"]["model_options"]["augment"]}},
    "fashion_mnist": _BASE,
}

# Size of the validation set split off the training set, and of the tiny
# splits that --dry-run uses.
VALIDATION_SIZE = 5000
DRY_RUN_SIZES = {"train": 256, "val": 64, "test": 128}

# The autoencoder app: a preset per architecture, and one for greedy
# layer-wise pretraining (--pretrain greedy), where "epochs" counts the epochs
# per encoder/decoder pair and the "finetune_" settings train the classifiers
# on the labelled few, each on `label_draws` draws of them. Pretraining helps
# a wide stack with strong masking noise most, as in stacked denoising
# autoencoders (three layers of 1,000 units; see BENCHMARKS.md).
AUTOENCODER = {
    "dense": {
        "model_options": {"code_size": 32, "hidden": [128, 64], "noise": 0.0,
                          "noise_type": "gaussian"},
        "epochs": 50,
        "batch_size": 256,
        "lr": 2e-3,
        "schedule": "cosine",
    },
    "conv": {
        "model_options": {"code_size": 32, "width": 32, "noise": 0.0,
                          "noise_type": "gaussian"},
        "epochs": 10,
        "batch_size": 128,
        "lr": 2e-3,
        "schedule": "cosine",
    },
    "greedy": {
        "model_options": {"code_size": 1000, "hidden": [1000, 1000], "noise": 0.5,
                          "noise_type": "masking"},
        "epochs": 10,
        "batch_size": 256,
        "lr": 2e-3,
        "schedule": "cosine",
        "labels_per_class": 100,
        "label_draws": 3,
        "finetune_epochs": 30,
        "finetune_batch_size": 32,
        "finetune_lr": 1e-3,
    },
}

# The word2vec app, per architecture: the original's settings (dim 100,
# window 5, 5 negatives, min-count 5, 5 epochs; CBOW starts at twice
# skip-gram's rate, as the original does). The loss is summed over a batch,
# so --lr is the original's per-example rate; it decays linearly to
# lr * 1e-4. Batches of a few thousand pairs keep the frequent words'
# summed updates stable.
WORD2VEC = {
    "skipgram": {"dim": 100, "window": 5, "negatives": 5, "min_count": 5,
                 "subsample": 1e-3, "epochs": 5, "batch_size": 4096, "lr": 0.025,
                 "share_negatives": 8},
    "cbow": {"dim": 100, "window": 5, "negatives": 5, "min_count": 5,
             "subsample": 1e-3, "epochs": 5, "batch_size": 4096, "lr": 0.05,
             "share_negatives": 8},
}
# --dry-run reads this many characters of the corpus and keeps words seen twice.
WORD2VEC_DRY_RUN = {"chars": 100_000, "min_count": 2}

# The transfer-learning app. The base is pretrained with the classification
# preset of the source's dataset (without its augmentation, which the target
# chooses: its own dataset's, or `TRANSFER_FOLDER_AUGMENT` for a folder of
# images). Scratch and frozen train `epochs`; finetune goes on from frozen
# for `fine_tune_epochs` at `fine_tune_lr`, with the top `unfreeze_blocks`
# blocks of the base trainable. Label sets smaller than `min_epoch_size` are
# repeated up to it, so that few labels still get a fair number of steps.
# `image_size` is the side that a folder's images are resized to.
TRANSFER = {
    "epochs": 5,
    "fine_tune_epochs": 5,
    "batch_size": 128,
    "lr": 1e-3,
    "fine_tune_lr": 1e-4,
    "unfreeze_blocks": 1,
    "head_units": 128,
    "head_dropout": 0.5,
    "labels_per_class": [10, 100, "all"],
    "min_epoch_size": 5000,
    "image_size": 224,
    "validation_size": VALIDATION_SIZE,
}
TRANSFER_DRY_RUN = {**TRANSFER, "labels_per_class": [10, "all"], "min_epoch_size": 64,
                    "epochs": 1, "fine_tune_epochs": 1}
TRANSFER_FOLDER_AUGMENT = ["flip"]

# The GAN app, per dataset: a DCGAN trained with Adam (beta_1 = 0.5, as in
# the DCGAN paper) at the same rate for both nets, with one-sided label
# smoothing. `g_width` is the filters of the generator's last upsampling
# convolution, `d_width` those of the discriminator's first convolution (a
# discriminator as wide as the generator fell behind it). Samples come from
# the generator's weights averaged with momentum `ema`. Unconditional GANs
# condition both nets on `clusters` k-means clusters of the training images
# (0 for none): 50 clusters brought FID after 10 epochs from 43.2 to 9.1 on
# MNIST, and from 18.7 to 9.3 on Fashion-MNIST (its FID after the 10th epoch;
# TensorFlow, BENCHMARKS.md).
_GAN = {"latent_dim": 64, "g_width": 32, "d_width": 64, "dropout": 0.3,
        "label_smoothing": 0.1, "generator_loss": "non_saturating", "epochs": 20,
        "batch_size": 128, "lr": 2e-4, "beta_1": 0.5, "ema": 0.999, "clusters": 50}
GAN = {"mnist": _GAN, "fashion_mnist": _GAN}
# Generated and real images compared by FID (the test set has 10,000).
FID_SAMPLES = 10_000
