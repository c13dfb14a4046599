"""Download or import the IDX files into the user cache, verified and written atomically.

Every file is checked on its *decompressed* content (exact size, sha256 and md5 where the
registry has them, and the full IDX format check) before it takes its final name: it is written
to a hidden ``.<name>.<random>.part`` file in the same folder and renamed only once verified, so a
file with a final name is always complete, and a failed or interrupted transfer leaves nothing
behind. A failing mirror (HTTP error, refused connection, truncated transfer, wrong checksum) is
followed by the next one; the error lists what each mirror said.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import socket
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from digitnet.data import idx, sources
from digitnet.data.registry import DATASETS, DatasetSpec, FileSpec, get
from digitnet.errors import DigitnetError
from digitnet.version import __version__

CHUNK = 1 << 16
USER_AGENT = f"digitnet/{__version__}"


def verify(data: bytes, spec: FileSpec, where: str, title: str) -> tuple[str, np.ndarray]:
    """Check decompressed ``data`` against ``spec``: IDX format, count, size, sha256, md5.

    The format comes first because its message is the most specific ("label 11 at position 7").
    For a dataset without published checksums (KMNIST), a file that is in fact one of another
    registered dataset's is refused too. Returns the sha256 of ``data`` and the parsed array;
    raises :class:`DigitnetError` naming ``where`` (a path or URL) otherwise.
    """
    which = f"{title} {spec.name}".strip()
    if spec.kind == "images":
        array = idx.parse_images(data, where)
    else:
        array = idx.parse_labels(data, where)
    if len(array) != spec.count:
        raise DigitnetError(f"{where}: {len(array):,} {spec.kind}, {which} has {spec.count:,}")
    if len(data) != spec.size:  # cannot happen once the format and count are right; kept as a guard
        raise DigitnetError(f"{where}: {len(data):,} bytes, {which} has {spec.size:,}")
    sha256 = hashlib.sha256(data).hexdigest()
    if spec.sha256 is None:
        other = _KNOWN_SHA256.get(sha256)
        if other is not None:
            raise DigitnetError(f"{where}: this is {other}, not {which}")
    elif sha256 != spec.sha256:
        raise DigitnetError(
            f"{where}: sha256 {sha256[:12]}... does not match {which} ({spec.sha256[:12]}...);"
            " the file is corrupt or from another dataset"
        )
    if spec.md5 is not None and hashlib.md5(data).hexdigest() != spec.md5:
        raise DigitnetError(f"{where}: md5 does not match {which}; the file is corrupt")
    return sha256, array


_KNOWN_SHA256 = {
    f.sha256: f"{s.title} {f.name}" for s in DATASETS.values() for f in s.files if f.sha256
}


def final_name(spec: FileSpec, path: Path) -> str:
    """The name a verified file gets in the cache: ``<name>.gz`` if it is gzip, else ``<name>``."""
    return f"{spec.name}.gz" if idx.is_gzip(path) else spec.name


def _install(tmp: Path, folder: Path, spec: FileSpec) -> Path:
    """Rename verified ``tmp`` into ``folder`` and remove stale copies under other names."""
    final = folder / final_name(spec, tmp)
    os.replace(tmp, final)
    for candidate in spec.candidates:
        other = folder / candidate
        if other != final and other.is_file():
            other.unlink()
    return final


@dataclass
class FileRecord:
    """What happened to one file: where it is now, where it came from, what failed first."""

    name: str
    path: Path
    origin: str  # a URL, a source path, or "already in the cache"
    failures: list[str] = field(default_factory=list)


@dataclass
class FetchResult:
    """The outcome of :func:`fetch` or :func:`import_dir`: the dataset's folder and its files."""

    spec: DatasetSpec
    folder: Path
    files: list[FileRecord]


class _TransferError(Exception):
    """A download that failed for a reason worth one short phrase ("HTTP 404")."""


def _reason(err: BaseException) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code}"
    if isinstance(err, urllib.error.URLError):
        err = err.reason if isinstance(err.reason, BaseException) else err
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, socket.gaierror):
        return "host not found"
    if isinstance(err, TimeoutError | socket.timeout):
        return "timed out"
    return str(getattr(err, "strerror", None) or err) or type(err).__name__


