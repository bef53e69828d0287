"""Read an input file safely: a regular file only, opened without blocking, never more than a limit."""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
from pathlib import Path

#: Pseudo-filesystems: their "files" are the machine's state (`/proc/self/environ`), never a user's data.
SYSTEM_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))
#: Largest file a render reads as a resource (an image, a font, a stylesheet, an attached guide).
MAX_RESOURCE_BYTES = 100_000_000
_CHUNK = 1 << 20


class Refused(OSError):
    """A file guidepdf will not read: not a regular file, a system file, or over a size limit.

    An `OSError`, so every caller that reports `cannot read: <strerror>` reports this one too.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(errno.EPERM, reason)
        self.path = str(path)


class TooLarge(Refused):
    """A file over a size limit, found by reading at most limit + 1 bytes of it."""

    def __init__(self, path: Path | str, limit: int, size: int | None = None) -> None:
        shown = f"file is {size:,} bytes, over" if size else "file is over"
        super().__init__(path, f"{shown} the {limit:,}-byte limit")
        self.limit = limit
        self.size = size


def kind_of(mode: int) -> str:
    """What a file of this `st_mode` is, in words a user knows."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def real_path(path: Path | str) -> Path:
    """`path` with every symlink resolved; never raises on a symlink loop (the loop is left in place)."""
    return Path(os.path.realpath(path))


def still_vetted(path: Path | str, vetted: Path, during: str) -> None:
    """Raise `Refused` unless `path` still resolves to `vetted`, the file it led to when it was
    selected: a file read again later (its turn in a batch) may have been swapped for a link since."""
    if real_path(path) != vetted:
        raise Refused(path, f"replaced by a link to another file during the {during}; not read")


def system_file(path: Path | str) -> bool:
    """True when `path` resolves into /proc, /sys or /dev."""
    real = real_path(path)
    return any(real.is_relative_to(root) for root in SYSTEM_ROOTS)


def refusal(path: Path | str) -> str | None:
    """Why `path` must not be read as data (a system file, a FIFO, a device…), or None when it may be.

    A path that does not exist (or loops) is not refused here: reading it reports the usual error.
    """
    if system_file(path):
        return f"a system file ({real_path(path)}), not data"
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return f"{kind_of(mode)}, not a regular file"


def read_limited(path: Path | str, limit: int) -> bytes:
    """The bytes of the regular file `path`, reading at most `limit` + 1 bytes of it.

    Refuses (`Refused`, an `OSError`) system files, FIFOs, sockets and devices, and files over
    `limit` bytes: the size is judged by reading, since `/proc` files and devices report 0 and a
    file may grow. A folder raises `IsADirectoryError`, as `open()` would.
    """
    path = Path(path)
    reason = refusal(path)
    if reason:
        raise Refused(path, reason)
    # O_NONBLOCK: opening a FIFO that appeared since the check above must not wait for a writer.
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)  # the file actually opened, whatever was swapped in since
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
        if not stat.S_ISREG(info.st_mode):
            raise Refused(path, f"{kind_of(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise TooLarge(path, limit, info.st_size)
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, _CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            raise TooLarge(path, limit)
        return data
    finally:
        os.close(fd)


def escape_controls(text: str) -> str:
    """`text` with control characters and line separators escaped, so it prints as one honest line.

    File names may hold newlines or terminal escapes; printed raw they could forge an `error:` line.
    """
    out = []
    for char in text:
        if char in "\n\r\t":
            out.append(repr(char)[1:-1])
        elif unicodedata.category(char) in ("Cc", "Zl", "Zp", "Cs"):
            out.append(f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)
