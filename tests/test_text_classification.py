"""Text classification: the MR and IMDB loaders (on the shared files and on
tiny files the tests write), the folds, the models' masking, word-vector
dropout and Kim's max-norm, the attention weights, word2vec starting
vectors, and dry runs of the app."""

import json
import tarfile

import keras
import numpy as np
import pytest

from kerasdl import cli
from kerasdl.data import sentences
from kerasdl.errors import UsageError
from kerasdl.models.text import TEXT_CLASSIFIERS, attention_scores
from kerasdl.word2vec.embeddings import WordVectors


def write_polarity(folder):
    (folder / "text").mkdir(parents=True)
    text = "a clich\xe9 , but fun \n great !\n"
    (folder / "text" / "rt-polarity.pos").write_bytes(text.encode("cp1252"))
    (folder / "text" / "rt-polarity.neg").write_bytes(b"dull , isn't it\n\n")


def write_imdb(folder):
    """Writes keras.datasets.imdb's two files: reviews as word ranks."""
    (folder / "keras-datasets").mkdir(parents=True)
    index = {"the": 1, "film's": 2, "bad": 3, "good": 4}
    reviews = np.empty(3, dtype=object)
    reviews[:] = [[1, 2, 4], [3, 3], [1, 9]]
    np.savez(folder / "keras-datasets" / "imdb.npz", x_train=reviews[:2],
             y_train=np.array([1, 0]), x_test=reviews[2:], y_test=np.array([0]))
    (folder / "keras-datasets" / "imdb_word_index.json").write_text(json.dumps(index))


def test_the_polarity_files_are_read_as_windows_1252(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path))
    write_polarity(tmp_path)
    data = sentences.load_texts("mr")
    assert data.texts.tolist() == ["dull , is n't it", "a cliché , but fun", "great !"]
    assert data.labels.tolist() == [0, 1, 1] and data.test_texts is None
    assert data.source == "$KERASDL_DATA_DIR/text"


def test_imdb_reviews_are_turned_back_into_words(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path))
    write_imdb(tmp_path)
    data = sentences.load_texts("imdb")
    assert data.texts.tolist() == ["the film 's good", "bad bad"]
    assert data.labels.tolist() == [1, 0]
    assert data.test_texts.tolist() == ["the "] and data.test_labels.tolist() == [0]
    texts, labels, [(train, test)] = data.splits(1)
    assert texts[test].tolist() == ["the "] and labels[train].tolist() == [1, 0]
    with pytest.raises(UsageError, match="imdb has a test split; use 1"):
        data.splits(10)


def test_a_polarity_file_that_is_not_windows_1252_is_one_line_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path))
    write_polarity(tmp_path)
    (tmp_path / "text" / "rt-polarity.pos").write_bytes(b"fine\n\x81\x8d garbage\n")
    with pytest.raises(UsageError, match="rt-polarity.pos is damaged or not sentence polarity"):
        sentences.load_texts("mr")


def test_a_damaged_imdb_file_is_one_line_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path))
    write_imdb(tmp_path)
    path = tmp_path / "keras-datasets" / "imdb.npz"
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(UsageError, match="imdb.npz is damaged or not the IMDB reviews"):
        sentences.load_texts("imdb")


def test_a_download_is_read_from_the_archive_and_offline_the_error_names_the_layout(
        tmp_path, monkeypatch):
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path / "empty"))
    write_polarity(tmp_path)
    archive = tmp_path / "rt-polaritydata.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in sentences.POLARITY_FILES:
            tar.add(tmp_path / "text" / name, f"rt-polaritydata/{name}")
    monkeypatch.setattr(keras.utils, "get_file", lambda name, url: str(archive))
    assert sentences.load_texts("mr").texts.tolist()[1:] == ["a cliché , but fun", "great !"]

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(UsageError, match="text/rt-polarity.pos and text/rt-polarity.neg"):
        sentences.load_texts("mr")
    with pytest.raises(UsageError, match="keras-datasets/imdb.npz and keras-datasets/imdb_word"):
        sentences.load_texts("imdb")
    with pytest.raises(UsageError, match="Unknown dataset: 'sst'"):
        sentences.load_texts("sst")


def test_the_shared_mr_files_hold_the_two_classes(has_polarity):
    data = sentences.load_texts("mr")
    assert len(data.texts) == 10662 and np.bincount(data.labels).tolist() == [5331, 5331]
    assert any("clichés" in text for text in data.texts)


def test_folds_test_each_example_once():
    parts = sentences.folds(23, 5, seed=1)
    tests = np.concatenate([test for _, test in parts])
    assert sorted(tests.tolist()) == list(range(23))
    for train, test in parts:
        assert len(train) + len(test) == 23 and not set(train) & set(test)
    data = sentences.Texts("mr", "here", np.array(["a", "b"]), np.array([0, 1]))
    with pytest.raises(UsageError, match="Bad number of folds: 1. mr has no test split"):
        data.splits(1)


