"""word2vec's training batches over an encoded corpus, as the original
makes them: frequent words are subsampled, each kept word gets a window of 1
to `window` words on either side (the dynamic window), and negatives are
drawn from the unigram distribution raised to the power 0.75.

Numpy only; a background thread prepares the next chunk of examples while
the model trains on the current one.
"""

import queue
import threading

import numpy as np

NOISE_POWER = 0.75
NOISE_TABLE_SIZE = 10_000_000


def keep_probabilities(counts, threshold):
    """Returns the probability that subsampling keeps each word.

    A word of frequency f is kept with probability `sqrt(t/f) + t/f` (capped
    at 1), where t is `threshold`; 0 turns subsampling off.
    """
    if not threshold:
        return np.ones(len(counts))
    ratio = threshold * counts.sum() / counts
    return np.minimum(1.0, np.sqrt(ratio) + ratio)


def noise_distribution(counts, power=NOISE_POWER):
    """Returns the negative-sampling distribution: counts ** power, normalised."""
    weights = np.asarray(counts, dtype=np.float64) ** power
    return weights / weights.sum()


def noise_table(counts, size=NOISE_TABLE_SIZE):
    """Returns a table of word ids in which each word fills a share of the
    slots equal to its noise probability: a uniform draw from the table is a
    draw from the noise distribution (to within 1 / `size`), and much
    cheaper than a search of the cumulative distribution."""
    slots = np.round(noise_distribution(counts) * size).astype(np.int64)
    return np.repeat(np.arange(len(counts), dtype=np.int32), np.maximum(slots, 1))


def skipgram_pairs(tokens, windows):
    """Returns the (center, context) pairs of a run of tokens.

    Args:
        tokens: int array of word ids.
        windows: for each token, its window (1 to the maximum window): the
            contexts are the tokens at most that far on either side.

    Returns:
        Two int32 arrays, centers and contexts, grouped by offset.
    """
    centers, contexts = [], []
    for offset in range(1, int(windows.max(initial=0)) + 1):
        wide = windows >= offset
        right = np.flatnonzero(wide[:-offset])
        left = np.flatnonzero(wide[offset:]) + offset
        centers += [tokens[right], tokens[left]]
        contexts += [tokens[right + offset], tokens[left - offset]]
    if not centers:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    return np.concatenate(centers), np.concatenate(contexts)


def cbow_contexts(tokens, windows, pad=0):
    """Returns each token's context words, for CBOW.

    Args:
        tokens: int array of word ids.
        windows: each token's window, as in `skipgram_pairs`.
        pad: the id that fills the unused context slots.

    Returns:
        `(targets, contexts, mask)`: the tokens that have at least one
        context, their contexts `(n, 2 * max_window)` and a float32 mask of
        the slots in use.
    """
    n, width = len(tokens), int(windows.max(initial=0))
    offsets = np.concatenate([np.arange(-width, 0), np.arange(1, width + 1)])
    positions = np.arange(n)[:, None] + offsets
    mask = (np.abs(offsets) <= windows[:, None]) & (positions >= 0) & (positions < n)
    contexts = np.where(mask, tokens[np.clip(positions, 0, n - 1)], pad)
    used = mask.any(axis=1)
    return tokens[used], contexts[used].astype(np.int32), mask[used].astype(np.float32)


