"""kerasdl.word2vec.embeddings: word vectors, their files, and their
evaluation on hand-made similarity and analogy files."""

import numpy as np
import pytest

from kerasdl.errors import UsageError
from kerasdl.word2vec import embeddings


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


def test_evaluate_scores_the_files_given_and_warns_of_the_others(
        tmp_path, hand_vectors, capsys):
    similarity = tmp_path / "sim.tsv"
    similarity.write_text("a b 9\nc d 8\na c 3\na e 1\nb e 0\nb d 2\n")
    analogies = tmp_path / "analogies.txt"
    analogies.write_text(": first\na b c d\n")
    results = embeddings.evaluate(hand_vectors, str(similarity), str(analogies))
    assert results["similarity"] == {"file": str(similarity),
                                     **embeddings.evaluate_similarity(hand_vectors, similarity)}
    assert results["val_similarity"] == results["similarity"]["dev_spearman"] is not None
    assert results["analogies"]["file"] == str(analogies)
    assert results["analogies"]["accuracy"] == 1.0
    assert results["neighbors"] == {}  # no probe word among a..e
    assert capsys.readouterr().err == ""
    alone = embeddings.evaluate(hand_vectors)
    assert set(alone) == {"neighbors"}
    err = capsys.readouterr().err
    assert "no similarity file (--similarity)" in err and "no analogies file" in err
    assert embeddings.summary(results) == [
        f"WordSim Spearman {results['similarity']['spearman']:.3f}",
        "analogy accuracy 1.0000"]
    assert embeddings.summary(alone) == []


def test_evaluate_lists_the_neighbours_of_the_probe_words():
    words = ["five", "four", "king", "queen", "zebra"]
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [-1, -1]], np.float32)
    neighbors = embeddings.evaluate(embeddings.WordVectors(words, vectors))["neighbors"]
    assert set(neighbors) == {"five", "king"}
    assert neighbors["five"][0] == "four" and neighbors["king"][0] == "queen"


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


def test_a_run_that_logs_to_tensorboard_gets_the_projector_in_its_logs(tmp_path, hand_vectors):
    hand_vectors.save_projector(tmp_path, tmp_path / "tensorboard")
    logs = tmp_path / "tensorboard" / "train"
    assert (logs / "metadata.tsv").read_text() == (tmp_path / "metadata.tsv").read_text()
    assert np.loadtxt(logs / "vectors.tsv", delimiter="\t").shape == (5, 2)
    config = (logs / "projector_config.pbtxt").read_text()
    assert 'tensor_path: "vectors.tsv"' in config and 'metadata_path: "metadata.tsv"' in config


@pytest.mark.parametrize("text,reason", [
    ("garbage\n", "invalid literal"), ("2 2\nking 0.5 0.1\n", "header says 2 words"),
    ("1 2\nking 0.5 x\n", "could not convert"), ("1 2\nking 0.5 0.1 0.3\n", "could not broadcast")])
def test_damaged_vectors_are_one_line_naming_the_file(tmp_path, text, reason):
    path = tmp_path / "vectors.txt"
    path.write_text(text)
    with pytest.raises(UsageError, match=f"^{path} is damaged or not word vectors in word2vec "
                                         f"text format \\(.*{reason}"):
        embeddings.load(tmp_path)


def test_word_map_needs_three_known_words(tmp_path, hand_vectors):
    hand_vectors.save_map(["a", "zz", "c"], tmp_path / "two.png", "toy")
    assert not (tmp_path / "two.png").exists()
    hand_vectors.save_map(["a", "zz", "c", "e"], tmp_path / "three.png", "toy")
    assert (tmp_path / "three.png").read_bytes().startswith(b"\x89PNG")


def test_preprocessing_says_what_a_word_id_is(hand_vectors):
    assert hand_vectors.preprocessing(3) == {
        "word_ids": "line i + 1 of vectors.txt is word id i, the 5 words of min count 3, "
                    "most frequent first"}
