"""GAN targets: runs `kerasdl run gan` per backend and checks FID and class
coverage against the issue's targets.

    python benchmarks/gan.py [--backends ...] [--runs mnist conditional fashion_mnist]
                             [--flags "--epochs 10"]

Targets: MNIST, FID <= 10 on the project's classifier features and class
entropy >= 2.2 (of log 10 = 2.303); conditional MNIST, >= 90% of samples
classified as the label asked for; Fashion-MNIST, FID <= 25. FID is shown
with the real-vs-real reference (two random halves of the test set) and as
a ratio to it. Each run goes to runs/benchmarks/gan-RUN-BACKEND (replaced if
there). Prints a markdown table for BENCHMARKS.md; exits 1 if a target is
missed.
"""

import argparse
import shlex
import sys
from pathlib import Path

from _common import append_jsonl, hardware, run_app
from kerasdl.names import BACKENDS

RUNS = {
    "mnist": ([], lambda m: m["fid"] <= 10 and m["class_entropy"] >= 2.2,
              "FID <= 10, entropy >= 2.2"),
    "conditional": (["--conditional"], lambda m: m["label_accuracy"] >= 0.9,
                    "label accuracy >= 90%"),
    "fashion_mnist": (["--dataset", "fashion_mnist"], lambda m: m["fid"] <= 25, "FID <= 25"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS))
    parser.add_argument("--flags", default="", help="more flags for every run")
    parser.add_argument("--root", type=Path, default=Path("runs/benchmarks"))
    args = parser.parse_args()
    rows = []
    for backend in args.backends:
        for name in args.runs:
            flags, check, target = RUNS[name]
            command, metrics, wall = run_app(
                "gan", ["--backend", backend, *flags, *shlex.split(args.flags)],
                args.root / f"gan-{name}-{backend}")
            rows.append({"command": command, "run": name, "target": target,
                         "passed": check(metrics), "wall_seconds": wall, **metrics})
    print(f"\nHardware: {hardware()}\n")
    print("| command | device | FID | real halves | FID / real | train vs test | "
          "confident | class entropy | label acc. | target | wall s | met |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        label = f"{r['label_accuracy']:.1%}" if "label_accuracy" in r else ""
        print(f"| `{r['command']}` | {r['device']} | {r['fid']:.2f} | "
              f"{r['fid_real_halves']:.2f} | {r['fid_ratio']:.1f} | {r['fid_train_test']:.2f} "
              f"| {r['confident']:.1%} | {r['class_entropy']:.3f} | {label} | {r['target']} "
              f"| {r['wall_seconds']} | {'yes' if r['passed'] else 'NO'} |")
    append_jsonl(args.root / "gan.jsonl", rows)
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
