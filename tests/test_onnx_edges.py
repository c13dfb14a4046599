"""ONNX without edges (issue 28): the files practitioners make, made here by torch and skl2onnx.

Import: a PyTorch logits MLP through the TorchScript exporter (``dynamo=False``) and through
torch 2.13's default (dynamo) exporter, with its weights in a ``.onnx.data`` file beside it and
with ``external_data=False``; a PyTorch MLP ending in a softmax; a one-logit binary PyTorch
model; skl2onnx's multi-class and binary ``MLPClassifier``; an 8x8-image model. Each imported
network's answers equal onnxruntime's on 1,000 MNIST test images (or random inputs of the
model's size) and its outputs equal the probabilities onnxruntime's outputs stand for, and
``digitnet eval`` on an imported logits model reports the cost PyTorch's ``CrossEntropyLoss``
gives on the same 10,000 images. Export: the same three output names for every output
activation and precision, class labels and the input's meaning in the metadata, a 64-input
``DigitnetClassifier`` (``load_digits``) in onnxruntime. Bad files: one line, exit 1, nothing
written.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from digitnet.activations import ACTIVATIONS
from digitnet.cli import main
from digitnet.model_io import load_model, read_header
from digitnet.network import Network
from digitnet.onnx_io import READ_AS, read_onnx, save_onnx

N_CHECK = 1000  # MNIST test images on which each import is compared with onnxruntime


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> None:
    torch.set_num_threads(1)


def session(path: Path) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(path: Path, X: np.ndarray, names: list[str] | None = None) -> list[np.ndarray]:
    s = session(path)
    return s.run(names, {s.get_inputs()[0].name: X})


def cli(argv: list[Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def softmax(z: np.ndarray) -> np.ndarray:
    return torch.softmax(torch.tensor(z, dtype=torch.float64), dim=1).numpy()


def export(model: nn.Module, path: Path, shape: tuple[int, ...] = (28, 28), **kw: Any) -> Path:
    """``model`` through ``torch.onnx.export`` with a dynamic batch: by default torch 2.13's
    default exporter (dynamo, external data), else with the keywords given."""
    example = (torch.zeros(2, *shape),)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):  # its progress
        warnings.simplefilter("ignore")
        if kw.get("dynamo", True):
            kw = {"dynamic_shapes": ({0: torch.export.Dim("batch")},), **kw}
        else:
            kw = {"input_names": ["image"], "dynamic_axes": {"image": {0: "batch"}}, **kw}
        torch.onnx.export(model.eval(), example, str(path), **kw)
    return path


@pytest.fixture(scope="module")
def logits_model(mnist) -> nn.Module:
    """A 784-32-10 ReLU MLP ending in a Linear layer (logits), trained one epoch on 10,000
    images with CrossEntropyLoss, as PyTorch users train one."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    X = torch.tensor(mnist.X_train[:10_000].reshape(-1, 28, 28))
    y = torch.tensor(mnist.y_train[:10_000].astype(np.int64))
    for start in range(0, len(X), 64):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X[start : start + 64]), y[start : start + 64]).backward()
        opt.step()
    return model.eval()


def assert_agrees_with_onnxruntime(
    net: Network, path: Path, X: np.ndarray, expected: np.ndarray | None = None
) -> np.ndarray:
    """The imported network's answers equal the argmax of onnxruntime's first output, and its
    outputs equal ``expected`` (the probabilities that output stands for) to 1e-5."""
    (raw,) = run_onnx(path, X, [session(path).get_outputs()[0].name])
    flat = X.reshape(len(X), -1)
    assert np.array_equal(net.predict(flat), raw.argmax(axis=1))
    if expected is not None:
        assert np.max(np.abs(net.feedforward(flat) - expected)) <= 1e-5
    return raw


# -- import: PyTorch -----------------------------------------------------------------------------