class Word2VecBatches:
    """An endless stream of word2vec training batches over an encoded corpus.

    Each pass over the corpus subsamples it afresh and draws new windows.
    The corpus is cut into chunks of `chunk_size` kept words; the examples
    of one chunk are shuffled and cut into batches, so memory is bounded by
    the chunk, not the corpus.

    Skip-gram examples are `{"center": (b,), "candidates": (b, 1 + k)}`;
    CBOW examples are `{"contexts": (b, 2w), "mask": (b, 2w),
    "candidates": (b, 1 + k)}`. Column 0 of the candidates is the true word,
    the others are negatives; the labels are 1 then k zeros.

    Args:
        tokens: the encoded corpus.
        counts: the vocabulary counts, for subsampling and the noise.
        arch: "skipgram" or "cbow".
        window: the largest window.
        negatives: negatives per true word.
        subsample: the subsampling threshold, 0 for none.
        batch_size: examples per batch.
        share: consecutive examples that get the same negatives (see
            `kerasdl.word2vec.models.build_word2vec`).
        seed: the seed of the random stream.
        chunk_size: kept words per chunk.
    """

    def __init__(self, tokens, counts, arch, window, negatives, subsample,
                 batch_size, share=1, seed=0, chunk_size=1 << 18):
        self.tokens = tokens
        self.arch = arch
        self.window = window
        self.negatives = negatives
        self.batch_size = batch_size
        self.share = share
        self.chunk_size = chunk_size
        self.keep = keep_probabilities(counts, subsample)
        self.noise_table = noise_table(counts)
        self.rng = np.random.default_rng(seed)
        self.labels = np.zeros((batch_size, 1 + negatives), np.float32)
        self.labels[:, 0] = 1

    def expected_examples(self):
        """Returns the expected number of examples in one pass."""
        kept = float(self.keep[self.tokens].sum())
        if self.arch == "cbow":
            return kept
        return kept * (self.window + 1)

    def steps_per_pass(self):
        """Returns the number of batches that make one pass, on average."""
        return max(1, int(self.expected_examples() // self.batch_size))

    def sample_negatives(self, n):
        """Draws `(n, negatives)` word ids from the noise distribution."""
        draws = self.rng.integers(0, len(self.noise_table), (n, self.negatives),
                                  dtype=np.int32)
        return self.noise_table[draws]

    def subsample(self, tokens):
        """Returns the tokens that survive subsampling, in order: each word is
        kept with its probability from `keep_probabilities`."""
        return tokens[self.rng.random(len(tokens)) < self.keep[tokens]]

    def _chunk_examples(self, tokens):
        windows = self.rng.integers(1, self.window + 1, size=len(tokens))
        if self.arch == "cbow":
            true, contexts, mask = cbow_contexts(tokens, windows)
            inputs = {"contexts": contexts, "mask": mask}
        else:
            centers, true = skipgram_pairs(tokens, windows)
            inputs = {"center": centers}
        # Whole groups of `share` only, so that groups never straddle batches.
        order = self.rng.permutation(len(true))[:len(true) - len(true) % self.share]
        # Sorting each batch's worth by true word leaves its gradient as it
        # is, but makes its lookups and updates of output vectors local in
        # memory, which speeds training up.
        block = np.arange(len(order)) // self.batch_size
        order = order[np.lexsort((true[order], block))]
        inputs = {key: value[order] for key, value in inputs.items()}
        negatives = np.repeat(self.sample_negatives(len(order) // self.share), self.share,
                              axis=0)
        inputs["candidates"] = np.concatenate([true[order, None], negatives], axis=1)
        return inputs

    def _chunks(self):
        while True:
            kept = self.subsample(self.tokens)
            for start in range(0, len(kept), self.chunk_size):
                yield self._chunk_examples(kept[start:start + self.chunk_size])

    def __iter__(self):
        """Yields `(inputs, labels)` batches of exactly `batch_size`.

        A background thread prepares the next chunks while the current one
        is consumed (numpy releases the GIL), so training does not wait.
        """
        chunks = queue.Queue(maxsize=2)
        stop = threading.Event()

        def produce():
            for chunk in self._chunks():
                while not stop.is_set():
                    try:
                        chunks.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return

        threading.Thread(target=produce, daemon=True).start()
        carry = None
        try:
            while True:
                chunk = chunks.get()
                if carry is not None:
                    chunk = {k: np.concatenate([carry[k], chunk[k]]) for k in chunk}
                n = len(chunk["candidates"])
                full = n - n % self.batch_size
                for start in range(0, full, self.batch_size):
                    yield ({k: v[start:start + self.batch_size] for k, v in chunk.items()},
                           self.labels)
                carry = {k: v[full:] for k, v in chunk.items()}
        finally:
            stop.set()
