"""A candidate's exception as one message: its type and the cause first, then where, then the source excerpt.

Layout of :func:`exception_message`::

    CompilationError: Expected dtype ['fp32', 'fp64'] but got fp16 (at my_kernel.py:41 in forward)
    at 4:20:
    def kernel(x_ptr, ...):
        ...
        tl.store(y + i, tl.erf(v), mask=i < n)
                        ^

* The first line is the exception's type and its cause, never cut. Triton's ``CompilationError`` prints the
  source excerpt first and the cause last (``at L:C:`` / source lines / ``^`` / cause): the cause is taken from
  the innermost compilation error of the chain (a ``@triton.jit`` helper called by the kernel raises inside the
  caller's error). The interpreter (``TRITON_INTERPRET=1``) raises ``InterpreterError(repr(original))`` instead:
  the original exception is named after it (``InterpreterError: ValueError: ...``).
* "where" is the deepest frame of the candidate's own code; frames of fusefuzz's engine (this folder) are never
  named, nor those of installed libraries (torch, triton, the standard library). No such frame: no "where".
* The rest (source excerpts, further message lines) follows, cut at ``limit`` characters, only after the first line.
"""

from __future__ import annotations

import os
import re
import site
import sysconfig
import traceback

#: characters kept after the first line (the excerpt); the first line is always kept whole
DEFAULT_LIMIT = 1500

_HARNESS_DIR = os.path.dirname(os.path.abspath(__file__))
#: fusefuzz's own kernels (``fusefuzz.kernels``) are candidates too, wherever they are installed
_KERNELS_DIR = os.path.join(os.path.dirname(_HARNESS_DIR), "kernels")


def _library_dirs() -> tuple[str, ...]:
    paths = [sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")]
    try:
        paths += [*site.getsitepackages(), site.getusersitepackages()]
    except AttributeError:  # pragma: no cover - a virtualenv's old site module
        pass
    dirs = {os.path.abspath(p) for p in paths if p}
    return tuple(sorted(dirs))


_LIBRARY_DIRS = _library_dirs()


def is_candidate_frame(filename: str) -> bool:
    """Whether a traceback frame is the candidate's code: not fusefuzz's engine, not an installed library."""
    if not filename or filename.startswith("<"):  # <string>, <frozen importlib._bootstrap>
        return False
    path = os.path.abspath(filename)
    if path.startswith(_HARNESS_DIR + os.sep):
        return False
    if path.startswith(_KERNELS_DIR + os.sep):
        return True
    return not any(path.startswith(d + os.sep) for d in _LIBRARY_DIRS)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from (``__cause__``, else ``__context__``), outermost first."""
    seen, out = set(), []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        out.append(exc)
        exc = exc.__cause__ if exc.__cause__ is not None else (None if exc.__suppress_context__ else exc.__context__)
    return out


def _is_compilation_error(exc: BaseException) -> bool:
    return any(c.__name__ == "CompilationError" for c in type(exc).__mro__) and hasattr(exc, "error_message")


def _is_interpreter_error(exc: BaseException) -> bool:
    return type(exc).__name__ == "InterpreterError"


def where(exc: BaseException) -> str:
    """`` (at FILE:LINE in FUNCTION)`` for the deepest candidate frame of ``exc``'s chain, or ``""``."""
    for e in reversed(_chain(exc)):  # innermost first: the frames nearest to the fault
        frames = [f for f in traceback.extract_tb(e.__traceback__) if is_candidate_frame(f.filename)]
        if frames:
            f = frames[-1]
            return f" (at {os.path.basename(f.filename)}:{f.lineno} in {f.name})"
    return ""


def _lines(text: str) -> list[str]:
    return [ln.rstrip() for ln in str(text).strip("\n").splitlines() if ln.strip()]


def _split_excerpt(text: str) -> tuple[str, list[str]]:
    """A message that has Triton's layout (excerpt, a ``^`` line, the cause) as (cause, excerpt lines);
    any other message as (its first line, the other lines)."""
    lines = _lines(text)
    carets = [i for i, ln in enumerate(lines) if ln.strip() == "^"]
    if carets and carets[-1] + 1 < len(lines):
        k = carets[-1] + 1
        return " ".join(" ".join(lines[k:]).split()), lines[:k]
    if not lines:
        return "", []
    return " ".join(lines[0].split()), lines[1:]


def _compilation_parts(chain: list[BaseException]) -> tuple[str, list[str]]:
    """(cause, excerpts) of a chain holding Triton compilation errors: the innermost one with a message
    gives the cause; every excerpt is kept, the innermost (the faulty line) first."""
    compiled = [e for e in chain if _is_compilation_error(e)]
    excerpts: list[str] = []
    cause = ""
    for e in reversed(compiled):
        msg = getattr(e, "error_message", None)
        text = str(e)
        excerpt = text[: len(text) - len(msg) - 1] if msg and text.endswith(msg) else text
        excerpts.extend((["called from:"] if excerpts else []) + _lines(excerpt))
        if msg and not cause:
            cause = _unrepr(" ".join(str(msg).split()))
    if not cause:  # the code generator failed on something that is no CompilationError: the deepest exception
        inner = chain[-1]
        if not _is_compilation_error(inner):
            cause = _one_line(inner)
    return cause, "\n".join(excerpts).splitlines()


def _unrepr(text: str) -> str:
    """Triton puts ``repr(exc)`` into some messages: ``AttributeError("...")`` reads ``AttributeError: ...``."""
    m = re.fullmatch(r"([A-Za-z_][\w.]*(?:Error|Exception))\((['\"])(.*)\2\)", text)
    return f"{m.group(1)}: {m.group(3)}" if m else text


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def exception_message(exc: BaseException, *, limit: int = DEFAULT_LIMIT) -> str:
    """``exc`` as a message: ``Type: cause (at file:line in function)`` on the first line, whole, then the
    source excerpt or further message lines, cut after ``limit`` characters. See the module docstring."""
    chain = _chain(exc)
    head = type(exc).__name__
    if any(_is_compilation_error(e) for e in chain):
        cause, rest = _compilation_parts(chain)
        if not _is_compilation_error(exc):  # e.g. an autotuner re-raising it: name the compilation error too
            cause = f"{type(next(e for e in chain if _is_compilation_error(e))).__name__}: {cause}"
    elif _is_interpreter_error(exc) and len(chain) > 1:
        inner = next((e for e in chain[1:] if not _is_interpreter_error(e)), chain[-1])
        cause, rest = _split_excerpt(str(inner))
        cause = f"{type(inner).__name__}: {cause}" if cause else type(inner).__name__
    else:
        cause, rest = _split_excerpt(str(exc))
    first = f"{head}: {cause}" if cause else head
    first += where(exc)
    if not rest:
        return first
    tail = "\n".join(rest)
    if len(tail) > limit:
        tail = tail[:limit].rstrip() + "\n..."
    return first + "\n" + tail
