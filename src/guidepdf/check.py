"""Find problems in guides before rendering: schema, figures, currencies, dates, images and stripped HTML."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .currencies import is_currency
from .errors import GuideError, RenderError
from .figures import BodyRegion, read_body_figures
from .guide import KNOWN_FIELDS, NUMBER_FIELDS, Compensation, Guide, load_guide
from .inputs import expand_inputs
from .markup import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    MAX_NESTING,
    URL_SCHEMES,
    live_link,
    nesting_depth,
    sanitize,
)
from .progress import ProgressFactory, no_progress
from .reading import MAX_RESOURCE_BYTES, read_limited, real_path
from .timeouts import time_limit

#: Fields a complete guide gives; each one missing is a warning.
RECOMMENDED_FIELDS = (
    "company",
    "role",
    "last_updated",
    "next_review_due",
    "data_quality",
    "data_sources",
    "compensation",
)
DATA_QUALITIES = ("high", "medium", "low")
#: Check errors that do not stop a render: the renderer handles these itself and says so.
RENDER_HANDLED = frozenset({"image-refused", "image-outside", "image-unreadable", "body-too-complex"})
#: Keys of a compensation region the loader reads; others are kept but may be misspelt.
REGION_FIELDS = frozenset((*NUMBER_FIELDS, "region", "currency"))
#: Python-Markdown is quadratic on some input (long runs of `[`, lists nested hundreds deep); `check`
#: reports a body that takes longer than this to convert instead of waiting for it.
BODY_SECONDS = 10.0
#: A stated total may differ from base + stock + bonus by this fraction (rounding in the sources).
TOTAL_TOLERANCE = 0.01
_PAIRS = (
    ("base_low", "base_high"),
    ("stock_low", "stock_high"),
    ("bonus_low", "bonus_high"),
    ("total_comp_low", "total_comp_high"),
)
_HARMLESS_TAGS = frozenset({"html", "head", "body"})


@dataclass(frozen=True)
class Finding:
    """One problem in one guide: where it is, how bad (`error` or `warning`), a stable code and a message."""

    file: str
    field: str | None
    line: int | None
    severity: str
    code: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [where, *([self.field] if self.field else []), self.severity, self.message]
        return ": ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """The finding as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class CheckResult:
    """Every finding for the checked guides, the guides checked, and the inputs that matched nothing."""

    findings: tuple[Finding, ...]
    checked: tuple[str, ...]
    missing: tuple[str, ...] = ()

    @property
    def errors(self) -> tuple[Finding, ...]:
        """The findings that are errors."""
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """The findings that are warnings."""
        return tuple(f for f in self.findings if f.severity == "warning")


def check_guide(
    path: Path | str, as_of: date | None = None, *, allow_network: bool = False
) -> tuple[Finding, ...]:
    """Every problem in the guide at `path`, judged on `as_of` (default today); never raises on bad input."""
    as_of = as_of or date.today()
    try:
        guide = load_guide(path)
    except GuideError as exc:
        return (Finding(exc.path, exc.field, exc.line, "error", "schema", exc.message),)
    return check_loaded(guide, as_of, allow_network=allow_network)


def check_loaded(guide: Guide, as_of: date, *, allow_network: bool = False) -> tuple[Finding, ...]:
    """Every problem in a guide already loaded (its front matter is not parsed again)."""
    return tuple(_GuideCheck(guide, as_of, allow_network).run())


def guide_errors(guide: Guide, as_of: date, *, allow_network: bool = False) -> tuple[Finding, ...]:
    """The error findings for a loaded guide that stop it from being rendered.

    Errors the renderer already handles safely and reports itself are left to it: an image refused
    or outside the guide's folder (the sandbox leaves it out and warns) and a body too complex to
    convert (the render's time limit stops it).
    """
    findings = _GuideCheck(guide, as_of, allow_network).run()
    return tuple(f for f in findings if f.severity == "error" and f.code not in RENDER_HANDLED)


def refuse_on_errors(guide: Guide, as_of: date, *, allow_network: bool = False) -> None:
    """Raise `GuideError` with the first check error (and how many more) when the guide has any."""
    errors = guide_errors(guide, as_of, allow_network=allow_network)
    if errors:
        first = errors[0]
        more = f"; {len(errors) - 1} more check errors" if len(errors) > 1 else ""
        message = f"{first.message}{more} (--no-check renders anyway)"
        raise GuideError(first.file, message, field=first.field, line=first.line)


