"""Write the body table's figures into a guide's null front-matter fields, changing nothing else.

ruamel.yaml's round-trip parser finds the line of every key; only those lines' values change (or a
line is added beside its region's other figures), so key order, comments, quoting, line endings
and the body stay byte for byte as they were. A value that is not null is never overwritten.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import GuideError
from .figures import BodyRegion, read_body_figures
from .guide import NUMBER_FIELDS, load_guide
from .output import atomic_write

# `    base_low: null  # comment`, also `- base_low: ~` and an empty value.
_NULL_LINE = re.compile(
    r"^(?P<head>\s*(?:-\s+)?(?P<q>['\"]?)(?P<key>[A-Za-z_]+)(?P=q)\s*:)(?P<gap>[ \t]*)"
    r"(?P<value>null|Null|NULL|~)?(?P<tail>[ \t]*(?:#.*)?)$"
)


@dataclass(frozen=True)
class FillResult:
    """One guide's fill: its text before and after, the fields written and the regions left alone."""

    path: Path
    before: str
    after: str
    filled: tuple[str, ...]
    skipped: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """True when at least one field was filled."""
        return self.before != self.after

    def diff(self) -> str:
        """A unified diff of the change (empty when nothing changes)."""
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile=str(self.path),
            tofile=str(self.path),
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def plan_fill(path: Path | str) -> FillResult:
    """What filling the guide at `path` would change; raises `GuideError` for a guide that does not load."""
    path = Path(path)
    guide = load_guide(path)
    raw = path.read_bytes()
    bom = "\ufeff" if raw.startswith(b"\xef\xbb\xbf") else ""
    text = raw.decode("utf-8-sig")
    figures = read_body_figures(guide.body, guide.body_line)
    if not figures.regions or not guide.compensation:
        return FillResult(path, text, text, ())
    regions = _front_matter_regions(text, path)
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    edits: dict[int, str] = {}
    inserts: dict[int, list[str]] = {}
    filled: list[str] = []
    skipped: list[str] = []
    expected: dict[tuple[int, str], Any] = {}
    for index, (mapping, comp) in enumerate(zip(regions, guide.compensation, strict=False)):
        row = figures.find(comp.region)
        if row is None or not row.figures:
            continue
        where = f"compensation[{index}]"
        if comp.currency and row.currency and comp.currency != row.currency:
            skipped.append(f"{where}: currency {comp.currency}, the body's table is in {row.currency}")
            continue
        if getattr(getattr(mapping, "fa", None), "flow_style", lambda: False)():
            skipped.append(f"{where}: written as a {{...}} flow mapping; fill it by hand")
            continue
        values = _wanted(comp, row)
        for name, value in values.items():
            if name in mapping:
                line = mapping.lc.key(name)[0]
                match = _NULL_LINE.match(lines[line].rstrip("\r\n"))
                if match is None or mapping[name] is not None:
                    skipped.append(f"{where}.{name}: not a plain `null` on line {line + 1}")
                    continue
                end = lines[line][len(lines[line].rstrip("\r\n")) :]
                gap = match.group("gap") or " "
                edits[line] = f"{match.group('head')}{gap}{_text(value)}{match.group('tail')}{end}"
            else:
                anchor, indent = _anchor(mapping, name, lines)
                inserts.setdefault(anchor, []).append(f"{indent}{name}: {_text(value)}{newline}")
            filled.append(f"{where}.{name}")
            expected[(index, name)] = value
        if comp.currency is None and row.currency and "currency" not in mapping and values:
            anchor, indent = _anchor(mapping, None, lines)
            inserts.setdefault(anchor, []).append(f"{indent}currency: {row.currency}{newline}")
            filled.append(f"{where}.currency")
            expected[(index, "currency")] = row.currency
    out: list[str] = []
    for number, line in enumerate(lines):
        out.append(edits.get(number, line))
        out.extend(inserts.get(number, ()))
    after = "".join(out)
    if after != text:
        _verify(after, path, guide.body, expected)
    return FillResult(path, bom + text, bom + after, tuple(filled), tuple(skipped))


def write_fill(result: FillResult) -> None:
    """Write a planned fill atomically, keeping the file's permissions."""
    if not result.changed:
        return
    mode = result.path.stat().st_mode & 0o7777
    atomic_write(result.path, result.after)
    os.chmod(result.path, mode)


def fill_guides(paths: Iterable[Path], *, dry_run: bool = False) -> list[FillResult | GuideError]:
    """Fill each guide (or only plan it, with `dry_run`); a guide that fails is returned as its error."""
    results: list[FillResult | GuideError] = []
    for path in paths:
        try:
            result = plan_fill(path)
            if not dry_run:
                write_fill(result)
        except GuideError as exc:
            results.append(exc)
            continue
        except OSError as exc:
            results.append(GuideError(path, f"cannot write: {exc.strerror or exc}"))
            continue
        results.append(result)
    return results


def _front_matter_regions(text: str, path: Path) -> list[Any]:
    """The `compensation` list's mappings as ruamel round-trip nodes, with their line numbers."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    normal = text.replace("\r\n", "\n")
    end = re.search(r"^---[ \t]*$", normal[3:], re.MULTILINE)
    if not normal.startswith("---") or end is None:
        return []
    # The slice starts with the newline ending the opening `---`, so its line n is the file's line n.
    front = normal[3 : 3 + end.start()]
    try:
        data = YAML(typ="rt", pure=True).load(front)
    except YAMLError as exc:  # load_guide accepted it, so this is a disagreement between parsers
        raise GuideError(path, f"cannot edit the front matter: {str(exc).splitlines()[0]}") from None
    items = data.get("compensation") if isinstance(data, dict) else None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        return []
    # Null entries are skipped by the loader too, so the two lists stay aligned.
    return [
        item if isinstance(item, dict) and hasattr(item, "lc") else {} for item in items if item is not None
    ]


def _wanted(comp: Any, row: BodyRegion) -> dict[str, float]:
    """The body's figures for fields the front matter leaves null, in the loader's field order."""
    figures = row.figures
    wanted = {
        name: figures[name] for name in NUMBER_FIELDS if name in figures and getattr(comp, name) is None
    }
    if "bonus_pct" in wanted and (comp.bonus_low is not None or comp.bonus_high is not None):
        del wanted["bonus_pct"]  # a bonus given as amounts is not also given as a percentage
    return wanted


def _anchor(mapping: Any, name: str | None, lines: list[str]) -> tuple[int, str]:
    """The line after which a new key goes (after its nearest figure, else the mapping's last key)."""
    keys = list(mapping)
    anchor_key = keys[-1]
    if name is not None:
        earlier = [k for k in NUMBER_FIELDS[: NUMBER_FIELDS.index(name)] if k in mapping]
        if earlier:
            anchor_key = earlier[-1]
    line = mapping.lc.key(anchor_key)[0]
    if anchor_key == keys[-1]:
        line = max(mapping.lc.key(k)[0] for k in keys)
    column = mapping.lc.key(keys[-1])[1] if len(keys) > 1 else mapping.lc.key(keys[0])[1]
    return line, " " * column


def _text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _verify(after: str, path: Path, body: str, expected: dict[tuple[int, str], Any]) -> None:
    """The edited guide must load, keep its body, and read back exactly the values written."""
    from .guide import parse_guide

    again = parse_guide(after, path)
    wrong = [
        f"compensation[{i}].{name}"
        for (i, name), value in expected.items()
        if getattr(again.compensation[i], name) != value
    ]
    if again.body != body or wrong:
        raise GuideError(path, f"cannot fill safely: {', '.join(wrong) or 'the body'} would change")
