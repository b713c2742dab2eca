"""Image classification: train a CNN or an MLP on MNIST or Fashion-MNIST.

The defaults are the project's best recipe for each dataset
(`kerasdl/presets.py`). The run writes metrics.json, history.csv,
learning_curves.png, model.keras and card.json (its model card) into
--output-dir; run the same command
again after an interruption to resume it.
"""

import argparse
import functools
import json
import sys

from kerasdl import flags, names, presets

APP = "classification"


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Trains and evaluates one classifier as `config` says.

    Args:
        config: a dict with the keys of a `presets.CLASSIFICATION` entry plus
            `dataset`, `validation_size` (0 to train on the whole training
            split), `seed` and `dry_run`.
        output_dir: the folder for everything the run writes.
        overwrite: replace a finished run in `output_dir`.
        command: the command line that made the run, for the model card.

    Returns:
        The metrics dict, also written to `output_dir/metrics.json`.
    """
    # Imported here, once the backend is chosen (see flags.use_backend).
    import keras

    from kerasdl import backend, cards, data, models, runs, training

    print(f"kerasdl {APP}: backend {keras.backend.backend()}, "
          f"device {backend.device_info()}", flush=True)

    # Data: train, validation (split off train, seeded) and test splits.
    images = data.load_run_images(config)
    print(f"Data: {images.name} from {images.source}: {len(images.x_train)} train, "
          f"{len(images.x_val)} validation, {len(images.x_test)} test", flush=True)
    resumed = runs.prepare(output_dir, config, overwrite)
    keras.utils.set_random_seed(config["seed"])

    # Model
    with models.precision(config["precision"]):
        model = models.build_classifier(config["model"], images.input_shape,
                                        images.num_classes, **config["model_options"])
    print(f"Model: {config['model']}, {model.count_params():,} parameters, "
          f"{config['precision']}", flush=True)

    # Train, then evaluate on the test split.
    metrics = training.fit_and_evaluate(
        model,
        (images.x_train, images.y_train),
        (images.x_val, images.y_val) if len(images.x_val) else None,
        (images.x_test, images.y_test),
        output_dir=output_dir,
        epochs=config["epochs"],
        batch_size=config["batch_size"],
        optimizer=config["optimizer"],
        lr=config["lr"],
        schedule=config["schedule"],
        warmup=config["warmup"],
        patience=config["patience"],
    )
    metrics = {"app": APP, "dataset": images.name, "data_source": images.source,
               "model": config["model"], "resumed": resumed, **metrics}
    card = cards.make_card(
        model, app=APP, dataset=images.name, class_names=images.class_names,
        preprocessing=images.preprocessing, metrics=cards.run_metrics(metrics),
        seed=config["seed"], command=command)
    cards.write_card(output_dir, card)
    runs.write_metrics(output_dir, metrics)
    print(f"Test accuracy {metrics['test_accuracy']:.4f}, loss {metrics['test_loss']:.4f}, "
          f"{metrics['train_seconds']} s of training. Results in {output_dir}", flush=True)
    return metrics


def parse_config(argv=None):
    """Parses the flags into `(config, args)`, filling gaps from the preset."""
    preset_help = functools.partial(flags.preset_help, presets.CLASSIFICATION)
    parser = flags.app_parser(APP, __doc__, presets=presets.CLASSIFICATION)
    parser.add_argument("--dataset", choices=names.IMAGE_DATASETS, default="mnist",
                        help="dataset; its preset gives the defaults")
    parser.add_argument("--model", choices=names.CLASSIFIERS, default=None,
                        help="model family" + preset_help("model"))
    parser.add_argument("--optimizer", choices=names.OPTIMIZERS, default=None,
                        help="optimizer" + preset_help("optimizer"))
    parser.add_argument("--schedule", choices=names.SCHEDULES, default=None,
                        help="learning-rate schedule" + preset_help("schedule"))
    parser.add_argument("--depth", type=flags.positive_int, default=None,
                        help="depth of the model family (default: preset or builder default)")
    parser.add_argument("--width", type=flags.positive_int, default=None,
                        help="width of the model family (default: preset or builder default)")
    parser.add_argument("--dropout", type=flags.fraction, default=None,
                        help="dropout rate (default: preset or builder default)")
    parser.add_argument("--batchnorm", action=argparse.BooleanOptionalAction,
                        default=None,
                        help="BatchNorm after each layer (default: preset or builder default)")
    parser.add_argument("--weight-decay", type=flags.fraction, default=None,
                        help="L2 factor on the kernels (default: preset or builder default)")
    parser.add_argument("--initializer", choices=names.INITIALIZERS, default=None,
                        help="kernel initializer (default: he)")
    parser.add_argument("--augment", type=flags.augmentation_list, default=None,
                        help="comma-separated augmentations from "
                             f"{{{','.join(names.AUGMENTATIONS)}}}, or 'none' (default: preset)")
    parser.add_argument("--precision", choices=names.PRECISIONS, default="float32",
                        help="Keras dtype policy; the mixed ones speed up larger "
                             "models on a GPU")
    parser.add_argument("--patience", type=flags.positive_int, default=None,
                        help="early-stopping patience in epochs (default: no early stopping)")
    args = parser.parse_args(argv)

    preset = presets.CLASSIFICATION[args.dataset]
    model = args.model or preset["model"]
    options = dict(preset["model_options"]) if model == preset["model"] else {}
    for key in ("depth", "width", "dropout", "batchnorm", "weight_decay", "initializer"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    if args.augment is not None:
        options["augment"] = args.augment
    config = {
        "app": APP,
        "backend": flags.use_backend(args.backend),
        "dataset": args.dataset,
        "model": model,
        "model_options": options,
        "optimizer": args.optimizer or preset["optimizer"],
        "lr": args.lr or preset["lr"],
        "schedule": args.schedule or preset["schedule"],
        "warmup": preset["warmup"],
        "epochs": 1 if args.dry_run else args.epochs or preset["epochs"],
        "batch_size": args.batch_size or preset["batch_size"],
        "patience": args.patience,
        "precision": args.precision,
        "validation_size": presets.VALIDATION_SIZE,
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
