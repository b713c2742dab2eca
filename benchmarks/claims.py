"""An app that checks a claim, in full: runs `kerasdl run APP` on each
backend named, one at a time, with the app's defaults, and prints a
markdown table of its claims for BENCHMARKS.md. For the apps that compare
several models: `adversarial` (against Goodfellow et al. 2015 and Madry et
al. 2018), `domain_adaptation` (against Tzeng et al. 2017), `few_shot`
(against the one-shot runs' published table) and `multi_task`
(single-task against multi-task, over seeds).

    python benchmarks/claims.py APP [--backends ...] [--root runs/benchmarks/APP]

Each run's folder is `ROOT/BACKEND` (replaced). Each row is also appended to
`runs/benchmarks/APP.jsonl`. Exits 1 if a target is missed.
"""

import argparse
import sys

from _common import report_claims, run_app

from kerasdl import names

APPS = ("adversarial", "domain_adaptation", "few_shot", "multi_task")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", choices=APPS)
    parser.add_argument("--backends", nargs="+", choices=names.BACKENDS, default=names.BACKENDS)
    parser.add_argument("--root", help="default: runs/benchmarks/APP")
    args = parser.parse_args()
    root, rows = args.root or f"runs/benchmarks/{args.app}", []
    for backend in args.backends:
        command, metrics, wall = run_app(args.app, ["--backend", backend], f"{root}/{backend}")
        rows.append({"command": command, "wall_seconds": wall, "results": metrics["results"],
                     "holds": metrics["holds"], "claim": metrics["claim"]})
    return report_claims(rows, f"runs/benchmarks/{args.app}.jsonl")


if __name__ == "__main__":
    sys.exit(main())
