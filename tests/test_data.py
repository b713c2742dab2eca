import gzip
import io

import numpy as np
import pytest

from kerasdl import data
from kerasdl.data import images, load_images
from kerasdl.errors import UsageError


def test_mnist_from_the_data_directory(full_mnist):
    data = load_images("mnist", validation_size=5000, seed=1)
    assert data.source.endswith("mnist.npz")
    assert data.x_train.shape == (55000, 28, 28, 1) and data.x_train.dtype == np.float32
    assert data.x_val.shape == (5000, 28, 28, 1)
    assert data.x_test.shape == (10000, 28, 28, 1)
    # Pixels 0..255 scaled by 1/255: black is 0, white is 1, nothing between levels.
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    levels = data.x_test[:100] * 255
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)
    assert len(np.unique(np.round(levels))) > 200
    assert data.num_classes == 10 and data.input_shape == (28, 28, 1)
    assert set(np.unique(data.y_val)) == set(range(10))


def test_validation_split_is_seeded(full_mnist):
    a = load_images("mnist", validation_size=0.1, seed=3)
    b = load_images("mnist", validation_size=0.1, seed=3)
    c = load_images("mnist", validation_size=0.1, seed=4)
    assert len(a.x_val) == 6000
    np.testing.assert_array_equal(a.x_val, b.x_val)
    assert not np.array_equal(a.x_val, c.x_val)


def test_fashion_mnist_reads_the_idx_files(has_fashion_mnist):
    data = load_images("fashion_mnist", validation_size=100)
    assert data.x_train.shape == (59900, 28, 28, 1)
    assert data.class_names[9] == "Ankle boot"
    head = data.head(train=8, val=4, test=2)
    assert (len(head.x_train), len(head.x_val), len(head.x_test)) == (8, 4, 2)


def test_unknown_dataset():
    with pytest.raises(UsageError, match="Unknown dataset: 'cifar10'. Choose one of: mnist"):
        load_images("cifar10")


def test_offline_without_a_local_copy_falls_back_with_a_warning(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path))
    monkeypatch.setitem(images.IMAGE_DATASETS["mnist"], "download", lambda: None)
    with pytest.warns(UserWarning, match="falling back to scikit-learn"):
        data = load_images("mnist", validation_size=100)
    assert "NOT MNIST" in data.source
    assert data.x_train.shape[1:] == (28, 28, 1)
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 1797
    # The default validation size would leave nothing to train on.
    with pytest.warns(UserWarning) as warned:
        small = load_images("mnist")
    assert "holding out 143 for validation instead of 5000" in str(warned[-1].message)
    assert len(small.x_val) == 143 and len(small.x_train) == 1294


def test_nothing_found_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path))
    spec = images.IMAGE_DATASETS["mnist"]
    for step in ("download", "fallback"):
        monkeypatch.setitem(spec, step, lambda: None)
    with pytest.raises(UsageError, match="Cannot find mnist: set \\$KERASDL_DATA_DIR"):
        load_images("mnist")


def test_pixel_clusters_group_similar_images():
    rng = np.random.default_rng(0)
    dark = rng.random((30, 8, 8, 1)) * 0.1
    light = 0.9 + rng.random((20, 8, 8, 1)) * 0.1
    clusters = data.pixel_clusters(np.concatenate([dark, light]), 2, seed=0)
    assert clusters.dtype == np.int32
    assert len(set(clusters[:30])) == 1 and len(set(clusters[30:])) == 1
    assert clusters[0] != clusters[-1]
    with pytest.raises(UsageError, match="Cannot make 60 clusters of 50 images"):
        data.pixel_clusters(np.concatenate([dark, light]), 60)


def test_labels_per_class():
    y = np.repeat(np.arange(3), [5, 10, 2])
    picked = data.labels_per_class(y, 4, seed=0)
    assert np.bincount(y[picked]).tolist() == [4, 4, 2]
    np.testing.assert_array_equal(picked, data.labels_per_class(y, 4, seed=0))


def test_select_classes_relabels_from_zero():
    y = np.array([0, 5, 7, 9, 5, 2], "int32")
    x = np.arange(len(y), dtype="float32")[:, None]
    images = data.ImageData("d", "s", tuple("abcdefghij"), x, y, x, y, x, y)
    picked = images.select_classes([5, 9], "d_5_9")
    assert picked.class_names == ("f", "j")
    np.testing.assert_array_equal(picked.y_train, [0, 1, 0])
    np.testing.assert_array_equal(picked.x_train[:, 0], [1, 3, 4])


def _damage(tmp_path, monkeypatch, name, content):
    path = tmp_path / "keras-datasets" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path))
    for spec in images.IMAGE_DATASETS.values():  # nothing else may be used instead
        for step in ("download", "fallback"):
            monkeypatch.setitem(spec, step, lambda: pytest.fail("fell back"))
    return path


def test_a_truncated_mnist_npz_is_one_line_naming_it(tmp_path, monkeypatch):
    buffer = io.BytesIO()
    np.savez(buffer, x_train=np.zeros((10, 28, 28), np.uint8))
    path = _damage(tmp_path, monkeypatch, "mnist.npz", buffer.getvalue()[:300])
    with pytest.raises(UsageError, match=f"^{path} is damaged or not the expected file "):
        load_images("mnist")


@pytest.mark.parametrize(
    "content",
    [b"garbage, not gzip", gzip.compress(b"\0\0\x08\x03\0", mtime=0)],
    ids=["not gzip", "truncated idx"],
)
def test_a_damaged_fashion_mnist_file_is_one_line_naming_it(tmp_path, monkeypatch, content):
    path = _damage(tmp_path, monkeypatch, "fashion-mnist/train-images-idx3-ubyte.gz", content)
    for other in images.IDX_FILES[1:]:
        (path.parent / other).write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\1\7"))
    with pytest.raises(UsageError, match=f"^{path} is damaged or not the expected file "):
        load_images("fashion_mnist")
