"""Few-shot learning: prototypical networks classify Omniglot characters from one drawing each.

Shown one drawing of each of 20 new characters, people sort new drawings of them
95.5% right (Lake et al. 2015). A prototypical network (Snell et al. 2017)
learns an embedding where that works: it trains on episodes that mimic the test,
N characters with K support drawings and some queries each, and classifies each
query by its Euclidean distance to the mean embedding (the prototype) of each
character's support drawings. The run trains on four alphabets of
images_background_small1 (the fifth validates), each character also turned by
90, 180 and 270 degrees, and tests on 1,000 episodes of three held-out alphabets
and on Lake et al.'s 20 one-shot runs, beside two baselines: pixels (in 1-shot,
the nearest neighbour), and the encoder trained as a classifier, used with
prototypes. It writes results.md, metrics.json and one_shot_run.png.
"""

import sys

import numpy as np

from kerasdl import flags

flags.choose_backend()  # from --backend or $KERAS_BACKEND, before Keras loads

import keras  # noqa: E402
from keras import layers  # noqa: E402

from kerasdl import labs, plots, runs  # noqa: E402
from kerasdl.data import omniglot  # noqa: E402
from kerasdl.errors import UsageError  # noqa: E402
from kerasdl.models.fewshot import Episodes, PrototypicalNetwork  # noqa: E402
from kerasdl.training import make_optimizer, total_steps  # noqa: E402

APP = "few_shot"
PRESETS = {"omniglot": {"epochs": 4, "batch_size": 64, "lr": 1e-3}}
FLAGS = {
    "ways": {"type": flags.positive_int, "default": 60, "help": "characters per training episode"},
    "shots": {"type": flags.positive_int, "default": 1, "help": "support drawings in training"},
    "queries": {"type": flags.positive_int, "default": 5, "help": "query drawings per character"},
    "episodes": {"type": flags.positive_int, "default": 500, "help": "episodes per epoch"},
    "test_episodes": {"type": flags.positive_int, "default": 1000, "help": "episodes per test"},
}
TUNING = {"space": {"lr": {"type": "choice", "values": [3e-4, 1e-3, 3e-3]},
                    "ways": {"type": "choice", "values": [20, 40, 60]}},
          "objective": "val_accuracy", "direction": "max", "retrain_on_validation": False}
HELD_OUT = ("Japanese_(katakana)", "Sanskrit", "Tagalog")  # small2's alphabets, not in small1
VALIDATION = ("Early_Aramaic",)  # small1's alphabet for validation (5-way 1-shot)
# Lake et al. 2015 and Koch et al. 2015 (Table 2): accuracy on the 20 one-shot runs.
PUBLISHED = {"people": 0.955, "Bayesian program learning": 0.967, "Siamese convnet": 0.920,
             "affine model": 0.818, "nearest neighbour on pixels": 0.217}


def build_encoder(shape):
    """Snell et al.'s encoder: four blocks of a 64-filter 3x3 convolution,
    batch norm, ReLU and 2x2 max pooling; 28x28 images become 64 numbers."""
    blocks = [keras.Input(shape)]
    for _ in range(4):
        blocks += [layers.Conv2D(64, 3, padding="same"), layers.BatchNormalization(),
                   layers.ReLU(), layers.MaxPooling2D()]
    return keras.Sequential([*blocks, layers.Flatten()], name="encoder")


def accuracies(encoder, episodes):
    """The accuracy of `encoder`'s prototypes in each of `episodes`."""
    ways, shots, queries = episodes.shape
    logits = PrototypicalNetwork(encoder, ways, shots).predict(episodes, verbose=0)
    return np.mean(np.argmax(logits, -1).reshape(len(episodes), -1) == np.repeat(
        np.arange(ways), queries), axis=1)


