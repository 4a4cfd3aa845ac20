"""Fused Conv2d (stride 1, valid) + exact GELU + global average pool, in one Triton kernel.

KernelBench level 2 #67 (``Conv2d_GELU_GlobalAvgPool``)::

    y[b, n] = mean_{oh, ow} gelu_erf( bias[n] + sum_{ci, ky, kx} x[b, ci, oh+ky, ow+kx] * w[n, ci, ky, kx] )

Public API
----------
``conv2d_gelu_gap(x, weight, bias, *, input_precision="tf32", deterministic=False)``
    -> Tensor[batch, out_channels] with ``dtype == x.dtype``.  x: [B, Cin, H, W], any strides (contiguous and
    channels_last included; handled through the strides), fp32 / fp16 / bf16.  weight: [Cout, Cin, kh, kw] (kh
    != kw fine), bias: [Cout] or None.  fp32: ``input_precision`` "tf32" (default), "ieee" or "tf32x3";
    fp16/bf16 use 16-bit tensor-core operands; accumulation is always fp32.  Invalid shapes / dtypes raise
    ValueError naming the value.  All x offsets are int64 (tensors over 2^31 elements work).
``ModelNew(in_channels, out_channels, kernel_size, *, input_precision="tf32", deterministic=False)``
    owns ``self.conv = nn.Conv2d(...)`` (parameter names ``conv.weight`` / ``conv.bias``, same RNG draws as
    the reference ``Model``) and calls the wrapper; no torch conv / gelu / mean runs in ``forward``.
``conv2d_gelu_gap_kernel``: the autotuner (module global; each of its 5 configs is correct on its own).

How it works
------------
Launches: a tiny prep kernel re-lays the weight out as ``wp[Cout, K + 2]`` (K = Cin*kh*kw in natural (ci, ky,
kx) order, then bias hi / lo; fp32-tf32: rounded to the nearest TF32 value) and writes ``koff[K]``, the int64
offset of each K column in x (from x's strides), then the main kernel.  Main kernel: implicit GEMM,
output-channel-major, ``acc[64 ch, 128 px] += W[64, 16] @ Xcol[16, 128 px]`` (HGMMA; K walked in chunks of 16:
72 -> 80, the padding carries the bias so the accumulator needs no re-initialisation).  A tile is 128
consecutive output pixels of one output row of one image (the last tile of a row is shifted left to end at the
row's end; the overlap is masked), so every x load is 128 consecutive elements of one input row and all loads
stay in bounds without masks.  Up to K = 160 (``RESIDENT_MAX_K``) the chunks are unrolled and the weight tiles
are loaded once per program and stay resident (Cin, kh, kw compile-time constants: the column offsets fold
into the address arithmetic); a longer K (e.g. 64 channels x 5x5) streams weight and offset chunks (the koff
table) in a runtime loop (L1/L2 hits), one compilation for every long K, so shared memory never limits the
shapes.  Each program walks a contiguous run of tiles of one image (grid = (programs per image,
batch, channel blocks)).  Epilogue in registers: GELU, masked sum over the tile's pixels
(``tl.sum(axis=1)``), accumulated over the program's tiles, scaled by 1 / (OH*OW); the only global write of
the main kernel is one ``[out_channels]`` vector per program (an atomic add, or a partial-buffer store in
deterministic mode).

TF32: Triton's TF32 MMA truncates both operands, a bias toward zero that survives the 64516-pixel mean
(measured 8.7e-4 relative error, fails KernelBench's allclose(1e-4)).  Here the weights are rounded to nearest
in the prep kernel and x by adding half a TF32 ulp before the MMA (the tensor core's truncation completes the
rounding; in the interpreter, whose dots are exact, the rounding is done in full): 2.2e-4 relative,
allclose(1e-4) passes.

GELU modes (``gelu=``): the TF32 and 16-bit paths use ``gelu_poly5`` (``g`` of degree 5: 5 FFMA instead of 8),
within a declared approximation budget of 2^-14 |gelu(z)| + 2^-24 |z| (an eighth of the TF32 operand rounding;
the registered records declare it; fit and sweep: benchmarks/dev/gelu_fit.py); ``ieee`` keeps the exact-grade
one below.

GELU: ``gelu(z) = max(z, 0) - |z| * Phi(-|z|)`` with ``Phi(-t) = 2**g(t)``, ``g`` a degree-8 polynomial
(weighted minimax fit of ``log2 Phi(-t)``) and one ``ex2`` (MUFU): 9 FFMA + 1 FMNMX + 1 MUFU per element
instead of libdevice erf (which cost +0.50 ms here).  Dense GPU sweep against float64
(benchmarks/dev/NOTES-fused.md): max |error| / |z| = 1.1e-7 (torch's own fp32 GELU: 1.2e-7), max relative error
2.1e-7 for z > 0 and 2.8e-6 for z >= -3 (torch fp32: 2.2e-5; the textbook ``0.5 z (1 + erf)`` cancels for
negative z, this form does not).  Stable for every finite input: the leading coefficient is negative, so ``g
-> -inf``, ``2**g -> 0`` and the result -> relu(z) (no inf/inf, no NaN; an infinite pre-activation gives NaN).
``GELU_MODE`` 1/2/3 (libdevice erf / none / degree 7) are timing experiments only; the wrapper always uses 0.

Modes
-----
* default (``deterministic=False``): each program ``tl.atomic_add``s its scaled partial sums into a zeroed
  fp32 ``[batch, out_channels]`` buffer (~33 atomics per (image, channel)).  Default because it is the fast
  path and the output is a mean: the run-to-run variation is in the last bits of fp32, far below any tolerance
  used for it.
* ``deterministic=True``: each program stores its partial into a ``[batch, programs_per_image, out_channels]``
  fp32 buffer (allowed only in this mode) and a tiny second kernel sums them in a fixed order -> bitwise
  reproducible for a given device and config (+0.005 ms).

Performance (H100 SXM, torch 2.11, triton 3.6, headline x [128, 8, 256, 256] fp32 -> 64 channels, 3x3):
0.61 ms median (eager 6.54, torch.compile 2.52: 10.7x / 4.1x); fp16/bf16 0.50 ms.  Target was 0.30 ms: not
met. ncu: latency-bound at 12 warps/SM (shared memory limits it to 3 CTAs), L1/TEX 57 %, issue 53 %; the conv
data path alone (no GELU) takes 0.47 ms: 72 scalar 4-byte loads per output pixel (TF32 needs K-major
shared-memory tiles, NCHW rows are pixel-major, so every value is transposed through registers) plus the MMA
operand reads.
H200 (2026-12-03, triton 3.6, declared poly5 GELU): fp32 0.584 ms (4.09x torch.compile 2.386), fp16 / bf16 0.480 /
0.477 ms; the data path alone (no GELU) 0.477 / 0.356 ms.  ``PX_M`` (pixels as M, the x tile as the register A
operand) measured slower (0.75-1.75 ms) and is a timing experiment only (benchmarks/dev/NOTES-fused.md).
"""

