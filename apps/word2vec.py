"""word2vec: word vectors from skip-gram and CBOW with negative sampling.

Words used in the same contexts get similar vectors. Skip-gram predicts the
words around a word from its vector; CBOW predicts a word from the mean of
its context's vectors. Instead of a softmax over the vocabulary, negative
sampling scores the true word against a few negatives drawn from the
unigram distribution to the power 0.75: the loss is -log sigmoid(true
score) - sum log sigmoid(-negative score), scores being dot products. The
vectors are scored on WordSim-353 (Spearman correlation with human scores)
and the Google analogies (3CosAdd among the 30,000 most frequent words).

The run writes metrics.json, vectors.txt (word2vec text format), model/ (a
Keras Embedding model from word ids, with its card), vectors.tsv and
metadata.tsv (for the TensorBoard Embedding Projector) and words.png (a PCA
map) into --output-dir; `kerasdl word2vec neighbors|analogy` explores them.
"""

import sys
from pathlib import Path

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402

from kerasdl import backend, callbacks, cards, presets, runs, training  # noqa: E402
from kerasdl.data import text  # noqa: E402
from kerasdl.errors import UsageError  # noqa: E402
from kerasdl.word2vec import batches, embeddings, models  # noqa: E402

APP = "word2vec"
FLAGS = {
    "corpus": {"default": "text8", "help": "'text8' (a local copy in $KERASDL_DATA_DIR/"
               "corpora, else a download; offline, the corpora there) or a plain-text file"},
    "arch": {"choices": models.ARCHS, "default": "skipgram",
             "help": "architecture; its preset gives the defaults"},
    "dim": {"type": flags.positive_int, "preset": "dim", "help": "vector size"},
    "window": {"type": flags.positive_int, "preset": "window",
               "help": "largest window; each word draws one from 1 to this"},
    "negatives": {"type": flags.positive_int, "preset": "negatives",
                  "help": "negatives per true word"},
    "share_negatives": {"type": flags.positive_int, "preset": "share_negatives", "help":
                        "examples sharing one draw of negatives (divides --batch-size)"},
    "min_count": {"type": flags.positive_int, "preset": "min_count",
                  "help": "fewest occurrences of a word in the vocabulary"},
    "subsample": {"type": flags.fraction, "preset": "subsample",
                  "help": "threshold of frequent-word subsampling, 0 for none"},
    "similarity": {"help": "word-similarity file (word1 word2 score); default: "
                           "$KERASDL_DATA_DIR/word-similarity/wordsim353.tsv"},
    "analogies": {"help": "analogy file in the Google format; default: "
                          "$KERASDL_DATA_DIR/word-similarity/questions-words.txt"},
    "plot_words": {"type": str.split, "default": embeddings.MAP_WORDS,
                   "help": "words to map in words.png, separated by spaces"},
}
# What `kerasdl tune word2vec` searches (rates of 0.1 and more diverge), for
# the dev half of WordSim-353; there is no validation split to give back.
TUNING = {
    "space": {
        "dim": {"type": "choice", "values": [50, 100, 200]},
        "window": {"type": "choice", "values": [2, 5, 8]},
        "negatives": {"type": "choice", "values": [5, 10]},
        "lr": {"type": "float", "min": 0.0125, "max": 0.05, "step": 2, "sampling": "log"},
    },
    "objective": "val_similarity",
    "direction": "max",
    "retrain_on_validation": False,
}


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Trains word vectors as `config` (from `parse_config`) says, in
    `output_dir`, and returns their metrics; `command` goes on the card."""
    # Data: the corpus as word ids (rare words left out), and an endless
    # stream of batches over it: a true word and its negatives per example.
    output_dir = Path(output_dir)
    corpus = text.load_corpus(config["corpus"], config["min_count"],
                              presets.WORD2VEC_DRY_RUN["chars"] if config["dry_run"] else None)
    print(corpus.summary(), flush=True)
    resumed = runs.prepare(output_dir, config, overwrite, resumes=True, command=command)
    keras.utils.set_random_seed(config["seed"])
    stream = batches.Word2VecBatches(
        corpus.tokens, corpus.vocabulary.counts, config["arch"], config["window"],
        config["negatives"], config["subsample"], config["batch_size"],
        share=config["share_negatives"], seed=config["seed"])
    steps = stream.steps_per_pass()

    # Model: the logits are the dot products of the hidden vector with the
    # output vectors of the true word and the negatives, the loss their summed
    # binary cross-entropy (`models.NegativeSamplingLoss`), trained by SGD on
    # the rows each batch reads (`models.Word2Vec`).
    model = models.build_word2vec(len(corpus.vocabulary), config["arch"], config["dim"],
                                  config["window"], config["negatives"], config["share_negatives"])
    models.compile_word2vec(model, config["lr"], steps * config["epochs"])
    print(f"Model: {model.name}, {model.count_params():,} parameters; "
          f"{steps:,} batches of {config['batch_size']} per epoch", flush=True)

    # Train
    training.fit(model, (iter(stream),), None, epochs=config["epochs"], batch_size=None,
                 output_dir=output_dir, steps_per_epoch=steps, shuffle=False)
    seconds = training.train_seconds(output_dir)

    # Evaluate: word similarity (its dev half is the tuning objective),
    # analogies and neighbours; then the files to explore the vectors with.
    vectors = embeddings.WordVectors(corpus.vocabulary.words, models.word_vectors(model))
    metrics = {"app": APP, "corpus": str(corpus.path), "corpus_source": corpus.source,
               "arch": config["arch"], "resumed": resumed, **backend.describe(),
               "vocabulary": len(vectors.words), "corpus_words": corpus.words,
               "epochs": config["epochs"], "train_seconds": round(seconds, 1),
               "words_per_second": round(corpus.words * config["epochs"] / seconds),
               **embeddings.evaluate(vectors, config["similarity"], config["analogies"])}
    vectors.save(output_dir / embeddings.VECTORS_FILE)
    vectors.save_projector(output_dir, callbacks.log_folder())
    vectors.save_map(config["plot_words"], output_dir / "words.png", model.name)
    embedding = models.embedding_model(model)
    cards.save(embedding, output_dir / "model", cards.make_card(
        embedding, app=APP, dataset=corpus.path.stem, class_names=[],
        preprocessing=vectors.preprocessing(config["min_count"]),
        metrics={"wordsim_spearman": metrics.get("similarity", {}).get("spearman"),
                 "analogy_accuracy": metrics.get("analogies", {}).get("accuracy"),
                 "train_seconds": metrics["train_seconds"]},
        seed=config["seed"], command=command))
    runs.write_metrics(output_dir, metrics)
    scores = [f"{metrics['words_per_second']:,} words/s", *embeddings.summary(metrics)]
    print(f"{'; '.join(scores)}. Results in {output_dir}", flush=True)
    return metrics


def parse_config(argv=None):
    """Parses the flags into `(config, args)`, with defaults from the preset."""
    config, args = flags.parse(APP, __doc__, FLAGS, argv, presets=presets.WORD2VEC,
                               pick=lambda args: args.arch)
    if config["batch_size"] % config["share_negatives"]:
        raise UsageError(f"argument --share-negatives: {config['share_negatives']} does "
                         f"not divide --batch-size {config['batch_size']}; pass a --batch-size "
                         "that it divides, or --share-negatives 1")
    if config["dry_run"]:
        config["min_count"] = min(config["min_count"], presets.WORD2VEC_DRY_RUN["min_count"])
    text.check_corpus_name(config["corpus"])
    config["similarity"] = text.evaluation_file(config["similarity"], "wordsim353.tsv")
    config["analogies"] = text.evaluation_file(config["analogies"], "questions-words.txt")
    return config, args


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
