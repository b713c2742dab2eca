"""TensorBoard logs of a run started with `--tensorboard`.

`flags.run_app` opens `logging_to(OUTPUT/tensorboard)` around such a run
(a notebook calls `start_logging`).
While it is open, `tensorboard(name)` gives each fit of the run a
`keras.callbacks.TensorBoard` that writes `train/` and `validation/` event
files under OUTPUT/tensorboard/NAME, so that `tensorboard --logdir runs/`
shows every run's curves. Outside it, `tensorboard(name)` gives none.
"""

import contextlib
import re
from pathlib import Path

import keras

_logging = {"folder": None, "names": set()}  # the run that logs now, and its fits' names


def start_logging(folder):
    """Logs the fits that ask for `tensorboard(...)` from now on under
    `folder` (a notebook's run); `None` logs none."""
    _logging.update(folder=folder and Path(folder), names=set())


@contextlib.contextmanager
def logging_to(folder):
    """Logs the fits that ask for `tensorboard(...)` inside the block under
    `folder`; `None` logs none."""
    start_logging(folder)
    try:
        yield
    finally:
        start_logging(None)


def log_folder():
    """The folder of the TensorBoard logs of the run in progress, or `None`."""
    return _logging["folder"]


def tensorboard(name=""):
    """The callbacks that log a fit to TensorBoard: a list holding one
    `keras.callbacks.TensorBoard`, or an empty list outside `logging_to`.

    Args:
        name: the fit's subfolder of the logs, such as a lab's variant
            ("dropout 0.5"; spaces and symbols become "_", and a name used
            twice gets "-2"); "" logs into the folder itself.
    """
    folder = log_folder()
    if folder is None:
        return []
    base = re.sub(r"[^\w.=-]+", "_", name).strip("_")
    unique, count = base, 1
    while unique in _logging["names"]:
        count += 1
        unique = f"{base}-{count}"
    _logging["names"].add(unique)
    return [keras.callbacks.TensorBoard(str(folder / unique), write_graph=False)]
