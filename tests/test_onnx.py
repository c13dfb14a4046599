"""ONNX out and in (issue 16), on all 10,000 MNIST test images.

Export: for every hidden activation x output activation (float32 and float64) and for the
presets' networks trained one epoch, onnxruntime's outputs equal digitnet's to 1e-5 (float32) and
give the same answer for every image; the file reads back to bit-identical parameters. Import:
PyTorch ``nn.Sequential`` MLPs (each activation, ``nn.Flatten`` on 28x28) and scikit-learn
``MLPClassifier`` through skl2onnx give digitnet outputs within 1e-5 of the source framework's
(PyTorch's logits through a softmax) with identical answers; the imported model runs through
eval, predict, plot, explain, gradcheck, serve and training. Bad files: one line naming the
node and op, exit 1, nothing written.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from fastapi.testclient import TestClient
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from digitnet.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from digitnet.cli import main
from digitnet.errors import DigitnetError
from digitnet.model_io import load_model, read_header
from digitnet.network import Network
from digitnet.onnx_io import read_onnx
from digitnet.preprocess import to_mnist
from digitnet.presets import PRESETS
from digitnet.train import TrainConfig, train

REPO = Path(__file__).resolve().parents[1]
PHOTO = REPO / "docs" / "photo-digits" / "photo-3-0-jpeg.jpg"


def run_onnx(path: Path, X: np.ndarray) -> list[np.ndarray]:
    """Every output of the ONNX model at ``path`` for the input X, by onnxruntime on one thread."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


