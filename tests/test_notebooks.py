"""notebooks/: one notebook per lesson, each run top to bottom as a learner would run it.

Each notebook is executed by a fresh Jupyter kernel (nbclient) in a temporary folder, on full
MNIST from the shared data; any error fails the test, naming the notebook and the cell. The
committed notebooks carry no outputs, are what ``scripts/make_notebooks.py`` writes from their
sources (``notebooks/*.py``), and use only digitnet's public API.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
LESSONS = [
    "1-what-a-network-is",
    "2-gradient-descent",
    "3-backprop-step-by-step",
    "4-backprop-calculus",
]
PUBLIC = {"digitnet", "digitnet.views"}  # the modules a notebook may import from
CELL_TIMEOUT = 300  # seconds; a hung cell fails instead of hanging the suite


def test_one_notebook_per_lesson_in_order():
    assert [p.stem for p in NOTEBOOKS] == LESSONS
    assert sorted(p.stem for p in (REPO / "notebooks").glob("*.py")) == LESSONS


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, shared_data: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("DIGITNET_DATA", str(shared_data))  # the kernel inherits the environment
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    try:
        client.execute()
    except CellExecutionError as err:
        failed = next(
            (i for i, c in enumerate(nb.cells, 1) if _has_error(c)), "?"
        )  # the cell whose output holds the error
        pytest.fail(f"notebooks/{path.name}, cell {failed}: {err}", pytrace=False)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "a code cell did not run"
    pictures = sum("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    assert pictures >= 1, f"notebooks/{path.name} drew no picture"


def _has_error(cell) -> bool:
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_has_no_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells, 1):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"notebooks/{path.name}, cell {i} has outputs: strip them "
                "(python scripts/make_notebooks.py writes the notebooks without)"
            )


def test_notebooks_are_what_their_sources_make():
    spec = importlib.util.spec_from_file_location(
        "make_notebooks", REPO / "scripts" / "make_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for path in NOTEBOOKS:
        expected = module.notebook_of(path.with_suffix(".py").read_text())
        assert path.read_text() == expected, (
            f"notebooks/{path.name} differs from notebooks/{path.stem}.py: "
            "run python scripts/make_notebooks.py"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_uses_only_the_public_api(path: Path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code":
            continue
        source = re.sub(r"(?m)^%.*$", "", cell.source)  # IPython magics are not Python
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                if module.split(".")[0] == "digitnet":
                    assert module in PUBLIC, (
                        f"notebooks/{path.name}, cell {i}: imports {module}; notebooks use only "
                        f"{' and '.join(sorted(PUBLIC))}"
                    )
