"""The project's exceptions: library code raises these, the CLI turns them into one-line messages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


class GuidepdfError(Exception):
    """Base of every error guidepdf raises on purpose; its str() is the whole user-facing line."""


class GuideError(GuidepdfError):
    """A guide file cannot be used: names the file and the field path or line at fault."""

    def __init__(
        self,
        path: Path | str,
        message: str,
        *,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.path = str(path)
        self.message = message
        self.field = field
        self.line = line
        where = [self.path]
        if line is not None:
            where.append(f"line {line}")
        if field:
            where.append(field)
        super().__init__(": ".join([*where, message]))

    def __reduce__(self):  # keep the keyword arguments across process boundaries
        return (_rebuild_guide_error, (self.path, self.message, self.field, self.line))


def _rebuild_guide_error(path: str, message: str, field: str | None, line: int | None) -> GuideError:
    return GuideError(path, message, field=field, line=line)


class RenderError(GuidepdfError):
    """A guide loaded but could not be turned into a page or a PDF."""


@contextlib.contextmanager
def naming(path: Path | str) -> Iterator[None]:
    """Prefix a render error with a guide's path: every error a guide causes names its file."""
    try:
        yield
    except RenderError as exc:
        if str(exc).startswith(f"{path}: "):
            raise
        raise RenderError(f"{path}: {exc}") from exc


class TemplateNotFound(GuidepdfError):
    """A template name is in none of the template folders; the message lists every folder searched."""


class UsageError(GuidepdfError):
    """The command was asked for something it cannot do (no inputs, bad option combination)."""


class OutputError(GuidepdfError, OSError):
    """A file could not be written (disk full, a folder in the way): names the file and the reason.

    Also an `OSError`, so callers that report `cannot write: <strerror>` for each output keep doing so.
    """

    def __init__(self, path: Path | str, reason: str, errno: int = 0) -> None:
        super().__init__(errno, reason)
        self.path = str(path)

    def __str__(self) -> str:
        return f"{self.path}: cannot write: {self.strerror}"
