"""A recipients CSV attaches only guides inside its own folder: every way out is a row error."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
from pathlib import Path

import pytest

from .conftest import AS_OF, GOOD, SECRET, cli, cli_process, no_traceback, readable_text


@pytest.fixture
def merge(tmp_path: Path, secret_file: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A mail-merge folder from a stranger: one honest row, then a row for each way out."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    shutil.copy(secret_file, home / ".ssh" / "id_rsa")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GUIDEPDF_SMTP_PASSWORD", SECRET)
    folder = tmp_path / "merge"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(GOOD, folder / "kaiyo.md")
    (folder / "link.md").symlink_to(secret_file)
    (folder / "zero.md").symlink_to("/dev/zero")
    (folder / "linked").symlink_to(secret_file.parent, target_is_directory=True)
    os.mkfifo(folder / "pipe.md")
    rows = [
        "kaiyo.md",
        str(secret_file),
        "~/.ssh/id_rsa",
        "../private/id_rsa",
        "link.md",
        "/proc/self/environ",
        "sub/../../private/id_rsa",
        "../private/*",
        "zero.md",
        "linked/id_rsa",
        "pipe.md",
        "kaiyo.md;../private/id_rsa",
    ]
    lines = ["email,name,guides"] + [f"p{i}@example.org,Person {i},{g}" for i, g in enumerate(rows)]
    (folder / "people.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def attachments_text(eml: Path) -> str:
    """What the recipient could read: every attached PDF's text and embedded files."""
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    return "\n".join(
        readable_text(part.get_payload(decode=True))
        for part in message.iter_attachments()
        if part.get_content_type() == "application/pdf"
    )


def test_rows_naming_guides_outside_the_csv_folder_are_errors(merge: Path, tmp_path: Path) -> None:
    csv = merge / "people.csv"
    out = tmp_path / "mail"
    args = ("email", "--recipients", csv, "--from", "coach@example.org", "--eml", out, "--as-of", AS_OF)
    run = cli_process(*args, timeout=180)  # a process of its own: the FIFO must not hang it
    assert "Traceback" not in run.stderr
    assert run.code == 1
    for row in range(3, 14):
        [line] = [e for e in run.errors if e.startswith(f"error: {csv}: row {row}: guides: ")]
        assert "not read" in line or "relative to the CSV's folder" in line, line
    [message] = sorted(out.glob("*.eml"))
    assert "p0@example.org" in message.read_text(encoding="utf-8")
    seen = attachments_text(message)
    assert "Kaiyo" in seen and SECRET not in seen


def test_a_csv_that_is_a_device_or_huge_is_one_line(tmp_path: Path) -> None:
    sparse = tmp_path / "people.csv"
    with sparse.open("wb") as handle:
        handle.write(b"email,name,guides\n")
        handle.truncate(30_000_000_000)
    base = ("email", "--from", "coach@example.org", "--eml", tmp_path / "mail")
    run = cli_process(*base, "--recipients", sparse, timeout=60)
    assert run.code == 1 and "Traceback" not in run.stderr
    assert run.errors == [
        f"error: {sparse}: cannot read: file is 30,000,000,000 bytes, over the 20,000,000-byte limit"
    ]
    (tmp_path / "fifo.csv").symlink_to("/dev/zero")
    run = cli_process(*base, "--recipients", tmp_path / "fifo.csv", timeout=60)
    assert run.code == 1 and "Traceback" not in run.stderr
    assert run.errors == [f"error: {tmp_path / 'fifo.csv'}: cannot read: a system file (/dev/zero), not data"]


def test_guides_below_the_csv_folder_still_work(tmp_path: Path) -> None:
    folder = tmp_path / "merge"
    (folder / "team").mkdir(parents=True)
    shutil.copy(GOOD, folder / "team" / "kaiyo.md")
    (folder / "alias.md").symlink_to(Path("team") / "kaiyo.md")  # a link that stays inside
    (folder / "people.csv").write_text(
        "email,name,guides\na@example.org,A,team/*.md\nb@example.org,B,alias.md\n", encoding="utf-8"
    )
    out = tmp_path / "mail"
    args = ("--from", "coach@example.org", "--eml", out, "--as-of", AS_OF)
    run = cli("email", "--recipients", folder / "people.csv", *args)
    no_traceback(run)
    assert run.code == 0, run.stderr
    messages = sorted(out.glob("*.eml"))
    assert len(messages) == 2 and all("Kaiyo" in attachments_text(m) for m in messages)
