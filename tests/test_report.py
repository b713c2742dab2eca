"""Run reports: `report.html` in every run folder, `kerasdl report DIR...`
for an index across runs, and both pages rendered in headless Chromium."""

import html
import importlib.util
import json
import os
import re
import shutil
import subprocess

import keras
import numpy as np
import pytest
from PIL import Image

from conftest import local_mnist
from kerasdl import cli, report, runs, training
from kerasdl.errors import UsageError
from kerasdl.models import build_classifier

CONFIG = {"app": "demo", "backend": "jax", "lr": 0.1}
BROWSER = next(filter(None, map(shutil.which, ("chromium", "chromium-browser",
                                               "google-chrome"))), None)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Dry runs of the classification app: its default CNN, and an MLP that
    logs to TensorBoard where TensorFlow is installed."""
    if not local_mnist() and importlib.util.find_spec("sklearn") is None:
        pytest.skip("needs $KERASDL_DATA_DIR with keras-datasets/mnist.npz, or scikit-learn")
    logs = ["--tensorboard"] if importlib.util.find_spec("tensorflow") else []
    folder = tmp_path_factory.mktemp("runs")
    for name, extra in (("cnn", []), ("mlp", ["--model", "mlp", *logs])):
        cli.load_app("classification").main([
            "--dry-run", "--backend", keras.backend.backend(), "--output-dir",
            str(folder / name), *extra])
    return folder


def test_a_dry_run_writes_a_report_of_everything_it_made(two_runs, has_mnist):
    page = html.unescape((two_runs / "cnn" / "report.html").read_text())
    metrics = json.loads((two_runs / "cnn" / "metrics.json").read_text())
    assert "finished" in page and 'http-equiv="refresh"' not in page
    assert "kerasdl run classification --dry-run" in page
    assert f"{metrics['test_accuracy']:.4g}" in page and metrics["device"] in page
    assert page.count('src="data:image/png;base64,') == 1  # learning_curves.png
    assert "Layer (type)" in page and "conv2d" in page  # the model's summary
    assert '"validation_size": 5000' in page  # the config


def test_kerasdl_report_compares_runs_and_keeps_an_existing_index(two_runs, has_mnist,
                                                                  capsys):
    index = two_runs / "index.html"
    assert cli.main(["report", str(two_runs), "--output", str(index)]) == 0
    page = index.read_text()
    assert '<a href="cnn/report.html">cnn</a>' in page and '<a href="mlp/report.html">' in page
    assert page.count('src="data:image/png;base64,') == 1  # the overlaid curves
    assert "Wrote" in capsys.readouterr().out

    assert cli.main(["report", str(two_runs), "--output", str(index)]) == 2
    assert "exists; choose another --output, or pass --overwrite" in capsys.readouterr().err
    assert cli.main(["report", str(two_runs / "nothing"), "--output",
                     str(two_runs / "other.html")]) == 2
    assert "holds no kerasdl run" in capsys.readouterr().err


def test_tensorboard_reads_the_logs_of_a_run_with_the_flag(two_runs, has_mnist):
    accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator")
    from tensorboard.util import tensor_util
    logs = two_runs / "mlp" / "tensorboard"
    for split in ("train", "validation"):
        events = accumulator.EventAccumulator(str(logs / split))
        events.Reload()
        assert {"epoch_loss", "epoch_accuracy"} <= set(events.Tags()["tensors"]), split
    history = json.loads((two_runs / "mlp" / "metrics.json").read_text())
    [loss] = events.Tensors("epoch_loss")  # one epoch, validation's
    assert float(tensor_util.make_ndarray(loss.tensor_proto)) == pytest.approx(
        history["val_loss"], rel=1e-5)
    assert f"tensorboard --logdir {logs.resolve()}" in (two_runs / "mlp" / "report.html"
                                                          ).read_text()
    assert not (two_runs / "cnn" / "tensorboard").exists()


def test_a_report_shows_a_running_run_and_where_it_was_resumed(tmp_path):
    runs.prepare(tmp_path, CONFIG, command="kerasdl run demo --lr 0.1")
    page = (tmp_path / "report.html").read_text()
    assert "running or interrupted" in page and 'http-equiv="refresh"' in page
    assert "kerasdl run demo --lr 0.1" in page and "Resumed" not in page

    (tmp_path / "history.csv").write_text("epoch,loss\n0,2.0\n1,1.5\n")
    runs.prepare(tmp_path, CONFIG, resumes=True, command="kerasdl run demo --lr 0.1")
    log = json.loads((tmp_path / "run_log.json").read_text())
    assert [(start["resumed"], start["epochs_done"]) for start in log] == [(False, 0),
                                                                           (True, 2)]
    assert "Resumed 1 time" in (tmp_path / "report.html").read_text()

    runs.write_metrics(tmp_path, {"diverged": "the loss became NaN in epoch 3"})
    page = (tmp_path / "report.html").read_text()
    assert "diverged" in page and "the loss became NaN in epoch 3" in page


def test_a_lab_s_rows_are_a_table_and_other_figures_json(tmp_path):
    runs.prepare(tmp_path, CONFIG)
    runs.write_metrics(tmp_path, {"claim": "b is small", "results": [
        {"net": "wide", "error": 0.0125}, {"net": "deep", "error": 0.5}],
        "curves": {"wide": [1.0, 0.5]}})
    page = html.unescape((tmp_path / "report.html").read_text())
    assert "<th>net</th><th>error</th>" in page and 'data-value="0.0125">0.0125</td>' in page
    assert '"wide": [' in page and '"net": "wide"' not in page


def test_an_overwritten_run_starts_a_new_log(tmp_path):
    runs.prepare(tmp_path, CONFIG, command="first")
    runs.write_metrics(tmp_path, {"test_accuracy": 0.5})
    runs.prepare(tmp_path, CONFIG, overwrite=True, command="second")
    assert [start["command"] for start in
            json.loads((tmp_path / "run_log.json").read_text())] == ["second"]


def test_a_fit_refreshes_the_report_of_its_own_run_only(tmp_path, tiny_split):
    (tmp_path / "config.json").write_text("{}")  # another tool's folder, above
    assert runs.run_folder(tmp_path / "run" / "stage") is None
    runs.prepare(tmp_path / "run", CONFIG)
    assert runs.run_folder(tmp_path / "run" / "stage") == (tmp_path / "run").resolve()
    (tmp_path / "run" / "report.html").unlink()
    model = build_classifier("mlp", (8, 8, 1), 2, depth=1, width=8, batchnorm=False)
    training.compile_model(model, total_steps=4)
    train, val, _ = tiny_split
    training.fit(model, train, val, epochs=1, batch_size=64,
                 output_dir=tmp_path / "run" / "stage", verbose=0)
    page = (tmp_path / "run" / "report.html").read_text()
    assert "stage/learning_curves.png" in page  # drawn in the epoch, before the report
    assert not (tmp_path / "report.html").exists()


def test_find_runs_leaves_out_runs_inside_runs_backups_and_other_tools_folders(tmp_path):
    for folder in ("a", "a/trial", "b/c", "b/c/backup/x", "other", "broken"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "config.json").write_text(json.dumps(CONFIG))
    (tmp_path / "other" / "config.json").write_text('{"name": "not a kerasdl run"}')
    (tmp_path / "broken" / "config.json").write_text('{"app": ')
    assert report.find_runs([tmp_path]) == [tmp_path / "a", tmp_path / "b" / "c"]
    assert report.find_runs([tmp_path / "b", tmp_path / "b" / "c"]) == [tmp_path / "b" / "c"]
    with pytest.raises(UsageError, match="holds no kerasdl run"):
        report.find_runs([tmp_path / "a" / "missing"])


def test_plots_past_the_cap_are_counted_not_embedded(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "MAX_PLOTS", 2)
    runs.prepare(tmp_path, CONFIG)
    png = tmp_path / "plot.png"
    Image.new("RGB", (4, 4)).save(png)
    for name in ("b.png", "sub/c.png", "tensorboard/d.png"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(png, tmp_path / name)
    run = report.read_run(tmp_path)
    assert [plot["name"] for plot in run["plots"]] == ["b.png", "plot.png"]
    assert run["plots_left_out"] == 1  # sub/c.png; tensorboard/ is not a result


def render(page, tmp_path, script=""):
    """Opens a copy of `page` in headless Chromium, with `script` run after
    it loads; returns the DOM (where the copy's check leaves its findings),
    the console lines and a screenshot."""
    check = ("<script>window.addEventListener('load', () => {"
             "document.body.dataset.images = [...document.images].map("
             "i => i.complete && i.naturalWidth > 0 ? 1 : 0).join('');" + script + "});"
             "</script></body>")
    copy = tmp_path / f"checked-{page.name}"
    copy.write_text(page.read_text().replace("</body>", check))
    shot = tmp_path / f"{page.stem}.png"
    common = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              "--window-size=1280,1600", "--virtual-time-budget=5000",
              "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run([*common, "--dump-dom", copy.as_uri()], capture_output=True,
                         text=True, timeout=120)
    subprocess.run([*common, f"--screenshot={shot}", page.as_uri()], capture_output=True,
                   timeout=120)
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    return dom.stdout, console, np.asarray(Image.open(shot).convert("L"))


@pytest.mark.skipif(BROWSER is None, reason="needs Chromium (Debian: apt-get install "
                                            "chromium), which .ci/run installs")
def test_reports_render_in_a_browser_with_every_image_and_no_console_error(
        two_runs, tmp_path, has_mnist):
    index = tmp_path / "index.html"
    cli.main(["report", str(two_runs / "cnn"), str(two_runs / "mlp"), "--output", str(index)])
    # Shows each page as a browser does; the index is sorted by params twice.
    sort = ("const params = [...document.querySelectorAll('#runs th')].find("
            "th => th.textContent === 'params'); const first = () => "
            "document.querySelector('#runs tbody tr a').textContent; params.click();"
            "document.body.dataset.ascending = first(); params.click();"
            "document.body.dataset.descending = first();")
    for page, script in ((two_runs / "cnn" / "report.html", ""), (index, sort)):
        dom, console, pixels = render(page, tmp_path, script)
        assert console == [], console
        images = re.search(r'data-images="([01]*)"', dom).group(1)
        assert images and set(images) == {"1"}, images
        # Not blank: text, tables and plots, over much of the page.
        assert pixels.std() > 5 and (pixels < 128).mean() > 0.002
    small, large = sorted(("cnn", "mlp"), key=lambda name: json.loads(
        (two_runs / name / "metrics.json").read_text())["params"])
    assert re.search(r'data-ascending="([^"]*)"', dom).group(1).endswith(small)
    assert re.search(r'data-descending="([^"]*)"', dom).group(1).endswith(large)


def test_damaged_files_leave_out_their_part_of_the_report_not_the_run(tmp_path):
    runs.prepare(tmp_path, CONFIG, command="kerasdl run demo")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "card.json").write_text('{"name": ')  # cut short
    (tmp_path / "card.json").write_text('["not", "a", "card"]')
    (tmp_path / "results.md").write_bytes(b"accuracy \xff\xfe 0.9")  # not UTF-8
    (tmp_path / "not-a-plot.png").write_text("hello")
    Image.new("RGB", (4, 4)).save(tmp_path / os.fsdecode(b"plot-\xff.png"))
    (tmp_path / "elsewhere.png").symlink_to(tmp_path / os.fsdecode(b"plot-\xff.png"))
    log = json.loads((tmp_path / "run_log.json").read_text())
    (tmp_path / "run_log.json").write_text(json.dumps([{"started": "then"}, *log, 7]))
    # Kills in the middle of a row: the resumed run's row goes on the same line.
    (tmp_path / "history.csv").write_text("epoch,loss\n0,2.0\n1,1.5\n2,1.2,1.2\n3,0.9\n4")
    assert runs.write_report(tmp_path) == tmp_path / "report.html"
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "accuracy \ufffd\ufffd 0.9" in page and "kerasdl run demo" in page
    assert "plot-?.png" in page and page.count('src="data:image/png;base64,') == 1
    assert "<h2>Model" not in page
    assert report.read_run(tmp_path)["history"] == {"epoch": [0, 1, 3], "loss": [2.0, 1.5, 0.9]}


def test_a_report_that_cannot_be_written_warns_and_the_run_goes_on(tmp_path, capsys):
    runs.prepare(tmp_path, CONFIG)
    (tmp_path / "report.html").unlink()
    (tmp_path / "report.html").mkdir()  # stands where the report goes
    assert runs.write_report(tmp_path) is None
    runs.write_metrics(tmp_path, {"test_accuracy": 0.5})
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"test_accuracy": 0.5}
    err = capsys.readouterr().err
    assert err.count(f"kerasdl: warning: no report for {tmp_path}: cannot write") == 2
    assert not list(tmp_path.glob(".report.html.*"))  # no temporary file left behind


def test_write_text_writes_utf8_through_a_temporary_file_of_its_own(tmp_path, monkeypatch):
    names = []
    monkeypatch.setattr(os, "replace", lambda a, b: names.append(a) or shutil.move(a, b))
    runs.write_text(tmp_path / "a.txt", "é " + os.fsdecode(b"\xff"))
    assert (tmp_path / "a.txt").read_bytes() == "é ?".encode()
    assert str(os.getpid()) in names[0].name and names[0].parent == tmp_path


def test_the_index_quotes_links_and_sorts_only_finite_numbers(tmp_path):
    for name, accuracy in (("javascript:alert(1)", float("nan")), ("a #1 100%", 0.5),
                           (os.fsdecode(b"run-\xff"), 0.25)):
        runs.prepare(tmp_path / name, CONFIG)
        runs.write_metrics(tmp_path / name, {"accuracy": accuracy, "results": [
            {"net": "wide"}, {"net": "deep", "error": float("inf")}]})
    page = report.render_index(report.find_runs([tmp_path]), tmp_path / "index.html")
    assert 'href="javascript%3Aalert%281%29/report.html"' in page
    assert 'href="a%20%231%20100%25/report.html"' in page
    assert 'href="run-%FF/report.html"' in page  # the folder's own byte
    assert '<td class="number" data-value="0.5">' in page and "<td>nan</td>" in page
    lab = html.unescape((tmp_path / "a #1 100%" / "report.html").read_text())
    assert "<th>net</th><th>error</th>" in lab and "<td>inf</td>" in lab


def test_overlaid_curves_need_no_epoch_column():
    runs_ = [{"history": {"loss": [2.0, 1.0]}}, {"history": {"epoch": [0], "loss": [3.0]}}]
    assert report.overlaid_curves(runs_, ["a", "b"]).startswith(report.PNG_SIGNATURE)
