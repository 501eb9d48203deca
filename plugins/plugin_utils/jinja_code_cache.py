"""A cache of Jinja's compiled code, shared by ansible-playbook's workers (the `preload` callback).

Ansible forks a worker for each task and host, and each worker compiles every template and
expression it renders again: the role's variables, its conditions, its module arguments, its
template files. Compiling (lexing, parsing, generating Python, compiling that) is about a third
of a worker's CPU in a run with nothing to do, and the same text is compiled again by the
worker of every host.

This module keeps each compiled code object under a key made of everything the generated code
depends on: the source text, the environment's syntax and code-generation settings, Ansible's
compile-time backslash escaping, and the Jinja, Ansible and Python releases. A worker that
compiles something new writes it to the cache directory; the main process reads the whole
directory before the first task, so every worker forked after that finds it in memory.

An entry no run has used for MAX_IDLE_SECONDS (a week) is removed when the directory is read: a
use marks the entry (its file's modification time), at most once a day. Without that, entries of
templates no longer in use (an earlier release of the roles, a changed playbook) would pile up
to MAX_ENTRIES, every one of them read before each run's first task.

A hit yields the same code object compiling would (the code does not depend on the environment
object, only on the settings in the key); a template is still built for the environment that
asked. Anything unexpected falls back to compiling, as without the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

# No filters here (every module of plugin_utils says which it implements; this one serves the
# preload callback).
FILTERS: dict[str, Any] = {}

# Entries kept in the directory before it is emptied and filled again (one file each).
MAX_ENTRIES = 20000
# An entry unused for this long is removed when the directory is read; a use marks an entry
# whose mark is older than MARK_AFTER_SECONDS.
MAX_IDLE_SECONDS = 7 * 24 * 3600
MARK_AFTER_SECONDS = 24 * 3600

_MEMORY: dict[str, types.CodeType] = {}
# When each entry read from the directory was last marked used (its file's modification time).
_MARKED: dict[str, float] = {}
_STATE: dict[str, Any] = {"dir": None, "installed": False, "hits": 0, "misses": 0}

# The environment's settings the generated code depends on.
_SETTINGS = (
    "block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
    "comment_start_string", "comment_end_string", "line_statement_prefix",
    "line_comment_prefix", "trim_blocks", "lstrip_blocks", "newline_sequence",
    "keep_trailing_newline", "optimized", "is_async",
)


class _Code:
    """A cached code object handed through Environment.from_string to compile()."""

    __slots__ = ("code",)

    def __init__(self, code: types.CodeType) -> None:
        self.code = code


def _escape_backslashes() -> bool | None:
    """Ansible's compile-time backslash escaping (ansible-core 2.19 and later), else None."""
    if "context" not in _STATE:
        try:
            from ansible._internal._templating._jinja_bits import _TemplateCompileContext
        except ImportError:  # older releases escape in the source text, which is in the key
            _TemplateCompileContext = None
        _STATE["context"] = _TemplateCompileContext
    if _STATE["context"] is None:
        return None
    ctx = _STATE["context"].current(optional=True)
    return None if ctx is None else bool(ctx.escape_backslashes)


def _release() -> str:
    """The releases compiled code depends on (cached: it does not change in a process)."""
    if "release" not in _STATE:
        from importlib.util import MAGIC_NUMBER

        import jinja2
        from ansible.release import __version__ as ansible_version

        _STATE["release"] = (f"jinja2 {jinja2.__version__}|ansible-core {ansible_version}"
                             f"|{sys.implementation.cache_tag} {MAGIC_NUMBER.hex()}")
    return _STATE["release"]


def _key(env: Any, kind: str, source: str, extra: tuple) -> str | None:
    """The cache key of compiling `source` in `env`, or None when it is not to be cached."""
    if not isinstance(env.autoescape, bool) or getattr(env, "_debuggable_template_source", False):
        return None  # per-template autoescaping; Ansible's template debugging writes files
    try:
        env_class = type(env)
        generator = env_class.code_generator_class
        parts = (
            _release(), env_class.__module__, env_class.__qualname__, generator.__module__,
            generator.__qualname__, tuple(getattr(env, name) for name in _SETTINGS),
            env.autoescape, env.finalize is not None, tuple(sorted(env.extensions)),
            _escape_backslashes(), kind,
            tuple(str.__str__(item) if isinstance(item, str) else item for item in extra),
        )
        digest = hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass"))
        # the text itself (a str subclass of Ansible's carries its origin, which is not hashed)
        digest.update(b"\0" + str.encode(source, "utf-8", "surrogatepass"))
    except Exception:  # an environment unlike Jinja's: compile as without the cache
        return None
    return digest.hexdigest()


