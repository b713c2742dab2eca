"""Command-line plumbing shared by every app: common flags, backend choice,
one-line errors.

Nothing here imports Keras: the backend must be chosen before that import.
"""

import argparse
import contextlib
import copy
import importlib.util
import json
import os
import sys
from pathlib import Path

from kerasdl.errors import UsageError, check_choice
from kerasdl.names import BACKENDS, DISTRIBUTE_MODES


class ArgumentParser(argparse.ArgumentParser):
    """An `ArgumentParser` whose errors are a single line and exit with 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


class HelpFormatter(
    argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter
):
    """Shows defaults in the help, except `None` (the help then says where
    the default comes from), and keeps the app docstring's layout."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _int_from(text, least, kind):
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if value < least:
        raise argparse.ArgumentTypeError(f"must be a {kind} integer, got {text!r}")
    return value


def positive_int(text):
    """argparse type: an integer of at least 1."""
    return _int_from(text, 1, "positive")


def non_negative_int(text):
    """argparse type: an integer of at least 0."""
    return _int_from(text, 0, "non-negative")


def positive_int_list(text):
    """argparse type: comma-separated positive integers."""
    return [positive_int(part) for part in text.split(",")]


def seed(text):
    """argparse type: an integer in [0, 2**31). NumPy takes seeds below
    2**32, and the apps that train from several seeds or folds add to it."""
    value = _int_from(text, 0, "non-negative")
    if value >= 2**31:
        raise argparse.ArgumentTypeError(f"must be below 2**31, got {text!r}")
    return value


def positive_float(text):
    """argparse type: a float greater than 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def fraction(text):
    """argparse type: a float in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text!r}")
    return value


