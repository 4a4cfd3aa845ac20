"""The fused conv2d+GELU+pool kernel's x paths (kernels/conv2d_gelu_gap_fused.py ``PATHS``): each one is taken
where it should be and passes the kernel's contract under the fuzzer, every autotune config.

In the interpreter the campaign is the dev profile's first 10 examples at small sizes; on a GPU machine
``FUSEFUZZ_PATHS_PROFILE=gpu FUSEFUZZ_PATHS_EXAMPLES=200`` makes it the device proof of a path (any size)."""

import os

import pytest
import torch
from fusefuzz.harness import backend, campaign, candidates, problems, registry
from fusefuzz.harness.configs import describe_config

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


def _reference(x, w, b):
    return torch.nn.functional.gelu(torch.nn.functional.conv2d(x.double(), w.double(), b.double())).mean((2, 3))


def _record_channels_last_reads(monkeypatch, what=lambda cex: cex["CL"]):
    """A list that gets, per call of ``fused._prepare``, ``what`` of its constexprs (default: whether the main
    kernel reads x channels-last)."""
    taken, prepare = [], fused._prepare

    def spy(*args, **kwargs):
        out = prepare(*args, **kwargs)
        taken.append(what(out[2]))
        return out

    monkeypatch.setattr(fused, "_prepare", spy)
    return taken


def _lay_weights_out_in_natural_order(monkeypatch):
    """The twin of the tap-major paths: the prep kernel lays the weights out (ci, ky, kx) whatever it is asked."""
    real = fused.conv2d_gelu_gap_prep_kernel

    class NaturalOrderPrep:
        def __getitem__(self, grid):
            return lambda *args, **kw: real[grid](*args, **dict(kw, TAPS_MAJOR=False))

    monkeypatch.setattr(fused, "conv2d_gelu_gap_prep_kernel", NaturalOrderPrep())


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
    taken = _record_channels_last_reads(monkeypatch)
    record = registry.get("conv2d_gelu_gap.fused")
    cand = candidates.load(record.name, kwargs=dict(record.kwargs, path=path))
    examples = int(os.environ.get("FUSEFUZZ_PATHS_EXAMPLES", "10"))
    # channels_last first: Hypothesis draws its simplest example first, so the path is taken from example one
    options = dict(layouts=("channels_last", "contiguous", "strided"))
    if backend.name() != "cuda":
        options["max_macs"] = 60_000
    result = campaign.run_campaign(PROBLEM, cand, profile=os.environ.get("FUSEFUZZ_PATHS_PROFILE", "dev"),
                                   max_examples=examples, seed=0, strategy_options=options)
    assert result.verdict == "pass", [f.message for f in result.failures]
    assert len(result.configs) == len(fused._CONFIGS) and result.examples_run >= examples
    assert any(taken), f"path={path!r} never read x channels-last in {len(taken)} calls: the test proved nothing"


def test_the_default_tap_loop_passes_the_fused_kernels_contract_on_every_config(monkeypatch):
    # the streamed tap loop (a long K in whole chunks of 16 channels), the default since the H200 run: in_channels
    # drawn in steps of 16 so most examples with kernel_size >= 3 take it; the spy sees it taken
    taken = _record_channels_last_reads(monkeypatch, lambda cex: cex["NUM_CHUNKS"] == 0 and cex["CL"])
    record = registry.get("conv2d_gelu_gap.fused")
    cand = candidates.load(record.name, kwargs=record.kwargs)
    examples = int(os.environ.get("FUSEFUZZ_PATHS_EXAMPLES", "4"))
    options = dict(in_channels_step=16)
    if backend.name() != "cuda":
        options.update(max_macs=150_000, max_batch=2, max_out_channels=8, max_extra=3)
    result = campaign.run_campaign(PROBLEM, cand, profile=os.environ.get("FUSEFUZZ_PATHS_PROFILE", "dev"),
                                   max_examples=examples, seed=3, strategy_options=options)
    assert result.verdict == "pass", [f.message for f in result.failures]
    assert len(result.configs) == len(fused._CONFIGS) and result.examples_run >= examples
    assert any(taken), f"the tap loop was never taken in {len(taken)} calls: the test proved nothing"


