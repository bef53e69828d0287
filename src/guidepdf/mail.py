"""Briefs and packets as email: build messages, write them as .eml, or send them over SMTP exactly once."""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import io
import ipaddress
import json
import logging
import os
import re
import smtplib
import ssl
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email import policy as email_policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import GuidepdfError, UsageError
from .guide import Guide, load_guide
from .inputs import UniqueNames, expand_inputs, plan_names
from .options import RenderOptions
from .output import atomic_write, read_own_file
from .reading import read_limited, real_path, refusal
from .slug import slugify

if TYPE_CHECKING:
    from .packet import PartStore

log = logging.getLogger(__name__)

#: Messages whose encoded size is above this many bytes are refused unless the limit is raised.
DEFAULT_MAX_SIZE = 20_000_000
#: Seconds a guide's brief (or a message's email templates) may take to render, as in a batch.
DEFAULT_RENDER_TIMEOUT = 120.0
#: The name of the send log when there is no recipients CSV to put it beside.
DEFAULT_LOG_NAME = "guidepdf-sendlog.jsonl"
#: A recipients CSV larger than this is refused (read up to the limit, never whole).
MAX_CSV_BYTES = 20_000_000
TEXT_TEMPLATE = "email/message.txt.j2"
HTML_TEMPLATE = "email/message.html.j2"
PACKET_NAME = "negotiation-packet.pdf"
#: Log states after which the server may hold the message: resent only when asked to.
UNCERTAIN = ("awaiting-reply", "uncertain")
#: A send log is read with a bounded read; one larger than this was not written by guidepdf.
MAX_LOG_BYTES = 1_000_000_000

_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$", re.I)
_SMTP_POLICY = email_policy.SMTP


class MailError(GuidepdfError):
    """A message cannot be built, written or sent; the message says what to do about it."""


# ---------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message: its name, bytes and MIME type."""

    filename: str
    data: bytes
    mime_type: str = "application/pdf"
    #: What the file was made from (see `brief_identity`); None: the bytes themselves identify it.
    identity: str | None = None

    @property
    def sha256(self) -> str:
        """The hex SHA-256 of the bytes."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def fingerprint(self) -> str:
        """What the message key counts for this file: its identity, else its bytes' hash."""
        return self.identity or self.sha256


@dataclass(frozen=True)
class Recipient:
    """One person to mail: address, name, template fields, and (in a mail merge) their own guides."""

    email: str
    name: str = ""
    fields: Mapping[str, str] = field(default_factory=dict, compare=False)
    guides: tuple[Path, ...] = ()
    label: str = ""


@dataclass(frozen=True)
class Outgoing:
    """A built message ready to write or send, with its delivery key and a label for reports."""

    message: EmailMessage = field(compare=False)
    key: str
    recipient: str
    label: str
    as_of: date | None = None

    @property
    def size(self) -> int:
        """The encoded size in bytes, as it goes over the wire."""
        return len(encode_message(self.message))


@dataclass(frozen=True)
class Plan:
    """The messages a command will write or send, and one line per row or input that failed."""

    messages: tuple[Outgoing, ...]
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send: server, TLS mode, login, timeout, and the retry policy for 4xx replies."""

    host: str
    port: int | None = None
    tls: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 2.0
    cafile: Path | None = None

    def __post_init__(self) -> None:
        if self.tls not in ("starttls", "ssl", "none"):
            raise UsageError(f"--tls: expected starttls, ssl or none, got {self.tls!r}")
        if self.user and self.password is None:
            raise UsageError("--user needs the password in the environment variable GUIDEPDF_SMTP_PASSWORD")
        if self.user and self.tls == "none" and _is_remote_address(self.host):
            # A name is judged after connecting, by the peer's address (see `_connect`).
            raise UsageError(
                f"refusing to send the password for {self.user} unencrypted to {self.host}: "
                "use --tls starttls or --tls ssl"
            )

    @property
    def effective_port(self) -> int:
        """The port given, else the usual one for the TLS mode (587, 465 or 25)."""
        if self.port:
            return self.port
        return {"starttls": 587, "ssl": 465, "none": 25}[self.tls]


@dataclass(frozen=True)
class Delivery:
    """What happened to one message: sent, skipped (sent before), uncertain, deferred, failed, not-sent."""

    key: str
    recipient: str
    label: str
    status: str
    detail: str = ""

    @property
    def delivered(self) -> bool:
        """True when the message is known to be with the server, now or in an earlier run."""
        return self.status in ("sent", "skipped")


@dataclass(frozen=True)
class SendReport:
    """Every message's delivery, and the error that stopped the run early, if one did."""

    deliveries: tuple[Delivery, ...]
    stopped: str | None = None

    def count(self, status: str) -> int:
        """How many deliveries have `status`."""
        return sum(1 for d in self.deliveries if d.status == status)

    @property
    def undelivered(self) -> tuple[Delivery, ...]:
        """The messages not known to be delivered: the reason to exit 1."""
        return tuple(d for d in self.deliveries if not d.delivered)