EXPORTERS = {
    "torchscript": {"dynamo": False},
    "dynamo-external-data": {},  # torch 2.13's default: dynamo=True, external_data=True
    "dynamo-one-file": {"external_data": False},
}


@pytest.mark.parametrize("exporter", list(EXPORTERS))
def test_a_pytorch_logits_model_imports_as_softmax_with_cross_entropy(
    exporter: str, logits_model: nn.Module, mnist, tmp_path: Path, capsys
) -> None:
    source = export(logits_model, tmp_path / "mine.onnx", **EXPORTERS[exporter])
    data_file = tmp_path / "mine.onnx.data"
    assert data_file.exists() == (exporter == "dynamo-external-data")
    code, out, err = cli(["import", source, "-o", tmp_path / "mine.npz"], capsys)
    assert code == 0 and err == ""
    assert "cost cross-entropy" in out and "\noutput: logits" in out and "CrossEntropyLoss" in out
    net, header = load_model(tmp_path / "mine.npz")
    assert net.sizes == [784, 32, 10] and net.output == "softmax"
    assert net.cost.name == "cross-entropy"
    assert header["imported_from"]["read_as"] == READ_AS["logits"]
    if data_file.exists():
        (entry,) = header["imported_from"]["external_data"]
        assert entry["file"] == "mine.onnx.data" and len(entry["sha256"]) == 64
    X = mnist.X_test[:N_CHECK].reshape(-1, 28, 28)
    logits = assert_agrees_with_onnxruntime(net, source, X)
    assert np.max(np.abs(net.feedforward(X.reshape(len(X), -1)) - softmax(logits))) <= 1e-5
    with torch.no_grad():
        assert np.max(np.abs(logits - logits_model(torch.tensor(X)).numpy())) <= 1e-5


def test_torch_onnx_export_with_no_options_at_all_imports(
    logits_model: nn.Module, mnist, tmp_path: Path
) -> None:
    """The README's call without its options: torch 2.13's defaults, a batch fixed at 1 and the
    weights in mine.onnx.data."""
    path = tmp_path / "mine.onnx"
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(logits_model, (torch.zeros(1, 28, 28),), str(path))
    assert (tmp_path / "mine.onnx.data").is_file()
    net = Network.from_onnx(path)
    assert net.output == "softmax" and net.cost.name == "cross-entropy"
    s = session(path)
    X = mnist.X_test[:100]
    logits = np.vstack([s.run(None, {s.get_inputs()[0].name: x.reshape(1, 28, 28)})[0] for x in X])
    assert np.array_equal(net.predict(X), logits.argmax(axis=1))
    assert np.max(np.abs(net.feedforward(X) - softmax(logits))) <= 1e-5


def test_eval_reports_the_cost_cross_entropy_loss_gives(
    logits_model: nn.Module, mnist, shared_data: Path, tmp_path: Path, capsys
) -> None:
    source = export(logits_model, tmp_path / "mine.onnx")
    model = tmp_path / "mine.npz"
    assert cli(["import", source, "-o", model], capsys)[0] == 0
    code, out, _ = cli(["eval", model, "--json", "--data-dir", shared_data], capsys)
    assert code == 0
    result = json.loads(out)
    with torch.no_grad():
        logits = logits_model(torch.tensor(mnist.X_test.reshape(-1, 28, 28)))
        y = torch.tensor(mnist.y_test.astype(np.int64))
        loss = float(nn.CrossEntropyLoss()(logits.double(), y))
        accuracy = float((logits.argmax(dim=1) == y).double().mean())
    assert 0.05 < loss < 1.0  # a trained network's cost, not the quadratic cost of raw logits
    assert result["cost"] == pytest.approx(loss, abs=1e-4)
    assert result["accuracy"] == pytest.approx(accuracy, abs=1e-12)


