"""Inputs → outputs: plan names, skip what is up to date, render the rest on workers, keep the manifest."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import GuidepdfError
from .guide import MAX_BYTES, load_guide
from .inputs import plan_names
from .options import RenderOptions
from .output import atomic_write
from .reading import read_limited
from .tasks import (
    RenderTask,
    TaskResult,
    collect_theme,
    guide_resources,
    render_key,
    run_render,
    weasyprint_version,
)
from .workers import DEFAULT_TIMEOUT, Workers

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
#: Statuses of a manifest row.
STATUSES = ("rendered", "skipped", "failed")
#: While a batch runs, the manifest is rewritten at most this often, so a killed batch loses little.
MANIFEST_EVERY = 1.0


@dataclass(frozen=True)
class RenderJob:
    """One guide to render: where it comes from, where it goes, and how."""

    source: Path
    output: Path
    options: RenderOptions
    format: str = "pdf"


@dataclass(frozen=True)
class ItemResult:
    """What happened to one guide (one manifest row)."""

    source: str
    output: str | None
    status: str  # "rendered", "skipped" or "failed"
    error: str | None = None
    sha256: str | None = None
    pages: int | None = None
    bytes: int | None = None
    refused: tuple[str, ...] = ()
    key: str | None = None


@dataclass(frozen=True)
class BatchResult:
    """Every guide's result in input order, the name clashes resolved and the outputs removed."""

    items: tuple[ItemResult, ...]
    clashes: tuple[tuple[str, str], ...] = field(default=())
    removed: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def failed(self) -> tuple[ItemResult, ...]:
        """The items that failed."""
        return tuple(i for i in self.items if i.status == "failed")

    def count(self, status: str) -> int:
        """How many items ended with `status`."""
        return sum(1 for i in self.items if i.status == status)


def plan_jobs(
    paths: Sequence[Path], out: Path, options: RenderOptions, fmt: str, *, single_file: bool
) -> tuple[list[RenderJob], list[ItemResult], list[tuple[str, str]]]:
    """Name each guide's output; guides that fail to load become failed results straight away."""
    suffix = f".{fmt}"
    if single_file:
        return [RenderJob(paths[0], out, options, fmt)], [], []
    stems: list[str] = []
    loadable: list[Path] = []
    failed: list[ItemResult] = []
    for path in paths:
        try:
            stems.append(load_guide(path).slug)
            loadable.append(path)
        except GuidepdfError as exc:
            failed.append(ItemResult(str(path), None, "failed", error=str(exc)))
    names, clashes = plan_names(stems, suffix)
    jobs = [RenderJob(p, out / n, options, fmt) for p, n in zip(loadable, names, strict=True)]
    return jobs, failed, clashes


def make_task(
    job: RenderJob, *, remote: bool = False, timeout: float | None = None
) -> tuple[RenderTask, Any]:
    """The task for `job` and the guide's referenced files (shipped with the task when `remote`)."""
    text = read_limited(job.source, MAX_BYTES)
    resources = guide_resources(job.source, text)
    task = RenderTask(str(job.source), text, job.options, job.format, resources if remote else None, timeout)
    return task, resources


def run_job(job: RenderJob) -> ItemResult:
    """Render one guide in this process and write its output; any project error becomes a failed result."""
    try:
        task, _ = make_task(job)
    except OSError as exc:
        return ItemResult(str(job.source), str(job.output), "failed", error=f"{job.source}: {exc.strerror}")
    return store(job, run_render(task))


def store(job: RenderJob, result: TaskResult, key: str | None = None) -> ItemResult:
    """Write a task's output under its final name (atomically) and describe it as a manifest row."""
    source, output = str(job.source), str(job.output)
    if result.error is not None or result.data is None:
        return ItemResult(source, output, "failed", error=result.error or f"{source}: no output", key=key)
    try:
        atomic_write(job.output, result.data)
    except OSError as exc:
        return ItemResult(
            source, output, "failed", error=f"{job.output}: cannot write: {exc.strerror or exc}", key=key
        )
    return ItemResult(
        source,
        output,
        "rendered",
        sha256=hashlib.sha256(result.data).hexdigest(),
        pages=result.pages,
        bytes=len(result.data),
        refused=result.refused,
        key=key,
    )


# -- manifest ----------------------------------------------------------------------------------------


