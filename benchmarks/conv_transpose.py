"""The conv autoencoder's training step with Keras' `Conv2DTranspose`
against `PhaseConv2DTranspose` (the same layer as one ordinary convolution
over its output phases), on each backend, side by side in one run.

    python benchmarks/conv_transpose.py [--backends ...] [--steps 60] [--repeats 2]

Each backend runs in a process of its own: the model of `kerasdl run
autoencoder --arch conv` (its default width and code), batch 128 of
MNIST-shaped inputs, after 5 warm-up steps. Prints a markdown table for
BENCHMARKS.md: milliseconds per step, and the phase form's speed-up.
"""

import sys

from _common import compare_forms

if __name__ == "__main__":
    sys.exit(compare_forms(
        __doc__, "phase_conv_transpose", "from kerasdl.autoencoder import conv_autoencoder",
        "conv_autoencoder((28, 28, 1))", "binary_crossentropy",
        ("Conv2DTranspose", "PhaseConv2DTranspose"), "runs/benchmarks/conv_transpose.jsonl"))
