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
