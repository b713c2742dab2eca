"""word2vec: word vectors from skip-gram and CBOW with negative sampling.

- `batches`: the training examples, as the original makes them: subsampled
  frequent words, dynamic windows, negatives from the unigram distribution
  raised to 0.75 (numpy).
- `models`: the skip-gram and CBOW Keras models, the negative-sampling loss
  and the original's SGD schedule.
- `embeddings`: trained word vectors: save and load them, find neighbours and
  analogies, evaluate them on word similarity and analogies (numpy).

The corpus itself (vocabulary, encoding) is read by `kerasdl.data.text`.
Importing this package does not import Keras, so `kerasdl word2vec
neighbors` starts without it; `models` imports Keras.
"""
