"""The data a brief carries: its guide file and the front matter as JSON, described as PDF attachments."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from .guide import Guide

#: Attachment dates when a guide has no `last_updated`: fixed, so the bytes never depend on the clock.
EPOCH = datetime(2000, 1, 1)


@dataclass(frozen=True)
class AttachmentSpec:
    """One file to embed in a PDF: its bytes or a URL read through the sandbox, name and dates."""

    name: str
    description: str
    relationship: str
    created: datetime
    data: bytes | None = None
    url: str | None = None


def attachment_date(guide: Guide) -> datetime:
    """The date stamped on a brief's attachments: the guide's `last_updated`, else a fixed epoch."""
    return datetime.combine(guide.last_updated, time()) if guide.last_updated else EPOCH


def plain(value: Any) -> Any:
    """`value` as JSON-ready data: dates as ISO strings, keys as text, non-finite numbers as null."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def front_matter_json(guide: Guide) -> str:
    """The guide's front matter as it was written, as indented JSON (dates as ISO strings)."""
    return json.dumps(plain(guide.meta), ensure_ascii=False, indent=2) + "\n"


def source_attachments(guide: Guide) -> tuple[AttachmentSpec, ...]:
    """The guide file (read again through the sandbox, byte for byte) and its front matter as JSON."""
    stamp = attachment_date(guide)
    stem = guide.path.stem or "guide"
    if guide.path.is_file():
        source = AttachmentSpec(
            name=guide.path.name,
            description="The guide this brief was made from",
            relationship="Source",
            created=stamp,
            url=guide.path.resolve().as_uri(),
        )
    else:  # a guide parsed from text has no file to point at: carry the text it was made from
        source = AttachmentSpec(
            name=guide.path.name or "guide.md",
            description="The guide this brief was made from",
            relationship="Source",
            created=stamp,
            data=guide.source.encode("utf-8"),
        )
    data = AttachmentSpec(
        name=f"{stem}.front-matter.json",
        description="The guide's front matter as JSON",
        relationship="Data",
        created=stamp,
        data=front_matter_json(guide).encode("utf-8"),
    )
    return source, data
