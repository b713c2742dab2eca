"""The command-line plumbing every app shares: argparse types, flags as data
resolved against a preset, the backend choice, and exit statuses."""

import argparse
import json

import keras
import pytest

from kerasdl import flags, names
from kerasdl.models import AUGMENTATIONS
from kerasdl.errors import UsageError

BACKEND = keras.backend.backend()
DOC = "A toy app.\n\nIts docstring is the help's description."
PRESETS = {
    "small": {"epochs": 3, "batch_size": 8, "lr": 0.1, "schedule": "cosine",
              "model_options": {"width": 4, "dropout": 0.1}},
    "big": {"epochs": 5, "batch_size": 16, "lr": 0.01, "schedule": "constant",
            "model_options": {"width": 32}},
}
FLAGS = {
    "size": {"choices": ("small", "big"), "default": "small", "help": "preset to start from"},
    "width": {"type": flags.positive_int, "preset": "model_options.width", "help": "width"},
    "dropout": {"type": flags.fraction, "preset": "model_options.dropout", "help": "dropout"},
    "note": {"default": "none", "help": "a flag without a preset key"},
    # Replaces the shared --seed.
    "seed": {"type": flags.non_negative_int, "default": 7, "help": "the toy's seed"},
}


def parse(*argv):
    return flags.parse("toy", DOC, FLAGS, list(argv), presets=PRESETS,
                       pick=lambda args: args.size)


def one_line_exit(capsys, function, *args):
    """Runs a call that must exit with status 2; returns its one stderr line."""
    with pytest.raises(SystemExit) as exit:
        function(*args)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    return err.strip()


@pytest.mark.parametrize("type_,text,value", [
    (flags.positive_int, "3", 3),
    (flags.non_negative_int, "0", 0),
    (flags.seed, "2147483647", 2**31 - 1),
    (flags.positive_float, "0.25", 0.25),
    (flags.positive_float, "1e-3", 1e-3),
    (flags.fraction, "0", 0.0),
    (flags.fraction, "0.5", 0.5),
    (flags.augmentation_list, "shift,zoom", ["shift", "zoom"]),
    (flags.augmentation_list, "none", []),
    (flags.augmentation_list, "flip,,none", ["flip"]),
])
def test_types_accept_good_values(type_, text, value):
    assert type_(text) == value


@pytest.mark.parametrize("type_,text,message", [
    (flags.positive_int, "0", "must be a positive integer, got '0'"),
    (flags.positive_int, "-3", "must be a positive integer, got '-3'"),
    (flags.positive_int, "2.5", "must be a positive integer, got '2.5'"),
    (flags.non_negative_int, "-1", "must be a non-negative integer, got '-1'"),
    (flags.seed, "-5", "must be a non-negative integer, got '-5'"),
    (flags.seed, "2147483648", "must be below 2\\*\\*31, got '2147483648'"),
    (flags.non_negative_int, "x", "must be a non-negative integer, got 'x'"),
    (flags.positive_float, "0", "must be a positive number, got '0'"),
    (flags.positive_float, "-0.1", "must be a positive number, got '-0.1'"),
    (flags.positive_float, "nan", "must be a positive number, got 'nan'"),
    (flags.positive_float, "fast", "must be a positive number, got 'fast'"),
    (flags.fraction, "1", r"must be a number in \[0, 1\), got '1'"),
    (flags.fraction, "-0.5", r"must be a number in \[0, 1\), got '-0.5'"),
    (flags.fraction, "half", r"must be a number in \[0, 1\), got 'half'"),
    (flags.augmentation_list, "shift,spin",
     "unknown augmentation 'spin' \\(choose from " + ", ".join(AUGMENTATIONS)
     + ", or none\\)"),
])
def test_types_refuse_bad_values_naming_them(type_, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=f"^{message}$"):
        type_(text)


def test_a_bad_value_is_one_line_with_exit_status_2(capsys):
    assert one_line_exit(capsys, parse, "--width", "0") == (
        "kerasdl run toy: error: argument --width: must be a positive integer, got '0'")
    assert "invalid choice: 'huge'" in one_line_exit(capsys, parse, "--size", "huge")
    assert "unrecognized arguments: --depth" in one_line_exit(capsys, parse, "--depth", "2")


def test_preset_value_follows_dots_and_is_none_where_there_is_none():
    preset = PRESETS["small"]
    assert flags.preset_value(preset, "epochs") == 3
    assert flags.preset_value(preset, "model_options.width") == 4
    assert flags.preset_value(preset, "model_options") == {"width": 4, "dropout": 0.1}
    assert flags.preset_value(PRESETS["big"], "model_options.dropout") is None
    assert flags.preset_value(preset, "depth") is None
    assert flags.preset_value(preset, "epochs.width") is None  # not a dict


def test_preset_help_names_each_preset_that_has_a_value():
    assert flags.preset_help(PRESETS, "epochs") == " (default: from the preset, small: 3, big: 5)"
    assert flags.preset_help(PRESETS, "model_options.dropout") == (
        " (default: from the preset, small: 0.1)")
    assert flags.preset_help(PRESETS, "depth") == ""
    assert flags.preset_help(None, "epochs") == ""


def test_help_shows_the_shared_and_own_flags_with_their_defaults():
    help_text = " ".join(flags.app_parser("toy", DOC, FLAGS, PRESETS).format_help().split())
    assert help_text.startswith("usage: kerasdl run toy ")
    assert "Its docstring is the help's description." in help_text
    for flag in ("--backend", "--epochs", "--batch-size", "--lr", "--output-dir",
                 "--overwrite", "--dry-run", "--size", "--width", "--dropout", "--note"):
        assert f"{flag} " in help_text
    assert "training epochs (default: from the preset, small: 3, big: 5)" in help_text
    assert "width (default: from the preset, small: 4, big: 32)" in help_text
    assert "preset to start from (default: small)" in help_text
    assert "the toy's seed (default: 7)" in help_text and "random seed" not in help_text
    assert "(default: runs/toy)" in help_text
    assert "(default: None)" not in help_text and "(default: False)" not in help_text


