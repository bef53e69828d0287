"""The values mail passes around: attachments, recipients, outgoing messages, SMTP settings, reports."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import GuidepdfError, UsageError

if TYPE_CHECKING:
    pass

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

SMTP_POLICY = email_policy.SMTP


class MailError(GuidepdfError):
    """A message cannot be built, written or sent; the message says what to do about it."""


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
        from .message import encode_message  # message builds on these values

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
        from .addresses import is_remote_address  # addresses builds on these values

        if self.user and self.tls == "none" and is_remote_address(self.host):
            # A name is judged after connecting, by the peer's address (see `connect`).
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