def check_guides(
    paths: Iterable[Path | str],
    as_of: date | None = None,
    *,
    allow_network: bool = False,
    progress: Callable[..., None] | None = None,
) -> tuple[Finding, ...]:
    """The findings for each guide file in `paths`, in order; `progress` is called after each guide."""
    as_of = as_of or date.today()
    findings: list[Finding] = []
    for path in paths:
        findings += check_guide(path, as_of, allow_network=allow_network)
        if progress is not None:
            progress(path)
    return tuple(findings)


def check_paths(
    inputs: Iterable[str | Path],
    as_of: date | None = None,
    *,
    allow_network: bool = False,
    exclude: Iterable[str] = (),
    progress: ProgressFactory = no_progress,
) -> CheckResult:
    """Expand INPUT arguments (files, folders, globs) like `render` does and check every guide found;
    `progress` shows the checking (see `progress.ProgressFactory`)."""
    selection = expand_inputs(inputs, exclude)
    refused = tuple(Finding(path, None, None, "error", "refused", why) for path, why in selection.refused)
    with progress(len(selection.paths), "Checking") as step:
        findings = refused + check_guides(selection.paths, as_of, allow_network=allow_network, progress=step)
    return CheckResult(
        findings=findings, checked=tuple(str(p) for p in selection.paths), missing=selection.missing
    )


