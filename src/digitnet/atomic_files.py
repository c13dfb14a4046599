"""Writing files so that a reader never sees half of one.

Every file digitnet writes (models, checkpoints, downloads, decoded caches, pictures) goes through
:func:`atomic_path`: the content is written to a temporary file in the same folder, flushed to
disk, then renamed over the final name with :func:`os.replace` (atomic on POSIX and Windows). If
anything fails on the way, the temporary file is removed and an earlier file is left untouched.
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


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


@contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; when the body succeeds it becomes ``final``.

    The temporary file is named ``.NAME.PID.RANDOM.part`` after the writing process, so that the
    next write of ``final`` can delete what a killed writer left behind."""
    final = Path(final)
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
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_write(final: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Like :func:`atomic_path`, but yield the temporary file already open in ``mode``."""
    with atomic_path(final) as tmp, open(tmp, mode) as f:
        yield f
