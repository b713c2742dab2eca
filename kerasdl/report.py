"""Run reports that a browser opens: `report.html` in each run folder, and
`index.html` across several runs (`kerasdl report DIR...`).

Each page is one self-contained file, rendered with Jinja2 from
`kerasdl/templates/`: its plots are inline PNGs, and it needs no network.
Keras-free, so that `kerasdl report` starts fast.
"""

import base64
import io
import json
import os
import time
from pathlib import Path

import jinja2
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from kerasdl import __version__
from kerasdl.errors import UsageError
from kerasdl.history import curve_panels, read_history

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("kerasdl"), autoescape=True, trim_blocks=True,
    lstrip_blocks=True)
# Folders of a run that hold no results: Keras' training backup, TensorBoard logs.
SKIPPED = {"backup", "tensorboard"}
MAX_PLOTS = 40  # the report shows the first plots, so that it stays a few MB


def _read_json(path):
    return json.loads(path.read_text()) if path.exists() else None


def _files(run_dir, pattern):
    """The files under `run_dir` matching `pattern`, outside `SKIPPED`
    folders, top-level ones first."""
    found = [path for path in run_dir.rglob(pattern)
             if not SKIPPED & set(path.relative_to(run_dir).parts[:-1])]
    return sorted(found, key=lambda path: (len(path.parts), str(path)))


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
    metrics = _read_json(run_dir / "metrics.json")
    log = _read_json(run_dir / "run_log.json") or []
    plots = _files(run_dir, "*.png")
    cards = []
    for path in _files(run_dir, "card.json"):
        card = json.loads(path.read_text())
        summary = card.pop("summary", None)
        cells = scalars(card)
        card = {key: cells.get(key, json.dumps(value)) for key, value in card.items()}
        cards.append({"folder": str(path.parent.relative_to(run_dir)), "card": card,
                      "summary": "\n".join(summary) if summary else None})
    results = run_dir / "results.md"
    shown = scalars(metrics)
    details = {key: value for key, value in (metrics or {}).items() if key not in shown}
    return {
        "name": run_dir.name,
        "config": _read_json(run_dir / "config.json") or {},
        "status": status(metrics),
        "metrics": shown,
        "tables": {key: value for key, value in details.items() if _is_table(value)},
        "details": {key: value for key, value in details.items() if not _is_table(value)},
        "command": next((start["command"] for start in log if start["command"]), None),
        "starts": log,
        "resumes": [start for start in log if start["resumed"]],
        "results": results.read_text() if results.exists() and "results" not in details
        else None,
        "plots": [{"name": str(path.relative_to(run_dir)), "src": _data_uri(path.read_bytes())}
                  for path in plots[:MAX_PLOTS]],
        "plots_left_out": len(plots) - MAX_PLOTS if len(plots) > MAX_PLOTS else 0,
        "cards": cards,
        "tensorboard": (run_dir / "tensorboard").is_dir() and str(run_dir / "tensorboard"),
        "history": read_history(run_dir / "history.csv")
        if (run_dir / "history.csv").exists() else {},
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
    order; a run inside another run's folder (a tuning trial's) is left out.

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
            epochs = [e + 1 for e in run["history"].get("epoch", [])]
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
    rows = [{"label": label, "link": f"{label}/report.html", "run": run}
            for label, run in zip(labels, runs)]
    return TEMPLATES.get_template("index.html").render(
        rows=rows, columns=columns, curves=curves and _data_uri(curves), **_footer())
