"""Shared fixtures. The backend is fixed per process by $KERAS_BACKEND:
`tests/run.sh` runs this suite once per backend."""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if "KERASDL_DATA_DIR" not in os.environ and SHARED_DATA.exists():
    os.environ["KERASDL_DATA_DIR"] = str(SHARED_DATA)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture
def tiny_split():
    """A learnable 2-class task on 8x8 images: class 1 has a bright left half."""
    rng = np.random.default_rng(0)

    def make(n):
        y = rng.integers(0, 2, n).astype("int32")
        x = rng.random((n, 8, 8, 1), dtype=np.float32) * 0.5
        x[y == 1, :, :4] += 0.5
        return x, y

    return make(256), make(64), make(64)


def in_data_dir(*parts):
    """Whether $KERASDL_DATA_DIR holds the file or folder `parts`."""
    return Path(os.environ.get("KERASDL_DATA_DIR", "/nonexistent"), *parts).exists()


def local_mnist():
    """Whether $KERASDL_DATA_DIR holds MNIST (else the loaders download it,
    or fall back to scikit-learn's digits)."""
    return in_data_dir("keras-datasets", "mnist.npz")


@pytest.fixture
def has_mnist():
    """MNIST, or what a newcomer without it gets: a download, or else the
    offline fallback, scikit-learn's digits (in the `dev` extra)."""
    if not local_mnist() and importlib.util.find_spec("sklearn") is None:
        pytest.skip("needs $KERASDL_DATA_DIR with keras-datasets/mnist.npz, or scikit-learn")


@pytest.fixture
def full_mnist():
    """For tests that need MNIST itself: the offline fallback is another,
    much smaller dataset."""
    if not local_mnist():
        pytest.skip("needs MNIST itself in $KERASDL_DATA_DIR/keras-datasets/mnist.npz "
                    "(the offline fallback is another dataset)")


@pytest.fixture
def has_fashion_mnist():
    if not in_data_dir("keras-datasets", "fashion-mnist"):
        pytest.skip("needs $KERASDL_DATA_DIR with keras-datasets/fashion-mnist/")


@pytest.fixture
def has_usps():
    if not in_data_dir("usps", "usps.h5"):
        pytest.skip("needs $KERASDL_DATA_DIR with usps/usps.h5")


@pytest.fixture
def has_omniglot():
    for name in ("images_background_small1.zip", "images_background_small2.zip",
                 "all_runs.zip"):
        if not in_data_dir("omniglot", name):
            pytest.skip(f"needs $KERASDL_DATA_DIR with omniglot/{name}")


@pytest.fixture
def has_planetoid():
    if not in_data_dir("planetoid", "ind.cora.x"):
        pytest.skip("needs $KERASDL_DATA_DIR with planetoid/")


@pytest.fixture
def has_polarity():
    if not in_data_dir("text", "rt-polarity.pos"):
        pytest.skip("needs $KERASDL_DATA_DIR with text/rt-polarity.{pos,neg}")


@pytest.fixture
def toy_corpus(tmp_path):
    """A corpus with structure: numbers follow 'count', colours follow
    'paint', so each group shares its contexts."""
    rng = np.random.default_rng(0)
    numbers = "one two three four five".split()
    colours = "red green blue black white".split()
    words = []
    for _ in range(3000):
        if rng.random() < 0.5:
            words += ["count", "to", rng.choice(numbers), "now"]
        else:
            words += ["paint", "it", rng.choice(colours), "please"]
    path = tmp_path / "toy.txt"
    path.write_text(" ".join(words) + "\n")
    return path


def _figures(value, path=""):
    """The numbers in a run's metrics, by their key path, but for those that
    measure time, speed or memory."""
    if isinstance(value, dict):
        return {key: number for k, v in value.items()
                for key, number in _figures(v, f"{path}/{k}").items()}
    if isinstance(value, list):
        return {key: number for i, v in enumerate(value)
                for key, number in _figures(v, f"{path}/{i}").items()}
    timing = any(word in path for word in ("seconds", "per_second", "rss", "time"))
    return {path: value} if isinstance(value, (int, float)) and not timing else {}


@pytest.fixture
def assert_same_figures():
    """Asserts that two runs' metrics hold the same numbers within 1e-6,
    times and memory aside (determinism); NaN matches NaN, as a lab's
    diverging run reports it both times."""

    def check(first, second):
        first, second = _figures(first), _figures(second)
        assert first.keys() == second.keys() and len(first) > 3
        for key in first:
            assert second[key] == pytest.approx(first[key], abs=1e-6, nan_ok=True), key

    return check
