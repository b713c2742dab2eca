"""Run reports that a browser opens: `report.html` in each run folder, and
`index.html` across several runs (`kerasdl report DIR...`).

Each page is one self-contained file, rendered with Jinja2 from
`kerasdl/templates/`: its plots are inline PNGs, and it needs no network.
Keras-free, so that `kerasdl report` starts fast.
"""

import base64
import contextlib
import io
import json
import math
import os
import shlex
import time
import urllib.parse
from pathlib import Path

import jinja2
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from kerasdl import __version__
from kerasdl.errors import UsageError
from kerasdl.history import curve_panels, epoch_numbers, read_history

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("kerasdl"), autoescape=True, trim_blocks=True,
    lstrip_blocks=True)
TEMPLATES.tests["finite"] = math.isfinite
# Folders of a run that hold no results: Keras' training backup, TensorBoard logs.
SKIPPED = {"backup", "tensorboard"}
MAX_PLOTS = 40  # the report shows the first plots, so that it stays a few MB


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_json(path, kind=dict):
    """The JSON value in `path` if it is a `kind`, else `None` (no file, or
    one that is damaged or holds something else)."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, kind) else None


def _files(run_dir, pattern):
    """The files under `run_dir` matching `pattern`, outside `SKIPPED`
    folders, top-level ones first; links are left out, so that a report
    shows only what the run wrote."""
    found = [path for path in run_dir.rglob(pattern)
             if not SKIPPED & set(path.relative_to(run_dir).parts[:-1])
             and not path.is_symlink() and path.is_file()]
    return sorted(found, key=lambda path: (len(path.parts), str(path)))


def _plots(paths):
    """`{"name", "src"}` of each PNG in `paths`; a file that is not one is left out."""
    plots = []
    for name, path in paths:
        with contextlib.suppress(OSError):
            data = path.read_bytes()
            if data.startswith(PNG_SIGNATURE):
                plots.append({"name": name, "src": _data_uri(data)})
    return plots


def _card(path, run_dir):
    """A model card's entry in a report, or `None` for a damaged card."""
    card = read_json(path)
    if card is None:
        return None
    summary = card.pop("summary", None)
    cells = scalars(card)
    return {"folder": str(path.parent.relative_to(run_dir)),
            "card": {key: cells.get(key, json.dumps(value)) for key, value in card.items()},
            "summary": "\n".join(map(str, summary)) if isinstance(summary, list) else None}


def _table(rows):
    """A lab's result rows as `{"columns", "rows"}`, with every column any row has."""
    return {"columns": list(dict.fromkeys(key for row in rows for key in row)), "rows": rows}


def _data_uri(png_bytes):
    return "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")


def _footer():
    return {"version": __version__, "written": time.strftime("%Y-%m-%d %H:%M:%S")}


def status(metrics):
    """A run's state from its `metrics.json` (`None` if not written yet)."""
    if metrics is None:
        return "running or interrupted"
    return "diverged" if "diverged" in metrics else "finished"


def scalars(metrics):
    """The entries of `metrics` that fit in a table cell."""
    return {key: value for key, value in (metrics or {}).items()
            if isinstance(value, (int, float, str, bool)) or value is None}


def _is_table(value):
    """Whether `value` is rows of a table: a list of dicts of cell values."""
    return isinstance(value, list) and value and all(
        isinstance(row, dict) and row == scalars(row) for row in value)


