"""Where the data comes from, in order: ``--data-dir``, ``$DIGITNET_DATA``, the user cache.

Each of these is a *data root*: a folder holding one folder per dataset, named as in the registry
(``mnist/``, ``fashion-mnist/``, ``kmnist/``), each with the four IDX files, gzip-compressed or
not, as in ``../shared/data``. The user cache is also where ``digitnet data fetch`` and
``digitnet data import`` put files; a download is never started from here.

The cache folder is ``$DIGITNET_CACHE`` if set, else ``$XDG_CACHE_HOME/digitnet``, else the
platform's cache folder (``~/.cache/digitnet`` on Linux).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from digitnet.data.registry import DatasetSpec, FileSpec

ENV_DATA = "DIGITNET_DATA"
ENV_CACHE = "DIGITNET_CACHE"


def cache_dir() -> Path:
    """The user cache folder for digitnet (it may not exist yet)."""
    explicit = os.environ.get(ENV_CACHE)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():  # the XDG spec says to ignore relative paths
        return Path(xdg) / "digitnet"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "digitnet"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "digitnet" / "Cache"
    return Path.home() / ".cache" / "digitnet"


@dataclass(frozen=True)
class Place:
    """A data root and why it is searched: "--data-dir", "DIGITNET_DATA" or "cache"."""

    label: str
    root: Path

    def __str__(self) -> str:
        return f"{self.root} ({self.label})"


def places(data_dir: str | Path | None = None) -> list[Place]:
    """The data roots to search, in order: only ``data_dir`` when one is named (a folder the user
    chose is never silently replaced by another), else ``$DIGITNET_DATA`` (skipped when unset or
    empty) and the user cache."""
    if data_dir is not None:
        return [Place("--data-dir", Path(data_dir).expanduser())]
    found = []
    env = os.environ.get(ENV_DATA)
    if env:
        found.append(Place(ENV_DATA, Path(env).expanduser()))
    found.append(Place("cache", cache_dir()))
    return found


def find_file(folder: Path, spec: FileSpec) -> Path | None:
    """The first of ``spec.candidates`` that is a file in ``folder``, or ``None``."""
    for candidate in spec.candidates:
        path = folder / candidate
        if path.is_file():
            return path
    return None


def find_files(folder: Path, spec: DatasetSpec) -> tuple[list[Path], list[str]]:
    """The paths of ``spec``'s files found in ``folder`` (in the registry's order) and the names
    of those missing."""
    paths, missing = [], []
    for file_spec in spec.files:
        path = find_file(folder, file_spec)
        if path is None:
            missing.append(file_spec.name)
        else:
            paths.append(path)
    return paths, missing


@dataclass(frozen=True)
class Found:
    """A complete set of a dataset's four files, in the registry's order."""

    spec: DatasetSpec
    place: Place
    folder: Path
    paths: tuple[Path, ...]

    def describe(self) -> str:
        """One line for the user, e.g. ``full MNIST from /x/mnist (DIGITNET_DATA)``."""
        return f"full {self.spec.title} from {self.folder} ({self.place.label})"


def locate(spec: DatasetSpec, data_dir: str | Path | None = None) -> tuple[Found | None, list[str]]:
    """The first complete copy of ``spec`` in :func:`places`, and a note for each place where it
    was not found (for the message that says where to put it)."""
    notes = []
    for place in places(data_dir):
        folder = place.root / spec.name
        if not folder.is_dir():
            notes.append(f"{place.label} {folder}: no such folder")
            continue
        paths, missing = find_files(folder, spec)
        if missing:
            notes.append(f"{place.label} {folder}: missing {', '.join(missing)}")
            continue
        return Found(spec, place, folder, tuple(paths)), notes
    if data_dir is None and not os.environ.get(ENV_DATA):
        notes.append(f"{ENV_DATA} not set")
    return None, notes
