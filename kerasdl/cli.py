"""The `kerasdl` command: `kerasdl list`, `kerasdl run NAME [FLAGS]`,
`kerasdl tune NAME [FLAGS]`, `kerasdl word2vec neighbors|analogy ...`.

`kerasdl run NAME` calls the same `main()` as `python apps/NAME.py`; the
apps are installed with the package as `kerasdl.apps`.
"""

import importlib
import pkgutil
import sys

from kerasdl import __version__, flags, names


# Short names for `kerasdl run`, besides the module names.
ALIASES = {"transfer": "transfer_learning"}


def app_names():
    """Returns the names of the installed apps, sorted."""
    import kerasdl.apps

    return sorted(m.name for m in pkgutil.iter_modules(kerasdl.apps.__path__))


def load_app(name):
    """Imports the app module `name`, or the one its alias names
    (Keras-free until its main() runs)."""
    return importlib.import_module(f"kerasdl.apps.{ALIASES.get(name, name)}")


def _parser(apps):
    parser = flags.ArgumentParser(
        prog="kerasdl",
        description="Deep-learning apps on Keras 3, for TensorFlow, JAX and PyTorch.",
    )
    parser.add_argument("--version", action="version", version=f"kerasdl {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("list", help="list the apps")
    run = commands.add_parser(
        "run", add_help=False,
        help="run an app: kerasdl run NAME [FLAGS]; kerasdl run NAME --help lists its flags",
    )
    run.add_argument("app", choices=sorted([*apps, *ALIASES]), metavar="NAME",
                     help=f"one of: {', '.join(apps)}, or {', '.join(ALIASES)}")
    tune = commands.add_parser(
        "tune", add_help=False,
        help="search an app's hyperparameters with keras-tuner: kerasdl tune NAME "
             "[FLAGS]; kerasdl tune NAME --help lists its flags",
    )
    tune.add_argument("app", choices=names.TUNABLE_APPS, metavar="NAME",
                      help=f"one of: {', '.join(names.TUNABLE_APPS)}")
    explore = commands.add_parser(
        "word2vec", help="explore the vectors of a word2vec run: kerasdl word2vec "
                         "neighbors|analogy --model DIR ...")
    actions = explore.add_subparsers(dest="action", required=True, metavar="ACTION")
    neighbors = actions.add_parser("neighbors", help="the nearest words to each WORD",
                                   formatter_class=flags.HelpFormatter)
    neighbors.add_argument("words", nargs="+", metavar="WORD")
    analogy = actions.add_parser("analogy", help="a is to b as c is to ? (3CosAdd)",
                                 formatter_class=flags.HelpFormatter)
    analogy.add_argument("words", nargs=3, metavar="WORD", help="a b c")
    for action, top in ((neighbors, 10), (analogy, 5)):
        action.add_argument("--model", required=True,
                            help="a word2vec run folder, or vectors in word2vec text format")
        action.add_argument("-k", "--top", type=flags.positive_int, default=top,
                            help="how many words to show")
    return parser


def explore_vectors(action, model, words, top):
    """Prints the neighbours of `words`, or the answers to the analogy
    `words` = (a, b, c), with cosine scores."""
    from kerasdl import embeddings

    vectors = embeddings.load(model)
    vectors.ids(words)
    if action == "analogy":
        a, b, c = words
        results = [(f"{a} : {b} :: {c} : ?", vectors.analogy(a, b, c, top))]
    else:
        results = [(word, vectors.neighbors(word, top)) for word in words]
    for title, found in results:
        print(title)
        for word, score in found:
            print(f"  {word:20} {score:.3f}")


def _tune_parser(app):
    parser = flags.ArgumentParser(
        prog=f"kerasdl tune {app}", formatter_class=flags.HelpFormatter,
        description=f"Searches the hyperparameters of the {app} app, then retrains the\n"
                    "best configuration on train + validation and evaluates it on test.\n"
                    f"Other flags are those of `kerasdl run {app}` (see its --help);\n"
                    "--epochs is the epochs per trial (the maximum, for hyperband).",
    )
    parser.add_argument("--tuner", choices=names.TUNERS, default="random",
                        help="search algorithm")
    parser.add_argument("--max-trials", type=flags.positive_int, default=10,
                        help="trials in all (hyperband sizes itself from --epochs)")
    parser.add_argument("--objective", default=None,
                        help="metric to optimise; names ending in 'loss' are minimised "
                             "(default: val_accuracy, or val_loss for the autoencoder)")
    parser.add_argument("--output-dir", default=f"runs/tune-{app}",
                        help="folder of the search and of the retrained best model")
    parser.add_argument("--resume", action="store_true",
                        help="continue the search in --output-dir")
    return parser


def tune(app_name, argv):
    """Runs `kerasdl tune APP ARGV`; returns the metrics of the best model."""
    parser = _tune_parser(app_name)
    args, app_argv = parser.parse_known_args(argv)
    app = load_app(app_name)
    config, _ = app.parse_config(app_argv)
    from kerasdl import tuning

    return tuning.tune(
        app, config, tuner=args.tuner, max_trials=args.max_trials,
        objective=args.objective, output_dir=args.output_dir, resume=args.resume)


def main(argv=None):
    """Entry point of the `kerasdl` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    apps = app_names()
    parser = _parser(apps)
    args, rest = parser.parse_known_args(argv)
    if args.command == "list":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        for name in apps:
            summary = (load_app(name).__doc__ or "").strip().splitlines()[0]
            print(f"{name:16} {summary}")
        return 0
    if args.command == "word2vec":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return flags.run_main(lambda _: explore_vectors(
            args.action, args.model, args.words, args.top), [])
    if args.command == "tune":
        return flags.run_main(lambda argv: tune(args.app, argv), rest)
    return flags.run_main(load_app(args.app).main, rest)
