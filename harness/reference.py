"""How a reference is run: PyTorch's own module on given inputs, with dot operands rounded like a precision
contract and TF32 off where a peer computation needs it. Used by the reference process
(:mod:`fusefuzz.harness.refserver`) and re-exported by :mod:`fusefuzz.harness.judging`."""

from __future__ import annotations

import contextlib
import copy

import torch

from .precision import torch_dtype


@contextlib.contextmanager
def tf32_disabled():
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def round_operand(t: torch.Tensor, contract: str) -> torch.Tensor:
    """Round a floating tensor the way ``contract`` rounds dot operands (a no-op when it keeps them)."""
    if not t.is_floating_point():
        return t
    if contract == "tf32":  # Triton: truncate to 10 mantissa bits
        bits = t.float().contiguous().view(torch.int32)
        special = (bits & 0x7F800000) == 0x7F800000
        kept = torch.where(special, bits, bits & -8192)  # -8192 == 0xFFFFE000 as int32
        return kept.view(torch.float32).to(t.dtype)
    if contract == "tf32-rn":  # round to nearest even at 10 mantissa bits
        bits = t.float().contiguous().view(torch.int32)
        special = (bits & 0x7F800000) == 0x7F800000
        rounded = (bits + (((bits >> 13) & 1) + 0xFFF)) & -8192
        return torch.where(special, bits, rounded).view(torch.float32).to(t.dtype)
    if contract == "fp16":
        return t.half().to(t.dtype)
    if contract == "bf16":
        return t.bfloat16().to(t.dtype)
    return t


def run_reference(model, inputs, example):
    try:
        return model(*inputs)
    except RuntimeError as e:
        # Some CPU builds lack low-precision kernels (e.g. fp16 conv): compute in fp32, round the result.
        if "not implemented for" not in str(e) or example.dtype == "float32":
            raise
        m32 = copy.deepcopy(model).float()
        return m32(*[x.float() for x in inputs]).to(torch_dtype(example.dtype))
