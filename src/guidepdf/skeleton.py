"""A new guide's text: every front-matter field, a body in the guides' shape, and nothing that fails check."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from .errors import UsageError
from .guide import NUMBER_FIELDS, humanize
from .output import atomic_write
from .slug import slugify

#: A new guide is due for review this long after it is written.
REVIEW_DAYS = 90


def write_new_guide(path: Path | None = None, company: str | None = None, role: str | None = None) -> Path:
    """Write a new guide at `path` (a file, or a folder to name it in; default `<company>-<role>.md`
    here) and return where; never over an existing file."""
    text = new_guide(company, role)
    stem = slugify(" ".join(filter(None, (company, role)))) or "new-guide"
    name = f"{stem}.md"
    if path is None:
        path = Path(name)
    elif path.is_dir():
        path = path / name
    if path.exists() or path.is_symlink():
        raise UsageError(f"{path}: already exists; guidepdf new never overwrites a file")
    atomic_write(path, text)
    return path


def new_guide(company: str | None = None, role: str | None = None, today: date | None = None) -> str:
    """The skeleton's text; figures are null until someone who knows them fills them in."""
    today = today or date.today()
    company_display = _one_line(company) or "Example Company"
    role_display = _one_line(role) or "Software Engineer"
    company_slug = slugify(company_display) or "example-company"
    role_slug = slugify(role_display) or "software-engineer"
    if company and company == company_slug:
        company_display = humanize(company)
    if role and role == role_slug:
        role_display = humanize(role)
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    figures = "\n".join(f"    {name}: null" for name in NUMBER_FIELDS)
    # json.dumps quotes any text as valid YAML (YAML is a superset of JSON), so no name breaks the file.
    return f"""---
title: null
subtitle: null
company: {json.dumps(company_slug)}
company_display: {json.dumps(company_display, ensure_ascii=False)}
role: {json.dumps(role_slug)}
role_display: {json.dumps(role_display, ensure_ascii=False)}
role_type: standard
last_updated: {today.isoformat()}
data_quality: low
salary_data_quarter: {quarter}
next_review_due: {(today + timedelta(days=REVIEW_DAYS)).isoformat()}
compensation:
  - region: Headquarters
{figures}
    currency: USD
level_mapping:
  internal: null
data_sources:
  - Name each source here
tags: []
negotiation_dna_summary: null
lang: en
author: null
summary: null
---
### {role_display} | {company_display} Negotiation Guide

#### Compensation Benchmarks by Region

| Region | Base Salary | Stock | Bonus | Total Comp |
|---|---|---|---|---|
| **Headquarters** | — | — | — | — |

`guidepdf fill` copies this table's figures into the null fields above.

#### Negotiation DNA

What makes this role's negotiation different.

#### Global Levers

1. **A lever:** "What the candidate can say."

#### Evidence & Sources

- [A source](https://example.org)
"""


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())
