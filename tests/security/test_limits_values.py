"""Odd values give one line naming the file and field, never a traceback, and the rest goes on."""

from __future__ import annotations

import email
import email.policy
import errno
import os
import shutil
from pathlib import Path

import pytest

from .conftest import (
    AS_OF,
    GOOD,
    GOOD_PDF,
    cli,
    error_line,
    no_traceback,
    pdfs,
    readable_text,
    render_batch,
    write_guide,
)


def test_huge_numbers_are_one_line_each(folder: Path, tmp_path: Path) -> None:
    region = "compensation:\n  - region: US\n    currency: USD\n    base_low"
    write_guide(folder / "digits.md", **{region: "9" * 400})
    write_guide(folder / "thousands.md", **{region: "9" * 5000})
    write_guide(folder / "e300.md", **{region: "1.0e+300"})
    write_guide(folder / "inf.md", **{region: ".inf"})
    write_guide(folder / "extra.md", company="extra", lucky_number="7" * 5000)  # unknown field: kept as text
    out = tmp_path / "out"
    run = render_batch(folder, out=out)
    assert run.code == 1
    for name in ("digits.md", "thousands.md", "e300.md", "inf.md"):
        line = error_line(run, folder / name, "line 7: ")
        assert "compensation[0].base_low: expected a number" in line and len(line) < 300
    assert sorted(p.name for p in pdfs(out)) == ["extra-engineer.pdf", GOOD_PDF]
    assert "7" * 5000 in readable_text(out / "extra-engineer.pdf")  # the front matter as JSON, intact


def test_lone_surrogates_are_refused_naming_the_field(folder: Path, tmp_path: Path) -> None:
    write_guide(folder / "lone.md", title='"Offer \\ud800 letter"')
    write_guide(folder / "key.md", **{'"k\\udc80"': "1"})
    out = tmp_path / "out"
    run = cli("render", folder, "-o", out, "--as-of", AS_OF, "-j", "1")
    no_traceback(run)
    assert f"error: {folder / 'lone.md'}: line 4: title: contains a lone surrogate (\\ud800)" in run.stderr
    assert [e for e in run.errors if "key.md" in e] == [
        f"error: {folder / 'key.md'}: line 4: k\\udc80: contains a lone surrogate (\\udc80); "
        "write the character itself"
    ]
    assert [p.name for p in pdfs(out)] == [GOOD_PDF]
    checked = cli("check", folder / "lone.md")
    assert checked.code == 1 and "title: error: contains a lone surrogate" in checked.stdout


@pytest.mark.parametrize("separator", ["\\r\\n", "\\n", "\\u2028", "\\v", "\\f", "\\x85"])
def test_header_fields_are_folded(separator: str, tmp_path: Path) -> None:
    title = f'"Offer{separator}Bcc: victim@example.org{separator}X-Evil: 1"'
    guide = write_guide(tmp_path / "guides" / "title.md", title=title)
    raw = separator.encode().decode("unicode_escape")
    (tmp_path / "people.csv").write_text(
        f'email,name,guides\na@example.org,"Ann{raw}Bcc: v@example.org",guides/title.md\n', encoding="utf-8"
    )
    out = tmp_path / "mail"
    run = cli(
        "email", guide, "--to", "b@example.org", "--from", "coach@example.org", "--eml", out / "one.eml"
    )
    no_traceback(run)
    assert run.code == 0, run.stderr
    csv_run = cli(
        "email", "--recipients", tmp_path / "people.csv", "--from", "c@example.org", "--eml", out / "csv"
    )
    no_traceback(csv_run)
    assert csv_run.code == 0, csv_run.stderr
    for path in (out / "one.eml", *sorted((out / "csv").glob("*.eml"))):
        raw = path.read_bytes()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert message["Bcc"] is None and message["X-Evil"] is None
        assert "Offer Bcc: victim@example.org X-Evil: 1" in str(message["Subject"])
        headers = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
        assert not any(line.lower().startswith((b"bcc:", b"x-evil:")) for line in headers.splitlines())


def test_file_names_cannot_forge_lines(folder: Path, tmp_path: Path) -> None:
    forged = folder / "bad\nerror: everything is fine.md"
    forged.write_text("---\ncompany: [unclosed\n---\n", encoding="utf-8")
    shutil.copy(forged, folder / "esc\x1b[2Jclear.md")
    shutil.copy(forged, os.fsencode(folder) + b"/latin\xe9.md")  # not UTF-8: a lone surrogate in Python
    run = cli("render", folder, "-o", tmp_path / "out", "--as-of", AS_OF, "-j", "1")
    no_traceback(run)
    assert run.code == 1
    assert not any(line.startswith("error: everything") for line in run.stderr.splitlines())
    assert "\x1b" not in run.stderr
    assert any("bad\\nerror: everything is fine.md: line 2: YAML error" in e for e in run.errors)
    assert any("esc\\x1b[2Jclear.md: line 2" in e for e in run.errors)
    assert any("latin\\udce9.md: line 2" in e for e in run.errors)
    checked = cli("check", folder)
    assert "\x1b" not in checked.stdout
    assert not any(line.startswith("error: everything") for line in checked.stdout.splitlines())