class _GuideCheck:
    """The checks on one loaded guide; each method yields findings."""

    def __init__(self, guide: Guide, as_of: date, allow_network: bool) -> None:
        self.guide = guide
        self.file = str(guide.path)
        self.as_of = as_of
        self.allow_network = allow_network
        self.lines = field_lines(guide)

    def finding(
        self, where: str | None, severity: str, code: str, message: str, line: int | None = None
    ) -> Finding:
        if line is None and where:
            line = self.lines.get(where) or self.lines.get(where.split(".")[0])
        return Finding(self.file, where, line, severity, code, message)

    def run(self) -> Iterator[Finding]:
        if not self.guide.source.strip():
            yield self.finding(None, "error", "empty", "the file is empty: nothing to render", 1)
            return
        yield from self.duplicate_keys()
        yield from self.unknown_fields()
        yield from self.missing_fields()
        yield from self.dates()
        yield from self.data_quality()
        yield from self.regions()
        yield from self.body_figures()
        yield from self.body()
        yield from self.glyphs()

    def duplicate_keys(self) -> Iterator[Finding]:
        # YAML keeps the last of two equal keys without a word: the first value silently disappears.
        for where, first, second in duplicate_keys(self.guide):
            message = f"the key is given twice, on lines {first} and {second}; line {second} wins"
            yield self.finding(where, "warning", "duplicate-key", message, second)

    def missing_fields(self) -> Iterator[Finding]:
        meta = self.guide.meta
        if not meta:
            message = f"no front matter; recommended fields: {', '.join(RECOMMENDED_FIELDS)}"
            yield self.finding(None, "warning", "missing-field", message)
            return
        for name in RECOMMENDED_FIELDS:
            value = meta.get(name)
            if value is None or value == "" or value == [] or value == {}:
                yield self.finding(name, "warning", "missing-field", "recommended field is missing")

    def unknown_fields(self) -> Iterator[Finding]:
        """A field that is not known but is close to a known one is most likely misspelt."""
        meta = self.guide.meta
        for name in meta:
            if name not in KNOWN_FIELDS:
                yield from self.misspelt(name, name, KNOWN_FIELDS, present=set(meta))
        raw = meta.get("compensation")
        items = [raw] if isinstance(raw, dict) else raw if isinstance(raw, list) else []
        for i, item in enumerate(items):
            if isinstance(item, dict):
                keys = {str(k) for k in item}
                for key in keys - REGION_FIELDS:
                    yield from self.misspelt(f"compensation[{i}].{key}", key, REGION_FIELDS, present=keys)

    def misspelt(self, where: str, name: str, known: Iterable[str], present: set[str]) -> Iterator[Finding]:
        import difflib

        close = difflib.get_close_matches(name.lower(), sorted(known), n=1, cutoff=0.75)
        if close:
            # The intended field is missing too: the guide silently lost it, which is an error.
            severity = "warning" if close[0] in present else "error"
            yield self.finding(where, severity, "unknown-field", f"unknown field; did you mean {close[0]}?")

    def dates(self) -> Iterator[Finding]:
        guide = self.guide
        if guide.review_overdue(self.as_of):
            days = (self.as_of - guide.next_review_due).days if guide.next_review_due else 0
            yield self.finding(
                "next_review_due",
                "warning",
                "review-overdue",
                f"review overdue: due {guide.next_review_due}, {days} days before {self.as_of}",
            )
        if guide.last_updated is not None and guide.last_updated > self.as_of:
            yield self.finding(
                "last_updated",
                "error",
                "future-date",
                f"{guide.last_updated} is in the future (as of {self.as_of})",
            )
        if guide.last_updated and guide.next_review_due and guide.next_review_due < guide.last_updated:
            yield self.finding(
                "next_review_due",
                "warning",
                "review-before-update",
                f"review due {guide.next_review_due} is before the last update {guide.last_updated}",
            )

    def data_quality(self) -> Iterator[Finding]:
        quality = self.guide.data_quality
        if quality is not None and quality.lower() not in DATA_QUALITIES:
            yield self.finding(
                "data_quality",
                "warning",
                "data-quality",
                f"expected one of {', '.join(DATA_QUALITIES)}, got {quality!r}",
            )

    def regions(self) -> Iterator[Finding]:
        # The loader skips null entries, so map each region back to its index in the file.
        raw = self.guide.meta.get("compensation")
        raw_list = [raw] if isinstance(raw, dict) else raw if isinstance(raw, list) else []
        indexes = [i for i, item in enumerate(raw_list) if item is not None]
        regions = list(zip(indexes, self.guide.compensation, strict=False))
        any_figures = any(comp.has_figures for _, comp in regions)
        seen: dict[str, int] = {}
        for i, comp in regions:
            where = f"compensation[{i}]"
            yield from self.ranges(comp, where)
            yield from self.total(comp, where)
            yield from self.currency(comp, where)
            if comp.region:
                key = " ".join(comp.region.lower().split())
                if key in seen:
                    yield self.finding(
                        f"{where}.region",
                        "error",
                        "duplicate-region",
                        f"region {comp.region!r} is already given at compensation[{seen[key]}]",
                    )
                else:
                    seen[key] = i
            if any_figures and not comp.has_figures:
                name = f"{comp.region!r} " if comp.region else ""
                yield self.finding(
                    where,
                    "warning",
                    "no-figures",
                    f"region {name}has no figures (all null) while other regions have them",
                )

    def body_figures(self) -> Iterator[Finding]:
        """The body's compensation table against the front matter, region by region."""
        figures = read_body_figures(self.guide.body, self.guide.body_line)
        for problem in figures.problems:
            column = f"{problem.column}: " if problem.column else ""
            message = f"compensation table: {column}{problem.message}; the cell is left out"
            yield self.finding("body", "warning", "body-table", message, problem.line)
        raw = self.guide.meta.get("compensation")
        raw_list = [raw] if isinstance(raw, dict) else raw if isinstance(raw, list) else []
        indexes = [i for i, item in enumerate(raw_list) if item is not None]
        for i, comp in zip(indexes, self.guide.compensation, strict=False):
            row = figures.find(comp.region)
            if row is None or not row.figures:
                continue
            where = f"compensation[{i}]"
            if not comp.has_figures:
                message = (
                    f"region {comp.region!r} has no figures in the front matter, but the body gives "
                    f"{row.describe()} (line {row.line}); `guidepdf fill` copies them"
                )
                yield self.finding(where, "warning", "body-only", message)
                continue
            # An invalid code is reported on its own (`currency`); comparing it would say it twice.
            if (
                comp.currency
                and is_currency(comp.currency)
                and row.currency
                and comp.currency != row.currency
            ):
                message = (
                    f"currency {comp.currency} disagrees with the body's {row.currency} (line {row.line})"
                )
                yield self.finding(f"{where}.currency", "error", "body-mismatch", message)
                continue
            yield from self.disagreements(comp, row, where)

    def disagreements(self, comp: Compensation, row: BodyRegion, where: str) -> Iterator[Finding]:
        for column, amount in row.amounts.items():
            for end, body_value in (("low", amount.low), ("high", amount.high)):
                name = f"{column}_{end}"
                value = getattr(comp, name)
                # Rounding: the text shows the figure to its last digit, so half a step either way agrees.
                if value is None or body_value is None or abs(value - body_value) <= amount.precision / 2:
                    continue
                message = (
                    f"{name} {_num(value)} disagrees with the body's {amount.text} "
                    f"(line {row.line}: {_num(body_value)})"
                )
                yield self.finding(f"{where}.{name}", "error", "body-mismatch", message)
        pct = row.figures.get("bonus_pct")
        if pct is not None and comp.bonus_pct is not None and abs(comp.bonus_pct - pct) > 0.5:
            message = f"bonus_pct {_num(comp.bonus_pct)} disagrees with the body's {pct:g}% (line {row.line})"
            yield self.finding(f"{where}.bonus_pct", "error", "body-mismatch", message)

    def ranges(self, comp: Compensation, where: str) -> Iterator[Finding]:
        for low_name, high_name in _PAIRS:
            low, high = getattr(comp, low_name), getattr(comp, high_name)
            if low is not None and high is not None and low > high:
                yield self.finding(
                    f"{where}.{low_name}",
                    "error",
                    "range",
                    f"{low_name} {_num(low)} is above {high_name} {_num(high)}",
                )

    def total(self, comp: Compensation, where: str) -> Iterator[Finding]:
        for end in ("low", "high"):
            total = getattr(comp, f"total_comp_{end}")
            base = getattr(comp, f"base_{end}")
            if total is None or base is None:
                continue
            bonus = getattr(comp, f"bonus_{end}")
            bonus_label = "bonus"
            if bonus is None and comp.bonus_pct is not None:
                bonus, bonus_label = base * comp.bonus_pct / 100, f"bonus {_num(comp.bonus_pct)}%"
            if bonus is None:
                continue
            stock = getattr(comp, f"stock_{end}")
            parts = [f"base {_num(base)}", f"{bonus_label} {_num(bonus)}"]
            expected = base + bonus
            if stock is not None:
                expected += stock
                parts.insert(1, f"stock {_num(stock)}")
            tolerance = max(1.0, abs(expected) * TOTAL_TOLERANCE)
            # With stock unknown the total may include it, so only a total below the cash is wrong.
            wrong = abs(total - expected) > tolerance if stock is not None else total < expected - tolerance
            if wrong:
                relation = "expected" if stock is not None else "expected at least"
                yield self.finding(
                    f"{where}.total_comp_{end}",
                    "error",
                    "total",
                    f"total {_num(total)} does not add up: {relation} {_num(expected)} ({' + '.join(parts)})",
                )

    def currency(self, comp: Compensation, where: str) -> Iterator[Finding]:
        if comp.currency is None:
            if comp.has_figures:
                yield self.finding(
                    where, "warning", "currency", "no currency: figures will print without a symbol"
                )
        elif not is_currency(comp.currency):
            yield self.finding(
                f"{where}.currency",
                "error",
                "currency",
                f"{comp.currency!r} is not an ISO 4217 currency code",
            )

    def body(self) -> Iterator[Finding]:
        if not needs_scan(self.guide.body):
            return
        try:
            with time_limit(BODY_SECONDS, _BodyTooSlow):
                scan = _scan_body(self.guide.body)
                depth = nesting_depth(sanitize(scan.html))
        except _BodyTooSlow:
            message = (
                f"the Markdown body takes over {BODY_SECONDS:g} s to convert (long runs of '[' or lists"
                " nested very deep?); a render may run into --timeout"
            )
            yield self.finding("body", "error", "body-too-complex", message, self.guide.body_line)
            return
        except RecursionError:
            message = "the Markdown body nests too deeply to convert"
            yield self.finding("body", "error", "body-too-complex", message, self.guide.body_line)
            return
        except RenderError as exc:  # the Markdown stage's own refusals (lists nested past its bound)
            yield self.finding("body", "error", "body-too-complex", str(exc), self.guide.body_line)
            return
        if depth > MAX_NESTING:
            message = f"the body nests elements {depth} levels deep, over the limit of {MAX_NESTING}"
            yield self.finding("body", "error", "body-too-deep", message, self.guide.body_line)
        for tag in scan.removed_tags:
            yield self.finding(
                "body", "warning", "removed-html", f"will be removed: <{tag}>", self.body_line(rf"<{tag}\b")
            )
        for attr, tag in scan.removed_attributes:
            line = self.body_line(rf"\b{re.escape(attr)}\s*=")
            message = f"will be removed: {attr}= on <{tag}>"
            yield self.finding("body", "warning", "removed-html", message, line)
        for url in scan.removed_links:
            line = self.body_line(re.escape(url))
            message = (
                f"link to {url} will print as plain text (only http, https, mailto and #fragments stay links)"
            )
            yield self.finding("body", "warning", "removed-html", message, line)
        for src in scan.images:
            yield from self.image(src)

    def image(self, src: str) -> Iterator[Finding]:
        line = self.body_line(re.escape(src))
        try:
            parts = urlsplit(src)
        except ValueError:  # `http://[` and the like
            yield self.finding(
                "body", "warning", "removed-html", f"image source {src[:60]} is not a URL", line
            )
            return
        scheme = parts.scheme.lower()
        if scheme in URL_SCHEMES or (not scheme and parts.netloc):
            if not self.allow_network:
                message = f"remote image {src} is not fetched without --allow-network"
                yield self.finding("body", "warning", "image-remote", message, line)
            return
        if scheme:
            message = f"will be removed: image source {src[:60]} ({scheme}: URLs are not allowed)"
            yield self.finding("body", "warning", "removed-html", message, line)
            return
        folder = real_path(self.guide.path.parent)
        target = real_path(folder / unquote(parts.path))  # a symlink loop stays a path that is no file
        if not target.is_relative_to(folder):
            absolute = parts.path.startswith("/")
            message = f"image {src} is outside the guide's folder and will not be read"
            yield self.finding("body", "warning" if absolute else "error", "image-outside", message, line)
        elif not target.is_file():
            # A name that is there but leads nowhere (a symlink loop) is the sandbox's to refuse.
            named = folder / unquote(parts.path)
            code = "image-unreadable" if os.path.lexists(named) else "image-missing"
            what = "is a symlink that leads nowhere" if named.is_symlink() else "does not exist"
            yield self.finding("body", "error", code, f"image {src} {what}", line)
        else:
            yield from self.image_size(src, target, line)

    def image_size(self, src: str, target: Path, line: int | None) -> Iterator[Finding]:
        from .images import oversize_reason

        try:
            reason = oversize_reason(read_limited(target, MAX_RESOURCE_BYTES))
        except OSError as exc:
            reason = f"cannot read: {exc.strerror or exc}"
        if reason:
            yield self.finding("body", "error", "image-refused", f"image {src}: {reason}", line)

    def glyphs(self) -> Iterator[Finding]:
        from .glyphs import uncovered, warning

        missing = uncovered(self.guide.source)
        if missing:
            at = self.guide.source.find(missing[0])
            line = self.guide.source.count("\n", 0, at) + 1 if at >= 0 else None
            where = "body" if line and line >= self.guide.body_line else None
            yield self.finding(where, "warning", "no-font", warning(missing), line)

    def body_line(self, pattern: str) -> int | None:
        """The file line of the first body line matching `pattern` (case-insensitive)."""
        found = re.search(pattern, self.guide.body, re.IGNORECASE)
        if found is None:
            return None
        return self.guide.body_line + self.guide.body.count("\n", 0, found.start())


