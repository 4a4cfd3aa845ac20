"""Dev bench for the warp-specialized Gluon kernel (kernels/conv2d_gelu_gap_hopper.py) on a Hopper GPU: correctness
against float64 and the portable kernel on odd shapes, then timings of launch variants beside the portable kernel.

    python benchmarks/dev/hopper_dev.py --out DIR [--variants base,s2,s4,...] [--rep 100] [--skip-check]

Correctness: |hopper - ref64| must stay within 2x the portable kernel's own error on the same input plus 1e-6
(a dev screen; the registered record's proof is the gpu fuzz profile). Every case runs with deterministic off and
on. Prints a short table last; --out gets hopper_dev.json.
"""

import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F
import triton
from fusefuzz.kernels import conv2d_gelu_gap_fused as fused
from fusefuzz.kernels import conv2d_gelu_gap_hopper as hopper

HEADLINE = (128, 8, 64, 256, 256, 3, 3)

# name -> launch overrides: design "im2col" (LAUNCH: every tap gathered per tile) or "rows" (ROWS_LAUNCH: the row ring)
_IM2COL = {
    "base": {},
    "s2": dict(STAGES=2),
    "s4": dict(STAGES=4),
    "p2": dict(programs_per_sm=2),
    "p4": dict(programs_per_sm=4),
    "nogelu": dict(gelu_mode=2),  # probe: no activation (wrong values): the data path alone
    # two producer partitions on alternate tiles (16 warps: 128 registers each), an even ring
    "2p": dict(NPROD=2, STAGES=2, maxnreg=128, C_REGS=128, P_REGS=128),
    "2p4": dict(NPROD=2, STAGES=4, maxnreg=128, C_REGS=128, P_REGS=128),
    "2pn": dict(NPROD=2, STAGES=2, maxnreg=128, C_REGS=128, P_REGS=128, gelu_mode=2),
    "2pp2": dict(NPROD=2, STAGES=2, maxnreg=128, C_REGS=128, P_REGS=128, programs_per_sm=2),
    # ... and the weights as the register A operand (the MMAs read only x from shared memory)
    "2pa": dict(NPROD=2, STAGES=2, maxnreg=128, C_REGS=152, P_REGS=104, A_REGS=True),
    "2pa4": dict(NPROD=2, STAGES=4, maxnreg=128, C_REGS=152, P_REGS=104, A_REGS=True),
    "2pan": dict(NPROD=2, STAGES=2, maxnreg=128, C_REGS=152, P_REGS=104, A_REGS=True, gelu_mode=2),
    "r128": dict(maxnreg=128, C_REGS=128, P_REGS=128),
}
_ROWS = {
    "rows": {},
    "rowsa": dict(A_REGS=True),  # the weights as the register A operand
    "rowsn": dict(gelu_mode=2),  # probe: no activation: the data path and MMAs alone
    "rowsan": dict(A_REGS=True, gelu_mode=2),
    "rowss": dict(SLOTS=4),  # the smallest ring (kh + 1 rows)
    "rows0": dict(AHEAD=0),  # one row's loads in flight in the producer
    "rows2": dict(AHEAD=2),  # three (a few spilled registers in the producer)
    "rowsq": dict(probe=1),  # probe: no proxy fence in the producer (racy, wrong values)
    "rowsz": dict(probe=2),  # probe: no loads in the producer (zeros): the consumers' time
    # two producers on alternate rows (16 warps), each with one row in flight
    "rows2p": dict(NPROD=2, AHEAD=0, maxnreg=128, C_REGS=168, P_REGS=88),
    "rows2pn": dict(NPROD=2, AHEAD=0, maxnreg=128, C_REGS=168, P_REGS=88, gelu_mode=2),
    "rows2pq": dict(NPROD=2, AHEAD=0, maxnreg=128, C_REGS=168, P_REGS=88, probe=1),
    "rows2pa": dict(NPROD=2, AHEAD=1, maxnreg=128, C_REGS=168, P_REGS=128),
    "rowsb0": dict(BIAS_MMA=False),  # the bias added in the epilogue (the first device runs' kernel)
    # three consumer warpgroups (tiles i = c mod 3), one producer with one row in flight (16 warps)
    "rows3": dict(NCONS=3, AHEAD=0, maxnreg=128, C_REGS=144, P_REGS=80),
    "rows3n": dict(NCONS=3, AHEAD=0, maxnreg=128, C_REGS=144, P_REGS=80, gelu_mode=2),
    # the lean producer (two buffers, unrolled by two, clamped loads: ~130 instead of ~180 instructions per row)
    "rowsl": dict(LEAN=True),
    # ... and the column mask as MMA work (done pixels loaded as zeros, bias - HUGE: no select in the epilogue)
    "rowsm": dict(LEAN=True, BIAS_MMA=2),
    "rowsmn": dict(LEAN=True, BIAS_MMA=2, gelu_mode=2),
    # ... with three consumer warpgroups (136 registers; the lean producer keeps its two rows in 104)
    "rowsm3": dict(LEAN=True, BIAS_MMA=2, NCONS=3, maxnreg=128, C_REGS=136, P_REGS=104),
    "rowsm3n": dict(LEAN=True, BIAS_MMA=2, NCONS=3, maxnreg=128, C_REGS=136, P_REGS=104, gelu_mode=2),
}
VARIANTS = {**{k: dict(v, design="im2col") for k, v in _IM2COL.items()},
            **{k: dict(v, design="rows") for k, v in _ROWS.items()}}

