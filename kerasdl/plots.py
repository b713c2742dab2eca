"""Pictures that say more than a number: image grids and 2-D scatters.

matplotlib's object-oriented API (`Figure`) draws without a display and
without touching global state.
"""

import numpy as np
from matplotlib.figure import Figure


def image_grid(rows, path, row_titles=None, title=None, captions=None):
    """Writes a grid of images to a PNG, one row per array.

    Args:
        rows: arrays of images, each `(n, height, width[, channels])` with
            values in [0, 1]; all rows show `n` images.
        path: where to write the PNG.
        row_titles: a label for each row, or `None`.
        title: the figure title, or `None`.
        captions: a text under each image, as rows of `n` strings (a row may
            be `None`), or `None`.
    """
    n = len(rows[0])
    fig = Figure(figsize=(n * 0.8 + 1.2, len(rows) * (1.05 if captions else 0.85) + 0.4),
                 layout="constrained")
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, images in enumerate(rows):
        for c in range(n):
            image = np.asarray(images[c])
            if image.ndim == 3 and image.shape[-1] == 1:
                image = image[..., 0]
            axes[r, c].imshow(image, cmap="gray", vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if captions and captions[r] is not None:
                axes[r, c].set_xlabel(captions[r][c], fontsize="small")
        if row_titles:
            axes[r, 0].set_ylabel(row_titles[r], rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)


def attack_grid(clean, attacked, predict, path, titles, title=None):
    """Writes a grid of images and their attacked versions, with what a
    model predicts under each: a row of clean images, a row of the first
    attack's change (grey is none), and a row per attack.

    Args:
        clean: images `(n, height, width[, channels])` in [0, 1].
        attacked: a list of arrays like `clean`, one per attack.
        predict: a function from images to the predicted class names.
        path: where to write the PNG.
        titles: a label for each attack's row.
        title: the figure title, or `None`.
    """
    change = attacked[0] - clean
    scale = 2 * max(float(np.abs(change).max()), 1e-12)
    captions = [predict(clean), None, *map(predict, attacked)]
    image_grid([clean, 0.5 + change / scale, *attacked], path,
               ["clean", "change", *titles], title, captions)


def pca_2d(x):
    """Projects the rows of `x` on their two principal components; all NaN
    where `x` holds a NaN or Inf (a diverged model's features). Where `x`
    has one feature (or one row), the second coordinate is 0."""
    x = np.asarray(x, dtype="float64").reshape(len(x), -1)
    if not np.isfinite(x).all():
        return np.full((len(x), 2), np.nan)
    centred = x - x.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[:2].T
    return np.pad(projected, ((0, 0), (0, 2 - projected.shape[1])))


def scatter_2d(points, labels, path, class_names=None, title=None):
    """Writes a 2-D scatter of `points` coloured by `labels` to a PNG.

    Args:
        points: `(n, 2)` coordinates.
        labels: `(n,)` int class labels.
        path: where to write the PNG.
        class_names: the legend's names for the labels, or `None`.
        title: the plot title, or `None`.
    """
    scatter_panels({title: (points, labels)}, path, class_names)


def scatter_panels(panels, path, class_names=None, title=None):
    """Writes 2-D scatters side by side to a PNG, each coloured by its labels.

    Args:
        panels: a dict from each panel's title (or `None`) to its
            `(points, labels)`: `(n, 2)` coordinates and `(n,)` int labels.
        path: where to write the PNG.
        class_names: the legend's names for the labels, or `None`.
        title: the figure title, or `None`.
    """
    fig = Figure(figsize=(1 + 5.5 * len(panels), 5.5), layout="constrained")
    for ax, (name, (points, labels)) in zip(fig.subplots(1, len(panels), squeeze=False)[0],
                                            panels.items()):
        for label in np.unique(labels):
            keep = labels == label
            ax.scatter(points[keep, 0], points[keep, 1], s=3, alpha=0.6,
                       label=class_names[label] if class_names else str(label))
        ax.legend(markerscale=4, fontsize="small", loc="best")
        if name:
            ax.set_title(name)
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)


def word_map(points, words, path, title=None):
    """Writes a 2-D map of `words` placed at `points` `(n, 2)` to a PNG."""
    fig = Figure(figsize=(7, 6), layout="constrained")
    ax = fig.subplots()
    ax.scatter(points[:, 0], points[:, 1], s=8, color="tab:blue")
    for (x, y), word in zip(points, words):
        ax.annotate(word, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=8)
    if title:
        ax.set_title(title)
    fig.savefig(path, dpi=100)


def accuracy_by_labels(results, modes, path, num_classes, title=None):
    """Writes test accuracy against labelled examples per class (log
    scale), one line per mode, to a PNG.

    Args:
        results: dicts with `mode`, `examples` and `test_accuracy`.
        modes: the modes to draw, in legend order.
        path: where to write the PNG.
        num_classes: turns `examples` into examples per class.
        title: the plot title, or `None`.
    """
    fig = Figure(figsize=(6, 4.5), layout="constrained")
    ax = fig.subplots()
    for mode in modes:
        points = sorted((r["examples"] / num_classes, 100 * r["test_accuracy"])
                        for r in results if r["mode"] == mode)
        ax.plot(*zip(*points), marker="o", label=mode)
    ax.set_xscale("log")
    ax.set_xlabel("labelled examples per class")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    fig.savefig(path, dpi=100)


def attention_maps(sentences, weights, path, titles=None, title=None):
    """Writes one heat map per sentence of how much each word attends to
    each other word to a PNG.

    Args:
        sentences: lists of words.
        weights: for each sentence, an `(n, n)` array whose row i holds the
            attention of word i on each word (n at least its length).
        path: where to write the PNG.
        titles: a title for each map, or `None`.
        title: the figure title, or `None`.
    """
    fig = Figure(figsize=(4.6 * len(sentences), 4.6), layout="constrained")
    axes = fig.subplots(1, len(sentences), squeeze=False)[0]
    for i, (ax, words, w) in enumerate(zip(axes, sentences, weights)):
        n = len(words)
        ax.imshow(np.asarray(w)[:n, :n], cmap="viridis", vmin=0)
        ax.set_xticks(range(n), words, rotation=90, fontsize=8)
        ax.set_yticks(range(n), words, fontsize=8)
        ax.set_xlabel("attended word")
        if titles:
            ax.set_title(titles[i], fontsize=9)
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)
