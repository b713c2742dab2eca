"""Helpers shared by the benchmark scripts."""

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def hardware():
    """Returns a one-line description of this machine's CPU."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores"


def run_app(app, flags, output_dir):
    """Runs `kerasdl run APP FLAGS` in a new process, replacing `output_dir`.

    Returns:
        `(command, metrics, wall_seconds)`: the command as a user types it
        (without the output folder), the run's metrics.json, and the time.
    """
    command = ["kerasdl", "run", app, *flags]
    print("$", " ".join(command), flush=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kerasdl", *command[1:], "--output-dir",
                    str(output_dir), "--overwrite"], check=True)
    wall = time.perf_counter() - start
    metrics = json.loads((Path(output_dir) / "metrics.json").read_text())
    return " ".join(command), metrics, round(wall, 1)


def append_jsonl(path, rows):
    """Appends `rows` (dicts) to the JSON-lines file `path`, with the hardware."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        for row in rows:
            f.write(json.dumps({**row, "hardware": hardware()}) + "\n")


def report_claims(rows, path, seconds="wall_seconds"):
    """Appends `rows` to the JSON-lines file `path` and prints them as a
    markdown table: each row's "command", its `seconds` figure, its "claim"
    and whether it "holds".

    Returns:
        The exit status: 1 if a claim does not hold, else 0.
    """
    append_jsonl(path, rows)
    print(f"\nHardware: {hardware()}\n")
    print(f"| command | {seconds.replace('_', ' ')} | claim | holds |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| `{row['command']}` | {row[seconds]} | {row['claim']} | "
              f"{'yes' if row['holds'] else '**no**'} |")
    return 0 if all(row["holds"] for row in rows) else 1


def keras_io_convnet(keras, input_shape, num_classes):
    """The reference model of keras-io's "Simple MNIST convnet" example."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input(input_shape),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ])


def train_keras_io_reference(keras, mnist, callbacks=()):
    """Trains `keras_io_convnet` as keras-io's example does (Adam, batch
    128, 15 epochs, `validation_split=0.1` of the whole training set), from
    seed 0, on an `ImageData` of MNIST.

    Returns:
        The trained model.
    """
    import numpy as np

    keras.utils.set_random_seed(0)
    model = keras_io_convnet(keras, mnist.input_shape, mnist.num_classes)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])
    model.fit(np.concatenate([mnist.x_train, mnist.x_val]),
              np.concatenate([mnist.y_train, mnist.y_val]), batch_size=128, epochs=15,
              validation_split=0.1, callbacks=list(callbacks), verbose=0)
    return model


def backend_and_root(doc):
    """Parses a script's `--backend` and `--root` (where results go), and
    selects the backend before Keras is imported.

    Returns:
        `(args, backend_name)`.
    """
    import argparse

    from kerasdl import flags

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--backend", choices=flags.BACKENDS, default=None)
    parser.add_argument("--root", type=Path, default=Path("runs/benchmarks"))
    args = parser.parse_args()
    return args, flags.use_backend(args.backend)
