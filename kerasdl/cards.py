"""Saved models and their cards.

A saved model is a folder holding `model.keras` and `card.json`, the card
being a JSON record of what the model is and how it was made: app, dataset,
class names, input shape, dtype and preprocessing, metrics, backend, Keras
version, seed, and the exact command that recreates it. Models are always
loaded with `safe_mode=True`.

Keras is imported only by the functions that need it, so that reading and
listing cards (`kerasdl models`) starts fast and quietly.
"""

import json
import zipfile
from pathlib import Path

from kerasdl import runs
from kerasdl.errors import UsageError

# The trained models that ship with the package, one folder each.
SHIPPED = Path(__file__).resolve().parent / "saved_models"
MODEL_FILE = "model.keras"
CARD_FILE = "card.json"
CARD_KEYS = ("app", "dataset", "class_names", "input_shape", "dtype", "preprocessing",
             "metrics", "backend", "keras_version", "seed", "command")


# The figures of a `training.fit_and_evaluate` run that a card records.
RUN_METRICS = ("test_accuracy", "test_loss", "train_seconds", "epochs_run", "device")


def run_metrics(metrics):
    """The `RUN_METRICS` entries of `metrics`, for a card."""
    return {key: metrics[key] for key in RUN_METRICS}


def make_card(model, *, app, dataset, class_names, preprocessing, metrics, seed, command):
    """Returns the card of `model` as a dict with the keys `CARD_KEYS`, and
    `params` and `summary` (the lines of `model.summary()`); the backend and
    Keras version are the running ones."""
    import keras

    return {
        "app": app,
        "dataset": dataset,
        "class_names": list(class_names),
        "input_shape": (list(model.inputs[0].shape[1:]) if len(model.inputs) == 1
                        else [list(x.shape[1:]) for x in model.inputs]),
        "dtype": model.inputs[0].dtype,
        "preprocessing": preprocessing,
        "metrics": metrics,
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "seed": seed,
        "command": command,
        "params": model.count_params(),
        "summary": summary_lines(model),
    }


def summary_lines(model):
    """The lines of `model.summary()`: its layers, their output shapes and
    parameter counts."""
    lines = []
    model.summary(print_fn=lambda text, **_: lines.extend(text.splitlines()))
    return lines


def write_card(folder, card):
    """Writes `card` (from `make_card`) into `folder`."""
    runs.write_json(Path(folder) / CARD_FILE, card)


def save(model, folder, card):
    """Saves `model`, without its augmentation (see `for_inference`), and
    its `card` (from `make_card`) into `folder`."""
    from kerasdl.models.classifiers import for_inference

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for_inference(model).save(folder / MODEL_FILE)
    write_card(folder, card)
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


def load(path, unsafe=False):
    """Loads a saved model folder (or a `.keras` file, or the name of a
    shipped model such as `"mnist_vgg"`), in Keras' safe mode unless
    `unsafe`.

    Returns:
        `(model, card)`; `card` is `None` for a `.keras` file without one
        beside it.

    Raises:
        UsageError: when the path does not exist, is not a Keras model, is
            truncated or corrupted, or holds code (a `Lambda` layer) and
            `unsafe` is off.
    """
    import keras

    # Registers kerasdl's layers for loading.
    import kerasdl.autoencoder  # noqa: F401
    import kerasdl.gan  # noqa: F401
    import kerasdl.models  # noqa: F401
    import kerasdl.transfer  # noqa: F401

    path = Path(path)
    if not path.exists() and shipped(str(path)):
        path = shipped(str(path))
    folder, file = (path, path / MODEL_FILE) if path.is_dir() else (path.parent, path)
    if not file.exists():
        raise UsageError(f"No saved model at {file}")
    if not zipfile.is_zipfile(file):
        raise UsageError(f"{file} is not a Keras model file (a .keras file is a zip "
                         "archive); is it truncated or corrupted?")
    try:
        model = keras.saving.load_model(file, safe_mode=not unsafe)
    except Exception as error:  # Keras raises many kinds for a bad file.
        reason = " ".join(str(error).split()) or type(error).__name__
        if "safe_mode" in reason:
            raise UsageError(
                f"{file} holds Python code (a Lambda layer), which could do anything "
                "when loaded, so it is refused; pass --unsafe only if you trust its "
                "source") from None
        raise UsageError(f"Cannot load {file} as a Keras model: {reason[:200]}") from None
    card = read_card(folder) if (folder / CARD_FILE).exists() else None
    return model, card


def shipped(name):
    """The folder of the shipped model `name` (such as `"mnist_vgg"`), or
    `None` when the package has none of that name."""
    folder = SHIPPED / name
    return folder if (folder / CARD_FILE).exists() else None


def find(root):
    """The saved model folders under `root` (those holding a card), sorted."""
    return sorted(path.parent for path in Path(root).glob(f"*/{CARD_FILE}"))


def catalog(root):
    """A markdown table of the saved models under `root`, from their cards."""
    lines = ["| folder | app | dataset | classes | input | test accuracy | params | "
             "size | backend | Keras | command |", "|---|---|---|---:|---|---:|---:|---:|"
             "---|---|---|"]
    for folder in find(root):
        card = read_card(folder)
        accuracy = card["metrics"].get("test_accuracy")
        params = card.get("params")  # not in CARD_KEYS: older cards lack it
        size = (folder / MODEL_FILE).stat().st_size / 2**20
        lines.append(
            f"| `{folder.name}` | {card['app']} | {card['dataset']} | "
            f"{len(card['class_names'])} | {'x'.join(map(str, card['input_shape']))} | "
            f"{'' if accuracy is None else f'{accuracy:.2%}'} | "
            f"{'' if params is None else f'{params:,}'} | "
            f"{size:.1f} MB | {card['backend']} | {card['keras_version']} | "
            f"`{card['command']}` |")
    return "\n".join(lines) + "\n"
