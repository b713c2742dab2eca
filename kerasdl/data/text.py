"""Text corpora for word2vec: vocabulary, encoding, and training batches.

A corpus is a plain-text file of words separated by white space (text8 and
the corpora in `$KERASDL_DATA_DIR/corpora` are lowercase a-z). It is read in
blocks, so only the encoded corpus (4 bytes a word) and one chunk of pairs
stay in memory, whatever the corpus size.

Batches follow the original word2vec: frequent words are subsampled, each
kept word gets a window of 1 to `window` words on either side (the dynamic
window), and negatives are drawn from the unigram distribution raised to the
power 0.75.
"""

import collections
import dataclasses
import queue
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np

from kerasdl.data.paths import DATA_DIR_ENV, data_dir, local_file
from kerasdl.errors import UsageError

TEXT8_URL = "http://mattmahoney.net/dc/text8.zip"
CORPORA_DIR = "corpora"
FALLBACK_CORPUS = "combined.txt"
EVALUATION_DIR = "word-similarity"
NOISE_POWER = 0.75
BLOCK_CHARS = 1 << 24
NOISE_TABLE_SIZE = 10_000_000


@dataclasses.dataclass
class Vocabulary:
    """The words of a corpus that occur at least `min_count` times, most
    frequent first, with their counts."""

    words: list
    counts: np.ndarray

    def __post_init__(self):
        self.index = {word: i for i, word in enumerate(self.words)}

    def __len__(self):
        return len(self.words)

    def ids(self, words):
        """Returns the ids of `words`, -1 for a word not in the vocabulary."""
        return np.array([self.index.get(w, -1) for w in words], dtype=np.int32)


def read_words(path, max_chars=None, block_chars=BLOCK_CHARS):
    """Yields the words of a text file as lists, one block of the file at a
    time, never splitting a word between blocks; only the first `max_chars`
    characters when that is given (a word cut there is dropped)."""
    tail, left = "", max_chars
    with open(path, encoding="utf-8", errors="replace") as f:
        while left is None or left > 0:
            block = f.read(block_chars if left is None else min(block_chars, left))
            if not block:
                break
            if left is not None:
                left -= len(block)
            block = tail + block
            cut = max(block.rfind(" "), block.rfind("\n"))
            if cut < 0:
                tail = block
                continue
            tail = block[cut + 1:]
            yield block[:cut].split()
        else:
            return
    if tail.split():
        yield tail.split()


def build_vocabulary(path, min_count, max_chars=None):
    """Counts the words of the corpus at `path`.

    Args:
        path: a plain-text corpus.
        min_count: the fewest occurrences a word needs to be kept.
        max_chars: read only this many characters of the corpus.

    Returns:
        A `Vocabulary`, most frequent word first (ties in first-seen order).

    Raises:
        UsageError: when no word occurs `min_count` times.
    """
    counter = collections.Counter()
    for words in read_words(path, max_chars):
        counter.update(words)
    kept = [(w, c) for w, c in counter.most_common() if c >= min_count]
    if not kept:
        raise UsageError(f"No word of {path} occurs at least {min_count} times "
                         "(--min-count); lower it or use a larger corpus")
    words, counts = zip(*kept)
    return Vocabulary(list(words), np.array(counts, dtype=np.int64))


def encode(path, vocabulary, max_chars=None):
    """Returns the corpus at `path` (its first `max_chars` characters, when
    given) as an int32 array of word ids, leaving out the words that are not
    in `vocabulary`, as word2vec does, and the number of words read."""
    parts, total = [], 0
    for words in read_words(path, max_chars):
        total += len(words)
        ids = vocabulary.ids(words)
        parts.append(ids[ids >= 0])
    return (np.concatenate(parts) if parts else np.zeros(0, np.int32)), total


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
            `kerasdl.models.word2vec.word2vec`).
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


def check_corpus_name(name):
    """Returns the path of the corpus file `name`, or `None` for "text8".

    Raises:
        UsageError: when `name` is neither "text8" nor a file.
    """
    if name == "text8":
        return None
    path = Path(name).expanduser()
    if not path.is_file():
        raise UsageError(f"Unknown corpus: {name!r} is neither 'text8' nor a "
                         "plain-text file")
    return path


def find_corpus(name):
    """Returns the path of a corpus and a sentence that says where it is from.

    Args:
        name: "text8", or the path of a plain-text file.

    For "text8", the local copy `$KERASDL_DATA_DIR/corpora/text8` comes
    first, then a download through `keras.utils.get_file`; offline, the
    combined corpus in `$KERASDL_DATA_DIR/corpora` is used instead, with a
    warning.

    Raises:
        UsageError: when the file does not exist, or text8 cannot be had and
            there is no fallback corpus.
    """
    if name != "text8":
        path = check_corpus_name(name)
        return path, f"the file {path}"
    local = local_file(CORPORA_DIR, "text8")
    if local is not None:
        return local, f"the local copy {local}"
    try:
        return _download_text8(), f"a download of {TEXT8_URL}"
    except Exception as error:  # no network, or a refused download
        reason = f"{type(error).__name__}: {error}".splitlines()[0]
    fallback = local_file(CORPORA_DIR, FALLBACK_CORPUS)
    if fallback is None:
        root = data_dir()
        where = (f"{root / CORPORA_DIR}" if root else f"${DATA_DIR_ENV}/{CORPORA_DIR}")
        raise UsageError(f"text8 could not be downloaded ({reason}) and there is "
                         f"no {FALLBACK_CORPUS} in {where}; pass --corpus PATH")
    print(f"WARNING: text8 could not be downloaded ({reason}); training on "
          f"{fallback} instead, so the figures are not text8's.", file=sys.stderr)
    return fallback, f"the offline fallback {fallback} (not text8)"


def evaluation_file(path, name):
    """Returns the evaluation file to use: `path` when given, else `name`
    under `$KERASDL_DATA_DIR/word-similarity` if it is there, else `None`.

    Raises:
        UsageError: when `path` is given but is not a file.
    """
    if path is not None:
        if not Path(path).expanduser().is_file():
            raise UsageError(f"No such evaluation file: {path!r}")
        return str(Path(path).expanduser())
    local = local_file(EVALUATION_DIR, name)
    return str(local) if local else None


def _download_text8():
    import keras

    archive = Path(keras.utils.get_file("text8.zip", TEXT8_URL))
    path = archive.with_name("text8")
    if not path.exists():
        with zipfile.ZipFile(archive) as z:
            z.extract("text8", archive.parent)
    return path
