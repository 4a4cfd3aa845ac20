"""Strategies: shrinking goes where it should, options are validated, the interpreter budget holds."""

import pytest
from fusefuzz.properties import conv2d_examples, value_regimes
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st


def _macs(ex):
    k = ex["kernel_size"]
    kh, kw = (k, k) if isinstance(k, int) else k
    return (ex["batch"] * ex["out_channels"] * ex["in_channels"] * kh * kw
            * (ex["height"] - kh + 1) * (ex["width"] - kw + 1))


def test_property_failing_only_when_h_differs_from_w_shrinks_to_smallest_such_shape():
    smallest = find(conv2d_examples(), lambda ex: ex["height"] != ex["width"],
                    settings=settings(max_examples=500, database=None))
    assert smallest.sizes == dict(batch=1, in_channels=1, out_channels=1, height=1, width=2, kernel_size=1)
    assert (smallest.dtype, smallest.layout, smallest.distribution) == ("float32", "contiguous", "rand")


def test_scale_shrinks_toward_one():
    regime = find(value_regimes(distributions=("randn_scaled",)), lambda r: True,
                  settings=settings(database=None))
    assert regime == ("randn_scaled", 1.0)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(conv2d_examples(max_macs=50_000, rectangular_kernels=True))
def test_examples_respect_ranges_and_budget(ex):
    k = ex["kernel_size"]
    kh, kw = (k, k) if isinstance(k, int) else k
    assert 1 <= ex["batch"] <= 8 and 1 <= ex["in_channels"] <= 64 and 1 <= ex["out_channels"] <= 96
    assert 1 <= kh <= 7 and 1 <= kw <= 7
    assert kh <= ex["height"] <= kh + 48 and kw <= ex["width"] <= kw + 48
    assert _macs(ex) <= max(50_000, ex["in_channels"] * ex["out_channels"] * kh * kw)
    if ex.distribution == "randn_scaled":
        assert 1e-3 <= ex.scale <= 1e3
    else:
        assert ex.scale == 1.0
    assert 0 <= ex.seed < 2**32


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(conv2d_examples(max_macs=200_000, in_channels_step=16))
def test_in_channels_step_draws_whole_steps_within_the_budget(ex):
    k = ex["kernel_size"]
    assert ex["in_channels"] in (16, 32, 48, 64)
    assert _macs(ex) <= max(200_000, ex["in_channels"] * ex["out_channels"] * k * k)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(conv2d_examples(min_out_width=128, max_extra=300, max_macs=2_000_000))
def test_min_out_width_keeps_the_output_width(ex):
    k = ex["kernel_size"]
    assert 128 <= ex["width"] - k + 1 <= 301


def test_all_regimes_are_reachable():
    seen = set()

    @settings(max_examples=300, database=None)
    @given(conv2d_examples(max_macs=10_000))
    def collect(ex):
        seen.add((ex.dtype, ex.layout, ex.distribution))

    collect()
    assert {d for d, _, _ in seen} == {"float32", "float16", "bfloat16"}
    assert {lay for _, lay, _ in seen} == {"contiguous", "channels_last", "strided"}
    assert {v for _, _, v in seen} == {"rand", "randn", "randn_scaled"}


@pytest.mark.parametrize("kwargs, message", [
    (dict(max_batch=0), "max_batch=0"),
    (dict(max_extra=-1), "max_extra=-1"),
    (dict(dtypes=("float64",)), "dtypes=('float64',)"),
    (dict(layouts=()), "layouts=()"),
    (dict(in_channels_step=0), "in_channels_step=0"),
    (dict(in_channels_step=32, max_in_channels=16), "in_channels_step=32 > max_in_channels=16"),
    (dict(min_out_width=0), "min_out_width=0"),
    (dict(min_out_width=128), "min_out_width=128 needs max_extra >= 127 (got max_extra=48)"),
])
def test_bad_options_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        conv2d_examples(**kwargs)


def test_strategy_is_keyword_only():
    with pytest.raises(TypeError):
        conv2d_examples(8)  # noqa


def test_st_is_hypothesis():  # the public module re-exports, nothing else
    from fusefuzz import properties

    assert set(properties.__all__) >= {"conv2d_examples", "value_regimes", "seeds"}
    assert isinstance(properties.seeds(), st.SearchStrategy)
