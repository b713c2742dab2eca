"""kerasdl.transfer.pretraining: the base's recipe, the shipped base, and
pretraining with quarter turns."""

import numpy as np

from kerasdl import cards, models, presets, transfer
from kerasdl.transfer.pretraining import pretrain_command


def small_classifier(num_classes):
    return models.build_classifier("vgg", (8, 8, 1), num_classes, width=4, depth=2,
                                   stages=1, dense=8, batchnorm=True)


def test_base_recipe_takes_the_given_settings_and_one_epoch_in_a_dry_run():
    assert transfer.base_recipe("mnist_0_4") == presets.TRANSFER_BASE["mnist"]
    assert transfer.base_recipe("fashion_mnist") == presets.TRANSFER_BASE["fashion_mnist"]
    recipe = transfer.base_recipe("mnist_0_4", lr=0.5, batch_size=None, epochs=7)
    assert (recipe["lr"], recipe["batch_size"], recipe["epochs"]) == (
        0.5, presets.TRANSFER_BASE["mnist"]["batch_size"], 7)
    assert transfer.base_recipe("mnist_0_4", dry_run=True, epochs=7)["epochs"] == 1


def test_shipped_base_is_in_the_package_whatever_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert transfer.shipped_base("mnist_0_4") == str(cards.shipped("mnist_0_4_vgg"))
    assert cards.shipped("mnist_0_4_vgg").is_absolute()
    assert transfer.shipped_base("mnist_5_9") is None


def test_pretrain_command_recreates_the_base():
    config = {"source": "mnist_0_4", "backend": "jax", "seed": 3, "dry_run": True,
              "pretrain": transfer.base_recipe("mnist_0_4", epochs=2)}
    assert pretrain_command(config, "runs/x") == (
        "kerasdl run transfer --mode pretrain --source mnist_0_4 --backend jax --seed 3 "
        "--epochs 2 --batch-size 128 --lr 0.003 --output-dir runs/x --dry-run")


def test_pretrain_base_keeps_a_base_already_there(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / cards.CARD_FILE).write_text("{}")
    assert transfer.pretrain_base(None, {}, tmp_path) == tmp_path / "base"


def test_quarter_turns_label_each_class_in_each_turn():
    x = np.arange(2 * 3 * 3, dtype="float32").reshape(2, 3, 3, 1)
    y = np.array([0, 1])
    tx, ty = transfer.quarter_turns(x, y, 4)
    np.testing.assert_array_equal(ty, [0, 4, 1, 5, 2, 6, 3, 7])
    np.testing.assert_array_equal(tx[2, :, :, 0], np.rot90(x[0, :, :, 0]))  # counterclockwise
    np.testing.assert_array_equal(tx[6, :, :, 0], np.rot90(x[0, :, :, 0], 3))
    assert transfer.quarter_turns(x, y, 1) == (x, y)


def test_sum_over_turns_gives_class_probabilities_on_the_same_base():
    turned = small_classifier(num_classes=3 * 4)
    model = transfer.sum_over_turns(turned, 3, 4)
    x = np.random.default_rng(0).random((5, 8, 8, 1), dtype="float32")
    pairs = turned.predict(x, verbose=0)
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               pairs.reshape(5, 3, 4).sum(axis=-1), rtol=1e-5)
    assert model.layers[-1].trainable is False
    assert len(model.trainable_weights) == len(turned.trainable_weights)
    base = transfer.feature_extractor(model)
    assert base.output.shape == transfer.feature_extractor(turned).output.shape


def test_shipped_base_is_built_by_its_preset():
    recipe = presets.TRANSFER_BASE["mnist"]
    options = {k: v for k, v in recipe["model_options"].items() if k != "augment"}
    classes = 5 * recipe["label_rotations"]
    built = transfer.sum_over_turns(models.build_classifier(recipe["model"], (28, 28, 1),
                                                            classes, **options),
                                    5, recipe["label_rotations"])
    shipped, _ = cards.load(cards.shipped("mnist_0_4_vgg"))
    assert [w.shape for w in shipped.weights] == [w.shape for w in built.weights]
