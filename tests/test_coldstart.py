"""guidepdf's own processes load the rendering code without the cycle collector; a library user's do not."""

from __future__ import annotations

import gc
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from conftest import after_command
from guidepdf import coldstart
from guidepdf.brief import render_pdf
from guidepdf.cli import main
from guidepdf.options import RenderOptions

SEED = Path(__file__).resolve().parents[1] / "seeds" / "kestrel-games-product-designer.md"


def collector_after(args: list[str], cwd: Path) -> dict[str, object]:
    result: dict[str, object] = after_command(
        args, '{"frozen": gc.get_freeze_count(), "enabled": gc.isenabled()}', cwd
    )
    return result


def test_the_command_freezes_what_rendering_loaded_and_writes_the_same_bytes(tmp_path: Path) -> None:
    out = tmp_path / "brief.pdf"
    state = collector_after(["render", str(SEED), "-o", str(out), "--as-of", "2026-11-23"], tmp_path)
    assert state["enabled"] is True
    assert isinstance(state["frozen"], int) and state["frozen"] > 10_000
    library = render_pdf(SEED, RenderOptions(as_of=date(2026, 11, 23)))
    assert out.read_bytes() == library


def test_a_command_that_renders_nothing_leaves_the_collector_alone(tmp_path: Path) -> None:
    state = collector_after(["check", str(SEED)], tmp_path)
    assert state == {"frozen": 0, "enabled": True}


def test_a_library_render_or_a_test_runner_leaves_the_collector_alone(tmp_path: Path) -> None:
    assert not coldstart.is_own_process()
    frozen = gc.get_freeze_count()
    render_pdf(SEED)
    result = CliRunner().invoke(main, ["render", str(SEED), "-o", str(tmp_path / "brief.pdf")])
    assert result.exit_code == 0, result.output
    assert gc.get_freeze_count() == frozen and gc.isenabled()
    gc.disable()
    try:
        render_pdf(SEED)
        assert not gc.isenabled()
    finally:
        gc.enable()
