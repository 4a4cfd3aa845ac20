"""The warp-specialized Gluon kernels (kernels/conv2d_gelu_gap_hopper.py, designs "rows" and "im2col"): measured;
dispatched by conv2d_gelu_gap only with hopper=True until fused.HOPPER_AUTO is on (after its device proof).

Gluon has no interpreter, so on this machine the tests check what it says about the cases it cannot run; its
numbers are proven on a Hopper GPU only (the gpu-marked test here, and benchmarks/dev/hopper_dev.py)."""

import pytest
import torch
from fusefuzz.harness import backend

backend.select()
import triton  # noqa: E402
import triton.language as tl  # noqa: E402
from fusefuzz.kernels import conv2d_gelu_gap_fused as fused  # noqa: E402
from fusefuzz.kernels import conv2d_gelu_gap_hopper as hopper  # noqa: E402
from fusefuzz.kernels.gelu import gelu_erf, gelu_poly5  # noqa: E402


@pytest.mark.parametrize("design", ["rows", "im2col"])
def test_off_a_hopper_gpu_it_says_why_and_runs_nothing(design):
    x, w, b = torch.randn(1, 8, 5, 140), torch.randn(4, 8, 3, 3), torch.randn(4)
    why = hopper.supported(x, w, design=design)
    assert why and ("interpreter" in why or "Hopper" in why or "Gluon" in why), why
    with pytest.raises(ValueError, match=r"^conv2d_gelu_gap_hopper: ") as err:
        hopper.conv2d_gelu_gap_hopper(x, w, b, design=design)
    assert "\n" not in str(err.value)


def test_an_unknown_design_is_named_in_the_error():
    x, w, b = torch.randn(1, 8, 5, 140), torch.randn(4, 8, 3, 3), torch.randn(4)
    with pytest.raises(ValueError, match=r"design='tiles' is not a Hopper kernel design; use 'rows' or 'im2col'"):
        hopper.conv2d_gelu_gap_hopper(x, w, b, design="tiles")


@pytest.mark.parametrize("launch, message", [
    (dict(BIAS_MMA=2), r"^BIAS_MMA=2 needs LEAN=True"),
    (dict(BIAS_MMA=3, LEAN=True), r"^BIAS_MMA=3 must be 0 "),
    (dict(NCONS=3, NPROD=2), r"^NCONS=3, NPROD=2: "),
    (dict(STAGES=3), r"^launch keys \['STAGES'\] are not the row ring's"),
])
def test_a_launch_the_row_ring_cannot_run_is_named_before_anything_runs(launch, message):
    x, w, b = torch.randn(1, 8, 5, 140), torch.randn(4, 8, 3, 3), torch.randn(4)
    with pytest.raises(ValueError, match=message):
        hopper.conv2d_gelu_gap_hopper(x, w, b, **launch)


def test_the_row_ring_at_the_headline():
    # fp32: 3 chunks of [128, 8] per row, 5 rows fill the 16-chunk allocation; 16-bit: 2 chunks of [128, 16], 8 rows
    assert hopper.rows_geometry(8, 3, 3, 4)[:3] == (8, 3, 5)
    assert hopper.rows_geometry(8, 3, 3, 2)[:3] == (16, 2, 8)


