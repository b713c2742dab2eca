"""word2vec: the text pipeline, the model on the current backend, the
evaluations on hand-made files, the app and the `kerasdl word2vec` command."""

import json

import keras
import numpy as np
import pytest

from kerasdl import cards, cli, embeddings
from kerasdl.data import text
from kerasdl.errors import UsageError
from kerasdl.models import word2vec


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


def test_read_words_never_splits_a_word(tmp_path):
    path = tmp_path / "c.txt"
    words = [f"w{i}" * (i % 7 + 1) for i in range(500)]
    path.write_text(" ".join(words[:250]) + "\n" + " ".join(words[250:]))
    blocks = list(text.read_words(path, block_chars=37))
    assert len(blocks) > 10
    assert sum(blocks, []) == words
    assert sum(text.read_words(path, max_chars=20), []) == ["w0", "w1w1", "w2w2w2"]


def test_vocabulary_and_encoding(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("b a b c b a d\n")
    vocab = text.build_vocabulary(path, min_count=2)
    assert vocab.words == ["b", "a"]
    assert vocab.counts.tolist() == [3, 2]
    tokens, words = text.encode(path, vocab)
    assert tokens.tolist() == [0, 1, 0, 0, 1] and words == 7
    with pytest.raises(UsageError, match="--min-count"):
        text.build_vocabulary(path, min_count=9)


def test_skipgram_contexts_lie_within_each_window():
    rng = np.random.default_rng(0)
    tokens = np.arange(200, dtype=np.int32)  # a token's id is its position
    windows = rng.integers(1, 6, 200)
    centers, contexts = text.skipgram_pairs(tokens, windows)
    distance = np.abs(contexts - centers)
    assert (distance >= 1).all() and (distance <= windows[centers]).all()
    # Every context in every window, once.
    expected = sum(min(w, i) + min(w, 199 - i) for i, w in enumerate(windows))
    assert len(centers) == expected
    assert len(set(zip(centers.tolist(), contexts.tolist()))) == expected


def test_cbow_contexts_lie_within_each_window():
    tokens = np.arange(50, dtype=np.int32)
    windows = np.random.default_rng(1).integers(1, 4, 50)
    targets, contexts, mask = text.cbow_contexts(tokens, windows)
    assert contexts.shape == (50, 6) and mask.shape == (50, 6)
    for t, row, used in zip(targets, contexts, mask.astype(bool)):
        expected = [p for p in range(t - windows[t], t + windows[t] + 1)
                    if p != t and 0 <= p < 50]
        assert sorted(row[used].tolist()) == expected


def test_negatives_follow_the_noise_distribution():
    counts = np.array([1000, 400, 100, 30, 5])
    batches = text.Word2VecBatches(np.zeros(10, np.int32), counts, "skipgram", 2, 5,
                                   0, 8, seed=0)
    draws = batches.sample_negatives(40_000)
    assert draws.shape == (40_000, 5)
    observed = np.bincount(draws.ravel(), minlength=5) / draws.size
    expected = counts ** 0.75 / (counts ** 0.75).sum()
    np.testing.assert_allclose(observed, expected, atol=0.005)
    assert not np.allclose(observed, counts / counts.sum(), atol=0.01)


def test_subsampling_drops_frequent_words_at_the_expected_rate():
    counts = np.array([9000, 900, 90, 10])
    tokens = np.repeat(np.arange(4, dtype=np.int32), counts)
    keep = text.keep_probabilities(counts, 1e-3)
    ratio = 1e-3 * 10_000 / counts
    np.testing.assert_allclose(keep, np.minimum(1, np.sqrt(ratio) + ratio))
    assert keep[0] < 0.2 and keep[-1] == 1
    batches = text.Word2VecBatches(tokens, counts, "skipgram", 2, 1, 1e-3, 8, seed=0)
    kept = np.bincount(np.concatenate([batches.subsample(tokens) for _ in range(20)]),
                       minlength=4) / (20 * counts)
    np.testing.assert_allclose(kept, keep, atol=0.02)
    assert text.keep_probabilities(counts, 0).tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize("arch", ["skipgram", "cbow"])
def test_batches_have_fixed_shapes_and_true_words_first(arch):
    tokens = np.random.default_rng(0).integers(0, 20, 3000).astype(np.int32)
    counts = np.bincount(tokens, minlength=20)
    batches = text.Word2VecBatches(tokens, counts, arch, 3, 4, 0, 64, share=4,
                                   chunk_size=500)
    stream = iter(batches)
    for _ in range(30):
        inputs, labels = next(stream)
        assert inputs["candidates"].shape == (64, 5)
        groups = inputs["candidates"][:, 1:].reshape(16, 4, 4)
        assert (groups == groups[:, :1]).all()
        assert labels.tolist() == [[1, 0, 0, 0, 0]] * 64
        if arch == "cbow":
            assert inputs["contexts"].shape == inputs["mask"].shape == (64, 6)
            assert (inputs["mask"].sum(axis=1) >= 1).all()
        else:
            assert inputs["center"].shape == (64,)
    stream.close()
    assert batches.steps_per_pass() == len(tokens) * (4 if arch == "skipgram" else 1) // 64


@pytest.mark.parametrize("arch", ["skipgram", "cbow"])
def test_model_trains_and_its_loss_falls(toy_corpus, arch):
    keras.utils.set_random_seed(0)
    vocab = text.build_vocabulary(toy_corpus, min_count=1)
    tokens, _ = text.encode(toy_corpus, vocab)
    batches = text.Word2VecBatches(tokens, vocab.counts, arch, 2, 3, 0, 256, seed=0)
    model = word2vec.word2vec(len(vocab), arch, dim=16, window=2, negatives=3)
    steps = batches.steps_per_pass()
    word2vec.compile_word2vec(model, lr=0.05 if arch == "cbow" else 0.025,
                              total_steps=3 * steps)
    history = model.fit(iter(batches), steps_per_epoch=steps, epochs=3, verbose=0,
                        shuffle=False)
    losses = history.history["loss"]
    untrained = 256 * 4 * np.log(2)  # zero output vectors: every logit is 0
    assert losses[-1] < losses[0] < untrained
    assert losses[-1] < 0.7 * untrained
    vectors = embeddings.WordVectors(vocab.words, word2vec.word_vectors(model))
    assert vectors.vectors.shape == (len(vocab), 16)
    if arch == "skipgram":
        numbers = {"one", "two", "three", "four", "five"}
        assert {w for w, _ in vectors.neighbors("two", 3)} <= numbers


@pytest.mark.parametrize("share", [1, 2])
def test_logits_are_dot_products_with_shared_negatives(share):
    rng = np.random.default_rng(0)
    model = word2vec.word2vec(7, "skipgram", dim=3, negatives=2, share=share)
    table_in, table_out = rng.normal(size=(2, 7, 3)).astype("float32")
    model.get_layer("input_embeddings").embeddings.assign(table_in)
    model.get_layer("output_embeddings").embeddings.assign(table_out)
    center = np.array([0, 1, 2, 3], "int32")
    candidates = rng.integers(0, 7, (4, 3)).astype("int32")
    logits = keras.ops.convert_to_numpy(
        model({"center": center, "candidates": candidates}))
    negatives = np.repeat(candidates[::share, 1:], share, axis=0)
    expected = np.einsum("bd,bkd->bk", table_in[center],
                         table_out[np.concatenate([candidates[:, :1], negatives], 1)])
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)