def test_the_cost_flag_picks_cross_entropy_or_keeps_raw_logits(
    logits_model: nn.Module, tmp_path: Path, capsys
) -> None:
    source = export(logits_model, tmp_path / "mine.onnx", dynamo=False)
    assert (
        cli(["import", source, "-o", tmp_path / "ce.npz", "--cost", "cross-entropy"], capsys)[0]
        == 0
    )
    header = read_header(tmp_path / "ce.npz")
    assert (header["output"], header["cost"]) == ("softmax", "cross-entropy")
    code, out, _ = cli(["import", source, "-o", tmp_path / "q.npz", "--cost", "quadratic"], capsys)
    assert code == 0 and "output: " not in out
    header = read_header(tmp_path / "q.npz")
    assert (header["output"], header["cost"]) == ("identity", "quadratic")
    assert "read_as" not in header["imported_from"]


def test_a_pytorch_softmax_model_imports_as_it_is(mnist, tmp_path: Path) -> None:
    torch.manual_seed(2)
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(784, 24), nn.Tanh(), nn.Linear(24, 10), nn.Softmax(dim=1)
    )
    source = export(model, tmp_path / "soft.onnx")
    net, origin = read_onnx(source)
    assert (net.activation, net.output, net.cost.name) == ("tanh", "softmax", "cross-entropy")
    assert "read_as" not in origin and origin["external_data"][0]["file"] == "soft.onnx.data"
    X = mnist.X_test[:N_CHECK].reshape(-1, 28, 28)
    probabilities = assert_agrees_with_onnxruntime(net, source, X)
    assert np.max(np.abs(net.feedforward(X.reshape(len(X), -1)) - probabilities)) <= 1e-5


def test_a_one_logit_binary_pytorch_model_becomes_two_softmax_neurons(
    mnist, tmp_path: Path
) -> None:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 1))  # BCEWithLogitsLoss
    source = export(model, tmp_path / "binary.onnx", shape=(784,))
    net, origin = read_onnx(source)
    assert net.sizes == [784, 16, 2] and net.output == "softmax"
    assert net.cost.name == "cross-entropy" and origin["read_as"] == READ_AS["logit"]
    X = mnist.X_test[:N_CHECK]
    (z,) = run_onnx(source, X)
    p1 = 1 / (1 + np.exp(-z.astype(np.float64)))
    assert np.max(np.abs(net.feedforward(X) - np.hstack([1 - p1, p1]))) <= 1e-5
    assert np.array_equal(net.predict(X), (z[:, 0] > 0).astype(int))
    assert 0 < net.predict(X).sum() < len(X)  # both classes answered


def test_a_one_sigmoid_binary_pytorch_model_becomes_two_softmax_neurons(tmp_path: Path) -> None:
    torch.manual_seed(7)
    model = nn.Sequential(nn.Linear(30, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())
    source = export(model, tmp_path / "binary.onnx", shape=(30,), dynamo=False)
    net, origin = read_onnx(source)
    assert net.sizes == [30, 8, 2] and origin["read_as"] == READ_AS["sigmoid"]
    X = np.random.default_rng(1).standard_normal((N_CHECK, 30)).astype(np.float32)
    (p1,) = run_onnx(source, X)
    assert np.max(np.abs(net.feedforward(X) - np.hstack([1 - p1, p1]))) <= 1e-5
    assert np.array_equal(net.predict(X), (p1[:, 0] > 0.5).astype(int))


@pytest.mark.parametrize(
    "sizes, output",
    [([784, 8, 1], "sigmoid"), ([784, 8, 1], "identity"), ([64, 8, 10], "identity")],
)
def test_digitnets_own_exports_read_back_as_they_were(
    sizes: list[int], output: str, tmp_path: Path
) -> None:
    net = Network(sizes, output=output, init="lecun", seed=8)
    save_onnx(net, tmp_path / "net.onnx")
    back, origin = read_onnx(tmp_path / "net.onnx")
    assert back.config() == net.config() and "read_as" not in origin
    for p, q in zip(back.parameters(), net.parameters(), strict=True):
        assert np.array_equal(p, q)


def test_an_8x8_image_model_imports_with_64_inputs(tmp_path: Path) -> None:
    torch.manual_seed(4)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 12), nn.Sigmoid(), nn.Linear(12, 10))
    source = export(model, tmp_path / "small.onnx", shape=(8, 8), dynamo=False)
    net = Network.from_onnx(source)
    assert net.sizes == [64, 12, 10]
    X = np.random.default_rng(0).random((N_CHECK, 8, 8)).astype(np.float32)
    logits = assert_agrees_with_onnxruntime(net, source, X)
    assert np.max(np.abs(net.feedforward(X.reshape(len(X), -1)) - softmax(logits))) <= 1e-5