@pytest.mark.parametrize("cin, kh, kw", [(1, 1, 1), (3, 7, 7), (8, 3, 3), (5, 1, 3), (16, 3, 3), (64, 3, 3), (6, 5, 5)])
@pytest.mark.parametrize("elem_bytes", [4, 2])
@pytest.mark.parametrize("nprod, ncons", [(1, 2), (2, 2), (1, 3)])
@pytest.mark.parametrize("bias_tiles", [1, 2])
def test_the_row_ring_keeps_its_invariants(cin, kh, kw, elem_bytes, nprod, ncons, bias_tiles):
    dk, ncr, slots, smem = hopper.rows_geometry(cin, kh, kw, elem_bytes, nprod=nprod, ncons=ncons,
                                                bias_tiles=bias_tiles)
    assert dk * elem_bytes * 8 in (256, 128) and ncr * dk >= kw * cin > (ncr - 1) * dk
    if slots:  # enough rows for every consumer's tile plus one, one producer per slot, within shared memory
        assert slots >= kh + ncons - 1 and slots % nprod == 0 and smem <= hopper.SMEM_BUDGET
    else:  # not even the least ring fits: the kernel says so and the portable kernel runs
        least = -(-(kh + ncons - 1) // nprod) * nprod
        assert hopper.rows_geometry(cin, kh, kw, elem_bytes, least, nprod, ncons, bias_tiles)[3] > hopper.SMEM_BUDGET


@pytest.mark.parametrize("nch, elem_bytes, want, stages", [
    (5, 4, 3, 3),  # the headline at fp32: 16 x-buffers (15 used) + 8 weight buffers, 160 KB
    (5, 4, 4, 3),  # 4 stages would need 32 buffers: 256 KB
    (9, 4, 2, 1),  # K = 144 at fp32: no two stages fit (the kernel is then unsupported)
    (9, 2, 3, 3),  # ... at 16 bits they do
])
def test_the_ring_keeps_to_shared_memory(nch, elem_bytes, want, stages):
    assert hopper.ring_stages(nch, elem_bytes, want) == stages


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("variant", [
    {},  # the row ring's default launch
    dict(LEAN=True),  # the lean producer
    dict(LEAN=True, BIAS_MMA=2),  # ... and the column mask as MMA work (a shifted last block here: OW = 298)
    dict(LEAN=True, BIAS_MMA=2, NCONS=3, maxnreg=128, C_REGS=136, P_REGS=104),
    dict(NPROD=2, AHEAD=0, maxnreg=128, C_REGS=168, P_REGS=88),
    dict(NCONS=3, AHEAD=0, maxnreg=128, C_REGS=144, P_REGS=80),
    dict(BIAS_MMA=False, A_REGS=True),
    dict(design="im2col"),
    dict(design="im2col", NPROD=2, STAGES=2, maxnreg=128, C_REGS=128, P_REGS=128),
])
def test_on_a_hopper_gpu_it_agrees_with_the_portable_kernel(dtype, variant):
    if not torch.cuda.is_available() or torch.cuda.get_device_capability()[0] != 9:
        pytest.skip("needs a Hopper GPU (sm_90)")
    torch.manual_seed(0)
    x = torch.randn(3, 8, 21, 300, device="cuda").to(dtype)
    w = (torch.randn(70, 8, 3, 3, device="cuda") / 8.5).to(dtype)
    b = torch.randn(70, device="cuda").to(dtype)
    ref = torch.nn.functional.gelu(torch.nn.functional.conv2d(x.double(), w.double(), b.double())).mean((2, 3))
    err_portable = (fused.conv2d_gelu_gap(x, w, b).double() - ref).abs().max().item()
    for det in (False, True):
        got = hopper.conv2d_gelu_gap_hopper(x, w, b, deterministic=det, **variant)
        assert (got.double() - ref).abs().max().item() <= 2 * err_portable + 1e-6


def _hopper_record(**kwargs):
    """The Hopper kernel as the fused record's twin (not registered: HOPPER_AUTO is off until its device proof)."""
    from fusefuzz.harness.registry import KernelRecord
    from fusefuzz.kernels.bundled import POLY5_BUDGET

    return KernelRecord(
        name="conv2d_gelu_gap.fused-hopper", problem="conv2d_gelu_gap",
        module="fusefuzz.kernels.conv2d_gelu_gap_hopper", precision="tf32-rn",
        kwargs={"input_precision": "tf32", "deterministic": False, "gelu": "poly5", **kwargs},
        approx_budget=POLY5_BUDGET, deterministic=kwargs.get("deterministic", False),
        description="the row-ring Gluon kernel (Hopper only)")


#: the Hopper kernel's examples: output rows of at least one 128-pixel tile, up to three column blocks
HOPPER_OPTIONS = dict(min_out_width=128, max_extra=300, layouts=("contiguous", "channels_last", "strided"))


def test_where_the_hopper_kernel_cannot_run_the_verdict_is_unsupported_here():
    # off a Hopper GPU every example is unsupported, with Gluon's reason: never a pass, never a failure
    from fusefuzz.harness import campaign, candidates, problems

    cand = candidates.from_record(_hopper_record())
    options = dict(HOPPER_OPTIONS, max_batch=1, max_in_channels=2, max_out_channels=2, max_kernel_size=2)
    result = campaign.run_campaign(problems.get("conv2d_gelu_gap"), cand, profile="dev", max_examples=3, seed=0,
                                   strategy_options=options)
    if torch.cuda.is_available() and torch.cuda.get_device_capability()[0] == 9:
        pytest.skip("a Hopper GPU runs it: the gpu test below is its proof")
    assert result.verdict == "unsupported" and not result.failures and result.examples_run >= 3, result.to_json()
    assert all("conv2d_gelu_gap_hopper: " in r for r in result.unsupported), result.unsupported


@pytest.mark.gpu
@pytest.mark.parametrize("launch", [{}, dict(LEAN=True, BIAS_MMA=2)], ids=["default", "lean-mask"])
@pytest.mark.parametrize("deterministic", [False, True])
def test_on_a_hopper_gpu_the_row_ring_passes_the_fused_kernels_contract(deterministic, launch, monkeypatch):
    """The device proof of the Hopper path (the portable path's is the fused records' gpu profile):
    ``FUSEFUZZ_HOPPER_PROFILE=gpu FUSEFUZZ_HOPPER_EXAMPLES=200 pytest -m gpu tests/test_hopper_kernel.py``."""
    import os

    from fusefuzz.harness import campaign, candidates, problems

    if not torch.cuda.is_available() or torch.cuda.get_device_capability()[0] != 9:
        pytest.skip("needs a Hopper GPU (sm_90)")
    ran, rows = [], hopper._rows

    def spy(*args, **kwargs):
        ran.append(1)
        return rows(*args, **kwargs)

    monkeypatch.setattr(hopper, "_rows", spy)
    cand = candidates.from_record(_hopper_record(deterministic=deterministic, **launch))
    examples = int(os.environ.get("FUSEFUZZ_HOPPER_EXAMPLES", "20"))
    result = campaign.run_campaign(problems.get("conv2d_gelu_gap"), cand,
                                   profile=os.environ.get("FUSEFUZZ_HOPPER_PROFILE", "dev"), max_examples=examples,
                                   seed=0, strategy_options=HOPPER_OPTIONS)
    assert result.verdict == "pass", [f.message for f in result.failures]
    assert ran, f"the row ring never ran in {result.examples_run} examples ({dict(result.unsupported)})"


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("launch", [[], ["BIAS_MMA=2", "LEAN=True"],
                                    ["BIAS_MMA=2", "LEAN=True", "NCONS=3", "maxnreg=128", "C_REGS=136",
                                     "P_REGS=104"]], ids=["default", "lean-mask", "lean-mask-3c"])
def test_the_row_ring_compiles_for_hopper_here_without_spills(dtype, launch):
    # Gluon cannot run here, but the installed Triton compiles it for sm_90 (ptxas ships in its wheel): every
    # launch the device runs compiles, and no partition spills at its register budget (a spill is a launch
    # that needs other budgets; the device would time it, not fail it)
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, os.path.join(root, "benchmarks", "dev", "sass_rows.py"), "--dtype", dtype,
                           "--top", "0", "--set", *launch], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("base:")][0]
    assert "STACK 0 (spills)" in line and "sm_90" in line, line


