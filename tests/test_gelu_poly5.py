"""The declared cheaper GELU (kernels/gelu.py: gelu_poly5; the TF32 / 16-bit modes of the fused kernel).

Its contract is an approximation budget, 2^-14 |gelu(z)| + 2^-24 |z| per activation (harness/approx.py): the
kernel code itself is swept against float64 here, and the bound policy is shown to need the declared budget
(undeclared: mismatch), to accept it (the correct twin passes) and to hold a formulation to it (one degree fewer,
over budget: mismatch)."""

import os

import pytest
import torch
import triton
import triton.language as tl
from fusefuzz.harness import campaign, candidates, kinds, problems
from fusefuzz.kernels.bundled import POLY5_BUDGET
from fusefuzz.kernels.gelu import gelu_poly5

PROBLEM = problems.get("conv2d_gelu_gap")
CONTROL = os.path.join(os.path.dirname(__file__), "cheats", "00_control.py")


@triton.jit
def _poly4_clamped(z):
    # one degree fewer (the same fit, degree 4; clamped at 7 so its positive leading term cannot blow up)
    t = tl.minimum(tl.abs(z), 7.0)
    g = t * 0.003203541971743107 + -0.04077493026852608
    g = g * t + -0.4727354943752289
    g = g * t + -1.1457067728042603
    g = g * t + -1.0003445148468018
    return tl.maximum(z, 0.0) - tl.abs(z) * tl.exp2(g)


@triton.jit
def _apply(z_ptr, o_ptr, n, POLY4: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    z = tl.load(z_ptr + offs, mask=offs < n, other=0.0)
    if POLY4:
        g = _poly4_clamped(z)
    else:
        g = gelu_poly5(z)
    tl.store(o_ptr + offs, g, mask=offs < n)


def _worst_over_budget(poly4: bool) -> tuple[float, float]:
    mags = 2.0 ** torch.arange(-30, 7, 1 / 512, dtype=torch.float64)
    z = torch.cat([mags, -mags, torch.linspace(-12, 12, 200_001, dtype=torch.float64)]).float()
    out = torch.empty_like(z)
    block = 1 << 16
    _apply[(triton.cdiv(z.numel(), block),)](z, out, z.numel(), POLY4=poly4, BLOCK=block)
    z64 = z.double()
    want = 0.5 * z64 * (1 + torch.erf(z64 / 2**0.5))
    err = (out.double() - want).abs()
    ratio = err / POLY5_BUDGET.term(want.abs(), z64.abs()).clamp_min(1e-300)
    i = int(ratio.argmax())
    return float(ratio[i]), float(z64[i])


def test_the_kernel_code_stays_within_its_declared_budget_and_one_degree_fewer_does_not():
    worst, at = _worst_over_budget(poly4=False)
    assert worst <= 0.5, f"gelu_poly5: {worst:.3g} of the budget at z={at}"  # 0.37 in the full sweep
    worst4, _ = _worst_over_budget(poly4=True)
    assert worst4 > 2, worst4  # the sweep can tell


def _twin(tmp_path, name, activation, budget):
    """tests/cheats/00_control.py with its erf GELU replaced by ``activation``, the budget declared or not."""
    src = open(CONTROL, encoding="utf-8").read()
    src = src.replace("act = 0.5 * pre * (1.0 + tl.math.erf(pre * 0.7071067811865476))", f"act = {activation}(pre)")
    head = "from fusefuzz.kernels.gelu import gelu_poly5\nfrom test_gelu_poly5 import _poly4_clamped\n"
    if budget:
        parts = {"relative": POLY5_BUDGET.relative, "of_input": POLY5_BUDGET.of_input}
        head += f"FUSEFUZZ_APPROX_BUDGET = {parts!r}\n"
    src = src.replace('FUSEFUZZ_PRECISION = "ieee"\n', 'FUSEFUZZ_PRECISION = "ieee"\n' + head)
    path = tmp_path / f"{name}.py"
    path.write_text(src)
    return str(path)


@pytest.mark.parametrize("name, activation, budget, expect", [
    ("declared", "gelu_poly5", True, None),
    ("undeclared", "gelu_poly5", False, kinds.MISMATCH),
    ("over_budget", "_poly4_clamped", True, kinds.MISMATCH),
])
def test_the_bound_needs_the_budget_accepts_it_and_holds_a_formulation_to_it(tmp_path, monkeypatch, name,
                                                                            activation, budget, expect):
    # an IEEE dot (tests/cheats/00_control.py) so the GELU's own error is what the bound sees
    monkeypatch.syspath_prepend(os.path.dirname(__file__))
    cand = candidates.load(_twin(tmp_path, name, activation, budget), problem=PROBLEM)
    result = campaign.run_campaign(PROBLEM, cand, profile="dev", max_examples=6, seed=0, shrink=False,
                                   strategy_options=dict(dtypes=("float32",)))
    got = sorted({f.kind for f in result.failures})
    # (a GELU error can also fit a looser operand rounding in some example: precision_contract beside it)
    assert (expect in got) if expect else got == [], [f.summary for f in result.failures]


@pytest.mark.parametrize("declared, expect", [(True, []), (False, [kinds.MISMATCH])])
def test_our_fused_kernel_with_an_ieee_dot_holds_the_poly5_gelu_to_its_budget(declared, expect):
    # the bundled kernel's fp32 IEEE path with the cheaper GELU: the dot's error is small enough that the GELU's
    # shows, so the budget decides (under TF32, the fused record's contract, the dot's rounding dominates)
    from fusefuzz.harness.example import Example
    from fusefuzz.harness.runner import run_example

    cand = candidates.load("conv2d_gelu_gap.fused", precision="ieee", approx_budget=POLY5_BUDGET if declared else 0,
                           kwargs={"input_precision": "ieee", "deterministic": False, "gelu": "poly5"})
    # 1x1 outputs of one-term dots: nothing averages the GELU's error away, nothing else is as large
    ex = Example(sizes=dict(batch=4, in_channels=1, out_channels=16, height=1, width=1, kernel_size=1),
                 dtype="float32", distribution="randn", seed=3)
    outcome = run_example(PROBLEM, cand, ex, checks=())
    assert [f.kind for f in outcome.failures] == expect, [f.summary for f in outcome.failures]
