"""The configuration file: `guidepdf.toml` or `[tool.guidepdf]` in pyproject.toml, found from a folder up.

Every key is optional and only sets a default; whatever the user types on the command line wins.
Paths are relative to the folder holding the configuration file and may not lead out of it.

A configuration file changes the look and the defaults, never what guidepdf may do: it has no key for
the network, SMTP or the fetcher's folders. Like git's `safe.directory`, a file found in a folder the
user does not own (or that others may write) is ignored with a warning unless its folder is listed
in `GUIDEPDF_SAFE_DIRECTORIES`.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .errors import UsageError
from .options import PAGE_SIZES, PDF_VARIANTS
from .rates import COMPARISON_CURRENCY, Rates

CONFIG_NAME = "guidepdf.toml"
#: Folders (separated like PATH) whose configuration is trusted whoever owns them; `*` trusts all.
SAFE_DIRECTORIES_VAR = "GUIDEPDF_SAFE_DIRECTORIES"
#: A configuration file larger than this is refused (read with a bounded read).
MAX_CONFIG_BYTES = 1_000_000

log = logging.getLogger(__name__)
_warned: set[Path] = set()


class ConfigError(UsageError):
    """A configuration file that cannot be read or has a bad value: names the file and every bad key."""


@dataclass(frozen=True)
class Config:
    """Defaults from a configuration file (None or empty: not set), and the file they came from."""

    path: Path | None = None
    templates: tuple[Path, ...] = ()
    styles: tuple[Path, ...] = ()
    page_size: str | None = None
    output: Path | None = None
    as_of: date | None = None
    pdf_variant: str | None = None
    #: Exchange rates for comparing pay across currencies (`[rates]`), with their date and source.
    rates: Rates | None = None
    #: A configuration file that was found but not trusted, and why (its settings were not used).
    ignored: str | None = None


def find_config(start: Path | None = None) -> Path | None:
    """The nearest `guidepdf.toml`, or pyproject.toml with a `[tool.guidepdf]` table, from `start` up."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        own = candidate / CONFIG_NAME
        if own.is_file():
            return own
        project = candidate / "pyproject.toml"
        if project.is_file() and _has_tool_table(project):
            return project
    return None


