"""Expand INPUT arguments (files, folders, globs) into guide paths, and plan output names."""

from __future__ import annotations

import glob
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Extensions picked up when a folder is given (a file named directly may have any extension).
GUIDE_SUFFIXES = (".md", ".markdown", ".txt")
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Selection:
    """The guide files an INPUT list selects, and the arguments that matched nothing."""

    paths: tuple[Path, ...]
    missing: tuple[str, ...]


def expand_inputs(inputs: Iterable[str | Path]) -> Selection:
    """Files as given, folders recursively (`*.md`, `*.markdown`, `*.txt`), globs expanded; sorted."""
    found: dict[Path, None] = {}
    missing: list[str] = []
    for item in inputs:
        text = str(item)
        path = Path(text)
        if path.is_dir():
            matches = sorted(
                p
                for p in path.rglob("*")
                if p.suffix.lower() in GUIDE_SUFFIXES and p.is_file() and not _hidden(p, path)
            )
        elif path.exists():
            matches = [path]
        elif _GLOB_CHARS & set(text):
            matches = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        else:
            matches = []
        if not matches:
            missing.append(text)
        for match in matches:
            found.setdefault(match, None)
    return Selection(paths=tuple(found), missing=tuple(missing))


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
