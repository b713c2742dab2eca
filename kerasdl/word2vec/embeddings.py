"""Word vectors: save and load them, find neighbours and analogies, and
evaluate them on word similarity (WordSim-353) and analogies (Google).

Numpy only (matplotlib for the map of `WordVectors.save_map`), so that
`kerasdl word2vec neighbors` starts without Keras.
"""

import dataclasses
import sys
from pathlib import Path

import numpy as np

from kerasdl.data.paths import reading
from kerasdl.errors import UsageError

VECTORS_FILE = "vectors.txt"
ANALOGY_VOCABULARY = 30_000
# Seed of the fixed split of a word-similarity set into a dev half and a
# held-out half (`evaluate_similarity`).
DEV_SEED = 0
# The words a run maps in words.png (by default), and those whose
# neighbours its metrics list.
MAP_WORDS = ("one two three four five six seven eight nine ten "
             "monday tuesday friday sunday january march july december "
             "france paris germany berlin italy rome japan tokyo "
             "king queen man woman boy girl father mother "
             "red green blue black white dog cat horse bird fish")
PROBE_WORDS = ("five", "france", "king", "monday", "computer")


@dataclasses.dataclass
class WordVectors:
    """Word vectors, most frequent word first."""

    words: list
    vectors: np.ndarray

    def __post_init__(self):
        self.index = {word: i for i, word in enumerate(self.words)}
        norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        self.unit = self.vectors / np.maximum(norms, 1e-12)

    def ids(self, words):
        """Returns the ids of `words`; raises a `UsageError` naming those
        that are not in the vocabulary."""
        missing = [w for w in words if w not in self.index]
        if missing:
            raise UsageError(f"Not in the vocabulary: {', '.join(map(repr, missing))}")
        return [self.index[w] for w in words]

    def nearest(self, query, k, exclude=()):
        """Returns the `k` (word, cosine) pairs closest to the vector `query`,
        leaving out the ids in `exclude`."""
        scores = self.unit @ (query / max(np.linalg.norm(query), 1e-12))
        scores[list(exclude)] = -np.inf
        top = np.argsort(-scores)[:k]
        return [(self.words[i], float(scores[i])) for i in top]

    def neighbors(self, word, k=10):
        """Returns the `k` words closest to `word` by cosine, with scores."""
        (i,) = self.ids([word])
        return self.nearest(self.unit[i], k, exclude=[i])

    def analogy(self, a, b, c, k=5):
        """Returns the `k` best answers to "a is to b as c is to ?" by
        3CosAdd: the words closest to b - a + c (unit vectors)."""
        ia, ib, ic = self.ids([a, b, c])
        query = self.unit[ib] - self.unit[ia] + self.unit[ic]
        return self.nearest(query, k, exclude=[ia, ib, ic])

    def embedding_matrix(self, words, rng):
        """Returns a float32 `(len(words), dim)` matrix to start an embedding
        layer from, and how many of `words` have a vector. Row i is the
        vector of `words[i]`, scaled so that the vectors' spread is that of
        Kim's (2014) random start, uniform in [-0.25, 0.25] (std 0.144); a
        word without a vector gets a random row."""
        rows = rng.uniform(-0.25, 0.25, (len(words), self.vectors.shape[1])).astype("float32")
        found = [(i, self.index[w]) for i, w in enumerate(words) if w in self.index]
        if found:
            rows_at, ids = map(list, zip(*found))
            rows[rows_at] = self.vectors[ids] * (0.25 / 3 ** 0.5 / max(self.vectors.std(), 1e-12))
        return rows, len(found)

    def save(self, path):
        """Writes the vectors in word2vec text format."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"{len(self.words)} {self.vectors.shape[1]}\n")
            for word, row in zip(self.words, self.vectors):
                f.write(word + " " + " ".join(f"{x:.6g}" for x in row) + "\n")

    def save_projector(self, folder, log_folder=None):
        """Writes `vectors.tsv` and `metadata.tsv` for the TensorBoard
        Embedding Projector (projector.tensorflow.org: Load).

        Args:
            folder: where to write them.
            log_folder: the run's TensorBoard logs, or `None`. Its training
                logs (`train/`) then get both files too (TensorBoard reads
                none outside its logs) and a `projector_config.pbtxt` that
                names them, so that TensorBoard's Projector tab shows the
                vectors.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.savetxt(folder / "vectors.tsv", self.vectors, fmt="%.6g", delimiter="\t")
        (folder / "metadata.tsv").write_text("\n".join(self.words) + "\n", encoding="utf-8")
        if log_folder is not None:
            logs = Path(log_folder, "train")
            self.save_projector(logs)
            (logs / "projector_config.pbtxt").write_text(
                'embeddings {\n  tensor_name: "word2vec"\n  tensor_path: "vectors.tsv"\n'
                '  metadata_path: "metadata.tsv"\n}\n')

    def preprocessing(self, min_count):
        """Returns what a word id means, for the card of a model from word
        ids to these vectors (of the words of `min_count` occurrences)."""
        return {"word_ids": f"line i + 1 of {VECTORS_FILE} is word id i, the "
                            f"{len(self.words):,} words of min count {min_count}, "
                            "most frequent first"}

    def save_map(self, words, path, name):
        """Writes a PCA map of those of `words` that have vectors to a PNG
        titled after `name`; nothing for fewer than 3."""
        from kerasdl import plots

        shown = [w for w in words if w in self.index]
        if len(shown) >= 3:
            points = plots.pca_2d(self.vectors[self.ids(shown)])
            plots.word_map(points, shown, path,
                           title=f"{name}: PCA of {len(shown)} word vectors")


