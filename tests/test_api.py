"""fusefuzz.harness.api.verdict: sources or paths in, the verdict record out, within the budget, nothing printed."""

import os
import time

import pytest
from conftest import REPO, candidate_path, smallest_failure
from fusefuzz.harness import campaign, candidates, isolation, kinds, problems
from fusefuzz.harness.api import is_source, verdict

EXAMPLES = os.path.join(REPO, "examples")
PROBLEM = problems.get("conv2d_gelu_gap")
FAST = dict(seed=0, max_examples=4, dtypes=["float32"], shrink=False)


def _read(*parts):
    with open(os.path.join(EXAMPLES, *parts), encoding="utf-8") as f:
        return f.read()


@pytest.fixture(scope="module")
def warm():
    """The worker forkserver started (seconds, once per process), so that budgets time the candidate."""
    isolation.preflight(problems.get("conv2d_gelu_gap"), candidate_path("direct_exact.py"))


def test_sources_are_told_from_paths():
    assert is_source("import torch\nclass ModelNew: ...") and is_source("class ModelNew(nn.Module): pass")
    assert not is_source("examples/candidates/softmax_triton.py") and not is_source(None)
    assert is_source("class Model(nn.Module): pass", cls="Model")


def test_source_strings_give_the_campaigns_verdicts(warm, capfd):
    reference = _read("references", "level1_softmax.py")
    bad = verdict(_read("candidates", "softmax_triton_no_max.py"), reference, budget_s=120, **FAST)
    assert bad["verdict"] == "fail" and bad["exit_code"] == 1 and bad["examples_run"] >= 1
    assert {f["kind"] for f in bad["failures"]} == {kinds.NAN}
    good = verdict(_read("candidates", "softmax_triton.py"), reference, budget_s=120, **FAST)
    assert good["verdict"] == "pass" and good["exit_code"] == 0 and good["failures"] == []
    assert good["examples_run"] >= 4 and good["isolation"]["examples"] >= 4 and good["budget_s"] == 120
    # paths give the same verdict
    path = verdict(os.path.join(EXAMPLES, "candidates", "softmax_triton.py"),
                   os.path.join(EXAMPLES, "references", "level1_softmax.py"), budget_s=120, **FAST)
    assert path["verdict"] == "pass"
    assert capfd.readouterr() == ("", "")


_HANGS = '''
import sys
import warnings

import torch.nn as nn

print("a candidate printing at import")
sys.stderr.write("and writing to stderr\\n")
warnings.warn("and warning")


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        print("forward never returns")
        while True:
            pass
'''


def test_a_hanging_candidate_gets_a_verdict_within_the_budget(warm, capfd):
    budget = 12.0
    start = time.monotonic()
    record = verdict(_HANGS, budget_s=budget, seed=0, profile="dev")
    took = time.monotonic() - start
    assert took < budget + 3, took  # without the budget: 120 s per example, several examples
    assert record["verdict"] == "fail" and record["exit_code"] == 1 and record["budget_spent"] is True
    failure = smallest_failure(record["failures"])
    assert failure["kind"] == kinds.TIMEOUT and "budget ran out" in failure["message"]
    assert "no example had finished" in failure["message"]
    assert capfd.readouterr() == ("", "")


def test_the_budget_stops_an_unfinished_example_unjudged_unless_it_ran_10x_the_slowest():
    cand = candidates.load(candidate_path("direct_exact.py"))
    runner = isolation.IsolatedRunner(problems.get("conv2d_gelu_gap"), cand, deadline=time.monotonic())
    try:
        runner._budget_cut(3.0, 120.0)  # nothing finished yet: a timeout
        runner._slowest = 0.5
        runner._budget_cut(6.0, 120.0)  # 12x the slowest: a timeout
        runner._budget_cut(3.0, 3.0)  # its own limit: a timeout
        with pytest.raises(campaign.BudgetSpent):
            runner._budget_cut(3.0, 120.0)  # 6x the slowest: maybe just slow, so not judged
    finally:
        runner.close()


@pytest.mark.parametrize("candidate, error", [
    ("import torch\nclass Nothing: pass\n", "defines no ModelNew"),
    ("class ModelNew(:\n", "syntax error at line 1"),
    ("no/such/candidate.py", "no such file"),
])
def test_a_candidate_that_cannot_be_loaded_is_an_exit_2_record(warm, capfd, candidate, error):
    record = verdict(candidate, budget_s=60)
    assert record["verdict"] == "error" and record["exit_code"] == 2 and error in record["error"], record
    assert record["failures"] == [] and record["examples_run"] == 0 and "\n" not in record["error"]
    assert capfd.readouterr() == ("", "")


def test_a_reference_that_cannot_be_loaded_and_bad_options_are_exit_2_records():
    good = _read("candidates", "softmax_triton.py")
    assert verdict(good, "import torch\nclass Model:\n  pass\n", budget_s=60)["exit_code"] == 2
    assert verdict(good, _read("references", "level1_softmax.py"), policy="bound", budget_s=60)["exit_code"] == 2
    with pytest.raises(ValueError, match="budget_s=0"):
        verdict(good, budget_s=0)


def test_run_campaign_budget_ends_the_search_and_keeps_what_was_found():
    kw = dict(profile="dev", max_examples=1000, seed=0, strategy_options=dict(dtypes=("float32",)), max_macs=2000)
    start = time.monotonic()
    result = campaign.run_campaign(PROBLEM, candidates.load(candidate_path("direct_exact.py")), budget_s=3, **kw)
    assert time.monotonic() - start < 3 + 5 and result.budget_spent and result.verdict == "pass"
    assert 1 <= result.examples_run < 1000 and any("budget ended the search" in n for n in result.remarks)
    # a budget spent before the first example still runs that one: a verdict needs an example
    failing = campaign.run_campaign(PROBLEM, candidates.load(candidate_path("no_bias.py")), budget_s=1e-3, **kw)
    assert failing.verdict == "fail" and {f.kind for f in failing.failures} == {kinds.MISSING_PARAMETER}
    assert failing.to_json()["budget_spent"] is True and failing.exit_code == 1 and failing.examples_run == 1
    unbudgeted = campaign.run_campaign(PROBLEM, candidates.load(candidate_path("direct_exact.py")),
                                       **{**kw, "max_examples": 2})
    assert not unbudgeted.budget_spent and "budget_spent" not in unbudgeted.to_json()