@pytest.fixture
def disk_full(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make fsync of any file whose name contains one of the returned words fail with ENOSPC."""
    names: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        if any(name in target for name in names):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return names


def test_disk_full_while_writing_the_manifest(folder: Path, tmp_path: Path, disk_full: list[str]) -> None:
    disk_full.append("manifest.json")
    out = tmp_path / "out"
    run = cli("render", folder, "-o", out, "--as-of", AS_OF, "-j", "1")
    no_traceback(run)
    assert run.code == 1
    assert run.errors[-1] == f"error: {out / 'manifest.json'}: cannot write: No space left on device"
    assert not (out / "manifest.json").exists() and not list(out.glob(".*.part"))
    assert [p.name for p in pdfs(out)] == [GOOD_PDF]  # the brief itself was written whole


def test_disk_full_while_writing_a_packet(folder: Path, tmp_path: Path, disk_full: list[str]) -> None:
    disk_full.append("packet.pdf")
    packet = tmp_path / "out" / "packet.pdf"
    run = cli("packet", folder, "-o", packet, "--as-of", AS_OF, "-j", "1")
    no_traceback(run)
    assert run.code == 1
    assert run.errors == [f"error: {packet}: cannot write: No space left on device"]
    assert not packet.exists() and not list(packet.parent.glob(".*.part"))


def test_output_that_is_a_file_where_a_folder_is_needed_and_the_reverse(folder: Path, tmp_path: Path) -> None:
    second = write_guide(folder / "second.md")
    a_file = tmp_path / "taken"
    a_file.write_text("keep me", encoding="utf-8")
    a_folder = tmp_path / "taken.pdf"
    a_folder.mkdir()
    cases = [
        (("render", folder, "-o", a_file), f"-o {a_file}: is a file, but a folder is needed here"),
        (("render", second, "-o", a_folder), f"-o {a_folder}: is a folder, but a file name is needed here"),
        (("packet", folder, "-o", a_folder), f"-o {a_folder}: is a folder, but a file name is needed here"),
        (("packet", folder, "--group-by", "company", "-o", a_file), f"-o {a_file}: is a file, but a folder"),
    ]
    for args, message in cases:
        run = cli(*args, "--as-of", AS_OF)
        no_traceback(run)
        assert run.code == 2 and len(run.errors) == 1 and run.errors[0].startswith(f"error: {message}"), (
            run.stderr
        )
    run = cli("render", second, "-o", a_file / "brief.pdf", "--as-of", AS_OF)
    no_traceback(run)
    assert run.code == 1
    assert run.errors == [f"error: {a_file / 'brief.pdf'}: cannot write: {a_file} is a file, not a folder"]
    assert a_file.read_text(encoding="utf-8") == "keep me" and list(a_folder.iterdir()) == []


def test_an_image_that_is_a_symlink_loop(tmp_path: Path) -> None:
    folder = tmp_path / "guides"
    guide = write_guide(folder / "loop.md", "# Loop\n\n![chart](a.png)\n\nStill rendered.\n")
    (folder / "a.png").symlink_to("b.png")
    (folder / "b.png").symlink_to("a.png")
    out = tmp_path / "out"
    loop = "image a.png is a symlink that leads nowhere"
    first = cli("render", guide, "-o", out, "--as-of", AS_OF)
    no_traceback(first)
    # Whether render's own check stops on a missing image or leaves it to the sandbox, it is one line
    # at most, naming the image, and never a crash.
    assert (first.code, first.errors) in (
        (0, []),
        (1, [f"error: {guide}: line 7: body: {loop} (--no-check renders anyway)"]),
    ), first.stderr
    run = cli("render", guide, "-o", out, "--as-of", AS_OF, "--no-check")
    no_traceback(run)
    assert run.code == 0, run.stderr
    assert "Still rendered." in readable_text(out / "acme-engineer.pdf")
    checked = cli("check", guide, "--as-of", AS_OF)
    no_traceback(checked)
    assert "body: error: image a.png is a symlink that leads nowhere" in checked.stdout
    assert GOOD.exists()
