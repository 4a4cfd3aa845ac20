"""What a verdict means in exit codes: 0 no failure, 1 a failure, 2 the candidate could not be loaded (or a usage
error), 3 the harness itself failed; a parameter the candidate lacks entirely is a failure (1), not a setup error;
``--strict`` reaches the result."""

import json

import pytest
import torch
import torch.nn as nn
from conftest import candidate_path
from fusefuzz.harness import campaign, candidates, kinds, problems
from fusefuzz.harness.candidates import CandidateError, MissingParameter, copy_parameters
from fusefuzz.harness.cli import main
from fusefuzz.harness.example import Example
from fusefuzz.harness.problems.conv2d_gelu_gap import Model
from fusefuzz.harness.runner import run_example

PROBLEM = problems.get("conv2d_gelu_gap")
SMALL = ["--max-examples", "2", "--seed", "0", "--dtypes", "float32", "--layouts", "contiguous", "--max-macs", "2000"]


# ----------------------------------------------------------------------------------------------------
# a parameter the candidate lacks entirely

class _WeightOnly(nn.Module):
    def __init__(self, bias_shape=None):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(4, 3, 2, 2))
        if bias_shape is not None:
            self.offset = nn.Parameter(torch.zeros(bias_shape))


def test_a_missing_parameter_is_its_own_error_and_a_renamed_one_stays_a_setup_error():
    with pytest.raises(MissingParameter, match=r"no parameter for the reference's conv.bias \(shape \(4,\)\)") as e:
        copy_parameters(Model(3, 4, 2), _WeightOnly())
    assert e.value.mapping == {"conv.weight": "weight"}  # what could be matched, for the repro script
    # a left-over parameter of another shape may be the bias under another name and shape: fix the naming (exit 2)
    with pytest.raises(CandidateError, match=r"its offset \(4, 1\) match none") as e:
        copy_parameters(Model(3, 4, 2), _WeightOnly(bias_shape=(4, 1)))
    assert not isinstance(e.value, MissingParameter)
    assert copy_parameters(Model(3, 4, 2), _WeightOnly(bias_shape=(4,))) == {"conv.weight": "weight",
                                                                              "conv.bias": "offset"}


def test_a_candidate_without_the_bias_fails_per_example():
    example = Example(sizes=dict(batch=1, in_channels=1, out_channels=2, height=2, width=2, kernel_size=1))
    cand = candidates.load(candidate_path("no_bias.py"))
    campaign.preflight(PROBLEM, cand)  # not a setup error any more
    (failure,) = run_example(PROBLEM, cand, example, checks=()).failures
    assert failure.kind == kinds.MISSING_PARAMETER and "conv.bias" in failure.summary
    assert failure.details["param_map"] == {"conv.weight": "conv.weight"}
    # its twin with the bias passes the same example
    assert run_example(PROBLEM, candidates.load(candidate_path("direct_exact.py")), example, checks=()).ok


def test_a_candidate_without_the_bias_exits_1_with_kind_missing_parameter(tmp_path):
    out = tmp_path / "r.json"
    assert main(["check", candidate_path("no_bias.py"), "--no-isolate", "--quiet", "--json", str(out),
                 "--repro-dir", str(tmp_path), *SMALL]) == 1
    report = json.loads(out.read_text())
    assert report["verdict"] == "fail" and report["exit_code"] == 1
    assert {f["kind"] for f in report["failures"]} == {kinds.MISSING_PARAMETER}
    assert main(["check", candidate_path("ambiguous_params.py"), "--no-isolate", "--quiet", *SMALL]) == 2


# ----------------------------------------------------------------------------------------------------
# exit codes

def test_exit_code_of_each_verdict():
    result = campaign.CampaignResult("c", "p", "b", "dev", "bound", "ieee")
    codes = {}
    for v in ("pass", "unsupported", "fail", "error"):
        result.verdict = v
        codes[v] = result.exit_code
    assert codes == {"pass": 0, "unsupported": 0, "fail": 1, "error": 3}
    assert result.to_json()["exit_code"] == 3


def test_a_harness_failure_in_a_campaign_is_exit_3_not_a_verdict_on_the_candidate(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug of the harness")

    monkeypatch.setattr(campaign, "run_example", broken)
    result = campaign.run_campaign(PROBLEM, candidates.load(candidate_path("direct_exact.py")), profile="dev",
                                   max_examples=2, seed=0, shrink=False)
    assert result.verdict == "error" and result.exit_code == 3 and "a bug of the harness" in result.error


def test_a_harness_failure_in_the_cli_is_exit_3_with_one_line(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug of the harness")

    monkeypatch.setattr(campaign, "run_campaign", broken)
    assert main(["check", candidate_path("direct_exact.py"), "--no-isolate", "--quiet", *SMALL]) == 3
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("fusefuzz: harness error") and "RuntimeError: a bug of the harness" in last
    assert main(["check", candidate_path("no_modelnew.py"), "--no-isolate", "--quiet"]) == 2  # not the harness's


def test_strict_reaches_the_result(tmp_path):
    cand = candidates.load(candidate_path("direct_exact.py"))
    assert campaign.run_campaign(PROBLEM, cand, profile="dev", max_examples=1, seed=0, strict=True,
                                 strategy_options=dict(dtypes=("float32",)), max_macs=2000).to_json()["strict"]
    assert not campaign.run_campaign(PROBLEM, cand, profile="dev", max_examples=1, seed=0,
                                     strategy_options=dict(dtypes=("float32",)), max_macs=2000).strict
    out = tmp_path / "r.json"
    assert main(["check", candidate_path("direct_exact.py"), "--no-isolate", "--quiet", "--strict", "--json",
                 str(out), *SMALL]) == 0
    assert json.loads(out.read_text())["strict"] is True


def test_pytest_strict_option_reaches_the_fixture(request, monkeypatch):
    monkeypatch.setattr(request.config.option, "fusefuzz_strict", True)
    assert request.getfixturevalue("fusefuzz_options")["strict"] is True
