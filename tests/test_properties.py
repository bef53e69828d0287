"""Properties over generated input: the loader only raises its own errors, the sanitizer lets nothing
active through, money formatting and slugs are total and stable."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from guidepdf.errors import GuideError
from guidepdf.guide import DATE_FIELDS, LIST_FIELDS, NUMBER_FIELDS, TEXT_FIELDS, Guide, parse_guide, slugify
from guidepdf.markup import render_body, sanitize
from guidepdf.money import compact_number, format_money, format_percent, format_range

PATH = Path("fuzz") / "guide.md"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLUG_RE = re.compile(r"^(?:[a-z0-9]+(?:-[a-z0-9]+)*)?$")


def assert_valid(guide: Guide) -> None:
    """What every loaded guide promises, whatever the file said."""
    assert isinstance(guide.title, str) and guide.title
    assert SLUG_RE.match(guide.slug) and guide.slug
    for comp in guide.compensation:
        for name in NUMBER_FIELDS:
            value = getattr(comp, name)
            assert value is None or (isinstance(value, int | float) and math.isfinite(value) and value >= 0)
        assert comp.currency is None or comp.currency == comp.currency.upper()
    for day in (guide.last_updated, guide.next_review_due):
        assert day is None or isinstance(day, date)
    assert all(isinstance(s, str) and s for s in (*guide.data_sources, *guide.tags))


def load(data: bytes | str) -> Guide | GuideError:
    """Parse, returning the project's error instead of raising it; anything else propagates and fails."""
    try:
        guide = parse_guide(data, PATH)
    except GuideError as exc:
        assert str(exc).startswith(str(PATH)), str(exc)
        assert "\n" not in exc.message.strip() or "YAML" in exc.message
        return exc
    assert_valid(guide)
    return guide


# --- the loader ------------------------------------------------------------------------------

yaml_ish = st.text(alphabet=st.sampled_from(list("---\n :[]{}&*!|>'\"#%@`,?-abc01.\t\\\x00é")), max_size=200)


@FAST
@given(st.binary(max_size=2000))
@example(b"\xff\xfe---\n")
@example(b"---\n\x00: \x00\n---\n")
def test_loader_on_arbitrary_bytes(data: bytes) -> None:
    load(data)


@FAST
@given(st.text(max_size=2000))
def test_loader_on_arbitrary_text(text: str) -> None:
    load(text)


