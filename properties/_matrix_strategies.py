"""Hypothesis strategies for the 2-D problems: ``linear_gelu`` (x[batch, in] -> [batch, out]) and ``layernorm``
(x[batch, features], normalised over features).

Both follow :func:`fusefuzz.properties.conv2d_examples`: every size shrinks toward 1, sizes are drawn in an order where
each bound depends only on earlier draws (shrinking an early size never invalidates a later one), sizes are
often tile edges (tile sizes +- 1 and odd sizes such as 97), and the interpreter's cost caps arrive as
``max_macs`` / ``max_outputs``.
"""

from __future__ import annotations

import math

from fusefuzz.harness.example import ALL_DISTRIBUTIONS, DISTRIBUTIONS, Example
from fusefuzz.harness.precision import DTYPES
from hypothesis import strategies as st

from ._strategies import _check_range, _subset, seeds, value_regimes

#: 2-D inputs: ``channels_last`` is the same as ``contiguous`` for them, so it is not drawn by default
LAYOUTS_2D = ("contiguous", "strided")
_LAYOUTS_ALLOWED = ("contiguous", "channels_last", "strided")

#: GEMM tiles are 16..256 wide and K chunks 16..64 deep: each +- 1, and odd sizes
_GEMM_EDGES = (1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97, 127, 128, 129, 191, 192, 193, 255, 256,
               257, 383, 511, 512, 513, 1023, 1024, 1025)
#: row lengths around the power-of-two blocks of a row reduction (and a few odd ones)
_ROW_EDGES = (1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97, 127, 128, 129, 255, 256, 257, 511, 512,
              513, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 4097, 8191, 8192, 8193, 16383, 16384, 16385)


def _sized(low, high, edges, tile_edges):
    """An integer in [low, high], often one of ``edges`` (when ``tile_edges``)."""
    plain = st.integers(low, high)
    if not tile_edges:
        return plain
    inside = sorted({e for e in edges if low <= e <= high})
    return st.one_of(plain, st.sampled_from(inside)) if inside else plain


def _options(dtypes, layouts, distributions):
    return (_subset("dtypes", dtypes, tuple(DTYPES)), _subset("layouts", layouts, _LAYOUTS_ALLOWED),
            value_regimes(distributions=_subset("distributions", distributions, ALL_DISTRIBUTIONS)))


def linear_examples(
    *,
    max_batch: int = 640,
    max_in_features: int = 1280,
    max_out_features: int = 1280,
    dtypes=tuple(DTYPES),
    layouts=LAYOUTS_2D,
    distributions=DISTRIBUTIONS,
    max_macs: int | None = None,
    max_outputs: int | None = None,
    tile_edges: bool = True,
):
    """Examples for linear_gelu: sizes ``batch`` (M), ``in_features`` (K), ``out_features`` (N).

    ``max_macs`` caps batch x in x out, ``max_outputs`` caps batch x out (drawn K first, then N, then the
    batch, so each cap only narrows later draws). ``tile_edges``: sizes are often 16/32/64/128/256/512 +- 1
    or odd (97, 191, 383), so M, N and K tails and exact multiples all occur.
    """
    for name, value in (("max_batch", max_batch), ("max_in_features", max_in_features),
                        ("max_out_features", max_out_features)):
        _check_range(name, value, 1)
    if max_macs is not None:
        _check_range("max_macs", max_macs, 1)
    if max_outputs is not None:
        _check_range("max_outputs", max_outputs, 1)
    dtypes, layouts, regimes = _options(dtypes, layouts, distributions)
    budget = math.inf if max_macs is None else max_macs
    out_budget = math.inf if max_outputs is None else max_outputs

    @st.composite
    def examples(draw):
        k = draw(_sized(1, max(1, min(max_in_features, budget)), _GEMM_EDGES, tile_edges))
        n = draw(_sized(1, max(1, min(max_out_features, budget // k, out_budget)), _GEMM_EDGES, tile_edges))
        m = draw(_sized(1, max(1, min(max_batch, budget // (k * n), out_budget // n)), _GEMM_EDGES, tile_edges))
        dtype = draw(st.sampled_from(dtypes))
        layout = draw(st.sampled_from(layouts))
        dist, scale = draw(regimes)
        return Example(sizes=dict(batch=m, in_features=k, out_features=n), dtype=dtype, layout=layout,
                       distribution=dist, scale=scale, seed=draw(seeds()))

    return examples()


def layernorm_examples(
    *,
    max_batch: int = 300,
    max_features: int = 20000,
    dtypes=tuple(DTYPES),
    layouts=LAYOUTS_2D,
    distributions=ALL_DISTRIBUTIONS,
    max_macs: int | None = None,
    max_outputs: int | None = None,
    tile_edges: bool = True,
):
    """Examples for layernorm: ``batch`` rows of ``features`` values, normalised over each row.

    ``features`` is drawn first (often a power of two +- 1 up to 16385, the edges of single-block and looped
    row kernels), then the batch. ``max_outputs`` caps batch x features; ``max_macs`` caps the problem's
    multiply-add count, 4 per element (see :func:`fusefuzz.harness.problems.layernorm.flops`). The value regimes
    include ``randn_offset`` (randn plus up to 1e4), where a one-pass ``E[x^2] - E[x]^2`` variance cancels,
    and tiny scales (1e-3), where eps dominates the variance.
    """
    _check_range("max_batch", max_batch, 1)
    _check_range("max_features", max_features, 1)
    if max_macs is not None:
        _check_range("max_macs", max_macs, 4)
    if max_outputs is not None:
        _check_range("max_outputs", max_outputs, 1)
    dtypes, layouts, regimes = _options(dtypes, layouts, distributions)
    budget = math.inf if max_outputs is None else max_outputs
    if max_macs is not None:
        budget = min(budget, max_macs // 4)

    @st.composite
    def examples(draw):
        n = draw(_sized(1, max(1, min(max_features, budget)), _ROW_EDGES, tile_edges))
        m = draw(_sized(1, max(1, min(max_batch, budget // n)), _GEMM_EDGES, tile_edges))
        dtype = draw(st.sampled_from(dtypes))
        layout = draw(st.sampled_from(layouts))
        dist, scale = draw(regimes)
        return Example(sizes=dict(batch=m, features=n), dtype=dtype, layout=layout, distribution=dist,
                       scale=scale, seed=draw(seeds()))

    return examples()
