"""Turn a guide's Markdown body into sanitized HTML: an allow-list, tag pills, print-friendly links."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

import markdown
import nh3

from .errors import RenderError
from .markdown_lists import ListNestingExtension

#: Elements a guide body may contain; everything else is removed (its text kept where harmless).
ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "code",
        "dd",
        "del",
        "div",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "s",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "*": {"id", "title", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "li": {"value"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
#: Classes the pipeline itself adds; a guide's own class attributes are dropped.
ALLOWED_CLASSES = {
    "a": {"footnote-ref", "footnote-backref", "ext"},
    "div": {"footnote", "callout"},
    "li": {"task-list-item"},
    "p": {"tags"},
    "span": {"tag", "tag-long", "task", "task-done"},
    "ul": {"task-list"},
    "sup": {"footnote-ref"},
    "td": {"align-left", "align-right", "align-center"},
    "th": {"align-left", "align-right", "align-center"},
    "blockquote": {"callout"},
}
URL_SCHEMES = frozenset({"http", "https"})
#: Schemes a link may use to stay live; anything else (relative, `//host`, `file:`) becomes plain text.
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
#: Body elements nested deeper than this are refused: WeasyPrint's layout recurses per level and
#: runs out of stack at about 120; no guide needs more than a dozen.
MAX_NESTING = 64
#: Elements removed together with their content, not just unwrapped.
CLEAN_CONTENT_TAGS = frozenset(
    {
        "script",
        "style",
        "iframe",
        "object",
        "embed",
        "svg",
        "math",
        "template",
        "noscript",
        "textarea",
        "select",
        "title",
        "frame",
        "frameset",
        "applet",
        "audio",
        "video",
    }
)


_LOCAL = threading.local()


def _converter() -> markdown.Markdown:
    """This thread's converter, reset for another body: making a new one (its extensions, its
    processors' patterns) costs a short body's conversion again, and leaves a cycle to collect."""
    md: markdown.Markdown | None = getattr(_LOCAL, "converter", None)
    if md is None:
        md = _LOCAL.converter = markdown_converter()
    else:
        md.reset()
    return md


def markdown_converter() -> markdown.Markdown:
    """A fresh Python-Markdown converter with the extensions a guide body is read with."""
    return _Markdown(extensions=_extensions())


class _Markdown(markdown.Markdown):
    """Python-Markdown, loading the extensions that other extensions name by their module.

    Python-Markdown looks a name up among the entry points of every installed package first, which
    costs a cold start more than the extensions themselves; PyMdown Extensions registers none, so
    its names (`pymdownx.superfences` adds `pymdownx.highlight`) come from their modules either way.
    """

    def build_extension(self, ext_name: str, configs: Mapping[str, Any]) -> markdown.Extension:
        if ext_name.startswith("pymdownx.") and ":" not in ext_name:
            extension: markdown.Extension = import_module(ext_name).makeExtension(**configs)
            return extension
        return super().build_extension(ext_name, configs)


def _extensions() -> list[markdown.Extension]:
    """The extensions a guide body is read with, each a fresh instance with its settings.

    They are made from their classes rather than named, which Python-Markdown would look up among
    the entry points of every installed package.
    """
    from markdown.extensions.footnotes import FootnoteExtension
    from markdown.extensions.sane_lists import SaneListExtension
    from markdown.extensions.tables import TableExtension
    from markdown.extensions.toc import TocExtension
    from pymdownx.betterem import BetterEmExtension
    from pymdownx.escapeall import EscapeAllExtension
    from pymdownx.highlight import HighlightExtension
    from pymdownx.magiclink import MagiclinkExtension
    from pymdownx.saneheaders import SaneHeadersExtension
    from pymdownx.superfences import SuperFencesCodeExtension
    from pymdownx.tasklist import TasklistExtension
    from pymdownx.tilde import DeleteSubExtension

    return [
        TableExtension(),
        FootnoteExtension(BACKLINK_TEXT="↩"),
        TocExtension(permalink=False, slugify=lambda value, sep: _slug_id(value, sep)),
        SaneListExtension(),
        _LIST_NESTING,  # lists under a sentence, nested by 2-4 spaces (CommonMark's rule)
        HighlightExtension(use_pygments=False),  # only to turn Pygments off: code is printed plain
        # ``` and ~~~ fences with an info string (any after the language), inside list items too
        SuperFencesCodeExtension(relaxed_headers=True),
        TasklistExtension(),  # - [x] / - [ ]: drawn as boxes by _task_box
        DeleteSubExtension(subscript=False),  # ~~strike~~ as <del>
        MagiclinkExtension(hide_protocol=False, repo_url_shortener=False),  # bare https:// and www.
        # emphasis next to punctuation and underscores inside words, as GitHub reads them
        BetterEmExtension(),
        SaneHeadersExtension(),  # `#1 priority` is text, not a heading: ATX headings need a space
        # every punctuation mark escapable; a backslash at a line end breaks the line
        EscapeAllExtension(hardbreak=True, nbsp=False),
    ]


_LIST_NESTING = ListNestingExtension()
_ALIGN_RE = re.compile(r' style="text-align: ?(left|right|center);?"')
_HEADING_TAG_RE = re.compile(r"<(/?)h([1-6])\b")
_CODE_RUN = r"(?:<code>[^<]*</code>\s*){2,}"
_TAG_LINE_RE = re.compile(rf"<p>((?:<strong>[^<]*</strong>\s*)?)({_CODE_RUN})</p>")
_CODE_RE = re.compile(r"<code>([^<]*)</code>")
_LINK_RE = re.compile(r'<a href="(https?://[^"]+)"([^>]*)>(.*?)</a>', re.S)
#: pymdownx.tasklist's checkboxes; a PDF draws no form field, so each becomes a box drawn by CSS.
_TASK_RE = re.compile(r'<input type="checkbox" disabled( checked)?/>')
_CALLOUT_RE = re.compile(r"<blockquote>\s*<p><strong>([^<]{1,80}?):?</strong>:?")


@dataclass(frozen=True)
class Body:
    """A guide body as safe HTML, with the headings found in it (level, id, text)."""

    html: str
    headings: tuple[tuple[int, str, str], ...]


def _slug_id(value: str, sep: str) -> str:
    from .slug import slugify

    return "s-" + (slugify(value) or "section")


def render_body(
    text: str,
    *,
    drop_title: str | None = None,
    drop_tags: tuple[str, ...] = (),
    top_level: int = 2,
) -> Body:
    """Markdown → sanitized HTML with headings shifted so the body's highest is `top_level`.

    A leading heading that merely repeats the guide's title (`drop_title` words all present)
    is dropped, since the brief prints its own title block; so is a line of `backticked` tags
    that repeats `drop_tags` (the front matter's tags, which the title block shows as pills).
    """
    md = _converter()
    try:
        raw = md.convert(text)
    except RecursionError:
        _LOCAL.converter = None  # not reset for the next body: it failed halfway through this one
        # Python-Markdown recurses once per nesting level (lists, quotes): a few hundred levels is enough.
        raise RenderError("the Markdown body nests too deeply to convert") from None
    except BaseException:
        _LOCAL.converter = None
        raise
    raw = _drop_leading_title(raw, drop_title)
    raw = _shift_headings(raw, top_level)
    raw = _ALIGN_RE.sub(r' class="align-\1"', raw)
    raw = _TAG_LINE_RE.sub(lambda m: _pills(m, frozenset(drop_tags)), raw)
    raw = _CALLOUT_RE.sub(r'<blockquote class="callout"><p><strong>\1:</strong>', raw)
    raw = _LINK_RE.sub(_mark_external, raw)
    raw = _TASK_RE.sub(_task_box, raw)
    safe = sanitize(raw)
    depth = nesting_depth(safe)
    if depth > MAX_NESTING:
        raise RenderError(f"the body nests elements {depth} levels deep, over the limit of {MAX_NESTING}")
    return Body(html=safe, headings=tuple(_headings(safe)))


_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(/?)>")
_VOID_TAGS = frozenset({"br", "hr", "img", "wbr"})


def nesting_depth(fragment: str) -> int:
    """How deeply elements nest in sanitized HTML (well-formed: every element the sanitizer keeps closes)."""
    depth = deepest = 0
    for closing, name, self_closing in _TAG_RE.findall(fragment):
        if name.lower() in _VOID_TAGS or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


def sanitize(fragment: str) -> str:
    """Allow-list sanitizer: no script, style, link, frames, objects, SVG, event or style attributes."""
    return nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        allowed_classes={k: set(v) for k, v in ALLOWED_CLASSES.items()},
        url_schemes=set(URL_SCHEMES | LINK_SCHEMES),
        attribute_filter=_keep_attribute,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def live_link(href: str) -> bool:
    """True for the hrefs a brief keeps as links: http(s) with a host, mailto, and its own `#fragments`.

    A relative or protocol-relative (`//host/x`) href would resolve against the guide's folder as a
    `file:` link to the reader's disk; those, `file:` and every other scheme become plain text.
    """
    href = href.strip()
    if href.startswith("#"):
        return True
    try:
        parts = urlsplit(href)
    except ValueError:  # `https://x.org[` (a bare address before a bracket): not a URL at all
        return False
    scheme = parts.scheme.lower()
    if scheme == "mailto":
        return bool(parts.path)
    return scheme in ("http", "https") and bool(parts.netloc)


def _keep_attribute(element: str, attribute: str, value: str) -> str | None:
    if element == "a" and attribute == "href" and not live_link(value):
        return None  # the <a> stays, without an href: its text reads as plain text
    return value


def _drop_leading_title(raw: str, title: str | None) -> str:
    if not title:
        return raw
    match = re.match(r"\s*<h([1-6])[^>]*>(.*?)</h\1>\s*", raw, re.S)
    if not match:
        return raw
    heading = html.unescape(re.sub(r"<[^>]+>", "", match.group(2))).lower()
    words = [w for w in re.split(r"\W+", title.lower()) if len(w) > 1]
    if words and all(w in heading for w in words):
        return raw[match.end() :]
    return raw


def _shift_headings(raw: str, top_level: int) -> str:
    levels = [int(m.group(2)) for m in _HEADING_TAG_RE.finditer(raw) if not m.group(1)]
    if not levels:
        return raw
    shift = top_level - min(levels)
    return _HEADING_TAG_RE.sub(lambda m: f"<{m.group(1)}h{min(6, max(1, int(m.group(2)) + shift))}", raw)


#: A tag pill of more characters than this might not fit on a line whole: it wraps inside its box.
LONG_TAG = 60


def pill(escaped: str) -> str:
    """A tag pill around `escaped` (HTML): kept on one line, unless it is long (`LONG_TAG`)."""
    long = len(html.unescape(escaped)) > LONG_TAG
    return f'<span class="tag{" tag-long" if long else ""}">{escaped}</span>'


def _pills(match: re.Match[str], repeated: frozenset[str]) -> str:
    label, codes = match.group(1), match.group(2)
    if repeated and {html.unescape(c).strip() for c in _CODE_RE.findall(codes)} == repeated:
        return ""
    pills = " ".join(pill(c) for c in _CODE_RE.findall(codes))
    return f'<p class="tags">{label}{" " if label else ""}{pills}</p>'


def _mark_external(match: re.Match[str]) -> str:
    href, rest, text = match.group(1), match.group(2), match.group(3)
    plain = html.unescape(re.sub(r"<[^>]+>", "", text)).strip()
    shows_url = plain.rstrip("/") in {href.rstrip("/"), href.split("://", 1)[-1].rstrip("/")}
    cls = "" if shows_url else ' class="ext"'
    return f'<a href="{href}"{cls}{rest}>{text}</a>'


def _task_box(match: re.Match[str]) -> str:
    # The glyph is the box's text for copy and screen readers: ✓ ticked, □ (drawn invisible) open.
    if match.group(1):
        return '<span class="task task-done">✓</span>'
    return '<span class="task">□</span>'


def _headings(safe: str) -> list[tuple[int, str, str]]:
    found = []
    for m in re.finditer(r'<h([1-6]) id="([^"]+)">(.*?)</h\1>', safe, re.S):
        text = html.unescape(re.sub(r"<[^>]+>", "", m.group(3))).strip()
        found.append((int(m.group(1)), m.group(2), text))
    return found


def inline_tags(text: str) -> str:
    """Escape a one-line front-matter string, turning `backticked` runs into tag pills."""
    escaped = html.escape(text)
    return re.sub(r"`([^`]+)`", lambda code: pill(code.group(1)), escaped)
