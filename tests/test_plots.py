"""Pictures: each plot writes a PNG of the size its figure says, and the
2-D projection is PCA."""

import numpy as np
import pytest
from PIL import Image

from kerasdl import plots

PNG = b"\x89PNG\r\n\x1a\n"
RNG = np.random.default_rng(0)


def png_size(path):
    """The (width, height) of the PNG at `path`, after checking its header."""
    assert path.read_bytes()[:8] == PNG
    return Image.open(path).size


def dark_pixels(path):
    return int((np.asarray(Image.open(path).convert("L")) < 32).sum())


def test_image_grid_is_one_row_per_array(tmp_path):
    rows = [np.zeros((3, 4, 4, 1)), np.zeros((3, 4, 4))]
    plots.image_grid(rows, tmp_path / "black.png", row_titles=["input", "output"],
                     title="Reconstructions")
    # 0.8 inch a column and 0.85 a row, plus margins, at 100 dpi.
    assert png_size(tmp_path / "black.png") == (360, 210)
    plots.image_grid([np.zeros((5, 4, 4, 1))], tmp_path / "wide.png")
    assert png_size(tmp_path / "wide.png") == (520, 125)
    # The images are drawn on a [0, 1] gray scale: black ones darken the
    # grid, white ones leave only the frames dark.
    plots.image_grid([np.ones((3, 4, 4, 1)), np.ones((3, 4, 4))], tmp_path / "white.png",
                     row_titles=["input", "output"], title="Reconstructions")
    assert dark_pixels(tmp_path / "black.png") > 5 * dark_pixels(tmp_path / "white.png")


def test_scatter_2d(tmp_path):
    points = RNG.normal(size=(30, 2))
    labels = np.arange(30) % 3
    plots.scatter_2d(points, labels, tmp_path / "named.png", class_names=["a", "b", "c"],
                     title="Codes")
    plots.scatter_2d(points, labels, tmp_path / "numbered.png")
    assert png_size(tmp_path / "named.png") == png_size(tmp_path / "numbered.png") == (650, 550)
    assert (tmp_path / "named.png").read_bytes() != (tmp_path / "numbered.png").read_bytes()


def test_word_map(tmp_path):
    plots.word_map(RNG.normal(size=(5, 2)), ["one", "two", "three", "four", "five"],
                   tmp_path / "words.png", title="Neighbours")
    assert png_size(tmp_path / "words.png") == (700, 600)


def test_accuracy_by_labels(tmp_path):
    results = [{"mode": mode, "examples": examples, "test_accuracy": accuracy}
               for mode, examples, accuracy in [("scratch", 100, 0.5), ("scratch", 10, 0.3),
                                                ("frozen", 10, 0.6), ("frozen", 100, 0.8),
                                                ("other", 10, 0.1)]]
    plots.accuracy_by_labels(results, ["scratch", "frozen"], tmp_path / "labels.png", 10,
                             title="Few labels")
    assert png_size(tmp_path / "labels.png") == (600, 450)


def test_pca_2d_is_centred_with_the_largest_variance_first():
    # Anisotropic 4-D data, rotated at random and moved off the origin.
    rotation, _ = np.linalg.qr(RNG.normal(size=(4, 4)))
    x = (RNG.normal(size=(500, 4)) * [5.0, 2.0, 1.0, 0.5]) @ rotation + 3.0
    points = plots.pca_2d(x)
    assert points.shape == (500, 2)
    np.testing.assert_allclose(points.mean(axis=0), 0.0, atol=1e-9)
    variances = np.linalg.eigvalsh(np.cov(x, rowvar=False))[::-1]
    np.testing.assert_allclose(np.var(points, axis=0, ddof=1), variances[:2], rtol=1e-9)
    assert np.cov(points, rowvar=False)[0, 1] == pytest.approx(0.0, abs=1e-9)
    # No unit direction has more variance than the first axis.
    directions = RNG.normal(size=(100, 4))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    centred = x - x.mean(axis=0)
    assert (np.var(centred @ directions.T, axis=0, ddof=1) <= variances[0] + 1e-9).all()


def test_pca_2d_of_diverged_features_is_nan_and_still_plots(tmp_path):
    x = np.ones((5, 3))
    x[2, 1] = np.inf
    points = plots.pca_2d(x)
    assert points.shape == (5, 2) and np.isnan(points).all()
    plots.scatter_2d(points, np.arange(5) % 2, tmp_path / "nan.png")
    assert (tmp_path / "nan.png").exists()


@pytest.mark.parametrize("shape", [(6, 1), (1, 4)])
def test_pca_2d_of_one_feature_or_one_row_is_a_line_and_still_plots(shape, tmp_path):
    x = np.arange(np.prod(shape), dtype="float32").reshape(shape)
    points = plots.pca_2d(x)
    assert points.shape == (shape[0], 2) and not points[:, 1].any()
    np.testing.assert_allclose(np.abs(points[:, 0]), np.abs(x[:, 0] - x[:, 0].mean()))
    plots.scatter_2d(points, np.arange(shape[0]) % 2, tmp_path / "line.png")
    assert (tmp_path / "line.png").exists()


def test_pca_2d_keeps_the_distances_of_points_on_a_plane():
    plane, _ = np.linalg.qr(RNG.normal(size=(5, 2)))
    coordinates = RNG.normal(size=(20, 2)) * [3.0, 1.0]
    points = plots.pca_2d(coordinates @ plane.T - 7.0)

    def distances(p):
        return np.linalg.norm(p[:, None] - p[None], axis=-1)

    np.testing.assert_allclose(distances(points), distances(coordinates), atol=1e-9)


def test_pca_2d_flattens_images():
    images = RNG.random((10, 3, 3, 1))
    np.testing.assert_allclose(plots.pca_2d(images), plots.pca_2d(images.reshape(10, 9)))
