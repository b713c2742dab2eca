"""The `kerasdl` command: `kerasdl list`, `kerasdl run NAME [FLAGS]`,
`kerasdl tune NAME [FLAGS]`, `kerasdl word2vec neighbors|analogy ...`,
`kerasdl gan sample --model DIR ...`, `kerasdl report DIR...`,
`kerasdl notebook NAME [-- FLAGS]`, `kerasdl models`,
`kerasdl info|predict|export MODEL ...`.

`kerasdl run NAME` calls the same `main()` as `python apps/NAME.py`; the
apps are installed with the package as `kerasdl.apps`, and found in the
checkout's `apps/` when kerasdl runs from a checkout without installing.
This is the only module that looks an app up: it chooses the backend from
the command line first, then imports the app, which imports Keras.
"""

import ast
import importlib
import importlib.util
import json
import pkgutil
import re
import sys
from pathlib import Path

from kerasdl import __version__, flags, names
from kerasdl.errors import UsageError


# Short names for `kerasdl run`, besides the module names.
ALIASES = {"transfer": "transfer_learning"}


def _apps_package():
    """Imports `kerasdl.apps`: installed, or else the checkout's `apps/`."""
    try:
        return importlib.import_module("kerasdl.apps")
    except ModuleNotFoundError as error:
        folder = Path(__file__).resolve().parents[1] / "apps"
        if error.name != "kerasdl.apps" or not (folder / "__init__.py").exists():
            raise
    spec = importlib.util.spec_from_file_location(
        "kerasdl.apps", folder / "__init__.py", submodule_search_locations=[str(folder)])
    package = importlib.util.module_from_spec(spec)
    sys.modules["kerasdl.apps"] = package
    spec.loader.exec_module(package)
    return package


def app_names():
    """Returns the names of the apps, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(_apps_package().__path__))


def load_app(name):
    """Imports the app module `name`, or the one its alias names. It imports
    Keras: choose the backend first (`flags.choose_backend`)."""
    _apps_package()
    return importlib.import_module(f"kerasdl.apps.{ALIASES.get(name, name)}")


def app_source(name):
    """The Python source of the app `name`, read without importing it."""
    return (Path(_apps_package().__path__[0]) / f"{name}.py").read_text()


def _source(name):
    return ast.parse(app_source(name))


def app_summary(name):
    """The first line of the app's docstring, read without importing it."""
    return (ast.get_docstring(_source(name)) or "").splitlines()[0]


def tunable(name):
    """Whether the app declares `TUNING` (labs do not), read without
    importing it."""
    return any(isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "TUNING"
               for node in _source(name).body)


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
    tunable_apps = [name for name in apps if tunable(name)]
    tune.add_argument("app", choices=sorted([*tunable_apps, *ALIASES]), metavar="NAME",
                      help=f"one of: {', '.join(tunable_apps)}, or {', '.join(ALIASES)}")
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
    gan = commands.add_parser("gan", help="draw from a trained GAN: kerasdl gan sample "
                                          "--model DIR [--n 64] [--label 3]")
    gan_actions = gan.add_subparsers(dest="action", required=True, metavar="ACTION")
    sample = gan_actions.add_parser("sample", help="write a grid of new samples to a PNG",
                                    formatter_class=flags.HelpFormatter)
    sample.add_argument("--model", required=True,
                        help="a GAN run folder, its generator/ folder, or a .keras file")
    sample.add_argument("--n", type=flags.positive_int, default=64, help="how many images")
    sample.add_argument("--label", type=int, default=None,
                        help="the class to draw (conditional GANs only)")
    sample.add_argument("--columns", type=flags.positive_int, default=8,
                        help="images per row")
    sample.add_argument("--seed", type=int, default=0, help="seed of the noise")
    sample.add_argument("--output", default="gan_samples.png", help="the PNG to write")
    sample.add_argument("--overwrite", action="store_true",
                        help="replace an existing --output")
    sample.add_argument("--backend", choices=names.BACKENDS, default=None,
                        help="Keras backend; by default $KERAS_BACKEND")
    report = commands.add_parser(
        "report", formatter_class=flags.HelpFormatter,
        help="rewrite the report.html of each run in or under DIR, and write an index.html "
             "that compares them")
    report.add_argument("dirs", nargs="+", metavar="DIR",
                        help="a run folder, or a folder of runs (such as runs/)")
    report.add_argument("--output", default="index.html", help="the index page to write")
    report.add_argument("--overwrite", action="store_true",
                        help="replace an existing --output")
    notebook = commands.add_parser(
        "notebook", formatter_class=flags.HelpFormatter,
        help="write an app as a Jupyter notebook: kerasdl notebook NAME [-- FLAGS], the "
             "FLAGS (after --) being those it runs with, such as -- --dry-run")
    notebook.add_argument("app", choices=sorted([*apps, *ALIASES]), metavar="NAME",
                          help="an app, as for kerasdl run")
    notebook.add_argument("--output", help="the notebook to write (default: NAME.ipynb)")
    notebook.add_argument("--overwrite", action="store_true",
                          help="replace an existing --output")
    models = commands.add_parser("models", help="list the saved models and their cards",
                                 formatter_class=flags.HelpFormatter)
    models.add_argument("--root", default=None,
                        help="folder of saved models (default: the shipped ones)")
    info = commands.add_parser("info", help="print a saved model's card and summary",
                               formatter_class=flags.HelpFormatter)
    predict = commands.add_parser(
        "predict", formatter_class=flags.HelpFormatter,
        help="classify images (PNG, JPEG; preprocessed as the card says) or .npy arrays "
             "(taken as they are)")
    predict.add_argument("-k", "--top", type=flags.positive_int, default=3,
                         help="how many classes to show")
    predict.add_argument("--json", action="store_true", help="machine-readable output")
    export = commands.add_parser("export", help="write a saved model in another format",
                                 formatter_class=flags.HelpFormatter)
    for command in (info, predict, export):
        command.add_argument("model", metavar="MODEL",
                             help="a saved model folder (model.keras + card.json), a "
                                  ".keras file, or a shipped model's name (kerasdl models)")
        command.add_argument("--backend", choices=names.BACKENDS, default=None,
                             help="Keras backend; by default $KERAS_BACKEND")
        command.add_argument("--unsafe", action="store_true",
                             help="load models that hold Python code (Lambda layers); "
                                  "only for models from a source you trust")
    predict.add_argument("inputs", nargs="+", metavar="INPUT")
    export.add_argument("--format", required=True, choices=names.EXPORT_FORMATS,
                        help="keras (.keras file), tf_saved_model (a folder), onnx")
    export.add_argument("--output", required=True, help="where to write it")
    export.add_argument("--overwrite", action="store_true",
                        help="replace an existing --output")
    return parser


