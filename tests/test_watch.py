"""Watch mode rebuilds when a guide or theme file changes, debounced, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import SEEDS, pdfinfo, pdftotext
from guidepdf import brief as brief_module
from guidepdf import pdf as pdf_module
from guidepdf.cli import main
from guidepdf.options import RenderOptions
from guidepdf.watch import WatchRound, watch, watched_files

GUIDE = SEEDS / "kestrel-games-product-designer.md"
BOUND = 120  # seconds: only a bound so a broken watcher cannot hang the suite, never an assertion


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


def bump(path: Path, text: str) -> None:
    """Rewrite a file and move its mtime on, so even a coarse-grained file system sees the change."""
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_loop_rebuilds_once_per_settled_change(tmp_path: Path) -> None:
    watched = tmp_path / "a.md"
    watched.write_text("one")
    builds: list[str] = []
    rounds: list[WatchRound[str]] = []
    seen = threading.Event()

    def build() -> str:
        builds.append(watched.read_text())
        return builds[-1]

    def on_round(done: WatchRound[str]) -> None:
        rounds.append(done)
        seen.set()

    thread = threading.Thread(
        target=watch,
        args=(build, lambda: [watched]),
        kwargs={"on_round": on_round, "interval": 0.02, "debounce": 0.2, "rounds": 1},
    )
    thread.start()
    wait_for(seen.is_set, "the first build")
    for i in range(3):  # a burst of saves is one change once it settles
        bump(watched, f"two {i}")
        time.sleep(0.05)
    thread.join(BOUND)
    assert not thread.is_alive()
    assert builds == ["one", "two 2"]
    assert [(r.number, r.changed, r.result) for r in rounds] == [(0, (), "one"), (1, (watched,), "two 2")]


def test_watched_files_cover_guides_theme_and_config_but_not_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    guides, theme, out = tmp_path / "guides", tmp_path / "theme", tmp_path / "guides" / "out"
    for folder in (guides / "img", theme, out):
        folder.mkdir(parents=True)
    wanted = {"guides/a.md", "guides/img/chart.png", "theme/brief.html.j2", "theme/x.css", "guidepdf.toml"}
    for name in (*wanted, "guides/out/a.pdf", "guides/.a.md.swp"):
        (tmp_path / name).write_text("x")
    monkeypatch.chdir(guides)
    options = RenderOptions(templates=(theme,), styles=(theme / "x.css",))
    files = {p.relative_to(tmp_path).as_posix() for p in watched_files(["."], options, Path("out"))}
    assert files == {
        "guides/a.md",
        "guides/img/chart.png",
        "theme/brief.html.j2",
        "theme/x.css",
        "guidepdf.toml",
    }


@pytest.mark.slow
def test_render_watch_follows_guide_style_and_config_changes_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    guide = tmp_path / "guides" / "kestrel.md"
    guide.parent.mkdir()
    shutil.copy(GUIDE, guide)
    style = tmp_path / "extra.css"
    style.write_text("/* nothing yet */\n")
    config = tmp_path / "guidepdf.toml"
    out = tmp_path / "out"
    pdf = out / "kestrel-games-product-designer.pdf"
    command = [str(Path(sys.executable).parent / "guidepdf")]
    args = ["render", "guides", "-o", str(out), "--as-of", "2026-11-23", "--style", str(style)]
    proc = subprocess.Popen(
        [*command, *args, "--watch", "--watch-interval", "0.1"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr or ()), daemon=True)
    reader.start()

    def rebuilt(before: int, what: str) -> int:
        wait_for(lambda: pdf.exists() and pdf.stat().st_mtime_ns != before, what)
        return pdf.stat().st_mtime_ns

    try:
        stamp = rebuilt(0, "the first build")
        bump(guide, guide.read_text().replace("Kestrel Games", "Kestrel Studios", 1))
        stamp = rebuilt(stamp, "the rebuild after a guide change")
        wait_for(lambda: "Kestrel Studios" in pdftotext(pdf), "the rebuilt brief")
        bump(style, ".notice, .range-chart { display: none; }\n")
        stamp = rebuilt(stamp, "the rebuild after a style change")
        wait_for(lambda: "own scale" not in pdftotext(pdf), "the restyled brief")
        bump(config, 'page_size = "A3"\n')  # a broken edit is reported and watching goes on
        wait_for(lambda: any("page_size: expected one of A4, Letter" in line for line in lines), "the error")
        bump(config, 'page_size = "Letter"\n')
        stamp = rebuilt(stamp, "the rebuild after a config change")
        assert pdfinfo(pdf)["Page size"].startswith("612 x 792")
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=BOUND)
        reader.join(BOUND)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = "".join(lines)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "changed: kestrel.md" in err and "changed: extra.css" in err and "changed: guidepdf.toml" in err
    assert err.strip().endswith("stopped watching")


def test_render_watch_renders_a_changed_guide_again_in_its_own_warm_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    guide = tmp_path / "kestrel.md"
    shutil.copy(GUIDE, guide)
    pdf = tmp_path / "kestrel.pdf"
    renders: list[str] = []
    render_brief = brief_module.render_brief

    def counted(*args: object, **kwargs: object) -> pdf_module.Rendered:
        renders.append(guide.read_text())
        return render_brief(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(brief_module, "render_brief", counted)
    pdf_module._theme.cache_clear()

    def edit_after_the_first_build() -> None:
        wait_for(pdf.exists, "the first build")
        bump(guide, guide.read_text().replace("Kestrel Games", "Kestrel Studios", 1))

    editor = threading.Thread(target=edit_after_the_first_build, daemon=True)
    editor.start()
    args = ["render", str(guide), "-o", str(pdf), "--as-of", "2026-11-23", "--watch", "--watch-limit", "1"]
    result = CliRunner().invoke(main, [*args, "--watch-interval", "0.1"])
    editor.join(BOUND)
    assert result.exit_code == 0, result.output
    assert "changed: kestrel.md" in result.output
    assert "Kestrel Studios" in pdftotext(pdf)
    # Both builds ran here, not in worker processes, and the second reused the theme the first parsed.
    assert len(renders) == 2 and "Kestrel Studios" in renders[1]
    assert pdf_module._theme.cache_info().misses == 1


def test_output_written_beside_the_guides_starts_no_build(tmp_path: Path) -> None:
    guide, out = tmp_path / "a.md", tmp_path / "out"
    guide.write_text("one")
    out.mkdir()
    builds: list[str] = []
    first = threading.Event()

    def build() -> str:
        builds.append(guide.read_text())
        first.set()
        return builds[-1]

    thread = threading.Thread(
        target=watch,
        args=(build, lambda: [guide]),
        kwargs={"interval": 0.02, "debounce": 0.1, "rounds": 1, "ignore": out},
    )
    thread.start()
    wait_for(first.is_set, "the first build")
    for i in range(5):  # what a build writes: never a reason for another build
        (out / f"brief-{i}.pdf").write_bytes(b"%PDF")
        time.sleep(0.1)
    assert builds == ["one"]
    bump(guide, "two")
    thread.join(BOUND)
    assert not thread.is_alive()
    assert builds == ["one", "two"]
