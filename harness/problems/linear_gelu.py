"""Linear -> exact GELU: ``y = gelu(x @ W^T + b)``, x ``[batch, in_features]``, y ``[batch, out_features]``.

The KernelBench-style reference is ``nn.Linear(in_features, out_features)`` followed by ``F.gelu`` (erf
form). Error bound for one output ``y[m, n] = GELU(v)``, ``v = sum_k x[m, k] W[n, k] + b[n]``, a dot product of
length ``K = in_features`` plus one addition. Everything is computed in float64 from the candidate's exact
inputs and parameters, so the only errors left are the candidate's own roundings (same derivation as
:mod:`fusefuzz.harness.problems.conv2d_gelu_gap`, without the pooling):

1. **Dot.** Operands rounded with relative error ``u_op`` (0 when the contract keeps the input's mantissa, see
   :func:`fusefuzz.harness.precision.operand_roundoff`), products and the K+1 term sum in fp32 in any order:
   ``|dv| <= ((1+u_op)^2 - 1)(1 + g) m + g (m + |b|) + (K+2) tiny`` with ``g = gamma_{K+1}`` (one ulp per
   addition when the dot runs on tensor cores, whose accumulator truncates: every contract but ``ieee`` on
   fp32 inputs), ``m = |x| @ |W|^T`` (the products' magnitude; the bias is added, not multiplied) and the
   last term for subnormals flushed to zero. Worst case: no sqrt(K) averaging (Triton's TF32 truncation is
   biased).
2. **GELU.** Lipschitz: ``|GELU'(v)| <= 1.129``, so the dot error grows by at most 1.13. Evaluating it in
   fp32 adds ``4 u (|y| + |v|)`` (a few roundings of the result, plus an erf / exp2 error of a few ulp scaled
   by ``|v|`` where ``1 + erf`` cancels). A declared approximation budget (absolute, per output) is added.
3. **Store.** fp16/bf16 outputs add their rounding ``u_out (|y| + err)`` and half their smallest subnormal.

**Unfused intermediates (fp16/bf16 only).** PyTorch eager at the input dtype (``F.linear`` then ``F.gelu``), and
any candidate that runs the GEMM and the activation as separate kernels, stores the pre-activation in that dtype
(:data:`UNFUSED`): ``c = x @ W^T`` when the bias is added by a second op, and ``v = c + b``. Each store is one
rounding ``|fl(t) - t| <= u |t| + eta`` (``u = u_16``: 2^-11 fp16, 2^-8 bf16; ``eta``: half the dtype's smallest
subnormal), so step 1's ``|dv|`` becomes ``(1+u)^2 dot + u (1+u) |c| + u |v| + (2+u) eta`` before step 2
multiplies it by 1.13. The GELU output is the final store
(step 3). Without this allowance PyTorch's own fp16/bf16 result fails the bound (error/allowed ~2 at fp16 and
~3 at bf16 on small examples). Not charged: cuBLAS's reduced-precision split-K reductions for fp16 GEMMs
(``torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction``, on by default), which may round partial
sums to fp16 on some GPU shapes; the ``peer`` policy, which runs PyTorch with the same flags, covers them.

Nothing is averaged: unlike conv2d_gelu_gap, every activation is an output, so an approximate GELU (tanh form,
a dropped cubic term) is seen at its full size (~1e-3), far above the ~1e-7 bound of an exact one.
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
from .conv2d_gelu_gap import GELU_LIPSCHITZ
from .problem import Problem, register

#: what an unfused computation at fp16/bf16 stores in the input dtype (PyTorch eager: F.linear, then F.gelu)
UNFUSED = (
    Intermediate("x @ W^T", "the GEMM result before the bias, where a backend adds the bias in a second op"),
    Intermediate("x @ W^T + b", "F.linear's output, returned in the input dtype and read back by F.gelu"),
)


class Model(nn.Module):
    """The reference: nn.Linear then exact (erf) GELU."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x):
        return F.gelu(self.linear(x))


def init_args(example: Example) -> tuple:
    return (example["in_features"], example["out_features"])


def input_shapes(example: Example):
    return [(example["batch"], example["in_features"])]


def output_shape(example: Example):
    return (example["batch"], example["out_features"])


class Analysis:
    """Float64 quantities per output: the reference and the terms of the bound (see module docstring)."""

    def __init__(self, example, ref64, dot_mag, bias_abs, act_err, K, gemm_abs, v_abs):
        self.example = example
        self.ref64 = ref64
        self.dot_mag = dot_mag  # |x| @ |W|^T
        self.bias_abs = bias_abs  # |b|, shape [1, N]
        self.act_err = act_err  # 4u(|y| + |v|)
        self.K = K
        self.gemm_abs = gemm_abs  # |x @ W^T| (the GEMM result an unfused computation may store)
        self.v_abs = v_abs  # |x @ W^T + b|


