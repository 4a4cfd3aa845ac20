"""Importing a user's Python file (a candidate, a reference's strategy) as a fresh module, and the one-line
error every loading problem raises. Below :mod:`fusefuzz.harness.candidates` and :mod:`fusefuzz.harness.problems`,
which both load files.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import types


class CandidateError(Exception):
    """The candidate cannot be loaded or set up (exit code 2). The message is one line."""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def import_file(path: str, *, what: str = "candidate") -> types.ModuleType:
    """Import a Python file as a fresh module; every failure becomes one CandidateError line."""
    if not os.path.exists(path):
        raise CandidateError(f"cannot load {what} {path!r}: no such file")
    if os.path.isdir(path):
        raise CandidateError(f"cannot load {what} {path!r}: it is a directory, give a .py file")
    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise CandidateError(f"cannot load {what} {path!r}: {_one_line(e)}") from None
    try:
        compile(source, path, "exec")
    except SyntaxError as e:
        raise CandidateError(f"cannot load {what} {path!r}: syntax error at line {e.lineno}: {e.msg}") from None
    from . import backend

    backend.select()  # the file imports triton: the interpreter must be chosen first
    digest = hashlib.sha1(os.path.abspath(path).encode() + source.encode()).hexdigest()[:12]
    mod_name = f"fusefuzz_{what}_{digest}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module  # triton's jit needs the module importable by name
    from . import tamper

    if what == "candidate":
        tamper.baseline()  # what torch looked like before any candidate code ran in this process
    try:
        spec.loader.exec_module(module)
    except BaseException as e:  # noqa: BLE001 - any import-time failure is the file's fault
        sys.modules.pop(mod_name, None)
        if isinstance(e, KeyboardInterrupt):
            raise
        raise CandidateError(f"cannot load {what} {path!r}: importing it raised {_one_line(e)}") from None
    if what == "candidate":
        tamper.check_import(module, path)  # restored now; reported as `tampering` by the runner and bench
    else:
        tamper.trusted_import()  # a reference or strategy file may set switches: part of the baseline
    return module
