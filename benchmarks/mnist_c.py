"""Robustness to MNIST-C's common corruptions: the shipped MNIST classifiers
against the keras-io "Simple MNIST convnet", trained as in
`benchmarks/time_to_accuracy.py`.

    python benchmarks/mnist_c.py --backend tensorflow [--also MODEL.keras ...]

Corrupts the MNIST test split with each of `kerasdl.corruptions`' 15
corruptions at severities 1 to 5 (the four drawn ones have one level), and
measures every model's accuracy on the same corrupted images. Prints a
markdown table for BENCHMARKS.md, writes `docs/mnist-c-examples.png` and
`docs/mnist-c-accuracy.png`, and exits 1 if `mnist_vgg_robust` (trained
with brightness and noise augmentation for this) is clearly more brittle
than the reference: more than 2 points below it on a corruption at
MNIST-C's severity. `--also` scores more models (say, other recipes'
`model.keras`) in the same table, each named by its path.
"""

import json
import sys
from pathlib import Path

import numpy as np
from _common import backend_and_root, hardware, train_keras_io_reference


MARGIN = 0.02
DOCS = Path(__file__).resolve().parents[1] / "docs"


def severities(name, corruptions):
    return corruptions.SEVERITIES if name in corruptions.MNIST_C_SEVERITY else (None,)


