import numpy as np
import pytest

from kerasdl.corruptions import CORRUPTIONS, MNIST_C_SEVERITY, corrupt
from kerasdl.errors import UsageError


@pytest.fixture(scope="module")
def digits():
    """Four 28x28 'digits': a bright bar on black, thick enough to blur."""
    images = np.zeros((4, 28, 28, 1), np.float32)
    images[:, 6:22, 12:16] = 1.0
    images[1, 6:10, 8:20] = 1.0
    return images


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_every_corruption_keeps_shape_and_range_changes_images_and_follows_its_seed(
        digits, name):
    out = corrupt(digits, name, seed=1)
    assert out.shape == digits.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert np.abs(out - digits).mean() > 1e-3
    np.testing.assert_array_equal(out, corrupt(digits, name, seed=1))
    assert corrupt(digits[..., 0], name, seed=1).shape == digits.shape[:3]


@pytest.mark.parametrize("name", ["shot_noise", "impulse_noise", "glass_blur", "motion_blur",
                                  "scale", "rotate", "brightness", "translate"])
def test_a_higher_severity_changes_the_images_more(digits, name):
    change = [np.abs(corrupt(digits, name, severity, seed=0) - digits).mean()
              for severity in (1, 3, 5)]
    assert change == sorted(change), change


def test_the_geometric_corruptions_move_the_digit_as_described(digits):
    bar = digits[:1, ..., 0]
    # Scale 5 halves the bar's 16-pixel height about the centre.
    rows = np.flatnonzero(corrupt(bar, "scale", 5)[0].max(axis=1) > 0.5)
    assert 8 - 1 <= len(rows) <= 8 + 1 and abs(rows.mean() - 13.5) < 1
    # Translate shifts by `severity` pixels along each axis.
    moved = corrupt(bar, "translate", 2)[0]
    shifts = {(dr, dc) for dr in (-2, 2) for dc in (-2, 2)
              if np.allclose(np.roll(bar[0], (dr, dc), axis=(0, 1)), moved)}
    assert len(shifts) == 1
    # A rotation keeps the ink (the bar stays inside the image).
    assert corrupt(bar, "rotate", 2).sum() == pytest.approx(bar.sum(), rel=0.05)


def test_stripe_inverts_the_outer_quarters_and_brightness_adds(digits):
    out = corrupt(digits, "stripe")
    np.testing.assert_array_equal(out[:, :, :7], 1 - digits[:, :, :7])
    np.testing.assert_array_equal(out[:, :, 7:21], digits[:, :, 7:21])
    np.testing.assert_allclose(corrupt(digits, "brightness", 2), np.minimum(digits + 0.2, 1))


def test_canny_edges_outline_the_bar(digits):
    edges = corrupt(digits[:1], "canny_edges")[0, ..., 0]
    assert set(np.unique(edges)) == {0.0, 1.0}
    assert edges[14, 11] + edges[14, 12] >= 1 and edges[14, 15] + edges[14, 16] >= 1
    assert edges[14, 2] == 0 and edges[14, 13:15].sum() == 0


def test_impulse_noise_hits_about_its_fraction_of_pixels():
    blank = np.full((50, 28, 28), 0.5, np.float32)
    hit = np.mean(corrupt(blank, "impulse_noise", 4) != 0.5)
    assert hit == pytest.approx(0.17, abs=0.01)


def test_bad_names_and_severities_are_one_clear_error(digits):
    with pytest.raises(UsageError, match="Unknown corruption: 'snow'.*shot_noise"):
        corrupt(digits, "snow")
    with pytest.raises(UsageError, match="Invalid severity: 6. Choose one of: 1, 2, 3, 4, 5"):
        corrupt(digits, "fog", 6)


def test_mnist_c_severities_name_only_corruptions_with_a_strength():
    assert set(MNIST_C_SEVERITY) < set(CORRUPTIONS)
    assert set(CORRUPTIONS) - set(MNIST_C_SEVERITY) == {
        "stripe", "dotted_line", "zigzag", "canny_edges"}
