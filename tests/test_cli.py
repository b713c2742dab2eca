"""The command line: bad input gives one line, the valid choices and exit 2."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from kerasdl import cli, flags
from kerasdl.errors import UsageError


def kerasdl(*args):
    return subprocess.run([sys.executable, "-m", "kerasdl", *args],
                          capture_output=True, text=True, timeout=120)


def assert_one_line(result, expected):
    """Checks that `result` exited with 2 and one line on stderr holding
    `expected`, compared without quotes: Python 3.12 stopped quoting
    argparse's choices."""
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert expected.replace("'", "") in result.stderr.replace("'", "")


@pytest.mark.parametrize("args,expected", [
    (["--backend", "theano"], "invalid choice: 'theano' (choose from tensorflow, jax, torch)"),
    (["--dataset", "cifar"], "invalid choice: 'cifar' (choose from mnist, fashion_mnist)"),
    (["--model", "alexnet"], "invalid choice: 'alexnet' (choose from mlp, lenet5"),
    (["--epochs", "0"], "--epochs: must be a positive integer, got '0'"),
    (["--epochs", "-3"], "--epochs: must be a positive integer, got '-3'"),
    (["--augment", "spin"], "unknown augmentation 'spin' (choose from flip"),
])
def test_bad_input_is_one_line_with_exit_status_2(args, expected):
    assert_one_line(kerasdl("run", "classification", *args), expected)


def test_tensorboard_without_tensorflow_is_one_line(tmp_path, monkeypatch, capsys):
    find_spec = flags.importlib.util.find_spec
    monkeypatch.setattr(flags.importlib.util, "find_spec",
                        lambda name, *args: None if name == "tensorflow" else find_spec(name))
    assert flags.run_main(cli.load_app("perceptron").main, [
        "--dry-run", "--tensorboard", "--output-dir", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.startswith("error: --tensorboard writes its logs with "
                                              "TensorFlow, which is not installed")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", [["run", "backprop", "--tensorboard"],
                                     ["run", "universal_approximation", "--tensorboard"],
                                     ["tune", "gnn", "--tensorboard"],
                                     ["tune", "gnn", "--distribute", "data_parallel"]])
def test_what_logs_nothing_or_runs_on_one_device_refuses_the_flag(command, tmp_path, capsys):
    try:  # an app's parser exits; tune's error is returned
        status = cli.main([*command, "--output-dir", str(tmp_path / "x")])
    except SystemExit as exit:
        status = exit.code
    assert status == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and command[2] in err, err
    assert not (tmp_path / "x").exists()


# The autoencoder's sigmoid outputs turn NaN, which PyTorch's cross-entropy
# refuses with a RuntimeError of its own (backend.is_nan_error).
@pytest.mark.parametrize("args", [["classification", "--optimizer", "sgd"], ["autoencoder"]])
def test_a_diverging_run_stops_with_one_line_and_says_so_in_its_metrics(args, tmp_path,
                                                                         has_mnist):
    result = kerasdl("run", *args, "--dry-run", "--lr", "1e30",
                     "--backend", keras.backend.backend(), "--output-dir", str(tmp_path))
    assert result.returncode == 2
    # The last line; TensorFlow may log before it when the data loads.
    line = result.stderr.splitlines()[-1]
    assert line.startswith("error: Training diverged: ") and "--lr" in line, result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads((tmp_path / "metrics.json").read_text()) == {
        "diverged": line[len("error: "):]}
    assert not (tmp_path / "model.keras").exists()


@pytest.mark.parametrize("args,expected", [
    (["run", "word2vec", "--arch", "glove"], "invalid choice: 'glove' (choose from skipgram"),
    (["run", "word2vec", "--share-negatives", "3"], "3 does not divide --batch-size 4096"),
    (["run", "word2vec", "--subsample", "2"], "--subsample: must be a number in [0, 1)"),
    (["run", "word2vec", "--corpus", "nope.txt", "--dry-run"],
     "Unknown corpus: 'nope.txt' is neither 'text8' nor a plain-text file"),
    (["word2vec", "neighbors", "five"], "the following arguments are required: --model"),
    (["word2vec", "similar", "--model", "x"], "invalid choice: 'similar'"),
])
def test_bad_word2vec_input(args, expected):
    assert_one_line(kerasdl(*args), expected)


@pytest.mark.parametrize("args,expected", [
    (["--epsilon", "2"], "argument --epsilon: must be a number in [0, 1), got '2'"),
    (["--pgd-steps", "0"], "argument --pgd-steps: must be a positive integer, got '0'"),
    (["--model", "nope"], "No saved model at nope"),
    (["--model", "fashion_mnist_vgg"], "--model fashion_mnist_vgg is not an mnist classifier"),
])
def test_bad_adversarial_input(args, expected, tmp_path, has_mnist):
    assert_one_line(kerasdl("run", "adversarial", "--output-dir", str(tmp_path / "run"), *args),
                    expected)
    assert not (tmp_path / "run").exists()


def test_adversarial_refuses_a_model_file_of_another_shape(tmp_path, has_mnist):
    import keras

    path = tmp_path / "small.keras"
    keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                      keras.layers.Dense(10, "softmax")]).save(path)
    assert_one_line(kerasdl("run", "adversarial", "--output-dir", str(tmp_path / "run"),
                            "--model", str(path)), f"--model {path} is not an mnist classifier")


