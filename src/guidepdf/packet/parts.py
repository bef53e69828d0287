"""A packet's parts: each guide's brief, reused from a batch or the part cache, else rendered."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from ..batch import ItemResult, Status, read_manifest
from ..errors import GuidepdfError, RenderError
from ..guide import MAX_BYTES, Guide, load_guide
from ..options import RenderOptions
from ..output import atomic_write, open_own_file, read_own_file
from ..reading import read_limited, real_path, still_vetted
from ..statekey import sign, signed
from ..tasks import (
    DeferredTasks,
    RenderTask,
    TaskResult,
    collect_theme,
    guide_resources,
    render_key,
    run_render,
)
from ..workers import DEFAULT_TIMEOUT, Workers

CACHE_DIR = ".guidepdf-cache"
#: Cached parts unused for this long are deleted.
CACHE_DAYS = 30


def packet_options(options: RenderOptions | None) -> RenderOptions:
    """Options for a packet's parts: exactly a batch's, so a part is the brief `render` writes."""
    return (options or RenderOptions()).pinned()


def _guide_bytes(guide: Guide) -> bytes:
    with contextlib.suppress(OSError):
        if guide.path.is_file():
            return read_limited(guide.path, MAX_BYTES)
    return guide.source.encode("utf-8")


#: Names the packet cache writes: `<render key>.pdf` and its record `<render key>.json`.
_CACHE_NAME_RE = re.compile(r"^[0-9a-f]{64}\.(pdf|json)$")
#: No brief in the cache is larger than this (the bounded read of a part).
MAX_PART_BYTES = 2_000_000_000


class PartCache:
    """Rendered briefs by render key: a batch's outputs (per its manifest), then the packet cache folder.

    A batch's row is trusted only while its file still has the sha256 the manifest recorded; a cached
    part only while it matches the sha256 in the record written beside it. Both are read only as
    regular files, never through a link. A cache folder that is a link (or not a folder) is not used
    at all, so nothing is written or pruned outside the output folder through it.
    """

    def __init__(self, folder: Path | None, batch_dir: Path | None = None) -> None:
        self.folder = folder if folder is not None and _usable_folder(folder) else None
        self.batch: dict[str, tuple[Path, str, int | None]] = {}
        if batch_dir is not None:
            for name, row in read_manifest(batch_dir).items():
                key, sha = row.get("key"), row.get("sha256")
                if row.get("status") in ("rendered", "skipped") and key and sha and name.endswith(".pdf"):
                    pages = row.get("pages")
                    self.batch[str(key)] = (
                        batch_dir / name,
                        str(sha),
                        pages if isinstance(pages, int) else None,
                    )

    def open(self, key: str) -> tuple[BinaryIO, int | None] | None:
        """A brief's file, open and checked against its recorded sha256 (through the same handle, so it
        cannot be swapped after the check), and its page count when known; None on a miss."""
        found = self.batch.get(key)
        if found is not None:
            opened = _open_checked(found[0], found[1])
            if opened is not None:
                return opened, found[2]
        if self.folder is None or not _CACHE_NAME_RE.match(f"{key}.pdf"):
            return None
        path = self.folder / f"{key}.pdf"
        try:
            record = json.loads(read_own_file(self.folder / f"{key}.json", 4096))
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(record, dict) or not isinstance(record.get("sha256"), str):
            return None
        if not signed(_record_fields(key, record), record.get("mac")):
            return None  # not a record this user's runs wrote: a miss, rendered again
        handle = _open_checked(path, record["sha256"])
        if handle is None:
            return None  # damaged or replaced since it was cached: a miss, rendered again
        pages = record.get("pages")
        with contextlib.suppress(OSError):
            for used in (path, self.folder / f"{key}.json"):
                os.utime(used, follow_symlinks=False)  # recently used: kept by prune()
        return handle, pages if isinstance(pages, int) else None

    def get(self, key: str) -> tuple[bytes, int | None] | None:
        """A brief's bytes and its page count, or None on a miss."""
        opened = self.open(key)
        if opened is None:
            return None
        handle, pages = opened
        with handle:
            data = handle.read()
        try:
            return data, pages if pages is not None else count_pages(data)
        except RenderError:
            return None

    def put(self, key: str, data: bytes, pages: int | None = None) -> bool:
        """Keep `data` under `key`; False when the cache folder cannot be used or written."""
        if self.folder is None or not _CACHE_NAME_RE.match(f"{key}.pdf"):
            return False
        with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
            self.folder.mkdir(parents=True, exist_ok=True)
            if not _usable_folder(self.folder):
                return False
            atomic_write(self.folder / f"{key}.pdf", data)
            record: dict[str, Any] = {
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "pages": pages,
            }
            record["mac"] = sign(_record_fields(key, record))
            atomic_write(self.folder / f"{key}.json", json.dumps(record) + "\n")
            return True
        return False

    def has(self, key: str) -> bool:
        """True when `open(key)` would find a sound brief (it reads and checks the file)."""
        opened = self.open(key)
        if opened is not None:
            opened[0].close()
        return opened is not None

    def prune(self) -> None:
        if self.folder is None or not _usable_folder(self.folder) or not self.folder.is_dir():
            return
        cutoff = time.time() - CACHE_DAYS * 86400
        for path in self.folder.iterdir():
            if not _CACHE_NAME_RE.match(path.name):
                continue  # only what the cache itself wrote is ever removed
            with contextlib.suppress(OSError):
                info = path.lstat()
                if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                    path.unlink()