def read_manifest(out: Path) -> dict[str, dict[str, Any]]:
    """The previous manifest's rows by output file name; empty when missing or unreadable."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        rows = data["items"] if isinstance(data, dict) else data
        return {Path(r["output"]).name: r for r in rows if isinstance(r, dict) and r.get("output")}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def manifest_row(item: ItemResult) -> dict[str, Any]:
    """One manifest row: the contract's fields, the cache key and the guide's absolute path."""
    row = asdict(item)
    row.pop("refused")
    row["source_path"] = str(Path(item.source).resolve())
    return row


def write_manifest(out: Path, rows: Sequence[dict[str, Any]], fmt: str) -> None:
    """Write `manifest.json` into `out` atomically."""
    document = {
        "generator": f"guidepdf {__version__}",
        "weasyprint": weasyprint_version(),
        "format": fmt,
        "items": list(rows),
    }
    atomic_write(out / MANIFEST, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def up_to_date(job: RenderJob, key: str, previous: dict[str, Any] | None) -> ItemResult | None:
    """The skipped result when the output on disk was made from exactly this key, else None."""
    if not previous or previous.get("key") != key or previous.get("status") not in ("rendered", "skipped"):
        return None
    try:
        data = job.output.read_bytes()
    except OSError:
        return None
    if len(data) != previous.get("bytes") or hashlib.sha256(data).hexdigest() != previous.get("sha256"):
        return None  # changed or damaged since: rebuild
    return ItemResult(
        str(job.source),
        str(job.output),
        "skipped",
        sha256=previous["sha256"],
        pages=previous.get("pages"),
        bytes=len(data),
        key=key,
    )


def _remove_stale(out: Path, previous: dict[str, dict[str, Any]], current: set[str]) -> list[str]:
    """Delete outputs whose guide no longer exists (only if they are still what guidepdf wrote)."""
    removed = []
    for name, row in previous.items():
        source = Path(row.get("source_path") or row.get("source") or "")
        if name in current or source.exists():
            continue
        target = out / name
        with contextlib.suppress(OSError):
            if hashlib.sha256(target.read_bytes()).hexdigest() == row.get("sha256"):
                target.unlink()
        removed.append(str(target))
    return removed


def _clean_partials(out: Path, names: Sequence[str]) -> None:
    """Remove temporary files a killed run left behind for the outputs planned now."""
    for name in (*names, MANIFEST):
        for partial in out.glob(f".{name}.*.part"):
            with contextlib.suppress(OSError):
                partial.unlink()


# -- the batch ---------------------------------------------------------------------------------------


def render_batch(
    paths: Sequence[Path],
    out: Path,
    options: RenderOptions,
    fmt: str = "pdf",
    *,
    single_file: bool = False,
    progress: Callable[[ItemResult], None] | None = None,
    jobs: int | None = None,
    force: bool = False,
    scheduler: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> BatchResult:
    """Render every guide in `paths` that is not up to date; one failure never stops the others.

    A folder output gets `manifest.json`; an output is rebuilt only when its guide, the files the
    guide references, the theme, an option, or the guidepdf or WeasyPrint version changed.
    """
    started = time.monotonic()
    options = options.pinned()
    planned, results, clashes = plan_jobs(paths, out, options, fmt, single_file=single_file)
    for item in results:
        if progress:
            progress(item)
    previous = {} if single_file else read_manifest(out)
    if not single_file:
        _clean_partials(out, [job.output.name for job in planned])
    theme = collect_theme(options)
    remote = scheduler is not None

    rows: dict[str, dict[str, Any]] = dict(previous)
    todo: list[tuple[RenderJob, RenderTask, str]] = []
    for job in planned:
        try:
            task, resources = make_task(job, remote=remote, timeout=timeout)
        except OSError as exc:
            results.append(
                ItemResult(str(job.source), str(job.output), "failed", error=f"{job.source}: {exc}")
            )
            continue
        key = render_key(task, theme, resources)
        skipped = None if force or single_file else up_to_date(job, key, previous.get(job.output.name))
        if skipped is not None:
            results.append(skipped)
            rows[job.output.name] = manifest_row(skipped)
            if progress:
                progress(skipped)
        else:
            todo.append((job, task, key))

    last_write = [time.monotonic()]

    def finished(index: int, result: TaskResult) -> None:
        job, _, key = todo[index]
        item = store(job, result, key)
        results.append(item)
        if progress:
            progress(item)
        if not single_file:
            rows[job.output.name] = manifest_row(item)
            if time.monotonic() - last_write[0] > MANIFEST_EVERY:
                write_manifest(out, list(rows.values()), fmt)
                last_write[0] = time.monotonic()

    if todo:
        inline = len(todo) == 1 and not remote
        with Workers(jobs, scheduler=scheduler, options=options, timeout=timeout, inline=inline) as workers:
            workers.run(run_render, [task for _, task, _ in todo], theme, finished)

    order = {str(p): i for i, p in enumerate(paths)}
    results.sort(key=lambda r: order.get(r.source, len(order)))
    removed: list[str] = []
    if not single_file:
        current = {Path(r.output).name for r in results if r.output}
        removed = _remove_stale(out, previous, current)
        for name in list(rows):
            if str(out / name) in removed:
                del rows[name]
        ordered = [manifest_row(r) for r in results]
        sources = {str(Path(r.source).resolve()) for r in results}
        kept = [
            row for name, row in rows.items() if name not in current and row.get("source_path") not in sources
        ]
        write_manifest(out, [*ordered, *kept], fmt)
    return BatchResult(
        items=tuple(results),
        clashes=tuple(clashes),
        removed=tuple(removed),
        seconds=time.monotonic() - started,
    )
