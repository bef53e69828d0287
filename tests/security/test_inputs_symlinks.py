"""Guide files that are symlinks out of the folder, FIFOs, devices and /proc entries are never read."""

from __future__ import annotations

import os
from pathlib import Path

import pikepdf
import pytest

from .conftest import (
    AS_OF,
    GOOD_PDF,
    SECRET,
    cli,
    cli_process,
    error_line,
    no_traceback,
    pdfs,
    readable_text,
    render_batch,
    write_guide,
)


def plant_links(folder: Path, secret_file: Path) -> None:
    """The attacks a downloaded guide folder can carry in its file names."""
    (folder / "passwd.md").symlink_to("/etc/passwd")
    (folder / "id_rsa.md").symlink_to(secret_file)
    (folder / "env.md").symlink_to("/proc/self/environ")
    (folder / "sub").mkdir()
    (folder / "sub" / "up.md").symlink_to(Path("..") / ".." / secret_file.parent.name / secret_file.name)


def test_symlinks_out_of_a_folder_are_refused_and_the_rest_renders(
    folder: Path, secret_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUIDEPDF_SMTP_PASSWORD", SECRET)  # what /proc/self/environ would mail
    plant_links(folder, secret_file)
    out = tmp_path / "out"
    run = render_batch(folder, out=out)
    assert run.code == 1
    for name in ("env.md", "id_rsa.md", "passwd.md", "sub/up.md"):
        line = error_line(run, folder / name)
        assert f"links outside {folder}" in line and "not read" in line
    assert [p.name for p in pdfs(out)] == [GOOD_PDF]
    seen = readable_text(out / GOOD_PDF)
    assert SECRET not in seen and "root:x:0:0" not in seen


def test_symlinks_out_of_a_glob_folder_are_refused(folder: Path, secret_file: Path, tmp_path: Path) -> None:
    plant_links(folder, secret_file)
    out = tmp_path / "out"
    run = cli("render", f"{folder}/*.md", "-o", out, "--as-of", AS_OF, "-j", "1")
    no_traceback(run)
    assert run.code == 1
    assert sorted(e.split(": ")[1] for e in run.errors) == [
        str(folder / n) for n in ("env.md", "id_rsa.md", "passwd.md")
    ]
    assert [p.name for p in pdfs(out)] == [GOOD_PDF]


def test_a_packet_and_an_email_refuse_them_too(folder: Path, secret_file: Path, tmp_path: Path) -> None:
    plant_links(folder, secret_file)
    packet = tmp_path / "packet.pdf"
    run = cli("packet", folder, "-o", packet, "--as-of", AS_OF, "-j", "1")
    no_traceback(run)
    assert run.code == 1 and len(run.errors) == 4
    assert SECRET not in readable_text(packet) and "root:x:0:0" not in readable_text(packet)
    eml = tmp_path / "mail"
    run = cli(
        "email", folder, "--to", "a@example.org", "--from", "c@example.org", "--eml", eml, "--as-of", AS_OF
    )
    no_traceback(run)
    assert run.code == 1 and len(run.errors) == 4
    [message] = list(eml.glob("*.eml"))
    assert SECRET not in message.read_text(encoding="utf-8")


def test_symlinks_inside_the_folder_keep_working(folder: Path, tmp_path: Path) -> None:
    real = write_guide(folder / "drafts" / "real.md", company="inside", role="link")
    (folder / "alias.md").symlink_to(Path("drafts") / "real.md")
    out = tmp_path / "out"
    run = cli(
        "render", folder / "alias.md", folder / GOOD_PDF.replace(".pdf", ".md"), "-o", out, "--as-of", AS_OF
    )
    assert run.code == 0, run.stderr
    run = cli("render", folder, "-o", out, "--as-of", AS_OF, "-j", "1")
    assert run.code == 0, run.stderr
    assert "Inside" in readable_text(out / "inside-link.pdf")
    assert real.exists()


def test_fifo_guides_do_not_hang_and_are_refused(folder: Path, tmp_path: Path) -> None:
    os.mkfifo(folder / "pipe.md")
    out = tmp_path / "out"
    run = cli_process("render", folder, "-o", out, "--as-of", AS_OF, "-j", "1", timeout=120)
    assert run.code == 1 and "Traceback" not in run.stderr
    assert run.errors == [f"error: {folder / 'pipe.md'}: a FIFO (named pipe), not a regular file; not read"]
    assert [p.name for p in pdfs(out)] == [GOOD_PDF]
    named = cli_process("check", folder / "pipe.md", timeout=60)  # named directly: still refused
    assert named.code == 1 and "a FIFO (named pipe), not a regular file" in named.stdout


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/proc/self/environ", "/proc/self/cmdline"])
def test_devices_and_proc_entries_named_directly_are_refused(device: str, tmp_path: Path) -> None:
    run = cli_process("render", device, "-o", tmp_path / "out", timeout=60)
    assert run.code == 1 and "Traceback" not in run.stderr
    [line] = run.errors
    assert line.startswith(f"error: {device}: a system file (") and line.endswith("not data; not read")
    assert not (tmp_path / "out").exists() or not pdfs(tmp_path / "out")


def test_a_sparse_guide_is_refused_by_a_bounded_read(folder: Path, tmp_path: Path) -> None:
    huge = folder / "sparse.md"
    with huge.open("wb") as handle:
        handle.truncate(50_000_000_000)  # 50 GB that take no disk: `stat` says 50 GB, reading would not end
    run = cli_process("render", folder, "-o", tmp_path / "out", "--as-of", AS_OF, "-j", "1", timeout=120)
    assert run.code == 1 and "Traceback" not in run.stderr
    assert run.errors == [f"error: {huge}: file is 50,000,000,000 bytes, over the 5,000,000-byte limit"]
    assert [p.name for p in pdfs(tmp_path / "out")] == [GOOD_PDF]


def test_preview_of_a_pdf_that_is_a_device_is_refused(tmp_path: Path) -> None:
    (tmp_path / "zero.pdf").symlink_to("/dev/zero")
    run = cli_process("preview", tmp_path / "zero.pdf", "-o", tmp_path / "page.png", timeout=60)
    assert "Traceback" not in run.stderr
    assert run.errors == [f"error: {tmp_path / 'zero.pdf'}: cannot read: a system file (/dev/zero), not data"]
    assert not (tmp_path / "page.png").exists()


def test_a_looping_folder_link_selects_each_guide_once(folder: Path, tmp_path: Path) -> None:
    (folder / "loop").symlink_to(".", target_is_directory=True)
    out = tmp_path / "out"
    run = render_batch(f"{folder}/**/*.md", out=out)
    assert run.code == 0, run.stderr
    assert "two guides want" not in run.stderr
    assert [p.name for p in pdfs(out)] == [GOOD_PDF]


def test_an_svg_in_the_folder_cannot_pull_in_a_file_outside(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (31, 17), "red").save(tmp_path / "secret.png")
    folder = tmp_path / "guides"
    folder.mkdir()
    (folder / "diagram.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        ' width="200" height="100"><rect width="200" height="100" fill="navy"/>'
        f'<image href="file://{tmp_path}/secret.png" width="31" height="17"/>'
        '<image xlink:href="../secret.png" x="40" width="31" height="17"/></svg>',
        encoding="utf-8",
    )
    guide = write_guide(folder / "svg.md", "# Diagram\n\n![diagram](diagram.svg)\n\nAfter the diagram.\n")
    out = tmp_path / "out"
    run = render_batch(guide, out=out)
    assert run.code == 0, run.stderr
    pdf = out / "acme-engineer.pdf"
    assert "After the diagram." in readable_text(pdf)
    with pikepdf.Pdf.open(pdf) as document:
        images = [
            obj
            for obj in document.objects
            if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image"
        ]
    assert images == []  # neither copy of secret.png was read


def swapping(tasks: type, victim: Path, private: Path) -> type:
    """`tasks` (the deferred render tasks) that, as the first task's turn comes, swap `victim` for a
    link to `private`: an attacker who can write the guide folder, between planning and rendering."""

    class Swapping(tasks):  # type: ignore[misc,valid-type]
        def __getitem__(self, index: int) -> object:
            if victim.exists() and not victim.is_symlink():
                victim.unlink()
                victim.symlink_to(private)
            return super().__getitem__(index)

    return Swapping


def test_a_guide_swapped_for_a_link_while_the_batch_runs_is_not_read(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch reads each guide again when its turn comes; a guide replaced in between by a link to
    a file outside the folder (here a guide carrying the secret) is refused, not rendered."""
    from guidepdf import batch

    private = write_guide(tmp_path / "private" / "stolen.md", body=f"# Notes\n\n{SECRET}\n")
    victim = write_guide(folder / "victim.md")
    monkeypatch.setattr(batch, "DeferredTasks", swapping(batch.DeferredTasks, victim, private))
    out = tmp_path / "out"
    run = render_batch(folder, out=out)
    assert run.code == 1
    line = error_line(run, victim)
    assert line.endswith("replaced by a link to another file during the batch; not read"), line
    assert (out / GOOD_PDF).exists()
    for pdf in pdfs(out):
        assert SECRET not in readable_text(pdf)
    assert not (out / "victim.pdf").exists()


def test_a_mail_merge_guide_swapped_for_a_link_before_its_brief_is_rendered_is_not_read(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guidepdf.packet import parts

    private = write_guide(tmp_path / "private" / "stolen.md", body=f"# Notes\n\n{SECRET}\n")
    victim = write_guide(folder / "victim.md")
    good = folder / GOOD_PDF.replace(".pdf", ".md")
    monkeypatch.setattr(parts, "DeferredTasks", swapping(parts.DeferredTasks, victim, private))
    cache = tmp_path / "cache"
    store = parts.store_parts([good, victim], cache_dir=cache, jobs=1)
    error = store.errors[folder.resolve() / "victim.md"]
    assert error.endswith("replaced by a link to another file during the run; not read"), error
    briefs = list(cache.rglob("*.pdf"))
    assert len(briefs) == 1 and SECRET not in readable_text(briefs[0])  # the good guide's only
    from guidepdf.guide import load_guide

    assert store.get(load_guide(good)) is not None


def test_a_packet_guide_swapped_for_a_link_before_its_part_is_rendered_is_not_read(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A packet loads its guides, then reads each again when its part's turn comes: a guide replaced
    in between by a link to a file outside the folder is refused, and the packet holds the others."""
    from guidepdf.packet import make_packet, parts

    private = write_guide(tmp_path / "private" / "stolen.md", body=f"# Notes\n\n{SECRET}\n")
    victim = write_guide(folder / "victim.md")
    good = folder / GOOD_PDF.replace(".pdf", ".md")
    monkeypatch.setattr(parts, "DeferredTasks", swapping(parts.DeferredTasks, victim, private))
    packet = make_packet([good, victim], cache_dir=tmp_path / "cache", jobs=1)
    (failed,) = packet.failed
    assert failed.error is not None
    assert failed.error.endswith("replaced by a link to another file during the packet; not read"), failed
    assert packet.pdf is not None and SECRET not in readable_text(packet.pdf)
    assert packet.sources == (str(good),)
