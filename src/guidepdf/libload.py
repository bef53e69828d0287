"""Import WeasyPrint without ctypes' slow search for its shared libraries.

WeasyPrint opens Pango, HarfBuzz, fontconfig and GObject by trying several names in turn
(`libgobject-2.0-0`, `gobject-2.0-0`, …, `libgobject-2.0.so.0`). On Linux every name the dynamic
loader does not know by itself goes through `ctypes.util.find_library`, which runs `ldconfig`, then
`gcc`, then `ld` for it: about fifteen processes and a third of a second on every cold start, before
the name the loader would have taken directly (`libgobject-2.0.so.0`) is reached. While WeasyPrint
loads, the search is skipped, so the loader itself settles each name; if that finds a library
missing, the import is done again with the full search, exactly as WeasyPrint would do alone.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import io
import sys
import threading
from types import ModuleType

_LOCK = threading.Lock()


def import_weasyprint() -> ModuleType:
    """`weasyprint`, imported with the loader's own library lookup first (Linux), the full search after."""
    if "weasyprint" in sys.modules or not sys.platform.startswith("linux"):
        import weasyprint

        return weasyprint
    with _LOCK:
        original = ctypes.util.find_library
        ctypes.util.find_library = _loader_only
        try:
            # WeasyPrint prints its installation help before failing; the full search below prints
            # it again if the libraries really are missing.
            with contextlib.redirect_stdout(io.StringIO()):
                import weasyprint
        except OSError:
            ctypes.util.find_library = original
            import weasyprint
        finally:
            ctypes.util.find_library = original
    return weasyprint


def _loader_only(name: str) -> str | None:
    """No answer: the caller goes on to the next name, which the dynamic loader may know directly."""
    return None