# -- import: scikit-learn ------------------------------------------------------------------------


def sklearn_onnx(clf: Any, path: Path, n_in: int, zipmap: bool) -> Path:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = to_onnx(
            clf,
            initial_types=[("input", FloatTensorType([None, n_in]))],
            options={id(clf): {"zipmap": zipmap}},
        )
    path.write_bytes(model.SerializeToString())
    return path


def fit_mlp(X: np.ndarray, y: np.ndarray, **kw: Any) -> Any:
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: few passes on purpose
        return MLPClassifier(**{"max_iter": 5, "random_state": 0, **kw}).fit(X, y)


@pytest.mark.parametrize("zipmap", [True, False], ids=["zipmap", "no-zipmap"])
@pytest.mark.parametrize("classes", ["binary", "multi-class"])
def test_a_scikit_learn_classifier_imports_with_onnxruntimes_answers(
    classes: str, zipmap: bool, mnist, tmp_path: Path
) -> None:
    X, y = mnist.X_train[:5000], mnist.y_train[:5000]
    if classes == "binary":
        y = (y >= 5).astype(int)
    clf = fit_mlp(X, y, hidden_layer_sizes=(16,), activation="logistic")
    source = sklearn_onnx(clf, tmp_path / "mlp.onnx", 784, zipmap)
    net, origin = read_onnx(source)
    n_classes = 2 if classes == "binary" else 10
    assert net.sizes == [784, 16, n_classes] and net.activation == "sigmoid"
    assert net.output == "softmax" and net.cost.name == "cross-entropy"
    assert origin.get("read_as") == (READ_AS["binary"] if classes == "binary" else None)
    X_test = mnist.X_test[:N_CHECK]
    s = session(source)
    labels, probabilities = s.run(None, {"input": X_test})  # zipmap: output_label, ...
    if zipmap:  # a list of {class: probability}
        probabilities = np.array([[row[j] for j in range(n_classes)] for row in probabilities])
    assert np.array_equal(net.predict(X_test), labels)
    assert np.array_equal(labels, clf.predict(X_test))
    assert np.max(np.abs(net.feedforward(X_test) - probabilities)) <= 1e-5
    assert np.max(np.abs(net.feedforward(X_test) - clf.predict_proba(X_test))) <= 1e-5
    if classes == "binary":
        assert 0 < labels.sum() < len(labels)