def augmentation_list(text):
    """argparse type: comma-separated names from `models.AUGMENTATIONS`, or
    'none'. Flags are parsed once the backend is chosen, so the registry can
    be imported here."""
    from kerasdl.models import AUGMENTATIONS

    chosen = [name for name in text.split(",") if name and name != "none"]
    unknown = [name for name in chosen if name not in AUGMENTATIONS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown augmentation {unknown[0]!r} (choose from "
            f"{', '.join(AUGMENTATIONS)}, or none)")
    return chosen


def name_list(choices, kind):
    """Returns an argparse type for comma-separated names from `choices`
    (one or more), each named `kind` in the error."""

    def parse(text):
        chosen = [name for name in text.split(",") if name]
        unknown = [name for name in chosen if name not in choices] or ([] if chosen else [text])
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {kind} {unknown[0]!r} (choose one or more of {', '.join(choices)})")
        return chosen

    return parse


def preset_value(preset, key):
    """The value at `key` of `preset`, or `None` where it has none; a dot in
    `key` goes one dict down (`"model_options.width"`)."""
    for part in key.split("."):
        preset = preset.get(part) if isinstance(preset, dict) else None
    return preset


def _put(config, key, value):
    *parents, last = key.split(".")
    for part in parents:
        config = config[part]
    config[last] = value


def preset_help(presets, key):
    """Returns ' (default: from the preset, a: 1, b: 2)' naming each preset's
    value of `key`, or '' when there are no presets."""
    values = ", ".join(f"{name}: {preset_value(p, key)}" for name, p in (presets or {}).items()
                       if preset_value(p, key) is not None)
    return f" (default: from the preset, {values})" if values else ""


# The flags every app shares, as data. Each entry maps a flag's name
# (`batch_size` is `--batch-size`) to `add_argument`'s keywords, plus
# "preset": the key of the app's preset that gives the default.
SHARED_FLAGS = {
    "backend": {"choices": BACKENDS,
                "help": "Keras backend; by default $KERAS_BACKEND, else Keras' own default"},
    "epochs": {"type": positive_int, "preset": "epochs", "help": "training epochs"},
    "batch_size": {"type": positive_int, "preset": "batch_size", "help": "examples per step"},
    "lr": {"type": positive_float, "preset": "lr", "help": "peak learning rate"},
    "seed": {"type": seed, "default": 0, "help": "random seed"},
    "output_dir": {"help": "where the run writes everything it makes"},
    "overwrite": {"action": "store_true", "help": "replace a finished run in --output-dir"},
    "tensorboard": {"action": "store_true",
                    "help": "log training to OUTPUT_DIR/tensorboard/ for `tensorboard --logdir "
                            "runs/` (needs TensorFlow installed, on any backend)"},
    "distribute": {"choices": DISTRIBUTE_MODES, "default": "none",
                   "help": "data_parallel: split each batch over every device (jax only)"},
    "quiet": {"action": "store_true",
              "help": "show no progress (no config, progress bars or epoch lines), only the "
                      "result"},
    "dry_run": {"action": "store_true",
                "help": "tiny data and one epoch, to check that everything runs"},
}
# Shared flags that say where and how to run, not what: kept out of the config.
RUN_FLAGS = ("backend", "output_dir", "overwrite", "tensorboard", "distribute", "quiet")


def _flags(table):
    """An app's flags: the shared ones, then its `table`'s, without those it sets to `None`."""
    return {flag: spec for flag, spec in {**SHARED_FLAGS, **table}.items() if spec is not None}


def app_parser(name, doc, table, presets=None):
    """Makes the parser of an app from `SHARED_FLAGS` and the app's own
    `table` (same form; an entry there replaces the shared one).

    Args:
        name: the app's name, as in `kerasdl run NAME`.
        doc: the app's module docstring, shown by --help.
        table: the app's flags, as data (see `SHARED_FLAGS`); `None` for a
            shared flag that the app does not take.
        presets: a dict of named presets whose values the help shows for
            each flag with a "preset" key.

    Returns:
        An `ArgumentParser`.
    """
    parser = ArgumentParser(prog=f"kerasdl run {name}", description=doc,
                            formatter_class=HelpFormatter)
    for flag, spec in _flags(table).items():
        spec = dict(spec)
        key = spec.pop("preset", None)
        if key:
            spec["default"] = None
            spec["help"] += preset_help(presets, key)
        if flag == "output_dir":
            spec["default"] = f"runs/{name}"
        parser.add_argument("--" + flag.replace("_", "-"), **spec)
    return parser


def parse(name, doc, table, argv=None, *, presets=None, pick=None):
    """Parses an app's flags and resolves them against its preset.

    The config starts as a copy of the chosen preset; each flag then puts its
    value at its "preset" key (the preset's own value where the flag is not
    given), or at its own name when it has none. `--dry-run` makes `epochs` 1.

    Args:
        name, doc, table, presets: see `app_parser`.
        argv: the arguments, by default this process's.
        pick: a function from the parsed arguments to the name of the preset
            to use; by default the first.

    Returns:
        `(config, args)`: the config dict, starting with "app" and "backend",
        and the parsed arguments (`args.output_dir`, `args.overwrite`).

    Raises:
        UsageError: for an unknown backend, or one Keras cannot switch to.
    """
    args = app_parser(name, doc, table, presets).parse_args(argv)
    presets = presets or {name: {}}
    preset = presets[pick(args) if pick else next(iter(presets))]
    config = {"app": name, "backend": use_backend(args.backend), **copy.deepcopy(preset)}
    for flag, spec in _flags(table).items():
        value, key = getattr(args, flag), spec.get("preset")
        if key:
            value = preset_value(preset, key) if value is None else value
            if value is not None:
                _put(config, key, value)
        elif flag not in RUN_FLAGS:
            config[flag] = value
    if args.dry_run:
        config["epochs"] = 1
    return config, args


def tensorboard_folder(args):
    """The folder of a run's TensorBoard logs: OUTPUT_DIR/tensorboard with
    `--tensorboard`, else `None`.

    Raises:
        UsageError: for `--tensorboard` without TensorFlow installed.
    """
    if not getattr(args, "tensorboard", False):
        return None
    if importlib.util.find_spec("tensorflow") is None:
        raise UsageError("--tensorboard writes its logs with TensorFlow, which is not "
                         "installed; pip install tensorflow-cpu (or tensorflow), or leave "
                         "--tensorboard out")
    return Path(args.output_dir, "tensorboard")


def run_app(name, parse_config, train_and_evaluate, argv=None):
    """Runs an app as `kerasdl run` does: parses its flags with
    `parse_config(argv)`, prints the backend, device and config, then calls
    `train_and_evaluate(config, output_dir, overwrite=..., command=...)`.

    With `--tensorboard`, the run's fits log to TensorBoard (see
    `kerasdl.callbacks.tensorboard_logs`); with `--distribute`, they spread
    over the devices (see `kerasdl.distribute`); with `--quiet`, only the
    result is printed.

    Returns:
        What `train_and_evaluate` returns: the run's metrics.

    Raises:
        UsageError: for `--tensorboard` without TensorFlow installed.
        Diverged: when training diverges; `metrics.json` then holds only
            `{"diverged": <the message>}`, and the backup and `best.keras`
            keep the last good epoch.
    """
    config, args = parse_config(argv)
    logs = tensorboard_folder(args)
    from kerasdl import backend, runs
    from kerasdl.callbacks.nan import Diverged, diverged
    from kerasdl.callbacks.tensorboard_logs import logging_to
    from kerasdl.distribute import distributing

    try:
        quiet = getattr(args, "quiet", False)  # an app may take no --quiet or --distribute
        with silenced(quiet), logging_to(logs), distributing(getattr(args, "distribute", "none")):
            print(f"kerasdl {name}: backend {config['backend']}, device "
                  f"{backend.device_info()}", flush=True)
            print(f"Config: {json.dumps(config)}", flush=True)
            metrics = train_and_evaluate(config, args.output_dir, overwrite=args.overwrite,
                                         command=command_line(name, argv))
    except Exception as error:
        if backend.is_nan_error(error):
            error = diverged("an output of the model", "in training")
        if not isinstance(error, Diverged):
            raise
        runs.write_metrics(args.output_dir, {"diverged": str(error)})
        raise error from None
    if quiet:
        print(result_line(metrics, args.output_dir))
    return metrics


def silenced(quiet):
    """A context that drops what is printed to stdout inside it when `quiet`
    (errors and warnings go to stderr, and still show)."""
    if not quiet:
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(
        stack.enter_context(open(os.devnull, "w"))))
    return stack


