"""The long-memory app in full: runs `kerasdl run long_memory` for each task
and backend named, one at a time, and prints a markdown table of each cell's
test figure for BENCHMARKS.md.

    python benchmarks/long_memory.py [--tasks adding mnist_rows]
                                     [--backends ...] [--epochs N]
                                     [--root runs/benchmarks/long_memory]

Each run's folder is `ROOT/TASK-BACKEND` (replaced). Each row is also
appended to `runs/benchmarks/long_memory.jsonl`. Exits 1 if a claim fails.
"""

import argparse
import sys

from _common import report_claims, run_app

from kerasdl import names

TASKS = ("adding", "mnist_rows")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=TASKS)
    parser.add_argument("--backends", nargs="+", choices=names.BACKENDS, default=names.BACKENDS)
    parser.add_argument("--epochs", type=int, help="the app's preset when not given")
    parser.add_argument("--root", default="runs/benchmarks/long_memory")
    args = parser.parse_args()
    rows = []
    for task in args.tasks:
        for backend in args.backends:
            flags = ["--task", task, "--backend", backend]
            flags += ["--epochs", str(args.epochs)] if args.epochs else []
            command, metrics, wall = run_app("long_memory", flags,
                                             f"{args.root}/{task}-{backend}")
            rows.append({"command": command, "wall_seconds": wall, "results": metrics["results"],
                         "holds": metrics["holds"], "claim": metrics["claim"]})
    return report_claims(rows, "runs/benchmarks/long_memory.jsonl")


if __name__ == "__main__":
    sys.exit(main())
