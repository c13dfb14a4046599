"""docs/model-format.md is exact: a loader written from the document alone gives ``digitnet eval``'s
answers on models of every kind, and every header is strict JSON.

The loader below (``read_model``, ``forward``) uses only zipfile, NumPy and json, as the document
says; digitnet trains the models and gives the answers to compare with.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from digitnet.cli import main
from digitnet.data import load_embedded
from digitnet.network import Network
from digitnet.train import TrainConfig, train

# -- the loader, from docs/model-format.md alone ----------------------------------------------


def strict_json(text: str) -> Any:
    """RFC 8259 JSON: the tokens NaN, Infinity and -Infinity are refused."""

    def refuse(token: str) -> Any:
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def read_model(path: Path) -> tuple[dict[str, Any], list[np.ndarray], list[np.ndarray]]:
    """The header, weights and biases of a model file, checked as the document says."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
    assert "header.npy" in names
    with np.load(path, allow_pickle=False) as f:
        raw = f["header"]
        assert raw.dtype == np.uint8 and raw.ndim == 1
        header = strict_json(raw.tobytes().decode("utf-8"))
        assert header["format"] == "digitnet-model" and header["format_version"] == 1
        for key in ("sizes", "activation", "output", "cost", "dtype"):
            assert key in header
        sizes, dtype = header["sizes"], np.dtype(header["dtype"])
        L = len(sizes) - 1
        W = [f[f"W{l}"] for l in range(1, L + 1)]
        b = [f[f"b{l}"] for l in range(1, L + 1)]
    for l in range(L):
        assert W[l].shape == (sizes[l + 1], sizes[l]) and W[l].dtype == dtype
        assert b[l].shape == (sizes[l + 1],) and b[l].dtype == dtype
    return header, W, b


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward(model: tuple, images: np.ndarray) -> np.ndarray:
    """The output activations (n, 10) for uint8 images (n, 28, 28), ink high."""
    header, W, b = model
    dtype = np.dtype(header["dtype"])
    sigma = {
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "relu": lambda z: np.maximum(z, 0),
        "tanh": np.tanh,
        "leaky-relu": lambda z: np.where(z > 0, z, dtype.type(0.01) * z),
        "softmax": softmax,
    }
    a = (images.reshape(-1, 784) / 255).astype(np.float32).astype(dtype)
    L = len(W)
    with np.errstate(over="ignore"):  # exp(-z) overflows to inf for very negative z: sigma = 0
        for l in range(L):
            name = header["output"] if l == L - 1 else header["activation"]
            a = sigma[name](a @ W[l].T + b[l])
    return a


# -- the models ----------------------------------------------------------------------------------

MODELS = {
    "sigmoid-quadratic": (
        dict(sizes=[784, 16, 16, 10], activation="sigmoid", cost="quadratic", init="lecun"),
        dict(batch_size=10, lr=3.0),
    ),
    "relu-softmax-cross-entropy": (
        dict(
            sizes=[784, 32, 10],
            activation="relu",
            output="softmax",
            cost="cross-entropy",
            init="he",
        ),
        dict(batch_size=32, lr=0.05, optimizer="momentum"),
    ),  # fmt: skip
    "tanh": (
        dict(
            sizes=[784, 24, 10], activation="tanh", output="tanh", cost="quadratic", init="xavier"
        ),
        dict(batch_size=16, lr=0.1),
    ),  # fmt: skip
    "leaky-relu-dropout": (
        dict(
            sizes=[784, 32, 10],
            activation="leaky-relu",
            output="softmax",
            cost="cross-entropy",
            init="he",
        ),
        dict(batch_size=32, lr=0.05, optimizer="momentum", dropout=0.2),
    ),  # fmt: skip
    "float64": (
        dict(
            sizes=[784, 16, 10],
            activation="sigmoid",
            cost="cross-entropy",
            init="lecun",
            dtype="float64",
        ),
        dict(batch_size=10, lr=0.5),
    ),  # fmt: skip
}
N_TRAIN = 3000


@pytest.fixture(scope="module")
def sample():
    return load_embedded()


@pytest.fixture(scope="module")
def models(sample, tmp_path_factory) -> dict[str, Path]:
    """Each model trained one epoch on the embedded sample; and a checkpoint whose history holds
    NaN (trained without validation or test data), saved as ``digitnet train`` saves one."""
    folder = tmp_path_factory.mktemp("models")
    X, y = sample.X_train[:N_TRAIN], sample.y_train[:N_TRAIN]
    paths = {}
    for name, (network, training) in MODELS.items():
        net = Network(seed=1, **network)
        config = TrainConfig(epochs=1, seed=1, **training)
        history = train(net, X, y, config, X_val=sample.X_val, y_val=sample.y_val)
        paths[name] = folder / f"{name}.npz"
        net.save(paths[name], dataset=sample, training=config, history=history)
    net = Network([784, 16, 10], seed=2, init="lecun")
    config = TrainConfig(epochs=1, seed=2)
    history = train(net, X, y, config)
    assert np.isnan(history.last.validation_cost) and np.isnan(history.last.test_accuracy)
    paths["checkpoint-with-nan"] = folder / "m.checkpoint.npz"
    net.save(paths["checkpoint-with-nan"], dataset=sample, training=config, history=history)
    return paths


