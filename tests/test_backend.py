import ast
from pathlib import Path

import keras

from kerasdl import backend

MODULES = Path(backend.__file__).parent


def _functions(name):
    tree = ast.parse((MODULES / f"{name}.py").read_text())
    return {node.name for node in tree.body
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}


def test_every_backend_module_has_the_same_functions():
    names = [_functions(b) for b in ("tensorflow", "jax", "torch")]
    assert names[0] == names[1] == names[2]
    assert {"device_info", "clear_caches"} <= names[0]


def test_describe_names_the_backend_and_a_device():
    info = backend.describe()
    assert info["backend"] == keras.backend.backend()
    assert info["device"] == "CPU" or info["device"].startswith("GPU")
    backend.clear_caches()
