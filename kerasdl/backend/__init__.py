"""The one home of backend-specific code.

`tensorflow.py`, `jax.py` and `torch.py` define the same functions; this
module re-exports those of the backend Keras runs on. Everything else in
kerasdl uses `keras.layers` and `keras.ops` only.
"""

import importlib

import keras

_impl = importlib.import_module(f"kerasdl.backend.{keras.backend.backend()}")

device_info = _impl.device_info
DATA_PARALLEL = _impl.DATA_PARALLEL
phase_conv_transpose = _impl.phase_conv_transpose
block_max_pooling = _impl.block_max_pooling
recurrent_loop = _impl.recurrent_loop
clear_caches = _impl.clear_caches
LOOKUP_COMPILE_OPTIONS = _impl.LOOKUP_COMPILE_OPTIONS
JIT_GEOMETRIC_AUGMENTATION = _impl.JIT_GEOMETRIC_AUGMENTATION
minimize = _impl.minimize
minimize_rows = _impl.minimize_rows
train_step = _impl.train_step
value_and_grad = _impl.value_and_grad
float64 = _impl.float64
input_gradient = _impl.input_gradient
is_nan_error = _impl.is_nan_error
unsplit_batch_size = _impl.unsplit_batch_size


def describe():
    """Returns a dict with the backend name, the device it computes on, and
    the number of devices that share each batch (see `kerasdl.distribute`)."""
    distribution = keras.distribution.distribution()
    return {"backend": keras.backend.backend(), "device": device_info(),
            "devices": distribution.device_mesh.devices.size if distribution else 1}
