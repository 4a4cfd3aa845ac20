"""Strategies of the 2-D problems: shrinking, caps, tile edges, the offset regime, option errors."""

import pytest
from fusefuzz.properties import layernorm_examples, linear_examples, value_regimes
from hypothesis import HealthCheck, find, given, settings

FIND = settings(max_examples=500, database=None)


def test_linear_shrinks_to_the_smallest_k_tail():
    ex = find(linear_examples(), lambda e: e["in_features"] % 16 != 0 and e["in_features"] > 16, settings=FIND)
    assert ex.sizes == dict(batch=1, in_features=17, out_features=1)
    assert (ex.dtype, ex.layout, ex.distribution) == ("float32", "contiguous", "rand")


def test_layernorm_shrinks_to_the_smallest_row_past_a_block():
    ex = find(layernorm_examples(), lambda e: e["features"] > 256, settings=FIND)
    assert ex.sizes == dict(batch=1, features=257)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(linear_examples(max_macs=20_000, max_outputs=500))
def test_linear_respects_ranges_and_caps(ex):
    m, k, n = ex["batch"], ex["in_features"], ex["out_features"]
    assert 1 <= m <= 640 and 1 <= k <= 1280 and 1 <= n <= 1280
    assert m * k * n <= max(20_000, k * n) and m * n <= max(500, n)
    assert ex.layout in ("contiguous", "strided")


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(layernorm_examples(max_macs=4 * 2048, max_outputs=1000, max_batch=8))
def test_layernorm_respects_ranges_and_caps(ex):
    b, n = ex["batch"], ex["features"]
    assert 1 <= b <= 8 and 1 <= n <= 1000 and b * n <= max(1000, n)
    if ex.distribution == "randn_offset":
        assert 1.0 <= ex.scale <= 1e4


def _edge_hits(strategy, key, edges):
    hits = []

    @settings(max_examples=300, database=None, derandomize=True)
    @given(strategy)
    def count(ex):
        hits.append(ex[key] in edges)

    count()
    return sum(hits)


@pytest.mark.parametrize("strategy, key, edges", [
    (linear_examples, "in_features", {17, 33, 65, 129, 257, 513, 1025}),
    (layernorm_examples, "features", {257, 513, 1025, 2049, 4097, 8193, 16385}),
])
def test_tile_edges_are_drawn_on_purpose(strategy, key, edges):
    on, off = _edge_hits(strategy(), key, edges), _edge_hits(strategy(tile_edges=False), key, edges)
    assert on >= 10 and on > 2 * off  # one past a power of two: ~5-8 % of draws, ~1 % by chance


@pytest.mark.parametrize("wanted", [
    lambda e: e.distribution == "randn_offset" and e.scale == 1e4,
    lambda e: e.distribution == "randn_scaled" and e.scale == 1e-3,
], ids=["offset=1e4", "scale=1e-3"])
def test_value_extremes_are_drawn_exactly(wanted):
    find(layernorm_examples(), wanted, settings=settings(max_examples=2000, database=None))


def test_offset_regime_shrinks_toward_one():
    assert find(value_regimes(distributions=("randn_offset",)), lambda r: True,
                settings=settings(database=None)) == ("randn_offset", 1.0)


@pytest.mark.parametrize("strategy, kwargs, message", [
    (linear_examples, dict(max_batch=0), "max_batch=0"),
    (linear_examples, dict(max_outputs=0), "max_outputs=0"),
    (linear_examples, dict(layouts=("diagonal",)), "layouts=('diagonal',)"),
    (layernorm_examples, dict(max_features=-3), "max_features=-3"),
    (layernorm_examples, dict(distributions=("poisson",)), "distributions=('poisson',)"),
    (layernorm_examples, dict(max_macs=2), "max_macs=2"),
])
def test_bad_options_name_the_value(strategy, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        strategy(**kwargs)


@pytest.mark.parametrize("strategy", [linear_examples, layernorm_examples])
def test_strategies_are_keyword_only(strategy):
    with pytest.raises(TypeError):
        strategy(8)
