"""Tamper evidence (harness/tamper.py): a changed torch callable, timing callable or numerics switch is named,
restored, and reported by the runner as ``tampering``; an untouched process reports nothing."""

import textwrap

import torch
import torch.nn.functional as F
from fusefuzz.harness import problems, runner, tamper
from fusefuzz.harness.candidates import load
from fusefuzz.harness.example import Example

PROBLEM = problems.get("conv2d_gelu_gap")
TINY = Example(sizes=dict(batch=2, in_channels=2, out_channels=3, height=5, width=5, kernel_size=3),
               dtype="float32", distribution="randn", seed=1)


def test_changes_names_replaced_callables_and_flipped_switches_and_restore_undoes_them():
    before = tamper.TorchState.capture()
    assert tamper.changes(before) == []
    gelu, mean, elapsed = F.gelu, torch.Tensor.mean, torch.cuda.Event.elapsed_time
    try:
        F.gelu = lambda x, approximate="none": x
        torch.Tensor.mean = lambda self, *a, **k: self.sum()
        torch.cuda.Event.elapsed_time = lambda self, end: 0.0
        torch.backends.cudnn.allow_tf32 = not torch.backends.cudnn.allow_tf32
        torch.set_flush_denormal(True)
        found = " | ".join(tamper.changes(before))
        for what in ("torch.nn.functional.gelu was replaced", "torch.Tensor.mean was replaced",
                     "torch.cuda.Event.elapsed_time was replaced", "torch.backends.cudnn.allow_tf32 changed",
                     "denormals flushed) changed from False to True"):
            assert what in found
    finally:
        tamper.restore(before)
    assert tamper.changes(before) == []
    assert F.gelu is gelu and torch.Tensor.mean is mean and torch.cuda.Event.elapsed_time is elapsed
    assert "mean" not in vars(torch.Tensor) or vars(torch.Tensor)["mean"] is mean  # the inherited one is back


def _write(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


_MODEL = """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class ModelNew(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size):
            super().__init__()
            self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

        def forward(self, x):
            {patch}
            return F.gelu(self.conv(x)).mean(dim=(2, 3))
    """
FUSEFUZZ_ALLOWED = 'FUSEFUZZ_ALLOWED_OPS = ("convolution", "gelu", "mean")\n'


def test_a_swapped_code_object_is_named_and_restored():
    # the function object stays (identity checks see nothing); its code is another function's
    before = tamper.TorchState.capture()
    forward = torch.nn.Conv2d.forward
    code = forward.__code__

    def wrong(self, input):
        return self._conv_forward(input, self.weight, None)

    try:
        forward.__code__ = wrong.__code__
        found = tamper.changes(before)
        assert any("Conv2d.forward.__code__ was replaced" in f for f in found), found
        tamper.restore(before)
        assert forward.__code__ is code and tamper.changes(before) == []
    finally:
        forward.__code__ = code


def test_a_patch_during_the_call_is_tampering_and_is_undone(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSEFUZZ_CHECKS", "mutation")
    gelu = F.gelu
    body = _MODEL.format(patch="F.gelu = lambda t, approximate='none': t * torch.sigmoid(1.702 * t)")
    path = _write(tmp_path, "patch_in_forward.py", body + FUSEFUZZ_ALLOWED)
    outcome = runner.run_example(PROBLEM, load(path, problem=PROBLEM), TINY)
    assert [f.kind for f in outcome.failures] == ["tampering"]
    assert "during the call" in outcome.failures[0].message and "restored" in outcome.failures[0].message
    assert F.gelu is gelu


def test_the_same_model_without_the_patch_passes(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSEFUZZ_CHECKS", "mutation")
    path = _write(tmp_path, "honest_torch.py", _MODEL.format(patch="pass") + FUSEFUZZ_ALLOWED)
    outcome = runner.run_example(PROBLEM, load(path, problem=PROBLEM), TINY)
    assert outcome.ok, [f.message for f in outcome.failures]


def test_a_flag_flipped_at_import_is_reported_at_the_first_call_and_restored(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSEFUZZ_CHECKS", "mutation")
    before = torch.backends.cudnn.allow_tf32
    body = f"torch.backends.cudnn.allow_tf32 = {not before}\n" + textwrap.dedent(_MODEL.format(patch="pass"))
    path = _write(tmp_path, "flag_at_import.py", "import torch\n" + body + FUSEFUZZ_ALLOWED)
    candidate = load(path, problem=PROBLEM)
    assert torch.backends.cudnn.allow_tf32 == before  # restored at import, never silently
    outcome = runner.run_example(PROBLEM, candidate, TINY)
    assert [f.kind for f in outcome.failures] == ["tampering"]
    assert "at import" in outcome.failures[0].message and "cudnn.allow_tf32" in outcome.failures[0].message


def test_a_kernel_registered_over_an_aten_op_at_import_is_named_and_taken_back(tmp_path, monkeypatch):
    # F.gelu stays the same object; the dispatcher's table shows the registration, and destroying the library
    # that made it gives the (shared) process PyTorch's own gelu again, so later candidates are not blamed
    monkeypatch.setenv("FUSEFUZZ_CHECKS", "mutation")
    tamper.baseline()
    x = torch.linspace(-4, 4, 9)
    want = F.gelu(x)
    body = ("import torch\n_LIB = torch.library.Library('aten', 'IMPL')\n"
            "_LIB.impl('gelu', lambda t, approximate='none': t * 0 + 7.0, 'CPU')\n")
    path = _write(tmp_path, "override_gelu.py", body + textwrap.dedent(_MODEL.format(patch="pass")) + FUSEFUZZ_ALLOWED)
    candidate = load(path, problem=PROBLEM)
    assert torch.equal(F.gelu(x), want)  # taken back at import
    outcome = runner.run_example(PROBLEM, candidate, TINY)
    assert [f.kind for f in outcome.failures] == ["tampering"]
    assert "registered over aten::gelu" in outcome.failures[0].message
    assert "override_gelu.py" in outcome.failures[0].message
    assert tamper.changes(tamper.baseline(), kernels=True) == []
