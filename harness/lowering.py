"""What a GPU compile does to a kernel that the Triton interpreter does not: found in the candidate's source.

The interpreter executes a ``@triton.jit`` function as written, one NumPy operation at a time. Triton's compiler
first rewrites it, and one rewrite changes numbers: its combine pass turns

    tl.sum(a[:, :, None] * b[None, :, :], axis=1)      (also through a name: prod = ...; tl.sum(prod, 1))

into ``tl.dot(a, b)`` with the default input precision, TF32 for fp32 operands, when both outer block sizes are
at least 16 (``CombineBroadcastMulReducePattern``, triton/lib/Dialect/Triton/Transforms/Combine.cpp; seen on an
H200, triton 3.6: a kernel written this way and declaring ``ieee`` failed ``precision_contract`` there, its
errors fitting TF32, while the interpreter judged it exact). The block sizes are constexprs the scan cannot
always see, so every site is reported.

:func:`remarks` gives one line per site for a campaign run in the interpreter: its verdict on a precision
stricter than TF32 holds for the interpreter, not for a GPU.
"""

from __future__ import annotations

import ast
import os

#: contracts a TF32 dot does not meet (fp32 operands rounded to 10 mantissa bits)
_STRICTER_THAN_TF32 = ("ieee", "auto", None)


def _is_jit(fn: ast.FunctionDef) -> bool:
    for dec in fn.decorator_list:
        node = dec.func if isinstance(dec, ast.Call) else dec
        name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
        if name == "jit":
            return True
    return False


def _expand_axis(node: ast.AST) -> int | None:
    """For ``x[:, :, None]`` 2, for ``x[None, :, :]`` 0 (the axis a None adds to a rank-2 block), else None."""
    if not isinstance(node, ast.Subscript) or not isinstance(node.slice, ast.Tuple):
        return None
    parts = node.slice.elts
    if len(parts) != 3:
        return None
    nones = [i for i, p in enumerate(parts) if isinstance(p, ast.Constant) and p.value is None]
    full = [i for i, p in enumerate(parts) if isinstance(p, ast.Slice) and p.lower is p.upper is p.step is None]
    return nones[0] if len(nones) == 1 and len(full) == 2 else None


def _is_broadcast_product(node: ast.AST) -> bool:
    if not isinstance(node, ast.BinOp) or not isinstance(node.op, ast.Mult):
        return False
    axes = {_expand_axis(node.left), _expand_axis(node.right)}
    return axes == {0, 2}


def _reduces_axis_1(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name != "sum" or not call.args:
        return False
    axis = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "axis"), None)
    return isinstance(axis, ast.Constant) and axis.value == 1


def broadcast_mul_reduce_sites(source: str, filename: str = "<candidate>") -> list[tuple[str, int, str]]:
    """``(function, line, text)`` of every ``tl.sum(a[:, :, None] * b[None, :, :], axis=1)`` in a jit function."""
    try:
        tree = ast.parse(source, filename)
    except SyntaxError:
        return []
    lines = source.splitlines()
    sites = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef) or not _is_jit(fn):
            continue
        products = {}  # name -> the broadcast product last assigned to it
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                if _is_broadcast_product(node.value):
                    products[node.targets[0].id] = node.value
        for node in ast.walk(fn):
            if not isinstance(node, ast.Call) or not _reduces_axis_1(node):
                continue
            arg = node.args[0]
            if _is_broadcast_product(arg) or (isinstance(arg, ast.Name) and arg.id in products):
                sites.append((fn.name, node.lineno, lines[node.lineno - 1].strip()))
    return sorted(set(sites), key=lambda s: s[1])


def remarks(candidate, precision: str | None) -> list[str]:
    """One remark per rewritten site, for a campaign in the interpreter whose contract is stricter than TF32."""
    if precision not in _STRICTER_THAN_TF32:
        return []
    path = getattr(candidate, "path", None) or getattr(getattr(candidate, "module", None), "__file__", None)
    if not path or not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8", errors="replace") as f:
        sites = broadcast_mul_reduce_sites(f.read(), path)
    where = os.path.basename(path)
    return [f"{where}:{line} ({fn}): `{text}` is compiled on a GPU into tl.dot at the default input precision, "
            f"TF32 for fp32 operands, when both outer block sizes are >= 16 (Triton's combine pass); the "
            f"interpreter runs it as written, in fp32, so this verdict on the {precision or 'auto'} contract holds "
            f"here, not on a GPU: write tl.dot(a, b, input_precision='ieee') or declare tf32"
            for fn, line, text in sites]
