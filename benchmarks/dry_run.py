"""Dry-run speed: times `kerasdl run APP --dry-run` for every app and backend
and checks that each takes under 60 seconds, start-up included.

    python benchmarks/dry_run.py [--backends ...] [--apps ...] [--flags="..."]
                                 [--random N [--seed S]]

With --flags (say "--lr 1e30" or "--batch-size 1"), every run gets them too,
and a run that refuses them passes if it exits 2 with one line and no
traceback: a whole-run fuzz of every app. With --random N, each app runs N
times per backend instead, each time with valid values, drawn at random,
for four flags, up to three of them its own (`random_flags`); such a run
passes when it finishes or refuses in one line, however long it takes.

Runs go to a temporary folder. Prints a markdown table for BENCHMARKS.md;
exits 1 if a run fails or is too slow.
"""

import argparse
import random
import shlex
import subprocess
import sys
import tempfile
import time

from _common import hardware

from kerasdl import cli, flags, models, names

LIMIT_SECONDS = 60
# Valid values to draw for each type of flag: small, typical and extreme.
VALUES = {flags.positive_int: (1, 2, 3, 8, 32), flags.non_negative_int: (0, 1, 3),
          flags.fraction: (0.0, 0.3, 0.9), flags.positive_float: (1e-6, 1e-3, 0.1, 10.0, 1e4),
          flags.seed: (0, 7, 2**31 - 1)}


def random_flags(app, rng):
    """Valid values for four flags, up to three of them `app`'s own and the
    rest shared ones, drawn by their declared choices or type; flags of
    other types keep their defaults."""
    own = {name: spec for name, spec in cli.load_app(app).FLAGS.items() if spec}
    shared = {name: spec for name, spec in flags.SHARED_FLAGS.items()
              if name not in (*own, *flags.RUN_FLAGS, "dry_run")}
    table = {**shared, **own}
    drawn = []
    mine = rng.sample(sorted(own), min(3, len(own)))
    for name in mine + rng.sample(sorted(shared), 4 - len(mine)):
        spec, flag = table[name], "--" + name.replace("_", "-")
        if "choices" in spec:
            drawn += [flag, str(rng.choice(spec["choices"]))]
        elif spec.get("type") in VALUES:
            drawn += [flag, str(rng.choice(VALUES[spec["type"]]))]
        elif spec.get("type") is flags.augmentation_list:
            chosen = rng.sample(sorted(models.AUGMENTATIONS), rng.randint(0, 3))
            drawn += [flag, ",".join(chosen) or "none"]
        elif spec.get("action") == "store_true":
            drawn.append(flag)
        elif spec.get("action") is argparse.BooleanOptionalAction:
            drawn.append(rng.choice([flag, "--no-" + flag[2:]]))
    return drawn


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=names.BACKENDS,
                        default=list(names.BACKENDS))
    parser.add_argument("--apps", nargs="+", choices=cli.app_names(),
                        default=cli.app_names())
    parser.add_argument("--flags", default="", help="more flags for every run")
    parser.add_argument("--random", type=int, default=0, metavar="N",
                        help="N runs per app and backend, each with random valid flags")
    parser.add_argument("--seed", type=int, default=0, help="seeds the --random draws")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    runs = [(app, backend, random_flags(app, rng) if args.random else [])
            for app in args.apps for backend in args.backends for _ in range(args.random or 1)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for number, (app, backend, drawn) in enumerate(runs):
            command = ["kerasdl", "run", app, "--dry-run", "--backend", backend,
                       *shlex.split(args.flags), *drawn]
            start = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-m", "kerasdl", *command[1:], "--output-dir", f"{tmp}/{number}"],
                capture_output=True, text=True)
            seconds = time.perf_counter() - start
            refused = ((args.flags or drawn) and result.returncode == 2
                       and "Traceback" not in result.stderr)
            ok = (result.returncode == 0 or refused) and (seconds < LIMIT_SECONDS or args.random)
            if result.returncode:
                print(result.stderr[-2000:], file=sys.stderr)
            outcome = (result.stderr.strip().splitlines()[-1] if refused
                       else f"failed (exit {result.returncode})" if result.returncode else "ran")
            rows.append((shlex.join(command), seconds, outcome, ok))
            print(f"{rows[-1][0]}: {outcome}, {seconds:.1f} s", flush=True)
    print(f"\nHardware: {hardware()}\n")
    limit = "" if args.random else f" (under {LIMIT_SECONDS} s)"
    print(f"| command | wall s | outcome | passes{limit} |")
    print("|---|---|---|---|")
    for command, seconds, outcome, ok in rows:
        print(f"| `{command}` | {seconds:.1f} | {outcome} | {'yes' if ok else 'NO'} |")
    return 0 if all(row[-1] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
