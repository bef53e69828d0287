"""Email: messages read back, attached briefs opened, exactly-once delivery to a real SMTP server."""

from __future__ import annotations

import email
import email.policy
import io
import json
import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword, syntax
from click.testing import CliRunner
from pypdf import PdfReader

from conftest import SEEDS
from guidepdf import RenderOptions, SendLog, SmtpSettings, build_message, load_guide, mail, send_messages
from guidepdf.cli import main

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 23)
WHEN = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
SENDER = "Coach <coach@example.org>"
LUMENPAY = SEEDS / "lumenpay-product-manager.md"
TESSERA = SEEDS / "tessera-ai-ml-engineer.md"


# --------------------------------------------------------------------------------------------- servers


class Mailbox:
    """An aiosmtpd handler that keeps every accepted message and plays scripted faults per recipient.

    A fault is a reply such as "451 try later", "drop" (connection cut after the data arrived,
    message discarded) or "store-then-drop" (message kept, then the connection cut before the reply).
    """

    def __init__(self) -> None:
        self.received: list[tuple[str, EmailMessage]] = []
        self.faults: dict[str, list[str]] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        rcpt = envelope.rcpt_tos[0]
        script = self.faults.get(rcpt) or []
        action = script.pop(0) if script else "ok"
        if action in ("ok", "store-then-drop"):
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.received.append((rcpt, message))  # type: ignore[arg-type]
        if action in ("drop", "store-then-drop"):
            server.transport.abort()
            return "250 OK"
        return "250 OK" if action == "ok" else action

    def count(self, rcpt: str) -> int:
        return sum(1 for r, _ in self.received if r == rcpt)


class CuttingSMTP(SMTP):
    """An SMTP session that, when its handler says "cut" for the recipient, hangs up a line into DATA."""

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        script = self.event_handler.faults.get(self.envelope.rcpt_tos[0]) if self.envelope else None
        if script and script[0] == "cut":
            script.pop(0)
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await self._reader.readuntil(b"\r\n")
            self.transport.abort()
            return
        await super().smtp_DATA(arg)


