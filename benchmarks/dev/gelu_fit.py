"""The cheaper GELU of the TF32 / 16-bit modes (kernels/gelu.py: gelu_poly5): its fit and its dense sweep.

    python benchmarks/dev/gelu_fit.py            # fit, then sweep; prints the coefficients and the table

GELU(z) = max(z, 0) - |z| 2**g(|z|), g(t) ~ log2 Phi(-t). The fit is a weighted minimax (Lawson's iteration) of
g on [0, 7] in the error measure the kernels declare:

    |GELU~(z) - GELU(z)| <= 2**-14 |GELU(z)| + 2**-24 |z|        (FUSEFUZZ approximation budget)

For z = -t the error is t Phi(-t) (2**dg - 1) ~ ln2 t Phi(-t) dg, so the weight of dg is ln2 Phi / (2**-14 Phi +
2**-24). The sweep evaluates the kernel's fp32 arithmetic (fp32-rounded coefficients, fp32 Horner steps with a
rounding each, fp32 exp2) on every fp32 value in [-2**7, 2**7] between 2**-30 and 2**7 in magnitude with a
stride, plus a dense uniform grid, against float64 GELU (scipy's ndtr), and reports the worst ratio to the
budget, and to the exact-grade budget 4u(|g|+|v|) for comparison.
"""

import numpy as np
import torch
from scipy.special import log_ndtr, ndtr

LN2 = np.log(2.0)
REL, ABS_IN = 2.0**-14, 2.0**-24


def fit(degree: int = 5, top: float = 7.0, iters: int = 100) -> np.ndarray:
    t = np.linspace(0.0, top, 70001)
    g = log_ndtr(-t) / LN2
    phi = ndtr(-t)
    weight = LN2 * phi / (REL * phi + ABS_IN)
    vander = np.vander(t, degree + 1)
    lawson = np.ones_like(t)
    for _ in range(iters):
        s = weight * np.sqrt(lawson)
        coef, *_ = np.linalg.lstsq(vander * s[:, None], g * s, rcond=None)
        err = np.abs(vander @ coef - g) * weight
        lawson *= err
        lawson /= lawson.sum()
    return coef.astype(np.float32)  # the kernel's constants


def gelu_poly_fp32(z: torch.Tensor, coef) -> torch.Tensor:
    """The kernel's arithmetic in fp32 (a rounding after every multiply and add: no worse than FMAs)."""
    z = z.float()
    t = z.abs()
    g = torch.full_like(t, float(coef[0]))
    for c in coef[1:]:
        g = g * t + float(c)
    return torch.clamp(z, min=0.0) - t * torch.exp2(g)


def gelu64(z: np.ndarray) -> np.ndarray:
    return z * ndtr(z)


def sweep(coef) -> dict:
    mags = np.float32(2.0) ** np.arange(-30, 7, 1 / 4096, dtype=np.float64)  # log-spaced, 151k points
    grid = np.concatenate([mags, -mags, np.linspace(-12, 12, 2_000_001)]).astype(np.float32)
    grid = grid[grid != 0]  # GELU(0) = 0 exactly: max(0, 0) - 0 * 2**g
    z32 = torch.from_numpy(grid)
    got = gelu_poly_fp32(z32, coef).double().numpy()
    z = grid.astype(np.float64)
    want = gelu64(z)
    err = np.abs(got - want)
    budget = REL * np.abs(want) + ABS_IN * np.abs(z)
    exact_grade = 4 * 2.0**-24 * (np.abs(want) + np.abs(z))
    ratio = err / budget
    i = int(np.argmax(ratio))
    return {"points": len(grid), "worst_over_budget": float(ratio.max()), "at_z": float(z[i]),
            "worst_over_exact_grade_budget": float((err / exact_grade).max()),
            "max_rel_err_z_gt_0": float((err / np.abs(want))[z > 0].max()),
            "max_abs_err_over_abs_z": float((err / np.maximum(np.abs(z), 1e-300)).max()),
            "finite_everywhere": bool(np.isfinite(gelu_poly_fp32(torch.tensor([-3e38, -1e20, 0.0, 1e20, 3e38]),
                                                                coef)).all())}


if __name__ == "__main__":
    coef = fit()
    print("coefficients (highest degree first):", ", ".join(repr(float(c)) for c in coef))
    for key, value in sweep(coef).items():
        print(f"{key:32} {value}")
