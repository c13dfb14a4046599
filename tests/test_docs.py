"""The docs site builds in MkDocs' strict mode (``make docs``), and a broken link fails it.

The builds here do not execute the notebooks (``DIGITNET_DOCS_EXECUTE=false``):
``tests/test_notebooks.py`` runs each of them, and ``make docs`` builds the site with them
executed. Everything else is the real build: every page, the API reference from the docstrings,
the benchmark reports added by ``scripts/docs_hooks.py``, and every internal link checked; and
no page loads a script, a style sheet or a picture from the network.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MKDOCS = [
    sys.executable,
    "-m",
    "mkdocs",
    "build",
    "--strict",
]  # no --quiet: it hides warnings from strict


def build(config: Path, site: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, DIGITNET_DOCS_EXECUTE="false", NO_MKDOCS_2_WARNING="1")
    return subprocess.run(
        [*MKDOCS, "--config-file", str(config), "--site-dir", str(site)],
        cwd=config.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def nav_pages() -> list[str]:
    """Every page the nav of mkdocs.yml names (``docs/``-relative)."""
    return re.findall(
        r"^\s*- (?:[^:\n]+: )?(\S+\.(?:md|ipynb))\s*$", (REPO / "mkdocs.yml").read_text(), re.M
    )


def test_the_site_builds_strict_with_every_page(tmp_path: Path):
    site = tmp_path / "site"
    result = build(REPO / "mkdocs.yml", site)
    assert result.returncode == 0, result.stderr[-3000:]
    pages = nav_pages()
    assert len(pages) >= 30 and "lessons/3-backprop-step-by-step.ipynb" in pages
    for page in pages:
        stem = page.rsplit(".", 1)[0]
        html = site / (
            "index.html" if stem == "index" else f"{stem.removesuffix('/index')}/index.html"
        )
        assert html.is_file(), f"{page} gave no page at {html.relative_to(site)}"
    lesson = (site / "lessons" / "3-backprop-step-by-step" / "index.html").read_text()
    assert "Lesson 3: backpropagation, step by step" in lesson and "views.nudges" in lesson
    reference = (site / "reference" / "index.html").read_text()
    for name in ("Network", "TrainConfig", "landscape", "DigitnetClassifier"):
        assert name in reference
    outside = {
        f"{html.relative_to(site)}: {url}"
        for html in site.rglob("*.html")
        for url in re.findall(
            r'<(?:script|link|img)[^>]+(?:src|href)="(https?://[^"]+)"', html.read_text()
        )
    }
    assert not outside, f"pages that load scripts, styles or pictures from the network: {outside}"
    results = (site / "benchmarks" / "RESULTS" / "index.html").read_text()
    assert "Measured results" in results  # benchmarks/RESULTS.md, added by the hook


def test_a_broken_internal_link_fails_the_build_naming_the_page(tmp_path: Path):
    docs = tmp_path / "docs"
    shutil.copytree(REPO / "docs", docs, symlinks=False)  # the lessons' links become copies
    page = docs / "how-to" / "sweeps.md"
    page.write_text(page.read_text() + "\nSee [the missing page](no-such-page.md).\n")
    config = (REPO / "mkdocs.yml").read_text()
    config = config.replace("docs_dir: docs", f"docs_dir: {docs}")
    config = config.replace("scripts/docs_hooks.py", str(REPO / "scripts" / "docs_hooks.py"))
    config = config.replace("paths: [src]", f"paths: [{REPO / 'src'}]")
    (tmp_path / "mkdocs.yml").write_text(config)
    result = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "how-to/sweeps.md" in result.stderr and "no-such-page.md" in result.stderr