def test_loss_is_the_summed_binary_cross_entropy():
    logits = np.array([[2.0, -1.0, 0.5]], "float32")
    labels = np.array([[1.0, 0.0, 0.0]], "float32")
    expected = np.log1p(np.exp(-2.0)) + np.log1p(np.exp(-1.0)) + np.log1p(np.exp(0.5))
    loss = word2vec.NegativeSamplingLoss()(labels, logits)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss), expected, rtol=1e-5)


@pytest.fixture
def hand_vectors():
    words = ["a", "b", "c", "d", "e"]
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.2, 0.9], [-1, 0]], np.float32)
    return embeddings.WordVectors(words, vectors)


def test_similarity_on_a_hand_made_file(tmp_path, hand_vectors):
    path = tmp_path / "sim.tsv"
    path.write_text("# comment\nWord 1\tWord 2\tHuman (mean)\n"
                    "a\tb\t9\nc\td\t8\na\tc\t3\na\te\t1\na\tzz\t5\n")
    result = embeddings.evaluate_similarity(hand_vectors, path)
    assert result["spearman"] == pytest.approx(1.0)
    assert (result["pairs"], result["oov_pairs"]) == (5, 1)
    path.write_text("a b 1\nc d 2\na c 3\na e 4\n")
    assert embeddings.evaluate_similarity(hand_vectors, path)["spearman"] == \
        pytest.approx(-1.0)


def test_similarity_dev_and_heldout_halves_split_the_pairs(tmp_path, hand_vectors):
    """Each half scores its own pairs: with the scores of one half reversed,
    that half correlates -1 and the other +1, whichever half is which."""
    words = "abcde"
    pairs = [(a, b) for i, a in enumerate(words) for b in words[i + 1:]]  # 10 pairs
    path = tmp_path / "sim.tsv"
    cosine = {(a, b): float(hand_vectors.unit[hand_vectors.index[a]]
                            @ hand_vectors.unit[hand_vectors.index[b]]) for a, b in pairs}
    path.write_text("".join(f"{a} {b} {cosine[a, b]}\n" for a, b in pairs))
    halves = embeddings.evaluate_similarity(hand_vectors, path)
    assert halves["dev_spearman"] == pytest.approx(1.0)
    assert halves["heldout_spearman"] == pytest.approx(1.0)
    dev = set(np.random.default_rng(embeddings.DEV_SEED).permutation(10)[:5])
    path.write_text("".join(f"{a} {b} {-cosine[a, b] if i in dev else cosine[a, b]}\n"
                            for i, (a, b) in enumerate(pairs)))
    flipped = embeddings.evaluate_similarity(hand_vectors, path)
    assert flipped["dev_spearman"] == pytest.approx(-1.0)
    assert flipped["heldout_spearman"] == pytest.approx(1.0)


