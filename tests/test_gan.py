"""The GAN: its phases, the backend gradient step, FID, coverage, the app and
`kerasdl gan sample`."""

import json

import keras
import numpy as np
import pytest

from kerasdl import cards, cli, data, generation, training
from kerasdl.errors import UsageError
from kerasdl.models import (GAN, ClusterPick, build_discriminator, build_generator,
                            cluster_mixture, generator_classes)

SHAPE = (8, 8, 1)
RNG = np.random.default_rng(0)
X = RNG.random((64, *SHAPE), dtype=np.float32)
Y = RNG.integers(0, 3, 64).astype("int32")


def make_gan(conditional=False, **options):
    classes = 3 if conditional else None
    gan = GAN(build_generator(SHAPE, latent_dim=4, width=4, num_classes=classes),
              build_discriminator(SHAPE, width=4, num_classes=classes), seed=0, **options)
    gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
    return gan


def trainable(model):
    return [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]


def changed(before, model):
    return [not np.array_equal(a, b) for a, b in zip(before, trainable(model))]


class DiscriminatorOnly(GAN):
    def _step(self, data):
        return self.discriminator_step(*data[:2])


class GeneratorOnly(GAN):
    def _step(self, data):
        return self.generator_step(keras.ops.shape(data[0])[0], data[1])


@pytest.mark.parametrize("conditional", [False, True])
def test_shapes_and_ranges(conditional):
    gan = make_gan(conditional)
    labels = Y[:5] if conditional else None
    images = generation.sample(gan.generator, 5, labels)
    assert images.shape == (5, *SHAPE)
    assert images.min() >= 0 and images.max() <= 1
    logits = gan.discriminator([X[:5], Y[:5]] if conditional else X[:5])
    assert tuple(logits.shape) == (5, 1)


@pytest.mark.parametrize("conditional", [False, True])
def test_a_train_step_updates_both_nets(conditional):
    gan = make_gan(conditional)
    g, d = trainable(gan.generator), trainable(gan.discriminator)
    logs = gan.train_on_batch(X[:16], Y[:16], return_dict=True)
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(v) for v in logs.values())
    assert all(changed(g, gan.generator)) and all(changed(d, gan.discriminator))


@pytest.mark.parametrize("phase,moves,stays", [(DiscriminatorOnly, "discriminator", "generator"),
                                               (GeneratorOnly, "generator", "discriminator")])
def test_each_phase_updates_only_its_net(phase, moves, stays):
    gan = phase(build_generator(SHAPE, latent_dim=4, width=4),
                build_discriminator(SHAPE, width=4), seed=0)
    gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
    before = {name: trainable(getattr(gan, name)) for name in (moves, stays)}
    gan.fit(X, Y, batch_size=16, epochs=1, verbose=0)
    assert all(changed(before[moves], getattr(gan, moves)))
    assert not any(changed(before[stays], getattr(gan, stays)))
    # The optimizer of the net that moved kept its state between steps.
    optimizer = getattr(gan.optimizer, moves)
    assert int(keras.ops.convert_to_numpy(optimizer.iterations)) == 4


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_the_averaged_generator_is_a_copy_with_the_moving_average(momentum):
    gan = GAN(build_generator(SHAPE, latent_dim=4, width=4),
              build_discriminator(SHAPE, width=4), seed=0)
    gan.compile(keras.optimizers.Adam(1e-2),
                keras.optimizers.Adam(1e-2, use_ema=True, ema_momentum=momentum))
    gan.fit(X, Y, batch_size=16, epochs=2, verbose=0)
    last = trainable(gan.generator)
    statistics = [keras.ops.convert_to_numpy(v) for v in gan.generator.non_trainable_variables]
    averaged = gan.averaged_generator()
    assert averaged is not gan.generator and not any(changed(last, gan.generator))
    same = [np.allclose(a, b) for a, b in zip(last, trainable(averaged))]
    assert all(same) if momentum == 0 else not any(same)
    # BatchNorm's moving statistics are re-estimated for the copy's weights.
    assert not any(np.allclose(a, keras.ops.convert_to_numpy(b)) for a, b in
                   zip(statistics, averaged.non_trainable_variables))


