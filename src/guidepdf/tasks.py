"""Self-contained render work: a guide's or a page's text, its files and theme in, PDF bytes out.

A task carries everything a worker needs, so it runs the same in this process, in a local worker
process or on a dask worker on another machine with no shared folder. Cache keys are computed here
too, because they hash exactly what a task carries.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, overload

from . import coldstart, timeouts
from ._version import __version__
from .errors import GuidepdfError, RenderError
from .options import RenderOptions
from .reading import read_limited
from .themes import builtin_dir

#: A theme or a guide may not ship more than this many bytes of files to a worker.
MAX_BUNDLE_BYTES = 50_000_000

# Anything in a guide body that may name a local file: Markdown images and links, reference
# definitions, and HTML src/href attributes. Over-matching is harmless: only existing files
# inside the guide's folder are hashed or shipped.
_REF_RES = (
    re.compile(r"\]\(\s*<?([^)\s>]+)"),
    re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M),
    re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.I),
)
_CSS_REF_RE = re.compile(r"""url\(\s*["']?([^'")]+)["']?\s*\)|@import\s+["']([^"']+)["']""")

Files = tuple[tuple[str, bytes], ...]


class RenderTimeout(RenderError):
    """A render ran past its time limit and was stopped."""


@dataclass(frozen=True)
class ThemeBundle:
    """A theme's user files (templates folders, stylesheets and what they reference) to recreate elsewhere.

    The built-in theme ships with guidepdf itself; `builtin_digest` lets a worker prove it has the same.
    """

    digest: str
    builtin_digest: str
    files: Files
    templates: tuple[str, ...]
    styles: tuple[str, ...]


@dataclass(frozen=True)
class RenderTask:
    """One guide to render: its source name and bytes, the files it references, options and format,
    and, in a batch, the file its output is written to."""

    source: str
    text: bytes
    options: RenderOptions
    fmt: str = "pdf"
    #: Files under the guide's folder, by relative path; None means "read them from the folder".
    resources: Files | None = None
    timeout: float | None = None
    #: The option that set `timeout`, named in the error (not part of the render key).
    limit_option: str = "--timeout"
    #: Where a batch writes the output (not part of the render key; workers never write it).
    output: Path | None = None


class DeferredTasks(Sequence[RenderTask]):
    """Render tasks built only when a worker is about to take one.

    A long batch plans every guide (its render key needs the guide's bytes) but holds only a name, a
    size and a key for each: `build(index)` reads the guide again and makes its task when its turn
    comes, and the task is let go once its result is in. Memory then holds the tasks in flight, not
    every guide's bytes. `build` raises `GuidepdfError` or `OSError` (naming the file) if the guide
    can no longer be read; the workers report that as the guide's failure.
    """

    def __init__(self, names: Sequence[str], sizes: Sequence[int], build: Callable[[int], RenderTask]):
        if len(names) != len(sizes):
            raise ValueError("one size per task")
        self._names, self._sizes, self._build = list(names), list(sizes), build

    def __len__(self) -> int:
        return len(self._names)

    @overload
    def __getitem__(self, index: int) -> RenderTask: ...
    @overload
    def __getitem__(self, index: slice) -> list[RenderTask]: ...
    def __getitem__(self, index: int | slice) -> RenderTask | list[RenderTask]:
        if isinstance(index, slice):
            return [self._build(i) for i in range(len(self))[index]]
        return self._build(range(len(self))[index])

    def size(self, index: int) -> int:
        """The guide's size when it was planned: the cheap guess at how long it takes."""
        return self._sizes[index]

    def name(self, index: int) -> str:
        """The guide's source, for a failure that leaves no task to name it."""
        return self._names[index]


@dataclass(frozen=True)
class PageTask:
    """A page of ready HTML (packet front matter, page-number overlays) rendered with a theme."""

    name: str
    html: str
    options: RenderOptions
    timeout: float | None = None


@dataclass(frozen=True)
class TaskResult:
    """What a worker sends back: the output bytes and page count, or the one-line error."""

    source: str
    data: bytes | None = None
    pages: int | None = None
    refused: tuple[str, ...] = ()
    error: str | None = None


# -- keys --------------------------------------------------------------------------------------------


@functools.cache
def weasyprint_version() -> str:
    """The installed WeasyPrint version, read without importing it."""
    from importlib import metadata

    try:
        return metadata.version("weasyprint")
    except metadata.PackageNotFoundError:
        return "unknown"


def options_fingerprint(options: RenderOptions) -> str:
    """Every option that can change output bytes, as stable text (new fields are picked up by themselves)."""
    parts = []
    for f in fields(options):
        value = getattr(options, f.name)
        if isinstance(value, tuple):
            value = tuple(str(Path(v).resolve()) if isinstance(v, Path) else v for v in value)
        parts.append(f"{f.name}={value!r}")
    return "\n".join(parts)


def _hash_files(files: Files, digest: Any) -> None:
    for name, data in files:
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)


