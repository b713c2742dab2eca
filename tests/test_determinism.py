"""Determinism: the same command with the same seed gives the same metrics
on the same backend, within 1e-6 (times and memory aside)."""

import keras
import pytest

from kerasdl import cli
from kerasdl.data import paths

NEEDS = {"classification": ("keras-datasets", "mnist.npz"), "gan": ("keras-datasets", "mnist.npz"),
         "gnn": ("planetoid", "ind.cora.x"), "word2vec": None}


def figures(value, path=""):
    """The numbers in a run's metrics, by their key path, but for those that
    measure time, speed or memory."""
    if isinstance(value, dict):
        return {key: number for k, v in value.items()
                for key, number in figures(v, f"{path}/{k}").items()}
    if isinstance(value, list):
        return {key: number for i, v in enumerate(value)
                for key, number in figures(v, f"{path}/{i}").items()}
    timing = any(word in path for word in ("seconds", "per_second", "rss", "time"))
    return {path: value} if isinstance(value, (int, float)) and not timing else {}


@pytest.mark.parametrize("app", sorted(NEEDS))
def test_the_same_dry_run_twice_gives_the_same_metrics(app, tmp_path, toy_corpus):
    if NEEDS[app] and not paths.local_file(*NEEDS[app]):
        pytest.skip(f"needs $KERASDL_DATA_DIR with {'/'.join(NEEDS[app])}")
    extra = ["--corpus", str(toy_corpus), "--batch-size", "256"] if app == "word2vec" else []
    first, second = (figures(cli.load_app(app).main(
        ["--dry-run", "--backend", keras.backend.backend(), "--output-dir", str(tmp_path / run),
         *extra])) for run in ("first", "second"))
    assert first.keys() == second.keys() and len(first) > 3
    for key in first:
        assert second[key] == pytest.approx(first[key], abs=1e-6), key
