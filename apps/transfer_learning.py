"""Transfer learning: reuse a pretrained base, freeze it, add a new head, fine-tune.

A network trained on a source task has learnt features that serve a related
target task with few labels. Cut below its dense layers it is a base: frozen
under a new head, only the head learns (mode frozen); then its top blocks are
unfrozen and the model is recompiled and trained on at a low rate (finetune),
against the same net from random weights (scratch). Route 1 (offline): the
CNN shipped in kerasdl/saved_models/, pretrained on MNIST digits 0-4, learns
digits 5-9 from several numbers of labels per class; --mode pretrain trains a
base (--epochs, --batch-size, --lr default to presets.TRANSFER_BASE). Route 2:
--backbone takes an ImageNet model, for the images in --images DIR.

The run writes metrics.json, transfer.md (the accuracy table), transfer.png
(accuracy against labels per class) and a folder per labels count and mode.
"""

import sys

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402

from kerasdl import backend, cards, data, presets, runs, transfer  # noqa: E402
from kerasdl.errors import UsageError  # noqa: E402

APP = "transfer"
# How the target trains; a dry run trains on few labels for one epoch.
PRESETS = {"transfer": presets.TRANSFER, "dry_run": presets.TRANSFER_DRY_RUN}
FLAGS = {
    "source": {"choices": tuple(data.TASKS), "default": "mnist_0_4", "help": "source task"},
    "target": {"choices": tuple(data.TASKS), "default": "mnist_5_9", "help": "target task"},
    "base": {"type": transfer.saved_model, "help": "a saved model whose base is reused "
             "(default: the shipped SOURCE_vgg if any, else one pretrained in OUTPUT_DIR/base)"},
    "mode": {"choices": (*transfer.MODES, "all", "pretrain"), "default": "all",
             "help": "a mode, all three side by side, or pretrain: only pretrain a base"},
    "labels_per_class": {"type": transfer.labels_list, "preset": "labels_per_class",
                         "help": "comma-separated labels per class on the target, or 'all'"},
    "unfreeze_blocks": {"type": flags.positive_int, "preset": "unfreeze_blocks",
                        "help": "blocks of the base, from the top, that finetune trains"},
    "fine_tune_epochs": {"type": flags.positive_int, "preset": "fine_tune_epochs",
                         "help": "epochs of finetune after frozen"},
    "fine_tune_lr": {"type": flags.positive_float, "preset": "fine_tune_lr",
                     "help": "learning rate of finetune"},
    "augment": {"type": flags.augmentation_list, "help": "augmentations of the target images"
                " (default: its classification preset's; flip for --images), or 'none'"},
    "backbone": {"choices": tuple(transfer.BACKBONES), "help": "route 2: an ImageNet backbone"},
    "weights": {"type": transfer.weights_choice, "default": "imagenet",
                "help": "route 2: 'imagenet', a weights file without top, or 'none'"},
    "images": {"help": "route 2: a folder with one subfolder of images per class"},
    "image_size": {"type": flags.positive_int, "preset": "image_size",
                   "help": "route 2: the side the images are resized to"},
}
# What `kerasdl tune transfer` searches (the new head and its training) and optimises.
TUNING = {
    "space": {
        "lr": {"type": "float", "min": 1e-4, "max": 1e-2, "step": 10**0.5, "sampling": "log"},
        "fine_tune_lr": {"type": "float", "min": 1e-5, "max": 1e-3, "step": 10**0.5,
                         "sampling": "log"},
        "unfreeze_blocks": {"type": "int", "min": 1, "max": 2},
        "head_units": {"type": "choice", "values": [64, 128, 256]},
        "head_dropout": {"type": "float", "min": 0.0, "max": 0.5, "step": 0.25},
        "augment": {"type": "choice", "values": ["none", "shift"]},
    },
    "objective": "val_accuracy",
    "direction": "max",
    "prepare": transfer.one_trial,
    "retrain_on_validation": False,  # its few labels are drawn from the training split
}


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs the transfer experiment of `config` (from `parse_config`) in
    `output_dir`, and returns its metrics; `command` goes on the model cards."""
    # Data: the target task (the source task to pretrain on), or a folder.
    if config["backbone"]:
        images = data.load_image_folder(config["images"], config["image_size"],
                                        seed=config["seed"])
    else:
        images = data.load_task(config["source" if config["mode"] == "pretrain" else "target"],
                                seed=config["seed"], validation_size=config["validation_size"])
    images = images.head(**presets.DRY_RUN_SIZES) if config["dry_run"] else images
    print(images.summary(), flush=True)
    resumed = runs.prepare(output_dir, config, overwrite, resumes=True, command=command)
    keras.utils.set_random_seed(config["seed"])
    metrics = {"app": APP, "resumed": resumed, **backend.describe(),
               "keras_version": keras.__version__}

    # Model: the base, a classifier pretrained on the source task (here,
    # when no saved one is given), or an ImageNet backbone.
    if config["mode"] == "pretrain":
        base = transfer.pretrain_base(images, config, output_dir)
        metrics.update(source=config["source"], base=str(base), **cards.read_card(base)["metrics"])
        runs.write_metrics(output_dir, metrics)
        print(f"Base saved in {base} with its card. Results in {output_dir}")
        return metrics
    if not (config["base"] or config["backbone"]):
        source = data.load_run_images(config, config["source"])
        config = {**config, "base": str(transfer.pretrain_base(source, config, output_dir))}
    load_base, base_name, card = transfer.open_base(config, images)
    if card:
        metrics["base_accuracy"] = card["metrics"]["test_accuracy"]

    # Train, on each labels count: scratch, frozen (the base frozen under a
    # new head) and finetune (its top blocks unfrozen, recompiled).
    modes = transfer.MODES if config["mode"] == "all" else (config["mode"],)
    results = transfer.train_modes(load_base, images, modes, config, output_dir, command)

    # Evaluate: the table and the plot of test accuracy per labels count.
    title = f"{base_name} -> {images.name} ({metrics['backend']})"
    transfer.write_report(results, modes, images.num_classes, output_dir, title)
    metrics.update(source="imagenet" if config["backbone"] else config["source"],
                   target=images.name, base=base_name, results=results,
                   val_accuracy=results[-1]["val_accuracy"])
    runs.write_metrics(output_dir, metrics)
    print(transfer.results_table(results, modes), f"Results in {output_dir}", sep="\n",
          flush=True)
    return metrics


def parse_config(argv=None):
    """Parses the flags into `(config, args)`, with defaults from the presets."""
    config, args = flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS,
                               pick=lambda args: "dry_run" if args.dry_run else "transfer")
    preset = presets.TRANSFER_DRY_RUN if args.dry_run else presets.TRANSFER
    pretrain = args.mode == "pretrain"  # then --epochs, --batch-size and --lr train the base
    route_1 = not (args.backbone or pretrain)  # a transfer from a base pretrained on --source
    if bool(args.backbone) != bool(args.images):
        raise UsageError("route 2 needs both --backbone and --images")
    if args.backbone and pretrain:
        raise UsageError("argument --mode: pretrain is for route 1 (no --backbone)")
    if args.source == args.target and route_1:
        raise UsageError(f"--source and --target are the same task, {args.source!r}")
    given = dict(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size) if pretrain else {}
    config.update(
        base=(args.base or transfer.shipped_base(args.source)) if route_1 else None,
        epochs=args.epochs if args.epochs and not pretrain else preset["epochs"],
        lr=args.lr if args.lr and not pretrain else preset["lr"],
        pretrain=transfer.base_recipe(args.source, args.dry_run, **given),
        augment=transfer.target_augment(args.target, args.backbone, given=args.augment))
    return config, args


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