def test_weights_in_the_natural_order_under_a_taps_major_read_are_caught(monkeypatch):
    # the twin of the channels-last path with its one invariant broken (prep lays the weights out (ci, ky, kx),
    # the main kernel reads them (ky, kx, ci)): the same example that passes above must fail as a mismatch
    from fusefuzz.harness import kinds
    from fusefuzz.harness.example import Example
    from fusefuzz.harness.runner import run_example

    ex = Example(sizes=dict(batch=2, in_channels=3, out_channels=4, height=5, width=6, kernel_size=3),
                 dtype="float32", layout="channels_last", distribution="randn", seed=1)
    record = registry.get("conv2d_gelu_gap.fused")
    cand = candidates.load(record.name, kwargs=dict(record.kwargs, path="channels-last"))
    assert run_example(PROBLEM, cand, ex, checks=()).failures == []
    _lay_weights_out_in_natural_order(monkeypatch)
    assert [f.kind for f in run_example(PROBLEM, cand, ex, checks=()).failures] == [kinds.MISMATCH]


def _raw(x, w, b, *, path="natural", P=None, prep=None, **meta):
    """The raw kernel (autotuner bypassed) with config 0's meta-parameters and ``meta`` on top; ``prep``: more
    keyword arguments of ``_prepare``."""
    info, args, cex = fused._prepare(x, w, b, "tf32", programs_per_image=P, path=path, **(prep or {}))
    cfg = dict(fused._CONFIGS[0].kwargs, **meta)
    a = dict(OW=info["OW"], KT=args[8], x_ptr=args[0], **cex, **cfg)
    cfg.update(TILE_W=fused._tile_w(a), BIAS_K=fused._bias_in_k(a))
    cfg["SHIFT_COLS"] = cfg["TILE_W"] <= info["OW"]
    return fused._run(fused.conv2d_gelu_gap_kernel.fn.fn, x, info, args, cex, False, GELU_MODE=4, num_warps=4,
                      **cfg)


@pytest.mark.parametrize("shape, P", [
    ((2, 3, 5, 140), 3),    # two column tiles per row, the second shifted and masked; 3 programs per image
    ((1, 2, 4, 9), 7),      # image narrower than a tile (clamped columns); more programs than tiles: empty ones
    ((1, 20, 4, 5), 2),     # K = 180: the streamed-weights loop
    ((3, 8, 3, 3), 1),      # one output pixel per image, one program
])
@pytest.mark.parametrize("path", ["natural", "staged"])
def test_the_skewed_loop_sums_the_same_tiles_in_the_same_order(shape, P, path):
    # SKEW moves each tile's epilogue one iteration later (after the next tile's MMAs); the sums are the same
    # numbers added in the same order, so the result must be bitwise the unskewed one (the interpreter is exact
    # and deterministic), including programs that get no tile and the last tile's epilogue after the loop
    torch.manual_seed(0)
    x = torch.randn(*shape)
    w, b = torch.randn(6, shape[1], 3, 3) * 0.3, torch.randn(6)
    plain = _raw(x, w, b, path=path, P=P)
    skewed = _raw(x, w, b, path=path, P=P, SKEW=True)
    assert torch.equal(plain, skewed), (plain - skewed).abs().max()
    ref = _reference(x, w, b)
    # and right, within TF32 rounding (2^-11 relative per operand, ~K terms without averaging at 1x1 outputs)
    assert (skewed.double() - ref).abs().max() <= 5e-3 * ref.abs().max()


def test_every_fused_config_is_told_apart_in_reports():
    # configs 0 and 3 differ only by maxnreg: a failure's report must say which one ran
    described = [describe_config(c) for c in fused._CONFIGS]
    assert len(set(described)) == len(described), described
    assert "maxnreg=128" in described[3] and "maxnreg" not in described[0]


@pytest.mark.parametrize("layout, reads_channels_last", [("channels_last", True), ("contiguous", False)])
def test_the_default_reads_a_channels_last_x_tap_major(layout, reads_channels_last, monkeypatch):
    # measured faster on a channels-last x (H200: fp32 0.566 vs 0.717 ms, fp16 0.384 vs 0.636), the same kernel
    # on any other layout; the default call must take it without being asked
    taken = _record_channels_last_reads(monkeypatch)
    # one config: an autotuner with one config never benchmarks (the interpreter cannot)
    monkeypatch.setattr(fused.conv2d_gelu_gap_kernel, "configs", fused._CONFIGS[:1])
    x, w, b = _inputs(layout)
    got = fused.conv2d_gelu_gap(x, w, b)
    want = _reference(x, w, b)
    assert taken == [reads_channels_last]
    torch.testing.assert_close(got.double(), want, rtol=2e-3, atol=2e-3)


