"""Accuracy grades: the worst error/allowed ratio under bound, peer, allclose 1e-4 and 1e-2; the tightest passed."""

import dataclasses
import math

import pytest
import torch
from fusefuzz.harness import accuracy, problems
from fusefuzz.harness.accuracy import Accuracy, grade_output, merge
from fusefuzz.harness.example import Example
from fusefuzz.harness.problems.kernelbench import no_bound
from fusefuzz.harness.runner import Context

CONV = problems.get("conv2d_gelu_gap")
NAMES = ["bound", "peer", "allclose 1e-4", "allclose 1e-2"]


def context(dtype="float32", problem=CONV):
    ex = Example(sizes=dict(batch=2, in_channels=3, out_channels=5, height=4, width=4, kernel_size=3), dtype=dtype,
                 distribution="randn", seed=4)
    ref = problem.make_reference(ex, "cpu")
    inputs = problem.make_inputs(ex, "cpu")
    return Context(problem, ex, inputs, ref, 0.0, "cpu")


def test_grades_come_strictest_first():
    assert [n for n, _ in accuracy.GRADES] == NAMES


@pytest.mark.parametrize("relative, tightest", [(0.0, "bound"), (1e-5, "allclose 1e-4"), (1e-3, "allclose 1e-2"),
                                                (0.5, None)])
def test_tightest_grade_follows_the_error(relative, tightest):
    ctx = context()
    ref64 = ctx.analysis().ref64
    out = (ref64 * (1 + relative)).float()
    acc = grade_output(ctx, out, "ieee")
    assert list(acc.ratios) == NAMES and acc.contract == "ieee"
    assert acc.tightest == tightest
    r = acc.ratios
    # looser grades allow more, so their ratios never exceed a stricter one's by much (peer vs bound can swap)
    assert r["allclose 1e-2"] < r["allclose 1e-4"]
    if relative:
        assert r["allclose 1e-4"] == pytest.approx(
            max(float(((out.double() - ctx.torch_output().double()).abs()
                       / (1e-4 + 1e-4 * ctx.torch_output().double().abs())).max()), 0.0), rel=1e-9)
    assert acc.to_json()["grades"][0] == {"grade": "bound", "worst_ratio": r["bound"], "passed": r["bound"] <= 1}
    assert (tightest or "none of the grades") in acc.describe()


def test_pytorch_fp16_is_graded_bound():
    ctx = context("float16")
    with torch.no_grad():
        eager = ctx.reference(*ctx.inputs)
    acc = grade_output(ctx, eager, "ieee")
    assert acc.tightest == "bound" and all(r <= 1 for r in acc.ratios.values())


def test_nan_output_fails_every_grade():
    ctx = context()
    out = ctx.analysis().ref64.float()
    out[0, 0] = math.nan
    acc = grade_output(ctx, out, "ieee")
    assert acc.tightest is None and all(r == math.inf for r in acc.ratios.values())


def test_problem_without_a_bound_starts_at_peer():
    ctx = context(problem=dataclasses.replace(CONV, bound=no_bound))
    acc = grade_output(ctx, ctx.analysis().ref64.float(), "ieee")
    assert acc.ratios["bound"] is None and acc.tightest == "peer"
    assert acc.to_json()["grades"][0]["passed"] is False and "bound n/a" in acc.describe()


def test_auto_resolves_to_the_strictest_contract_that_fits():
    ctx = context()
    assert grade_output(ctx, ctx.analysis().ref64.float(), "auto").contract == "ieee"
    assert accuracy.resolve_contract(ctx, ctx.analysis().ref64.float(), "tf32") == "tf32"


def test_merge_takes_the_worst_ratio_per_grade_and_the_tightest_all_passed():
    a = Accuracy(dict(zip(NAMES, [0.5, 0.1, 0.01, 0.001], strict=True)), "ieee", "bound")
    b = Accuracy(dict(zip(NAMES, [3.0, 0.9, 0.2, 0.002], strict=True)), "ieee", "peer")
    m = merge([a, None, b])
    assert m.ratios == dict(zip(NAMES, [3.0, 0.9, 0.2, 0.002], strict=True)) and m.tightest == "peer"
    c = Accuracy(dict(zip(NAMES, [None, 2.0, 0.5, 0.1], strict=True)), "tf32", "allclose 1e-4")
    m = merge([a, c])
    assert m.ratios["bound"] is None and m.tightest == "allclose 1e-4" and m.contract == "ieee/tf32"
    assert merge([]) is None
    worst = Accuracy(dict(zip(NAMES, [math.inf] * 4, strict=True)), "ieee", None)
    assert merge([a, worst]).tightest is None