def test_a_binary_classifier_on_64_features_imports(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    clf = fit_mlp(X, (y >= 5).astype(int), hidden_layer_sizes=(8,), max_iter=50)
    net = Network.from_onnx(sklearn_onnx(clf, tmp_path / "digits.onnx", 64, zipmap=False))
    assert net.sizes == [64, 8, 2] and net.activation == "relu"
    assert np.array_equal(net.predict(X), clf.predict(X))
    assert np.max(np.abs(net.feedforward(X) - clf.predict_proba(X))) <= 1e-5


# -- export --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output", list(ACTIVATIONS))
def test_every_export_has_the_same_outputs(output: str, dtype: str, mnist, tmp_path: Path) -> None:
    net = Network(
        [784, 20, 10], activation="relu", output=output, init="lecun", seed=6, dtype=dtype
    )
    path = tmp_path / "net.onnx"
    save_onnx(net, path)
    model = onnx.load(str(path))
    assert [o.name for o in model.graph.output] == ["probabilities", "label", "activations"]
    assert [i.name for i in model.graph.input] == ["pixels"]
    X = mnist.X_test[:N_CHECK]
    probabilities, labels, activations = run_onnx(path, X)
    atol = 1e-5 if dtype == "float32" else 1e-12
    assert np.max(np.abs(activations - net.feedforward(X))) <= atol
    assert np.max(np.abs(probabilities - net.predict_proba(X))) <= atol
    assert np.allclose(probabilities.sum(axis=1), 1, atol=atol) and probabilities.min() >= 0
    assert np.array_equal(labels, net.predict(X)) and labels.dtype == np.int64


def test_probabilities_without_positive_evidence_are_uniform(tmp_path: Path) -> None:
    net = Network([784, 10], output="relu", seed=0)
    W, b = net.parameters()
    net.set_parameters([np.zeros_like(W), np.full_like(b, -1.0)])  # every a_j = relu(-1) = 0
    path = tmp_path / "net.onnx"
    save_onnx(net, path)
    probabilities, labels, _ = run_onnx(path, np.ones((3, 784), np.float32))
    assert np.array_equal(probabilities, np.full((3, 10), 0.1, np.float32))
    assert np.array_equal(labels, [0, 0, 0])


@pytest.mark.parametrize(
    "dataset, labels",
    [
        ("fashion-mnist", ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal"]),
        ("mnist", ["0", "1", "2", "3", "4", "5"]),
        (None, ["0", "1", "2", "3", "4", "5"]),
    ],
)
def test_the_class_labels_are_in_the_metadata(
    dataset: str | None, labels: list[str], tmp_path: Path, capsys
) -> None:
    model = tmp_path / "m.npz"
    Network([784, 16, 10], seed=1).save(model, dataset={"name": dataset} if dataset else None)
    code, out, _ = cli(["export", model, "-o", tmp_path / "m.onnx"], capsys)
    assert code == 0 and "'probabilities' (batch, 10), 'label' (batch,)" in out
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    names = json.loads(meta["class_labels"])
    assert len(names) == 10 and names[: len(labels)] == labels
    assert meta["input_scale"] == "pixel / 255" and meta.get("dataset") == dataset


def test_a_64_input_classifier_exports_and_agrees_with_digitnet(tmp_path: Path, capsys) -> None:
    from sklearn.datasets import load_digits

    from digitnet.sklearn import DigitnetClassifier

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    clf = DigitnetClassifier(epochs=10, tol=None, random_state=0).fit(X, y)
    path = tmp_path / "digits.onnx"
    save_onnx(clf.network_, path, class_labels=[str(c) for c in clf.classes_])
    model = onnx.load(str(path))
    (features,) = model.graph.input
    assert features.name == "features"
    assert [d.dim_value for d in features.type.tensor_type.shape.dim][1:] == [64]
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["input_scale"] == "features" and "64 features" in meta["input"]
    assert json.loads(meta["class_labels"]) == [str(c) for c in clf.classes_]
    probabilities, labels, activations = run_onnx(path, X)
    assert np.max(np.abs(activations - clf.network_.feedforward(X))) <= 1e-5
    assert np.max(np.abs(probabilities - clf.predict_proba(X))) <= 1e-5
    assert np.array_equal(clf.classes_[labels], clf.predict(X))
    assert clf.score(X, y) > 0.8

    # the same through the command line, and back
    clf.network_.save(tmp_path / "digits.npz")
    code, out, _ = cli(["export", tmp_path / "digits.npz", "-o", tmp_path / "cli.onnx"], capsys)
    assert code == 0 and "input 'features' (batch, 64) float32;" in out
    assert cli(["import", tmp_path / "cli.onnx", "-o", tmp_path / "back.npz"], capsys)[0] == 0
    back = Network.load(tmp_path / "back.npz")
    assert back.config() == clf.network_.config()
    for p, q in zip(back.parameters(), clf.network_.parameters(), strict=True):
        assert np.array_equal(p, q)


# -- bad input -----------------------------------------------------------------------------------


def small_torch(path: Path, **kw: Any) -> Path:
    torch.manual_seed(5)
    return export(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), path, **kw)


def missing_data(path: Path) -> Path:
    small_torch(path)
    Path(f"{path}.data").unlink()
    return path


def relocated(location: str | None) -> Any:
    """A dynamo export whose external data location is rewritten to ``location``, with a real
    copy of its data in the folder above (so only the path is wrong); None: that copy's absolute
    path."""

    def make(path: Path) -> Path:
        small_torch(path)
        data = Path(f"{path}.data")
        target = path.parent.parent / "up.data"
        target.write_bytes(data.read_bytes())
        where = str(target) if location is None else location
        model = onnx.load(str(path), load_external_data=False)
        for t in model.graph.initializer:
            for entry in t.external_data:
                if entry.key == "location":
                    entry.value = where
        path.write_bytes(model.SerializeToString())
        return path

    return make


def linked_outside(path: Path) -> Path:
    small_torch(path)
    data = Path(f"{path}.data")
    outside = path.parent.parent / "elsewhere.data"
    data.replace(outside)
    data.symlink_to(outside)
    return path


def short_data(path: Path) -> Path:
    small_torch(path)
    data = Path(f"{path}.data")
    data.write_bytes(data.read_bytes()[:1000])
    return path


def two_inputs(path: Path) -> Path:
    x1 = helper.make_tensor_value_info("x1", TensorProto.FLOAT, ["batch", 784])
    x2 = helper.make_tensor_value_info("x2", TensorProto.FLOAT, ["batch", 784])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])
    W = numpy_helper.from_array(np.zeros((10, 784), np.float32), "W")
    nodes = [
        helper.make_node("Add", ["x1", "x2"], ["x"], name="both"),
        helper.make_node("Gemm", ["x", "W"], ["y"], name="fc", transB=1),
    ]
    graph = helper.make_graph(nodes, "g", [x1, x2], [y], initializer=[W])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=8)
    path.write_bytes(model.SerializeToString())
    return path