def train_and_evaluate(config, output_dir, overwrite=False, command=None):
    """Trains and tests the prototypical network as `config` says, in `output_dir`."""
    # Data: small1's characters (less an alphabet to validate), each turned 4 ways; 3 to test.
    characters, alphabets = omniglot.load_characters()
    held_out, validation = np.isin(alphabets, HELD_OUT), np.isin(alphabets, VALIDATION)
    train, val, test = (characters[m] for m in (~(held_out | validation), validation, held_out))
    train = np.concatenate([np.rot90(train, k, axes=(2, 3)) for k in range(4)])
    one_shot = omniglot.load_one_shot_runs()  # 20 episodes: 20 ways, 1 shot, 1 query
    print(f"Data: Omniglot from {omniglot.source()}: {len(train)} training characters (4 "
          f"turns of {len(train) // 4}), {len(val)} validation, {len(test)} test", flush=True)
    seed, epochs, queries, shape = config["seed"], config["epochs"], config["queries"], (28, 28, 1)
    episodes = Episodes(train, config["ways"], config["shots"], queries, config["episodes"], seed,
                        redraw=True)
    runs.prepare(output_dir, config, overwrite, command=command)

    # Model: the encoder in a prototypical network; and under a softmax, for the baseline.
    keras.utils.set_random_seed(seed)
    protonet = PrototypicalNetwork(build_encoder(shape), config["ways"], config["shots"])
    classifier = keras.Sequential([build_encoder(shape), layers.Dense(len(train), "softmax")])
    x, y = train.reshape(-1, *shape), np.repeat(np.arange(len(train)), train.shape[1])

    # Train: both with Adam and a cosine decay, on as many drawings: in episodes, or one by one.
    passes = max(1, round(epochs * len(episodes) * len(episodes[0][0]) / len(x)))
    protonet.compile(make_optimizer("adam", config["lr"], "cosine", epochs * len(episodes)),
                     keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                     metrics=["accuracy"])
    protonet.fit(episodes, epochs=epochs, verbose=0, callbacks=labs.fit_callbacks(
        "prototypical network", epochs))
    classifier.compile(make_optimizer("adam", config["lr"], "cosine", total_steps(
        passes, len(x), config["batch_size"])), "sparse_categorical_crossentropy",
        metrics=["accuracy"])
    classifier.fit(x, y, config["batch_size"], passes, verbose=0,
                   callbacks=labs.fit_callbacks("classifier", passes))

    # Evaluate: mean and 95% interval over held-out episodes; the 20 one-shot runs.
    encoders = {"nearest neighbour on pixels": keras.Sequential([layers.Flatten()]),
                "classifier + prototypes": classifier.layers[0],
                "prototypical network": protonet.encoder}
    rows = []
    for name, encoder in encoders.items():
        rows.append({"method": name})
        for ways, shots in [(5, 1), (5, 5), (20, 1), (20, 5)]:
            found = accuracies(encoder, Episodes(test, ways, shots, queries,
                                                 config["test_episodes"], seed=seed))
            rows[-1][f"{ways}-way {shots}-shot"] = float(found.mean())
            rows[-1][f"{ways}-way {shots}-shot ±"] = float(1.96 * found.std() / len(found) ** 0.5)
        answers = np.argmax(PrototypicalNetwork(encoder, 20, 1).predict(one_shot.reshape(
            -1, *shape), batch_size=40, verbose=0), -1).reshape(20, 20)
        rows[-1]["20 one-shot runs"] = float(np.mean(answers == np.arange(20)))
        print(labs.describe(rows[-1]), flush=True)
    plots.image_grid([one_shot[0, 0::2], one_shot[0, 1::2]], f"{output_dir}/one_shot_run.png",
                     ["support", "query"], "One-shot run 1: the prototypical network's answers",
                     [None, [f"{a} {'ok' if a == c else 'no'}" for c, a in enumerate(answers[0])]])
    pixels, baseline, ours = (row["20 one-shot runs"] for row in rows)
    claim = (f"on Lake et al.'s 20 one-shot runs the prototypical network scores {ours:.1%}, "
             f"against {baseline:.1%} for the classifier's prototypes and {pixels:.1%} for "
             f"pixels (published: affine model 81.8%, Siamese convnet 92.0%, people 95.5%)")
    holds = ours > max(baseline, pixels, PUBLISHED["affine model"])
    return labs.finish(output_dir, config, rows, claim, holds, published=PUBLISHED, val_accuracy=(
        float(accuracies(protonet.encoder, Episodes(val, 5, 1, queries, 100, seed=seed)).mean())))


def parse_config(argv=None):
    """Parses the flags into `(config, args)`; a dry run trains and tests on a few episodes."""
    config, args = flags.parse(APP, __doc__, FLAGS, argv, presets=PRESETS)
    if (need := config["queries"] + max(config["shots"], 5)) > 20:  # the test takes 5 shots
        raise UsageError(f"--queries {config['queries']} with --shots {config['shots']} needs "
                         f"{need} drawings of a character, and Omniglot has 20: the queries and "
                         "the larger of --shots and the test's 5 shots must add up to at most 20")
    if config["dry_run"]:
        config.update(episodes=min(config["episodes"], 2), test_episodes=min(
            config["test_episodes"], 4), ways=min(config["ways"], 10))
    return config, args


def main(argv=None):
    return flags.run_app(APP, parse_config, train_and_evaluate, argv)


if __name__ == "__main__":
    sys.exit(flags.run_main(main))
