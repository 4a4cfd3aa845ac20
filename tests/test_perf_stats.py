"""The regression gate on synthetic round times: a factor AND a Mann-Whitney test (harness/perf/stats.py)."""

import pytest
from fusefuzz.harness.perf import stats
from perf_runs import samples

pytest.importorskip("scipy", reason="the gate's Mann-Whitney test needs scipy (pip install 'fusefuzz[perf]')")


def test_a_a_rerun_raises_no_alarm_over_many_seeds():
    # two independent runs of the same kernel, 20 times over: never an alarm (both noise and outliers)
    for seed in range(20):
        v = stats.gate(samples(0.61, seed=2 * seed), samples(0.61, seed=2 * seed + 1))
        assert v.status == stats.NO_CHANGE, (seed, v)
        assert 0.98 < v.ratio < 1.02


def test_ten_percent_slower_is_flagged():
    v = stats.gate(samples(0.61 * 1.10, seed=1), samples(0.61, seed=2))
    assert v.status == stats.REGRESSION and v.alarm
    assert v.p_slower < stats.DEFAULT_ALPHA and 1.08 < v.ratio < 1.12
    assert v.ci_low > 1.05  # the bootstrap interval of the ratio excludes "within threshold"
    assert "slower" in v.reason


def test_a_shift_inside_the_threshold_is_not_flagged_even_when_significant():
    # 2 % slower with many rounds: the test is sure, the factor says it does not matter
    v = stats.gate(samples(1.02, n=3000, seed=3), samples(1.0, n=3000, seed=4))
    assert v.p_slower < 1e-6
    assert v.status == stats.NO_CHANGE and "within the threshold" in v.reason


def test_noisy_but_not_slower_is_not_flagged():
    # the same median with five times the spread: a wider distribution is not a slower one
    v = stats.gate(samples(0.61, spread=0.05, seed=5), samples(0.61, spread=0.01, seed=6))
    assert v.status == stats.NO_CHANGE
    assert not v.alarm


def test_a_factor_without_evidence_is_not_flagged():
    base = [0.8, 0.9, 1.0, 1.1, 1.2] * 4
    cur = [0.85, 1.0, 1.08, 1.15, 1.25]  # median 8 % slower, but the rounds overlap completely
    v = stats.gate(cur, base)
    assert v.ratio > 1.05 and v.p_slower > stats.DEFAULT_ALPHA
    assert v.status == stats.NO_CHANGE and "not significant" in v.reason


def test_too_few_rounds_are_said_to_be_too_few():
    # 3 vs 3 rounds: even a total separation gives p = 1/20 at best
    v = stats.gate([2.0, 2.1, 2.2], [1.0, 1.0, 1.1])
    assert v.status == stats.TOO_FEW and "smallest possible p" in v.reason
    assert stats.min_p_value(3, 3) == pytest.approx(1 / 20)


def test_improvement_is_reported_not_alarmed():
    v = stats.gate(samples(0.5, seed=7), samples(0.61, seed=8))
    assert v.status == stats.IMPROVEMENT and not v.alarm


@pytest.mark.parametrize("kw, text", [({"threshold": 1.0}, "threshold=1.0"), ({"alpha": 0.0}, "alpha=0.0")])
def test_bad_gate_parameters_are_one_line_errors(kw, text):
    with pytest.raises(ValueError, match=text):
        stats.gate([1.0] * 10, [1.0] * 10, **kw)


def test_threshold_overrides_and_declared_thresholds():
    class Rec:
        fullname, name, extra_info = "benchmarks/t.py::test_kernel[fused-headline-float32]", "test_kernel", {}

    assert stats.threshold_for(Rec()) == stats.DEFAULT_THRESHOLD
    Rec.extra_info = {"regression_threshold": 1.15, "regression_alpha": 0.01}
    assert stats.threshold_for(Rec()) == 1.15 and stats.alpha_for(Rec()) == 0.01
    assert stats.threshold_for(Rec(), [stats.parse_override("*fused-headline*=1.02")]) == 1.02
    with pytest.raises(ValueError, match="PATTERN=FACTOR"):
        stats.parse_override("fused=0.9")