# K = 180, 208, 288 > RESIDENT_MAX_K: the streamed loop; 32 channels: whole chunks per tap (the tap loop)
LONG_K = [((1, 20, 5, 6), 3), ((2, 13, 6, 7), 4), ((2, 32, 4, 5), 3)]


@pytest.mark.parametrize("shape, k", LONG_K)
@pytest.mark.parametrize("stream_k", [16, 32])
def test_the_streamed_loop_computes_the_offsets_the_table_holds(shape, k, stream_k):
    # stream_arith (timing experiment): the shape's constants compiled in, the column offsets computed instead of
    # loaded from koff; the same offsets, so bitwise the table's result (the interpreter is exact), and right
    torch.manual_seed(0)
    x = torch.randn(*shape)
    w, b = torch.randn(6, shape[1], k, k) * 0.2, torch.randn(6)
    table = _raw(x, w, b, prep=dict(stream_k=stream_k, stream_arith=False))
    arith = _raw(x, w, b, prep=dict(stream_k=stream_k, stream_arith=True))
    assert torch.equal(table, arith), (table - arith).abs().max()
    ref = _reference(x, w, b)
    assert (arith.double() - ref).abs().max() <= 5e-3 * ref.abs().max()


@pytest.mark.parametrize("shape, k", LONG_K)
@pytest.mark.parametrize("path, layout", [("channels-last", "channels_last"), ("staged", "contiguous")])
def test_the_streamed_loop_reads_tap_major_once_the_shape_is_compiled_in(shape, k, path, layout, monkeypatch):
    torch.manual_seed(1)
    x, w, b = _inputs(layout, shape=shape, cout=6, k=k)
    w = w * 0.2
    _, _, cex = fused._prepare(x, w, b, "tf32", path=path, stream_arith=True)
    assert cex["NUM_CHUNKS"] == 0 and cex["CL"] and cex["TAPS_MAJOR"] and cex["CIN"] == shape[1]
    got = _raw(x, w, b, path=path, prep=dict(stream_arith=True, stream_k=32))
    ref = _reference(x, w, b)
    assert (got.double() - ref).abs().max() <= 5e-3 * ref.abs().max()
    # its twin, the weights laid out (ci, ky, kx) under the (ky, kx, ci) read, is wrong
    _lay_weights_out_in_natural_order(monkeypatch)
    twin = _raw(x, w, b, path=path, prep=dict(stream_arith=True, stream_k=32))
    assert (twin.double() - ref).abs().max() > 5e-2 * ref.abs().max()


@pytest.mark.parametrize("layout, cin, k, tap_loop, staged, chunk", [
    ("contiguous", 32, 3, True, True, 32),  # K = 288, whole chunks of 32: staged to channels-last, tap loop
    ("channels_last", 16, 5, True, False, 16),  # K = 400, chunks of 16, read in place
    ("strided", 48, 3, True, True, 16),
    ("contiguous", 20, 3, False, False, 16),  # K = 180, 20 channels: no whole chunks, the koff table
])
def test_a_long_k_in_whole_channel_chunks_takes_the_tap_loop_by_default(layout, cin, k, tap_loop, staged, chunk,
                                                                       monkeypatch):
    # measured (H200, 16x64x56x56 -> 128, 3x3): 0.110 ms fp32 with the staged tap loop against 0.480 with the table
    torch.manual_seed(2)
    x, w, b = _inputs(layout, shape=(2, cin, 5, 7), cout=6, k=k)
    w = w * 0.1
    _, args, cex = fused._prepare(x, w, b, "tf32")
    assert cex["NUM_CHUNKS"] == 0 and cex["CL"] is tap_loop and (cex["CIN"] == cin) is tap_loop
    assert (args[0] is not x) is staged and cex["STREAM_K"] == chunk
    # asked for the natural read, the loop keeps the table
    _, _, natural = fused._prepare(x, w, b, "tf32", path="natural")
    assert natural["CIN"] == 0 and not natural["CL"]
    monkeypatch.setattr(fused.conv2d_gelu_gap_kernel, "configs", fused._CONFIGS[:1])
    got = fused.conv2d_gelu_gap(x, w, b)
    ref = _reference(x, w, b)
    assert (got.double() - ref).abs().max() <= 5e-3 * ref.abs().max()


def test_a_stream_chunk_that_is_not_a_power_of_two_is_a_one_line_error():
    x, w, b = _inputs("contiguous")
    with pytest.raises(ValueError, match=r"stream_k=24 must be a power of two >= 16"):
        fused._prepare(x, w, b, "tf32", stream_k=24)