import torch
import torch.nn as nn
import triton
import triton.language as tl

# GELU: fusefuzz.kernels.gelu.gelu_erf (Phi(-t) ~= 2**g(t), a degree-8 polynomial g; its module says how it was fit
# and what error it has). Imported absolutely: this file is also loaded by path (`fusefuzz bench FILE`).
from fusefuzz.kernels.gelu import gelu_erf, gelu_poly5


@triton.jit
def _round_tf32(v, HW_TRUNC: tl.constexpr = False):
    # fp32 -> nearest TF32 (10-bit mantissa; ties away from zero), kept in fp32 storage; inf stays inf.
    # HW_TRUNC: only add half a TF32 ulp (one integer add) and let the tensor core's truncation of the low 13
    # bits finish the rounding; on the GPU that is the same value the full form gives (inf inputs become NaN,
    # which the GELU produces for an infinite pre-activation anyway).
    bits = v.to(tl.int32, bitcast=True) + 4096
    if HW_TRUNC:
        return bits.to(tl.float32, bitcast=True)
    else:
        return (bits & -8192).to(tl.float32, bitcast=True)


@triton.jit
def _gelu(z, GELU_MODE: tl.constexpr):
    if GELU_MODE == 1:
        # libdevice erf: the textbook formula (reference / comparison only)
        return 0.5 * z * (1.0 + tl.math.erf(z * 0.7071067811865476))
    elif GELU_MODE == 2:
        # no activation at all: a timing probe only (NOT GELU)
        return z
    elif GELU_MODE == 3:
        # degree-7 variant (one FFMA less, max |Phi| error 1.6e-7 instead of 4.5e-8): timing experiment only
        t = tl.abs(z)
        g = t * -1.7723475309594505e-07 + 1.9313685697852634e-05
        g = g * t + -0.0006528909434564412
        g = g * t + 0.007731983438134193
        g = g * t + -0.05293264240026474
        g = g * t + -0.4590808153152466
        g = g * t + -1.1511170864105225
        g = g * t + -1.0
        return tl.maximum(z, 0.0) - t * tl.exp2(g)
    elif GELU_MODE == 4:
        # the declared cheaper GELU of the TF32 / 16-bit modes (2^-14 |gelu| + 2^-24 |z|; kernels/gelu.py)
        return gelu_poly5(z)
    else:
        return gelu_erf(z)


@triton.jit
def _k_index(f, CIN, KH, KW, TAPS_MAJOR: tl.constexpr):
    """(ci, ky, kx) of K column f: K ordered (ci, ky, kx), or (ky, kx, ci) with TAPS_MAJOR. One definition for
    the prep kernel (which lays the weights out) and the main kernel (which reads x in the same order)."""
    if TAPS_MAJOR:
        tap = f // CIN
        ci = f - tap * CIN
    else:
        ci = f // (KH * KW)
        tap = f - ci * (KH * KW)
    ky = tap // KW
    return ci, ky, tap - ky * KW


@triton.jit
def _column_offset(ci, ky, kx, s_c, s_h, s_w):
    """int64 offset of element (ci, ky, kx) through strides (s_c, s_h, s_w): x's column of K, or a weight's."""
    return ci.to(tl.int64) * s_c + ky.to(tl.int64) * s_h + kx.to(tl.int64) * s_w


@triton.jit
def _tile_sum(acc, col_ok, cols_full, GELU_MODE: tl.constexpr):
    """sum over the tile's pixels (axis 1) of GELU(acc), the columns not in col_ok left out."""
    v = _gelu(acc, GELU_MODE)
    if cols_full:
        s = tl.sum(v, axis=1)
    else:
        s = tl.sum(tl.where(col_ok[None, :], v, 0.0), axis=1)
    return s


def _tile_w(a):
    # widest power of two <= OW (so the shifted last tile fits), capped by the config's BLOCK_W, at least 16
    ow = a["OW"]
    return min(a["BLOCK_W"], max(16, 1 << (int(ow).bit_length() - 1)))


def _bias_in_k(a):
    # fp32, resident weights, >= 2 padding slots in the last K chunk: the bias rides in the padding (hi + lo
    # TF32 split, ones in x's tile)
    rem = a["KT"] % a["DOT_K"]
    return a["NUM_CHUNKS"] > 0 and a["x_ptr"].dtype == torch.float32 and 1 <= rem <= a["DOT_K"] - 2


def _conv_tile_heuristics():
    return {
        "TILE_W": _tile_w,
        "SHIFT_COLS": lambda a: _tile_w(a) <= a["OW"],
        # bias through the MMA only for fp32 operands (a 16-bit "bias weight" would round the bias)
        "BIAS_K": _bias_in_k,
    }


