"""The GAN (`kerasdl.gan`): its nets, its training step on the backend, the
model, sampling, the app and `kerasdl gan sample`. FID: test_gan_fid.py."""

import json

import keras
import numpy as np
import pytest

from kerasdl import cards, cli, data, training
from kerasdl.errors import UsageError
from kerasdl.gan import (GAN, ClusterPick, adversarial_step, build_discriminator,
                         build_generator, cluster_mixture, conditioning, fixed_inputs,
                         generator_classes, sample, tile)

SHAPE = (8, 8, 1)
RNG = np.random.default_rng(0)
X = RNG.random((64, *SHAPE), dtype=np.float32)
Y = RNG.integers(0, 3, 64).astype("int32")


def make_gan(conditional=False, d_lr=1e-2, g_lr=1e-2, **options):
    classes = 3 if conditional else None
    gan = GAN(build_generator(SHAPE, latent_dim=4, width=4, num_classes=classes),
              build_discriminator(SHAPE, width=4, num_classes=classes), adversarial_step,
              seed=0, **options)
    gan.compile(keras.optimizers.Adam(d_lr), keras.optimizers.Adam(g_lr))
    return gan


def trainable(model):
    return [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]


def changed(before, model):
    return [not np.array_equal(a, b) for a, b in zip(before, trainable(model))]


@pytest.mark.parametrize("conditional", [False, True])
def test_shapes_and_ranges(conditional):
    gan = make_gan(conditional)
    labels = Y[:5] if conditional else None
    images = sample(gan.generator, 5, labels)
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


@pytest.mark.parametrize("moves,stays", [("discriminator", "generator"),
                                         ("generator", "discriminator")])
def test_each_gradient_step_updates_only_its_net(moves, stays):
    # The other net's optimizer steps at rate 0: any change to it would come
    # from the gradient step of the net that moves.
    gan = make_gan(d_lr=1e-2 if moves == "discriminator" else 0.0,
                   g_lr=1e-2 if moves == "generator" else 0.0)
    before = {name: trainable(getattr(gan, name)) for name in (moves, stays)}
    gan.fit(X, Y, batch_size=16, epochs=1, verbose=0)
    assert all(changed(before[moves], getattr(gan, moves)))
    assert not any(changed(before[stays], getattr(gan, stays)))
    # The optimizer of the net that moved kept its state between steps.
    optimizer = getattr(gan.optimizer, moves)
    assert int(keras.ops.convert_to_numpy(optimizer.iterations)) == 4


def test_fit_runs_the_step_it_is_given_and_averages_its_logs():
    def step(gan, real, labels):
        n = keras.ops.cast(keras.ops.shape(real)[0], "float32")
        return {"d_loss": n, "g_loss": -n, "d_real": 0.0, "d_fake": 1.0}

    gan = GAN(build_generator(SHAPE, latent_dim=4, width=4),
              build_discriminator(SHAPE, width=4), step, seed=0)
    gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
    g, d = trainable(gan.generator), trainable(gan.discriminator)
    history = gan.fit(X[:48], Y[:48], batch_size=32, epochs=1, verbose=0).history
    # Batches of 32 and 16: the logs are their means; no net moved.
    assert history["d_loss"] == [pytest.approx(24.0)] and history["g_loss"] == [-24.0]
    assert history["d_fake"] == [1.0]
    assert not any(changed(g, gan.generator)) and not any(changed(d, gan.discriminator))


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_the_averaged_generator_is_a_copy_with_the_moving_average(momentum):
    gan = GAN(build_generator(SHAPE, latent_dim=4, width=4),
              build_discriminator(SHAPE, width=4), adversarial_step, seed=0)
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


