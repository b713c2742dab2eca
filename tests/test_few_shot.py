"""Few-shot learning: prototypes, episodes, the Omniglot loaders, and a dry
run of the app."""

import json

import keras
import numpy as np
import pytest
from keras import ops

from kerasdl import cli
from kerasdl.data import omniglot
from kerasdl.errors import UsageError
from kerasdl.models.fewshot import Episodes, PrototypicalNetwork, prototype_logits


def test_prototype_logits_are_minus_squared_distances_to_the_class_means():
    rng = np.random.default_rng(0)
    support, queries = rng.normal(size=(6, 4)), rng.normal(size=(5, 4))  # 3 ways, 2 shots
    prototypes = support.reshape(3, 2, 4).mean(axis=1)
    expected = -((queries[:, None] - prototypes[None]) ** 2).sum(-1)
    found = ops.convert_to_numpy(prototype_logits(support.astype("float32"),
                                                  queries.astype("float32"), 3))
    np.testing.assert_allclose(found, expected, rtol=1e-4, atol=1e-4)


def test_a_prototypical_network_finds_each_query_s_class_in_an_episode():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 1, 8)) * 10  # 4 classes, far apart
    images = (centres + rng.normal(size=(4, 3, 8))).astype("float32")  # 2 shots, 1 query
    net = PrototypicalNetwork(keras.layers.Identity(), ways=4, shots=2)
    logits = ops.convert_to_numpy(net(images.reshape(-1, 8)))
    assert logits.shape == (4, 4) and list(np.argmax(logits, -1)) == [0, 1, 2, 3]


def test_episodes_draw_distinct_classes_and_drawings_in_the_network_s_order():
    images = np.arange(10 * 6, dtype="float32").reshape(10, 6, 1, 1, 1)  # class * 6 + drawing
    episodes = Episodes(images, ways=3, shots=2, queries=1, episodes=5, seed=0)
    assert len(episodes) == 5
    x, y = episodes[0]
    assert x.shape == (9, 1, 1, 1) and list(y) == [0, 1, 2]
    classes = x.reshape(3, 3) // 6
    assert (classes == classes[:, :1]).all() and len(set(classes[:, 0])) == 3
    assert all(len(set(row)) == 3 for row in x.reshape(3, 3))
    again = Episodes(images, ways=3, shots=2, queries=1, episodes=5, seed=0)
    np.testing.assert_array_equal(again[3][0], episodes[3][0])
    with pytest.raises(UsageError, match="Cannot draw 11-way 2-shot episodes"):
        Episodes(images, ways=11, shots=2, queries=1, episodes=1)
    with pytest.raises(UsageError, match="with 5 queries from 10 classes of 6 images"):
        Episodes(images, ways=3, shots=2, queries=5, episodes=1)
    with pytest.raises(UsageError, match="1-way .* needs 2 to 10 ways, and at most 6 shots"):
        Episodes(images, ways=1, shots=2, queries=1, episodes=1)


def test_test_episodes_stay_the_first_draws_and_training_episodes_are_redrawn():
    images = np.arange(10 * 6, dtype="float32").reshape(10, 6, 1, 1, 1)
    test = Episodes(images, ways=3, shots=1, queries=1, episodes=4, seed=0)
    first = np.stack([test[i][0] for i in range(4)])
    # JAX's trainer peeks at a batch and resets the data before predicting.
    logits = PrototypicalNetwork(keras.layers.Flatten(), ways=3, shots=1).predict(test, verbose=0)
    supports, queries = first[:, 0::2, :, 0, 0], first[:, 1::2, :, 0, 0]
    expected = -(queries[:, :, None] - supports[:, None]) ** 2
    np.testing.assert_allclose(logits, expected.reshape(12, 3))
    train = Episodes(images, ways=3, shots=1, queries=1, episodes=4, seed=0, redraw=True)
    train.on_epoch_end()
    assert not np.array_equal(np.stack([train[i][0] for i in range(4)]), first)


def test_omniglot_holds_each_character_once_and_the_twenty_runs(has_omniglot):
    characters, alphabets = omniglot.load_characters(size=14)
    assert characters.shape == (242, 20, 14, 14, 1) and len(set(alphabets)) == 8
    assert alphabets.count("Greek") == 24  # in both small sets, read once
    assert 0.02 < characters.mean() < 0.2  # bright strokes on a dark ground
    runs = omniglot.load_one_shot_runs(size=14)
    assert runs.shape == (20, 40, 14, 14, 1)


def test_dry_run_writes_the_results_of_three_methods(tmp_path, has_omniglot,
                                                     assert_same_figures):
    app = cli.load_app("few_shot")

    def dry_run(output_dir):
        return app.main(["--dry-run", "--backend", keras.backend.backend(), "--ways", "5",
                         "--output-dir", str(output_dir)])

    metrics = dry_run(tmp_path)
    assert json.loads((tmp_path / "metrics.json").read_text()) == json.loads(
        json.dumps(metrics))
    assert [row["method"] for row in metrics["results"]] == [
        "nearest neighbour on pixels", "classifier + prototypes", "prototypical network"]
    pixels = metrics["results"][0]
    assert 0.15 < pixels["20 one-shot runs"] < 0.3  # Lake et al.: 21.7% for pixels
    assert pixels["5-way 5-shot"] > pixels["5-way 1-shot"] > pixels["20-way 1-shot"]
    assert 0 <= metrics["val_accuracy"] <= 1
    assert (tmp_path / "one_shot_run.png").stat().st_size > 5000
    assert_same_figures(metrics, dry_run(tmp_path / "again"))