# Five configs; each is correct on its own (no pre-hooks; the atomic buffer is zeroed by the wrapper and
# restored by the autotuner after benchmarking).  LOOP_STAGES=1 keeps Triton's cp.async pipeliner off the tile
# loop: the register path stores 16-byte vectors into the K-major smem tile, cp.async's 4-byte transposing
# writes hit bank conflicts (measured 0.85 vs 0.62 ms).  num_stages therefore only matters for loops that keep
# the default (the streamed long-K loop). LOADS_FIRST=False interleaves load -> MMA per K chunk: 28 KB instead
# of 60 KB of smem, so more CTAs fit per SM.  Which config wins, measured (the benchmark's `config` column):
# 0: no cap - the H100's headline choice; 16-bit inputs before config 3 existed.
# 1: load -> MMA per chunk at maxnreg 128: ptxas lands the fp32 kernel at 96 registers, no spills, 5 CTAs/SM -
#    the H200's fp32 headline choice (0.547 ms raw against 0.595 for config 0 and 0.583 at maxnreg 112).
# 2: eight warps at maxnreg 128 - the ieee mode's choice (H100 and H200).
# 3: loads first at maxnreg 128: 96 registers instead of 128 at 16 bits on the natural path (5 CTAs/SM
#    instead of 4) - the H200's fp16/bf16 choice (0.460 ms against 0.480 / 0.477 with config 0).
# 4: load -> MMA per chunk, no cap - the H100's choice for the sweep's 7x7, 3x5 and 32x32 cases.
_CONFIGS = [
    triton.Config({"BLOCK_W": 128, "LOOP_STAGES": 1, "LOADS_FIRST": True}, num_warps=4, num_stages=2),
    triton.Config({"BLOCK_W": 128, "LOOP_STAGES": 1, "LOADS_FIRST": False}, num_warps=4, num_stages=2, maxnreg=128),
    triton.Config({"BLOCK_W": 128, "LOOP_STAGES": 1, "LOADS_FIRST": True}, num_warps=8, num_stages=2, maxnreg=128),
    triton.Config({"BLOCK_W": 128, "LOOP_STAGES": 1, "LOADS_FIRST": True}, num_warps=4, num_stages=2, maxnreg=128),
    triton.Config({"BLOCK_W": 128, "LOOP_STAGES": 1, "LOADS_FIRST": False}, num_warps=4, num_stages=3),
]
#: K chunks (of DOT_K) kept resident in registers / shared memory; a longer K streams weights per chunk (L1/L2)
RESIDENT_MAX_K = 160


