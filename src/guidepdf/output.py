"""Write files atomically (a temporary file beside the target, flushed, then renamed over it), and read
back the files guidepdf wrote without following a link someone planted in their place."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Permissions for new files, as `open()` would give them (mkstemp alone gives 0600).
FILE_MODE = 0o666 & ~_umask()


def atomic_write(path: Path | str, data: bytes | str) -> Path:
    """Write `data` to `path` so that `path` is either absent/old or complete, never partial."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), FILE_MODE)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def read_own_file(path: Path | str, limit: int) -> bytes:
    """The bytes of a regular file at `path`, read at most `limit` bytes, never through a final symlink.

    For state guidepdf wrote itself (outputs, manifest, cache, send log): a symlink, FIFO, device or
    oversized file there was not written by guidepdf, so it raises OSError instead of being read.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes", str(path))
    return data
