"""Saved models and their cards.

A saved model is a folder holding `model.keras` and `card.json`, the card
being a JSON record of what the model is and how it was made: app, dataset,
class names, input shape, dtype and preprocessing, metrics, backend, Keras
version, seed, and the exact command that recreates it. Models are always
loaded with `safe_mode=True`.
"""

import json
import zipfile
from pathlib import Path

import keras

from kerasdl.errors import UsageError

MODEL_FILE = "model.keras"
CARD_FILE = "card.json"
CARD_KEYS = ("app", "dataset", "class_names", "input_shape", "dtype", "preprocessing",
             "metrics", "backend", "keras_version", "seed", "command")


def make_card(model, *, app, dataset, class_names, preprocessing, metrics, seed, command):
    """Returns the card of `model` as a dict with the keys `CARD_KEYS` (and
    `params`); the backend and Keras version are the running ones."""
    return {
        "app": app,
        "dataset": dataset,
        "class_names": list(class_names),
        "input_shape": list(model.input_shape[1:]),
        "dtype": model.inputs[0].dtype,
        "preprocessing": preprocessing,
        "metrics": metrics,
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "seed": seed,
        "command": command,
        "params": model.count_params(),
    }


def save(model, folder, card):
    """Saves `model` and its `card` (from `make_card`) into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / MODEL_FILE)
    (folder / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")
    return folder


def read_card(folder):
    """Reads the card of the saved model in `folder`.

    Raises:
        UsageError: when `folder` holds no readable card with the keys
            `CARD_KEYS`.
    """
    path = Path(folder) / CARD_FILE
    try:
        card = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UsageError(f"No readable model card at {path}: {error}") from None
    missing = [key for key in CARD_KEYS if key not in card]
    if missing:
        raise UsageError(f"The model card {path} lacks {', '.join(missing)}")
    return card


def load(path):
    """Loads a saved model folder (or a `.keras` file) with `safe_mode=True`.

    Returns:
        `(model, card)`; `card` is `None` for a `.keras` file without one
        beside it.

    Raises:
        UsageError: when the path does not exist, or is not a Keras model
            that loads safely.
    """
    path = Path(path)
    folder, file = (path, path / MODEL_FILE) if path.is_dir() else (path.parent, path)
    if not file.exists():
        raise UsageError(f"No saved model at {file}")
    try:
        model = keras.saving.load_model(file, safe_mode=True)
    except (ValueError, TypeError, OSError, zipfile.BadZipFile) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(f"Cannot load {file} as a Keras model: {reason}") from None
    card = read_card(folder) if (folder / CARD_FILE).exists() else None
    return model, card
