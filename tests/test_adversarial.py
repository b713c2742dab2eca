"""Adversarial examples: the input gradient, the attacks, the adversarial
training step, and a dry run of the app."""

import json
from functools import partial

import keras
import numpy as np
import pytest
from keras import ops

from kerasdl import backend, cards, cli
from kerasdl.models import build_classifier
from kerasdl.models.adversarial import (AdversarialTraining, Attacked, attacked_accuracy,
                                        cross_entropy, logits_model)


def numpy(x):
    return ops.convert_to_numpy(x)


def tiny_classifier(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(8, "relu"), keras.layers.Dense(3),
                             keras.layers.Activation("softmax")])


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 4, 4, 1)).astype("float32"), rng.integers(0, 3, n)


def test_input_gradient_is_the_analytic_one():
    x = np.arange(6, dtype="float32").reshape(2, 3)
    w = np.array([1.0, -2.0, 0.5], dtype="float32")
    grad = backend.input_gradient(lambda x: ops.sum(ops.multiply(ops.square(x), w)), x)
    np.testing.assert_allclose(numpy(grad), 2 * x * w, rtol=1e-6)


@pytest.mark.parametrize("head", ["activation", "dense", "logits"])
def test_logits_give_the_classifier_s_probabilities(head):
    model = tiny_classifier()
    if head == "dense":  # the same weights, the softmax inside the last Dense
        dense = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                                  keras.layers.Dense(8, "relu"), keras.layers.Dense(3, "softmax")])
        dense.set_weights(model.get_weights())
        model = dense
    x, _ = data()
    probabilities = numpy(model(x))
    if head == "logits":  # a model that outputs logits is its own logits
        model = keras.Model(model.inputs[0], model.layers[-1].input)
    logits = logits_model(model)
    assert (logits is model) == (head == "logits")
    np.testing.assert_allclose(numpy(ops.softmax(logits(x))), probabilities, atol=1e-6)
    # A kerasdl classifier ends with a softmax Activation: its logits share its weights.
    vgg = build_classifier("vgg", (28, 28, 1), 10, width=4, depth=1, stages=1, dense=8)
    assert logits_model(vgg).trainable_weights == vgg.trainable_weights


def test_fgsm_moves_each_pixel_by_epsilon_up_the_loss_and_pgd_stays_in_the_box():
    app = cli.load_app("adversarial")
    model = tiny_classifier()
    logits = logits_model(model)
    x, y = data()
    x = np.clip(x, 0.2, 0.8)  # away from the pixel range's ends
    attacked = numpy(app.fgsm(logits, x, y, 0.1))
    np.testing.assert_allclose(np.abs(attacked - x), 0.1, atol=1e-6)
    loss = float(cross_entropy(y, logits(x)))
    assert float(cross_entropy(y, logits(attacked))) > loss
    # Where a step would leave [0, 1], the pixel stops at the end.
    assert numpy(app.fgsm(logits, np.zeros_like(x), y, 0.5)).min() >= 0
    strong = numpy(app.pgd(logits, x, y, 0.1, keras.random.SeedGenerator(1), steps=10))
    assert np.abs(strong - x).max() <= 0.1 + 1e-6 and 0 <= strong.min() <= strong.max() <= 1
    assert float(cross_entropy(y, logits(strong))) > loss
    # Compiled under `predict`, with ε 0 the attack leaves the clean accuracy.
    attacked = Attacked(model, partial(app.pgd, steps=10), seed=0)
    clean = np.mean(np.argmax(numpy(model(x)), -1) == y)
    assert attacked_accuracy(attacked, x, y, 0.0) == pytest.approx(clean)
    assert attacked_accuracy(attacked, x, y, 0.5) < clean


def test_adversarial_training_with_no_attack_is_plain_training():
    """With an attack that returns the batch, the adversarial step is the
    ordinary cross-entropy step: the same weights as `fit` on the plain
    model, on every backend."""
    x, y = data()
    plain = tiny_classifier()
    plain.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    plain.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    calls = []

    def no_attack(logits, x, y, seed):
        calls.append(seed)
        return x

    model = tiny_classifier()
    trainer = AdversarialTraining(model, no_attack, clean_weight=0.3, seed=0)
    trainer.compile(keras.optimizers.SGD(0.5))
    logs = trainer.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    assert calls and all(seed is trainer.seed for seed in calls)
    assert set(logs) == {"loss", "accuracy", "attacked_accuracy"}
    assert logs["accuracy"] == logs["attacked_accuracy"]
    for mine, theirs in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(mine, theirs, atol=1e-5)


def test_adversarial_training_makes_the_model_robust_to_its_attack():
    app = cli.load_app("adversarial")
    rng = np.random.default_rng(0)
    # Two classes told apart by the mean pixel; an FGSM step of 0.1 flips many.
    y = rng.integers(0, 2, 512)
    x = (0.5 + 0.15 * (2 * y - 1)[:, None, None, None]
         + rng.normal(0, 0.05, (512, 4, 4, 1))).astype("float32")
    results = {}
    for clean_weight in (1.0, 0.0):
        model = tiny_classifier()
        trainer = AdversarialTraining(model, lambda logits, x, y, seed: app.fgsm(
            logits, x, y, 0.2), clean_weight=clean_weight, seed=0)
        trainer.compile(keras.optimizers.Adam(0.01))
        trainer.fit(x, y, batch_size=64, epochs=20, verbose=0)
        results[clean_weight] = attacked_accuracy(Attacked(model, app.fgsm), x, y, 0.2)
    assert results[0.0] > results[1.0] + 0.2, results


def test_dry_run_writes_the_results_and_two_loadable_models(tmp_path, has_mnist, capsys,
                                                           assert_same_figures):
    app = cli.load_app("adversarial")

    def dry_run(output_dir):
        return app.main(["--dry-run", "--backend", keras.backend.backend(),
                         "--output-dir", str(output_dir), "--train-pgd-steps", "2"])

    metrics = dry_run(tmp_path)
    assert json.loads((tmp_path / "metrics.json").read_text()) == json.loads(
        json.dumps(metrics))
    assert [row["model"] for row in metrics["results"]] == [
        "standard", "FGSM-trained", "PGD-trained"]
    out = capsys.readouterr().out  # a line before each net's attacks, which take minutes
    assert all(f"{name}: attacking the " in out for name in ("standard", "PGD-trained"))
    assert metrics["results"][0]["clean"] > 0.9  # the shipped model, on 128 test digits
    assert 0 <= metrics["val_pgd_accuracy"] <= 1
    for plot in ("accuracy.png", "examples.png"):
        assert (tmp_path / plot).stat().st_size > 5000, plot
    for folder in ("fgsm-trained", "pgd-trained"):
        model, card = cards.load(tmp_path / folder)
        assert card["app"] == "adversarial" and card["dataset"] == "mnist"
        assert model.predict(np.zeros((2, 28, 28, 1)), verbose=0).shape == (2, 10)
    assert_same_figures(metrics, dry_run(tmp_path / "again"))
