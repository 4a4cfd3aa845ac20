"""One fuzz example: sizes, dtype, layout and a value regime, plus the seed its tensors are drawn from.

Tensor values always come from a CPU :class:`torch.Generator` seeded with ``Example.seed`` and are then
moved to the device, so an example means the same numbers on every machine and in every repro script.
The functions :func:`make_values` and :func:`apply_layout` are embedded verbatim into repro scripts
(:mod:`fusefuzz.harness.repro`), so they use nothing but torch.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import torch

DISTRIBUTIONS = ("rand", "randn", "randn_scaled")
#: regimes a problem asks for by name (not in the default set): ``randn_offset`` is ``randn + scale``, a large
#: common offset that breaks one-pass variance formulas (E[x^2] - E[x]^2 cancels)
EXTRA_DISTRIBUTIONS = ("randn_offset",)
ALL_DISTRIBUTIONS = DISTRIBUTIONS + EXTRA_DISTRIBUTIONS
LAYOUTS = ("contiguous", "channels_last", "strided")


@dataclass(frozen=True)
class Example:
    """Sizes are problem-specific (``batch``, ``in_channels``...) and kept in order; the rest is generic."""

    sizes: dict = field(hash=False)
    dtype: str = "float32"
    layout: str = "contiguous"
    distribution: str = "rand"
    scale: float = 1.0
    seed: int = 0

    def __getitem__(self, key: str):
        return self.sizes[key]

    def to_dict(self) -> dict:
        d = dict(self.sizes)
        d.update(dtype=self.dtype, layout=self.layout, distribution=self.distribution,
                 scale=self.scale, seed=self.seed)
        return d

    @classmethod
    def from_dict(cls, d: dict, size_names) -> Example:
        d = dict(d)
        sizes = {k: d.pop(k) for k in size_names}
        return cls(sizes=sizes, **{k: d[k] for k in ("dtype", "layout", "distribution", "scale", "seed")})

    def describe(self) -> str:
        sizes = " ".join(f"{k}={v}" for k, v in self.sizes.items())
        values = {"randn_scaled": f"randn*{self.scale:.4g}",
                  "randn_offset": f"randn+{self.scale:.4g}",
                  "reference_scaled": f"reference*{self.scale:.4g}"}.get(self.distribution, self.distribution)
        return f"{sizes} dtype={self.dtype} layout={self.layout} values={values} seed={self.seed}"

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.describe()

    def json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False)

    def replace(self, **changes) -> Example:
        d = asdict(self)
        d["sizes"] = dict(self.sizes)
        for k, v in changes.items():
            if k in d:
                d[k] = v
            else:
                d["sizes"][k] = v
        return Example(**d)


def make_values(shape, distribution, scale, generator):
    """Float32 values on the CPU, drawn from ``generator`` (KernelBench uses ``torch.rand``)."""
    if distribution == "rand":
        return torch.rand(shape, generator=generator, dtype=torch.float32)
    if distribution == "randn":
        return torch.randn(shape, generator=generator, dtype=torch.float32)
    if distribution == "randn_scaled":
        return torch.randn(shape, generator=generator, dtype=torch.float32) * scale
    if distribution == "randn_offset":
        return torch.randn(shape, generator=generator, dtype=torch.float32) + scale
    raise ValueError(f"distribution={distribution!r} is not known; use rand, randn, randn_scaled or randn_offset")


def apply_layout(t, layout):
    """Same values, another memory layout: contiguous, channels_last, or a strided (non-contiguous) view."""
    if layout == "contiguous":
        return t.contiguous()
    if layout == "channels_last":
        if t.dim() != 4:
            return t.contiguous()
        return t.contiguous(memory_format=torch.channels_last)
    if layout == "strided":
        # Every other element of the last dimension of a buffer twice as wide; the gaps hold NaN so that
        # a kernel that ignores strides reads poison, not plausible numbers.
        shape = list(t.shape)
        big = torch.full(shape[:-1] + [2 * shape[-1]], float("nan"), dtype=t.dtype, device=t.device)
        view = big[..., ::2]
        view.copy_(t)
        return view
    raise ValueError(f"layout={layout!r} is not known; use contiguous, channels_last or strided")
