"""Click commands: parse the arguments, call one library function, report one line per problem."""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import click

from ._version import __version__
from .errors import GuidepdfError, UsageError

log = logging.getLogger("guidepdf")


class GuidepdfGroup(click.Group):
    """Turns the project's errors into `error: …` lines: exit 1, or 2 for usage errors.

    Every command also takes `--debug`, so it works after the command name as well as before.
    """

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        cmd.params.append(
            click.Option(
                ["--debug"],
                is_flag=True,
                expose_value=False,
                is_eager=True,
                callback=_debug_option,
                help="Show tracebacks and debug logging.",
            )
        )
        super().add_command(cmd, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The command's own process (not a test's runner calling `main`): see `coldstart`.
        from .coldstart import own_process

        own_process()
        return super().__call__(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            say(f"error: {exc}")
            ctx.exit(2)
        except GuidepdfError as exc:
            if ctx.find_root().params.get("debug") or "--debug" in sys.argv:
                raise
            say(f"error: {exc}")
            ctx.exit(1)


def _debug_option(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().params["debug"] = True
        configure_logging(True)


def configure_logging(debug: bool) -> None:
    """Debug logging with `--debug`; else warnings, without WeasyPrint's own (guidepdf reports those)."""
    logging.basicConfig(format="%(levelname)s: %(message)s", force=True)
    logging.getLogger().setLevel(logging.DEBUG if debug else logging.WARNING)
    # WeasyPrint reports every refused fetch; guidepdf reports them itself, once per guide.
    logging.getLogger("weasyprint").setLevel(logging.NOTSET if debug else logging.CRITICAL)
    logging.getLogger("fontTools").setLevel(logging.NOTSET if debug else logging.ERROR)


def say(line: str) -> None:
    """Print one line to stderr, control characters escaped: a file name cannot forge a second line."""
    from .reading import escape_controls

    click.echo(escape_controls(line), err=True)


class _WarningLine(logging.Handler):
    """Logs a record as a `warning: …` line on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        say(f"warning: {record.getMessage()}")


def parse_day(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    """Click callback for YYYY-MM-DD options."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected a date as YYYY-MM-DD, got {value!r}") from None


@click.group(cls=GuidepdfGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="guidepdf")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Turn salary-negotiation guides into print-ready PDF briefs, packets and emails."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    configure_logging(debug)
    # A configuration file that is not trusted is reported the way the CLI reports warnings.
    config_log = logging.getLogger("guidepdf.config")
    if not config_log.handlers:
        config_log.addHandler(_WarningLine())
        config_log.propagate = False


def theme_options(func: Any) -> Any:
    """Options shared by every command that renders: theme, page and date."""
    func = click.option(
        "--allow-network", is_flag=True, help="Let guides and styles fetch http(s) resources."
    )(func)
    func = click.option(
        "--pdf-variant",
        type=click.Choice(["pdf/a-3b", "pdf/ua-1"], case_sensitive=False),
        help="Write an archival (PDF/A-3b) or accessible (PDF/UA-1) variant.",
    )(func)
    func = click.option(
        "--page-size",
        type=click.Choice(["A4", "Letter"], case_sensitive=False),
        default=None,
        metavar="[A4|Letter]",
        help="Paper size (default A4; any case).",
    )(func)
    func = click.option(
        "--style",
        "styles",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Extra CSS applied after the built-in theme (repeatable).",
    )(func)
    func = click.option(
        "--templates",
        "templates",
        multiple=True,
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Folder of templates searched before the built-ins (repeatable).",
    )(func)
    func = click.option(
        "--as-of",
        callback=parse_day,
        metavar="YYYY-MM-DD",
        help="Date to judge review deadlines against (default today).",
    )(func)
    func = click.option(
        "--max-pages",
        type=click.IntRange(min=0),
        default=None,
        help="Fail a guide that lays out to more pages than this (default 200; 0: no limit).",
    )(func)
    return func


def build_options(config: Any = None, **values: Any) -> Any:
    """RenderOptions from command-line values over the configuration's (`config`, else the file read
    now); unset flags keep those."""
    from .config import load_config
    from .options import DEFAULT_MAX_PAGES, RenderOptions

    config = load_config() if config is None else config
    hint_fast_subsetting()
    return RenderOptions(
        templates=tuple(values.get("templates") or config.templates),
        styles=tuple(values.get("styles") or config.styles),
        page_size=values.get("page_size") or config.page_size or "A4",
        as_of=values.get("as_of") or config.as_of,
        pdf_variant=values.get("pdf_variant") or config.pdf_variant,
        allow_network=bool(values.get("allow_network")),
        max_pages=DEFAULT_MAX_PAGES if values.get("max_pages") is None else values["max_pages"],
        check=not values.get("no_check"),
    )


@functools.cache
def hint_fast_subsetting() -> None:
    """Say once, on a terminal, that fonts are subset the slow way and how to get the fast one."""
    if not sys.stderr.isatty():
        return
    import ctypes
    import ctypes.util

    # The names WeasyPrint loads it by; loading (not just finding) is what decides its path.
    for name in ("libharfbuzz-subset.so.0", "libharfbuzz-subset.0.dylib", "libharfbuzz-subset-0.dll"):
        try:
            ctypes.CDLL(ctypes.util.find_library(name.split(".")[0][3:]) or name)
            return
        except OSError:
            continue
    click.echo(
        "note: libharfbuzz-subset is not installed, so fonts other than TrueType and plain CFF (such as "
        "Noto Sans CJK) are subset slowly with fontTools; install it for fast briefs with any font: "
        "`sudo apt-get install libharfbuzz-subset0` on Debian/Ubuntu, "
        "`brew install harfbuzz` on macOS",
        err=True,
    )


def exclude_option(func: Any) -> Any:
    """--exclude GLOB (repeatable): leave matching files out of the INPUT guides."""
    return click.option(
        "--exclude",
        "exclude",
        multiple=True,
        metavar="GLOB",
        help="Leave out files matching GLOB, e.g. README.md or 'drafts/' (repeatable; see .guidepdfignore).",
    )(func)


def check_option(func: Any) -> Any:
    """--no-check: render guides that `guidepdf check` finds errors in (refused by default)."""
    return click.option(
        "--no-check", is_flag=True, help="Render guides even when `guidepdf check` finds errors in them."
    )(func)


def watch_options(func: Any) -> Any:
    """--watch and its test hooks (hidden): rebuild when a guide or theme file changes."""
    func = click.option("--watch-interval", type=click.FloatRange(min=0.01), default=0.5, hidden=True)(func)
    func = click.option("--watch-limit", type=click.IntRange(min=0), default=None, hidden=True)(func)
    return click.option(
        "--watch", is_flag=True, help="Keep running; re-render on guide or theme changes (Ctrl-C stops)."
    )(func)


def run_watch(inputs: tuple[str, ...], out: Path, options: Any, fmt: str, single: bool, **flags: Any) -> None:
    """Render, then re-render on every change until Ctrl-C (or --watch-limit rebuilds)."""
    from .watch import watch_render

    def on_round(done: Any) -> None:
        if done.number:
            names = ", ".join(str(p.name) for p in done.changed[:3]) + (" …" if len(done.changed) > 3 else "")
            click.echo(f"changed: {names}", err=True)
        if isinstance(done.result, str):
            click.echo(f"error: {done.result}; watching for changes (Ctrl-C stops)", err=True)
            return
        report(done.result)
        result = done.result
        click.echo(
            f"{result.count('rendered')} rendered, {result.count('skipped')} skipped, "
            f"{len(result.failed)} failed; watching for changes (Ctrl-C stops)",
            err=True,
        )

    try:
        watch_render(
            inputs,
            out,
            fmt,
            single=single,
            options=lambda: build_options(**flags),  # the configuration is watched too: read it again
            watched=options,
            exclude=flags.get("exclude", ()),
            jobs=flags.get("jobs"),
            interval=flags["watch_interval"],
            rounds=flags["watch_limit"],
            on_round=on_round,
        )
    except KeyboardInterrupt:
        click.echo("stopped watching", err=True)


def report_missing(missing: Iterable[str]) -> None:
    """One `error:` line per INPUT argument that matched no guide."""
    for item in missing:
        say(f"error: {item}: no such file, folder or matching guide")


def select_guides(
    inputs: tuple[str, ...], *, required: bool = True, purpose: str = "", exclude: tuple[str, ...] = ()
) -> Any:
    """Expand INPUT arguments (files, folders, globs), reporting those that matched nothing."""
    from .inputs import expand_inputs

    selection = expand_inputs(inputs, exclude)
    report_missing(selection.missing)
    for path, reason in selection.refused:
        say(f"error: {path}: {reason}")
    if required and not selection.paths and not selection.refused:
        raise UsageError(f"no guides selected{purpose}: " + (", ".join(inputs) or "give INPUT guides"))
    return selection


def report(result: Any, *, verbose: bool = False) -> None:
    """Print the per-guide problems of a batch: one `error:` line per failed guide, name clashes summed up."""
    from .progress import summarise_clashes

    for line in summarise_clashes(result.clashes, result.items, verbose=verbose):
        say(f"warning: {line}")
    for item in result.items:
        if item.status == "failed":
            say(f"error: {item.error}")
        for url in dict.fromkeys(item.refused):
            say(f"warning: {item.source}: not fetched: {url}")


def report_blank_text(sources: Any, options: Any) -> None:
    """One warning per guide used with characters no font can draw (they print as blank)."""
    from .glyphs import blank_text

    for source, note in blank_text(sources, [style.parent for style in options.styles]):
        say(f"warning: {source}: {note}")


def timeout_option(func: Any) -> Any:
    """--timeout: the per-guide time limit of a batch."""
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0),
        default=120.0,
        show_default=True,
        metavar="SECONDS",
        help="Stop a guide that takes longer than this and report it as failed (0: no limit).",
    )(func)


