"""The Linear+GELU and LayerNorm kernels through the interpreter: degenerate shapes on every config, wrapper
errors, N-D inputs, and the launch choices of the row kernel."""

import pytest
import torch
import torch.nn.functional as F
from fusefuzz.harness import candidates, problems
from fusefuzz.harness.example import Example
from fusefuzz.harness.runner import run_example

LINEAR = problems.get("linear_gelu")
LAYERNORM = problems.get("layernorm")


def _lin(m, k, n, **kw):
    return Example(sizes=dict(batch=m, in_features=k, out_features=n), seed=2, distribution="randn", **kw)


def _ln(b, n, **kw):
    return Example(sizes=dict(batch=b, features=n), seed=2, **kw)


@pytest.mark.parametrize("name", ["linear_gelu.fused", "linear_gelu.fused-ieee"])
@pytest.mark.parametrize("ex", [_lin(1, 1, 1), _lin(3, 17, 65), _lin(2, 129, 3, layout="strided"),
                                _lin(5, 40, 20, dtype="float16")], ids=lambda e: e.describe()[:40])
def test_linear_gelu_kernel_passes_every_config(name, ex):
    out = run_example(LINEAR, candidates.load(name), ex, checks=("mutation", "batch"))
    assert out.ok, out.failures[0].message
    assert out.configs_run == 4 and max(out.ratios.values()) <= 1


@pytest.mark.parametrize("name", ["layernorm.fused", "layernorm.looped"])
@pytest.mark.parametrize("ex", [_ln(1, 1), _ln(3, 2, distribution="randn"), _ln(5, 257, layout="strided"),
                                _ln(3, 97, dtype="float16", distribution="randn_offset", scale=1e3),
                                _ln(2, 130, dtype="bfloat16", distribution="randn_scaled", scale=1e-3)],
                         ids=lambda e: e.describe()[:40])
def test_layernorm_kernel_passes(name, ex):
    out = run_example(LAYERNORM, candidates.load(name), ex, checks=("mutation", "batch"))
    assert out.ok, out.failures[0].message


def test_linear_gelu_wrapper_names_bad_arguments():
    from fusefuzz.kernels.linear_gelu import linear_gelu

    x, w, b = torch.randn(2, 8), torch.randn(4, 8), torch.randn(4)
    with pytest.raises(ValueError, match=r"weight.shape=\(4, 7\)"):
        linear_gelu(x, w[:, :7], b)
    with pytest.raises(ValueError, match="input_precision='tf32x3'"):
        linear_gelu(x, w, b, input_precision="tf32x3")
    with pytest.raises(ValueError, match=r"bias=\(3,\)"):
        linear_gelu(x, w, b[:3])
    with pytest.raises(ValueError, match="weight.dtype=torch.float16"):
        linear_gelu(x, w.half(), b)


def test_linear_gelu_flattens_leading_dimensions():
    import fusefuzz.kernels.linear_gelu as module
    from fusefuzz.harness.configs import find_autotuners, pinned, sweep

    x, w, b = torch.randn(2, 3, 24), torch.randn(5, 24), torch.randn(5)
    with pinned(sweep(find_autotuners(module))[-1]):  # the interpreter cannot autotune: one config
        y = module.linear_gelu(x, w, b, input_precision="ieee")
    assert y.shape == (2, 3, 5)
    torch.testing.assert_close(y, F.gelu(F.linear(x, w, b)), rtol=1e-5, atol=1e-6)


def test_layernorm_wrapper_names_bad_arguments():
    from fusefuzz.kernels.layernorm import layernorm

    x = torch.randn(3, 8)
    with pytest.raises(ValueError, match=r"weight=\(7,\)"):
        layernorm(x, torch.ones(7), None)
    with pytest.raises(ValueError, match="eps=-1"):
        layernorm(x, None, None, eps=-1)
    with pytest.raises(ValueError, match="max_block=0"):
        layernorm(x, None, None, max_block=0)


def test_layernorm_paths_agree_and_take_any_rank():
    from fusefuzz.kernels.layernorm import launch_params, layernorm

    assert launch_params(100)["LOOPED"] is False and launch_params(16385)["LOOPED"] is True
    assert launch_params(100, max_block=64)["LOOPED"] is True
    x, w, b = torch.randn(2, 3, 100) + 50, torch.randn(100), torch.randn(100)
    want = F.layer_norm(x.double(), (100,), w.double(), b.double(), 1e-5)
    for max_block in (None, 64, 16):
        y = layernorm(x, w, b, max_block=max_block)
        assert y.shape == x.shape
        torch.testing.assert_close(y.double(), want, rtol=0, atol=2e-4)
    y = layernorm(x, None, None)  # no affine
    torch.testing.assert_close(y.double(), F.layer_norm(x.double(), (100,)), rtol=0, atol=2e-4)
