"""The sandboxed Jinja environment (user template folders first, built-ins after) and a guide's page HTML.

Templates are data, whoever wrote them: a theme named by a downloaded `guidepdf.toml` renders in the
same sandbox as the built-ins. The sandbox refuses Python internals (`__globals__`, `__class__`, …),
methods of paths and other objects that reach the file system, mutation of the values templates
receive, and arithmetic or formatting that would build a huge number or string; the loader reads
only regular files inside the template folders.
"""

from __future__ import annotations

import functools
import os
import re
import stat
import string
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from types import ModuleType
from typing import Any

import jinja2
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup, escape

from ._version import __version__
from .breaks import soft_breaks
from .chart import build_chart
from .errors import GuidepdfError, RenderError, TemplateNotFound
from .figures import with_body_figures
from .guide import Guide
from .markup import Body, inline_tags, pill, render_body
from .money import currency_prefix, format_date, format_money, format_percent, format_range
from .options import RenderOptions
from .slug import slugify
from .template_cache import builtin_code_cache
from .themes import builtin_dir
from .typeset import typeset


@dataclass(frozen=True)
class Page:
    """A guide's page HTML, the folder its relative URLs resolve against, and the options used."""

    html: str
    base_dir: Path
    options: RenderOptions


#: A template file larger than this is refused (read with a bounded read, whatever `stat` says).
MAX_TEMPLATE_BYTES = 1_000_000
#: The longest string or sequence a template may build with `*`, `%` or `format`, in items.
MAX_BUILT_LENGTH = 1_000_000
#: The largest integer a template may build with `**`, in bits.
MAX_POWER_BITS = 4096
#: A width or precision in a format string above this is refused (it would build a huge string).
MAX_FORMAT_WIDTH = 10_000

#: What a template may read of a path: its name, never its contents or its neighbours.
_PATH_ATTRS = frozenset({"name", "stem", "suffix"})
_PERCENT_SPEC_RE = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS_RE = re.compile(r"\d+")


class FolderLoader(jinja2.BaseLoader):
    """Loads templates only from regular files inside its folders (symlinks may not lead out of them)."""

    def __init__(self, folders: tuple[Path, ...]) -> None:
        self.folders = folders

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)  # refuses `..` and absolute names
        for folder in self.folders:
            candidate = os.path.join(folder, *pieces)
            try:
                real = os.path.realpath(candidate, strict=True)
            except OSError:  # missing, or a symlink loop
                continue
            root = os.path.realpath(folder)
            if os.path.commonpath([root, real]) != root:
                raise SecurityError(f"template {template!r}: {candidate} leads outside {folder}")
            return _read_template(candidate, real, template)
        raise jinja2.TemplateNotFound(template)