def _record_fields(key: str, record: dict[str, Any]) -> dict[str, Any]:
    """What a cache record's signature covers: the render key it stands for and the file it vouches for."""
    return {
        "key": key,
        "sha256": record.get("sha256"),
        "bytes": record.get("bytes"),
        "pages": record.get("pages"),
    }


def _open_checked(path: Path, sha256: str) -> BinaryIO | None:
    """`path` opened (a regular file, not through a link) if its bytes hash to `sha256`, else None."""
    try:
        handle = open_own_file(path)
    except OSError:
        return None
    digest = hashlib.sha256()
    size = 0
    for block in iter(lambda: handle.read(1 << 20), b""):
        size += len(block)
        if size > MAX_PART_BYTES:
            break
        digest.update(block)
    if size > MAX_PART_BYTES or digest.hexdigest() != sha256:
        handle.close()
        return None
    handle.seek(0)
    return handle


def _usable_folder(folder: Path) -> bool:
    """True when `folder` is missing (it will be made) or a real folder, not a link or a file."""
    try:
        return stat.S_ISDIR(folder.lstat().st_mode)
    except FileNotFoundError:
        return True
    except OSError:
        return False


@dataclass(frozen=True)
class Part:
    """A guide's brief for a packet: its render key where the cache (or a batch) holds it on disk,
    else its bytes; its page count; or the error that kept it from being rendered."""

    source: str
    key: str | None = None
    data: bytes | None = None
    pages: int = 0
    refused: tuple[str, ...] = ()
    error: str | None = None


