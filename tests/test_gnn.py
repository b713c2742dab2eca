"""The graph networks: the Planetoid loader, the two graph layers against
dense reference formulas, and a dry run of the app."""

import collections
import json
import pickle

import keras
import numpy as np
import pytest

from kerasdl import cli
from kerasdl.data import graphs
from kerasdl.errors import UsageError
from kerasdl.models.graphs import GraphAttention, GraphConv, NodeClassifier


def write_planetoid(folder, name="cora"):
    """Writes a 10-node graph in the Planetoid format, as Python 2 wrote
    it (pickle protocol 2): nodes 0-1 labelled, 2-5 the rest of `allx`, and
    test rows for ids 9, 7 and 6 (in that order); id 8 has no row."""
    sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    allx = rng.integers(0, 2, (6, 5)).astype("float32")
    allx[:, 0] = 1  # no empty rows
    tx = np.eye(3, 5, dtype="float32")
    onehot = np.eye(7, dtype="int32")
    graph = collections.defaultdict(list, {0: [1, 9], 1: [0], 2: [2, 3], 3: [2], 9: [0]})
    parts = {"x": sparse.csr_matrix(allx[:2]), "y": onehot[[0, 1]],
             "allx": sparse.csr_matrix(allx), "ally": onehot[[0, 1, 2, 3, 4, 5]],
             "tx": sparse.csr_matrix(tx), "ty": onehot[[6, 5, 4]], "graph": graph}
    for part, value in parts.items():
        (folder / f"ind.{name}.{part}").write_bytes(pickle.dumps(value, protocol=2))
    (folder / f"ind.{name}.test.index").write_text("9\n7\n6\n")
    return allx, tx


def test_planetoid_files_give_the_graph_with_its_split(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path))
    allx, tx = write_planetoid(tmp_path / "planetoid")
    graph = graphs.load_graph("cora")
    assert graph.num_nodes == 10 and graph.source == "$KERASDL_DATA_DIR/planetoid"
    assert graph.labels.tolist() == [0, 1, 2, 3, 4, 5, 4, 5, 0, 6]
    np.testing.assert_allclose(graph.features[9], tx[0] / tx[0].sum())
    np.testing.assert_allclose(graph.features[3], allx[3] / allx[3].sum())
    assert not graph.features[8].any()
    # Undirected, without self-loops, each direction once.
    assert sorted(map(tuple, graph.edges.T)) == [(0, 1), (0, 9), (1, 0), (2, 3), (3, 2), (9, 0)]
    assert graph.train.tolist() == [0, 1] and graph.test.tolist() == [6, 7, 9]


def test_a_damaged_or_foreign_planetoid_file_is_one_line_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path))
    write_planetoid(tmp_path / "planetoid")
    graph_file = tmp_path / "planetoid" / "ind.cora.graph"
    graph_file.write_bytes(graph_file.read_bytes()[:20])
    with pytest.raises(UsageError, match="ind.cora.graph is damaged or not a Planetoid file"):
        graphs.load_graph("cora")
    # A pickle that would call anything but the arrays' and dicts' builders.
    graph_file.write_bytes(pickle.dumps(collections.OrderedDict(), protocol=2))
    with pytest.raises(UsageError, match="unexpected collections.OrderedDict"):
        graphs.load_graph("cora")


def test_without_the_files_or_the_internet_the_error_names_the_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path))

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(UsageError, match=r"planetoid/ind.citeseer.\{x,y,tx,ty,allx,ally,graph,"):
        graphs.load_graph("citeseer")
    with pytest.raises(UsageError, match="Unknown dataset: 'pubmed'"):
        graphs.load_graph("pubmed")


def test_cora_and_citeseer_have_the_standard_split(has_planetoid):
    for name, nodes, edges, classes in [("cora", 2708, 5278, 7), ("citeseer", 3327, 4552, 6)]:
        graph = graphs.load_graph(name)
        assert (graph.num_nodes, graph.edges.shape[1] // 2) == (nodes, edges)
        assert np.bincount(graph.labels[graph.train]).tolist() == [20] * classes
        assert (len(graph.val), len(graph.test)) == (500, 1000)
        assert not set(graph.train) & set(graph.val) | set(graph.val) & set(graph.test)


def small_graph():
    rng = np.random.default_rng(1)
    features = rng.random((6, 4)).astype("float32")
    pairs = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (0, 5), (1, 4)]
    edges = np.array(pairs + [(b, a) for a, b in pairs]).T
    adjacency = np.eye(6)  # with self-loops, as the model adds them
    adjacency[edges[1], edges[0]] = 1
    return features, edges, adjacency


def test_graph_conv_is_the_normalised_adjacency_times_h_times_w():
    features, edges, adjacency = small_graph()
    model = NodeClassifier(features, edges, [GraphConv(3)])
    degree = adjacency.sum(1)
    normalised = adjacency / np.sqrt(np.outer(degree, degree))
    out = keras.ops.convert_to_numpy(model(np.arange(6)))
    kernel = keras.ops.convert_to_numpy(model.graph_layers[0].kernel)
    np.testing.assert_allclose(out, normalised @ features @ kernel, rtol=1e-5, atol=1e-6)


def test_graph_attention_is_a_softmax_over_each_nodes_neighbours():
    features, edges, adjacency = small_graph()
    layer = GraphAttention(2, heads=3)
    model = NodeClassifier(features, edges, [layer])
    out = keras.ops.convert_to_numpy(model(np.arange(6)))
    kernel, target, source = (keras.ops.convert_to_numpy(w) for w in (
        layer.kernel, layer.attend_target, layer.attend_source))
    z = (features @ kernel).reshape(6, 3, 2)
    expected = []
    for head in range(3):
        scores = (z[:, head] @ target[head])[:, None] + (z[:, head] @ source[head])[None, :]
        scores = np.where(scores > 0, scores, 0.2 * scores)
        weights = np.where(adjacency > 0, np.exp(scores), 0)
        expected.append((weights / weights.sum(1, keepdims=True)) @ z[:, head])
    np.testing.assert_allclose(out, np.concatenate(expected, 1), rtol=1e-5, atol=1e-6)


def test_sparse_feature_dropout_drops_only_in_training():
    features, edges, _ = small_graph()
    model = NodeClassifier(features, edges, [keras.layers.Identity()], feature_dropout=0.5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(np.arange(6))), features)
    dropped = keras.ops.convert_to_numpy(model(np.arange(6), training=True))
    assert 0 < (dropped == 0).mean() < 1
    np.testing.assert_allclose(dropped[dropped != 0], 2 * features[dropped != 0], rtol=1e-6)


@pytest.mark.parametrize("model", ["gcn", "gat"])
def test_gnn_dry_run(model, tmp_path, has_planetoid):
    app = cli.load_app("gnn")
    metrics = app.main(["--dry-run", "--model", model, "--backend", keras.backend.backend(),
                        "--output-dir", str(tmp_path)])
    assert json.loads((tmp_path / "metrics.json").read_text())["claim"] == metrics["claim"]
    assert metrics["dataset"] == "cora" and len(metrics["results"]) == 1
    assert 0 <= metrics["test_accuracy"] <= 1 and metrics["results"][0]["epochs"] == 1
    assert (tmp_path / "embeddings.png").stat().st_size > 5000
