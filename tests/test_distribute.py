"""Data-parallel training (`--distribute data_parallel`): on JAX over two
simulated CPU devices it gives the loss of one device, with replicated
variables and sharded batches, and a batch that does not split is one line;
elsewhere it refuses in one line."""

import json
import os
import subprocess
import sys

import keras
import pytest

from kerasdl import cli, flags
from kerasdl.history import read_history

# Runs in a new process: JAX fixes its device count when it starts.
TWO_DEVICES = """
import json, sys
import jax, keras, numpy as np
from kerasdl import cli, distribute

app = cli.load_app("classification")
runs = {mode: app.main(["--dry-run", "--model", "mlp", "--quiet", "--distribute", mode,
                        "--output-dir", f"{sys.argv[1]}/{mode}"])
        for mode in ("data_parallel", "none")}
try:  # the perceptron lab's batch of 25 does not split over 2 devices
    cli.load_app("perceptron").main(["--dry-run", "--distribute", "data_parallel",
                                     "--output-dir", f"{sys.argv[1]}/odd"])
except Exception as error:
    runs["odd"] = f"{type(error).__name__}: {error}"
with distribute.distributing("data_parallel"):
    layout = keras.distribution.distribution().get_data_layout((8, 4))
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    batch = jax.device_put(np.zeros((8, 4), "float32"), layout.backend_layout)
    found = {"replicated": [v.value.sharding.is_fully_replicated for v in model.variables],
             "batch_axes": list(layout.axes),
             "shards": [list(shard.data.shape) for shard in batch.addressable_shards]}
print(json.dumps({"runs": runs, **found}))
"""


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="Keras spreads a fit on JAX only")
def test_two_devices_give_one_device_s_loss_with_replicated_weights(tmp_path, has_mnist):
    env = {**os.environ, "KERAS_BACKEND": "jax",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    result = subprocess.run([sys.executable, "-c", TWO_DEVICES, str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["replicated"] == [True, True]
    assert found["batch_axes"] == ["batch", None] and found["shards"] == [[4, 4], [4, 4]]
    assert found["runs"]["odd"] == (
        "UsageError: --distribute data_parallel cannot split a batch of 25 examples over 2 "
        "devices; choose a --batch-size they divide, or --distribute none")
    spread, single = found["runs"]["data_parallel"], found["runs"]["none"]
    assert (spread["devices"], single["devices"]) == (2, 1)
    for key in ("val_loss", "test_loss"):
        assert spread[key] == pytest.approx(single[key], rel=1e-5), key
    spread, single = (read_history(tmp_path / mode / "history.csv")
                      for mode in ("data_parallel", "none"))
    assert spread["loss"] == pytest.approx(single["loss"], rel=1e-5)  # the training loss


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="Keras spreads a fit on JAX")
def test_other_backends_refuse_in_one_line(tmp_path, capsys):
    status = flags.run_main(cli.load_app("perceptron").main, [
        "--dry-run", "--distribute", "data_parallel", "--output-dir", str(tmp_path / "run")])
    assert status == 2
    assert capsys.readouterr().err == (
        f"error: --distribute data_parallel runs on the jax backend only (Keras "
        f"{keras.__version__} cannot spread a fit on {keras.backend.backend()}); pass "
        "--backend jax, or --distribute none\n")
    assert not (tmp_path / "run").exists()
