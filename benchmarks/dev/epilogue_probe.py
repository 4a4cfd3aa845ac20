"""How fast can the GELU + pooling epilogue alone go? A probe for issue 4's "what limits it".

The fused conv kernel spends per output element: the GELU (``fusefuzz.kernels.gelu.gelu_erf``: 9 FFMA, 1 FMNMX,
1 MUFU.EX2) and one FADD into the pooled sum. This probe runs exactly that epilogue on the headline's
element count (65024 tiles of 64 channels x 128 pixels = 532.7 M values, the kernel's tile count including
the masked overlap of the last column tile) with no convolution at all: each tile's pre-activations are
one FFMA away from a tile computed once (``z = base * s + o``, s and o change per tile so nothing folds).

Modes: ``gelu`` (the production epilogue), ``none`` (the FFMA + sum alone: the probe's own overhead).
The pooled sum is kept per element (a 64x128 accumulator, one FADD per element) and reduced once per
program: the cheapest a kernel can pool. (A first version reduced each tile across threads with
``tl.sum`` in a blocked layout: shuffles dominated, 0.55 ms with no GELU at all; the production kernel's
per-tile sum runs in the MMA layout, where it is almost all in-thread adds.)
Grids: ``full`` (one program per 16 tiles: as many CTAs per SM as registers allow) and ``3-per-SM`` (a
persistent grid of 3 programs per SM, the production kernel's occupancy: its shared memory allows 3 CTAs).

If the epilogue alone at full occupancy is E ms and the conv data path alone (the fused kernel with the
GELU left out, GELU_MODE=2) is D ms, a kernel that overlaps them perfectly still takes max(E, D): the
0.30 ms target needs both below it.

    python3 benchmarks/dev/epilogue_probe.py [--json FILE]      (GPU only)
"""

from __future__ import annotations

import argparse
import json
import sys

import torch
import triton
import triton.language as tl

from fusefuzz.kernels.gelu import gelu_erf

TILES = 65024  # headline: 128 images x 254 rows x 2 column tiles of 128 px
CH, PX = 64, 128


@triton.jit
def _epilogue_probe(out_ptr, n_tiles, tiles_per_prog, MODE: tl.constexpr):
    pid = tl.program_id(0)
    ch = tl.arange(0, 64)
    px = tl.arange(0, 128)
    base = ch[:, None].to(tl.float32) * 0.0371 + px[None, :].to(tl.float32) * 0.0113 - 1.7
    part = tl.zeros((64, 128), tl.float32)  # reduced once at the end: one FADD per element, no shuffles
    t0 = pid * tiles_per_prog
    t1 = tl.minimum(t0 + tiles_per_prog, n_tiles)
    for t in range(t0, t1):
        s = 1.0 + t.to(tl.float32) * 1e-6
        o = t.to(tl.float32) * -3e-7
        z = base * s + o
        if MODE == 0:
            v = gelu_erf(z)
        else:
            v = z
        part += v
    tl.atomic_add(out_ptr + ch, tl.sum(part, axis=1), sem="relaxed")


def run(mode: str, grid_kind: str, sms: int) -> dict:
    out = torch.zeros(CH, device="cuda", dtype=torch.float32)
    if grid_kind == "full":
        per = 16
    else:
        per = triton.cdiv(TILES, 3 * sms)
    grid = (triton.cdiv(TILES, per),)
    m = 0 if mode == "gelu" else 1

    def fn():
        _epilogue_probe[grid](out, TILES, per, MODE=m, num_warps=4)

    fn()
    torch.cuda.synchronize()
    ms = triton.testing.do_bench(fn, warmup=50, rep=300, return_mode="median")
    return {"mode": mode, "grid": grid_kind, "programs": grid[0], "tiles_per_program": per, "ms": ms,
            "elements": TILES * CH * PX}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("epilogue_probe: no GPU here (the probe times GPU code); nothing run", file=sys.stderr)
        return 2
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    rows = [run(mode, g, sms) for g in ("full", "3-per-SM") for mode in ("gelu", "none")]
    dev = torch.cuda.get_device_name(0)
    print(f"epilogue probe on {dev} (torch {torch.__version__}, triton {triton.__version__}), {TILES} tiles of "
          f"{CH}x{PX}")
    print(f"{'mode':6} {'grid':9} {'programs':>8} {'ms':>8}")
    for r in rows:
        print(f"{r['mode']:6} {r['grid']:9} {r['programs']:8d} {r['ms']:8.4f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": dev, "torch": torch.__version__, "triton": triton.__version__, "rows": rows}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