@dataclass(frozen=True)
class _BodyScan:
    """What the Markdown of a body turns into that matters before sanitizing: images and doomed HTML."""

    html: str
    images: tuple[str, ...]
    removed_tags: tuple[str, ...]
    removed_attributes: tuple[tuple[str, str], ...]
    removed_links: tuple[str, ...]


_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


class _TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: dict[str, None] = {}
        self.tags: dict[str, None] = {}
        self.attributes: dict[tuple[str, str], None] = {}
        self.links: dict[str, None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            if tag not in _HARMLESS_TAGS:
                self.tags.setdefault(tag, None)
            return
        allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | ALLOWED_ATTRIBUTES["*"]
        for name, value in attrs:
            # Markdown writes align styles and classes itself; the pipeline rewrites or filters those.
            if name.startswith("on") or (name not in allowed and name not in ("class", "style")):
                self.attributes.setdefault((name, tag), None)
            elif name in ("href", "src") and value:
                # Not urlsplit: it raises on text such as `https://x.org[`, which a bare address can be.
                found = _SCHEME_RE.match(value.strip())
                scheme = found.group(1).lower() if found else ""
                if tag == "img":
                    self.images.setdefault(value.strip(), None)
                elif not live_link(value) if tag == "a" else scheme and scheme not in URL_SCHEMES:
                    self.links.setdefault(value.strip(), None)


class _BodyTooSlow(Exception):
    """The body's Markdown conversion ran past BODY_SECONDS."""


# A link or reference target that is not plainly http(s) or a #fragment: another scheme, a relative
# path (printed as text), or characters that could spell a scheme once decoded (`&#106;avascript:`).
_ODD_TARGET_RE = re.compile(r"(?:\]\(|^\s{0,3}\[[^\]]*\]:)\s*(?!https?://[\w-]|#)", re.M)
# Bare addresses the Markdown extensions turn into links (`ftp://…`, `ftp.…`, e-mail addresses) or
# into links that are not (`https://` with no host, `https://x.org[`), and task-list items
# (drawn as boxes from an <input> the sanitizer removes).
_ODD_TEXT_RE = re.compile(
    r"(?<![\w.+-])(?!https?://)[A-Za-z][\w+.-]*://|\bftp\.|[\w.+-]@[\w-]+\.\w"
    r"|https?://(?![\w-])|https?://[^\s<]*[\[\]]"
    r"|^\s*(?:[-*+]|\d+[.)])\s+\[[ xX]\]",
    re.M,
)
#: Bodies beyond these are converted even with nothing to find, to catch what converts slowly or nests
#: too deep: runs of `[`, indentation (nested lists), `>` (nested quotes), emphasis markers on a line.
_FAST_MAX_BRACKETS = 500
_FAST_MAX_INDENT = 16
_FAST_MAX_QUOTES = 8
_FAST_MAX_MARKERS = 40


def needs_scan(body: str) -> bool:
    """False when converting the body's Markdown cannot find anything to report, so `check` skips it.

    Every finding of the body scan comes from raw HTML (`<`: tags, attributes, autolinks), an image
    (`![`), a link to another scheme than http(s) (written, or made from a bare address), a task
    list, or nesting deep enough to matter. A body with none of these has nothing to report; the
    shapes Python-Markdown converts slowly or nests deeply are always converted, under the time limit.
    `tests/test_figures.py` holds this against random Markdown.
    """
    if "<" in body or "![" in body or body.count("[") > _FAST_MAX_BRACKETS:
        return True
    if _ODD_TARGET_RE.search(body) or _ODD_TEXT_RE.search(body):
        return True
    for line in body.splitlines():
        stripped = line.lstrip(" \t>")
        lead = line[: len(line) - len(stripped)]
        if stripped and (len(lead.expandtabs(4)) >= _FAST_MAX_INDENT or lead.count(">") >= _FAST_MAX_QUOTES):
            return True
        if sum(line.count(c) for c in "*_~`") > _FAST_MAX_MARKERS:
            return True
    return False


def _scan_body(body: str) -> _BodyScan:
    from .markup import markdown_converter

    html = markdown_converter().convert(body)
    collector = _TagCollector()
    collector.feed(html)
    collector.close()
    return _BodyScan(
        html=html,
        images=tuple(collector.images),
        removed_tags=tuple(collector.tags),
        removed_attributes=tuple(collector.attributes),
        removed_links=tuple(collector.links),
    )


def field_lines(guide: Guide) -> dict[str, int]:
    """The file line of each front-matter field path (`compensation[1].base_low`), where known."""
    return guide.lines


def duplicate_keys(guide: Guide) -> list[tuple[str, int, int]]:
    """Keys given twice in one front-matter mapping: (field path, first line, repeated line).

    Found by the loader's one parse of the front matter (see `Guide.duplicate_keys`).
    """
    return list(guide.duplicate_keys)


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
