"""Autoencoders: dense or convolutional, denoising, greedy layer-wise pretraining.

An autoencoder learns a code without labels: an encoder squeezes each image
into a few numbers, and a decoder rebuilds the image from them, trained on
the reconstruction error (binary cross-entropy per pixel); a denoising one
rebuilds it from a corrupted copy. With
--pretrain greedy, a tied dense autoencoder (each decoder layer uses its
encoder layer's kernel, transposed) is pretrained one encoder/decoder pair at
a time, outermost first, and a classifier fine-tuned from its encoder on a
few labels is compared with one trained from scratch on the same labels
(three draws of them).

The run writes metrics.json (test reconstruction MSE and binary cross-entropy
per pixel; with --pretrain greedy, the test accuracies of both classifiers,
per draw and their mean), reconstructions.png, codes.png, model.keras (with
its card.json) and encoder.keras into --output-dir.
"""

import sys
from pathlib import Path

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402

from kerasdl import autoencoder as ae  # noqa: E402
from kerasdl import backend, cards, data, presets, runs, training  # noqa: E402
from kerasdl.errors import UsageError  # noqa: E402

APP = "autoencoder"
PRESETS = presets.AUTOENCODER  # one per architecture, and one for greedy pretraining
FLAGS = {
    "dataset": {"choices": data.TRAINING_DATASETS, "default": "mnist", "help": "dataset"},
    "arch": {"choices": tuple(ae.AUTOENCODERS), "default": "dense",
             "help": "architecture; its preset gives the defaults"},
    "code_size": {"type": flags.positive_int, "preset": "model_options.code_size",
                  "help": "units of the code"},
    "noise": {"type": flags.fraction, "preset": "model_options.noise",
              "help": "input corruption during training (denoising): the standard "
                      "deviation of Gaussian noise, or the masked fraction"},
    "noise_type": {"choices": ae.NOISES, "preset": "model_options.noise_type",
                   "help": "kind of input corruption"},
    "pretrain": {"choices": ("none", "greedy"), "default": "none",
                 "help": "greedy: layer-wise pretraining of a tied dense autoencoder "
                         "(--epochs per pair), then a classifier fine-tuned on a few labels "
                         "against one trained from scratch; its preset is 'greedy'"},
    "labels_per_class": {"type": flags.positive_int, "preset": "labels_per_class",
                         "help": "labelled examples per class for the classifiers"},
    "finetune_epochs": {"type": flags.positive_int, "preset": "finetune_epochs",
                        "help": "epochs of each classifier"},
}
# What `kerasdl tune autoencoder` searches; trials train it whole, not greedily.
TUNING = {
    "space": {
        "code_size": {"type": "choice", "values": [16, 32, 64]},
        "noise": {"type": "float", "min": 0.0, "max": 0.3, "step": 0.1},
        "lr": {"type": "float", "min": 3e-4, "max": 1e-2, "step": 10**0.5, "sampling": "log"},
        "batch_size": {"type": "choice", "values": [128, 256]},
    },
    "objective": "val_loss",
    "direction": "min",
    "prepare": ae.trained_whole,
}


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Trains one autoencoder as `config` (from `parse_config`) says, in
    `output_dir`, and returns its metrics; `command` goes on its card."""
    # Data: the images are both input and target.
    output_dir = Path(output_dir)
    images = data.load_run_images(config)
    print(images.summary(), flush=True)
    resumed = runs.prepare(output_dir, config, overwrite, resumes=True, command=command)
    keras.utils.set_random_seed(config["seed"])

    # Model: greedy pretraining needs the tied decoder (`ae.DenseTranspose`).
    greedy = config["pretrain"] == "greedy"
    options = {**config["model_options"], "tied": True} if greedy else config["model_options"]
    autoencoder = ae.build_autoencoder(config["arch"], images.input_shape, **options)
    encoder = ae.encoder_of(autoencoder)
    autoencoder.summary(print_fn=lambda line, **_: print(line, flush=True))

    # Train: greedily pair by pair (`ae.greedy_pretrain`), or all at once.
    metrics = {}
    if greedy:
        ae.greedy_pretrain(autoencoder, images.x_train, epochs=config["epochs"],
                           batch_size=config["batch_size"], lr=config["lr"],
                           schedule=config["schedule"], noise=options["noise"],
                           noise_type=options["noise_type"], output_dir=output_dir / "pretrain")
    else:
        ae.compile_autoencoder(autoencoder, lr=config["lr"], schedule=config["schedule"],
                               total_steps=training.total_steps(
                                   config["epochs"], len(images.x_train), config["batch_size"]))
        validation = (images.x_val, images.x_val) if len(images.x_val) else None
        history = training.fit(autoencoder, (images.x_train, images.x_train), validation,
                               epochs=config["epochs"], batch_size=config["batch_size"],
                               output_dir=output_dir, monitor="val_loss")
        if validation:
            metrics["val_loss"] = history.history["val_loss"][-1]

    # Evaluate: reconstruction of the test images and their codes; after
    # greedy pretraining, classifiers on a few labels, pretrained or not.
    reconstructed = autoencoder.predict(images.x_test, batch_size=1000, verbose=0)
    metrics = {"app": APP, "dataset": images.name, "data_source": images.source,
               "model": autoencoder.name, "resumed": resumed, **backend.describe(),
               "params": autoencoder.count_params(), "code_size": encoder.output.shape[-1],
               **ae.reconstruction_metrics(reconstructed, images.x_test), **metrics}
    ae.plot_reconstructions(autoencoder, encoder, images, output_dir)
    autoencoder.save(output_dir / "model.keras")
    encoder.save(output_dir / "encoder.keras")
    if greedy:
        metrics.update(ae.compare_on_few_labels(
            encoder, images, labels_per_class=config["labels_per_class"],
            draws=config["label_draws"], epochs=config["finetune_epochs"],
            batch_size=config["finetune_batch_size"], lr=config["finetune_lr"],
            schedule=config["schedule"], seed=config["seed"], output_dir=output_dir))
    cards.write_card(output_dir, cards.make_card(
        autoencoder, app=APP, dataset=images.name, class_names=images.class_names,
        preprocessing=images.preprocessing,
        metrics={k: v for k, v in metrics.items()
                 if k.startswith(("test_", "pretrained_", "scratch_"))},
        seed=config["seed"], command=command))
    runs.write_metrics(output_dir, metrics)
    print(f"{ae.summary(metrics)}. Results in {output_dir}", flush=True)
    return metrics


def parse_config(argv=None):
    """Parses the flags into `(config, args)`, with defaults from the preset."""
    config, args = flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS, pick=lambda args:
                               "greedy" if args.pretrain == "greedy" else args.arch)
    if args.pretrain == "greedy" and args.arch != "dense":
        raise UsageError(f"argument --pretrain: greedy needs --arch dense, got {args.arch!r}")
    if args.pretrain != "greedy":  # the classifiers' flags serve greedy pretraining only
        config = {k: v for k, v in config.items() if k not in PRESETS["greedy"]
                  or k in PRESETS[args.arch]}
    elif args.dry_run:
        config.update(label_draws=1, finetune_epochs=1)
    config["validation_size"] = presets.VALIDATION_SIZE
    return config, args


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