def use_model(args):
    """Runs `kerasdl info|predict|export` on the parsed `args`."""
    flags.use_backend(args.backend)
    from kerasdl import cards, export

    model, card = cards.load(args.model, unsafe=args.unsafe)
    if args.command == "info":
        shown = card and {key: value for key, value in card.items() if key != "summary"}
        print(json.dumps(shown, indent=2) if card else f"{args.model} has no card")
        model.summary()
    elif args.command == "export":
        print(f"Exporting {args.model} as {args.format} (SavedModel and ONNX take a while)",
              flush=True)
        path = export.export_model(model, args.output, args.format, args.overwrite)
        print(f"Wrote {path} ({args.format})")
    else:
        if card is None:
            class_names = [str(i) for i in range(model.output_shape[-1])]
        else:
            class_names = card["class_names"]
        labels, x = export.read_inputs(args.inputs, model.input_shape[1:],
                                       card and card["preprocessing"])
        found = export.top_classes(model.predict(x, verbose=0), class_names, args.top)
        if args.json:
            print(json.dumps([{"input": name, "top": [{"label": c, "probability": p}
                                                      for c, p in top]}
                              for name, top in zip(labels, found)], indent=2))
        for name, top in ([] if args.json else zip(labels, found)):
            print(f"{name}: " + ", ".join(f"{c} {p:.3f}" for c, p in top))


def explore_vectors(action, model, words, top):
    """Prints the neighbours of `words`, or the answers to the analogy
    `words` = (a, b, c), with cosine scores."""
    from kerasdl.word2vec import embeddings

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


def _refuse_to_replace(output, overwrite):
    """Raises a `UsageError` when `output` exists and `overwrite` is off."""
    if output.exists() and not overwrite:
        raise UsageError(f"{output} exists; choose another --output, or pass --overwrite")


def sample_gan(args):
    """Runs `kerasdl gan sample`: draws `args.n` images from a saved
    generator and writes them as a grid."""
    output = Path(args.output)
    _refuse_to_replace(output, args.overwrite)
    flags.use_backend(args.backend)
    from kerasdl import cards
    from kerasdl.gan import generator_classes, sample, save_grid

    model = Path(args.model)
    generator, card = cards.load(model / "generator" if (model / "generator").is_dir()
                                 else model)
    if len(generator.inputs[0].shape) != 2 or len(generator.outputs[0].shape) != 4:
        raise UsageError(f"{args.model} is not a GAN generator: it maps "
                         f"{tuple(generator.inputs[0].shape)} to "
                         f"{tuple(generator.outputs[0].shape)}, not noise vectors to images; "
                         "pass a GAN run's folder")
    classes = generator_classes(generator)
    if classes is not None:
        if args.label is None or not 0 <= args.label < classes:
            raise UsageError(f"{args.model} is a conditional GAN: --label must be one of "
                             f"0-{classes - 1}, got {args.label}")
    elif args.label is not None:
        raise UsageError(f"{args.model} is not a conditional GAN, so it takes no --label")
    images = sample(generator, args.n, args.label, seed=args.seed)
    output.parent.mkdir(parents=True, exist_ok=True)
    save_grid(images, output, args.columns)
    if args.label is not None and card:
        print(f"Class {args.label}: {card['class_names'][args.label]}")
    print(f"Wrote {args.n} samples to {output}")


