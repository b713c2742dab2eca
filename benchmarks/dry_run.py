"""Dry-run speed: times `kerasdl run APP --dry-run` for every app and backend
and checks that each takes under 60 seconds, start-up included.

    python benchmarks/dry_run.py [--backends ...] [--apps ...] [--flags="..."]

With --flags (say "--lr 1e30" or "--batch-size 1"), every run gets them too,
and a run that refuses them passes if it exits 2 with one line and no
traceback: a whole-run fuzz of every app.

Runs go to a temporary folder. Prints a markdown table for BENCHMARKS.md;
exits 1 if a run fails or is too slow.
"""

import argparse
import shlex
import subprocess
import sys
import tempfile
import time

from _common import hardware

from kerasdl import cli, names

LIMIT_SECONDS = 60


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=names.BACKENDS,
                        default=list(names.BACKENDS))
    parser.add_argument("--apps", nargs="+", choices=cli.app_names(),
                        default=cli.app_names())
    parser.add_argument("--flags", default="", help="more flags for every run")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for app in args.apps:
            for backend in args.backends:
                command = ["kerasdl", "run", app, "--dry-run", "--backend", backend,
                           *shlex.split(args.flags)]
                start = time.perf_counter()
                result = subprocess.run(
                    [sys.executable, "-m", "kerasdl", *command[1:],
                     "--output-dir", f"{tmp}/{app}-{backend}"],
                    capture_output=True, text=True)
                seconds = time.perf_counter() - start
                refused = (args.flags and result.returncode == 2
                           and "Traceback" not in result.stderr)
                ok = (result.returncode == 0 or refused) and seconds < LIMIT_SECONDS
                if result.returncode:
                    print(result.stderr[-2000:], file=sys.stderr)
                outcome = result.stderr.strip().splitlines()[-1] if refused else "ran"
                rows.append((" ".join(command), seconds, outcome, ok))
    print(f"\nHardware: {hardware()}\n")
    print(f"| command | wall s | outcome | passes (under {LIMIT_SECONDS} s) |")
    print("|---|---|---|---|")
    for command, seconds, outcome, ok in rows:
        print(f"| `{command}` | {seconds:.1f} | {outcome} | {'yes' if ok else 'NO'} |")
    return 0 if all(row[-1] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
