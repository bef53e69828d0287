"""Write files atomically (a temporary file beside the target, flushed, then renamed over it), and read
back the files guidepdf wrote without following a link someone planted in their place."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from .errors import OutputError, UsageError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Permissions for new files, as `open()` would give them (mkstemp alone gives 0600).
FILE_MODE = 0o666 & ~_umask()


def atomic_write(path: Path | str, data: bytes | str, *, mode: int | None = None) -> Path:
    """Write `data` to `path` so that `path` is either absent/old or complete, never partial; the
    file gets `mode` (default: as the umask allows)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(path, "it is a folder, not a file", errno.EISDIR)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError(
            path, f"{_file_in_the_way(path.parent)} is a file, not a folder", errno.ENOTDIR
        ) from None
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc), exc.errno or 0) from None
    # A file name that is not UTF-8 reaches text as lone surrogates: write those as \udcff escapes
    # (which JSON reads back as the same name) rather than fail the whole write.
    payload = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
    try:
        _write(path, payload, FILE_MODE if mode is None else mode)
    except OSError as exc:  # disk full, quota, read-only: one line naming the file, nothing left behind
        raise OutputError(path, exc.strerror or str(exc), exc.errno or 0) from None
    return path


def _file_in_the_way(folder: Path) -> Path:
    """The first part of `folder` that exists but is not a folder."""
    for part in (*reversed(folder.parents), folder):
        if part.exists() and not part.is_dir():
            return part
    return folder


def _write(path: Path, payload: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def open_own_file(path: Path | str) -> BinaryIO:
    """A regular file at `path` opened for reading, never through a final symlink (see `read_own_file`)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    handle = os.fdopen(os.open(path, flags), "rb")
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        handle.close()
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return handle


def read_own_file(path: Path | str, limit: int) -> bytes:
    """The bytes of a regular file at `path`, read at most `limit` bytes, never through a final symlink.

    For state guidepdf wrote itself (outputs, manifest, cache, send log): a symlink, FIFO, device or
    oversized file there was not written by guidepdf, so it raises OSError instead of being read.
    """
    with open_own_file(path) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes", str(path))
    return data


def check_output(path: Path, *, folder: bool) -> None:
    """Refuse, before any work, an -o that exists as a file where a folder is needed, or the reverse."""
    if folder and path.exists() and not path.is_dir():
        raise UsageError(f"-o {path}: is a file, but a folder is needed here")
    if not folder and path.is_dir():
        raise UsageError(f"-o {path}: is a folder, but a file name is needed here")
