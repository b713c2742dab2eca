"""The text corpora (`kerasdl/data/text.py`): reading, vocabulary, encoding,
finding a corpus."""

import pytest

from kerasdl.data import text
from kerasdl.errors import UsageError


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
    corpus = text.load_corpus(str(path), min_count=2, max_chars=10)  # "b a b c b "
    assert corpus.vocabulary.words == ["b"] and corpus.tokens.tolist() == [0, 0, 0]
    assert corpus.summary() == f"Data: the file {path}: 5 words, vocabulary 1 (min count 2)"


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


@pytest.mark.parametrize("content,match", [
    (b"", "holds no words"),
    (b"  \n\t\n", "holds no words"),
    (b"PK\x03\x04\x00\x00 some zipped words", "is binary, not a plain-text corpus"),
    (bytes(range(128, 256)) * 4, "is binary, not a plain-text corpus"),
])
def test_an_empty_or_binary_corpus_is_one_line_naming_it(tmp_path, content, match):
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=match) as error:
        text.load_corpus(str(path), min_count=1)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_a_little_bad_utf8_in_a_text_corpus_is_read(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_bytes(b"the cat sat on the mat caf\xe9 " * 20)
    assert text.load_corpus(str(path), min_count=1).vocabulary.words[0] == "the"
