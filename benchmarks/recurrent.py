"""A recurrent layer's training step on the adding problem: Keras' layer
against kerasdl's (`kerasdl.models.layers`), side by side in one run.

    python benchmarks/recurrent.py --backend torch [--lengths 50 200] [--steps 20]

kerasdl's `SimpleRNN`, `LSTM` and `GRU` run their loop over time as one op
where `kerasdl.backend.recurrent_loop` has one (PyTorch); elsewhere they are
Keras' layers. Each model is long_memory's (the cell with 128 units, then
Dense(1); Adam, MSE) at batch 50; each is fitted once to warm up, then the
two forms alternate `--repeats` times and each keeps its fastest repeat.
Prints a markdown table for BENCHMARKS.md: milliseconds per step, and the
speed-up; rows go to ROOT/recurrent.jsonl.
"""

import sys
import time

from _common import append_jsonl, backend_and_root, hardware

args, backend_name = backend_and_root(
    __doc__, ("--lengths", {"type": int, "nargs": "+", "default": [50, 200]}),
    ("--steps", {"type": int, "default": 20}), ("--repeats", {"type": int, "default": 2}))

import keras  # noqa: E402

from kerasdl.data.sequences import adding_problem  # noqa: E402
from kerasdl.models import layers  # noqa: E402

rows = []
for length in args.lengths:
    x, y = adding_problem(50 * args.steps, length, 0)
    for cell in ("SimpleRNN", "LSTM", "GRU"):
        models = {}
        for form, module in (("Keras", keras.layers), ("kerasdl", layers)):
            keras.utils.set_random_seed(0)
            models[form] = keras.Sequential([keras.Input(x.shape[1:]),
                                             getattr(module, cell)(128), keras.layers.Dense(1)])
            models[form].compile(keras.optimizers.Adam(1e-2, clipnorm=1.0), "mse")
            models[form].fit(x[:100], y[:100], batch_size=50, verbose=0)
        ms = {form: float("inf") for form in models}
        for _ in range(args.repeats):
            for form, model in models.items():
                start = time.perf_counter()
                model.fit(x, y, batch_size=50, verbose=0)
                ms[form] = min(ms[form], (time.perf_counter() - start) / args.steps * 1000)
        rows.append({"backend": backend_name, "cell": cell, "length": length, **ms,
                     "speedup": ms["Keras"] / ms["kerasdl"]})
        print(f"{cell} T={length}: Keras {ms['Keras']:.1f} ms, kerasdl {ms['kerasdl']:.1f} ms",
              flush=True)
command = " ".join(["python", *sys.argv])
print(f"\n`{command}` ({hardware()}, backend {backend_name})\n")
print("| cell | T | Keras' layer ms/step | kerasdl's ms/step | speed-up |\n|---|---|---|---|---|")
for r in rows:
    print(f"| {r['cell']} | {r['length']} | {r['Keras']:.1f} | {r['kerasdl']:.1f} "
          f"| {r['speedup']:.2f}x |")
append_jsonl(args.root / "recurrent.jsonl", [{**r, "command": command} for r in rows])
