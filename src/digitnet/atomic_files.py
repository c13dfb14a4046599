"""Writing files so that a reader never sees half of one, and nothing but a file is replaced.

Every file digitnet writes (models, checkpoints, downloads, decoded caches, pictures) goes through
:func:`atomic_path`: the content is written to a temporary file in the same folder, flushed to
disk, then renamed over the final name with :func:`os.replace` (atomic on POSIX and Windows). If
anything fails on the way, the temporary file is removed and an earlier file is left untouched.

Only regular files are replaced: :func:`check_output` refuses, before any work, a path that is a
folder, a device such as ``/dev/null``, a fifo or a socket (and :func:`atomic_path` refuses it
again at the end). A run that writes one file for a long time (training and its checkpoints)
holds :func:`exclusive_lock` on it, so a second run on the same path stops at once.
"""

from __future__ import annotations

import errno
import glob
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from digitnet.errors import DigitnetError

try:
    import fcntl
except ImportError:  # not POSIX: runs on one path are not kept apart
    fcntl = None  # type: ignore[assignment]

_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFIFO: "a fifo",
    stat.S_IFSOCK: "a socket",
}


def _file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file: 0o666 less the umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0
    return True


def remove_stale_parts(final: Path) -> list[Path]:
    """Delete the temporary files of earlier writes of ``final`` whose writer is gone (killed in
    the middle of a write, say); a write still under way in a live process is left alone.
    Returns what was deleted."""
    removed = []
    for part in final.parent.glob(f".{glob.escape(final.name)}.*.part"):
        pid = part.name[len(final.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        try:
            part.unlink()
            removed.append(part)
        except OSError:
            pass
    return removed


def _not_a_file(path: Path) -> str | None:
    """What ``path`` is if it exists and is not a regular file ("a folder", "a device", ...)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as err:
        return f"unreadable ({err.strerror})"
    return None if stat.S_ISREG(mode) else _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def check_output(
    path: str | os.PathLike, option: str = "--out", example: str = "model.npz"
) -> Path:
    """``path`` as a Path, if a file may be written there; otherwise one clear error, before any
    work. It must not exist or be a regular file (digitnet never replaces a folder, a device
    such as ``/dev/null``, a fifo or a socket), and its folder is created if missing and must be
    writable."""
    path = Path(path)
    kind = _not_a_file(path)
    if kind == "a folder":
        raise DigitnetError(f"{option} {path} is a folder; name a file such as {path / example}")
    if kind is not None:
        raise DigitnetError(
            f"{option} {path} is {kind}, not a regular file; digitnet writes only regular files, "
            f"name one such as {example}"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as err:
        raise DigitnetError(
            f"cannot write {option} {path}: {path.parent} is not writable ({err.strerror})"
        ) from None
    return path


def lock_path(path: Path) -> Path:
    """The lock file of ``path``: ``.NAME.lock`` beside it."""
    return path.parent / f".{path.name}.lock"


@contextmanager
def exclusive_lock(path: str | os.PathLike, option: str = "--out") -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the body: a second process asking for it fails at
    once with one line naming the first one's pid. The lock is the kernel's (``flock`` on
    ``.NAME.lock``), so a killed holder releases it; the lock file is removed when released."""
    path = Path(path)
    if fcntl is None:
        yield
        return
    lock = lock_path(path)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise DigitnetError(f"cannot lock {path}: {err.strerror}") from None
            raise DigitnetError(
                f"{path} is being written by another run (pid {holder}); wait for it to end, "
                f"or choose another {option}"
            ) from None
        try:  # the holder before us may have removed the file we opened: lock the one there is
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


@contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; when the body succeeds it becomes ``final``.

    The temporary file is named ``.NAME.PID.RANDOM.part`` after the writing process, so that the
    next write of ``final`` can delete what a killed writer left behind."""
    final = Path(final)
    kind = _not_a_file(final)
    if kind is not None:
        raise DigitnetError(f"{final} is {kind}, not a regular file; digitnet does not replace it")
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(final)
    fd, name = tempfile.mkstemp(
        prefix=f".{final.name}.{os.getpid()}.", suffix=".part", dir=final.parent
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:  # the data reaches the disk before the name does
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes files only their owner can read
        kind = _not_a_file(final)  # it may have appeared while the file was written
        if kind is not None:
            raise DigitnetError(
                f"{final} is {kind}, not a regular file; digitnet does not replace it"
            )
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_write(final: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Like :func:`atomic_path`, but yield the temporary file already open in ``mode``."""
    with atomic_path(final) as tmp, open(tmp, mode) as f:
        yield f