@pytest.mark.parametrize("name", ["bag", "cnn", "lstm", "gru", "transformer"])
def test_masked_models_ignore_the_padding(name):
    keras.utils.set_random_seed(0)
    model = TEXT_CLASSIFIERS[name](12, 7, dim=8, units=4, dropout=0.0, vector_dropout=0.5)
    ids = np.array([[5, 3, 2, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7]], "int32")
    before = model.predict(ids, verbose=0)
    embedding = next(layer for layer in model.layers if isinstance(layer, keras.layers.Embedding))
    embedding.embeddings.assign(keras.ops.convert_to_tensor(
        np.concatenate([np.full((1, 8), 9.0), embedding.get_weights()[0][1:]]), "float32"))
    np.testing.assert_allclose(model.predict(ids, verbose=0), before, atol=1e-5)


@pytest.mark.parametrize("name", ["lstm", "gru", "transformer"])
def test_word_vector_dropout_acts_in_training_only(name):
    keras.utils.set_random_seed(0)
    model = TEXT_CLASSIFIERS[name](12, 7, dim=8, units=4, dropout=0.0, vector_dropout=0.5)
    ids = np.array([[5, 3, 2, 1, 4, 0, 0]], "int32")
    inference = keras.ops.convert_to_numpy(model(ids, training=False))
    np.testing.assert_allclose(model.predict(ids, verbose=0), inference, atol=1e-6)
    assert np.abs(keras.ops.convert_to_numpy(model(ids, training=True)) - inference).max() > 1e-4


def test_kim_cnn_sees_the_first_word_at_every_filter_position():
    keras.utils.set_random_seed(0)
    model = TEXT_CLASSIFIERS["cnn"](12, 7, dim=8, units=4, dropout=0.0)
    shifted = np.array([[5, 3, 2, 0, 0, 0, 0], [0, 0, 5, 3, 2, 0, 0]], "int32")
    outputs = model.predict(shifted, verbose=0)
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-6)


def test_kim_cnn_keeps_the_softmax_weights_within_norm_3():
    model = TEXT_CLASSIFIERS["cnn"](20, 9, dim=6, units=5, dropout=0.5, widths=(2, 3))
    model.compile(keras.optimizers.SGD(100.0), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.integers(0, 20, (32, 9)), rng.integers(0, 2, 32), epochs=2, verbose=0)
    kernel = model.layers[-1].get_weights()[0]
    assert kernel.shape == (10, 2)
    assert np.linalg.norm(kernel, axis=0).max() <= 3 + 1e-4


def test_attention_rows_are_distributions_over_the_words():
    model = TEXT_CLASSIFIERS["transformer"](12, 6, dim=8, units=4, dropout=0.0, heads=2)
    scores = attention_scores(model, np.array([[5, 3, 2, 0, 0, 0]], "int32"))
    assert scores.shape == (1, 2, 6, 6)
    np.testing.assert_allclose(scores[0, :, :3].sum(-1), 1, atol=1e-5)
    assert np.abs(scores[0, :, :, 3:]).max() < 1e-6  # nothing attends to the padding


def test_word2vec_vectors_start_the_embedding_at_kims_spread():
    vectors = WordVectors(["good", "bad"], np.array([[1.0, -1.0], [2.0, -2.0]], "float32"))
    rows, found = vectors.embedding_matrix(["", "[UNK]", "bad", "film"], np.random.default_rng(0))
    assert found == 1 and rows.dtype == np.float32
    np.testing.assert_allclose(rows[2], np.array([2.0, -2.0]) * 0.25 / 3 ** 0.5 / 1.5811388)
    assert np.abs(rows[[0, 1, 3]]).max() <= 0.25


def dry_run(output_dir, *extra):
    return cli.load_app("text_classification").main(
        ["--dry-run", "--backend", keras.backend.backend(), "--output-dir", str(output_dir),
         *extra])


def test_text_classification_dry_run(tmp_path, has_polarity):
    metrics = dry_run(tmp_path, "--models", "bag,transformer", "--dim", "16", "--units", "8")
    assert [row["model"] for row in metrics["results"]] == ["bag", "transformer"]
    assert set(metrics["accuracy"]) == {"bag", "transformer"}
    assert 0 <= metrics["test_accuracy"] <= 1 and 0 <= metrics["val_accuracy"] <= 1
    assert metrics["claim"].startswith("on mr, mean test accuracy over 2 fold(s): bag ")
    for name in ("results.md", "metrics.json", "curves.png", "attention.png", "config.json"):
        assert (tmp_path / name).exists()


def test_text_classification_dry_run_from_word2vec_vectors(tmp_path, has_polarity):
    vectors = np.random.default_rng(0).random((3, 4))
    WordVectors(["the", "film", "good"], vectors).save(tmp_path / "v.txt")
    metrics = dry_run(tmp_path / "run", "--models", "cnn", "--embeddings",
                      str(tmp_path / "v.txt"), "--units", "4")
    assert [row["model"] for row in metrics["results"]] == ["cnn", "cnn+vectors"]
    assert "cnn+vectors" in metrics["claim"]
    assert not (tmp_path / "run" / "attention.png").exists()
