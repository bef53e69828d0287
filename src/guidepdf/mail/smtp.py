"""Sending over SMTP: connection, TLS, login only where it is safe, retries, and the send log's steps."""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass
from .addresses import format_size, peer_is_loopback
from .message import encode_message, key_of, payload_hash, recipient_of
from .sendlog import SendLog
from .values import UNCERTAIN, Delivery, MailError, Outgoing, SendReport, SmtpSettings

log = logging.getLogger(__name__)


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
            self.smtp = connect(self.settings)
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


def connect(settings: SmtpSettings) -> smtplib.SMTP:
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
    recipient = recipient_of(message)
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
                {"name": part.get_filename(), "sha256": payload_hash(part)}
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
