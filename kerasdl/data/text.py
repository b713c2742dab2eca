"""Text corpora: find them, count their vocabulary and encode them as word
ids; and the word-similarity files that evaluate word vectors.

A corpus is a plain-text file of words separated by white space (text8 and
the corpora in `$KERASDL_DATA_DIR/corpora` are lowercase a-z). It is read in
blocks, so only the encoded corpus (4 bytes a word) stays in memory,
whatever the corpus size. The word2vec batches over an encoded corpus are in
`kerasdl.word2vec.batches`.
"""

import collections
import dataclasses
import sys
import zipfile
from pathlib import Path

import numpy as np

from kerasdl.data.paths import DATA_DIR_ENV, data_dir, local_file
from kerasdl.errors import UsageError

TEXT8_URL = "http://mattmahoney.net/dc/text8.zip"
CORPORA_DIR = "corpora"
FALLBACK_CORPUS = "combined.txt"
EVALUATION_DIR = "word-similarity"
BLOCK_CHARS = 1 << 24


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
    characters when that is given (a word cut there is dropped).

    Raises:
        UsageError: when a block holds a NUL byte, or more than a tenth of
            it is not UTF-8: the file is binary, not text.
    """
    tail, left = "", max_chars
    with open(path, encoding="utf-8", errors="replace") as f:
        while left is None or left > 0:
            block = f.read(block_chars if left is None else min(block_chars, left))
            if not block:
                break
            if "\x00" in block or block.count("\ufffd") > len(block) / 10:
                raise UsageError(f"{path} is binary, not a plain-text corpus; give a UTF-8 "
                                 "text file")
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
        UsageError: when the corpus is binary or empty, or no word occurs
            `min_count` times.
    """
    counter = collections.Counter()
    for words in read_words(path, max_chars):
        counter.update(words)
    if not counter:
        raise UsageError(f"{path} holds no words; give a plain-text corpus")
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


@dataclasses.dataclass
class Corpus:
    """A corpus encoded as word ids, with its vocabulary (see `load_corpus`).

    Attributes:
        path: the corpus file.
        source: where the file comes from, in words (see `find_corpus`).
        vocabulary: its words of at least `min_count` occurrences.
        min_count: the fewest occurrences of a word in the vocabulary.
        tokens: the word ids of the corpus, the words outside the
            vocabulary left out.
        words: the number of words read, all of them.
    """

    path: Path
    source: str
    vocabulary: Vocabulary
    min_count: int
    tokens: np.ndarray
    words: int

    def summary(self):
        """Returns the line that describes the corpus in a run's output."""
        return (f"Data: {self.source}: {self.words:,} words, vocabulary "
                f"{len(self.vocabulary):,} (min count {self.min_count})")


def load_corpus(name, min_count, max_chars=None):
    """Finds a corpus, counts its vocabulary and encodes it.

    Args:
        name: "text8", or the path of a plain-text file (see `find_corpus`).
        min_count: the fewest occurrences a word needs to be kept.
        max_chars: read only this many characters of the corpus.

    Returns:
        A `Corpus`.

    Raises:
        UsageError: when the corpus cannot be had (`find_corpus`) or has no
            word of `min_count` occurrences.
    """
    path, source = find_corpus(name)
    vocabulary = build_vocabulary(path, min_count, max_chars)
    tokens, words = encode(path, vocabulary, max_chars)
    return Corpus(path, source, vocabulary, min_count, tokens, words)


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
