"""Packets end to end: load and order the guides, render the parts and front matter, join."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..batch import ItemResult, Status
from ..errors import GuidepdfError, RenderError, UsageError
from ..guide import Guide, load_guide
from ..inputs import plan_names
from ..options import RenderOptions
from ..progress import ProgressFactory, no_progress
from ..rates import MONEY_FIELDS, Rates, comparison_note
from ..slug import slugify
from ..tasks import (
    PageTask,
    collect_theme,
    run_page,
)
from ..workers import DEFAULT_TIMEOUT, Workers
from .front import Entry, folio_options, folios_html, front_matter_html, front_options
from .join import join_packet
from .order import group_guides, sort_guides
from .parts import Part, PartCache, packet_options, render_parts

DEFAULT_TITLE = "Salary negotiation packet"
#: Groups whose front matter is rendered together before their packets are joined (`make_packets`).
GROUPS_AT_ONCE = 8


@dataclass(frozen=True)
class PacketResult:
    """A packet's PDF (None when no guide could be used), what went into it, and what failed."""

    title: str
    pdf: bytes | None
    sources: tuple[str, ...]
    starts: tuple[int, ...]
    pages: int
    failed: tuple[ItemResult, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    #: Guides whose brief was reused (a batch's output or the packet cache) instead of rendered.
    reused: tuple[str, ...] = ()
    #: For a sort by pay: the comparison currency, the rates' sources and what could not be compared.
    comparison: dict[str, Any] | None = None


def load_guides(inputs: Sequence[Path | str | Guide]) -> tuple[list[Guide], list[ItemResult]]:
    guides: list[Guide] = []
    failed: list[ItemResult] = []
    for item in inputs:
        if isinstance(item, Guide):
            guides.append(item)
            continue
        try:
            guides.append(load_guide(item))
        except GuidepdfError as exc:
            failed.append(ItemResult(str(item), None, Status.FAILED, error=str(exc)))
    return guides, failed


def make_packets(
    groups: Sequence[tuple[str, Sequence[Guide]]],
    options: RenderOptions | None = None,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    cache_dir: Path | None = None,
    batch_dir: Path | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    progress: Callable[[ItemResult], None] | None = None,
    compare: tuple[str, Rates | None] | None = None,
    on_packet: Callable[[int, PacketResult], None] | None = None,
    joining: ProgressFactory = no_progress,
) -> list[PacketResult]:
    """One packet per (title, guides) group; all parts and front matter rendered on one set of workers.

    `compare` (a money field and the rates) makes each overview say how pay was compared. With
    `on_packet`, each packet is handed over (group index, result) as soon as it is joined and its
    bytes are then let go: the results returned carry no PDF, and memory holds one packet at a time.
    `progress` hears each part as it is rendered or reused; `joining` is then given the count of
    steps left (each part copied into its packet, and each packet written) and shows them.

    A brief already in `batch_dir` (a `guidepdf render` output folder) or `cache_dir` with the same
    render key is reused; briefs rendered here are kept in `cache_dir` for next time.
    """
    started = time.monotonic()
    part_opts = packet_options(options)
    cache = PartCache(cache_dir, batch_dir)
    unique: dict[Path, Guide] = {}
    # Each guide's file, resolved once: resolved again later, a guide swapped for a link in the
    # meantime would lead somewhere else (`part_task_again` refuses to read it).
    files: dict[int, Path] = {}
    for _, guides in groups:
        for guide in guides:
            files[id(guide)] = guide.path.resolve()
            unique.setdefault(files[id(guide)], guide)
    order = list(unique)
    # A pool costs a second to start: a packet of one or two guides is quicker in this process.
    inline = scheduler is None and len(unique) <= 2
    with Workers(jobs, scheduler=scheduler, options=part_opts, timeout=timeout, inline=inline) as workers:
        rendered, reused_at = render_parts(
            list(unique.values()), part_opts, workers, cache, timeout=timeout, progress=progress
        )
        by_path = dict(zip(order, rendered, strict=True))
        part_of = {key: by_path[path] for key, path in files.items()}  # by the guide's id()
        reused_files = {order[i] for i in reused_at}
        reused = {key for key, path in files.items() if path in reused_files}

        fopts = front_options(part_opts)
        numbers_opts = folio_options(part_opts)
        theme = collect_theme(fopts)
        results: list[PacketResult] = []
        usable = [sum(part_of[id(g)].error is None for g in guides) for _, guides in groups]
        steps = sum(usable) + sum(1 for count in usable if count)
        with joining(steps, "Joining") as advance:
            tick: Callable[[], None] | None = (lambda: advance(None)) if advance is not None else None
            for first in range(0, len(groups), GROUPS_AT_ONCE):
                _join_some(
                    groups[first : first + GROUPS_AT_ONCE],
                    part_of,
                    reused,
                    workers,
                    cache,
                    results,
                    fopts=fopts,
                    numbers_opts=numbers_opts,
                    theme=theme,
                    timeout=timeout,
                    compare=compare,
                    on_packet=on_packet,
                    started=started,
                    tick=tick,
                )
    cache.prune()
    return results


def _join_some(
    groups: Sequence[tuple[str, Sequence[Guide]]],
    part_of: dict[int, Part],
    reused: set[int],
    workers: Workers,
    cache: PartCache,
    results: list[PacketResult],
    *,
    fopts: RenderOptions,
    numbers_opts: RenderOptions,
    theme: Any,
    timeout: float | None,
    compare: tuple[str, Rates | None] | None,
    on_packet: Callable[[int, PacketResult], None] | None,
    started: float,
    tick: Callable[[], None] | None,
) -> None:
    """Render the front matter of a few groups together, then join each of their packets, hand it
    over and let it go; the results are appended to `results`. A few groups at a time keeps memory to
    a few packets' pages, not every group's.
    """
    plans = []
    page_tasks: list[PageTask] = []
    for title, guides in groups:
        failed: list[ItemResult] = []
        refused: list[tuple[str, str]] = []
        entries: list[Entry] = []
        parts: list[tuple[Guide, Part]] = []
        start = 1
        for guide in guides:
            part = part_of[id(guide)]
            refused += [(str(guide.path), url) for url in part.refused]
            if part.error is not None:
                failed.append(ItemResult(str(guide.path), None, Status.FAILED, error=part.error))
                continue
            entries.append(Entry(len(entries), guide, start, part.pages))
            parts.append((guide, part))
            start += part.pages
        note = comparison_note([e.guide for e in entries], *compare) if compare else None
        plans.append((title, entries, parts, failed, refused, note))
        if entries:
            html = front_matter_html(title, entries, fopts, note)
            page_tasks.append(PageTask(f"{title}: front matter", html, fopts, timeout))
            page_tasks.append(
                PageTask(
                    f"{title}: page numbers",
                    folios_html(title, start - 1, numbers_opts),
                    numbers_opts,
                    timeout,
                )
            )
    pages_out = workers.run(run_page, page_tasks, theme) if page_tasks else []
    done = iter(pages_out)
    for title, entries, parts, failed, refused, note in plans:
        if not entries:
            results.append(PacketResult(title, None, (), (), 0, tuple(failed), tuple(refused)))
            continue
        front, folios = next(done), next(done)
        for extra in (front, folios):
            if extra.error or extra.data is None:
                raise RenderError(extra.error or f"{title}: front matter failed")
        pdf = join_packet(title, front.data or b"", folios.data or b"", parts, cache, advance=tick)
        result = PacketResult(
            title=title,
            pdf=pdf,
            sources=tuple(str(e.guide.path) for e in entries),
            starts=tuple(e.start for e in entries),
            pages=(front.pages or 0) + sum(e.pages for e in entries),
            failed=tuple(failed),
            refused=tuple(refused),
            seconds=time.monotonic() - started,
            reused=tuple(str(e.guide.path) for e in entries if id(e.guide) in reused),
            comparison=note,
        )
        if on_packet is not None:
            on_packet(len(results), result)
            result = replace(result, pdf=None)
        results.append(result)
        if tick is not None:  # the packet is written (or handed over): its last step
            tick()


def _load_sorted(
    inputs: Sequence[Path | str | Guide], sort: str | None, rates: Rates | None = None
) -> tuple[list[Guide], list[ItemResult]]:
    if not inputs:
        raise UsageError("no guides selected for the packet")
    guides, failed = load_guides(inputs)
    return (sort_guides(guides, sort, rates) if sort else guides), failed


def _compare(sort: str | None, rates: Rates | None) -> tuple[str, Rates | None] | None:
    name = (sort or "").lstrip("-+")
    return (name, rates) if name in MONEY_FIELDS else None


def make_packet(
    inputs: Sequence[Path | str | Guide],
    options: RenderOptions | None = None,
    *,
    title: str | None = None,
    sort: str | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    cache_dir: Path | None = None,
    batch_dir: Path | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    progress: Callable[[ItemResult], None] | None = None,
    rates: Rates | None = None,
    joining: ProgressFactory = no_progress,
) -> PacketResult:
    """One packet of `inputs` (paths or loaded guides); guides that fail are listed, not fatal."""
    guides, failed = _load_sorted(inputs, sort, rates)
    result = make_packets(
        [(title or DEFAULT_TITLE, guides)],
        options,
        compare=_compare(sort, rates),
        jobs=jobs,
        scheduler=scheduler,
        cache_dir=cache_dir,
        batch_dir=batch_dir,
        timeout=timeout,
        progress=progress,
        joining=joining,
    )[0]
    return replace(result, failed=(*failed, *result.failed))


def make_grouped_packets(
    inputs: Sequence[Path | str | Guide],
    group_by: str,
    out_dir: Path,
    options: RenderOptions | None = None,
    *,
    title: str | None = None,
    sort: str | None = None,
    rates: Rates | None = None,
    write: Callable[[Path, PacketResult], None] | None = None,
    **run: Any,
) -> tuple[list[tuple[Path, PacketResult]], list[ItemResult]]:
    """One packet per value of `group_by`, named after the value, for writing into `out_dir`.

    With `write`, each packet is written as soon as it is joined and released (see `make_packets`).
    """
    guides, failed = _load_sorted(inputs, sort, rates)
    groups = group_guides(guides, group_by) if guides else {}
    labels = sorted(groups, key=lambda v: (v == "", v.casefold()))
    names, _ = plan_names([slugify(label) or "ungrouped" for label in labels], ".pdf")
    base = title or DEFAULT_TITLE
    titled = [
        (
            f"{base}: {_shown(label, groups[label], group_by)}" if label else f"{base}: no {group_by}",
            groups[label],
        )
        for label in labels
    ]

    def hand_over(index: int, result: PacketResult) -> None:
        if write is not None:
            write(out_dir / names[index], result)

    on_packet = hand_over if write is not None else None
    compare = _compare(sort, rates)
    results = make_packets(titled, options, compare=compare, on_packet=on_packet, **run) if titled else []
    return [(out_dir / name, r) for name, r in zip(names, results, strict=True)], failed


def _shown(label: str, guides: Sequence[Guide], group_by: str) -> str:
    """A group's name as printed: the display name for a company or role slug (`Jane Street`)."""
    display = {"company": "company_display", "role": "role_display"}.get(group_by)
    if display is not None:
        names = [getattr(g, display) for g in guides if getattr(g, display)]
        if names:
            return str(names[0])
    return label


def build_packet(
    guides: Sequence[Path | str | Guide],
    options: RenderOptions | None = None,
    *,
    title: str | None = None,
    sort: str | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    cache_dir: Path | None = None,
    batch_dir: Path | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> bytes:
    """A packet of `guides` (paths or loaded guides) as PDF bytes; raises if any guide fails."""
    result = make_packet(
        guides,
        options,
        title=title,
        sort=sort,
        jobs=jobs,
        scheduler=scheduler,
        cache_dir=cache_dir,
        batch_dir=batch_dir,
        timeout=timeout,
    )
    if result.failed or result.pdf is None:
        errors = [f.error or f.source for f in result.failed] or ["no guide could be rendered"]
        raise RenderError(errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
    return result.pdf
