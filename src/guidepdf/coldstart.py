"""guidepdf's own processes load the rendering code without the cycle collector walking it.

Importing WeasyPrint, pikepdf, Jinja and Python-Markdown makes a few hundred thousand objects that
live as long as the process. Python's cycle collector walks the young ones again and again while
they are made, and every full collection afterwards walks all of them: in a cold `guidepdf render
one.md` that was about a fifth of the CPU time. In guidepdf's own processes (the command, and the
worker processes of a batch) the rendering code is therefore loaded with the collector paused, and
what exists then is set aside from it (`gc.freeze`); garbage made afterwards is collected as usual.
A program that uses guidepdf as a library keeps its collector as it set it.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_LOCK = threading.Lock()
_state = {"own": False, "loaded": False}


def own_process() -> None:
    """Mark this process as guidepdf's own (the command, a worker): its loading may pause the collector."""
    _state["own"] = True


def is_own_process() -> bool:
    """True once `own_process` was called in this process."""
    return _state["own"]


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """Around the imports a render needs: in guidepdf's own process, the first time, the collector is
    paused while they run and what they made is frozen afterwards; otherwise nothing changes."""
    with _LOCK:
        first = _state["own"] and not _state["loaded"]
        _state["loaded"] = _state["loaded"] or first
    if not first:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