def _has_tool_table(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if "guidepdf" not in text:  # cheap test first: most pyproject files are not ours
        return False
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return True  # ours, but broken: loading it will say where
    return isinstance(data.get("tool"), dict) and "guidepdf" in data["tool"]


def load_config(path: Path | None = None, *, start: Path | None = None) -> Config:
    """Read the configuration at `path`, or the one `find_config(start)` finds; no file gives defaults."""
    if path is None:
        path = find_config(start)
        if path is None:
            return Config()
        distrust = untrusted_reason(path)
        if distrust is not None:
            message = (
                f"{path}: ignored: {distrust}; if you trust it, set "
                f"{SAFE_DIRECTORIES_VAR}={path.resolve().parent}"
            )
            if path not in _warned:  # one warning a run, however often the defaults are read
                _warned.add(path)
                log.warning("%s", message)
            return Config(ignored=message)
    import tomllib  # only with a configuration file to read

    try:
        data = tomllib.loads(_read_text(path))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    prefix = ""
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("guidepdf", {})
        prefix = "tool.guidepdf."
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: tool.guidepdf: expected a table, got {_kind(data)}")
    return _parse(data, path, prefix)


def untrusted_reason(path: Path) -> str | None:
    """Why a configuration file found by searching is not trusted, or None when it is.

    Trusted: the file and its folder are owned by the current user (or root) and are not writable
    by others, or the folder is listed in GUIDEPDF_SAFE_DIRECTORIES.
    """
    folder = path.resolve().parent
    safe = [item for item in os.environ.get(SAFE_DIRECTORIES_VAR, "").split(os.pathsep) if item]
    if "*" in safe or any(Path(item).expanduser().resolve() == folder for item in safe):
        return None
    me = os.geteuid() if hasattr(os, "geteuid") else None
    for what, where in (("the file", path), ("its folder", path.parent)):
        try:
            info = os.stat(where)
        except OSError as exc:
            return f"cannot inspect {what}: {exc.strerror or exc}"
        if me is not None and info.st_uid not in (me, 0):
            return f"{what} is owned by user id {info.st_uid}, not by you"
        if info.st_mode & stat.S_IWOTH:
            return f"{what} is writable by every user"
    return None


def _read_text(path: Path) -> str:
    """The file's text by a bounded read; a FIFO or device is never read as configuration."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ConfigError(f"{path}: not a regular file")
        data = handle.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes")
    return data.decode("utf-8")


def _parse(data: dict[str, Any], path: Path, prefix: str) -> Config:
    base = path.resolve().parent
    problems: list[str] = []
    values: dict[str, Any] = {}
    parsers: dict[str, Callable[[Any, Path], Any]] = {
        "templates": lambda v, b: _paths(v, b, folder=True),
        "styles": lambda v, b: _paths(v, b, folder=False),
        "page_size": lambda v, b: _choice(v, PAGE_SIZES),
        "output": lambda v, b: _inside(b / _text(v), b),
        "as_of": lambda v, b: _day(v),
        "pdf_variant": lambda v, b: _choice(v, {p: p for p in PDF_VARIANTS}),
        "rates": lambda v, b: _rates(v),
    }
    for key, value in data.items():
        parse = parsers.get(key)
        if parse is None:
            problems.append(f"{prefix}{key}: unknown key (known: {', '.join(parsers)})")
            continue
        try:
            values[key] = parse(value, base)
        except ValueError as exc:
            problems.append(f"{prefix}{key}: {exc}")
    if problems:  # all of them at once, so one edit fixes the file
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return Config(path=path, **values)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a path as text, got {_kind(value)}")
    return value


def _paths(value: Any, base: Path, *, folder: bool) -> tuple[Path, ...]:
    items = value if isinstance(value, list) else [value]
    paths = []
    for item in items:
        path = _inside(base / _text(item), base)
        if folder and not path.is_dir():
            raise ValueError(f"no such folder: {path}")
        if not folder and not path.is_file():
            raise ValueError(f"no such file: {path}")
        paths.append(path)
    return tuple(paths)


def _inside(path: Path, base: Path) -> Path:
    """`path` unchanged, if it stays inside `base` once `~`, `..` and symlinks are resolved."""
    if not path.expanduser().resolve().is_relative_to(base.resolve()):
        raise ValueError(f"{path} is outside the folder of the configuration file")
    return path


def _choice(value: Any, choices: dict[str, str]) -> str:
    if isinstance(value, str) and value.lower() in choices:
        return choices[value.lower()]
    raise ValueError(f"expected one of {', '.join(choices.values())}, got {_kind(value)}")


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date as YYYY-MM-DD, got {_kind(value)}")


def _rates(value: Any) -> Rates:
    """`[rates]`: a `date`, a `source`, then `GBP = 1.27` (US dollars for one unit) per currency."""
    from .currencies import is_currency

    if not isinstance(value, dict):
        raise ValueError(f"expected a table, got {_kind(value)}")
    if "date" not in value or "source" not in value:
        raise ValueError("needs a date and a source (where the rates come from), besides the rates")
    day = _day(value["date"])
    source = value["source"]
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"source: expected text, got {_kind(source)}")
    rates: dict[str, float] = {}
    for code, rate in value.items():
        if code in ("date", "source"):
            continue
        if not is_currency(code):
            raise ValueError(f"{code}: not an ISO 4217 currency code")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate < float("inf"):
            raise ValueError(
                f"{code}: expected a positive number of {COMPARISON_CURRENCY}, got {_kind(rate)}"
            )
        rates[code.strip().upper()] = float(rate)
    return Rates(date=day, source=" ".join(source.split()), rates=rates)
