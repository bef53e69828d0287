"""The send log: what was sent, so that a re-run sends each message exactly once."""

from __future__ import annotations

import errno
import json
import logging
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..output import read_own_file

if TYPE_CHECKING:
    pass
from .values import MAX_LOG_BYTES, UNCERTAIN, MailError, Outgoing

log = logging.getLogger(__name__)


class SendLog:
    """A JSON-lines record of every delivery attempt and outcome, keyed by message key.

    Each record is appended and fsync'd before the step it announces. Appending (rather than
    rewriting the whole log through a temporary file) keeps a long mail merge linear in time, and a
    crash can only tear the last line: the reader drops a torn last line (that step never became
    durable, so it never happened as far as the log is concerned) and truncates it before appending.
    A damaged line anywhere else is an error, since guessing could resend a delivered message.
    An exclusive lock stops two runs from sharing one log.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._handle: Any = None

    def read(self) -> dict[str, dict[str, Any]]:
        """The last record for each key (empty when there is no log yet)."""
        try:
            data = read_own_file(self.path, MAX_LOG_BYTES)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise MailError(f"{self.path}: cannot read the send log: {_log_problem(exc)}") from None
        records, _ = self._parse(data)
        latest: dict[str, dict[str, Any]] = {}
        for record in records:
            latest[record["key"]] = record
        return latest

    def pending(self, messages: Iterable[Outgoing], resend_uncertain: bool = False) -> tuple[Outgoing, ...]:
        """The messages a send would try: not sent, and not possibly delivered unless asked."""
        return tuple(self.select_pending(messages, resend_uncertain))

    def select_pending(
        self,
        messages: Iterable[Outgoing],
        resend_uncertain: bool = False,
        on_skip: Callable[[Outgoing], None] | None = None,
    ) -> Iterator[Outgoing]:
        """`pending` one message at a time, for a stream; `on_skip` hears of each one left out."""
        previous = self.read()
        for message in messages:
            state = previous.get(message.key, {}).get("status")
            if state != "sent" and (resend_uncertain or state not in UNCERTAIN):
                yield message
            elif on_skip is not None:
                on_skip(message)

    def last_as_of(self) -> date | None:
        """The as-of date of the newest record, so a re-run renders the same briefs (same keys)."""
        newest = None
        for record in self.read().values():
            if record.get("as_of") and (newest is None or record.get("time", "") > newest.get("time", "")):
                newest = record
        return date.fromisoformat(newest["as_of"]) if newest else None

    def _parse(self, data: bytes) -> tuple[list[dict[str, Any]], int]:
        """Records and the byte length of the well-formed part (a torn last line is left out)."""
        records: list[dict[str, Any]] = []
        good = 0
        lines = data.split(b"\n")
        for number, line in enumerate(lines, start=1):
            last = number == len(lines)
            if not line.strip():
                if not last:
                    good += len(line) + 1
                continue
            try:
                record = json.loads(line)
                if not _is_record(record):
                    raise ValueError("not a record")
            except (ValueError, RecursionError):
                torn = last or (number == len(lines) - 1 and not lines[-1])
                if torn and line.lstrip().startswith(b"{"):
                    break  # torn by a crash mid-write: that record was never made durable
                raise MailError(
                    f"{self.path}: line {number}: not a send-log record; fix or move the log "
                    "(guessing could resend delivered messages)"
                ) from None
            if last:
                break  # no newline yet: torn, even if it happens to parse
            records.append(record)
            good += len(line) + 1
        return records, good

    def open(self) -> None:
        """Lock the log for this run and cut off a torn last line."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Never through a link, never a FIFO or device: the log is truncated and appended to.
        flags = (
            os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        )
        try:
            fd = os.open(self.path, flags | os.O_NONBLOCK, 0o666)
        except OSError as exc:
            raise MailError(f"{self.path}: cannot open the send log: {_log_problem(exc)}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise MailError(f"{self.path}: the send log is not a regular file; move it away")
        handle = os.fdopen(fd, "a+b")
        try:
            _lock(handle, self.path)
            handle.seek(0)
            _, good = self._parse(handle.read())
            if good != handle.tell():
                handle.truncate(good)
                os.fsync(handle.fileno())
        except BaseException:
            handle.close()
            raise
        self._handle = handle

    def close(self) -> None:
        """Release the lock."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> SendLog:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record durably (flushed and fsync'd) before returning."""
        if self._handle is None:
            raise MailError(f"{self.path}: the send log is not open")
        line = json.dumps(dict(record), ensure_ascii=False, sort_keys=True) + "\n"
        try:
            self._handle.write(line.encode("utf-8"))
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            raise MailError(f"{self.path}: cannot write the send log: {exc.strerror or exc}") from None


def _is_record(record: Any) -> bool:
    """A send-log record: a key and status as text; time and as_of, when present, as text dates."""
    if not isinstance(record, dict):
        return False
    if not isinstance(record.get("key"), str) or not isinstance(record.get("status"), str):
        return False
    if not isinstance(record.get("time", ""), str):
        return False
    as_of = record.get("as_of")
    if as_of is None:
        return True
    try:
        date.fromisoformat(as_of)
    except (TypeError, ValueError):
        return False
    return True


def _log_problem(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "it is a symbolic link; guidepdf never writes its log through a link (move it away)"
    return str(exc.strerror or exc)


def _lock(handle: Any, path: Path) -> None:
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, one run at a time is then the user's job
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise MailError(f"{path}: the send log is in use by another guidepdf email run") from None
