"""Text in any script is visible: CJK, Arabic and Hebrew print as glyphs; what no font has is warned about."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from conftest import pdftotext
from guidepdf.cli import main

LINES = {
    "chinese": "薪资谈判指南",
    "japanese": "給与交渉のガイド",
    "korean": "연봉협상안내",
    "arabic": "دليل التفاوض",
    "hebrew": "מדריך למשא",
}
GUIDE = "---\ncompany: Kestrel\nrole: Engineer\n---\n# Scripts\n\n" + "".join(
    f"{name}: {text}\n\n" for name, text in LINES.items()
)
DPI = 100


def covered(language: str) -> bool:
    out = subprocess.run(["fc-list", f":lang={language}", "family"], capture_output=True, text=True)
    return bool(out.stdout.strip())


needs_fonts = pytest.mark.skipif(
    shutil.which("fc-list") is None or not all(covered(lang) for lang in ("zh-cn", "ja", "ko", "ar", "he")),
    reason="no installed font covers Chinese, Japanese, Korean, Arabic and Hebrew: run scripts/system-deps",
)


def word_boxes(pdf: Path) -> list[tuple[str, float, float, float, float]]:
    """Every word pdftotext finds on page 1 with its box in points: (word, x0, y0, x1, y1)."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    words = []
    for line in html.splitlines():
        line = line.strip()
        if line.startswith("<word "):
            attrs = dict(part.split("=", 1) for part in line[6:].split(">")[0].split())
            text = line.split(">", 1)[1].rsplit("</word>", 1)[0]
            box = [float(attrs[k].strip('"')) for k in ("xMin", "yMin", "xMax", "yMax")]
            words.append((text, *box))
    return words


def ink(image: Image.Image, box: tuple[float, float, float, float]) -> int:
    """The number of dark pixels inside a box given in points."""
    scale = DPI / 72
    x0, y0, x1, y1 = (round(v * scale) for v in box)
    region = image.crop((x0, y0, max(x1, x0 + 1), max(y1, y0 + 1))).convert("L")
    return sum(region.histogram()[:128])


@needs_fonts
def test_cjk_arabic_and_hebrew_print_as_glyphs(tmp_path: Path) -> None:
    guide = tmp_path / "scripts.md"
    guide.write_text(GUIDE, encoding="utf-8")
    pdf = tmp_path / "scripts.pdf"
    result = CliRunner().invoke(main, ["render", str(guide), "-o", str(pdf), "--as-of", "2026-11-23"])
    assert result.exit_code == 0, result.output
    assert "no installed font" not in result.output
    subprocess.run(
        ["pdftoppm", "-r", str(DPI), "-f", "1", "-l", "1", "-png", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    image = Image.open(next(tmp_path.glob("page*.png")))
    boxes = word_boxes(pdf)
    text = pdftotext(pdf)
    for name, words in LINES.items():
        assert all(word in text or word[::-1] in text for word in words.split()), name
        label = next(box for box in boxes if box[0] == f"{name}:")
        # the words after the label on its line (pdftotext gives right-to-left words in visual order)
        found = [box for box in boxes if abs(box[2] - label[2]) < 3 and box[1] > label[3]]
        assert len(found) == len(words.split()), f"{name}: {found}"
        for word, *box in found:
            # a blank (glyphless) word still has a box and a text layer, but no ink
            assert ink(image, (box[0], box[1], box[2], box[3])) > 10, f"{name}: {word!r} prints as blank"
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    embedded = [line.split()[0] for line in fonts.splitlines()[2:] if " yes " in line]
    assert any("Inter" not in name for name in embedded), fonts  # a fallback font is embedded


def unfontable() -> str:
    """An assigned character in an ancient script that no installed font has (skips if all are covered)."""
    for char in ("\U00010380", "\U000103a0", "\U00010000", "\U00012000"):
        out = subprocess.run(["fc-list", f":charset={ord(char):x}", "family"], capture_output=True, text=True)
        if not out.stdout.strip():
            return char
    pytest.skip("every candidate character has an installed font here")


@pytest.mark.skipif(shutil.which("fc-list") is None, reason="fontconfig's fc-list is not installed")
def test_characters_no_font_has_are_named_by_render_and_check(tmp_path: Path) -> None:
    char = unfontable()
    guide = tmp_path / "old.md"
    guide.write_text(GUIDE + f"Ugaritic: {char}{char}\n", encoding="utf-8")
    code = f"'{char}' U+{ord(char):04X}"
    rendered = CliRunner().invoke(main, ["render", str(guide), "-o", str(tmp_path / "old.pdf")])
    assert rendered.exit_code == 0, rendered.output
    warnings = [line for line in rendered.output.splitlines() if "no installed font" in line]
    assert warnings == [
        f"warning: {guide}: no installed font has 1 character, printed as blank: {code}; install a font that"
        " covers them (Debian/Ubuntu: `sudo apt-get install fonts-wqy-microhei` for Chinese, Japanese and"
        " Korean, `fonts-dejavu-core` for Arabic and Hebrew, `fonts-noto` for most other scripts) or add one"
        " to the theme with --style (an @font-face rule)"
    ]
    assert (tmp_path / "old.pdf").exists()
    # A packet or a mail merge carrying the guide says so too, once per guide.
    packed = CliRunner().invoke(main, ["packet", str(guide), "-o", str(tmp_path / "p" / "packet.pdf")])
    assert packed.exit_code == 0, packed.output
    assert [line for line in packed.output.splitlines() if "no installed font" in line] == warnings
    mailed = CliRunner().invoke(
        main,
        [
            "email",
            str(guide),
            "--to",
            "a@example.com",
            "--from",
            "b@example.org",
            "--eml",
            str(tmp_path / "m"),
        ],
    )
    assert mailed.exit_code == 0, mailed.output
    assert [line for line in mailed.output.splitlines() if "no installed font" in line] == warnings
    checked = CliRunner().invoke(main, ["check", str(guide), "--format", "json"])
    findings = json.loads(checked.stdout)
    ours = [f for f in findings if f["code"] == "no-font"]
    assert len(ours) == 1 and code in ours[0]["message"]
    assert ours[0]["severity"] == "warning" and ours[0]["line"] == GUIDE.count("\n") + 1
