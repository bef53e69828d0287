"""Same inputs, same bytes, anywhere: across font subsetters, clocks, time zones and folders.

Each render runs in its own subprocess so that the clock (`SOURCE_DATE_EPOCH`, which fontTools
reads, and a patched `time.time`), the time zone and the font subsetter can differ between runs.
The fontTools path is taken by hiding libharfbuzz-subset in a private mount namespace (`unshare -m`);
where that is not permitted those tests skip and say why.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import SEEDS, pdftotext
from guidepdf import RenderOptions, build_message, load_guide, mail

GUIDE = SEEDS / "northwind-robotics-software-engineer.md"  # has an image beside it
AS_OF = "2026-11-23"
DAY = 86_400

# Renders GUIDE (argv[1]) to argv[2] and prints the facts the tests compare, as JSON. The clock is
# moved by `GUIDEPDF_TEST_SHIFT` seconds for everything that asks `time.time()`.
RENDER = r"""
import hashlib, json, os, sys, time
from datetime import UTC, date, datetime
from pathlib import Path

shift = float(os.environ.get("GUIDEPDF_TEST_SHIFT", "0"))
real_time = time.time
time.time = lambda: real_time() + shift

from weasyprint.text.ffi import harfbuzz_subset
from guidepdf import RenderOptions, build_message, load_guide
from guidepdf.mail import key_of, render_attachments

options = RenderOptions(as_of=date.fromisoformat(os.environ["GUIDEPDF_TEST_AS_OF"]))
guide = load_guide(sys.argv[1])
attachments = render_attachments([guide], options)
Path(sys.argv[2]).write_bytes(attachments[0].data)
message = build_message([guide], to="Ann Lee <ann@example.com>", sender="coach@example.org",
                        attachments=attachments, options=options, when=datetime(2026, 11, 23, tzinfo=UTC))
