"""Transfer-learning targets: runs `kerasdl run transfer` with its defaults per
backend (scratch, frozen and finetune for 10, 100 and all labels per class)
and checks the targets.

    python benchmarks/transfer.py [--backends ...] [--seeds 0 1 2 ...]
                                  [--flags "--source fashion_mnist ..."]

Targets (digits 0-4 to 5-9): finetune with all labels reaches 99.2% test
accuracy; with 10 labels per class, frozen or finetune beats scratch by 10
points. The app reuses the base shipped in kerasdl/saved_models/, whatever
the working folder. Each run goes to runs/benchmarks/transfer-BACKEND
(replaced if there). Prints a markdown table per backend for BENCHMARKS.md,
over several seeds with the gap at 10 labels per class for each seed; exits
1 if a target is missed.
"""

import argparse
import shlex
import statistics
import sys
from pathlib import Path

from _common import append_jsonl, hardware, run_app
from kerasdl.names import BACKENDS

MODES = ("scratch", "frozen", "finetune")


def over_seeds(runs):
    """The results of one backend's runs (one per seed) as
    `{(labels, mode): [result per seed]}`, in the runs' order."""
    found = {}
    for metrics in runs:
        for r in metrics["results"]:
            found.setdefault((r["labels_per_class"], r["mode"]), []).append(r)
    return found


def mean(results, key="test_accuracy"):
    return statistics.fmean(r[key] for r in results)


def targets(found):
    """The targets met, as `{name: bool}`, for the default digits pair, on the
    mean accuracies of `over_seeds`."""
    few = max(mean(found[10, "frozen"]), mean(found[10, "finetune"]))
    return {"finetune, all labels >= 99.2%": mean(found["all", "finetune"]) >= 0.992,
            "10 labels: transfer >= scratch + 10 points":
                few - mean(found[10, "scratch"]) >= 0.10}


def gaps(found):
    """Per seed, the better of frozen and finetune minus scratch at 10 labels
    per class, in points."""
    return [100 * (max(f["test_accuracy"], t["test_accuracy"]) - s["test_accuracy"])
            for s, f, t in zip(found[10, "scratch"], found[10, "frozen"], found[10, "finetune"])]


def cell(results):
    if len(results) == 1:
        return f"{mean(results):.2%}"
    return (f"{mean(results):.2%} ± "
            f"{statistics.stdev(r['test_accuracy'] for r in results):.2%}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--flags", default="",
                        help="more app flags, such as another --source and --target; the "
                             "targets are then reported but not checked")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="seeds to run per backend (default: 0)")
    parser.add_argument("--root", type=Path, default=Path("runs/benchmarks"))
    args = parser.parse_args()
    extra = shlex.split(args.flags)
    if "--seed" in extra:
        parser.error("argument --flags: give seeds with --seeds, not --seed")
    runs = {backend: [] for backend in args.backends}
    for backend in args.backends:
        for seed in args.seeds:
            name = "-".join(["transfer", backend, *[f.strip("-") for f in extra]]
                            + ([f"seed-{seed}"] if len(args.seeds) > 1 else []))
            command, metrics, wall = run_app(
                "transfer", ["--backend", backend, "--seed", str(seed), *extra],
                args.root / name)
            runs[backend].append({"command": command, "wall_seconds": wall, **metrics})
    print(f"\nHardware: {hardware()}")
    failed = False
    for backend, backend_runs in runs.items():
        found = over_seeds(backend_runs)
        print(f"\n{backend}, {backend_runs[0]['device']}; base {backend_runs[0]['base']}; "
              f"seeds {', '.join(map(str, args.seeds))}; commands:")
        for r in backend_runs:
            print(f"- `{r['command']}` ({r['wall_seconds']} s wall)")
        print("\n| labels per class | " + " | ".join(MODES) + " | seconds (s/f/ft) |")
        print("|---|" + "---:|" * len(MODES) + "---|")
        for labels in dict.fromkeys(labels for labels, _ in found):
            seconds = "/".join(f"{mean(found[labels, m], 'train_seconds'):.0f}"
                               for m in MODES)
            print(f"| {labels} | " + " | ".join(cell(found[labels, m]) for m in MODES)
                  + f" | {seconds} |")
        if len(args.seeds) > 1 and (10, "scratch") in found:
            per_seed = gaps(found)
            print("- 10 labels, transfer - scratch per seed: "
                  + ", ".join(f"{g:+.1f}" for g in per_seed)
                  + " points (standard error of their mean "
                  f"{statistics.stdev(per_seed) / len(per_seed) ** 0.5:.1f})")
        for target, passed in ({} if extra else targets(found)).items():
            print(f"- {target}: {'met' if passed else 'NOT MET'}")
            failed = failed or not passed
    append_jsonl(args.root / "transfer.jsonl",
                 [r for backend_runs in runs.values() for r in backend_runs])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
