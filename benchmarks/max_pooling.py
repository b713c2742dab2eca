"""The MNIST recipe's training step with Keras' `MaxPooling2D` against
`BlockMaxPooling2D` (2x2 pooling as a reshape and a max), on each backend,
side by side in one run.

    python benchmarks/max_pooling.py [--backends ...] [--steps 60] [--repeats 2]

Each backend runs in a process of its own: the model of `kerasdl run
classification` (the MNIST preset, shift augmentation included), batch 128
of MNIST-shaped inputs, after 5 warm-up steps. Prints a markdown table for
BENCHMARKS.md: milliseconds per step, and the block form's speed-up.
"""

import sys

from _common import compare_forms

if __name__ == "__main__":
    sys.exit(compare_forms(__doc__, "block_max_pooling",
                           "from kerasdl.models import build_classifier\n"
                           "from kerasdl.presets import CLASSIFICATION",
                           "build_classifier('vgg', (28, 28, 1), 10, "
                           "**CLASSIFICATION['mnist']['model_options'])",
                           "sparse_categorical_crossentropy",
                           ("MaxPooling2D", "BlockMaxPooling2D"),
                           "runs/benchmarks/max_pooling.jsonl"))