# ---------------------------------------------------------------------------------------------
# Addresses and sizes


def check_address(text: str, what: str = "address") -> Address:
    """Parse `addr@domain` or `Name <addr@domain>`; raise MailError saying what is wrong with it."""
    raw = str(text).strip()
    name, spec = parseaddr(raw) if "<" in raw else ("", raw)
    problem = _address_problem(spec)
    if problem:
        raise MailError(f"{what} {raw!r}: {problem}")
    try:
        return Address(display_name=_one_line(name), addr_spec=spec)
    except (HeaderParseError, ValueError, IndexError) as exc:
        raise MailError(f"{what} {raw!r}: not a valid address ({exc})") from None


def _address_problem(spec: str) -> str | None:
    if not spec:
        return "no address"
    if any(ch.isspace() for ch in spec):
        return "spaces are not allowed in an address"
    if "@" not in spec:
        return "missing '@domain'"
    local, _, domain = spec.rpartition("@")
    if not local:
        return "nothing before the '@'"
    if not local.isascii():
        return "non-ASCII characters before the '@' are not supported"
    if not domain:
        return "nothing after the '@'"
    try:
        Address(addr_spec=spec)
    except (HeaderParseError, ValueError, IndexError):
        return "not a valid address"
    if domain.startswith("[") and domain.endswith("]"):
        return None  # an address literal, e.g. user@[192.0.2.1]
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return f"bad domain {domain!r}"
    labels = ascii_domain.rstrip(".").split(".")
    if len(labels) < 2 or not all(_LABEL_RE.match(label) for label in labels) or labels[-1].isdigit():
        return f"bad domain {domain!r}"
    return None


def _one_line(text: str | None) -> str:
    # Names come from CSV cells: a newline in a header would be an injection, so fold all whitespace.
    return " ".join(str(text or "").split())


def _is_remote_address(host: str) -> bool:
    """True for an IP address literal that is not loopback; names are never judged by their spelling."""
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    return not _loopback(address)


def _loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback, ::ffff:192.0.2.1 is not
    return address.is_loopback


def peer_is_loopback(sock: Any) -> bool:
    """True when the connected socket's peer address is a loopback address (127/8, ::1, mapped too)."""
    try:
        peer = sock.getpeername()
    except (OSError, AttributeError):
        return False
    if not isinstance(peer, tuple) or not peer or not isinstance(peer[0], str):
        return False
    try:
        address = ipaddress.ip_address(peer[0].split("%")[0])
    except ValueError:
        return False
    return _loopback(address)


def parse_size(text: str | int) -> int:
    """`20MB`, `500K`, `1.5M` or a number of bytes (decimal units, as mail servers use)."""
    if isinstance(text, int):
        return text
    match = _SIZE_RE.match(str(text))
    if not match:
        raise UsageError(f"--max-size: expected a size such as 20MB or 500KB, got {text!r}")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}[unit])


def format_size(size: int) -> str:
    """`23.4 MB`, `812 KB`: sizes as a person reads them."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{max(1, round(size / 1000))} KB"


def parse_server(text: str) -> tuple[str, int | None]:
    """`host`, `host:port` or `[v6]:port` into (host, port or None)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host:
        raise UsageError(f"--smtp: expected HOST or HOST:PORT, got {text!r}")
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"--smtp: bad port in {text!r}")
    return host, int(port_text)


# ---------------------------------------------------------------------------------------------
# Building messages


def encode_message(message: EmailMessage) -> bytes:
    """The message as sent: CRLF line ends, headers folded and encoded for SMTP."""
    return message.as_bytes(policy=_SMTP_POLICY)


#: The attachment part header carrying its `Attachment.identity`, so a message's key can be read back.
IDENTITY_HEADER = "X-Guidepdf-Identity"