def progress_options(func: Any) -> Any:
    """--quiet and --verbose: how much a long command says while it runs."""
    func = click.option(
        "--verbose", "-v", is_flag=True, help="List every name clash and detail instead of a summary."
    )(func)
    return click.option("--quiet", "-q", is_flag=True, help="No progress bar or progress lines.")(func)


@contextlib.contextmanager
def batch_progress(total: int, label: str, *, quiet: bool = False) -> Iterator[Callable[[Any], None]]:
    """A per-guide callback: a bar with rate and time left on a terminal, a line every few seconds
    elsewhere, nothing with --quiet."""
    from .progress import Progress, choose_mode

    with Progress(total, label, choose_mode(total, quiet=quiet)) as progress:
        yield progress


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Output file (one input, .pdf/.html) or folder (default out/).",
)
@click.option("--format", "fmt", type=click.Choice(["pdf", "html"]), default="pdf", show_default=True)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: CPU count).",
)
@click.option("--force", is_flag=True, help="Rebuild every output, changed or not.")
@click.option("--scheduler", metavar="ADDRESS", help="Render on a dask.distributed cluster.")
@watch_options
@check_option
@exclude_option
@timeout_option
@progress_options
@theme_options
def render(
    inputs: tuple[str, ...],
    exclude: tuple[str, ...],
    output: Path | None,
    fmt: str,
    jobs: int | None,
    force: bool,
    scheduler: str | None,
    timeout: float,
    quiet: bool,
    verbose: bool,
    **theme: Any,
) -> None:
    """Render guides (files, folders or globs) to PDF briefs or self-contained HTML."""
    from .batch import render_batch, render_target
    from .config import load_config

    selection = select_guides(inputs, exclude=exclude)
    config = load_config()
    options = build_options(config, **theme)
    out, single = render_target(output, len(selection.paths), fmt, config.output or Path("out"))
    if theme.get("watch"):
        return run_watch(inputs, out, options, fmt, single, jobs=jobs, exclude=exclude, **theme)
    with batch_progress(len(selection.paths), "Rendering", quiet=quiet) as progress:
        result = render_batch(
            list(selection.paths),
            out,
            options,
            fmt,
            single_file=single,
            progress=progress,
            jobs=jobs,
            force=force,
            scheduler=scheduler,
            timeout=timeout or None,
        )
    report(result, verbose=verbose)
    report_blank_text([item.source for item in result.items if item.status != "failed"], options)
    rendered, failed = result.count("rendered"), len(result.failed) + len(selection.missing)
    failed += len(selection.refused)
    removed = f", {len(result.removed)} removed" if result.removed else ""
    click.echo(
        f"{rendered} rendered, {result.count('skipped')} skipped, {failed} failed{removed} "
        f"in {result.seconds:.1f} s",
        err=True,
    )
    if failed:
        sys.exit(1)


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="The packet file (default out/packet.pdf); with --group-by, a folder (default out/).",
)
@click.option("--title", help="Title on the cover and in the PDF metadata.")
@click.option(
    "--sort",
    "sort",
    metavar="FIELD",
    help="Order guides by a field (e.g. company, total_comp; -FIELD descends).",
)
@click.option(
    "--group-by", "group_by", metavar="FIELD", help="One packet per value of FIELD, written into -o DIR."
)
@click.option(
    "--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes (default: CPU count)."
)
@click.option("--scheduler", metavar="ADDRESS", help="Render on a dask.distributed cluster.")
@check_option
@exclude_option
@timeout_option
@progress_options
@theme_options
def packet(
    inputs: tuple[str, ...],
    exclude: tuple[str, ...],
    output: Path | None,
    title: str | None,
    sort: str | None,
    group_by: str | None,
    jobs: int | None,
    scheduler: str | None,
    timeout: float,
    quiet: bool,
    verbose: bool,
    **theme: Any,
) -> None:
    """Bundle guides into one PDF packet: cover, contents, overview table, then every guide."""
    from .config import load_config
    from .packet import write_packets

    selection = select_guides(inputs, purpose=" for the packet", exclude=exclude)
    theme.pop("watch", None)
    config = load_config()
    options = build_options(config, **theme)

    def wrote(path: Path, result: Any) -> None:
        guides = len(result.sources)
        click.echo(f"{path}: {guides} guide{'s' if guides != 1 else ''}, {result.pages} pages", err=True)

    files = write_packets(
        list(selection.paths),
        options,
        output=output,
        default=config.output or Path("out"),
        title=title,
        sort=sort,
        group_by=group_by,
        rates=config.rates,
        jobs=jobs,
        scheduler=scheduler,
        timeout=timeout or None,
        progress=functools.partial(batch_progress, quiet=quiet),
        notice=lambda severity, line: say(f"{severity}: {line}"),
        wrote=wrote,
    )
    report_blank_text([str(p) for p in selection.paths if str(p) not in files.errors], options)
    if not files.written:
        click.echo("error: no packet written: no guide could be used", err=True)
    if files.errors or selection.missing or selection.refused or not files.written:
        sys.exit(1)


