"""XLA's CPU all-reduce stall on simulated devices (issue 35), without
kerasdl: each trial is a process that trains three new copies of
few_shot's encoder under a 456-way softmax, one after another, on 9,120
random 28x28 images, data-parallel over two simulated CPU devices
(`--xla_force_host_platform_device_count=2`, after any `XLA_FLAGS`
already set, and `--xla-flags`): with `keras.distribution.DataParallel`
(`--engine keras`), or in JAX alone (`--engine jax`: the same layers by
hand, a jitted SGD step on batches sharded over the devices). The trials
run one at a time, alone on the cores or beside `--busy` processes that
spin in Python. Prints one markdown row: how many trials finished, how
many XLA aborted because one device never joined an all-reduce in time,
and each trial's outcome.

    python benchmarks/all_reduce_stall.py --trials 3 --busy 0
    python benchmarks/all_reduce_stall.py --trials 3 --busy 2
    python benchmarks/all_reduce_stall.py --xla-flags=--xla_cpu_multi_thread_eigen=false
    python benchmarks/all_reduce_stall.py --engine jax
"""

import argparse
import multiprocessing
import os
import subprocess
import sys
import time

from _common import hardware

IMAGES, CLASSES, MODELS = 9120, 456, 3


def keras_trial():
    """Trains `MODELS` new Keras models in turn on two simulated devices."""
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


def jax_trial():
    """Trains `MODELS` new models in turn on two simulated devices, in JAX:
    4 blocks of a 3x3 convolution, batch norm over the global batch (an
    all-reduce), ReLU and 2x2 max pooling, then a softmax layer."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.array(jax.devices()), ("batch",))
    rows = NamedSharding(mesh, PartitionSpec("batch"))
    replicated = NamedSharding(mesh, PartitionSpec())
    x = np.random.default_rng(0).random((IMAGES, 28, 28, 1), "float32")
    y = np.arange(IMAGES) % CLASSES

    def init(key):
        keys, blocks, channels = jax.random.split(key, 5), [], 1
        for k in keys[:4]:
            he = (2 / 9 / channels) ** 0.5
            blocks.append({"w": jax.random.normal(k, (3, 3, channels, 64)) * he,
                           "b": jnp.zeros(64), "g": jnp.ones(64)})
            channels = 64
        return blocks, jax.random.normal(keys[4], (64, CLASSES)) * 0.1  # 28 -> 14 -> 7 -> 3 -> 1

    def loss(params, images, labels):
        h = images
        for block in params[0]:
            h = jax.lax.conv_general_dilated(h, block["w"], (1, 1), "SAME",
                                             dimension_numbers=("NHWC", "HWIO", "NHWC"))
            h = h + block["b"]
            h = (h - h.mean((0, 1, 2))) / jnp.sqrt(h.var((0, 1, 2)) + 1e-3) * block["g"]
            h = jax.nn.relu(h)
            h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1),
                                      "VALID")
        log_p = jax.nn.log_softmax(h.reshape(len(h), -1) @ params[1])
        return -jnp.mean(jnp.take_along_axis(log_p, labels[:, None], 1))

    for seed in range(MODELS):
        step = jax.jit(lambda p, a, b: jax.tree.map(lambda v, g: v - 1e-3 * g, p,
                                                    jax.grad(loss)(p, a, b)))  # new, as Keras
        params = jax.device_put(init(jax.random.key(seed)), replicated)
        for start in range(0, IMAGES, 64):
            params = step(params, jax.device_put(x[start:start + 64], rows),
                          jax.device_put(y[start:start + 64], rows))
        jax.block_until_ready(params)


TRIALS = {"keras": keras_trial, "jax": jax_trial}


def spin():
    while True:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--busy", type=int, default=0, help="spinning processes beside them")
    parser.add_argument("--timeout", type=int, default=300, help="seconds for one trial")
    parser.add_argument("--xla-flags", default="", help="more XLA_FLAGS for the trials")
    parser.add_argument("--engine", choices=TRIALS, default="keras")
    parser.add_argument("--trial", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trial:
        return TRIALS[args.engine]()
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
    for spinner in spinners:
        spinner.start()
    xla_flags = " ".join(filter(None, (os.environ.get("XLA_FLAGS"),
                                       "--xla_force_host_platform_device_count=2",
                                       args.xla_flags)))
    env = dict(os.environ, XLA_FLAGS=xla_flags)
    outcomes = []
    for _ in range(args.trials):
        start = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, __file__, "--trial", "--engine",
                                   args.engine], env=env,
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
    print(f"| {args.engine} | `{xla_flags}` | {args.busy} | {finished} of {args.trials} | "
          f"{aborted} | {'; '.join(outcomes)} | {hardware()} |")


if __name__ == "__main__":
    main()
