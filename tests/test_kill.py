"""Kill and resume: a training process killed with SIGKILL in the middle of
an epoch, then started again with the same command, resumes from its last
backup (the end of the epoch before) and ends with every epoch once."""

import json
import os
import signal
import subprocess
import sys

import keras
import pytest

from kerasdl.history import read_history

# Runs `kerasdl ARGS` on the first 256/64/128 images of each split; with
# $PAUSE set, it prints a line after the first batch of the second epoch
# and waits there to be killed.
SCRIPT = """
import os, sys, time
import keras
from kerasdl import cli, data, training

load = data.load_run_images
data.load_run_images = lambda config, task=None: load(config, task).head(256, 64, 128)


class PauseInTheSecondEpoch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 1 and batch == 0:
            print("in the second epoch", flush=True)
            time.sleep(600)


fit = training.fit
if os.environ.get("PAUSE"):
    training.fit = lambda *args, callbacks=(), **kwargs: fit(
        *args, callbacks=[*callbacks, PauseInTheSecondEpoch()], **kwargs)
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("app", ["classification", "gan"])
def test_a_run_killed_in_the_middle_of_an_epoch_resumes_from_its_last_backup(
        app, tmp_path, has_mnist):
    command = [sys.executable, "-c", SCRIPT, "run", app, "--epochs", "2", "--backend",
               keras.backend.backend(), "--output-dir", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, env={**os.environ, "PAUSE": "1"})
    paused = any(line.startswith("in the second epoch") for line in process.stdout)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert paused and process.returncode == -signal.SIGKILL
    assert read_history(tmp_path / "history.csv")["epoch"] == [0]

    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "Resuming" in result.stdout
    assert read_history(tmp_path / "history.csv")["epoch"] == [0, 1]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics.get("epochs_run", metrics.get("epochs")) == 2 and metrics["resumed"]
    # The run's log and report say where it was resumed.
    log = json.loads((tmp_path / "run_log.json").read_text())
    assert [(start["resumed"], start["epochs_done"]) for start in log] == [(False, 0), (True, 1)]
    assert "Resumed 1 time" in (tmp_path / "report.html").read_text()
