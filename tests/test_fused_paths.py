"""The fused conv2d+GELU+pool kernel's x paths (kernels/conv2d_gelu_gap_fused.py ``PATHS``): each one is taken
where it should be and passes the kernel's contract under the fuzzer, every autotune config.

In the interpreter the campaign is the dev profile's first 10 examples at small sizes; on a GPU machine
``FUSEFUZZ_PATHS_PROFILE=gpu FUSEFUZZ_PATHS_EXAMPLES=200`` makes it the device proof of a path (any size)."""

import os

import pytest
import torch
from fusefuzz.harness import backend, campaign, candidates, problems, registry

backend.select()
from fusefuzz.kernels import conv2d_gelu_gap_fused as fused  # noqa: E402

PROBLEM = problems.get("conv2d_gelu_gap")


def _inputs(layout, dtype=torch.float32, shape=(2, 8, 6, 9), cout=5, k=3):
    x = torch.randn(*shape)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    elif layout == "strided":
        x = torch.randn(*shape[:3], 2 * shape[3])[..., ::2]
    return x.to(dtype), torch.randn(cout, shape[1], k, k).to(dtype), torch.randn(cout).to(dtype)


@pytest.mark.parametrize("path, layout, reads_channels_last, staged", [
    ("natural", "channels_last", False, False),
    ("channels-last", "channels_last", True, False),
    ("channels-last", "contiguous", False, False),  # not channels-last: falls back to the natural order
    ("channels-last", "strided", False, False),
    ("staged", "contiguous", True, True),
    ("staged", "strided", True, True),
])
def test_each_path_is_taken_where_it_applies(path, layout, reads_channels_last, staged):
    x, w, b = _inputs(layout)
    _, args, cex = fused._prepare(x, w, b, "tf32", path=path)
    assert cex["CL"] is reads_channels_last and cex["TAPS_MAJOR"] is reads_channels_last
    assert (args[0] is not x) is staged
    # staged fp32-tf32: x rounded once while staging, so the main kernel does not round it again
    assert cex["TF32_RNE"] is (not staged)


def test_a_long_k_streams_its_weights_on_every_path():
    x, w, b = _inputs("contiguous", shape=(1, 20, 5, 5), k=3)  # K = 180 > RESIDENT_MAX_K
    for path in fused.PATHS:
        _, args, cex = fused._prepare(x, w, b, "tf32", path=path)
        assert cex["NUM_CHUNKS"] == 0 and not cex["CL"] and args[0] is x


def test_an_unknown_path_is_a_one_line_error():
    x, w, b = _inputs("contiguous")
    with pytest.raises(ValueError, match=r"path='nhwc' is not an x path; use one of natural, channels-last, staged"):
        fused.conv2d_gelu_gap(x, w, b, path="nhwc")


@pytest.mark.parametrize("path", ["channels-last", "staged"])
def test_the_path_passes_the_fused_kernels_contract_on_every_config(path, monkeypatch):
    taken = []
    prepare = fused._prepare

    def spy(*args, **kwargs):
        out = prepare(*args, **kwargs)
        taken.append(out[2]["CL"])
        return out

    monkeypatch.setattr(fused, "_prepare", spy)
    record = registry.get("conv2d_gelu_gap.fused")
    cand = candidates.load(record.name, kwargs=dict(record.kwargs, path=path))
    examples = int(os.environ.get("FUSEFUZZ_PATHS_EXAMPLES", "10"))
    small = {} if backend.name() == "cuda" else dict(strategy_options=dict(max_macs=60_000))
    result = campaign.run_campaign(PROBLEM, cand, profile=os.environ.get("FUSEFUZZ_PATHS_PROFILE", "dev"),
                                   max_examples=examples, seed=0, **small)
    assert result.verdict == "pass", [f.message for f in result.failures]
    assert len(result.configs) == len(fused._CONFIGS) and result.examples_run >= examples
    assert any(taken), f"path={path!r} never read x channels-last in {len(taken)} calls: the test proved nothing"


def test_weights_in_the_natural_order_under_a_taps_major_read_are_caught(monkeypatch):
    # the twin of the channels-last path with its one invariant broken (prep lays the weights out (ci, ky, kx),
    # the main kernel reads them (ky, kx, ci)): the same example that passes above must fail as a mismatch
    from fusefuzz.harness import kinds
    from fusefuzz.harness.example import Example
    from fusefuzz.harness.runner import run_example

    real = fused.conv2d_gelu_gap_prep_kernel

    class NaturalOrderPrep:
        def __getitem__(self, grid):
            return lambda *args, **kw: real[grid](*args, **dict(kw, TAPS_MAJOR=False))

    ex = Example(sizes=dict(batch=2, in_channels=3, out_channels=4, height=5, width=6, kernel_size=3),
                 dtype="float32", layout="channels_last", distribution="randn", seed=1)
    record = registry.get("conv2d_gelu_gap.fused")
    cand = candidates.load(record.name, kwargs=dict(record.kwargs, path="channels-last"))
    assert run_example(PROBLEM, cand, ex, checks=()).failures == []
    monkeypatch.setattr(fused, "conv2d_gelu_gap_prep_kernel", NaturalOrderPrep())
    assert [f.kind for f in run_example(PROBLEM, cand, ex, checks=()).failures] == [kinds.MISMATCH]
