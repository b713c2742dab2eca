"""Domain adaptation: DANN teaches an MNIST classifier to read USPS digits without their labels.

A classifier trained on one domain (the source, say MNIST's digits) loses
accuracy on another (the target, USPS's digits scanned from envelopes),
though the task is the same. Domain-adversarial training (DANN, Ganin &
Lempitsky 2015) adds a domain classifier that tells source features from
target ones, behind a gradient reversal layer: the domain classifier
learns to tell the domains apart, while the reversed gradient teaches the
feature extractor to make them alike, so that the label classifier,
trained on source labels only, reads both. For each of --directions the
run trains three nets of one architecture side by side: source-only (the
lower bound), DANN, and target-supervised (the upper bound, which sees the
target's labels), and compares their accuracy on the target's test split
with Tzeng et al. 2017, Table 1. USPS's 16x16 images are resized to
MNIST's 28x28. It writes results.md, metrics.json, features.png (the
features of both domains, before and after adaptation) and the DANN nets
with their cards into --output-dir.
"""

import sys

import numpy as np

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402
from keras import layers, ops  # noqa: E402

from kerasdl import backend, cards, data, labs, plots, runs  # noqa: E402
from kerasdl.models.batches import DomainBatches  # noqa: E402
from kerasdl.models.domain import GradientReversal  # noqa: E402

APP = "domain_adaptation"
PRESETS = {"digits": {"validation_size": 0.1, "epochs": 6, "batch_size": 128, "lr": 1e-3}}
# Source, target, and Tzeng et al.'s source-only and gradient reversal
# accuracies (2,000 MNIST and 1,800 USPS training images).
DIRECTIONS = {"mnist_to_usps": ("mnist", "usps", 0.752, 0.771),
              "usps_to_mnist": ("usps", "mnist", 0.571, 0.730)}
FLAGS = {
    "directions": {"type": flags.name_list(DIRECTIONS, "direction"),
                   "default": ",".join(DIRECTIONS), "help": "source_to_target pairs"},
    "domain_weight": {"type": flags.positive_float, "default": 1.0,
                      "help": "weight of the domain classifier's loss"},
}
TUNING = {"space": {"lr": {"type": "choice", "values": [3e-4, 1e-3, 3e-3]},
                    "domain_weight": {"type": "choice", "values": [0.3, 1.0, 3.0]}},
          "objective": "val_target_accuracy", "direction": "max", "retrain_on_validation": False}
SIZE, PLOT_SIZE = (28, 28), 500  # both domains' image size; features.png's images per domain


def build_dann(input_shape, num_classes, total_steps):
    """Ganin & Lempitsky's MNIST net: a convolutional feature extractor (with
    a 100-unit bottleneck), then a label classifier and, behind a gradient
    reversal, a domain classifier, as the outputs "label" and "domain"."""
    images = keras.Input(input_shape)
    features = keras.Sequential([
        layers.Conv2D(32, 5, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(48, 5, activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(100, "relu")], name="features")(images)
    hidden = layers.Dense(100, "relu")(layers.Dense(100, "relu")(features))
    label = layers.Dense(num_classes, "softmax", name="label")(hidden)
    reversed_features = GradientReversal(total_steps)(features)
    hidden = layers.Dense(500, "relu")(layers.Dense(500, "relu")(reversed_features))
    domain = layers.Dense(1, "sigmoid", name="domain")(hidden)
    return keras.Model(images, {"label": label, "domain": domain})


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Trains and compares the nets as `config` says, in `output_dir`; returns the metrics."""
    # Data: each domain with a validation split of its training set, at one size.
    digits = {}
    for name in dict.fromkeys(name for d in config["directions"] for name in DIRECTIONS[d][:2]):
        images = data.load_run_images({**config, "dataset": name})
        print(images.summary(), flush=True)
        digits[name] = images.map_images(lambda x: ops.convert_to_numpy(
            ops.image.resize(x, SIZE)))
    runs.prepare(output_dir, config, overwrite, command=command)
    seed, epochs, rows, panels, val_accuracies = config["seed"], config["epochs"], [], {}, []

    for direction in config["directions"]:
        source, target, paper_source, paper_dann = DIRECTIONS[direction]
        source, target = digits[source], digits[target]
        row = {"direction": f"{source.name} → {target.name}",
               "source images": len(source.x_train), "target images": len(target.x_train)}
        # Train: each net sees batches half source, half target images. The
        # source-only and target-supervised nets ignore the domain classifier;
        # DANN trains it, and its reversed gradient trains the features.
        for name, labelled, domain_weight in (("source-only", "source", 0.0),
                                              ("DANN", "source", config["domain_weight"]),
                                              ("target-supervised", "target", 0.0)):
            keras.utils.set_random_seed(seed)
            batches = DomainBatches((source.x_train, source.y_train),
                                    (target.x_train, target.y_train),
                                    config["batch_size"], labelled, seed=seed)
            model = build_dann(source.input_shape, source.num_classes, epochs * len(batches))
            model.compile(keras.optimizers.Adam(config["lr"]),
                          {"label": "sparse_categorical_crossentropy",
                           "domain": "binary_crossentropy"},
                          loss_weights={"label": 1.0, "domain": domain_weight},
                          weighted_metrics={"label": ["accuracy"], "domain": ["accuracy"]})
            model.fit(batches, epochs=epochs, verbose=0,
                      callbacks=labs.fit_callbacks(f"{direction} {name}", epochs))
            classifier = keras.Model(model.inputs, model.get_layer("label").output)
            row[name] = labs.accuracy(classifier, target.x_test, target.y_test)
            if name == "DANN":
                val_accuracies.append(labs.accuracy(classifier, target.x_val, target.y_val))
                cards.save(classifier, f"{output_dir}/{direction}", cards.make_card(
                    classifier, app=APP, dataset=target.name, class_names=target.class_names,
                    preprocessing=target.preprocessing, seed=seed, command=command, metrics={
                        "test_accuracy": row[name], "source": source.name,
                        "device": backend.device_info()}))
            if name != "target-supervised":  # the features before and after adaptation
                features = model.get_layer("features")
                points = np.concatenate([features.predict(d.x_test[:PLOT_SIZE], verbose=0)
                                         for d in (source, target)])
                panels[f"{row['direction']}, {name}"] = (plots.pca_2d(points), np.repeat(
                    [0, 1], [min(PLOT_SIZE, len(d.x_test)) for d in (source, target)]))
        rows.append({**row, "paper source-only": paper_source, "paper DANN": paper_dann})
        print(labs.describe(rows[-1]), flush=True)

    # Evaluate: DANN against source-only and the paper, in each direction.
    plots.scatter_panels(panels, f"{output_dir}/features.png", ["source", "target"],
                         "Features (PCA) of the test images of both domains")
    claim = "; ".join(f"{r['direction']}: DANN {r['DANN']:.1%} against source-only "
                      f"{r['source-only']:.1%} (paper {r['paper DANN']:.1%} against "
                      f"{r['paper source-only']:.1%}), target-supervised "
                      f"{r['target-supervised']:.1%}" for r in rows)
    holds = all(r["DANN"] > r["source-only"] and r["DANN"] >= r["paper DANN"] for r in rows)
    return labs.finish(output_dir, config, rows, claim, holds, data_source={
        name: d.source for name, d in digits.items()},
        val_target_accuracy=float(np.mean(val_accuracies)))


def parse_config(argv=None):
    """Parses the flags into `(config, args)`."""
    return flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
