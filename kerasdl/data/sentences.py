"""Labelled texts for sentiment classification: Pang & Lee's sentence
polarity set ("MR") and the IMDB movie reviews.

MR is 5,331 positive and 5,331 negative Rotten Tomatoes snippets, lowercased
and tokenised, in Windows-1252. It has no test split: papers (Kim 2014)
report the mean accuracy of 10-fold cross-validation (see `folds`). Its two
files are looked for under `$KERASDL_DATA_DIR/text/`, then read from the
authors' archive, downloaded into `~/.keras/datasets/`.

IMDB is 25,000 training and 25,000 test reviews, in the files of
`keras.datasets.imdb`: `imdb.npz` (each review as word ranks) and
`imdb_word_index.json` (word to rank), looked for under
`$KERASDL_DATA_DIR/keras-datasets/`, then downloaded. The reviews are turned
back into words so that both sets go through the same vectorizer.

Both are tokenised the way Kim (2014) tokenised MR: clitics are split off
("isn't" becomes "is n't", "film's" "film 's"), so that a word and its
contracted forms share a word id. No installed package ships either set, so
there is no offline fallback.
"""

import dataclasses
import json
import re
import sys
import tarfile
from pathlib import Path

import numpy as np

from kerasdl.data.paths import DATA_DIR_ENV, local_file, reading
from kerasdl.errors import UsageError, check_choice

POLARITY_URL = "https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz"
POLARITY_FILES = ("rt-polarity.neg", "rt-polarity.pos")
KERAS_DATASETS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
IMDB_FILES = ("imdb.npz", "imdb_word_index.json")
CLASS_NAMES = ("negative", "positive")
CLITICS = re.compile(r"(n't|'s|'re|'ve|'d|'ll|'m)\b")


@dataclasses.dataclass
class Texts:
    """Labelled texts: `texts` a str array, `labels` an int32 array (0
    negative, 1 positive); `test_texts` and `test_labels` the standard test
    split, or `None` where the set has none (then use `folds`)."""

    name: str
    source: str
    texts: np.ndarray
    labels: np.ndarray
    test_texts: np.ndarray = None
    test_labels: np.ndarray = None
    class_names: tuple = CLASS_NAMES

    def summary(self):
        """Returns the line that describes the data in a run's output."""
        split = ("no test split" if self.test_texts is None
                 else f"{len(self.test_texts):,} test texts")
        return f"Data: {self.name} from {self.source}: {len(self.texts):,} texts, {split}"

    def splits(self, k, seed=0):
        """Returns all the texts, all the labels and the `(train, test)`
        index pairs to run: `k` folds of cross-validation where there is no
        test split, else the standard split alone (then `k` must be 1).

        Raises:
            UsageError: for a `k` that does not fit the set.
        """
        if self.test_texts is None:
            if k < 2:
                raise UsageError(f"Bad number of folds: {k}. {self.name} has no test split, "
                                 "so it needs at least 2 folds")
            return self.texts, self.labels, folds(len(self.texts), k, seed)
        if k != 1:
            raise UsageError(f"Bad number of folds: {k}. {self.name} has a test split; use 1")
        train = np.arange(len(self.texts))
        return (np.concatenate([self.texts, self.test_texts]),
                np.concatenate([self.labels, self.test_labels]),
                [(train, np.arange(len(self.test_texts)) + len(train))])


def _download(name, files, url, layout):
    """Downloads `files` from `url` with `keras.utils.get_file`, or raises a
    `UsageError` that names the data directory `layout`."""
    import keras

    try:
        return [Path(keras.utils.get_file(f, url + f)) for f in files]
    except Exception as error:  # get_file raises bare Exceptions when offline.
        print(f"Download of {name} failed: {error}", file=sys.stderr)
        raise UsageError(f"Cannot find {name}: set ${DATA_DIR_ENV} to a folder holding "
                         f"{layout}, or connect to the internet once to download it.") from None


def split_clitics(texts):
    """Returns `texts` (strs) with clitics split off as separate words."""
    return np.array([CLITICS.sub(r" \1", text) for text in texts], dtype=str)


def _lines(data):
    lines = [line.strip() for line in data.decode("cp1252").splitlines()]
    return split_clitics([line for line in lines if line])


def _read_lines(path):
    with reading(path, "sentence polarity text in Windows-1252", fix=None):
        return _lines(path.read_bytes())


def load_polarity():
    """Loads MR: the texts, negative first, with no test split."""
    local = [local_file("text", f) for f in POLARITY_FILES]
    if all(local):
        source = f"${DATA_DIR_ENV}/text"
        neg, pos = (_read_lines(path) for path in local)
    else:
        url, archive = POLARITY_URL.rsplit("/", 1)
        (path,) = _download("MR", [archive], url + "/",
                            "text/rt-polarity.pos and text/rt-polarity.neg")
        source = f"{POLARITY_URL} (~/.keras/datasets)"
        fix = "remove it to download it again"
        with reading(path, "the sentence polarity archive", fix=fix), tarfile.open(path) as tar:
            neg, pos = (_lines(tar.extractfile(f"rt-polaritydata/{f}").read())
                        for f in POLARITY_FILES)
    labels = np.repeat(np.array([0, 1], "int32"), [len(neg), len(pos)])
    return Texts("mr", source, np.concatenate([neg, pos]), labels)


def _decode(reviews, words):
    return split_clitics([" ".join(words.get(rank, "") for rank in review) for review in reviews])


def load_imdb():
    """Loads IMDB with its standard split, the reviews turned back into words."""
    local = [local_file("keras-datasets", f) for f in IMDB_FILES]
    if all(local):
        paths, source = local, f"${DATA_DIR_ENV}/keras-datasets"
    else:
        paths = _download("IMDB", IMDB_FILES, KERAS_DATASETS_URL,
                          " and ".join(f"keras-datasets/{f}" for f in IMDB_FILES))
        source = "keras.datasets.imdb's download (~/.keras/datasets)"
    with reading(paths[1], "the IMDB word index (JSON)", fix=None):
        words = {rank: word for word, rank in json.loads(paths[1].read_text()).items()}
    with reading(paths[0], "the IMDB reviews", fix=None), \
            np.load(paths[0], allow_pickle=True) as f:
        parts = [f[key] for key in ("x_train", "y_train", "x_test", "y_test")]
    return Texts("imdb", source, _decode(parts[0], words), parts[1].astype("int32"),
                 _decode(parts[2], words), parts[3].astype("int32"))


TEXT_DATASETS = {"mr": load_polarity, "imdb": load_imdb}


def load_texts(name):
    """Loads a text classification set.

    Args:
        name: one of `TEXT_DATASETS` ("mr", "imdb").

    Returns:
        A `Texts`.

    Raises:
        UsageError: for an unknown name, when the files cannot be found,
            or when one is damaged.
    """
    return TEXT_DATASETS[check_choice("dataset", name, TEXT_DATASETS)]()


def folds(count, k, seed=0):
    """Splits `count` examples, shuffled by `seed`, into `k` folds for
    cross-validation.

    Returns:
        A list of `k` `(train, test)` pairs of index arrays; each example is
        in one `test`.
    """
    parts = np.array_split(np.random.default_rng(seed).permutation(count), k)
    return [(np.concatenate(parts[:i] + parts[i + 1:]), part) for i, part in enumerate(parts)]