def analyse(example: Example, inputs, params) -> Analysis:
    (x,) = inputs
    w64 = params["linear.weight"].detach().double()
    b64 = params["linear.bias"].detach().double()
    x64 = x.detach().double()
    c = x64 @ w64.T
    v = c + b64
    g = F.gelu(v)
    mag = x64.abs() @ w64.abs().T
    return Analysis(example, g, mag, b64.abs()[None, :], 4 * U_ACC * (g.abs() + v.abs()), w64.shape[1],
                    gemm_abs=c.abs(), v_abs=v.abs())


def bound(a: Analysis, contract: str, budget: float = 0.0) -> torch.Tensor:
    """Per-output absolute error bound under ``contract`` (derivation in the module docstring)."""
    u_op = operand_roundoff(contract, a.example.dtype)
    g_acc = gamma(a.K + 1, accumulation_roundoff(contract, a.example.dtype))
    dot_err = (((1 + u_op) ** 2 - 1) * (1 + g_acc) * a.dot_mag + g_acc * (a.dot_mag + a.bias_abs)
               + (a.K + 2) * FP32_TINY)
    u_mid = intermediate_roundoff(a.example.dtype)  # the UNFUSED stores: 0 at fp32
    eta = intermediate_underflow(a.example.dtype)  # |fl(t) - t| <= u_mid |t| + eta
    if u_mid:
        dot_err = ((1 + u_mid) ** 2 * dot_err + u_mid * (1 + u_mid) * a.gemm_abs + u_mid * a.v_abs
                   + (2 + u_mid) * eta)
    err = GELU_LIPSCHITZ * dot_err + a.act_err + approx.term(budget, a.ref64.abs(), a.v_abs)
    u_out = output_roundoff(a.example.dtype)
    if u_out:
        dt = DTYPES[a.example.dtype][0]
        smallest_subnormal = torch.finfo(dt).tiny * torch.finfo(dt).eps
        err = err + u_out * (a.ref64.abs() + err) + smallest_subnormal / 2
    return err


def flops(example: Example) -> float:
    return 2.0 * example["batch"] * example["in_features"] * example["out_features"]


def min_bytes(example: Example) -> float:
    item = torch.finfo(DTYPES[example.dtype][0]).bits // 8
    m, k, n = example["batch"], example["in_features"], example["out_features"]
    return item * (m * k + n * k + n + m * n)


def _strategy(**options):
    from fusefuzz.properties import linear_examples

    return linear_examples(**options)


def _ex(m, k, n, dtype="float32", layout="contiguous", dist="randn", seed=1):
    return Example(sizes=dict(batch=m, in_features=k, out_features=n), dtype=dtype, layout=layout,
                   distribution=dist, scale=1.0, seed=seed)


HEADLINE = _ex(4096, 4096, 4096, dist="rand", seed=0)

#: reached on purpose after the search, each within the interpreter's budget
EXPLICIT = (
    _ex(1, 1, 1, dist="rand"),  # the smallest problem: one product and the bias
    _ex(3, 17, 65),  # K one past a 16 chunk, N one past a 64 tile, odd batch
    _ex(65, 33, 17, dtype="float16", layout="strided"),  # M one past a 64 tile, strided fp16 rows
    _ex(129, 5, 129),  # M and N one past a 128 tile: several programs in both directions
    _ex(2, 129, 3, layout="strided"),  # K one past 128: full chunks and a tail, K stride 2
    _ex(1, 16, 257),  # N one past a 256 tile
    _ex(4, 64, 32, dtype="bfloat16"),  # exact multiples, bf16
)

#: strategy options in the interpreter: GEMM kernels pay per tile and K chunk, not per output, so more outputs
#: fit than the campaign's default cap (96, sized for one-program-per-output kernels); fewer multiply-adds
#: than its default keep a small-tile kernel near half a second per example
INTERPRETER_OPTIONS = {"max_macs": 100_000, "max_outputs": 2048}

PROBLEM = register(Problem(
    name="linear_gelu",
    description="nn.Linear(in_features, out_features) -> exact GELU (KernelBench-style Linear + activation)",
    reference=Model,
    size_names=("batch", "in_features", "out_features"),
    init_args=init_args,
    input_shapes=input_shapes,
    output_shape=output_shape,
    analyse=analyse,
    bound=bound,
    strategy=_strategy,
    headline=HEADLINE,
    explicit=EXPLICIT,
    varies=("batch 1-640, in_features 1-1280, out_features 1-1280 (often tile sizes +- 1); dtype fp32/fp16/bf16; "
            "layout contiguous/strided; values rand/randn/randn*scale"),
    reference_ops=frozenset({
        "linear", "addmm", "mm", "matmul", "bmm", "baddbmm", "addmv", "mv", "dot", "einsum", "_addmm_activation",
        "gelu", "erf", "tanh", "_scaled_mm", "mkldnn_linear",
    }),
    flops=flops,
    min_bytes=min_bytes,
    interpreter_options=INTERPRETER_OPTIONS,
))
