"""Where datasets are looked for: the data directory setting."""

import contextlib
import os
import pickle
import zipfile
from pathlib import Path

from kerasdl.errors import UsageError

DATA_DIR_ENV = "KERASDL_DATA_DIR"


def data_dir():
    """Returns the data directory named by `$KERASDL_DATA_DIR`, or `None`.

    The directory is laid out like `~/.keras/datasets` under
    `keras-datasets/` (`keras-datasets/mnist.npz`,
    `keras-datasets/fashion-mnist/*.gz`), with other kinds of data beside it.
    """
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value).expanduser() if value else None


@contextlib.contextmanager
def reading(path, what="the expected file", fix="replace it with a good copy, or remove it"):
    """Reads the file `path` inside the block: the errors of a damaged file
    (truncated, or not in its format) become one `UsageError` that names it,
    says what it should be (`what`) and how to mend it (`fix`).
    """
    try:
        yield
    except UsageError:
        raise
    except (OSError, EOFError, ValueError, KeyError, IndexError, zipfile.BadZipFile,
            pickle.UnpicklingError) as error:
        reason = " ".join(str(error).split())  # one line, though some errors span two
        raise UsageError(f"{path} is damaged or not {what} ({reason})"
                         + (f"; {fix}" if fix else "")) from None


def local_file(*parts):
    """Returns the path of `parts` under the data directory if it exists."""
    root = data_dir()
    if root is None:
        return None
    path = root.joinpath(*parts)
    return path if path.exists() else None
