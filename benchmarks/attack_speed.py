"""PGD-40 on 1,000 MNIST test digits against the shipped `mnist_vgg`:
compiled, as the `predict` of `kerasdl.models.adversarial.Attacked`,
against eager, one call of the attack per batch of 500, side by side in one
process. Prints one markdown row for BENCHMARKS.md.

    python benchmarks/attack_speed.py --backend jax
"""

import argparse
import time
from functools import partial

from _common import hardware

from kerasdl import flags, names


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=names.BACKENDS, required=True)
    flags.use_backend(parser.parse_args().backend)
    import keras
    import numpy as np

    from kerasdl import cards, cli, data
    from kerasdl.models.adversarial import Attacked, attacked_accuracy, logits_model

    pgd = partial(cli.load_app("adversarial").pgd, steps=40)
    model = cards.load("mnist_vgg")[0]
    mnist = data.load_images("mnist", validation_size=5000)
    x, y = mnist.x_test[:1000], mnist.y_test[:1000]
    attacked = Attacked(model, pgd, seed=0)
    attacked_accuracy(attacked, x[:500], y[:500], 0.1)  # compiles
    start = time.perf_counter()
    compiled = attacked_accuracy(attacked, x, y, 0.1)
    compiled_s = time.perf_counter() - start
    logits = logits_model(model)
    pgd(logits, x[:500], y[:500], 0.1, seed=0)  # warms up
    start, right = time.perf_counter(), 0
    for i in range(0, 1000, 500):
        images = pgd(logits, x[i:i + 500], y[i:i + 500], 0.1, seed=0)
        right += np.sum(np.argmax(keras.ops.convert_to_numpy(logits(images)), -1) == y[i:i + 500])
    eager_s = time.perf_counter() - start
    print(f"\nHardware: {hardware()}\n\n| backend | compiled s | eager s | accuracy compiled | "
          f"accuracy eager |\n|---|---|---|---|---|\n| {keras.backend.backend()} | "
          f"{compiled_s:.1f} | {eager_s:.1f} | {compiled:.3f} | {right / 1000:.3f} |")


if __name__ == "__main__":
    main()
