"""Export and reuse: parity across backends and runtimes, inputs read as a
card says, top classes, and the info, predict, export and models commands
(loading itself, refusing bad and unsafe files, is in test_cards.py)."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from kerasdl import cards, data, export, models, names
from kerasdl.errors import UsageError

BACKEND = keras.backend.backend()


def run_python(code, backend=BACKEND):
    """Runs `code` in a new Python process on `backend`; returns its stdout."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "KERAS_BACKEND": backend})
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def one_line_error(result):
    """Checks a refused command: exit status 2, no traceback, and one error
    line last (TensorFlow may log its start-up lines before it)."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), result.stderr
    return last


def kerasdl(*args):
    return subprocess.run([sys.executable, "-m", "kerasdl", *map(str, args)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "KERAS_BACKEND": BACKEND})


@pytest.fixture
def saved(tmp_path):
    """A small classifier saved with its card, inputs, and its predictions."""
    keras.utils.set_random_seed(0)
    model = models.build_classifier("vgg", (12, 12, 1), 3, width=4, depth=1, stages=1,
                                    dense=8, batchnorm=True, augment=["shift"])
    x = np.random.default_rng(0).random((6, 12, 12, 1), dtype=np.float32)
    card = cards.make_card(model, app="test", dataset="tiny", class_names=["a", "b", "c"],
                           preprocessing=data.image_preprocessing("grayscale", 1 / 255),
                           metrics={}, seed=0, command="test")
    cards.save(model, tmp_path / "model", card)
    np.save(tmp_path / "x.npy", x)
    return model, x, model.predict(x, verbose=0), tmp_path


def test_formats_match_the_command_line():
    assert tuple(export.FORMATS) == names.EXPORT_FORMATS


@pytest.mark.parametrize("other", names.BACKENDS)
def test_keras_file_loads_on_every_backend_with_the_same_predictions(saved, other):
    _, _, expected, tmp_path = saved
    out = run_python(
        "import numpy as np; from kerasdl import cards\n"
        f"model, _ = cards.load({str(tmp_path / 'model')!r})\n"
        f"np.save({str(tmp_path / other)!r}, model.predict(np.load("
        f"{str(tmp_path / 'x.npy')!r}), verbose=0)); print('ok')", backend=other)
    assert out.strip().endswith("ok")
    np.testing.assert_allclose(np.load(tmp_path / f"{other}.npy"), expected, atol=1e-5)


def test_keras_file_loads_with_plain_keras_without_kerasdl(saved):
    # The fixture's model augments with kerasdl's RandomShift; the file must not need it.
    _, _, expected, tmp_path = saved
    out = run_python(
        "import sys, keras, numpy as np\n"
        f"model = keras.saving.load_model({str(tmp_path / 'model' / cards.MODEL_FILE)!r})\n"
        f"np.save({str(tmp_path / 'plain.npy')!r}, model.predict(np.load("
        f"{str(tmp_path / 'x.npy')!r}), verbose=0))\n"
        "print('kerasdl' in sys.modules)")
    assert out.strip().splitlines()[-1] == "False"
    np.testing.assert_allclose(np.load(tmp_path / "plain.npy"), expected, atol=1e-6)


# Per format: the exported file, the runtime that runs it in a separate
# process, and the code that does (reading x.npy, writing OUT).
RUNTIMES = {
    "tf_saved_model": (
        "sm", "tensorflow",
        "import numpy as np, tensorflow as tf\n"
        "served = tf.saved_model.load({path!r})\n"
        "np.save({out!r}, served.serve(np.load({x!r})).numpy())"),
    "onnx": (
        "m.onnx", "onnxruntime",
        "import numpy as np, onnxruntime as ort\n"
        "session = ort.InferenceSession({path!r})\n"
        "x = np.load({x!r})\n"
        "np.save({out!r}, session.run(None, {{session.get_inputs()[0].name: x}})[0])"),
}


@pytest.mark.parametrize("format", RUNTIMES)
def test_export_runs_in_its_runtime_with_the_same_predictions(saved, format, capsys):
    """Every backend exports every format: itself, or through a backend that
    can (`export.FORMATS`), which says so."""
    model, _, expected, tmp_path = saved
    name, runtime, code = RUNTIMES[format]
    pytest.importorskip(runtime)
    export.export_model(model, tmp_path / name, format)
    handed_over = BACKEND not in export.FORMATS[format]
    assert (f"The {BACKEND} backend cannot export {format}; exporting the same weights"
            in capsys.readouterr().err) == handed_over
    run_python(code.format(path=str(tmp_path / name), x=str(tmp_path / "x.npy"),
                           out=str(tmp_path / "out.npy")), backend="tensorflow")
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-4)


def test_export_refused_when_no_backend_that_can_is_installed(saved, monkeypatch):
    model, _, _, tmp_path = saved
    formats = [f for f, able in export.FORMATS.items() if BACKEND not in able]
    if not formats:
        pytest.skip(f"the {BACKEND} backend exports every format itself")
    format = formats[0]
    monkeypatch.setattr(export.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UsageError, match=f"The {BACKEND} backend cannot export {format}, "
                                         "and none of the backends that can is installed"):
        export.export_model(model, tmp_path / "out", format)
    assert not (tmp_path / "out").exists()


def test_export_never_overwrites_without_being_asked(saved):
    model, _, _, tmp_path = saved
    target = tmp_path / "copy.keras"
    export.export_model(model, target, "keras")
    with pytest.raises(UsageError, match="already exists; pass --overwrite"):
        export.export_model(model, target, "keras")
    export.export_model(model, target, "keras", overwrite=True)
    with pytest.raises(UsageError, match="must end in .keras"):
        export.export_model(model, tmp_path / "copy.h5", "keras")
    with pytest.raises(UsageError, match="^cannot make the folder .*copy.keras: File exists; choose another --output"):
        export.export_model(model, target / "under-a-file.keras", "keras")


def test_info_refuses_a_lambda_layer_in_one_line(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda x: x * 2)])
    model.save(tmp_path / "lambda.keras")
    error = one_line_error(kerasdl("info", tmp_path / "lambda.keras"))
    assert "holds Python code (a Lambda layer)" in error and "--unsafe" in error


def test_predict_refuses_a_damaged_file_in_one_line(saved):
    _, _, _, tmp_path = saved
    data = (tmp_path / "model" / "model.keras").read_bytes()
    bad = tmp_path / "bad.keras"
    bad.write_bytes(data[: len(data) // 2])
    assert "is not a Keras model file" in one_line_error(
        kerasdl("predict", bad, tmp_path / "x.npy"))


def test_predict_npy_and_images_as_the_card_says(saved):
    _, x, expected, tmp_path = saved
    result = kerasdl("predict", tmp_path / "model", tmp_path / "x.npy", "--json", "-k", "2")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert [f["top"][0]["label"] for f in found] == ["abc"[i] for i in expected.argmax(1)]
    assert len(found[0]["top"]) == 2

    # An RGB image of another size is converted to grayscale and resized.
    image = tmp_path / "photo.png"
    keras.utils.save_img(image, np.full((30, 20, 3), 255, np.uint8), scale=False)
    names_, batch = export.read_inputs([image], (12, 12, 1), cards.read_card(
        tmp_path / "model")["preprocessing"])
    assert batch.shape == (1, 12, 12, 1) and np.allclose(batch, 1.0)
    with pytest.raises(UsageError, match=r"holds an array of shape \(2, 5\)"):
        np.save(tmp_path / "wrong.npy", np.zeros((2, 5)))
        export.read_inputs([tmp_path / "wrong.npy"], (12, 12, 1), None)
    with pytest.raises(UsageError, match="no card saying how to preprocess"):
        export.read_inputs([image], (12, 12, 1), None)


def test_models_lists_the_shipped_models_by_default(tmp_path):
    result = kerasdl("models")
    assert result.returncode == 0, result.stderr
    assert result.stdout == cards.catalog(cards.SHIPPED)
    assert "`mnist_0_4_vgg`" in result.stdout
    assert result.stdout in (cards.SHIPPED / "README.md").read_text()
    other = kerasdl("models", "--root", tmp_path)
    assert other.returncode == 0 and other.stdout == cards.catalog(tmp_path)


def test_predict_reads_real_digits_right(tmp_path, full_mnist):
    mnist = data.load_task("mnist")
    picked = [int(np.flatnonzero(mnist.y_test == digit)[0]) for digit in range(10)]
    paths = []
    for digit, index in enumerate(picked):
        paths.append(tmp_path / f"digit_{digit}.png")
        keras.utils.save_img(paths[-1], mnist.x_test[index] * 255, scale=False)
    result = kerasdl("predict", cards.shipped("mnist_vgg"), *paths, "--json")
    assert result.returncode == 0, result.stderr
    labels = [found["top"][0]["label"] for found in json.loads(result.stdout)]
    assert labels == [str(digit) for digit in range(10)]


def test_info_prints_the_card_and_the_summary(saved):
    _, _, _, tmp_path = saved
    result = kerasdl("info", tmp_path / "model")
    assert result.returncode == 0, result.stderr
    card = json.loads(result.stdout[: result.stdout.index("}\n") + 1])
    saved_card = cards.read_card(tmp_path / "model")
    assert card == {key: value for key, value in saved_card.items() if key != "summary"}
    assert result.stdout.count("Total params") == 1  # the summary, once


def test_read_inputs_names_each_example(tmp_path):
    np.save(tmp_path / "one.npy", np.ones((2, 2)))
    np.save(tmp_path / "batch.npy", np.zeros((3, 2, 2)))
    names_, batch = export.read_inputs([tmp_path / "one.npy", tmp_path / "batch.npy"], (2, 2),
                                       None)
    assert names_ == [str(tmp_path / "one.npy")] + [f"{tmp_path / 'batch.npy'}[{i}]"
                                                    for i in range(3)]
    assert batch.dtype == np.float32
    np.testing.assert_array_equal(batch, [np.ones((2, 2))] + [np.zeros((2, 2))] * 3)
    with pytest.raises(UsageError, match="No such input file: '.*missing.png'"):
        export.read_inputs([tmp_path / "missing.png"], (2, 2), None)
    (tmp_path / "notes.txt").write_text("1 2 3 4")
    with pytest.raises(UsageError, match=r"Unknown input '.*notes.txt': expected an image "
                                         r"\(.png, .jpg, .jpeg\) or a .npy array"):
        export.read_inputs([tmp_path / "notes.txt"], (2, 2), None)


def test_read_inputs_refuses_damaged_and_non_finite_files_in_one_line(tmp_path):
    (tmp_path / "photo.png").write_text("not an image")
    np.save(tmp_path / "words.npy", np.array([["a", "b"], ["c", "d"]]))
    np.save(tmp_path / "nan.npy", np.full((2, 2), np.nan))
    card = {"color_mode": "grayscale", "resize": "bilinear", "scale": 1 / 255}
    for name, message in [("photo.png", "is damaged or not an image \\("),
                          ("words.npy", "is damaged or not a NumPy array of numbers \\("),
                          ("nan.npy", "holds NaN or Inf values")]:
        with pytest.raises(UsageError, match=f"^{tmp_path / name} {message}"):
            export.read_inputs([tmp_path / name], (2, 2), card)


def test_top_classes_are_the_most_probable_in_order():
    probabilities = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    assert export.top_classes(probabilities, ["a", "b", "c"], 2) == [
        [("b", 0.6), ("c", 0.3)], [("a", 0.5), ("c", 0.3)]]
    everything = export.top_classes(probabilities, ["a", "b", "c"], 10)
    assert [[name for name, _ in row] for row in everything] == [["b", "c", "a"],
                                                                 ["a", "c", "b"]]
