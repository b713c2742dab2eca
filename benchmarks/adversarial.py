"""Adversarial examples in full: runs `kerasdl run adversarial` on each
backend named, one at a time, and prints a markdown table of its claims
(the attacks on the shipped MNIST classifier, and FGSM and PGD adversarial
training, against Goodfellow et al. 2015 and Madry et al. 2018) for
BENCHMARKS.md.

    python benchmarks/adversarial.py [--backends ...] [--root runs/benchmarks/adversarial]

Each run's folder is `ROOT/BACKEND` (replaced). Each row is also appended to
`runs/benchmarks/adversarial.jsonl`. Exits 1 if a target is missed.
"""

import argparse
import sys

from _common import report_claims, run_app

from kerasdl import names


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=names.BACKENDS, default=names.BACKENDS)
    parser.add_argument("--root", default="runs/benchmarks/adversarial")
    args = parser.parse_args()
    rows = []
    for backend in args.backends:
        command, metrics, wall = run_app("adversarial", ["--backend", backend],
                                         f"{args.root}/{backend}")
        rows.append({"command": command, "wall_seconds": wall, "results": metrics["results"],
                     "holds": metrics["holds"], "claim": metrics["claim"]})
    return report_claims(rows, "runs/benchmarks/adversarial.jsonl")


if __name__ == "__main__":
    sys.exit(main())
