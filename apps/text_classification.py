"""Text classification: tell a positive movie review from a negative one.

A text becomes word ids (`keras.layers.TextVectorization`), each id a
learned vector (`keras.layers.Embedding`), and five models read the vectors
(`kerasdl/models/text.py`): "bag" averages them, blind to word order; "cnn"
(Kim 2014) slides filters over 3, 4 and 5 consecutive words, each keeping
its largest response; "lstm", a bidirectional LSTM, reads the words in order
both ways, its gates choosing what its state keeps; "gru", a lighter gated
network, reads them forwards; "transformer" is one block of self-attention:
each word's vector becomes a weighted mean of all the words' vectors, the
weights a softmax of how well their keys match its query (Vaswani et al.
2017). With --embeddings, a CNN whose vectors start from word2vec's joins in
as "cnn+vectors".

MR (Pang & Lee's 10,662 sentences) has no test split, so each model is
trained and tested on each of --folds folds in turn, as Kim does (76.1% for
his CNN); IMDB has a split of 25,000 reviews each. A tenth of the training
part picks the best epoch. The run writes results.md, metrics.json,
curves.png and attention.png (the Transformer's attention on a few texts).
"""

import sys
import time

import numpy as np

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402

from kerasdl import labs, runs  # noqa: E402
from kerasdl.data.sentences import TEXT_DATASETS, load_texts  # noqa: E402
from kerasdl.models.text import TEXT_CLASSIFIERS, plot_attention  # noqa: E402
from kerasdl.word2vec import embeddings  # noqa: E402

APP = "text_classification"
PRESETS = {"mr": {"epochs": 10, "batch_size": 50, "lr": 1e-3, "length": 60, "folds": 10},
           "imdb": {"epochs": 10, "batch_size": 64, "lr": 1e-3, "length": 400, "folds": 1}}
# Each model's --units, --dropout (Kim's 0.5; the Transformer's best, 0.2) and word-vector dropout
OWN = {"bag": {"units": 0, "dropout": 0.5}, "cnn": {"units": 100, "dropout": 0.5},
       **{rnn: {"units": 64, "dropout": 0.5, "vector_dropout": 0.25} for rnn in ("lstm", "gru")},
       "transformer": {"units": 128, "dropout": 0.2, "vector_dropout": 0.4}}
