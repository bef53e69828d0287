"""The built-in templates' compiled code is kept between runs; a theme's templates never are."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import DATA
from guidepdf import templating
from guidepdf.guide import load_guide
from guidepdf.options import RenderOptions
from guidepdf.template_cache import BuiltinCodeCache, cache_dir, fingerprint
from guidepdf.themes import builtin_dir

REFERENCE = DATA / "reference.md"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache folder of this user's, used by environments made while the test runs."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    templating.environment.cache_clear()
    directory = cache_dir()
    assert directory == tmp_path / "cache" / "guidepdf" / "templates"
    yield directory
    templating.environment.cache_clear()


def page(options: RenderOptions | None = None) -> str:
    """The reference guide's page HTML, from a new environment."""
    templating.environment.cache_clear()
    options = (options or RenderOptions(as_of=None)).pinned()
    return templating.build_page(load_guide(REFERENCE), options).html


def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the templates Jinja compiles from here on."""
    compiled: list[str] = []
    original = templating.ThemeSandbox.compile

    def compile(self: object, source: str, name: str | None = None, *args: object, **kw: object) -> object:
        compiled.append(str(name))
        return original(self, source, name, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(templating.ThemeSandbox, "compile", compile)
    return compiled


def test_builtin_templates_are_compiled_once_and_give_the_same_page(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = compiles(monkeypatch)
    first = page()
    assert "brief.html.j2" in compiled and "base.html.j2" in compiled
    kept = sorted(p.name for p in cache.iterdir())
    assert len(kept) >= 2
    assert not os.stat(cache).st_mode & 0o077
    compiled.clear()
    assert page() == first
    assert compiled == []  # every template came from the cache
    assert sorted(p.name for p in cache.iterdir()) == kept


def test_a_themes_templates_are_never_kept(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    theme = tmp_path / "theme"
    theme.mkdir()
    (theme / "brief.html.j2").write_text(
        '{% extends "!builtin/brief.html.j2" %}{% block colophon %}<footer>mine</footer>{% endblock %}\n'
    )
    options = RenderOptions(as_of=None, templates=(theme,))
    compiled = compiles(monkeypatch)
    assert "<footer>mine</footer>" in page(options)
    builtin_kept = len(list(cache.iterdir()))
    compiled.clear()
    assert "<footer>mine</footer>" in page(options)
    assert compiled == ["brief.html.j2"]  # the theme's, compiled again; the built-ins came from the cache
    assert len(list(cache.iterdir())) == builtin_kept


def test_a_cache_folder_others_may_write_or_a_damaged_entry_is_not_used(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = page()
    compiled = compiles(monkeypatch)
    for entry in cache.iterdir():
        entry.write_bytes(b"not a template's code")
    assert page() == first
    assert "brief.html.j2" in compiled
    compiled.clear()
    cache.chmod(0o777)
    assert page() == first
    assert "brief.html.j2" in compiled  # not read from a folder anyone may write
    cache.chmod(0o700)


def test_no_cache_folder_to_be_had_still_renders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # a file where the folder would go
    try:
        assert "<html" in page()
    finally:
        templating.environment.cache_clear()


def test_a_relative_cache_home_is_ignored_and_no_home_at_all_means_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "guidepdf" / "templates"

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", no_home)
    assert cache_dir() is None
    templating.environment.cache_clear()
    try:
        assert templating.environment(()).bytecode_cache is None
        assert "<html" in page()
    finally:
        templating.environment.cache_clear()


def test_the_key_changes_with_the_environments_settings() -> None:
    builtin = builtin_dir("templates")
    templating.environment.cache_clear()
    env = templating.environment(())
    assert isinstance(env.bytecode_cache, BuiltinCodeCache)
    assert env.bytecode_cache.kept(str(builtin / "brief.html.j2"))
    assert not env.bytecode_cache.kept(str(builtin.parent / "elsewhere" / "brief.html.j2"))
    before = fingerprint(env, "brief.html.j2")
    other = env.overlay(trim_blocks=False)
    assert fingerprint(other, "brief.html.j2") != before
    assert fingerprint(env, "email/message.txt.j2") != before  # autoescape differs by name
