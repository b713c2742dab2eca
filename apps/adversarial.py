"""Adversarial examples: FGSM and PGD attacks on an MNIST classifier, and adversarial training.

Changes to each pixel too small to change the digit make a 99%-accurate
classifier wrong on most test digits. The fast gradient sign method (FGSM,
Goodfellow et al. 2015) moves every pixel by ε up the loss: x + ε sign(∇x
loss). Projected gradient descent (PGD, Madry et al. 2018) takes many such
smaller steps from a random point of the ±ε box around the image,
projecting back into the box after each: a stronger attack. Adversarial
training fits the model to attacked images as it learns: FGSM and clean
images alike (Goodfellow et al.: 89.4% FGSM error at ε = 0.25 before, 17.9%
after), or PGD images alone (Madry et al.: 93.2% accuracy under PGD-40 at
ε = 0.3). The run attacks --model, trains an FGSM-trained and a PGD-trained
net of the shipped one's architecture (`kerasdl/models/adversarial.py`),
writes results.md, metrics.json, accuracy.png (accuracy against ε),
examples.png and the two nets with their cards into --output-dir.
"""

import sys
from functools import partial

import numpy as np

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402
from keras import ops  # noqa: E402

from kerasdl import backend, cards, data, labs, models, plots, presets, runs  # noqa: E402
from kerasdl.training import make_optimizer, total_steps  # noqa: E402
from kerasdl.errors import UsageError  # noqa: E402
from kerasdl.models.adversarial import (  # noqa: E402
    AdversarialTraining, Attacked, attacked_accuracy, cross_entropy, logits_model)

APP = "adversarial"
PRESETS = {"mnist": {"dataset": "mnist", "validation_size": 5000, "epochs": 8,
                     "batch_size": 128, "lr": 3e-3}}
FLAGS = {
    "model": {"default": "mnist_vgg", "help": "the standard model to attack: a shipped "
              "model's name (kerasdl models), a saved model folder or a .keras file"},
    "epsilon": {"type": flags.fraction, "default": 0.25, "help": "FGSM's ε, in training too"},
    "pgd_epsilon": {"type": flags.fraction, "default": 0.3, "help": "PGD's ε, in training too"},
    "pgd_steps": {"type": flags.positive_int, "default": 40, "help": "steps of the PGD attack"},
    "train_pgd_steps": {"type": flags.positive_int, "default": 7,
                        "help": "steps of the PGD attack in adversarial training"},
}
TUNING = {"space": {"lr": {"type": "choice", "values": [1e-3, 3e-3, 1e-2]},
                    "train_pgd_steps": {"type": "choice", "values": [3, 7, 10]}},
          "objective": "val_pgd_accuracy", "direction": "max", "retrain_on_validation": False}
EPSILONS, CURVE_SIZE = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3], 1000  # the curves' points


def fgsm(logits, x, y, epsilon, seed=None):
    """One step of ε up the sign of the loss's gradient, kept in the pixel range."""
    x = ops.convert_to_tensor(x)
    grad = backend.input_gradient(lambda x: cross_entropy(y, logits(x)), x)
    return ops.clip(x + epsilon * ops.sign(grad), 0.0, 1.0)


