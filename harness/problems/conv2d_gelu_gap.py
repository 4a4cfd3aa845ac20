"""KernelBench level 2 #67: Conv2d (bias, stride 1, no padding) -> exact GELU -> global average pool.

Error bound for one output ``y[b, c] = mean_p GELU(v[b, c, p])``, with ``v = conv(x, w) + bias`` a dot
product of length ``K = C_in * kh * kw`` plus one addition. Everything is computed in float64 from the
candidate's exact inputs and parameters, so the only errors left are the candidate's own roundings.

1. **Dot.** Operands rounded with relative error ``u_op`` (0 when the contract keeps at least the input's
   mantissa, see :func:`fusefuzz.harness.precision.operand_roundoff`), products and the K+1 term sum in fp32:
   ``|dv| <= ((1+u_op)^2 - 1)(1 + g) m + g (m + |bias|) + (K+2) tiny`` with ``g = gamma_{K+1}`` (one ulp
   per addition when the dot runs on tensor cores, whose accumulator truncates, see fusefuzz.harness.precision),
   ``m = conv(|x|, |w|)`` the magnitude of the products (the second float64 pass; the bias is added, not
   multiplied, so it only carries accumulation error) and the last term for subnormals flushed to zero.
   Worst case, any summation order: no sqrt(K) averaging, which would be wrong for Triton's biased TF32
   truncation anyway.
2. **GELU.** Lipschitz: ``|GELU'(v)| <= 1.129`` (its maximum, at v = sqrt(2)), so the dot error grows by at
   most 1.13. Evaluating ``0.5 v (1 + erf(v / sqrt 2))`` in fp32 adds ``4 u (|g| + |v|)``: a few roundings
   of the result, plus erf's absolute error (<= 2 ulp of 1) scaled by ``0.5 |v|`` where ``1 + erf`` cancels.
   A declared approximation budget (per activation: absolute + relative |g| + of_input |v|, harness/approx.py;
   e.g. a tanh-form or a cheaper polynomial GELU) is added here.
3. **Mean.** Summing N = Ho*Wo fp32 values in any order: ``gamma_N * mean|g|``; the division adds ``u |y|``.
4. **Store.** fp16/bf16 outputs add their rounding ``u_out |y|`` and half their smallest subnormal.

**Unfused intermediates (fp16/bf16 only).** PyTorch eager at the input dtype, and any candidate that runs the
three operations as separate kernels, stores each intermediate in that dtype (:data:`UNFUSED`): the conv result
``c = v - bias`` (some backends add the bias in a second op: cuDNN in PyTorch's convolution), ``v`` itself, and
``g = GELU(v)``. Each store is one rounding ``|fl(t) - t| <= u |t| + eta`` with ``u = u_16`` (2^-11 fp16, 2^-8
bf16) and ``eta`` half the dtype's smallest subnormal (values that underflow), so per pixel

    |dv| <= (1+u)^2 dot + u (1+u) |c| + u |v| + (2+u) eta   (dot: step 1's bound; the store of c, then of c + bias)
    |dg| <= a + u (|g| + a) + eta,  a = 1.13 |dv| + GELU eval + budget      (step 2, then the store of g)

and the mean (step 3) sums stored values of size at most ``|g| + |dg|``, so its gamma_N term is taken of
``mean(|g| + |dg|)``. Every term is linear in per-pixel magnitudes, so the mean of the per-pixel bounds is the
bound with ``mean|c|``, ``mean|v|``, ``mean|g|`` in place of the per-pixel values. The mean itself (PyTorch's
``adaptive_avg_pool2d`` / ``mean`` accumulate 16-bit inputs in fp32 and round once) is the final store of step 4.
Without this allowance PyTorch's own fp16/bf16 result fails the bound (error/allowed up to ~9 at fp16 and ~30 at
bf16 on small examples: the conv output rounded to 16 bits is an error ``u |c|`` where the fused-only bound
allows ~``u |y|`` plus fp32 terms). The allowance is the worst case of one 16-bit rounding per stored value, no more:
an fp16 result off by a 2^-8 relative error is rejected (error/allowed ~1.5-2), a kernel rounding its
intermediates twice as coarsely is rejected once enough outputs are seen (1x1 outputs: ~1.1 over 4096 outputs,
where PyTorch's own roundings reach ~0.6), and a kernel accumulating in 16 bits is rejected where its error grows
with the number of terms summed (the explicit fp16 example with 2304 pixels per output).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import approx
from ..example import Example
from ..precision import (
    DTYPES,
    FP32_TINY,
    U_ACC,
    Intermediate,
    accumulation_roundoff,
    gamma,
    intermediate_roundoff,
    intermediate_underflow,
    operand_roundoff,
    output_roundoff,
)
from .problem import Problem, register

GELU_LIPSCHITZ = 1.129

#: what an unfused computation at fp16/bf16 stores in the input dtype (PyTorch eager: conv, gelu, mean as three ops)
UNFUSED = (
    Intermediate("conv", "the conv result before the bias: some backends (cuDNN in PyTorch) add it in a second op"),
    Intermediate("conv + bias", "nn.Conv2d's output, returned in the input dtype"),
    Intermediate("gelu", "F.gelu's output, returned in the input dtype and read back by the mean"),
)


class Model(nn.Module):
    """The reference, as KernelBench defines it."""

    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        x = self.conv(x)
        x = F.gelu(x)
        x = F.adaptive_avg_pool2d(x, 1)
        x = x.squeeze(-1).squeeze(-1)
        return x


def _kernel_hw(example: Example) -> tuple[int, int]:
    k = example["kernel_size"]
    if isinstance(k, (tuple, list)):
        return int(k[0]), int(k[1])
    return int(k), int(k)


def init_args(example: Example) -> tuple:
    k = example["kernel_size"]
    return (example["in_channels"], example["out_channels"], tuple(k) if isinstance(k, list) else k)


def input_shapes(example: Example):
    return [(example["batch"], example["in_channels"], example["height"], example["width"])]


def output_shape(example: Example):
    return (example["batch"], example["out_channels"])


class Analysis:
    """Float64 quantities per output: the reference and the terms of the bound (see module docstring)."""

    def __init__(self, example, ref64, dot_mag_mean, bias_abs, act_err_mean, g_abs_mean, K, N, conv_abs_mean,
                 v_abs_mean):
        self.example = example
        self.ref64 = ref64
        self.dot_mag_mean = dot_mag_mean  # mean_p conv(|x|, |w|)
        self.bias_abs = bias_abs  # |bias| per output channel, shape [1, C_out]
        self.act_err_mean = act_err_mean  # mean_p 4u(|g| + |v|)
        self.g_abs_mean = g_abs_mean  # mean_p |g|
        self.conv_abs_mean = conv_abs_mean  # mean_p |v - bias| (the conv result an unfused computation stores)
        self.v_abs_mean = v_abs_mean  # mean_p |v|
        self.K = K
        self.N = N


def analyse(example: Example, inputs, params, *, chunk_elems: int = 1 << 25) -> Analysis:
    (x,) = inputs
    weight, bias = params["conv.weight"], params["conv.bias"]
    w64, b64 = weight.detach().double(), bias.detach().double()
    kh, kw = w64.shape[-2:]
    B = x.shape[0]
    Ho, Wo = x.shape[2] - kh + 1, x.shape[3] - kw + 1
    per_image = w64.shape[0] * Ho * Wo
    step = max(1, chunk_elems // max(1, per_image))
    refs, mags, errs, gabs, cabs, vabs = [], [], [], [], [], []
    for start in range(0, B, step):
        xc = x[start:start + step].detach().double()
        v = F.conv2d(xc, w64, b64)
        m = F.conv2d(xc.abs(), w64.abs())  # the products' magnitude; the bias is no dot operand
        g = F.gelu(v)
        refs.append(g.mean((2, 3)))
        mags.append(m.mean((2, 3)))
        errs.append((4 * U_ACC * (g.abs() + v.abs())).mean((2, 3)))
        gabs.append(g.abs().mean((2, 3)))
        vabs.append(v.abs().mean((2, 3)))
        cabs.append((v - b64[None, :, None, None]).abs().mean((2, 3)))
        del v, m, g
    cat = lambda ts: torch.cat(ts, 0)
    K = w64.shape[1] * kh * kw
    return Analysis(example, cat(refs), cat(mags), b64.abs()[None, :], cat(errs), cat(gabs), K, Ho * Wo,
                    conv_abs_mean=cat(cabs), v_abs_mean=cat(vabs))


def bound(a: Analysis, contract: str, budget: float = 0.0) -> torch.Tensor:
    """Per-output absolute error bound under ``contract`` (derivation in the module docstring)."""
    u_op = operand_roundoff(contract, a.example.dtype)
    u_acc = accumulation_roundoff(contract, a.example.dtype)
    g_acc = gamma(a.K + 1, u_acc)
    operand = ((1 + u_op) ** 2 - 1) * (1 + g_acc)
    dot_err = operand * a.dot_mag_mean + g_acc * (a.dot_mag_mean + a.bias_abs) + (a.K + 2) * FP32_TINY
    u_mid = intermediate_roundoff(a.example.dtype)  # the UNFUSED stores: 0 at fp32
    eta = intermediate_underflow(a.example.dtype)  # |fl(t) - t| <= u_mid |t| + eta
    if u_mid:
        dot_err = ((1 + u_mid) ** 2 * dot_err + u_mid * (1 + u_mid) * a.conv_abs_mean + u_mid * a.v_abs_mean
                   + (2 + u_mid) * eta)
    act = GELU_LIPSCHITZ * dot_err + a.act_err_mean + approx.term(budget, a.g_abs_mean, a.v_abs_mean)
    summed = a.g_abs_mean
    if u_mid:
        act = act + u_mid * (a.g_abs_mean + act) + eta
        summed = summed + act  # the mean adds up stored values, each within act of |g|
    pooled = act + gamma(a.N) * summed + U_ACC * a.ref64.abs()
    u_out = output_roundoff(a.example.dtype)
    if u_out:
        dt = DTYPES[a.example.dtype][0]
        smallest_subnormal = torch.finfo(dt).tiny * torch.finfo(dt).eps
        pooled = pooled + u_out * (a.ref64.abs() + pooled) + smallest_subnormal / 2
    return pooled


def flops(example: Example) -> float:
    kh, kw = _kernel_hw(example)
    Ho, Wo = example["height"] - kh + 1, example["width"] - kw + 1
    macs = example["batch"] * example["out_channels"] * Ho * Wo * example["in_channels"] * kh * kw
    return 2.0 * macs


def min_bytes(example: Example) -> float:
    kh, kw = _kernel_hw(example)
    item = torch.finfo(DTYPES[example.dtype][0]).bits // 8
    b, ci, co = example["batch"], example["in_channels"], example["out_channels"]
    return item * (b * ci * example["height"] * example["width"] + co * ci * kh * kw + co + b * co)


def _strategy(**options):
    from fusefuzz.properties import conv2d_examples

    return conv2d_examples(**options)


HEADLINE = Example(
    sizes=dict(batch=128, in_channels=8, out_channels=64, height=256, width=256, kernel_size=3),
    dtype="float32", layout="contiguous", distribution="rand", scale=1.0, seed=0,
)

def _ex(b, ci, co, h, w, k, dtype="float32", layout="contiguous", dist="randn", seed=1):
    return Example(sizes=dict(batch=b, in_channels=ci, out_channels=co, height=h, width=w, kernel_size=k),
                   dtype=dtype, layout=layout, distribution=dist, scale=1.0, seed=seed)


#: reached on purpose, each within the interpreter's per-example budget
EXPLICIT = (
    _ex(1, 1, 1, 1, 1, 1, dist="rand"),  # the smallest problem: a 1x1 output, pooling hides nothing
    _ex(3, 2, 65, 3, 3, 3),  # 1x1 outputs, out_channels one past a 64 tile, odd batch
    _ex(4, 3, 17, 17, 17, 1),  # 289 output pixels (tile sizes +- 1), batch 4 so a split changes its size
    _ex(2, 5, 33, 9, 7, 3, dtype="float16", layout="channels_last"),  # rectangular output, 33 channels
    _ex(2, 4, 16, 6, 5, 2, dtype="bfloat16", layout="strided"),  # exact tile multiple, strided bf16
    # 2304 pixels per output at fp16, K = 1: the unfused allowance (UNFUSED) does not grow with the pixel count,
    # a 16-bit accumulator's error does (the zoo's 10: error/allowed ~4 here, PyTorch eager ~0.15)
    _ex(1, 1, 16, 48, 48, 1, dtype="float16", dist="rand"),
)

PROBLEM = register(Problem(
    name="conv2d_gelu_gap",
    description="KernelBench L2 #67: Conv2d(bias, stride 1, valid) -> exact GELU -> global average pool",
    reference=Model,
    size_names=("batch", "in_channels", "out_channels", "height", "width", "kernel_size"),
    init_args=init_args,
    input_shapes=input_shapes,
    output_shape=output_shape,
    analyse=analyse,
    bound=bound,
    strategy=_strategy,
    headline=HEADLINE,
    explicit=EXPLICIT,
    varies=("batch 1-8, in_channels 1-64, out_channels 1-96, kernel_size 1-7, height/width = kernel + 0..48; "
            "dtype fp32/fp16/bf16; layout contiguous/channels_last/strided; values rand/randn/randn*scale "
            "(scale log-uniform in [1e-3, 1e3])"),
    reference_ops=frozenset({
        "convolution", "_convolution", "conv2d", "cudnn_convolution", "mkldnn_convolution",
        "_slow_conv2d_forward", "thnn_conv2d", "gelu", "mean", "avg_pool2d", "adaptive_avg_pool2d",
        "_adaptive_avg_pool2d", "mm", "bmm", "addmm", "matmul", "baddbmm", "sum", "unfold", "im2col",
        "erf", "tanh",
    }),
    flops=flops,
    min_bytes=min_bytes,
))