def render_parts(
    guides: Sequence[Guide],
    options: RenderOptions,
    workers: Workers,
    cache: PartCache,
    *,
    timeout: float | None,
    progress: Callable[[ItemResult], None] | None = None,
) -> tuple[list[Part], set[int]]:
    """Each guide's brief in order, and the indexes of those reused (from a batch or the cache).

    A brief that is (or now goes) on disk is not kept in memory: the join reads it from there.
    """
    theme = collect_theme(options)
    parts: list[Part | None] = [None] * len(guides)
    reused: set[int] = set()
    todo: list[tuple[int, int, str, bytes]] = []  # (guide's index, size, render key, bytes' hash)
    files = [real_path(guide.path) for guide in guides]  # each as its selection vetted it
    for i, guide in enumerate(guides):
        task, key = part_task(guide, options, theme, remote=workers.remote, timeout=timeout)
        opened = cache.open(key)
        if opened is not None:
            handle, pages = opened
            with handle, contextlib.suppress(RenderError):
                parts[i] = Part(task.source, key=key, pages=pages or count_pages_in(handle))
        if parts[i] is not None:
            reused.add(i)
            if progress:
                progress(ItemResult(task.source, None, Status.SKIPPED))
        else:
            todo.append((i, len(task.text), key, hashlib.sha256(task.text).digest()))

    def build(n: int) -> RenderTask:  # built when its turn comes: memory holds the tasks in flight
        index, size, key, digest = todo[n]
        task, key = part_task_again(
            guides[index],
            files[index],
            "packet",
            digest,
            key,
            options,
            theme,
            remote=workers.remote,
            timeout=timeout,
        )
        todo[n] = (index, size, key, digest)
        return task

    def finished(n: int, result: TaskResult) -> None:
        index, _, key, _ = todo[n]
        if result.error is not None or result.data is None:
            parts[index] = Part(result.source, error=result.error or f"{result.source}: not rendered")
        else:
            pages = result.pages or count_pages(result.data)
            kept = cache.put(key, result.data, pages)
            data = None if kept else result.data
            parts[index] = Part(result.source, key if kept else None, data, pages, result.refused)
        if progress:
            status = Status.FAILED if result.error else Status.RENDERED
            progress(ItemResult(result.source, None, status, error=result.error))

    names = [str(guides[index].path) for index, *_ in todo]
    workers.run(run_render, DeferredTasks(names, [size for _, size, _, _ in todo], build), theme, finished)
    return [
        p if p is not None else Part(g.path.name, error=f"{g.path.name}: not rendered")
        for p, g in zip(parts, guides, strict=True)
    ], reused


def part_task(
    guide: Guide, options: RenderOptions, theme: Any, *, remote: bool, timeout: float | None
) -> tuple[RenderTask, str]:
    """The render task of `guide`'s brief and its render key (the batch's, so briefs are shared)."""
    text = _guide_bytes(guide)
    resources = guide_resources(guide.path, text)
    task = RenderTask(str(guide.path), text, options, "pdf", resources if remote else None, timeout)
    return task, render_key(task, theme, resources)


def part_task_again(
    item: Guide | Path,
    vetted: Path,
    during: str,
    digest: bytes,
    key: str,
    options: RenderOptions,
    theme: Any,
    *,
    remote: bool,
    timeout: float | None,
) -> tuple[RenderTask, str]:
    """The task of a part planned earlier (`part_task`), built when its turn comes from the guide's
    file, and its render key: worked out again (the files the guide references read again) only if
    the guide's bytes no longer hash to `digest`. `Refused` if the file no longer resolves to
    `vetted`, the file it led to when it was planned (swapped for a link since, during the `during`)."""
    path = item.path if isinstance(item, Guide) else item
    still_vetted(path, vetted, during)
    text = _guide_bytes(item) if isinstance(item, Guide) else read_limited(item, MAX_BYTES)
    changed = hashlib.sha256(text).digest() != digest
    resources = guide_resources(path, text) if remote or changed else ()
    task = RenderTask(str(path), text, options, "pdf", resources if remote else None, timeout)
    return task, (render_key(task, theme, resources) if changed else key)


class PartStore:
    """Briefs rendered once for many uses (a mail merge), kept on disk by render key, read back one
    at a time: memory holds a key per guide, never the briefs, however many there are."""

    def __init__(self, cache: PartCache, cache_dir: Path | None, batch_dir: Path | None) -> None:
        self._cache = cache
        self.cache_dir, self.batch_dir = cache_dir, batch_dir
        self._keys: dict[Path, str] = {}
        self._memory: dict[str, bytes] = {}  # only where no cache folder can be written
        self.errors: dict[Path, str] = {}

    def get(self, guide: Guide) -> bytes | None:
        """The brief of `guide` if it was prepared, else None (render it yourself); raises the
        guide's render error if its brief failed."""
        path = guide.path.resolve()
        if path in self.errors:
            raise RenderError(self.errors[path])
        key = self._keys.get(path)
        if key is None:
            return None
        if key in self._memory:
            return self._memory[key]
        found = self._cache.get(key)
        return found[0] if found is not None else None


