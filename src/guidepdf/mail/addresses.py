"""Addresses, sizes and server names, checked and formatted."""

from __future__ import annotations

import ipaddress
import re
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    pass
from .values import MailError

_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$", re.I)


def check_address(text: str, what: str = "address") -> Address:
    """Parse `addr@domain` or `Name <addr@domain>`; raise MailError saying what is wrong with it."""
    raw = str(text).strip()
    name, spec = parseaddr(raw) if "<" in raw else ("", raw)
    problem = _address_problem(spec)
    if problem:
        raise MailError(f"{what} {raw!r}: {problem}")
    try:
        return Address(display_name=one_line(name), addr_spec=spec)
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


def one_line(text: str | None) -> str:
    # Names come from CSV cells: a newline in a header would be an injection, so fold all whitespace.
    return " ".join(str(text or "").split())


def is_remote_address(host: str) -> bool:
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