def pgd(logits, x, y, epsilon, seed=None, steps=40):
    """`steps` FGSM steps of 2.5 ε / `steps` from a random point of the ±ε box, kept in it."""
    x = ops.convert_to_tensor(x)
    attacked = ops.clip(x + keras.random.uniform(ops.shape(x), -epsilon, epsilon, seed=seed),
                        0.0, 1.0)
    return ops.fori_loop(0, steps, lambda _, attacked: ops.clip(
        fgsm(logits, attacked, y, 2.5 * epsilon / steps), x - epsilon, x + epsilon), attacked)


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs the attacks and trainings as `config` says, in `output_dir`; returns the metrics."""
    # Data: MNIST in [0, 1], a validation split of the training set; the standard model.
    images = data.load_run_images(config)
    print(images.summary(), flush=True)
    standard, card = cards.load(config["model"])
    if (card and card["dataset"] != images.name) or standard.input_shape != (
            None, *images.input_shape) or standard.output_shape != (None, images.num_classes):
        raise UsageError(f"--model {config['model']} is not an {images.name} classifier")
    runs.prepare(output_dir, config, overwrite, command=command)
    seed, epochs = config["seed"], config["epochs"]
    budgets = {"FGSM": config["epsilon"], "PGD": config["pgd_epsilon"]}
    attacks = {"FGSM": fgsm, "PGD": partial(pgd, steps=config["pgd_steps"])}

    # Model: the standard classifier, and two of the shipped one's architecture trained on
    # their own FGSM images (half the loss) or PGD ones (all), Adam warmed up over 10%.
    nets = {"standard": standard}
    for name, attack, clean_weight in (
            ("FGSM-trained", partial(fgsm, epsilon=budgets["FGSM"]), 0.5),
            ("PGD-trained", partial(pgd, epsilon=budgets["PGD"],
                                    steps=config["train_pgd_steps"]), 0.0)):
        keras.utils.set_random_seed(seed)
        nets[name] = models.build_classifier("vgg", images.input_shape, images.num_classes, **{
            **presets.CLASSIFICATION["mnist"]["model_options"], "augment": []})
        trainer = AdversarialTraining(nets[name], attack, clean_weight, seed=seed)
        trainer.compile(make_optimizer("adam", config["lr"], "cosine", total_steps(
            epochs, len(images.x_train), config["batch_size"]), warmup=0.1))
        trainer.fit(images.x_train, images.y_train, config["batch_size"], epochs, verbose=0,
                    callbacks=labs.fit_callbacks(name, epochs))

    # Evaluate: each net, clean and attacked, on the test split; the curves
    # against ε on its first CURVE_SIZE images; the attacks on a few digits.
    x, y, n = images.x_test, images.y_test, min(CURVE_SIZE, len(images.x_test))
    curves, rows = {kind: {} for kind in attacks}, []
    for name, net in nets.items():
        print(f"{name}: attacking the {len(x)} test images, and {n} at each ε", flush=True)
        attacked = {kind: Attacked(net, attack, seed) for kind, attack in attacks.items()}
        rows.append({"model": name, "clean": attacked_accuracy(attacked["FGSM"], x, y, 0.0)})
        for kind, model in attacked.items():
            curves[kind][name] = (EPSILONS, [attacked_accuracy(model, x[:n], y[:n], e)
                                             for e in EPSILONS])
            rows[-1][f"{kind} at ε = {budgets[kind]:g}"] = attacked_accuracy(
                model, x, y, budgets[kind])
        print(labs.describe(rows[-1]), flush=True)
    labs.plot_curves(f"{output_dir}/accuracy.png", curves, "ε", f"accuracy on {n} test images")
    logits = logits_model(standard)
    examples = [ops.convert_to_numpy(attack(logits, x[:8], y[:8], budgets[kind], seed=seed))
                for kind, attack in attacks.items()]
    plots.attack_grid(x[:8], examples, lambda z: np.argmax(ops.convert_to_numpy(logits(z)), -1)
                      .astype(str), f"{output_dir}/examples.png", list(rows[0])[2:], "Predictions")
    for name, row in list(zip(nets, rows))[1:]:
        cards.save(nets[name], f"{output_dir}/{name.lower()}", cards.make_card(
            nets[name], app=APP, dataset=images.name, class_names=images.class_names,
            preprocessing=images.preprocessing, seed=seed, command=command, metrics={
                "test_accuracy": row["clean"], **row, "device": backend.device_info()}))
    (_, _, plain, _), (_, clean, fgsm_trained, _), (*_, pgd_trained) = map(dict.values, rows)
    claim = (f"FGSM at ε = {budgets['FGSM']:g} leaves the standard model {plain:.1%} accuracy "
             f"(paper 10.6%, target < 30%) and the FGSM-trained one {fgsm_trained:.1%} (paper "
             f"82.1%, target >= 82%), at {clean:.2%} clean (target >= 98.5%); PGD at ε = "
             f"{budgets['PGD']:g} leaves the PGD-trained one {pgd_trained:.1%} (paper 93.2%)")
    holds = plain < 0.3 and fgsm_trained >= 0.82 and clean >= 0.985
    val_pgd = attacked_accuracy(Attacked(nets["PGD-trained"], attacks["PGD"], seed),
                                images.x_val, images.y_val, budgets["PGD"])
    return labs.finish(output_dir, config, rows, claim, holds, data_source=images.source,
                       val_pgd_accuracy=val_pgd)


def parse_config(argv=None):
    """Parses the flags into `(config, args)`; a dry run attacks with few steps."""
    config, args = flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)
    if config["dry_run"]:
        config["pgd_steps"] = min(config["pgd_steps"], 3)
    return config, args


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
