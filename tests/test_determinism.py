"""Determinism: the same command with the same seed gives the same metrics
on the same backend, within 1e-6 (times and memory aside)."""

import keras
import pytest

from kerasdl import cli

# Each app, and the fixture that skips it without its data.
NEEDS = {"autoencoder": "has_mnist", "classification": "has_mnist", "gan": "has_mnist",
         "gnn": "has_planetoid", "word2vec": "toy_corpus", "text_classification": "has_polarity",
         "long_memory": "tmp_path"}
# The flags that keep a dry run short, for the apps that compare several models.
SHORT = {"text_classification": ["--models", "bag,lstm", "--dim", "16", "--units", "8"],
         "long_memory": ["--lengths", "8", "--units", "8"]}


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
def test_the_same_dry_run_twice_gives_the_same_metrics(app, tmp_path, request):
    corpus = request.getfixturevalue(NEEDS[app])
    extra = (["--corpus", str(corpus), "--batch-size", "256"] if app == "word2vec"
             else SHORT.get(app, []))
    first, second = (figures(cli.load_app(app).main(
        ["--dry-run", "--backend", keras.backend.backend(), "--output-dir", str(tmp_path / run),
         *extra])) for run in ("first", "second"))
    assert first.keys() == second.keys() and len(first) > 3
    for key in first:
        assert second[key] == pytest.approx(first[key], abs=1e-6), key
