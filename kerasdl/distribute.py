"""Data-parallel training with `keras.distribution` (`--distribute`).

With `data_parallel`, every variable is copied to each device and each
batch is split across them along its first axis: every device computes the
gradients of its share, and the update uses their mean, as one device would
on the whole batch. The global batch stays `--batch-size`, and every batch,
the last of an epoch and those of `predict` included, must split evenly.
Keras 3 does this on JAX only. Over several hosts, each host runs the same
command with the `KERAS_DISTRIBUTION_*` variables that
`keras.distribution.initialize` reads.
"""

import contextlib
import os

import keras

from kerasdl import backend
from kerasdl.errors import UsageError

# What keras.distribution.initialize reads to join the hosts of one run.
MULTI_HOST = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES",
              "KERAS_DISTRIBUTION_PROCESS_ID")


@contextlib.contextmanager
def distributing(mode):
    """Runs the fits in the block as `mode` says: `"none"`, one device;
    `"data_parallel"`, `keras.distribution.DataParallel` over every device
    (of every host, where the `MULTI_HOST` variables are set).

    Raises:
        UsageError: for data parallelism, or several hosts, on a backend
            where Keras has neither, and for a batch that does not split
            evenly over the devices.
    """
    multi_host = [name for name in MULTI_HOST if name in os.environ]
    if multi_host and not backend.DATA_PARALLEL:
        raise UsageError(f"{', '.join(multi_host)} ask for a run over several hosts, which "
                         f"Keras {keras.__version__} joins on the jax backend only; pass "
                         "--backend jax, or unset them")
    if mode == "data_parallel" and not backend.DATA_PARALLEL:
        raise UsageError(f"--distribute data_parallel runs on the jax backend only (Keras "
                         f"{keras.__version__} cannot spread a fit on "
                         f"{keras.backend.backend()}); pass --backend jax, or --distribute none")
    if multi_host:
        keras.distribution.initialize()
    if mode == "none":
        yield
        return
    previous = keras.distribution.distribution()
    devices = keras.distribution.list_devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    try:
        yield
    except ValueError as error:
        size = backend.unsplit_batch_size(error)
        if size is None:
            raise
        raise UsageError(f"--distribute data_parallel cannot split a batch of "
                         f"{size or 'some'} examples over {len(devices)} "
                         "devices; choose a --batch-size they divide, or --distribute none"
                         ) from None
    finally:
        keras.distribution.set_distribution(previous)
