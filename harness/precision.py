"""Precision contracts and unit roundoffs, as data.

A *contract* says how a kernel rounds the operands of its dot products; accumulation is always fp32
(a kernel that accumulates in fp16 breaks every contract). Unit roundoffs ``u`` (the largest relative
error of one rounding):

============  =========  =====================================================================
name          u          why
============  =========  =====================================================================
ieee          2^-24      fp32 round-to-nearest
tf32          2^-10      Triton's TF32 ``tl.dot`` *truncates* both operands to 10 mantissa bits
                         (measured on the H100, triton 3.6; facts.md): error < 1 ulp and always
                         toward zero, so it is biased and does not average out (no sqrt(K) rule)
tf32-rn       2^-11      cuBLAS/cuDNN TF32 (``allow_tf32``) rounds to nearest-even
fp16          2^-11      operands rounded to fp16 (10 mantissa bits, round-to-nearest)
bf16          2^-8       operands rounded to bf16 (7 mantissa bits, round-to-nearest)
============  =========  =====================================================================

Operand rounding only happens when the contract keeps fewer mantissa bits than the input already has:
fp16 and bf16 inputs are exact in TF32, so for them ``ieee`` and ``tf32`` give the same bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Contract:
    name: str
    mantissa_bits: int
    unit_roundoff: float
    reason: str


CONTRACTS: dict[str, Contract] = {
    c.name: c
    for c in (
        Contract("ieee", 23, 2.0**-24, "fp32 operands used as given, fp32 accumulation"),
        Contract("tf32", 10, 2.0**-10, "Triton TF32 dot truncates operands to 10 mantissa bits"),
        Contract("tf32-rn", 10, 2.0**-11, "cuBLAS/cuDNN TF32 rounds operands to nearest-even"),
        Contract("fp16", 10, 2.0**-11, "operands rounded to fp16"),
        Contract("bf16", 7, 2.0**-8, "operands rounded to bf16"),
    )
}

#: Contracts ``--precision auto`` tries, strictest first.
AUTO_ORDER = ("ieee", "tf32-rn", "tf32")

#: Mantissa bits and unit roundoff of the storage dtypes the harness draws.
DTYPES: dict[str, tuple[torch.dtype, int, float]] = {
    "float32": (torch.float32, 23, 2.0**-24),
    "float16": (torch.float16, 10, 2.0**-11),
    "bfloat16": (torch.bfloat16, 7, 2.0**-8),
}

#: Unit roundoff of fp32 accumulation and epilogues (every contract accumulates in fp32).
U_ACC = 2.0**-24
#: Tensor-core (mma) accumulation is fp32 but not IEEE round-to-nearest: the hardware truncates the
#: aligned addends, so one addition may lose up to a full ulp. Dots that run on tensor cores (any
#: contract but ``ieee`` on fp32 inputs) are bounded with one ulp per addition instead of half.
U_ACC_TENSOR_CORE = 2.0**-23
#: Smallest normal fp32: the GPU may flush subnormals to zero, each flush costs at most this.
FP32_TINY = torch.finfo(torch.float32).tiny


def contract(name: str) -> Contract:
    try:
        return CONTRACTS[name]
    except KeyError:
        raise ValueError(
            f"precision={name!r} is not a contract; use one of {', '.join(CONTRACTS)} (or 'auto')"
        ) from None


def dtype_name(dtype: torch.dtype | str) -> str:
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise ValueError(f"dtype={dtype!r} is not supported; use one of {', '.join(DTYPES)}")
        return dtype
    for name, (dt, _, _) in DTYPES.items():
        if dt == dtype:
            return name
    raise ValueError(f"dtype={dtype!r} is not supported; use one of {', '.join(DTYPES)}")


def torch_dtype(name: str) -> torch.dtype:
    return DTYPES[dtype_name(name)][0]


def operand_roundoff(contract_name: str, input_dtype: str) -> float:
    """Relative error of one dot operand under ``contract_name`` for inputs stored as ``input_dtype``."""
    c = contract(contract_name)
    _, input_bits, _ = DTYPES[dtype_name(input_dtype)]
    return c.unit_roundoff if c.mantissa_bits < input_bits else 0.0


def output_roundoff(output_dtype: str) -> float:
    """Rounding of the final store (fp32 results are already rounded by the last fp32 operation)."""
    name = dtype_name(output_dtype)
    return 0.0 if name == "float32" else DTYPES[name][2]


@dataclass(frozen=True)
class Intermediate:
    """A value that an unfused computation at the input dtype stores, rounded to that dtype, before the next
    operation reads it back (PyTorch eager does: every op returns a tensor of its input's dtype). A bound charges
    each one ``intermediate_roundoff(dtype) |value|``, propagated through the operations that follow. A fused
    kernel that keeps fp32 intermediates does not need the allowance; it is allowed anyway, because a default
    policy that calls PyTorch's own computation wrong is not usable."""

    name: str
    reason: str


def intermediate_roundoff(dtype: str) -> float:
    """Rounding of one intermediate stored in ``dtype``: its ``u`` for fp16/bf16; 0 for fp32, whose stores are
    roundings the fp32 analysis already counts (each fp32 operation rounds its result once)."""
    return output_roundoff(dtype)


def intermediate_underflow(dtype: str) -> float:
    """Absolute error of one store of a tiny value in ``dtype``: half its smallest subnormal (0 for fp32, whose
    underflow the fp32 analysis bounds with FP32_TINY terms). ``|fl(x) - x| <= u |x| + this``."""
    if not intermediate_roundoff(dtype):
        return 0.0
    info = torch.finfo(DTYPES[dtype_name(dtype)][0])
    return info.tiny * info.eps / 2


def gamma(n: int, u: float = U_ACC) -> float:
    """Higham's gamma_n = n u / (1 - n u): bound on the relative error of n chained roundings."""
    nu = n * u
    if nu >= 1:
        return float("inf")
    return nu / (1 - nu)


def accumulation_roundoff(contract_name: str, input_dtype: str) -> float:
    """Unit roundoff per addition of the dot's fp32 accumulator (see ``U_ACC_TENSOR_CORE``)."""
    if contract_name == "ieee" and dtype_name(input_dtype) == "float32":
        return U_ACC
    return U_ACC_TENSOR_CORE
