"""Exact-grade GELU for Triton epilogues: ``gelu(z) = relu(z) - |z| * Phi(-|z|)`` with ``Phi(-t) = 2**g(t)``.

``g`` is a degree-8 polynomial (a minimax fit of ``log2 Phi(-t)`` on [0, 6] weighted by ``Phi(-t)``, i.e. abs
error in Phi, with a floor so the tail stays within ~0.15 bit; leading coefficient negative). The fused
kernels (conv2d_gelu_gap, linear_gelu) all call this one function: 9 FMAs, one max and one ``exp2`` per
element instead of libdevice ``erf`` (benchmarks/dev/NOTES-fused.md has the fit and the cost). Measured on an
H100 against float64: max |error| / |z| = 1.1e-7 (PyTorch's own fp32 GELU: 1.2e-7), relative error 2.1e-7
for z > 0, 2.8e-6 for z >= -3. The form does not cancel for
negative z (the textbook ``0.5 z (1 + erf(z / sqrt 2))`` does), and for every finite z it is finite:
``g -> -inf`` so ``2**g -> 0`` and the result tends to ``relu(z)``.

Error budget used by the problems' bounds (``4 u (|gelu(z)| + |z|)`` per activation, u = 2^-24): the fit's
1.1e-7 |z| plus a few roundings of the result stay inside it.

``gelu_poly5`` is the cheaper GELU of the TF32 and 16-bit modes: the same form with a degree-5 ``g`` (5 FMAs
instead of 8), fit (``benchmarks/dev/gelu_fit.py``) to a *declared* approximation budget,

    |error| <= 2^-14 |gelu(z)| + 2^-24 |z|          (FUSEFUZZ approximation budget: relative 2^-14, of_input 2^-24)

which a kernel using it must declare (``harness/approx.py``). Under the TF32 contract every product already
carries up to 2^-11 relative operand rounding, so 2^-14 is an eighth of it. The dense sweep of its fp32
arithmetic over 2.3 million points in [-128, 128] (log-spaced from 2^-30, plus a uniform grid on [-12, 12])
against float64: worst error 0.372 of that budget (at z = -2.56); relative error for z > 0 at most 2.2e-5;
finite for every finite z (the leading coefficient is negative: ``g -> -inf``).
"""

import triton
import triton.language as tl


@triton.jit
def gelu_erf(z):
    """GELU (erf form) of an fp32 tensor, evaluated as ``max(z, 0) - |z| 2**g(|z|)``."""
    t = tl.abs(z)
    g = t * -2.7719738682208117e-06 + 3.8619855331489816e-05
    g = g * t + -0.0001825434301281348
    g = g * t + -0.00014587999612558633
    g = g * t + 0.007075484376400709
    g = g * t + -0.05250503867864609
    g = g * t + -0.45920491218566895
    g = g * t + -1.1511057615280151
    g = g * t + -1.0
    return tl.maximum(z, 0.0) - t * tl.exp2(g)


@triton.jit
def gelu_poly5(z):
    """GELU within 2^-14 |gelu(z)| + 2^-24 |z| (declare that budget): ``max(z, 0) - |z| 2**g5(|z|)``."""
    t = tl.abs(z)
    g = t * -0.0004099327779840678 + 0.006627186201512814
    g = g * t + -0.050711795687675476
    g = g * t + -0.4610411524772644
    g = g * t + -1.15049409866333
    g = g * t + -1.0000321865081787
    return tl.maximum(z, 0.0) - t * tl.exp2(g)