@main.command()
@click.argument("source", metavar="INPUT")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="The PNG file to write.")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True, help="Page (from 1).")
@click.option("--dpi", type=click.IntRange(20, 600), default=100, show_default=True, help="Resolution.")
@theme_options
def preview(source: str, output: Path, page: int, dpi: int, **theme: Any) -> None:
    """Save one page of a guide's brief, or of any PDF (a packet), as a PNG image."""
    from .output import atomic_write
    from .preview import is_pdf, preview_png

    path = Path(source)
    image = preview_png(path, page, dpi, None if is_pdf(path) else build_options(**theme))
    atomic_write(output, image)
    click.echo(f"{output}: page {page} at {dpi} dpi", err=True)


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option(
    "--as-of",
    callback=parse_day,
    metavar="YYYY-MM-DD",
    help="Date to judge review deadlines and future dates against (default: the config file's, else today).",
)
@click.option("--allow-network", is_flag=True, help="Do not warn about remote images.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or progress lines.")
@exclude_option
def check(
    inputs: tuple[str, ...],
    fmt: str,
    strict: bool,
    as_of: date | None,
    allow_network: bool,
    quiet: bool,
    exclude: tuple[str, ...],
) -> None:
    """Check guides without rendering: schema, figures, currencies, dates, images, HTML that is removed."""
    import json

    from .check import check_paths
    from .config import load_config
    from .reading import escape_controls

    result = check_paths(
        inputs,
        as_of or load_config().as_of,
        allow_network=allow_network,
        exclude=exclude,
        progress=functools.partial(batch_progress, quiet=quiet),
    )
    report_missing(result.missing)
    if not result.checked and not result.errors:
        raise UsageError("no guides selected: " + ", ".join(inputs))
    if fmt == "json":
        click.echo(json.dumps([f.as_dict() for f in result.findings], indent=2, ensure_ascii=False))
    else:
        for finding in result.findings:
            click.echo(escape_controls(str(finding)))
    errors, warnings = len(result.errors), len(result.warnings)
    click.echo(f"{len(result.checked)} checked, {errors} errors, {warnings} warnings", err=True)
    if errors or result.missing or (strict and warnings):
        sys.exit(1)