def test_the_op_runs_the_portable_kernel_unless_the_hopper_one_applies(monkeypatch):
    # auto (hopper=None) with HOPPER_AUTO on: off a Hopper GPU supported() says no and the portable kernel runs;
    # hopper=True says why it cannot, in one line; hopper=False and an explicit x path never ask
    from fusefuzz.kernels import conv2d_gelu_gap as op

    # one config: an autotuner with one config never benchmarks (the interpreter cannot)
    monkeypatch.setattr(fused.conv2d_gelu_gap_kernel, "configs", fused._CONFIGS[:1])
    torch.manual_seed(0)
    x, w, b = torch.randn(1, 2, 4, 130), torch.randn(3, 2, 3, 3), torch.randn(3)
    ref = fused.conv2d_gelu_gap(x, w, b)
    asked = []
    real = hopper.supported
    monkeypatch.setattr(hopper, "supported", lambda *a, **k: asked.append(1) or real(*a, **k))
    monkeypatch.setattr(op, "HOPPER_AUTO", True)
    torch.testing.assert_close(op.conv2d_gelu_gap(x, w, b), ref, rtol=0, atol=0)
    assert asked, "auto did not ask the Hopper kernel whether it applies"
    with pytest.raises(ValueError, match=r"^hopper=True: ") as err:
        op.conv2d_gelu_gap(x, w, b, hopper=True)
    assert "\n" not in str(err.value)
    asked.clear()
    op.conv2d_gelu_gap(x, w, b, path="natural")
    op.conv2d_gelu_gap(x, w, b, hopper=False)
    assert not asked
    with pytest.raises(ValueError, match=r"^path='natural' is an x path of the portable kernel"):
        op.conv2d_gelu_gap(x, w, b, path="natural", hopper=True)
    with pytest.raises(ValueError, match=r"^hopper='yes' must be None \(auto\), True or False"):
        op.conv2d_gelu_gap(x, w, b, hopper="yes")


