"""word2vec: skip-gram and CBOW word embeddings with negative sampling.

Trains word vectors on text8 (or any plain-text file) and evaluates them on
WordSim-353 (Spearman correlation) and the Google analogies (3CosAdd
accuracy among the 30,000 most frequent words). The run writes
metrics.json, vectors.txt (word2vec text format), model/ (the vectors as a
Keras Embedding model from word ids, with its card), vectors.tsv and
metadata.tsv (for the TensorBoard Embedding Projector) and words.png (a PCA
map of a few words) into --output-dir. Explore the vectors with
`kerasdl word2vec neighbors --model DIR WORD...` and
`kerasdl word2vec analogy --model DIR a b c`.
"""

import json
import sys
import time
from pathlib import Path

from kerasdl import flags, names, presets

APP = "word2vec"
PLOT_WORDS = ("one two three four five six seven eight nine ten "
              "monday tuesday friday sunday january march july december "
              "france paris germany berlin italy rome japan tokyo "
              "king queen man woman boy girl father mother "
              "red green blue black white dog cat horse bird fish")
PROBE_WORDS = ("five", "france", "king", "monday", "computer")


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Trains word vectors and evaluates them, as `config` says.

    Args:
        config: a dict with the keys of a `presets.WORD2VEC` entry plus
            `corpus`, `arch`, `similarity`, `analogies`, `plot_words`, `seed`
            and `dry_run`.
        output_dir: the folder for everything the run writes.
        overwrite: replace a finished run in `output_dir`.
        command: the command line that made the run, for the card.

    Returns:
        The metrics dict, also written to `output_dir/metrics.json`.
    """
    # Imported here, once the backend is chosen (see flags.use_backend).
    import keras

    from kerasdl import backend, cards, embeddings, plots, runs, training
    from kerasdl.data import text
    from kerasdl.models import word2vec

    output_dir = Path(output_dir)
    print(f"kerasdl {APP}: backend {keras.backend.backend()}, "
          f"device {backend.device_info()}", flush=True)

    # Data: the corpus as word ids, and a stream of batches over it.
    corpus, source = text.find_corpus(config["corpus"])
    max_chars = presets.WORD2VEC_DRY_RUN["chars"] if config["dry_run"] else None
    vocabulary = text.build_vocabulary(corpus, config["min_count"], max_chars)
    tokens, corpus_words = text.encode(corpus, vocabulary, max_chars)
    print(f"Data: {source}: {corpus_words:,} words, vocabulary {len(vocabulary):,} "
          f"(min count {config['min_count']})", flush=True)
    resumed = runs.prepare(output_dir, config, overwrite)
    keras.utils.set_random_seed(config["seed"])
    batches = text.Word2VecBatches(
        tokens, vocabulary.counts, config["arch"], config["window"], config["negatives"],
        config["subsample"], config["batch_size"], share=config["share_negatives"],
        seed=config["seed"])
    steps = batches.steps_per_pass()

    # Model
    model = word2vec.word2vec(len(vocabulary), config["arch"], config["dim"],
                              config["window"], config["negatives"],
                              config["share_negatives"])
    word2vec.compile_word2vec(model, config["lr"], steps * config["epochs"])
    print(f"Model: {model.name}, {model.count_params():,} parameters; "
          f"{steps:,} batches of {config['batch_size']} per epoch", flush=True)

    # Train
    start = time.perf_counter()
    training.fit(model, (iter(batches),), None, epochs=config["epochs"], batch_size=None,
                 output_dir=output_dir, steps_per_epoch=steps, shuffle=False)
    train_seconds = time.perf_counter() - start

    # Evaluate: word similarity and analogies, then the files to explore.
    vectors = embeddings.WordVectors(vocabulary.words, word2vec.word_vectors(model))
    metrics = {"app": APP, "corpus": str(corpus), "corpus_source": source,
               "arch": config["arch"], "resumed": resumed, **backend.describe(),
               "vocabulary": len(vocabulary), "corpus_words": corpus_words,
               "epochs": config["epochs"], "train_seconds": round(train_seconds, 1),
               "words_per_second": round(corpus_words * config["epochs"] / train_seconds)}
    for key, evaluate in (("similarity", embeddings.evaluate_similarity),
                          ("analogies", embeddings.evaluate_analogies)):
        path = config[key] and Path(config[key])
        if path is None:
            print(f"WARNING: no {key} file (--{key}); skipping that evaluation.",
                  file=sys.stderr)
            continue
        metrics[key] = {"file": str(path), **evaluate(vectors, path)}
    probes = [w for w in PROBE_WORDS if w in vectors.index]
    metrics["neighbors"] = {w: [n for n, _ in vectors.neighbors(w, 8)] for w in probes}
    vectors.save(output_dir / embeddings.VECTORS_FILE)
    vectors.save_projector(output_dir)
    shown = [w for w in config["plot_words"] if w in vectors.index]
    if len(shown) >= 3:
        points = plots.pca_2d(vectors.vectors[[vectors.index[w] for w in shown]])
        plots.word_map(points, shown, output_dir / "words.png",
                       title=f"{model.name}: PCA of {len(shown)} word vectors")
    embedding = word2vec.embedding_model(model)
    card = cards.make_card(
        embedding, app=APP, dataset=Path(corpus).stem, class_names=[],
        preprocessing={"word_ids": f"line i + 1 of {embeddings.VECTORS_FILE} is word id i, "
                                   f"the {len(vocabulary):,} words of min count "
                                   f"{config['min_count']}, most frequent first"},
        metrics={"wordsim_spearman": metrics.get("similarity", {}).get("spearman"),
                 "analogy_accuracy": metrics.get("analogies", {}).get("accuracy"),
                 "train_seconds": metrics["train_seconds"]},
        seed=config["seed"], command=command)
    cards.save(embedding, output_dir / "model", card)
    runs.write_metrics(output_dir, metrics)

    summary = [f"{metrics['words_per_second']:,} words/s"]
    if "similarity" in metrics:
        summary.append(f"WordSim Spearman {metrics['similarity']['spearman']:.3f}")
    if "analogies" in metrics and metrics["analogies"]["accuracy"] is not None:
        summary.append(f"analogy accuracy {metrics['analogies']['accuracy']:.4f}")
    print(f"{'; '.join(summary)}. Results in {output_dir}", flush=True)
    return metrics


def parse_config(argv=None):
    """Parses the flags into `(config, args)`, filling gaps from the presets."""
    from kerasdl.data import text

    parser = flags.app_parser(APP, __doc__, presets=presets.WORD2VEC)

    def preset_help(key):
        return flags.preset_help(presets.WORD2VEC, key)

    parser.add_argument("--corpus", default="text8",
                        help="'text8' (a local copy in $KERASDL_DATA_DIR/corpora, else "
                             "a download; offline, the corpora there) or a plain-text file")
    parser.add_argument("--arch", choices=names.WORD2VEC_ARCHS, default="skipgram",
                        help="architecture; its preset gives the defaults")
    parser.add_argument("--dim", type=flags.positive_int, default=None,
                        help="vector size" + preset_help("dim"))
    parser.add_argument("--window", type=flags.positive_int, default=None,
                        help="largest window; each word draws one from 1 to this"
                             + preset_help("window"))
    parser.add_argument("--negatives", type=flags.positive_int, default=None,
                        help="negatives per true word" + preset_help("negatives"))
    parser.add_argument("--share-negatives", type=flags.positive_int, default=None,
                        help="examples that share one draw of negatives, a divisor of "
                             "--batch-size; 1 gives each its own, as the original"
                             + preset_help("share_negatives"))
    parser.add_argument("--min-count", type=flags.positive_int, default=None,
                        help="fewest occurrences of a word in the vocabulary"
                             + preset_help("min_count"))
    parser.add_argument("--subsample", type=flags.fraction, default=None,
                        help="threshold of frequent-word subsampling, 0 for none"
                             + preset_help("subsample"))
    parser.add_argument("--similarity", default=None,
                        help="word-similarity file (word1 word2 score); default: "
                             "$KERASDL_DATA_DIR/word-similarity/wordsim353.tsv")
    parser.add_argument("--analogies", default=None,
                        help="analogy file in the Google format; default: "
                             "$KERASDL_DATA_DIR/word-similarity/questions-words.txt")
    parser.add_argument("--plot-words", default=PLOT_WORDS,
                        help="words to map in words.png, separated by spaces")
    args = parser.parse_args(argv)

    # Bad values are refused here, before the backend is imported (which
    # prints TensorFlow's start-up lines).
    preset = presets.WORD2VEC[args.arch]
    settings = {key: preset[key] if getattr(args, key) is None else getattr(args, key)
                for key in ("dim", "window", "negatives", "share_negatives", "min_count",
                            "subsample", "batch_size", "lr")}
    if settings["batch_size"] % settings["share_negatives"]:
        parser.error(f"argument --share-negatives: {settings['share_negatives']} does not "
                     f"divide --batch-size {settings['batch_size']}")
    if args.dry_run:
        settings["min_count"] = min(settings["min_count"],
                                    presets.WORD2VEC_DRY_RUN["min_count"])
    text.check_corpus_name(args.corpus)
    evaluation = {"similarity": text.evaluation_file(args.similarity, "wordsim353.tsv"),
                  "analogies": text.evaluation_file(args.analogies, "questions-words.txt")}
    config = {
        "app": APP,
        "backend": flags.use_backend(args.backend),
        "corpus": args.corpus,
        "arch": args.arch,
        **settings,
        "epochs": 1 if args.dry_run else args.epochs or preset["epochs"],
        **evaluation,
        "plot_words": args.plot_words.split(),
        "seed": args.seed,
        "dry_run": args.dry_run,
    }
    return config, args


def main(argv=None):
    config, args = parse_config(argv)
    print(f"Config: {json.dumps(config)}", flush=True)
    return train_and_evaluate(config, args.output_dir, overwrite=args.overwrite,
                              command=flags.command_line(APP, argv))


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