@main.command()
@click.argument("inputs", nargs=-1, metavar="[INPUT]...")
@click.option("--to", "to", multiple=True, metavar="ADDR", help="Recipient; each gets their own message.")
@click.option(
    "--from", "sender", required=True, metavar="ADDR", help="Sender, e.g. 'Coach <coach@example.org>'."
)
@click.option("--subject", help="Subject (default: from the guide titles).")
@click.option("--packet", is_flag=True, help="Attach one packet of all the guides instead of one brief each.")
@click.option(
    "--eml", type=click.Path(path_type=Path), help="Write .eml files: a file for one message, else a folder."
)
@click.option("--smtp", metavar="HOST[:PORT]", help="Send through this SMTP server.")
@click.option(
    "--tls",
    type=click.Choice(["starttls", "ssl", "none"]),
    default="starttls",
    show_default=True,
    help="STARTTLS (port 587), implicit TLS (465) or none (25).",
)
@click.option("--user", help="SMTP login; the password is read from GUIDEPDF_SMTP_PASSWORD.")
@click.option(
    "--cafile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Trust the server certificate signed by this CA file (PEM).",
)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True, help="Seconds.")
@click.option(
    "--retries", type=click.IntRange(min=0), default=3, show_default=True, help="Retries after 4xx."
)
@click.option(
    "--retry-delay",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    help="First backoff, seconds.",
)
@click.option(
    "--recipients",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Mail merge: CSV with email,name,guides columns; one message per row.",
)
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Send log (default: beside the CSV, else ./guidepdf-sendlog.jsonl).",
)
@click.option(
    "--dry-run", is_flag=True, help="Build and check every message, write .eml files, send nothing."
)
@click.option("--resend-uncertain", is_flag=True, help="Resend messages that may have been delivered.")
@click.option("--max-size", default="20MB", show_default=True, help="Largest encoded message accepted.")
@click.option(
    "--render-timeout",
    type=click.FloatRange(min=0),
    default=120.0,
    show_default=True,
    metavar="SECONDS",
    help="Stop a brief (or a message's email templates) that takes longer to render (0: no limit).",
)
@click.option(
    "--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes (default: CPU count)."
)
@click.option("--scheduler", metavar="ADDRESS", help="Render the briefs on a dask.distributed cluster.")
@progress_options
@check_option
@exclude_option
@theme_options
def email(
    inputs: tuple[str, ...],
    exclude: tuple[str, ...],
    to: tuple[str, ...],
    sender: str,
    subject: str | None,
    packet: bool,
    eml: Path | None,
    smtp: str | None,
    tls: str,
    user: str | None,
    cafile: Path | None,
    timeout: float,
    retries: int,
    retry_delay: float,
    recipients: Path | None,
    log_path: Path | None,
    dry_run: bool,
    resend_uncertain: bool,
    max_size: str,
    render_timeout: float,
    jobs: int | None,
    scheduler: str | None,
    quiet: bool,
    verbose: bool,
    **theme: Any,
) -> None:
    """Email briefs (or one --packet) to people: as .eml files, or over SMTP exactly once."""
    import os

    from . import mail
    from .config import load_config

    merge = mail.MailMerge(
        sender=sender,
        to=to,
        recipients=recipients,
        subject=subject,
        packet=packet,
        eml=eml,
        smtp=smtp,
        tls=tls,
        user=user,
        password=os.environ.get("GUIDEPDF_SMTP_PASSWORD") if user else None,
        cafile=cafile,
        timeout=timeout,
        retries=retries,
        retry_delay=retry_delay,
        log=log_path,
        dry_run=dry_run,
        resend_uncertain=resend_uncertain,
        max_size=max_size,
        render_timeout=render_timeout,
        jobs=jobs,
        scheduler=scheduler,
        as_of_given=theme.get("as_of") is not None,
    )
    selection = select_guides(inputs, required=recipients is None, exclude=exclude)
    if recipients is None and not selection.paths:  # every guide refused: no message without them
        raise UsageError("no guides selected: " + ", ".join(inputs))
    config = load_config()
    options = build_options(config, **theme)
    result = mail.mail_merge(
        merge,
        selection.paths,
        options,
        briefs=config.output or Path("out"),
        progress=functools.partial(batch_progress, quiet=quiet),
        notice=lambda severity, line: say(f"{severity}: {line}"),
    )
    report_blank_text(result.guides, options)
    failed = result.failed + len(selection.missing) + len(selection.refused)
    if result.report is None:
        if result.skipped is not None:
            note = f"{result.skipped} already sent or possibly delivered (per {result.log_file})"
            click.echo(note, err=True)
        noun = "message" if len(result.written) == 1 else "messages"
        click.echo(f"{len(result.written)} {noun} written to {result.target}, {failed} failed", err=True)
    else:
        sent = result.report
        for item in sent.deliveries:
            if not item.delivered and item.status != "not-sent":
                say(f"error: {item.label}: {item.status}: {item.detail}")
        if sent.stopped:
            click.echo(f"error: {sent.stopped} ({sent.count('not-sent')} not sent)", err=True)
        undelivered = len(sent.undelivered) + (1 if sent.stopped and not sent.undelivered else 0)
        click.echo(
            f"{sent.count('sent')} sent, {sent.count('skipped')} already sent, "
            f"{undelivered + failed} not delivered (log: {result.log_file})",
            err=True,
        )
        failed += undelivered
    if failed:
        sys.exit(1)


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--dry-run", is_flag=True, help="Print the change as a unified diff; write nothing.")
@exclude_option
def fill(inputs: tuple[str, ...], dry_run: bool, exclude: tuple[str, ...]) -> None:
    """Copy the body table's figures into null front-matter fields; nothing else changes."""
    from .fill import fill_guides

    selection = select_guides(inputs, exclude=exclude)
    failed = len(selection.missing)
    changed = 0
    for result in fill_guides(selection.paths, dry_run=dry_run):
        if isinstance(result, GuidepdfError):
            click.echo(f"error: {result}", err=True)
            failed += 1
            continue
        for note in result.skipped:
            click.echo(f"warning: {result.path}: {note}: left alone", err=True)
        if result.changed:
            changed += 1
            if dry_run:
                click.echo(result.diff(), nl=False)
            else:
                click.echo(f"{result.path}: filled {', '.join(result.filled)}", err=True)
    verb = "would fill" if dry_run else "filled"
    count = len(selection.paths)
    click.echo(f"{count} guide{'s' if count != 1 else ''}, {changed} {verb}, {failed} failed", err=True)
    if failed:
        sys.exit(1)


