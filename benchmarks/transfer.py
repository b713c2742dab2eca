"""Transfer-learning targets: runs `kerasdl run transfer` with its defaults per
backend (scratch, frozen and finetune for 10, 100 and all labels per class)
and checks the targets.

    python benchmarks/transfer.py [--backends ...] [--flags "--source fashion_mnist ..."]

Targets (digits 0-4 to 5-9): finetune with all labels reaches 99.2% test
accuracy; with 10 labels per class, frozen or finetune beats scratch by 10
points. Run from the repository root, the app reuses the shipped base in
saved_models/. Each run goes to runs/benchmarks/transfer-BACKEND (replaced
if there). Prints a markdown table per run for BENCHMARKS.md; exits 1 if a
target is missed.
"""

import argparse
import shlex
import sys
from pathlib import Path

from _common import append_jsonl, hardware, run_app
from kerasdl.names import BACKENDS

MODES = ("scratch", "frozen", "finetune")


def accuracy(metrics, labels, mode):
    return next(r["test_accuracy"] for r in metrics["results"]
                if r["labels_per_class"] == labels and r["mode"] == mode)


def targets(metrics):
    """The targets met, as `{name: bool}`, for the default digits pair."""
    few = max(accuracy(metrics, 10, "frozen"), accuracy(metrics, 10, "finetune"))
    return {"finetune, all labels >= 99.2%": accuracy(metrics, "all", "finetune") >= 0.992,
            "10 labels: transfer >= scratch + 10 points":
                few - accuracy(metrics, 10, "scratch") >= 0.10}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--flags", default="",
                        help="more app flags, such as another --source and --target; the "
                             "targets are then reported but not checked")
    parser.add_argument("--root", type=Path, default=Path("runs/benchmarks"))
    args = parser.parse_args()
    extra = shlex.split(args.flags)
    rows = []
    for backend in args.backends:
        name = "-".join(["transfer", backend, *[f.strip("-") for f in extra]])
        command, metrics, wall = run_app("transfer", ["--backend", backend, *extra],
                                         args.root / name)
        met = {} if extra else targets(metrics)
        rows.append({"command": command, "wall_seconds": wall, "targets": met, **metrics})
    print(f"\nHardware: {hardware()}")
    for r in rows:
        print(f"\n`{r['command']}` ({r['backend']}, {r['device']}; base {r['base']}, "
              f"{r['wall_seconds']} s wall)\n")
        print("| labels per class | " + " | ".join(MODES) + " | seconds (s/f/ft) |")
        print("|---|---:|---:|---:|---|")
        for labels in dict.fromkeys(x["labels_per_class"] for x in r["results"]):
            found = {x["mode"]: x for x in r["results"] if x["labels_per_class"] == labels}
            print(f"| {labels} | " + " | ".join(
                f"{found[m]['test_accuracy']:.2%}" for m in MODES) + " | " + "/".join(
                f"{found[m]['train_seconds']:.0f}" for m in MODES) + " |")
        for target, passed in r["targets"].items():
            print(f"- {target}: {'met' if passed else 'NOT MET'}")
    append_jsonl(args.root / "transfer.jsonl", rows)
    return 0 if all(all(r["targets"].values()) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
