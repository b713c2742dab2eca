"""Autoencoder targets: runs `kerasdl run autoencoder` with its defaults per
backend, for the dense and the convolutional autoencoder and for greedy
pretraining, and checks each against its target.

    python benchmarks/autoencoder.py [--backends ...] [--runs dense conv greedy]

Targets: test binary cross-entropy per pixel at most 0.09 (dense, 32-d code)
and 0.08 (conv); greedy pretraining plus fine-tuning beats the classifier
trained from scratch on the same 100 labels per class, on each of the app's
draws of those labels (the table shows their mean, and each draw). Each run goes to
runs/benchmarks/autoencoder-RUN-BACKEND (replaced if there). Prints a
markdown table for BENCHMARKS.md; exits 1 if a target is missed.
"""

import argparse
import sys
from pathlib import Path

from _common import append_jsonl, hardware, run_app
from kerasdl.names import BACKENDS

RUNS = {
    "dense": ([], lambda m: m["test_bce"] <= 0.09, "BCE <= 0.09"),
    "conv": (["--arch", "conv"], lambda m: m["test_bce"] <= 0.08, "BCE <= 0.08"),
    "greedy": (["--pretrain", "greedy"],
               lambda m: all(p > s for p, s in zip(m["pretrained_accuracies"],
                                                   m["scratch_accuracies"])),
               "pretrained > scratch on each draw"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS))
    parser.add_argument("--root", type=Path, default=Path("runs/benchmarks"))
    args = parser.parse_args()
    rows = []
    for backend in args.backends:
        for name in args.runs:
            flags, check, target = RUNS[name]
            command, metrics, wall = run_app(
                "autoencoder", ["--backend", backend, *flags],
                args.root / f"autoencoder-{name}-{backend}")
            rows.append({"command": command, "run": name, "target": target,
                         "passed": check(metrics), "wall_seconds": wall, **metrics})
    print(f"\nHardware: {hardware()}\n")
    print("| command | device | test BCE | test MSE | pretrained acc. (per draw) "
          "| scratch acc. (per draw) "
          "| target | wall s | met |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        accuracies = []
        for name in ("pretrained", "scratch"):
            draws = ", ".join(f"{a:.2%}" for a in r.get(f"{name}_accuracies", []))
            accuracies.append(f"{r[f'{name}_accuracy']:.2%} ({draws})" if draws else "")
        print(f"| `{r['command']}` | {r['device']} | {r['test_bce']:.4f} | "
              f"{r['test_mse']:.4f} | {' | '.join(accuracies)} | {r['target']} | "
              f"{r['wall_seconds']} | {'yes' if r['passed'] else 'NO'} |")
    append_jsonl(args.root / "autoencoder.jsonl", rows)
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
