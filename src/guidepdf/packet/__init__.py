"""Many guides → one tagged PDF packet: each guide's brief, joined behind a cover and contents.

A packet is assembled, not laid out again: its parts are the very briefs `guidepdf render` writes
(same options, same render key), reused from a batch's output or the packet cache when unchanged and
otherwise rendered in parallel on the workers; then qpdf (through pikepdf) joins them. The front
matter and an overlay of packet page numbers are two more renders; links, bookmarks, page labels and
the parts' structure trees are rewritten for the joined file.

One job per module: `order` (fields, sorting, grouping), `parts` (the briefs and their cache),
`front` (cover, contents and page-number pages), `join` (the joined file), `folios` (its page
numbers), `links` (its links and bookmarks), `structure` (its structure tree), `make` (end to end)
and `files` (the packet files a command asks for, written).
"""

from __future__ import annotations

from .files import PacketFiles, write_packets
from .make import DEFAULT_TITLE, PacketResult, build_packet, make_grouped_packets, make_packet, make_packets
from .order import DERIVED_FIELDS, check_field, field_value, group_guides, sort_guides
from .parts import CACHE_DIR, PartStore, packet_options, store_parts

__all__ = [
    "CACHE_DIR",
    "DEFAULT_TITLE",
    "DERIVED_FIELDS",
    "PacketFiles",
    "PacketResult",
    "PartStore",
    "build_packet",
    "check_field",
    "field_value",
    "group_guides",
    "make_grouped_packets",
    "make_packet",
    "make_packets",
    "packet_options",
    "sort_guides",
    "store_parts",
    "write_packets",
]
