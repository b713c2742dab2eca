"""Autoencoders: dense or convolutional, denoising, greedy layer-wise pretraining.

Trains an autoencoder on MNIST or Fashion-MNIST; with --pretrain greedy, it
pretrains a tied dense autoencoder pair by pair and compares a classifier
fine-tuned from its encoder with one trained from scratch on a few labels
(three draws of them). The run writes metrics.json (test reconstruction MSE
and binary cross-entropy per pixel; with --pretrain greedy, the test
accuracies of the pretrained and the scratch classifier, per draw and their
mean), reconstructions.png,
codes.png, model.keras (with its card, card.json) and encoder.keras into
--output-dir.
"""

import json
import sys
from pathlib import Path

from kerasdl import flags, names, presets

APP = "autoencoder"


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Trains and evaluates one autoencoder as `config` says.

    Args:
        config: a dict with the keys of a `presets.AUTOENCODER` entry plus
            `dataset`, `arch`, `pretrain`, `validation_size`, `seed` and
            `dry_run`. With `pretrain="greedy"` (the "greedy" preset),
            `epochs` counts the epochs per encoder/decoder pair.
        output_dir: the folder for everything the run writes.
        overwrite: replace a finished run in `output_dir`.
        command: the command line that made the run, for the model card.

    Returns:
        The metrics dict, also written to `output_dir/metrics.json`.
    """
    # Imported here, once the backend is chosen (see flags.use_backend).
    import keras
    import numpy as np

    from kerasdl import autoencoding, backend, cards, data, models, plots, runs, training

    output_dir = Path(output_dir)
    print(f"kerasdl {APP}: backend {keras.backend.backend()}, "
          f"device {backend.device_info()}", flush=True)

    # Data: the images are both input and target.
    images = data.load_run_images(config)
    print(f"Data: {images.name} from {images.source}: {len(images.x_train)} train, "
          f"{len(images.x_val)} validation, {len(images.x_test)} test", flush=True)
    resumed = runs.prepare(output_dir, config, overwrite)
    keras.utils.set_random_seed(config["seed"])

    # Model
    greedy = config["pretrain"] == "greedy"
    options = {**config["model_options"], **({"tied": True} if greedy else {})}
    noise = {key: options[key] for key in ("noise", "noise_type")}
    autoencoder = models.build_autoencoder(config["arch"], images.input_shape, **options)
    encoder = models.encoder_of(autoencoder)
    print(f"Model: {autoencoder.name}, {autoencoder.count_params():,} parameters, "
          f"code size {encoder.output.shape[-1]}", flush=True)

    # Train: greedy pair by pair, or the whole autoencoder at once.
    fit_settings = {"batch_size": config["batch_size"], "lr": config["lr"],
                    "schedule": config["schedule"]}
    if greedy:
        autoencoding.greedy_pretrain(
            autoencoder, images.x_train, epochs=config["epochs"],
            output_dir=output_dir / "pretrain", **noise, **fit_settings)
    else:
        autoencoding.compile_autoencoder(
            autoencoder, lr=config["lr"], schedule=config["schedule"],
            total_steps=training.total_steps(config["epochs"], len(images.x_train),
                                             config["batch_size"]))
        training.fit(autoencoder, (images.x_train, images.x_train),
                     (images.x_val, images.x_val) if len(images.x_val) else None,
                     epochs=config["epochs"],
                     batch_size=config["batch_size"], output_dir=output_dir,
                     monitor="val_loss")

    # Evaluate: reconstruction of the test images, and their codes.
    reconstructed = autoencoder.predict(images.x_test, batch_size=1000, verbose=0)
    metrics = {"app": APP, "dataset": images.name, "data_source": images.source,
               "model": autoencoder.name, "resumed": resumed, **backend.describe(),
               "params": autoencoder.count_params(), "code_size": encoder.output.shape[-1],
               **autoencoding.reconstruction_metrics(reconstructed, images.x_test)}
    shown = images.x_test[:10]
    rows, titles = [shown], ["original"]
    if noise["noise"]:
        noisy = keras.ops.convert_to_numpy(autoencoder.get_layer("noise")(shown, training=True))
        rows, titles = rows + [np.clip(noisy, 0, 1)], titles + ["noisy"]
    rows.append(autoencoder.predict(rows[-1], verbose=0))
    plots.image_grid(rows, output_dir / "reconstructions.png", titles + ["reconstructed"],
                     title=f"{autoencoder.name} on {images.name} test images")
    codes = encoder.predict(images.x_test, batch_size=1000, verbose=0)
    plots.scatter_2d(codes if codes.shape[-1] == 2 else plots.pca_2d(codes), images.y_test,
                     output_dir / "codes.png", images.class_names,
                     title=f"Test codes ({'PCA of ' if codes.shape[-1] != 2 else ''}"
                           f"{codes.shape[-1]}-d), coloured by label")
    autoencoder.save(output_dir / "model.keras")
    encoder.save(output_dir / "encoder.keras")

    # With greedy pretraining: fine-tune a classifier on the encoder, on a few
    # labels, against the same classifier trained from random weights; both
    # start their head from the same weights, on each of a few draws of the
    # labelled examples.
    if greedy:
        test = (images.x_test, images.y_test)
        pretrained_weights = encoder.get_weights()
        accuracies = {"pretrained": [], "scratch": []}
        for draw in range(config["label_draws"]):
            seed = config["seed"] + draw
            few = data.labels_per_class(images.y_train, config["labels_per_class"], seed=seed)
            for name, found in accuracies.items():
                keras.utils.set_random_seed(seed)
                start = keras.models.clone_model(encoder)
                if name == "pretrained":
                    start.set_weights(pretrained_weights)
                print(f"Classifier from the {name} encoder on {len(few)} labels "
                      f"(draw {draw + 1} of {config['label_draws']})", flush=True)
                result = training.fit_and_evaluate(
                    models.classifier_on_encoder(start, images.num_classes),
                    (images.x_train[few], images.y_train[few]), None, test,
                    output_dir=output_dir / f"classifier_{name}_{draw + 1}",
                    epochs=config["finetune_epochs"],
                    batch_size=config["finetune_batch_size"], lr=config["finetune_lr"],
                    schedule=config["schedule"])
                found.append(result["test_accuracy"])
        for name, found in accuracies.items():
            metrics[f"{name}_accuracy"] = float(np.mean(found))
            metrics[f"{name}_accuracies"] = found
        metrics["labels_per_class"] = config["labels_per_class"]

    cards.write_card(output_dir, cards.make_card(
        autoencoder, app=APP, dataset=images.name, class_names=images.class_names,
        preprocessing=images.preprocessing,
        metrics={k: v for k, v in metrics.items() if k.startswith(("test_", "pretrained_",
                                                                    "scratch_"))},
        seed=config["seed"], command=command))
    runs.write_metrics(output_dir, metrics)
    summary = f"Test BCE {metrics['test_bce']:.4f}, MSE {metrics['test_mse']:.4f} per pixel"
    if greedy:
        summary += (f"; classifier accuracy (mean of {config['label_draws']} draws of the "
                    f"labels) pretrained {metrics['pretrained_accuracy']:.4f}, scratch "
                    f"{metrics['scratch_accuracy']:.4f}")
    print(f"{summary}. Results in {output_dir}", flush=True)
    return metrics


def parse_config(argv=None):
    """Parses the flags into `(config, args)`, filling gaps from the presets."""
    parser = flags.app_parser(APP, __doc__, presets=presets.AUTOENCODER)
    greedy = {"greedy": presets.AUTOENCODER["greedy"]}

    def options_help(key):
        return flags.preset_help(
            {k: v["model_options"] for k, v in presets.AUTOENCODER.items()}, key)

    parser.add_argument("--dataset", choices=names.IMAGE_DATASETS, default="mnist",
                        help="dataset")
    parser.add_argument("--arch", choices=names.AUTOENCODERS, default="dense",
                        help="architecture; its preset gives the defaults")
    parser.add_argument("--code-size", type=flags.positive_int, default=None,
                        help="units of the code" + options_help("code_size"))
    parser.add_argument("--noise", type=flags.fraction, default=None,
                        help="input corruption during training (denoising): the standard "
                             "deviation of Gaussian noise, or the masked fraction"
                             + options_help("noise"))
    parser.add_argument("--noise-type", choices=names.NOISES, default=None,
                        help="kind of input corruption" + options_help("noise_type"))
    parser.add_argument("--pretrain", choices=("none", "greedy"), default="none",
                        help="greedy: layer-wise pretraining of a tied dense autoencoder "
                             "(--epochs per pair), then a classifier fine-tuned on a few "
                             "labels against one trained from scratch; its preset is "
                             "'greedy'")
    parser.add_argument("--labels-per-class", type=flags.positive_int, default=None,
                        help="labelled examples per class for the classifiers"
                             + flags.preset_help(greedy, "labels_per_class"))
    parser.add_argument("--finetune-epochs", type=flags.positive_int, default=None,
                        help="epochs of each classifier"
                             + flags.preset_help(greedy, "finetune_epochs"))
    args = parser.parse_args(argv)
    if args.pretrain == "greedy" and args.arch != "dense":
        parser.error(f"argument --pretrain: greedy needs --arch dense, got {args.arch!r}")

    preset = presets.AUTOENCODER["greedy" if args.pretrain == "greedy" else args.arch]
    options = dict(preset["model_options"])
    for key in ("code_size", "noise", "noise_type"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    config = {
        "app": APP,
        "backend": flags.use_backend(args.backend),
        "dataset": args.dataset,
        "arch": args.arch,
        "model_options": options,
        "pretrain": args.pretrain,
        "lr": args.lr or preset["lr"],
        "schedule": preset["schedule"],
        "epochs": 1 if args.dry_run else args.epochs or preset["epochs"],
        "batch_size": args.batch_size or preset["batch_size"],
        "validation_size": presets.VALIDATION_SIZE,
        "seed": args.seed,
        "dry_run": args.dry_run,
    }
    if args.pretrain == "greedy":
        config.update(
            labels_per_class=args.labels_per_class or preset["labels_per_class"],
            label_draws=1 if args.dry_run else preset["label_draws"],
            finetune_epochs=1 if args.dry_run else args.finetune_epochs
            or preset["finetune_epochs"],
            finetune_batch_size=preset["finetune_batch_size"],
            finetune_lr=preset["finetune_lr"])
    return config, args


def main(argv=None):
    config, args = parse_config(argv)
    print(f"Config: {json.dumps(config)}", flush=True)
    return train_and_evaluate(config, args.output_dir, overwrite=args.overwrite,
                              command=flags.command_line(APP, argv))


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
