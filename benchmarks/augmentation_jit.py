"""A model with Keras' geometric augmentation layers, trained as Keras
leaves it (those layers mark themselves as not compilable, so `fit` runs
op by op) against compiled (`backend.JIT_GEOMETRIC_AUGMENTATION`), side by
side in one process: the "heavy" cell of the augmentation_vs_regularisation
lab (All-CNN of width 32; flip, translate, zoom, rotate, contrast and
brightness) on 2,560 Fashion-MNIST images, batch 128: each model's
faster of two epochs, run in turn. Prints one markdown row for
BENCHMARKS.md.

    python benchmarks/augmentation_jit.py --backend jax
"""

import argparse
import time

from _common import hardware

from kerasdl import flags, names

HEAVY = ["flip", "translate", "zoom", "rotate", "contrast", "brightness"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=names.BACKENDS, required=True)
    flags.use_backend(parser.parse_args().backend)
    import keras

    from kerasdl import backend, data, models

    images = data.load_images("fashion_mnist", validation_size=5000)
    x, y = images.x_train[:2560], images.y_train[:2560]
    fitted = {}
    geometric = (keras.layers.RandomTranslation, keras.layers.RandomZoom,
                 keras.layers.RandomRotation)
    for name, as_keras in (("as Keras leaves it", True), ("kerasdl", False)):
        keras.utils.set_random_seed(0)
        model = models.build_classifier("allcnn", images.input_shape, images.num_classes,
                                        width=32, augment=HEAVY)
        for layer in model.layers:
            if as_keras and isinstance(layer, geometric):
                layer.supports_jit = False
        model.compile(keras.optimizers.SGD(0.05, momentum=0.9),
                      "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x[:256], y[:256], batch_size=128, verbose=0)  # compiles
        fitted[name] = model
    row = {name: [model.jit_compile, float("inf"), None] for name, model in fitted.items()}
    for _ in range(2):  # each twice, in turn; the faster epoch of each counts
        for name, model in fitted.items():
            start = time.perf_counter()
            history = model.fit(x, y, batch_size=128, epochs=1, verbose=0).history
            row[name][1] = min(row[name][1], time.perf_counter() - start)
            row[name][2] = history["loss"][-1]
    (jit_a, s_a, loss_a), (jit_b, s_b, loss_b) = row.values()
    print(f"| {keras.backend.backend()} | {backend.device_info()} | {jit_a} | {s_a:.1f} | "
          f"{jit_b} | {s_b:.1f} | {s_a / s_b:.1f}x | {loss_a:.3f} / {loss_b:.3f} | "
          f"{hardware()} |")


if __name__ == "__main__":
    main()