def load(path):
    """Reads word vectors in word2vec text format from a file, or from the
    `vectors.txt` of a run folder.

    Raises:
        UsageError: when there is no such file, or it is not in that format.
    """
    path = Path(path)
    if path.is_dir():
        path = path / VECTORS_FILE
    if not path.is_file():
        raise UsageError(f"No word vectors at {str(path)!r}: give a word2vec run "
                         f"folder (holding {VECTORS_FILE}) or a vectors file")
    with reading(path, "word vectors in word2vec text format", fix=None), \
            open(path, encoding="utf-8") as f:
        count, dim = map(int, f.readline().split())
        words, rows = [], np.empty((count, dim), np.float32)
        for i, line in enumerate(f):
            word, *values = line.rstrip("\n").split(" ")
            words.append(word)
            rows[i] = np.asarray(values, dtype=np.float32)
        if len(words) != count:
            raise ValueError(f"its header says {count} words, it holds {len(words)}")
    return WordVectors(words, rows)


def _ranks(x):
    """Ranks from 1, ties getting the mean of their ranks."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    values, inverse = np.unique(x, return_inverse=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / np.bincount(inverse))[inverse]


def spearman(x, y):
    """Spearman's rank correlation of two sequences."""
    return float(np.corrcoef(_ranks(np.asarray(x)), _ranks(np.asarray(y)))[0, 1])


def read_similarity(path):
    """Reads a word-similarity file: lines `word1 word2 score`, split by
    tabs or spaces; lines starting with `#` and a header whose score is not
    a number are skipped. Returns a list of (word1, word2, score)."""
    pairs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        fields = line.replace("\t", " ").split()
        if len(fields) != 3 or line.startswith("#"):
            continue
        try:
            pairs.append((fields[0].lower(), fields[1].lower(), float(fields[2])))
        except ValueError:
            continue
    return pairs


