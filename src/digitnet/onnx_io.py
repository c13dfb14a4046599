"""ONNX out and in: a digitnet model for any ONNX runtime, and anyone's MLP as a digitnet model.

**Export** (:func:`save_onnx`, ``digitnet export``, ``Network.to_onnx``) writes the network as a
chain of ONNX nodes built with ``onnx.helper``: for each layer l a ``Gemm`` ``z = a W^T + b``
(initializers ``Wl`` (n_l, n_{l-1}) and ``bl`` (n_l,), exactly digitnet's arrays) and its
activation (``Sigmoid``, ``Relu``, ``LeakyRelu`` with alpha 0.01, ``Tanh``, ``Softmax`` on the
last axis; none for ``identity``). The input ``pixels`` is float32 (batch, 784): a 28x28 image
row by row, pixel / 255; a network of another input size reads ``features`` (batch, n_0), the
values it was trained on. A float64 model casts the input to double first. Every network has the
same three outputs: ``probabilities`` (batch, n_L), :meth:`Network.predict_proba`'s distribution
(a softmax output itself; any other output's activations with negatives counted as 0, divided by
their sum, or 1/n_L each when none is positive); ``label`` (batch,) int64, the most active output
neuron, :meth:`Network.predict`; ``activations`` (batch, n_L), the output layer's a^(L). The
names are skl2onnx's for its classifiers. The metadata holds the input's meaning (``input`` in
words, ``input_scale``: ``pixel / 255`` or ``features``), ``class_labels`` (JSON: the dataset's
class names, else "0", "1", ...) and digitnet's network config; the file is checked with the
ONNX checker and run with onnxruntime against digitnet before it is written.

**Import** (:func:`read_onnx`, ``digitnet import``, ``Network.from_onnx``) reads a feed-forward
MLP: ``Gemm``, or ``MatMul`` followed by an optional ``Add`` of a constant bias, each optionally
followed by ``Relu``, ``Sigmoid``, ``Tanh``, ``LeakyRelu`` (alpha 0.01), or ``Softmax`` (output
layer only); a layer without one is ``identity``. Before the first layer a ``Flatten`` or a
``Reshape`` may turn (batch, h, w) or (batch, 1, h, w) into (batch, h w), and a ``Cast`` may
set the precision; ``Identity`` and ``Dropout`` pass their input on. The chain ends at the first
of the graph's outputs that no further layer reads, or where no layer follows; what follows the
last layer and only reads it (``ArgMax``, ``ZipMap``, label lookups, as skl2onnx's classifiers
end, or anything after an output, as digitnet's ``probabilities``) is ignored: the last layer's
activations are the network's output. Outputs are read as digitnet answers (see
:func:`_network`): logits (no output activation) as a softmax output with the cross-entropy
cost, PyTorch's ``CrossEntropyLoss``; one output neuron, and skl2onnx's binary ``(1 - p, p)``
(``Sub`` and ``Concat`` after one sigmoid neuron), as two softmax neurons. External data (torch's
default exporter writes ``MODEL.onnx.data``) is read from files in the model's folder only.
Anything else is refused with one line naming the node and its op. The imported network is run
with onnxruntime beside the ONNX model before it is returned.

Neither ``onnx`` nor ``onnxruntime`` is imported until one of these functions runs (they are the
optional extra ``digitnet[onnx]``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np

from digitnet.errors import DigitnetError
from digitnet.network import CONFIG_KEYS, Network
from digitnet.version import __version__

#: The opset digitnet writes (ONNX 1.16, onnxruntime 1.18 and later run it).
OPSET = 21
#: The oldest default-domain opset digitnet reads.
MIN_OPSET = 9
INPUT_NAME = "pixels"
FEATURES_NAME = "features"
#: The exported outputs, the same for every network.
OUTPUT_PROBABILITIES = "probabilities"
OUTPUT_LABEL = "label"
OUTPUT_ACTIVATIONS = "activations"
IMAGE_SHAPE = (28, 28)
N_PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
INPUT_DOC = (
    "a batch of 28x28 images, one per row: 784 values, the image row by row, each pixel / 255 "
    "(0.0 is background, 1.0 is full ink, MNIST's convention), float32"
)
#: Metadata keys written into exported models.
META_INPUT = "input"
META_SCALE = "input_scale"
META_LABELS = "class_labels"
META_CONFIG = "digitnet.network"

_ACTIVATION_OPS = {"sigmoid": "Sigmoid", "relu": "Relu", "leaky-relu": "LeakyRelu", "tanh": "Tanh"}
_OP_ACTIVATIONS = {op: name for name, op in _ACTIVATION_OPS.items()} | {"Softmax": "softmax"}
LEAKY_SLOPE = 0.01
#: Ops that may read the network's output after its last layer (class labels, argmax, ZipMap).
_LABEL_OPS = frozenset(
    {"ArgMax", "ZipMap", "ArrayFeatureExtractor", "Reshape", "Cast", "Identity", "Squeeze"}
)
_PASS_OPS = frozenset({"Identity", "Dropout"})
#: Ops that compute shapes at run time (``x.view(x.size(0), -1)`` in PyTorch): when an error must
#: name a node, the first node of another op is named.
_SHAPE_OPS = frozenset(
    {"Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "Cast", "Identity", "Constant"}
)
_CHAIN_OPS = frozenset(
    {"Gemm", "MatMul", "Add", "Flatten", "Reshape", "Cast", *_PASS_OPS, *_OP_ACTIVATIONS}
)
_SUPPORTED = (
    "Gemm, MatMul + Add, Relu, Sigmoid, Tanh, LeakyRelu, Softmax, Identity, Dropout, and "
    "Flatten/Reshape/Cast before the first layer"
)
_CHECK_BATCH = 256
_CHECK_SEED = 0


def _modules() -> tuple[Any, Any]:
    """``onnx`` and ``onnxruntime``, or one line saying how to install them."""
    try:
        import onnx
        import onnxruntime
    except ImportError as err:
        raise DigitnetError(
            f"ONNX support needs the optional packages onnx and onnxruntime ({err.name or err} "
            "is missing): pip install 'digitnet[onnx]'"
        ) from None
    return onnx, onnxruntime


def _session(onnxruntime: Any, model_bytes: bytes) -> Any:
    """An onnxruntime session for the serialized model, on one thread, quiet."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(
        model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
    )


