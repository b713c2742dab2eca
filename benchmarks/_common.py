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


def print_table(rows, columns):
    """Prints `rows` (dicts) as a markdown table for BENCHMARKS.md.

    Args:
        rows: one dict per table row.
        columns: `(heading, template)` pairs; each cell is
            `template.format(**row)`, as in `"{speedup:.2f}x"`.
    """
    print("| " + " | ".join(heading for heading, _ in columns) + " |")
    print("|---" * len(columns) + "|")
    for row in rows:
        print("| " + " | ".join(template.format(**row) for _, template in columns) + " |")


def report_table(rows, columns, path, about=""):
    """Prints the command that runs this script, the hardware (and `about`),
    and `rows` as a markdown table (see `print_table`); appends the rows,
    with the command, to the JSON-lines file `path`."""
    command = " ".join(["python", *sys.argv])
    print(f"\n`{command}` ({hardware()}{about})\n")
    print_table(rows, columns)
    append_jsonl(path, [{**row, "command": command} for row in rows])


def report_claims(rows, path, seconds="wall_seconds"):
    """Appends `rows` to the JSON-lines file `path` and prints them as a
    markdown table: each row's "command", its `seconds` figure, its "claim"
    and whether it "holds".

    Returns:
        The exit status: 1 if a claim does not hold, else 0.
    """
    append_jsonl(path, rows)
    print(f"\nHardware: {hardware()}\n")
    print_table([{**row, "verdict": "yes" if row["holds"] else "**no**"} for row in rows], [
        ("command", "`{command}`"), (seconds.replace("_", " "), "{%s}" % seconds),
        ("claim", "{claim}"), ("holds", "{verdict}")])
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


def backend_and_root(doc, *more):
    """Parses a script's `--backend` and `--root` (where results go), and
    `more` flags, each a `(name, argparse options)` pair, and selects the
    backend before Keras is imported.

    Returns:
        `(args, backend_name)`.
    """
    import argparse

    from kerasdl import flags

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--backend", choices=flags.BACKENDS, default=None)
    parser.add_argument("--root", type=Path, default=Path("runs/benchmarks"))
    for name, options in more:
        parser.add_argument(name, **options)
    args = parser.parse_args()
    return args, flags.use_backend(args.backend)


def compare_forms(doc, switch, imports, build, loss, forms, jsonl):
    """Times a model's training step with a layer in Keras' form and in
    kerasdl's, side by side, each backend in a process of its own.

    `build` is an expression that makes the model, after `imports`; `switch` names the
    `kerasdl.backend` function that chooses kerasdl's form, which is set to
    each answer in turn. Forms alternate `--repeats` times, and each keeps
    its fastest repeat, so a burst of load on the machine favours neither.
    Prints a markdown table for BENCHMARKS.md: milliseconds per step, and
    kerasdl's form's speed-up.

    Args:
        doc: the script's docstring (its first line is the help text).
        switch: a `kerasdl.backend` function name.
        imports: Python source of the imports that `build` needs.
        build: Python source of an expression that returns the model.
        loss: the loss to compile it with.
        forms: the two forms' names, Keras' first.
        jsonl: the JSON-lines file that the rows are appended to.

    Returns:
        The exit status, 0.
    """
    import argparse

    from kerasdl.names import BACKENDS

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    rows = []
    for name in args.backends:
        out = subprocess.run([sys.executable, "-c", _STEP.format(
            switch=switch, imports=imports, build=build, loss=loss, forms=forms), str(args.steps),
            str(args.repeats)], check=True, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "KERAS_BACKEND": name}).stdout
        times = json.loads(out.splitlines()[-1])
        rows.append({"backend": name, **times, "speedup": times[forms[0]] / times[forms[1]]})
    report_table(rows, [("backend", "{backend}"), (f"{forms[0]} ms/step", "{%s:.1f}" % forms[0]),
                        (f"{forms[1]} ms/step", "{%s:.1f}" % forms[1]),
                        ("speed-up", "{speedup:.2f}x")], jsonl)
    return 0


_STEP = """
import json, sys, time
import keras
import numpy as np
from kerasdl import backend
{imports}

steps, repeats = map(int, sys.argv[1:])
x = np.random.default_rng(0).random((128 * steps, 28, 28, 1), dtype=np.float32)
y = {{"binary_crossentropy": x}}.get({loss!r}, np.arange(len(x)) % 10)
models = {{}}
for form, ours in zip({forms!r}, (False, True)):
    backend.{switch} = lambda ours=ours: ours
    keras.utils.set_random_seed(0)
    models[form] = {build}
    models[form].compile("adam", {loss!r})
    models[form].fit(x[:640], y[:640], batch_size=128, epochs=1, verbose=0)
result = {{form: float("inf") for form in models}}
for _ in range(repeats):
    for (form, model), ours in zip(models.items(), (False, True)):
        backend.{switch} = lambda ours=ours: ours  # read at each call where steps run eagerly
        start = time.perf_counter()
        model.fit(x, y, batch_size=128, epochs=1, verbose=0)
        result[form] = min(result[form], (time.perf_counter() - start) / steps * 1000)
print(json.dumps(result))
"""