def _get(key: str) -> types.CodeType | None:
    code = _MEMORY.get(key)
    if code is not None:
        _STATE["hits"] += 1
        marked = _MARKED.get(key)  # (None: compiled in this run, its file new)
        if marked is not None and time.time() - marked > MARK_AFTER_SECONDS:
            _mark_used(key)
    return code


def _mark_used(key: str) -> None:
    """Mark the entry `key` used now (its file's modification time), so that it is kept."""
    _MARKED[key] = time.time()
    directory = _STATE["dir"]
    if directory is None:
        return
    try:
        os.utime(os.path.join(directory, key))
    except OSError:  # removed meanwhile: written again when next compiled
        pass


def _put(key: str, code: types.CodeType) -> None:
    _STATE["misses"] += 1
    _MEMORY[key] = code
    directory = _STATE["dir"]
    if directory is None:
        return
    try:
        write_atomically(directory / key, marshal.dumps(code))
    except OSError:  # a full disk or a removed directory: this entry stays in memory only
        pass


def write_atomically(path: Path, data: bytes) -> None:
    """Write `path` through a temporary file beside it (named .tmp-*, which no reader takes), so
    that a process reading the directory never sees it half written."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class UnsafeCacheError(Exception):
    """The cache directory is not the user's alone: code read from it would run as theirs."""


def private_directory(directory: Path) -> Path:
    """`directory`, made (0700) when missing; UnsafeCacheError when another user owns it or a
    group or others may write to it."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise UnsafeCacheError(
            f"{directory} is owned by uid {info.st_uid} with mode {info.st_mode & 0o777:04o}: the "
            f"cache needs a directory of uid {os.getuid()} that no group or other user may "
            "write to (chmod go-w, or set another cache_dir)")
    return directory


def load(directory: Path) -> int:
    """Use `directory` (made 0700 when missing) and read its entries into memory; how many.

    Raises UnsafeCacheError when another user owns it or a group or others may write to it.
    """
    private_directory(directory)
    _STATE["dir"] = directory
    names = [name for name in os.listdir(directory) if not name.startswith(".")]
    if len(names) > MAX_ENTRIES:  # emptied and filled again
        for name in names:
            (directory / name).unlink(missing_ok=True)
        return 0
    read = 0
    now = time.time()
    # (marshal.loads of the whole file: marshal.load on a file object reads it a few bytes at a
    # time, five times slower for the hundreds of entries read here before the first task.)
    base = os.fspath(directory)
    for name in names:
        path = os.path.join(base, name)
        try:
            with open(path, "rb") as fh:
                marked = os.fstat(fh.fileno()).st_mtime
                code = None if now - marked > MAX_IDLE_SECONDS else marshal.loads(fh.read())
        except (OSError, EOFError, ValueError, TypeError):
            continue  # a torn or foreign file: compiled again, and replaced
        if code is None:  # unused for a week
            with contextlib.suppress(OSError):
                os.unlink(path)
        elif isinstance(code, types.CodeType):
            _MEMORY[name] = code
            _MARKED[name] = marked
            read += 1
    return read


def install() -> None:
    """Route jinja2.Environment's compiling through the cache (once)."""
    if _STATE["installed"]:
        return
    import jinja2
    from jinja2.environment import TemplateExpression

    env_class = jinja2.Environment
    compile_orig = env_class.compile
    compile_expression_orig = env_class.compile_expression
    # The code Jinja's compile_expression compiles (the tree of an assignment), kept on a miss.
    captured: list[types.CodeType | None] = []

    def cached_compile(self, source, name=None, filename=None, raw=False, defer_init=False):
        if isinstance(source, _Code):
            return source.code
        if raw or not isinstance(source, str):
            code = compile_orig(self, source, name, filename, raw, defer_init)
            if captured and captured[-1] is None and not raw:
                captured[-1] = code
            return code
        key = _key(self, "template", source, (name, filename, defer_init))
        code = _get(key) if key else None
        if code is None:
            code = compile_orig(self, source, name, filename, raw, defer_init)
            if key:
                _put(key, code)
        return code

    def cached_compile_expression(self, source, undefined_to_none=True):
        key = _key(self, "expression", source, ()) if isinstance(source, str) else None
        code = _get(key) if key else None
        if code is not None:
            return TemplateExpression(self.from_string(_Code(code)), undefined_to_none)
        captured.append(None)
        try:
            expression = compile_expression_orig(self, source, undefined_to_none)
        finally:
            code = captured.pop()
        if key and code is not None:
            _put(key, code)
        return expression

    env_class.compile = cached_compile
    env_class.compile_expression = cached_compile_expression
    _STATE["installed"] = True


def stats() -> dict[str, int]:
    """Hits and misses in this process, entries in memory."""
    return {"hits": _STATE["hits"], "misses": _STATE["misses"], "entries": len(_MEMORY)}
