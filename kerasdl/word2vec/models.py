"""word2vec's models: skip-gram and CBOW with negative sampling, in Keras.

Both models score candidate output words against a hidden vector: the
center word's input embedding (skip-gram) or the mean of the context words'
input embeddings (CBOW). The candidates are the true word then the negatives
(see `kerasdl.word2vec.batches.Word2VecBatches`), so the labels are 1 then
zeros and the loss is the binary cross-entropy of the logits, summed over
the candidates (`NegativeSamplingLoss`). Lookups and dot products go
through `keras.layers.Embedding` and `keras.ops`, so the same model trains
with `fit` on every backend.
"""

import keras
from keras import layers, ops

from kerasdl import backend
from kerasdl.errors import check_choice

ARCHS = ("skipgram", "cbow")
INPUT_EMBEDDINGS = "input_embeddings"


@keras.saving.register_keras_serializable(package="kerasdl")
class NegativeSamplingLoss(keras.losses.Loss):
    """The negative-sampling loss: the binary cross-entropy of each
    candidate's logit, summed over the candidates and, by default, over the
    batch, so that SGD's rate is the original word2vec's per-example rate.

    For a true word's logit s and the negatives' logits n_1..n_k, it is
    -log sigmoid(s) - sum_i log sigmoid(-n_i), written as
    softplus(logit) - label * logit for each candidate (label 1 for the true
    word, 0 for a negative).
    """

    def __init__(self, reduction="sum", name="negative_sampling", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, labels, logits):
        labels = ops.cast(labels, logits.dtype)
        return ops.sum(ops.softplus(logits) - labels * logits, axis=-1)


def build_word2vec(vocabulary_size, arch="skipgram", dim=100, window=5, negatives=5, share=1):
    """Builds a word2vec model that outputs one logit per candidate.

    Args:
        vocabulary_size: rows of both embedding tables.
        arch: "skipgram" (inputs `center`, `candidates`) or "cbow" (inputs
            `contexts`, `mask`, `candidates`).
        dim: the embedding size.
        window: the largest window; CBOW takes `2 * window` context slots.
        negatives: negatives per true word.
        share: how many consecutive examples share one draw of negatives
            (the batch size must be a multiple); 1 gives each example its
            own, as the original does. Sharing looks up and updates fewer
            output vectors per example, which makes training faster; every
            example still sees `negatives` draws from the noise distribution.

    Returns:
        A functional `keras.Model` with outputs `(batch, 1 + negatives)`.
        Its layer `input_embeddings` holds the word vectors. Input vectors
        start uniform in +-0.5 / dim and output vectors at zero, as in the
        original.

    Raises:
        UsageError: for an unknown `arch`.
    """
    check_choice("word2vec architecture", arch, ARCHS)
    scale = 0.5 / dim
    input_embeddings = layers.Embedding(
        vocabulary_size, dim, name=INPUT_EMBEDDINGS,
        embeddings_initializer=keras.initializers.RandomUniform(-scale, scale))
    output_embeddings = layers.Embedding(
        vocabulary_size, dim, name="output_embeddings", embeddings_initializer="zeros")
    candidates = keras.Input((1 + negatives,), dtype="int32", name="candidates")
    if arch == "skipgram":
        center = keras.Input((), dtype="int32", name="center")
        inputs = {"center": center, "candidates": candidates}
        hidden = input_embeddings(center)
    else:
        contexts = keras.Input((2 * window,), dtype="int32", name="contexts")
        mask = keras.Input((2 * window,), name="mask")
        inputs = {"contexts": contexts, "mask": mask, "candidates": candidates}
        total = ops.einsum("bc,bcd->bd", mask, input_embeddings(contexts))
        hidden = total / ops.maximum(ops.sum(mask, axis=1, keepdims=True), 1.0)
    positive = ops.sum(hidden * output_embeddings(candidates[:, 0]), axis=-1, keepdims=True)
    # Each group of `share` examples scores its first row's negatives.
    noise = output_embeddings(ops.reshape(candidates[:, 1:], (-1, share, negatives))[:, 0])
    negative = ops.einsum("bgd,bkd->bgk", ops.reshape(hidden, (-1, share, dim)), noise)
    logits = ops.concatenate([positive, ops.reshape(negative, (-1, negatives))], axis=1)
    return keras.Model(inputs, logits, name=f"word2vec_{arch}")


def compile_word2vec(model, lr, total_steps):
    """Compiles a word2vec model as the original trains it: plain SGD on the
    summed loss, the rate decaying linearly from `lr` to `lr * 1e-4` over
    `total_steps`; with the backend's fastest options for lookups."""
    schedule = keras.optimizers.schedules.PolynomialDecay(lr, total_steps, lr * 1e-4)
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss=NegativeSamplingLoss(),
                  **backend.LOOKUP_COMPILE_OPTIONS)


def word_vectors(model):
    """Returns the input embeddings of a word2vec model as a numpy array."""
    return ops.convert_to_numpy(model.get_layer(INPUT_EMBEDDINGS).embeddings)


def embedding_model(model):
    """Returns a model from word ids to their vectors, holding a copy of the
    input embeddings of the word2vec `model`: what is reused, for instance
    as a (frozen) first layer of another model. Word id `i` is line `i + 1`
    of the run's vectors.txt."""
    vectors = word_vectors(model)
    return keras.Sequential(
        [keras.Input((None,), dtype="int32", name="word_ids"),
         layers.Embedding(*vectors.shape, weights=[vectors], name=INPUT_EMBEDDINGS)],
        name=f"{model.name}_vectors")
