"""Progress a person can read: rate and time left, sparse lines off a terminal, clashes summed up once."""

from __future__ import annotations

import contextlib
import io
import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from guidepdf import progress as progress_module
from guidepdf.cli import main
from guidepdf.progress import Progress, Tracker, choose_mode, summarise_clashes

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
KESTREL = SEEDS / "kestrel-games-product-designer.md"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def item(status: str = "rendered", output: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(status=status, output=output)


def test_rate_and_time_left_count_only_work_done() -> None:
    clock = Clock()
    tracker = Tracker(10, clock)
    assert tracker.rate is None and tracker.left_text() == "estimating time left"
    for _ in range(4):  # four up-to-date outputs finish at once
        tracker.advance(item("skipped"))
    clock.now += 2
    tracker.advance(item())
    tracker.advance(item())
    assert tracker.rate == 1.0  # two rendered in two seconds
    assert tracker.left == 4.0  # four items still to go
    assert tracker.line("Rendering") == ("Rendering: 6 of 10 (60%), 1.0/s, about 4 s left, 2 s so far")


def test_lines_off_a_terminal_come_at_most_every_few_seconds() -> None:
    clock, stream = Clock(), io.StringIO()
    with Progress(100, "Rendering", "lines", stream=stream, every=5, clock=clock) as progress:
        for _ in range(50):
            clock.now += 0.5  # 50 guides over 25 seconds
            progress(item())
    lines = stream.getvalue().splitlines()
    assert 4 <= len(lines) <= 5
    assert lines[0].startswith("Rendering: 10 of 100 (10%), 2.0/s, about 45 s left")


def test_the_bar_shows_rate_and_time_left() -> None:
    stream = io.StringIO()
    stream.isatty = lambda: True  # type: ignore[method-assign]
    assert choose_mode(3, quiet=False, stream=stream) == "bar"
    with Progress(3, "Rendering", "bar", stream=stream) as progress:
        progress(item())
        progress._bar.refresh()
        shown = stream.getvalue()
    assert "1/3" in shown and "/s" in shown and "left" in shown


def test_quiet_and_single_items_show_nothing() -> None:
    stream = io.StringIO()
    stream.isatty = lambda: True  # type: ignore[method-assign]
    assert choose_mode(500, quiet=True, stream=stream) == "off"
    assert choose_mode(1, quiet=False, stream=stream) == "off"
    assert choose_mode(500, quiet=False, stream=io.StringIO()) == "lines"


def test_clashes_are_one_line_unless_verbose_and_skipped_ones_are_not_repeated() -> None:
    clashes = [("a.pdf", "a-2.pdf"), ("a.pdf", "a-3.pdf"), ("b.pdf", "b-2.pdf")]
    items = [item("rendered", "out/a-2.pdf"), item("rendered", "out/a-3.pdf"), item("skipped", "out/b-2.pdf")]
    (summary,) = summarise_clashes(clashes, items, verbose=False)
    assert summary.startswith("2 guides share an output name with another; written as a-2.pdf")
    assert "manifest.json" in summary
    assert summarise_clashes(clashes, items, verbose=True) == [
        "two guides want a.pdf; one is written as a-2.pdf",
        "two guides want a.pdf; one is written as a-3.pdf",
    ]
    assert summarise_clashes(clashes, [item("skipped", "out/a-2.pdf")], verbose=False) == []


def test_a_batch_says_its_clashes_once_and_not_again_when_nothing_changed(tmp_path: Path) -> None:
    folder = tmp_path / "g"
    folder.mkdir()
    for name in ("a.md", "b.md", "c.md"):
        shutil.copy(KESTREL, folder / name)
    args = ["render", str(folder), "-o", str(tmp_path / "out"), "--jobs", "1"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    clash_lines = [line for line in first.stderr.splitlines() if "output name" in line]
    assert clash_lines == [
        "warning: 2 guides share an output name with another; written as "
        "kestrel-games-product-designer-2.pdf and so on (see manifest.json, or --verbose to list them)"
    ]
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and "warning" not in again.stderr
    listed = CliRunner().invoke(main, [*args, "--force", "--verbose", "--quiet"])
    assert listed.stderr.count("two guides want kestrel-games-product-designer.pdf") == 2


def many_guides(folder: Path, count: int) -> Path:
    folder.mkdir()
    for n in range(count):
        shutil.copy(KESTREL, folder / f"g{n:02d}.md")
    return folder


def test_check_paths_reports_each_guide_to_a_progress_display(tmp_path: Path) -> None:
    from guidepdf.check import check_paths

    folder = many_guides(tmp_path / "g", 12)
    clock, stream = Clock(), io.StringIO()
    shown: list[tuple[int, str]] = []

    @contextlib.contextmanager
    def display(total: int, label: str) -> Iterator[Callable[[object], None]]:
        shown.append((total, label))
        with Progress(total, label, "lines", stream=stream, every=5, clock=clock) as progress:

            def step(item: object) -> None:
                clock.now += 1  # one guide a second
                progress(item)

            yield step

    result = check_paths([folder], date(2026, 11, 23), progress=display)
    assert shown == [(12, "Checking")] and len(result.checked) == 12
    lines = stream.getvalue().splitlines()
    assert lines == [
        "Checking: 5 of 12 (41%), 1.0/s, about 7 s left, 5 s so far",
        "Checking: 10 of 12 (83%), 1.0/s, about 2 s left, 10 s so far",
    ]


def test_check_shows_progress_off_a_terminal_and_keeps_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = many_guides(tmp_path / "g", 4)
    args = ["check", str(folder), "--as-of", "2026-11-23"]
    quiet = CliRunner().invoke(main, [*args, "--quiet"])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == "4 checked, 0 errors, 0 warnings\n"
    monkeypatch.setattr(progress_module, "EVERY", 0.0)  # a line for every guide but the last
    shown = CliRunner().invoke(main, args)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == quiet.stdout
    lines = shown.stderr.splitlines()
    assert [line.split(",")[0] for line in lines[:-1]] == [
        "Checking: 1 of 4 (25%)",
        "Checking: 2 of 4 (50%)",
        "Checking: 3 of 4 (75%)",
    ]
    assert "/s" in lines[0] and "left" in lines[0]
    assert lines[-1] == "4 checked, 0 errors, 0 warnings"


def test_check_on_a_terminal_shows_a_bar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    modes: list[str] = []
    real_progress = progress_module.Progress

    def spy(total: int, label: str, mode: progress_module.Mode, **kw: object) -> Progress:
        modes.append(mode)
        return real_progress(total, label, "off")

    monkeypatch.setattr(progress_module, "choose_mode", lambda total, quiet: "off" if quiet else "bar")
    monkeypatch.setattr(progress_module, "Progress", spy)
    folder = many_guides(tmp_path / "g", 3)
    assert CliRunner().invoke(main, ["check", str(folder), "--as-of", "2026-11-23"]).exit_code == 0
    assert CliRunner().invoke(main, ["check", str(folder), "--as-of", "2026-11-23", "-q"]).exit_code == 0
    assert modes == ["bar", "off"]


def test_a_grouped_packet_shows_its_join_after_its_parts_and_ends_each_display(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "g"
    folder.mkdir()
    for name in (
        "kestrel-games-product-designer",
        "lumenpay-product-manager",
        "halden-bank-quant-researcher",
    ):
        shutil.copy(SEEDS / f"{name}.md", folder / f"{name}.md")
    events: list[str] = []
    real_progress = progress_module.Progress

    class Spy(real_progress):  # type: ignore[misc,valid-type]
        def __enter__(self) -> Progress:
            events.append(f"open {self.label} {self.tracker.total}")
            return super().__enter__()  # type: ignore[no-any-return]

        def __exit__(self, *exc: object) -> None:
            events.append(f"close {self.label} {self.tracker.done}")
            super().__exit__(*exc)

    monkeypatch.setattr(progress_module, "Progress", Spy)
    monkeypatch.setattr(progress_module, "EVERY", 0.0)
    out = tmp_path / "packets"
    args = ["packet", str(folder), "--group-by", "company", "-o", str(out), "--jobs", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    # The parts' display closes before the join's opens; three parts copied, three packets written.
    assert events == [
        "open Rendering parts 3",
        "close Rendering parts 3",
        "open Joining 6",
        "close Joining 6",
    ]
    joining = [line.split(",")[0] for line in result.stderr.splitlines() if line.startswith("Joining")]
    assert joining == [f"Joining: {n} of 6 ({100 * n // 6}%)" for n in range(1, 6)]
    assert len(sorted(out.glob("*.pdf"))) == 3