def torch_export(model: nn.Module, path: Path, shape: tuple[int, ...] = (1, 28, 28)) -> Path:
    """``model`` exported as PyTorch users do (the TorchScript exporter, which needs nothing
    beyond torch), with a dynamic batch."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.eval(),
            (torch.zeros(*shape),),
            str(path),
            input_names=["image"],
            output_names=["out"],
            dynamic_axes={"image": {0: "batch"}},
            dynamo=False,
        )
    return path


def torch_outputs(model: nn.Module, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.tensor(X)).numpy()


def cli(argv: list[Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> None:
    torch.set_num_threads(1)


# -- export --------------------------------------------------------------------------------------


def assert_onnxruntime_agrees(net: Network, path: Path, X: np.ndarray, atol: float) -> None:
    probabilities, labels, outputs = run_onnx(path, X)
    expected = net.feedforward(X)
    assert outputs.dtype == net.dtype and outputs.shape == expected.shape
    assert np.max(np.abs(outputs - expected)) <= atol
    assert probabilities.dtype == net.dtype and probabilities.shape == expected.shape
    assert np.max(np.abs(probabilities - net.predict_proba(X))) <= atol
    assert np.array_equal(labels, net.predict(X))  # the same answer for every image
    assert np.array_equal(np.argmax(outputs, axis=1), labels)


def assert_same_network(a: Network, b: Network) -> None:
    assert a.config() == b.config()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert p.dtype == q.dtype and np.array_equal(p, q)


OUTPUTS = tuple(ACTIVATIONS)


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_export_agrees_with_onnxruntime_for_every_activation_and_output(
    activation: str, output: str, mnist, tmp_path: Path
) -> None:
    cost = "cross-entropy" if output in ("softmax", "sigmoid") else "quadratic"
    net = Network(
        [784, 32, 16, 10], activation=activation, output=output, cost=cost, init="lecun", seed=3
    )
    path = tmp_path / "net.onnx"
    net.to_onnx(path)
    assert_onnxruntime_agrees(net, path, mnist.X_test, atol=1e-5)
    assert_same_network(Network.from_onnx(path), net)  # the round trip, bit for bit


@pytest.mark.parametrize(
    "activation, output",
    [(a, o) for a, o in zip(HIDDEN_ACTIVATIONS * 2, OUTPUTS, strict=False)],
)
def test_a_float64_model_exports_in_double_precision(
    activation: str, output: str, mnist, tmp_path: Path
) -> None:
    net = Network(
        [784, 24, 12, 10],
        activation=activation,
        output=output,
        init="xavier",
        seed=5,
        dtype="float64",
    )
    path = tmp_path / "net.onnx"
    net.to_onnx(path)
    assert_onnxruntime_agrees(net, path, mnist.X_test, atol=1e-12)
    assert_same_network(Network.from_onnx(path), net)


def preset_networks() -> dict[str, str]:
    """One preset per distinct network (lessons-96 trains the lessons' network, fashion best's)."""
    seen: dict[str, str] = {}
    for name, preset in PRESETS.items():
        seen.setdefault(json.dumps(preset.network, sort_keys=True), name)
    return {name: key for key, name in seen.items()}


@pytest.mark.parametrize("preset", list(preset_networks()))
def test_trained_presets_export_to_the_same_answers(preset: str, mnist, tmp_path: Path) -> None:
    """Each preset's network and training settings for one epoch on 5,000 images (enough to
    give trained weights; accuracy is not the point)."""
    recipe = PRESETS[preset]
    net = Network.from_config(dict(recipe.network), seed=0)
    config = TrainConfig(**{**recipe.training, "epochs": 1, "seed": 0})
    train(net, mnist.X_train[:5000], mnist.y_train[:5000], config)
    assert net.evaluate(mnist.X_test[:2000], mnist.y_test[:2000])[1] > 0.5
    model = tmp_path / f"{preset}.npz"
    net.save(model, dataset={"name": "mnist"})
    assert main(["export", str(model)]) == 0
    path = model.with_suffix(".onnx")
    assert_onnxruntime_agrees(net, path, mnist.X_test, atol=1e-5)
    assert_same_network(Network.from_onnx(path), net)


def test_the_exported_file_describes_its_input(lessons_like: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "exported.onnx"
    code, printed, err = cli(["export", lessons_like, "-o", out], capsys)
    assert code == 0 and err == "" and f"wrote {out}" in printed
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    assert model.producer_name == "digitnet"
    assert model.opset_import[0].version >= 18
    (pixels,) = model.graph.input
    dims = pixels.type.tensor_type.shape.dim
    assert pixels.name == "pixels" and pixels.type.tensor_type.elem_type == TensorProto.FLOAT
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 784
    assert "pixel / 255" in pixels.doc_string and "pixel / 255" in model.doc_string
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["input_scale"] == "pixel / 255" and meta["dataset"] == "mnist"
    assert json.loads(meta["class_labels"]) == [str(d) for d in range(10)]
    assert json.loads(meta["digitnet.network"]) == load_model(lessons_like)[0].config()
    assert [o.name for o in model.graph.output] == ["probabilities", "label", "activations"]


@pytest.fixture
def lessons_like(tmp_path: Path) -> Path:
    path = tmp_path / "lessons.npz"
    Network([784, 16, 16, 10], init="lecun", seed=2).save(path, dataset={"name": "mnist"})
    return path


# -- import: PyTorch -----------------------------------------------------------------------------

TORCH_ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "leaky-relu": nn.LeakyReLU,  # PyTorch's default slope is digitnet's 0.01
    "identity": nn.Identity,
}


@pytest.mark.parametrize("softmax", [True, False], ids=["softmax", "logits"])
@pytest.mark.parametrize("activation", list(TORCH_ACTIVATIONS))
def test_a_pytorch_sequential_imports_with_its_outputs(
    activation: str, softmax: bool, mnist, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    act = TORCH_ACTIVATIONS[activation]
    layers = [nn.Flatten(), nn.Linear(784, 32), act(), nn.Linear(32, 16), act()]
    layers += [nn.Linear(16, 10)] + ([nn.Softmax(dim=1)] if softmax else [])
    model = nn.Sequential(*layers)
    net = Network.from_onnx(torch_export(model, tmp_path / "torch.onnx"))
    assert net.sizes == [784, 32, 16, 10] and net.activation == activation
    assert net.output == "softmax" and net.cost.name == "cross-entropy"  # logits: softmax'd
    X = mnist.X_test
    expected = torch_outputs(model, X.reshape(-1, 28, 28))
    if not softmax:
        expected = torch.softmax(torch.tensor(expected), dim=1).numpy()
    assert np.max(np.abs(net.feedforward(X) - expected)) <= 1e-5
    assert np.array_equal(net.predict(X), expected.argmax(axis=1))


@pytest.mark.parametrize(
    "model, shape",
    [
        (lambda: nn.Sequential(nn.Linear(784, 20), nn.Sigmoid(), nn.Linear(20, 10)), (1, 784)),
        (
            lambda: nn.Sequential(
                nn.Flatten(),
                nn.Linear(784, 20, bias=False),
                nn.ReLU(),
                nn.Dropout(0.5),
                nn.Linear(20, 10),
                nn.Sigmoid(),
            ),
            (1, 1, 28, 28),
        ),
    ],
    ids=["flat-input", "channel-no-bias-dropout"],
)
def test_other_pytorch_shapes_import(model, shape, mnist, tmp_path: Path) -> None:
    torch.manual_seed(1)
    module = model()
    net = Network.from_onnx(torch_export(module, tmp_path / "torch.onnx", shape))
    X = mnist.X_test
    expected = torch_outputs(module, X.reshape(-1, *shape[1:]))
    if net.output == "softmax":  # the flat input's logits, read as PyTorch's CrossEntropyLoss
        expected = torch.softmax(torch.tensor(expected), dim=1).numpy()
    assert np.max(np.abs(net.feedforward(X) - expected)) <= 1e-5
    assert np.array_equal(net.predict(X), expected.argmax(axis=1))


# -- import: scikit-learn ------------------------------------------------------------------------


def sklearn_onnx(clf: Any, path: Path, zipmap: bool = True) -> Path:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        options = None if zipmap else {id(clf): {"zipmap": False}}
        model = to_onnx(
            clf, initial_types=[("input", FloatTensorType([None, 784]))], options=options
        )
    path.write_bytes(model.SerializeToString())
    return path


def fit_mlp(mnist, activation: str = "relu", labels: np.ndarray | None = None, **kw: Any) -> Any:
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(activation=activation, max_iter=2, random_state=0, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: two passes on purpose
        y = mnist.y_train[:5000] if labels is None else labels
        return clf.fit(mnist.X_train[:5000], y)


@pytest.mark.parametrize(
    "activation, zipmap",
    [("relu", True), ("logistic", True), ("tanh", False), ("identity", True)],
)
def test_a_scikit_learn_mlpclassifier_imports_with_its_probabilities(
    activation: str, zipmap: bool, mnist, tmp_path: Path
) -> None:
    clf = fit_mlp(mnist, activation, hidden_layer_sizes=(32, 16))
    net, origin = read_onnx(sklearn_onnx(clf, tmp_path / "mlp.onnx", zipmap))
    assert origin["producer"].startswith("skl2onnx")
    expected_name = {"logistic": "sigmoid"}.get(activation, activation)
    assert net.sizes == [784, 32, 16, 10] and net.activation == expected_name
    assert net.output == "softmax" and net.cost.name == "cross-entropy"
    X = mnist.X_test
    assert np.max(np.abs(net.feedforward(X) - clf.predict_proba(X))) <= 1e-5
    assert np.array_equal(net.predict(X), clf.predict(X))


# -- the imported model everywhere ---------------------------------------------------------------


@pytest.fixture(scope="module")
def torch_model(mnist) -> nn.Module:
    """784-32-10 ReLU/softmax trained one epoch on 10,000 images (about 90% on the test set)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    X = torch.tensor(mnist.X_train[:10_000].reshape(-1, 28, 28))
    y = torch.tensor(mnist.y_train[:10_000].astype(np.int64))
    for start in range(0, len(X), 64):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X[start : start + 64]), y[start : start + 64]).backward()
        opt.step()
    return nn.Sequential(*model, nn.Softmax(dim=1)).eval()


