"""Body HTML: Markdown extensions, pills, heading levels and the allow-list sanitizer."""

from __future__ import annotations

import pytest

from guidepdf.markup import render_body, sanitize
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
