"""Dataset loaders: a local copy first, then a download, then a fallback."""

from kerasdl.data.images import (
    IMAGE_DATASETS,
    TASKS,
    TRAINING_DATASETS,
    ImageData,
    image_preprocessing,
    labels_per_class,
    load_image_folder,
    load_images,
    load_task,
    load_run_images,
    pixel_clusters,
)
from kerasdl.data.paths import DATA_DIR_ENV, data_dir
