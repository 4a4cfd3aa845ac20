"""Campaigns against reference files: broken candidates caught and shrunk, correct ones pass, repros run."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from conftest import REPO, smallest_failure
from fusefuzz.harness import candidates, kinds
from fusefuzz.harness.campaign import run_campaign
from fusefuzz.harness.cli import main
from fusefuzz.harness.problems import kernelbench

EXAMPLES = os.path.join(REPO, "examples")
FP32 = {"dtypes": ("float32",)}


def ref(name):
    return os.path.join(EXAMPLES, "references", name)


def cand(name):
    return os.path.join(EXAMPLES, "candidates", name)


def campaign(reference, candidate, **kw):
    problem = kernelbench.from_file(ref(reference))
    kw.setdefault("seed", 0)
    kw.setdefault("profile", "dev")
    kw.setdefault("strategy_options", FP32)
    return run_campaign(problem, candidates.load(cand(candidate), problem=problem), **kw)


def test_k_tail_bug_is_caught_shrunk_to_one_element_and_its_repro_fails(tmp_path):
    result = campaign("level1_matmul.py", "matmul_triton_k_tail.py", max_examples=15, repro_dir=str(tmp_path))
    assert result.verdict == "fail" and result.policy.startswith("peer")
    failure = smallest_failure(result.failures)
    assert failure.kind == kinds.MISMATCH and failure.example.sizes == {"M": 1, "K": 1, "N": 1}
    proc = subprocess.run([sys.executable, failure.repro], capture_output=True, text=True, timeout=300,
                          cwd=str(tmp_path), env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL" in proc.stdout and "'M': 1" in proc.stdout


def test_square_only_bug_is_caught_at_a_small_non_square_input():
    result = campaign("level1_sum_reduction.py", "sum_reduction_square_only.py", max_examples=15)
    failure = smallest_failure(result.failures)
    sizes = failure.example.sizes
    assert failure.kind == kinds.MISMATCH and sizes["dim1"] != sizes["dim2"]
    assert sizes["batch_size"] == 1 and sizes["dim1"] + sizes["dim2"] <= 4


def test_overflowing_softmax_is_caught_only_with_scaled_values():
    result = campaign("level1_softmax.py", "softmax_triton_no_max.py", max_examples=20)
    failure = smallest_failure(result.failures)
    assert failure.kind == kinds.NAN and failure.example.distribution == "reference_scaled"
    assert failure.example.sizes == {"batch_size": 1, "dim": 1}
    # KernelBench's own values (get_inputs as written) never overflow: the same campaign without scaling passes
    result = campaign("level1_softmax.py", "softmax_triton_no_max.py", max_examples=6,
                      strategy_options={**FP32, "distributions": ("reference",)})
    assert result.verdict == "pass"


@pytest.mark.parametrize("reference, candidate", [
    ("level1_matmul.py", "matmul_triton.py"),
    ("level1_softmax.py", "softmax_triton.py"),
    ("level1_sum_reduction.py", "sum_reduction_triton.py"),
    ("level2_gemm_relu_divide.py", "gemm_relu_divide_triton.py"),
    ("level2_conv2d_relu_biasadd.py", "conv2d_relu_biasadd_triton.py"),
])
def test_correct_candidates_pass_every_reference_via_the_cli(tmp_path, reference, candidate):
    out = tmp_path / "r.json"
    code = main(["check", cand(candidate), "--reference", ref(reference), "--max-examples", "5", "--seed", "1",
                 "--no-isolate", "--dtypes", "float32,float16", "--json", str(out)])
    report = json.loads(out.read_text())
    assert code == 0, report["failures"]
    assert report["verdict"] == "pass" and report["problem"] == "ref:" + reference[:-3]
    assert report["examples_run"] >= 5


def test_isolated_workers_rebuild_the_problem_from_the_reference(tmp_path):
    out = tmp_path / "r.json"
    code = main(["check", cand("matmul_triton_k_tail.py"), "--reference", ref("level1_matmul.py"),
                 "--max-examples", "6", "--seed", "0", "--dtypes", "float32", "--json", str(out),
                 "--repro-dir", str(tmp_path)])
    report = json.loads(out.read_text())
    assert code == 1 and report["isolation"]["workers_started"] >= 1
    failure = smallest_failure(report["failures"])
    assert failure["kind"] == kinds.MISMATCH and (failure["example"]["M"], failure["example"]["K"]) == (1, 1)


def test_a_reference_raising_at_run_time_is_no_verdict_on_the_candidate(tmp_path):
    # the reference refuses float64, so the harness's float64 reference cannot be computed: that example
    # is counted as unsupported, never as the candidate's failure
    reference = tmp_path / "ref.py"
    reference.write_text(textwrap.dedent("""
        import torch
        import torch.nn as nn

        class Model(nn.Module):
            def forward(self, x):
                if x.dtype == torch.float64:
                    raise TypeError("this reference has no float64 path")
                return x * 2

        n = 64

        def get_inputs():
            return [torch.randn(n)]

        def get_init_inputs():
            return []
    """))
    candidate = tmp_path / "cand.py"
    candidate.write_text(textwrap.dedent("""
        import torch
        import torch.nn as nn
        import triton
        import triton.language as tl

        @triton.jit
        def _double(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
            i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
            tl.store(y_ptr + i, tl.load(x_ptr + i, mask=i < n) * 2, mask=i < n)

        class ModelNew(nn.Module):
            def forward(self, x):
                x = x.contiguous()
                y = torch.empty_like(x)
                _double[(triton.cdiv(x.numel(), 64),)](x, y, x.numel(), BLOCK=64)
                return y
    """))
    problem = kernelbench.from_file(str(reference))
    result = run_campaign(problem, candidates.load(str(candidate), problem=problem), max_examples=4, seed=0,
                          strategy_options=FP32)
    assert result.verdict == "unsupported" and not result.failures
    (reason,) = result.unsupported
    assert reason.startswith("the reference itself raised here, not the candidate's fault")


def test_row_grid_bug_leaves_rows_unwritten_and_the_poison_shows_it(monkeypatch):
    monkeypatch.setenv("FUSEFUZZ_CHECKS", "poison")
    result = campaign("level2_gemm_relu_divide.py", "gemm_relu_divide_rows_grid.py", max_examples=10)
    failure = smallest_failure(result.failures)
    assert failure.kind == kinds.UNINITIALIZED_OUTPUT
    assert failure.example.sizes == {"batch_size": 1, "in_features": 1, "out_features": 1}


def test_contiguous_only_conv_is_caught_on_other_layouts_and_passes_contiguous_ones():
    result = campaign("level2_conv2d_relu_biasadd.py", "conv2d_relu_biasadd_contiguous_only.py", max_examples=15,
                      strategy_options={**FP32, "layouts": ("channels_last", "strided")})
    failure = smallest_failure(result.failures)
    assert failure.kind == kinds.MISMATCH and failure.example.layout in ("channels_last", "strided")
    result = campaign("level2_conv2d_relu_biasadd.py", "conv2d_relu_biasadd_contiguous_only.py", max_examples=5,
                      strategy_options={**FP32, "layouts": ("contiguous",)})
    assert result.verdict == "pass"
