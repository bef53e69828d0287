"""guidepdf: salary-negotiation guides (Markdown + YAML front matter) to PDF briefs, packets and email.

The public API is re-exported lazily (PEP 562): ``import guidepdf`` loads nothing but this module and the
version, so the command line and ``check`` start without WeasyPrint, mail or packet code.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

# public name -> module that defines it
_EXPORTS = {
    "Attachment": "mail",
    "Compensation": "guide",
    "Finding": "check",
    "Guide": "guide",
    "GuideError": "errors",
    "GuidepdfError": "errors",
    "MailError": "mail",
    "RenderError": "errors",
    "RenderOptions": "options",
    "SendLog": "mail",
    "SendReport": "mail",
    "SmtpSettings": "mail",
    "UsageError": "errors",
    "build_message": "mail",
    "build_packet": "packet",
    "check_guide": "check",
    "check_guides": "check",
    "check_paths": "check",
    "load_guide": "guide",
    "parse_guide": "guide",
    "render_html": "html_export",
    "render_pdf": "brief",
    "send_messages": "mail",
}

__all__ = [
    "Attachment",
    "Compensation",
    "Finding",
    "Guide",
    "GuideError",
    "GuidepdfError",
    "MailError",
    "RenderError",
    "RenderOptions",
    "SendLog",
    "SendReport",
    "SmtpSettings",
    "UsageError",
    "__version__",
    "build_message",
    "build_packet",
    "check_guide",
    "check_guides",
    "check_paths",
    "load_guide",
    "parse_guide",
    "render_html",
    "render_pdf",
    "send_messages",
]

if TYPE_CHECKING:
    from .brief import render_pdf
    from .check import Finding, check_guide, check_guides, check_paths
    from .errors import GuideError, GuidepdfError, RenderError, UsageError
    from .guide import Compensation, Guide, load_guide, parse_guide
    from .html_export import render_html
    from .mail import Attachment, MailError, SendLog, SendReport, SmtpSettings, build_message, send_messages
    from .options import RenderOptions
    from .packet import build_packet


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'guidepdf' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
