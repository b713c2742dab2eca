"""JAX implementations of the kerasdl backend functions."""

import jax


def device_info():
    """Returns 'GPU (name)' when JAX computes on a GPU, else 'CPU'."""
    device = jax.devices()[0]
    if device.platform == "gpu":
        return f"GPU ({device.device_kind})"
    return device.platform.upper()
