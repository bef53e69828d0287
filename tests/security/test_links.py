"""Only http(s), mailto and the brief's own #fragments become live links; everything else is plain text."""

from __future__ import annotations

from pathlib import Path

import pikepdf

from .conftest import AS_OF, cli, no_traceback, readable_text, write_guide

BODY = """# Links

## Sources

- [web](https://example.org/report) and [plain web](http://example.org/plain)
- [write to us](mailto:coach@example.org)
- [see sources](#s-sources)
- [relative](secret.txt) and [up and out](../../etc/passwd)
- [protocol relative](//attacker.example/x) and [backslashes](\\\\attacker.example\\share)
- [file](file:///etc/passwd) and [script](javascript:alert(1)) and [data](data:text/html,hi)
- <a href=" //attacker.example/spaced">spaced</a> and <a href="HTTPS:">no host</a>
- [smb](smb://attacker.example/share) and [tel](tel:+15550100)
"""


def link_actions(pdf: Path) -> list[dict[str, str]]:
    """Every link annotation's action: its type and target (/URI or a destination)."""
    found = []
    with pikepdf.Pdf.open(pdf) as document:
        for page in document.pages:
            for annot in page.get("/Annots", []):
                if annot.get("/Subtype") != "/Link":
                    continue
                action = annot.get("/A")
                if action is None:
                    found.append({"S": "/GoTo", "D": str(annot.get("/Dest"))})
                else:
                    found.append({"S": str(action.get("/S")), "URI": str(action.get("/URI", ""))})
    return found


def test_only_safe_links_stay_live(tmp_path: Path) -> None:
    guide = write_guide(tmp_path / "guides" / "links.md", BODY)
    out = tmp_path / "out"
    run = cli("render", guide, "-o", out, "--as-of", AS_OF)
    no_traceback(run)
    assert run.code == 0, run.stderr
    pdf = out / "acme-engineer.pdf"
    actions = link_actions(pdf)
    uris = sorted({a["URI"] for a in actions if a["S"] == "/URI"})  # a wrapped link has two boxes
    assert uris == ["http://example.org/plain", "https://example.org/report", "mailto:coach@example.org"]
    assert {a["S"] for a in actions} <= {"/URI", "/GoTo"}  # no /Launch, no /GoToR to a file
    assert any(a["S"] == "/GoTo" for a in actions)  # the #fragment is a jump inside the brief
    text = readable_text(pdf)
    for words in ("relative", "up and out", "protocol relative", "file", "script", "spaced", "smb", "tel"):
        assert words in text  # the text stays, as plain text
    assert "attacker.example" not in "".join(a.get("URI", "") for a in actions)


def test_check_names_the_links_that_print_as_text(tmp_path: Path) -> None:
    guide = write_guide(tmp_path / "guides" / "links.md", BODY)
    run = cli("check", guide, "--as-of", AS_OF)
    plain = [line for line in run.stdout.splitlines() if "will print as plain text" in line]
    for href in ("secret.txt", "//attacker.example/x", "file:///etc/passwd", "javascript:alert(1)"):
        assert any(f"link to {href} will print" in line for line in plain), href
    assert not any("example.org/report" in line or "mailto:" in line for line in plain)
