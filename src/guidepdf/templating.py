"""The Jinja environment (user template folders first, built-ins after) and the page HTML for a guide."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from . import __version__
from .breaks import soft_breaks
from .chart import build_chart
from .errors import RenderError, TemplateNotFound
from .guide import Guide, slugify
from .markup import inline_tags, render_body
from .money import currency_prefix, format_date, format_money, format_percent, format_range
from .options import RenderOptions
from .themes import builtin_dir
from .typeset import typeset


@dataclass(frozen=True)
class Page:
    """A guide's page HTML, the folder its relative URLs resolve against, and the options used."""

    html: str
    base_dir: Path
    options: RenderOptions


@functools.lru_cache(maxsize=16)
def environment(user_dirs: tuple[Path, ...] = ()) -> jinja2.Environment:
    """A Jinja environment searching `user_dirs` first, then the built-ins (also as `!builtin/…`)."""
    builtin = jinja2.FileSystemLoader(str(builtin_dir("templates")))
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader([str(d) for d in user_dirs]),
            builtin,
            jinja2.PrefixLoader({"!builtin": builtin}, delimiter="/"),
        ]
    )
    env = jinja2.Environment(
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
    )
    env.filters.update(
        money=format_money,
        money_range=format_range,
        percent=format_percent,
        date=format_date,
        slug=slugify,
        currency_prefix=currency_prefix,
        tags=lambda text: Markup(inline_tags(str(text))) if text else "",
        nowrap=_nowrap,
    )
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


def brief_context(guide: Guide, options: RenderOptions) -> dict[str, Any]:
    """What every brief template receives (documented in the README)."""
    body = render_body(guide.body, drop_title=_title_words(guide), drop_tags=guide.tags)
    as_of = options.today
    return {
        "guide": guide,
        "meta": guide.meta,
        "extra": guide.extra,
        "body": Markup(soft_breaks(typeset(body.html))),
        "headings": body.headings,
        "regions": guide.compensation,
        "headline": guide.headline,
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
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {name!r}: {exc}") from None
    except Exception as exc:  # a theme's template can fail in any way; the user needs one line
        raise RenderError(f"template {name!r}: {type(exc).__name__}: {exc}") from None


def build_page(guide: Guide, options: RenderOptions | None = None) -> Page:
    """The brief's page HTML for `guide`; stylesheets are applied separately (see `pdf`)."""
    options = options or RenderOptions()
    html = render_template(options.template, brief_context(guide, options), options)
    return Page(html=html, base_dir=guide.path.resolve().parent, options=options)


def _title_words(guide: Guide) -> str | None:
    if guide.company_display and guide.role_display:
        return f"{guide.company_display} {guide.role_display}"
    return guide.title
