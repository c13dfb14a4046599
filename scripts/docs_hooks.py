"""MkDocs hook (``hooks:`` in mkdocs.yml): the benchmark reports, ``benchmarks/*.md``, added to
the site as ``benchmarks/NAME.md``.

They stay where ``benchmarks/`` writes them; the site shows them beside the pages of ``docs/``.
(The notebooks come in through the links ``docs/lessons/*.ipynb -> notebooks/*.ipynb`` instead:
mkdocs-jupyter renders only files that MkDocs found in ``docs/`` itself.)
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

REPO = Path(__file__).resolve().parents[1]
# (folder of the repository, glob, folder on the site)
OUTSIDE = [("benchmarks", "*.md", "benchmarks")]


@event_priority(100)  # before the plugins' on_files: they see these pages as any other
def on_files(files: Files, config: MkDocsConfig) -> Files:
    for folder, pattern, site_folder in OUTSIDE:
        for path in sorted((REPO / folder).glob(pattern)):
            files.append(
                File.generated(config, f"{site_folder}/{path.name}", abs_src_path=str(path))
            )
    return files