def result_line(metrics, output_dir):
    """One line of a finished run's result: a lab's claim and whether it
    holds, else its numeric figures; then where the rest is."""
    if "claim" in metrics:
        result = f"Claim: {metrics['claim']}: {'holds' if metrics['holds'] else 'does not hold'}."
    else:
        result = ", ".join(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
                           for key, value in metrics.items()
                           if isinstance(value, (int, float)) and not isinstance(value, bool))
    return f"{result} Everything is in {output_dir} (report.html)."


def choose_backend(argv=None):
    """Chooses the Keras backend named by `--backend` in `argv` (by default
    this process's arguments), else `$KERAS_BACKEND`. An app calls it before
    it imports Keras, as keras-io examples set `KERAS_BACKEND` first. A bad
    name is one line on stderr and exit status 2.

    Returns:
        The name of the backend Keras will use.
    """
    parser = ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--backend", choices=BACKENDS)
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    try:
        return use_backend(args.backend)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


def use_backend(name=None):
    """Chooses the Keras backend. Call it before Keras is first imported.

    Args:
        name: one of `BACKENDS`, or `None` for `$KERAS_BACKEND`, else Keras'
            own default.

    Returns:
        The name of the backend Keras will use.

    Raises:
        UsageError: for an unknown name (also in `$KERAS_BACKEND`), or when
            Keras is already imported with a different backend.
    """
    name = name or os.environ.get("KERAS_BACKEND")
    if name:
        check_choice("backend", name, BACKENDS)
        keras = sys.modules.get("keras")
        if keras is not None and keras.backend.backend() != name:
            raise UsageError(
                f"Keras is already running on {keras.backend.backend()!r} in this "
                f"process, so it cannot switch to {name!r}; start a new process."
            )
        os.environ["KERAS_BACKEND"] = name
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return _import_keras_quietly().backend.backend()


def _import_keras_quietly():
    """Imports Keras with the native start-up notices of its backend kept
    off stderr (TensorFlow's oneDNN and absl lines, which
    `TF_CPP_MIN_LOG_LEVEL` does not silence), so that an app's one-line
    errors stay one line."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            import keras
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return keras


def command_line(app, argv=None):
    """The command that runs `app` with `argv` (by default this process's
    arguments), as a user types it: what model cards record."""
    import shlex

    return shlex.join(["kerasdl", "run", app, *(sys.argv[1:] if argv is None else argv)])


def run_main(main, argv=None):
    """Runs an app's `main(argv)`, turning user errors into one line.

    Returns:
        The exit status: 0, 2 for a `UsageError`, 130 when interrupted.
    """
    try:
        main(argv)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nInterrupted. Run the same command again to resume.", file=sys.stderr)
        return 130
    return 0
