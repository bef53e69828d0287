"""Fuzzing with damaged copies of real guides: each renders a valid file or fails with one error line.

The cases come from a seeded generator, so a failure reproduces: set GUIDEPDF_FUZZ_SEED to try others.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import DATA, SEEDS
from guidepdf import Finding, GuidepdfError, RenderOptions, check_guide, load_guide, render_html

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("GUIDEPDF_FUZZ_SEED", "6"))
CASES = 160
PDF_CASES = 10
SOURCES = [*sorted(SEEDS.glob("*.md")), DATA / "reference.md"]
#: No render comes near this; a case that reaches it is a hang.
HANG_SECONDS = 30


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 40)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def cut(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def shuffle_lines(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    start = rng.randrange(len(lines))
    window = lines[start : start + rng.randint(2, 40)]
    rng.shuffle(window)
    return b"\n".join(lines[:start] + window + lines[start + len(window) :])


def insert_at_lines(pieces: list[bytes]) -> Callable[[bytes, random.Random], bytes]:
    def mutate(data: bytes, rng: random.Random) -> bytes:
        lines = data.split(b"\n")
        for _ in range(rng.randint(1, 4)):
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(pieces))
        return b"\n".join(lines)

    return mutate


def insert_at_bytes(pieces: list[bytes]) -> Callable[[bytes, random.Random], bytes]:
    def mutate(data: bytes, rng: random.Random) -> bytes:
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(data) + 1)
            data = data[:i] + rng.choice(pieces) + data[i:]
        return data

    return mutate


def duplicate_chunk(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data))
    chunk = data[start : start + rng.randint(1, 4000)]
    return data[:start] + chunk * rng.randint(2, 20) + data[start:]


def break_indentation(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(lines))
        lines[i] = rng.choice([b"", b"  ", b"\t", b"      "]) + lines[i].lstrip()
    return b"\n".join(lines)


MUTATORS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "flip": flip_bytes,
    "cut": cut,
    "shuffle": shuffle_lines,
    "fence": insert_at_lines([b"---", b"--- ", b"...", b"---\n---"]),
    "jinja": insert_at_bytes([b"{{", b"}}", b"{{ 7*7 }}", b"{% raw %}", b"{# x", b"{{ self.__init__ }}"]),
    "nul": insert_at_bytes([b"\x00", b"\x00" * 5, b"\x00\n\x00"]),
    "utf8": insert_at_bytes([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf"]),
    "html": insert_at_bytes([b"<script>", b"<table>", b"</td>", b"<img src=x onerror=y>", b"<!--"]),
    "yaml": insert_at_bytes([b"&a", b"*a", b"!!python/object:os.system", b": [", b"{", b"\t"]),
    "duplicate": duplicate_chunk,
    "indent": break_indentation,
}


def make_cases(seed: int, count: int) -> list[tuple[str, bytes]]:
    """`count` damaged guides: (name naming seed, case, mutations and source; bytes)."""
    rng = random.Random(seed)
    cases = []
    for n in range(count):
        source = rng.choice(SOURCES)
        data = source.read_bytes()
        names = rng.sample(sorted(MUTATORS), rng.randint(1, 3))
        for name in names:
            data = MUTATORS[name](data, rng) if data else data
        cases.append((f"case-{seed}-{n:03d}-{'-'.join(names)}-{source.stem[:20]}.md", data))
    return cases


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of damaged guides beside a copy of the seeds' images folder."""
    folder = tmp_path_factory.mktemp("damaged")
    shutil.copytree(SEEDS / "images", folder / "images")
    for name, data in make_cases(SEED, CASES):
        (folder / name).write_bytes(data)
    return folder


def test_cases_are_reproducible_and_damaged() -> None:
    first, again = make_cases(SEED, 12), make_cases(SEED, 12)
    assert first == again
    originals = {p.read_bytes() for p in SOURCES}
    assert not any(data in originals for _, data in first)
    assert {name.split("-")[3] for name, _ in make_cases(SEED, CASES)} >= {"cut", "flip", "nul"}