def evaluate_similarity(vectors, path):
    """Spearman correlation between the cosines of word pairs and human scores.

    Besides all the pairs, it scores a fixed random half of them (the dev
    half, which `kerasdl tune word2vec` selects on) and the other half (the
    held-out half, untouched by tuning).

    Args:
        vectors: `WordVectors`.
        path: a word-similarity file (see `read_similarity`), such as
            WordSim-353.

    Returns:
        A dict: `spearman` over the pairs whose words are both known (`None`
        for fewer than two), `dev_spearman` and `heldout_spearman` over the
        known pairs of each half, `pairs`, and `oov_pairs`, the pairs left out.
    """
    pairs = read_similarity(path)
    dev = set(np.random.default_rng(DEV_SEED).permutation(len(pairs))[:len(pairs) // 2])
    known = [(i, a, b, s) for i, (a, b, s) in enumerate(pairs)
             if a in vectors.index and b in vectors.index]

    def correlation(subset):
        cosines = [float(vectors.unit[vectors.index[a]] @ vectors.unit[vectors.index[b]])
                   for _, a, b, _ in subset]
        return spearman(cosines, [s for *_, s in subset]) if len(subset) > 1 else None

    return {
        "spearman": correlation(known),
        "dev_spearman": correlation([pair for pair in known if pair[0] in dev]),
        "heldout_spearman": correlation([pair for pair in known if pair[0] not in dev]),
        "pairs": len(pairs),
        "oov_pairs": len(pairs) - len(known),
    }


def read_analogies(path):
    """Reads an analogy file in the Google format: `: section` lines, then
    lines `a b c d`. Returns a list of (section, (a, b, c, d)), lowercased."""
    questions, section = [], ""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            section = line[1:].strip()
        elif len(line.split()) == 4:
            questions.append((section, tuple(line.lower().split())))
    return questions


def evaluate_analogies(vectors, path, limit=ANALOGY_VOCABULARY, batch=512):
    """Analogy accuracy by 3CosAdd, among the `limit` most frequent words.

    As in gensim's `evaluate_word_analogies`: a question with a word outside
    those words is skipped (counted as out of vocabulary), the three words
    of the question are never an answer, and the answer is the word whose
    unit vector is closest to b - a + c.

    Args:
        vectors: `WordVectors`, most frequent word first.
        path: an analogy file in the Google format (`read_analogies`).
        limit: how many of the most frequent words are searched.
        batch: questions scored at once.

    Returns:
        A dict: `accuracy` over the questions answered, `correct`,
        `questions`, `oov_questions`, and `sections`, the accuracy of each
        section.
    """
    questions = read_analogies(path)
    known = [(s, q) for s, q in questions
             if all(vectors.index.get(w, limit) < limit for w in q)]
    ids = np.array([[vectors.index[w] for w in q] for _, q in known], np.int64)
    unit = vectors.unit[:limit]
    hits = np.zeros(len(ids), bool)
    for start in range(0, len(ids), batch):
        a, b, c, d = ids[start:start + batch].T
        scores = (unit[b] - unit[a] + unit[c]) @ unit.T
        rows = np.arange(len(a))
        for exclude in (a, b, c):
            scores[rows, exclude] = -np.inf
        hits[start:start + batch] = scores.argmax(axis=1) == d
    sections = {}
    for (section, _), hit in zip(known, hits):
        sections.setdefault(section, []).append(hit)
    return {
        "accuracy": float(hits.mean()) if len(hits) else None,
        "correct": int(hits.sum()),
        "questions": len(questions),
        "oov_questions": len(questions) - len(known),
        "sections": {s: round(float(np.mean(h)), 4) for s, h in sections.items()},
    }


def evaluate(vectors, similarity=None, analogies=None):
    """Scores word vectors on the evaluation files given, each of which
    missing is a warning, and finds the neighbours of `PROBE_WORDS`.

    Args:
        vectors: `WordVectors`, most frequent word first.
        similarity: a word-similarity file (`evaluate_similarity`), or `None`.
        analogies: an analogy file (`evaluate_analogies`), or `None`.

    Returns:
        A dict: `similarity` and `analogies`, the results on the files given
        (with their `file`); with a similarity file, `val_similarity`, the
        Spearman correlation on its dev half (what `kerasdl tune word2vec`
        maximises); and `neighbors`, the 8 closest words of each probe word
        in the vocabulary.
    """
    results = {}
    for key, path, score in (("similarity", similarity, evaluate_similarity),
                             ("analogies", analogies, evaluate_analogies)):
        if path is None:
            print(f"WARNING: no {key} file (--{key}); skipping that evaluation.",
                  file=sys.stderr)
        else:
            results[key] = {"file": str(path), **score(vectors, path)}
    if "similarity" in results:
        results["val_similarity"] = results["similarity"]["dev_spearman"]
    results["neighbors"] = {word: [w for w, _ in vectors.neighbors(word, 8)]
                            for word in PROBE_WORDS if word in vectors.index}
    return results


def summary(results):
    """Returns the scores among `evaluate`'s `results` as phrases, such as
    `["WordSim Spearman 0.645", "analogy accuracy 0.2218"]`."""
    correlation = results.get("similarity", {}).get("spearman")
    accuracy = results.get("analogies", {}).get("accuracy")
    phrases = []
    if correlation is not None:
        phrases.append(f"WordSim Spearman {correlation:.3f}")
    if accuracy is not None:
        phrases.append(f"analogy accuracy {accuracy:.4f}")
    return phrases