def eval_json(path: Path, capsys, monkeypatch) -> dict[str, Any]:
    """``digitnet eval --json`` on the embedded sample's test set."""
    monkeypatch.delenv("DIGITNET_DATA", raising=False)
    code = main(["eval", str(path), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("name", [*MODELS, "checkpoint-with-nan"])
def test_a_loader_written_from_the_document_matches_digitnet_eval(
    name, models, sample, capsys, monkeypatch
):
    path = models[name]
    model = read_model(path)
    images = np.rint(sample.X_test * 255).astype(np.uint8).reshape(-1, 28, 28)
    outputs = forward(model, images)
    answers = np.argmax(outputs, axis=1)

    result = eval_json(path, capsys, monkeypatch)
    assert result["dataset"]["n_test"] == len(sample.y_test)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (sample.y_test, answers), 1)
    assert result["confusion"] == confusion.tolist()
    assert result["accuracy"] == np.mean(answers == sample.y_test)
    assert result["accuracy"] > 0.5

    net = Network.load(path)
    np.testing.assert_array_equal(net.predict(sample.X_test), answers)
    rtol, atol = (1e-12, 1e-15) if net.dtype == np.float64 else (1e-5, 1e-6)
    np.testing.assert_allclose(outputs, net.feedforward(sample.X_test), rtol=rtol, atol=atol)


def test_every_header_is_strict_json_and_nan_is_written_as_null(models):
    for path in models.values():
        read_model(path)  # parses the header strictly
    header, _, _ = read_model(models["checkpoint-with-nan"])
    record = header["history"]["epochs"][0]
    assert record["validation_cost"] is None and record["test_accuracy"] is None
    assert record["train_cost"] > 0


def test_the_document_reads_the_input_as_float32_for_float64_models_too(models, sample):
    """pixel / 255 rounded to float32, then widened: exactly the input digitnet computes with."""
    pixels = np.arange(256, dtype=np.uint8)
    assert np.array_equal(
        (pixels / 255).astype(np.float32), np.true_divide(pixels, np.float32(255), dtype=np.float32)
    )
    net = Network.load(models["float64"])
    images = np.rint(sample.X_test[:50] * 255).astype(np.uint8)
    ours = (images / 255).astype(np.float32).astype(np.float64)
    assert np.array_equal(net.as_input(sample.X_test[:50]), ours)
    np.testing.assert_allclose(
        forward(read_model(models["float64"]), images.reshape(-1, 28, 28)),
        net.feedforward(sample.X_test[:50]),
        rtol=1e-12,
    )


def test_the_documented_snippet_runs_as_written(models, sample):
    """The Python block of docs/model-format.md, run on a softmax model and a batch of images:
    each row of the output sums to 1 (softmax per example), and its answers are eval's."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "model-format.md").read_text()
    block = doc.split("```python\n", 1)[1].split("```", 1)[0]
    path = models["relu-softmax-cross-entropy"]
    images = np.rint(sample.X_test[:200] * 255).astype(np.uint8).reshape(-1, 28, 28)
    scope: dict[str, Any] = {"images": images}
    exec(compile(block.replace('"model.npz"', repr(str(path))), "model-format.md", "exec"), scope)
    np.testing.assert_allclose(scope["a"].sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(scope["digits"], Network.load(path).predict(sample.X_test[:200]))


# -- ties: one rule for eval, predict and Network.predict -----------------------------------------


def tied_network(tmp_path: Path, output: str, biases: dict[int, float], rest: float) -> Path:
    """A network whose output ignores the image (every weight 0): its output biases decide."""
    net = Network([784, 4, 10], activation="sigmoid", output=output, seed=0)
    for W in net.W:
        W[...] = 0
    net.b[-1][...] = rest
    for j, value in biases.items():
        net.b[-1][j] = value
    path = tmp_path / f"tied-{output}.npz"
    net.save(path)
    return path


def predict_json(path: Path, image: Path, capsys) -> dict[str, Any]:
    code = main(["predict", str(path), str(image), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)[0]


@pytest.fixture
def drawing(tmp_path: Path) -> Path:
    from PIL import Image, ImageDraw

    im = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(im).line([(140, 40), (140, 240)], fill=0, width=20)
    path = tmp_path / "one.png"
    im.save(path)
    return path


def test_ties_go_to_the_lowest_numbered_neuron_in_predict_and_eval(
    tmp_path, drawing, sample, capsys, monkeypatch
):
    path = tied_network(tmp_path, "sigmoid", {3: 2.0, 7: 2.0}, rest=0.0)
    assert predict_json(path, drawing, capsys)["digit"] == 3
    assert (Network.load(path).predict(sample.X_test[:20]) == 3).all()
    counts = np.array(eval_json(path, capsys, monkeypatch)["confusion"])
    assert counts[:, 3].sum() == len(sample.y_test)
    code = main(["predict", str(path), str(drawing)])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith(f"{drawing}: 3   (3: ")


def test_predict_answers_from_the_outputs_even_when_the_probabilities_tie(
    tmp_path, drawing, sample, capsys, monkeypatch
):
    """A tanh output with no positive activation: every probability is 0.1, and the answer is
    still the most active neuron, in predict as in eval."""
    path = tied_network(tmp_path, "tanh", {4: -0.1}, rest=-0.5)
    result = predict_json(path, drawing, capsys)
    assert result["probabilities"] == pytest.approx([0.1] * 10)
    assert result["digit"] == 4
    counts = np.array(eval_json(path, capsys, monkeypatch)["confusion"])
    assert counts[:, 4].sum() == len(sample.y_test)
