"""Command-line plumbing shared by every app: common flags, backend choice,
one-line errors.

Nothing here imports Keras: the backend must be chosen before that import.
"""

import argparse
import os
import sys

from kerasdl.errors import UsageError, check_choice
from kerasdl.names import AUGMENTATIONS, BACKENDS


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
    """argparse type: comma-separated names from `AUGMENTATIONS`, or 'none'."""
    chosen = [name for name in text.split(",") if name and name != "none"]
    unknown = [name for name in chosen if name not in AUGMENTATIONS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown augmentation {unknown[0]!r} (choose from "
            f"{', '.join(AUGMENTATIONS)}, or none)")
    return chosen


def preset_help(presets, key):
    """Returns ' (default: preset, a: 1, b: 2)' naming each preset's value of
    `key`, or '' when there are no presets."""
    if not presets:
        return ""
    values = ", ".join(f"{name}: {p[key]}" for name, p in presets.items())
    return f" (default: from the preset, {values})"


def app_parser(name, doc, *, epochs=None, batch_size=None, lr=None, presets=None,
               output_dir=None):
    """Makes the parser for an app with the flags that every app shares.

    Args:
        name: the app's name, as in `kerasdl run NAME`.
        doc: the app's module docstring; its first line is the description.
        epochs, batch_size, lr: the defaults, or `None` to take them from
            `presets`.
        presets: a dict of named presets (plain dicts), shown in the help.
        output_dir: default output directory; `runs/NAME` if not given.

    Returns:
        An `ArgumentParser` with `--backend --epochs --batch-size --lr --seed
        --output-dir --overwrite --dry-run`.
    """
    parser = ArgumentParser(
        prog=f"kerasdl run {name}", description=doc, formatter_class=HelpFormatter
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="Keras backend; by default $KERAS_BACKEND, else Keras' own default",
    )
    parser.add_argument("--epochs", type=positive_int, default=epochs,
                        help="training epochs" + preset_help(presets, "epochs"))
    parser.add_argument("--batch-size", type=positive_int, default=batch_size,
                        help="examples per step" + preset_help(presets, "batch_size"))
    parser.add_argument("--lr", type=positive_float, default=lr,
                        help="peak learning rate" + preset_help(presets, "lr"))
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--output-dir", default=output_dir or f"runs/{name}",
                        help="where the run writes everything it makes")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a finished run in --output-dir")
    parser.add_argument("--dry-run", action="store_true",
                        help="tiny data and one epoch, to check that everything runs")
    return parser


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
    import keras

    return keras.backend.backend()


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
