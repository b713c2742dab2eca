"""One table of speed: an epoch of every app on every installed backend,
side by side in one run, so that a user can choose a backend.

    python benchmarks/speed.py [--backends ...] [--apps ...] [--epochs 1]

Each app runs `kerasdl run APP --epochs N` with its defaults otherwise (and
word2vec on brown.txt, 1M words), one run at a time. `train s / epoch` adds
up the `seconds` of every `history.csv` the run wrote (an app that trains
several nets counts them all), divided by N; it counts validation and, at
N = 1, compilation. Where a run writes no history, it is the run's
`train_seconds`, else its wall time (the labs, start-up included). `x
fastest` divides it by the fastest backend's for that app. word2vec also
gives its words per second. Rows go to ROOT/speed.jsonl; prints a markdown
table for BENCHMARKS.md.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

from _common import append_jsonl, hardware, run_app

from kerasdl import cli, names
from kerasdl.history import read_history

DATA = Path(os.environ.get("KERASDL_DATA_DIR", "../shared/data"))
EXTRA_FLAGS = {"word2vec": ["--corpus", str(DATA / "corpora" / "brown.txt")]}


def epoch_seconds(output_dir, metrics, wall, epochs):
    """Training seconds per epoch of one run, and where they came from."""
    histories = [read_history(path) for path in Path(output_dir).rglob("history.csv")]
    seconds = [sum(history["seconds"]) for history in histories if "seconds" in history]
    if seconds:
        return sum(seconds) / epochs, f"{len(seconds)} history.csv"
    if "train_seconds" in metrics:
        return metrics["train_seconds"] / epochs, "train_seconds"
    return wall / epochs, "wall time (start-up included)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=names.BACKENDS,
                        default=list(names.BACKENDS), help="default: all three")
    parser.add_argument("--apps", nargs="+", choices=cli.app_names(),
                        default=cli.app_names(), help="default: every app")
    parser.add_argument("--epochs", type=int, default=1, help="epochs a run (default: 1)")
    parser.add_argument("--root", type=Path, default=Path("runs/benchmarks"))
    args = parser.parse_args()
    out = args.root / "speed.jsonl"
    out.unlink(missing_ok=True)
    rows = []
    for app in args.apps:
        for backend in args.backends:
            flags = ["--backend", backend, "--epochs", str(args.epochs),
                     *EXTRA_FLAGS.get(app, [])]
            output_dir = args.root / f"speed-{app}-{backend}"
            try:
                command, metrics, wall = run_app(app, flags, output_dir)
            except subprocess.CalledProcessError as error:
                print(f"{app} on {backend} failed (exit {error.returncode}): left out of "
                      "the table", file=sys.stderr)
                continue
            seconds, source = epoch_seconds(output_dir, metrics, wall, args.epochs)
            row = {"app": app, "backend": backend, "command": command,
                   "device": metrics.get("device"), "epoch_seconds": round(seconds, 1),
                   "source": source, "wall_seconds": wall,
                   "words_per_second": metrics.get("words_per_second")}
            append_jsonl(out, [row])
            rows.append(row)
    print(f"\nHardware: {hardware()}\n")
    print("| app | backend | train s / epoch | x fastest | wall s | from |")
    print("|---|---|---:|---:|---:|---|")
    for row in rows:
        fastest = min(r["epoch_seconds"] for r in rows if r["app"] == row["app"])
        words = (f" ({row['words_per_second']:,} words/s)" if row["words_per_second"]
                 else "")
        print(f"| {row['app']} | {row['backend']} | {row['epoch_seconds']}{words} "
              f"| {row['epoch_seconds'] / max(fastest, 1e-9):.2f}x | {row['wall_seconds']} "
              f"| {row['source']} |")
    print(f"\nEach run: `kerasdl run APP --backend B --epochs {args.epochs}`"
          + "".join(f"; {app} adds `{' '.join(flags)}`" for app, flags in EXTRA_FLAGS.items()
                    if app in args.apps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
