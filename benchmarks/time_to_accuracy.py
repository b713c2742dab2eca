"""Time to accuracy on MNIST: the project's default recipe against the keras-io
"Simple MNIST convnet", side by side in one run on one backend.

    python benchmarks/time_to_accuracy.py --backend tensorflow

Both are timed in training seconds (validation included, the per-epoch test
evaluation excluded) until the test accuracy first reaches each target.
Prints a markdown table for BENCHMARKS.md; exits 1 if the default recipe
does not reach 99.0% sooner than the reference.
"""

import json
import shutil
import sys

from _common import backend_and_root, hardware, train_keras_io_reference

from kerasdl import presets

TARGETS = (0.990, 0.993)


def main():
    args, backend_name = backend_and_root(__doc__)

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
    theirs = TimeToAccuracy(*test, targets=TARGETS)
    train_keras_io_reference(keras, mnist, callbacks=[theirs])
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
