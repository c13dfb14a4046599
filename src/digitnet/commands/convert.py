"""``digitnet export`` and ``digitnet import``: models to and from ONNX.

- ``digitnet export MODEL.npz [-o MODEL.onnx]``: the model as ONNX, for onnxruntime, Netron and
  other tools (:func:`digitnet.onnx_io.save_onnx`);
- ``digitnet import FILE.onnx [-o MODEL.npz] [--cost NAME]``: an MLP exported by PyTorch or
  skl2onnx (or digitnet) as a digitnet model file (:func:`digitnet.onnx_io.read_onnx`), which
  every other command then reads.

Both need the optional packages of ``digitnet[onnx]``, imported only when a command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from digitnet.atomic_files import check_output
from digitnet.costs import COST_NAMES
from digitnet.errors import DigitnetError


def register(subparsers: Any) -> None:
    e = subparsers.add_parser(
        "export",
        help="write a model as ONNX (for onnxruntime and other tools)",
        description="Write a digitnet model as an ONNX file: input 'pixels' (batch, 784) float32, "
        "pixel / 255 (for another input size 'features' (batch, n_0)); outputs 'probabilities' "
        "(Network.predict_proba), 'label' (the answer, an index into the metadata's "
        "class_labels) and 'activations' (the output layer's). Checked with the ONNX checker "
        "and onnxruntime before it is written. Needs pip install 'digitnet[onnx]'.",
    )
    e.add_argument("model", type=Path, metavar="MODEL", help="a model file (.npz)")
    e.add_argument(
        "-o", "--out", type=Path, metavar="FILE", help="the .onnx file (default: MODEL.onnx)"
    )
    e.set_defaults(func=run_export)

    i = subparsers.add_parser(
        "import",
        help="read an MLP from an ONNX file (PyTorch, scikit-learn) as a digitnet model",
        description="Read a feed-forward MLP (Gemm or MatMul + Add layers with Relu, Sigmoid, "
        "Tanh, LeakyRelu or Softmax, as torch.onnx.export and skl2onnx write them, external data "
        "included when its file is beside the model) and save it as a digitnet model file. An "
        "output layer without an activation (logits) becomes a softmax output with the "
        "cross-entropy cost, as PyTorch's CrossEntropyLoss reads it. Needs pip install "
        "'digitnet[onnx]'.",
    )
    i.add_argument("onnx_file", type=Path, metavar="FILE", help="an ONNX file (.onnx)")
    i.add_argument(
        "-o", "--out", type=Path, metavar="MODEL", help="the model file (default: FILE.npz)"
    )
    i.add_argument(
        "--cost",
        choices=COST_NAMES,
        help="the cost for training (default: cross-entropy for a softmax output or logits, else "
        "quadratic; quadratic keeps logits as raw outputs)",
    )
    i.set_defaults(func=run_import)


def _output(given: Path | None, source: Path, suffix: str) -> Path:
    out = given if given is not None else source.with_suffix(suffix)
    check_output(out, "-o", f"model{suffix}")
    if out.resolve() == source.resolve():
        raise DigitnetError(f"{out}: is the file being read; name another output file")
    return out


def _shape(sizes: list[int]) -> str:
    return "-".join(map(str, sizes))


def run_export(args: argparse.Namespace) -> int:
    from digitnet.model_io import load_model
    from digitnet.onnx_io import N_PIXELS, input_name_for, save_onnx

    out = _output(args.out, args.model, ".onnx")
    net, header = load_model(args.model)
    dataset = header.get("dataset")
    name = dataset.get("name") if isinstance(dataset, dict) else None
    diff = save_onnx(net, out, metadata={"dataset": name} if isinstance(name, str) else None)
    n_in, n_out = net.sizes[0], net.sizes[-1]
    scale = " = pixel / 255" if n_in == N_PIXELS else ""
    print(
        f"wrote {out}: {_shape(net.sizes)}, {net.activation} hidden, {net.output} output, "
        f"{net.dtype.name}; input '{input_name_for(n_in)}' (batch, {n_in}) float32{scale}; "
        f"outputs 'probabilities' (batch, {n_out}), 'label' (batch,) and 'activations' "
        f"(batch, {n_out})"
    )
    print(f"onnxruntime agrees with digitnet on 256 random inputs: max difference {diff:.2g}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from digitnet.model_io import save_model
    from digitnet.onnx_io import read_onnx

    out = _output(args.out, args.onnx_file, ".npz")
    net, origin = read_onnx(args.onnx_file, args.cost)
    save_model(out, net, imported_from=origin)
    producer = origin["producer"] or "an unnamed producer"
    print(
        f"read {args.onnx_file} ({producer}, opset {origin['opset']}): {_shape(net.sizes)}, "
        f"{net.activation} hidden, {net.output} output, {net.dtype.name}; cost {net.cost.name}"
    )
    if "read_as" in origin:
        print(f"output: {origin['read_as']}")
    print(f"wrote {out}")
    return 0
