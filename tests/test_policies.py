"""Tolerance policies: hand-derived bounds, the 1-ulp and 10x-bound checks, NaN strictness."""

import math

import pytest
import torch
from fusefuzz.harness import kinds, problems
from fusefuzz.harness.compare import compare
from fusefuzz.harness.example import Example
from fusefuzz.harness.policies import AllclosePolicy, BoundPolicy, Tolerance, merge, parse
from fusefuzz.harness.precision import gamma, operand_roundoff
from fusefuzz.harness.runner import Context, judge

PROBLEM = problems.get("conv2d_gelu_gap")


def one_by_one(dtype="float32", seed=0, **sizes):
    base = dict(batch=1, in_channels=1, out_channels=1, height=1, width=1, kernel_size=1)
    base.update(sizes)
    return Example(sizes=base, dtype=dtype, seed=seed)


def context(ex):
    ref = PROBLEM.make_reference(ex, "cpu")
    x = PROBLEM.make_inputs(ex, "cpu")
    return Context(PROBLEM, ex, x, ref, 0.0, "cpu"), x, ref


def test_tf32_bound_matches_hand_derivation():
    ex = one_by_one()
    ctx, (x,), ref = context(ex)
    xv, wv, bv = float(x), float(ref.conv.weight.detach()), float(ref.conv.bias.detach())
    v = xv * wv + bv
    g = 0.5 * v * (1 + math.erf(v / math.sqrt(2)))
    # K = 1: one product of TF32-truncated operands (relative error < 2^-10 each), one fp32 add on
    # tensor cores (one ulp: 2^-23), GELU slope <= 1.129, fp32 GELU evaluation 4u(|g| + |v|),
    # a mean over one value (gamma_1) and the division (u |y|).
    u_tc, u = 2.0**-23, 2.0**-24
    g2 = 2 * u_tc / (1 - 2 * u_tc)
    operand = ((1 + 2.0**-10) ** 2 - 1) * (1 + g2)
    dot = operand * abs(xv * wv) + g2 * (abs(xv * wv) + abs(bv)) + 3 * torch.finfo(torch.float32).tiny
    act = 1.129 * dot + 4 * u * (abs(g) + abs(v))
    expected = act + (u / (1 - u)) * abs(g) + u * abs(g)
    _, allowed = BoundPolicy().expected_and_allowed(ctx, "tf32")
    assert float(allowed) == pytest.approx(expected, rel=1e-12)
    assert operand_roundoff("tf32", "float16") == 0.0  # fp16 inputs are exact in TF32


def _fp32_neighbour(value: float, steps: int) -> torch.Tensor:
    t = torch.tensor([value], dtype=torch.float32)
    for _ in range(abs(steps)):
        t = torch.nextafter(t, torch.tensor([math.copysign(math.inf, steps)]))
    return t


@pytest.mark.parametrize("seed", range(5))
def test_one_ulp_passes_ieee(seed):
    ex = one_by_one(seed=seed, in_channels=3, out_channels=4, height=5, width=6, kernel_size=3)
    ctx, _, _ = context(ex)
    ref64, allowed = BoundPolicy().expected_and_allowed(ctx, "ieee")
    out = ref64.float()  # correctly rounded: within half an ulp
    for i in range(out.shape[1]):
        out[0, i] = _fp32_neighbour(float(out[0, i]), 1 if i % 2 else -1)[0]  # one more ulp either way
    assert compare(out, ref64, allowed).ok


@pytest.mark.parametrize("contract", ["ieee", "tf32"])
def test_ten_times_the_bound_fails(contract):
    ex = one_by_one(in_channels=2, out_channels=3, height=4, width=4, kernel_size=2)
    ctx, _, _ = context(ex)
    ref64, allowed = BoundPolicy().expected_and_allowed(ctx, contract)
    out = ref64.clone()
    out[0, 1] += 10 * allowed[0, 1]
    comp = compare(out, ref64, allowed)
    assert not comp.ok and comp.kind == kinds.MISMATCH and comp.mismatched == 1
    assert comp.worst_ratio == pytest.approx(10, rel=1e-6) and comp.worst_ratio_index == (0, 1)


def test_nan_where_reference_is_finite_always_fails():
    ref = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    out = torch.tensor([[1.0, float("nan")]])
    comp = compare(out, ref, torch.full_like(ref, 1e30))  # no tolerance excuses a NaN
    assert not comp.ok and comp.kind == kinds.NAN and comp.first_nonfinite_index == (0, 1)


def test_overflowed_reference_must_be_matched_exactly():
    ref = torch.tensor([float("inf"), 1.0], dtype=torch.float64)
    assert compare(torch.tensor([float("inf"), 1.0]), ref, torch.zeros(2)).ok
    assert not compare(torch.tensor([-float("inf"), 1.0]), ref, torch.zeros(2)).ok


def test_tf32_error_fails_ieee_but_fits_tf32_as_precision_contract():
    ex = one_by_one(in_channels=4, out_channels=2, height=3, width=3, kernel_size=3)
    ctx, (x,), ref = context(ex)
    # emulate a TF32 dot: truncated operands, exact products, like Triton on a GPU
    from fusefuzz.harness.runner import round_operand

    v = torch.nn.functional.conv2d(round_operand(x, "tf32").double(), round_operand(ref.conv.weight, "tf32").double(),
                                   ref.conv.bias.double())
    out = torch.nn.functional.gelu(v).mean((2, 3)).float()
    failure, ratios = judge(ctx, out, BoundPolicy(), "ieee", config="cfg0")
    assert failure is not None and failure.kind == kinds.PRECISION_CONTRACT
    assert ratios["ieee"] > 1 >= ratios["tf32"]
    assert judge(ctx, out, BoundPolicy(), "tf32", config="")[0] is None


def test_allclose_tolerances_are_data_and_merge_by_max():
    pol = AllclosePolicy()
    assert (pol.tolerance("float32").atol, pol.tolerance("float16").rtol) == (1e-4, 1e-2)
    assert parse("allclose:kernelbench-v0").tolerance("float32").atol == 1e-2
    m = merge(Tolerance(1e-5, 1e-3, "a"), Tolerance(1e-4, 1e-6, "b"))
    assert (m.atol, m.rtol) == (1e-4, 1e-3) and "a" in m.reason and "b" in m.reason


def test_gamma_and_parse_errors():
    assert gamma(10) == pytest.approx(10 * 2.0**-24, rel=1e-6)
    with pytest.raises(ValueError, match="policy='bogus'"):
        parse("bogus")