def test_without_averaging_samples_come_from_the_generator():
    gan = make_gan()
    assert gan.averaged_generator() is gan.generator


def test_minimax_loss_and_smoothing_are_options():
    gan = make_gan(generator_loss="minimax", label_smoothing=0.1)
    logs = gan.train_on_batch(X[:16], Y[:16], return_dict=True)
    assert logs["g_loss"] < 0  # log(1 - D(G(z))) is negative
    with pytest.raises(ValueError, match="Unknown generator loss: 'wasserstein'"):
        make_gan(generator_loss="wasserstein")


def test_frechet_distance_is_zero_for_a_set_and_grows_with_noise():
    a = RNG.standard_normal((2000, 8))
    assert abs(generation.frechet_distance(a, a)) < 1e-6
    distances = [generation.frechet_distance(a, a + RNG.normal(0, s, a.shape))
                 for s in (0.1, 0.5, 1.0)]
    assert distances[0] < distances[1] < distances[2]
    # Two Gaussians with unit covariance: the distance is the squared mean gap.
    b = RNG.standard_normal((20000, 2))
    shifted = RNG.standard_normal((20000, 2)) + [3.0, 0.0]
    assert generation.frechet_distance(b, shifted) == pytest.approx(9.0, rel=0.05)


def test_class_coverage():
    one_class = np.tile([[0.95, 0.05, 0.0]], (10, 1))
    spread = np.eye(3)[np.arange(30) % 3] * 0.5 + 0.5 / 3
    assert generation.class_coverage(one_class) == {
        "confident": 1.0, "class_entropy": 0.0, "max_entropy": pytest.approx(np.log(3)),
        "class_histogram": [1.0, 0.0, 0.0]}
    assert generation.class_coverage(spread)["class_entropy"] == pytest.approx(np.log(3))
    assert generation.class_coverage(spread)["confident"] == 0.0


def test_feature_model_takes_the_penultimate_layer():
    images = keras.Input(SHAPE)
    hidden = keras.layers.Dense(6, activation="relu")(keras.layers.Flatten()(images))
    classifier = keras.Model(images, keras.layers.Dense(3, activation="softmax")(hidden))
    features, probabilities = generation.feature_model(classifier).predict(X[:4], verbose=0)
    assert features.shape == (4, 6) and (features >= 0).all()
    np.testing.assert_allclose(probabilities.sum(-1), 1, rtol=1e-5)


def test_gan_dry_run_and_sample_command(tmp_path, has_mnist, capsys):
    run = tmp_path / "run"
    metrics = cli.load_app("gan").main(["--dry-run", "--backend", keras.backend.backend(),
                                        "--output-dir", str(run), "--conditional"])
    for key in ("fid", "fid_real_halves", "fid_train_test", "fid_ratio", "confident",
                "class_entropy", "label_accuracy"):
        assert np.isfinite(metrics[key]), key
    assert json.loads((run / "metrics.json").read_text()) == metrics
    for name in ("samples/epoch_001.png", "progress.gif", "learning_curves.png",
                 "history.csv", "generator/model.keras"):
        assert (run / name).exists(), name
    assert "fid" in (run / "history.csv").read_text().splitlines()[0].split(",")
    card = cards.read_card(run / "generator")
    assert card["app"] == "gan" and card["metrics"]["fid"] == metrics["fid"]

    grid = tmp_path / "threes.png"
    assert cli.main(["gan", "sample", "--model", str(run), "--n", "16", "--label", "3",
                     "--output", str(grid)]) == 0
    assert keras.utils.load_img(grid).size == (2 * (8 * 29 - 1), 2 * (2 * 29 - 1))
    assert cli.main(["gan", "sample", "--model", str(run), "--output", str(grid),
                     "--overwrite"]) == 2
    assert "--label must be one of 0-9, got None" in capsys.readouterr().err
    assert cli.main(["gan", "sample", "--model", str(run), "--label", "3",
                     "--output", str(grid)]) == 2
    assert "exists" in capsys.readouterr().err


