"""Export parity of a real classifier: runs `kerasdl export` on each backend
into each format, runs the exported model in its own runtime (TensorFlow for
a SavedModel, onnxruntime for ONNX) on MNIST test images, and compares with
the Keras model's predictions on TensorFlow. A backend that Keras cannot
export a format from hands the model to one that can (the "written by"
column).

    python benchmarks/export.py [--model kerasdl/saved_models/mnist_vgg] [--backends ...]
                                [--images 1000]

Target: within 1e-4 (absolute) of the Keras model's probabilities. Prints a markdown table for BENCHMARKS.md; exits 1
if a target is missed.
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from _common import append_jsonl, hardware
from kerasdl import cards, data
from kerasdl.names import BACKENDS

RUNTIMES = {
    "tf_saved_model": ("sm", "import tensorflow as tf\n"
                             "served = tf.saved_model.load(PATH)\n"
                             "out = served.serve(x).numpy()"),
    "onnx": ("m.onnx", "import onnxruntime as ort\n"
                       "session = ort.InferenceSession(PATH)\n"
                       "out = session.run(None, {session.get_inputs()[0].name: x})[0]"),
}
# Runs PATH (a .keras file loaded by kerasdl, or an export run by the code
# of its runtime) on the test images in X and saves the probabilities.
PREDICT = """
import numpy as np
from kerasdl import flags
flags.use_backend("tensorflow")
x = np.load({x!r})
PATH = {path!r}
{code}
np.save({out!r}, out)
"""
KERAS = ("from kerasdl import cards\n"
         "model, _ = cards.load(PATH)\n"
         "out = model.predict(x, verbose=0)")


def run(code):
    subprocess.run([sys.executable, "-c", code], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(cards.shipped("mnist_vgg")))
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--images", type=int, default=1000, help="MNIST test images")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        images = data.load_images("mnist")
        x, labels = folder / "x.npy", images.y_test[:args.images]
        np.save(x, images.x_test[:args.images].astype("float32"))
        run(PREDICT.format(x=str(x), path=args.model, code=KERAS,
                           out=str(folder / "keras.npy")))
        expected = np.load(folder / "keras.npy")
        for backend in args.backends:
            for format, (name, code) in RUNTIMES.items():
                path = folder / backend / name
                command = ["kerasdl", "export", args.model, "--format", format,
                           "--output", name, "--backend", backend]
                print("$", " ".join(command), flush=True)
                done = subprocess.run([sys.executable, "-m", "kerasdl", *command[1:-4],
                                       "--output", str(path), "--backend", backend],
                                      check=True, capture_output=True, text=True)
                handed = re.search(r"exporting the same weights with the (\w+) backend",
                                   done.stderr)
                out = folder / f"{backend}-{format}.npy"
                run(PREDICT.format(x=str(x), path=str(path), code=code, out=str(out)))
                got = np.load(out)
                difference = float(np.abs(got - expected).max())
                rows.append({"command": " ".join(command), "backend": backend,
                             "format": format,
                             "written_by": handed.group(1) if handed else backend,
                             "max_abs_difference": difference,
                             "accuracy": float(np.mean(got.argmax(-1) == labels)),
                             "keras_accuracy": float(np.mean(expected.argmax(-1) == labels)),
                             "passed": difference <= 1e-4})
    print(f"\nHardware: {hardware()}; the first {args.images} MNIST test images\n")
    print("| command | written by | runtime | max abs. difference | accuracy (Keras model) "
          "| target | met |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        runtime = "TensorFlow" if r["format"] == "tf_saved_model" else "onnxruntime"
        print(f"| `{r['command']}` | {r['written_by']} | {runtime} | "
              f"{r['max_abs_difference']:.1e} | "
              f"{r['accuracy']:.2%} ({r['keras_accuracy']:.2%}) | <= 1e-4 | "
              f"{'yes' if r['passed'] else 'NO'} |")
    append_jsonl("runs/benchmarks/export.jsonl", rows)
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
