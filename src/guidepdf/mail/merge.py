"""A mail merge from start to end: who gets which briefs, every brief rendered once, then each message
written as an .eml file or sent over SMTP exactly once. The `email` command is `mail_merge`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import UsageError
from ..options import RenderOptions
from ..progress import Notice, ProgressFactory, no_progress
from .addresses import check_address, parse_server, parse_size
from .sendlog import SendLog
from .smtp import send_messages
from .stream import MessageStream, read_recipients, write_eml
from .values import DEFAULT_LOG_NAME, MailError, Outgoing, Recipient, SendReport, SmtpSettings


@dataclass(frozen=True)
class MailMerge:
    """What a mail merge was asked to do: who gets messages, from whom, and how they go out.

    Making one checks that the choices fit together; a `UsageError` says what is missing or clashes.
    """

    sender: str
    to: tuple[str, ...] = ()
    #: Mail merge: a CSV with email, name and guides columns, one message per row (instead of `to`).
    recipients: Path | None = None
    subject: str | None = None
    packet: bool = False
    #: Where .eml files go: a file for one message, else a folder (default out/email).
    eml: Path | None = None
    #: HOST[:PORT] of the SMTP server to send through.
    smtp: str | None = None
    tls: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: Path | None = None
    timeout: float = 30.0
    retries: int = 3
    retry_delay: float = 2.0
    #: The send log (default: beside the CSV, else ./guidepdf-sendlog.jsonl).
    log: Path | None = None
    dry_run: bool = False
    resend_uncertain: bool = False
    max_size: str = "20MB"
    #: Seconds a brief (or a message's email templates) may take to render; None: no limit.
    render_timeout: float | None = 120.0
    jobs: int | None = None
    scheduler: str | None = None
    #: Whether the render options' as-of date was chosen for this run (else a re-run of a send keeps
    #: the date its log recorded, so it renders the same briefs).
    as_of_given: bool = False

    def __post_init__(self) -> None:
        if (self.eml is None) == (self.smtp is None) and not self.dry_run:
            raise UsageError("give one of --eml PATH or --smtp HOST[:PORT]")
        if self.recipients is not None and self.to:
            raise UsageError("give either --to or --recipients, not both")
        if self.recipients is None and not self.to:
            raise UsageError("give at least one --to ADDR, or --recipients CSV")
        try:
            check_address(self.sender, "--from")
        except MailError as exc:
            raise UsageError(str(exc)) from None

    @property
    def log_file(self) -> Path:
        """The send log this merge reads and writes."""
        if self.log is not None:
            return self.log
        return self.recipients.with_suffix(".sendlog.jsonl") if self.recipients else Path(DEFAULT_LOG_NAME)

    @property
    def sends(self) -> bool:
        """Whether messages go out over SMTP (not a dry run, not .eml files)."""
        return self.smtp is not None and not self.dry_run


@dataclass(frozen=True)
class MergeResult:
    """How a mail merge ended: the .eml files written, or the send report; and how many failed."""

    log_file: Path
    #: Messages that could not be built (and CSV rows that could not be used).
    failed: int = 0
    #: The .eml file or folder written (when messages were not sent).
    target: Path | None = None
    written: tuple[Path, ...] = ()
    #: With a dry run against a send log: messages left out as already sent or possibly delivered.
    skipped: int | None = None
    #: The send report (when messages were sent).
    report: SendReport | None = None
    #: The guide files whose briefs the messages carry.
    guides: tuple[str, ...] = ()


def mail_merge(
    merge: MailMerge,
    guides: Sequence[Path],
    options: RenderOptions,
    *,
    briefs: Path = Path("out"),
    progress: ProgressFactory = no_progress,
    notice: Notice | None = None,
) -> MergeResult:
    """Write or send one message per recipient with `guides` (and each CSV row's own) attached.

    Every brief is rendered once, on the workers a batch uses, into the cache in the `briefs` folder
    (reusing what `render` wrote there); then each message reads its briefs back from disk. Problems
    are told to `notice` as they arise; a failed message never stops the others.
    """
    tell: Notice = notice or (lambda severity, line: None)
    settings = None
    if merge.sends and merge.smtp is not None:
        host, port = parse_server(merge.smtp)
        settings = SmtpSettings(
            host,
            port,
            merge.tls,
            merge.user,
            merge.password,
            merge.timeout,
            merge.retries,
            merge.retry_delay,
            merge.cafile,
        )
    log_file = merge.log_file
    if merge.smtp is not None and not merge.as_of_given:
        # A re-run must render the same briefs as the first run, or every key would change.
        options = replace(options, as_of=SendLog(log_file).last_as_of() or options.as_of)
    people, row_errors = _people(merge, need_guides=not guides)
    for line in row_errors:
        tell("error", line)
    # Messages are built one at a time as they are written or sent: a long mail merge stays small.
    stream = MessageStream(
        guides,
        people,
        sender=merge.sender,
        subject=merge.subject,
        options=options,
        packet=merge.packet,
        max_size=parse_size(merge.max_size),
        timeout=merge.render_timeout or None,
    )
    from ..packet import CACHE_DIR, store_parts

    wanted = stream.guide_paths()
    with progress(len(wanted), "Rendering briefs") as step:
        stream.parts = store_parts(
            wanted,
            options,
            cache_dir=briefs / CACHE_DIR,
            batch_dir=briefs,
            jobs=merge.jobs,
            scheduler=merge.scheduler,
            timeout=merge.render_timeout or None,
            progress=step,
            limit_option="--render-timeout",
        )
    messages = _counted(stream, len(people), "Sending" if settings else "Writing messages", progress)

    def report_stream() -> int:
        for line in stream.errors:
            tell("error", line)
        for line in stream.warnings:
            tell("warning", line)
        return len(row_errors) + len(stream.errors)

    if settings is None:
        skipped: list[str] = []  # keys only: the skipped messages themselves are let go
        if merge.dry_run and merge.smtp is not None:
            messages = SendLog(log_file).select_pending(
                messages, merge.resend_uncertain, lambda m: skipped.append(m.key)
            )
        target = merge.eml or Path("out") / "email"
        written = write_eml(messages, target)
        failed = report_stream()
        return MergeResult(
            log_file,
            failed,
            target=target,
            written=written,
            skipped=len(skipped) if merge.dry_run and merge.smtp is not None else None,
            guides=tuple(str(path) for path in wanted),
        )
    report = send_messages(messages, settings, log=log_file, resend_uncertain=merge.resend_uncertain)
    used = tuple(str(path) for path in wanted)
    return MergeResult(log_file, report_stream(), report=report, guides=used)


def _people(merge: MailMerge, *, need_guides: bool) -> tuple[tuple[Recipient, ...], tuple[str, ...]]:
    """The recipients (from the CSV, else the --to addresses) and the CSV rows that cannot be used."""
    if merge.recipients is not None:
        people, row_errors = read_recipients(merge.recipients, need_guides=need_guides)
        return tuple(people), tuple(row_errors)
    try:
        addresses = [check_address(a, "--to") for a in dict.fromkeys(merge.to)]
    except MailError as exc:
        raise UsageError(str(exc)) from None
    return tuple(Recipient(a.addr_spec, a.display_name) for a in addresses), ()


def _counted(stream: MessageStream, total: int, label: str, progress: ProgressFactory) -> Iterable[Outgoing]:
    """`stream`'s messages, each recipient it moves past advancing a progress display."""
    with progress(total, label) as step:
        stream.progress = step
        yield from stream
