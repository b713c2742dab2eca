"""FID (`kerasdl/gan/fid.py`): the Fréchet distance, class coverage, the
features, the scores of a run, the monitor, and the choice of classifier."""

import re
from pathlib import Path

import keras
import numpy as np
import pytest

from kerasdl import cards, data
from kerasdl.gan import GAN, adversarial_step, build_discriminator, build_generator, fid

SHAPE = (8, 8, 1)
RNG = np.random.default_rng(0)
X = RNG.random((64, *SHAPE), dtype=np.float32)


def small_classifier():
    images = keras.Input(SHAPE)
    hidden = keras.layers.Dense(6, activation="relu")(keras.layers.Flatten()(images))
    return keras.Model(images, keras.layers.Dense(3, activation="softmax")(hidden))


def tiny_images(name="tiny", validation=0):
    y = np.zeros(len(X), "int32")
    return data.ImageData(name=name, source="test", class_names=("a", "b", "c"),
                          x_train=X, y_train=y, x_val=X[:validation], y_val=y[:validation],
                          x_test=X[16:], y_test=y[16:])


def test_frechet_distance_is_zero_for_a_set_and_grows_with_noise():
    a = RNG.standard_normal((2000, 8))
    assert abs(fid.frechet_distance(a, a)) < 1e-6
    distances = [fid.frechet_distance(a, a + RNG.normal(0, s, a.shape))
                 for s in (0.1, 0.5, 1.0)]
    assert distances[0] < distances[1] < distances[2]
    # Two Gaussians with unit covariance: the distance is the squared mean gap.
    b = RNG.standard_normal((20000, 2))
    shifted = RNG.standard_normal((20000, 2)) + [3.0, 0.0]
    assert fid.frechet_distance(b, shifted) == pytest.approx(9.0, rel=0.05)


def test_class_coverage():
    one_class = np.tile([[0.95, 0.05, 0.0]], (10, 1))
    spread = np.eye(3)[np.arange(30) % 3] * 0.5 + 0.5 / 3
    assert fid.class_coverage(one_class) == {
        "confident": 1.0, "class_entropy": 0.0, "max_entropy": pytest.approx(np.log(3)),
        "class_histogram": [1.0, 0.0, 0.0]}
    assert fid.class_coverage(spread)["class_entropy"] == pytest.approx(np.log(3))
    assert fid.class_coverage(spread)["confident"] == 0.0


def test_feature_model_takes_the_penultimate_layer():
    features, probabilities = fid.feature_model(small_classifier()).predict(X[:4], verbose=0)
    assert features.shape == (4, 6) and (features >= 0).all()
    np.testing.assert_allclose(probabilities.sum(-1), 1, rtol=1e-5)


def test_evaluate_scores_against_test_and_train_images_and_the_labels_asked():
    features = fid.feature_model(small_classifier())
    _, probabilities = features.predict(X[:32], verbose=0)
    predicted = probabilities.argmax(-1)
    scores = fid.evaluate(features, X[:32], X[:32], X[32:], labels=predicted, seed=0)
    assert scores["fid"] == pytest.approx(0, abs=1e-6)  # the test images themselves
    assert scores["fid_real_halves"] > 0 and scores["fid_train_test"] > 0
    assert scores["fid_ratio"] == scores["fid"] / scores["fid_real_halves"]
    assert scores["label_accuracy"] == 1.0
    assert scores["class_entropy"] == fid.class_coverage(probabilities)["class_entropy"]
    wrong = fid.evaluate(features, X[:32], X[:32], X[32:], labels=(predicted + 1) % 3)
    assert wrong["label_accuracy"] == 0.0
    assert "label_accuracy" not in fid.evaluate(features, X[:32], X[:32], X[32:])
    assert "samples classified as the label asked 1.000" in fid.summary(scores)
    # The FID of a set with itself is 0 up to rounding, which may print -0.00.
    assert re.match(r"FID -?0\.00 \(real halves ", fid.summary(wrong))


@pytest.mark.parametrize("validation", [True, False])
def test_the_monitor_logs_fid_on_validation_images_when_there_are(validation):
    gan = GAN(build_generator(SHAPE, latent_dim=4, width=4),
              build_discriminator(SHAPE, width=4), adversarial_step, seed=0)
    gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
    features = fid.feature_model(small_classifier())
    monitor = fid.FIDMonitor(features, tiny_images(validation=16 if validation else 0), n=20,
                             seed=0)
    monitor.set_model(gan)
    logs = {}
    monitor.on_epoch_end(0, logs)
    [(name, value)] = logs.items()
    real = X[:16] if validation else X[16:36]
    fake, _ = features.predict(fid.sample(gan.generator, 20, seed=0), verbose=0)
    assert name == ("val_fid" if validation else "fid")
    assert value == pytest.approx(fid.frechet_distance(fake, features.predict(real, verbose=0)[0]))


def test_the_fid_classifier_is_the_one_given_else_the_shipped_one(tmp_path, capsys):
    images = tiny_images("mnist")
    assert fid.fid_classifier(images, tmp_path, "some/folder") == Path("some/folder")
    assert capsys.readouterr().out == "FID classifier: the model given some/folder\n"
    shipped = cards.shipped("mnist_vgg")
    assert shipped is not None and shipped.parent == cards.SHIPPED
    assert fid.fid_classifier(images, tmp_path) == shipped
    assert capsys.readouterr().out == f"FID classifier: the shipped model {shipped}\n"


def test_without_a_shipped_one_a_classifier_is_trained_once(tmp_path, has_mnist, capsys,
                                                            monkeypatch):
    images = data.load_images("mnist", validation_size=0).head(train=256, val=0, test=128)
    monkeypatch.setattr(cards, "shipped", lambda name: None)
    folder = fid.fid_classifier(images, tmp_path, seed=0, dry_run=True)
    assert folder == tmp_path / "fid_classifier"
    out = capsys.readouterr().out
    assert f"FID classifier: none is shipped for mnist, so one trained in {folder}\n" in out
    model, card = cards.load(folder)
    assert card["app"] == "classification" and card["metrics"]["epochs_run"] == 1
    assert model.output.shape[-1] == 10 and len(fid.feature_model(model).outputs) == 2
    # A resumed run keeps the classifier in its folder: it trains none.
    monkeypatch.setattr(fid.training, "fit_and_evaluate", None)
    assert fid.fid_classifier(images, tmp_path, seed=0, dry_run=True) == folder
