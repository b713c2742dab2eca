"""The labs in full: runs each lab on each backend named, one at a time, and
prints a markdown table of their claims for BENCHMARKS.md.

    python benchmarks/labs.py [--labs ...] [--backends ...] [--root runs/benchmarks/labs]

Every run is `kerasdl run LAB --backend B` with the lab's defaults; its
folder is `ROOT/LAB-B` (replaced). Each row is also appended to
`runs/benchmarks/labs.jsonl`. Exits 1 if a claim does not hold.
"""

import argparse
import sys

from _common import report_claims, run_app

from kerasdl import cli, names

LABS = [name for name in cli.app_names() if not cli.tunable(name)]  # labs tune nothing


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", nargs="+", choices=LABS, default=LABS)
    parser.add_argument("--backends", nargs="+", choices=names.BACKENDS,
                        default=["tensorflow"])
    parser.add_argument("--root", default="runs/benchmarks/labs")
    args = parser.parse_args()
    rows = []
    for lab in args.labs:
        for backend in args.backends:
            command, metrics, wall = run_app(lab, ["--backend", backend],
                                             f"{args.root}/{lab}-{backend}")
            rows.append({"command": command, "wall_seconds": wall, "holds": metrics["holds"],
                         "claim": metrics["claim"]})
    return report_claims(rows, "runs/benchmarks/labs.jsonl")


if __name__ == "__main__":
    sys.exit(main())
