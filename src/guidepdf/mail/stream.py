"""Which messages a command sends: recipients from a CSV, and the messages built one at a time."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import GuidepdfError, UsageError
from ..guide import Guide, load_guide
from ..inputs import UniqueNames, expand_inputs
from ..options import RenderOptions
from ..output import atomic_write
from ..reading import read_limited, real_path, refusal
from ..slug import slugify

if TYPE_CHECKING:
    from ..packet import PartStore
from .addresses import check_address, format_size, one_line
from .message import (
    build_message,
    encode_message,
    key_of,
    recipient_of,
    render_attachments,
    render_time_limit,
)
from .values import (
    DEFAULT_MAX_SIZE,
    DEFAULT_RENDER_TIMEOUT,
    MAX_CSV_BYTES,
    Attachment,
    MailError,
    Outgoing,
    Plan,
    Recipient,
)


def read_recipients(
    csv_path: Path | str, *, need_guides: bool = True
) -> tuple[tuple[Recipient, ...], tuple[str, ...]]:
    """Rows of a recipients CSV (`email,name,guides` + any columns) and one error line per bad row.

    Rows are numbered as a spreadsheet shows them: the header is row 1. `guides` holds `;`-separated
    paths, folders or globs relative to the CSV.
    """
    csv_path = Path(csv_path)
    try:
        text = read_limited(csv_path, MAX_CSV_BYTES).decode("utf-8-sig")
    except OSError as exc:
        raise MailError(f"{csv_path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise MailError(f"{csv_path}: not valid UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise MailError(f"{csv_path}: empty file; expected a header row with email,name,guides") from None
    except csv.Error as exc:
        raise MailError(f"{csv_path}: row 1: {exc}") from None
    if "email" not in header:
        raise MailError(f"{csv_path}: row 1: no 'email' column (columns: {', '.join(header)})")
    if need_guides and "guides" not in header:
        raise MailError(f"{csv_path}: row 1: no 'guides' column and no INPUT guides given")
    recipients: list[Recipient] = []
    errors: list[str] = []
    row_number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(f"{csv_path}: row {row_number + 1}: {exc}")
            break
        row_number += 1
        if not any(c.strip() for c in cells):
            continue
        label = f"{csv_path}: row {row_number}"
        if len(cells) > len(header):
            errors.append(f"{label}: {len(cells)} cells but the header has {len(header)} columns")
            continue
        row = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header) if name}
        try:
            address = check_address(row["email"], "email")
        except MailError as exc:
            errors.append(f"{label}: {exc}")
            continue
        guides, problem = _row_guides(row.get("guides", ""), csv_path.parent, need_guides)
        if problem:
            errors.append(f"{label}: guides: {problem}")
            continue
        fields = {k: v for k, v in row.items() if k not in ("email", "name", "guides")}
        name = one_line(row.get("name")) or address.display_name
        recipients.append(Recipient(address.addr_spec, name, fields, guides, label))
    return tuple(recipients), tuple(errors)


def _row_guides(cell: str, base: Path, need: bool) -> tuple[tuple[Path, ...], str | None]:
    patterns = [p.strip() for p in cell.split(";") if p.strip()]
    if not patterns:
        return (), ("empty; name one or more guides" if need else None)
    found: dict[Path, None] = {}
    folder = real_path(base)
    for pattern in patterns:
        # A CSV from someone else must not attach ~/.ssh/id_rsa or /proc/self/environ: only paths
        # relative to the CSV, resolving inside its folder, name guides.
        if pattern.startswith("~") or Path(pattern).is_absolute() or re.match(r"^[A-Za-z]:|^\\\\", pattern):
            return (), f"{pattern!r}: name guides relative to the CSV's folder, not by absolute path"
        selection = expand_inputs([base / pattern])
        if selection.refused:
            return (), f"{pattern!r}: {selection.refused[0][1]}"
        if selection.missing:
            return (), f"{pattern!r} matches no guide"
        for path in selection.paths:
            if not real_path(path).is_relative_to(folder):
                return (), f"{pattern!r}: {path} is outside the CSV's folder; not read"
            reason = refusal(path)
            if reason:
                return (), f"{pattern!r}: {reason}; not read"
        found.update(dict.fromkeys(selection.paths))
    return tuple(found), None


def plan_messages(inputs: Sequence[Path], recipients: Sequence[Recipient], **settings: Any) -> Plan:
    """Every message of a `MessageStream(inputs, recipients, **settings)` at once, for small mailings.

    A long mail merge should iterate the stream instead: this holds every message in memory.
    """
    stream = MessageStream(inputs, recipients, **settings)
    messages = tuple(stream)
    return Plan(messages, tuple(stream.errors), tuple(stream.warnings))


class MessageStream:
    """One message per recipient, built only as it is iterated: the recipient's guides plus `inputs`.

    A guide that fails to load or render fails only the messages that need it (a line in `errors`);
    a message that repeats another (same key) is dropped with a line in `warnings`, so nobody gets
    the same message twice. Each guide's brief renders under `timeout` seconds, and so do the email
    templates of each message. Memory stays bounded in a long mail merge: a message is dropped as
    soon as the consumer moves on, and a brief (or packet) is kept only until the last message that
    needs it, unless a `cache` is passed in to share renders between calls with the same options.
    """

    def __init__(
        self,
        inputs: Sequence[Path],
        recipients: Sequence[Recipient],
        *,
        sender: str,
        subject: str | None = None,
        options: RenderOptions | None = None,
        packet: bool = False,
        max_size: int = DEFAULT_MAX_SIZE,
        when: datetime | None = None,
        cache: dict[Any, Attachment] | None = None,
        timeout: float | None = DEFAULT_RENDER_TIMEOUT,
        parts: PartStore | None = None,
    ) -> None:
        self.options = (options or RenderOptions()).pinned()
        self.parts = parts
        #: Called once per recipient as the stream moves past it (built, refused or a repeat).
        self.progress: Callable[[], None] | None = None
        check_address(sender, "from")
        self.inputs, self.recipients, self.sender, self.subject = inputs, recipients, sender, subject
        self.packet, self.max_size, self.when, self.timeout = packet, max_size, when, timeout
        self.shared_cache = cache
        self._errors: dict[str, None] = {}
        self.warnings: list[str] = []

    @property
    def errors(self) -> list[str]:
        """One line per message that could not be built; with several --to addresses one bad guide
        fails every message the same way, so each line is said once."""
        return list(self._errors)

    def _paths(self, recipient: Recipient) -> list[Path]:
        return list(dict.fromkeys([*recipient.guides, *self.inputs]))

    def guide_paths(self) -> list[Path]:
        """Every guide file some message attaches, once each, in order (not loaded: a mail merge of
        ten thousand rows holds their names, not their guides)."""
        found: dict[Path, Path] = {}
        for recipient in self.recipients:
            for path in self._paths(recipient):
                found.setdefault(path.resolve(), path)
        return list(found.values())

    def _render_keys(self, paths: Sequence[Path]) -> list[Any]:
        resolved = [p.resolve() for p in paths]
        if self.packet:
            return [("packet", self.subject, tuple(resolved))]
        return [("brief", p) for p in resolved]

    def __iter__(self) -> Iterator[Outgoing]:
        cache: dict[Any, Attachment] = {} if self.shared_cache is None else self.shared_cache
        # How many messages still need each brief and each guide, so each is released after its last.
        uses: dict[Any, int] = {}
        for recipient in self.recipients:
            paths = self._paths(recipient)
            for key in [*self._render_keys(paths), *paths]:
                uses[key] = uses.get(key, 0) + 1
        guide_cache: dict[Path, Guide | GuidepdfError] = {}
        seen: dict[str, str] = {}
        for recipient in self.recipients:
            paths = self._paths(recipient)
            try:
                out = self._build(recipient, paths, cache, guide_cache, seen)
            finally:
                for key in [*self._render_keys(paths), *paths]:
                    uses[key] -= 1
                    if uses[key] == 0:
                        guide_cache.pop(key, None)
                        if self.shared_cache is None:
                            cache.pop(key, None)
                if self.parts is not None:
                    # Briefs are on disk: keep only the most recent few, whatever the order of the
                    # rows, and read one again if a later row needs it (memory stays flat).
                    _keep_recent(guide_cache, KEEP_RECENT)
                    if self.shared_cache is None:
                        _keep_recent(cache, KEEP_RECENT)
                if self.progress is not None:
                    self.progress()
            if out is not None:
                yield out

    def _build(
        self,
        recipient: Recipient,
        paths: list[Path],
        cache: dict[Any, Attachment],
        guide_cache: dict[Path, Guide | GuidepdfError],
        seen: dict[str, str],
    ) -> Outgoing | None:
        label = recipient.label or recipient.email
        options, subject = self.options, self.subject
        try:
            guides = [_cached_guide(p, guide_cache) for p in paths]
            attachments = render_attachments(
                guides,
                options,
                packet=self.packet,
                cache=cache,
                title=subject,
                timeout=self.timeout,
                parts=self.parts,
            )
            with render_time_limit(self.timeout, f"{label}: the email templates"):
                message = build_message(
                    guides,
                    to=recipient,
                    sender=self.sender,
                    subject=subject,
                    attachments=attachments,
                    options=options,
                    packet=self.packet,
                    when=self.when,
                )
        except GuidepdfError as exc:
            self._errors[f"{label}: {exc}" if recipient.label else str(exc)] = None
            return None
        key = key_of(message)
        if key in seen:
            self.warnings.append(f"{label}: the same message as {seen[key]}; it is sent once")
            return None
        seen[key] = label
        size = len(encode_message(message))
        if size > self.max_size:
            self._errors[
                f"{label}: message is {format_size(size)} encoded, over the {format_size(self.max_size)} "
                "limit; split the guides over several messages, or raise --max-size if the receiving "
                "servers accept more"
            ] = None
            return None
        return Outgoing(message, key, recipient_of(message), label, options.as_of)


#: Loaded guides and briefs a mail merge keeps for later rows, when the briefs can be read again.
KEEP_RECENT = 64


def _keep_recent(cache: dict[Any, Any], most: int) -> None:
    """Drop the entries that came into `cache` first (guides move to the end when used again), so
    that at most `most` are left."""
    while len(cache) > most:
        del cache[next(iter(cache))]


def _cached_guide(path: Path, cache: dict[Path, Guide | GuidepdfError]) -> Guide:
    if path in cache:
        cache[path] = cache.pop(path)  # most recently used last
    else:
        try:
            cache[path] = load_guide(path)
        except GuidepdfError as exc:
            cache[path] = exc
    found = cache[path]
    if isinstance(found, GuidepdfError):
        raise found
    return found


def write_eml(messages: Iterable[Outgoing], path: Path | str) -> tuple[Path, ...]:
    """Write messages as .eml files: `path` itself for one message named `*.eml`, else into a folder.

    Each message is written as it comes, so a stream of messages is never held in memory at once.
    """
    path = Path(path)
    stream = iter(messages)
    if path.suffix.lower() == ".eml":
        first = next(stream, None)
        if first is None:
            return ()
        rest = sum(1 for _ in stream)
        if rest:
            count = rest + 1
            raise UsageError(f"--eml {path}: {count} messages need a folder, not a .eml file name")
        return (atomic_write(path, encode_message(first.message)),)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--eml {path}: exists and is not a folder")
    names = UniqueNames(".eml")
    return tuple(
        atomic_write(path / names.name(slugify(m.recipient) or "message"), encode_message(m.message))
        for m in stream
    )
