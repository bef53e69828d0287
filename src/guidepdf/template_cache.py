"""The built-in templates' compiled code, kept between runs as Python keeps its own bytecode.

Compiling the package's templates costs a cold render more than rendering them; their code is kept
in this user's cache folder (`$XDG_CACHE_HOME/guidepdf/templates`, else `~/.cache/…`) and used again
while the template's text, its file, the environment's settings and the Jinja and Python versions are
the same. Only the package's own templates are kept: a theme's templates are data and are compiled
afresh in each process. Kept code is read only from a folder and files this user owns and no one else
may write; anything else, and any error reading or writing, means compiling as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
from pathlib import Path
from typing import Any

import jinja2
from jinja2.bccache import Bucket, BytecodeCache

from ._version import __version__
from .output import atomic_write

#: A kept template's code larger than this is not read (the built-ins' are a few tens of KB).
MAX_CODE_BYTES = 4_000_000


def cache_dir() -> Path | None:
    """Where this user's compiled built-in templates are kept (None: no home folder to keep them in)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # unset, or relative (which the XDG specification says to ignore)
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError):  # no HOME and no password entry for this user
            return None
    return Path(base) / "guidepdf" / "templates"


def builtin_code_cache(root: Path) -> BytecodeCache | None:
    """The code cache for the templates under `root`, or None when there is nowhere to keep it."""
    directory = cache_dir()
    return None if directory is None else BuiltinCodeCache(root, directory)


class BuiltinCodeCache(BytecodeCache):
    """A Jinja bytecode cache for the templates under `root` only, kept in `directory`."""

    def __init__(self, root: Path, directory: Path) -> None:
        self.root = os.path.realpath(root)
        self.directory = directory

    def get_bucket(
        self, environment: jinja2.Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        if not self.kept(filename):
            return _Unkept(environment, "", "")
        key = hashlib.sha256(
            "\0".join((name, filename or "", fingerprint(environment, name))).encode()
        ).hexdigest()
        bucket = Bucket(environment, key, self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

    def set_bucket(self, bucket: Bucket) -> None:
        if not isinstance(bucket, _Unkept):
            self.dump_bytecode(bucket)

    def kept(self, filename: str | None) -> bool:
        """True for a file of the built-in templates (a theme's templates are never kept)."""
        if not filename:
            return False
        real = os.path.realpath(filename)
        return os.path.commonpath([self.root, real]) == self.root

    def load_bytecode(self, bucket: Bucket) -> None:
        # Whatever goes wrong (a file damaged, another Python's code), the template is compiled instead.
        with contextlib.suppress(Exception):
            if not _private_dir(self.directory):
                return
            fd = os.open(self.directory / bucket.key, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                if not stat.S_ISREG(info.st_mode) or not _own_unshared(info):
                    return
                data = handle.read(MAX_CODE_BYTES + 1)
            if len(data) <= MAX_CODE_BYTES:
                bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not _private_dir(self.directory):
                return
            atomic_write(self.directory / bucket.key, bucket.bytecode_to_string(), mode=0o600)


class _Unkept(Bucket):
    """The bucket of a template that is compiled every time (never loaded, never stored)."""

    def load_bytecode(self, f: Any) -> None:
        self.reset()


def _own_unshared(info: os.stat_result) -> bool:
    """True when this user owns the file or folder and no one else may write it."""
    return info.st_uid == os.getuid() and not info.st_mode & 0o022


def _private_dir(folder: Path) -> bool:
    """True when `folder` is a real folder (not a link) this user owns that no one else may write."""
    info = os.lstat(folder)
    return stat.S_ISDIR(info.st_mode) and _own_unshared(info)


def fingerprint(environment: jinja2.Environment, name: str) -> str:
    """Everything besides a template's text that changes the code Jinja compiles it to."""

    def passes(function: Any) -> str:
        return repr(getattr(function, "jinja_pass_arg", None))

    env: Any = environment
    autoescape = env.autoescape(name) if callable(env.autoescape) else env.autoescape
    parts = [
        f"guidepdf {__version__}",
        f"jinja {jinja2.__version__}",
        f"python {sys.version}",
        f"{type(env).__module__}.{type(env).__qualname__}",
        f"{env.code_generator_class.__module__}.{env.code_generator_class.__qualname__}",
        repr(
            (
                env.block_start_string,
                env.block_end_string,
                env.variable_start_string,
                env.variable_end_string,
                env.comment_start_string,
                env.comment_end_string,
                env.line_statement_prefix,
                env.line_comment_prefix,
                env.trim_blocks,
                env.lstrip_blocks,
                env.newline_sequence,
                env.keep_trailing_newline,
                env.optimized,
                env.is_async,
                env.sandboxed,
                autoescape,
                passes(env.finalize) if env.finalize is not None else None,
                sorted(getattr(env, "intercepted_binops", ())),
                sorted(getattr(env, "intercepted_unops", ())),
                sorted(env.extensions),
                sorted(
                    (key, repr(value)) for key, value in env.policies.items() if key.startswith("compiler.")
                ),
            )
        ),
        repr(sorted((key, passes(value)) for key, value in env.filters.items())),
        repr(sorted((key, passes(value)) for key, value in env.tests.items())),
    ]
    return "\n".join(parts)