@FAST
@given(yaml_ish, st.text(max_size=200))
@example("a: &x [*x]", "")
@example("a: !!python/object:os.system [echo]", "")
@example("compensation: [{base_low: .nan}]", "")
@example("last_updated: 2026-02-30", "")
@example("[" * 100, "")
@example("company: a\x7fb\x0b", "")
def test_loader_on_yaml_like_front_matter(front: str, body: str) -> None:
    load(f"---\n{front}\n---\n{body}")


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.dates(),
    st.datetimes(),
    st.sampled_from(["", " ", "1,200", "12_000", "abc", "2026-02-23", "null", "-5", "1e400", "0x10"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
# Mostly plausible values, so that many generated guides load and their invariants get checked.
figures = st.one_of(st.none(), st.integers(0, 10**9), st.floats(0, 1e9), st.sampled_from(["1,200", " "]))
texts = st.one_of(st.none(), st.text(max_size=30))
region = st.dictionaries(
    st.sampled_from([*NUMBER_FIELDS, "region", "currency", "notes"]),
    st.one_of(figures, figures, figures, texts, values),
    max_size=len(NUMBER_FIELDS) + 3,
)
known = st.fixed_dictionaries(
    {},
    optional={
        **{name: st.one_of(texts, texts, values) for name in TEXT_FIELDS},
        **{name: st.one_of(st.dates(), st.none(), values) for name in DATE_FIELDS},
        **{name: st.one_of(st.lists(st.text(max_size=10), max_size=3), values) for name in LIST_FIELDS},
        "level_mapping": values,
        "compensation": st.one_of(values, region, st.lists(st.one_of(region, values), max_size=4)),
        "unknown_field": values,
    },
)


def to_yaml(data: Any) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        return value

    return yaml.safe_dump(plain(data), allow_unicode=True, sort_keys=False)


@FAST
@given(known)
def test_loader_on_structured_front_matter(front: dict[str, Any]) -> None:
    result = load(f"---\n{to_yaml(front)}---\n# Body\n")
    if isinstance(result, GuideError):
        assert result.field is None or result.field.split("[")[0].split(".")[0] in front
    else:
        assert set(result.extra) <= set(front) - {"compensation", *TEXT_FIELDS, *DATE_FIELDS, *LIST_FIELDS}


@FAST
@given(st.lists(st.sampled_from(NUMBER_FIELDS), min_size=1, unique=True), st.integers(0, 10**12))
def test_well_formed_figures_always_load(fields: list[str], amount: int) -> None:
    comp = {"region": "X", "currency": "usd", **{name: amount for name in fields}}
    guide = load(f"---\n{to_yaml({'compensation': [comp]})}---\n")
    assert isinstance(guide, Guide)
    assert guide.compensation[0].currency == "USD"
    assert all(getattr(guide.compensation[0], name) == amount for name in fields)


# --- the sanitizer ---------------------------------------------------------------------------

DANGEROUS_TAGS = [
    "script",
    "style",
    "link",
    "iframe",
    "object",
    "embed",
    "svg",
    "math",
    "meta",
    "base",
    "form",
    "input",
    "frame",
    "frameset",
    "template",
    "noscript",
    "applet",
    "audio",
    "video",
    "textarea",
]
SAFE_TAGS = ["p", "a", "img", "div", "span", "table", "td", "em", "b", "li", "h1"]
ATTRIBUTES = [
    'onclick="x()"',
    "onerror=alert(1)",
    'ONLOAD="x"',
    'style="background:url(http://evil.test/)"',
    'href="javascript:alert(1)"',
    'href="  JaVaScRiPt:alert(1)"',
    'href="jav&#x09;ascript:alert(1)"',
    'src="javascript:alert(1)"',
    'src="data:image/svg+xml;base64,PHN2Zz4="',
    'href="vbscript:x"',
    'href="file:///etc/passwd"',
    'srcset="http://evil.test/a.png 1x"',
    'formaction="http://evil.test"',
    'xlink:href="javascript:x"',
    'href="https://example.com/ok"',
    'src="ok.png"',
    'class="evil"',
    'id="ok"',
]
TEXT_BITS = ["text", "{{ 7*7 }}", "&lt;script&gt;", "<!-- c -->", "]]>", "<", ">", '"', "'", "\n\n"]


@st.composite
def hostile_html(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 3 if depth < 3 else 1))
        if kind <= 1:
            parts.append(draw(st.sampled_from(TEXT_BITS)))
            continue
        tag = draw(st.sampled_from(DANGEROUS_TAGS + SAFE_TAGS))
        tag = draw(st.sampled_from([tag, tag.upper(), tag.title()]))
        attrs = " ".join(draw(st.lists(st.sampled_from(ATTRIBUTES), max_size=3)))
        inner = draw(hostile_html(depth + 1))
        closing = draw(st.sampled_from([f"</{tag}>", "", f"</{tag} >"]))
        parts.append(f"<{tag} {attrs}>{inner}{closing}")
    return "".join(parts)


class ActiveContent(HTMLParser):
    """Collects every element and attribute that could run, style or fetch something."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DANGEROUS_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "srcset", "formaction", "xlink:href"):
                self.found.append(f"{name}= on <{tag}>")
            if name in ("href", "src") and value:
                scheme = re.match(r"\s*([a-zA-Z][a-zA-Z0-9+.-]*):", re.sub(r"[\x00-\x20]", "", value))
                if scheme and scheme.group(1).lower() not in ("http", "https"):
                    self.found.append(f"{name}={value!r} on <{tag}>")
            if name == "class" and value and "evil" in value:
                self.found.append(f"class={value!r}")


def active_content(html: str) -> list[str]:
    parser = ActiveContent()
    parser.feed(html)
    parser.close()
    return parser.found


def test_the_detector_sees_what_it_should() -> None:
    # Guards against a vacuous pass: the raw hostile HTML is full of what the sanitizer must remove.
    raw = '<p onclick="x()">a</p><script>x</script><a href=" javascript:y">b</a><img src="data:x">'
    assert len(active_content(raw)) == 4


@FAST
@given(hostile_html())
def test_sanitize_removes_active_content(fragment: str) -> None:
    clean = sanitize(fragment)
    assert active_content(clean) == []
    # Re-parsing the output (as WeasyPrint does) must not bring anything back to life.
    assert active_content(sanitize(clean)) == []


@FAST
@given(hostile_html(), st.sampled_from(["", "# Heading\n\n", "| a |\n|---|\n| b |\n\n", "> **Note:** "]))
def test_render_body_removes_active_content(fragment: str, markdown_prefix: str) -> None:
    body = render_body(markdown_prefix + fragment + "\n\n[link](javascript:alert(1)) ![i](javascript:x)")
    assert active_content(body.html) == []


# --- money and slugs -------------------------------------------------------------------------

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.none(),
)
currencies = st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["USD", "gbp", "HKD", "CHF", " eur "]))
COMPACT_RE = re.compile(r"^-?\d+(?:\.\d+)?[KMB]?$|^\?$")


@FAST
@given(numbers, currencies)
def test_money_formatting_is_total_and_stable(value: float | None, currency: str | None) -> None:
    text = format_money(value, currency)
    assert isinstance(text, str) and text == format_money(value, currency)
    if value is None:
        assert text == "—"
    else:
        compact = compact_number(value)
        assert COMPACT_RE.match(compact), compact
        assert text.endswith(compact)
        if isinstance(value, float) and not math.isfinite(value):
            assert compact == "?"
    assert "\n" not in text


@FAST
@given(numbers, numbers, currencies)
def test_money_ranges_are_total(low: float | None, high: float | None, currency: str | None) -> None:
    text = format_range(low, high, currency)
    assert text == format_range(low, high, currency) and text and "\n" not in text
    if low is None and high is None:
        assert text == "—"
    elif low is not None and high is not None and low != high:
        assert "–" in text


@FAST
@given(numbers)
def test_percent_is_total(value: float | None) -> None:
    text = format_percent(value)
    assert text == "—" or re.match(r"^-?\d+(\.\d)?%$", text), text


@FAST
@given(st.text(max_size=200))
@example("Zürich — Staff Engineer (L6)")
@example("İstanbul ǅ ﬁ ①")
def test_slugify_is_total_idempotent_and_plain(text: str) -> None:
    slug = slugify(text)
    assert SLUG_RE.match(slug), slug
    assert slugify(slug) == slug == slugify(text)
