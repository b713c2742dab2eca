"""Notebooks of the apps: every app's is well formed and in the keras-io
shape; the classification notebook runs end to end on a dry run."""

import json
import os

import keras
import pytest

from kerasdl import cli, notebooks


@pytest.mark.parametrize("app", cli.app_names())
def test_every_app_makes_a_notebook_of_valid_cells(app):
    book = notebooks.make_notebook(cli.app_source(app), app, ["--dry-run"])
    cells = book["cells"]
    assert book["nbformat"] == 4 and book["metadata"]["kernelspec"]["name"] == "python3"
    assert cells[0]["cell_type"] == "markdown" and cli.app_summary(app) in "".join(
        cells[0]["source"])
    code = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    for text in code:
        compile(text, app, "exec")  # a top-level `return` fails here
        assert "# noqa" not in text
    assert code[0] == "ARGS = ['--dry-run']" and "flags.choose_backend(ARGS)" in code[1]
    assert any("config, args = parse_config(ARGS)" in text
               or "flags.run_app(APP, parse_config, train_and_evaluate, ARGS)" in text
               for text in code)
    assert not any("def main(" in text or "__main__" in text for text in code)


def test_the_run_is_unrolled_section_by_section():
    cells = notebooks.make_notebook(cli.app_source("classification"), "classification")["cells"]
    markdown = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]
    sections = [text.split(":")[0] for text in markdown
                if text.startswith(("Data", "Model", "Train", "Evaluate"))]
    assert sections == ["Data", "Model", "Train with the optimizer and schedule named, then "
                        "evaluate on the test\nsplit.", "Evaluate"]
    assert "".join(cells[-1]["source"]) == "metrics"
    # An app that returns early keeps train_and_evaluate whole, and calls it.
    code = ["".join(cell["source"]) for cell in
            notebooks.make_notebook(cli.app_source("transfer_learning"), "transfer")["cells"]]
    assert any(text.startswith("def train_and_evaluate(") for text in code)
    assert code[-1] == "flags.run_app(APP, parse_config, train_and_evaluate, ARGS)"


RUN = """def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    {body}
"""


@pytest.mark.parametrize("body", [
    "if config:\n        return\n    return 1",  # returns early
    "print(1)\n    return",  # returns nothing
    "global X\n    X = 1\n    return X",
    "yield 1\n    return 2",
])
def test_a_run_that_cannot_be_unrolled_is_kept_whole(body):
    source = "import os\n\n" + RUN.format(body=body)  # and no module docstring
    cells = notebooks.make_notebook(source, "demo")["cells"]
    code = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    assert code[1] == "import os" and code[2].startswith("def train_and_evaluate(")
    assert code[-1] == "flags.run_app(APP, parse_config, train_and_evaluate, ARGS)"
    assert "".join(cells[0]["source"]) == "# demo"


def test_a_run_with_other_parameters_is_kept_whole():
    source = '"""Doc."""\n' + RUN.format(body="return 1").replace("command=None",
                                                                    "command=None, n=2")
    code = ["".join(cell["source"]) for cell in
            notebooks.make_notebook(source, "demo")["cells"] if cell["cell_type"] == "code"]
    assert code[-1] == "flags.run_app(APP, parse_config, train_and_evaluate, ARGS)"
    unrolled = notebooks.make_notebook('"""Doc."""\n' + RUN.format(body="return 1"), "demo")
    assert "".join(unrolled["cells"][-1]["source"]) == "1"


def test_kerasdl_notebook_writes_the_file_and_keeps_an_existing_one(tmp_path, capsys):
    path = tmp_path / "c.ipynb"
    assert cli.main(["notebook", "classification", "--output", str(path), "--",
                     "--dry-run", "--epochs", "2"]) == 0
    assert json.loads(path.read_text())["cells"][2]["source"] == [
        "ARGS = ['--dry-run', '--epochs', '2']"]
    assert cli.main(["notebook", "classification", "--output", str(path)]) == 2
    assert "exists; choose another --output, or pass --overwrite" in capsys.readouterr().err


def test_the_classification_notebook_runs_end_to_end(tmp_path, has_mnist):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    import nbformat

    run, path = tmp_path / "run", tmp_path / "classification.ipynb"
    notebooks.write_notebook(path, cli.app_source("classification"), "classification",
                             ["--dry-run", "--backend", keras.backend.backend(),
                              "--output-dir", str(run)])
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    nbclient.NotebookClient(book, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute(
        env={**os.environ, "KERAS_BACKEND": keras.backend.backend()})
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["backend"] == keras.backend.backend() and metrics["epochs_run"] == 1
    shown = book.cells[-1].outputs[0]["data"]["text/plain"]
    assert f"'test_accuracy': {metrics['test_accuracy']}" in shown
