"""Campaigns on CPU: the first kernel fuzzed through the interpreter, every config, honest verdicts."""

import json
import os
import subprocess
import sys

import pytest
from conftest import candidate_path, smallest_failure
from fusefuzz.harness import campaign, candidates, kinds, problems

PROBLEM = problems.get("conv2d_gelu_gap")


def run(candidate, **kw):
    kw.setdefault("profile", "dev")
    kw.setdefault("seed", 0)
    return campaign.run_campaign(PROBLEM, candidate, **kw)


@pytest.mark.parametrize("name", ["conv2d_gelu_gap.twopass", "conv2d_gelu_gap.twopass-ieee"])
def test_first_kernel_passes_its_contract_on_every_config(name):
    result = run(candidates.load(name), max_examples=12, strategy_options=dict(max_macs=60_000))
    assert result.verdict == "pass", [f.message for f in result.failures]
    assert len(result.configs) == 3 and result.examples_run >= 12
    declared = candidates.load(name).precision
    assert result.ratios[declared] <= 1.0


def test_tf32_kernel_claiming_ieee_is_rejected_with_precision_contract():
    cand = candidates.load("conv2d_gelu_gap.twopass", precision="ieee")
    result = run(cand, max_examples=30, strategy_options=dict(dtypes=("float32",), max_macs=60_000))
    assert result.verdict == "fail"
    assert {f.kind for f in result.failures} == {kinds.PRECISION_CONTRACT}


def test_auto_precision_reports_the_contract_the_errors_fit():
    small = dict(dtypes=("float32",), max_macs=60_000)  # the interpreter's time grows with the tiles run
    result = run(candidates.load("conv2d_gelu_gap.twopass", precision=None), precision="auto", max_examples=8,
                 strategy_options=small)
    assert result.verdict == "pass" and "tf32" in result.consistent_with and "ieee" not in result.consistent_with
    result = run(candidates.load("conv2d_gelu_gap.twopass-ieee"), precision="auto", max_examples=6,
                 strategy_options=small)
    assert result.consistent_with == ["ieee", "tf32-rn", "tf32"]


def test_config_sweep_finds_the_one_broken_config(tmp_path):
    cand = candidates.load(candidate_path("broken_second_config.py"))
    # one program per (image, output channel), each looping over pixels: few outputs keep the interpreter fast
    result = run(cand, max_examples=20, repro_dir=str(tmp_path),
                 strategy_options=dict(dtypes=("float32",), max_outputs=6, max_macs=40_000))
    assert result.verdict == "fail"
    failure = smallest_failure(result.failures)
    assert failure.kind == kinds.MISMATCH and "EVEN_P=True" in failure.config
    assert failure.details["config_index"] == 1
    # shrunk to a shape whose pixel count is not a multiple of BLOCK_P=16: the smallest is one pixel
    assert (failure.example["height"], failure.example["width"]) == (failure.example["kernel_size"],) * 2


def test_bf16_dot_examples_are_unsupported_not_judged():
    result = run(candidates.load("conv2d_gelu_gap.twopass"), max_examples=5,
                 strategy_options=dict(dtypes=("bfloat16",)))
    assert result.verdict == "unsupported" and not result.failures
    (reason,) = result.unsupported
    assert "bf16" in reason and result.unsupported[reason] == result.examples_run


def test_overflowing_gelu_shrinks_to_a_minimal_nan_and_its_repro_fails(tmp_path):
    cand = candidates.load(candidate_path("gelu_overflow.py"))
    journal = tmp_path / "report.json.partial"
    result = run(cand, max_examples=60, repro_dir=str(tmp_path), journal=str(journal),
                 strategy_options=dict(dtypes=("float32",), layouts=("contiguous",), max_macs=40_000,
                                           max_outputs=8))
    assert result.verdict == "fail"
    failure = smallest_failure(result.failures)
    assert failure.kind == kinds.NAN
    sizes = failure.example.sizes
    # shrunk to a 1x1 output of one image (the weights that overflow depend on out_channels' draw, so
    # the shrinker may stop at a few output channels)
    assert (sizes["batch"], sizes["in_channels"], sizes["height"], sizes["width"], sizes["kernel_size"]) == (1,) * 5
    assert sizes["out_channels"] <= 16
    assert failure.example.distribution == "randn_scaled"
    assert json.loads(journal.read_text())["failures"][0]["kind"] == kinds.NAN
    proc = subprocess.run([sys.executable, failure.repro], capture_output=True, text=True, timeout=300,
                          cwd=str(tmp_path), env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "non-finite outputs where the reference is finite:" in proc.stdout
    assert "non-finite outputs where the reference is finite: 0 /" not in proc.stdout
