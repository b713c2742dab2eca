"""The conv autoencoder's training step with Keras' `Conv2DTranspose`
against `PhaseConv2DTranspose` (the same layer as one ordinary convolution
over its output phases), on each backend, side by side in one run.

    python benchmarks/conv_transpose.py [--backends ...] [--steps 60]

Each backend runs in a process of its own: the model of `kerasdl run
autoencoder --arch conv` (its default width and code), batch 128 of
MNIST-shaped inputs, after 5 warm-up steps. Prints a markdown table for
BENCHMARKS.md: milliseconds per step, and the phase form's speed-up.
"""

import argparse
import json
import os
import subprocess
import sys

from _common import append_jsonl, hardware
from kerasdl.names import BACKENDS

STEP = """
import json, sys, time
import numpy as np
from kerasdl import autoencoder, backend

steps, result = int(sys.argv[1]), {}
x = np.random.default_rng(0).random((128 * steps, 28, 28, 1), dtype=np.float32)
for name, phases in (("Conv2DTranspose", False), ("PhaseConv2DTranspose", True)):
    backend.phase_conv_transpose = lambda: phases
    model = autoencoder.conv_autoencoder((28, 28, 1))
    model.compile("adam", "binary_crossentropy")
    model.fit(x[:640], x[:640], batch_size=128, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(x, x, batch_size=128, epochs=1, verbose=0)
    result[name] = (time.perf_counter() - start) / steps * 1000
print(json.dumps(result))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    rows = []
    for name in args.backends:
        out = subprocess.run([sys.executable, "-c", STEP, str(args.steps)], check=True,
                             capture_output=True, text=True,
                             env={**os.environ, "KERAS_BACKEND": name}).stdout
        times = json.loads(out.splitlines()[-1])
        rows.append({"backend": name, **times,
                     "speedup": times["Conv2DTranspose"] / times["PhaseConv2DTranspose"]})
    command = "python benchmarks/conv_transpose.py " + " ".join(sys.argv[1:])
    print(f"\n`{command.strip()}` ({hardware()})\n")
    print("| backend | Conv2DTranspose ms/step | PhaseConv2DTranspose ms/step | speed-up |\n"
          "|---|---|---|---|")
    for r in rows:
        print(f"| {r['backend']} | {r['Conv2DTranspose']:.1f} | "
              f"{r['PhaseConv2DTranspose']:.1f} | {r['speedup']:.2f}x |")
    append_jsonl("runs/benchmarks/conv_transpose.jsonl", [{**r, "command": command}
                                                          for r in rows])
    return 0


if __name__ == "__main__":
    sys.exit(main())