def _tolerance(dtype: np.dtype, reference: np.ndarray) -> float:
    """How far onnxruntime's outputs may be from digitnet's in a self-check: rounding in dtype."""
    scale = max(1.0, float(np.max(np.abs(reference), initial=0.0)))
    return (1e-4 if dtype == np.float32 else 1e-10) * scale


def _check_inputs(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Fixed random images (shape), values in [0, 1] as digitnet's inputs are."""
    return np.random.default_rng(_CHECK_SEED).random(shape).astype(np.float32).astype(dtype)


# -- export --------------------------------------------------------------------------------------


def onnx_model(
    net: Network,
    metadata: dict[str, str] | None = None,
    class_labels: list[str] | None = None,
) -> Any:
    """``net`` as an ``onnx.ModelProto`` (see the module's docstring), checked by the ONNX checker.

    ``metadata`` adds string entries to the model's ``metadata_props`` (for example the dataset);
    ``class_labels`` names the output neurons (stored as the JSON list ``class_labels``; default
    the dataset's class names when ``metadata["dataset"]`` is a known dataset, else "0", "1", ...).
    """
    onnx, _ = _modules()
    from onnx import TensorProto, helper, numpy_helper

    metadata = dict(metadata or {})
    labels = _class_labels(net.sizes[-1], class_labels, metadata.get("dataset"))
    elem = TensorProto.FLOAT if net.dtype == np.float32 else TensorProto.DOUBLE
    n_in, n_out = net.sizes[0], net.sizes[-1]
    input_name = input_name_for(n_in)
    nodes, initializers = [], []
    a = input_name
    if net.dtype != np.float32:
        nodes.append(helper.make_node("Cast", [a], [f"{a}_float64"], name="cast", to=elem))
        a = f"{a}_float64"
    L = net.n_layers
    for l in range(1, L + 1):
        initializers += [
            numpy_helper.from_array(np.ascontiguousarray(net.W[l - 1]), name=f"W{l}"),
            numpy_helper.from_array(np.ascontiguousarray(net.b[l - 1]), name=f"b{l}"),
        ]
        name = net.sigma_of(l).name
        a_l = OUTPUT_ACTIVATIONS if l == L else f"a{l}"
        z_l = a_l if name == "identity" else f"z{l}"
        nodes.append(
            helper.make_node(
                "Gemm",
                [a, f"W{l}", f"b{l}"],
                [z_l],
                name=f"layer{l}",
                transB=1,
                doc_string=f"z{l} = a{l - 1} W{l}^T + b{l}: W{l} ({net.sizes[l]}, "
                f"{net.sizes[l - 1]}), b{l} ({net.sizes[l]},)",
            )
        )
        if name == "softmax":
            nodes.append(helper.make_node("Softmax", [z_l], [a_l], name=f"softmax{l}", axis=-1))
        elif name == "leaky-relu" and net.dtype == np.float32:
            nodes.append(
                helper.make_node("LeakyRelu", [z_l], [a_l], name=f"leaky_relu{l}", alpha=0.01)
            )
        elif name == "leaky-relu":  # onnxruntime has no double LeakyRelu: max(z, 0.01 z)
            slope = numpy_helper.from_array(np.array(LEAKY_SLOPE, net.dtype), name=f"slope{l}")
            initializers.append(slope)
            nodes += [
                helper.make_node("Mul", [z_l, f"slope{l}"], [f"sz{l}"], name=f"leaky_slope{l}"),
                helper.make_node("Max", [z_l, f"sz{l}"], [a_l], name=f"leaky_relu{l}"),
            ]
        elif name != "identity":
            nodes.append(helper.make_node(_ACTIVATION_OPS[name], [z_l], [a_l], name=f"{name}{l}"))
        a = a_l
    proba_nodes, proba_inits = _probability_nodes(net, a)
    nodes += proba_nodes
    initializers += proba_inits
    nodes.append(
        helper.make_node(
            "ArgMax", [a], [OUTPUT_LABEL], name="answer", axis=1, keepdims=0, select_last_index=0
        )
    )
    input_doc = _input_doc(n_in)
    source = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", n_in])
    source.doc_string = input_doc
    probabilities = helper.make_tensor_value_info(OUTPUT_PROBABILITIES, elem, ["batch", n_out])
    probabilities.doc_string = (
        f"each class's probability, one row of {n_out} per input summing to 1 "
        f"(Network.predict_proba): {_PROBABILITIES_DOC[net.output == 'softmax']}"
    )
    label = helper.make_tensor_value_info(OUTPUT_LABEL, TensorProto.INT64, ["batch"])
    label.doc_string = (
        "the answer: the most active output neuron (the lowest numbered if tied), an index into "
        "the metadata's class_labels"
    )
    activations = helper.make_tensor_value_info(OUTPUT_ACTIVATIONS, elem, ["batch", n_out])
    activations.doc_string = (
        f"the output layer's activations a^({L}) ({net.output}), as Network.feedforward gives them"
    )
    doc = (
        f"digitnet {'-'.join(map(str, net.sizes))} MLP: {net.activation} hidden layers, "
        f"{net.output} output, {net.dtype.name}. Input '{input_name}' (batch, {n_in}): "
        f"{input_doc}. Outputs '{OUTPUT_PROBABILITIES}', '{OUTPUT_LABEL}' (class names in the "
        f"metadata's class_labels) and '{OUTPUT_ACTIVATIONS}'."
    )
    graph = helper.make_graph(
        nodes,
        "digitnet",
        [source],
        [probabilities, label, activations],
        initializer=initializers,
        doc_string=doc,
    )
    opsets = [helper.make_opsetid("", OPSET)]
    model = helper.make_model(
        graph,
        opset_imports=opsets,
        producer_name="digitnet",
        producer_version=__version__,
        doc_string=doc,
        ir_version=helper.find_min_ir_version_for(opsets),
    )
    props = {
        META_INPUT: f"{input_name}: (batch, {n_in}) float32; {input_doc}",
        META_SCALE: "pixel / 255" if n_in == N_PIXELS else "features",
        META_LABELS: json.dumps(labels),
        META_CONFIG: json.dumps(net.config()),
        **metadata,
    }
    helper.set_model_props(model, props)
    onnx.checker.check_model(model, full_check=True)
    return model


_PROBABILITIES_DOC = {
    True: "the softmax output itself",
    False: "the output activations with negatives counted as 0, divided by their sum (every "
    "class equally likely when none is positive); a distribution with the network's answer "
    "most likely, calibrated only as far as the network was trained to be",
}


def _probability_nodes(net: Network, a: str) -> tuple[list[Any], list[Any]]:
    """Nodes computing ``probabilities`` from the output activations ``a`` exactly as
    :meth:`Network.predict_proba` does: ``a`` itself for a softmax output, else
    max(a, 0) / sum_j max(a_j, 0), or 1/n_L for every class when that sum is 0."""
    from onnx import helper, numpy_helper

    if net.output == "softmax":
        return [helper.make_node("Identity", [a], [OUTPUT_PROBABILITIES], name="proba")], []

    def const(name: str, value: Any) -> Any:
        return numpy_helper.from_array(np.asarray(value, dtype=net.dtype), name=name)

    inits = [
        const("proba_zero", 0.0),
        const("proba_one", 1.0),
        const("proba_uniform", 1.0 / net.sizes[-1]),
        numpy_helper.from_array(np.array([1], dtype=np.int64), name="proba_axes"),
    ]
    nodes = [
        helper.make_node("Max", [a, "proba_zero"], ["proba_evidence"], name="proba_clip"),
        helper.make_node(
            "ReduceSum", ["proba_evidence", "proba_axes"], ["proba_total"], name="proba_sum"
        ),
        helper.make_node("Greater", ["proba_total", "proba_zero"], ["proba_any"], name="proba_any"),
        helper.make_node(
            "Where", ["proba_any", "proba_total", "proba_one"], ["proba_divisor"], name="proba_div0"
        ),
        helper.make_node(
            "Div", ["proba_evidence", "proba_divisor"], ["proba_share"], name="proba_divide"
        ),
        helper.make_node(
            "Where",
            ["proba_any", "proba_share", "proba_uniform"],
            [OUTPUT_PROBABILITIES],
            name="proba",
        ),
    ]
    return nodes, inits


def input_name_for(n_in: int) -> str:
    """The exported input's name: ``pixels`` for MNIST's 784-pixel images, else ``features``."""
    return INPUT_NAME if n_in == N_PIXELS else FEATURES_NAME


def _class_labels(n_out: int, given: list[str] | None, dataset: str | None) -> list[str]:
    """The names of the ``n_out`` classes: ``given``, the dataset's, or "0", "1", ..."""
    if given is not None:
        labels = [str(c) for c in given]
        if len(labels) != n_out:
            raise DigitnetError(
                f"{len(labels)} class labels given, but the output layer has {n_out} neurons"
            )
        return labels
    from digitnet.data.registry import DATASETS

    spec = DATASETS.get(dataset) if isinstance(dataset, str) else None
    if spec is not None and len(spec.class_names) == n_out:
        return list(spec.class_names)
    return [str(j) for j in range(n_out)]


def _input_doc(n_in: int) -> str:
    """What the input holds: MNIST's images for 784 inputs, else the network's own values."""
    if n_in == N_PIXELS:
        return INPUT_DOC
    return (
        f"a batch of inputs, one per row: {n_in} features, scaled as the network was trained "
        "on them, float32"
    )


def save_onnx(
    net: Network,
    path: str | os.PathLike,
    metadata: dict[str, str] | None = None,
    class_labels: list[str] | None = None,
) -> float:
    """Write ``net`` to ``path`` as ONNX, atomically, after the ONNX checker and onnxruntime
    (run on 256 random inputs, compared with digitnet's outputs) accept it.

    ``metadata`` and ``class_labels`` are as for :func:`onnx_model`. Returns the largest absolute
    difference between onnxruntime's ``activations`` and ``probabilities`` and digitnet's
    (:meth:`Network.feedforward`, :meth:`Network.predict_proba`) on those inputs. Raises
    :class:`DigitnetError` (nothing written) if they differ by more than rounding in the model's
    dtype or if a ``label`` differs from :meth:`Network.predict`.
    """
    from digitnet.atomic_files import atomic_write

    path = Path(path)
    if path.is_dir():
        raise DigitnetError(f"{path}: is a folder; name the .onnx file to write")
    model = onnx_model(net, metadata, class_labels)
    data = model.SerializeToString()
    _, onnxruntime = _modules()
    X = _check_inputs((_CHECK_BATCH, net.sizes[0]), np.dtype(np.float32))
    session = _session(onnxruntime, data)
    names = [OUTPUT_PROBABILITIES, OUTPUT_LABEL, OUTPUT_ACTIVATIONS]
    proba, labels, outputs = session.run(names, {input_name_for(net.sizes[0]): X})
    expected = net.feedforward(X)
    diff = max(
        float(np.max(np.abs(outputs - expected))),
        float(np.max(np.abs(proba - net.predict_proba(X)))),
    )
    if not diff <= _tolerance(net.dtype, expected) or not np.array_equal(labels, net.predict(X)):
        raise DigitnetError(
            f"onnxruntime's outputs differ from digitnet's by {diff:.3g}; nothing written"
        )
    with atomic_write(path) as f:
        f.write(data)
    return diff


# -- import --------------------------------------------------------------------------------------


@dataclass
class _Layer:
    """One layer read from the graph: W (n_out, n_in), b (n_out,) and its activation's name
    (None until an activation node follows; identity if none does)."""

    W: np.ndarray
    b: np.ndarray | None
    node: str
    activation: str | None = None
    activation_node: str | None = None


def _describe(node: Any) -> str:
    """``node 'NAME' (Op)``, named by its first output when it has no name."""
    name = node.name or (node.output[0] if node.output else "?")
    domain = f"{node.domain}." if node.domain not in ("", "ai.onnx") else ""
    return f"node {name!r} ({domain}{node.op_type})"


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _load(path: Path) -> tuple[Any, list[Path]]:
    """The ONNX model at ``path`` with its external data, if any (as torch.onnx.export's default
    exporter writes, a ``.onnx.data`` file beside the model), and the external data files read;
    one line for anything else. External data is read only from files in the model's folder."""
    onnx, _ = _modules()
    from onnx import TensorProto

    if not path.is_file():
        raise DigitnetError(f"{path}: no such ONNX file")
    try:
        model = onnx.load_model(path, load_external_data=False)
    except Exception as err:  # protobuf's DecodeError, and whatever a damaged file raises
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DigitnetError(f"{path}: not a readable ONNX model ({reason})") from None
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.node:
        raise DigitnetError(f"{path}: not an ONNX model (no graph of nodes)")
    tensors = list(model.graph.initializer)
    tensors += [
        a.t for n in model.graph.node if n.op_type == "Constant" for a in n.attribute if a.t.name
    ]
    files = {}
    for t in tensors:
        if t.data_location == TensorProto.EXTERNAL:
            file = _external_file(path, t)
            files[file.name] = file
    if files:
        from onnx.external_data_helper import load_external_data_for_model

        try:
            load_external_data_for_model(model, str(path.parent))
        except Exception as err:  # onnx's own checks, an unreadable file
            reason = " ".join(str(err).split())[:300] or type(err).__name__
            raise DigitnetError(f"{path}: cannot read its external data ({reason})") from None
    return model, sorted(files.values())


def _external_file(path: Path, tensor: Any) -> Path:
    """The file beside ``path`` holding the external ``tensor``'s data, checked: a relative name
    inside the model's folder, present, and long enough for the tensor's offset and length."""
    info = {e.key: e.value for e in tensor.external_data}
    where = info.get("location", "")
    parts = PurePosixPath(where.replace("\\", "/"))
    escapes = parts.is_absolute() or ".." in parts.parts or PureWindowsPath(where).drive
    if not where or "\0" in where or escapes:
        raise DigitnetError(
            f"{path}: tensor {tensor.name!r} names the external data file {where!r}, not a file "
            "in the model's folder; digitnet reads external data only from files beside the model"
        )
    folder = path.parent.resolve()
    file = path.parent / Path(*parts.parts)
    if not file.is_file():
        raise DigitnetError(
            f"{path}: tensor {tensor.name!r} is stored in the external data file {where!r}, "
            f"which is missing from the model's folder ({path.parent}); put it beside the .onnx "
            "file, or export one file with torch.onnx.export(..., external_data=False)"
        )
    if not file.resolve().is_relative_to(folder):
        raise DigitnetError(
            f"{path}: the external data file {where} links outside the model's folder; digitnet "
            "reads external data only from files beside the model"
        )
    try:
        offset, length = int(info.get("offset", 0)), int(info.get("length", -1))
    except ValueError:
        raise DigitnetError(
            f"{path}: tensor {tensor.name!r} has a malformed external data offset or length"
        ) from None
    size = file.stat().st_size
    if offset < 0 or offset > size or (length >= 0 and offset + length > size):
        raise DigitnetError(
            f"{path}: tensor {tensor.name!r} lies at bytes {offset} to {offset + max(length, 0)} "
            f"of {where}, which has {size} bytes (truncated?)"
        )
    return file


def _check_opsets(path: Path, model: Any) -> int:
    """The default domain's opset, refused outside MIN_OPSET..what the installed onnx knows."""
    onnx, _ = _modules()
    newest = onnx.defs.onnx_opset_version()
    opset = None
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            opset = entry.version
    if opset is None or not MIN_OPSET <= opset <= newest:
        raise DigitnetError(
            f"{path}: ONNX opset {opset} is not supported (digitnet reads opsets {MIN_OPSET} to "
            f"{newest})"
        )
    try:
        onnx.checker.check_model(model)
    except Exception as err:  # onnx.checker.ValidationError and its relatives
        reason = " ".join(str(err).split())[:300]
        raise DigitnetError(f"{path}: not a valid ONNX model ({reason})") from None
    return opset


def _constants(model: Any) -> dict[str, np.ndarray]:
    """Every initializer's, Constant node's and Identity-of-a-constant's value, by tensor name."""
    from onnx import numpy_helper

    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "Constant" or node.domain not in ("", "ai.onnx"):
            continue
        attrs = _attrs(node)
        if "value" in attrs:
            values[node.output[0]] = numpy_helper.to_array(attrs["value"])
        else:
            key, value = next(iter(attrs.items()))
            values[node.output[0]] = np.asarray(value)
        if node.op_type == "Identity" and node.input and node.input[0] in values:
            values[node.output[0]] = values[node.input[0]]
    return values


_ELEM_DTYPES: dict[int, np.dtype] = {1: np.dtype(np.float32), 11: np.dtype(np.float64)}


def _split_binary(layer: _Layer, dtype: np.dtype) -> None:
    """Make the one-neuron ``layer`` (z = W a + b) two softmax neurons with z' = (-z/2, z/2):
    softmax(z')_1 = 1 / (1 + e^-z) = sigma(z) and softmax(z')_0 = 1 - sigma(z), class 0 and
    class 1 as digitnet's most active neuron answers. Halving is exact in floating point."""
    half = dtype.type(0.5)
    b = layer.b if layer.b is not None else np.zeros(1, dtype=dtype)
    layer.W = np.ascontiguousarray(np.concatenate([-layer.W * half, layer.W * half]), dtype=dtype)
    layer.b = np.array([-b[0] * half, b[0] * half], dtype=dtype)
    layer.activation = "softmax"


@dataclass
class _Reader:
    """Walks a graph's chain of layers from its input (see :func:`read_onnx`)."""

    path: Path
    constants: dict[str, np.ndarray]
    opset: int
    features: tuple[int, ...]  # the current tensor's shape without the batch dimension
    dtype: np.dtype
    batch: int | None

    def __post_init__(self) -> None:
        self.layers: list[_Layer] = []
        self.pending: _Layer | None = None  # the layer whose activation may still follow
        self.runtime_shapes: list[str] = []  # Reshape shapes computed from the input's shape
        self.binary = False  # whether the output is skl2onnx's binary pair (1 - p, p)

    def fail(self, node: Any, problem: str) -> DigitnetError:
        return DigitnetError(f"{self.path}: {_describe(node)} {problem}")

    def constant(self, node: Any, i: int, what: str) -> np.ndarray:
        name = node.input[i] if i < len(node.input) else ""
        if name not in self.constants:
            raise self.fail(node, f"takes its {what} from {name!r}, which is not a constant")
        return self.constants[name]

    def weights(self, node: Any, value: np.ndarray) -> np.ndarray:
        if value.dtype != self.dtype:
            raise self.fail(node, f"has {value.dtype} weights, but its input is {self.dtype.name}")
        if not np.all(np.isfinite(value)):
            raise self.fail(node, "has NaN or infinite weights")
        return value

    def step(self, node: Any, cur: str) -> None:
        """Take ``node``, which reads the current tensor ``cur``, into the network."""
        op = node.op_type
        if op in ("Gemm", "MatMul"):
            self.linear(node, cur)
        elif op == "Add":
            self.bias(node, cur)
        elif op in _OP_ACTIVATIONS:
            self.activation(node)
        elif op in ("Flatten", "Reshape"):
            self.reshape(node)
        elif op == "Cast":
            self.cast(node)
        elif op == "Dropout" and len(node.input) > 2 and node.input[2]:
            if bool(np.any(self.constant(node, 2, "training mode"))):
                raise self.fail(node, "runs in training mode")

    def linear(self, node: Any, cur: str) -> None:
        if len(self.features) != 1:
            raise self.fail(
                node,
                f"multiplies a (batch, {', '.join(map(str, self.features))}) tensor; digitnet's "
                "layers take one row of numbers per image (flatten the image first)",
            )
        if node.input[0] != cur:
            raise self.fail(node, "multiplies by the layer's input from the left")
        B = self.weights(node, self.constant(node, 1, "weights"))
        if B.ndim != 2:
            raise self.fail(node, f"has weights of shape {B.shape}, not a matrix")
        b = None
        if node.op_type == "Gemm":
            attrs = _attrs(node)
            if attrs.get("transA", 0):
                raise self.fail(node, "transposes its input (transA=1)")
            W = B if attrs.get("transB", 0) else B.T
            alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
            if alpha != 1.0:
                W = W * self.dtype.type(alpha)
            if len(node.input) > 2 and node.input[2]:
                C = self.weights(node, self.constant(node, 2, "bias"))
                b = self._as_bias(node, C * self.dtype.type(beta) if beta != 1.0 else C, len(W))
        else:
            W = B.T
        W = np.ascontiguousarray(W)
        if W.shape[1] != self.features[0]:
            raise self.fail(
                node,
                f"takes {W.shape[1]} inputs, but the tensor it reads has {self.features[0]}",
            )
        self.pending = _Layer(W, b, _describe(node))
        self.layers.append(self.pending)
        self.features = (W.shape[0],)

    def _as_bias(self, node: Any, C: np.ndarray, n: int) -> np.ndarray:
        if C.size not in (1, n) or (C.ndim == 2 and C.shape[0] != 1) or C.ndim > 2:
            raise self.fail(node, f"has a bias of shape {C.shape}, not ({n},)")
        return np.ascontiguousarray(np.broadcast_to(C.reshape(-1), (n,)), dtype=self.dtype)

    def bias(self, node: Any, cur: str) -> None:
        other = node.input[1] if node.input[0] == cur else node.input[0]
        if other not in self.constants:
            raise self.fail(
                node,
                f"adds two computed tensors ({node.input[0]!r} and {node.input[1]!r}): a skip "
                "connection; digitnet imports a plain chain of layers",
            )
        layer = self.pending
        if layer is None or layer.activation is not None or layer.b is not None:
            raise self.fail(node, "adds a constant that is not the bias of a MatMul or Gemm")
        layer.b = self._as_bias(node, self.weights(node, self.constants[other]), len(layer.W))

    def activation(self, node: Any) -> None:
        layer = self.pending
        if layer is None or layer.activation is not None:
            raise self.fail(node, "does not follow a Gemm or MatMul layer")
        attrs = _attrs(node)
        name = _OP_ACTIVATIONS[node.op_type]
        if name == "leaky-relu":
            alpha = attrs.get("alpha", LEAKY_SLOPE)
            if np.float32(alpha) != np.float32(LEAKY_SLOPE):
                raise self.fail(
                    node,
                    f"has slope alpha={alpha:g}; digitnet's leaky-relu has slope {LEAKY_SLOPE}",
                )
        if name == "softmax" and attrs.get("axis", -1 if self.opset >= 13 else 1) not in (1, -1):
            raise self.fail(node, f"normalises along axis {attrs['axis']}, not over each row")
        layer.activation, layer.activation_node = name, _describe(node)

    def leaky_max(self, readers: list[Any], cur: str) -> bool:
        """Whether ``readers`` of ``cur`` are ``Max(cur, Mul(cur, slope))``, a leaky ReLU as
        digitnet writes it in double precision; if so, it becomes the pending layer's activation."""
        mul = next((n for n in readers if n.op_type == "Mul"), None)
        top = next((n for n in readers if n.op_type == "Max"), None)
        if mul is None or top is None or len(mul.input) != 2 or len(top.input) != 2:
            return False
        slope = mul.input[1] if mul.input[0] == cur else mul.input[0]
        if slope not in self.constants or set(top.input) != {cur, mul.output[0]}:
            return False
        value = self.constants[slope]
        layer = self.pending
        if layer is None or layer.activation is not None:
            raise self.fail(top, "does not follow a Gemm or MatMul layer")
        if value.size != 1 or value.reshape(()) != value.dtype.type(LEAKY_SLOPE):
            raise self.fail(
                mul,
                f"has slope {value.reshape(-1)[0]:g}; digitnet's leaky-relu has slope "
                f"{LEAKY_SLOPE}",
            )
        layer.activation, layer.activation_node = "leaky-relu", _describe(top)
        return True

    def binary_pair(self, readers: list[Any], cur: str) -> str | None:
        """Whether ``readers`` of ``cur`` are ``Concat(Sub(1, cur), cur)`` after a one-neuron
        sigmoid layer, skl2onnx's binary classifier (p0 = 1 - p1, p1 = sigma(z)); if so, the
        layer becomes two softmax neurons with weights -W/2 and W/2 (softmax(-z/2, z/2) is
        (1 - sigma(z), sigma(z))), and the Concat's output tensor is returned."""
        sub = next((n for n in readers if n.op_type == "Sub"), None)
        cat = next((n for n in readers if n.op_type == "Concat"), None)
        layer = self.pending
        if sub is None or cat is None or layer is None or layer.activation != "sigmoid":
            return None
        if len(layer.W) != 1 or list(sub.input)[1:] != [cur] or sub.input[0] not in self.constants:
            return None
        one = self.constants[sub.input[0]]
        if one.size != 1 or float(one.reshape(-1)[0]) != 1.0:
            return None
        if list(cat.input) != [sub.output[0], cur] or _attrs(cat).get("axis") not in (1, -1):
            return None
        _split_binary(layer, self.dtype)
        layer.activation_node = f"{_describe(sub)} and {_describe(cat)}"
        self.binary = True
        self.features = (2,)
        return cat.output[0]

    def reshape(self, node: Any) -> None:
        size = int(np.prod(self.features))
        rank = len(self.features) + 1
        if node.op_type == "Flatten":
            axis = _attrs(node).get("axis", 1)
            if axis % rank != 1:
                raise self.fail(node, f"flattens from axis {axis}, not into one row per image")
        elif node.input[1] not in self.constants and not self.layers:
            self.runtime_shapes.append(node.input[1])  # checked by the next layer and onnxruntime
        else:
            shape = [int(s) for s in self.constant(node, 1, "shape").reshape(-1)]
            rows, cols = (shape + [None, None])[:2]
            batch_rows = rows in (0, self.batch) and rows is not None
            if len(shape) != 2 or not (
                (cols == size and (rows == -1 or batch_rows)) or (cols == -1 and batch_rows)
            ):
                raise self.fail(node, f"makes the shape {shape}; digitnet reads (batch, {size})")
        self.features = (size,)

    def cast(self, node: Any) -> None:
        to = _ELEM_DTYPES.get(_attrs(node).get("to", 0))
        if to is None:
            raise self.fail(node, "casts to a type other than float or double")
        if self.layers and to != self.dtype:
            raise self.fail(node, f"changes the precision to {to.name} inside the network")
        self.dtype = to

    def is_chain(self, node: Any) -> bool:
        """Whether ``node`` continues the chain (rather than reading its finished output)."""
        if node.domain not in ("", "ai.onnx") or node.op_type not in _CHAIN_OPS:
            return False
        if not self.layers:
            return True
        if node.op_type == "Cast":
            return _ELEM_DTYPES.get(_attrs(node).get("to", 0)) == self.dtype
        if node.op_type == "Reshape":
            return False
        return True


def read_onnx(path: str | os.PathLike, cost: str | None = None) -> tuple[Network, dict[str, Any]]:
    """The MLP in the ONNX file ``path`` as a :class:`Network`, and a record of where it came
    from (the header field ``imported_from``: format, producer, opset, file name and sha256,
    the external data files' names and sha256, and ``read_as``, one of :data:`READ_AS`'s
    sentences, when the output was not read as it is).

    The hidden layers must share one activation; the output layer's is the network's ``output``,
    except as :func:`_network` says for logits and single output neurons. ``cost`` defaults to
    the one a digitnet export recorded, else ``cross-entropy`` for a softmax output (logits
    included) and ``quadratic`` otherwise. The network's outputs are compared with onnxruntime's on
    random images before it is returned. Raises :class:`DigitnetError` naming the node and op (or
    the problem) for anything digitnet cannot read.
    """
    onnx, onnxruntime = _modules()
    path = Path(path)
    model, data_files = _load(path)
    opset = _check_opsets(path, model)
    graph = model.graph
    constants = _constants(model)
    inputs = [i for i in graph.input if i.name not in constants]
    if len(inputs) != 1:
        names = ", ".join(repr(i.name) for i in inputs) or "none"
        raise DigitnetError(
            f"{path}: the model has {len(inputs)} inputs ({names}); digitnet reads one input "
            "(images or features)"
        )
    source = inputs[0]
    kind = source.type.WhichOneof("value")
    tensor = source.type.tensor_type
    dtype = _ELEM_DTYPES.get(tensor.elem_type) if kind == "tensor_type" else None
    if dtype is None:
        raise DigitnetError(
            f"{path}: input {source.name!r} is not a float or double tensor; digitnet feeds "
            "floats (pixel / 255 for images)"
        )
    if not tensor.HasField("shape") or len(tensor.shape.dim) < 2:
        raise DigitnetError(
            f"{path}: input {source.name!r} has no (batch, ...) shape; digitnet reads (batch, "
            "n) or (batch, h, w)"
        )
    dims = list(tensor.shape.dim)
    shown = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims]
    if not all(d.HasField("dim_value") and d.dim_value > 0 for d in dims[1:]):
        raise DigitnetError(
            f"{path}: input {source.name!r} has the dynamic shape {shown}; digitnet needs fixed "
            "image dimensions after the batch"
        )
    batch = dims[0].dim_value if dims[0].HasField("dim_value") and dims[0].dim_value else None
    features = tuple(d.dim_value for d in dims[1:])
    reader = _Reader(path, constants, opset, features, dtype, batch)

    nodes = [n for n in graph.node if not all(name in constants for name in n.output)]
    users: dict[str, list[Any]] = {}
    producers = {name: node for node in nodes for name in node.output}
    for node in nodes:
        for name in dict.fromkeys(node.input):
            if name and name not in constants and node.op_type != "Shape":
                users.setdefault(name, []).append(node)
    visited: set[int] = set()
    graph_outputs = {o.name for o in graph.output}
    cur = source.name
    at_output = False  # whether the chain ended at one of the graph's outputs
    while True:
        readers = users.get(cur, [])
        if reader.layers and cur in graph_outputs:
            if not any(n.op_type in ("Gemm", "MatMul", "Add") for n in readers):
                at_output = True  # what reads an output after the last layer is not the network
                break
        if len(readers) == 2 and reader.leaky_max(readers, cur):
            visited.update(id(n) for n in readers)
            cur = next(n for n in readers if n.op_type == "Max").output[0]
            continue
        pair = reader.binary_pair(readers, cur) if len(readers) == 2 else None
        if pair is not None:
            visited.update(id(n) for n in readers)
            cur = pair
            continue
        chain = [n for n in readers if reader.is_chain(n)]
        if not chain:
            break
        if len(readers) > 1:
            named = ", ".join(_describe(n) for n in readers)
            raise DigitnetError(
                f"{path}: tensor {cur!r} feeds {len(readers)} nodes ({named}): a branch or skip "
                "connection; digitnet imports a plain chain of layers"
            )
        node = chain[0]
        reader.step(node, cur)
        visited.add(id(node))
        cur = node.output[0]
    for name in reader.runtime_shapes:
        visited |= _shape_nodes(path, name, producers, constants)

    reachable = {cur}
    offenders = []
    for node in nodes:
        if id(node) in visited:
            continue
        reads = [name for name in node.input if name]
        follows = any(name in reachable for name in reads)
        only_output = all(name in reachable or name in constants for name in reads)
        if follows and (node.op_type in _LABEL_OPS or (at_output and only_output)):
            reachable.update(node.output)
            _check_labels(path, node, constants, reader.layers)
        else:
            offenders.append(node)
    if offenders or not reader.layers:
        plumbing = _SHAPE_OPS | {"ConstantOfShape", "Transpose"}
        unsupported = [n for n in offenders if n.op_type not in plumbing] or offenders
        what = (
            f"{_describe(unsupported[0])} is not supported"
            if unsupported
            else "has no Gemm or MatMul"
        )
        raise DigitnetError(f"{path}: {what}; digitnet imports MLPs of {_SUPPORTED}")
    net, read_as = _network(path, reader, model, cost)
    if cur not in {o.name for o in graph.output}:
        elem = 1 if reader.dtype == np.float32 else 11
        graph.output.append(onnx.helper.make_tensor_value_info(cur, elem, None))
    _compare(path, onnxruntime, model, source.name, batch, features, dtype, cur, net, read_as)
    origin: dict[str, Any] = {
        "format": "onnx",
        "producer": " ".join(p for p in (model.producer_name, model.producer_version) if p) or None,
        "opset": opset,
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    if data_files:
        origin["external_data"] = [
            {"file": f.name, "sha256": hashlib.sha256(f.read_bytes()).hexdigest()}
            for f in data_files
        ]
    if read_as is not None:
        origin["read_as"] = READ_AS[read_as]
    return net, origin


def _shape_nodes(
    path: Path, name: str, producers: dict[str, Any], constants: dict[str, np.ndarray]
) -> set[int]:
    """The nodes that compute the tensor ``name``, a shape, from constants and ``Shape`` nodes
    (which read only their input's shape); refuses any node of another kind."""
    found: set[int] = set()
    todo = [name]
    while todo:
        tensor = todo.pop()
        if tensor in constants or not tensor:
            continue
        node = producers.get(tensor)
        if node is None or node.op_type not in _SHAPE_OPS:
            what = _describe(node) if node is not None else f"input {tensor!r}"
            raise DigitnetError(
                f"{path}: a Reshape's shape comes from {what}; digitnet reads shapes computed "
                "from constants and Shape"
            )
        if id(node) not in found:
            found.add(id(node))
            if node.op_type != "Shape":
                todo += list(node.input)
    return found


def _check_labels(
    path: Path, node: Any, constants: dict[str, np.ndarray], layers: list[_Layer]
) -> None:
    """Refuse class labels other than 0, 1, ..., n-1 in order: digitnet's neuron j is class j."""
    n = len(layers[-1].W)
    labels: Any = None
    if node.op_type == "ZipMap":
        attrs = _attrs(node)
        labels = attrs.get("classlabels_int64s") or attrs.get("classlabels_strings")
    elif node.op_type == "ArrayFeatureExtractor" and node.input[0] in constants:
        labels = constants[node.input[0]].reshape(-1).tolist()
    if labels is None:
        return
    labels = [x.decode() if isinstance(x, bytes) else x for x in labels]
    if [str(x) for x in labels] != [str(j) for j in range(n)]:
        shown = ", ".join(map(str, labels[:12])) + (", ..." if len(labels) > 12 else "")
        raise DigitnetError(
            f"{path}: {_describe(node)} names the classes [{shown}]; digitnet's output neuron j "
            f"is class j, so the classes must be 0 to {n - 1} in order"
        )


def _network(
    path: Path, reader: _Reader, model: Any, cost: str | None
) -> tuple[Network, str | None]:
    """The Network of the layers read, with one hidden activation and the output's, and how its
    output was read when not as it is (a key of :data:`READ_AS`, or None).

    An output layer without an activation gives logits, which PyTorch's ``CrossEntropyLoss``
    turns into probabilities with a softmax inside the loss: it becomes a softmax output with
    the cross-entropy cost, which gives the same answers (softmax keeps the largest z largest)
    and the same cost, -ln softmax(z)_y, unless ``cost`` is ``quadratic`` (the raw outputs kept).
    A single output neuron (a logit, or sigmoid(z)) is the probability of class 1: it becomes
    two softmax neurons (1 - p, p), so that digitnet's most active neuron is the answer.
    """
    layers = reader.layers
    names = [layer.activation or "identity" for layer in layers]
    for l, layer in enumerate(layers[:-1], start=1):
        if names[l - 1] == "softmax":
            raise DigitnetError(
                f"{path}: {layer.activation_node} is in hidden layer {l}; digitnet allows "
                "softmax only on the output layer"
            )
        if names[l - 1] != names[0]:
            where = layer.activation_node or f"{layer.node}, which has no activation,"
            raise DigitnetError(
                f"{path}: {where} makes hidden layer {l} {names[l - 1]}, but hidden layer 1 is "
                f"{names[0]}; digitnet's hidden layers share one activation"
            )
    recorded = _recorded_config(model)
    raw = {"sizes": _sizes(layers), "output": names[-1], "dtype": reader.dtype.name}
    from_digitnet = recorded is not None and all(recorded.get(k) == raw[k] for k in raw)
    read_as = None
    as_logits = cost == "cross-entropy" or (cost is None and not from_digitnet)
    if names[-1] == "identity" and as_logits:
        read_as = "logits"
        if len(layers[-1].W) == 1:
            _split_binary(layers[-1], reader.dtype)
            read_as = "logit"
    elif names[-1] == "sigmoid" and len(layers[-1].W) == 1 and as_logits:
        _split_binary(layers[-1], reader.dtype)
        read_as = "sigmoid"
    if reader.binary:
        read_as = "binary"
    elif read_as is not None:
        names[-1] = layers[-1].activation or "identity"
    sizes = _sizes(layers)
    config: dict[str, Any] = {
        "sizes": sizes,
        "activation": names[0] if len(layers) > 1 else "identity",
        "output": names[-1],
        "cost": "cross-entropy" if names[-1] == "softmax" else "quadratic",
        "init": "normal",
        "dtype": reader.dtype.name,
    }
    if read_as == "logits":
        config.update(output="softmax", cost="cross-entropy")
    if recorded and from_digitnet and read_as is None:
        config.update(
            cost=recorded.get("cost", config["cost"]), init=recorded.get("init", "normal")
        )
        if len(layers) == 1:
            config["activation"] = recorded.get("activation", config["activation"])
    if cost is not None:
        config["cost"] = cost
    try:
        net = Network.from_config(config, seed=None)
    except DigitnetError as err:
        raise DigitnetError(f"{path}: {err}") from None
    params = []
    for layer in layers:
        b = layer.b if layer.b is not None else np.zeros(len(layer.W), dtype=reader.dtype)
        params += [layer.W, b]
    net.set_parameters(params)
    return net, read_as


def _sizes(layers: list[_Layer]) -> list[int]:
    return [layers[0].W.shape[1]] + [len(layer.W) for layer in layers]


#: How :func:`read_onnx` read an output that is not digitnet's as it is (``read_as``).
READ_AS = {
    "logits": "logits (no activation on the output layer): read as a softmax output with the "
    "cross-entropy cost, the same answers and the same cost as PyTorch's CrossEntropyLoss on the "
    "logits (--cost quadratic keeps the raw outputs)",
    "logit": "one logit z for class 1: read as two softmax neurons (-z/2, z/2), whose "
    "probabilities are (1 - sigmoid(z), sigmoid(z)), with the cross-entropy cost (PyTorch's "
    "BCEWithLogitsLoss)",
    "sigmoid": "one sigmoid output p for class 1: read as two softmax neurons (-z/2, z/2), whose "
    "probabilities are (1 - p, p)",
    "binary": "skl2onnx's binary classifier (1 - p, p) from one sigmoid neuron: read as two "
    "softmax neurons (-z/2, z/2), which give the same probabilities",
}


def _as_read(read_as: str | None, outputs: np.ndarray) -> np.ndarray:
    """The ONNX model's output as the imported network computes it (see :func:`_network`)."""
    if read_as == "logits":
        e = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if read_as in ("logit", "sigmoid"):
        p = 1 / (1 + np.exp(-outputs)) if read_as == "logit" else outputs
        return np.concatenate([1 - p, p], axis=1)
    return outputs


def _recorded_config(model: Any) -> dict[str, Any] | None:
    """The network config a digitnet export wrote into the metadata, if any and well formed."""
    text = next((p.value for p in model.metadata_props if p.key == META_CONFIG), None)
    try:
        config = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(config, dict) or set(config) != set(CONFIG_KEYS):
        return None
    return config


def _compare(
    path: Path,
    onnxruntime: Any,
    model: Any,
    input_name: str,
    batch: int | None,
    features: tuple[int, ...],
    dtype: np.dtype,
    output_name: str,
    net: Network,
    read_as: str | None,
) -> None:
    """Run the ONNX model with onnxruntime and the imported network on the same random images;
    refuse the import if the last layer's activations differ by more than rounding."""
    n = batch or 16
    X = _check_inputs((n, *features), dtype)
    try:
        session = _session(onnxruntime, model.SerializeToString())
        (outputs,) = session.run([output_name], {input_name: X})
    except Exception as err:  # onnxruntime's own errors: the model does not run
        reason = " ".join(str(err).split())[:300]
        raise DigitnetError(f"{path}: onnxruntime cannot run the model ({reason})") from None
    expected = net.feedforward(X.reshape(n, -1))
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim == 2 and outputs.shape[0] == n:
        outputs = _as_read(read_as, outputs)
    if outputs.shape != expected.shape:
        raise DigitnetError(
            f"{path}: onnxruntime's {output_name!r} has shape {outputs.shape}, the imported "
            f"network's output {expected.shape}"
        )
    diff = float(np.max(np.abs(outputs - expected)))
    if not diff <= _tolerance(dtype, expected):
        raise DigitnetError(
            f"{path}: onnxruntime's {output_name!r} differs from the imported network's output by "
            f"{diff:.3g}; the model computes something digitnet does not read"
        )
