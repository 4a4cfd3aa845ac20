"""Hypothesis strategies for fuzz examples."""

from __future__ import annotations

import math

from fusefuzz.harness.example import ALL_DISTRIBUTIONS, DISTRIBUTIONS, LAYOUTS, Example
from fusefuzz.harness.precision import DTYPES
from hypothesis import strategies as st

#: tile sizes +- 1 (kernels tile channels and pixels by powers of two)
_TILE_EDGES = (1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 96, 127, 128, 129)


def _check_range(name: str, value: int, low: int) -> None:
    if not isinstance(value, int) or value < low:
        raise ValueError(f"{name}={value!r} must be an integer >= {low}; pass a larger bound")


def _subset(name: str, given, allowed) -> tuple:
    given = tuple(given)
    bad = [g for g in given if g not in allowed]
    if not given or bad:
        raise ValueError(f"{name}={given!r} must be a non-empty subset of {allowed!r}")
    return given


@st.composite
def _scales(draw):
    # log-uniform in [1e-3, 1e3]; the exponent shrinks toward 0, i.e. the scale toward 1
    # the extremes (1e-3, 1e3) are drawn on purpose: overflow and underflow bugs live there
    exponent = draw(st.one_of(st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, allow_infinity=False),
                              st.sampled_from((3.0, -3.0, 2.0))))
    return float(10.0 ** exponent)


@st.composite
def _offsets(draw):
    # log-uniform in [1, 1e4]; shrinks toward 1. 1e4 is drawn on purpose: a one-pass variance cancels there
    # (and 1e4 + randn stays finite in fp16)
    exponent = draw(st.one_of(st.floats(min_value=0.0, max_value=4.0, allow_nan=False, allow_infinity=False),
                              st.sampled_from((4.0, 3.0))))
    return float(10.0 ** exponent)


def value_regimes(*, distributions=DISTRIBUTIONS):
    """(distribution, scale): ``rand`` (KernelBench), ``randn``, ``randn`` times a log-uniform scale, or (asked
    for by name) ``randn_offset``: ``randn`` plus a log-uniform offset in [1, 1e4]."""
    distributions = _subset("distributions", distributions, ALL_DISTRIBUTIONS)

    @st.composite
    def regimes(draw):
        dist = draw(st.sampled_from(distributions))
        if dist == "randn_scaled":
            scale = draw(_scales())
        elif dist == "randn_offset":
            scale = draw(_offsets())
        else:
            scale = 1.0
        return dist, scale

    return regimes()


def seeds():
    """Seeds for the CPU ``torch.Generator`` every tensor of an example is drawn from."""
    return st.integers(min_value=0, max_value=2**32 - 1)


