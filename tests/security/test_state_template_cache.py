"""The built-in templates' kept code runs only from this user's private cache folder.

Kept template code is Python code: whoever can put a file there runs code in the next render. It is
read only from a real folder this user owns and no one else may write, from a regular file (not a
link) with the same rule; a theme's templates are never kept. Each attack plants code that would
create a marker file and checks the marker never appears.
"""

from __future__ import annotations

import marshal
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest
from jinja2.bccache import bc_magic

from guidepdf import templating
from guidepdf.guide import load_guide
from guidepdf.options import RenderOptions
from guidepdf.template_cache import cache_dir

ROOT = Path(__file__).resolve().parents[2]
KESTREL = ROOT / "seeds" / "kestrel-games-product-designer.md"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    templating.environment.cache_clear()
    yield cache_dir()
    templating.environment.cache_clear()


def page() -> str:
    templating.environment.cache_clear()
    return templating.build_page(load_guide(KESTREL), RenderOptions(as_of=None).pinned()).html


def hostile(entry: Path, marker: Path) -> bytes:
    """`entry`'s kept code replaced by code that creates `marker` (same checksum, so it would load)."""
    with entry.open("rb") as handle:
        assert handle.read(len(bc_magic)) == bc_magic
        checksum = pickle.load(handle)
    code = compile(f"open({str(marker)!r}, 'w').close()\nraise SystemExit(3)\n", "<planted>", "exec")
    return bc_magic + pickle.dumps(checksum, 2) + marshal.dumps(code)


def plant(cache: Path, marker: Path) -> list[Path]:
    entries = sorted(p for p in cache.iterdir() if not p.name.startswith("."))
    assert entries, "the first render keeps the built-in templates' code"
    for entry in entries:
        entry.write_bytes(hostile(entry, marker))
    return entries


def test_planted_code_in_a_private_cache_would_run_so_the_rules_below_matter(
    cache: Path, tmp_path: Path
) -> None:
    """The control: the user's own private cache is trusted like Python's own bytecode."""
    page()
    marker = tmp_path / "ran"
    plant(cache, marker)
    with pytest.raises(SystemExit):
        page()
    assert marker.exists()


def test_code_in_a_cache_folder_others_may_write_is_not_run(cache: Path, tmp_path: Path) -> None:
    first = page()
    marker = tmp_path / "ran"
    plant(cache, marker)
    for mode in (0o777, 0o770, 0o757):
        cache.chmod(mode)
        assert page() == first
    cache.chmod(0o700)
    assert not marker.exists()


def test_a_kept_file_others_may_write_is_not_run(cache: Path, tmp_path: Path) -> None:
    first = page()
    marker = tmp_path / "ran"
    for entry in plant(cache, marker):
        entry.chmod(0o666)
    assert page() == first
    assert not marker.exists()


def test_a_kept_file_that_is_a_link_is_not_followed(cache: Path, tmp_path: Path) -> None:
    first = page()
    marker = tmp_path / "ran"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    for entry in sorted(p for p in cache.iterdir() if not p.name.startswith(".")):
        target = elsewhere / entry.name
        target.write_bytes(hostile(entry, marker))
        target.chmod(0o600)
        entry.unlink()
        entry.symlink_to(target)
    assert page() == first
    assert not marker.exists()


def test_a_cache_folder_that_is_a_link_is_not_followed(cache: Path, tmp_path: Path) -> None:
    first = page()
    marker = tmp_path / "ran"
    plant(cache, marker)
    moved = tmp_path / "moved"
    os.rename(cache, moved)
    cache.symlink_to(moved)
    assert page() == first
    assert not marker.exists()
