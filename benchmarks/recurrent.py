"""A recurrent layer's training step: Keras' layer against kerasdl's
(`kerasdl.models.layers`), side by side in one run, on the adding problem
and on padded sentences.

    python benchmarks/recurrent.py --backend torch [--lengths 50 200] [--steps 20]

kerasdl's `SimpleRNN`, `LSTM` and `GRU` run their loop over time as one op
where `kerasdl.backend.recurrent_loop` has one (PyTorch); elsewhere they are
Keras' layers. The adding problem's model is long_memory's (the cell with
128 units, then Dense(1); Adam, MSE), at each of `--lengths`. The
sentences are text_classification's shape: ids padded to 60 words, 5 to 40
of them real (MR's sentences have 21 on average), embedded in 128
dimensions with the padding masked, read by a bidirectional LSTM or a GRU
of 64 units, then a softmax over 2 classes. Batch 50 throughout. Each
model is fitted once to warm up, then the two forms alternate `--repeats`
times and each keeps its fastest repeat. Prints a markdown table for
BENCHMARKS.md: milliseconds per step, and the speed-up; rows go to
ROOT/recurrent.jsonl.
"""

import time

import numpy as np
from _common import backend_and_root, report_table

args, backend_name = backend_and_root(
    __doc__, ("--lengths", {"type": int, "nargs": "+", "default": [50, 200]}),
    ("--steps", {"type": int, "default": 20}), ("--repeats", {"type": int, "default": 2}))

import keras  # noqa: E402

from kerasdl.data.sequences import adding_problem  # noqa: E402
from kerasdl.models import layers  # noqa: E402


def adding(module, cell, length):
    return keras.Sequential([keras.Input((length, 2)), getattr(module, cell)(128),
                             keras.layers.Dense(1)]), "mse"


def sentences(module, cell, length):
    inner = getattr(module, cell)(64)
    reader = keras.layers.Bidirectional(inner) if cell == "LSTM" else inner
    return keras.Sequential([keras.Input((length,), dtype="int32"),
                             keras.layers.Embedding(20000, 128, mask_zero=True), reader,
                             keras.layers.Dense(2, "softmax")]), "sparse_categorical_crossentropy"


rng = np.random.default_rng(0)
count = 50 * args.steps
words = np.arange(60) < rng.integers(5, 41, (count, 1))
cases = [("adding", length, cell, *adding_problem(count, length, 0))
         for length in args.lengths for cell in ("SimpleRNN", "LSTM", "GRU")]
cases += [("sentences", 60, cell, np.where(words, rng.integers(1, 20000, (count, 60)), 0),
           rng.integers(0, 2, count)) for cell in ("LSTM", "GRU")]
rows = []
for task, length, cell, x, y in cases:
    models = {}
    for form, module in (("Keras", keras.layers), ("kerasdl", layers)):
        keras.utils.set_random_seed(0)
        models[form], loss = {"adding": adding, "sentences": sentences}[task](module, cell, length)
        models[form].compile(keras.optimizers.Adam(1e-3, clipnorm=1.0), loss)
        models[form].fit(x[:100], y[:100], batch_size=50, verbose=0)
    ms = {form: float("inf") for form in models}
    for _ in range(args.repeats):
        for form, model in models.items():
            start = time.perf_counter()
            model.fit(x, y, batch_size=50, verbose=0)
            ms[form] = min(ms[form], (time.perf_counter() - start) / args.steps * 1000)
    cell = f"bidirectional {cell}" if task == "sentences" and cell == "LSTM" else cell
    rows.append({"backend": backend_name, "task": task, "cell": cell, "length": length, **ms,
                 "speedup": ms["Keras"] / ms["kerasdl"]})
    print(f"{task}, {cell}, T={length}: Keras {ms['Keras']:.1f} ms, "
          f"kerasdl {ms['kerasdl']:.1f} ms", flush=True)
report_table(rows, [("task", "{task}"), ("cell", "{cell}"), ("T", "{length}"),
                    ("Keras' layer ms/step", "{Keras:.1f}"),
                    ("kerasdl's ms/step", "{kerasdl:.1f}"), ("speed-up", "{speedup:.2f}x")],
             args.root / "recurrent.jsonl", about=f", backend {backend_name}")
