"""Write each notebook of ``notebooks/`` (``NAME.ipynb``) from its source ``NAME.py``.

A source is Python in the "percent" format that Jupytext and editors such as VS Code read: a line
``# %%`` starts a code cell, ``# %% [markdown]`` a Markdown cell whose lines are comments
(``# text``); in a code cell, a commented magic (``# %matplotlib inline``) is a magic again,
as Jupytext writes them. The notebooks are written without outputs: ``make docs`` executes them
for the site, and ``tests/test_notebooks.py`` runs them and checks that each ``.ipynb`` is what this
script writes from its source.

    python scripts/make_notebooks.py          # write notebooks/*.ipynb
    python scripts/make_notebooks.py --check  # exit 1 if any .ipynb differs from its source
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
MAGIC = re.compile(r"^# %[a-z]")  # a commented IPython magic, such as "# %matplotlib inline"
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def cells_of(source: str) -> list[tuple[str, str]]:
    """The (kind, text) of each cell of a percent-format source, kind "code" or "markdown"."""
    cells: list[tuple[str, list[str]]] = []
    for line in source.splitlines():
        if line.startswith("# %%"):
            cells.append(("markdown" if "[markdown]" in line else "code", []))
        elif cells:
            cells[-1][1].append(line)
        elif line.strip() and not line.startswith("#"):
            raise ValueError(f"code before the first '# %%' line: {line!r}")
    result = []
    for kind, lines in cells:
        if kind == "markdown":
            lines = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
        else:
            lines = [line[2:] if MAGIC.match(line) else line for line in lines]
        text = "\n".join(lines).strip("\n")
        if text:
            result.append((kind, text))
    return result


def notebook_of(source: str) -> str:
    """The .ipynb text (no outputs, cell ids numbered) of a percent-format source."""
    nb = new_notebook(metadata={"kernelspec": KERNEL, "language_info": {"name": "python"}})
    for i, (kind, text) in enumerate(cells_of(source), 1):
        cell = new_markdown_cell(text) if kind == "markdown" else new_code_cell(text)
        cell["id"] = f"cell-{i}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; write nothing")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(NOTEBOOKS.glob("*.py")):
        target = source.with_suffix(".ipynb")
        text = notebook_of(source.read_text())
        if target.exists() and target.read_text() == text:
            continue
        stale.append(target)
        if not args.check:
            target.write_text(text)
            print(f"wrote {target.relative_to(NOTEBOOKS.parent)}")
    if args.check and stale:
        names = ", ".join(str(p.relative_to(NOTEBOOKS.parent)) for p in stale)
        print(f"out of date (run python scripts/make_notebooks.py): {names}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
