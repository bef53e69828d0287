"""Email: briefs (or a packet) to people, as .eml files or over SMTP exactly once.

One job per module: `values`, `addresses`, `message` (one message built), `stream` (which
messages a command sends, built one at a time), `sendlog` (exactly once), `smtp` (sending) and
`merge` (a whole mail merge, as the `email` command runs it).
"""

from __future__ import annotations

from .addresses import (
    check_address,
    format_size,
    is_remote_address,
    one_line,
    parse_server,
    parse_size,
    peer_is_loopback,
)
from .merge import MailMerge, MergeResult, mail_merge
from .message import (
    IDENTITY_HEADER,
    brief_identity,
    build_message,
    default_subject,
    encode_message,
    key_of,
    mail_context,
    message_key,
    payload_hash,
    recipient_of,
    render_attachments,
)
from .sendlog import SendLog
from .smtp import connect, send_messages
from .stream import MessageStream, plan_messages, read_recipients, render_time_limit, write_eml
from .values import (
    DEFAULT_LOG_NAME,
    DEFAULT_MAX_SIZE,
    DEFAULT_RENDER_TIMEOUT,
    HTML_TEMPLATE,
    MAX_CSV_BYTES,
    MAX_LOG_BYTES,
    PACKET_NAME,
    SMTP_POLICY,
    TEXT_TEMPLATE,
    UNCERTAIN,
    Attachment,
    Delivery,
    MailError,
    Outgoing,
    Plan,
    Recipient,
    SendReport,
    SmtpSettings,
)

__all__ = [
    "DEFAULT_LOG_NAME",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_RENDER_TIMEOUT",
    "HTML_TEMPLATE",
    "IDENTITY_HEADER",
    "MAX_CSV_BYTES",
    "MAX_LOG_BYTES",
    "PACKET_NAME",
    "SMTP_POLICY",
    "TEXT_TEMPLATE",
    "UNCERTAIN",
    "Attachment",
    "Delivery",
    "MailError",
    "MailMerge",
    "MergeResult",
    "MessageStream",
    "Outgoing",
    "Plan",
    "Recipient",
    "SendLog",
    "SendReport",
    "SmtpSettings",
    "brief_identity",
    "build_message",
    "check_address",
    "connect",
    "default_subject",
    "encode_message",
    "format_size",
    "is_remote_address",
    "key_of",
    "mail_context",
    "mail_merge",
    "message_key",
    "one_line",
    "parse_server",
    "parse_size",
    "payload_hash",
    "peer_is_loopback",
    "plan_messages",
    "read_recipients",
    "recipient_of",
    "render_attachments",
    "render_time_limit",
    "send_messages",
    "write_eml",
]
