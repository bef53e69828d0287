"""A pool's temporary folder left by a killed run is removed by the next pool, and nothing else is.

The temporary folder is shared with every user: a name that looks like a dead pool's folder may be a
link planted to make guidepdf delete something else, or a live run's folder.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from guidepdf.workers import SCRATCH_PREFIX, Workers


def dead_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


@pytest.fixture
def temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_a_killed_runs_folder_goes_a_live_ones_stays_and_a_planted_link_is_not_followed(
    temp: Path, tmp_path: Path
) -> None:
    stale = temp / f"{SCRATCH_PREFIX}{dead_pid()}-abc123"
    (stale / "weasyprint-x").mkdir(parents=True)
    (stale / "weasyprint-x" / "font").write_bytes(b"font")
    live = temp / f"{SCRATCH_PREFIX}{os.getppid()}-def456"
    live.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine", encoding="utf-8")
    planted = temp / f"{SCRATCH_PREFIX}{dead_pid()}-ghi789"
    planted.symlink_to(victim, target_is_directory=True)
    other = temp / "guidepdf-pool-notapid"
    other.mkdir()

    with Workers(1) as workers:
        workers._start_pool()
        own = Path(workers._scratch or "")
        assert own.is_dir() and own.name.startswith(f"{SCRATCH_PREFIX}{os.getpid()}-")
    assert not own.exists()
    assert not stale.exists()  # the killed run's folder went
    assert live.is_dir()  # a live process's folder stays
    assert planted.is_symlink() and (victim / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert other.is_dir()  # not a pool folder's name
