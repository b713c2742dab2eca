"""Dataset loaders: a local copy first, then a download, then a fallback."""

from kerasdl.data.images import (
    IMAGE_DATASETS,
    ImageData,
    labels_per_class,
    load_images,
    load_run_images,
)
from kerasdl.data.paths import DATA_DIR_ENV, data_dir
