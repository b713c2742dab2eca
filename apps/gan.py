"""GAN: a DCGAN on MNIST or Fashion-MNIST, measured by FID.

A generator turns noise into images and a discriminator tells them from real
ones. Each training step is two gradient steps: the discriminator's, on real
images and as many generated ones, then the generator's, on new noise, towards
images the discriminator takes for real. With --conditional, both nets see the
class; else they may see a cluster of the images found without labels
(--clusters), which the saved generator draws by their sizes. FID compares
generated and test images on the features of a classifier of the dataset.

The run writes samples/epoch_NNN.png (the same noise after every epoch),
progress.gif, history.csv, learning_curves.png, generator/ (model.keras, card)
and metrics.json (FID with its references, class coverage) into --output-dir;
`kerasdl gan sample` draws from the saved generator.
"""

import sys

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402

from kerasdl import backend, cards, data, gan, presets, runs, training  # noqa: E402
from kerasdl.errors import UsageError  # noqa: E402

APP = "gan"
PRESETS = presets.GAN  # one per dataset
FLAGS = {
    "dataset": {"choices": data.TRAINING_DATASETS, "default": "mnist", "help": "dataset"},
    "latent_dim": {"type": flags.positive_int, "preset": "latent_dim", "help": "noise size"},
    "conditional": {"action": "store_true", "help": "both nets see the class, embedded"},
    "clusters": {"type": flags.non_negative_int, "preset": "clusters", "help": "unconditional"
                 " GANs: both nets see this many k-means clusters of the images; 0: none"},
    "lr_g": {"type": flags.positive_float, "help": "the generator's rate (default: --lr)"},
    "lr_d": {"type": flags.positive_float, "help": "the discriminator's rate (default: --lr)"},
    "label_smoothing": {"type": flags.fraction, "preset": "label_smoothing",
                        "help": "the discriminator's target for real images is 1 - this"},
    "generator_loss": {"choices": tuple(gan.GENERATOR_LOSSES), "preset": "generator_loss",
                       "help": "non_saturating: max log D(G(z)); minimax: min log(1-D(G(z)))"},
    "ema": {"type": flags.fraction, "preset": "ema", "help": "momentum of the moving "
            "average of the generator's weights sampled from; 0 for the last weights"},
    "fid_model": {"help": "classifier folder for FID (default: the shipped DATASET_vgg)"},
}
# What `kerasdl tune gan` searches, and the figure it minimises: FID against
# a validation split of the training images, which the trials hold out.
TUNING = {
    "space": {
        "lr_g": {"type": "float", "min": 1e-4, "max": 8e-4, "step": 2, "sampling": "log"},
        "lr_d": {"type": "float", "min": 1e-4, "max": 8e-4, "step": 2, "sampling": "log"},
        "latent_dim": {"type": "choice", "values": [32, 64, 128]},
        "d_width": {"type": "choice", "values": [32, 64, 128]},
        "label_smoothing": {"type": "choice", "values": [0.0, 0.1, 0.2]},
    },
    "objective": "val_fid",
    "direction": "min",
    "prepare": lambda config: {**config, "validation_size": presets.VALIDATION_SIZE},
}


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Trains one GAN as `config` (from `parse_config`) says, in `output_dir`,
    and returns its metrics; `command` goes on the generator's card."""
    # Data: the training images (split for validation only when tuning), the
    # classifier for FID, and what the nets see: classes, clusters or nothing.
    images = data.load_run_images(config)
    print(images.summary(), flush=True)
    resumed = runs.prepare(output_dir, config, overwrite, resumes=True, command=command)
    classifier = gan.fid_classifier(images, output_dir, config["fid_model"], config["seed"],
                                    config["dry_run"])
    keras.utils.set_random_seed(config["seed"])
    targets, classes, shares = gan.conditioning(images, config["conditional"],
                                                config["clusters"], config["seed"])

    # Model: the nets of `kerasdl/gan/nets.py`. Each step of `fit` is
    # `gan.adversarial_step`: the discriminator's gradient step, then the generator's.
    generator = gan.build_generator(images.input_shape, config["latent_dim"],
                                    config["g_width"], classes)
    discriminator = gan.build_discriminator(images.input_shape, config["d_width"],
                                            config["dropout"], classes)
    model = gan.GAN(generator, discriminator, gan.adversarial_step,
                    label_smoothing=config["label_smoothing"],
                    generator_loss=config["generator_loss"], seed=config["seed"])
    model.compile(keras.optimizers.Adam(config["lr_d"], beta_1=config["beta_1"]),
                  keras.optimizers.Adam(config["lr_g"], beta_1=config["beta_1"],
                                        use_ema=config["ema"] > 0,
                                        ema_momentum=config["ema"] or 0.99))
    print(f"Model: generator {generator.count_params():,} parameters, discriminator "
          f"{discriminator.count_params():,}", flush=True)

    # Train, drawing a grid of samples and measuring FID after every epoch.
    n = min(config["fid_samples"], len(images.x_test))
    grid, columns, labels = gan.fixed_inputs(config["latent_dim"], n, classes, shares,
                                             config["seed"])
    features = gan.feature_model(cards.load(classifier)[0])
    history = training.fit(
        model, (images.x_train, targets), None, epochs=config["epochs"],
        batch_size=config["batch_size"], output_dir=output_dir,
        callbacks=[gan.SampleGrid(output_dir, grid, columns),
                   gan.FIDMonitor(features, images, n, labels, seed=config["seed"])])

    # Evaluate the generator with averaged weights (on clusters, the mixture
    # of them): FID against the test images, its references, class coverage.
    generator = model.averaged_generator()
    if shares is not None:
        generator, labels = gan.cluster_mixture(generator, shares), None
    generated = gan.sample(generator, n, labels, seed=config["seed"])
    scores = gan.evaluate(features, generated, images.x_test[:n], images.x_train, labels,
                          seed=config["seed"])
    metrics = {"app": APP, "dataset": images.name, "data_source": images.source,
               "conditional": config["conditional"], "clusters": config["clusters"],
               "resumed": resumed, **backend.describe(), "keras_version": keras.__version__,
               "params_generator": generator.count_params(),
               "params_discriminator": discriminator.count_params(),
               "epochs": config["epochs"],
               "train_seconds": round(training.train_seconds(output_dir), 1),
               "fid_classifier": str(classifier), "fid_samples": n, **scores}
    if len(images.x_val):
        metrics["val_fid"] = history.history["val_fid"][-1]
    cards.save(generator, f"{output_dir}/generator", cards.make_card(
        generator, app=APP, dataset=images.name, class_names=images.class_names,
        preprocessing=images.preprocessing, seed=config["seed"], command=command,
        metrics={key: metrics[key] for key in gan.CARD_METRICS if key in metrics}))
    runs.write_metrics(output_dir, metrics)
    print(f"{gan.summary(scores)}. Results in {output_dir}", flush=True)
    return metrics


def parse_config(argv=None):
    """Parses the flags into `(config, args)`, with defaults from the preset."""
    config, args = flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS,
                               pick=lambda args: args.dataset)
    if args.conditional and args.clusters:
        raise UsageError(f"--clusters {args.clusters} is for unconditional GANs: drop it, "
                         "or --conditional")
    lr = config.pop("lr")
    config.update(clusters=0 if args.conditional else config["clusters"], lr_g=args.lr_g or lr,
                  lr_d=args.lr_d or lr, fid_samples=presets.FID_SAMPLES, validation_size=0)
    return config, args


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
