"""The SMTP password goes unencrypted only to a loopback peer, judged by the connected socket's address.

The non-loopback server is real: aiosmtpd listening on this machine's own non-loopback address
(found from the routing table), so the client's socket really has a non-loopback peer. Name
resolution for `127.evil.example` is the only thing simulated (no DNS here).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner

from guidepdf import mail
from guidepdf.cli import main

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "seeds" / "lumenpay-product-manager.md"

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")]


def own_address() -> str | None:
    """This machine's address on its default route (not loopback), if it has one."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("198.51.100.1", 9))  # a documentation address; a UDP connect sends nothing
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Box:
    """Accepts mail and remembers every login attempt, so a test can prove no password arrived."""

    def __init__(self) -> None:
        self.logins: list[tuple[bytes, bytes]] = []
        self.received: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.extend(envelope.rcpt_tos)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.logins.append((data.login, data.password))
        return AuthResult(success=True, handled=False)


def start(host: str) -> tuple[Controller, Box]:
    box = Box()
    controller = Controller(
        box,
        hostname=host,
        port=free_port(host),
        authenticator=box.authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    return controller, box


@pytest.fixture
def remote() -> Iterator[tuple[str, int, Box]]:
    address = own_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    controller, box = start(address)
    try:
        yield address, controller.port, box
    finally:
        controller.stop()


@pytest.fixture
def local() -> Iterator[tuple[int, Box]]:
    controller, box = start("127.0.0.1")
    try:
        yield controller.port, box
    finally:
        controller.stop()


def send(tmp_path: Path, server: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setenv("GUIDEPDF_SMTP_PASSWORD", "s3cret")
    result = CliRunner().invoke(
        main,
        [
            "email", str(GUIDE), "--to", "ann@example.com", "--from", "coach@example.org",
            "--as-of", "2026-11-23", "--smtp", server, "--tls", "none", "--user", "coach",
            "--timeout", "5", "--retries", "0", "--log", str(tmp_path / "send.jsonl"),
        ],
    )  # fmt: skip
    return result.exit_code, result.output


def test_a_name_spelled_like_loopback_that_resolves_elsewhere_gets_no_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, remote: tuple[str, int, Box]
) -> None:
    address, port, box = remote
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real(address if host == "127.evil.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    code, output = send(tmp_path, f"127.evil.example:{port}", monkeypatch)
    assert code == 1, output
    assert "Traceback" not in output
    assert f"refusing to send the password for coach unencrypted to 127.evil.example:{port}" in output
    assert f"it connected to {address}, not a loopback address" in output
    assert box.logins == [] and box.received == []


def test_a_non_loopback_address_is_refused_before_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, remote: tuple[str, int, Box]
) -> None:
    address, port, box = remote
    code, output = send(tmp_path, f"{address}:{port}", monkeypatch)
    assert code == 2, output
    assert f"refusing to send the password for coach unencrypted to {address}" in output
    assert box.logins == []


def test_localhost_and_127_0_0_1_get_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local: tuple[int, Box]
) -> None:
    port, box = local
    code, output = send(tmp_path, f"127.0.0.1:{port}", monkeypatch)
    assert code == 0, output
    assert box.logins == [(b"coach", b"s3cret")] and box.received == ["ann@example.com"]
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:  # `localhost` may be ::1 first here
        return real("127.0.0.1" if host == "localhost" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    code, output = send(tmp_path / "again", f"localhost:{port}", monkeypatch)
    assert code == 0, output
    assert len(box.logins) == 2


def test_ipv6_loopback_gets_the_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
            port = int(probe.getsockname()[1])
    except OSError:
        pytest.skip("no IPv6 loopback here")
    box = Box()
    controller = Controller(
        box,
        hostname="::1",
        port=port,
        authenticator=box.authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        code, output = send(tmp_path, f"[::1]:{port}", monkeypatch)
    finally:
        controller.stop()
    assert code == 0, output
    assert box.logins == [(b"coach", b"s3cret")]


def listening_pair(
    family: int, listen: str, connect: str
) -> tuple[socket.socket, socket.socket, socket.socket]:
    server = socket.socket(family, socket.SOCK_STREAM)
    if family == socket.AF_INET6:
        server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    server.bind((listen, 0))
    server.listen(1)
    client = socket.socket(family, socket.SOCK_STREAM)
    client.connect((connect, server.getsockname()[1]))
    accepted, _ = server.accept()
    return server, client, accepted


@pytest.mark.parametrize(
    ("family", "listen", "connect", "loopback"),
    [
        (socket.AF_INET, "127.0.0.1", "127.0.0.1", True),
        (socket.AF_INET, "0.0.0.0", "127.0.0.2", True),
        (socket.AF_INET6, "::", "::1", True),
        (socket.AF_INET6, "::", "::ffff:127.0.0.1", True),
        (socket.AF_INET6, "::", "::ffff:OWN", False),
        (socket.AF_INET, "0.0.0.0", "OWN", False),
    ],
)
def test_the_peer_address_of_a_real_socket_decides(
    family: int, listen: str, connect: str, loopback: bool
) -> None:
    if "OWN" in connect:
        address = own_address()
        if address is None:
            pytest.skip("this machine has no non-loopback IPv4 address")
        connect = connect.replace("OWN", address)
    try:
        sockets = listening_pair(family, listen, connect)
    except OSError as exc:
        pytest.skip(f"cannot connect to {connect} here: {exc}")
    try:
        assert mail.peer_is_loopback(sockets[1]) is loopback
    finally:
        for s in sockets:
            s.close()


def test_a_socket_that_is_not_connected_is_not_loopback() -> None:
    with socket.socket() as unconnected:
        assert mail.peer_is_loopback(unconnected) is False
    assert mail.peer_is_loopback(None) is False
