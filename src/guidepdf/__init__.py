"""guidepdf: salary-negotiation guides (Markdown + YAML front matter) to PDF briefs, packets and email."""

__version__ = "0.1.0"

from .check import Finding, check_guide, check_guides, check_paths
from .errors import GuideError, GuidepdfError, RenderError, UsageError
from .guide import Compensation, Guide, load_guide, parse_guide
from .mail import Attachment, MailError, SendLog, SendReport, SmtpSettings, build_message, send_messages
from .options import RenderOptions
from .packet import build_packet
from .pdf import render_html, render_pdf

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
