"""word2vec against gensim: same corpus, same settings, same machine.

    python benchmarks/word2vec.py [--corpus PATH] [--backends ...] [--archs ...]

For each architecture, trains gensim's `Word2Vec` (dim 100, window 5, 5
negatives, min-count 5, 5 epochs, subsampling 1e-3, one worker thread per
core) and then runs `kerasdl run word2vec` with the same settings on each
backend. Both sets of vectors are scored by the same code
(`kerasdl.word2vec.embeddings`; its numbers equal gensim's own
`evaluate_word_pairs` and `evaluate_word_analogies(restrict_vocab=30000)`).
Words per second count every corpus word once per epoch, for both.

Targets (skip-gram): WordSim-353 Spearman and analogy accuracy at least
gensim's, and words per second at least 0.5x gensim's, on every backend
(issue 29; issue 3 asked for the speed on the fastest backend only).
Needs `pip install gensim`. Runs go to runs/benchmarks/word2vec-ARCH-BACKEND.
Prints a markdown table for BENCHMARKS.md; exits 1 if a target is missed.
"""

import argparse
import os
import sys
import time
from pathlib import Path

from _common import append_jsonl, hardware, run_app
from kerasdl.names import BACKENDS

ARCHS = ("skipgram", "cbow")
SETTINGS = {"dim": 100, "window": 5, "negatives": 5, "min_count": 5, "epochs": 5,
            "subsample": 1e-3}
GENSIM_SENTENCE = 10_000


def gensim_run(corpus, arch, similarity, analogies):
    """Trains gensim's Word2Vec on `corpus` and scores it like the app."""
    import gensim
    from gensim.models import Word2Vec

    from kerasdl.data import text
    from kerasdl.word2vec import embeddings

    def sentences():
        words = []
        for block in text.read_words(corpus):
            words += block
            full = len(words) - len(words) % GENSIM_SENTENCE
            for start in range(0, full, GENSIM_SENTENCE):
                yield words[start:start + GENSIM_SENTENCE]
            words = words[full:]
        if words:
            yield words

    class Corpus:
        def __iter__(self):
            return sentences()

    workers = len(os.sched_getaffinity(0))
    print(f"$ gensim Word2Vec sg={int(arch == 'skipgram')} workers={workers}", flush=True)
    start = time.perf_counter()
    model = Word2Vec(Corpus(), vector_size=SETTINGS["dim"], window=SETTINGS["window"],
                     negative=SETTINGS["negatives"], min_count=SETTINGS["min_count"],
                     epochs=SETTINGS["epochs"], sample=SETTINGS["subsample"],
                     sg=int(arch == "skipgram"), workers=workers, seed=0)
    wall = time.perf_counter() - start
    vectors = embeddings.WordVectors(list(model.wv.index_to_key), model.wv.vectors)
    return {
        "command": f"gensim {gensim.__version__} Word2Vec(sg={int(arch == 'skipgram')}, "
                   f"workers={workers})",
        "backend": "gensim", "device": "CPU", "arch": arch,
        "vocabulary": len(vectors.words), "corpus_words": model.corpus_total_words,
        "train_seconds": round(model.total_train_time, 1), "wall_seconds": round(wall, 1),
        "words_per_second": round(model.corpus_total_words * SETTINGS["epochs"]
                                  / model.total_train_time),
        "similarity": embeddings.evaluate_similarity(vectors, similarity),
        "analogies": embeddings.evaluate_analogies(vectors, analogies),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = Path(os.environ.get("KERASDL_DATA_DIR", "../shared/data"))
    parser.add_argument("--corpus", type=Path, default=data / "corpora" / "combined.txt")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--archs", nargs="+", choices=ARCHS, default=list(ARCHS))
    parser.add_argument("--no-gensim", action="store_true",
                        help="skip gensim, and the targets that need it")
    parser.add_argument("--root", type=Path, default=Path("runs/benchmarks"))
    args = parser.parse_args()
    similarity = data / "word-similarity" / "wordsim353.tsv"
    analogies = data / "word-similarity" / "questions-words.txt"
    rows = []
    for arch in args.archs:
        reference = None if args.no_gensim else gensim_run(
            args.corpus, arch, similarity, analogies)
        if reference:
            rows.append(reference)
        for backend in args.backends:
            flags = ["--backend", backend, "--arch", arch, "--corpus", str(args.corpus),
                     "--similarity", str(similarity), "--analogies", str(analogies)]
            flags += [f"--{k.replace('_', '-')}={v}" for k, v in SETTINGS.items()]
            command, metrics, wall = run_app(
                "word2vec", flags, args.root / f"word2vec-{arch}-{backend}")
            rows.append({**metrics, "command": command, "wall_seconds": wall})
            if reference and arch == "skipgram":
                rows[-1]["quality_met"] = (
                    metrics["similarity"]["spearman"] >= reference["similarity"]["spearman"]
                    and metrics["analogies"]["accuracy"]
                    >= reference["analogies"]["accuracy"])
                rows[-1]["speed_ratio"] = round(
                    metrics["words_per_second"] / reference["words_per_second"], 2)

    print(f"\nCorpus: {args.corpus}. Hardware: {hardware()}\n")
    print("| command | arch | WordSim-353 Spearman | analogy acc. (answered) "
          "| train s | words/s | x gensim | quality >= gensim |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        a = r["analogies"]
        print(f"| `{r['command']}` | {r['arch']} | {r['similarity']['spearman']:.3f} | "
              f"{a['accuracy']:.2%} ({a['questions'] - a['oov_questions']}) | "
              f"{r['train_seconds']} | {r['words_per_second']:,} | "
              f"{r.get('speed_ratio', '')} | "
              f"{ {True: 'yes', False: 'NO'}.get(r.get('quality_met'), '')} |")
    append_jsonl(args.root / "word2vec.jsonl", rows)
    skipgram = [r for r in rows if r["arch"] == "skipgram" and "quality_met" in r]
    passed = all(r["quality_met"] and r["speed_ratio"] >= 0.5 for r in skipgram)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