CASES = [  # batch, cin, cout, H, W, kh, kw, layout
    (2, 8, 64, 40, 258, 3, 3, "contiguous"),
    (3, 3, 70, 19, 131, 3, 3, "contiguous"),  # two channel blocks, a shifted last tile
    (1, 5, 16, 9, 400, 1, 3, "channels_last"),
    (2, 16, 33, 12, 140, 3, 3, "strided"),  # K = 144: fp32 unsupported (smem), 16-bit bias in the epilogue
    (2, 4, 33, 12, 140, 2, 2, "strided"),  # K = 16: no bias slot at fp32 either, sliced x
    (1, 1, 8, 6, 128, 1, 1, "contiguous"),  # K = 1, one tile per row
    (2, 6, 64, 30, 300, 5, 5, "contiguous"),  # K = 150
    (64, 8, 64, 70, 140, 3, 3, "contiguous"),  # runs of ~23 rows down a column block: the row ring wraps
    (12, 3, 20, 50, 300, 7, 7, "channels_last"),  # kh = 7: a ring of 8+ rows, three column blocks
]


def make_x(b, c, h, w, layout, dtype, dev):
    if layout == "strided":
        return torch.randn(b, c, h, 2 * w, device=dev).to(dtype)[..., ::2]
    x = torch.randn(b, c, h, w, device=dev).to(dtype)
    return x.to(memory_format=torch.channels_last) if layout == "channels_last" else x


def ref64(x, w, b):
    return F.gelu(F.conv2d(x.double(), w.double(), b.double())).mean((2, 3))


def check(out, variants, n_cases=len(CASES)):
    dev = torch.device("cuda")
    rows, ok = [], True
    for case in CASES[:n_cases]:
        B, C, O, H, W, kh, kw, layout = case
        for dtype in (torch.float32, torch.float16, torch.bfloat16):
            torch.manual_seed(hash(case) % 1000)
            x = make_x(B, C, H, W, layout, dtype, dev)
            w = (torch.randn(O, C, kh, kw, device=dev) / (C * kh * kw) ** 0.5).to(dtype)
            bias = torch.randn(O, device=dev).to(dtype)
            r = ref64(x, w, bias)
            port = fused.conv2d_gelu_gap(x, w, bias)
            e_port = (port.double() - r).abs().max().item()
            for det, vname in [(d, v) for v in variants for d in ((False, True) if v == variants[0] else (False,))]:
                why = hopper.supported(x, w, design=VARIANTS[vname]["design"])
                row = dict(case=list(case[:7]), layout=layout, dtype=str(dtype)[6:], det=det, variant=vname)
                if why:
                    row.update(ok=True, unsupported=why)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                    continue
                try:
                    y = hopper.conv2d_gelu_gap_hopper(x, w, bias, deterministic=det, **VARIANTS[vname])
                    torch.cuda.synchronize()
                    e = (y.double() - r).abs().max().item()
                    row.update(err=e, err_portable=e_port, ok=bool(e <= 2 * e_port + 1e-6))
                except Exception as ex:  # noqa: BLE001 - a dev screen records every failure and goes on
                    row.update(ok=False, error=f"{type(ex).__name__}: {str(ex).splitlines()[0][:200]}")
                ok &= row["ok"]
                rows.append(row)
                print(json.dumps(row), flush=True)
    out["check"] = rows
    out["check_ok"] = ok
    return ok


def timings(out, names, rep):
    dev = torch.device("cuda")
    B, C, O, H, W, kh, kw = HEADLINE
    torch.manual_seed(0)
    res = out.setdefault("timings", {})
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        x = torch.rand(B, C, H, W, device=dev).to(dtype)
        conv = torch.nn.Conv2d(C, O, kh).to(dev).to(dtype)
        w, b = conv.weight.detach(), conv.bias.detach()
        dt = str(dtype)[6:]
        r = ref64(x, w, b) if dtype == torch.float32 else None
        ms = triton.testing.do_bench(lambda: fused.conv2d_gelu_gap(x, w, b), rep=rep)
        res.setdefault("portable", {})[dt] = ms
        print(f"portable {dt} {ms:.4f} ms", flush=True)
        for name in names:
            kw_ = VARIANTS[name]
            try:
                y = hopper.conv2d_gelu_gap_hopper(x, w, b, **kw_)
                torch.cuda.synchronize()
                ms = triton.testing.do_bench(lambda: hopper.conv2d_gelu_gap_hopper(x, w, b, **kw_), rep=rep)
                entry = dict(ms=ms)
                if r is not None:
                    entry["rel_err"] = ((y.double() - r).abs().max() / r.abs().max()).item()
            except Exception as ex:  # noqa: BLE001
                entry = dict(error=f"{type(ex).__name__}: {str(ex).splitlines()[0][:200]}")
            res.setdefault(name, {})[dt] = entry
            print(name, dt, entry, flush=True)


