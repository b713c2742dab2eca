"""Time to accuracy on MNIST: the project's default recipe against the keras-io
"Simple MNIST convnet", side by side in one run on one backend.

    python benchmarks/time_to_accuracy.py --backend tensorflow

Both are timed in training seconds (validation included, the per-epoch test
evaluation excluded) until the test accuracy first reaches each target.
Prints a markdown table for BENCHMARKS.md; exits 1 if the default recipe
does not reach 99.0% sooner than the reference.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from _common import hardware

from kerasdl import flags, presets

TARGETS = (0.990, 0.993)


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=flags.BACKENDS, default=None)
    parser.add_argument("--root", type=Path, default=Path("runs/benchmarks"))
    args = parser.parse_args()
    backend_name = flags.use_backend(args.backend)

    import keras

    from kerasdl import backend, data, models, training
    from kerasdl.callbacks import TimeToAccuracy

    keras.utils.set_random_seed(0)
    mnist = data.load_images("mnist", validation_size=presets.VALIDATION_SIZE)
    test = (mnist.x_test, mnist.y_test)
    results = {}

    print("== the project's default recipe (kerasdl run classification)", flush=True)
    recipe = presets.CLASSIFICATION["mnist"]
    ours = TimeToAccuracy(*test, targets=TARGETS)
    output_dir = args.root / f"time_to_accuracy-{backend_name}"
    shutil.rmtree(output_dir, ignore_errors=True)
    training.fit_and_evaluate(
        models.build_classifier(recipe["model"], mnist.input_shape, mnist.num_classes,
                                **recipe["model_options"]),
        (mnist.x_train, mnist.y_train), (mnist.x_val, mnist.y_val), test,
        output_dir=output_dir, epochs=recipe["epochs"], batch_size=recipe["batch_size"],
        optimizer=recipe["optimizer"], lr=recipe["lr"], schedule=recipe["schedule"],
        warmup=recipe["warmup"], callbacks=[ours], verbose=0)
    results["kerasdl default recipe"] = ours

    print("== keras-io Simple MNIST convnet (Adam, batch 128, 15 epochs, "
          "validation_split 0.1)", flush=True)
    keras.utils.set_random_seed(0)
    reference = keras_io_convnet(keras, mnist.input_shape, mnist.num_classes)
    reference.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                      metrics=["accuracy"])
    theirs = TimeToAccuracy(*test, targets=TARGETS)
    x_all = np.concatenate([mnist.x_train, mnist.x_val])
    y_all = np.concatenate([mnist.y_train, mnist.y_val])
    reference.fit(x_all, y_all, batch_size=128, epochs=15, validation_split=0.1,
                  callbacks=[theirs], verbose=0)
    results["keras-io reference"] = theirs

    device = backend.device_info()
    print(f"\nBackend {backend_name}, device {device}, hardware: {hardware()}\n")
    print("| recipe | epochs | final test accuracy | s to 99.0% | s to 99.3% |")
    print("|---|---|---|---|---|")
    summary = {}
    for name, timer in results.items():
        reached = {f"{t:.1%}": timer.reached.get(t) for t in TARGETS}
        cells = [f"{r[0]:.0f} (epoch {r[1]})" if r else "not reached"
                 for r in reached.values()]
        print(f"| {name} | {len(timer.curve)} | {timer.curve[-1][2]:.2%} | "
              + " | ".join(cells) + " |")
        summary[name] = {"reached": reached, "curve": timer.curve}
    args.root.mkdir(parents=True, exist_ok=True)
    (args.root / f"time_to_accuracy-{backend_name}.json").write_text(json.dumps(
        {"backend": backend_name, "device": device, "hardware": hardware(), **summary},
        indent=1))
    ours_99 = ours.reached.get(TARGETS[0], (float("inf"),))[0]
    theirs_99 = theirs.reached.get(TARGETS[0], (float("inf"),))[0]
    return 0 if ours_99 < theirs_99 else 1


if __name__ == "__main__":
    sys.exit(main())
