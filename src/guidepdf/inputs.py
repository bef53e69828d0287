"""Expand INPUT arguments (files, folders, globs) into guide paths, and plan output names."""

from __future__ import annotations

import fnmatch
import glob
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Extensions picked up when a folder is given (a file named directly may have any extension).
GUIDE_SUFFIXES = (".md", ".markdown", ".txt")
#: In a folder given as INPUT, this file lists gitignore-style globs of files that are not guides.
IGNORE_FILE = ".guidepdfignore"
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Selection:
    """The guide files an INPUT list selects, and the arguments that matched nothing."""

    paths: tuple[Path, ...]
    missing: tuple[str, ...]


def expand_inputs(inputs: Iterable[str | Path], exclude: Iterable[str] = ()) -> Selection:
    """Files as given, folders recursively (`*.md`, `*.markdown`, `*.txt`), globs expanded; sorted.

    A file matching an `exclude` glob is left out; so is a file in a folder given as INPUT that the
    folder's `.guidepdfignore` lists.
    """
    found: dict[Path, None] = {}
    missing: list[str] = []
    excluded = tuple(exclude)
    for item in inputs:
        text = str(item)
        path = Path(text)
        if path.is_dir():
            ignored = (*excluded, *read_ignore_file(path))
            matches = sorted(
                p
                for p in path.rglob("*")
                if p.suffix.lower() in GUIDE_SUFFIXES
                and p.is_file()
                and not _hidden(p, path)
                and not is_excluded(p, ignored, root=path)
            )
        elif path.exists():
            matches = [] if is_excluded(path, excluded) else [path]
        elif _GLOB_CHARS & set(text):
            matches = sorted(
                Path(p)
                for p in glob.glob(text, recursive=True)
                if Path(p).is_file() and not is_excluded(Path(p), excluded)
            )
        else:
            matches = []
        if not matches:
            missing.append(text)
        for match in matches:
            found.setdefault(match, None)
    return Selection(paths=tuple(found), missing=tuple(missing))


def read_ignore_file(folder: Path) -> tuple[str, ...]:
    """The globs in `folder/.guidepdfignore`: one a line, `#` starts a comment, blank lines skipped."""
    try:
        text = (folder / IGNORE_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    lines = (line.strip() for line in text.splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


def is_excluded(path: Path, globs: Sequence[str], *, root: Path | None = None) -> bool:
    """True when a glob matches the file, gitignore-style.

    A glob without `/` matches the file's name or any folder on its way (`README.md`, `drafts/`);
    one with `/` matches its path from `root` (or as given): `archive/*.md`, `/notes.txt`.
    """
    if not globs:
        return False
    relative = path.relative_to(root) if root is not None else path
    parts = relative.parts
    for pattern in globs:
        folder_only = pattern.endswith("/")
        glob_text = pattern.strip("/") if folder_only else pattern.lstrip("/")
        if not glob_text:
            continue
        if "/" in pattern.rstrip("/"):
            if fnmatch.fnmatch(relative.as_posix(), glob_text) or fnmatch.fnmatch(path.as_posix(), glob_text):
                return True
            continue
        names = parts[:-1] if folder_only else parts
        if any(fnmatch.fnmatch(name, glob_text) for name in names):
            return True
    return False


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def plan_names(stems: Sequence[str], suffix: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Unique file names for `stems` in order; clashes get `-2`, `-3`… and are returned as (old, new)."""
    taken: set[str] = set()
    names: list[str] = []
    clashes: list[tuple[str, str]] = []
    for stem in stems:
        name = f"{stem}{suffix}"
        n = 2
        while name.lower() in taken:
            name = f"{stem}-{n}{suffix}"
            n += 1
        if name != f"{stem}{suffix}":
            clashes.append((f"{stem}{suffix}", name))
        taken.add(name.lower())
        names.append(name)
    return names, clashes
