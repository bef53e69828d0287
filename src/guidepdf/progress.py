"""How the command line shows a long command's progress: a bar on a terminal, sparse lines elsewhere.

On a terminal a bar shows done/total, the rate and the time left from the first second. Without one
(a log, CI), a line at most every few seconds, so a 10,000-guide batch does not flood the log. With
`--quiet`, nothing. Only the command line shows progress; the library reports through callbacks: a
per-item callback, or a `ProgressFactory` where it knows the count of a step only once it starts.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import IO, Any, Literal

Mode = Literal["bar", "lines", "off"]

EVERY = 5.0
"""Seconds between two progress lines when stderr is not a terminal."""

#: Hears each problem line of a long step as it arises: `("error", line)` or `("warning", line)`.
Notice = Callable[[str, str], None]
#: How the library shows a long step's progress: called with the step's item count and label, it
#: gives a context whose value is called once per finished item (or is None: nothing shown).
ProgressFactory = Callable[[int, str], contextlib.AbstractContextManager[Callable[..., None] | None]]


@contextlib.contextmanager
def no_progress(total: int, label: str) -> Iterator[None]:
    """The `ProgressFactory` that shows nothing."""
    yield None


def choose_mode(total: int, *, quiet: bool, stream: IO[str] | None = None) -> Mode:
    """The bar on a terminal, lines elsewhere, nothing when quiet or for a single item."""
    stream = stream if stream is not None else sys.stderr
    if quiet or total < 2:
        return "off"
    return "bar" if stream.isatty() else "lines"


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Tracker:
    """Counts finished items and works out the rate and the time left.

    Items that were up to date (`skipped`) finish at once, so they count as done but not towards the
    rate: the rate is that of the work actually being done, and the time left assumes the rest is work.
    """

    def __init__(self, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.done = 0
        self.worked = 0
        self._clock = clock
        self.started = clock()

    def advance(self, item: Any = None) -> None:
        """One more item finished (`item` is the library's result; its `status` is read if present)."""
        self.done += 1
        if getattr(item, "status", None) != "skipped":
            self.worked += 1

    @property
    def elapsed(self) -> float:
        """Seconds since the start."""
        return self._clock() - self.started

    @property
    def rate(self) -> float | None:
        """Items worked per second, or None before the first one."""
        elapsed = self.elapsed
        return self.worked / elapsed if self.worked and elapsed > 0 else None

    @property
    def left(self) -> float | None:
        """Estimated seconds until the last item, or None while there is no rate yet."""
        rate = self.rate
        return (self.total - self.done) / rate if rate else None

    def rate_text(self) -> str:
        """`3.2/s`, or `…` before there is a rate."""
        rate = self.rate
        if rate is None:
            return "…"
        return f"{rate:.1f}/s" if rate < 10 else f"{rate:.0f}/s"

    def left_text(self) -> str:
        """`about 2 min 10 s left`, or `estimating` before there is a rate."""
        left = self.left
        if self.done >= self.total:
            return "done"
        return "estimating time left" if left is None else f"about {_duration(left)} left"

    def line(self, label: str) -> str:
        """One plain progress line."""
        percent = 100 * self.done // self.total if self.total else 100
        return (
            f"{label}: {self.done:,} of {self.total:,} ({percent}%), {self.rate_text()}, "
            f"{self.left_text()}, {_duration(self.elapsed)} so far"
        )


class Progress:
    """A per-item callback that shows progress in `mode`; use it as a context manager."""

    def __init__(
        self,
        total: int,
        label: str,
        mode: Mode,
        *,
        stream: IO[str] | None = None,
        every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.mode = mode
        self.tracker = Tracker(total, clock)
        self._stream = stream if stream is not None else sys.stderr
        self._every = EVERY if every is None else every
        self._clock = clock
        self._last_line = self.tracker.started
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("{task.fields[left]}"),
            )
            console = Console(file=self._stream)
            self._bar = RichProgress(*columns, console=console, transient=True, refresh_per_second=4)
            self._bar.__enter__()
            self._task = self._bar.add_task(
                self.label, total=self.tracker.total, rate="…", left="estimating time left"
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None

    def __call__(self, item: Any = None) -> None:
        tracker = self.tracker
        tracker.advance(item)
        if self.mode == "bar" and self._bar is not None:
            self._bar.update(self._task, advance=1, rate=tracker.rate_text(), left=tracker.left_text())
        elif self.mode == "lines":
            now = self._clock()
            if now - self._last_line >= self._every and tracker.done < tracker.total:
                self._last_line = now
                print(tracker.line(self.label), file=self._stream, flush=True)


def summarise_clashes(clashes: Any, items: Any, *, verbose: bool) -> list[str]:
    """The warning lines for output-name clashes: one summary line, or every clash with `verbose`.

    Clashes whose renamed output was up to date (skipped) were reported by the run that wrote it, so
    they are left out: an unchanged re-run says nothing about names.
    """
    fresh_outputs = {
        _name(item.output) for item in items if item.output is not None and item.status != "skipped"
    }
    fresh = [(wanted, written) for wanted, written in clashes if written in fresh_outputs]
    if not fresh:
        return []
    if verbose:
        return [f"two guides want {wanted}; one is written as {written}" for wanted, written in fresh]
    example = fresh[0][1]
    noun = "guide shares" if len(fresh) == 1 else "guides share"
    return [
        f"{len(fresh):,} {noun} an output name with another; written as {example}"
        f"{' and so on' if len(fresh) > 1 else ''} (see manifest.json, or --verbose to list them)"
    ]


def _name(output: str) -> str:
    return output.replace("\\", "/").rsplit("/", 1)[-1]
