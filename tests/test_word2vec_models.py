"""kerasdl.word2vec.models: the skip-gram and CBOW models and their loss, on
the current backend."""

import keras
import numpy as np
import pytest

from kerasdl import backend, presets
from kerasdl.data import text
from kerasdl.errors import UsageError
from kerasdl.word2vec import batches, embeddings, models


def test_architectures_match_the_presets():
    assert models.ARCHS == tuple(presets.WORD2VEC)
    with pytest.raises(UsageError, match="Unknown word2vec architecture: 'glove'"):
        models.build_word2vec(10, "glove")


@pytest.mark.parametrize("arch", ["skipgram", "cbow"])
def test_model_trains_and_its_loss_falls(toy_corpus, arch):
    keras.utils.set_random_seed(0)
    vocab = text.build_vocabulary(toy_corpus, min_count=1)
    tokens, _ = text.encode(toy_corpus, vocab)
    stream = batches.Word2VecBatches(tokens, vocab.counts, arch, 2, 3, 0, 256, seed=0)
    model = models.build_word2vec(len(vocab), arch, dim=16, window=2, negatives=3)
    steps = stream.steps_per_pass()
    models.compile_word2vec(model, lr=0.05 if arch == "cbow" else 0.025,
                            total_steps=3 * steps)
    history = model.fit(iter(stream), steps_per_epoch=steps, epochs=3, verbose=0,
                        shuffle=False)
    losses = history.history["loss"]
    untrained = 256 * 4 * np.log(2)  # zero output vectors: every logit is 0
    assert losses[-1] < losses[0] < untrained
    assert losses[-1] < 0.7 * untrained
    vectors = embeddings.WordVectors(vocab.words, models.word_vectors(model))
    assert vectors.vectors.shape == (len(vocab), 16)
    if arch == "skipgram":
        numbers = {"one", "two", "three", "four", "five"}
        assert {w for w, _ in vectors.neighbors("two", 3)} <= numbers


@pytest.mark.parametrize("share", [1, 2])
def test_logits_are_dot_products_with_shared_negatives(share):
    rng = np.random.default_rng(0)
    model = models.build_word2vec(7, "skipgram", dim=3, negatives=2, share=share)
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


def test_cbow_scores_the_mean_of_the_context_in_use():
    rng = np.random.default_rng(1)
    model = models.build_word2vec(6, "cbow", dim=3, window=2, negatives=1)
    table_in, table_out = rng.normal(size=(2, 6, 3)).astype("float32")
    model.get_layer("input_embeddings").embeddings.assign(table_in)
    model.get_layer("output_embeddings").embeddings.assign(table_out)
    contexts = np.array([[1, 2, 3, 4], [5, 0, 0, 0]], "int32")
    mask = np.array([[1, 1, 1, 0], [1, 0, 0, 0]], "float32")
    candidates = np.array([[0, 5], [1, 2]], "int32")
    logits = keras.ops.convert_to_numpy(
        model({"contexts": contexts, "mask": mask, "candidates": candidates}))
    hidden = np.stack([table_in[[1, 2, 3]].mean(axis=0), table_in[5]])
    expected = np.einsum("bd,bkd->bk", hidden, table_out[candidates])
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("arch", ["skipgram", "cbow"])
def test_steps_move_the_rows_as_dense_sgd_would_at_the_schedules_rate(arch):
    rng = np.random.default_rng(2)
    model = models.build_word2vec(6, arch, dim=3, window=1, negatives=2, share=2)
    tables = [model.get_layer(name).embeddings for name in (models.INPUT_EMBEDDINGS,
                                                            "output_embeddings")]
    for table in tables:
        table.assign(rng.normal(size=(6, 3)).astype("float32"))
    inputs = {"center": np.array([1, 1, 4, 0], "int32"),  # ids read twice, in and out
              "contexts": np.array([[1, 1], [2, 0], [4, 4], [0, 5]], "int32"),
              "mask": np.array([[1, 1], [1, 0], [1, 1], [0, 1]], "float32"),
              "candidates": np.array([[1, 2, 1], [1, 0, 0], [3, 1, 5], [2, 2, 2]], "int32")}
    if arch == "skipgram":
        inputs = {k: inputs[k] for k in ("center", "candidates")}
    labels = np.tile(np.array([[1, 0, 0]], "float32"), (4, 1))
    models.compile_word2vec(model, lr=0.1, total_steps=2)
    start = [keras.ops.convert_to_numpy(t) for t in tables]
    for rate in (0.1, 0.05 + 0.5e-5):  # the schedule's rate at steps 0 and 1
        _, grads = backend.value_and_grad(lambda: model.loss(labels, model(inputs)), tables)
        for table, grad in zip(tables, grads):
            table.assign(keras.ops.convert_to_numpy(table) - rate * keras.ops.convert_to_numpy(
                keras.ops.convert_to_tensor(grad)))
    expected = [keras.ops.convert_to_numpy(t) for t in tables]
    for table, values in zip(tables, start):
        table.assign(values)
    twice = {key: np.concatenate([value, value]) for key, value in inputs.items()}
    model.fit(twice, np.concatenate([labels, labels]), batch_size=4, epochs=1, shuffle=False,
              verbose=0)
    for table, want in zip(tables, expected):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(table), want, atol=1e-6)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 2


def test_loss_is_the_summed_binary_cross_entropy():
    logits = np.array([[2.0, -1.0, 0.5]], "float32")
    labels = np.array([[1.0, 0.0, 0.0]], "float32")
    expected = np.log1p(np.exp(-2.0)) + np.log1p(np.exp(-1.0)) + np.log1p(np.exp(0.5))
    loss = models.NegativeSamplingLoss()(labels, logits)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss), expected, rtol=1e-5)
    # Summed over the batch, not averaged: the original's per-example rate.
    twice = models.NegativeSamplingLoss()(np.repeat(labels, 2, 0), np.repeat(logits, 2, 0))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(twice), 2 * expected, rtol=1e-5)


def test_embedding_model_maps_word_ids_to_the_input_vectors():
    model = models.build_word2vec(5, "skipgram", dim=4)
    embedding = models.embedding_model(model)
    ids = np.array([[4, 0, 2]], "int32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(embedding(ids))[0],
                               models.word_vectors(model)[[4, 0, 2]])
    assert embedding.name == "word2vec_skipgram_vectors"