KIM = {"cnn": 0.761}  # Kim (2014), Table 2: CNN-rand on MR
# The mean test accuracy to reach; "other": every model not named.
TARGETS = {"mr": {"cnn": 0.760, "other": 0.75}, "imdb": {"lstm": 0.87, "transformer": 0.87}}
FLAGS = {
    "dataset": {"choices": tuple(TEXT_DATASETS), "default": "mr",
                "help": "MR sentences or IMDB reviews; its preset gives the defaults"},
    "models": {"type": flags.name_list(tuple(TEXT_CLASSIFIERS), "model"),
               "default": ",".join(TEXT_CLASSIFIERS), "help": "models to compare"},
    "embeddings": {"help": "word2vec vectors (text format, or a word2vec run folder) "
                           "to start a second CNN from"},
    "dim": {"type": flags.positive_int, "default": 128,
            "help": "size of the word vectors (with --embeddings: theirs)"},
    "units": {"type": flags.positive_int, "help": "filters per width (cnn), state size (lstm, "
              "gru), feed-forward size (transformer); default: "
              + str({m: o["units"] for m, o in OWN.items()})},
    "dropout": {"type": flags.fraction, "help": "dropout rate before the softmax (and in the "
                "Transformer); default: " + str({m: o["dropout"] for m, o in OWN.items()})},
    "folds": {"type": flags.positive_int, "preset": "folds",
              "help": "cross-validation folds (MR; IMDB has a test split)"},
    "length": {"type": flags.positive_int, "preset": "length", "help": "words kept per text"},
}
TUNING = {"space": {"dim": {"type": "choice", "values": [64, 128, 300]},
                    "units": {"type": "choice", "values": [32, 64, 128]},
                    "dropout": {"type": "float", "min": 0.2, "max": 0.6, "step": 0.1},
                    "lr": {"type": "choice", "values": [3e-4, 1e-3, 3e-3]}},
          "objective": "val_accuracy", "direction": "max", "retrain_on_validation": False}


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Runs each model on each split as `config` says, in `output_dir`; returns the metrics."""
    data = load_texts(config["dataset"])
    print(data.summary(), flush=True)
    texts, labels, parts = data.splits(config["folds"], config["seed"])
    vectors = embeddings.load(config["embeddings"]) if config["embeddings"] else None
    runs.prepare(output_dir, config, overwrite, command=command)
    names = config["models"] + (["cnn+vectors"] if vectors else [])
    dim = vectors.vectors.shape[1] if vectors else config["dim"]
    val, test_accuracy, curves, start = {}, {}, {}, time.perf_counter()
    if config["dry_run"]:
        parts = [(train[:300], test[:100]) for train, test in parts[:2]]
    for fold, (train, test) in enumerate(parts):
        # Data: word ids over this fold's training vocabulary (0 pads, 1 is unknown).
        vectorize = keras.layers.TextVectorization(20000, standardize="lower", split="whitespace",
                                                   output_sequence_length=config["length"])
        vectorize.adapt(texts[train])
        vocabulary, x = vectorize.get_vocabulary(), keras.ops.convert_to_numpy(vectorize(texts))
        fit, held = train[len(train) // 10:], train[:len(train) // 10]

        for name in names:
            # Model and train: each from the same seed, stopped by validation accuracy.
            keras.utils.set_random_seed(config["seed"] + fold)
            kind, init = name.split("+")[0], None
            if name == "cnn+vectors":
                init, found = vectors.embedding_matrix(vocabulary, np.random.default_rng(fold))
                print(f"{found:,} of {len(vocabulary):,} words have word2vec vectors", flush=True)
            given = {key: config[key] for key in ("units", "dropout") if config[key] is not None}
            model = TEXT_CLASSIFIERS[kind](len(vocabulary), config["length"], dim=dim,
                                           vectors=init, **{**OWN[kind], **given})
            stop = keras.callbacks.EarlyStopping("val_accuracy", patience=3,
                                                 restore_best_weights=True)
            history, accuracy = labs.train(
                model, keras.optimizers.Adam(config["lr"]), (x[fit], labels[fit]),
                (x[test], labels[test]), validation=(x[held], labels[held]), callbacks=[stop],
                epochs=config["epochs"], batch_size=config["batch_size"])

            # Evaluate: on the fold's test texts, at the best validation epoch's weights.
            val.setdefault(name, []).append(max(history["val_accuracy"]))
            test_accuracy.setdefault(name, []).append(accuracy)
            print(f"Fold {fold + 1}/{len(parts)}: {name}, test accuracy {accuracy:.2%} "
                  f"after {len(history['loss'])} epochs", flush=True)
            curves.setdefault(name, history["val_accuracy"])  # the first fold's
            if fold == 0 and kind == "transformer":
                plot_attention(model, x[test], labels[test], vocabulary, data.class_names,
                               f"{output_dir}/attention.png")

    # Evaluate: the mean over folds, against Kim and the targets.
    labs.plot_curves(f"{output_dir}/curves.png", {data.name: curves}, "epoch", "val. accuracy")
    mean = {name: float(np.mean(accuracy)) for name, accuracy in test_accuracy.items()}
    rows = [{"model": name, "test_accuracy": mean[name], "std": np.std(test_accuracy[name]),
             "Kim 2014": KIM.get(name, "")} for name in names]
    goal = {name: TARGETS[data.name].get(name, TARGETS[data.name].get("other")) for name in names}
    targets = {name: target for name, target in goal.items() if target}
    holds = all(mean[name] >= target for name, target in targets.items())
    claim = (f"on {data.name}, mean test accuracy over {len(parts)} fold(s): " + ", ".join(
        f"{name} {mean[name]:.2%} (target >= {target:.1%})" for name, target in targets.items()))
    if vectors and "cnn" in mean:
        holds = holds and mean["cnn+vectors"] > mean["cnn"]
        claim += f"; cnn+vectors {mean['cnn+vectors']:.2%} beats cnn {mean['cnn']:.2%}"
    return labs.finish(output_dir, config, rows, claim, holds, dataset=data.name,
                       data_source=data.source, accuracy=mean,
                       test_accuracy=float(np.mean(list(test_accuracy.values()))),
                       val_accuracy=float(np.mean(list(val.values()))),
                       train_seconds=round(time.perf_counter() - start, 1))


def parse_config(argv=None):
    """Parses the flags into `(config, args)`, with the dataset's preset."""
    return flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS, pick=lambda a: a.dataset)


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
