"""Keras' own cost: the MNIST recipe's training step in Keras against a
plain-PyTorch twin and a plain-JAX twin of the same model, side by side.

    python benchmarks/overhead.py [--backends torch jax] [--steps 60] [--repeats 3]
                                  [--profile]

The model is the classification app's MNIST recipe without its shift
augmentation (conv 32, pool, conv 64, pool, dropout, dense 128, dropout,
dense 10; 225,034 parameters), trained with Adam at batch 128 on
MNIST-shaped random inputs. Each twin has the same layers, initial weights,
batch and threads, and a hand-written step that computes the loss and the
batch accuracy, as Keras' does:

- PyTorch: `torch.nn` modules and `torch.optim.Adam`, in NCHW, eager, as a
  PyTorch user writes it;
- JAX: one `jax.jit`-compiled step with a hand-written Adam, pooling in the
  form that kerasdl's layer takes on this device.

Keras on PyTorch runs in one process with the PyTorch twin, Keras on JAX in
another with the JAX twin. Forms alternate `--repeats` times and each keeps
its fastest repeat. Prints a markdown table for BENCHMARKS.md: milliseconds
per step and Keras' time as a ratio of its twin's.
"""

import argparse
import json
import os
import subprocess
import sys

from _common import report_table

KERAS = """
import json, sys, time
import keras
import numpy as np
from kerasdl.models import build_classifier
from kerasdl.presets import CLASSIFICATION

steps, repeats, profile = map(int, sys.argv[1:])
rng = np.random.default_rng(0)
x = rng.random((128 * steps, 28, 28, 1), dtype=np.float32)
y = rng.integers(0, 10, len(x))
keras.utils.set_random_seed(0)
model = build_classifier("vgg", (28, 28, 1), 10, **{
    **CLASSIFICATION["mnist"]["model_options"], "augment": []})
model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy",
              metrics=["accuracy"])
weights = [w.copy() for w in model.get_weights()]  # conv, bias, conv, bias, dense, ...
"""

TIMING = """
def keras_epoch():
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)

forms = {"Keras": keras_epoch, "twin": twin_epoch}
for form in forms.values():
    form()
best = {name: float("inf") for name in forms}
for _ in range(repeats):
    for name, form in forms.items():
        start = time.perf_counter()
        form()
        best[name] = min(best[name], (time.perf_counter() - start) / steps * 1000)
result = {**best, "start_gap": start_gap}
if profile and keras.backend.backend() == "torch":
    from torch.profiler import profile as profiler
    for name, form in forms.items():
        with profiler() as run:
            form()
        result[name + "_profile"] = run.key_averages().table(
            sort_by="self_cpu_time_total", row_limit=10)
print(json.dumps(result))
"""

TORCH = """
import torch
from torch import nn

twin = nn.Sequential(
    nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Dropout(0.4), nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.4),
    nn.Linear(128, 10))
kernels = weights[::2]
kernels[0], kernels[1] = (k.transpose(3, 2, 0, 1) for k in kernels[:2])  # HWIO -> OIHW
# Keras flattens (height, width, channels), PyTorch (channels, height, width).
kernels[2] = kernels[2].reshape(5, 5, 64, 128).transpose(2, 0, 1, 3).reshape(1600, 128).T
kernels[3] = kernels[3].T
with torch.no_grad():
    for module, kernel, bias in zip([m for m in twin if isinstance(m, (nn.Conv2d, nn.Linear))],
                                    kernels, weights[1::2]):
        module.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel)))
        module.bias.copy_(torch.from_numpy(bias))
    twin.eval()
    first = torch.softmax(twin(torch.from_numpy(x[:64].transpose(0, 3, 1, 2).copy())), 1)
    start_gap = float(np.abs(first.numpy() - model.predict(x[:64], verbose=0)).max())
optimizer = torch.optim.Adam(twin.parameters(), lr=3e-3)
images = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
labels = torch.from_numpy(y)

def twin_epoch():
    twin.train()
    for i in range(steps):
        batch, target = images[128 * i:128 * (i + 1)], labels[128 * i:128 * (i + 1)]
        logits = twin(batch)
        loss = nn.functional.cross_entropy(logits, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        (logits.argmax(1) == target).float().mean()
"""