def test_an_imported_pytorch_model_works_with_every_command(
    torch_model, mnist, shared_data: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    source = torch_export(torch_model, tmp_path / "mine.onnx")
    model = tmp_path / "mine.npz"
    code, out, err = cli(["import", source, "-o", model], capsys)
    assert code == 0 and err == ""
    assert "pytorch 2.13" in out and "784-32-10" in out and "cost cross-entropy" in out
    header = read_header(model)
    assert header["imported_from"]["format"] == "onnx"
    assert header["imported_from"]["producer"].startswith("pytorch")
    assert header["imported_from"]["file"] == "mine.onnx" and header["cost"] == "cross-entropy"
    expected = torch_outputs(torch_model, mnist.X_test.reshape(-1, 28, 28))
    accuracy = float(np.mean(expected.argmax(axis=1) == mnist.y_test))
    assert accuracy > 0.85

    data = ["--data-dir", shared_data]
    code, out, _ = cli(["eval", model, "--json", *data], capsys)
    assert code == 0 and json.loads(out)["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    code, out, _ = cli(["predict", model, PHOTO, "--json"], capsys)
    seen = to_mnist(PHOTO).reshape(1, 28, 28)
    answer = json.loads(out)[0]
    assert code == 0 and answer["digit"] == int(torch_outputs(torch_model, seen).argmax())
    for view in ("nudges", "weights", "network"):
        picture = tmp_path / f"{view}.png"
        assert cli(["plot", view, model, "-o", picture, *data], capsys)[0] == 0
        assert picture.stat().st_size > 1000
    code, out, _ = cli(
        ["explain", model, "--image", "0", "--layer", "2", "--weight", "7,3", "--json", *data],
        capsys,
    )
    assert code == 0 and json.loads(out)
    code, out, _ = cli(["gradcheck", model, *data], capsys)
    assert code == 0 and "passed" in out

    apps: list[Any] = []
    monkeypatch.setattr("digitnet.web.server.serve", lambda app, *a, **k: apps.append(app))
    code, out, _ = cli(
        ["serve", model, "--port", "8131", "--runs", tmp_path / "runs", *data], capsys
    )
    assert code == 0 and "784-32-10" in out
    with TestClient(apps[0], base_url="http://127.0.0.1:8131") as client:
        body = client.post("/api/predict", json={"pixels": mnist.X_test[0].tolist()}).json()
        np.testing.assert_allclose(body["outputs"], expected[0], atol=1e-4)  # shown rounded
        assert body["prediction"] == int(expected[0].argmax())

    net = Network.load(model)  # fine-tuning: digitnet trains the imported network further
    before = net.evaluate(mnist.X_val, mnist.y_val)[0]
    train(
        net,
        mnist.X_train[10_000:20_000],
        mnist.y_train[10_000:20_000],
        TrainConfig(epochs=1, batch_size=32, lr=0.05, optimizer="momentum", seed=0),
    )
    assert net.evaluate(mnist.X_val, mnist.y_val)[0] < before


def test_import_takes_the_cost_it_is_given(torch_model, tmp_path: Path, capsys) -> None:
    source = torch_export(torch_model, tmp_path / "mine.onnx")
    assert cli(["import", source, "--cost", "quadratic"], capsys)[0] == 0
    header = read_header(tmp_path / "mine.npz")
    assert header["cost"] == "quadratic" and header["output"] == "softmax"


def test_the_round_trip_through_the_command_line_is_bit_identical(tmp_path: Path, capsys):
    net = Network([784, 30, 10], activation="leaky-relu", cost="cross-entropy", init="he", seed=7)
    net.save(tmp_path / "a.npz")
    assert cli(["export", tmp_path / "a.npz", "-o", tmp_path / "a.onnx"], capsys)[0] == 0
    assert cli(["import", tmp_path / "a.onnx", "-o", tmp_path / "b.npz"], capsys)[0] == 0
    back, header = load_model(tmp_path / "b.npz")
    assert_same_network(back, net)
    assert header["imported_from"]["producer"].startswith("digitnet")


# -- bad input -----------------------------------------------------------------------------------


def graph_model(
    nodes: list[Any],
    inits: dict[str, np.ndarray],
    shape: list[Any] | None = None,
    opset: int = 21,
    out: str = "y",
) -> Any:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape or ["batch", 784])
    y = helper.make_tensor_value_info(out, TensorProto.FLOAT, ["batch", 10])
    tensors = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()]
    graph = helper.make_graph(nodes, "g", [x], [y], initializer=tensors)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def weights(n_out: int, n_in: int, name: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(n_out * n_in)
    return {f"W{name}": rng.standard_normal((n_out, n_in)), f"b{name}": np.zeros(n_out)}


def gemm(a: str, name: str, out: str) -> Any:
    return helper.make_node("Gemm", [a, f"W{name}", f"b{name}"], [out], name=name, transB=1)


def two_layers(hidden: Any, n: int = 32, n_in: int = 32) -> Any:
    nodes = [gemm("x", "fc1", "h"), *hidden, gemm("a", "fc2", "y")]
    return graph_model(nodes, {**weights(n, 784, "fc1"), **weights(10, n_in, "fc2")})


def save(model: Any, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def bad_torch(module: nn.Module, shape=(1, 28, 28)):
    return lambda path: torch_export(module, path, shape)


class Skip(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.c = nn.Linear(784, 32), nn.Linear(32, 32), nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.a(x.flatten(1)))
        return self.c(torch.relu(self.b(h)) + h)


class Recurrent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn, self.fc = nn.RNN(28, 16, batch_first=True), nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.rnn(x)[0][:, -1])


def relu(a: str = "h", out: str = "a", name: str = "act") -> Any:
    return helper.make_node("Relu", [a], [out], name=name)


def truncated(path: Path) -> Path:
    data = torch_export(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), path).read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


