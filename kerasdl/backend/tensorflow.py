"""TensorFlow implementations of the kerasdl backend functions."""

import tensorflow as tf


def device_info():
    """Returns 'GPU (name)' when TensorFlow sees a GPU, else 'CPU'."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    return f"GPU ({name})"


def clear_caches():
    """Frees per-model state that `keras.backend.clear_session()` leaves
    behind. TensorFlow needs nothing more."""
