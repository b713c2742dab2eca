"""The `kerasdl` command: `kerasdl list`, `kerasdl run NAME [FLAGS]`.

`kerasdl run NAME` calls the same `main()` as `python apps/NAME.py`; the
apps are installed with the package as `kerasdl.apps`.
"""

import importlib
import pkgutil
import sys

from kerasdl import __version__, flags


def app_names():
    """Returns the names of the installed apps, sorted."""
    import kerasdl.apps

    return sorted(m.name for m in pkgutil.iter_modules(kerasdl.apps.__path__))


def load_app(name):
    """Imports the app module `name` (Keras-free until its main() runs)."""
    return importlib.import_module(f"kerasdl.apps.{name}")


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
    run.add_argument("app", choices=apps, metavar="NAME",
                     help=f"one of: {', '.join(apps)}")
    return parser


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
    return flags.run_main(load_app(args.app).main, rest)
