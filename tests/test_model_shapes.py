"""Valid models of any shape, in every command that takes a model: each command runs (exit 0,
with the output it promises) or refuses in one line saying why (the inputs or outputs that do not
fit), never a traceback. The models are built with the Python API and with the scikit-learn
estimator fitted on scikit-learn's 8x8 digits (64 inputs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from cli_batch import run_batch
from PIL import Image
from sklearn.datasets import load_digits

from digitnet import Network
from digitnet.commands.inside import VIEW_NAMES
from digitnet.sklearn import DigitnetClassifier

SHAPES = [[784, 16, 20], [784, 16, 5], [784, 10], [100, 30, 10], [64, 32, 10], [784, 16, 16, 2]]
#: Views that compare answers with the dataset's classes: one output neuron per class needed.
PER_CLASS_VIEWS = ("confusion", "mistakes", "nudges", "landscape", "descent", "neuron")
#: MNIST's test image 2 is a 1, a class every network here has an output neuron for.
IMAGE_OF_A_ONE = "2"


def name(sizes: list[int]) -> str:
    return "m-" + "-".join(map(str, sizes)) + ".npz"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shapes")
    for sizes in SHAPES:
        Network(sizes, init="lecun", seed=3).save(folder / name(sizes))
    X, y = load_digits(return_X_y=True)
    clf = DigitnetClassifier(hidden_layer_sizes=(32,), epochs=2, tol=None, random_state=0)
    clf.fit(X / 16, y)
    clf.network_.save(folder / "sklearn-digits.npz")
    image = np.zeros((28, 28), np.uint8)
    image[6:22, 12:16] = 255
    Image.fromarray(image).save(folder / "digit.png")
    return folder


def commands(model: str, sizes: list[int], folder: Path) -> list[tuple[list[str], str]]:
    """Each command line for ``model`` and what it must do: ``ok:WORDS`` (exit 0, WORDS in its
    output) or ``no:WORDS`` (a one-line refusal containing WORDS)."""
    n_in, n_out = sizes[0], sizes[-1]
    images = n_in == 784
    inputs = f"no:has {n_in} inputs"
    out = str(folder / f"{model}.out")
    lines: list[tuple[list[str], str]] = [
        (["eval", model], "ok:accuracy" if images else inputs),
        (["eval", model, "--json"], "ok:confusion" if images else inputs),
        (["predict", model, "digit.png"], "ok:digit.png: " if images else inputs),
        (["gradcheck", model], "ok:gradcheck of" if images else "ok:random inputs"),
        (
            ["explain", model, "--image", IMAGE_OF_A_ONE, "--layer", "1", "--weight", "0,0"],
            "ok:dC/dw" if images else inputs,
        ),
        (["export", model, "-o", out + ".onnx"], f"ok:(batch, {n_in})"),
    ]
    if images and n_out < 8:
        refusal = f"no:has output neurons 0..{n_out - 1} only"
        lines.append(
            (["explain", model, "--image", "0", "--layer", "1", "--weight", "0,0"], refusal)
        )
    for view in VIEW_NAMES:
        argv = ["plot", view, model, "-o", f"{out}-{view}.png", "--examples", "100"]
        if view == "landscape":
            argv += ["--steps", "3"]
        if view == "curves":
            expected = "no:no training history"
        elif view in ("weights", "noise"):
            expected = "ok:wrote"
        elif not images:
            expected = inputs
        elif view in PER_CLASS_VIEWS and n_out != 10:
            expected = f"no:has {n_out} outputs"
        else:
            expected = "ok:wrote"
        lines.append((argv, expected))
    if not images:  # a 784-input model would start the server; tests/test_web_* cover that
        lines.append((["serve", model, "--port", "8999"], "no:must have 784"))
    return lines


def test_every_command_runs_or_refuses_in_one_line_for_every_shape(models, shared_data):
    table = [(s, name(s)) for s in SHAPES] + [([64, 32, 10], "sklearn-digits.npz")]
    batch = [(sizes, argv, want) for sizes, m in table for argv, want in commands(m, sizes, models)]
    results = run_batch([argv for _, argv, _ in batch], models, shared_data, timeout=900)
    wrong = []
    for (_, argv, want), r in zip(batch, results, strict=True):
        kind, words = want.split(":", 1)
        if kind == "ok":
            good = r.code == 0 and words in r.stdout and "Traceback" not in r.stderr
        else:
            good = r.clean_refusal() and words in r.stderr
        if not good:
            wrong.append(f"digitnet {' '.join(argv)}: exit {r.code}, {r.stderr.strip()[-300:]!r}")
    assert not wrong, f"{len(wrong)} of {len(results)}:\n" + "\n".join(wrong)
    print(f"{len(results)} command lines over {len(table)} models: all as expected")

    for (sizes, argv, _), r in zip(batch, results, strict=True):
        if argv[0] == "eval" and "--json" in argv and r.code == 0:
            result = json.loads(r.stdout)
            assert np.shape(result["confusion"]) == (10, sizes[-1])
            assert len(result["precision"]) == sizes[-1] and len(result["recall"]) == 10
            assert np.sum(result["confusion"]) == result["dataset"]["n_test"]
            assert (result["cost"] is None) == (sizes[-1] < 10)
        if argv[0] == "export":
            graph = onnx.load(argv[-1]).graph
            dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
            assert dims[1:] == [sizes[0]]
