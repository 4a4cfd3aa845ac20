"""Drawing the sizes of a reference file: one size's strategy, value scales, ``--sizes`` ranges, and the
user's hooks (a size strategy, constraints). Used by :mod:`fusefuzz.harness.problems.kernelbench`."""

from __future__ import annotations

import importlib
import os

from .reference_file import ReferenceLoadError, one_line

#: tile sizes +- 1
TILE_EDGES = (1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512,
              513, 1023, 1024, 1025)


def size_strategy(lo: int, hi: int, tile_edges: bool):
    """One size: log-uniform in [lo, hi], often a tile size +- 1, sometimes ``hi``. Every choice is drawn
    every time (a fixed structure), so that each shrinks on its own: the selector toward the log-uniform
    value, that value toward ``lo`` one octave at a time."""
    from hypothesis import strategies as st

    if lo >= hi:
        return st.just(lo)
    span = hi - lo
    edges = sorted(e for e in TILE_EDGES if lo <= e <= hi) if tile_edges else []

    top_bits = span.bit_length()

    @st.composite
    def size(draw):
        # log-uniform: a bit length, then a fraction of that octave (integers shrink best); one bit length
        # past the top stands for the top of the range itself (the declared size), so that shrinking from
        # there walks down the octaves instead of jumping to lo
        bits = draw(st.integers(0, top_bits + 1))
        frac = draw(st.integers(0, (1 << 20) - 1))
        edge = draw(st.sampled_from(edges)) if edges else lo
        selector = draw(st.integers(0, 4))  # 0-3: log-uniform, 4: a tile size +- 1
        if selector == 4 and edges:
            return edge
        if bits > top_bits:
            return hi
        octave = (1 << (bits - 1)) if bits else 0
        return lo + min(span, octave + ((frac * octave) >> 20))

    return size()


def scales():
    """Log-uniform in [1e-3, 1e3], the extremes on purpose (overflow and underflow live there); shrinks
    toward 1."""
    from hypothesis import strategies as st

    @st.composite
    def scale(draw):
        exponent = draw(st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False))
        selector = draw(st.integers(0, 9))
        return float(10.0 ** {8: 3.0, 9: -3.0}.get(selector, exponent))

    return scale()


def subset(name: str, given, allowed) -> tuple:
    given = tuple(given)
    bad = [g for g in given if g not in allowed]
    if not given or bad:
        raise ValueError(f"{name}={given!r} must be a non-empty subset of {allowed!r}")
    return given


def parse_sizes(spec: str) -> dict:
    """``name=lo:hi,name=V,name=:hi,name=lo:`` -> {name: (lo, hi) or V (pinned), with None for an open end}."""
    out = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, eq, rng = part.partition("=")
        name, rng = name.strip(), rng.strip()
        try:
            if not eq or not name:
                raise ValueError
            if ":" in rng:
                a, _, b = rng.partition(":")
                out[name] = (int(a) if a.strip() else None, int(b) if b.strip() else None)
            else:
                out[name] = int(rng)
        except ValueError:
            raise ValueError(f"--sizes={spec!r}: {part!r} is not NAME=LO:HI or NAME=VALUE (integers), e.g. "
                             "--sizes batch_size=1:8,dim=300") from None
    return out


def parse_ranges(sizes, constants: dict, path: str) -> dict:
    if sizes is None:
        return {}
    spec = parse_sizes(sizes) if isinstance(sizes, str) else dict(sizes)
    out = {}
    for name, value in spec.items():
        if name not in constants:
            raise ReferenceLoadError(f"--sizes names {name!r}, which is not a module-level integer constant of "
                                     f"{path!r}; constants: {', '.join(constants) or 'none'}")
        if isinstance(value, int):
            lo = hi = value
        else:
            lo, hi = value
            lo = 1 if lo is None else lo
            hi = max(lo, constants[name]) if hi is None else hi
        if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi):
            raise ReferenceLoadError(f"--sizes {name}={value!r}: need integers 0 <= lo <= hi")
        out[name] = (lo, hi)
    return out


def as_strategy(obj, what: str):
    """A Hypothesis strategy of size dicts, from a strategy or a function ``f(draw) -> dict``."""
    if obj is None:
        return None
    from hypothesis import strategies as st
    from hypothesis.strategies import SearchStrategy

    if isinstance(obj, SearchStrategy):
        return obj
    if callable(obj):
        return st.composite(obj)()
    raise ReferenceLoadError(f"{what}={obj!r} is neither a Hypothesis strategy of size dicts nor a function "
                             "f(draw) -> dict")


def as_constraints(obj, constants: dict) -> list:
    if obj is None:
        return []
    if callable(obj):
        return [(getattr(obj, "__name__", "constraint"), obj)]
    if isinstance(obj, str):
        obj = [obj]
    out = []
    for text in obj:
        if not isinstance(text, str):
            raise ReferenceLoadError(f"FUSEFUZZ_CONSTRAINTS entry {text!r} is not a string expression")
        try:
            code = compile(text, "FUSEFUZZ_CONSTRAINTS", "eval")
        except SyntaxError as e:
            raise ReferenceLoadError(f"FUSEFUZZ_CONSTRAINTS entry {text!r}: {e.msg}") from None
        names = set(code.co_names) - {"min", "max", "abs"}
        unknown = sorted(n for n in names if n not in constants)
        if unknown:
            raise ReferenceLoadError(f"FUSEFUZZ_CONSTRAINTS entry {text!r} names {unknown}, which are not "
                                     "module-level integer constants")
        out.append((text, lambda values, code=code: bool(eval(code, {"__builtins__": {}, "min": min, "max": max,
                                                                      "abs": abs}, dict(values)))))
    return out


def load_strategy(spec: str):
    """``--strategy module:name`` or ``path/to/file.py:name``: a strategy of size dicts or f(draw) -> dict."""
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise ReferenceLoadError(f"--strategy={spec!r} must be MODULE:NAME or FILE.py:NAME")
    if target.endswith(".py") or os.sep in target:
        from ..sourcefile import import_file

        module = import_file(target, what="strategy")
    else:
        try:
            module = importlib.import_module(target)
        except Exception as e:  # noqa: BLE001
            raise ReferenceLoadError(f"--strategy={spec!r}: importing {target!r} raised {one_line(e)}") from None
    if not hasattr(module, attr):
        raise ReferenceLoadError(f"--strategy={spec!r}: {target!r} defines no {attr!r}")
    return as_strategy(getattr(module, attr), f"--strategy={spec}")
