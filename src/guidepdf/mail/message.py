"""One message built from guides: bodies from the email templates, briefs attached, its key and Message-ID."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from ..guide import Guide
from ..inputs import plan_names
from ..options import RenderOptions

if TYPE_CHECKING:
    from ..packet import PartStore
from .addresses import check_address, one_line
from .values import (
    DEFAULT_RENDER_TIMEOUT,
    HTML_TEMPLATE,
    PACKET_NAME,
    SMTP_POLICY,
    TEXT_TEMPLATE,
    Attachment,
    MailError,
    Recipient,
)

log = logging.getLogger(__name__)


def encode_message(message: EmailMessage) -> bytes:
    """The message as sent: CRLF line ends, headers folded and encoded for SMTP."""
    return message.as_bytes(policy=SMTP_POLICY)


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
        Attachment(part.get_filename() or "", b"", identity=part[IDENTITY_HEADER] or payload_hash(part))
        for part in message.iter_attachments()
    ]
    bodies = []
    for part in message.walk():
        if part.get_content_maintype() == "text" and part.get_content_disposition() != "attachment":
            bodies.append(str(part.get_content()))
    to = message["To"]
    addresses = tuple(getattr(to, "addresses", ())) if to is not None else ()
    return message_key(
        recipient_of(message),
        str(message["Subject"] or ""),
        files,
        name=addresses[0].display_name if addresses else "",
        sender=str(message["From"] or ""),
        bodies=bodies,
    )


def recipient_of(message: EmailMessage) -> str:
    to = message["To"]
    addresses: tuple[Address, ...] = tuple(getattr(to, "addresses", ())) if to is not None else ()
    if len(addresses) != 1:
        raise MailError("a message to send must have exactly one To address")
    return addresses[0].addr_spec


def payload_hash(part: Any) -> str:
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
    from ..templating import render_template

    options = (options or RenderOptions()).pinned()
    recipient = to if isinstance(to, Recipient) else Recipient(email=str(to))
    to_address = check_address(recipient.email, "to")
    if recipient.name or not to_address.display_name:
        to_address = Address(display_name=one_line(recipient.name), addr_spec=to_address.addr_spec)
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
    subject = one_line(subject or default_subject(guides, packet))  # titles may hold U+2028, VT, FF
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
    from ..brief import render_pdf

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
    from ..tasks import collect_theme, guide_resources, options_fingerprint

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
    from ..packet import build_packet

    return build_packet(
        list(guides),
        options,
        title=title,
        timeout=timeout,
        cache_dir=parts.cache_dir if parts is not None else None,
        batch_dir=parts.batch_dir if parts is not None else None,
    )


def render_time_limit(seconds: float | None, what: str) -> contextlib.AbstractContextManager[None]:
    """Stop a render that runs past `seconds` with a `RenderTimeout` naming `what`."""
    from ..tasks import RenderTimeout
    from ..timeouts import time_limit

    return time_limit(
        seconds, lambda: RenderTimeout(f"{what}: stopped after {seconds:g} s (--render-timeout)")
    )