def test_the_config_is_the_preset_when_no_flag_is_given():
    config, args = parse()
    assert config == {"app": "toy", "backend": BACKEND, "epochs": 3, "batch_size": 8,
                      "lr": 0.1, "schedule": "cosine",
                      "model_options": {"width": 4, "dropout": 0.1},
                      "seed": 7, "dry_run": False, "size": "small", "note": "none"}
    assert list(config)[:2] == ["app", "backend"]
    assert (args.output_dir, args.overwrite, args.backend) == ("runs/toy", False, None)


def test_pick_chooses_the_preset():
    config, _ = parse("--size", "big")
    assert (config["epochs"], config["batch_size"], config["lr"]) == (5, 16, 0.01)
    assert config["schedule"] == "constant"
    # --dropout has a key that the big preset lacks: it stays absent.
    assert config["model_options"] == {"width": 32}


def test_flags_override_the_preset_at_their_keys():
    config, _ = parse("--size", "big", "--epochs", "9", "--batch-size", "2", "--lr", "0.5",
                      "--width", "64", "--dropout", "0.3", "--seed", "0", "--note", "hi")
    assert {key: config[key] for key in ("epochs", "batch_size", "lr", "seed", "note")} == {
        "epochs": 9, "batch_size": 2, "lr": 0.5, "seed": 0, "note": "hi"}
    assert config["model_options"] == {"width": 64, "dropout": 0.3}
    assert "width" not in config and "dropout" not in config
    # The presets themselves are left as they were.
    assert PRESETS["big"]["model_options"] == {"width": 32} and PRESETS["big"]["epochs"] == 5


def test_dry_run_takes_one_epoch():
    config, _ = parse("--dry-run", "--epochs", "9")
    assert config["dry_run"] is True and config["epochs"] == 1
    assert parse("--dry-run", "--size", "big")[0]["epochs"] == 1


def test_run_flags_stay_out_of_the_config(tmp_path):
    config, args = parse("--backend", BACKEND, "--output-dir", str(tmp_path), "--overwrite")
    assert config["backend"] == BACKEND
    assert "output_dir" not in config and "overwrite" not in config
    assert (args.output_dir, args.overwrite) == (str(tmp_path), True)
    assert config == parse()[0]


def test_an_app_without_presets_gets_only_what_its_flags_give():
    config, args = flags.parse("bare", DOC, {}, [])
    assert config == {"app": "bare", "backend": BACKEND, "seed": 0, "dry_run": False}
    assert args.output_dir == "runs/bare"
    config, _ = flags.parse("bare", DOC, {}, ["--epochs", "2", "--lr", "0.1"])
    assert (config["epochs"], config["lr"]) == (2, 0.1) and "batch_size" not in config


def test_choose_backend_returns_the_running_backend():
    assert flags.choose_backend([]) == BACKEND
    assert flags.choose_backend(["--epochs", "3", "--backend", BACKEND]) == BACKEND


def test_choose_backend_refuses_another_backend_in_one_line(capsys):
    other = next(name for name in names.BACKENDS if name != BACKEND)
    line = one_line_exit(capsys, flags.choose_backend, ["--backend", other])
    assert line == (f"error: Keras is already running on {BACKEND!r} in this process, so "
                    f"it cannot switch to {other!r}; start a new process.")
    assert "invalid choice: 'theano'" in one_line_exit(
        capsys, flags.choose_backend, ["--backend", "theano"])


def test_command_line_is_what_a_user_types():
    assert flags.command_line("toy", ["--lr", "0.1", "--note", "two words"]) == (
        "kerasdl run toy --lr 0.1 --note 'two words'")
    assert flags.command_line("toy", []) == "kerasdl run toy"


def test_run_app_prints_the_config_and_hands_over_the_run(tmp_path, capsys):
    calls = []

    def train_and_evaluate(config, output_dir, overwrite=False, command=None):
        calls.append((config, output_dir, overwrite, command))
        return {"test_accuracy": 0.5}

    argv = ["--width", "5", "--output-dir", str(tmp_path), "--overwrite"]
    metrics = flags.run_app("toy", lambda argv: parse(*argv), train_and_evaluate, argv)
    assert metrics == {"test_accuracy": 0.5}
    config = parse(*argv)[0]
    assert calls == [(config, str(tmp_path), True, flags.command_line("toy", argv))]
    first, second = capsys.readouterr().out.splitlines()
    assert first.startswith(f"kerasdl toy: backend {BACKEND}, device ")
    assert second.startswith("Config: ") and json.loads(second[len("Config: "):]) == config


def test_run_main_exit_statuses(capsys):
    seen = []
    assert flags.run_main(seen.append, ["--a"]) == 0
    assert seen == [["--a"]]

    def refuse(argv):
        raise UsageError("Unknown model: 'x'. Choose one of: mlp")

    assert flags.run_main(refuse) == 2
    assert capsys.readouterr().err == "error: Unknown model: 'x'. Choose one of: mlp\n"

    def interrupted(argv):
        raise KeyboardInterrupt

    assert flags.run_main(interrupted) == 130
    assert "Interrupted. Run the same command again to resume." in capsys.readouterr().err

    def broken(argv):
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        flags.run_main(broken)