def truncated(path: Path) -> Path:
    small_torch(path, external_data=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def gelu(path: Path) -> Path:
    torch.manual_seed(6)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.GELU(), nn.Linear(16, 10))
    return export(model, path, external_data=False)


BAD = {
    "external-data-missing": (missing_data, ["bad.onnx.data", "missing", "external_data=False"]),
    "external-data-up": (relocated("../up.data"), ["'../up.data'", "not a file in the model's"]),
    "external-data-deeper-up": (relocated("sub/../../up.data"), ["'sub/../../up.data'"]),
    "external-data-absolute": (relocated(None), ["up.data'", "not a file in the model's folder"]),
    "external-data-nul": (relocated("up\0.data"), ["'up\\x00.data'", "not a file in the"]),
    "external-data-link": (linked_outside, ["links outside the model's folder"]),
    "external-data-short": (short_data, ["bad.onnx.data, which has 1000 bytes"]),
    "two-inputs": (two_inputs, ["2 inputs", "'x1', 'x2'"]),
    "unsupported-op": (gelu, ["(Gelu)", "node_gelu", "not supported"]),
    "truncated": (truncated, ["not a readable ONNX model"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_files_are_refused_in_one_line(case: str, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    make, words = BAD[case]
    source = make(folder / "bad.onnx")
    out = folder / "model.npz"
    code, printed, err = cli(["import", source, "-o", out], capsys)
    assert code == 1 and printed == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"digitnet: error: {source}: ")
    for word in words:
        assert word in err, err
    assert not out.exists() and [p.name for p in folder.glob("*.npz*")] == []