def streamed(out, rep):
    """The sweep's long-K case (16x64x56x56 -> 128, 3x3, K = 576) through the production wrapper (default: the
    staged tap loop) against the koff-table loop it replaced, eager and torch.compile."""
    dev = torch.device("cuda")
    res = out.setdefault("streamed", {})
    torch.manual_seed(0)
    for dtype in (torch.float32, torch.float16):
        dt = str(dtype)[6:]
        x = torch.rand(16, 64, 56, 56, device=dev).to(dtype)
        conv = torch.nn.Conv2d(64, 128, 3).to(dev).to(dtype)
        w, b = conv.weight.detach(), conv.bias.detach()

        def table():
            info, args, cx = fused._prepare(x, w, b, "tf32", stream_arith=False)
            return fused._run(fused.conv2d_gelu_gap_kernel, x, info, args, cx, False, GELU_MODE=4)

        def eager():
            return F.gelu(conv(x)).mean((2, 3))

        r = ref64(x, w, b)
        row = {}
        for name, fn in (("default", lambda: fused.conv2d_gelu_gap(x, w, b)), ("table", table), ("eager", eager),
                         ("compile", torch.compile(eager))):
            y = fn()
            row[name] = dict(ms=triton.testing.do_bench(fn, rep=rep),
                             rel_err=((y.double() - r).abs().max() / r.abs().max()).item())
        res[dt] = row
        print("streamed", dt, row, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/hopper-dev")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--rep", type=int, default=100)
    ap.add_argument("--skip-check", action="store_true")
    ap.add_argument("--no-timings", action="store_true")
    ap.add_argument("--streamed", action="store_true", help="also time the sweep's long-K case (streamed loop)")
    ap.add_argument("--check-variants", default="rows", help="launch variants checked (the first in both modes)")
    ap.add_argument("--cases", type=int, default=len(CASES), help="check the first N cases only")
    ap.add_argument("--profile-run", default=None, metavar="VARIANT[:dtype]",
                    help="only run VARIANT three times on the headline (for ncu: profile its third launch)")
    opt = ap.parse_args()
    os.makedirs(opt.out, exist_ok=True)
    if opt.profile_run:
        name, _, dt = opt.profile_run.partition(":")
        dtype = getattr(torch, dt or "float32")
        B, C, O, H, W, kh, kw = HEADLINE
        x = torch.rand(B, C, H, W, device="cuda").to(dtype)
        conv = torch.nn.Conv2d(C, O, kh).to("cuda").to(dtype)
        for _ in range(3):
            hopper.conv2d_gelu_gap_hopper(x, conv.weight.detach(), conv.bias.detach(), **VARIANTS[name])
        torch.cuda.synchronize()
        return 0
    out = dict(device=torch.cuda.get_device_name(), torch=torch.__version__, triton=triton.__version__,
               date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    path = os.path.join(opt.out, "hopper_dev_check.json" if opt.no_timings else "hopper_dev.json")
    try:
        if not opt.skip_check:
            check(out, opt.check_variants.split(","), opt.cases)
            json.dump(out, open(path, "w"), indent=1)
        if not opt.no_timings:
            timings(out, opt.variants.split(","), opt.rep)
        if opt.streamed:
            streamed(out, opt.rep)
    finally:
        json.dump(out, open(path, "w"), indent=1)
    t = out.get("timings", {})
    print(f"{out['device']} torch {out['torch']} triton {out['triton']}; check ok: {out.get('check_ok')}")
    print("| variant | fp32 ms | fp16 ms | bf16 ms | fp32 rel err |")
    print("|---|---|---|---|---|")
    for name, v in t.items():
        def f(d):
            e = v.get(d)
            return f"{e:.4f}" if isinstance(e, float) else (f"{e['ms']:.4f}" if e and "ms" in e else "err")
        rel = v.get("float32", {}).get("rel_err") if isinstance(v.get("float32"), dict) else None
        print(f"| {name} | {f('float32')} | {f('float16')} | {f('bfloat16')} | {rel if rel is None else f'{rel:.1e}'} |")
    return 0 if out.get("check_ok", True) else 1


if __name__ == "__main__":
    sys.exit(main())
