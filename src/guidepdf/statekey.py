"""Sign the state guidepdf keeps beside its outputs, so only state this user's runs wrote is trusted.

A manifest row or a cache record says "this file is the brief of that guide, made from that key". An
output folder can come from someone else, or be edited by them: a forged row could make a planted file
pass for an up-to-date brief, or name a file of the user's as a stale output to delete. Each row and
record therefore carries an HMAC made with a secret only this user can read
(`~/.config/guidepdf/state.key`, created on first use, mode 0600). A row without a valid one is
treated as absent: it costs a render, it never skips, reuses or deletes anything. The bytes of the
briefs do not depend on it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The fields a signature covers, in this order; a field missing from the row counts as null.
_KEY_BYTES = 32


def key_path() -> Path:
    """Where this user's state key lives."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "guidepdf" / "state.key"


@functools.cache
def _secret() -> bytes:
    """This user's state key, made on first use; a key for this process only if none can be kept."""
    path = key_path()
    with contextlib.suppress(OSError):
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            data = handle.read(_KEY_BYTES + 1)
        # Only a key that is this user's own and unreadable to others is a secret.
        if len(data) == _KEY_BYTES and info.st_uid == os.getuid() and not info.st_mode & 0o077:
            return data
    fresh = secrets.token_bytes(_KEY_BYTES)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(fresh)
        os.replace(tmp, path)
    return fresh


def sign(fields: Mapping[str, Any]) -> str:
    """The hex HMAC-SHA256 of `fields` (JSON, keys sorted) under this user's state key."""
    message = json.dumps(fields, sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=str)
    return hmac.new(_secret(), message.encode("ascii"), hashlib.sha256).hexdigest()


def signed(fields: Mapping[str, Any], mac: Any) -> bool:
    """True when `mac` is this user's signature of `fields`."""
    return isinstance(mac, str) and hmac.compare_digest(sign(fields), mac)
