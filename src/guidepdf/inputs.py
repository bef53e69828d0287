"""Expand INPUT arguments (files, folders, globs) into guide paths, and plan output names."""

from __future__ import annotations

import fnmatch
import glob
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .reading import read_limited, real_path, refusal

#: Extensions picked up when a folder is given (a file named directly may have any extension).
GUIDE_SUFFIXES = (".md", ".markdown", ".txt")
#: In a folder given as INPUT, this file lists gitignore-style globs of files that are not guides.
IGNORE_FILE = ".guidepdfignore"
MAX_IGNORE_BYTES = 100_000
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Selection:
    """The guide files an INPUT list selects, and the arguments that matched nothing."""

    paths: tuple[Path, ...]
    missing: tuple[str, ...]
    #: Files found but not used (a symlink out of the folder given, a FIFO…): (path, why).
    refused: tuple[tuple[str, str], ...] = ()


def expand_inputs(inputs: Iterable[str | Path], exclude: Iterable[str] = ()) -> Selection:
    """Files as given, folders recursively (`*.md`, `*.markdown`, `*.txt`), globs expanded; sorted.

    A file found in a folder or by a glob that resolves outside that folder (a symlink out), or that
    is not a regular file (a FIFO, a device, a `/proc` entry), is refused: it is listed in `refused`.
    A file matching an `exclude` glob is left out; so is a file in a folder given as INPUT that the
    folder's `.guidepdfignore` lists.
    """
    found: dict[Path, None] = {}
    missing: list[str] = []
    refused: dict[tuple[str, str], None] = {}
    excluded = tuple(exclude)
    for item in inputs:
        text = str(item)
        path = Path(text)
        root: Path | None = None
        if path.is_dir():
            root = path
            ignored = (*excluded, *read_ignore_file(path))
            candidates = sorted(
                p
                for p in path.rglob("*")
                if p.suffix.lower() in GUIDE_SUFFIXES
                and not _hidden(p, path)
                and not is_excluded(p, ignored, root=path)
            )
        elif path.exists() or path.is_symlink():
            candidates = [] if is_excluded(path, excluded) else [path]
        elif _GLOB_CHARS & set(text):
            root = _glob_root(text)
            # `**` follows symlinked folders: a link `loop -> .` would select each guide 40 times over.
            reals: dict[Path, Path] = {}
            for match in sorted(Path(p) for p in glob.glob(text, recursive=True)):
                if not is_excluded(match, excluded):
                    reals.setdefault(real_path(match), match)
            candidates = sorted(reals.values())
        else:
            candidates = []
        matches = []
        problems = []
        for candidate in candidates:
            problem = _refusal(candidate, root)
            if problem:
                problems.append((str(candidate), problem))
            elif candidate.is_file():
                matches.append(candidate)
        refused.update(dict.fromkeys(problems))
        if not matches and not problems:
            missing.append(text)
        for match in matches:
            found.setdefault(match, None)
    return Selection(paths=tuple(found), missing=tuple(missing), refused=tuple(refused))


def _glob_root(pattern: str) -> Path:
    """The folder a glob searches: its leading parts without wildcards."""
    parts = Path(pattern).parts
    fixed = next((i for i, part in enumerate(parts) if _GLOB_CHARS & set(part)), len(parts))
    return Path(*parts[:fixed]) if fixed else Path(".")


def _refusal(path: Path, root: Path | None) -> str | None:
    """Why a found file is not used as a guide, or None. Folders and broken links are skipped, not refused."""
    if path.is_dir():
        return None
    real = real_path(path)
    if root is not None and not real.is_relative_to(real_path(root)):
        return f"links outside {root} (to {real}); not read"
    reason = refusal(path)
    return f"{reason}; not read" if reason else None


def read_ignore_file(folder: Path) -> tuple[str, ...]:
    """The globs in `folder/.guidepdfignore`: one a line, `#` starts a comment, blank lines skipped."""
    ignore = folder / IGNORE_FILE
    if not ignore.exists():
        return ()
    try:
        text = read_limited(ignore, MAX_IGNORE_BYTES).decode("utf-8", errors="replace")
    except OSError:  # a FIFO, a device or a huge file under that name is not read (nothing is ignored)
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
    planner = UniqueNames(suffix)
    names = [planner.name(stem) for stem in stems]
    clashes = [
        (f"{stem}{suffix}", name) for stem, name in zip(stems, names, strict=True) if name != stem + suffix
    ]
    return names, clashes


class UniqueNames:
    """The names `plan_names` gives, handed out one stem at a time (for a stream of outputs)."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        self.taken: set[str] = set()

    def name(self, stem: str) -> str:
        """The next unique name for `stem`: `stem.suffix`, else `stem-2.suffix`, `stem-3.suffix`…"""
        name = f"{stem}{self.suffix}"
        n = 2
        while name.lower() in self.taken:
            name = f"{stem}-{n}{self.suffix}"
            n += 1
        self.taken.add(name.lower())
        return name
