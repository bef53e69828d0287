"""The README's set-up commands work from a fresh clone, and every command is documented."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from conftest import DATA, ROOT, SEEDS
from guidepdf.cli import main

README = (ROOT / "README.md").read_text(encoding="utf-8")


def setup_commands() -> list[str]:
    block = README.split("## Set-up", 1)[1].split("```console", 1)[1].split("```", 1)[0]
    return [line[2:].split("#", 1)[0].strip() for line in block.splitlines() if line.startswith("$ ")]


def test_readme_has_two_setup_commands_and_ci_runs_the_test_one() -> None:
    demo, test = setup_commands()
    assert demo == "bash scripts/demo" and test == "bash scripts/test"
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_command_has_help_and_a_readme_section() -> None:
    for name, command in main.commands.items():
        assert command.help, name
        assert f"guidepdf {name}" in README, f"README does not show `guidepdf {name}`"


@pytest.mark.skipif(
    not (ROOT / ".git").exists() or shutil.which("git") is None, reason="needs a git checkout"
)
def test_demo_command_from_a_fresh_clone(tmp_path: Path) -> None:
    """`bash scripts/demo` in a new clone installs guidepdf and renders every seed into out/."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    (demo_command, _) = setup_commands()
    run = subprocess.run(
        demo_command, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stderr[-2000:]
    seeds = sorted(SEEDS.glob("*.md"))
    pdfs = sorted((clone / "out").glob("*.pdf"))
    assert len(pdfs) == len(seeds)
    for pdf in pdfs:
        reader = PdfReader(pdf)
        assert len(reader.pages) >= 1
        assert re.search(r"Salary negotiation brief", reader.pages[0].extract_text(), re.I)
    # the wheel (not an editable install) carries the theme: run it from an unrelated folder
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(seeds[0], elsewhere / "g.md")
    run = subprocess.run(
        [str(clone / ".venv" / "bin" / "guidepdf"), "render", "g.md", "-o", "g.pdf"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert (elsewhere / "g.pdf").stat().st_size > 10_000
    installed = subprocess.run(
        [
            str(clone / ".venv" / "bin" / "python"),
            "-c",
            "import guidepdf.themes as t; print(t.builtin_dir('styles'))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=elsewhere,
    ).stdout
    assert "site-packages" in installed


# --------------------------------------------------------------------------------------------- examples
#
# Every `$ ` command in a ```console block of the README runs, in a fresh temporary folder per block
# (the block's commands share it, in order), and must print exactly the lines the README shows after
# it (stdout and stderr together). Only timings may differ: `in 1.1 s` matches any figure, and the
# progress lines a busy machine prints while waiting (`Rendering: 3 of 12 …`) are left out. A command
# the README shows no output for must still run: no usage error, no traceback, exit status 0 or 1.
#
# The folder holds `seeds/` (the sample guides), `guides/` (a copy of them) and `guide.md` (one of
# them, with its images); blocks that need more are set up by `SETUPS` below, keyed by their first
# command. `localhost:2525` is a local aiosmtpd server; `/home/me/offers` is the folder itself.
#
# A block that cannot run here (it installs, needs a cluster or a real mail server, or waits for
# Ctrl-C) is marked by an HTML comment on the line before its fence, saying why:
#
#     <!-- no-run: needs a dask cluster -->
#     ```console
#
# Use that sparingly: an example that does not run is an example nobody checks.

TIMING_RE = re.compile(r"\bin \d+(?:\.\d+)? s\b")
#: A progress line, printed without a terminal only when a command runs longer than a few seconds.
PROGRESS_RE = re.compile(r"^[A-Z][\w ]*: [\d,]+ of [\d,]+ \(\d+%\), ")
SMTP_PLACEHOLDER = "localhost:2525"
HOME_PLACEHOLDER = "/home/me/offers"


@dataclass(frozen=True)
class Example:
    """One `$ ` command of the README and the output lines shown after it."""

    command: str
    output: tuple[str, ...]


@dataclass(frozen=True)
class Block:
    """A ```console block: its README line, whether it is marked no-run, and its commands."""

    line: int
    skip: str | None
    examples: tuple[Example, ...]


def console_blocks(text: str = README) -> list[Block]:
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```console":
            i += 1
            continue
        before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        skip = before[4:-3].strip() if before.startswith("<!-- no-run") and before.endswith("-->") else None
        start, i = i + 1, i + 1
        while i < len(lines) and lines[i].strip() != "```":
            i += 1
        blocks.append(Block(start, skip, tuple(_examples(lines[start:i]))))
    return blocks


def _examples(lines: list[str]) -> list[Example]:
    examples: list[Example] = []
    command: str | None = None
    output: list[str] = []
    for line in lines:
        if line.startswith("$ ") and not (command or "").endswith("\\"):
            if command is not None:
                examples.append(Example(command, tuple(output)))
            command, output = line[2:], []
        elif command is not None and command.endswith("\\"):
            command = command[:-1] + " " + line.strip()
        else:
            output.append(line)
    if command is not None:
        examples.append(Example(command, tuple(output)))
    return examples


class BusyMailbox:
    """An SMTP handler that accepts everything except, for `busy` addresses, the first `refusals` tries."""

    def __init__(self, busy: tuple[str, ...] = (), refusals: int = 0) -> None:
        self.busy = busy
        self.refusals = refusals
        self.received: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusals and any(rcpt in self.busy for rcpt in envelope.rcpt_tos):
            self.refusals -= 1
            return "451 4.3.0 Mailbox busy, try later"
        self.received.append(envelope.content)
        return "250 OK"


def _copy_guides(target: Path, names: Iterable[str] | None = None) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(SEEDS.glob("*.md")):
        if names is None or path.name in names:
            shutil.copy(path, target / path.name)
    shutil.copytree(SEEDS / "images", target / "images", dirs_exist_ok=True)


def _guidepdf(folder: Path, *args: str) -> None:
    command = [str(Path(sys.executable).parent / "guidepdf"), *args]
    subprocess.run(command, cwd=folder, check=True, capture_output=True, timeout=600)


def _setup_bad(folder: Path, handler: BusyMailbox) -> None:
    _guidepdf(folder, "render", "seeds/", "-o", "out/")
    bad = "---\ncompany: Zz\nrole: Bad\nlast_updated: 2026-01-01\ncompensation:\n  - base_low: abc\n---\n"
    (folder / "seeds" / "zz-bad.md").write_text(bad, encoding="utf-8")


def _setup_mail(folder: Path, handler: BusyMailbox) -> None:
    _copy_guides(folder, ["lumenpay-product-manager.md", "tessera-ai-ml-engineer.md"])


def _setup_merge(folder: Path, handler: BusyMailbox) -> None:
    _setup_mail(folder, handler)
    csv_text = "\n".join(README.split("$ cat recipients.csv\n", 1)[1].split("\n$ ", 1)[0].splitlines()) + "\n"
    (folder / "recipients.csv").write_text(csv_text, encoding="utf-8")
    handler.busy, handler.refusals = ("dee@example.com",), 4


def _setup_check(folder: Path, handler: BusyMailbox) -> None:
    shutil.rmtree(folder / "guides")
    (folder / "guides").mkdir()
    shutil.copy(SEEDS / "halden-bank-quant-researcher.md", folder / "guides")
    shutil.copy(DATA / "readme" / "guides" / "ironbark.md", folder / "guides")


def _setup_attachments(folder: Path, handler: BusyMailbox) -> None:
    shutil.copy(DATA / "reference.md", folder / "jane-street-ml.md")
    _guidepdf(folder, "render", "jane-street-ml.md", "-o", "jane-street-ml-ai-engineer.pdf")


def _setup_preview(folder: Path, handler: BusyMailbox) -> None:
    _guidepdf(folder, "packet", "guides/lumenpay-product-manager.md", "guide.md", "-o", "offers.pdf")


def _setup_theme(folder: Path, handler: BusyMailbox) -> None:
    shutil.rmtree(folder / "guides")
    _copy_guides(folder / "guides", ["lumenpay-product-manager.md"])
    theme = folder / "mytheme"
    theme.mkdir()
    template = README.split("```jinja\n", 1)[1].split("```", 1)[0]
    (theme / "brief.html.j2").write_text(template, encoding="utf-8")
    (theme / "brand.css").write_text(":root { --accent: #7a1f5c; }\n", encoding="utf-8")


def _setup_ignore(folder: Path, handler: BusyMailbox) -> None:
    listing = README.split("$ cat guides/.guidepdfignore\n", 1)[1].split("\n$ ", 1)[0]
    (folder / "guides" / ".guidepdfignore").write_text(listing + "\n", encoding="utf-8")


def _setup_config(folder: Path, handler: BusyMailbox) -> None:
    (folder / "guidepdf.toml").write_text('page_size = "A3"\nstlyes = ["brand.css"]\n', encoding="utf-8")


def _setup_refused(folder: Path, handler: BusyMailbox) -> None:
    shutil.copy(DATA / "readme" / "guides" / "ironbark.md", folder / "guides")


def _setup_ignore(folder: Path, handler: BusyMailbox) -> None:
    (folder / "guides" / ".guidepdfignore").write_text("README.md\nnotes.txt\ndrafts/\n", encoding="utf-8")
    (folder / "guides" / "README.md").write_text("# About these guides\n", encoding="utf-8")
    (folder / "guides" / "notes.txt").write_text("To do: Tokyo figures\n", encoding="utf-8")
    (folder / "guides" / "drafts").mkdir()
    shutil.copy(DATA / "readme" / "guides" / "ironbark.md", folder / "guides" / "drafts")


def _setup_real_guide(folder: Path, handler: BusyMailbox) -> None:
    shutil.copy(DATA / "format" / "000_549dec0afae519e7.txt", folder / "jane-street.txt")


def first_command(block: Block) -> str:
    """The block's first command without its trailing comment: the key into `SETUPS`."""
    return " ".join(re.sub(r"\s+#[^'\"]*$", "", block.examples[0].command).split())


#: Extra preparation for the blocks that need it, by their first command.
SETUPS: dict[str, Callable[[Path, BusyMailbox], None]] = {
    "guidepdf render seeds/ -o out/": _setup_bad,
    "cat guides/.guidepdfignore": _setup_ignore,
    "guidepdf email lumenpay-product-manager.md --to 'Ann Lee <ann@example.com>' "
    "--from 'Coach <coach@example.org>' --eml ann.eml": _setup_mail,
    "cat recipients.csv": _setup_merge,
    "guidepdf check guides/ --as-of 2026-11-23": _setup_check,
    "pdfdetach -list jane-street-ml-ai-engineer.pdf": _setup_attachments,
    "guidepdf preview guide.md -o page1.png --page 1 --dpi 100": _setup_preview,
    "guidepdf render guides/ --templates mytheme/ --style mytheme/brand.css": _setup_theme,
    "guidepdf render guides/": _setup_config,
    "guidepdf render guides/ironbark.md -o ironbark.pdf": _setup_refused,
    "guidepdf check jane-street.txt --as-of 2026-03-01": _setup_real_guide,
}


def test_readme_examples_are_found_and_marked() -> None:
    blocks = console_blocks()
    assert len(blocks) >= 10
    runnable = [b for b in blocks if b.skip is None]
    assert len(runnable) > len(blocks) / 2, "most examples must run"
    assert all(b.skip for b in blocks if b.skip is not None), "a no-run mark says why"
    first = {first_command(b) for b in runnable}
    assert set(SETUPS) <= first, f"setups for examples no longer in the README: {set(SETUPS) - first}"


@pytest.mark.parametrize(
    "block",
    [pytest.param(b, id=f"line-{b.line}") for b in console_blocks() if b.skip is None and b.examples],
)
def test_readme_example_prints_what_the_readme_shows(block: Block, tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    folder = tmp_path / "offers"
    _copy_guides(folder / "seeds")
    _copy_guides(folder / "guides")
    shutil.copy(SEEDS / "kestrel-games-product-designer.md", folder / "guide.md")
    shutil.copytree(SEEDS / "images", folder / "images")
    handler = BusyMailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GUIDEPDF")},
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
            "COLUMNS": "200",
        }
        setup = SETUPS.get(first_command(block))
        if setup is not None:
            setup(folder, handler)
        for example in block.examples:
            command = example.command.replace(SMTP_PLACEHOLDER, f"127.0.0.1:{port}")
            run = subprocess.run(
                ["bash", "-c", command],
                cwd=folder,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=600,
            )
            printed = run.stdout.replace(str(folder), HOME_PLACEHOLDER).replace(str(port), "2525")
            where = f"README line {block.line}: $ {example.command}"
            if not example.output:
                assert run.returncode in (0, 1), f"{where}\n{printed}"
                assert "Traceback" not in printed and "Usage:" not in printed, f"{where}\n{printed}"
                continue
            shown = [TIMING_RE.sub("in … s", line) for line in example.output]
            got = [
                TIMING_RE.sub("in … s", line) for line in printed.splitlines() if not PROGRESS_RE.match(line)
            ]
            assert got == shown, where
    finally:
        controller.stop()
