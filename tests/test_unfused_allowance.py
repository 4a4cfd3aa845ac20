"""The default policy never calls PyTorch wrong: the bounds charge the 16-bit stores of an unfused computation.

PyTorch eager at fp16/bf16 stores every intermediate (conv / linear output, GELU output) in the input dtype. The
bounds of conv2d_gelu_gap and linear_gelu charge one rounding per such store (their module docstrings); before,
they charged only the final store, and PyTorch's own result failed them. Each check here has its broken twin:
the same stores rounded twice as coarsely, or a 2^-8 relative error at fp16, are rejected.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import candidate_path
from fusefuzz.harness import candidates, kinds, problems
from fusefuzz.harness.compare import compare
from fusefuzz.harness.example import Example
from fusefuzz.harness.policies import BoundPolicy
from fusefuzz.harness.problems import conv2d_gelu_gap, linear_gelu
from fusefuzz.harness.runner import ALL_CHECKS, Context, run_example

CONV = problems.get("conv2d_gelu_gap")
LINEAR = problems.get("linear_gelu")
LAYERNORM = problems.get("layernorm")
CONV_SIZES = ("batch", "in_channels", "out_channels", "height", "width", "kernel_size")


def conv_example(sizes, dtype, dist="randn", seed=0, scale=1.0):
    return Example(sizes=dict(zip(CONV_SIZES, sizes, strict=True)), dtype=dtype, distribution=dist, seed=seed,
                   scale=scale)


def linear_example(m, k, n, dtype, dist="randn", seed=0, scale=1.0):
    return Example(sizes=dict(batch=m, in_features=k, out_features=n), dtype=dtype, distribution=dist, seed=seed,
                   scale=scale)


def setup(problem, ex):
    """(context, inputs, reference module, PyTorch eager output at the example's dtype)."""
    ref = problem.make_reference(ex, "cpu")
    inputs = problem.make_inputs(ex, "cpu")
    with torch.no_grad():
        eager = ref(*inputs)
    return Context(problem, ex, [x.clone() for x in inputs], ref, 0.0, "cpu"), inputs, ref, eager


def ratio(ctx, out) -> float:
    expected, allowed = BoundPolicy().expected_and_allowed(ctx, "ieee")
    return compare(out, expected, allowed).worst_ratio


def round_to_bits(t: torch.Tensor, bits: int) -> torch.Tensor:
    """Round float64 values to ``bits`` mantissa bits (nearest even), exponent unbounded."""
    m, e = torch.frexp(t)
    scale = 2.0 ** (bits + 1)
    return torch.ldexp(torch.round(m * scale) / scale, e)


# ------------------------------------------------------------------------------------------------------------

def test_conv_bound_of_one_fp16_product_matches_hand_derivation():
    ex = conv_example((1, 1, 1, 1, 1, 1), "float16", seed=3)
    ctx, (x,), ref, _ = setup(CONV, ex)
    xv, wv, bv = float(x), float(ref.conv.weight.detach()), float(ref.conv.bias.detach())
    c, v = xv * wv, xv * wv + bv
    g = 0.5 * v * (1 + math.erf(v / math.sqrt(2)))
    U, u_tc, u = 2.0**-24, 2.0**-23, 2.0**-11  # fp32, tensor-core accumulation (fp16 operands), fp16 store
    eta = 2.0**-24 / 2  # half fp16's smallest subnormal
    g2 = 2 * u_tc / (1 - 2 * u_tc)
    dot = g2 * (abs(c) + abs(bv)) + 3 * torch.finfo(torch.float32).tiny
    dv = (1 + u) ** 2 * dot + u * (1 + u) * abs(c) + u * abs(v) + (2 + u) * eta  # c stored, then c + bias
    act = 1.129 * dv + 4 * U * (abs(g) + abs(v))
    act = act + u * (abs(g) + act) + eta  # gelu stored
    pooled = act + U / (1 - U) * (abs(g) + act) + U * abs(g)  # mean of one stored value, then the division
    expected = pooled + u * (abs(g) + pooled) + eta  # the final fp16 store
    _, allowed = BoundPolicy().expected_and_allowed(ctx, "ieee")
    assert float(allowed) == pytest.approx(expected, rel=1e-12)


#: PyTorch eager's worst cases under the fused-only bound (error/allowed 27 and 8.6; 3.3 and 1.8)
EAGER_CASES = [
    (CONV, conv2d_gelu_gap, conv_example((4, 13, 8, 7, 7, 1), "bfloat16", "rand", seed=164)),
    (CONV, conv2d_gelu_gap, conv_example((2, 4, 16, 1, 9, 1), "float16", "randn", seed=42)),
    (CONV, conv2d_gelu_gap, conv_example((1, 3, 7, 3, 3, 3), "float16", "randn_scaled", seed=5, scale=1e-3)),
    (LINEAR, linear_gelu, linear_example(8, 56, 20, "bfloat16", "randn_scaled", seed=9, scale=2.031)),
    (LINEAR, linear_gelu, linear_example(7, 1, 40, "float16", "rand", seed=6)),
]


@pytest.mark.parametrize("problem, module, ex", EAGER_CASES,
                         ids=[f"{p.name}-{e.describe()}" for p, _, e in EAGER_CASES])
def test_pytorch_eager_fits_the_bound_and_failed_the_fused_only_one(problem, module, ex, monkeypatch):
    ctx, _, _, eager = setup(problem, ex)
    assert eager.dtype == ctx.inputs[0].dtype  # computed at the input dtype, intermediates stored in it
    new = ratio(ctx, eager)
    assert new <= 1
    # the bound before this allowance: no intermediate store charged (a fused kernel's bound)
    monkeypatch.setattr(module, "intermediate_roundoff", lambda dtype: 0.0)
    monkeypatch.setattr(module, "intermediate_underflow", lambda dtype: 0.0)
    old = ratio(ctx, eager)
    assert old > 1 and old > 2 * new


@pytest.mark.parametrize("ex", [
    Example(sizes=dict(batch=3, features=97), dtype="float16", distribution="randn_offset", scale=1e3, seed=1),
    Example(sizes=dict(batch=4, features=64), dtype="bfloat16", distribution="randn_scaled", scale=1e-3, seed=1),
    Example(sizes=dict(batch=6, features=425), dtype="float16", distribution="randn", seed=179),
    Example(sizes=dict(batch=5, features=225), dtype="bfloat16", distribution="randn", seed=78),
], ids=lambda ex: ex.describe())
def test_pytorch_eager_layernorm_stores_nothing_in_between_and_fits_the_bound(ex):
    # F.layer_norm is one op computing in fp32 and rounding once: no intermediate, no allowance needed
    ctx, _, _, eager = setup(LAYERNORM, ex)
    assert ratio(ctx, eager) <= 1


@pytest.mark.parametrize("dtype, bits", [("float16", 10), ("bfloat16", 7)])
@pytest.mark.parametrize("seed", range(4))
def test_stores_rounded_twice_as_coarsely_as_pytorch_are_rejected(dtype, bits, seed):
    # 4096 1x1 outputs: one stored conv result, conv + bias and gelu each; the fp32 dot is exact here (K = 1)
    ctx, (x,), ref, _ = setup(CONV, conv_example((16, 1, 256, 1, 1, 1), dtype, seed=seed))
    w, b = ref.conv.weight.double(), ref.conv.bias.double()[None, :, None, None]

    def unfused(mantissa_bits):
        c = round_to_bits(F.conv2d(x.double(), w.detach()), mantissa_bits)
        v = round_to_bits(c + b.detach(), mantissa_bits)
        return round_to_bits(F.gelu(v), mantissa_bits).mean((2, 3)).to(x.dtype)

    assert ratio(ctx, unfused(bits)) < 0.7  # PyTorch's roundings: within the allowance with room
    assert ratio(ctx, unfused(bits - 1)) > 1  # one bit fewer: twice the rounding error, beyond it


def test_a_2e_8_relative_error_at_fp16_is_rejected():
    ctx, _, _, eager = setup(CONV, conv_example((8, 4, 32, 3, 3, 3), "float16", seed=0))
    assert ratio(ctx, eager) <= 1
    off = (eager.double() * (1 + 2.0**-8)).half()  # 8 fp16 unit roundoffs on every output
    assert ratio(ctx, off) > 1.4


# ------------------------------------------------------------------------------------------------------------

CONTROL = candidate_path("torch_eager_control.py")


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_torch_eager_control_passes_the_default_policy(dtype, monkeypatch):
    """conv -> F.gelu -> mean in PyTorch at the input dtype, copied by a Triton kernel: every check passes;
    at fp16 / bf16 the fused-only bound (no intermediate store charged) called it a mismatch."""
    cand = candidates.load(CONTROL, problem=CONV)
    assert "convolution" in cand.allowed_ops
    cases = [conv_example((2, 4, 16, 1, 9, 1), dtype, "randn", seed=42),  # the fused-only bound's fp16 worst (8.6)
             conv_example((4, 13, 8, 7, 7, 1), dtype, "rand", seed=164),  # and its bf16 worst (27)
             conv_example((3, 2, 5, 3, 3, 3), dtype, "randn", seed=1)]  # 1x1 outputs: pooling hides nothing
    for ex in cases:
        outcome = run_example(CONV, cand, ex, checks=ALL_CHECKS)
        assert outcome.ok and outcome.unsupported is None, [f.message for f in outcome.failures]
        assert outcome.configs_run == 1 and 0 < outcome.ratios[cand.precision] <= 1
    if dtype != "float32":
        monkeypatch.setattr(conv2d_gelu_gap, "intermediate_roundoff", lambda dtype: 0.0)
        monkeypatch.setattr(conv2d_gelu_gap, "intermediate_underflow", lambda dtype: 0.0)
        outcome = run_example(CONV, cand, cases[0 if dtype == "float16" else 1], checks=())
        assert [f.kind for f in outcome.failures] == [kinds.MISMATCH] and outcome.ratios[cand.precision] > 1