def conv2d_examples(
    *,
    max_batch: int = 8,
    max_in_channels: int = 64,
    max_out_channels: int = 96,
    max_kernel_size: int = 7,
    max_extra: int = 48,
    dtypes=tuple(DTYPES),
    layouts=LAYOUTS,
    distributions=DISTRIBUTIONS,
    rectangular_kernels: bool = False,
    max_macs: int | None = None,
    max_outputs: int | None = None,
    tile_edges: bool = True,
    in_channels_step: int = 1,
    min_out_width: int = 1,
):
    """Examples for conv2d_gelu_gap: every size shrinks toward 1, H and W toward the kernel size
    (1x1 outputs, where pooling hides nothing).

    ``in_channels_step`` draws in_channels as multiples of it (from ``in_channels_step`` to ``max_in_channels``):
    a kernel path that needs whole channel chunks (the fused kernel's streamed tap loop: 16) is then reached on
    most examples instead of a few.

    ``min_out_width`` keeps the output width (W - kw + 1) at least that (the Hopper kernels' tiles are 128 pixels
    of one row: 128 reaches them on every example); it needs ``max_extra >= min_out_width - 1``.

    ``max_macs`` caps batch x out x Ho x Wo x in x kh x kw (the interpreter is slow): sizes are drawn in
    an order where each bound depends only on earlier draws, so shrinking an early size only widens the
    later ones and never invalidates an example. ``max_outputs`` caps batch x out_channels (kernels
    with one program per output run that many programs; the interpreter pays per program).

    ``tile_edges`` reaches degenerate sizes on purpose: out_channels and output heights/widths are often
    drawn from tile sizes +- 1 (15, 16, 17, 31, 32, 33, ...), so tails and exact multiples both occur.
    """
    for name, value in (("max_batch", max_batch), ("max_in_channels", max_in_channels),
                        ("max_out_channels", max_out_channels), ("max_kernel_size", max_kernel_size)):
        _check_range(name, value, 1)
    _check_range("max_extra", max_extra, 0)
    _check_range("in_channels_step", in_channels_step, 1)
    _check_range("min_out_width", min_out_width, 1)
    if min_out_width - 1 > max_extra:
        raise ValueError(f"min_out_width={min_out_width!r} needs max_extra >= {min_out_width - 1} (got "
                         f"max_extra={max_extra!r}); raise max_extra")
    if in_channels_step > max_in_channels:
        raise ValueError(f"in_channels_step={in_channels_step!r} > max_in_channels={max_in_channels!r}: no "
                         f"in_channels to draw; lower the step or raise max_in_channels")
    if max_macs is not None:
        _check_range("max_macs", max_macs, 1)
    if max_outputs is not None:
        _check_range("max_outputs", max_outputs, 1)
    out_budget = math.inf if max_outputs is None else max_outputs
    dtypes = _subset("dtypes", dtypes, tuple(DTYPES))
    layouts = _subset("layouts", layouts, LAYOUTS)
    regimes = value_regimes(distributions=distributions)
    budget = math.inf if max_macs is None else max_macs

    def sized(draw, low, high, cap, *, offset=0):
        """An integer in [low, min(high, cap)], often a tile size +- 1 (shifted by ``offset``).

        The choices drawn never depend on ``cap`` (which depends on earlier draws): a boolean (tile
        edge or not), then one value from a range or list fixed by the options alone, mapped into the
        capped range (edges: the largest edge that fits; plain values: equal monotone buckets). So every
        example is the same sequence of choices and shrinking any one of them never changes how many
        follow (dependent ranges did: a smaller kernel drew more choices and the shrinker overran its
        choice limit, keeping a 4x35x6x6 failure where 1x1x1x2x2 k2 was reachable).
        """
        cap = max(low, min(high, cap))
        edges = sorted({e - offset for e in _TILE_EDGES if low <= e - offset <= high}) if tile_edges else []
        if edges and draw(st.booleans()):
            edge = draw(st.sampled_from(edges))
            fitting = [e for e in edges if e <= cap]
            return edge if edge <= cap else (fitting[-1] if fitting else cap)
        value = draw(st.integers(low, high))
        # [low, high] onto [low, cap] in equal buckets (monotone, so it still shrinks toward low)
        return low + (value - low) * (cap - low + 1) // (high - low + 1)

    @st.composite
    def examples(draw):
        kh = draw(st.integers(1, max_kernel_size))
        kw = draw(st.integers(1, max_kernel_size)) if rectangular_kernels else kh
        if in_channels_step == 1:
            c_in = sized(draw, 1, max_in_channels, budget // (kh * kw))
        else:  # whole steps, the budget kept where a step fits in it
            steps = sized(draw, 1, max_in_channels // in_channels_step, budget // (kh * kw * in_channels_step))
            c_in = steps * in_channels_step
        per_pixel = c_in * kh * kw
        c_out = sized(draw, 1, max_out_channels, min(budget // per_pixel, out_budget))
        per_pixel *= c_out
        batch = sized(draw, 1, max_batch, min(budget // per_pixel, out_budget // c_out))
        per_row = per_pixel * batch
        extra_h = sized(draw, 0, max_extra, budget // per_row - 1, offset=1)
        per_col = per_row * (extra_h + 1)
        extra_w = sized(draw, min_out_width - 1, max_extra, budget // per_col - 1, offset=1)
        dtype = draw(st.sampled_from(dtypes))
        layout = draw(st.sampled_from(layouts))
        dist, scale = draw(regimes)
        seed = draw(seeds())
        kernel_size = [kh, kw] if rectangular_kernels and kh != kw else kh
        return Example(
            sizes=dict(batch=batch, in_channels=c_in, out_channels=c_out, height=kh + extra_h,
                       width=kw + extra_w, kernel_size=kernel_size),
            dtype=dtype, layout=layout, distribution=dist, scale=scale, seed=seed,
        )

    return examples()
