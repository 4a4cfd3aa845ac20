"""linear_gelu's error bound: correct fp32 / TF32 computations fit it, approximate or perturbed ones do not."""

import math

import pytest
import torch
import torch.nn.functional as F
from fusefuzz.harness import kinds, problems
from fusefuzz.harness.compare import compare
from fusefuzz.harness.example import Example
from fusefuzz.harness.policies import BoundPolicy
from fusefuzz.harness.runner import Context, judge, round_operand

PROBLEM = problems.get("linear_gelu")


def example(m=3, k=37, n=5, dtype="float32", dist="randn", scale=1.0, seed=0):
    return Example(sizes=dict(batch=m, in_features=k, out_features=n), dtype=dtype, distribution=dist, scale=scale,
                   seed=seed)


def context(ex):
    ref = PROBLEM.make_reference(ex, "cpu")
    (x,) = PROBLEM.make_inputs(ex, "cpu")
    return Context(PROBLEM, ex, [x], ref, 0.0, "cpu"), x, ref.linear.weight.detach(), ref.linear.bias.detach()


def test_bound_of_one_product_matches_hand_derivation():
    ctx, x, w, b = context(example(m=1, k=1, n=1, seed=3))
    xv, wv, bv = float(x), float(w), float(b)
    v = xv * wv + bv
    g = 0.5 * v * (1 + math.erf(v / math.sqrt(2)))
    u = 2.0**-24
    g2 = 2 * u / (1 - 2 * u)  # gamma_{K+1}, K = 1, IEEE fp32 accumulation
    dot = g2 * (abs(xv * wv) + abs(bv)) + 3 * torch.finfo(torch.float32).tiny
    expected = 1.129 * dot + 4 * u * (abs(g) + abs(v))
    _, allowed = BoundPolicy().expected_and_allowed(ctx, "ieee")
    assert float(allowed) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("dist, scale", [("rand", 1.0), ("randn", 1.0), ("randn_scaled", 1e3), ("randn_scaled", 1e-3)])
def test_pytorch_fp32_fits_ieee_and_ten_times_the_bound_fails(dist, scale):
    ctx, x, w, b = context(example(m=4, k=97, n=9, dist=dist, scale=scale, seed=7))
    out = F.gelu(F.linear(x, w, b))  # PyTorch in fp32 on the CPU: a correct fp32 computation
    ref64, allowed = BoundPolicy().expected_and_allowed(ctx, "ieee")
    assert compare(out, ref64, allowed).ok
    bad = out.double()
    bad[2, 3] += 10 * allowed[2, 3]
    comp = compare(bad, ref64, allowed)
    assert not comp.ok and comp.kind == kinds.MISMATCH and comp.worst_ratio_index == (2, 3)


def test_tf32_dot_fits_tf32_and_is_a_precision_contract_breach_under_ieee():
    ctx, x, w, b = context(example(m=3, k=64, n=7, dist="rand", seed=2))
    v = round_operand(x, "tf32").double() @ round_operand(w, "tf32").double().T + b.double()
    out = F.gelu(v).float()  # exact products of truncated operands, as Triton's TF32 dot on a GPU
    assert judge(ctx, out, BoundPolicy(), "tf32", config="")[0] is None
    failure, ratios = judge(ctx, out, BoundPolicy(), "ieee", config="")
    assert failure is not None and failure.kind == kinds.PRECISION_CONTRACT and ratios["ieee"] > 1


def test_tanh_gelu_is_seen_without_a_budget_and_passes_with_one():
    ctx, x, w, b = context(example(m=8, k=16, n=16, seed=4))
    out = F.gelu(F.linear(x.double(), w.double(), b.double()), approximate="tanh").float()
    ref64, allowed = BoundPolicy().expected_and_allowed(ctx, "ieee")
    assert compare(out, ref64, allowed).worst_ratio > 100  # ~1e-4 absolute against a ~1e-7 bound
    ctx.budget = 1e-3  # what a candidate declares with FUSEFUZZ_APPROX_BUDGET
    ref64, allowed = BoundPolicy().expected_and_allowed(ctx, "ieee")
    assert compare(out, ref64, allowed).ok


def test_fp16_rounding_and_pytorchs_unfused_stores_are_allowed_but_not_a_2e_8_relative_error():
    ctx, x, w, b = context(example(m=2, k=33, n=17, dtype="float16", seed=5))
    ref64, allowed = BoundPolicy().expected_and_allowed(ctx, "ieee")
    out = ref64.half()  # correctly rounded fp16 result
    assert compare(out, ref64, allowed).ok
    eager = F.gelu(F.linear(x, w, b))  # PyTorch at fp16: F.linear's output is stored in fp16, then read by gelu
    assert eager.dtype == torch.float16 and compare(eager, ref64, allowed).ok
    big = ref64.abs().argmax()
    off = out.double().clone().view(-1)
    off[big] *= 1 + 2.0**-8  # 8 fp16 unit roundoffs: more than the three roundings an unfused computation makes
    comp = compare(off.view_as(out).half(), ref64, allowed)
    assert not comp.ok and comp.mismatched == 1
