"""Domain adaptation: the gradient reversal layer, the two-domain batches,
the USPS loaders, and a dry run of the app."""

import bz2
import json
import math

import keras
import numpy as np
import pytest
from keras import ops

from kerasdl import backend, cards, cli, data
from kerasdl.data.images import read_libsvm_usps
from kerasdl.errors import UsageError
from kerasdl.models.batches import DomainBatches
from kerasdl.models.domain import GradientReversal


def schedule(progress):
    return 2 / (1 + math.exp(-10 * progress)) - 1


@pytest.mark.parametrize("step", [0, 25, 100, 400])
def test_gradient_reversal_is_the_identity_forward_and_minus_lambda_backward(step):
    layer = GradientReversal(total_steps=100)
    layer.step.assign(step)
    x = np.linspace(-2, 3, 12, dtype="float32").reshape(3, 4)
    weights = np.arange(12, dtype="float32").reshape(3, 4)
    np.testing.assert_allclose(ops.convert_to_numpy(layer(x)), x, atol=1e-6)  # rounding aside
    grad = backend.input_gradient(lambda x: ops.sum(ops.multiply(layer(x), weights)), x)
    strength = schedule(min(step / 100, 1.0))
    assert float(layer.strength()) == pytest.approx(strength, abs=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(grad), -strength * weights, atol=1e-5)


def test_gradient_reversal_counts_training_steps_in_fit():
    keras.utils.set_random_seed(0)
    reversal = GradientReversal(total_steps=10)
    model = keras.Sequential([keras.Input((3,)), reversal, keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(np.ones((20, 3)), np.ones(20), batch_size=5, epochs=2, verbose=0)
    assert float(reversal.step) == 8
    model.predict(np.ones((5, 3)), verbose=0)  # inference counts nothing
    assert float(reversal.step) == 8
    assert GradientReversal.from_config(reversal.get_config()).total_steps == 10


def test_domain_batches_hold_half_of_each_domain_and_weigh_the_labelled_half():
    source = (np.zeros((10, 2, 2, 1), "float32"), np.arange(10) % 3)
    target = (np.ones((3, 2, 2, 1), "float32"), np.array([7, 8, 9]))
    batches = DomainBatches(source, target, batch_size=4, labelled="target", seed=0)
    assert len(batches) == 5  # every source image once, the target ones cycled
    seen = []
    for i in range(len(batches)):
        x, y, weights = batches[i]
        np.testing.assert_array_equal(x[:, 0, 0, 0], [0, 0, 1, 1])
        np.testing.assert_array_equal(y["domain"], [0, 0, 1, 1])
        np.testing.assert_array_equal(weights["label"], [0, 0, 2, 2])
        assert set(y["label"][2:]) <= {7, 8, 9}
        seen += list(y["label"][:2])
    assert sorted(seen) == sorted(source[1])
    _, _, weights = DomainBatches(source, target, 4)[0]
    np.testing.assert_array_equal(weights["label"], [2, 2, 0, 0])


def test_domain_batches_refuse_a_batch_of_one_and_cap_a_batch_over_the_data():
    source = (np.zeros((10, 2, 2, 1), "float32"), np.arange(10) % 3)
    target = (np.ones((3, 2, 2, 1), "float32"), np.array([7, 8, 9]))
    with pytest.raises(UsageError, match="Bad batch size: 1. Half of each batch"):
        DomainBatches(source, target, batch_size=1)
    batches = DomainBatches(source, target, batch_size=100_000)
    x, y, weights = batches[0]
    assert len(batches) == 1 and len(x) == len(weights["label"]) == 20
    assert sorted(y["label"][:10]) == sorted(source[1])


def test_libsvm_usps_files_are_read_as_digits_in_the_unit_range(tmp_path):
    path = tmp_path / "usps.bz2"
    path.write_bytes(bz2.compress(b"1 1:-1 2:1 256:0\n10 3:0.5\n"))
    x, y = read_libsvm_usps(path)
    assert x.shape == (2, 16, 16) and list(y) == [0, 9]
    assert (x[0, 0, :2].tolist(), x[0, -1, -1], x[1, 0, 2]) == ([0.0, 1.0], 0.5, 0.75)
    path.write_bytes(b"not bzip2")
    with pytest.raises(UsageError, match="damaged or not a LIBSVM USPS file"):
        read_libsvm_usps(path)


def test_usps_has_the_standard_split(has_usps):
    usps = data.load_images("usps", validation_size=0.1)
    assert (len(usps.x_train) + len(usps.x_val), len(usps.x_test)) == (7291, 2007)
    assert usps.input_shape == (16, 16, 1) and usps.x_train.dtype == np.float32
    assert 0 <= usps.x_test.min() and usps.x_test.max() <= 1
    assert np.bincount(usps.y_test).tolist()[:3] == [359, 264, 198]


def test_dry_run_writes_the_results_and_a_loadable_model_per_direction(
        tmp_path, has_mnist, has_usps, assert_same_figures):
    app = cli.load_app("domain_adaptation")

    def dry_run(output_dir):
        return app.main(["--dry-run", "--backend", keras.backend.backend(),
                         "--output-dir", str(output_dir)])

    metrics = dry_run(tmp_path)
    assert json.loads((tmp_path / "metrics.json").read_text()) == json.loads(
        json.dumps(metrics))
    assert [row["direction"] for row in metrics["results"]] == ["mnist → usps", "usps → mnist"]
    for row in metrics["results"]:
        assert {"source-only", "DANN", "target-supervised"} <= set(row)
        assert row["source images"] == 256 and row["target images"] == 256
    assert 0 <= metrics["val_target_accuracy"] <= 1
    assert (tmp_path / "features.png").stat().st_size > 5000
    for direction, target in (("mnist_to_usps", "usps"), ("usps_to_mnist", "mnist")):
        model, card = cards.load(tmp_path / direction)
        assert card["app"] == "domain_adaptation" and card["dataset"] == target
        assert model.predict(np.zeros((2, 28, 28, 1)), verbose=0).shape == (2, 10)
    assert_same_figures(metrics, dry_run(tmp_path / "again"))
