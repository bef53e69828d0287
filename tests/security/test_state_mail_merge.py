"""A long mail merge holds one message at a time: memory does not grow with the number of rows.

Live messages are counted exactly (CPython frees a message as soon as nothing refers to it), so the
test measures what the merge keeps, not what the allocator happens to report.
"""

from __future__ import annotations

import csv
import email
import shutil
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from guidepdf import mail
from guidepdf.cli import main

ROOT = Path(__file__).resolve().parents[2]
GUIDES = [
    ROOT / "seeds" / "lumenpay-product-manager.md",
    ROOT / "seeds" / "kestrel-games-product-designer.md",
]
ROWS = 40

pytestmark = pytest.mark.slow


class Counted(EmailMessage):
    """An EmailMessage (or part of one) that counts how many are alive, and the most ever at once."""

    live = 0
    most = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        Counted.live += 1
        Counted.most = max(Counted.most, Counted.live)

    def __del__(self) -> None:
        Counted.live -= 1


@pytest.fixture
def merge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for guide in GUIDES:
        shutil.copy(guide, tmp_path / guide.name)
    with open(tmp_path / "people.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "guides"])
        for i in range(ROWS):
            writer.writerow([f"person{i}@example.com", f"Person {i}", GUIDES[i % 2].name])
    monkeypatch.setattr(mail.message, "EmailMessage", Counted)  # where messages are built
    Counted.live = Counted.most = 0
    return tmp_path


def test_messages_are_built_and_written_one_at_a_time(merge: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "email", "--recipients", str(merge / "people.csv"), "--from", "coach@example.org",
            "--as-of", "2026-11-23", "--eml", str(merge / "mail"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    written = sorted((merge / "mail").glob("*.eml"))
    assert len(written) == ROWS
    # Every message is whole: the right person, and a PDF brief of the right guide attached.
    last = email.message_from_bytes((merge / "mail" / "person39-example-com.eml").read_bytes())
    parts = len(list(last.walk()))  # each part of a message is an EmailMessage too
    assert Counted.most <= 2 * parts, f"{Counted.most / parts:.0f} messages were alive at once"
    assert last["To"] == "Person 39 <person39@example.com>"
    [attachment] = [p for p in last.walk() if p.get_filename()]
    assert attachment.get_filename() == "kestrel-games-product-designer.pdf"
    assert attachment.get_payload(decode=True).startswith(b"%PDF-")


def test_each_brief_is_rendered_once_and_released_after_its_last_message(
    merge: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered: list[str] = []
    real = mail.render_attachments

    def spy(guides: Any, *args: Any, cache: dict[Any, Any], **kwargs: Any) -> Any:
        rendered.extend(str(g.path) for g in guides if ("brief", g.path.resolve()) not in cache)
        spy.sizes.append(len(cache))  # type: ignore[attr-defined]
        return real(guides, *args, cache=cache, **kwargs)

    spy.sizes = []  # type: ignore[attr-defined]
    monkeypatch.setattr(mail.stream, "render_attachments", spy)  # where the stream renders
    people, problems = mail.read_recipients(merge / "people.csv")
    assert problems == ()
    stream = mail.MessageStream([], people, sender="coach@example.org")
    written = mail.write_eml(stream, merge / "mail")
    assert len(written) == ROWS and stream.errors == []
    assert sorted(rendered) == sorted(str(merge / g.name) for g in GUIDES)  # once each
    assert max(spy.sizes) <= len(GUIDES)  # the cache never holds more than the distinct guides
