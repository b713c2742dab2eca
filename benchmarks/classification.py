"""Classification accuracy targets: runs `kerasdl run classification` with its
default settings for each backend and dataset, and checks the test accuracy
and the wall time against the targets.

    python benchmarks/classification.py [--backends ...] [--datasets ...]

Each run goes to runs/benchmarks/classification-DATASET-BACKEND (replaced if
there). Prints a markdown table for BENCHMARKS.md; exits 1 if a target is
missed.
"""

import argparse
import sys
from pathlib import Path

from _common import append_jsonl, hardware, run_app
from kerasdl.names import BACKENDS

# dataset: (minimum test accuracy, maximum wall seconds or None)
TARGETS = {"mnist": (0.993, 600), "fashion_mnist": (0.930, None)}


def run(dataset, backend, root):
    command, metrics, wall = run_app(
        "classification", ["--backend", backend, "--dataset", dataset],
        root / f"classification-{dataset}-{backend}")
    accuracy_target, seconds_target = TARGETS[dataset]
    passed = metrics["test_accuracy"] >= accuracy_target and (
        seconds_target is None or wall <= seconds_target)
    return {"command": command, "dataset": dataset, "backend": backend,
            "device": metrics["device"], "test_accuracy": metrics["test_accuracy"],
            "epochs": metrics["epochs_run"], "train_seconds": metrics["train_seconds"],
            "wall_seconds": wall, "accuracy_target": accuracy_target,
            "seconds_target": seconds_target, "passed": passed}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--datasets", nargs="+", choices=list(TARGETS), default=["mnist"])
    parser.add_argument("--root", type=Path, default=Path("runs/benchmarks"))
    args = parser.parse_args()
    rows = [run(d, b, args.root) for d in args.datasets for b in args.backends]
    print(f"\nHardware: {hardware()}\n")
    print("| command | device | test accuracy | target | epochs | train s | wall s | met |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        target = f">= {r['accuracy_target']:.1%}"
        if r["seconds_target"]:
            target += f" in <= {r['seconds_target']} s"
        print(f"| `{r['command']}` | {r['device']} | {r['test_accuracy']:.2%} | {target} "
              f"| {r['epochs']} | {r['train_seconds']} | {r['wall_seconds']} "
              f"| {'yes' if r['passed'] else 'NO'} |")
    append_jsonl(args.root / "classification.jsonl", rows)
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