@main.command("list")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True
)
@click.option(
    "--as-of",
    callback=parse_day,
    metavar="YYYY-MM-DD",
    help="Date to judge review deadlines against (default: the config file's, else today).",
)
@exclude_option
def list_command(inputs: tuple[str, ...], fmt: str, as_of: date | None, exclude: tuple[str, ...]) -> None:
    """One row a guide: file, company, role, data quality, dates, overdue and check status."""
    from .config import load_config
    from .listing import format_rows, list_guides

    selection = select_guides(inputs, exclude=exclude)
    rows = list_guides(selection.paths, as_of or load_config().as_of or date.today())
    click.echo(format_rows(rows, fmt), nl=False)
    if selection.missing:
        sys.exit(1)


@main.command()
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) of a guide's front matter."""
    from .schema import schema_json

    click.echo(schema_json(), nl=False)


@main.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--company", help="Company name as printed, e.g. 'Jane Street'.")
@click.option("--role", help="Role as printed, e.g. 'ML/AI Engineer'.")
def new(path: Path | None, company: str | None, role: str | None) -> None:
    """Write a new guide with every field, ready to fill in (never over an existing file)."""
    from .skeleton import write_new_guide

    path = write_new_guide(path, company, role)
    click.echo(f"{path}: new guide; fill in its figures, then run guidepdf check {path}", err=True)
