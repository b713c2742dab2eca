"""Sentence classifiers over word ids: a bag of embeddings, Kim's CNN, a
bidirectional LSTM, a GRU and a small Transformer encoder.

Each builder takes a batch of word-id sequences of one `length`, 0 being
padding, and returns an uncompiled `keras.Model` with softmax outputs. The
recurrent models, the bag and the Transformer mask the padding; the CNN
reads it as zeros, as Kim (2014) does. The models that read word order
take `vector_dropout`: dropout on the word vectors, against overfitting a
small set of sentences. The LSTM and the GRU are Keras' layers, run as one
op on PyTorch (`kerasdl.models.layers`).
"""

import keras
import numpy as np
from keras import layers, ops

from kerasdl.models.layers import GRU, LSTM


def _embedding(vocabulary_size, dim, vectors, mask_zero):
    """A word embedding: uniform in [-0.25, 0.25] as Kim's, or from `vectors`."""
    start = keras.initializers.RandomUniform(-0.25, 0.25)
    embedding = layers.Embedding(vocabulary_size, dim, mask_zero=mask_zero,
                                 embeddings_initializer=start)
    if vectors is not None:
        embedding.build((None,))
        embedding.embeddings.assign(vectors)
    return embedding


def _head(x, ids, dropout, num_classes, constraint=None):
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, "softmax", kernel_constraint=constraint)(x)
    return keras.Model(ids, outputs)


def bag_of_embeddings(vocabulary_size, length, *, dim, dropout, vectors=None, num_classes=2,
                      **unused):
    """The baseline: the mean of the sentence's word vectors, then softmax."""
    ids = keras.Input((length,), dtype="int32")
    x = _embedding(vocabulary_size, dim, vectors, mask_zero=True)(ids)
    return _head(layers.GlobalAveragePooling1D()(x), ids, dropout, num_classes)


def kim_cnn(vocabulary_size, length, *, dim, units, dropout, vectors=None, num_classes=2,
            widths=(3, 4, 5), **unused):
    """Kim (2014): `units` filters of each width in `widths` slide over the
    word vectors; each filter keeps its largest response in the sentence
    (max over time), and a softmax whose weight rows have a norm of at
    most 3 reads them. As in Kim's code, padding is a zero vector, and
    `max(widths) - 1` more of it on each side lets every filter see the
    first and last words at each of its positions."""
    ids = keras.Input((length,), dtype="int32")
    x = _embedding(vocabulary_size, dim, vectors, mask_zero=False)(ids)
    x = x * ops.expand_dims(ops.cast(ops.not_equal(ids, 0), x.dtype), -1)
    x = layers.ZeroPadding1D(max(widths) - 1)(x)
    maxima = [layers.GlobalMaxPooling1D()(layers.Conv1D(units, w, activation="relu")(x))
              for w in widths]
    x = layers.Concatenate()(maxima)
    return _head(x, ids, dropout, num_classes, keras.constraints.MaxNorm(3))


def bidirectional_lstm(vocabulary_size, length, *, dim, units, dropout, vector_dropout=0.0,
                       vectors=None, num_classes=2, **unused):
    """An LSTM reads the sentence forwards, another backwards; their last
    states, side by side, feed the softmax."""
    ids = keras.Input((length,), dtype="int32")
    x = layers.Dropout(vector_dropout)(_embedding(vocabulary_size, dim, vectors, True)(ids))
    return _head(layers.Bidirectional(LSTM(units))(x), ids, dropout, num_classes)


def gru(vocabulary_size, length, *, dim, units, dropout, vector_dropout=0.0, vectors=None,
        num_classes=2, **unused):
    """A GRU reads the sentence; its last state feeds the softmax."""
    ids = keras.Input((length,), dtype="int32")
    x = layers.Dropout(vector_dropout)(_embedding(vocabulary_size, dim, vectors, True)(ids))
    return _head(GRU(units)(x), ids, dropout, num_classes)


@keras.saving.register_keras_serializable(package="kerasdl")
class PositionEmbedding(layers.Layer):
    """Adds a learned vector for each position to the word vectors, keeping
    their padding mask."""

    def __init__(self, length, **kwargs):
        super().__init__(**kwargs)
        self.length = length
        self.supports_masking = True

    def build(self, shape):
        self.positions = self.add_weight(shape=(self.length, shape[-1]), name="positions",
                                         initializer=keras.initializers.RandomNormal(stddev=0.02))

    def call(self, x):
        return x + ops.cast(self.positions, x.dtype)

    def get_config(self):
        return {**super().get_config(), "length": self.length}


def transformer(vocabulary_size, length, *, dim, units, dropout, vector_dropout=0.0, heads=2,
                vectors=None, num_classes=2, **unused):
    """One Transformer encoder block (Vaswani et al. 2017) over word and
    position vectors: self-attention, then a feed-forward layer of `units`,
    each added back to its input and layer-normalised; the mean of the
    output vectors feeds the softmax. The attention layer is named
    "attention" (see `attention_scores`)."""
    ids = keras.Input((length,), dtype="int32")
    x = PositionEmbedding(length)(_embedding(vocabulary_size, dim, vectors, mask_zero=True)(ids))
    x = layers.Dropout(vector_dropout)(x)
    attention = layers.MultiHeadAttention(heads, dim // heads, dropout=dropout, name="attention")
    attended, _ = attention(x, x, return_attention_scores=True)
    x = layers.LayerNormalization()(layers.Add()([x, layers.Dropout(dropout)(attended)]))
    y = layers.Dense(dim)(layers.Dense(units, "relu")(x))
    x = layers.LayerNormalization()(layers.Add()([x, layers.Dropout(dropout)(y)]))
    return _head(layers.GlobalAveragePooling1D()(x), ids, dropout, num_classes)


def attention_scores(model, ids):
    """The attention weights of the "attention" layer of a `transformer`
    on the word ids `ids`: a (sentences, heads, length, length) array whose
    row [s, h, i] is how much position i attends to each position."""
    scores = keras.Model(model.input, model.get_layer("attention").output[1])
    return ops.convert_to_numpy(scores(ids))


def plot_attention(model, ids, labels, vocabulary, class_names, path, count=3):
    """Draws the attention of a 2-class `transformer`, averaged over its
    heads, on the first `count` texts of `ids` that have 6 to 14 words, to a
    PNG at `path`; `vocabulary` gives the word of each id, `class_names` the
    name of each label."""
    from kerasdl import plots

    lengths = (ids > 0).sum(1)
    chosen = np.flatnonzero((lengths >= 6) & (lengths <= 14))[:count]
    positive = model.predict(ids[chosen], verbose=0)[:, -1]
    plots.attention_maps([[vocabulary[i] for i in ids[c] if i] for c in chosen],
                         attention_scores(model, ids[chosen]).mean(1), path,
                         [f"{class_names[labels[c]]}; P({class_names[1]}) {p:.2f}"
                          for c, p in zip(chosen, positive)],
                         "Transformer self-attention, mean over heads")


TEXT_CLASSIFIERS = {"bag": bag_of_embeddings, "cnn": kim_cnn, "lstm": bidirectional_lstm,
                    "gru": gru, "transformer": transformer}
