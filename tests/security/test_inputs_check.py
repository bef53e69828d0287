"""`check` finds what `render` would refuse, without importing WeasyPrint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import AS_OF, cli, no_traceback, write_guide
from .test_limits_pixels import png_bomb


def hostile_folder(root: Path, secret_file: Path) -> Path:
    """One guide per thing render refuses, beside a good one."""
    folder = root / "guides"
    write_guide(folder / "good.md", company="good")
    nested = "level_mapping: " + "{a: " * 80 + "1" + "}" * 80
    (folder / "deep-yaml.md").write_text(f"---\ncompany: deep\n{nested}\n---\nbody\n", encoding="utf-8")
    write_guide(folder / "deep-body.md", "<div>" * 100 + "deep" + "</div>" * 100 + "\n", company="deepbody")
    write_guide(folder / "quotes.md", "> " * 90 + "quoted\n", company="quotes")
    write_guide(folder / "surrogate.md", company='"lone \\udfff"')
    write_guide(folder / "digits.md", **{"compensation:\n  - base_low": "9" * 400})
    (folder / "link.md").symlink_to(secret_file)
    (folder / "bomb.dat").write_bytes(png_bomb(30_000, 30_000))
    write_guide(folder / "bomb.md", "# Bomb\n\n![bomb](bomb.dat)\n", company="bomb")
    return folder


def test_check_finds_everything_render_refuses(tmp_path: Path, secret_file: Path) -> None:
    folder = hostile_folder(tmp_path, secret_file)
    render = cli("render", folder, "-o", tmp_path / "out", "--as-of", AS_OF, "-j", "1")
    no_traceback(render)
    refused_by_render = {line.split(": ")[1] for line in render.errors}
    assert refused_by_render == {
        str(folder / name)
        for name in ("deep-yaml.md", "deep-body.md", "quotes.md", "surrogate.md", "digits.md", "link.md")
    }
    check = cli("check", folder, "--format", "json", "--as-of", AS_OF)
    no_traceback(check)
    assert check.code == 1
    findings = json.loads(check.stdout)
    found = {f["file"] for f in findings if f["severity"] == "error"}
    assert refused_by_render <= found
    assert str(folder / "bomb.md") in found  # render drops the image with a warning; check says why
    assert str(folder / "good.md") not in found
    [link] = [f for f in findings if f["file"] == str(folder / "link.md")]
    assert link["code"] == "refused" and f"links outside {folder}" in link["message"]
    [deep] = [f for f in findings if f["file"] == str(folder / "deep-body.md") and f["severity"] == "error"]
    assert deep["code"] == "body-too-deep" and "100 levels deep, over the limit of 64" in deep["message"]


def test_duplicate_keys_are_a_warning_naming_both_lines(tmp_path: Path) -> None:
    guide = tmp_path / "dup.md"
    guide.write_text(
        "---\ncompany: acme\nrole: engineer\ncompany: evil\n"
        "compensation:\n  - region: US\n    base_low: 100\n    base_low: 900000\n---\nbody\n",
        encoding="utf-8",
    )
    run = cli("check", guide, "--as-of", AS_OF)
    no_traceback(run)
    lines = run.stdout.splitlines()
    assert f"{guide}:4: company: warning: the key is given twice, on lines 2 and 4; line 4 wins" in lines
    assert (
        f"{guide}:8: compensation[0].base_low: warning: the key is given twice, on lines 7 and 8; line 8 wins"
        in lines
    )


def test_check_never_imports_weasyprint(tmp_path: Path, secret_file: Path) -> None:
    folder = hostile_folder(tmp_path, secret_file)
    code = (
        "import sys\nfrom guidepdf.cli import main\n"
        "try:\n    main(['check', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
        "print('weasyprint' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == "False"
