"""A KernelBench-format reference file as text and code: its integer constants, and a copy of it that can be
executed with any of them changed (:class:`ReferenceSource`). Used by :mod:`fusefuzz.harness.problems.kernelbench`.

Each module-level assignment of an integer literal (or of integer arithmetic on literals, ``K = 4096 * 2``;
one name, or a tuple of names = a tuple of values; not ``True``/``False``) is rewritten in the compiled copy
to ``__fusefuzz_size__("name", value)``, which returns the value asked for, else the declared one. The
file's text is never changed; :meth:`ReferenceSource.text_with` writes chosen values into a copy of the
text (for repro scripts), keeping comments and layout.
"""

from __future__ import annotations

import ast
import builtins
import collections
import hashlib
import os

from ..sourcefile import CandidateError

HOOK = "__fusefuzz_size__"


class ReferenceLoadError(CandidateError):
    """The reference file cannot be used (exit code 2). The message is one line."""


def one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    if len(text) > limit:
        text = text[:limit] + " ..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _int_value(node) -> int | None:
    """The value of an integer literal or of integer arithmetic on literals; None for anything else."""
    if isinstance(node, ast.Constant):
        return node.value if type(node.value) is int else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _int_value(node.operand)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
    if isinstance(node, ast.BinOp):
        a, b = _int_value(node.left), _int_value(node.right)
        if a is None or b is None:
            return None
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if isinstance(node.op, ast.FloorDiv) and b:
            return a // b
        if isinstance(node.op, ast.Pow) and 0 <= b <= 64 and abs(a) < 2**16:
            return a**b
        if isinstance(node.op, ast.LShift) and 0 <= b <= 64:
            return a << b
    return None


def _sites(tree: ast.Module) -> list[tuple[str, int, ast.expr]]:
    """(name, value, value node) of every module-level integer constant assignment, in file order."""
    out = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None and stmt.simple:
            target, value = stmt.target, stmt.value
        else:
            continue
        if isinstance(target, ast.Name):
            pairs = [(target, value)]
        elif (isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List))
              and len(target.elts) == len(value.elts) and all(isinstance(t, ast.Name) for t in target.elts)):
            pairs = list(zip(target.elts, value.elts, strict=True))
        else:
            continue
        for t, v in pairs:
            iv = _int_value(v)
            if iv is not None:
                out.append((t.id, iv, v))
    return out


class _Hooked(ast.NodeTransformer):
    """Replaces each constant's value node ``V`` by ``__fusefuzz_size__("name", V)``."""

    def __init__(self, sites):
        self.by_node = {id(node): name for name, _, node in sites}

    def visit(self, node):
        name = self.by_node.get(id(node))
        if name is not None:
            call = ast.Call(func=ast.Name(HOOK, ast.Load()), args=[ast.Constant(name), node], keywords=[])
            return ast.copy_location(call, node)
        return super().visit(node)


class ReferenceSource:
    """A KernelBench-format file, executable with any of its integer constants changed."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        if not os.path.exists(path):
            raise ReferenceLoadError(f"cannot load reference {path!r}: no such file")
        if os.path.isdir(path):
            raise ReferenceLoadError(f"cannot load reference {path!r}: it is a directory, give a .py file")
        try:
            with open(path, encoding="utf-8") as f:
                self.text = f.read()
            tree = ast.parse(self.text, path)
        except SyntaxError as e:
            raise ReferenceLoadError(f"cannot load reference {path!r}: syntax error at line {e.lineno}: "
                                     f"{e.msg}") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ReferenceLoadError(f"cannot load reference {path!r}: {one_line(e)}") from None
        self.sites = _sites(tree)
        self.constants: dict[str, int] = {}
        for name, value, _ in self.sites:
            self.constants.pop(name, None)  # the last assignment wins, in the order of the file
            self.constants[name] = value
        hooked = ast.fix_missing_locations(_Hooked(self.sites).visit(tree))
        self.code = compile(hooked, self.path, "exec")
        digest = hashlib.sha1(self.path.encode() + self.text.encode()).hexdigest()[:12]
        self.module_name = f"fusefuzz_reference_{digest}"
        self._namespaces: collections.OrderedDict = collections.OrderedDict()

    def key(self, sizes: dict) -> tuple:
        return tuple(sorted((k, int(v)) for k, v in sizes.items() if self.constants.get(k) != v))

    def namespace(self, sizes: dict) -> dict:
        """The file's globals after executing it with ``sizes`` in place of the declared values."""
        key = self.key(sizes)
        ns = self._namespaces.get(key)
        if ns is not None:
            self._namespaces.move_to_end(key)
            return ns
        chosen = dict(key)
        ns = {"__name__": self.module_name, "__file__": self.path, "__builtins__": builtins,
              HOOK: lambda name, value: chosen.get(name, value)}
        exec(self.code, ns)  # noqa: S102 - the user's own reference file, as the user asked
        self._namespaces[key] = ns
        if len(self._namespaces) > 256:
            self._namespaces.popitem(last=False)
        return ns

    def text_with(self, sizes: dict) -> str:
        """The file's text with the drawn values written in place of the declared ones (for repro scripts)."""
        lines = self.text.splitlines(keepends=True)
        edits = [(node, repr(int(sizes[name]))) for name, value, node in self.sites
                 if name in sizes and int(sizes[name]) != value]
        for node, text in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
            first, last = node.lineno - 1, node.end_lineno - 1
            head = lines[first].encode()[:node.col_offset].decode()
            tail = lines[last].encode()[node.end_col_offset:].decode()
            lines[first:last + 1] = [head + text + tail]
        return "".join(lines)
