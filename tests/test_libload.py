"""WeasyPrint loaded without ctypes' library search opens the same libraries as a plain import."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
if sys.argv[1] == "guidepdf":
    from guidepdf.libload import import_weasyprint
    import_weasyprint()
import weasyprint.text.ffi as ffi
print([name for name in ("gobject", "pango", "harfbuzz", "harfbuzz_subset", "harfbuzz_vector",
       "fontconfig", "pangoft2") if getattr(ffi, name) is not None])
"""


def libraries(how: str) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE, how], capture_output=True, text=True, check=True)
    assert done.stdout.count("\n") == 1, done.stdout  # nothing else printed: no installation help
    return done.stdout


def test_fast_load_opens_what_weasyprint_opens_alone() -> None:
    fast = libraries("guidepdf")
    assert fast == libraries("plain")
    assert "'pango'" in fast and "'harfbuzz'" in fast
