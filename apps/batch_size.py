"""Lab: scale the learning rate with the batch, and large batches train as well.

A step of SGD moves the weights by the rate times the mean gradient of the
batch. With k times the batch, an epoch has k times fewer steps, so at a
fixed rate the weights travel about k times less far and the net ends
under-trained. Goyal et al. (2017) scale the rate by k with the batch (the
linear scaling rule), and warm it up from zero over the first steps, when
the weights change fastest; on ImageNet that kept the accuracy of batches
of 256 up to batches of 8,192, in a fraction of the time.

The lab trains one MLP on MNIST for the same epochs with batches of 32 to
2,048, at a fixed rate and at the rate scaled from batch 32 (with a warmup
of one epoch), and times each run. It writes results.md, metrics.json and
batch_size.png (test accuracy and seconds against the batch size) into
--output-dir.
"""

import sys
import time

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402

from kerasdl import data, labs, runs, training  # noqa: E402

APP = "batch_size"
PRESETS = {"mnist": {"dataset": "mnist", "validation_size": 5000, "epochs": 5,
                     "batch_size": 32, "lr": 0.01}}
FLAGS = {}
BATCHES = [32, 64, 128, 256, 512, 1024, 2048]  # --batch-size is the base of the scaling


def rate_schedule(lr, warmup_steps):
    """`lr` after a linear warmup from 0 over `warmup_steps` (a cosine decay
    whose floor, alpha = 1, is its start: a constant)."""
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=1, alpha=1.0, warmup_target=lr, warmup_steps=warmup_steps)


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs the lab as `config` says, in `output_dir`; returns its metrics."""
    # Data: MNIST, with a validation split from the training set.
    images = data.load_run_images(config)
    print(images.summary(), flush=True)
    runs.prepare(output_dir, config, overwrite, command=command)
    base, examples = config["batch_size"], len(images.x_train)

    # Model and train: the same MLP from the same seed, per batch and rule.
    batches = BATCHES[::3] if config["dry_run"] else BATCHES
    rows, curves = [], {"fixed rate": {}, "scaled rate": {}}
    for rule in curves:
        for batch in batches:
            lr = config["lr"] * (batch / base if rule == "scaled rate" else 1)
            steps_per_epoch = training.total_steps(1, examples, batch)
            keras.utils.set_random_seed(config["seed"])
            optimizer = keras.optimizers.SGD(
                rate_schedule(lr, steps_per_epoch) if rule == "scaled rate" else lr,
                momentum=0.9)
            start = time.perf_counter()
            history, accuracy = labs.train(
                labs.mlp(2, 256), optimizer, (images.x_train, images.y_train),
                (images.x_test, images.y_test), validation=(images.x_val, images.y_val),
                epochs=config["epochs"], batch_size=batch)
            seconds = time.perf_counter() - start
            curves[rule][batch] = (accuracy, seconds)
            rows.append({"rule": rule, "batch": batch, "rate": lr,
                         "steps": config["epochs"] * steps_per_epoch,
                         "final training loss": history["loss"][-1],
                         "test accuracy": accuracy, "seconds": seconds})
            print(labs.describe(rows[-1]), flush=True)

    # Evaluate: accuracy and time against the batch, and the claim.
    labs.plot_curves(f"{output_dir}/batch_size.png", {
        "Test accuracy": {rule: (batches, [a for a, _ in results.values()])
                          for rule, results in curves.items()},
        "Seconds (fit and test)": {rule: (batches, [s for _, s in results.values()])
                                   for rule, results in curves.items()}},
        "batch size", "accuracy / seconds", log_x=True)
    small, large = batches[0], batches[-1]
    scaled, fixed = curves["scaled rate"], curves["fixed rate"]
    claim = (f"from batch {small} to {large}, test accuracy goes from {scaled[small][0]:.2%} "
             f"to {scaled[large][0]:.2%} with the scaled rate and from {fixed[small][0]:.2%} "
             f"to {fixed[large][0]:.2%} with the fixed rate; a run takes "
             f"{scaled[small][1]:.1f} s at batch {small} and {scaled[large][1]:.1f} s at "
             f"{large}")
    holds = (scaled[large][0] >= scaled[small][0] - 0.01 and scaled[large][0] > fixed[large][0]
             and scaled[large][1] < scaled[small][1])
    return labs.finish(output_dir, config, rows, claim, holds)


def parse_config(argv=None):
    """Parses the flags into `(config, args)`."""
    return flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