def write_reports(args):
    """Runs `kerasdl report`: rewrites each run's `report.html`, then writes
    the index of them all at `args.output`."""
    from kerasdl import report, runs

    output = Path(args.output)
    _refuse_to_replace(output, args.overwrite)
    found = report.find_runs(args.dirs)
    shown = [run for run in found if runs.write_report(run) is not None]
    runs.make_folder(output.parent, "--output")
    runs.write_text(output, report.render_index(shown, output))
    print(f"Wrote {output}, comparing {len(shown)} run{'s' * (len(shown) != 1)}; "
          + (f"{len(found) - len(shown)} left out, whose report.html could not be written "
             "(see the warnings above)" if len(shown) < len(found)
             else "each run's report.html is fresh"))


def write_notebook(args, app_flags):
    """Runs `kerasdl notebook`: writes the app `args.app` as a notebook that
    runs with `app_flags`."""
    from kerasdl import notebooks

    name = ALIASES.get(args.app, args.app)
    output = Path(args.output or f"{name}.ipynb")
    _refuse_to_replace(output, args.overwrite)
    notebooks.write_notebook(output, app_source(name), name, app_flags)
    print(f"Wrote {output}; open it with: jupyter lab {output}")


def _tune_parser(app, objective):
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
    parser.add_argument("--objective", default=objective,
                        help="validation figure of the app's metrics to optimise; "
                             "another than the default is minimised if its name ends in "
                             "'loss' or 'fid'")
    parser.add_argument("--output-dir", default=f"runs/tune-{app}",
                        help="folder of the search and of the retrained best model")
    parser.add_argument("--resume", action="store_true",
                        help="continue the search in --output-dir")
    parser.add_argument("--trials-per-process", type=flags.non_negative_int, default=1,
                        help="run the search this many trials at a time, each share in a "
                             "new process, so that memory stays flat; 0: all in one")
    parser.add_argument("--workers", type=flags.non_negative_int, default=0,
                        help="run this many trials at once, each worker a process of this "
                             "machine, sharing one keras-tuner oracle (0: one at a time)")
    parser.add_argument("--role", choices=("chief", "worker"),
                        help="this host's part in a search over several hosts: the chief "
                             "serves the search at --chief and retrains the best; a worker "
                             "runs --workers trials at once (at least 1) for it")
    parser.add_argument("--chief", metavar="HOST:PORT",
                        help="with --role, the address the chief serves the search on")
    parser.add_argument("--quiet", action="store_true",
                        help="show no progress (no line per trial, nothing the trials "
                             "print), only the result")
    return parser


def tune(app_name, argv):
    """Runs `kerasdl tune APP ARGV`; returns the metrics of the best model."""
    flags.choose_backend(argv)
    app = load_app(app_name)
    args, app_argv = _tune_parser(app_name, app.TUNING["objective"]).parse_known_args(argv)
    if bool(args.role) != bool(args.chief) or (
            args.chief and not re.fullmatch(r"[^:\s]+:\d+", args.chief)):
        raise UsageError(f"--role and --chief go together, and --chief is HOST:PORT (got "
                         f"--role {args.role}, --chief {args.chief})")
    config, app_args = app.parse_config(app_argv)
    if getattr(app_args, "tensorboard", False) or getattr(app_args, "distribute",
                                                          "none") != "none":
        raise UsageError("kerasdl tune takes no --tensorboard or --distribute: its trials log "
                         "nothing and run on one device; rerun the best configuration with "
                         "kerasdl run APP and those flags")
    from kerasdl import tuning

    return tuning.tune(
        app.train_and_evaluate, app.TUNING, config, tuner=args.tuner,
        max_trials=args.max_trials, objective=args.objective, output_dir=args.output_dir,
        resume=args.resume, trials_per_process=args.trials_per_process, workers=args.workers,
        chief=args.chief, role=args.role, quiet=args.quiet)


def main(argv=None):
    """Entry point of the `kerasdl` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    apps = app_names()
    parser = _parser(apps)
    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in ("run", "tune", "notebook"):  # the app's flags
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "list":
        for name in apps:
            print(f"{name:18} {app_summary(name)}")
        return 0
    if args.command == "word2vec":
        return flags.run_main(lambda _: explore_vectors(
            args.action, args.model, args.words, args.top), [])
    if args.command == "gan":
        return flags.run_main(lambda _: sample_gan(args), [])
    if args.command == "report":
        return flags.run_main(lambda _: write_reports(args), [])
    if args.command == "notebook":
        return flags.run_main(lambda _: write_notebook(
            args, rest[1:] if rest[:1] == ["--"] else rest), [])
    if args.command == "models":
        from kerasdl import cards

        print(cards.catalog(args.root or cards.SHIPPED), end="")
        return 0
    if args.command in ("info", "predict", "export"):
        return flags.run_main(lambda _: use_model(args), [])
    if args.command == "tune":
        return flags.run_main(lambda argv: tune(args.app, argv), rest)
    flags.choose_backend(rest)
    return flags.run_main(load_app(args.app).main, rest)