def message_key(
    recipient: str,
    subject: str,
    attachments: Iterable[Attachment | str],
    *,
    name: str = "",
    sender: str = "",
    bodies: Iterable[str] = (),
) -> str:
    """The delivery key of a message: everything its recipient sees, so the same key is never sent twice.

    That is the recipient's address and `name`, the `sender`, the subject, every body's text, and each
    attachment's file name and fingerprint (`Attachment.fingerprint`: for a brief, what it was made
    from rather than its bytes, which differ with the font subsetter a machine has). Strings in
    `attachments` are fingerprints as they are. The Message-ID derives from the key.
    """
    files = sorted([a.filename, a.fingerprint] if isinstance(a, Attachment) else ["", a] for a in attachments)
    payload = json.dumps(
        {
            "to": recipient.lower(),
            "name": name,
            "from": sender,
            "subject": subject,
            "bodies": [hashlib.sha256(b.encode("utf-8")).hexdigest() for b in bodies],
            "attachments": files,
        }
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def key_of(message: EmailMessage) -> str:
    """The delivery key read back from a message (see `message_key`)."""
    files = [
        Attachment(part.get_filename() or "", b"", identity=part[IDENTITY_HEADER] or _payload_hash(part))
        for part in message.iter_attachments()
    ]
    bodies = []
    for part in message.walk():
        if part.get_content_maintype() == "text" and part.get_content_disposition() != "attachment":
            bodies.append(str(part.get_content()))
    to = message["To"]
    addresses = tuple(getattr(to, "addresses", ())) if to is not None else ()
    return message_key(
        _recipient_of(message),
        str(message["Subject"] or ""),
        files,
        name=addresses[0].display_name if addresses else "",
        sender=str(message["From"] or ""),
        bodies=bodies,
    )


def _recipient_of(message: EmailMessage) -> str:
    to = message["To"]
    addresses: tuple[Address, ...] = tuple(getattr(to, "addresses", ())) if to is not None else ()
    if len(addresses) != 1:
        raise MailError("a message to send must have exactly one To address")
    return addresses[0].addr_spec


def _payload_hash(part: Any) -> str:
    payload = part.get_payload(decode=True)
    return hashlib.sha256(payload if isinstance(payload, bytes) else b"").hexdigest()


def default_subject(guides: Sequence[Guide], packet: bool = False) -> str:
    """`Negotiation brief: <title>`, or a short list of titles for several guides."""
    titles = [g.title for g in guides]
    if not titles:
        return "Negotiation packet" if packet else "Negotiation briefs"
    if len(titles) == 1:
        listing = titles[0]
    elif len(titles) == 2:
        listing = f"{titles[0]} and {titles[1]}"
    else:
        listing = f"{titles[0]}, {titles[1]} and {len(titles) - 2} more"
    noun = "packet" if packet else ("brief" if len(titles) == 1 else "briefs")
    return f"Negotiation {noun}: {listing}"


def mail_context(
    guides: Sequence[Guide],
    recipient: Recipient,
    sender: Address,
    subject: str,
    attachments: Sequence[Attachment],
    options: RenderOptions,
    packet: bool,
) -> dict[str, Any]:
    """What the email templates receive (documented in the README)."""
    first = guides[0] if guides else None
    return {
        "guides": list(guides),
        "guide": first,
        "headline": first.headline if first else None,
        "recipient": {"email": recipient.email, "name": recipient.name},
        "name": recipient.name,
        "fields": dict(recipient.fields),
        "sender": {"email": sender.addr_spec, "name": sender.display_name},
        "subject": subject,
        "attachments": [a.filename for a in attachments],
        "packet": packet,
        "as_of": options.today,
    }


def build_message(
    guides: Sequence[Guide],
    *,
    to: str | Recipient,
    sender: str,
    subject: str | None = None,
    attachments: Sequence[Attachment] | None = None,
    options: RenderOptions | None = None,
    packet: bool = False,
    when: datetime | None = None,
) -> EmailMessage:
    """An email to one recipient with plain-text and HTML bodies and the guides' briefs (or packet).

    Without `attachments` the briefs are rendered here (or one packet when `packet` is true).
    The Message-ID and MIME boundaries derive from the delivery key, so a rebuilt message is the same.
    """
    from .templating import render_template

    options = (options or RenderOptions()).pinned()
    recipient = to if isinstance(to, Recipient) else Recipient(email=str(to))
    to_address = check_address(recipient.email, "to")
    if recipient.name or not to_address.display_name:
        to_address = Address(display_name=_one_line(recipient.name), addr_spec=to_address.addr_spec)
    recipient = Recipient(
        email=to_address.addr_spec,
        name=to_address.display_name,
        fields=recipient.fields,
        guides=recipient.guides,
        label=recipient.label,
    )
    from_address = check_address(sender, "from")
    if attachments is None:
        attachments = render_attachments(guides, options, packet=packet, title=subject)
    subject = _one_line(subject or default_subject(guides, packet))  # titles may hold U+2028, VT, FF
    context = mail_context(guides, recipient, from_address, subject, attachments, options, packet)

    message = EmailMessage()
    message["From"] = from_address
    message["To"] = to_address
    message["Subject"] = subject
    message["Date"] = format_datetime(when or datetime.now(UTC))
    message.set_content(render_template(TEXT_TEMPLATE, context, options), cte="quoted-printable")
    message.add_alternative(
        render_template(HTML_TEMPLATE, context, options), subtype="html", cte="quoted-printable"
    )
    for attachment in attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        headers = [f"{IDENTITY_HEADER}: {attachment.identity}"] if attachment.identity else None
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename, headers=headers
        )
    # Every header and body is in place: the key (and the Message-ID from it) covers what is seen.
    key = key_of(message)
    message["Message-ID"] = f"<{key[:40]}.guidepdf@{_id_domain(from_address)}>"
    # Fixed boundaries keep a rebuilt message byte-identical (the library's default is random).
    multiparts = [part for part in message.walk() if part.is_multipart()]
    for i, part in enumerate(multiparts):
        part.set_boundary(f"=_guidepdf_{key[:24]}_{i}")
    return message