@triton.autotune(
    configs=_CONFIGS,
    key=["C_OUT", "OH", "OW", "KT", "NUM_CHUNKS", "DOT_K", "PRECISION", "CL"],
    restore_value=["out_ptr"],
)
@triton.heuristics(_conv_tile_heuristics())
@triton.jit
def conv2d_gelu_gap_kernel(
    x_ptr,
    wp_ptr,
    koff_ptr,
    b_ptr,
    out_ptr,
    C_OUT,
    OH,
    OW,
    KT,
    sxb,
    sxc,
    sxh,
    sxw,
    inv_area,
    NUM_CHUNKS: tl.constexpr,
    CIN: tl.constexpr,
    KH: tl.constexpr,
    KW: tl.constexpr,
    BLOCK_N: tl.constexpr,
    DOT_K: tl.constexpr,
    PRECISION: tl.constexpr,
    DETERMINISTIC: tl.constexpr,
    GELU_MODE: tl.constexpr,
    BLOCK_W: tl.constexpr,
    TILE_W: tl.constexpr,
    SHIFT_COLS: tl.constexpr,
    LOOP_STAGES: tl.constexpr,
    BIAS_K: tl.constexpr,
    TF32_RNE: tl.constexpr,
    LOADS_FIRST: tl.constexpr = True,
    HW_TRUNC: tl.constexpr = True,
    PX_M: tl.constexpr = False,  # timing experiment (pixels as M), slower on the H200: NOTES-fused.md
    PART2D: tl.constexpr = False,  # with PX_M: per-pixel partials reduced once per program
    TAPS_MAJOR: tl.constexpr = False,  # K ordered (ky, kx, ci) instead of (ci, ky, kx); wp laid out to match
    SKEW: tl.constexpr = False,  # epilogue of tile t-1 after the MMAs of tile t (overlap; not with PX_M)
    CL: tl.constexpr = False,  # x is dense channels-last: sxc == 1, sxw == CIN, sxh and sxb multiples of CIN
    STREAM_K: tl.constexpr = 16,  # K per chunk of the streamed loop (NUM_CHUNKS == 0); a multiple of DOT_K
):
    # grid = (programs per image, batch, channel blocks)
    pid_g = tl.program_id(0)
    b = tl.program_id(1)
    pid_c = tl.program_id(2)
    n_prog = tl.num_programs(0)

    n_tw = tl.cdiv(OW, TILE_W)
    tiles_per_img = OH * n_tw
    tiles_per_prog = tl.cdiv(tiles_per_img, n_prog)
    t_begin = pid_g * tiles_per_prog
    t_end = tl.minimum(t_begin + tiles_per_prog, tiles_per_img)

    offs_n = pid_c * BLOCK_N + tl.arange(0, BLOCK_N)
    n_ok = offs_n < C_OUT
    if CL:
        # dense channels-last, resident K (CIN a compile-time constant): the strides written as multiples of
        # CIN, so the compiler knows a tap's CIN channels are contiguous and aligned (vector loads)
        sxc = 1
        sxw = CIN
        sxh = (sxh // CIN) * CIN
        sxb = (sxb // CIN) * CIN
    x_img = x_ptr + b.to(tl.int64) * sxb

    # K = (ci, ky, kx) flattened (KT = CIN*KH*KW). wp: prepared weights [C_OUT, KT + 2], natural order,
    # TF32-rounded if requested, columns KT, KT+1 = bias hi / lo.
    # NUM_CHUNKS > 0 ("resident"): K fits in NUM_CHUNKS chunks of DOT_K, unrolled; CIN, KH, KW are
    # compile-time constants, so the column offsets ci*sxc + ky*sxh + kx*sxw fold into address arithmetic
    # (measured: loading them from a table instead made the headline 2x slower); the weight tiles are loaded
    # once per program.  Plain loads only: any arithmetic on the weight tiles would turn the MMA's A operand
    # into a register operand re-read from smem every tile.
    # NUM_CHUNKS == 0 ("streamed", long K; CIN = KH = KW = 0 so one compilation serves every long K): a runtime
    # loop over chunks of STREAM_K loads weights and the column offsets koff (int64 [KT], from the prep kernel)
    # per chunk. With the shape's CIN, KH, KW compiled in (``_prepare(stream_arith=True)``, a timing experiment)
    # the offsets are computed instead of loaded, and the channels-last read applies to the streamed loop too.
    w_n = offs_n.to(tl.int64) * (KT + 2)
    ws = ()
    for c in tl.static_range(NUM_CHUNKS):
        f = c * DOT_K + tl.arange(0, DOT_K)
        if BIAS_K:
            wf_ok = f < KH * CIN * KW + 2
        else:
            wf_ok = f < KH * CIN * KW
        if PX_M:  # W^T [DOT_K, BLOCK_N]: the MMA's B operand (K-major in shared memory, as TF32 wants)
            ws = ws + (tl.load(wp_ptr + (f[:, None] + w_n[None, :]), mask=wf_ok[:, None] & n_ok[None, :], other=0.0),)
        else:
            ws = ws + (
                tl.load(wp_ptr + (w_n[:, None] + f[None, :]), mask=n_ok[:, None] & wf_ok[None, :], other=0.0),
            )
    bias = tl.load(b_ptr + offs_n, mask=n_ok, other=0.0).to(tl.float32)
    offs_w = tl.arange(0, TILE_W)
    if SHIFT_COLS:
        # TILE_W <= OW: the last column tile is shifted left to end at OW, so every load stays inside its row
        # and the per-element offsets below are loop-invariant; columns the previous tile already did are
        # masked.
        col_off = offs_w.to(tl.int64) * sxw
    else:
        # image narrower than the tile: clamp the columns (duplicates are masked in the epilogue)
        col_off = tl.minimum(offs_w, OW - 1).to(tl.int64) * sxw
    part = tl.zeros([BLOCK_N], dtype=tl.float32)
    if PART2D:
        part2 = tl.zeros([TILE_W, BLOCK_N], dtype=tl.float32)
    oh0 = t_begin // n_tw
    tw = t_begin - oh0 * n_tw
    tl.static_assert(not (SKEW and PX_M), "SKEW is for channel-major tiles (PX_M=False)")
    if SKEW:
        # software skew: iteration t issues tile t's MMAs, then runs tile t-1's epilogue, which the compiler
        # schedules between the asynchronous wgmma issue and its wait - the FP32/MUFU work of one tile overlaps
        # the tensor-core work of the next inside each warp (offline sm_90 SASS, triton 3.6 and 3.9), for a
        # second accumulator's registers. The "previous tile" of the first iteration is all masked.
        acc_prev = tl.zeros([BLOCK_N, TILE_W], dtype=tl.float32)
        ok_prev = offs_w < 0
        full_prev = t_begin < 0
    for _t in tl.range(t_begin, t_end, num_stages=LOOP_STAGES):
        if SHIFT_COLS:
            ow0 = tl.minimum(tw * TILE_W, OW - TILE_W)
            col_ok = offs_w >= tw * TILE_W - ow0
            cols_full = ow0 == tw * TILE_W
        else:
            ow0 = 0
            col_ok = offs_w < OW
            cols_full = False
        row_ptr = x_img + ow0.to(tl.int64) * sxw + oh0.to(tl.int64) * sxh
        if PX_M:  # pixels as M: acc[px, ch] = Xcol^T @ W^T, x tile the register-resident A operand
            if BIAS_K:
                acc = tl.zeros([TILE_W, BLOCK_N], dtype=tl.float32)
            else:
                acc = tl.zeros([TILE_W, BLOCK_N], dtype=tl.float32) + bias[None, :]
        elif BIAS_K:
            acc = tl.zeros([BLOCK_N, TILE_W], dtype=tl.float32)  # the first MMA overwrites (no MOVs)
        else:
            acc = tl.zeros([BLOCK_N, TILE_W], dtype=tl.float32) + bias[:, None]

        if NUM_CHUNKS > 0:
            # every chunk gathers its (ci, ky, kx) columns straight from the KH input rows
            xs = ()
            for c in tl.static_range(NUM_CHUNKS):
                f = c * DOT_K + tl.arange(0, DOT_K)
                ci, ky, kx = _k_index(f, CIN, KH, KW, TAPS_MAJOR)
                k_off = _column_offset(ci, ky, kx, sxc, sxh, sxw)
                if c + 1 == NUM_CHUNKS:  # the last chunk: K padding masked (and carrying the bias's ones)
                    f_ok = f < KH * CIN * KW
                    if not TAPS_MAJOR:  # (ky, kx, ci): the padding's offsets run on contiguously, masked
                        k_off = tl.where(f_ok, k_off, 0)
                    if BIAS_K:
                        pad = tl.where((f == KH * CIN * KW) | (f == KH * CIN * KW + 1), 1.0, 0.0)
                    else:
                        pad = tl.zeros([DOT_K], dtype=tl.float32)
                if PX_M:  # [TILE_W, DOT_K]
                    ptrs = row_ptr + (col_off[:, None] + k_off[None, :])
                else:  # [DOT_K, TILE_W]
                    ptrs = row_ptr + (k_off[:, None] + col_off[None, :])
                if c + 1 < NUM_CHUNKS:
                    xt = tl.load(ptrs)
                elif PX_M:
                    xt = tl.load(ptrs, mask=f_ok[None, :], other=pad[None, :].to(x_ptr.dtype.element_ty))
                else:
                    xt = tl.load(ptrs, mask=f_ok[:, None], other=pad[:, None].to(x_ptr.dtype.element_ty))
                if TF32_RNE:
                    xt = _round_tf32(xt, HW_TRUNC)
                if LOADS_FIRST:
                    xs = xs + (xt,)
                elif PX_M:
                    acc = tl.dot(xt, ws[c], acc, input_precision=PRECISION)
                else:
                    acc = tl.dot(ws[c], xt, acc, input_precision=PRECISION)
            if LOADS_FIRST:
                for c in tl.static_range(NUM_CHUNKS):
                    if PX_M:
                        acc = tl.dot(xs[c], ws[c], acc, input_precision=PRECISION)
                    else:
                        acc = tl.dot(ws[c], xs[c], acc, input_precision=PRECISION)
        elif CIN > 0 and TAPS_MAJOR and CIN % STREAM_K == 0 and not PX_M:
            # streamed, (ky, kx, ci) order, whole chunks per tap: a runtime loop over the taps, the channel chunks
            # unrolled, so each chunk's offsets are a tap offset plus compile-time channels (vector loads on a
            # channels-last x, no division per column)
            for tap in range(KH * KW):
                ky = tap // KW
                tap_off = ky.to(tl.int64) * sxh + (tap - ky * KW).to(tl.int64) * sxw
                for c0 in tl.static_range(0, CIN, STREAM_K):
                    cc = c0 + tl.arange(0, STREAM_K)
                    f = tap * CIN + cc
                    wt = tl.load(wp_ptr + (w_n[:, None] + f[None, :]), mask=n_ok[:, None], other=0.0)
                    xt = tl.load(row_ptr + tap_off + ((cc.to(tl.int64) * sxc)[:, None] + col_off[None, :]))
                    if TF32_RNE:
                        xt = _round_tf32(xt, HW_TRUNC)
                    acc = tl.dot(wt, xt, acc, input_precision=PRECISION)
        else:
            for k0 in range(0, KT, STREAM_K):
                f = k0 + tl.arange(0, STREAM_K)
                f_ok = f < KT
                if CIN > 0:  # the shape's constants compiled in (stream_arith): offsets by arithmetic, no table
                    ci, ky, kx = _k_index(f, CIN, KH, KW, TAPS_MAJOR)
                    k_off = tl.where(f_ok, _column_offset(ci, ky, kx, sxc, sxh, sxw), 0)
                else:
                    k_off = tl.load(koff_ptr + f, mask=f_ok, other=0)
                if PX_M:
                    wt = tl.load(wp_ptr + (f[:, None] + w_n[None, :]), mask=f_ok[:, None] & n_ok[None, :], other=0.0)
                    xt = tl.load(row_ptr + (col_off[:, None] + k_off[None, :]), mask=f_ok[None, :], other=0.0)
                else:
                    wt = tl.load(wp_ptr + (w_n[:, None] + f[None, :]), mask=n_ok[:, None] & f_ok[None, :], other=0.0)
                    xt = tl.load(row_ptr + (k_off[:, None] + col_off[None, :]), mask=f_ok[:, None], other=0.0)
                if TF32_RNE:
                    xt = _round_tf32(xt, HW_TRUNC)
                if PX_M:
                    acc = tl.dot(xt, wt, acc, input_precision=PRECISION)
                else:
                    acc = tl.dot(wt, xt, acc, input_precision=PRECISION)

        # ---- epilogue: GELU + masked sum over the tile's pixels (SKEW: of the previous tile)
        if SKEW:
            part += _tile_sum(acc_prev, ok_prev, full_prev, GELU_MODE)
            acc_prev = acc
            ok_prev = col_ok
            if SHIFT_COLS:
                full_prev = cols_full
        elif PART2D:  # pixels as M: keep per-(pixel, channel) partials, one cross-warp reduction at the end
            part2 += tl.where(col_ok[:, None], _gelu(acc, GELU_MODE), 0.0)
        elif PX_M:
            v = _gelu(acc, GELU_MODE)
            if cols_full:
                part += tl.sum(v, axis=0)
            else:
                part += tl.sum(tl.where(col_ok[:, None], v, 0.0), axis=0)
        else:
            part += _tile_sum(acc, col_ok, cols_full, GELU_MODE)
        # next tile: step the (row, column) tile coordinates without a division
        tw += 1
        wrap = tw == n_tw
        oh0 = tl.where(wrap, oh0 + 1, oh0)
        tw = tl.where(wrap, 0, tw)

    if SKEW:  # the last tile's epilogue
        part += _tile_sum(acc_prev, ok_prev, full_prev, GELU_MODE)
    if PART2D:
        part = tl.sum(part2, axis=0)
    res = part * inv_area
    if DETERMINISTIC:
        # out_ptr is the [batch, n_prog, C_OUT] fp32 partial buffer; fixed-order reduction in a second kernel
        p_off = (b.to(tl.int64) * n_prog + pid_g) * C_OUT + offs_n
        tl.store(out_ptr + p_off, res, mask=n_ok)
    else:
        if t_end > t_begin:
            tl.atomic_add(out_ptr + b.to(tl.int64) * C_OUT + offs_n, res, mask=n_ok, sem="relaxed")


@triton.jit
def conv2d_gelu_gap_prep_kernel(
    w_ptr,
    b_ptr,
    wp_ptr,
    koff_ptr,
    C_OUT,
    swo,
    swi,
    swh,
    sww,
    sxc,
    sxh,
    sxw,
    KH,
    KW,
    KT,
    ROUND: tl.constexpr,
    BLOCK: tl.constexpr,
    TAPS_MAJOR: tl.constexpr = False,
):
    """wp[n, :] = (w[n, ci, ky, kx] for (ci, ky, kx) in natural order, or (ky, kx, ci) with TAPS_MAJOR) ++ (bias hi,
    bias lo), in wp's dtype;
    program row n == 0 also writes koff[f] = ci*sxc + ky*sxh + kx*sxw (int64), the offset of K column f in x.

    Any weight strides.  ROUND: fp32 -> nearest TF32 (the tensor core would otherwise truncate).  bias hi =
    bias with the low 13 mantissa bits cleared (exact in TF32), lo = bias - hi (TF32 error ~2^-20 |bias|)."""
    n = tl.program_id(0)
    f = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    ci, ky, kx = _k_index(f, KT // (KH * KW), KH, KW, TAPS_MAJOR)  # the main kernel's order
    w_off = n.to(tl.int64) * swo + _column_offset(ci, ky, kx, swi, swh, sww)
    w = tl.load(w_ptr + w_off, mask=f < KT, other=0.0).to(tl.float32)
    bb = tl.load(b_ptr + n).to(tl.float32)
    b_hi = (bb.to(tl.int32, bitcast=True) & -8192).to(tl.float32, bitcast=True)
    if ROUND:
        w = _round_tf32(w)
    v = tl.where(f == KT, b_hi, tl.where(f == KT + 1, bb - b_hi, w))
    tl.store(wp_ptr + n.to(tl.int64) * (KT + 2) + f, v.to(wp_ptr.dtype.element_ty), mask=f < KT + 2)
    if n == 0:
        tl.store(koff_ptr + f, _column_offset(ci, ky, kx, sxc, sxh, sxw), mask=f < KT)


@triton.jit
def conv2d_gelu_gap_stage_kernel(
    x_ptr, xs_ptr, C, H, W, sxb, sxc, sxh, sxw,
    ROUND: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_W: tl.constexpr,
):
    """xs[b, h, w, c] = x[b, c, h, w] (any strides in, dense channels-last out), rounded to the nearest TF32
    value if ROUND (then the main kernel's x tiles need no rounding).  grid = (B * H, cdiv(W, BLOCK_W))."""
    r = tl.program_id(0)
    b = r // H
    h = r - b * H
    offs_c = tl.arange(0, BLOCK_C)
    offs_w = tl.program_id(1) * BLOCK_W + tl.arange(0, BLOCK_W)
    ok = (offs_c[:, None] < C) & (offs_w[None, :] < W)
    src = (x_ptr + b.to(tl.int64) * sxb + h.to(tl.int64) * sxh
           + (offs_c.to(tl.int64)[:, None] * sxc + offs_w.to(tl.int64)[None, :] * sxw))
    v = tl.load(src, mask=ok)
    if ROUND:
        v = _round_tf32(v)
    dst = xs_ptr + (r.to(tl.int64) * W * C + (offs_w.to(tl.int64)[None, :] * C + offs_c[:, None]))
    tl.store(dst, v, mask=ok)


@triton.jit
def conv2d_gelu_gap_finalize_kernel(part_ptr, out_ptr, n_prog, C_OUT, BLOCK_C: tl.constexpr):
    """Deterministic mode: out[b, n] = sum_g part[b, g, n] in a fixed order (g ascending)."""
    b = tl.program_id(0)
    offs = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    ok = offs < C_OUT
    base = part_ptr + b.to(tl.int64) * n_prog * C_OUT
    acc = tl.zeros([BLOCK_C], dtype=tl.float32)
    for g in range(n_prog):
        acc += tl.load(base + g * C_OUT + offs, mask=ok, other=0.0)
    tl.store(out_ptr + b.to(tl.int64) * C_OUT + offs, acc.to(out_ptr.dtype.element_ty), mask=ok)


# ------------------------------------------------------------------------------------------------------------
_SUPPORTED_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
_PRECISIONS = ("tf32", "ieee", "tf32x3")
_INT32_MAX = 2**31 - 1


def _interpreting():
    import os

    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def _dot_k(dtype):
    """K of one tl.dot chunk: 16, or 8 for fp32 where this Triton allows K=8 dots (3.6 needs 16)."""
    if dtype != torch.float32 or _interpreting():
        return 16
    try:
        from triton.backends.compiler import GPUTarget
        from triton.backends.nvidia.compiler import min_dot_size

        return 8 if min_dot_size(GPUTarget("cuda", 90, 32))(tl.float32, tl.float32)[2] <= 8 else 16
    except Exception:
        return 16


def _num_sms(device):
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).multi_processor_count
    return 1


#: how the main kernel reads x (issue 17; timings in benchmarks/dev/NOTES-fused.md):
#: "natural" - K ordered (ci, ky, kx), x through its own strides (any layout);
#: "channels-last" - K ordered (ky, kx, ci), so a dense channels-last x gives each tap's channels as one aligned
#: run (vector loads, K-major like the MMA wants); other layouts fall back to "natural";
#: "staged" - x copied once into a dense channels-last buffer (TF32-rounded on the tf32 path) by a prep launch,
#: then "channels-last" (one extra read and write of x, for vector loads and no transposes in the main kernel).
#: Both non-natural paths need the resident K (<= RESIDENT_MAX_K); beyond it they run "natural".
#: The default is "channels-last": the same kernel as "natural" on any other layout, and on a channels-last x
#: (H200 2026-12-03, headline shape) fp32 0.566 ms instead of 0.717, fp16/bf16 0.384 instead of 0.636.
#: "staged" is slower on a contiguous x (0.699 against 0.595: the copy alone is 0.133 ms) and stays opt-in.
PATHS = ("natural", "channels-last", "staged")
DEFAULT_PATH = "channels-last"


def _dense_channels_last(t):
    """x [B, C, H, W] laid out as dense NHWC (a size-1 dimension's stride never matters)."""
    B, C, H, W = t.shape
    sb, sc, sh, sw = t.stride()
    return ((C == 1 or sc == 1) and (W == 1 or sw == C) and (H == 1 or sh == W * C)
            and (B == 1 or sb % C == 0))


def _stage_channels_last(x, round_tf32):
    B, C, H, W = x.shape
    xs = torch.empty((B, H, W, C), device=x.device, dtype=x.dtype)
    BLOCK_C = triton.next_power_of_2(C)
    BLOCK_W = max(16, min(triton.next_power_of_2(W), 4096 // BLOCK_C))
    if xs.numel():
        conv2d_gelu_gap_stage_kernel[(B * H, triton.cdiv(W, BLOCK_W))](
            x, xs, C, H, W, *x.stride(), ROUND=round_tf32, BLOCK_C=BLOCK_C, BLOCK_W=BLOCK_W
        )
    return xs.permute(0, 3, 1, 2)  # [B, C, H, W] view with channels-last strides


def _tap_loop_chunk(cin, dot_k):
    """K per chunk of the streamed tap loop for ``cin`` channels (32 or 16, dividing cin and >= the dot's K), or
    None where the tap loop does not apply (cin not a multiple of 16)."""
    return next((k for k in (32, 16) if cin % k == 0 and k >= dot_k), None)


def _check_inputs(x, weight, bias, input_precision, path=DEFAULT_PATH):
    """One-line errors (name=value and how to fix it) for inputs no launch path can run; None if they are fine."""
    if not isinstance(x, torch.Tensor) or not isinstance(weight, torch.Tensor):
        raise TypeError(
            f"x and weight must be torch.Tensor, got x={type(x).__name__!r}, weight={type(weight).__name__!r}"
        )
    if x.dim() != 4:
        raise ValueError(f"x must be 4-D [batch, in_channels, H, W]; got x.shape={tuple(x.shape)!r}")
    if weight.dim() != 4:
        raise ValueError(
            f"weight must be 4-D [out_channels, in_channels, kh, kw]; "
            f"got weight.shape={tuple(weight.shape)!r}"
        )
    B, CIN, H, W = x.shape
    COUT, CIN_W, KH, KW = weight.shape
    if CIN_W != CIN:
        raise ValueError(
            f"weight in_channels={CIN_W!r} does not match x in_channels={CIN!r}; "
            f"weight must be [out_channels, {CIN}, kh, kw] (groups=1 only)"
        )
    if CIN < 1 or KH < 1 or KW < 1:
        raise ValueError(f"in_channels={CIN!r}, kh={KH!r}, kw={KW!r} must all be >= 1")
    if H < KH:
        raise ValueError(
            f"H={H!r} < kh={KH!r}: a valid (unpadded, stride-1) convolution needs H >= kh; "
            f"pad the input or use a smaller kernel"
        )
    if W < KW:
        raise ValueError(
            f"W={W!r} < kw={KW!r}: a valid (unpadded, stride-1) convolution needs W >= kw; "
            f"pad the input or use a smaller kernel"
        )
    if x.dtype not in _SUPPORTED_DTYPES:
        raise ValueError(
            f"x.dtype={x.dtype!r} is not supported; use torch.float32, torch.float16 or torch.bfloat16"
        )
    if weight.dtype not in _SUPPORTED_DTYPES:
        raise ValueError(f"weight.dtype={weight.dtype!r} is not supported; use float32, float16 or bfloat16")
    if input_precision not in _PRECISIONS:
        raise ValueError(f"input_precision={input_precision!r} is not supported; use one of {_PRECISIONS!r}")
    if path not in PATHS:
        raise ValueError(f"path={path!r} is not an x path; use one of {', '.join(PATHS)}")
    if bias is not None and (not isinstance(bias, torch.Tensor) or tuple(bias.shape) != (COUT,)):
        got = tuple(bias.shape) if isinstance(bias, torch.Tensor) else bias
        raise ValueError(f"bias must be None or a tensor of shape ({COUT},); got bias={got!r}")
    if bias is not None and bias.dtype not in _SUPPORTED_DTYPES:
        raise ValueError(f"bias.dtype={bias.dtype!r} is not supported; use float32, float16 or bfloat16")
    if weight.device != x.device or (bias is not None and bias.device != x.device):
        raise ValueError(
            f"x, weight and bias must be on one device; got x.device={x.device!r}, "
            f"weight.device={weight.device!r}, bias.device="
            f"{(bias.device if bias is not None else None)!r}"
        )
    if x.device.type != "cuda" and not _interpreting():
        raise ValueError(f"x.device={x.device!r}: a CUDA tensor is required (or TRITON_INTERPRET=1 for CPU)")


def _prepare(x, weight, bias, input_precision, programs_per_image=None, path=DEFAULT_PATH, *, stream_arith=None,
             stream_k=None):
    """Validate the inputs; return (shape info, kernel arguments, constexprs) shared by every launch path.

    The streamed (long-K) loop: by default (``stream_arith=None``), where the channels come in whole chunks
    (:func:`_tap_loop_chunk`) and ``path`` is not "natural", the shape's CIN, KH, KW are compiled in and the tap
    loop reads a channels-last x with 16-byte loads, staging any other layout into channels-last first (H200
    2026-12-03, 16x64x56x56 -> 128, 3x3: 0.110 ms fp32 against 0.480 with the koff table; NOTES-fused.md);
    otherwise the koff table. ``stream_arith`` True / False forces the compiled-in offsets / the table;
    ``stream_k`` sets the loop's K per chunk (a power of two >= the dot's K; default the tap loop's chunk, else
    the dot's K)."""
    _check_inputs(x, weight, bias, input_precision, path)
    B, CIN, H, W = x.shape
    COUT, CIN_W, KH, KW = weight.shape
    if bias is None:
        bias = torch.zeros((COUT,), device=x.device, dtype=torch.float32)

    OH, OW = H - KH + 1, W - KW + 1
    BLOCK_N = 64
    n_cblk = triton.cdiv(COUT, BLOCK_N)
    dot_k = _dot_k(x.dtype)
    if programs_per_image is None:
        # enough programs for ~32 per SM (load balance), each walking a run of tiles of one image
        programs_per_image = (
            2 if _interpreting() else triton.cdiv(32 * _num_sms(x.device), max(1, B * n_cblk))
        )
    P = max(1, int(programs_per_image))
    info = dict(B=B, COUT=COUT, OH=OH, OW=OW, P=P, grid=(P, B, n_cblk))
    KT = CIN * KH * KW
    tf32_round = x.dtype == torch.float32 and input_precision == "tf32"
    # K chunks: unrolled with resident weights up to RESIDENT_MAX_K (+2 bias columns), streamed beyond
    num_chunks = triton.cdiv(KT, dot_k)
    if num_chunks * dot_k > RESIDENT_MAX_K:
        num_chunks = 0
    tap_chunk = _tap_loop_chunk(CIN, dot_k) if num_chunks == 0 and path != "natural" else None
    if stream_arith is None:
        stream_arith = tap_chunk is not None
        if stream_arith and path == "channels-last" and not _dense_channels_last(x):
            path = "staged"  # the tap loop's 16-byte loads need channels-last: one copy of x (+ ~5 %)
    stream_k = (tap_chunk if stream_arith and tap_chunk else dot_k) if stream_k is None else stream_k
    if stream_k < dot_k or stream_k & (stream_k - 1):
        raise ValueError(f"stream_k={stream_k!r} must be a power of two >= {dot_k} (the dot's K for {x.dtype})")
    shape_known = num_chunks > 0 or stream_arith  # CIN, KH, KW compiled in
    x_rounded = False
    if path == "staged" and shape_known and B * COUT > 0:
        x = _stage_channels_last(x, tf32_round)
        x_rounded = tf32_round
    channels_last = path != "natural" and shape_known and _dense_channels_last(x)
    # one tiny launch: weights re-laid out [COUT, K + 2] (+ bias hi/lo), TF32-rounded for the tf32 path
    wp = torch.empty((COUT, KT + 2), device=x.device, dtype=x.dtype)
    koff = torch.empty((KT,), device=x.device, dtype=torch.int64)
    PB = min(1024, triton.next_power_of_2(KT + 2))
    sxb, sxc, sxh, sxw = x.stride()
    if COUT > 0:
        conv2d_gelu_gap_prep_kernel[(COUT, triton.cdiv(KT + 2, PB))](
            weight, bias, wp, koff, COUT, *weight.stride(), sxc, sxh, sxw, KH, KW, KT, ROUND=tf32_round, BLOCK=PB,
            TAPS_MAJOR=channels_last,
        )
    args = [x, wp, koff, bias, None, COUT, OH, OW, KT, sxb, sxc, sxh, sxw, 1.0 / (OH * OW)]
    constexprs = dict(
        NUM_CHUNKS=num_chunks,
        CIN=CIN if shape_known else 0,
        KH=KH if shape_known else 0,
        KW=KW if shape_known else 0,
        STREAM_K=stream_k,
        BLOCK_N=BLOCK_N,
        DOT_K=dot_k,
        TF32_RNE=tf32_round and not x_rounded,
        TAPS_MAJOR=channels_last,
        CL=channels_last,
        HW_TRUNC=not _interpreting(),  # the interpreter's dots are exact: round fully there
        PRECISION=input_precision if x.dtype == torch.float32 else "ieee",
    )
    return info, args, constexprs


def _run(kernel, x, info, args, constexprs, deterministic, **launch_kwargs):
    """Launch ``kernel`` (the autotuner, or for experiments a raw JITFunction with every meta-parameter in
    ``launch_kwargs``) in the requested mode; return [B, COUT] in x.dtype."""
    B, COUT, P, grid = info["B"], info["COUT"], info["P"], info["grid"]
    if deterministic:
        part = torch.empty((B, P, COUT), device=x.device, dtype=torch.float32)
        args[4] = part
        kernel[grid](*args, DETERMINISTIC=True, **constexprs, **launch_kwargs)
        out = torch.empty((B, COUT), device=x.device, dtype=x.dtype)
        BLOCK_C = min(256, max(16, triton.next_power_of_2(COUT)))
        conv2d_gelu_gap_finalize_kernel[(B, triton.cdiv(COUT, BLOCK_C))](part, out, P, COUT, BLOCK_C=BLOCK_C)
        return out
    out = torch.zeros((B, COUT), device=x.device, dtype=torch.float32)
    args[4] = out
    kernel[grid](*args, DETERMINISTIC=False, **constexprs, **launch_kwargs)
    return out if x.dtype == torch.float32 else out.to(x.dtype)


#: GELU formulations by name (the kernel's GELU_MODE): exact-grade, and the declared cheaper one
GELUS = {"exact": 0, "poly5": 4}


def default_gelu(input_precision: str) -> str:
    """``poly5`` where the contract already rounds operands more than it costs (TF32; 16-bit inputs run the
    16-bit path whatever ``input_precision`` says, but an ``ieee`` caller asked for exact-grade numbers)."""
    return "exact" if input_precision in ("ieee", "tf32x3") else "poly5"


def conv2d_gelu_gap(x, weight, bias, *, input_precision="tf32", deterministic=False, gelu=None, path=None):
    """mean_{h,w} gelu(conv2d(x, weight, bias)) -> [batch, out_channels], dtype x.dtype.

    Stride-1, unpadded ("valid") convolution; exact (erf) GELU.  ``x``: [B, Cin, H, W] with any strides
    (contiguous and channels_last included; handled through the strides); ``weight``: [Cout, Cin, kh, kw];
    ``bias``: [Cout] or None.  fp32 inputs use ``tl.dot`` with ``input_precision`` ("tf32" default, "ieee",
    "tf32x3"); fp16/bf16 inputs use fp16/bf16 tensor-core operands; accumulation is always fp32.
    ``deterministic=True``: fixed-order reduction of per-program partials (bitwise reproducible) instead of
    atomics. ``gelu``: "exact" (exact-grade, within the fp32 evaluation budget) or "poly5" (within
    2^-14 |gelu| + 2^-24 |z|, a budget the caller must declare: fusefuzz.kernels.bundled.POLY5_BUDGET);
    default :func:`default_gelu`. ``path``: how x is read, one of :data:`PATHS` (default :data:`DEFAULT_PATH`);
    every path computes the same contract. (:mod:`fusefuzz.kernels.conv2d_gelu_gap` chooses between this kernel
    and the Hopper one.)
    """
    gelu = gelu or default_gelu(input_precision)
    if gelu not in GELUS:
        raise ValueError(f"gelu={gelu!r} is not a GELU formulation; use one of {', '.join(GELUS)}")
    info, args, constexprs = _prepare(x, weight, bias, input_precision, path=path or DEFAULT_PATH)
    if info["B"] == 0 or info["COUT"] == 0:
        return torch.zeros((info["B"], info["COUT"]), device=x.device, dtype=x.dtype)
    return _run(conv2d_gelu_gap_kernel, x, info, args, constexprs, deterministic, GELU_MODE=GELUS[gelu])


class ModelNew(nn.Module):
    """Drop-in for KernelBench's Model: Conv2d -> GELU -> adaptive_avg_pool2d(1) -> squeeze, fused."""

    def __init__(
        self, in_channels, out_channels, kernel_size, *, input_precision="tf32", deterministic=False, gelu=None,
        path=None,
    ):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.input_precision = input_precision
        self.deterministic = deterministic
        self.gelu = gelu
        self.path = path

    def forward(self, x):
        return conv2d_gelu_gap(
            x,
            self.conv.weight,
            self.conv.bias,
            input_precision=self.input_precision,
            deterministic=self.deterministic,
            gelu=self.gelu,
            path=self.path,
        )
