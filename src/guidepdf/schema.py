"""The JSON Schema (draft 2020-12) of a guide's front matter, for editors and validators.

It follows the loader: every field is optional and may be null; unknown fields are allowed (they
are passed to templates). `guidepdf check` says more (misspelt fields, totals, currencies).
"""

from __future__ import annotations

import json
from typing import Any

from .guide import DATE_FIELDS, LIST_FIELDS, NUMBER_FIELDS, TEXT_FIELDS

SCHEMA_ID = "https://guidepdf.invalid/schema/front-matter.json"

#: What each field means, for the schema's descriptions and the README's table.
DESCRIPTIONS = {
    "title": "Title of the brief; default: company and role, else the body's first heading.",
    "subtitle": "A line under the title (passed to templates).",
    "company": "Company slug, e.g. jane-street; names the output file with role.",
    "company_display": "Company name as printed, e.g. Jane Street; default: the slug in words.",
    "role": "Role slug, e.g. ml-ai-engineer.",
    "role_display": "Role as printed, e.g. ML/AI Engineer; default: the slug in words.",
    "role_type": "Kind of role, e.g. standard or senior; shown in the brief's kicker.",
    "data_quality": "How good the figures are: high, medium or low.",
    "salary_data_quarter": "The quarter the figures describe, e.g. 2025-Q4.",
    "negotiation_dna_summary": "Backticked tags, e.g. `Alpha Architect` `All-Cash Comp`: the brief's pills.",
    "lang": "Language of the guide (BCP 47), default en.",
    "author": "Who wrote the guide (PDF metadata).",
    "summary": "A sentence about the guide (PDF metadata).",
    "last_updated": "When the figures were last updated (YYYY-MM-DD).",
    "next_review_due": "When the guide is due for review (YYYY-MM-DD); briefs after it say it is overdue.",
    "data_sources": "Where the figures come from, e.g. [Levels.fyi, Blind].",
    "tags": "More tags, after those in negotiation_dna_summary.",
    "compensation": "Pay ranges, one entry per region.",
    "level_mapping": "How the company's levels map to others' (passed to templates).",
    "region": "Region name, e.g. London; matched with the body's compensation table.",
    "currency": "ISO 4217 code of the region's figures, e.g. GBP.",
    "base_low": "Base salary, low end.",
    "base_high": "Base salary, high end.",
    "stock_low": "Stock a year, low end.",
    "stock_high": "Stock a year, high end.",
    "bonus_low": "Bonus, low end.",
    "bonus_high": "Bonus, high end.",
    "bonus_pct": "Bonus as a percentage of base, when no amounts are given.",
    "total_comp_low": "Total compensation, low end.",
    "total_comp_high": "Total compensation, high end.",
}

_NUMBER = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*[0-9][0-9,_ ]*(\.[0-9]+)?\s*$"},
        {"type": "null"},
    ]
}
_TEXT = {"type": ["string", "number", "null"]}
_DATE = {"type": ["string", "null"], "pattern": r"^\d{4}-\d{2}-\d{2}$", "format": "date"}
_TEXTS = {"anyOf": [{"type": "array", "items": _TEXT}, _TEXT]}


def _described(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": DESCRIPTIONS[name], **schema}


def front_matter_schema() -> dict[str, Any]:
    """The schema as a JSON-ready dict."""
    region_properties = {"region": _described("region", _TEXT)}
    region_properties["currency"] = _described(
        "currency", {"type": ["string", "null"], "pattern": r"^\s*[A-Za-z]{3}\s*$"}
    )
    region_properties.update({name: _described(name, _NUMBER) for name in NUMBER_FIELDS})
    region = {"type": "object", "properties": region_properties}
    properties: dict[str, Any] = {name: _described(name, _TEXT) for name in TEXT_FIELDS}
    properties["data_quality"] = _described(
        "data_quality", {"anyOf": [{"enum": ["high", "medium", "low"]}, {"type": "null"}]}
    )
    properties.update({name: _described(name, _DATE) for name in DATE_FIELDS})
    properties.update({name: _described(name, _TEXTS) for name in LIST_FIELDS})
    properties["compensation"] = _described(
        "compensation",
        {
            "anyOf": [
                {"type": "array", "items": {"anyOf": [region, {"type": "null"}]}},
                region,
                {"type": "null"},
            ]
        },
    )
    properties["level_mapping"] = _described("level_mapping", {"type": ["object", "array", "null"]})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "guidepdf guide front matter",
        "description": "The YAML front matter of a salary-negotiation guide. Every field is optional.",
        "type": "object",
        "properties": properties,
        "additionalProperties": True,
    }


def schema_json() -> str:
    """The schema as indented JSON text, ending with a newline (stable: same bytes every time)."""
    return json.dumps(front_matter_schema(), indent=2, ensure_ascii=False) + "\n"
