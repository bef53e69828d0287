"""Time sending: one brief mailed to N recipients through a local SMTP server, with and without the log.

    python bench/email_send.py [--messages N]

Prints the time to build the messages, then milliseconds per message sent with no send log and with
the fsync'd send log (three durable records per message), and a re-run that skips every message.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from guidepdf import RenderOptions, SmtpSettings, send_messages
from guidepdf.mail import Recipient, plan_messages

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "seeds" / "lumenpay-product-manager.md"


class Sink:
    """Accepts every message and counts them."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50)
    args = parser.parse_args()

    people = [Recipient(f"person{i}@example.com", f"Person {i}") for i in range(args.messages)]
    start = time.perf_counter()
    plan = plan_messages(
        [GUIDE], people, sender="coach@example.org", options=RenderOptions(as_of=date(2026, 11, 23))
    )
    built = time.perf_counter() - start
    size = len(plan.messages[0].message.as_bytes())
    print(
        f"built {len(plan.messages)} messages ({size / 1000:.0f} KB each, one brief render) in {built:.2f} s"
    )

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings = SmtpSettings("127.0.0.1", controller.port, tls="none")
        with tempfile.TemporaryDirectory() as folder:
            runs = [
                ("no log", None),
                ("send log", Path(folder) / "send.jsonl"),
                ("re-run (all skipped)", Path(folder) / "send.jsonl"),
            ]
            for label, log in runs:
                start = time.perf_counter()
                report = send_messages(plan.messages, settings, log=log)
                elapsed = time.perf_counter() - start
                per = 1000 * elapsed / len(plan.messages)
                print(f"{label:>22}: {per:6.2f} ms per message ({report.count('sent')} sent)")
    finally:
        controller.stop()
    print(f"server received {sink.count} messages")


if __name__ == "__main__":
    main()
