"""Transfer learning: reuse a pretrained base, freeze it, add a new head, fine-tune.

Route 1 (offline): a CNN pretrained on a source task (by default MNIST digits
0-4, shipped in saved_models/) is reused for a target task (digits 5-9) in
three modes, side by side: scratch (same architecture, random weights),
frozen (base frozen, new head trained) and finetune (then the top blocks
unfrozen at a low learning rate), for several numbers of labels per class.
--mode pretrain only trains and saves a base, with its model card; its
--epochs, --batch-size and --lr default to the base preset of the source's
dataset (presets.TRANSFER_BASE).

Route 2: --backbone takes an ImageNet model from keras.applications for the
images in --images DIR (one subfolder per class).

The run writes metrics.json, transfer.md (the accuracy table), transfer.png
(accuracy against labels per class) and one folder per labels count and mode.
"""

import argparse
import json
import shlex
import sys
from pathlib import Path

from kerasdl import flags, names, presets
from kerasdl.errors import UsageError

APP = "transfer"
SAVED_MODELS = Path("saved_models")


def default_base(source):
    """The shipped base for `source`, if the working folder has it."""
    folder = SAVED_MODELS / f"{source}_{presets.TRANSFER_BASE[_dataset(source)]['model']}"
    return str(folder) if folder.exists() else None


def _dataset(task):
    return names.TASKS[task][0]