def _read_template(shown: str, real: str, name: str) -> tuple[str, str, Callable[[], bool]]:
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SecurityError(f"template {name!r}: {shown}: cannot read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):  # a FIFO, device or folder is never a template
            raise SecurityError(f"template {name!r}: {shown} is not a regular file")
        data = handle.read(MAX_TEMPLATE_BYTES + 1)
    if len(data) > MAX_TEMPLATE_BYTES:
        raise SecurityError(f"template {name!r}: {shown} is larger than {MAX_TEMPLATE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecurityError(f"template {name!r}: {shown} is not valid UTF-8 text") from None
    mtime = info.st_mtime_ns

    def uptodate() -> bool:
        try:
            return os.stat(real).st_mtime_ns == mtime
        except OSError:
            return False

    return text, shown, uptodate


class ThemeSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, also closed to the file system and to huge numbers and strings."""

    intercepted_binops = frozenset({"**", "*", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, PurePath) and attr not in _PATH_ATTRS:
            return False  # `guide.path.read_text()` or `.parent.joinpath(...)` would reach any file
        if isinstance(obj, ModuleType | type):
            return False
        return super().is_safe_attribute(obj, attr, value)

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        # Jinja's default is an undefined value that renders as nothing with ChainableUndefined:
        # an attack should stop the render and be named, not pass silently.
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            _check_str_method(owner, getattr(__obj, "__name__", ""), args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            _check_power(left, right)
            return left**right
        if operator == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
            return left * right
        if isinstance(left, str):
            _check_percent_format(left)
        return left % right

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_brace_format(value.__self__)
        return wrapped


def _check_power(base: Any, exponent: Any) -> None:
    numbers = isinstance(base, int) and isinstance(exponent, int)
    if numbers and abs(base) > 1 and exponent > 0 and abs(base).bit_length() * exponent > MAX_POWER_BITS:
        raise SecurityError(f"{base} ** {exponent} is too large a number for a template")


def _check_repeat(sequence: Any, times: Any) -> None:
    repeated = isinstance(sequence, str | bytes | list | tuple) and isinstance(times, int)
    if repeated and len(sequence) * times > MAX_BUILT_LENGTH:
        raise SecurityError(f"repeating {len(sequence)} items {times} times is too long for a template")


def _check_percent_format(text: str) -> None:
    for match in _PERCENT_SPEC_RE.finditer(text):
        for number in match.groups():
            if number == "*" or (number and int(number) > MAX_FORMAT_WIDTH):
                raise SecurityError(f"format width {number!r} is too large for a template")


def _check_brace_format(text: str) -> None:
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format will report the bad format string itself
    for _, _, spec, _ in parts:
        if spec and ("{" in spec or any(int(n) > MAX_FORMAT_WIDTH for n in _DIGITS_RE.findall(spec))):
            raise SecurityError(f"format spec {spec!r} is too large or nested for a template")


def _check_str_method(text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a string method call whose result would be longer than `MAX_BUILT_LENGTH`."""
    numbers = [a for a in (*args, *kwargs.values()) if isinstance(a, int)]
    if name in ("ljust", "rjust", "center", "zfill"):
        estimate = max(numbers, default=0)
    elif name == "expandtabs":
        estimate = len(text) * max(numbers, default=8)
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        estimate = len(text) + (text.count(args[0]) if args[0] else len(text) + 1) * len(args[1])
    elif name == "join" and args and isinstance(args[0], list | tuple):
        estimate = _joined_length(args[0], len(text))
    else:
        return
    if estimate > MAX_BUILT_LENGTH:
        raise SecurityError(f"str.{name}() would build {estimate} characters, too many for a template")


def _joined_length(items: list[Any] | tuple[Any, ...], separator: int) -> int:
    return sum(len(i) if isinstance(i, str) else 20 for i in items) + separator * len(items)


def _bounded_width(name: str, width: Any) -> None:
    if isinstance(width, int) and width > MAX_FORMAT_WIDTH:
        raise SecurityError(f"{name} width {width} is too large for a template")


def _center_filter(value: Any, width: int = 80) -> str:
    """Jinja's `center` filter, with the width bounded."""
    _bounded_width("center", width)
    return str(value).center(width)


def _indent_filter(value: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    """Jinja's `indent` filter, with the indent bounded (a text indent is bounded by its own length)."""
    _bounded_width("indent", width)
    result: str = jinja2.filters.do_indent(value, width, first, blank)
    return result


@jinja2.pass_eval_context
def _join_filter(eval_ctx: jinja2.nodes.EvalContext, value: Any, d: str = "", attribute: Any = None) -> str:
    """Jinja's `join` filter, refusing a result longer than `MAX_BUILT_LENGTH`."""
    env = eval_ctx.environment
    items = list(value) if attribute is None else [env.getattr(item, attribute) for item in value]
    if _joined_length(items, len(d)) > MAX_BUILT_LENGTH:
        raise SecurityError("join would build too long a string for a template")
    result: str = jinja2.filters.do_join(eval_ctx, items, d)
    return result


@jinja2.pass_eval_context
def _replace_filter(
    eval_ctx: jinja2.nodes.EvalContext, value: Any, old: str, new: str, count: int | None = None
) -> str:
    """Jinja's `replace` filter, refusing a result longer than `MAX_BUILT_LENGTH`."""
    _check_str_method(str(value), "replace", (str(old), str(new)), {})
    result: str = jinja2.filters.do_replace(eval_ctx, value, old, new, count)
    return result


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """Jinja's `lipsum` global, for at most 100 paragraphs of at most 1,000 words."""
    if not (isinstance(n, int) and 0 <= n <= 100 and isinstance(max, int) and max <= 1000):
        raise SecurityError("lipsum: at most 100 paragraphs of at most 1000 words in a template")
    result: str = jinja2.utils.generate_lorem_ipsum(n, html, min, max)
    return result


def _format_filter(value: Any, *args: Any, **kwargs: Any) -> str:
    """Jinja's `format` filter (printf-style), with widths bounded like the `%` operator."""
    text = str(value)
    _check_percent_format(text)
    if args and kwargs:
        raise jinja2.exceptions.FilterArgumentError(
            "can't handle positional and keyword arguments at the same time"
        )
    return text % (kwargs or args)


@functools.lru_cache(maxsize=16)
def environment(user_dirs: tuple[Path, ...] = ()) -> jinja2.Environment:
    """A sandboxed environment searching `user_dirs` first, then the built-ins (also as `!builtin/…`)."""
    builtin_root = builtin_dir("templates")
    builtin = FolderLoader((builtin_root,))
    loader = jinja2.ChoiceLoader(
        [
            FolderLoader(user_dirs),
            builtin,
            jinja2.PrefixLoader({"!builtin": builtin}, delimiter="/"),
        ]
    )
    env = ThemeSandbox(
        loader=loader,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "htm", "xml", "html.j2", "xml.j2"),
            default_for_string=True,
            default=False,
        ),
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # The built-in templates' compiled code is kept between runs; a theme's is compiled each time.
        bytecode_cache=builtin_code_cache(builtin_root),
    )
    env.filters.update(
        money=format_money,
        money_range=format_range,
        percent=format_percent,
        date=format_date,
        slug=slugify,
        currency_prefix=currency_prefix,
        tags=lambda text: Markup(inline_tags(str(text))) if text else "",
        pill=lambda text: Markup(pill(str(escape(text)))),
        nowrap=_nowrap,
        format=_format_filter,
        center=_center_filter,
        indent=_indent_filter,
        join=_join_filter,
        replace=_replace_filter,
    )
    env.globals["lipsum"] = _lipsum
    env.globals["guidepdf_version"] = __version__
    env.globals["chart_data"] = build_chart
    return env


def _nowrap(value: Any) -> Markup:
    """`value` (a range, a date) as one unit that never breaks across lines."""
    return Markup('<span class="nowrap">{}</span>').format(value)


def get_template(name: str, options: RenderOptions) -> jinja2.Template:
    """Load a template by name, naming every folder searched when it is missing."""
    env = environment(tuple(p.resolve() for p in options.templates))
    try:
        return env.get_template(name)
    except jinja2.TemplateNotFound:
        searched = [*(str(p) for p in options.templates), str(builtin_dir("templates"))]
        raise TemplateNotFound(f"template {name!r} not found in: {', '.join(searched)}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{exc.filename or name}: line {exc.lineno}: {exc.message}") from None
    except SecurityError as exc:
        raise RenderError(f"{exc}") from None


def brief_body(guide: Guide) -> Body:
    """A guide's Markdown body as safe HTML, without the title and tags the page shows above it."""
    return render_body(guide.body, drop_title=_title_words(guide), drop_tags=guide.tags)


def brief_context(guide: Guide, options: RenderOptions, body: Body | None = None) -> dict[str, Any]:
    """What every brief template receives (documented in the README); `body` as `brief_body` gives it."""
    body = brief_body(guide) if body is None else body
    as_of = options.today
    # Regions the front matter leaves empty show the body table's figures, marked as such.
    shown = replace(guide, compensation=with_body_figures(guide))
    return {
        "guide": guide,
        "meta": guide.meta,
        "extra": guide.extra,
        "body": Markup(soft_breaks(typeset(body.html))),
        "headings": body.headings,
        "regions": shown.compensation,
        "headline": shown.headline,
        "as_of": as_of,
        "overdue": guide.review_overdue(as_of),
        "options": options,
        "page_size": options.page_size,
    }


def render_template(name: str, context: dict[str, Any], options: RenderOptions) -> str:
    """Render a named template, turning template faults into `RenderError`."""
    template = get_template(name, options)
    try:
        return template.render(context)
    except jinja2.TemplateNotFound as exc:  # an include or import inside the template
        searched = [*(str(p) for p in options.templates), str(builtin_dir("templates"))]
        missing = ", ".join(repr(n) for n in getattr(exc, "templates", [exc.name]))
        raise TemplateNotFound(f"template {name!r}: {missing} not found in: {', '.join(searched)}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{exc.filename or exc.name or name}: line {exc.lineno}: {exc.message}") from None
    except GuidepdfError:  # a time limit, or a filter's own one-line error: already says what happened
        raise
    except SecurityError as exc:
        raise RenderError(f"{_where(exc, name)}: refused by the template sandbox: {_one_line(exc)}") from None
    except jinja2.TemplateError as exc:
        raise RenderError(f"{_where(exc, name)}: {_one_line(exc)}") from None
    except Exception as exc:  # a theme's template can fail in any way; the user needs one line
        raise RenderError(f"{_where(exc, name)}: {type(exc).__name__}: {_one_line(exc)}") from None


def _where(exc: BaseException, name: str) -> str:
    """`file: line N` of the innermost template frame of `exc` (Jinja maps frames to template lines)."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename and not filename.endswith(".py") and not filename.startswith("<"):
            found = f"{filename}: line {tb.tb_lineno}"
        tb = tb.tb_next
    return found or f"template {name!r}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def build_page(guide: Guide, options: RenderOptions | None = None, body: Body | None = None) -> Page:
    """The brief's page HTML for `guide` (with `body`, its converted body, when already made);
    stylesheets are applied separately (see `pdf`)."""
    options = options or RenderOptions()
    html = render_template(options.template, brief_context(guide, options, body), options)
    return Page(html=html, base_dir=guide.path.resolve().parent, options=options)


def _title_words(guide: Guide) -> str | None:
    if guide.company_display and guide.role_display:
        return f"{guide.company_display} {guide.role_display}"
    return guide.title
