"""Tuning targets: runs `kerasdl tune` searches and checks them.

    python benchmarks/tuning.py [--runs hyperband memory apps] [--backends ...]
                                [--apps word2vec transfer gan]

- hyperband: `kerasdl tune classification --tuner hyperband --epochs 9` on
  MNIST (TensorFlow); the best configuration, retrained on train plus
  validation, must reach at least 99.4% test accuracy. Reports its budget:
  trials, epochs and wall time.
- memory: `kerasdl tune classification --tuner random --max-trials 20
  --dry-run` per backend; the resident memory after trial 20 must stay
  within 10% of that after trial 1.
- apps: one small search for each other app (word2vec, transfer, gan) on
  TensorFlow, with its best trial and the retrained figures.
- workers: the same 4-trial random search of the classification app (one
  epoch each, TensorFlow) with `--workers 1` and `--workers 2`, side by
  side; the wall time includes the retraining of the best (one epoch too).

Each search goes to runs/benchmarks/tune-RUN-BACKEND (replaced if there).
Prints markdown tables for BENCHMARKS.md; exits 1 if a target is missed.
"""

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import append_jsonl, hardware
from kerasdl.names import BACKENDS

# brown.txt (1M words) keeps the word2vec search short.
BROWN = Path(os.environ.get("KERASDL_DATA_DIR", "../shared/data")) / "corpora" / "brown.txt"
APPS = {
    "word2vec": ["--corpus", str(BROWN), "--epochs", "2", "--max-trials", "4"],
    "transfer": ["--labels-per-class", "10", "--max-trials", "4"],
    "gan": ["--epochs", "1", "--max-trials", "2"],
}


def tune(app, flags, output_dir):
    """Runs `kerasdl tune APP FLAGS` into `output_dir`, replacing it.

    Returns:
        `(command, trials, best metrics, wall seconds)`.
    """
    command = ["kerasdl", "tune", app, *flags]
    print("$", " ".join(command), flush=True)
    shutil.rmtree(output_dir, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kerasdl", *command[1:], "--output-dir",
                    str(output_dir)], check=True)
    wall = round(time.perf_counter() - start, 1)
    with open(Path(output_dir) / "trials.csv", newline="") as f:
        trials = sorted(csv.DictReader(f), key=lambda t: int(t["trial"]))
    best = json.loads((Path(output_dir) / "best" / "metrics.json").read_text())
    return " ".join(command), trials, best, wall


def hyperband(root):
    output_dir = root / "tune-hyperband-tensorflow"
    command, trials, best, wall = tune(
        "classification", ["--tuner", "hyperband", "--epochs", "9", "--backend",
                           "tensorflow"], output_dir)
    chosen = json.loads((output_dir / "best_hyperparameters.json").read_text())
    row = {"command": command, "trials": len(trials), "wall_seconds": wall,
           "test_accuracy": best["test_accuracy"], "best_hyperparameters": chosen,
           "passed": best["test_accuracy"] >= 0.994}
    print(f"\n| command | trials | wall s | best | retrained test accuracy | target | met |"
          f"\n|---|---|---|---|---|---|---|\n| `{command}` | {row['trials']} | {wall} | "
          f"{chosen} | {best['test_accuracy']:.2%} | >= 99.4% | "
          f"{'yes' if row['passed'] else 'NO'} |")
    return [row]


def memory(root, backends):
    rows = []
    for backend in backends:
        command, trials, _, wall = tune(
            "classification", ["--tuner", "random", "--max-trials", "20", "--dry-run",
                               "--backend", backend], root / f"tune-memory-{backend}")
        first, last = trials[0], trials[-1]
        rows.append({"command": command, "backend": backend, "trials": len(trials),
                     "rss_first": float(first["rss_mb"]), "rss_last": float(last["rss_mb"]),
                     "peak_first": float(first["peak_rss_mb"]),
                     "peak_last": float(last["peak_rss_mb"]), "wall_seconds": wall})
        rows[-1]["passed"] = rows[-1]["rss_last"] <= 1.1 * rows[-1]["rss_first"]
    print("\n| command | RSS after trial 1 | RSS after trial 20 | peak in trial 1 | "
          "peak in trial 20 | wall s | flat (within 10%) |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| `{r['command']}` | {r['rss_first']:.0f} MB | {r['rss_last']:.0f} MB | "
              f"{r['peak_first']:.0f} MB | {r['peak_last']:.0f} MB | {r['wall_seconds']} | "
              f"{'yes' if r['passed'] else 'NO'} |")
    return rows


def apps(root, names):
    rows = []
    for app in names:
        command, trials, best, wall = tune(app, [*APPS[app], "--backend", "tensorflow"],
                                           root / f"tune-{app}-tensorflow")
        search = json.loads((root / f"tune-{app}-tensorflow" / "search.json").read_text())
        objective = search["objective"]
        scores = [float(t[objective]) for t in trials]
        rows.append({"command": command, "app": app, "objective": objective,
                     "trials": len(trials), "best": (min if objective.endswith("fid")
                                                     else max)(scores),
                     "worst": (max if objective.endswith("fid") else min)(scores),
                     "retrained": best, "wall_seconds": wall, "passed": True})
    print("\n| command | objective | trials | best | worst | wall s |\n"
          "|---|---|---|---|---|---|")
    for r in rows:
        print(f"| `{r['command']}` | {r['objective']} | {r['trials']} | {r['best']:.4f} | "
              f"{r['worst']:.4f} | {r['wall_seconds']} |")
    return rows


def workers(root):
    rows = []
    for count in (1, 2):
        command, trials, best, wall = tune(
            "classification", ["--max-trials", "4", "--epochs", "1", "--quiet",
                               "--workers", str(count), "--backend", "tensorflow"],
            root / f"tune-workers-{count}")
        rows.append({"command": command, "workers": count, "trials": len(trials),
                     "wall_seconds": wall, "passed": len(trials) == 4})
    print("\n| command | trials | wall s | against 1 worker |\n|---|---|---|---|")
    for r in rows:
        print(f"| `{r['command']}` | {r['trials']} | {r['wall_seconds']} | "
              f"{rows[0]['wall_seconds'] / r['wall_seconds']:.2f}x |")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", choices=("hyperband", "memory", "apps", "workers"),
                        default=["hyperband", "memory", "apps"])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS),
                        help="backends of the memory run")
    parser.add_argument("--apps", nargs="+", choices=list(APPS), default=list(APPS),
                        help="apps of the apps run")
    parser.add_argument("--root", type=Path, default=Path("runs/benchmarks"))
    args = parser.parse_args()
    rows = []
    if "hyperband" in args.runs:
        rows += hyperband(args.root)
    if "memory" in args.runs:
        rows += memory(args.root, args.backends)
    if "apps" in args.runs:
        rows += apps(args.root, args.apps)
    if "workers" in args.runs:
        rows += workers(args.root)
    print(f"\nHardware: {hardware()}")
    append_jsonl(args.root / "tuning.jsonl", rows)
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
