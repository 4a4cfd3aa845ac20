"""A problem's own interpreter cost caps reach its strategy (in place of the campaign's conv-sized defaults);
an explicit ``max_macs`` still wins, and ``max_macs=None`` lifts every cap."""

import dataclasses

import pytest
from fusefuzz.harness import backend, campaign, candidates, problems


def _options_seen(problem, **kw):
    seen = {}

    def strategy(**options):
        seen.update(options)
        return problem.strategy(**options)

    spy = dataclasses.replace(problem, strategy=strategy, explicit=())
    campaign.run_campaign(spy, candidates.load("linear_gelu.fused-ieee"), profile="dev", max_examples=1, seed=0,
                          strategy_options=dict(dtypes=("float32",)), **kw)
    return seen


@pytest.mark.skipif(backend.name() != "interpreter", reason="the caps apply to the Triton interpreter only")
def test_problem_caps_replace_the_campaign_defaults():
    linear = problems.get("linear_gelu")
    seen = _options_seen(linear)
    assert seen["max_macs"] == linear.interpreter_options["max_macs"] != campaign.INTERPRETER_MAX_MACS
    assert seen["max_outputs"] == linear.interpreter_options["max_outputs"] != campaign.INTERPRETER_MAX_OUTPUTS
    assert _options_seen(linear, max_macs=5000)["max_macs"] == 5000
    assert "max_outputs" not in _options_seen(linear, max_macs=None)
    assert problems.get("conv2d_gelu_gap").interpreter_options == {}  # conv keeps the campaign's defaults
