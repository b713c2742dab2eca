"""The text classifiers in full: runs `kerasdl run text_classification` on
MR for each backend named, one at a time, and prints a markdown table of
each model's mean test accuracy over the folds, against Kim (2014), for
BENCHMARKS.md.

    python benchmarks/text.py [--backends ...] [--models bag,cnn,...]
                              [--folds 10] [--embeddings PATH]
                              [--root runs/benchmarks/text]

Each run's folder is `ROOT/mr-BACKEND` (replaced). Each row is also
appended to `runs/benchmarks/text.jsonl`. Exits 1 if a target is missed.
"""

import argparse
import sys

from _common import report_claims, run_app

from kerasdl import names


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=names.BACKENDS, default=names.BACKENDS)
    parser.add_argument("--models", default="bag,cnn,lstm,gru,transformer")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--embeddings", help="word2vec vectors, for the cnn+vectors row")
    parser.add_argument("--root", default="runs/benchmarks/text")
    args = parser.parse_args()
    rows = []
    for backend in args.backends:
        flags = ["--models", args.models, "--folds", str(args.folds), "--backend", backend]
        flags += ["--embeddings", args.embeddings] if args.embeddings else []
        command, metrics, wall = run_app("text_classification", flags, f"{args.root}/mr-{backend}")
        table = ", ".join(f"{row['model']} {row['test_accuracy']:.2%} ± {row['std']:.2%}"
                          for row in metrics["results"])
        rows.append({"command": command, "wall_seconds": wall,
                     "train_seconds": metrics["train_seconds"], "accuracy": metrics["accuracy"],
                     "results": metrics["results"], "holds": metrics["holds"],
                     "claim": f"{table}; {metrics['claim']}"})
    return report_claims(rows, "runs/benchmarks/text.jsonl", seconds="train_seconds")


if __name__ == "__main__":
    sys.exit(main())
