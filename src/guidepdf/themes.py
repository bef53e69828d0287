"""Locate the built-in theme (templates, styles, fonts), installed as a wheel or run from a checkout."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path


@functools.cache
def builtin_dir(name: str) -> Path:
    """The folder of built-in `templates` or `styles`: inside the package, else the checkout's root."""
    packaged = resources.files("guidepdf") / name
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"guidepdf's built-in {name!r} folder is missing from the installation")


def builtin_styles() -> tuple[Path, ...]:
    """The built-in stylesheets, in the order they apply."""
    return (builtin_dir("styles") / "brief.css",)


def page_size_css(page_size: str) -> str:
    """The stylesheet that sets the paper size (applied after the theme's, so the option wins)."""
    return f"@page {{ size: {page_size}; }}"
