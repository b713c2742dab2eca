"""Run directories: start a new run, resume an interrupted one, or refuse.

A run directory holds `config.json` from the start, `backup/` while
training, and `metrics.json` once the run has finished. Nothing in it is
replaced unless the user asks with `overwrite=True`.
"""

import json
import shutil
from pathlib import Path

from kerasdl.errors import UsageError


def _differences(saved, config):
    keys = sorted(set(saved) | set(config))
    return [f"{k}: {saved.get(k)!r} then, {config.get(k)!r} now"
            for k in keys if saved.get(k) != config.get(k)]


def prepare(output_dir, config, overwrite=False):
    """Makes `output_dir` ready for a run of `config`.

    Args:
        output_dir: the run's folder.
        config: a JSON-serialisable dict of the settings that define the run.
        overwrite: replace a finished or different run in `output_dir`.

    Returns:
        True when an interrupted run with the same config is resumed,
        False for a new run.

    Raises:
        UsageError: when `output_dir` holds a finished run, a run with other
            settings, or files that are not a run, and `overwrite` is off.
    """
    output_dir = Path(output_dir)
    config_path = output_dir / "config.json"
    is_run = config_path.exists()
    if output_dir.exists() and any(output_dir.iterdir()):
        if not is_run:
            raise UsageError(f"{output_dir} is not empty and holds no kerasdl run; "
                             "choose a new --output-dir")
        saved = json.loads(config_path.read_text())
        finished = (output_dir / "metrics.json").exists()
        if overwrite:
            shutil.rmtree(output_dir)
        elif finished:
            raise UsageError(f"{output_dir} already holds a finished run; choose "
                             "another --output-dir, or pass --overwrite to replace it")
        elif saved != config:
            raise UsageError(
                f"{output_dir} holds an interrupted run with other settings "
                f"({'; '.join(_differences(saved, config))}); rerun with the same "
                "settings to resume it, or pass --overwrite to start afresh")
        else:
            print(f"Resuming the interrupted run in {output_dir}", flush=True)
            return True
    output_dir.mkdir(parents=True, exist_ok=True)
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    return False


def write_metrics(output_dir, metrics):
    """Writes `metrics.json`, which marks the run as finished."""
    path = Path(output_dir) / "metrics.json"
    path.write_text(json.dumps(metrics, indent=2) + "\n")
    return path
