"""Read a guide file into a validated `Guide`: errors name the file, the field path and the line."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import yaml
from frontmatter.default_handlers import YAMLHandler

from .errors import GuideError
from .reading import TooLarge, read_limited
from .slug import slugify

#: Files larger than this are refused before any parsing.
MAX_BYTES = 5_000_000
#: YAML aliases may not expand the front matter past this many values (alias bombs).
MAX_VALUES = 100_000
#: YAML nesting deeper than this is refused rather than recursed into.
MAX_DEPTH = 64
#: Money figures above this are refused: no pay range is that large, and 1e300 breaks formatting.
MAX_FIGURE = 10**15

NUMBER_FIELDS = (
    "base_low",
    "base_high",
    "stock_low",
    "stock_high",
    "bonus_low",
    "bonus_high",
    "bonus_pct",
    "total_comp_low",
    "total_comp_high",
)
TEXT_FIELDS = (
    "title",
    "subtitle",
    "company",
    "company_display",
    "role",
    "role_display",
    "role_type",
    "data_quality",
    "salary_data_quarter",
    "negotiation_dna_summary",
    "lang",
    "author",
    "summary",
)
DATE_FIELDS = ("last_updated", "next_review_due")
LIST_FIELDS = ("data_sources", "tags")
KNOWN_FIELDS = frozenset((*TEXT_FIELDS, *DATE_FIELDS, *LIST_FIELDS, "compensation", "level_mapping"))

_TAG_RE = re.compile(r"`([^`\n]+)`")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_BOUNDARY = YAMLHandler.FM_BOUNDARY


@dataclass(frozen=True)
class Compensation:
    """One region's pay ranges from the front matter; any figure may be missing (None)."""

    region: str | None = None
    currency: str | None = None
    base_low: float | None = None
    base_high: float | None = None
    stock_low: float | None = None
    stock_high: float | None = None
    bonus_low: float | None = None
    bonus_high: float | None = None
    bonus_pct: float | None = None
    total_comp_low: float | None = None
    total_comp_high: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    #: Where the figures come from: "front matter", or "body" when read from the guide's own table.
    origin: str = "front matter"

    @property
    def has_figures(self) -> bool:
        """True when at least one money figure is given."""
        return any(getattr(self, name) is not None for name in NUMBER_FIELDS)

    @property
    def has_total(self) -> bool:
        """True when a total-compensation figure is given."""
        return self.total_comp_low is not None or self.total_comp_high is not None


@dataclass(frozen=True)
class Guide:
    """A loaded guide: its source, validated known fields, unknown fields and Markdown body."""

    path: Path
    source: str
    body: str
    body_line: int
    meta: dict[str, Any]
    title: str
    company: str | None = None
    company_display: str | None = None
    role: str | None = None
    role_display: str | None = None
    role_type: str | None = None
    data_quality: str | None = None
    salary_data_quarter: str | None = None
    last_updated: date | None = None
    next_review_due: date | None = None
    compensation: tuple[Compensation, ...] = ()
    data_sources: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    lang: str = "en"
    extra: dict[str, Any] = field(default_factory=dict)
    #: The file line of each front-matter field path (`compensation[1].base_low`), from the one parse.
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    #: Keys given twice in one mapping: (field path, first line, repeated line), from the same parse.
    duplicate_keys: tuple[tuple[str, int, int], ...] = field(default=(), compare=False, repr=False)

    @property
    def slug(self) -> str:
        """The output stem: `<company>-<role>` from the front matter, else the file stem."""
        if self.company and self.role:
            return slugify(f"{self.company}-{self.role}")
        return slugify(self.path.stem) or "guide"

    @property
    def headline(self) -> Compensation | None:
        """The first region with a total-compensation range, else the first with any figure."""
        for comp in self.compensation:
            if comp.has_total:
                return comp
        return next((comp for comp in self.compensation if comp.has_figures), None)

    def review_overdue(self, as_of: date) -> bool:
        """True when the guide's review date is before `as_of`."""
        return self.next_review_due is not None and self.next_review_due < as_of


def humanize(slug: str) -> str:
    """`jane-street` -> `Jane Street`, for names given only as slugs."""
    words = re.split(r"[-_\s]+", slug.strip())
    return " ".join(w if w.isupper() else w[:1].upper() + w[1:] for w in words if w)


def load_guide(path: Path | str, *, max_bytes: int = MAX_BYTES) -> Guide:
    """Read and validate the guide at `path`; raise `GuideError` naming what is wrong."""
    path = Path(path)
    try:
        data = read_limited(path, max_bytes)  # a regular file only; /dev/zero or a FIFO cannot hang it
    except TooLarge as exc:
        raise GuideError(path, exc.strerror or str(exc)) from None
    except IsADirectoryError:
        raise GuideError(path, "is a folder, not a guide file") from None
    except OSError as exc:
        raise GuideError(path, f"cannot read: {exc.strerror or exc}") from None
    return parse_guide(data, path, max_bytes=max_bytes)