JAX = """
import jax
import jax.numpy as jnp
from kerasdl import backend

def pool(h):
    if backend.block_max_pooling():
        rows, cols = h.shape[1] // 2, h.shape[2] // 2
        return h[:, :2 * rows, :2 * cols].reshape(-1, rows, 2, cols, 2, h.shape[3]).max((2, 4))
    return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

def conv(h, kernel, bias):
    return jax.nn.relu(jax.lax.conv_general_dilated(
        h, kernel, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")) + bias)

def dropout(h, key):
    keep = jax.random.bernoulli(key, 0.6, h.shape)
    return jnp.where(keep, h / 0.6, 0.0)

def logits_of(params, images, keys=None):
    k1, b1, k2, b2, d1, c1, d2, c2 = params
    drop = (lambda h, i: h) if keys is None else (lambda h, i: dropout(h, keys[i]))
    h = pool(conv(pool(conv(images, k1, b1)), k2, b2)).reshape(len(images), -1)
    return drop(jax.nn.relu(drop(h, 0) @ d1 + c1), 1) @ d2 + c2

def loss_fn(params, images, labels, key):
    logits = logits_of(params, images, jax.random.split(key))
    loss = -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], 1))
    return loss, jnp.mean(jnp.argmax(logits, 1) == labels)

@jax.jit
def step(params, moments, count, images, labels, key):
    (loss, accuracy), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        params, images, labels, key)
    count = count + 1
    first = [0.9 * m + 0.1 * g for m, g in zip(moments[0], grads)]
    second = [0.999 * v + 0.001 * g * g for v, g in zip(moments[1], grads)]
    scale = 3e-3 * jnp.sqrt(1 - 0.999 ** count) / (1 - 0.9 ** count)
    params = [p - scale * m / (jnp.sqrt(v) + 1e-7) for p, m, v in zip(params, first, second)]
    return params, (first, second), count, loss, accuracy

params = [jnp.asarray(w) for w in weights]
moments = ([jnp.zeros_like(p) for p in params], [jnp.zeros_like(p) for p in params])
count, key = jnp.zeros((), "int32"), jax.random.key(0)
images, labels = jnp.asarray(x), jnp.asarray(y)
start_gap = float(jnp.abs(jax.nn.softmax(logits_of(params, images[:64]))
                          - model.predict(x[:64], verbose=0)).max())

def twin_epoch():
    global params, moments, count
    for i in range(steps):
        params, moments, count, loss, accuracy = step(
            params, moments, count, images[128 * i:128 * (i + 1)],
            labels[128 * i:128 * (i + 1)], jax.random.fold_in(key, count))
    jax.block_until_ready(params)
"""

TWINS = {"torch": TORCH, "jax": JAX}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", nargs="+", choices=list(TWINS), default=list(TWINS))
    parser.add_argument("--profile", action="store_true",
                        help="on PyTorch, also print torch.profiler's top ops in one epoch "
                             "of each")
    args = parser.parse_args()
    rows = []
    for name in args.backends:
        out = subprocess.run([sys.executable, "-c", KERAS + TWINS[name] + TIMING,
                              str(args.steps), str(args.repeats), str(int(args.profile))],
                             check=True, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "KERAS_BACKEND": name}).stdout
        times = json.loads(out.splitlines()[-1])
        for form in ("Keras", "twin"):
            if form + "_profile" in times:
                print(f"\n{form} on {name}, one epoch of {args.steps} steps:\n"
                      + times[form + "_profile"])
        rows.append({"backend": name, "keras_ms": times["Keras"], "twin_ms": times["twin"],
                     "ratio": times["Keras"] / times["twin"], "start_gap": times["start_gap"]})
    report_table(rows, [("backend", "{backend}"), ("Keras ms/step", "{keras_ms:.1f}"),
                        ("plain twin ms/step", "{twin_ms:.1f}"), ("Keras / twin", "{ratio:.2f}x"),
                        ("start gap", "{start_gap:.1e}")], "runs/benchmarks/overhead.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