def test_an_interrupted_fit_resumes_with_both_optimizers(tmp_path):
    saved = {}

    class StopAfterTwoEpochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                saved["generator"] = trainable(self.model.generator)
            else:
                raise KeyboardInterrupt

    class CheckStart(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            saved["epoch"] = epoch
            saved["iterations"] = [int(keras.ops.convert_to_numpy(o.iterations)) for o in
                                   (self.model.optimizer.discriminator,
                                    self.model.optimizer.generator)]
            saved["same"] = not any(changed(saved["generator"], self.model.generator))
            self.model.stop_training = True

    with pytest.raises(KeyboardInterrupt):
        training.fit(make_gan(), (X, Y), None, epochs=4, batch_size=16, output_dir=tmp_path,
                     callbacks=[StopAfterTwoEpochs()], verbose=0)
    training.fit(make_gan(), (X, Y), None, epochs=4, batch_size=16, output_dir=tmp_path,
                 callbacks=[CheckStart()], verbose=0)
    # The backup of epoch 1 (the first) is restored: weights and both
    # optimizers' step counts.
    assert saved["epoch"] == 1 and saved["iterations"] == [4, 4] and saved["same"]


def test_pixel_clusters_group_similar_images():
    dark = RNG.random((30, *SHAPE)) * 0.1
    light = 0.9 + RNG.random((20, *SHAPE)) * 0.1
    clusters = data.pixel_clusters(np.concatenate([dark, light]), 2, seed=0)
    assert clusters.dtype == np.int32
    assert len(set(clusters[:30])) == 1 and len(set(clusters[30:])) == 1
    assert clusters[0] != clusters[-1]
    with pytest.raises(UsageError, match="Cannot make 60 clusters of 50 images"):
        data.pixel_clusters(np.concatenate([dark, light]), 60)


def test_a_cluster_mixture_draws_clusters_by_their_shares(tmp_path):
    shares = [0.2, 0.5, 0.3]
    noise = RNG.standard_normal((20000, 5)).astype("float32")
    rest, cluster = ClusterPick(shares)(noise)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(rest), noise[:, 1:])
    counts = np.bincount(keras.ops.convert_to_numpy(cluster), minlength=3) / len(noise)
    np.testing.assert_allclose(counts, shares, atol=0.01)

    generator = build_generator(SHAPE, latent_dim=4, width=4, num_classes=3)
    mixture = cluster_mixture(generator, shares)
    assert len(mixture.inputs) == 1 and tuple(mixture.inputs[0].shape) == (None, 5)
    expected = generator.predict([noise[:8, 1:], keras.ops.convert_to_numpy(cluster)[:8]],
                                 verbose=0)
    mixture.save(tmp_path / "mixture.keras")
    loaded = keras.models.load_model(tmp_path / "mixture.keras")
    np.testing.assert_allclose(loaded.predict(noise[:8], verbose=0), expected, atol=1e-6)


def test_the_app_takes_clusters_only_without_classes(capsys):
    app = cli.load_app("gan")
    assert app.parse_config(["--clusters", "50"])[0]["clusters"] == 50
    assert app.parse_config(["--conditional"])[0]["clusters"] == 0
    with pytest.raises(SystemExit) as error:
        app.parse_config(["--conditional", "--clusters", "50"])
    assert error.value.code == 2
    assert "--clusters: 50 is for unconditional GANs" in capsys.readouterr().err


def test_gan_dry_run_on_clusters_saves_an_unconditional_generator(tmp_path, has_mnist):
    run = tmp_path / "run"
    metrics = cli.load_app("gan").main(["--dry-run", "--backend", keras.backend.backend(),
                                        "--output-dir", str(run), "--clusters", "5"])
    assert metrics["clusters"] == 5 and np.isfinite(metrics["fid"])
    generator, _ = cards.load(run / "generator")
    assert generator_classes(generator) is None
    grid = tmp_path / "grid.png"
    assert cli.main(["gan", "sample", "--model", str(run), "--n", "16",
                     "--output", str(grid)]) == 0
    assert grid.exists()