print(json.dumps({
    "harfbuzz_subset": harfbuzz_subset is not None,
    "sha256": hashlib.sha256(attachments[0].data).hexdigest(),
    "key": key_of(message),
    "message_id": str(message["Message-ID"]),
}))
"""


def _subset_library() -> Path | None:
    """The real file of libharfbuzz-subset.so.0 as the dynamic loader finds it, if installed."""
    try:
        listing = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    for line in listing.splitlines():
        if "libharfbuzz-subset.so.0 " in line and "=>" in line:
            return Path(os.path.realpath(line.split("=>", 1)[1].strip()))
    return None


def _hiding_command() -> list[str] | None:
    """A command prefix that runs a program with libharfbuzz-subset hidden, or None if not permitted."""
    library = _subset_library()
    if library is None or shutil.which("unshare") is None:
        return None
    prefix = ["unshare", "-m", "sh", "-c", f'mount --bind /dev/null "{library}" && exec "$0" "$@"']
    probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30)
    return prefix if probe.returncode == 0 else None


HIDE = _hiding_command()
needs_hiding = pytest.mark.skipif(
    HIDE is None,
    reason="cannot hide libharfbuzz-subset here (needs it installed and `unshare -m` with mount "
    "permission, e.g. root): the fontTools subsetting path is not exercised",
)


def render(
    guide: Path, out: Path, *, fonttools: bool = False, tz: str = "UTC", shift: float = 0
) -> dict[str, Any]:
    """Render `guide` in a fresh process with the given subsetter, time zone and clock shift."""
    env = {
        **os.environ,
        "TZ": tz,
        "GUIDEPDF_TEST_AS_OF": AS_OF,
        "GUIDEPDF_TEST_SHIFT": str(shift),
        # fontTools stamps this (else the clock) into each font's head.modified when asked to
        "SOURCE_DATE_EPOCH": str(int(datetime(2026, 11, 23, tzinfo=UTC).timestamp() + shift)),
    }
    command = [sys.executable, "-c", RENDER, str(guide), str(out)]
    if fonttools:
        assert HIDE is not None
        command = [*HIDE, *command]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    facts: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    assert facts["harfbuzz_subset"] is not fonttools
    return facts


def guide_in(folder: Path) -> Path:
    """A copy of GUIDE with its image, in `folder`."""
    folder.mkdir(parents=True)
    shutil.copy(GUIDE, folder / GUIDE.name)
    shutil.copytree(SEEDS / "images", folder / "images")
    return folder / GUIDE.name


def fonts_embedded(pdf: Path) -> list[str]:
    """The names of the fonts pdffonts lists as embedded."""
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines()[2:] if line.split()[-5:-4] == ["yes"]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., tuple[dict[str, Any], Path]]:
    """Render once per distinct setting (cached for the module): (facts, pdf path)."""
    root = tmp_path_factory.mktemp("det")
    here = guide_in(root / "here")
    moved = guide_in(root / "somewhere" / "else" / "entirely")
    done: dict[tuple[Any, ...], tuple[dict[str, Any], Path]] = {}

    def run(*, folder: str = "here", **settings: Any) -> tuple[dict[str, Any], Path]:
        key = (folder, *sorted(settings.items()))
        if key not in done:
            out = root / f"out-{len(done)}.pdf"
            done[key] = (render(here if folder == "here" else moved, out, **settings), out)
        return done[key]

    return run


def test_harfbuzz_path_same_bytes_across_clocks_time_zones_and_folders(runs: Callable[..., Any]) -> None:
    first, pdf = runs()
    for settings in (
        {"shift": DAY + 17},
        {"tz": "Asia/Kolkata"},
        {"tz": "America/Anchorage"},
        {"folder": "moved"},
    ):
        other, _ = runs(**settings)
        assert other["sha256"] == first["sha256"], settings
    text = pdftotext(pdf)
    assert "Northwind Robotics" in text
    # the image is in the PDF, named after a URL that does not say where the folder lies
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True).stdout
    assert len(listing.splitlines()) > 2
    assert str(pdf.parent).encode() not in pdf.read_bytes()


@needs_hiding
def test_fonttools_path_same_bytes_across_clocks_time_zones_and_folders(runs: Callable[..., Any]) -> None:
    first, pdf = runs(fonttools=True)
    for settings in (
        {"shift": DAY + 17},
        {"shift": 3 * DAY, "tz": "Pacific/Kiritimati"},
        {"folder": "moved"},
    ):
        other, _ = runs(fonttools=True, **settings)
        assert other["sha256"] == first["sha256"], settings
    # a different subsetter gives other bytes, but a reader sees the same text in embedded fonts
    _, harfbuzz_pdf = runs()
    assert pdftotext(pdf) == pdftotext(harfbuzz_pdf)
    assert fonts_embedded(pdf) and len(fonts_embedded(pdf)) == len(fonts_embedded(harfbuzz_pdf))


@needs_hiding
def test_send_log_key_and_message_id_do_not_depend_on_the_subsetter(runs: Callable[..., Any]) -> None:
    harfbuzz, _ = runs()
    fonttools, _ = runs(fonttools=True, shift=DAY, tz="Asia/Kolkata", folder="moved")
    assert harfbuzz["key"] == fonttools["key"]
    assert harfbuzz["message_id"] == fonttools["message_id"]


def test_send_log_key_does_not_depend_on_the_clock_zone_or_folder(runs: Callable[..., Any]) -> None:
    first, _ = runs()
    assert runs(shift=DAY + 17)[0]["key"] == first["key"]
    assert runs(folder="moved")[0]["key"] == first["key"]


# --------------------------------------------------------------------------------------------- one id


@pytest.fixture(scope="module")
def lumenpay() -> tuple[Any, RenderOptions, tuple[mail.Attachment, ...]]:
    options = RenderOptions(as_of=date(2026, 11, 23)).pinned()
    guide = load_guide(SEEDS / "lumenpay-product-manager.md")
    return guide, options, mail.render_attachments([guide], options)


def message_id(built: Any) -> str:
    parsed = email.message_from_bytes(mail.encode_message(built), policy=email.policy.default)
    return str(parsed["Message-ID"])


def test_messages_differing_in_anything_seen_get_different_ids(
    lumenpay: tuple[Any, RenderOptions, tuple[mail.Attachment, ...]], tmp_path: Path
) -> None:
    guide, options, attachments = lumenpay
    when = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)

    ann = mail.Recipient("ann@example.com", "Ann Lee", {"note": "See page 2."})

    def build(to: Any = ann, **kw: Any) -> Any:
        settings = {"sender": "coach@example.org", "attachments": attachments, "options": options, **kw}
        return build_message([guide], to=to, when=when, **settings)

    theme = tmp_path / "theme" / "email"
    theme.mkdir(parents=True)
    (theme / "message.txt.j2").write_text("Hi {{ name }}, the brief is attached.\n", encoding="utf-8")
    other_body = RenderOptions(as_of=options.as_of, templates=(tmp_path / "theme",)).pinned()

    base = build()
    variants = {
        "CSV note": build(mail.Recipient("ann@example.com", "Ann Lee", {"note": "See page 3."})),
        "recipient name": build(mail.Recipient("ann@example.com", "Ann B. Lee", {"note": "See page 2."})),
        "subject": build(subject="Your brief"),
        "sender": build(sender="Coach <coach@example.org>"),
        "body template": build(options=other_body),
        "attachment name": build(attachments=[mail.Attachment("other.pdf", attachments[0].data)]),
        "attachment": build(attachments=[*attachments, mail.Attachment("notes.txt", b"x", "text/plain")]),
    }
    ids = {name: message_id(message) for name, message in variants.items()}
    assert "See page 3." in variants["CSV note"].get_body(("plain",)).get_content()
    assert (
        "Hi Ann Lee, the brief is attached." in variants["body template"].get_body(("plain",)).get_content()
    )
    assert len({message_id(base), *ids.values()}) == len(ids) + 1, ids
    # the same message built again (another time, another Date) keeps its id and its key
    again = build_message(
        [guide],
        to=mail.Recipient("ann@example.com", "Ann Lee", {"note": "See page 2."}),
        sender="coach@example.org",
        attachments=mail.render_attachments([guide], options),
        options=options,
        when=datetime(2026, 12, 24, tzinfo=UTC),
    )
    assert message_id(again) == message_id(base)
    assert mail.key_of(again) == mail.key_of(base)


def test_brief_identity_follows_what_the_brief_is_made_from(
    lumenpay: tuple[Any, RenderOptions, tuple[mail.Attachment, ...]], tmp_path: Path
) -> None:
    guide, options, attachments = lumenpay
    assert attachments[0].identity == mail.brief_identity(guide, options)
    copy = tmp_path / "elsewhere" / "lumenpay.md"
    copy.parent.mkdir()
    shutil.copy(guide.path, copy)
    assert mail.brief_identity(load_guide(copy), options) == attachments[0].identity
    later = RenderOptions(as_of=date(2026, 12, 1)).pinned()
    assert mail.brief_identity(guide, later) != attachments[0].identity
    copy.write_text(guide.source.replace("Lumenpay", "Lumenpay Ltd", 1), encoding="utf-8")
    assert mail.brief_identity(load_guide(copy), options) != attachments[0].identity
