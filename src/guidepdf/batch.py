"""Inputs → outputs: load every guide, plan output names, render each, report per-guide results."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import GuidepdfError
from .guide import load_guide
from .inputs import plan_names
from .options import RenderOptions
from .output import atomic_write

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class BatchResult:
    """Every guide's result, in input order, and the output-name clashes that were resolved."""

    items: tuple[ItemResult, ...]
    clashes: tuple[tuple[str, str], ...] = field(default=())

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


def run_job(job: RenderJob) -> ItemResult:
    """Render one guide to its output file; any project error becomes a failed result."""
    from .pdf import render_brief, render_html

    try:
        guide = load_guide(job.source)
        if job.format == "html":
            data = render_html(guide, job.options).encode("utf-8")
            pages: int | None = None
            refused: tuple[str, ...] = ()
        else:
            rendered = render_brief(guide, job.options)
            data, pages, refused = rendered.pdf, rendered.pages, rendered.refused
        atomic_write(job.output, data)
    except GuidepdfError as exc:
        return ItemResult(str(job.source), str(job.output), "failed", error=str(exc))
    except OSError as exc:
        return ItemResult(
            str(job.source),
            str(job.output),
            "failed",
            error=f"{job.output}: cannot write: {exc.strerror or exc}",
        )
    return ItemResult(
        str(job.source),
        str(job.output),
        "rendered",
        sha256=hashlib.sha256(data).hexdigest(),
        pages=pages,
        bytes=len(data),
        refused=refused,
    )


def render_batch(
    paths: Sequence[Path],
    out: Path,
    options: RenderOptions,
    fmt: str = "pdf",
    *,
    single_file: bool = False,
    progress: Callable[[ItemResult], None] | None = None,
) -> BatchResult:
    """Render every guide in `paths`; one failure never stops the others."""
    options = options.pinned()
    jobs, results, clashes = plan_jobs(paths, out, options, fmt, single_file=single_file)
    for job in jobs:
        result = run_job(job)
        results.append(result)
        if progress:
            progress(result)
    order = {str(p): i for i, p in enumerate(paths)}
    results.sort(key=lambda r: order.get(r.source, len(order)))
    return BatchResult(items=tuple(results), clashes=tuple(clashes))
