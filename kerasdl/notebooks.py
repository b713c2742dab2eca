"""Jupyter notebooks of the apps, made from their source when asked
(`kerasdl notebook NAME`), so that there is no second copy to drift.

A notebook reads like a keras-io one: the app's docstring, then its code,
with each block of top-level comments as a markdown cell; then the run
itself, `train_and_evaluate`'s body section by section ("# Data: ...",
"# Model: ..."), each section's comment a markdown cell and its code a cell,
on the settings that the flags in `ARGS` give. An app whose
`train_and_evaluate` cannot run that way (it returns early, for one) keeps
it whole and runs it with `flags.run_app`, as `kerasdl run` does. An
unrolled run that diverges stops at the cell that raised, and its
`metrics.json` is not written, as `kerasdl run` writes it; it logs to
TensorBoard with `--tensorboard`, but `--quiet` and `--distribute` do
nothing there.
Keras-free.
"""

import ast
import json
import re

NOQA = re.compile(r"\s+# noqa\b.*$")
PARAMETERS = ["config", "output_dir", "overwrite", "command"]  # of train_and_evaluate
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def _cell(kind, lines):
    text = "\n".join(lines).strip("\n")
    cell = {"cell_type": kind, "metadata": {}, "source": text.splitlines(keepends=True)}
    return {**cell, "execution_count": None, "outputs": []} if kind == "code" else cell


def _markdown(comments):
    """A comment block's text, without its '#' marks."""
    return [line.strip().removeprefix("#").removeprefix(" ") for line in comments]


def _cells(lines, nodes, after, indent=0, keep=lambda node: True):
    """Cells of the statements `nodes`, one after another in `lines` from
    line `after` on: each block of comment lines before a statement is a
    markdown cell; the statements between two blocks are one code cell (a
    function or class has one of its own), `indent` columns dedented, and
    without linters' `# noqa` marks. Statements not kept (nor the comments before
    them) make no cell."""
    cells, code, previous_end = [], [], after
    for node in nodes:
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        gap = lines[previous_end:start - 1]
        previous_end = node.end_lineno
        if not keep(node):
            continue
        comments = [line for line in gap if line.strip().startswith("#")]
        if code and (comments or isinstance(node, (ast.FunctionDef, ast.ClassDef))):
            cells.append(_cell("code", code))
            code = []
        if comments:
            cells.append(_cell("markdown", _markdown(comments)))
        elif code and any(not line.strip() for line in gap):
            code.append("")
        code += [NOQA.sub("", line[indent:]) for line in lines[start - 1:node.end_lineno]]
    return cells + ([_cell("code", code)] if code else [])


def _unrollable(function):
    """Whether `function`'s body can run as top-level cells: it takes just
    the arguments that the notebook's settings cell defines, its one
    `return` (outside functions it defines) is its last statement and gives
    a value, and it has no `global`, `nonlocal` or `yield`."""
    args = function.args
    if ([arg.arg for arg in args.args] != PARAMETERS or args.vararg or args.kwarg
            or args.kwonlyargs or args.posonlyargs):
        return False
    found, todo = [], list(function.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Global, ast.Nonlocal, ast.Yield, ast.YieldFrom)):
            return False
        if isinstance(node, ast.Return):
            found.append(node)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                   ast.ClassDef)):
            todo += ast.iter_child_nodes(node)
    return found == [function.body[-1]] and found[0].value is not None


def make_notebook(source, app, args=()):
    """The notebook of the app whose source is `source`.

    Args:
        source: the app's Python source.
        app: its name, as in `kerasdl run NAME`.
        args: the flags the notebook runs with (the `ARGS` cell).

    Returns:
        The notebook as a dict in nbformat 4, ready for `json.dump`.
    """
    lines = source.replace("flags.choose_backend()", "flags.choose_backend(ARGS)").splitlines()
    tree = ast.parse(source)
    doc = ast.get_docstring(tree)
    body = tree.body[1:] if doc is not None else tree.body
    run = next(node for node in body if getattr(node, "name", "") == "train_and_evaluate")

    def kept(node):  # all but the run, `main` and the `if __name__ == "__main__":` block
        return node is not run and getattr(node, "name", "") != "main" and not (
            isinstance(node, ast.If) and "__main__" in ast.unparse(node.test))

    cells = [_cell("markdown", [f"# {app}", "", *(doc or "").splitlines()]),
             _cell("markdown", ["The flags, as on the command line (`kerasdl run "
                                f"{app} --help` lists them); `--backend` takes effect when "
                                "the notebook starts, before Keras loads."]),
             _cell("code", [f"ARGS = {list(args)!r}"])]
    cells += _cells(lines, body, tree.body[0].end_lineno if doc is not None else 0, keep=kept)
    if _unrollable(run):
        settings = ["from kerasdl.callbacks import start_logging",
                    "",
                    "config, args = parse_config(ARGS)",
                    "output_dir, overwrite = args.output_dir, args.overwrite",
                    "command = flags.command_line(APP, ARGS)",
                    "start_logging(flags.tensorboard_folder(args))  # as `kerasdl run` does"]
        start, *steps, last = run.body if ast.get_docstring(run) else [None, *run.body]
        cells += [_cell("markdown", ["## The run", "", "The settings, from the flags:"]),
                  _cell("code", settings)]
        cells += _cells(lines, steps, start.end_lineno if start else run.lineno, indent=4)
        cells.append(_cell("code", [ast.unparse(last.value)]))
    else:
        cells += [_cell("code", lines[run.lineno - 1:run.end_lineno]),
                  _cell("markdown", ["## The run", "", "As `kerasdl run` runs it:"]),
                  _cell("code", ["flags.run_app(APP, parse_config, train_and_evaluate, ARGS)"])]
    return {"cells": cells, "metadata": {"kernelspec": KERNEL, "language_info": {
        "name": "python"}}, "nbformat": 4, "nbformat_minor": 4}


def write_notebook(path, source, app, args=()):
    """Writes `make_notebook(source, app, args)` to `path`."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(make_notebook(source, app, args), f, indent=1)
        f.write("\n")