def parse_guide(data: bytes | str, path: Path | str, *, max_bytes: int = MAX_BYTES) -> Guide:
    """Validate a guide's text (bytes or str) as if read from `path` (used for errors and stems)."""
    path = Path(path)
    if isinstance(data, bytes):
        if len(data) > max_bytes:
            raise GuideError(path, f"file is {len(data):,} bytes, over the {max_bytes:,}-byte limit")
        text = _decode(data, path)
    else:
        text = data.removeprefix("\ufeff")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")

    fm_text, body, fm_line, body_line = _split(text, path)
    raw, lines, duplicates = _load_yaml(fm_text, path, fm_line) if fm_text.strip() else ({}, {}, ())
    _refuse_surrogates(path, text, raw, lines)
    guide = _build(path, text, body, body_line, raw, lines)
    return replace(guide, duplicate_keys=duplicates) if duplicates else guide


def _refuse_surrogates(path: Path, text: str, raw: dict[str, Any], lines: dict[str, int]) -> None:
    """Refuse lone surrogates (a YAML `"\\ud800"` escape, or text handed in as str): no file holds them."""
    if not _SURROGATE_RE.search(text) and not _has_surrogate(raw):
        return
    for where, value in _walk(raw, ""):
        found = _SURROGATE_RE.search(value)
        if found:
            message = f"contains a lone surrogate (\\u{ord(found.group()):04x}); write the character itself"
            shown = where.encode("utf-8", "backslashreplace").decode("utf-8")
            raise GuideError(path, message, field=shown, line=lines.get(where))
    found = _SURROGATE_RE.search(text)
    if found:
        line = text.count("\n", 0, found.start()) + 1
        raise GuideError(path, f"contains a lone surrogate (\\u{ord(found.group()):04x})", line=line)


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _has_surrogate(value: Any) -> bool:
    return any(_SURROGATE_RE.search(text) for _, text in _walk(value, ""))