def _id_domain(address: Address) -> str:
    domain = address.domain.strip("[]") or "localhost"
    return re.sub(r"[^A-Za-z0-9.-]", "-", domain)


def render_attachments(
    guides: Sequence[Guide],
    options: RenderOptions,
    *,
    packet: bool = False,
    cache: dict[Any, Attachment] | None = None,
    title: str | None = None,
    timeout: float | None = DEFAULT_RENDER_TIMEOUT,
    parts: PartStore | None = None,
) -> tuple[Attachment, ...]:
    """The briefs for `guides` as `<company>-<role>.pdf` attachments, or one packet of them all.

    Briefs come from `parts` (rendered beforehand on the shared workers) where it has them; any
    other renders here under `timeout` seconds (None: no limit), as a batch's guides do.
    """
    from .pdf import render_pdf

    cache = {} if cache is None else cache
    if packet:
        packet_key = ("packet", title, tuple(g.path.resolve() for g in guides))
        if packet_key not in cache:
            identities = "\0".join(brief_identity(g, options) for g in guides)
            identity = hashlib.sha256(f"packet\0{title or ''}\0{identities}".encode()).hexdigest()
            cache[packet_key] = Attachment(
                PACKET_NAME, _build_packet(guides, options, title, timeout, parts), identity=identity
            )
        return (cache[packet_key],)
    names, _ = plan_names([g.slug for g in guides], ".pdf")
    found = []
    for guide, name in zip(guides, names, strict=True):
        key = ("brief", guide.path.resolve())
        if key not in cache:
            data = parts.get(guide) if parts is not None else None
            if data is None:
                with render_time_limit(timeout, str(guide.path)):
                    data = render_pdf(guide, options)
            cache[key] = Attachment(name, data, identity=brief_identity(guide, options))
        found.append(Attachment(name, cache[key].data, identity=cache[key].identity))
    return tuple(found)


