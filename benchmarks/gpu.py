"""GPU speed: training throughput in float32 and mixed precision, with and
without XLA, and the MNIST recipe end to end.

    python benchmarks/gpu.py [--backends jax torch] [--budget SECONDS] [--quick]

Throughput: for each backend (a process each), each model below is trained
for two epochs of `--steps` batches of MNIST training images; images per
second are timed over the second epoch, since the first one compiles.
`jit` is `Model.compile`'s `jit_compile`: "auto" (XLA on TensorFlow and JAX,
eager on PyTorch) or the other choice (eager JAX, `torch.compile`).
End to end: `kerasdl run classification --backend B`, in float32 and in
mixed_bfloat16. The order is: throughput with jit "auto", end to end,
throughput with the other jit (`torch.compile` before eager JAX); what
would start after `--budget` seconds is skipped. Rows go to ROOT/gpu.jsonl;
prints markdown tables for BENCHMARKS.md. Runs on a CPU too, where it is
slow (`--quick` to check it).
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _common import append_jsonl, hardware, run_app

from kerasdl import presets
from kerasdl.names import BACKENDS

_MNIST = presets.CLASSIFICATION["mnist"]
_FASHION = presets.CLASSIFICATION["fashion_mnist"]
# name: (builder, options, batch size)
MODELS = {
    "mnist recipe CNN": (_MNIST["model"], _MNIST["model_options"], _MNIST["batch_size"]),
    "fashion recipe CNN": (_FASHION["model"], _FASHION["model_options"],
                           _FASHION["batch_size"]),
    "WRN-16-4": ("wrn", {"depth": 16, "width": 4}, 256),
}
# (model, precision, jit): "auto" everywhere; the other jit for two models.
CONFIGS = [
    *((model, precision, "auto") for model in MODELS
      for precision in ("float32", "mixed_bfloat16", "mixed_float16")),
    *((model, precision, "other") for model in ("mnist recipe CNN", "WRN-16-4")
      for precision in ("float32", "mixed_bfloat16")),
]
# What `jit_compile="auto"` means on each backend, and the other choice.
JIT = {"tensorflow": (True, False), "jax": (True, False), "torch": (False, True)}


def throughput(mnist, model_name, precision, jit, steps):
    """Trains one configuration for two epochs on the `ImageData` `mnist`;
    returns its row."""
    import keras

    from kerasdl import backend, models, training

    builder, options, batch_size = MODELS[model_name]
    count = min(steps * batch_size, len(mnist.x_train))
    keras.backend.clear_session()
    backend.clear_caches()
    keras.utils.set_random_seed(0)
    with models.precision(precision):
        model = models.build_classifier(builder, mnist.input_shape, mnist.num_classes,
                                        **options)
    jit_compile = JIT[keras.backend.backend()][jit == "other"]
    training.compile_model(model, total_steps=2 * steps, lr=1e-3, jit_compile=jit_compile)
    ends = []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: ends.append(time.perf_counter()))
    start = time.perf_counter()
    history = model.fit(mnist.x_train[:count], mnist.y_train[:count], batch_size=batch_size,
                        epochs=2, verbose=0, callbacks=[timer])
    return {"model": model_name, "params": model.count_params(), "precision": precision,
            "jit_compile": jit_compile, "batch_size": batch_size, "images": count,
            "first_epoch_s": round(ends[0] - start, 2),
            "images_per_s": round(count / (ends[1] - ends[0])),
            "final_loss": round(float(history.history["loss"][-1]), 4)}


def worker(backend_name, jit, out, deadline, steps):
    """Runs the configurations with `jit` on one backend, appending rows to
    `out`."""
    from kerasdl import flags

    flags.use_backend(backend_name)
    from kerasdl import backend, data

    device = backend.device_info()
    mnist = data.load_images("mnist", validation_size=presets.VALIDATION_SIZE)
    for model_name, precision, config_jit in CONFIGS:
        if config_jit != jit:
            continue
        row = {"part": "throughput", "backend": backend_name, "device": device,
               "model": model_name, "precision": precision, "jit": jit}
        if time.time() > deadline:
            row["error"] = "skipped: over the time budget"
        else:
            try:
                row.update(throughput(mnist, model_name, precision, jit, steps))
            except Exception as error:  # a failed configuration is a result too
                row["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        print(json.dumps(row), flush=True)
        append_jsonl(out, [row])


def end_to_end(backend_name, precision, root, quick):
    extra = ["--dry-run"] if quick else []
    command, metrics, wall = run_app(
        "classification", ["--backend", backend_name, "--precision", precision, *extra],
        root / f"gpu-classification-{backend_name}-{precision}")
    return {"part": "end to end", "command": command, "backend": backend_name,
            "device": metrics["device"], "precision": precision,
            "test_accuracy": metrics["test_accuracy"], "epochs": metrics["epochs_run"],
            "train_seconds": metrics["train_seconds"], "wall_seconds": wall}


def print_tables(rows):
    print(f"\nHost: {hardware()}\n")
    print("| backend | device | model | precision | jit_compile | batch | images/s "
          "| first epoch s | final loss |")
    print("|---|---|---|---|---|---:|---:|---:|---:|")
    for r in rows:
        if r["part"] != "throughput":
            continue
        if "error" in r:
            print(f"| {r['backend']} | {r['device']} | {r['model']} | {r['precision']} "
                  f"| {r['jit']} | | {r['error']} | | |")
            continue
        print(f"| {r['backend']} | {r['device']} | {r['model']} ({r['params']:,}) "
              f"| {r['precision']} | {r['jit_compile']} | {r['batch_size']} "
              f"| {r['images_per_s']:,} | {r['first_epoch_s']} | {r['final_loss']} |")
    print("\n| command | device | test accuracy | epochs | train s | wall s |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        if r["part"] != "end to end":
            continue
        if "error" in r:
            print(f"| {r['backend']}, {r['precision']} | | {r['error']} | | | |")
            continue
        print(f"| `{r['command']}` | {r['device']} | {r['test_accuracy']:.2%} "
              f"| {r['epochs']} | {r['train_seconds']} | {r['wall_seconds']} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=["jax", "torch"])
    parser.add_argument("--steps", type=int, default=200,
                        help="batches per timed epoch (default: 200)")
    parser.add_argument("--budget", type=float, default=420,
                        help="seconds after which no configuration starts (default: 420)")
    parser.add_argument("--quick", action="store_true",
                        help="5 steps and dry-run apps, to check the script")
    parser.add_argument("--root", type=Path, default=Path("runs/benchmarks"))
    parser.add_argument("--worker", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--jit", choices=("auto", "other"), help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    steps = 5 if args.quick else args.steps
    out = args.root / "gpu.jsonl"
    if args.worker:
        return worker(args.worker, args.jit, out, args.deadline, steps)

    deadline = time.time() + args.budget
    out.unlink(missing_ok=True)

    def throughputs(jit, order=args.backends):
        for backend_name in order:
            subprocess.run([sys.executable, __file__, "--worker", backend_name, "--jit", jit,
                            "--root", str(args.root), "--deadline", str(deadline),
                            "--steps", str(steps)], check=False)

    # The default jit first, then end to end, then the other jit, until the
    # budget is spent.
    throughputs("auto")
    for backend_name in args.backends:
        for precision in ("float32", "mixed_bfloat16"):
            row = {"part": "end to end", "backend": backend_name, "precision": precision}
            if time.time() > deadline:
                row["error"] = "skipped: over the time budget"
            else:
                try:
                    row = end_to_end(backend_name, precision, args.root, args.quick)
                except subprocess.CalledProcessError as error:
                    row["error"] = str(error)
            append_jsonl(out, [row])
    # torch.compile before eager JAX: the H200 run spent its time on eager
    # JAX (52x slower than XLA there) and never reached torch.compile.
    throughputs("other", sorted(args.backends, key=lambda name: not JIT[name][1]))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    print_tables(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