def test_gan_dry_run_and_sample_command(tmp_path, has_mnist, capsys):
    run = tmp_path / "run"
    metrics = cli.load_app("gan").main(["--dry-run", "--backend", keras.backend.backend(),
                                        "--output-dir", str(run), "--conditional"])
    shipped = cards.shipped("mnist_vgg")
    assert f"FID classifier: the shipped model {shipped}\n" in capsys.readouterr().out
    assert metrics["fid_classifier"] == str(shipped)
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
    classifier = tmp_path / "classifier.keras"
    keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                      keras.layers.Dense(10)]).save(classifier)
    assert cli.main(["gan", "sample", "--model", str(classifier), "--output",
                     str(tmp_path / "x.png")]) == 2
    assert (f"{classifier} is not a GAN generator: it maps (None, 28, 28, 1) to (None, 10)"
            in capsys.readouterr().err)


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


def images_of(x, y, classes=3):
    return data.ImageData(name="tiny", source="test", class_names=tuple("abc"[:classes]),
                          x_train=x, y_train=y, x_val=x[:0], y_val=y[:0], x_test=x[:8],
                          y_test=y[:8])


def test_the_nets_are_conditioned_on_classes_clusters_or_nothing(capsys):
    images = images_of(X, Y)
    targets, classes, shares = conditioning(images, conditional=True, clusters=0)
    assert targets is Y and classes == 3 and shares is None
    targets, classes, shares = conditioning(images)
    assert targets is Y and classes is None and shares is None
    targets, classes, shares = conditioning(images, clusters=4, seed=0)
    np.testing.assert_array_equal(targets, data.pixel_clusters(X, 4, seed=0))
    assert classes == 4 and shares.sum() == pytest.approx(1)
    np.testing.assert_allclose(shares, np.bincount(targets, minlength=4) / len(X))
    assert capsys.readouterr().out.startswith("Clusters: 4 k-means clusters")


def test_fixed_inputs_of_each_kind_of_generator():
    noise, columns, labels = fixed_inputs(4, 10, seed=1)
    assert noise.shape == (64, 4) and columns == 8 and labels is None
    (same_noise, grid_labels), columns, labels = fixed_inputs(4, 10, num_classes=3, seed=1)
    np.testing.assert_array_equal(same_noise, noise[:24])  # the same seed, the same noise
    assert columns == 3 and grid_labels.tolist() == [0, 1, 2] * 8
    assert labels.shape == (10,) and set(labels) <= {0, 1, 2}
    (_, grid_labels), columns, labels = fixed_inputs(4, 200, num_classes=3,
                                                     shares=[0.0, 1.0, 0.0], seed=1)
    assert columns == 8 and set(grid_labels) == {1} and set(labels) == {1}
    assert len(grid_labels) == 64 and len(labels) == 200


def test_tile_lays_images_out_in_rows_with_gaps():
    images = np.stack([np.full((2, 3, 1), i / 4, "float32") for i in range(5)])
    sheet = tile(images, columns=2)
    assert sheet.shape == (3 * 3 - 1, 2 * 4 - 1, 1)
    assert sheet[0, 0, 0] == 0 and sheet[0, 4, 0] == 0.25 and sheet[3, 0, 0] == 0.5
    assert sheet[2, 0, 0] == 1 and sheet[6, 4, 0] == 1  # gaps and the empty slot are white


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
    with pytest.raises(UsageError, match="--clusters 50 is for unconditional GANs"):
        app.parse_config(["--conditional", "--clusters", "50"])
    assert cli.main(["run", "gan", "--conditional", "--clusters", "50"]) == 2
    assert capsys.readouterr().err == ("error: --clusters 50 is for unconditional GANs: "
                                       "drop it, or --conditional\n")


def test_the_app_declares_its_tuning():
    app = cli.load_app("gan")
    assert (app.TUNING["objective"], app.TUNING["direction"]) == ("val_fid", "min")
    config, _ = app.parse_config([])
    assert config["validation_size"] == 0
    assert app.TUNING["prepare"](config) == {**config, "validation_size": 5000}
    assert set(app.TUNING["space"]) <= set(config)


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