@pytest.mark.parametrize("args,expected", [
    (["--directions", "mnist_to_svhn"], "argument --directions: unknown direction "
     "'mnist_to_svhn' (choose one or more of mnist_to_usps, usps_to_mnist)"),
    (["--domain-weight", "-1"], "argument --domain-weight: must be a positive number, got '-1'"),
])
def test_bad_domain_adaptation_input(args, expected, tmp_path):
    assert_one_line(kerasdl("run", "domain_adaptation", "--output-dir", str(tmp_path / "run"),
                            *args), expected)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args,expected", [
    (["--dataset", "cifar10"], "invalid choice: 'cifar10' (choose from mnist, fashion_mnist)"),
    (["--labels-per-class", "0"], "argument --labels-per-class: must be a positive integer, "
     "got '0'"),
])
def test_bad_multi_task_input(args, expected, tmp_path):
    assert_one_line(kerasdl("run", "multi_task", "--output-dir", str(tmp_path / "run"), *args),
                    expected)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args,expected", [
    (["--queries", "16"], "--queries 16 with --shots 1 needs 21 drawings of a character, and "
     "Omniglot has 20: the queries and the larger of --shots and the test's 5 shots must add up "
     "to at most 20"),
    (["--shots", "8", "--queries", "13"], "--queries 13 with --shots 8 needs 21 drawings"),
    (["--shots", "25"], "--queries 5 with --shots 25 needs 30 drawings"),
    (["--ways", "0"], "argument --ways: must be a positive integer, got '0'"),
])
def test_bad_few_shot_input(args, expected, tmp_path):
    assert_one_line(kerasdl("run", "few_shot", "--output-dir", str(tmp_path / "run"), *args),
                    expected)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args,expected", [
    (["--dataset", "pubmed"], "invalid choice: 'pubmed' (choose from cora, citeseer)"),
    (["--model", "gin"], "invalid choice: 'gin' (choose from gcn, gat)"),
])
def test_bad_gnn_input(args, expected):
    assert_one_line(kerasdl("run", "gnn", *args), expected)


@pytest.mark.parametrize("args,expected", [
    (["--models", "cnn,rnn"], "unknown model 'rnn' (choose one or more of bag, cnn, lstm, gru,"),
    (["--models", ","], "unknown model ',' (choose one or more of"),
    (["--dataset", "sst"], "invalid choice: 'sst' (choose from mr, imdb)"),
    (["--folds", "1", "--dry-run"], "Bad number of folds: 1. mr has no test split"),
    (["--embeddings", "nope.txt", "--dry-run"], "No word vectors at 'nope.txt'"),
])
def test_bad_text_classification_input(args, expected, tmp_path, has_polarity):
    result = kerasdl("run", "text_classification", *args, "--output-dir", str(tmp_path / "run"))
    assert_one_line(result, expected)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args,expected", [
    (["--lengths", "50,x"], "--lengths: must be a positive integer, got 'x'"),
    (["--cells", "lstm,rnn"], "unknown cell 'rnn' (choose one or more of simple_rnn, lstm, gru)"),
    (["--task", "copy"], "invalid choice: 'copy' (choose from adding, mnist_rows)"),
])
def test_bad_long_memory_input(args, expected):
    assert_one_line(kerasdl("run", "long_memory", *args), expected)


def test_unknown_backend_in_the_environment():
    result = subprocess.run([sys.executable, "-m", "kerasdl", "run", "classification"],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "KERAS_BACKEND": "theano"})
    assert result.returncode == 2
    assert result.stderr == ("error: Unknown backend: 'theano'. "
                             "Choose one of: tensorflow, jax, torch\n")


def test_bad_tune_input():
    result = kerasdl("tune", "classification", "--tuner", "annealing")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "invalid choice: annealing (choose from random, hyperband" in result.stderr.replace(
        "'", "")


def test_unknown_app():
    result = kerasdl("run", "nope")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "invalid choice: 'nope'" in result.stderr and "classification" in result.stderr


def test_list_names_the_apps():
    result = kerasdl("list")
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == ["activations", "adversarial", "augmentation_vs_regularisation",
                     "autoencoder", "backprop", "batch_size", "batchnorm", "classification",
                     "depth_vs_width", "domain_adaptation", "dropout", "early_stopping",
                     "few_shot", "gan", "gnn", "initialisation", "long_memory", "memorisation",
                     "multi_task", "optimizers", "perceptron", "text_classification",
                     "transfer_learning", "universal_approximation", "word2vec"]
    assert "Image classification:" in result.stdout
    assert "backprop           Lab: backpropagation is the chain rule" in result.stdout


def test_a_lab_cannot_be_tuned():
    result = kerasdl("tune", "backprop")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "invalid choice: 'backprop' (choose from" in result.stderr
    assert "classification" in result.stderr


def test_backend_cannot_change_after_keras_is_imported():
    other = next(b for b in flags.BACKENDS if b != keras.backend.backend())
    with pytest.raises(UsageError, match=f"cannot switch to '{other}'"):
        flags.use_backend(other)
    assert flags.use_backend(keras.backend.backend()) == keras.backend.backend()


def test_a_checkout_runs_without_installing(tmp_path):
    # -S leaves site-packages out, and with them the installed kerasdl.apps:
    # only the checkout on PYTHONPATH is left, as on a machine that runs it
    # without `pip install`.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-S", "-m", "kerasdl", "list"],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": root})
    assert result.returncode == 0, result.stderr
    assert "classification" in result.stdout and "transfer_learning" in result.stdout


def test_no_library_module_imports_an_app():
    # The CLI's lookup of the app to run, and the backend's of its own
    # module, are the only imports by name.
    root = Path(flags.__file__).parent
    allowed = {root / "cli.py", root / "backend" / "__init__.py"}
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "kerasdl.apps" not in text or path in allowed, path
        assert "import_module" not in text or path in allowed, path
