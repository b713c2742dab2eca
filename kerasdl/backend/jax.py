"""JAX implementations of the kerasdl backend functions."""

import jax


def device_info():
    """Returns 'GPU (name)' when JAX computes on a GPU, else 'CPU'."""
    device = jax.devices()[0]
    if device.platform == "gpu":
        return f"GPU ({device.device_kind})"
    return device.platform.upper()


def clear_caches():
    """Frees per-model state that `keras.backend.clear_session()` leaves
    behind: JAX's cache of compiled functions, which grows with every model."""
    jax.clear_caches()


# `Model.compile` options for models made of embedding lookups (word2vec):
# Keras' defaults (XLA, one step per call) are the fastest measured on JAX.
LOOKUP_COMPILE_OPTIONS = {}