def test_spearman_ranks_ties_by_their_mean():
    assert embeddings.spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9486833)


def test_analogies_on_a_hand_made_file(tmp_path, hand_vectors):
    path = tmp_path / "analogies.txt"
    # a:b :: c:d holds here (b - a + c lies nearest d); a:c :: b:e does not.
    path.write_text(": first\na b c d\nA C B E\n: second\na b zz d\nc d a b\n")
    result = embeddings.evaluate_analogies(hand_vectors, path)
    assert result["questions"] == 4 and result["oov_questions"] == 1
    assert result["correct"] == 2 and result["accuracy"] == pytest.approx(2 / 3)
    assert result["sections"] == {"first": 0.5, "second": 1.0}
    # Among the 3 most frequent words only, d and e are out of vocabulary.
    limited = embeddings.evaluate_analogies(hand_vectors, path, limit=3)
    assert limited["oov_questions"] == 4 and limited["accuracy"] is None


def test_vectors_round_trip_and_projector_files(tmp_path, hand_vectors):
    hand_vectors.save(tmp_path / "vectors.txt")
    loaded = embeddings.load(tmp_path)
    assert loaded.words == hand_vectors.words
    np.testing.assert_allclose(loaded.vectors, hand_vectors.vectors, rtol=1e-5)
    hand_vectors.save_projector(tmp_path)
    assert np.loadtxt(tmp_path / "vectors.tsv", delimiter="\t").shape == (5, 2)
    assert (tmp_path / "metadata.tsv").read_text().split() == hand_vectors.words
    with pytest.raises(UsageError, match="No word vectors"):
        embeddings.load(tmp_path / "missing")


def test_find_corpus(tmp_path, monkeypatch, toy_corpus):
    assert text.find_corpus(str(toy_corpus))[0] == toy_corpus
    with pytest.raises(UsageError, match="Unknown corpus: 'nope.txt'"):
        text.find_corpus("nope.txt")

    def offline():
        raise OSError("no network")

    monkeypatch.setattr(text, "_download_text8", offline)
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(UsageError, match="text8 could not be downloaded"):
        text.find_corpus("text8")
    (tmp_path / "data" / "corpora").mkdir(parents=True)
    (tmp_path / "data" / "corpora" / "combined.txt").write_text("some words\n")
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path / "data"))
    path, source = text.find_corpus("text8")
    assert path.name == "combined.txt" and "not text8" in source


def test_word2vec_dry_run_and_explore(tmp_path, toy_corpus, capsys):
    sim = tmp_path / "sim.tsv"
    sim.write_text("one two 9\nred blue 8\none red 1\ntwo paint 2\n")
    analogies = tmp_path / "analogies.txt"
    analogies.write_text(": numbers\none two three four\n")
    out = tmp_path / "run"
    metrics = cli.load_app("word2vec").main(
        ["--dry-run", "--backend", keras.backend.backend(), "--corpus", str(toy_corpus),
         "--similarity", str(sim), "--analogies", str(analogies), "--batch-size", "256",
         "--output-dir", str(out), "--arch", "cbow"])
    assert metrics["arch"] == "cbow" and metrics["epochs"] == 1
    assert metrics["similarity"]["pairs"] == 4 and metrics["analogies"]["questions"] == 1
    assert metrics["words_per_second"] > 0
    assert json.loads((out / "metrics.json").read_text()) == metrics
    for name in ("vectors.txt", "vectors.tsv", "metadata.tsv", "words.png",
                 "history.csv", "config.json"):
        assert (out / name).exists(), name
    assert not (out / "backup").exists()
    embedding, card = cards.load(out / "model")
    assert card["app"] == "word2vec" and card["command"].startswith("kerasdl run word2vec")
    saved = embeddings.load(out / "vectors.txt")
    ids = np.array([[saved.index["two"], saved.index["red"]]], "int32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(embedding(ids))[0],
                               saved.vectors[ids[0]], atol=1e-5)

    capsys.readouterr()
    assert cli.main(["word2vec", "neighbors", "--model", str(out), "two", "-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "two" and len(lines) == 4
    assert -1 <= float(lines[1].split()[1]) <= 1
    assert cli.main(["word2vec", "analogy", "--model", str(out), "one", "two", "zzz"]) == 2
    assert "Not in the vocabulary: 'zzz'" in capsys.readouterr().err