def render_key(task: RenderTask, theme: ThemeBundle, resources: Files) -> str:
    """The cache key of a render: guide, its files, theme, options, format, guidepdf and WeasyPrint."""
    digest = hashlib.sha256()
    header = f"guidepdf {__version__}\0weasyprint {weasyprint_version()}\0{task.fmt}\0{theme.digest}\0"
    digest.update(header.encode())
    digest.update(options_fingerprint(replace(task.options, templates=(), styles=())).encode())
    digest.update(len(task.text).to_bytes(8, "big"))
    digest.update(task.text)
    _hash_files(resources, digest)
    return digest.hexdigest()


# -- collecting files --------------------------------------------------------------------------------


def _read_tree(root: Path, prefix: str, budget: list[int]) -> list[tuple[str, bytes]]:
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        data = path.read_bytes()
        budget[0] -= len(data)
        if budget[0] < 0:
            raise RenderError(f"{root}: theme files exceed {MAX_BUNDLE_BYTES:,} bytes")
        files.append((f"{prefix}/{rel}", data))
    return files


def _css_assets(style: Path, budget: list[int]) -> list[tuple[str, bytes]]:
    """A stylesheet and the files it references under its own folder (the only ones it may read)."""
    root = style.resolve().parent
    found: dict[str, bytes] = {}
    queue = [style.resolve()]
    while queue:
        path = queue.pop()
        rel = path.relative_to(root).as_posix()
        if rel in found or not path.is_file():
            continue
        data = path.read_bytes()
        budget[0] -= len(data)
        if budget[0] < 0:
            raise RenderError(f"{style}: stylesheet files exceed {MAX_BUNDLE_BYTES:,} bytes")
        found[rel] = data
        if path.suffix.lower() == ".css":
            for match in _CSS_REF_RE.finditer(data.decode("utf-8", "replace")):
                ref = (match.group(1) or match.group(2) or "").strip()
                target = _local_target(ref, path.parent, root)
                if target is not None:
                    queue.append(target)
    return sorted(found.items())


def _local_target(ref: str, base: Path, root: Path) -> Path | None:
    """The file a relative reference names, when it lies inside `root`; else None."""
    if not ref or ref.startswith(("#", "data:", "/")) or re.match(r"^[a-zA-Z][\w+.-]*:", ref):
        return None
    ref = ref.split("#", 1)[0].split("?", 1)[0]
    from urllib.parse import unquote

    try:
        target = (base / unquote(ref)).resolve()
    except (OSError, ValueError, RuntimeError):  # RuntimeError: a symlink loop
        return None
    if target.is_relative_to(root) and target.is_file():
        return target
    return None


def builtin_digest() -> str:
    """A digest of the built-in theme (templates, stylesheets, fonts) as installed here."""
    return _builtin_digest(_stamp(builtin_dir("templates")) + _stamp(builtin_dir("styles")))