def store_parts(
    guides: Iterable[Guide | Path],
    options: RenderOptions | None = None,
    *,
    cache_dir: Path | None,
    batch_dir: Path | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    progress: Callable[[ItemResult], None] | None = None,
    limit_option: str = "--timeout",
) -> PartStore:
    """Render each brief of `guides` that no batch output or cached part already has, on the warm
    workers, into `cache_dir`; none of the bytes stay in memory (unless no cache folder is usable).

    The briefs are exactly the ones `render` writes and a packet joins (same options, same render
    key), so a mail merge after a batch renders nothing, and its briefs serve the next packet.
    """
    part_opts = packet_options(options)
    store = PartStore(PartCache(cache_dir, batch_dir), cache_dir, batch_dir)
    theme = collect_theme(part_opts)
    remote = scheduler is not None
    # What is left to render: the guide's file, its size and render key. Its task (the guide's
    # bytes) is built again when a worker is about to take it.
    todo: list[tuple[Path, int, str, bytes]] = []  # (resolved path, size, render key, bytes' hash)
    given: dict[Path, Guide | Path] = {}  # as handed over: a loaded guide is used as it is
    for item in guides:
        # A path is loaded here and let go once its render key is known: memory holds a key per
        # guide, and a task (the guide's bytes) only for a brief still to render.
        path = (item.path if isinstance(item, Guide) else item).resolve()
        if path in store._keys:
            continue
        try:
            guide = item if isinstance(item, Guide) else load_guide(item)
        except GuidepdfError:
            if progress:  # the message that attaches it reports why
                progress(ItemResult(str(item), None, Status.FAILED))
            continue
        task, key = part_task(guide, part_opts, theme, remote=remote, timeout=timeout)
        task = replace(task, limit_option=limit_option)
        store._keys[path] = key
        if store._cache.has(key):
            if progress:
                progress(ItemResult(task.source, None, Status.SKIPPED))
        else:
            todo.append((path, len(task.text), key, hashlib.sha256(task.text).digest()))
            given[path] = item

    def build(n: int) -> RenderTask:
        path, size, key, digest = todo[n]
        task, now = part_task_again(
            given[path], path, "run", digest, key, part_opts, theme, remote=remote, timeout=timeout
        )
        if now != key:  # the guide changed since it was planned
            store._keys[path] = now
            todo[n] = (path, size, now, digest)
        return replace(task, limit_option=limit_option)

    def finished(n: int, result: TaskResult) -> None:
        path, _, key, _ = todo[n]
        if result.data is None:
            store.errors[path] = result.error or f"{path}: not rendered"
            del store._keys[path]
        elif not store._cache.put(key, result.data):
            store._memory[key] = result.data
        if progress:
            status = Status.FAILED if result.error else Status.RENDERED
            progress(ItemResult(result.source, None, status, error=result.error))

    if todo:
        inline = scheduler is None and len(todo) == 1
        pool = Workers(
            jobs,
            scheduler=scheduler,
            options=part_opts,
            timeout=timeout,
            inline=inline,
            limit_option=limit_option,
        )
        with pool as workers:
            named = [str(getattr(given[p], "path", given[p])) for p, *_ in todo]
            tasks = DeferredTasks(named, [size for _, size, *_ in todo], build)
            workers.run(run_render, tasks, theme, finished)
    store._cache.prune()
    return store


def count_pages(data: bytes) -> int:
    from ..pdfinfo import page_count

    return page_count(data)


def count_pages_in(handle: BinaryIO) -> int:
    """The page count of an open PDF file, reading only its structure."""
    import pikepdf

    try:
        with pikepdf.Pdf.open(handle, attempt_recovery=False) as document:
            return len(document.pages)
    except (pikepdf.PdfError, ValueError, OSError) as exc:
        raise RenderError(f"not a readable PDF: {exc}") from None