def brief_identity(guide: Guide, options: RenderOptions) -> str:
    """What a brief is made from, hashed: the guide's text, the files it references, theme and options.

    Unlike the PDF's bytes this does not depend on the machine (its font subsetter, the guide's
    folder) nor on the guidepdf version, so a send log carried elsewhere or kept over an upgrade
    still recognises what it sent.
    """
    from .tasks import collect_theme, guide_resources, options_fingerprint

    text = guide.source.encode("utf-8")
    digest = hashlib.sha256(b"brief\0")
    digest.update(collect_theme(options).digest.encode())
    digest.update(options_fingerprint(replace(options, templates=(), styles=())).encode())
    digest.update(len(text).to_bytes(8, "big") + text)
    for name, data in guide_resources(guide.path, text) if guide.path.is_file() else ():
        digest.update(f"{name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


def _build_packet(
    guides: Sequence[Guide],
    options: RenderOptions,
    title: str | None,
    timeout: float | None,
    parts: PartStore | None,
) -> bytes:
    from .packet import build_packet

    return build_packet(
        list(guides),
        options,
        title=title,
        timeout=timeout,
        cache_dir=parts.cache_dir if parts is not None else None,
        batch_dir=parts.batch_dir if parts is not None else None,
    )


# ---------------------------------------------------------------------------------------------
# Planning: which messages a command sends


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
        name = _one_line(row.get("name")) or address.display_name
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

    def guides(self) -> list[Guide]:
        """Every guide some message attaches, once each, in order (those that load)."""
        found: dict[Path, Guide] = {}
        for recipient in self.recipients:
            for path in self._paths(recipient):
                resolved = path.resolve()
                if resolved not in found:
                    with contextlib.suppress(GuidepdfError):
                        found[resolved] = load_guide(path)
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
        return Outgoing(message, key, _recipient_of(message), label, options.as_of)


def render_time_limit(seconds: float | None, what: str) -> contextlib.AbstractContextManager[None]:
    """Stop a render that runs past `seconds` with a `RenderTimeout` naming `what`."""
    from .tasks import RenderTimeout
    from .timeouts import time_limit

    return time_limit(
        seconds, lambda: RenderTimeout(f"{what}: stopped after {seconds:g} s (--render-timeout)")
    )


def _cached_guide(path: Path, cache: dict[Path, Guide | GuidepdfError]) -> Guide:
    if path not in cache:
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


# ---------------------------------------------------------------------------------------------
# The send log


class SendLog:
    """A JSON-lines record of every delivery attempt and outcome, keyed by message key.

    Each record is appended and fsync'd before the step it announces. Appending (rather than
    rewriting the whole log through a temporary file) keeps a long mail merge linear in time, and a
    crash can only tear the last line: the reader drops a torn last line (that step never became
    durable, so it never happened as far as the log is concerned) and truncates it before appending.
    A damaged line anywhere else is an error, since guessing could resend a delivered message.
    An exclusive lock stops two runs from sharing one log.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._handle: Any = None

    def read(self) -> dict[str, dict[str, Any]]:
        """The last record for each key (empty when there is no log yet)."""
        try:
            data = read_own_file(self.path, MAX_LOG_BYTES)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise MailError(f"{self.path}: cannot read the send log: {_log_problem(exc)}") from None
        records, _ = self._parse(data)
        latest: dict[str, dict[str, Any]] = {}
        for record in records:
            latest[record["key"]] = record
        return latest

    def pending(self, messages: Iterable[Outgoing], resend_uncertain: bool = False) -> tuple[Outgoing, ...]:
        """The messages a send would try: not sent, and not possibly delivered unless asked."""
        return tuple(self.select_pending(messages, resend_uncertain))

    def select_pending(
        self,
        messages: Iterable[Outgoing],
        resend_uncertain: bool = False,
        on_skip: Callable[[Outgoing], None] | None = None,
    ) -> Iterator[Outgoing]:
        """`pending` one message at a time, for a stream; `on_skip` hears of each one left out."""
        previous = self.read()
        for message in messages:
            state = previous.get(message.key, {}).get("status")
            if state != "sent" and (resend_uncertain or state not in UNCERTAIN):
                yield message
            elif on_skip is not None:
                on_skip(message)

    def last_as_of(self) -> date | None:
        """The as-of date of the newest record, so a re-run renders the same briefs (same keys)."""
        newest = None
        for record in self.read().values():
            if record.get("as_of") and (newest is None or record.get("time", "") > newest.get("time", "")):
                newest = record
        return date.fromisoformat(newest["as_of"]) if newest else None

    def _parse(self, data: bytes) -> tuple[list[dict[str, Any]], int]:
        """Records and the byte length of the well-formed part (a torn last line is left out)."""
        records: list[dict[str, Any]] = []
        good = 0
        lines = data.split(b"\n")
        for number, line in enumerate(lines, start=1):
            last = number == len(lines)
            if not line.strip():
                if not last:
                    good += len(line) + 1
                continue
            try:
                record = json.loads(line)
                if not _is_record(record):
                    raise ValueError("not a record")
            except (ValueError, RecursionError):
                torn = last or (number == len(lines) - 1 and not lines[-1])
                if torn and line.lstrip().startswith(b"{"):
                    break  # torn by a crash mid-write: that record was never made durable
                raise MailError(
                    f"{self.path}: line {number}: not a send-log record; fix or move the log "
                    "(guessing could resend delivered messages)"
                ) from None
            if last:
                break  # no newline yet: torn, even if it happens to parse
            records.append(record)
            good += len(line) + 1
        return records, good

    def open(self) -> None:
        """Lock the log for this run and cut off a torn last line."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Never through a link, never a FIFO or device: the log is truncated and appended to.
        flags = (
            os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        )
        try:
            fd = os.open(self.path, flags | os.O_NONBLOCK, 0o666)
        except OSError as exc:
            raise MailError(f"{self.path}: cannot open the send log: {_log_problem(exc)}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise MailError(f"{self.path}: the send log is not a regular file; move it away")
        handle = os.fdopen(fd, "a+b")
        try:
            _lock(handle, self.path)
            handle.seek(0)
            _, good = self._parse(handle.read())
            if good != handle.tell():
                handle.truncate(good)
                os.fsync(handle.fileno())
        except BaseException:
            handle.close()
            raise
        self._handle = handle

    def close(self) -> None:
        """Release the lock."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> SendLog:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record durably (flushed and fsync'd) before returning."""
        if self._handle is None:
            raise MailError(f"{self.path}: the send log is not open")
        line = json.dumps(dict(record), ensure_ascii=False, sort_keys=True) + "\n"
        try:
            self._handle.write(line.encode("utf-8"))
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            raise MailError(f"{self.path}: cannot write the send log: {exc.strerror or exc}") from None


def _is_record(record: Any) -> bool:
    """A send-log record: a key and status as text; time and as_of, when present, as text dates."""
    if not isinstance(record, dict):
        return False
    if not isinstance(record.get("key"), str) or not isinstance(record.get("status"), str):
        return False
    if not isinstance(record.get("time", ""), str):
        return False
    as_of = record.get("as_of")
    if as_of is None:
        return True
    try:
        date.fromisoformat(as_of)
    except (TypeError, ValueError):
        return False
    return True


def _log_problem(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "it is a symbolic link; guidepdf never writes its log through a link (move it away)"
    return str(exc.strerror or exc)


def _lock(handle: Any, path: Path) -> None:
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, one run at a time is then the user's job
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise MailError(f"{path}: the send log is in use by another guidepdf email run") from None


# ---------------------------------------------------------------------------------------------
# Sending


class _Stopped(MailError):
    """The run cannot go on (login refused, log unwritable); `status` is this message's fate."""

    def __init__(self, message: str, status: str = "not-sent") -> None:
        super().__init__(message)
        self.status = status


class _Transient(Exception):
    """Not delivered, worth retrying: a 4xx reply or a connection lost before the end of the data."""


class _Permanent(Exception):
    """Not delivered and retrying will not help: a 5xx reply."""


class _Uncertain(Exception):
    """The whole message went out but no reply came: the server may or may not have accepted it."""


class _Connection:
    """One SMTP session, opened on first use and reopened after a failure."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def get(self) -> smtplib.SMTP:
        if self.smtp is None:
            self.smtp = _connect(self.settings)
        return self.smtp

    def abort(self) -> None:
        """Close without QUIT: mid-transaction a QUIT would be read as part of the message."""
        if self.smtp is not None:
            with contextlib.suppress(Exception):
                self.smtp.close()
        self.smtp = None

    def drop(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(Exception):
                self.smtp.quit()
            with contextlib.suppress(Exception):
                self.smtp.close()
        self.smtp = None


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(settings.cafile) if settings.cafile else None)
    return context


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    """Connect, secure and log in; login and TLS problems are final (MailError), others transient."""
    host, port = settings.host, settings.effective_port
    try:
        smtp: smtplib.SMTP
        if settings.tls == "ssl":
            smtp = smtplib.SMTP_SSL(host, port, timeout=settings.timeout, context=_tls_context(settings))
        else:
            smtp = smtplib.SMTP(host, port, timeout=settings.timeout)
        smtp.ehlo()
    except ssl.SSLError as exc:
        raise MailError(f"{host}:{port}: TLS failed: {exc}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise _Transient(f"cannot connect to {host}:{port}: {exc}") from None
    try:
        if settings.tls == "starttls":
            if not smtp.has_extn("starttls"):
                raise MailError(
                    f"{host}:{port} does not offer STARTTLS; "
                    "use --tls ssl, or --tls none on a trusted network"
                )
            smtp.starttls(context=_tls_context(settings))
            smtp.ehlo()
        if settings.user and settings.tls == "none" and not peer_is_loopback(smtp.sock):
            # Judged by where the socket actually goes: `127.evil.example` may resolve anywhere.
            raise MailError(
                f"refusing to send the password for {settings.user} unencrypted to {host}:{port}: "
                f"it connected to {_peer_text(smtp.sock)}, not a loopback address; "
                "use --tls starttls or --tls ssl"
            )
        if settings.user:
            _login(smtp, settings.user, settings.password or "")
    except MailError:
        smtp.close()
        raise
    except ssl.SSLError as exc:
        smtp.close()
        raise MailError(f"{host}:{port}: TLS failed: {exc}") from None
    except smtplib.SMTPAuthenticationError as exc:
        smtp.close()
        raise MailError(f"{host}:{port}: login as {settings.user} refused: {_reply(exc)}") from None
    except smtplib.SMTPNotSupportedError:
        smtp.close()
        raise MailError(f"{host}:{port}: the server does not support login (AUTH)") from None
    except (OSError, smtplib.SMTPException) as exc:
        smtp.close()
        raise _Transient(f"{host}:{port}: {exc}") from None
    return smtp


def _peer_text(sock: Any) -> str:
    try:
        return str(sock.getpeername()[0])
    except (OSError, AttributeError, IndexError, TypeError):
        return "an unknown address"


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH PLAIN when offered (one round trip, one clear answer), else whatever smtplib picks."""
    offered = smtp.esmtp_features.get("auth", "").upper().split()
    if "PLAIN" not in offered:
        smtp.login(user, password)
        return
    smtp.user, smtp.password = user, password
    smtp.auth("PLAIN", smtp.auth_plain)


def _reply(exc: Any) -> str:
    code = getattr(exc, "smtp_code", "")
    text = getattr(exc, "smtp_error", b"")
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(text.split())}".strip()


def _check(code: int, reply: bytes, step: str) -> None:
    text = f"{step}: {code} {' '.join(reply.decode('utf-8', 'replace').split())}"
    if 400 <= code < 500:
        raise _Transient(text)
    if code >= 500 or code < 200:
        raise _Permanent(text)


def _reset(smtp: smtplib.SMTP) -> None:
    # After a refusal the reply decides what happened; a failing RSET must not change the verdict.
    with contextlib.suppress(OSError, smtplib.SMTPException):
        smtp.rset()


def _data_lines(data: bytes) -> bytes:
    """The message for DATA: dot-stuffed, ending in CRLF but without the final `.` line."""
    data = re.sub(rb"(?m)^\.", b"..", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _transact(smtp: smtplib.SMTP, out: Outgoing, sender: str, record: Callable[[str, str], None]) -> str:
    """One SMTP transaction; returns the server's acceptance line or raises by how sure we are."""
    data = encode_message(out.message)
    limit = smtp.esmtp_features.get("size", "")
    if limit.isdigit() and 0 < int(limit) < len(data):
        raise _Permanent(
            f"the server accepts at most {format_size(int(limit))} "
            f"and the message is {format_size(len(data))}"
        )
    try:
        options = [f"SIZE={len(data)}"] if smtp.has_extn("size") else []
        code, reply = smtp.mail(sender, options)
        if code != 250:
            _reset(smtp)
            _check(code, reply, "MAIL FROM")
        code, reply = smtp.rcpt(out.recipient)
        if code not in (250, 251):
            _reset(smtp)
            _check(code, reply, "RCPT TO")
        code, reply = smtp.docmd("DATA")
        if code != 354:
            _reset(smtp)
            _check(code, reply, "DATA")
        smtp.send(_data_lines(data))
    except (OSError, smtplib.SMTPException) as exc:
        # The end-of-data line has not gone out, so the server cannot have accepted the message.
        raise _Transient(f"connection lost before the message was complete: {exc}") from None
    # From here the server may accept the message at any moment: say so durably first.
    record("awaiting-reply", "")
    try:
        smtp.send(b".\r\n")
        code, reply = smtp.getreply()
    except (OSError, smtplib.SMTPException) as exc:
        raise _Uncertain(f"no reply after the message was sent: {exc}") from None
    _check(code, reply, "end of data")
    return f"{code} {' '.join(reply.decode('utf-8', 'replace').split())}"


def send_messages(
    messages: Iterable[Outgoing | EmailMessage],
    settings: SmtpSettings,
    *,
    log: SendLog | Path | str | None = None,
    resend_uncertain: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> SendReport:
    """Send each message once over SMTP, recording every step in `log`.

    A message the log shows as sent is skipped. One whose end of data went out without a reply
    (`awaiting-reply` or `uncertain` last) may have been delivered and is only resent with
    `resend_uncertain`. 4xx replies and lost connections are retried with exponential backoff
    (`settings.retries`, `settings.backoff` seconds doubling); 5xx replies are recorded as failed.
    """
    # A generator: each message is built by the caller's stream only when its turn comes.
    outgoing = (m if isinstance(m, Outgoing) else _wrap(m) for m in messages)
    send_log = SendLog(log) if isinstance(log, str | Path) else log
    deliveries: list[Delivery] = []
    stopped: str | None = None
    connection = _Connection(settings)
    with contextlib.ExitStack() as stack:
        if send_log is not None:
            send_log.open()
            stack.callback(send_log.close)
        stack.callback(connection.drop)
        previous = send_log.read() if send_log is not None else {}
        for out in outgoing:
            if stopped is not None:
                deliveries.append(_delivery(out, "not-sent", stopped))
                continue
            status = previous.get(out.key, {}).get("status")
            if status == "sent":
                deliveries.append(_delivery(out, "skipped", "already sent"))
                continue
            if status in UNCERTAIN and not resend_uncertain:
                deliveries.append(
                    _delivery(
                        out,
                        "uncertain",
                        "may have been delivered in an earlier run (no reply was recorded); "
                        "check with the recipient, then re-run with --resend-uncertain to send it again",
                    )
                )
                continue
            try:
                delivery = _deliver(out, settings, connection, send_log, sleep)
                deliveries.append(delivery)
                # The same message twice in one list is still sent once.
                previous[out.key] = {"status": delivery.status}
            except MailError as exc:
                connection.abort()
                stopped = str(exc)
                deliveries.append(_delivery(out, getattr(exc, "status", "not-sent"), stopped))
            except BaseException:
                connection.abort()
                raise
    return SendReport(tuple(deliveries), stopped)


def _wrap(message: EmailMessage) -> Outgoing:
    if not getattr(message["From"], "addresses", None):
        raise MailError("a message to send needs a From address")
    recipient = _recipient_of(message)
    return Outgoing(message, key_of(message), recipient, recipient)


def _delivery(out: Outgoing, status: str, detail: str) -> Delivery:
    return Delivery(out.key, out.recipient, out.label, status, detail)


def _deliver(
    out: Outgoing,
    settings: SmtpSettings,
    connection: _Connection,
    send_log: SendLog | None,
    sleep: Callable[[float], None],
) -> Delivery:
    sender = out.message["From"].addresses[0].addr_spec

    def record(status: str, detail: str) -> None:
        if send_log is None:
            return
        entry: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "key": out.key,
            "to": out.recipient,
            "status": status,
            "detail": detail,
            "as_of": out.as_of.isoformat() if out.as_of else None,
        }
        if status == "attempting":  # the first record of an attempt says what the message is
            entry["subject"] = str(out.message["Subject"])
            entry["message_id"] = str(out.message["Message-ID"])
            entry["attachments"] = [
                {"name": part.get_filename(), "sha256": _payload_hash(part)}
                for part in out.message.iter_attachments()
            ]
        send_log.append(entry)

    detail = ""
    for attempt in range(settings.retries + 1):
        if attempt:
            delay = settings.backoff * 2 ** (attempt - 1)
            log.info("%s: retrying in %.2fs after: %s", out.label, delay, detail)
            sleep(delay)
        try:
            smtp = connection.get()
        except _Transient as exc:
            detail = str(exc)
            if attempt == settings.retries:
                # The server cannot be reached at all: stop rather than wait out every message in turn.
                raise MailError(f"{detail}; nothing more was sent, re-run to send the rest") from None
            continue
        record("attempting", f"attempt {attempt + 1}")
        try:
            accepted = _transact(smtp, out, sender, record)
        except _Transient as exc:
            detail = str(exc)
            record("deferred", detail)
            connection.abort()  # a fresh session is cheap and never inherits a half-finished one
            continue
        except _Permanent as exc:
            record("failed", str(exc))
            return _delivery(out, "failed", f"refused permanently: {exc}")
        except _Uncertain as exc:
            connection.abort()
            record("uncertain", str(exc))
            return _delivery(
                out,
                "uncertain",
                f"{exc}; it may have been delivered: check with the recipient, then re-run with "
                "--resend-uncertain to send it again",
            )
        try:
            record("sent", accepted)
        except MailError as exc:
            raise _Stopped(
                f"{exc}; the message to {out.recipient} was delivered, but a re-run will report it "
                "as possibly delivered",
                status="sent",
            ) from None
        return _delivery(out, "sent", accepted)
    return _delivery(
        out,
        "deferred",
        f"not delivered after {settings.retries + 1} attempts ({detail}); re-run to try again",
    )