def _stamp(root: Path) -> tuple[tuple[str, int, int], ...]:
    return tuple(
        (str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(root.rglob("*")) if p.is_file()
    )


@functools.lru_cache(maxsize=4)
def _builtin_digest(stamp: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    budget = [MAX_BUNDLE_BYTES * 4]
    for name in ("templates", "styles"):
        _hash_files(tuple(_read_tree(builtin_dir(name), name, budget)), digest)
    return digest.hexdigest()


def collect_theme(options: RenderOptions) -> ThemeBundle:
    """The user's theme files as a bundle; its digest also covers the built-in theme."""
    files, templates, styles = read_theme(options)
    base = builtin_digest()
    digest = hashlib.sha256(f"{base}\0{list(templates)}\0{list(styles)}\0".encode())
    _hash_files(files, digest)
    return ThemeBundle(digest.hexdigest(), base, files, templates, styles)


def read_theme(options: RenderOptions) -> tuple[Files, tuple[str, ...], tuple[str, ...]]:
    """The user's theme files (templates folders, stylesheets and what they reference) with the names
    of its templates folders and stylesheets in the bundle; `RenderError` if one cannot be read or
    they add up to more than `MAX_BUNDLE_BYTES`."""
    budget = [MAX_BUNDLE_BYTES]
    files: list[tuple[str, bytes]] = []
    templates = []
    for i, folder in enumerate(options.templates):
        templates.append(f"t{i}")
        try:
            files += _read_tree(Path(folder), f"t{i}", budget)
        except OSError as exc:
            raise RenderError(f"{folder}: cannot read templates: {exc.strerror or exc}") from None
    styles = []
    for i, style in enumerate(options.styles):
        styles.append(f"s{i}/{Path(style).name}")
        try:
            files += [(f"s{i}/{rel}", data) for rel, data in _css_assets(Path(style), budget)]
        except OSError as exc:
            raise RenderError(f"{style}: cannot read stylesheet: {exc.strerror or exc}") from None
    return tuple(files), tuple(templates), tuple(styles)


def guide_resources(path: Path, text: bytes) -> Files:
    """Files under the guide's folder that its body may reference (images and the like), sorted."""
    root = path.resolve().parent
    body = text.decode("utf-8", "replace")
    found: dict[str, bytes] = {}
    budget = MAX_BUNDLE_BYTES
    for pattern in _REF_RES:
        for match in pattern.finditer(body):
            target = _local_target(match.group(1).strip(), root, root)
            if target is None or target == path.resolve():
                continue
            rel = target.relative_to(root).as_posix()
            if rel in found:
                continue
            with contextlib.suppress(OSError):
                data = read_limited(target, max(budget, 0))
                budget -= len(data)
                if budget < 0:
                    break
                found[rel] = data
    return tuple(sorted(found.items()))


# -- running -----------------------------------------------------------------------------------------


def time_limit(
    seconds: float | None, what: str, option: str = "--timeout"
) -> contextlib.AbstractContextManager[None]:
    """Raise `RenderTimeout` naming `what` (and the `option` that set the limit) after `seconds`."""
    return timeouts.time_limit(
        seconds, lambda: RenderTimeout(f"{what}: stopped after {seconds:g} s ({option})")
    )


def _scratch() -> Path:
    return Path(tempfile.gettempdir()) / f"guidepdf-{os.getuid()}"


def _materialize(folder: Path, files: Files) -> Path:
    """Write `files` under `folder` once (content-addressed folders never change after creation)."""
    if folder.is_dir():
        return folder
    staging = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=_ensure(folder.parent)))
    for rel, data in files:
        target = (staging / rel).resolve()
        if not target.is_relative_to(staging.resolve()):
            raise RenderError(f"{rel}: refusing a bundled file outside its folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    try:
        staging.rename(folder)
    except OSError:  # another task on this worker made it first: identical content
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def theme_options(options: RenderOptions, theme: ThemeBundle | None) -> RenderOptions:
    """`options` with its user theme pointing at this machine's copy of `theme` (None: as given)."""
    if theme is None:
        return options
    mine = builtin_digest()
    if mine != theme.builtin_digest:
        raise RenderError(
            f"this worker's guidepdf {__version__} has a different built-in theme from the client's; "
            "install the same guidepdf version on every worker"
        )
    root = _materialize(_scratch() / f"theme-{theme.digest[:32]}", theme.files)
    return replace(
        options,
        templates=tuple(root / t for t in theme.templates),
        styles=tuple(root / s for s in theme.styles),
    )


def load_pipeline(fmt: str = "pdf") -> None:
    """Import what a render to `fmt` needs (the page pipeline, WeasyPrint, pikepdf for a PDF): in
    guidepdf's own process, the first time, without the cycle collector walking what the imports
    make (see `coldstart`). An import that fails here fails again where the render needs it, and
    is reported there as it always was."""
    with coldstart.loading(), contextlib.suppress(Exception):
        if fmt == "pdf":
            import pikepdf  # noqa: F401  # finishes every PDF (`conform`)

        from . import brief, html_export, pdf  # noqa: F401

        pdf.warm_up()


def run_render(task: RenderTask, theme: ThemeBundle | None = None) -> TaskResult:
    """Render one guide; every project error, including a timeout, becomes a failed result."""
    load_pipeline(task.fmt)
    from .brief import render_brief
    from .guide import parse_guide
    from .html_export import render_html

    path = Path(task.source)
    shown = str(path)
    try:
        with time_limit(task.timeout, shown, task.limit_option):
            options = theme_options(task.options, theme)
            if task.resources is not None:
                # No shared folder: recreate the guide's folder (its file and what it references).
                digest = hashlib.sha256(task.text)
                _hash_files(task.resources, digest)
                folder = _scratch() / f"guide-{digest.hexdigest()[:32]}"
                folder = _materialize(folder, ((path.name, task.text), *task.resources))
                local = folder / path.name
            else:
                local = path
            try:
                guide = parse_guide(task.text, local)
                if options.check:
                    from .check import refuse_on_errors

                    refuse_on_errors(guide, options.today, allow_network=options.allow_network)
                if task.fmt == "html":
                    html = render_html(guide, options).encode("utf-8")
                    return TaskResult(task.source, data=html)
                rendered = render_brief(guide, options)
            except GuidepdfError as exc:
                if local == path:
                    raise
                # Messages name the file the user gave, not this worker's copy of it.
                raise RenderError(str(exc).replace(str(local), shown)) from None
    except GuidepdfError as exc:
        return TaskResult(task.source, error=str(exc))
    except OSError as exc:
        return TaskResult(task.source, error=f"{shown}: {exc.strerror or exc}")
    return TaskResult(task.source, data=rendered.pdf, pages=rendered.pages, refused=rendered.refused)


def run_page(task: PageTask, theme: ThemeBundle | None = None) -> TaskResult:
    """Render a page of ready HTML with the theme; errors become a failed result."""
    load_pipeline()
    from .pdf import page_to_pdf
    from .templating import Page

    try:
        with time_limit(task.timeout, task.name):
            options = theme_options(task.options, theme)
            rendered = page_to_pdf(Page(task.html, _ensure(_scratch()), options))
    except GuidepdfError as exc:
        return TaskResult(task.name, error=f"{task.name}: {exc}")
    return TaskResult(task.name, data=rendered.pdf, pages=rendered.pages, refused=rendered.refused)
