"""Multi-task learning: the rotation batches, and a dry run of the app."""

import json

import keras
import numpy as np

from kerasdl import cards, cli
from kerasdl.models.batches import RotationBatches


def test_rotation_batches_turn_the_second_half_and_label_each_half_for_its_head():
    rng = np.random.default_rng(0)
    images = rng.random((12, 5, 5, 1)).astype("float32")
    labelled = (images[:3], np.array([4, 5, 6]))
    batches = RotationBatches(labelled, images, batch_size=8, seed=0)
    assert len(batches) == 3  # every image turned once an epoch, the labelled ones cycled
    turns = []
    for i in range(len(batches)):
        x, y, weights = batches[i]
        assert x.shape == (8, 5, 5, 1) and set(y["label"][:4]) <= {4, 5, 6}
        for image, label in zip(x[:4], y["label"][:4]):  # upright, with their labels
            np.testing.assert_array_equal(image, labelled[0][label - 4])
        for image, k in zip(x[4:], y["rotation"][4:]):  # a training image, turned k times
            assert any(np.array_equal(image, np.rot90(source, k)) for source in images)
        turns += list(y["rotation"][4:])
        np.testing.assert_array_equal(weights["label"], [2] * 4 + [0] * 4)
        np.testing.assert_array_equal(weights["rotation"], [0] * 4 + [2] * 4)
    assert set(turns) == {0, 1, 2, 3}


def test_dry_run_writes_the_results_and_the_multi_task_net(tmp_path, has_mnist,
                                                           assert_same_figures):
    app = cli.load_app("multi_task")

    def dry_run(output_dir):
        return app.main(["--dry-run", "--backend", keras.backend.backend(), "--seeds", "2",
                         "--labels-per-class", "5", "--output-dir", str(output_dir)])

    metrics = dry_run(tmp_path)
    assert json.loads((tmp_path / "metrics.json").read_text()) == json.loads(
        json.dumps(metrics))
    assert [row["seed"] for row in metrics["results"]] == [0, 1]
    for row in metrics["results"]:
        assert row["labelled images"] == 50
        assert row["gain"] == row["multi-task"] - row["single-task"]
    assert 0 <= metrics["val_accuracy"] <= 1
    assert (tmp_path / "accuracy.png").stat().st_size > 5000
    model, card = cards.load(tmp_path / "multi-task")
    assert card["app"] == "multi_task" and card["metrics"]["labels_per_class"] == 5
    assert model.predict(np.zeros((2, 28, 28, 1)), verbose=0).shape == (2, 10)
    assert_same_figures(metrics, dry_run(tmp_path / "again"))
