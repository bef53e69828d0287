"""Watch mode: rebuild when the guides or theme files change, debounced, until stopped.

The operating system reports changes (inotify, FSEvents, ReadDirectoryChangesW, through watchfiles), so
an idle watch costs nothing however large the library; polling every 10,000 files' stamps twice a
second would keep a sixth of a core busy. What counts as a change is still decided by comparing the
files' stamps, so an event in the output folder or an unrelated file never starts a build. Where the
system cannot report changes (some network folders and containers), set WATCHFILES_FORCE_POLLING=1.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from .config import find_config
from .inputs import expand_inputs
from .options import RenderOptions

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Stamps of the watched files: modification time and size, so a same-second rewrite is still seen.
Snapshot = dict[Path, tuple[int, int]]


@dataclass(frozen=True)
class WatchRound(Generic[T]):
    """One build in watch mode: its number (0 is the first build), the files that changed, the result."""

    number: int
    changed: tuple[Path, ...]
    result: T


def snapshot(paths: Iterable[Path]) -> Snapshot:
    """Modification time and size of each path that exists."""
    stamps: Snapshot = {}
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        stamps[path] = (stat.st_mtime_ns, stat.st_size)
    return stamps


def changed_files(before: Snapshot, after: Snapshot) -> tuple[Path, ...]:
    """Paths added, removed or modified between two snapshots, sorted."""
    paths = set(before) | set(after)
    return tuple(sorted(p for p in paths if before.get(p) != after.get(p)))


def _walk(folder: Path, skip: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder):
        base = Path(root)
        # Never watch the output folder (it changes on every build) nor hidden folders like .git.
        dirs[:] = [d for d in dirs if not d.startswith(".") and base / d != skip]
        for name in files:
            if not name.startswith("."):
                yield base / name


def watched_files(inputs: Sequence[str | Path], options: RenderOptions, out: Path) -> list[Path]:
    """Everything a rebuild depends on: the guides, their folders' files, the theme and the config file."""
    skip = out.resolve()  # the output folder, or the single output file
    selection = expand_inputs(inputs)
    files: set[Path] = set()
    for guide in selection.paths:
        guide = guide.resolve()
        files.add(guide)
        files.update(_walk(guide.parent, skip))  # images and includes beside the guide
    for folder in options.templates:
        files.update(_walk(folder.resolve(), skip))
    for style in options.styles:
        files.update(_walk(style.resolve().parent, skip))
    config = find_config()
    if config is not None:
        files.add(config.resolve())
    return sorted(f for f in files if not f.is_relative_to(skip))


def watch(
    build: Callable[[], T],
    files: Callable[[], Iterable[Path]],
    *,
    on_round: Callable[[WatchRound[T]], None] | None = None,
    interval: float = 0.5,
    debounce: float = 0.3,
    rounds: int | None = None,
    stop: threading.Event | None = None,
    ignore: Path | None = None,
) -> int:
    """Build once, then again whenever `files()` change; return how many rebuilds ran.

    A change starts a rebuild only once the files have been still for `debounce` seconds, so an
    editor's save-rename-touch counts once. `rounds` bounds the rebuilds (None: until `stop` is set
    or the user presses Ctrl-C, which the caller handles). `interval` is the polling period where
    the system cannot report changes; events under `ignore` (the output) are not even looked at.
    """
    import watchfiles

    stop = stop or threading.Event()
    before = snapshot(files())
    result = build()
    if on_round:
        on_round(WatchRound(0, (), result))
    skip = ignore.resolve() if ignore is not None else None

    def relevant(change: Any, path: str) -> bool:
        return skip is None or not Path(path).is_relative_to(skip)

    done = 0
    first = True
    events = watchfiles.watch(
        *_roots(files()),
        watch_filter=relevant,
        debounce=60_000,
        step=max(1, round(debounce * 1000)),
        stop_event=stop,
        rust_timeout=max(1, round(interval * 1000)) * 4,
        yield_on_timeout=True,
        poll_delay_ms=max(1, round(interval * 1000)),
    )
    for batch in events:
        if rounds is not None and done >= rounds:
            break
        # The first wake-up (an event, or a timeout) also catches edits made while the first build ran,
        # before the system was watching; after that only real events are looked at.
        if not batch and not first:
            continue
        first = False
        now = snapshot(files())
        if now == before:
            continue
        changed = changed_files(before, now)
        log.info("changed: %s", ", ".join(map(str, changed)))
        result = build()
        # Stamps taken after the build would hide edits made during it; these were taken before.
        before = now
        done += 1
        if on_round:
            on_round(WatchRound(done, changed, result))
        if rounds is not None and done >= rounds:
            break
    return done


def watch_render(
    inputs: Sequence[str],
    out: Path,
    fmt: str,
    *,
    single: bool,
    options: Callable[[], RenderOptions],
    watched: RenderOptions,
    exclude: Sequence[str] = (),
    jobs: int | None = None,
    interval: float = 0.5,
    rounds: int | None = None,
    on_round: Callable[[WatchRound[Any]], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """`guidepdf render --watch`: render what `inputs` select into `out`, then again on every change
    to a guide, a file it uses, the theme or the configuration; return how many rebuilds ran.

    Each build reads the configuration again (`options()`) and selects the guides again, so new
    guides join in and a broken edit is reported (the round's result is then the error's text) and
    survived. After the first build this process loads WeasyPrint and the theme, so a guide saved
    alone renders here, warm, not in a fresh worker. `watched` is the options whose theme files are
    watched.
    """
    from .batch import render_batch
    from .errors import GuidepdfError

    def build() -> Any:
        paths = list(expand_inputs(inputs, exclude).paths)
        if not paths:
            return "no guides selected: " + ", ".join(inputs)
        try:
            fresh = options()
        except GuidepdfError as exc:
            return str(exc)
        return render_batch(paths, out, fresh, fmt, single_file=single, jobs=jobs)

    def heard(done: WatchRound[Any]) -> None:
        if done.number == 0:
            _warm_up(options)
        if on_round is not None:
            on_round(done)

    return watch(
        build,
        lambda: watched_files(inputs, watched, out),
        on_round=heard,
        interval=interval,
        rounds=rounds,
        ignore=out,
        stop=stop,
    )


def _warm_up(options: Callable[[], RenderOptions]) -> None:
    """Load WeasyPrint and the theme in this process once (a broken theme is the build's to report)."""
    from . import pdf
    from .errors import GuidepdfError

    with contextlib.suppress(GuidepdfError, OSError):
        pdf.warm_up(options().pinned())


def _roots(paths: Iterable[Path]) -> list[Path]:
    """The fewest folders whose trees hold every path (watched recursively, so new guides are seen)."""
    folders = sorted({path.parent.resolve() for path in paths})
    roots: list[Path] = []
    for folder in folders:
        if not any(folder.is_relative_to(root) for root in roots):
            roots.append(folder)
    return roots or [Path.cwd()]
