"""LayerNorm over the last dimension with elementwise affine: x ``[batch, features]`` -> y, same shape.

Reference: ``nn.LayerNorm(features)`` (eps = 1e-5, biased variance), with its weight and bias drawn at random
(uniform in [-1.5, 1.5] and [-1, 1]) instead of the default ones / zeros, so that a kernel that ignores or
swaps the affine parameters is seen. Per row (N = features, u = 2^-24):

    mu = mean(x), d_i = x_i - mu, var = mean(d^2), r = 1/sqrt(var + eps), y_i = d_i r w_i + b_i

Error bound per output, for a kernel computing in fp32 (inputs and parameters converted exactly) with the
two-pass algorithm in any summation order: mean first, then the mean of squared deviations *from the
computed mean* (a Welford / chunked merge has the same first-order terms; a one-pass ``E[x^2] - E[x]^2``
does not, see the offset regime below). Everything is computed in float64 from the candidate's exact inputs.

1. **Mean.** N - 1 additions, then a division or a multiplication by a rounded 1/N. Divisions, square roots
   and rsqrt are approximate on GPUs (``div.full.f32`` 2 ulp, ``rsqrt.approx`` ~1 ulp), so each such
   operation is counted as 4 roundings: ``|mu^ - mu| <= delta = gamma_{N+4} A``, ``A = mean |x|``.
2. **Deviations.** ``d^_i = (d_i - e)(1 + eps_i)`` with ``e = mu^ - mu``: ``|d^_i - d_i| <= delta + u (|d_i| +
   delta)``. Their squares summed and divided: ``var^ = mean((d_i - e)^2)(1 + theta)``, ``|theta| <=
   gamma_{N+8}``. Since ``sum d_i = 0`` exactly, ``mean((d_i - e)^2) = var + e^2``: the mean's error enters
   the variance only squared (this is why the two-pass algorithm is stable), so ``|var^ - var| <= e_var =
   delta^2 + gamma_{N+8} (var + delta^2)``, plus N smallest normals for squares flushed to zero.
3. **rstd.** ``s = var + eps`` (one rounding, and eps itself rounded to fp32: 2u), relative error ``t = (1 +
   e_var / s)(1 + 2u) - 1``; then ``r^ = s^^(-1/2)`` with 8u for sqrt / rsqrt / reciprocal, so ``|r^/r - 1| <=
   rho = (1 - t)^(-1/2) (1 + 8u) - 1`` (infinite when t >= 1: no bound, the example is meaningless in fp32).
4. **Output.** ``y^_i = (d^_i r^) w_i + b_i`` with two multiplications (either order) and one addition:
   ``|y^_i - y_i| <= |w_i| [(delta + u(|d_i| + delta)) r (1 + rho) + |d_i| r rho + gamma_2 (|d_i| + delta +
   u(|d_i| + delta)) r (1 + rho)] + u (|y_i| + that)``, plus the store's rounding for fp16/bf16 outputs
   (``u_out (|y| + err)`` and half the smallest subnormal).

The precision contract does not apply (no dot product): the bound is the same for every contract, so the
problem's ``--precision auto`` tries ``ieee`` only.

Value regimes: besides rand / randn / randn*scale (scale down to 1e-3: var ~ 1e-6 < eps, where a kernel that
puts eps outside the square root is off by a factor ~3), ``randn_offset`` draws ``randn + c`` with ``c`` up to
1e4. There the one-pass variance ``E[x^2] - E[x]^2`` subtracts two numbers ~c^2 = 1e8 whose fp32 spacing is 8,
to get ~1: its error is O(c^2 u) per element while this bound allows ``delta^2 + gamma var`` with ``delta ~ N u
c``: caught by orders of magnitude at small N.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .. import approx
from ..example import Example
from ..precision import DTYPES, FP32_TINY, U_ACC, gamma, output_roundoff
from .problem import Problem, register


class Model(nn.Module):
    """The reference: nn.LayerNorm over the last dimension (eps 1e-5, elementwise affine), random affine."""

    EPS = 1e-5  # a class attribute: repro scripts embed this class's source alone

    def __init__(self, features):
        super().__init__()
        self.norm = nn.LayerNorm(features, eps=self.EPS)
        with torch.no_grad():  # the default ones / zeros would hide an ignored weight or bias
            self.norm.weight.uniform_(-1.5, 1.5)
            self.norm.bias.uniform_(-1.0, 1.0)

    def forward(self, x):
        return self.norm(x)


def init_args(example: Example) -> tuple:
    return (example["features"],)


def input_shapes(example: Example):
    return [(example["batch"], example["features"])]


def output_shape(example: Example):
    return (example["batch"], example["features"])


class Analysis:
    """Float64 per-row and per-element quantities (see the module docstring)."""

    def __init__(self, example, ref64, d_abs, w_abs, delta, rstd, rho):
        self.example = example
        self.ref64 = ref64
        self.d_abs = d_abs  # |x - mean| per element
        self.w_abs = w_abs  # |weight|, shape [1, N]
        self.delta = delta  # bound on the computed mean's error, per row [B, 1]
        self.rstd = rstd  # exact 1/sqrt(var + eps), per row [B, 1]
        self.rho = rho  # bound on the computed rstd's relative error, per row [B, 1]


def analyse(example: Example, inputs, params) -> Analysis:
    (x,) = inputs
    x64 = x.detach().double()
    w64 = params["norm.weight"].detach().double()
    b64 = params["norm.bias"].detach().double()
    n = x64.shape[-1]
    u = U_ACC
    mu = x64.mean(-1, keepdim=True)
    d = x64 - mu
    var = (d * d).mean(-1, keepdim=True)
    rstd = 1.0 / torch.sqrt(var + Model.EPS)
    ref = d * rstd * w64 + b64
    delta = gamma(n + 4) * x64.abs().mean(-1, keepdim=True)
    e_var = delta**2 + gamma(n + 8) * (var + delta**2) + n * FP32_TINY
    s = var + Model.EPS
    t = (1 + e_var / s) * (1 + 2 * u) - 1
    rho = torch.full_like(t, float("inf"))  # t >= 1: the variance is lost in fp32, no bound
    ok = t < 1
    rho[ok] = (1 - t[ok]).rsqrt() * (1 + 8 * u) - 1
    return Analysis(example, ref, d.abs(), w64.abs()[None, :], delta, rstd, rho)


def bound(a: Analysis, contract: str, budget: float = 0.0) -> torch.Tensor:
    """Per-output absolute error bound (the same for every contract; derivation in the module docstring)."""
    u = U_ACC
    r, rho, delta, d = a.rstd, a.rho, a.delta, a.d_abs
    e_d = delta + u * (d + delta)
    prod = a.w_abs * (e_d * r * (1 + rho) + d * r * rho + gamma(2) * (d + e_d) * r * (1 + rho))
    err = prod + u * (a.ref64.abs() + prod) + approx.term(budget, a.ref64.abs(), a.ref64.abs())
    u_out = output_roundoff(a.example.dtype)
    if u_out:
        dt = DTYPES[a.example.dtype][0]
        smallest_subnormal = torch.finfo(dt).tiny * torch.finfo(dt).eps
        err = err + u_out * (a.ref64.abs() + err) + smallest_subnormal / 2
    return err


def flops(example: Example) -> float:
    """About 8 per element: sum (1), deviation (1), square-accumulate (2), normalise (2), affine (2)."""
    return 8.0 * example["batch"] * example["features"]


def min_bytes(example: Example) -> float:
    item = torch.finfo(DTYPES[example.dtype][0]).bits // 8
    b, n = example["batch"], example["features"]
    return item * (2 * b * n + 2 * n)


def _strategy(**options):
    from fusefuzz.properties import layernorm_examples

    return layernorm_examples(**options)


def _ex(b, n, dtype="float32", layout="contiguous", dist="randn", scale=1.0, seed=1):
    return Example(sizes=dict(batch=b, features=n), dtype=dtype, layout=layout, distribution=dist, scale=scale,
                   seed=seed)


HEADLINE = _ex(8192, 4096, dist="randn", seed=0)

#: reached on purpose after the search, each within the interpreter's budget
EXPLICIT = (
    _ex(1, 1, dist="rand"),  # one element: var = 0, y = bias exactly
    _ex(3, 2),  # two elements: y = +-1 * w + b, odd batch
    _ex(5, 257, layout="strided"),  # one past a 256 block, strided rows
    _ex(3, 97, dtype="float16", dist="randn_offset", scale=1e3),  # offset 1000: one-pass variance cancels
    _ex(4, 64, dtype="bfloat16", dist="randn_scaled", scale=1e-3),  # var ~ 1e-6 < eps
    _ex(1, 2049),  # a row one past 2048
    _ex(33, 5, dist="rand"),  # 33 rows: one past a 32-row program, several programs of short rows
)

#: strategy options in the interpreter, where every program costs ~ms per block operation: at most 2048
#: elements and 8 rows (a one-row-per-program kernel then costs about half a second per example)
INTERPRETER_OPTIONS = {"max_macs": 4 * 2048, "max_outputs": 2048, "max_batch": 8}

PROBLEM = register(Problem(
    name="layernorm",
    description="nn.LayerNorm(features) over the last dimension (eps 1e-5, elementwise affine, random affine)",
    reference=Model,
    size_names=("batch", "features"),
    init_args=init_args,
    input_shapes=input_shapes,
    output_shape=output_shape,
    analyse=analyse,
    bound=bound,
    strategy=_strategy,
    headline=HEADLINE,
    explicit=EXPLICIT,
    varies=("batch 1-300, features 1-20000 (often powers of two +- 1); dtype fp32/fp16/bf16; layout "
            "contiguous/strided; values rand/randn/randn*scale/randn+offset (offset up to 1e4)"),
    reference_ops=frozenset({
        "layer_norm", "native_layer_norm", "batch_norm", "native_batch_norm", "group_norm", "native_group_norm",
        "instance_norm", "rms_norm", "_fused_rms_norm", "var", "var_mean", "std", "std_mean", "mean", "sum",
        "rsqrt", "sqrt", "norm", "linalg_vector_norm",
    }),
    flops=flops,
    min_bytes=min_bytes,
    interpreter_options=INTERPRETER_OPTIONS,
    auto_contracts=("ieee",),
))