def plot_examples(images, corruptions, path):
    import matplotlib.pyplot as plt

    names = list(corruptions.CORRUPTIONS)
    fig, axes = plt.subplots(len(names), 6, figsize=(6, len(names) * 1.05))
    for row, name in enumerate(names):
        axes[row, 0].set_ylabel(name.replace("_", " "), rotation=0, ha="right", va="center")
        for col, severity in enumerate((0, *corruptions.SEVERITIES)):
            ax = axes[row, col]
            if severity > 1 and name not in corruptions.MNIST_C_SEVERITY:
                ax.axis("off")
                continue
            image = (corruptions.corrupt(images[row:row + 1], name, severity, seed=row)[0]
                     if severity else images[row])
            ax.imshow(image.squeeze(), cmap="gray_r",
                      vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title("clean" if severity == 0 else f"severity {severity}", fontsize=8)
            if severity == corruptions.MNIST_C_SEVERITY.get(name, 1):
                for spine in ax.spines.values():
                    spine.set_color("tab:red")
                    spine.set_linewidth(2)
    fig.suptitle("MNIST-C corruptions (red: the severity of the MNIST-C dataset)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_accuracy(results, corruptions, path):
    import matplotlib.pyplot as plt

    names = list(corruptions.MNIST_C_SEVERITY)
    fig, axes = plt.subplots(3, 4, figsize=(11, 7.5), sharey=True)
    for ax, name in zip(axes.flat, names):
        for model, rows in results.items():
            ax.plot(corruptions.SEVERITIES, [rows[name][str(s)] for s in corruptions.SEVERITIES],
                    marker="o", label=model)
        ax.axvline(corruptions.MNIST_C_SEVERITY[name], color="gray", lw=0.8, ls=":")
        ax.set_title(name.replace("_", " "), fontsize=9)
        ax.set_xticks(corruptions.SEVERITIES)
        ax.grid(alpha=0.3)
    drawn = [name for name in corruptions.CORRUPTIONS if name not in names]
    ax = axes.flat[len(names)]
    for offset, (model, rows) in enumerate(results.items()):
        ax.bar(np.arange(len(drawn)) + 0.25 * offset, [rows[n]["None"] for n in drawn], 0.25,
               label=model)
    ax.set_xticks(np.arange(len(drawn)) + 0.25, [n.replace("_", "\n") for n in drawn],
                  fontsize=7)
    ax.set_title("drawn corruptions (one level)", fontsize=9)
    for ax in axes.flat[len(names) + 1:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.supxlabel("severity (dotted: MNIST-C's)")
    fig.supylabel("test accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    args, backend_name = backend_and_root(__doc__, ("--also", {
        "nargs": "+", "default": [], "metavar": "MODEL.keras", "help": "more models to score"}))

    import keras

    from kerasdl import backend, cards, corruptions, data

    mnist = data.load_images("mnist", validation_size=5000)
    print("== training the keras-io reference (15 epochs)", flush=True)
    models = {"mnist_vgg": cards.load("mnist_vgg")[0],
              "mnist_vgg_robust": cards.load("mnist_vgg_robust")[0],
              "keras-io reference": train_keras_io_reference(keras, mnist),
              **{path: keras.saving.load_model(path) for path in args.also}}
    shipped_0_4 = cards.load("mnist_0_4_vgg")[0]
    first_five = mnist.y_test < 5

    def accuracies(images):
        scores = {name: float(np.mean(model.predict(images, batch_size=1000, verbose=0)
                                      .argmax(-1) == mnist.y_test))
                  for name, model in models.items()}
        predictions = shipped_0_4.predict(images[first_five], batch_size=1000, verbose=0)
        scores["mnist_0_4_vgg (digits 0-4)"] = float(np.mean(
            predictions.argmax(-1) == mnist.y_test[first_five]))
        return scores

    results = {model: {} for model in [*models, "mnist_0_4_vgg (digits 0-4)"]}
    for model, score in accuracies(mnist.x_test).items():
        results[model]["clean"] = {"None": score}
    for name in corruptions.CORRUPTIONS:
        for severity in severities(name, corruptions):
            images = corruptions.corrupt(mnist.x_test, name, severity, seed=0)
            for model, score in accuracies(images).items():
                results[model].setdefault(name, {})[str(severity)] = score
            print(f"{name} severity {severity}: " + ", ".join(
                f"{m} {results[m][name][str(severity)]:.2%}" for m in results), flush=True)

    device = backend.device_info()
    print(f"\nBackend {backend_name}, device {device}, hardware: {hardware()}\n")
    print("| corruption | MNIST-C severity | " + " | ".join(results) + " | mean over "
          "severities 1-5: " + " / ".join(results) + " |")
    print("|---|---|" + "---|" * (len(results) + 1))
    brittle = []
    for name in ("clean", *corruptions.CORRUPTIONS):
        level = corruptions.MNIST_C_SEVERITY.get(name)
        at_level = {m: rows[name][str(level)] for m, rows in results.items()}
        means = [np.mean(list(rows[name].values())) for rows in results.values()]
        mean_cell = (" / ".join(f"{m:.1%}" for m in means) if level else "")
        print(f"| {name} | {level or '-'} | " + " | ".join(f"{a:.2%}" for a in
              at_level.values()) + f" | {mean_cell} |")
        if at_level["mnist_vgg_robust"] < at_level["keras-io reference"] - MARGIN:
            brittle.append(name)
    corrupted = {m: np.mean([rows[n][str(corruptions.MNIST_C_SEVERITY.get(n))]
                             for n in corruptions.CORRUPTIONS]) for m, rows in results.items()}
    print("| **mean of the 15 corruptions** | | " + " | ".join(
        f"{a:.2%}" for a in corrupted.values()) + " | |")
    print(f"\nmnist_vgg_robust more than {MARGIN:.0%} below the reference on: "
          f"{', '.join(brittle) or 'none'}")

    plot_examples(mnist.x_test[:len(corruptions.CORRUPTIONS)], corruptions,
                  DOCS / "mnist-c-examples.png")
    plot_accuracy({m: r for m, r in results.items() if m in list(models)[:3]}, corruptions,
                  DOCS / "mnist-c-accuracy.png")
    args.root.mkdir(parents=True, exist_ok=True)
    (args.root / f"mnist_c-{backend_name}.json").write_text(json.dumps(
        {"backend": backend_name, "device": device, "hardware": hardware(),
         "results": results, "brittle": brittle}, indent=1))
    return 1 if brittle else 0


if __name__ == "__main__":
    sys.exit(main())
