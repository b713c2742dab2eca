"""word2vec's models: skip-gram and CBOW with negative sampling, in Keras.

Both models score candidate output words against a hidden vector: the
center word's input embedding (skip-gram) or the mean of the context words'
input embeddings (CBOW). The candidates are the true word then the negatives
(see `kerasdl.word2vec.batches.Word2VecBatches`), so the labels are 1 then
zeros and the loss is the binary cross-entropy of the logits, summed over
the candidates (`NegativeSamplingLoss`). The tables are
`keras.layers.Embedding` weights and the dot products `keras.ops`; a
training step updates only the rows it read (`backend.minimize_rows`), so
the same model trains with `fit` on every backend at the speed of sparse
updates.
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


@keras.saving.register_keras_serializable(package="kerasdl")
class Word2Vec(keras.Model):
    """Skip-gram or CBOW with negative sampling, trained by sparse SGD.

    A step looks up the rows it needs (the input vectors of the center or
    context words, the output vectors of the true words and the negatives),
    differentiates the loss with respect to those rows only, and adds each
    row's step back into its table (`backend.minimize_rows`), as the
    original word2vec does. Differentiating through the lookups would give
    gradients the size of both tables, which JAX and PyTorch then apply in
    full: 21x and 4.4x fewer words per second (BENCHMARKS.md).
    The arguments are those of `build_word2vec`.
    """

    def __init__(self, vocabulary_size, arch="skipgram", dim=100, window=5, negatives=5,
                 share=1, **kwargs):
        super().__init__(name=kwargs.pop("name", f"word2vec_{arch}"), **kwargs)
        self.arch = check_choice("word2vec architecture", arch, ARCHS)
        self.vocabulary_size, self.dim, self.window = vocabulary_size, dim, window
        self.negatives, self.share = negatives, share
        scale = 0.5 / dim
        self.input_embeddings = layers.Embedding(
            vocabulary_size, dim, name=INPUT_EMBEDDINGS,
            embeddings_initializer=keras.initializers.RandomUniform(-scale, scale))
        self.output_embeddings = layers.Embedding(
            vocabulary_size, dim, name="output_embeddings", embeddings_initializer="zeros")
        for table in (self.input_embeddings, self.output_embeddings):
            table.build()
        self.tracker = keras.metrics.Mean(name="loss")
        self.built = True

    def _lookups(self, inputs):
        """The tables and the ids a batch reads from them: the input vectors
        (of the center, or the contexts), the true words' output vectors,
        and each group of `share` examples' negatives (its first row's)."""
        candidates = inputs["candidates"]
        words = inputs["center"] if self.arch == "skipgram" else inputs["contexts"]
        noise = ops.reshape(candidates[:, 1:], (-1, self.share, self.negatives))[:, 0]
        tables = [self.input_embeddings.embeddings] + [self.output_embeddings.embeddings] * 2
        return tables, [words, candidates[:, 0], noise]

    def _logits(self, inputs, rows):
        """One logit per candidate: the dot product of the hidden vector (the
        center word's input vector, or the mean of the contexts' in use) with
        the true word's output vector, then with the negatives'."""
        words, true, noise = rows
        if self.arch == "skipgram":
            hidden = words
        else:
            mask = inputs["mask"]
            total = ops.einsum("bc,bcd->bd", mask, words)
            hidden = total / ops.maximum(ops.sum(mask, axis=1, keepdims=True), 1.0)
        positive = ops.sum(hidden * true, axis=-1, keepdims=True)
        negative = ops.einsum("bgd,bkd->bgk", ops.reshape(hidden, (-1, self.share, self.dim)),
                              noise)
        return ops.concatenate([positive, ops.reshape(negative, (-1, self.negatives))], axis=1)

    def call(self, inputs):
        tables, ids = self._lookups(inputs)
        return self._logits(inputs, [ops.take(t, i, axis=0) for t, i in zip(tables, ids)])

    @property
    def metrics(self):
        return [self.tracker]

    def train_step(self, *args):
        return backend.train_step(self, self._step, *args)

    def _step(self, data):
        inputs, labels = data[:2]
        tables, ids = self._lookups(inputs)
        loss = backend.minimize_rows(lambda rows: self.loss(labels, self._logits(inputs, rows)),
                                     tables, ids, self.optimizer)
        self.tracker.update_state(loss)
        return {"loss": self.tracker.result()}

    def get_config(self):
        return {"vocabulary_size": self.vocabulary_size, "arch": self.arch, "dim": self.dim,
                "window": self.window, "negatives": self.negatives, "share": self.share,
                "name": self.name}


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
        A `Word2Vec` model with outputs `(batch, 1 + negatives)`. Its layer
        `input_embeddings` holds the word vectors. Input vectors start
        uniform in +-0.5 / dim and output vectors at zero, as in the
        original.

    Raises:
        UsageError: for an unknown `arch`.
    """
    return Word2Vec(vocabulary_size, arch, dim, window, negatives, share)


def compile_word2vec(model, lr, total_steps):
    """Compiles a word2vec model as the original trains it: SGD on the
    summed loss, the rate decaying linearly from `lr` to `lr * 1e-4` over
    `total_steps` (the optimizer gives the rate and counts the steps;
    `Word2Vec` updates the rows itself); with the backend's fastest options
    for lookups."""
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