def pretrain_command(config, output_dir):
    """The command line that pretrains the base of `config`."""
    recipe = config["pretrain"]
    words = ["kerasdl", "run", APP, "--mode", "pretrain", "--source", config["source"],
             "--backend", config["backend"], "--seed", str(config["seed"]),
             "--epochs", str(recipe["epochs"]), "--batch-size", str(recipe["batch_size"]),
             "--lr", str(recipe["lr"]), "--output-dir", str(output_dir)]
    return shlex.join(words + (["--dry-run"] if config["dry_run"] else []))


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs the transfer experiment (or, with mode "pretrain", pretrains a
    base) as `config` says.

    Args:
        config: a dict from `parse_config`: `source`, `target`, `base` (a
            saved model folder, or `None` to pretrain one), `mode`,
            `labels_per_class`, the training settings of `presets.TRANSFER`,
            `pretrain` (the base's recipe), `backbone`, `weights`, `images`,
            `image_size`, `validation_size`, `seed` and `dry_run`.
        output_dir: the folder for everything the run writes.
        overwrite: replace a finished run in `output_dir`.
        command: the command line that made the run, for the model cards.

    Returns:
        The metrics dict, also written to `output_dir/metrics.json`.
    """
    # Imported here, once the backend is chosen (see flags.use_backend).
    import keras

    from kerasdl import backend, cards, data, models, runs, transferring

    output_dir = Path(output_dir)
    print(f"kerasdl {APP}: backend {keras.backend.backend()}, "
          f"device {backend.device_info()}", flush=True)

    # Data: the target task (or, for pretraining, the source task).
    if config["backbone"]:
        images = data.load_image_folder(config["images"], config["image_size"],
                                        seed=config["seed"])
        if config["dry_run"]:
            images = images.head(**presets.DRY_RUN_SIZES)
    else:
        task = config["source"] if config["mode"] == "pretrain" else config["target"]
        images = data.load_run_images(config, task)
    print(f"Data: {images.name} from {images.source}: {len(images.x_train)} train, "
          f"{len(images.x_val)} validation, {len(images.x_test)} test", flush=True)
    resumed = runs.prepare(output_dir, config, overwrite)
    keras.utils.set_random_seed(config["seed"])
    metrics = {"app": APP, "resumed": resumed, **backend.describe(),
               "keras_version": keras.__version__}

    # Model: the base, pretrained here when no saved one is given.
    if config["mode"] == "pretrain" or not (config["base"] or config["backbone"]):
        base_dir = output_dir / "base"
        if not (base_dir / cards.CARD_FILE).exists():
            transferring.pretrain_base(
                data.load_run_images(config, config["source"]) if config["mode"] != "pretrain"
                else images, config["pretrain"], output_dir, seed=config["seed"],
                command=pretrain_command(config, output_dir))
        if config["mode"] == "pretrain":
            card = cards.read_card(base_dir)
            metrics.update(source=config["source"], base=str(base_dir), **card["metrics"])
            runs.write_metrics(output_dir, metrics)
            print(f"Base saved in {base_dir} with its card. Results in {output_dir}")
            return metrics
        config = {**config, "base": str(base_dir)}
    if config["backbone"]:
        def load_base(pretrained=True):
            return models.imagenet_base(config["backbone"], config["image_size"],
                                        config["weights"] if pretrained else None)
        base_name = f"{config['backbone']} (weights: {config['weights'] or 'random'})"
        print(f"Base: {base_name}, {load_base().count_params():,} parameters", flush=True)
    else:
        _, card = cards.load(config["base"])
        if card and tuple(card["input_shape"]) != images.input_shape:
            raise UsageError(f"The base takes {tuple(card['input_shape'])} images, "
                             f"but {images.name} has {images.input_shape}")
        load_base = transferring.saved_base(config["base"])
        base_name = config["base"]
        if card:
            print(f"Base: {base_name}, test accuracy {card['metrics']['test_accuracy']:.4f} "
                  f"on {card['dataset']}; made by: {card['command']}", flush=True)
            metrics["base_accuracy"] = card["metrics"]["test_accuracy"]

    # Train: every mode for every labels count.
    modes = (transferring.MODES if config["mode"] == "all" else (config["mode"],))
    results = []
    for labels in config["labels_per_class"]:
        results += transferring.transfer(load_base, images, modes, labels, config,
                                         output_dir, command)

    # Evaluate: the table and the plot.
    title = f"{base_name} -> {images.name} ({metrics['backend']})"
    transferring.write_report(results, modes, images.num_classes, output_dir, title)
    metrics.update(source=config["source"] if not config["backbone"] else "imagenet",
                   target=images.name, base=base_name, results=results)
    runs.write_metrics(output_dir, metrics)
    print(transferring.results_table(results, modes), flush=True)
    print(f"Results in {output_dir}", flush=True)
    return metrics


def _labels_list(text):
    """argparse type: comma-separated positive counts and/or 'all'."""
    items = text.split(",")
    if not all(item == "all" or item.isdigit() and int(item) > 0 for item in items):
        raise argparse.ArgumentTypeError(
            f"must be positive integers or 'all', comma-separated, got {text!r}")
    return [item if item == "all" else int(item) for item in items]


def parse_config(argv=None):
    """Parses the flags into `(config, args)`, filling gaps from the presets."""
    preset = {"transfer": presets.TRANSFER}

    def preset_help(key):
        return flags.preset_help(preset, key)

    parser = flags.app_parser(APP, __doc__, presets=preset)
    parser.add_argument("--source", choices=names.TASKS, default="mnist_0_4",
                        help="task the base is pretrained on (when no --base is given)")
    parser.add_argument("--target", choices=names.TASKS, default="mnist_5_9",
                        help="task the base is transferred to")
    parser.add_argument("--base", default=None,
                        help="a saved model folder (or .keras file) whose base is reused "
                             "(default: saved_models/SOURCE_vgg if present, else one "
                             "pretrained in --output-dir/base)")
    parser.add_argument("--mode", choices=names.TRANSFER_MODES, default="all",
                        help="scratch, frozen, finetune, all three side by side, or "
                             "pretrain: only train and save a base on --source")
    parser.add_argument("--labels-per-class", type=_labels_list, default=None,
                        help="comma-separated labelled examples per class on the target, "
                             "'all' for every one" + preset_help("labels_per_class"))
    parser.add_argument("--unfreeze-blocks", type=flags.positive_int, default=None,
                        help="blocks of the base, from the top, that finetune trains"
                             + preset_help("unfreeze_blocks"))
    parser.add_argument("--fine-tune-epochs", type=flags.positive_int, default=None,
                        help="epochs of finetune after frozen"
                             + preset_help("fine_tune_epochs"))
    parser.add_argument("--fine-tune-lr", type=flags.positive_float, default=None,
                        help="learning rate of finetune" + preset_help("fine_tune_lr"))
    parser.add_argument("--augment", type=flags.augmentation_list, default=None,
                        help="comma-separated augmentations of the target images, from "
                             f"{{{','.join(names.AUGMENTATIONS)}}}, or 'none' (default: "
                             "the classification preset's for the target dataset; flip "
                             "for --images)")
    parser.add_argument("--backbone", choices=names.BACKBONES, default=None,
                        help="route 2: an ImageNet backbone from keras.applications, "
                             "for the images in --images")
    parser.add_argument("--weights", default="imagenet",
                        help="route 2: 'imagenet' (downloaded by Keras), a local weights "
                             "file without top, or 'none' for random weights")
    parser.add_argument("--images", default=None,
                        help="route 2: a folder with one subfolder of images per class")
    parser.add_argument("--image-size", type=flags.positive_int,
                        default=presets.TRANSFER["image_size"],
                        help="route 2: the side the images are resized to")
    args = parser.parse_args(argv)
    if bool(args.backbone) != bool(args.images):
        parser.error("route 2 needs both --backbone and --images")
    if args.backbone and args.mode == "pretrain":
        parser.error("argument --mode: pretrain is for route 1 (no --backbone)")
    if args.base and not Path(args.base).exists():
        parser.error(f"argument --base: no saved model at {args.base!r}")
    weights = args.weights
    if weights not in ("imagenet", "none") and not Path(weights).is_file():
        parser.error(f"argument --weights: {weights!r} is neither 'imagenet', 'none' "
                     "nor a weights file")
    if args.source == args.target and not args.backbone and args.mode != "pretrain":
        parser.error(f"--source and --target are the same task, {args.source!r}")

    settings = dict(presets.TRANSFER)
    if args.dry_run:
        settings.update(presets.TRANSFER_DRY_RUN, epochs=1, fine_tune_epochs=1)
    recipe = dict(presets.TRANSFER_BASE[_dataset(args.source)])
    if args.mode == "pretrain":
        recipe.update({k: v for k, v in (("epochs", args.epochs), ("lr", args.lr),
                                        ("batch_size", args.batch_size)) if v})
    elif args.epochs:
        settings["epochs"] = args.epochs
    if args.dry_run:
        recipe["epochs"] = 1
    augment = args.augment
    if augment is None:
        augment = (settings["folder_augment"] if args.backbone else presets.CLASSIFICATION[
            _dataset(args.target)]["model_options"]["augment"])
    config = {
        "app": APP,
        "backend": flags.use_backend(args.backend),
        "source": args.source,
        "target": args.target,
        "base": (None if args.backbone or args.mode == "pretrain"
                 else args.base or default_base(args.source)),
        "mode": args.mode,
        "labels_per_class": args.labels_per_class or settings["labels_per_class"],
        "epochs": settings["epochs"],
        "fine_tune_epochs": args.fine_tune_epochs or settings["fine_tune_epochs"],
        "batch_size": args.batch_size or settings["batch_size"],
        "lr": args.lr if args.lr and args.mode != "pretrain" else settings["lr"],
        "fine_tune_lr": args.fine_tune_lr or settings["fine_tune_lr"],
        "unfreeze_blocks": args.unfreeze_blocks or settings["unfreeze_blocks"],
        "augment": augment,
        "head_units": settings["head_units"],
        "head_dropout": settings["head_dropout"],
        "min_epoch_size": settings["min_epoch_size"],
        "pretrain": recipe,
        "backbone": args.backbone,
        "weights": None if weights == "none" else weights,
        "images": args.images,
        "image_size": args.image_size,
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
