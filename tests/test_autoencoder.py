"""Autoencoders: the tied layer, the builders, greedy pretraining, the app."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from kerasdl import autoencoder as ae
from kerasdl import backend, cards, cli, data, flags
from kerasdl.autoencoder import (DenseTranspose, PhaseConv2DTranspose, build_autoencoder,
                                 encoder_of, noise_layer, tied_pairs)
from kerasdl.history import read_history
from kerasdl.errors import UsageError

SHAPE = (28, 28, 1)
X = np.random.default_rng(0).random((16, *SHAPE), dtype=np.float32)
TINY = {"code_size": 4, "hidden": [16, 8]}


def predict(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def test_noise_layers_by_name():
    assert isinstance(noise_layer(0.1, "gaussian"), keras.layers.GaussianNoise)
    assert isinstance(noise_layer(0.1, "masking"), ae.MaskingNoise)
    assert noise_layer(0.0, "masking") is None
    with pytest.raises(UsageError, match="Unknown noise type: 'salt'. Choose one of: "
                                         "gaussian, masking"):
        noise_layer(0.1, "salt")
    with pytest.raises(UsageError, match="Unknown architecture: 'vae'"):
        build_autoencoder("vae", SHAPE)


@pytest.mark.parametrize("arch,options", [("dense", TINY), ("dense", {**TINY, "tied": True}),
                                          ("conv", {"code_size": 4, "width": 4})])
def test_autoencoder_shapes(arch, options):
    model = build_autoencoder(arch, SHAPE, **options)
    y = predict(model, X[:2])
    assert y.shape == (2, *SHAPE)
    assert ((y > 0) & (y < 1)).all()
    assert predict(encoder_of(model), X[:2]).shape == (2, 4)


def test_dense_transpose_shares_the_encoder_kernel():
    model = build_autoencoder("dense", SHAPE, tied=True, **TINY)
    untied = build_autoencoder("dense", SHAPE, **TINY)
    decode = model.get_layer("decode_1")
    assert isinstance(decode, DenseTranspose)
    # The decoder owns a bias only: the tied model has no decoder kernels.
    assert [v.name for v in decode._trainable_variables] == ["bias"]
    kernels = sum(np.prod(layer.kernel.shape) for layer in untied.layers
                  if layer.name.startswith("decode_"))
    assert untied.count_params() - model.count_params() == kernels

    encode = model.get_layer("encode_1")
    code = np.ones((2, 16), np.float32)
    before = predict(decode, code)
    encode.kernel.assign(encode.kernel * 2.0)
    assert not np.allclose(predict(decode, code), before)


def test_tied_model_survives_save_and_load(tmp_path):
    model = build_autoencoder("dense", SHAPE, tied=True, noise=0.2, noise_type="masking",
                              **TINY)
    model.save(tmp_path / "tied.keras")
    loaded = keras.saving.load_model(tmp_path / "tied.keras", safe_mode=True)
    np.testing.assert_allclose(predict(loaded, X), predict(model, X), atol=1e-6)
    for encode, decode in tied_pairs(loaded):
        assert decode.dense is encode
    assert loaded.count_params() == model.count_params()


def test_tied_model_without_kerasdl_fails_naming_the_module_to_import(tmp_path):
    build_autoencoder("dense", SHAPE, tied=True, **TINY).save(tmp_path / "tied.keras")
    result = subprocess.run(
        [sys.executable, "-c", "import keras\n"
         f"keras.saving.load_model({str(tmp_path / 'tied.keras')!r})"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "Could not locate class 'DenseTranspose'" in result.stderr
    assert "make sure they are all imported" in result.stderr
    assert "'module': 'kerasdl.autoencoder'" in result.stderr


def test_masking_noise_zeroes_the_rate_in_training_only():
    layer = noise_layer(0.3, "masking")
    x = np.ones((100, 100), np.float32)
    masked = keras.ops.convert_to_numpy(layer(x, training=True))
    assert set(np.unique(masked)) <= {0.0, 1.0}
    assert abs((masked == 0).mean() - 0.3) < 0.02
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), x)


def test_greedy_schedule_freezes_all_but_the_current_pair():
    model = build_autoencoder("dense", SHAPE, tied=True, **TINY)
    assert len(model.trainable_weights) == 3 * 2 + 3  # 3 kernels, 6 biases
    stages = []
    for index, encode, decode in ae.greedy_stages(model):
        # The current pair: its kernel, the encoder bias and the decoder bias.
        assert len(model.trainable_weights) == 3
        assert encode.trainable and decode.trainable
        stages.append(encode.name)
    assert stages == ["encode_1", "encode_2", "code"]
    assert len(model.trainable_weights) == 9


def test_greedy_needs_a_tied_dense_autoencoder():
    with pytest.raises(UsageError, match="tied dense autoencoder"):
        list(ae.greedy_stages(build_autoencoder("dense", SHAPE, **TINY)))


def test_greedy_pretraining_trains_each_pair_and_resumes(tmp_path):
    model = build_autoencoder("dense", SHAPE, tied=True, **TINY)
    before = [w.copy() for w in model.get_weights()]
    ae.greedy_pretrain(model, X, epochs=1, batch_size=8, output_dir=tmp_path)
    after = model.get_weights()
    assert all(not np.allclose(a, b) for a, b in zip(before, after))
    for pair in (1, 2, 3):
        assert (tmp_path / f"pair_{pair}.weights.h5").exists()
    # A second call finds every pair finished and trains nothing.
    again = build_autoencoder("dense", SHAPE, tied=True, **TINY)
    ae.greedy_pretrain(again, X, epochs=1, batch_size=8, output_dir=tmp_path)
    for a, b in zip(again.get_weights(), after):
        np.testing.assert_allclose(a, b)


def test_reconstruction_metrics():
    x = np.array([[0.0, 1.0]])
    perfect = ae.reconstruction_metrics(x, x)
    assert perfect["test_mse"] == 0 and perfect["test_bce"] < 1e-6
    half = ae.reconstruction_metrics(np.full_like(x, 0.5), x)
    assert half["test_mse"] == pytest.approx(0.25)
    assert half["test_bce"] == pytest.approx(np.log(2), rel=1e-5)


def run_app(output_dir, *extra):
    return cli.load_app("autoencoder").main(
        ["--dry-run", "--backend", keras.backend.backend(), "--output-dir",
         str(output_dir), *extra])


def test_autoencoder_dry_run(tmp_path, has_mnist):
    metrics = run_app(tmp_path, "--arch", "conv", "--noise", "0.3")
    assert {"test_mse", "test_bce", "code_size", "backend", "device"} <= set(metrics)
    # The tuning objective: the last epoch's validation loss.
    assert metrics["val_loss"] == pytest.approx(read_history(tmp_path / "history.csv")
                                                ["val_loss"][-1], rel=1e-5)
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    for name in ("reconstructions.png", "codes.png", "model.keras", "encoder.keras",
                 "history.csv", "learning_curves.png"):
        assert (tmp_path / name).exists(), name
    card = cards.read_card(tmp_path)
    assert card["app"] == "autoencoder" and card["metrics"]["test_bce"] == metrics["test_bce"]


def test_autoencoder_greedy_dry_run(tmp_path, has_mnist):
    metrics = run_app(tmp_path, "--pretrain", "greedy", "--labels-per-class", "2",
                      "--noise", "0.2", "--noise-type", "masking")
    config = json.loads((tmp_path / "config.json").read_text())
    images = data.load_run_images(config)
    for name in ("pretrained", "scratch"):  # --dry-run draws the labels once
        assert [metrics[f"{name}_accuracy"]] == metrics[f"{name}_accuracies"]
        classifier = keras.saving.load_model(tmp_path / f"classifier_{name}_1" / "model.keras")
        found = classifier.evaluate(images.x_test, images.y_test, verbose=0, return_dict=True)
        assert metrics[f"{name}_accuracy"] == pytest.approx(found["accuracy"], abs=1e-6)
    encoder = keras.saving.load_model(tmp_path / "encoder.keras")
    assert encoder.output.shape[-1] == metrics["code_size"]


def test_greedy_needs_the_dense_arch(capsys):
    status = flags.run_main(cli.load_app("autoencoder").main,
                            ["--pretrain", "greedy", "--arch", "conv"])
    assert status == 2
    assert "greedy needs --arch dense, got 'conv'" in capsys.readouterr().err


def test_tuning_trains_the_autoencoder_whole():
    assert ae.trained_whole({"pretrain": "none", "lr": 1}) == {"pretrain": "none", "lr": 1}
    with pytest.raises(UsageError, match="drop --pretrain greedy"):
        ae.trained_whole({"pretrain": "greedy"})


def test_summary_names_the_figures_it_has():
    line = ae.summary({"test_bce": 0.08, "test_mse": 0.01})
    assert line == "Test BCE 0.0800, MSE 0.0100 per pixel"
    line = ae.summary({"test_bce": 0.08, "test_mse": 0.01, "pretrained_accuracy": 0.9,
                       "pretrained_accuracies": [0.8, 1.0], "scratch_accuracy": 0.7})
    assert line.endswith("(mean of 2 draws of the labels) pretrained 0.9000, scratch 0.7000")


@pytest.mark.parametrize("kernel, stride", [(3, 2), (4, 2), (5, 3), (2, 2), (3, 1)])
def test_the_phase_transposed_convolution_is_keras_one(kernel, stride, monkeypatch):
    monkeypatch.setattr(backend, "phase_conv_transpose", lambda: True)  # on every backend
    rng = np.random.default_rng(0)
    x = rng.random((2, 5, 6, 3), dtype=np.float32)
    weights = [rng.normal(size=(kernel, kernel, 4, 3)).astype("float32"),
               rng.normal(size=4).astype("float32")]
    outputs = []
    for kind in (keras.layers.Conv2DTranspose, PhaseConv2DTranspose):
        layer = kind(4, kernel, strides=stride, padding="same", activation="relu")
        layer.build(x.shape)
        layer.set_weights(weights)
        outputs.append(keras.ops.convert_to_numpy(layer(x)))
    assert outputs[1].shape == (2, 5 * stride, 6 * stride, 4)
    np.testing.assert_allclose(outputs[1], outputs[0], atol=1e-5)
