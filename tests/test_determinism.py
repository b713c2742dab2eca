"""Determinism: the same command with the same seed gives the same metrics
on the same backend, within 1e-6 (times and memory aside). The labs are
checked in `test_labs.py`, beside their dry runs."""

import keras
import pytest

from kerasdl import cli

# Each app, and the fixture that skips it without its data.
NEEDS = {"autoencoder": "has_mnist", "classification": "has_mnist", "gan": "has_mnist",
         "gnn": "has_planetoid", "word2vec": "toy_corpus", "text_classification": "has_polarity",
         "long_memory": "tmp_path", "transfer_learning": "has_mnist"}
# The flags that keep a dry run short, for the apps that compare several models.
SHORT = {"text_classification": ["--models", "bag,lstm", "--dim", "16", "--units", "8"],
         "long_memory": ["--lengths", "8", "--units", "8"]}


@pytest.mark.parametrize("app", sorted(NEEDS))
def test_the_same_dry_run_twice_gives_the_same_metrics(app, tmp_path, request,
                                                      assert_same_figures):
    corpus = request.getfixturevalue(NEEDS[app])
    extra = (["--corpus", str(corpus), "--batch-size", "256"] if app == "word2vec"
             else SHORT.get(app, []))
    first, second = (cli.load_app(app).main(
        ["--dry-run", "--backend", keras.backend.backend(), "--output-dir", str(tmp_path / run),
         *extra]) for run in ("first", "second"))
    assert_same_figures(first, second)