class CuttingController(Controller):
    def factory(self) -> SMTP:
        return CuttingSMTP(self.handler, **self.SMTP_kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server() -> Iterator[tuple[Controller, Mailbox]]:
    """A plain SMTP server on 127.0.0.1 recording what it accepts."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, box
    controller.stop()


def settings_for(controller: Controller, **extra: Any) -> SmtpSettings:
    values: dict[str, Any] = {"tls": "none", "timeout": 10, "retries": 3, "backoff": 0.01}
    values.update(extra)
    return SmtpSettings(controller.hostname, controller.port, **values)


# --------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def render_cache() -> dict[Any, mail.Attachment]:
    """Rendered briefs shared by the tests of this module (a brief takes most of a second)."""
    return {}


@pytest.fixture(scope="module")
def options() -> RenderOptions:
    return RenderOptions(as_of=AS_OF)


def plan(
    people: list[str], options: RenderOptions, cache: dict[Any, mail.Attachment], **extra: Any
) -> mail.Plan:
    recipients = [
        mail.Recipient(mail.check_address(p).addr_spec, mail.check_address(p).display_name) for p in people
    ]
    return mail.plan_messages(
        [LUMENPAY], recipients, sender=SENDER, options=options, when=WHEN, cache=cache, **extra
    )


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(page.extract_text() or "" for page in reader.pages)


# --------------------------------------------------------------------------------------------- messages


def test_message_reads_back_with_bodies_and_brief(
    options: RenderOptions, render_cache: dict[Any, mail.Attachment]
) -> None:
    guides = [load_guide(LUMENPAY), load_guide(TESSERA)]
    attachments = mail.render_attachments(guides, options, cache=render_cache)
    message = build_message(
        guides,
        to="Ann Lee <ann@example.com>",
        sender=SENDER,
        attachments=attachments,
        options=options,
        when=WHEN,
    )
    parsed = email.message_from_bytes(mail.encode_message(message), policy=email.policy.default)
    assert parsed["To"] == "Ann Lee <ann@example.com>"
    assert parsed["From"] == SENDER
    assert parsed["Subject"].startswith("Negotiation briefs: Lumenpay — Senior Product Manager and ")
    assert parsed["Date"] == "Mon, 23 Nov 2026 09:30:00 +0000"
    assert parsed["Message-ID"] == f"<{mail.key_of(message)[:40]}.guidepdf@example.org>"
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Hello Ann Lee," in text and "Hello Ann Lee," in html
    assert "Lumenpay — Senior Product Manager: total compensation $315K–$442K" in text
    names = [part.get_filename() for part in parsed.iter_attachments()]
    assert names == ["lumenpay-product-manager.pdf", "tessera-ai-ml-engineer.pdf"]
    first = next(parsed.iter_attachments())
    assert first.get_content_type() == "application/pdf"
    reader = PdfReader(io.BytesIO(first.get_content()))
    assert reader.metadata is not None and reader.metadata.title == "Lumenpay — Senior Product Manager"
    assert "Senior Product Manager" in pdf_text(first.get_content())


def test_rebuilt_message_is_identical_and_key_follows_content(
    options: RenderOptions, render_cache: dict[Any, mail.Attachment]
) -> None:
    guide = load_guide(LUMENPAY)
    attachments = mail.render_attachments([guide], options, cache=render_cache)
    build = lambda **kw: build_message(  # noqa: E731
        [guide], sender=SENDER, attachments=attachments, options=options, when=WHEN, **kw
    )
    one, two = build(to="ann@example.com"), build(to="ann@example.com")
    assert mail.encode_message(one) == mail.encode_message(two)
    assert mail.key_of(one) != mail.key_of(build(to="bob@example.com"))
    assert mail.key_of(one) != mail.key_of(build(to="ann@example.com", subject="Another subject"))
    other = mail.Attachment(attachments[0].filename, attachments[0].data + b"\n")
    changed = build_message([guide], to="ann@example.com", sender=SENDER, attachments=[other], when=WHEN)
    assert mail.key_of(one) != mail.key_of(changed)


def test_names_and_fields_are_escaped_not_evaluated(
    options: RenderOptions, render_cache: dict[Any, mail.Attachment]
) -> None:
    guide = load_guide(LUMENPAY)
    attachments = mail.render_attachments([guide], options, cache=render_cache)
    person = mail.Recipient(
        "bob@example.com", "<b>Bob</b>\nBcc: evil@example.net", {"note": "{{ 7 * 7 }} <script>x</script>"}
    )
    message = build_message([guide], to=person, sender=SENDER, attachments=attachments, options=options)
    raw = mail.encode_message(message)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None and b"\nBcc:" not in raw
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "&lt;b&gt;Bob&lt;/b&gt;" in html and "<b>Bob" not in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "{{ 7 * 7 }}" in text and "49" not in text


def test_user_templates_override_the_email_bodies(
    tmp_path: Path, options: RenderOptions, render_cache: dict[Any, mail.Attachment]
) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "message.txt.j2").write_text("Hi {{ name }}, {{ fields.team }} here.\n")
    (tmp_path / "email" / "message.html.j2").write_text(
        '{% extends "!builtin/email/message.html.j2" %}'
        "{% block signature %}<p>The offers team</p>{% endblock %}"
    )
    custom = RenderOptions(as_of=AS_OF, templates=(tmp_path,))
    guide = load_guide(LUMENPAY)
    attachments = mail.render_attachments([guide], options, cache=render_cache)
    person = mail.Recipient("ann@example.com", "Ann", {"team": "Offers"})
    message = build_message([guide], to=person, sender=SENDER, attachments=attachments, options=custom)
    assert message.get_body(("plain",)).get_content() == "Hi Ann, Offers here.\n"  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Attached is your negotiation brief" in html and "<p>The offers team</p>" in html


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("ann.example.com", "missing '@domain'"),
        ("ann@", "nothing after the '@'"),
        ("@example.com", "nothing before the '@'"),
        ("ann@localhost", "bad domain 'localhost'"),
        ("ann@-bad-.com", "bad domain"),
        ("ann@exa mple.com", "spaces are not allowed"),
        ("ann@example..com", "not a valid address"),
    ],
)
def test_bad_addresses_are_refused_with_the_reason(address: str, problem: str) -> None:
    with pytest.raises(mail.MailError, match=problem):
        mail.check_address(address)


def test_oversized_message_is_refused_before_sending(
    options: RenderOptions, render_cache: dict[Any, mail.Attachment]
) -> None:
    result = plan(["ann@example.com"], options, render_cache, max_size=50_000)
    assert result.messages == ()
    [error] = result.errors
    assert "over the 50 KB limit" in error and "raise --max-size" in error


# --------------------------------------------------------------------------------------------- sending


def test_send_delivers_once_and_rerun_skips(
    server: tuple[Controller, Mailbox], tmp_path: Path, options: RenderOptions, render_cache: dict[Any, Any]
) -> None:
    controller, box = server
    messages = plan(["ann@example.com", "Bob <bob@example.com>"], options, render_cache).messages
    log = tmp_path / "send.jsonl"
    report = send_messages(messages, settings_for(controller), log=log)
    assert [d.status for d in report.deliveries] == ["sent", "sent"]
    rcpt, received = box.received[1]
    assert rcpt == "bob@example.com" and received["To"] == "Bob <bob@example.com>"
    attachment = next(received.iter_attachments())
    assert "Senior Product Manager" in pdf_text(attachment.get_content())  # type: ignore[attr-defined]
    again = send_messages([*messages, *messages], settings_for(controller), log=log)
    assert [d.status for d in again.deliveries] == ["skipped"] * 4
    assert len(box.received) == 2
    twice = plan(["cy@example.com"], options, render_cache).messages * 2
    assert [d.status for d in send_messages(twice, settings_for(controller)).deliveries] == [
        "sent",
        "skipped",
    ]
    assert box.count("cy@example.com") == 1
    statuses = [json.loads(line)["status"] for line in log.read_text().splitlines()]
    assert statuses == ["attempting", "awaiting-reply", "sent"] * 2


def test_faults_then_reruns_deliver_exactly_one_copy_each(
    server: tuple[Controller, Mailbox], tmp_path: Path, options: RenderOptions, render_cache: dict[Any, Any]
) -> None:
    controller, box = server
    people = ["ann@example.com", "bob@example.com", "cy@example.com", "dee@example.com"]
    box.faults = {
        "ann@example.com": ["451 4.3.0 try again", "451 4.3.0 try again"],  # recovers within the run
        "bob@example.com": ["451 4.3.0 busy"] * 4,  # still failing after 3 retries
        "cy@example.com": ["store-then-drop"],  # accepted, but the reply never arrives
        "dee@example.com": ["550 5.1.1 no such user"],  # permanent
    }
    messages = plan(people, options, render_cache).messages
    log = tmp_path / "send.jsonl"
    sleeps: list[float] = []
    first = send_messages(messages, settings_for(controller), log=log, sleep=sleeps.append)
    assert [d.status for d in first.deliveries] == ["sent", "deferred", "uncertain", "failed"]
    assert sleeps == [0.01, 0.02, 0.01, 0.02, 0.04]  # exponential backoff: ann twice, bob three times
    assert "--resend-uncertain" in first.deliveries[2].detail
    assert "550 5.1.1 no such user" in first.deliveries[3].detail

    second = send_messages(messages, settings_for(controller), log=log)
    assert [d.status for d in second.deliveries] == ["skipped", "sent", "uncertain", "sent"]
    third = send_messages(messages, settings_for(controller), log=log)
    assert [d.status for d in third.deliveries] == ["skipped", "skipped", "uncertain", "skipped"]
    assert [box.count(p) for p in people] == [1, 1, 1, 1]


def test_message_lost_after_the_data_is_resent_only_when_asked(
    server: tuple[Controller, Mailbox], tmp_path: Path, options: RenderOptions, render_cache: dict[Any, Any]
) -> None:
    controller, box = server
    box.faults = {"ann@example.com": ["drop"]}
    messages = plan(["ann@example.com"], options, render_cache).messages
    log = tmp_path / "send.jsonl"
    assert send_messages(messages, settings_for(controller), log=log).deliveries[0].status == "uncertain"
    assert send_messages(messages, settings_for(controller), log=log).deliveries[0].status == "uncertain"
    assert box.count("ann@example.com") == 0
    resent = send_messages(messages, settings_for(controller), log=log, resend_uncertain=True)
    assert resent.deliveries[0].status == "sent"
    final = send_messages(messages, settings_for(controller), log=log, resend_uncertain=True)
    assert final.deliveries[0].status == "skipped"
    assert box.count("ann@example.com") == 1


def test_connection_cut_before_the_end_of_data_is_retried_at_once(tmp_path: Path) -> None:
    box = Mailbox()
    box.faults = {"ann@example.com": ["cut"]}
    controller = CuttingController(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        # Far more than the socket buffers hold, so the client is still writing when the line drops.
        big = mail.Attachment("big.pdf", bytes(range(256)) * 24_000)
        message = build_message(
            [], to="ann@example.com", sender=SENDER, subject="Large", attachments=[big], when=WHEN
        )
        log = tmp_path / "send.jsonl"
        report = send_messages([message], settings_for(controller), log=log)
        assert report.deliveries[0].status == "sent"
        statuses = [json.loads(line)["status"] for line in log.read_text().splitlines()]
        assert statuses == ["attempting", "deferred", "attempting", "awaiting-reply", "sent"]
        assert "before the message was complete" in json.loads(log.read_text().splitlines()[1])["detail"]
        assert box.count("ann@example.com") == 1
        [(_, received)] = box.received
        assert next(received.iter_attachments()).get_content() == big.data  # type: ignore[attr-defined]
    finally:
        controller.stop()


class Crash(BaseException):
    """Stands in for the process dying (power loss, kill -9) at a chosen log write."""


def crash_at(monkeypatch: pytest.MonkeyPatch, status: str) -> None:
    real = SendLog.append

    def append(self: SendLog, record: dict[str, Any]) -> None:
        if record["status"] == status:
            raise Crash(status)
        real(self, record)

    monkeypatch.setattr(SendLog, "append", append)


def test_crash_after_acceptance_before_the_log_write_never_resends(
    server: tuple[Controller, Mailbox],
    tmp_path: Path,
    options: RenderOptions,
    render_cache: dict[Any, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    controller, box = server
    messages = plan(["ann@example.com", "bob@example.com"], options, render_cache).messages
    log = tmp_path / "send.jsonl"
    with monkeypatch.context() as patch:
        crash_at(patch, "sent")
        with pytest.raises(Crash):
            send_messages(messages, settings_for(controller), log=log)
    assert box.count("ann@example.com") == 1  # the server has it; the log does not say so
    rerun = send_messages(messages, settings_for(controller), log=log)
    assert [d.status for d in rerun.deliveries] == ["uncertain", "sent"]
    assert [box.count("ann@example.com"), box.count("bob@example.com")] == [1, 1]


def test_crash_before_the_end_of_data_resends_safely(
    server: tuple[Controller, Mailbox],
    tmp_path: Path,
    options: RenderOptions,
    render_cache: dict[Any, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    controller, box = server
    messages = plan(["ann@example.com"], options, render_cache).messages
    log = tmp_path / "send.jsonl"
    with monkeypatch.context() as patch:
        crash_at(patch, "awaiting-reply")
        with pytest.raises(Crash):
            send_messages(messages, settings_for(controller), log=log)
    assert box.count("ann@example.com") == 0
    rerun = send_messages(messages, settings_for(controller), log=log)
    assert rerun.deliveries[0].status == "sent"
    assert box.count("ann@example.com") == 1


def test_log_write_failing_after_acceptance_stops_and_says_so(
    server: tuple[Controller, Mailbox],
    tmp_path: Path,
    options: RenderOptions,
    render_cache: dict[Any, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    controller, box = server
    messages = plan(["ann@example.com", "bob@example.com"], options, render_cache).messages
    real = SendLog.append

    def append(self: SendLog, record: dict[str, Any]) -> None:
        if record["status"] == "sent":
            raise mail.MailError(f"{self.path}: cannot write the send log: No space left on device")
        real(self, record)

    monkeypatch.setattr(SendLog, "append", append)
    report = send_messages(messages, settings_for(controller), log=tmp_path / "send.jsonl")
    assert [d.status for d in report.deliveries] == ["sent", "not-sent"]
    assert report.stopped and "No space left on device" in report.stopped
    assert "was delivered" in report.stopped
    assert [box.count("ann@example.com"), box.count("bob@example.com")] == [1, 0]


def test_unreachable_server_stops_the_run_and_sends_nothing(
    tmp_path: Path, options: RenderOptions, render_cache: dict[Any, Any]
) -> None:
    messages = plan(["ann@example.com", "bob@example.com"], options, render_cache).messages
    settings = SmtpSettings("127.0.0.1", free_port(), tls="none", timeout=2, retries=1, backoff=0.01)
    report = send_messages(messages, settings, log=tmp_path / "send.jsonl", sleep=lambda s: None)
    assert [d.status for d in report.deliveries] == ["not-sent", "not-sent"]
    assert report.stopped and "cannot connect" in report.stopped


# --------------------------------------------------------------------------------------------- the send log


def test_send_log_drops_a_torn_last_line_and_refuses_damage_elsewhere(tmp_path: Path) -> None:
    path = tmp_path / "send.jsonl"
    good = json.dumps({"key": "k1", "status": "sent", "time": "t"})
    path.write_text(good + "\n" + '{"key": "k2", "stat')
    log = SendLog(path)
    assert set(log.read()) == {"k1"}
    with log:
        log.append({"key": "k3", "status": "attempting", "time": "t"})
    assert [json.loads(line)["key"] for line in path.read_text().splitlines()] == ["k1", "k3"]
    path.write_text("garbage\n" + good + "\n")
    with pytest.raises(mail.MailError, match="line 1: not a send-log record"):
        SendLog(path).read()


def test_send_log_is_locked_to_one_run(tmp_path: Path) -> None:
    with SendLog(tmp_path / "send.jsonl"), pytest.raises(mail.MailError, match="in use by another"):
        SendLog(tmp_path / "send.jsonl").open()


# --------------------------------------------------------------------------------------------- auth and TLS


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_with_the_password_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"coach", b"s3cret")
        return AuthResult(success=ok, handled=False)

    box = Mailbox()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        args = [
            "email", str(LUMENPAY), "--to", "ann@example.com", "--from", SENDER, "--as-of", "2026-11-23",
            "--smtp", f"127.0.0.1:{controller.port}", "--tls", "none", "--user", "coach",
            "--timeout", "5", "--retry-delay", "0.01", "--log", str(tmp_path / "send.jsonl"),
        ]  # fmt: skip
        monkeypatch.setenv("GUIDEPDF_SMTP_PASSWORD", "wrong")
        refused = CliRunner().invoke(main, args)
        assert refused.exit_code == 1
        assert "login as coach refused: 535" in refused.output
        assert box.received == []
        monkeypatch.setenv("GUIDEPDF_SMTP_PASSWORD", "s3cret")
        accepted = CliRunner().invoke(main, args)
        assert accepted.exit_code == 0, accepted.output
        assert box.count("ann@example.com") == 1
        monkeypatch.delenv("GUIDEPDF_SMTP_PASSWORD")
        missing = CliRunner().invoke(main, args)
        assert missing.exit_code == 2 and "GUIDEPDF_SMTP_PASSWORD" in missing.output
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_starttls_with_a_trusted_certificate(
    certificate: tuple[Path, Path], options: RenderOptions, render_cache: dict[Any, Any]
) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Mailbox()
    controller = Controller(
        box, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True
    )
    controller.start()
    try:
        messages = plan(["ann@example.com"], options, render_cache).messages
        untrusted = send_messages(messages, settings_for(controller, tls="starttls"))
        assert untrusted.deliveries[0].status == "not-sent"
        assert untrusted.stopped and "TLS failed" in untrusted.stopped
        plain = send_messages(messages, settings_for(controller, tls="none"))
        assert plain.deliveries[0].status == "failed"  # the server insists on STARTTLS first
        trusted = send_messages(messages, settings_for(controller, tls="starttls", cafile=cert))
        assert trusted.deliveries[0].status == "sent"
        assert box.count("ann@example.com") == 1
    finally:
        controller.stop()


def test_implicit_tls_with_a_trusted_certificate(
    certificate: tuple[Path, Path], options: RenderOptions, render_cache: dict[Any, Any]
) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), ssl_context=context)
    controller.start()
    try:
        messages = plan(["ann@example.com"], options, render_cache).messages
        untrusted = send_messages(messages, settings_for(controller, tls="ssl"))
        assert untrusted.stopped and "TLS failed" in untrusted.stopped
        trusted = send_messages(messages, settings_for(controller, tls="ssl", cafile=cert))
        assert trusted.deliveries[0].status == "sent"
        assert box.count("ann@example.com") == 1
    finally:
        controller.stop()


# --------------------------------------------------------------------------------------------- the command


def test_email_command_writes_eml_files(tmp_path: Path) -> None:
    out = tmp_path / "mails"
    result = CliRunner().invoke(
        main,
        ["email", str(LUMENPAY), "--to", "Ann <ann@example.com>", "--to", "bob@example.com",
         "--from", SENDER, "--eml", str(out), "--as-of", "2026-11-23"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["ann-example-com.eml", "bob-example-com.eml"]
    parsed = email.message_from_bytes((out / "ann-example-com.eml").read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Negotiation brief: Lumenpay — Senior Product Manager"
    assert [p.get_filename() for p in parsed.iter_attachments()] == ["lumenpay-product-manager.pdf"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--to", "ann@", "--eml", "x"], "--to 'ann@': nothing after the '@'"),
        (["--to", "ann@example.com"], "give one of --eml PATH or --smtp HOST[:PORT]"),
        (["--to", "ann@example.com", "--eml", "x", "--smtp", "h"], "give one of --eml"),
        (["--eml", "x"], "give at least one --to ADDR, or --recipients CSV"),
    ],
)
def test_email_command_usage_errors(extra: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["email", str(LUMENPAY), "--from", SENDER, *extra])
    assert result.exit_code == 2
    assert f"error: {message}" in result.output


def test_rerun_on_another_day_renders_as_the_first_run_did(
    server: tuple[Controller, Mailbox], tmp_path: Path
) -> None:
    controller, box = server
    args = [
        "email", str(LUMENPAY), "--to", "ann@example.com", "--from", SENDER,
        "--smtp", f"127.0.0.1:{controller.port}", "--tls", "none", "--log", str(tmp_path / "send.jsonl"),
    ]  # fmt: skip
    first = CliRunner().invoke(main, [*args, "--as-of", "2026-08-05"])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(main, args)  # no --as-of: the briefs print the log's date again
    assert again.exit_code == 0, again.output
    assert "0 sent, 1 already sent, 0 not delivered" in again.output
    assert box.count("ann@example.com") == 1
    attachment = next(box.received[0][1].iter_attachments())
    assert "5 Aug 2026" in pdf_text(attachment.get_content())  # type: ignore[attr-defined]


def test_packet_attaches_one_pdf_of_all_the_guides(tmp_path: Path) -> None:
    out = tmp_path / "packet.eml"
    result = CliRunner().invoke(
        main,
        ["email", str(LUMENPAY), str(TESSERA), "--packet", "--to", "ann@example.com", "--from", SENDER,
         "--eml", str(out), "--as-of", "2026-11-23", "--subject", "Your two offers"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    parsed = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Your two offers"
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "negotiation-packet.pdf"
    data = attachment.get_content()  # type: ignore[attr-defined]
    text = pdf_text(data)
    assert "Your two offers" in text
    assert "Senior Product Manager" in text and "Tessera" in text
    assert len(PdfReader(io.BytesIO(data)).pages) > 2
    assert "Attached is a negotiation packet with 2 guides" in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]


# --------------------------------------------------------------------------------------------- mail merge


@pytest.fixture
def merge(tmp_path: Path) -> Path:
    """A recipients CSV beside two guides, with a bad address, a missing guide and a repeated row."""
    guides = tmp_path / "guides"
    guides.mkdir()
    shutil.copy(LUMENPAY, guides / "lumenpay.md")
    shutil.copy(TESSERA, guides / "tessera.md")
    csv_path = tmp_path / "recipients.csv"
    csv_path.write_text(
        "email,name,guides,note\n"
        "ann@example.com,Ann Lee,guides/lumenpay.md,See page 2 before Friday.\n"
        "bob@,Bob,guides/lumenpay.md,\n"
        "cy@example.com,Cy,guides/nothing-*.md,\n"
        'dee@example.com,"Dee, Jr.",guides/*.md,\n'
        # the same message again (a different note would make it another message: another Message-ID)
        "ann@example.com,Ann Lee,guides/lumenpay.md,See page 2 before Friday.\n",
        encoding="utf-8",
    )
    return csv_path


def test_mail_merge_dry_run_then_send_then_rerun(merge: Path, server: tuple[Controller, Mailbox]) -> None:
    controller, box = server
    base = ["email", "--recipients", str(merge), "--from", SENDER, "--as-of", "2026-11-23"]
    smtp = ["--smtp", f"127.0.0.1:{controller.port}", "--tls", "none", "--retry-delay", "0.01"]
    out = merge.parent / "preview"
    dry = CliRunner().invoke(main, [*base, *smtp, "--dry-run", "--eml", str(out)])
    assert dry.exit_code == 1  # the bad rows
    assert f"error: {merge}: row 3: email 'bob@': nothing after the '@'" in dry.output
    assert f"error: {merge}: row 4: guides: 'guides/nothing-*.md' matches no guide" in dry.output
    assert f"warning: {merge}: row 6: the same message as {merge}: row 2; it is sent once" in dry.output
    assert sorted(p.name for p in out.iterdir()) == ["ann-example-com.eml", "dee-example-com.eml"]
    assert box.received == [] and not merge.with_suffix(".sendlog.jsonl").exists()

    ann = email.message_from_bytes((out / "ann-example-com.eml").read_bytes(), policy=email.policy.default)
    assert "See page 2 before Friday." in ann.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    dee = email.message_from_bytes((out / "dee-example-com.eml").read_bytes(), policy=email.policy.default)
    assert dee["To"] == '"Dee, Jr." <dee@example.com>'
    assert [p.get_filename() for p in dee.iter_attachments()] == [
        "lumenpay-product-manager.pdf",
        "tessera-ai-ml-engineer.pdf",
    ]

    sent = CliRunner().invoke(main, [*base, *smtp])
    assert sent.exit_code == 1
    assert "2 sent, 0 already sent, 2 not delivered" in sent.output  # two bad rows
    log = merge.with_suffix(".sendlog.jsonl")
    assert [json.loads(line)["status"] for line in log.read_text().splitlines()][-1] == "sent"
    again = CliRunner().invoke(main, [*base, *smtp])
    assert "0 sent, 2 already sent, 2 not delivered" in again.output
    assert [box.count("ann@example.com"), box.count("dee@example.com")] == [1, 1]
    dry_again = CliRunner().invoke(main, [*base, *smtp, "--dry-run", "--eml", str(merge.parent / "none")])
    assert "2 already sent or possibly delivered" in dry_again.output
    assert "0 messages written" in dry_again.output


def test_recipients_csv_without_an_email_column_is_refused(tmp_path: Path) -> None:
    csv_path = tmp_path / "people.csv"
    csv_path.write_text("mail,guides\nann@example.com,x.md\n")
    result = CliRunner().invoke(
        main, ["email", "--recipients", str(csv_path), "--from", SENDER, "--eml", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert f"error: {csv_path}: row 1: no 'email' column (columns: mail, guides)" in result.output


def test_email_command_refuses_an_oversized_message(tmp_path: Path) -> None:
    args = ["email", str(LUMENPAY), "--to", "ann@example.com", "--from", SENDER, "--eml", str(tmp_path / "m")]
    result = CliRunner().invoke(main, [*args, "--max-size", "50KB", "--as-of", "2026-11-23"])
    assert result.exit_code == 1
    assert re.search(
        r"error: ann@example.com: message is \d+ KB encoded, over the 50 KB limit", result.output
    )
    assert not (tmp_path / "m").exists()
    bad = CliRunner().invoke(main, [*args, "--max-size", "lots"])
    assert bad.exit_code == 2 and "--max-size: expected a size such as 20MB" in bad.output
