"""Citation graphs: Cora and CiteSeer in the Planetoid split.

Each paper is a node with a binary bag-of-words feature vector and a topic
label; each citation is an undirected edge. The split is Yang et al.'s
(2016), used by Kipf & Welling (2017) and Veličković et al. (2018): 20
labelled nodes per class for training, 500 for validation, 1,000 for test.

The eight files `ind.NAME.{x,y,tx,ty,allx,ally,graph,test.index}` are looked
for under `$KERASDL_DATA_DIR/planetoid/`, then downloaded from the Planetoid
repository into `~/.keras/datasets/planetoid/`. No installed package ships
them, so there is no offline fallback. The pickles are read without SciPy,
and nothing but arrays, lists and dicts is unpickled from them.
"""

import collections
import dataclasses
import pickle
import sys
from pathlib import Path

import numpy as np

from kerasdl.data.paths import DATA_DIR_ENV, local_file, reading
from kerasdl.errors import UsageError, check_choice

PLANETOID_URL = "https://github.com/kimiyoung/planetoid/raw/master/data/"
PLANETOID_PARTS = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")
# The class names in the order of the label columns, matched by each class's
# size to the LINQS collections' counts (all different).
GRAPHS = {
    "cora": ("Theory", "Reinforcement_Learning", "Genetic_Algorithms", "Neural_Networks",
             "Probabilistic_Methods", "Case_Based", "Rule_Learning"),
    "citeseer": ("AI", "ML", "IR", "DB", "Agents", "HCI"),
}


@dataclasses.dataclass
class Graph:
    """A graph whose nodes are to be classified.

    `features` is float32 (nodes, features), each row summing to 1 (or 0);
    `labels` int32 (nodes,); `edges` an int32 (2, edges) array of
    (source, target) pairs holding both directions of every undirected edge
    and no self-loops; `train`, `val` and `test` are int32 arrays of node ids.
    """

    name: str
    source: str
    class_names: tuple
    features: np.ndarray
    labels: np.ndarray
    edges: np.ndarray
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    @property
    def num_nodes(self):
        return len(self.labels)

    def summary(self):
        return (f"{self.name} ({self.source}): {self.num_nodes} nodes, "
                f"{self.edges.shape[1] // 2} edges, {self.features.shape[1]} features, "
                f"{len(self.class_names)} classes; {len(self.train)} training, "
                f"{len(self.val)} validation and {len(self.test)} test nodes")


class _CsrMatrix:
    """Stands in for the pickled `scipy.sparse.csr_matrix`: unpickling fills
    its `__dict__` with `data`, `indices`, `indptr` and `_shape`."""

    def toarray(self):
        dense = np.zeros(self._shape, "float32")
        rows = np.repeat(np.arange(self._shape[0]), np.diff(self.indptr))
        dense[rows, self.indices] = self.data
        return dense


class _Unpickler(pickle.Unpickler):
    """Unpickles the Planetoid files, refusing anything but what they hold."""

    SAFE = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "dtype"), ("numpy", "ndarray"), ("collections", "defaultdict"),
            ("__builtin__", "list"), ("builtins", "list"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if module.startswith("scipy.sparse") and name == "csr_matrix":
            return _CsrMatrix
        if (module, name) not in self.SAFE:
            raise pickle.UnpicklingError(f"unexpected {module}.{name}")
        if module == "numpy.core.multiarray":
            module = "numpy._core.multiarray" if np.__version__ >= "2" else module
        return super().find_class(module, name)


def _read(path):
    with reading(path, "a Planetoid file", fix=None):
        if path.name.endswith("test.index"):
            return np.array([int(line) for line in path.read_text().split()])
        with open(path, "rb") as f:
            value = _Unpickler(f, encoding="latin1").load()
        return value.toarray() if isinstance(value, _CsrMatrix) else value


def _planetoid_files(name):
    """The paths of the eight files of `name`: local, else downloaded."""
    files = [f"ind.{name}.{part}" for part in PLANETOID_PARTS]
    local = [local_file("planetoid", f) for f in files]
    if all(local):
        return local, f"${DATA_DIR_ENV}/planetoid"
    import keras

    try:
        paths = [keras.utils.get_file(f, PLANETOID_URL + f, cache_subdir="datasets/planetoid")
                 for f in files]
    except Exception as error:  # get_file raises bare Exceptions when offline.
        print(f"Download of {name} failed: {error}", file=sys.stderr)
        raise UsageError(
            f"Cannot find {name}: set ${DATA_DIR_ENV} to a folder holding planetoid/"
            f"ind.{name}.{{{','.join(PLANETOID_PARTS)}}}, or connect to the internet once "
            f"to download them.") from None
    return [Path(p) for p in paths], "Planetoid download (~/.keras/datasets/planetoid)"


def load_graph(name):
    """Loads a citation graph with its standard Planetoid split.

    The test nodes' rows come from `tx`/`ty` and sit at the ids that
    `test.index` names; ids in the test range without a row (15 in
    CiteSeer) get zero features and the label 0, and are in no split.

    Args:
        name: one of `GRAPHS` ("cora", "citeseer").

    Returns:
        A `Graph` with row-normalised features.

    Raises:
        UsageError: for an unknown name, when the files cannot be found,
            or when one is damaged.
    """
    check_choice("dataset", name, GRAPHS)
    paths, source = _planetoid_files(name)
    x, y, tx, ty, allx, ally, graph, test_index = (_read(p) for p in paths)
    if (not isinstance(graph, collections.abc.Mapping) or allx.shape[1] != tx.shape[1]
            or not (len(ally) == len(allx) and len(ty) == len(tx) == len(test_index))):
        raise UsageError(f"The Planetoid files of {name} in {paths[0].parent} do not fit "
                         "together (wrong sizes or kinds); replace them with good copies")
    num_nodes = max(len(allx) + len(tx), max(graph) + 1, test_index.max() + 1)
    features = np.zeros((num_nodes, allx.shape[1]), "float32")
    labels = np.zeros(num_nodes, "int32")
    features[:len(allx)], labels[:len(allx)] = allx, np.argmax(ally, 1)
    features[test_index], labels[test_index] = tx, np.argmax(ty, 1)
    features /= np.maximum(features.sum(1, keepdims=True), 1e-12)

    pairs = {(int(a), int(b)) for a, targets in graph.items() for b in targets if a != b}
    pairs |= {(b, a) for a, b in pairs}
    edges = np.array(sorted(pairs), "int32").T
    if edges.max() >= num_nodes:
        raise UsageError(f"{paths[6]} names node {edges.max()}, beyond the {num_nodes} "
                         "nodes of the feature files; replace it with a good copy")
    return Graph(name=name, source=source, class_names=GRAPHS[name], features=features,
                 labels=labels, edges=edges, train=np.arange(len(y), dtype="int32"),
                 val=np.arange(len(y), len(y) + 500, dtype="int32"),
                 test=np.sort(test_index).astype("int32"))
