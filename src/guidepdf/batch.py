"""Inputs → outputs: plan names, skip what is up to date, render the rest on workers, keep the manifest."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import GuidepdfError, UsageError
from .guide import MAX_BYTES, load_guide
from .inputs import plan_names
from .options import RenderOptions
from .output import atomic_write, check_output, read_own_file
from .reading import read_limited, real_path, still_vetted
from .tasks import (
    DeferredTasks,
    RenderTask,
    TaskResult,
    collect_theme,
    guide_resources,
    read_theme,
    render_key,
    run_render,
    weasyprint_version,
)
from .workers import DEFAULT_TIMEOUT, Workers

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


class Status(StrEnum):
    """What became of a guide in a batch (a manifest row's `status`; equal to its plain string)."""

    RENDERED = "rendered"
    SKIPPED = "skipped"
    FAILED = "failed"


#: While a batch runs, the manifest is rewritten at most this often, so a killed batch loses little.
MANIFEST_EVERY = 1.0
#: The manifest is read with a bounded read; one this large was not written by guidepdf.
MAX_MANIFEST_BYTES = 64_000_000
#: No output of a batch is larger than this (the largest file hashed to prove a row).
MAX_OUTPUT_BYTES = 2_000_000_000

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
#: A manifest row's field and the types it may have; a row with anything else is dropped.
_ROW_TYPES: dict[str, tuple[type, ...]] = {
    "source": (str,),
    "output": (str,),
    "status": (str,),
    "error": (str, type(None)),
    "sha256": (str, type(None)),
    "pages": (int, type(None)),
    "bytes": (int, type(None)),
    "key": (str, type(None)),
    "source_path": (str, type(None)),
}


@dataclass(frozen=True)
class ItemResult:
    """What happened to one guide (one manifest row)."""

    source: str
    output: str | None
    status: Status
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
        return tuple(i for i in self.items if i.status == Status.FAILED)

    def count(self, status: str) -> int:
        """How many items ended with `status`."""
        return sum(1 for i in self.items if i.status == status)


def render_target(output: Path | None, count: int, fmt: str, default: Path) -> tuple[Path, bool]:
    """Where a batch of `count` guides goes, and whether it is one file: `-o` as given (a .pdf or
    .html name for one guide, else a folder), or the `default` folder. Refused before any work: a
    file name for many guides, a name that does not match `fmt`, a file where a folder is needed."""
    named_file = output is not None and output.suffix.lower() in (".pdf", ".html")
    if output is not None and named_file and count > 1 and not output.is_dir():
        raise UsageError(
            f"-o {output}: {count} guides need a folder, not a file name (e.g. -o {output.with_suffix('')}/)"
        )
    single = named_file and count == 1
    if single and output is not None and output.suffix.lower() != f".{fmt}":
        raise UsageError(f"-o {output}: the name does not match --format {fmt}")
    out = output or default
    check_output(out, folder=not single)
    return out, single


def plan_outputs(
    paths: Sequence[Path], out: Path, fmt: str, *, single_file: bool
) -> tuple[list[tuple[Path, Path]], list[ItemResult], list[tuple[str, str]]]:
    """Name each guide's output (source, output); guides that fail to load become failed results."""
    suffix = f".{fmt}"
    if single_file:
        return [(paths[0], out)], [], []
    stems: list[str] = []
    loadable: list[Path] = []
    failed: list[ItemResult] = []
    for path in paths:
        try:
            stems.append(load_guide(path).slug)
            loadable.append(path)
        except GuidepdfError as exc:
            failed.append(ItemResult(str(path), None, Status.FAILED, error=str(exc)))
    names, clashes = plan_names(stems, suffix)
    planned = [(p, out / n) for p, n in zip(loadable, names, strict=True)]
    return planned, failed, clashes


def make_task(
    source: Path,
    output: Path,
    options: RenderOptions,
    fmt: str = "pdf",
    *,
    remote: bool = False,
    timeout: float | None = None,
    keyed: bool = True,
) -> tuple[RenderTask, Any]:
    """The task rendering `source` into `output`, and the guide's referenced files (shipped with the
    task when `remote`; not read at all for a task that needs no cache key and is not `remote`)."""
    text = read_limited(source, MAX_BYTES)
    resources = guide_resources(source, text) if keyed or remote else ()
    task = RenderTask(str(source), text, options, fmt, resources if remote else None, timeout, output=output)
    return task, resources


@dataclass(frozen=True)
class _Planned:
    """A guide a batch will render: where from and to, its render key, and what the key was made of."""

    source: Path
    output: Path
    key: str | None  # None: one file rendered for itself, never skipped, needs no key
    size: int
    digest: bytes
    #: The file the selection vetted (symlinks resolved): the guide is read again only from there.
    real: Path


def store(source_path: Path | str, target: Path, result: TaskResult, key: str | None = None) -> ItemResult:
    """Write a guide's output under its final name (atomically) and describe it as a manifest row."""
    source, output = str(source_path), str(target)
    if result.error is not None or result.data is None:
        return ItemResult(
            source, output, Status.FAILED, error=result.error or f"{source}: no output", key=key
        )
    try:
        atomic_write(target, result.data)
    except OSError as exc:
        return ItemResult(
            source,
            output,
            Status.FAILED,
            error=f"{target}: cannot write: {exc.strerror or exc}",
            key=key,
        )
    return ItemResult(
        source,
        output,
        Status.RENDERED,
        sha256=hashlib.sha256(result.data).hexdigest(),
        pages=result.pages,
        bytes=len(result.data),
        refused=result.refused,
        key=key,
    )


# -- manifest ----------------------------------------------------------------------------------------


def read_manifest(out: Path) -> dict[str, dict[str, Any]]:
    """The previous manifest's rows by output file name; empty when missing or unreadable.

    The manifest is state anyone could have edited: it is read only as a regular file (not through a
    link), and a row with a wrong type, a missing field, an output name that is not a plain file name
    of the folder, or no valid signature of this user's (see `statekey`) is dropped, which costs at
    most a render.
    """
    import json

    from .statekey import signed

    try:
        data = json.loads(read_own_file(out / MANIFEST, MAX_MANIFEST_BYTES).decode("utf-8"))
        rows = data.get("items") if isinstance(data, dict) else data
    except (OSError, ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        return {}
    if not isinstance(rows, list):
        return {}
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = _row_name(row)
        if name is not None and signed(_signed_fields(row), row.get("mac")):
            found[name] = row
    return found


def _signed_fields(row: dict[str, Any]) -> dict[str, Any]:
    """What a row's signature covers: which file it is, what it holds, and what it was made from."""
    fields = {field: row.get(field) for field in ("source_path", "status", "sha256", "bytes", "pages", "key")}
    # The file's name, not its path: a row speaks for a file of its folder, and folders move.
    fields["output"] = Path(str(row.get("output") or "")).name
    return fields


def _row_name(row: Any) -> str | None:
    """The output file name a manifest row speaks for, or None when the row cannot be trusted."""
    if not isinstance(row, dict) or not isinstance(row.get("output"), str):
        return None
    for key, types in _ROW_TYPES.items():
        value = row.get(key)
        # bool is an int to Python, never a page count or a size in a manifest
        if not isinstance(value, types) or isinstance(value, bool):
            return None
    if row.get("sha256") is not None and not _SHA256_RE.match(row["sha256"]):
        return None
    name = Path(row["output"]).name
    if not name or name.startswith(".") or name == MANIFEST or name != row["output"].rsplit("/", 1)[-1]:
        return None  # hidden files, the manifest itself and odd names are never guidepdf's outputs
    return name


def _own_output(path: Path, row: dict[str, Any]) -> bytes | None:
    """The bytes at `path` if they are exactly what the row recorded (a regular file, same sha256)."""
    size = row.get("bytes")
    try:
        data = read_own_file(path, size if isinstance(size, int) and size >= 0 else MAX_OUTPUT_BYTES)
    except OSError:
        return None
    if not row.get("sha256") or hashlib.sha256(data).hexdigest() != row["sha256"]:
        return None
    return data


def manifest_row(item: ItemResult) -> dict[str, Any]:
    """One manifest row: the contract's fields, the cache key and the guide's absolute path."""
    row = asdict(item)
    row.pop("refused")
    row["source_path"] = str(Path(item.source).resolve())
    return sign_row(row)


def sign_row(row: dict[str, Any]) -> dict[str, Any]:
    """`row` with this user's signature (`mac`), without which `read_manifest` ignores it."""
    from .statekey import sign

    row["mac"] = sign(_signed_fields(row))
    return row


def write_manifest(out: Path, rows: Sequence[dict[str, Any]], fmt: str) -> None:
    """Write `manifest.json` into `out` atomically."""
    import json

    document = {
        "generator": f"guidepdf {__version__}",
        "weasyprint": weasyprint_version(),
        "format": fmt,
        "items": list(rows),
    }
    atomic_write(out / MANIFEST, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def up_to_date(task: RenderTask, key: str, previous: dict[str, Any] | None) -> ItemResult | None:
    """The skipped result when the output on disk was made from exactly this key, else None."""
    if (
        not previous
        or previous.get("key") != key
        or previous.get("status") not in (Status.RENDERED, Status.SKIPPED)
    ):
        return None
    if task.output is None:
        return None
    data = _own_output(task.output, previous)
    if data is None or len(data) != previous.get("bytes"):
        return None  # changed, damaged or replaced by a link since: rebuild
    return ItemResult(
        task.source,
        str(task.output),
        Status.SKIPPED,
        sha256=previous["sha256"],
        pages=previous.get("pages"),
        bytes=len(data),
        key=key,
    )


def _remove_stale(
    out: Path, previous: dict[str, dict[str, Any]], current: set[str]
) -> tuple[list[str], set[str]]:
    """Delete outputs whose guide no longer exists (only if they are still what guidepdf wrote).

    Only a regular file directly in `out` whose bytes have the row's sha256 is removed: a row
    claiming some other file, or a link planted in its place, deletes nothing outside the folder.
    Returns the files removed and the names of every row whose guide is gone (dropped either way).
    """
    removed = []
    gone = set()
    for name, row in previous.items():
        source = Path(row.get("source_path") or row.get("source") or "")
        if name in current or not source.name or source.exists():
            continue
        gone.add(name)
        target = out / name
        if _own_output(target, row) is None:
            continue  # not (or no longer) the file guidepdf wrote: leave it alone
        with contextlib.suppress(OSError):
            target.unlink()
            removed.append(str(target))
    return removed, gone


def _clean_partials(out: Path, names: Sequence[str]) -> None:
    """Remove temporary files a killed run left behind for the outputs planned now.

    A temporary file is `.<name>.<random>.part` (see `output.atomic_write`); the folder is read once,
    not once per output, so a batch of ten thousand costs one listing.
    """
    wanted = {*names, MANIFEST}
    try:
        entries = list(os.scandir(out))
    except OSError:
        return
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(".part")):
            continue
        name = entry.name[1 : -len(".part")].rpartition(".")[0]
        if name in wanted:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


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
    planned, results, clashes = plan_outputs(paths, out, fmt, single_file=single_file)
    for item in results:
        if progress:
            progress(item)
    previous = {} if single_file else read_manifest(out)
    if not single_file:
        _clean_partials(out, [output.name for _, output in planned])
    remote = scheduler is not None
    # One file is always rendered (never skipped, no manifest) in this process: it needs no cache key,
    # so the built-in theme is not hashed; the user's theme files are still read, with the same errors.
    keyed = remote or not single_file
    theme = collect_theme(options) if keyed else None
    if theme is None:
        read_theme(options)

    rows: dict[str, dict[str, Any]] = dict(previous)
    # What is left to render: each guide's source, output, render key, size and the digest of the
    # bytes the key was worked out from. Its task is built again when a worker is about to take it,
    # so the batch holds a few guides' bytes at a time, not all of them.
    todo: list[_Planned] = []
    for source, output in planned:
        try:
            task, resources = make_task(
                source, output, options, fmt, remote=remote, timeout=timeout, keyed=keyed
            )
        except OSError as exc:
            results.append(ItemResult(str(source), str(output), Status.FAILED, error=f"{source}: {exc}"))
            continue
        key = render_key(task, theme, resources) if theme is not None else None
        skipped = (
            None if force or single_file or key is None else up_to_date(task, key, previous.get(output.name))
        )
        if skipped is not None:
            results.append(skipped)
            rows[output.name] = manifest_row(skipped)
            if progress:
                progress(skipped)
        else:
            digest = hashlib.sha256(task.text).digest()
            todo.append(_Planned(source, output, key, len(task.text), digest, real_path(source)))

    def build(index: int) -> RenderTask:
        plan = todo[index]
        still_vetted(plan.source, plan.real, "batch")
        # The files the guide references are read again only to be shipped, or for a new key.
        task, resources = make_task(
            plan.source, plan.output, options, fmt, remote=remote, timeout=timeout, keyed=False
        )
        if theme is not None and hashlib.sha256(task.text).digest() != plan.digest:  # edited since
            resources = resources if remote else guide_resources(plan.source, task.text)
            todo[index] = replace(plan, key=render_key(task, theme, resources))
        return task

    last_write = [time.monotonic()]

    def finished(index: int, result: TaskResult) -> None:
        plan = todo[index]
        item = store(plan.source, plan.output, result, plan.key)
        results.append(item)
        if progress:
            progress(item)
        if not single_file:
            rows[Path(item.output or "").name] = manifest_row(item)
            if time.monotonic() - last_write[0] > MANIFEST_EVERY:
                write_manifest(out, list(rows.values()), fmt)
                last_write[0] = time.monotonic()

    if todo:
        inline = len(todo) == 1 and not remote
        tasks = DeferredTasks([str(p.source) for p in todo], [p.size for p in todo], build)
        with Workers(jobs, scheduler=scheduler, options=options, timeout=timeout, inline=inline) as workers:
            workers.run(run_render, tasks, theme, finished)

    order = {str(p): i for i, p in enumerate(paths)}
    results.sort(key=lambda r: order.get(r.source, len(order)))
    removed: list[str] = []
    if not single_file:
        current = {Path(r.output).name for r in results if r.output}
        removed, gone = _remove_stale(out, previous, current)
        for name in gone:
            rows.pop(name, None)
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