def copy(source: Path, path: Path) -> Path:
    path.write_bytes(source.read_bytes())
    return path


def sklearn_labels(mnist) -> Any:
    return lambda path: sklearn_onnx(
        fit_mlp(mnist, labels=mnist.y_train[:5000] + 1, hidden_layer_sizes=(8,)), path
    )


BAD = {
    "convolution": (
        bad_torch(
            nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2704, 10)),
            (1, 1, 28, 28),
        ),
        ["/0/Conv", "(Conv)"],
    ),
    "recurrent": (bad_torch(Recurrent()), ["(RNN)"]),
    "batch-norm": (
        bad_torch(
            nn.Sequential(
                nn.Flatten(), nn.Linear(784, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10)
            )
        ),
        ["(BatchNormalization)"],
    ),
    "skip-connection": (bad_torch(Skip()), ["'/Add' (Add)", "skip connection"]),
    "unsupported-op": (
        bad_torch(nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ELU(), nn.Linear(32, 10))),
        ["'/2/Elu' (Elu)", "not supported"],
    ),
    "log-softmax-output": (
        bad_torch(nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.LogSoftmax(dim=1))),
        ["(LogSoftmax)"],
    ),
    "mixed-hidden-activations": (
        bad_torch(
            nn.Sequential(
                nn.Flatten(),
                nn.Linear(784, 32),
                nn.ReLU(),
                nn.Linear(32, 16),
                nn.Tanh(),
                nn.Linear(16, 10),
            )
        ),
        ["'/4/Tanh' (Tanh)", "hidden layer 2 tanh", "hidden layer 1 is relu"],
    ),
    "other-leaky-slope": (
        bad_torch(
            nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.LeakyReLU(0.2), nn.Linear(32, 10))
        ),
        ["(LeakyRelu)", "alpha=0.2", "0.01"],
    ),
    "hidden-softmax": (
        lambda p: save(two_layers([helper.make_node("Softmax", ["h"], ["a"], name="sm")]), p),
        ["'sm' (Softmax)", "only on the output layer"],
    ),
    "old-opset": (
        lambda p: save(graph_model([gemm("x", "fc", "y")], weights(10, 784, "fc"), opset=7), p),
        ["opset 7 is not supported"],
    ),
    "dynamic-shape": (
        lambda p: save(
            graph_model(
                [helper.make_node("Flatten", ["x"], ["f"], name="flat"), gemm("f", "fc", "y")],
                weights(10, 784, "fc"),
                shape=["batch", "height", 28],
            ),
            p,
        ),
        ["dynamic shape", "height"],
    ),
    "mismatched-shapes": (
        lambda p: save(two_layers([relu()], n_in=20), p),
        ["'fc2' (Gemm)", "takes 20 inputs", "has 32"],
    ),
    "truncated": (truncated, ["not a readable ONNX model"]),
    "not-onnx": (lambda p: copy(PHOTO, p), ["not a readable ONNX model"]),
    "other-class-labels": ("labels", ["(ai.onnx.ml.ZipMap)", "classes [1, 2, 3", "0 to 9"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_models_are_refused_in_one_line_naming_the_problem(
    case: str, mnist, tmp_path: Path, capsys
) -> None:
    make, words = BAD[case]
    make = {"labels": sklearn_labels(mnist)}.get(make, make)
    source = make(tmp_path / "bad.onnx")
    out = tmp_path / "model.npz"
    code, printed, err = cli(["import", source, "-o", out], capsys)
    assert code == 1 and printed == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"digitnet: error: {source}: ")
    for word in words:
        assert word in err
    assert not out.exists() and [p.name for p in tmp_path.glob("*.npz*")] == []


def test_a_missing_file_and_a_folder_are_one_line(tmp_path: Path, capsys) -> None:
    code, _, err = cli(["import", tmp_path / "none.onnx"], capsys)
    assert code == 1 and "no such ONNX file" in err and len(err.splitlines()) == 1
    net = Network([784, 10], output="softmax", cost="cross-entropy")
    net.save(tmp_path / "m.npz")
    (tmp_path / "dir.onnx").mkdir()
    code, _, err = cli(["export", tmp_path / "m.npz", "-o", tmp_path / "dir.onnx"], capsys)
    assert code == 1 and "is a folder" in err and len(err.splitlines()) == 1


def test_without_the_onnx_extra_the_commands_say_what_to_install(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    net = Network([784, 10], output="softmax", cost="cross-entropy")
    net.save(tmp_path / "m.npz")
    net.to_onnx(tmp_path / "m.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    for argv in (
        ["export", tmp_path / "m.npz", "-o", tmp_path / "x.onnx"],
        ["import", tmp_path / "m.onnx", "-o", tmp_path / "x.npz"],
    ):
        code, _, err = cli(argv, capsys)
        assert code == 1 and "pip install 'digitnet[onnx]'" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.onnx").exists() and not (tmp_path / "x.npz").exists()
    with pytest.raises(DigitnetError, match=r"digitnet\[onnx\]"):
        Network.from_onnx(tmp_path / "m.onnx")
