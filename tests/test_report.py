"""The one mismatch layout and the readable campaign report."""

import torch
from fusefuzz.harness.compare import compare, mismatch_message


def test_mismatch_message_layout():
    ref = torch.tensor([[1.0, 2.0, 4.0, 8.0]], dtype=torch.float64)
    out = torch.tensor([[1.0, 2.5, 4.0, 8.0005]])
    comp = compare(out, ref, torch.full_like(ref, 1e-3))
    msg = mismatch_message(comp, policy="bound[ieee]", example="batch=1 ...", config="k[BLOCK=16]")
    lines = msg.splitlines()
    assert lines[0] == "Tensor-likes are not close under policy bound[ieee]!"
    assert lines[1] == "Mismatched elements: 1 / 4 (25.0%)"
    assert lines[2] == "Greatest absolute difference: 0.5 at index (0, 1) (up to 0.001 allowed)"
    assert lines[3] == "Greatest relative difference: 0.25 at index (0, 1) (up to 0.0005 allowed)"
    assert lines[4].startswith("Greatest error / allowed: 500 at index (0, 1)")
    assert lines[5] == "Example: batch=1 ..."
    assert lines[6] == "Kernel config: k[BLOCK=16]"


def test_nan_message_names_first_nonfinite():
    ref = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    comp = compare(torch.tensor([[float("inf"), 2.0]]), ref, torch.full_like(ref, 1.0))
    msg = mismatch_message(comp, policy="allclose[kernelbench]", example="ex")
    assert msg.splitlines()[0].startswith("Non-finite output where the float64 reference is finite")
    assert "first at index (0, 0): inf (reference 1)" in msg
