"""Body HTML: Markdown extensions, pills, heading levels and the allow-list sanitizer."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DATA, pdftotext, structure_elements
from guidepdf import RenderOptions, load_guide, render_pdf
from guidepdf.errors import RenderError
from guidepdf.markdown_lists import MAX_DEPTH, ListNestingPreprocessor
from guidepdf.markup import ALLOWED_ATTRIBUTES, ALLOWED_CLASSES, ALLOWED_TAGS, render_body, sanitize
from guidepdf.money import format_money, format_range


def test_tables_footnotes_and_heading_ids() -> None:
    body = render_body("#### Pay\n\n| A | B |\n|--:|---|\n| 1 | 2 |\n\nSee note.[^1]\n\n[^1]: The note.")
    assert '<h2 id="s-pay">Pay</h2>' in body.html
    assert '<td class="align-right">1</td>' in body.html
    assert 'class="footnote"' in body.html and "The note." in body.html
    assert body.headings == ((2, "s-pay", "Pay"),)


def test_tag_line_becomes_pills_and_repeats_are_dropped() -> None:
    text = "**Negotiation DNA:** `Alpha` `Beta & Co`\n\nText"
    html = render_body(text).html
    assert '<span class="tag">Alpha</span> <span class="tag">Beta &amp; Co</span>' in html
    assert "<code>" not in html
    assert "Alpha" not in render_body(text, drop_tags=("Alpha", "Beta & Co")).html


def test_a_long_tag_is_a_pill_that_may_wrap_and_a_short_one_is_kept_on_one_line() -> None:
    from guidepdf.markup import LONG_TAG, inline_tags

    short, long = "&" * LONG_TAG, "x" * (LONG_TAG + 1)  # counted as a reader sees them, not escaped
    html = render_body(f"`{short}` `{long}`\n").html
    assert f'<span class="tag">{"&amp;" * LONG_TAG}</span>' in html
    assert f'<span class="tag tag-long">{long}</span>' in html
    assert (
        inline_tags(f"`{long}` and `b`")
        == f'<span class="tag tag-long">{long}</span> and <span class="tag">b</span>'
    )


def test_leading_title_heading_is_dropped_only_when_it_repeats_the_title() -> None:
    text = "### ML Engineer | Acme Global Guide\n\n#### Levers\n"
    assert "Global Guide" not in render_body(text, drop_title="Acme ML Engineer").html
    assert "Global Guide" in render_body(text, drop_title="Other Corp").html


def test_external_links_are_marked_for_printed_urls() -> None:
    html = render_body("[FT](https://www.ft.com) and https://x.org and [x.org](https://x.org)").html
    assert '<a href="https://www.ft.com" class="ext" rel="noopener noreferrer">FT</a>' in html
    assert html.count('class="ext"') == 1


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<style>body{display:none}</style>",
        '<link rel="stylesheet" href="file:///etc/passwd">',
        '<iframe src="https://evil.example"></iframe>',
        '<object data="file:///etc/passwd"></object>',
        '<embed src="x.swf">',
        '<svg><image href="file:///etc/passwd"/></svg>',
        '<img src="x.png" onerror="alert(1)" style="width:9999px">',
        '<a href="javascript:alert(1)">x</a>',
        '<a href="file:///etc/passwd">x</a>',
        '<p style="background:url(https://evil.example/t.png)">x</p>',
        '<link rel="attachment" href="../secret.txt">',
    ],
)
def test_sanitizer_removes_dangerous_markup(hostile: str) -> None:
    html = render_body(f"Before\n\n{hostile}\n\nAfter").html
    lowered = html.lower()
    for needle in (
        "<script",
        "<style",
        "<link",
        "<iframe",
        "<object",
        "<embed",
        "<svg",
        "onerror",
        "style=",
        "javascript:",
        "file:",
        "alert(1)",
        "evil.example",
    ):
        assert needle not in lowered, (needle, html)
    assert "Before" in html and "After" in html


def test_template_syntax_is_text() -> None:
    html = render_body("Pay {{ 7 * 7 }} and {% if x %}y{% endif %}").html
    assert "{{ 7 * 7 }}" in html and "{% if x %}" in html


def test_sanitize_keeps_safe_markup() -> None:
    assert sanitize('<p><strong>a</strong> <a href="https://x.org">b</a></p>') == (
        '<p><strong>a</strong> <a href="https://x.org" rel="noopener noreferrer">b</a></p>'
    )


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (525000, "USD", "$525K"),
        (410000, "GBP", "£410K"),
        (4100000, "HKD", "HK$4.10M"),
        (14000000, "JPY", "¥14.00M"),
        (245500, "EUR", "€245.5K"),
        (180000, "SGD", "S$180K"),
        (2500000, "INR", "₹2.50M"),
        (200000, "CHF", "CHF 200K"),
        (999999, "USD", "$1.00M"),
        (None, "USD", "—"),
        (950, None, "950"),
    ],
)
def test_money(value: float | None, currency: str | None, expected: str) -> None:
    assert format_money(value, currency) == expected


def test_money_range() -> None:
    assert format_range(525000, 775000, "USD") == "$525K–$775K"
    assert format_range(None, 775000, "USD") == "up to $775K"
    assert format_range(5, None, "GBP") == "from £5"
    assert format_range(None, None, "GBP") == "—"


def squeeze(html: str) -> str:
    """The HTML without the newlines and indentation between tags."""
    return re.sub(r">\s+<", "><", html).strip()


@pytest.mark.parametrize("indent", [2, 3, 4])
def test_list_under_a_sentence_nests_by_two_three_or_four_spaces(indent: int) -> None:
    pad = " " * indent
    html = squeeze(render_body(f"Intro:\n- first\n{pad}- nested\n{pad * 2}- deeper\n- second").html)
    assert html == (
        "<p>Intro:</p><ul><li>first<ul><li>nested<ul><li>deeper</li></ul></li></ul></li><li>second</li></ul>"
    )


def test_lists_inside_ordered_items_keep_their_numbers() -> None:
    html = squeeze(render_body("3. three\n4. four\n   - sub\n5. five\n   1. inner").html)
    assert html == (
        '<ol start="3"><li value="3">three</li><li value="4">four<ul><li>sub</li></ul></li>'
        '<li value="5">five<ol><li value="1">inner</li></ol></li></ol>'
    )
    one_two = '<ol><li value="1">one</li><li value="2">two</li></ol>'
    assert squeeze(render_body("1) one\n2) two").html) == one_two
    mixed = squeeze(render_body("1. a\n   - b\n   1. c\n2. d").html)
    assert re.sub("</?p>", "", mixed) == (
        '<ol><li value="1">a<ul><li>b</li></ul><ol><li value="1">c</li></ol></li><li value="2">d</li></ol>'
    )


def test_only_a_bullet_or_one_interrupts_a_paragraph() -> None:
    assert "<ol" not in render_body("The year was\n2026. A good one.").html
    assert squeeze(render_body("Steps:\n1. one").html) == '<p>Steps:</p><ol><li value="1">one</li></ol>'


def test_a_blank_line_between_items_spaces_the_whole_list() -> None:
    html = squeeze(render_body("- a\n- b\n\n- c").html)
    assert html == "<ul><li><p>a</p></li><li><p>b</p></li><li><p>c</p></li></ul>"


def test_task_lists_are_boxes_with_a_text_alternative() -> None:
    html = render_body("- [x] Read the offer\n- [ ] Ask for the band").html
    assert '<li class="task-list-item"><span class="task task-done">✓</span> Read the offer</li>' in html
    assert '<li class="task-list-item"><span class="task">□</span> Ask for the band</li>' in html
    assert '<ul class="task-list">' in html and "<input" not in html


def test_the_sanitizer_lets_through_only_the_task_markup_it_allows() -> None:
    html = render_body(
        '<input type="checkbox" checked> x <span class="task evil">y</span> <ul class="evil"><li>z</li></ul>'
    ).html
    assert "<input" not in html and "evil" not in html
    assert '<span class="task">y</span>' in html


def test_bare_urls_are_links_printed_once() -> None:
    html = render_body(
        "See https://www.levels.fyi/t/x and www.example.com, or [FT](https://www.ft.com)."
    ).html
    assert (
        '<a href="https://www.levels.fyi/t/x" rel="noopener noreferrer">https://www.levels.fyi/t/x</a>'
        in html
    )
    assert '<a href="http://www.example.com" rel="noopener noreferrer">www.example.com</a>' in html
    assert html.count('class="ext"') == 1, "only the link whose text hides its address prints it"


def test_strikethrough_and_escaped_pipes_and_breaks_in_tables() -> None:
    html = squeeze(
        render_body("~~$120K~~ $130K, H~2~O\n\n| A | B |\n|---|---|\n| a \\| b | one<br>two |").html
    )
    assert "<del>$120K</del> $130K, H~2~O" in html
    assert "<td>a | b</td><td>one<br>two</td>" in html


@pytest.mark.parametrize("fence", ["```", "~~~", "````"])
def test_fences_with_an_info_string_anywhere(fence: str) -> None:
    text = (
        f"Run:\n{fence}yaml title=x\n- not: an item\n\n  # not a heading\n{fence}\nAfter.\n\n"
        f"1. step\n\n   {fence}sh\n   echo hi\n   {fence}\n"
    )
    html = squeeze(render_body(text).html)
    assert "<p>Run:</p><pre><code>- not: an item\n\n  # not a heading</code></pre><p>After.</p>" in html
    assert '<li value="1"><p>step</p><pre><code>echo hi</code></pre></li>' in html


def test_code_at_the_top_level_keeps_its_list_like_lines() -> None:
    html = render_body("Text\n\n    - kept\n      as code\n").html
    assert "<pre><code>- kept\n  as code</code></pre>" in html


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, dict(attrs)))


_LIST_LINE = st.tuples(
    st.integers(0, 9),
    st.sampled_from(["- ", "* ", "1. ", "2) ", "- [ ] ", "- [x] ", "", "> ", "```", "~~~ py", "    "]),
    st.sampled_from(
        ["x", "~~y~~", "https://a.example/b", "www.a.example", "[l](https://x.org)", "", "|a|b|"]
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LIST_LINE, max_size=60))
def test_list_markdown_stays_within_the_allow_list_and_linear(lines: list[tuple[int, str, str]]) -> None:
    text = "\n".join(" " * pad + marker + word for pad, marker, word in lines)
    placed = ListNestingPreprocessor(markdown.Markdown()).run(text.split("\n"))
    # Linear: at most one blank line added per line, and each line at most MAX_DEPTH indents longer.
    assert len(placed) <= 2 * len(lines) + 2
    longest = max(len(line) for line in text.split("\n"))
    assert all(len(line) <= 4 * MAX_DEPTH + 1 + longest for line in placed)
    parser = _Tags()
    parser.feed(render_body(text).html)
    for tag, attrs in parser.seen:
        assert tag in ALLOWED_TAGS, tag
        allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | ALLOWED_ATTRIBUTES["*"] | {"class", "rel"}
        assert set(attrs) <= allowed, (tag, attrs)
        assert set((attrs.get("class") or "").split()) <= ALLOWED_CLASSES.get(tag, set()), (tag, attrs)


def test_lists_deeper_than_the_limit_are_refused_at_once() -> None:
    def staircase(depth: int) -> str:
        return "\n".join("  " * level + "- x" for level in range(depth))

    assert render_body(staircase(MAX_DEPTH)).html.count("<ul>") == MAX_DEPTH
    with pytest.raises(RenderError, match="nests too deeply"):
        render_body(staircase(MAX_DEPTH + 1))
    with pytest.raises(RenderError, match="nests too deeply"):
        render_body(staircase(5000))  # refused before Python-Markdown's per-level passes begin


def test_github_markdown_reads_back_from_the_pdf(tmp_path: Path) -> None:
    source = tmp_path / "gfm.md"
    source.write_bytes((DATA / "gfm.md").read_bytes())
    pdf = tmp_path / "gfm.pdf"
    pdf.write_bytes(render_pdf(load_guide(source), RenderOptions(as_of=date(2026, 11, 23))))
    text = pdftotext(pdf)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for box, item in (("✓", "Read the offer letter"), ("□", "Ask for the band"), ("□", "nested by two")):
        assert lines[lines.index(item) - 1] == box, "each task's box reads before it, ticked or not"
    assert lines[lines.index("Anchor high") - 1] == "3" and lines[lines.index("Trade") - 1] == "4"
    assert "Checklist:" in lines and "- [" not in text and "~~" not in text
    assert text.count("levels.fyi") == 1, "an address shown as the link text is not printed again"
    assert "base | bonus" in text and "script line" in text
    kinds = [str(node.get("/S")) for node in structure_elements(pdf) if "/S" in node]
    assert kinds.count("/L") >= 4, "lists, the nested ones too, are tagged as lists"


def test_ordered_lists_written_as_html_are_numbered_too(tmp_path: Path) -> None:
    source = tmp_path / "raw.md"
    source.write_text("Raw:\n\n<ol><li>alpha</li><li>beta</li></ol>\n\n3. three\n", encoding="utf-8")
    pdf = tmp_path / "raw.pdf"
    pdf.write_bytes(render_pdf(load_guide(source), RenderOptions(as_of=date(2026, 11, 23))))
    lines = [line.strip() for line in pdftotext(pdf).splitlines() if line.strip()]
    assert [lines[lines.index(item) - 1] for item in ("alpha", "beta", "three")] == ["1", "2", "3"]
