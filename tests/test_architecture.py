"""The layers of src/digitnet point only down, and no import goes round in a circle.

The import graph is read from the source with ``ast``: every ``import`` and ``from ... import``
of digitnet, at the top of a module, inside a function, or under ``TYPE_CHECKING``. ``from a.b
import c`` depends on the module ``a.b.c`` when there is one, else on ``a.b`` (as grimp reads
it). The layers below are those docs/architecture.md draws; a module may import its own layer
and the layers under it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "digitnet"

# Lowest first. A name stands for that module and, when it is a package, everything inside it
# (but "digitnet" is the package's own __init__, the public API, alone).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundation",
        (
            "digitnet.errors",
            "digitnet.atomic_files",
            "digitnet.version",
            "digitnet.limits",
            "digitnet.extras",
        ),
    ),
    # array kernels that import nothing of digitnet (compiled warps, BLAS products, dropout bits)
    ("kernels", ("digitnet.engine.blas", "digitnet.engine.augment", "digitnet.engine.dropout")),
    ("data", ("digitnet.data", "digitnet.preprocess")),
    (
        "math",
        (
            "digitnet.activations",
            "digitnet.costs",
            "digitnet.network",
            "digitnet.step_rules",
            "digitnet.metrics",
        ),
    ),
    ("settings", ("digitnet.settings", "digitnet.presets", "digitnet.advice")),
    ("engine", ("digitnet.engine",)),
    (
        "training",
        (
            "digitnet.train",
            "digitnet.training_parts",
            "digitnet.averaging",
            "digitnet.soft_targets",
        ),
    ),
    (
        "formats",
        ("digitnet.model_io", "digitnet.model_schema", "digitnet.onnx_io", "digitnet.sklearn"),
    ),
    ("views", ("digitnet.views", "digitnet.explain")),
    ("services", ("digitnet.web", "digitnet.sweep", "digitnet.experiments", "digitnet.tracking")),
    ("commands", ("digitnet.commands", "digitnet.cli", "digitnet.__main__", "digitnet")),
]

# The imports made by name at call time (importlib.import_module with a literal), which the
# static graph does not hold: Network's file methods reach the formats above the math.
LATE_IMPORTS = {
    ("digitnet.network", "digitnet.model_io"),
    ("digitnet.network", "digitnet.onnx_io"),
}


def module_files() -> dict[str, tuple[Path, bool]]:
    """Every module of src/digitnet: dotted name -> (file, is a package's __init__)."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


MODULES = module_files()


def imports_of(name: str) -> tuple[set[str], set[str]]:
    """(the digitnet modules ``name`` imports, those it imports by name through importlib)."""
    path, is_package = MODULES[name]
    here = name if is_package else name.rpartition(".")[0]
    found, late = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[: len(here.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                child = f"{source}.{alias.name}"
                found.add(child if child in MODULES else source)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            late.add(node.args[0].value)
    return {m for m in found if m in MODULES and m != name}, late


GRAPH = {name: imports_of(name)[0] for name in MODULES}


def layer_of(name: str) -> int:
    """The index in LAYERS of the most specific entry naming ``name`` or a package holding it."""
    best, best_length = None, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            inside = prefix != "digitnet" and name.startswith(prefix + ".")
            if (name == prefix or inside) and len(prefix) > best_length:
                best, best_length = i, len(prefix)
    if best is None:
        raise AssertionError(f"{name} is in no layer: add it to LAYERS (and the architecture page)")
    return best


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as the chain ``[a, b, ..., a]``, or None."""
    colour: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if colour.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in colour:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        colour[node] = 2
        return None

    for start in sorted(graph):
        if start not in colour:
            found = visit(start)
            if found:
                return found
    return None


def test_the_graph_reads_every_kind_of_import():
    """The reader sees function-level, TYPE_CHECKING, relative and package imports."""
    assert "digitnet.settings" in GRAPH["digitnet.engine.step"]  # under TYPE_CHECKING
    assert "digitnet.data.load" in GRAPH["digitnet.data"]  # from digitnet.data.load import ...
    assert "digitnet.web.app" in GRAPH["digitnet.web"]
    assert "digitnet.web" in GRAPH["digitnet.commands.serve"]  # inside a function
    assert len(MODULES) > 60


def test_find_cycle_names_the_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circle_in_src():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_imports_only_its_layer_and_those_below(name):
    mine = layer_of(name)
    upward = [
        f"{name} ({LAYERS[mine][0]}) -> {other} ({LAYERS[layer_of(other)][0]})"
        for other in sorted(GRAPH[name])
        if layer_of(other) > mine
    ]
    assert not upward, "imports from a higher layer: " + "; ".join(upward)


def test_the_only_late_imports_are_the_declared_ones():
    late = {
        (name, target)
        for name in MODULES
        for target in imports_of(name)[1]
        if target.startswith("digitnet")
    }
    assert late == LATE_IMPORTS
    assert all(target in MODULES for _, target in late)


def test_nothing_inside_imports_the_package_facade():
    """``digitnet/__init__.py`` is the public API, above everything it gathers."""
    users = [name for name in MODULES if "digitnet" in GRAPH[name]]
    assert users == [], f"import digitnet's own parts directly, not the package: {users}"
