"""One row a guide for a content team: who and what it covers, how fresh it is, and what check says."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from .check import Finding, check_loaded
from .errors import GuideError
from .guide import load_guide

COLUMNS = (
    "file",
    "company",
    "role",
    "data_quality",
    "last_updated",
    "next_review_due",
    "overdue",
    "check",
    "errors",
    "warnings",
)


@dataclass(frozen=True)
class GuideRow:
    """One guide's listing: names, freshness, and its check status (`ok`, `warnings` or `errors`)."""

    file: str
    company: str | None
    role: str | None
    data_quality: str | None
    last_updated: str | None
    next_review_due: str | None
    overdue: bool
    check: str
    errors: int
    warnings: int


def list_guides(paths: Iterable[Path], as_of: date) -> list[GuideRow]:
    """A row for each guide in `paths`; a guide that does not load is listed with its error."""
    rows = []
    for path in paths:
        try:
            guide = load_guide(path)
        except GuideError:
            rows.append(GuideRow(str(path), None, None, None, None, None, False, "errors", 1, 0))
            continue
        findings: Sequence[Finding] = check_loaded(guide, as_of)
        errors = sum(1 for f in findings if f.severity == "error")
        warnings = len(findings) - errors
        rows.append(
            GuideRow(
                file=str(path),
                company=guide.company_display,
                role=guide.role_display,
                data_quality=guide.data_quality,
                last_updated=guide.last_updated.isoformat() if guide.last_updated else None,
                next_review_due=guide.next_review_due.isoformat() if guide.next_review_due else None,
                overdue=guide.review_overdue(as_of),
                check="errors" if errors else "warnings" if warnings else "ok",
                errors=errors,
                warnings=warnings,
            )
        )
    return rows


def format_rows(rows: Sequence[GuideRow], fmt: str) -> str:
    """The rows as `text` (aligned columns), `json` (a list of objects) or `csv` (with a header)."""
    if fmt == "json":
        return json.dumps([asdict(row) for row in rows], indent=2, ensure_ascii=False) + "\n"
    table = [[_cell(getattr(row, name)) for name in COLUMNS] for row in rows]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([[_inert(cell) for cell in line] for line in table])
        return buffer.getvalue()
    headers = [name.replace("_", " ") for name in COLUMNS]
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in [headers, *table]
    ]
    return "\n".join(lines) + "\n"


def _inert(cell: str) -> str:
    """A spreadsheet runs a cell starting with `=`, `+`, `-` or `@` as a formula: guides are data."""
    return f"'{cell}" if len(cell) > 1 and cell[0] in "=+-@" else cell


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    # One line a row: a value with a line break or a tab would break the columns.
    return " ".join(str(value).split())
