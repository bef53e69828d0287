"""A send log that is a link, a FIFO or tampered: one error line; never truncated or written through."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from guidepdf import SendLog, mail
from guidepdf.cli import main

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "seeds" / "lumenpay-product-manager.md"
PRECIOUS = b"export PATH=$HOME/bin:$PATH"  # one line, no newline: what a torn log line looks like

pytestmark = pytest.mark.slow


class Box:
    def __init__(self) -> None:
        self.received: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def server() -> Iterator[tuple[int, Box]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Box()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


def send(port: int, log: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main,
        [
            "email", str(GUIDE), "--to", "ann@example.com", "--from", "coach@example.org",
            "--smtp", f"127.0.0.1:{port}", "--tls", "none", "--timeout", "5", "--retries", "0",
            "--log", str(log), *extra,
        ],
    )  # fmt: skip
    return result.exit_code, result.output


def only_error(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output
    assert "Traceback" not in output
    return errors[0]


@pytest.mark.parametrize("as_of", [[], ["--as-of", "2026-11-23"]], ids=["log read first", "log opened first"])
def test_a_send_log_linked_to_a_users_file_is_refused(
    tmp_path: Path, server: tuple[int, Box], as_of: list[str]
) -> None:
    port, box = server
    victim = tmp_path / ".profile"
    victim.write_bytes(PRECIOUS)
    log = tmp_path / "send.jsonl"
    log.symlink_to(victim)
    code, output = send(port, log, *as_of)
    assert code == 1
    assert "symbolic link" in only_error(output)
    assert victim.read_bytes() == PRECIOUS  # not truncated as a torn line, nothing appended
    assert box.received == []


def test_a_send_log_that_is_a_fifo_is_refused_without_hanging(
    tmp_path: Path, server: tuple[int, Box]
) -> None:
    port, box = server
    log = tmp_path / "send.jsonl"
    os.mkfifo(log)
    code, output = send(port, log, "--as-of", "2026-11-23")
    assert code == 1
    assert "not a regular file" in only_error(output)
    assert box.received == []


def test_a_file_that_is_not_a_send_log_is_never_truncated(tmp_path: Path, server: tuple[int, Box]) -> None:
    port, box = server
    log = tmp_path / "notes.txt"
    log.write_bytes(PRECIOUS)  # the user pointed --log at the wrong file
    code, output = send(port, log, "--as-of", "2026-11-23")
    assert code == 1
    assert "line 1: not a send-log record" in only_error(output)
    assert log.read_bytes() == PRECIOUS and box.received == []


RECORD = b'{"key": "k", "status": "sent", "time": "2026-11-23T09:00:00+00:00"}\n'
TAMPERED = {
    "key a list": b'{"key": ["k"], "status": "sent"}\n',
    "status a number": b'{"key": "k", "status": 1}\n',
    "key missing": b'{"status": "sent"}\n',
    "time a number": b'{"key": "k", "status": "sent", "time": 5, "as_of": "2026-11-23"}\n',
    "as_of not a date": b'{"key": "k", "status": "sent", "time": "x", "as_of": "yesterday"}\n',
    "as_of a number": b'{"key": "k", "status": "sent", "as_of": 20261123}\n',
    "deep nesting": b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "not an object": b"[1, 2]\n",
}


@pytest.mark.parametrize("tampered", list(TAMPERED), ids=list(TAMPERED))
def test_a_tampered_send_log_is_one_error_line(
    tmp_path: Path, server: tuple[int, Box], tampered: str
) -> None:
    port, box = server
    log = tmp_path / "send.jsonl"
    content = TAMPERED[tampered] + RECORD
    log.write_bytes(content)
    code, output = send(port, log)  # no --as-of: the log is read for its date first
    assert code == 1
    assert "line 1: not a send-log record" in only_error(output)
    assert log.read_bytes() == content and box.received == []
    with pytest.raises(mail.MailError, match="line 1"):
        SendLog(log).read()


def test_a_torn_last_record_is_still_cut_off(tmp_path: Path, server: tuple[int, Box]) -> None:
    """The crash case keeps working: a last line that starts a record but has no newline."""
    port, box = server
    log = tmp_path / "send.jsonl"
    log.write_bytes(RECORD + b'{"key": "k2", "sta')
    code, output = send(port, log, "--as-of", "2026-11-23")
    assert code == 0, output
    assert box.received == ["ann@example.com"]
    assert b'"sta\n' not in log.read_bytes() and log.read_bytes().startswith(RECORD)
