"""Run directories: start a new run, resume an interrupted one, or refuse.

A run directory holds `config.json` and `run_log.json` (each start of the
run: its time and command, and for a resume the rows of its `history.csv`
before it: the epochs done, or 0 for an app whose fits keep their histories
in subfolders, as transfer_learning's do) from
the start, `backup/` while training, and `metrics.json` once the run has
finished or diverged. `report.html` shows it all in a browser; it is
rewritten when the run starts, after each epoch of `training.fit` and at
the end.
Nothing in it is replaced unless the user asks with `overwrite=True`. While
a process runs in it, that process holds a lock on its `.lock` file, so a
second run into the same folder refuses at once; the system drops the lock
when the process ends, however it ends.
"""

import contextlib
import fcntl
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

from kerasdl import report
from kerasdl.errors import UsageError
from kerasdl.history import read_history


def _differences(saved, config):
    keys = sorted(set(saved) | set(config))
    return [f"{k}: {saved.get(k)!r} then, {config.get(k)!r} now"
            for k in keys if saved.get(k) != config.get(k)]


LOCK_FILE = ".lock"
RUN_LOG = "run_log.json"
_held = {}  # the lock files this process holds open, by folder


def write_json(path, data):
    """Writes `data` as JSON to `path` atomically (see `write_text`)."""
    return write_text(path, json.dumps(data, indent=2) + "\n")


def write_text(path, text):
    """Writes `text` to `path` as UTF-8 (a character that UTF-8 cannot hold,
    such as a file name's undecodable byte, becomes '?') atomically: to a
    temporary file beside it, named for this process and thread, then
    renamed, so that a kill leaves the old file or the new one, never half
    of one, and two writers never share a temporary file.

    Raises:
        UsageError: when the file cannot be written (a read-only folder, a
            full disk), naming it.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8", errors="replace")
        os.replace(temporary, path)
    except (OSError, ValueError) as error:
        with contextlib.suppress(OSError, ValueError):  # there may be no half-written file
            temporary.unlink()
        reason = error.strerror if isinstance(error, OSError) else error
        raise UsageError(f"cannot write {path}: {reason}") from None
    return path


def make_folder(folder, flag):
    """Makes `folder` and its parents, if they are not there.

    Raises:
        UsageError: when it cannot be made (a file stands in its way, or a
            read-only parent), asking for another value of `flag`.
    """
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot make the folder {folder}: {error.strerror}; "
                         f"choose another {flag}") from None


def _lock(output_dir):
    """Takes the lock of `output_dir` for this process, or refuses."""
    key = output_dir.resolve()
    if key in _held:
        return
    handle = open(output_dir / LOCK_FILE, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise UsageError(f"another run is writing to {output_dir}; wait for it to end, "
                         "or choose another --output-dir") from None
    _held[key] = handle


def prepare(output_dir, config, overwrite=False, resumes=False, command=None):
    """Makes `output_dir` ready for a run of `config`.

    Args:
        output_dir: the run's folder.
        config: a JSON-serialisable dict of the settings that define the run.
        overwrite: replace a finished or different run in `output_dir`.
        resumes: whether the app goes on from an interrupted run's backups;
            when not, it starts that run again, and says so.
        command: the command line that started the run, for `run_log.json`.

    Returns:
        True when an interrupted run with the same config is found (and
        resumed, if the app `resumes`), False for a new run.

    Raises:
        UsageError: when `output_dir` cannot be made, when another process
            runs in it, or when it holds a finished run, a run with other
            settings, or files that are not a run, and `overwrite` is off.
    """
    output_dir = Path(output_dir)
    config_path = output_dir / "config.json"

    def contents():
        return [path for path in output_dir.iterdir() if path.name != LOCK_FILE]

    if output_dir.is_dir() and contents() and not config_path.exists():
        raise UsageError(f"{output_dir} is not empty and holds no kerasdl run; "
                         "choose a new --output-dir")
    make_folder(output_dir, "--output-dir")
    _lock(output_dir)
    if contents():
        saved = report.read_json(config_path)
        metrics_path = output_dir / "metrics.json"
        finished = metrics_path.exists()
        if overwrite:
            for path in contents():
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
        elif finished:
            diverged = "diverged" in (report.read_json(metrics_path) or {})
            ended = "diverged" if diverged else "finished"
            raise UsageError(f"{output_dir} already holds a {ended} run; choose "
                             "another --output-dir, or pass --overwrite to replace it")
        elif saved is None:
            raise UsageError(f"{config_path} is damaged (not a JSON object), so the run in "
                             f"{output_dir} cannot be resumed; pass --overwrite to start afresh")
        elif saved != config:
            raise UsageError(
                f"{output_dir} holds an interrupted run with other settings "
                f"({'; '.join(_differences(saved, config))}); rerun with the same "
                "settings to resume it, or pass --overwrite to start afresh")
        else:
            print(f"Resuming the interrupted run in {output_dir}" if resumes else
                  f"Starting the interrupted run in {output_dir} again (this app does not "
                  "resume)", flush=True)
            _log_start(output_dir, command, resumed=resumes)
            return True
    write_json(config_path, config)
    _log_start(output_dir, command, resumed=False)
    return False


def _log_start(output_dir, command, resumed):
    """Appends this start of the run to its `run_log.json`, then writes its report."""
    path = output_dir / RUN_LOG
    history = output_dir / "history.csv"
    done = len(read_history(history).get("epoch", [])) if resumed and history.exists() else 0
    log = report.read_json(path, list) or []  # a damaged log starts again
    log.append({"started": time.strftime("%Y-%m-%d %H:%M:%S"), "command": command,
                "resumed": resumed, "epochs_done": done})
    write_json(path, log)
    write_report(output_dir)


def write_metrics(output_dir, metrics):
    """Writes `metrics.json`, which marks the run as finished, then the
    run's report."""
    path = write_json(Path(output_dir) / "metrics.json", metrics)
    write_report(output_dir)
    return path


def run_folder(path):
    """The run folder (one `prepare` made: it holds `run_log.json`) at or
    above `path`, or `None`."""
    path = Path(path).resolve()
    return next((folder for folder in (path, *path.parents)
                 if (folder / RUN_LOG).exists()), None)


def write_report(output_dir):
    """Writes the run's `report.html` (see `kerasdl.report.render_run`).

    A report only shows the run, so it never stops one: when it cannot be
    written, a warning on stderr says why, and the run goes on.

    Returns:
        The report's path, or `None` when it could not be written.
    """
    try:
        return write_text(Path(output_dir) / "report.html", report.render_run(output_dir))
    except Exception as error:  # whatever a damaged file in the folder raises
        print(f"kerasdl: warning: no report for {output_dir}: {error}", file=sys.stderr,
              flush=True)
        return None
