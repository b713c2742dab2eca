"""A run's `history.csv`, one row per epoch: read it, and plot its learning
curves. Keras-free, so that reports are written without starting a backend."""

import csv
import math

from matplotlib.figure import Figure


def _number(text):
    try:
        return float(text)
    except ValueError:  # CSVLogger's 'NA', or a cell cut short
        return math.nan


def read_history(path):
    """Reads a `history.csv` into a dict of column name to list of floats
    (NaN where CSVLogger wrote 'NA'). A row with too few or too many cells,
    as a kill in the middle of a write leaves, is skipped."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.DictReader(f)
        rows = [row for row in reader if None not in row and None not in row.values()]
    return {key: [_number(row[key]) for row in rows] for key in rows[0]} if rows else {}


def epoch_numbers(history):
    """The epochs of a `read_history` dict, counted from 1 (its rows, where
    it has no `epoch` column)."""
    if "epoch" in history:
        return [epoch + 1 for epoch in history["epoch"]]
    return list(range(1, len(next(iter(history.values()), [])) + 1))


def curve_panels(history):
    """The panels of `plot_learning_curves` for a `read_history` dict: a
    list of `(name, twin)`, one per metric, where `twin` names its
    validation column, or is `None` when it has none or only NaNs."""
    panels = []
    for name in history:
        if name in ("epoch", "learning_rate", "seconds") or (
                name.startswith("val_") and name[len("val_"):] in history):
            continue
        twin = f"val_{name}"
        has_values = any(not math.isnan(v) for v in history.get(twin, ()))
        panels.append((name, twin if has_values else None))
    return panels


def plot_learning_curves(csv_path, png_path):
    """Plots each metric with its validation twin, one panel per metric (a
    validation metric without a twin, such as a GAN's `val_fid`, on its own).

    Args:
        csv_path: a `history.csv` written by `LearningCurves`.
        png_path: where to write the PNG.
    """
    history = read_history(csv_path)
    panels = curve_panels(history)
    if not panels:
        return
    epochs = epoch_numbers(history)
    fig = Figure(figsize=(5 * len(panels), 3.8), layout="constrained")
    for ax, (name, twin) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
        ax.plot(epochs, history[name], "o-",
                label="validation" if name.startswith("val_") else "train")
        if twin:
            ax.plot(epochs, history[twin], "s-", label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.savefig(png_path, dpi=100)
