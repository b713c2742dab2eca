"""The word2vec app and its data: the text corpus (`kerasdl.data.text`), the
app's config, tuning spec and dry run, and the `kerasdl word2vec` command.
The library package has its own tests: test_word2vec_batches.py,
test_word2vec_models.py and test_word2vec_embeddings.py."""

import json

import keras
import numpy as np
import pytest

from kerasdl import cards, cli, presets, tuning
from kerasdl.errors import UsageError
from kerasdl.word2vec import embeddings


def test_config_takes_the_architecture_preset_and_the_flags(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path))
    app = cli.load_app("word2vec")
    config, _ = app.parse_config(["--arch", "cbow", "--window", "3"])
    assert {k: config[k] for k in presets.WORD2VEC["cbow"]} == {
        **presets.WORD2VEC["cbow"], "window": 3}
    assert config["similarity"] is None and config["analogies"] is None
    assert config["plot_words"][:3] == ["one", "two", "three"]
    dry, _ = app.parse_config(["--dry-run", "--plot-words", "a  b"])
    assert dry["epochs"] == 1 and dry["plot_words"] == ["a", "b"]
    assert dry["min_count"] == presets.WORD2VEC_DRY_RUN["min_count"]
    refusal = "3 does not divide --batch-size 4096; .*or --share-negatives 1"
    with pytest.raises(UsageError, match=refusal):
        app.parse_config(["--share-negatives", "3"])
    # `kerasdl tune` puts each sampled value at the top of the config.
    assert set(app.TUNING["space"]) <= set(config)
    assert tuning.apply(config, {"dim": 50})["dim"] == 50


def test_word2vec_dry_run_and_explore(tmp_path, toy_corpus, capsys):
    sim = tmp_path / "sim.tsv"
    sim.write_text("one two 9\nred blue 8\none red 1\ntwo paint 2\n")
    analogies = tmp_path / "analogies.txt"
    analogies.write_text(": numbers\none two three four\n")
    out = tmp_path / "run"
    app = cli.load_app("word2vec")
    metrics = app.main(
        ["--dry-run", "--backend", keras.backend.backend(), "--corpus", str(toy_corpus),
         "--similarity", str(sim), "--analogies", str(analogies), "--batch-size", "256",
         "--output-dir", str(out), "--arch", "cbow"])
    assert metrics["arch"] == "cbow" and metrics["epochs"] == 1
    assert metrics["similarity"]["pairs"] == 4 and metrics["analogies"]["questions"] == 1
    assert metrics[app.TUNING["objective"]] == metrics["similarity"]["dev_spearman"]
    assert metrics["words_per_second"] > 0
    assert json.loads((out / "metrics.json").read_text()) == metrics
    for name in ("vectors.txt", "vectors.tsv", "metadata.tsv", "words.png",
                 "history.csv", "config.json"):
        assert (out / name).exists(), name
    assert not (out / "backup").exists()
    embedding, card = cards.load(out / "model")
    assert card["app"] == "word2vec" and card["command"].startswith("kerasdl run word2vec")
    assert card["metrics"]["wordsim_spearman"] == metrics["similarity"]["spearman"]
    saved = embeddings.load(out / "vectors.txt")
    assert card["preprocessing"] == saved.preprocessing(presets.WORD2VEC_DRY_RUN["min_count"])
    ids = np.array([[saved.index["two"], saved.index["red"]]], "int32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(embedding(ids))[0],
                               saved.vectors[ids[0]], atol=1e-5)

    capsys.readouterr()
    assert cli.main(["word2vec", "neighbors", "--model", str(out), "two", "-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "two" and len(lines) == 4
    assert -1 <= float(lines[1].split()[1]) <= 1
    assert cli.main(["word2vec", "analogy", "--model", str(out), "one", "two", "zzz"]) == 2
    assert "Not in the vocabulary: 'zzz'" in capsys.readouterr().err