def _walk(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every key and string value in the front matter, with its field path."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key)
            path = f"{where}.{name}" if where else name
            yield path, name
            yield from _walk(item, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{where}[{i}]")


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise GuideError(path, "not valid UTF-8 text", line=line) from None


def _split(text: str, path: Path) -> tuple[str, str, int, int]:
    """Return (front matter, body, first front-matter line, first body line)."""
    if not text.startswith("---"):
        return "", text, 1, 1
    boundaries = list(_BOUNDARY.finditer(text, 0))
    if not boundaries or boundaries[0].start() != 0:
        return "", text, 1, 1
    if len(boundaries) < 2:
        raise GuideError(path, "front matter opened with '---' is never closed", line=1)
    opening, closing = boundaries[0], boundaries[1]
    fm = text[opening.end() : closing.start()]
    body = text[closing.end() :].lstrip("\n")
    body_line = text[: len(text) - len(body)].count("\n") + 1
    # `fm` starts with the newline that ends the opening `---`, so its line 0 is file line 1.
    return fm, body, 1, body_line


class _Scalars:
    """The safe constructor's changes, shared by the pure-Python loader and the libyaml one."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        # An impossible date such as 2026-13-45 stays text, so the field check names the field.
        try:
            return yaml.constructor.SafeConstructor.construct_yaml_timestamp(self, node)  # type: ignore[arg-type]
        except (ValueError, OverflowError):
            return yaml.constructor.SafeConstructor.construct_scalar(self, node)  # type: ignore[arg-type]

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        # Python refuses to parse ints of thousands of digits; such a "number" stays text, so the
        # field check reports it on one line instead of a ValueError escaping.
        try:
            return yaml.constructor.SafeConstructor.construct_yaml_int(self, node)  # type: ignore[arg-type]
        except ValueError:
            return yaml.constructor.SafeConstructor.construct_scalar(self, node)  # type: ignore[arg-type]


class _Loader(_Scalars, yaml.SafeLoader):
    """SafeLoader: builds only plain types; anything tagged to construct an object is refused."""


def _register(loader: Any) -> None:
    loader.add_constructor("tag:yaml.org,2002:timestamp", _Scalars.construct_yaml_timestamp)
    loader.add_constructor("tag:yaml.org,2002:int", _Scalars.construct_yaml_int)


_register(_Loader)

_FastLoader: type | None = None
if getattr(yaml, "__with_libyaml__", False):

    class _CLoader(_Scalars, yaml.CSafeLoader):
        """The same safe constructor on libyaml's parser: about ten times faster on long front matter."""

    _register(_CLoader)
    _FastLoader = _CLoader


_Loaded = tuple[dict[str, Any], dict[str, int], tuple[tuple[str, int, int], ...]]


def _load_yaml(fm_text: str, path: Path, first_line: int) -> _Loaded:
    """The front matter's fields, each field path's line, and keys given twice (path, first, second line)."""
    if _FastLoader is not None and not yaml.reader.Reader.NON_PRINTABLE.search(fm_text):
        try:
            return _load_with(_FastLoader(fm_text), fm_text, path, first_line)
        except GuideError:
            raise  # found while measuring (alias bombs, depth): the same either way
        except Exception:
            pass  # parse again below, so a bad file gets exactly the pure-Python loader's outcome
    try:
        # The reader refuses control characters as soon as it is built, before any parsing.
        loader = _Loader(fm_text)
    except yaml.reader.ReaderError as exc:
        at = first_line + fm_text.count("\n", 0, exc.position)
        raise GuideError(
            path, f"YAML error: control character #x{exc.character:04x} is not allowed", line=at
        ) from None
    return _load_with(loader, fm_text, path, first_line, report=True)


def _load_with(loader: Any, fm_text: str, path: Path, first_line: int, *, report: bool = False) -> _Loaded:
    """Compose, measure and construct with `loader`; YAML errors become `GuideError` when `report`."""
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}, ()
        lines: dict[str, int] = {}
        duplicates: list[tuple[str, int, int]] = []
        _measure(node, "", lines, first_line, path, duplicates)
        value = loader.construct_document(node)
    except (yaml.YAMLError, RecursionError) as exc:
        if not report:
            raise
        _report(exc, path, first_line)
    finally:
        loader.dispose()
    if not isinstance(value, Mapping):
        raise GuideError(
            path, f"front matter must be a mapping of fields, got {_kind(value)}", line=first_line
        )
    return {str(k): v for k, v in value.items()}, lines, tuple(sorted(duplicates, key=lambda d: d[2]))


def _report(exc: BaseException, path: Path, first_line: int) -> NoReturn:
    """Raise the one-line `GuideError` for a YAML or recursion error."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and "<stream end>" in (exc.problem or ""):
            mark = exc.context_mark  # "unclosed [" is best reported where the [ opened
        line = first_line + mark.line if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        problem = problem.replace("could not determine a constructor for the tag", "tag not allowed:")
        raise GuideError(path, f"YAML error: {problem}", line=line) from None
    if isinstance(exc, RecursionError):
        raise GuideError(path, f"front matter is nested more than {MAX_DEPTH} levels deep") from None
    raise GuideError(path, f"YAML error: {str(exc).splitlines()[0]}") from None


def _measure(
    node: yaml.Node,
    where: str,
    lines: dict[str, int],
    first: int,
    path: Path,
    duplicates: list[tuple[str, int, int]],
) -> None:
    """Record each value's line and each key given twice in one mapping; refuse alias bombs and deep
    nesting before anything is built."""
    budget = [MAX_VALUES]

    def walk(node: yaml.Node, where: str, depth: int) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise GuideError(path, f"front matter expands to more than {MAX_VALUES:,} values")
        if depth > MAX_DEPTH:
            raise GuideError(
                path,
                f"front matter is nested more than {MAX_DEPTH} levels deep",
                line=first + node.start_mark.line,
            )
        if where and where not in lines:
            lines[where] = first + node.start_mark.line
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
                child = f"{where}.{name}" if where else name
                # YAML keeps the last of two equal keys without a word; check reports it.
                line = first + key.start_mark.line
                if name in seen:
                    duplicates.append((child, seen[name], line))
                else:
                    seen[name] = line
                walk(value, child, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, f"{where}[{i}]", depth + 1)

    walk(node, where, 0)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Checker:
    """Validates known fields; each error names the field path and its line."""

    def __init__(self, path: Path, lines: dict[str, int]) -> None:
        self.path = path
        self.lines = lines

    def fail(self, where: str, message: str) -> GuideError:
        return GuideError(self.path, message, field=where, line=self.lines.get(where))

    def text(self, value: Any, where: str) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool | Mapping | list):
            raise self.fail(where, f"expected text, got {_kind(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(where, f"expected text, got {value}")
        text = str(value).strip()
        return text or None

    def number(self, value: Any, where: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(where, f"expected a number, got {_kind(value)}")
        given = value
        if isinstance(value, str):
            cleaned = value.strip().replace(",", "").replace("_", "").replace(" ", "")
            if not cleaned:
                return None
            try:
                value = float(cleaned)
            except ValueError:
                raise self.fail(where, f"expected a number, got {_kind(value)}") from None
        try:
            number = float(value)
        except OverflowError:  # an int of hundreds of digits
            number = math.inf
        if not math.isfinite(number):
            raise self.fail(where, f"expected a number, got {_kind(given)}")
        if abs(number) > MAX_FIGURE:
            raise self.fail(where, f"expected a number up to {MAX_FIGURE:.0e}, got {_kind(given)}")
        if number < 0:
            raise self.fail(where, f"expected a number of zero or more, got {_kind(value)}")
        return int(number) if number.is_integer() else number

    def day(self, value: Any, where: str) -> date | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str) and value.strip():
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.fail(where, f"expected a date (YYYY-MM-DD), got {_kind(value)}")

    def texts(self, value: Any, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            single = self.text(value, where)
            return (single,) if single else ()
        items = (self.text(item, f"{where}[{i}]") for i, item in enumerate(value))
        return tuple(item for item in items if item)

    def compensation(self, value: Any) -> tuple[Compensation, ...]:
        if value is None:
            return ()
        if isinstance(value, Mapping):
            value = [value]
        if not isinstance(value, list):
            raise self.fail("compensation", f"expected a list of regions, got {_kind(value)}")
        regions = []
        for i, item in enumerate(value):
            where = f"compensation[{i}]"
            if item is None:
                continue
            if not isinstance(item, Mapping):
                raise self.fail(where, f"expected a region mapping, got {_kind(item)}")
            item = {str(k): v for k, v in item.items()}
            figures: dict[str, Any] = {
                name: self.number(item.get(name), f"{where}.{name}") for name in NUMBER_FIELDS
            }
            currency = self.text(item.get("currency"), f"{where}.currency")
            extra = {k: v for k, v in item.items() if k not in (*NUMBER_FIELDS, "region", "currency")}
            regions.append(
                Compensation(
                    region=self.text(item.get("region"), f"{where}.region"),
                    currency=currency.upper() if currency else None,
                    extra=extra,
                    **figures,
                )
            )
        return tuple(regions)


def _build(
    path: Path, text: str, body: str, body_line: int, raw: dict[str, Any], lines: dict[str, int]
) -> Guide:
    check = _Checker(path, lines)
    texts = {name: check.text(raw.get(name), name) for name in TEXT_FIELDS}
    dates = {name: check.day(raw.get(name), name) for name in DATE_FIELDS}
    compensation = check.compensation(raw.get("compensation"))
    data_sources = check.texts(raw.get("data_sources"), "data_sources")
    listed_tags = check.texts(raw.get("tags"), "tags")
    level_mapping = raw.get("level_mapping")
    if level_mapping is not None and not isinstance(level_mapping, Mapping | list):
        raise check.fail("level_mapping", f"expected a mapping, got {_kind(level_mapping)}")

    company, role = texts["company"], texts["role"]
    company_display = texts["company_display"] or (humanize(company) if company else None)
    role_display = texts["role_display"] or (humanize(role) if role else None)
    tags = tuple(dict.fromkeys([*_tags(texts["negotiation_dna_summary"]), *listed_tags]))
    return Guide(
        path=path,
        source=text,
        body=body,
        body_line=body_line,
        meta=raw,
        title=_title(texts["title"], company_display, role_display, body, path),
        company=company,
        company_display=company_display,
        role=role,
        role_display=role_display,
        role_type=texts["role_type"],
        data_quality=texts["data_quality"],
        salary_data_quarter=texts["salary_data_quarter"],
        last_updated=dates["last_updated"],
        next_review_due=dates["next_review_due"],
        compensation=compensation,
        data_sources=data_sources,
        tags=tags,
        lang=texts["lang"] or "en",
        extra={k: v for k, v in raw.items() if k not in KNOWN_FIELDS},
        lines=lines,
    )


def _tags(summary: str | None) -> Iterator[str]:
    if not summary:
        return
    found = [t.strip() for t in _TAG_RE.findall(summary) if t.strip()]
    if found:
        yield from found
    else:
        yield from (t.strip() for t in summary.split(",") if t.strip())


def _title(title: str | None, company: str | None, role: str | None, body: str, path: Path) -> str:
    if title:
        return title
    if company and role:
        return f"{company} — {role}"
    if company or role:
        return company or role or ""
    match = _HEADING_RE.search(body)
    if match:
        plain = re.sub(r"[*_`\[\]]|\(https?://[^)]*\)", "", match.group(1)).strip()
        if plain:
            return plain
    return humanize(path.stem) or path.name
