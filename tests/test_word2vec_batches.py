"""kerasdl.word2vec.batches: windows, subsampling, negatives and the batch
stream, as the original word2vec makes them."""

import numpy as np
import pytest

from kerasdl.word2vec import batches


def test_skipgram_contexts_lie_within_each_window():
    rng = np.random.default_rng(0)
    tokens = np.arange(200, dtype=np.int32)  # a token's id is its position
    windows = rng.integers(1, 6, 200)
    centers, contexts = batches.skipgram_pairs(tokens, windows)
    distance = np.abs(contexts - centers)
    assert (distance >= 1).all() and (distance <= windows[centers]).all()
    # Every context in every window, once.
    expected = sum(min(w, i) + min(w, 199 - i) for i, w in enumerate(windows))
    assert len(centers) == expected
    assert len(set(zip(centers.tolist(), contexts.tolist()))) == expected


def test_cbow_contexts_lie_within_each_window():
    tokens = np.arange(50, dtype=np.int32)
    windows = np.random.default_rng(1).integers(1, 4, 50)
    targets, contexts, mask = batches.cbow_contexts(tokens, windows)
    assert contexts.shape == (50, 6) and mask.shape == (50, 6)
    for t, row, used in zip(targets, contexts, mask.astype(bool)):
        expected = [p for p in range(t - windows[t], t + windows[t] + 1)
                    if p != t and 0 <= p < 50]
        assert sorted(row[used].tolist()) == expected


def test_negatives_follow_the_noise_distribution():
    counts = np.array([1000, 400, 100, 30, 5])
    stream = batches.Word2VecBatches(np.zeros(10, np.int32), counts, "skipgram", 2, 5,
                                     0, 8, seed=0)
    draws = stream.sample_negatives(40_000)
    assert draws.shape == (40_000, 5)
    observed = np.bincount(draws.ravel(), minlength=5) / draws.size
    expected = counts ** 0.75 / (counts ** 0.75).sum()
    np.testing.assert_allclose(observed, expected, atol=0.005)
    assert not np.allclose(observed, counts / counts.sum(), atol=0.01)


def test_subsampling_drops_frequent_words_at_the_expected_rate():
    counts = np.array([9000, 900, 90, 10])
    tokens = np.repeat(np.arange(4, dtype=np.int32), counts)
    keep = batches.keep_probabilities(counts, 1e-3)
    ratio = 1e-3 * 10_000 / counts
    np.testing.assert_allclose(keep, np.minimum(1, np.sqrt(ratio) + ratio))
    assert keep[0] < 0.2 and keep[-1] == 1
    stream = batches.Word2VecBatches(tokens, counts, "skipgram", 2, 1, 1e-3, 8, seed=0)
    kept = np.bincount(np.concatenate([stream.subsample(tokens) for _ in range(20)]),
                       minlength=4) / (20 * counts)
    np.testing.assert_allclose(kept, keep, atol=0.02)
    assert batches.keep_probabilities(counts, 0).tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize("arch", ["skipgram", "cbow"])
def test_batches_have_fixed_shapes_and_true_words_first(arch):
    tokens = np.random.default_rng(0).integers(0, 20, 3000).astype(np.int32)
    counts = np.bincount(tokens, minlength=20)
    stream = batches.Word2VecBatches(tokens, counts, arch, 3, 4, 0, 64, share=4,
                                     chunk_size=500)
    examples = iter(stream)
    for _ in range(30):
        inputs, labels = next(examples)
        assert inputs["candidates"].shape == (64, 5)
        groups = inputs["candidates"][:, 1:].reshape(16, 4, 4)
        assert (groups == groups[:, :1]).all()
        assert labels.tolist() == [[1, 0, 0, 0, 0]] * 64
        if arch == "cbow":
            assert inputs["contexts"].shape == inputs["mask"].shape == (64, 6)
            assert (inputs["mask"].sum(axis=1) >= 1).all()
        else:
            assert inputs["center"].shape == (64,)
    examples.close()
    assert stream.steps_per_pass() == len(tokens) * (4 if arch == "skipgram" else 1) // 64
