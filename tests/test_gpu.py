"""GPU checks (skipped with a reason without CUDA): the Foundation's done-criteria on a real device."""

import json
import os

import pytest
import torch
from conftest import candidate_path
from fusefuzz.harness.cli import main

pytestmark = pytest.mark.gpu


def _check(tmp_path, *argv):
    out = tmp_path / "r.json"
    code = main(["check", *argv, "--json", str(out), "--repro-dir", str(tmp_path), "--seed", "0"])
    return code, json.loads(out.read_text())


def test_overflow_candidate_fails_with_nan_on_gpu(tmp_path):
    code, report = _check(tmp_path, candidate_path("gelu_overflow.py"), "--profile", "ci")
    assert code == 1 and {f["kind"] for f in report["failures"]} == {"nan"}


@pytest.mark.parametrize("candidate", [candidate_path("direct_exact.py"), "conv2d_gelu_gap.twopass"])
def test_correct_candidates_pass_on_gpu(tmp_path, candidate):
    code, report = _check(tmp_path, candidate, "--profile", "ci")
    assert code == 0, report["failures"][:1]
    assert "cuda" in report["backend"]


@pytest.mark.parametrize("candidate, reference, code", [
    ("sum_reduction_triton", "level1_sum_reduction", 0),
    ("matmul_triton_k_tail", "level1_matmul", 1),
])
def test_reference_file_campaign_on_gpu(tmp_path, candidate, reference, code):
    # the peer policy (--reference's default) compares on one device: on the H100 it raised a device mismatch
    examples = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
    got, report = _check(tmp_path, os.path.join(examples, "candidates", f"{candidate}.py"), "--reference",
                         os.path.join(examples, "references", f"{reference}.py"), "--profile", "ci",
                         "--max-examples", "12")
    assert got == code and report["verdict"] in ("pass", "fail"), report.get("error") or report["failures"][:1]


def test_missing_modelnew_exits_2(tmp_path):
    assert main(["check", candidate_path("no_modelnew.py")]) == 2


def test_tf32_path_passes_tf32_and_fails_ieee(tmp_path):
    code, _ = _check(tmp_path, "conv2d_gelu_gap.twopass", "--precision", "tf32", "--dtypes", "float32",
                     "--max-examples", "100")
    assert code == 0
    code, report = _check(tmp_path, "conv2d_gelu_gap.twopass", "--precision", "ieee", "--dtypes", "float32",
                          "--max-examples", "100")
    assert code == 1 and {f["kind"] for f in report["failures"]} == {"precision_contract"}


def test_headline_shape_twopass_matches_float64():
    from fusefuzz.kernels.conv2d_gelu_gap_twopass import conv2d_gelu_gap

    g = torch.Generator().manual_seed(0)
    x = torch.rand(128, 8, 256, 256, generator=g).cuda()
    conv = torch.nn.Conv2d(8, 64, 3).cuda()
    y = conv2d_gelu_gap(x, conv.weight, conv.bias)
    ref = torch.nn.functional.gelu(torch.nn.functional.conv2d(x.double(), conv.weight.double(),
                                                              conv.bias.double())).mean((2, 3))
    rel = ((y.double() - ref).norm() / ref.norm()).item()
    assert rel < 2e-3


def _chunked_reference(x, w, b):
    """float64 sums of fp32 IEEE cuDNN convolutions, one image at a time (the whole activation would not fit)."""
    F = torch.nn.functional
    out = torch.empty(x.shape[0], w.shape[0], dtype=torch.float64, device=x.device)
    prev = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        for i in range(x.shape[0]):
            out[i] = F.gelu(F.conv2d(x[i:i + 1], w, b)).double().mean((2, 3))[0]
    finally:
        torch.backends.cudnn.allow_tf32 = prev
    return out


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
@pytest.mark.parametrize("precision", ["ieee", "tf32"])
def test_fused_kernel_indexes_past_2_pow_31(precision, layout):
    """batch x C_in x H x W = 2.15e9 > 2**31 elements: int32 offsets would wrap and read other images."""
    from fusefuzz.kernels.conv2d_gelu_gap_fused import conv2d_gelu_gap

    B, C, H = 64, 8, 2050
    assert B * C * H * H > 2**31
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.rand(B, C, H, H, device="cuda", generator=g)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(C, 64, 3).cuda()
    with torch.no_grad():
        # one image's worth of outputs differs in sign pattern from the next: a wrapped offset shows
        conv.bias.uniform_(-0.5, 0.5)
    y = conv2d_gelu_gap(x, conv.weight.detach(), conv.bias.detach(), input_precision=precision)
    ref = _chunked_reference(x, conv.weight.detach(), conv.bias.detach())
    err = ((y.double() - ref).abs().max() / ref.abs().max()).item()
    # ieee: fp32 rounding over 72-term dots and a 4.2M-term mean, ~1e-6; tf32 (rounded operands): ~2e-4
    assert err < (1e-5 if precision == "ieee" else 2e-3), f"relative error {err:.3g} at {precision}, {layout}"