def test_where_the_hopper_kernel_applies_auto_dispatch_runs_it(monkeypatch):
    # the choice itself, with the Hopper kernel's answer and both kernels stood in (their numbers are the gpu
    # tests' and the fused records')
    from fusefuzz.kernels import conv2d_gelu_gap as op

    x, w, b = torch.randn(1, 2, 4, 130), torch.randn(3, 2, 3, 3), torch.randn(3)
    calls = []
    monkeypatch.setattr(hopper, "supported", lambda *a, **k: None)
    monkeypatch.setattr(hopper, "conv2d_gelu_gap_hopper", lambda *a, **k: calls.append(k) or torch.zeros(1, 3))
    monkeypatch.setattr(fused, "conv2d_gelu_gap", lambda *a, **k: calls.append("portable") or torch.zeros(1, 3))
    monkeypatch.setattr(op, "HOPPER_AUTO", True)
    op.ModelNew(2, 3, 3, deterministic=True)(x)
    op.conv2d_gelu_gap(x, w, b, hopper=True)
    monkeypatch.setattr(op, "HOPPER_AUTO", False)
    op.conv2d_gelu_gap(x, w, b)
    hop = dict(input_precision="tf32", deterministic=True, gelu=None)
    assert calls == [hop, dict(hop, deterministic=False), "portable"]


@triton.jit
def _gelus_of(z_ptr, o_ptr, n, EXACT: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    z = tl.load(z_ptr + offs, mask=offs < n, other=0.0)
    if EXACT:
        g = gelu_erf(z)
    else:
        g = gelu_poly5(z)
    tl.store(o_ptr + offs, g, mask=offs < n)


def _gelu_kernel_code(z, exact):
    import numpy as np

    out = torch.empty_like(z)
    with np.errstate(over="ignore"):  # g overflowing to -inf is the mechanism; an invalid operation is not
        _gelus_of[(1,)](z, out, z.numel(), EXACT=exact, BLOCK=triton.next_power_of_2(z.numel()))
    return out


@pytest.mark.parametrize("exact", [False, True], ids=["poly5", "exact"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_the_mask_mmas_pre_activation_makes_the_gelu_exactly_zero(dtype, exact):
    # BIAS_MMA=2: a done pixel (x loaded as 0) comes out of the MMAs as fp32(bias - HUGE_K HUGE_W^2); both GELUs
    # must give exactly 0 there (not NaN, not a tiny value) for every bias the claim covers: any fp16 bias, and
    # |bias| < 2^125 at fp32 / bf16 (evaluated here in the interpreter's fp32, as the kernel code is written)
    w_, k_ = hopper.MASK_HUGE[dtype]
    big = torch.finfo(torch.float16).max if dtype == torch.float16 else 0.99 * 2.0 ** 125
    bias = torch.tensor([0.0, 1.0, -1.0, 0.37, 3.0, -3.0, 1e4, -1e4, big, -big], dtype=torch.float64)
    bias = bias.to(dtype).double()
    z = (bias - k_ * w_ * w_).float()
    got = _gelu_kernel_code(z, exact)
    assert torch.equal(got, torch.zeros_like(got)), (z, got)
    # the claim needs HUGE: a pre-activation only somewhat negative keeps a GELU that is not 0
    assert (_gelu_kernel_code((bias - 5.0).float(), exact) != 0).any()
