"""The wheel works alone: it carries the apps, the labs, the report
templates and the shipped models, and, installed by itself, runs an app
from an empty folder."""

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import keras

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_alone_runs_an_app_from_an_empty_folder(tmp_path, has_mnist):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path / "dist"), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    [wheel] = (tmp_path / "dist").glob("kerasdl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"kerasdl/apps/{path.name}" for path in (ROOT / "apps").glob("*.py")}
    expected |= {f"kerasdl/templates/{path.name}" for path in
                 (ROOT / "kerasdl" / "templates").iterdir()}
    expected |= {f"kerasdl/saved_models/{folder.name}/{name}" for folder in
                 (ROOT / "kerasdl" / "saved_models").iterdir() if folder.is_dir()
                 for name in ("model.keras", "card.json")}
    assert expected <= names, sorted(expected - names)

    # A new environment with the wheel alone; its dependencies are this one's.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                                "['purelib'])"], capture_output=True, text=True,
                               check=True).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(site), str(wheel)], check=True, capture_output=True, timeout=300)
    empty = tmp_path / "empty"
    empty.mkdir()
    run = subprocess.run([python, "-m", "kerasdl", "run", "classification", "--dry-run",
                          "--backend", keras.backend.backend()], cwd=empty,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    where = subprocess.run([python, "-c", "import kerasdl; print(kerasdl.__file__)"],
                           cwd=empty, capture_output=True, text=True).stdout
    assert where.startswith(str(site)), where
    folder = empty / "runs" / "classification"
    assert json.loads((folder / "metrics.json").read_text())["epochs_run"] == 1
    assert "classification" in (folder / "report.html").read_text()