@contextmanager
def deadline(seconds: int, what: str) -> Iterator[None]:
    def hang(signum: int, frame: object) -> None:
        raise TimeoutError(f"{what} took over {seconds}s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_each_case_loads_and_renders_html_or_fails_cleanly(damaged: Path) -> None:
    outcomes = {"rendered": 0, "failed": 0}
    options = RenderOptions(as_of=date(2026, 11, 23))
    for path in sorted(damaged.glob("*.md")):
        with deadline(HANG_SECONDS, path.name):
            try:
                page = render_html(load_guide(path), options)
            except GuidepdfError as exc:
                message = str(exc)
                assert message.startswith(str(path)), message
                assert "\n" not in message, f"{path.name}: error spans lines: {message!r}"
                assert "Traceback" not in message
                outcomes["failed"] += 1
                continue
        assert page.startswith("<!DOCTYPE html>") and "</html>" in page, path.name
        outcomes["rendered"] += 1
    # `check` survives the same damage, and calls a guide bad exactly when the loader does.
    for path in sorted(damaged.glob("*.md")):
        with deadline(HANG_SECONDS, f"check {path.name}"):
            findings = check_guide(path, date(2026, 11, 23))
        assert all(isinstance(f, Finding) and f.severity in ("error", "warning") for f in findings)
        try:
            load_guide(path)
        except GuidepdfError:
            assert [f.code for f in findings] == ["schema"], path.name
    # Damage that never breaks anything, or always does, would test little.
    assert outcomes["rendered"] >= 5 and outcomes["failed"] >= 5, outcomes


def run_cli(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """The installed `guidepdf` command, as a user runs it; a timeout here means a hang."""
    command = [str(Path(sys.executable).parent / "guidepdf"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def check_batch(result: subprocess.CompletedProcess[str], inputs: list[Path], out: Path, suffix: str) -> int:
    """Assert the batch reported every input once, as written or as one error line; return outputs."""
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode in (0, 1), result.stderr[-3000:]
    lines = result.stderr.splitlines()
    summary = re.search(r"^(\d+) rendered, (\d+) skipped, (\d+) failed", result.stderr, re.M)
    assert summary, result.stderr[-2000:]
    rendered, failed = int(summary.group(1)), int(summary.group(3))
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == failed, errors
    names = {str(p) for p in inputs}
    for line in errors:
        assert any(line.startswith(f"error: {name}: ") for name in names), line
    others = [line for line in lines if not line.startswith(("error: ", "warning: ", summary.group(0)))]
    assert others == [], others
    outputs = sorted(out.glob(f"*{suffix}"))
    assert len(outputs) == rendered and rendered + failed == len(inputs)
    assert not list(out.glob("*.part")) and not list(out.glob(".*.part"))
    return len(outputs)


def test_damaged_batch_to_html_through_the_cli(damaged: Path, tmp_path: Path) -> None:
    out = tmp_path / "html"
    result = run_cli(
        "render", str(damaged), "-o", str(out), "--format", "html", "--jobs", "2", "--quiet", timeout=300
    )
    inputs = sorted(damaged.glob("*.md"))
    written = check_batch(result, inputs, out, ".html")
    assert written >= 5
    for page in out.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>"), page.name


def test_damaged_batch_to_pdf_through_the_cli(damaged: Path, tmp_path: Path) -> None:
    folder = tmp_path / "subset"
    folder.mkdir()
    shutil.copytree(damaged / "images", folder / "images")
    # Every few cases, so the subset spans all kinds of damage.
    subset = sorted(damaged.glob("*.md"))[:: CASES // PDF_CASES][:PDF_CASES]
    for path in subset:
        shutil.copy(path, folder / path.name)
    out = tmp_path / "pdf"
    result = run_cli(
        "render", str(folder), "-o", str(out), "--jobs", "2", "--as-of", "2026-11-23", "--quiet", timeout=300
    )
    written = check_batch(result, sorted(folder.glob("*.md")), out, ".pdf")
    assert written >= 2, result.stderr
    for pdf in out.glob("*.pdf"):
        check = subprocess.run(["qpdf", "--check", str(pdf)], capture_output=True, text=True)
        assert check.returncode == 0, f"{pdf.name}: {check.stdout}{check.stderr}"
        assert len(PdfReader(pdf).pages) >= 1
