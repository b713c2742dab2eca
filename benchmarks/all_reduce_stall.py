"""XLA's CPU all-reduce stall on simulated devices (issue 35), with Keras
alone: each trial is a process that trains three new copies of few_shot's
encoder under a 456-way softmax, one after another, on 9,120 random
28x28 images, with `keras.distribution.DataParallel` over two simulated
CPU devices (`--xla_force_host_platform_device_count=2`, after any
`XLA_FLAGS` already set, and `--xla-flags`). The trials run one at a
time, alone on the cores or beside `--busy` processes that spin in
Python. Prints one markdown row: how many trials finished, how many XLA
aborted because one device never joined an all-reduce in time, and each
trial's outcome.

    python benchmarks/all_reduce_stall.py --trials 3 --busy 0
    python benchmarks/all_reduce_stall.py --trials 3 --busy 2
    python benchmarks/all_reduce_stall.py --xla-flags=--xla_cpu_multi_thread_eigen=false
"""

import argparse
import multiprocessing
import os
import subprocess
import sys
import time

from _common import hardware

IMAGES, CLASSES, MODELS = 9120, 456, 3


def trial():
    """Trains `MODELS` new models in turn on two simulated devices."""
    os.environ["KERAS_BACKEND"] = "jax"
    import keras
    import numpy as np
    from keras import layers

    keras.distribution.set_distribution(keras.distribution.DataParallel())
    x = np.random.default_rng(0).random((IMAGES, 28, 28, 1), "float32")
    y = np.arange(IMAGES) % CLASSES
    for _ in range(MODELS):
        blocks = [keras.Input((28, 28, 1))]
        for _ in range(4):
            blocks += [layers.Conv2D(64, 3, padding="same"), layers.BatchNormalization(),
                       layers.ReLU(), layers.MaxPooling2D()]
        model = keras.Sequential([*blocks, layers.Flatten(), layers.Dense(CLASSES, "softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=64, verbose=0)


def spin():
    while True:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--busy", type=int, default=0, help="spinning processes beside them")
    parser.add_argument("--timeout", type=int, default=300, help="seconds for one trial")
    parser.add_argument("--xla-flags", default="", help="more XLA_FLAGS for the trials")
    parser.add_argument("--trial", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trial:
        return trial()
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
    for spinner in spinners:
        spinner.start()
    xla_flags = " ".join(filter(None, (os.environ.get("XLA_FLAGS"),
                                       "--xla_force_host_platform_device_count=2", args.xla_flags)))
    env = dict(os.environ, XLA_FLAGS=xla_flags)
    outcomes = []
    for _ in range(args.trials):
        start = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, __file__, "--trial"], env=env,
                                  capture_output=True, text=True, timeout=args.timeout)
            outcome = ("finished" if done.returncode == 0 else "aborted" if
                       "Termination timeout" in done.stderr else f"exit {done.returncode}")
        except subprocess.TimeoutExpired:
            outcome = "timed out"
        outcomes.append(f"{outcome} ({time.perf_counter() - start:.0f} s)")
        print(outcomes[-1], flush=True)
    for spinner in spinners:
        spinner.terminate()
    finished, aborted = (sum(outcome.startswith(word) for outcome in outcomes)
                         for word in ("finished", "aborted"))
    print(f"| `{xla_flags}` | {args.busy} | {finished} of {args.trials} | {aborted} | "
          f"{'; '.join(outcomes)} | {hardware()} |")


if __name__ == "__main__":
    main()
