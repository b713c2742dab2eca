"""The graph networks in full: runs `kerasdl run gnn` for each dataset,
model and backend named, one at a time, and prints a markdown table of the
mean test accuracies against the papers' for BENCHMARKS.md.

    python benchmarks/gnn.py [--datasets ...] [--models ...] [--backends ...]
                             [--seeds 10] [--root runs/benchmarks/gnn]

Each run's folder is `ROOT/MODEL-DATASET-BACKEND` (replaced). Each row is
also appended to `runs/benchmarks/gnn.jsonl`. Exits 1 if a target is missed.
"""

import argparse
import sys

from _common import report_claims, run_app

from kerasdl import names

DATASETS, MODELS = ("cora", "citeseer"), ("gcn", "gat")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=DATASETS)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=MODELS)
    parser.add_argument("--backends", nargs="+", choices=names.BACKENDS, default=names.BACKENDS)
    parser.add_argument("--seeds", type=int, default=10, help="models trained per run")
    parser.add_argument("--root", default="runs/benchmarks/gnn")
    args = parser.parse_args()
    rows = []
    for model in args.models:
        for dataset in args.datasets:
            for backend in args.backends:
                command, metrics, wall = run_app(
                    "gnn", ["--model", model, "--dataset", dataset, "--backend", backend,
                            "--seeds", str(args.seeds)],
                    f"{args.root}/{model}-{dataset}-{backend}")
                rows.append({"command": command, "wall_seconds": wall,
                             "train_seconds": metrics["train_seconds"],
                             "test_accuracy": metrics["test_accuracy"],
                             "test_accuracy_std": metrics["test_accuracy_std"],
                             "holds": metrics["holds"], "claim": metrics["claim"]})
    return report_claims(rows, "runs/benchmarks/gnn.jsonl", seconds="train_seconds")


if __name__ == "__main__":
    sys.exit(main())
