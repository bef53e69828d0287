"""The packet files a command asks for: one packet, or one per group into a folder, made and written.

Problems are told as they arise (`notice`), each packet file as it is written (`wrote`), so a long
grouped run reports as it goes; a guide that fails never stops the others.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..options import RenderOptions
from ..output import atomic_write, check_output
from ..progress import Notice, ProgressFactory, no_progress
from ..rates import Rates
from .make import make_grouped_packets, make_packet
from .parts import CACHE_DIR


@dataclass(frozen=True)
class PacketFiles:
    """The packet files written, and the errors of the guides that could not be used (by source)."""

    written: tuple[Path, ...]
    errors: dict[str, str | None]


def write_packets(
    paths: Sequence[Path],
    options: RenderOptions,
    *,
    output: Path | None = None,
    default: Path = Path("out"),
    title: str | None = None,
    sort: str | None = None,
    group_by: str | None = None,
    rates: Rates | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    timeout: float | None = None,
    progress: ProgressFactory = no_progress,
    notice: Notice | None = None,
    wrote: Callable[[Path, Any], None] | None = None,
) -> PacketFiles:
    """Make the packet of `paths` at `output` (default `default`/packet.pdf) or, with `group_by`, one
    packet per value of that field in the folder `output` (default `default`); write each one."""

    tell: Notice = notice or (lambda severity, line: None)
    written: list[Path] = []

    def write_packet(path: Path, result: Any) -> None:
        atomic_write(path, result.pdf)
        written.append(path)
        if wrote is not None:
            wrote(path, result)

    # Two steps, each shown while it runs: rendering the parts, then joining them (the render
    # step's display is closed as the join's opens).
    steps = contextlib.ExitStack()
    step = steps.enter_context(progress(len(paths), "Rendering parts"))

    def joining(total: int, label: str) -> contextlib.AbstractContextManager[Any]:
        steps.close()
        return progress(total, label)

    run: dict[str, Any] = {"jobs": jobs, "scheduler": scheduler, "timeout": timeout, "joining": joining}
    with steps:
        if group_by:
            folder = output or default
            if folder.suffix.lower() == ".pdf":
                raise UsageError(f"-o {folder}: with --group-by, -o names a folder")
            check_output(folder, folder=True)
            made, failed = make_grouped_packets(
                paths,
                group_by,
                folder,
                options,
                title=title,
                sort=sort,
                rates=rates,
                cache_dir=folder / CACHE_DIR,
                batch_dir=folder,
                progress=step,
                write=write_packet,  # each packet is written as soon as it is joined, then let go
                **run,
            )
        else:
            target = output or default / "packet.pdf"
            if target.suffix.lower() != ".pdf":
                raise UsageError(f"-o {target}: a packet is one .pdf file (use --group-by for a folder)")
            check_output(target, folder=False)
            result = make_packet(
                paths,
                options,
                title=title,
                sort=sort,
                rates=rates,
                cache_dir=target.parent / CACHE_DIR,
                batch_dir=target.parent,
                progress=step,
                **run,
            )
            made, failed = [(target, result)], []
    errors = {item.source: item.error for item in failed}
    for _, result in made:
        warning = comparison_warning(result.comparison)
        if warning:
            tell("warning", warning)
        errors.update({item.source: item.error for item in result.failed})
        for source, url in dict.fromkeys(result.refused):
            tell("warning", f"{source}: not fetched: {url}")
    for error in errors.values():
        tell("error", f"{error}")
    if not group_by:  # a grouped run wrote each packet as soon as it was joined
        for path, result in made:
            if result.pdf is not None:
                write_packet(path, result)
    return PacketFiles(tuple(written), errors)


def comparison_warning(note: dict[str, Any] | None) -> str | None:
    """Which guides a sort by pay could not compare, and where they went (None: all compared)."""
    if not note or not note["unconverted"]:
        return None
    return (
        f"--sort {note['field']}: no {note['currency']} rate for {', '.join(note['unknown'])} "
        f"(give one in [rates] of guidepdf.toml): {len(note['unconverted'])} guides placed after the "
        "others, by title"
    )
