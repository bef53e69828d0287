"""A mail merge renders on the batch's path: each distinct brief once, on the workers, shared with
`render` and packets through the render key."""

from __future__ import annotations

import email
import email.policy
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidepdf.cli import main

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
GUIDES = ["kestrel-games-product-designer.md", "lumenpay-product-manager.md", "tessera-ai-ml-engineer.md"]
AS_OF = ["--as-of", "2026-11-23"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with three guides and a CSV of four rows (two rows share a guide), as the cwd."""
    guides = tmp_path / "g"
    guides.mkdir()
    for name in GUIDES:
        shutil.copy(SEEDS / name, guides / name)
    rows = [
        "email,name,guides",
        f"ann@example.com,Ann,{GUIDES[0]}",
        f"bob@example.com,Bob,{GUIDES[1]}",
        f"cy@example.com,Cy,{GUIDES[0]};{GUIDES[2]}",
        f"dee@example.com,Dee,{GUIDES[1]}",
    ]
    (guides / "people.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def merge(folder: str) -> None:
    args = ["email", "--recipients", "g/people.csv", "--from", "coach@example.org", "--dry-run"]
    result = CliRunner().invoke(main, [*args, "--eml", folder, "--jobs", "2", *AS_OF])
    assert result.exit_code == 0, result.output
    assert "4 messages written" in result.stderr


def attachments(eml: Path) -> dict[str, bytes]:
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}


def cached(project: Path) -> list[Path]:
    return sorted((project / "out" / ".guidepdf-cache").glob("*.pdf"))


def test_each_distinct_brief_is_rendered_once_and_kept_for_the_next_run(project: Path) -> None:
    merge("mails")
    parts = cached(project)
    assert len(parts) == 3  # four rows, three distinct guides
    inodes = {p: p.stat().st_ino for p in parts}  # a brief rendered again is a new file (atomic write)
    cy = attachments(project / "mails" / "cy-example-com.eml")
    assert sorted(cy) == ["kestrel-games-product-designer.pdf", "tessera-ai-ml-engineer.pdf"]
    assert {p.read_bytes() for p in parts} >= set(cy.values())
    merge("again")
    assert {p: p.stat().st_ino for p in cached(project)} == inodes  # nothing rendered again
    assert attachments(project / "again" / "cy-example-com.eml") == cy


def test_a_mail_merge_after_a_batch_attaches_the_batch_briefs(project: Path) -> None:
    rendered = CliRunner().invoke(main, ["render", "g", "-o", "out", "--jobs", "2", *AS_OF])
    assert rendered.exit_code == 0, rendered.output
    merge("mails")
    assert cached(project) == []  # every brief came from the batch
    for eml in (project / "mails").glob("*.eml"):
        for name, data in attachments(eml).items():
            assert data == (project / "out" / name).read_bytes()


def test_preparing_the_briefs_holds_no_guide_once_their_keys_are_known(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mail merge of ten thousand rows must not hold ten thousand loaded guides: the briefs are
    prepared from the guides' names, each guide loaded only while its render key is worked out."""
    import gc

    import guidepdf.packet
    from guidepdf.guide import Guide

    alive: list[int] = []
    store_parts = guidepdf.packet.store_parts

    def counted(*args: object, **kwargs: object) -> object:
        store = store_parts(*args, **kwargs)  # type: ignore[arg-type]
        gc.collect()
        alive.append(sum(isinstance(obj, Guide) for obj in gc.get_objects()))
        return store

    monkeypatch.setattr(guidepdf.packet, "store_parts", counted)
    merge("mails")
    assert alive == [0]
    assert len(cached(project)) == 3


def test_briefs_read_again_when_rows_come_back_to_a_guide(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merge keeps only a few recent guides and briefs; a later row's brief is read again, the same."""
    from guidepdf.mail import stream

    merge("roomy")
    monkeypatch.setattr(stream, "KEEP_RECENT", 1)
    merge("tight")
    for eml in sorted((project / "roomy").glob("*.eml")):
        assert attachments(project / "tight" / eml.name) == attachments(eml)
