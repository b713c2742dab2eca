"""Where datasets are looked for: the data directory setting."""

import os
from pathlib import Path

DATA_DIR_ENV = "KERASDL_DATA_DIR"


def data_dir():
    """Returns the data directory named by `$KERASDL_DATA_DIR`, or `None`.

    The directory is laid out like `~/.keras/datasets` under
    `keras-datasets/` (`keras-datasets/mnist.npz`,
    `keras-datasets/fashion-mnist/*.gz`), with other kinds of data beside it.
    """
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value).expanduser() if value else None


def local_file(*parts):
    """Returns the path of `parts` under the data directory if it exists."""
    root = data_dir()
    if root is None:
        return None
    path = root.joinpath(*parts)
    return path if path.exists() else None