def _download(url: str, dest: Path, timeout: float, progress: bool | None, desc: str) -> None:
    """Copy ``url`` into ``dest`` with a progress bar; raise :class:`_TransferError` on failure."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(dest, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            received = 0
            bar_off = None if progress is None else not progress  # None: only on a terminal
            bar = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=desc,
                disable=bar_off,
                leave=False,
            )
            with bar:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise _TransferError(_reason(err)) from None
    except http.client.HTTPException as err:  # the server broke the protocol
        raise _TransferError(f"{type(err).__name__}: {err}") from None
    if total is not None and received != total:
        raise _TransferError(f"transfer truncated at {received:,} of {total:,} bytes")


def _fetch_file(
    spec: DatasetSpec,
    file_spec: FileSpec,
    folder: Path,
    mirrors: Sequence[str],
    timeout: float,
    progress: bool | None,
) -> FileRecord:
    failures: list[str] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + f"/{file_spec.name}.gz"
        fd, tmp_name = tempfile.mkstemp(prefix=f".{file_spec.name}.", suffix=".part", dir=folder)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            _download(url, tmp, timeout, progress, desc=file_spec.name)
            data = idx.read_bytes(tmp, max_size=file_spec.size)
            verify(data, file_spec, url, spec.title)
            del data
            path = _install(tmp, folder, file_spec)
            return FileRecord(file_spec.name, path, url, failures)
        except _TransferError as err:
            failures.append(f"{url}: {err}")
        except DigitnetError as err:
            message = str(err).replace(str(tmp), url)  # name the URL, not the temporary file
            failures.append(message if message.startswith(url) else f"{url}: {message}")
        finally:
            tmp.unlink(missing_ok=True)
    if not mirrors:
        failures.append("no mirror to try")
    raise DigitnetError(
        f"could not download {spec.name}/{file_spec.name}.gz: " + "; ".join(failures)
    )


def fetch(
    name: str | DatasetSpec,
    cache_dir: str | Path | None = None,
    mirrors: Sequence[str] | None = None,
    progress: bool | None = None,
    timeout: float = 60.0,
) -> FetchResult:
    """Download dataset ``name`` into ``<cache_dir>/<name>/`` and verify every file.

    Files already there and valid are kept. ``mirrors`` replaces the registry's base URLs (tests
    point it at a local server). ``progress`` shows a bar on stderr (``None``: only on a
    terminal). Raises :class:`DigitnetError` if a file cannot be had from any mirror; the files
    verified before that stay, and nothing partial is left.
    """
    spec = name if isinstance(name, DatasetSpec) else get(name)
    folder = Path(cache_dir).expanduser() if cache_dir is not None else sources.cache_dir()
    folder = folder / spec.name
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DigitnetError(f"{folder}: cannot create the cache folder ({err.strerror})") from None
    try:
        return FetchResult(spec, folder, _fetch_all(spec, folder, mirrors, timeout, progress))
    except BaseException:
        if created and not any(folder.iterdir()):  # a failed first fetch leaves no empty folder
            folder.rmdir()
        raise


def _fetch_all(
    spec: DatasetSpec,
    folder: Path,
    mirrors: Sequence[str] | None,
    timeout: float,
    progress: bool | None,
) -> list[FileRecord]:
    """Every file of ``spec`` into ``folder``: kept when already there and valid, else fetched."""
    mirror_list = list(spec.mirrors if mirrors is None else mirrors)
    records = []
    for file_spec in spec.files:
        present = sources.find_file(folder, file_spec)
        if present is not None:
            try:
                data = idx.read_bytes(present, max_size=file_spec.size)
                verify(data, file_spec, str(present), spec.title)
                records.append(FileRecord(file_spec.name, present, "already in the cache"))
                continue
            except DigitnetError as err:
                failure = f"replaced an invalid copy ({err})"
        else:
            failure = None
        record = _fetch_file(spec, file_spec, folder, mirror_list, timeout, progress)
        if failure:
            record.failures.insert(0, failure)
        records.append(record)
    return records


def _identify(folder: Path) -> DatasetSpec | None:
    """The registered dataset whose checksummed train labels are in ``folder``, if any."""
    if folder.name in DATASETS:
        return DATASETS[folder.name]
    for spec in DATASETS.values():
        labels = spec.file("train", "labels")
        path = sources.find_file(folder, labels)
        if path is None or labels.sha256 is None:
            continue
        data = idx.read_bytes(path, max_size=labels.size)
        if hashlib.sha256(data).hexdigest() == labels.sha256:
            return spec
    return None


def _has_any(folder: Path) -> bool:
    return any(
        sources.find_file(folder, f) is not None for spec in DATASETS.values() for f in spec.files
    )


def import_dir(
    src: str | Path, name: str | None = None, cache_dir: str | Path | None = None
) -> list[FetchResult]:
    """Verify the IDX files a user already has in ``src`` and copy them into the cache.

    ``src`` may hold the four files itself (``/usr/share/datasets/fashion-mnist``) or one folder
    per dataset (``../shared/data``). Without ``name`` the dataset is recognised by its folder
    name or by its checksums. All files of a dataset are verified before any is copied; each copy
    is atomic. Returns one :class:`FetchResult` per dataset imported.
    """
    src = Path(src).expanduser()
    if not src.is_dir():
        raise DigitnetError(f"{src}: not a folder")
    cache = Path(cache_dir).expanduser() if cache_dir is not None else sources.cache_dir()
    jobs: list[tuple[DatasetSpec, Path]] = []
    if name is not None:
        spec = get(name)
        sub = src / spec.name
        jobs.append((spec, sub if sub.is_dir() and _has_any(sub) else src))
    elif _has_any(src):
        spec_found = _identify(src)
        if spec_found is None:
            known = ", ".join(DATASETS)
            raise DigitnetError(f"{src}: cannot tell which dataset this is; add --name ({known})")
        jobs.append((spec_found, src))
    else:
        jobs = [(s, src / s.name) for s in DATASETS.values() if (src / s.name).is_dir()]
        if not jobs:
            first = DATASETS["mnist"].files[0]
            raise DigitnetError(
                f"{src / first.candidates[0]}: not found; {src} holds neither the four IDX files"
                f" nor a folder per dataset ({', '.join(DATASETS)})"
            )
    return [_import_one(spec, folder, cache / spec.name) for spec, folder in jobs]


def _import_one(spec: DatasetSpec, folder: Path, dest: Path) -> FetchResult:
    paths = []
    arrays = []
    for file_spec in spec.files:
        path = sources.find_file(folder, file_spec)
        if path is None:
            raise DigitnetError(
                f"{folder / file_spec.candidates[0]}: not found (nor {file_spec.name} without .gz)"
            )
        data = idx.read_bytes(path, max_size=file_spec.size)
        _, array = verify(data, file_spec, str(path), spec.title)
        paths.append(path)
        arrays.append(len(array))
    for (img, lab), split in zip(((0, 1), (2, 3)), ("train", "test"), strict=True):
        if arrays[img] != arrays[lab]:
            raise DigitnetError(f"{paths[lab]}: {split} labels and images disagree in count")
    try:
        same = dest.is_dir() and folder.resolve() == dest.resolve()
        records = []
        for file_spec, path in zip(spec.files, paths, strict=True):
            if same:
                records.append(FileRecord(file_spec.name, path, "already in the cache"))
                continue
            dest.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{file_spec.name}.", suffix=".part", dir=dest)
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                shutil.copyfile(path, tmp)
                # The copy is checked again, so a bad disk or a file changed meanwhile is caught.
                data = idx.read_bytes(tmp, max_size=file_spec.size)
                verify(data, file_spec, str(path), spec.title)
                installed = _install(tmp, dest, file_spec)
                records.append(FileRecord(file_spec.name, installed, str(path)))
            finally:
                tmp.unlink(missing_ok=True)
    except OSError as err:
        where = err.filename or dest
        reason = err.strerror or err
        raise DigitnetError(f"{where}: cannot copy into the cache ({reason})") from None
    return FetchResult(spec, dest, records)
