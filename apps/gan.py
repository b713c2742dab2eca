"""GAN: a DCGAN on MNIST or Fashion-MNIST, measured by FID.

Trains a generator against a discriminator with the same code on
TensorFlow, JAX and PyTorch; with --conditional, both nets see the class, so
that one can ask for a given digit. Without it, both nets may see instead a
cluster of the training images found without labels (--clusters, 50 by
default), and the saved generator draws the clusters by their sizes. The run
writes samples/epoch_NNN.png (the same noise after every epoch),
progress.gif, learning_curves.png (the losses), generator/ (the generator,
model.keras, with its card), and metrics.json: FID between generated and
test images on the features of a classifier of the same dataset (by default
the one in saved_models/DATASET_vgg; trained first into
--output-dir/fid_classifier where there is none), with the real-vs-real and
train-vs-test references, and class coverage. `kerasdl gan sample` draws new
grids from the saved generator.
"""

import json
import sys
import time
from pathlib import Path

from kerasdl import flags, names, presets

APP = "gan"
SAVED_MODELS = Path("saved_models")


def fid_classifier(config, output_dir):
    """Returns the folder of the classifier whose features FID uses:
    `config["fid_model"]`, else `saved_models/DATASET_vgg` when present,
    else one trained now by the classification app in
    `output_dir/fid_classifier`."""
    if config["fid_model"]:
        return Path(config["fid_model"])
    shipped = SAVED_MODELS / f"{config['dataset']}_vgg"
    if shipped.exists():
        return shipped
    folder = Path(output_dir) / "fid_classifier"
    if not (folder / "metrics.json").exists():
        from kerasdl.apps import classification

        argv = ["--dataset", config["dataset"], "--backend", config["backend"],
                "--seed", str(config["seed"]), "--output-dir", str(folder), "--overwrite",
                *(["--dry-run"] if config["dry_run"] else [])]
        print(f"No saved {config['dataset']} classifier for FID: training one with "
              f"kerasdl run classification {' '.join(argv)}", flush=True)
        classification.main(argv)
    return folder


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Trains and evaluates one GAN as `config` says.

    Args:
        config: a dict with the keys of a `presets.GAN` entry, plus
            `dataset`, `conditional`, `lr_g`, `lr_d`, `fid_model`,
            `fid_samples`, `validation_size`, `seed` and `dry_run`.
        output_dir: the folder for everything the run writes.
        overwrite: replace a finished run in `output_dir`.
        command: the command line that made the run, for the card.

    Returns:
        The metrics dict, also written to `output_dir/metrics.json`.
    """
    # Imported here, once the backend is chosen (see flags.use_backend).
    import keras
    import numpy as np

    from kerasdl import backend, cards, data, generation, models, runs, training
    from kerasdl.callbacks import SampleGrid

    output_dir = Path(output_dir)
    print(f"kerasdl {APP}: backend {keras.backend.backend()}, "
          f"device {backend.device_info()}", flush=True)

    # Data: all training images; a validation split only when tuning, whose
    # trials are scored by FID against it.
    images = data.load_run_images(config)
    print(f"Data: {images.name} from {images.source}: {len(images.x_train)} train, "
          f"{len(images.x_val)} validation, {len(images.x_test)} test", flush=True)
    resumed = runs.prepare(output_dir, config, overwrite)
    classifier_dir = fid_classifier(config, output_dir)
    keras.utils.set_random_seed(config["seed"])
    # Without labels, the nets may be conditioned on clusters of the images.
    targets, shares = images.y_train, None
    if config["clusters"]:
        targets = data.pixel_clusters(images.x_train, config["clusters"], seed=config["seed"])
        shares = np.bincount(targets, minlength=config["clusters"]) / len(targets)
        print(f"Clusters: {config['clusters']} k-means clusters of the training images' "
              f"pixels (no labels), {shares.min():.1%} to {shares.max():.1%} of them each",
              flush=True)

    # Model
    num_classes = images.num_classes if config["conditional"] else config["clusters"] or None
    generator = models.build_generator(images.input_shape, config["latent_dim"],
                                       config["g_width"], num_classes)
    discriminator = models.build_discriminator(images.input_shape, config["d_width"],
                                               config["dropout"], num_classes)
    gan = models.GAN(generator, discriminator, label_smoothing=config["label_smoothing"],
                     generator_loss=config["generator_loss"], seed=config["seed"])
    gan.compile(keras.optimizers.Adam(config["lr_d"], beta_1=config["beta_1"]),
                keras.optimizers.Adam(config["lr_g"], beta_1=config["beta_1"],
                                      use_ema=config["ema"] > 0,
                                      ema_momentum=config["ema"] or 0.99))
    print(f"Model: generator {generator.count_params():,} parameters, discriminator "
          f"{discriminator.count_params():,}", flush=True)

    # Train, drawing from the same noise after every epoch (8 per class in
    # rows of 10 classes when conditional, else 64, of clusters drawn by
    # their shares), and measuring FID.
    rng = np.random.default_rng(config["seed"])
    columns = num_classes if config["conditional"] else 8
    fixed = rng.standard_normal((8 * columns, config["latent_dim"])).astype("float32")
    n = min(config["fid_samples"], len(images.x_test))
    labels = None
    if config["conditional"]:
        fixed = [fixed, np.tile(np.arange(columns, dtype="int32"), 8)]
        labels = rng.integers(0, num_classes, n).astype("int32")
    elif shares is not None:
        fixed = [fixed, rng.choice(len(shares), len(fixed), p=shares).astype("int32")]
        labels = rng.choice(len(shares), n, p=shares).astype("int32")
    features = generation.feature_model(cards.load(classifier_dir)[0])
    monitored, fid_name = ((images.x_val, "val_fid") if len(images.x_val)
                           else (images.x_test[:n], "fid"))
    start = time.perf_counter()
    history = training.fit(
        gan, (images.x_train, targets), None, epochs=config["epochs"],
        batch_size=config["batch_size"], output_dir=output_dir,
        callbacks=[SampleGrid(output_dir, fixed, columns),
                   generation.FIDMonitor(features, monitored, n, labels,
                                         seed=config["seed"], name=fid_name)])
    train_seconds = round(time.perf_counter() - start, 1)

    # Evaluate: FID against the test images on the classifier's features,
    # with its references, and class coverage. A generator conditioned on
    # clusters is evaluated and saved as the unconditional mixture of them.
    generator = gan.averaged_generator()
    if shares is not None:
        generator, labels = models.cluster_mixture(generator, shares), None
    generated = generation.sample(generator, n, labels, seed=config["seed"])
    scores = generation.evaluate(features, generated, images.x_test[:n], images.x_train,
                                 seed=config["seed"])
    metrics = {"app": APP, "dataset": images.name, "data_source": images.source,
               "conditional": config["conditional"], "clusters": config["clusters"],
               "resumed": resumed,
               **backend.describe(), "keras_version": keras.__version__,
               "params_generator": generator.count_params(),
               "params_discriminator": discriminator.count_params(),
               "epochs": config["epochs"], "train_seconds": train_seconds,
               "fid_classifier": str(classifier_dir), "fid_samples": n, **scores}
    if len(images.x_val):
        metrics["val_fid"] = history.history["val_fid"][-1]
    if config["conditional"]:
        _, probabilities = features.predict(generated, batch_size=1000, verbose=0)
        metrics["label_accuracy"] = float((probabilities.argmax(-1) == labels).mean())

    card = cards.make_card(
        generator, app=APP, dataset=images.name, class_names=images.class_names,
        preprocessing=images.preprocessing,
        metrics={k: v for k, v in metrics.items()
                 if k.startswith("fid") and k != "fid_classifier"
                 or k in ("confident", "class_entropy", "label_accuracy")},
        seed=config["seed"], command=command)
    cards.save(generator, output_dir / "generator", card)
    runs.write_metrics(output_dir, metrics)
    summary = (f"FID {scores['fid']:.2f} (real halves {scores['fid_real_halves']:.2f}, "
               f"train vs test {scores['fid_train_test']:.2f}); confident "
               f"{scores['confident']:.3f}, class entropy {scores['class_entropy']:.3f} "
               f"of {scores['max_entropy']:.3f}")
    if config["conditional"]:
        summary += f"; samples classified as the label asked {metrics['label_accuracy']:.3f}"
    print(f"{summary}. Results in {output_dir}", flush=True)
    return metrics


def parse_config(argv=None):
    """Parses the flags into `(config, args)`, filling gaps from the presets."""
    parser = flags.app_parser(APP, __doc__, presets=presets.GAN)

    def preset_help(key):
        return flags.preset_help(presets.GAN, key)

    parser.add_argument("--dataset", choices=names.IMAGE_DATASETS, default="mnist",
                        help="dataset; its preset gives the defaults")
    parser.add_argument("--latent-dim", type=flags.positive_int, default=None,
                        help="size of the noise vector" + preset_help("latent_dim"))
    parser.add_argument("--conditional", action="store_true",
                        help="class-conditional GAN: both nets see a label embedding")
    parser.add_argument("--clusters", type=flags.non_negative_int, default=None,
                        help="unconditional GANs: condition both nets on this many k-means "
                             "clusters of the training images (no labels), sampled in "
                             "proportion to their sizes; 0 for none" + preset_help("clusters"))
    parser.add_argument("--lr-g", type=flags.positive_float, default=None,
                        help="the generator's learning rate (default: --lr)")
    parser.add_argument("--lr-d", type=flags.positive_float, default=None,
                        help="the discriminator's learning rate (default: --lr)")
    parser.add_argument("--label-smoothing", type=flags.fraction, default=None,
                        help="one-sided: the discriminator's target for real images is "
                             "1 - this" + preset_help("label_smoothing"))
    parser.add_argument("--generator-loss", choices=names.GENERATOR_LOSSES, default=None,
                        help="non_saturating: maximise log D(G(z)); minimax: minimise "
                             "log(1 - D(G(z)))" + preset_help("generator_loss"))
    parser.add_argument("--ema", type=flags.fraction, default=None,
                        help="momentum of the moving average of the generator's weights "
                             "that is sampled from; 0 samples the last weights"
                             + preset_help("ema"))
    parser.add_argument("--fid-model", default=None,
                        help="classifier folder whose features FID uses (default: "
                             "saved_models/DATASET_vgg if present, else one trained first)")
    args = parser.parse_args(argv)

    preset = presets.GAN[args.dataset]
    if args.conditional and args.clusters:
        parser.error(f"argument --clusters: {args.clusters} is for unconditional GANs; "
                     "drop it or --conditional")
    lr = args.lr or preset["lr"]
    config = {
        "app": APP,
        "backend": flags.use_backend(args.backend),
        "dataset": args.dataset,
        "conditional": args.conditional,
        "clusters": (0 if args.conditional else preset["clusters"] if args.clusters is None
                     else args.clusters),
        "latent_dim": args.latent_dim or preset["latent_dim"],
        "g_width": preset["g_width"],
        "d_width": preset["d_width"],
        "ema": preset["ema"] if args.ema is None else args.ema,
        "dropout": preset["dropout"],
        "label_smoothing": (preset["label_smoothing"] if args.label_smoothing is None
                            else args.label_smoothing),
        "generator_loss": args.generator_loss or preset["generator_loss"],
        "epochs": 1 if args.dry_run else args.epochs or preset["epochs"],
        "batch_size": args.batch_size or preset["batch_size"],
        "lr_g": args.lr_g or lr,
        "lr_d": args.lr_d or lr,
        "beta_1": preset["beta_1"],
        "fid_model": args.fid_model,
        "fid_samples": presets.FID_SAMPLES,
        "validation_size": 0,
        "seed": args.seed,
        "dry_run": args.dry_run,
    }
    return config, args


def main(argv=None):
    config, args = parse_config(argv)
    print(f"Config: {json.dumps(config)}", flush=True)
    return train_and_evaluate(config, args.output_dir, overwrite=args.overwrite,
                              command=flags.command_line(APP, argv))


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