def read_run(run_dir):
    """Everything a report shows of the run in `run_dir`, as a dict."""
    run_dir = Path(run_dir)
    metrics = read_json(run_dir / "metrics.json")
    log = [start for start in read_json(run_dir / "run_log.json", list) or []
           if isinstance(start, dict)]
    plots = _files(run_dir, "*.png")
    cards = [card for card in (_card(path, run_dir) for path in _files(run_dir, "card.json"))
             if card]
    results = run_dir / "results.md"
    history = run_dir / "history.csv"
    shown = scalars(metrics)
    details = {key: value for key, value in (metrics or {}).items() if key not in shown}
    return {
        "name": run_dir.name,
        "config": read_json(run_dir / "config.json") or {},
        "status": status(metrics),
        "metrics": shown,
        "tables": {key: _table(value) for key, value in details.items() if _is_table(value)},
        "details": {key: value for key, value in details.items() if not _is_table(value)},
        "command": next((start["command"] for start in log if start.get("command")), None),
        "starts": log,
        "resumes": [start for start in log if start.get("resumed")],
        "results": results.read_text(encoding="utf-8", errors="replace")
        if results.is_file() and "results" not in details else None,
        "plots": _plots((str(path.relative_to(run_dir)), path) for path in plots[:MAX_PLOTS]),
        "plots_left_out": max(len(plots) - MAX_PLOTS, 0),
        "cards": cards,
        "tensorboard": (run_dir / "tensorboard").is_dir()
        and shlex.quote(str((run_dir / "tensorboard").resolve())),
        "history": read_history(history) if history.is_file() else {},
    }


def render_run(run_dir):
    """The HTML of `report.html` for the run in `run_dir`: its command and
    config, backend and device, metrics, every plot it wrote, its model
    cards and summaries, and where it was resumed."""
    run = read_run(run_dir)
    return TEMPLATES.get_template("report.html").render(
        run=run, pretty=lambda data: json.dumps(data, indent=2), **_footer())


def is_run(folder):
    """Whether `folder` holds a kerasdl run: a `config.json` that names its
    app and backend (another tool's `config.json` does not count)."""
    try:
        config = json.loads((Path(folder) / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and {"app", "backend"} <= set(config)


def find_runs(paths):
    """The run folders (see `is_run`) at or under each of `paths`, in
    order; a run inside another run's folder is left out. The trials of a
    `kerasdl tune` search are runs in a folder that is not one, so each is
    found.

    Raises:
        UsageError: naming a path that holds no run.
    """
    found = []
    for path in map(Path, paths):
        runs = [config.parent for config in _files(path, "config.json")
                if is_run(config.parent)] if path.is_dir() else []
        runs = [run for run in runs if not any(other in run.parents for other in runs)]
        if not runs:
            raise UsageError(f"{path} holds no kerasdl run (no config.json in or under it)")
        found += [run for run in runs if run not in found]
    return found


def overlaid_curves(runs, labels):
    """A PNG (bytes) of every run's learning curves, one panel per metric
    (the first four), train solid and validation dashed; `None` when no
    run has a history."""
    panels = list(dict.fromkeys(panel for run in runs for panel in curve_panels(run["history"])))
    names = list(dict.fromkeys(name for name, _ in panels))[:4]
    if not names:
        return None
    fig = Figure(figsize=(4.6 * len(names), 3.6), layout="constrained")
    colors = [f"C{i % 10}" for i in range(len(runs))]
    for ax, name in zip(fig.subplots(1, len(names), squeeze=False)[0], names):
        for run, label, color in zip(runs, labels, colors):
            epochs = epoch_numbers(run["history"])
            for column, style in ((name, "-"), (f"val_{name}", "--")):
                if column in run["history"]:
                    ax.plot(epochs, run["history"][column], style, color=color,
                            marker="o" if len(epochs) < 12 else None, markersize=3,
                            label=f"{label} ({'validation' if style == '--' else 'train'})")
        ax.set(title=name, xlabel="epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def render_index(run_dirs, output):
    """The HTML of an `index.html` at `output` across `run_dirs`: their
    metrics side by side in a table sortable by any column, each run linked
    to its `report.html`, and their learning curves overlaid."""
    runs = [read_run(run_dir) for run_dir in run_dirs]
    base = Path(output).resolve().parent
    labels = [os.path.relpath(Path(run_dir).resolve(), base) for run_dir in run_dirs]
    columns = list(dict.fromkeys(key for run in runs for key in run["metrics"]))
    curves = overlaid_curves(runs, labels)
    # A name that is not UTF-8 links to its own bytes, as the browser finds them.
    rows = [{"label": label, "run": run,
             "link": urllib.parse.quote(f"{label}/report.html", errors="surrogateescape")}
            for label, run in zip(labels, runs)]
    return TEMPLATES.get_template("index.html").render(
        rows=rows, columns=columns, curves=curves and _data_uri(curves), **_footer())
