"""layernorm's error bound: PyTorch's fp32 LayerNorm fits it in every value regime; a one-pass variance, eps
outside the square root and perturbed outputs do not."""

import math

import pytest
import torch
import torch.nn.functional as F
from fusefuzz.harness import kinds, problems
from fusefuzz.harness.compare import compare
from fusefuzz.harness.example import Example
from fusefuzz.harness.policies import BoundPolicy
from fusefuzz.harness.runner import Context, judge

PROBLEM = problems.get("layernorm")
REGIMES = [("rand", 1.0), ("randn", 1.0), ("randn_scaled", 1e-3), ("randn_scaled", 1e3), ("randn_offset", 1e2),
           ("randn_offset", 1e4)]


def setup(b=4, n=7, dtype="float32", dist="randn", scale=1.0, seed=3):
    ex = Example(sizes=dict(batch=b, features=n), dtype=dtype, distribution=dist, scale=scale, seed=seed)
    ref = PROBLEM.make_reference(ex, "cpu")
    (x,) = PROBLEM.make_inputs(ex, "cpu")
    ctx = Context(PROBLEM, ex, [x], ref, 0.0, "cpu")
    ref64, allowed = BoundPolicy().expected_and_allowed(ctx, "ieee")
    return ctx, x, ref.norm.weight.detach(), ref.norm.bias.detach(), ref64, allowed


def test_affine_parameters_are_not_the_defaults():
    _, _, w, b, _, _ = setup(n=16)
    assert not torch.equal(w, torch.ones_like(w)) and not torch.equal(b, torch.zeros_like(b))


@pytest.mark.parametrize("dist, scale", REGIMES)
@pytest.mark.parametrize("n", [1, 2, 33, 1000])
def test_pytorch_fp32_layer_norm_fits_the_bound(dist, scale, n):
    _, x, w, b, ref64, allowed = setup(n=n, dist=dist, scale=scale)
    assert torch.isfinite(allowed).all() or dist == "randn_offset"
    assert compare(F.layer_norm(x, (n,), w, b, 1e-5), ref64, allowed).ok


@pytest.mark.parametrize("dist, scale", REGIMES)
def test_ten_times_the_bound_at_one_output_fails(dist, scale):
    ctx, x, w, b, ref64, allowed = setup(n=9, dist=dist, scale=scale)
    out = ref64.clone()
    out[1, 4] += 10 * allowed[1, 4]
    failure, ratios = judge(ctx, out.float().double(), BoundPolicy(), "ieee", config="")
    assert failure is not None and failure.kind == kinds.MISMATCH and ratios["ieee"] > 5


@pytest.mark.parametrize("offset", [1e2, 1e3, 1e4])
def test_one_pass_variance_is_caught_at_a_large_offset(offset):
    _, x, w, b, ref64, allowed = setup(n=7, dist="randn_offset", scale=offset)
    mean = x.mean(-1, keepdim=True)
    var = ((x * x).mean(-1, keepdim=True) - mean * mean).clamp_min(0)  # E[x^2] - E[x]^2 in fp32
    one_pass = (x - mean) * torch.rsqrt(var + 1e-5) * w + b
    assert compare(one_pass, ref64, allowed).worst_ratio > 10
    # the same formula with a zero offset is fine: the regime is what exposes it
    _, x, w, b, ref64, allowed = setup(n=7, dist="randn")
    mean = x.mean(-1, keepdim=True)
    var = ((x * x).mean(-1, keepdim=True) - mean * mean).clamp_min(0)
    assert compare((x - mean) * torch.rsqrt(var + 1e-5) * w + b, ref64, allowed).ok


def test_eps_outside_the_square_root_is_caught_where_var_is_small():
    _, x, w, b, ref64, allowed = setup(n=33, dist="randn_scaled", scale=1e-3)
    d = x - x.mean(-1, keepdim=True)
    wrong = d / ((d * d).mean(-1, keepdim=True).sqrt() + 1e-5) * w + b
    assert compare(wrong, ref64, allowed).worst_ratio > 1e3


def test_one_element_rows_are_the_bias_exactly():
    _, x, w, b, ref64, allowed = setup(b=3, n=1, dist="rand")
    assert torch.equal(ref64, b.double().expand(3, 1))
    assert compare(b.expand(3, 1), ref64, allowed).ok


def test_bf16_output_rounding_is_allowed_but_not_two_ulps():
    _, _, _, _, ref64, allowed = setup(n=40, dtype="bfloat16", seed=5)
    out = ref64.bfloat16()
    assert compare(out, ref64, allowed).ok
    i = int(ref64.abs().argmax())
    off = out.clone().view(-1)
    up = torch.tensor(math.inf, dtype=torch.bfloat16)
    off[i] = torch.nextafter(torch.nextafter(off[i], up), up)
    assert not compare(off.view_as(out), ref64, allowed).ok


def test_the_bound_does_not_depend_on_the_contract():
    ctx, *_ = setup(n=20)
    a = ctx.analysis()
    assert torch.equal(PROBLEM.bound(a, "ieee"), PROBLEM.bound(a, "tf32"))
    assert PROBLEM.auto_contracts == ("ieee",)
