"""Static SASS instruction mix of the fused conv2d+GELU+pool main kernel, compiled for sm_90 on a machine without a
GPU: what one x path costs per output tile in load, store, MMA and arithmetic instructions, before any device time.

    python benchmarks/dev/sass_fused.py [--dtype float32|float16] [--variants natural,channels-last,...]

Each variant is the headline problem (x [128, 8, 256, 256] -> 64 channels, 3x3) as the wrapper would launch it on
an H100/H200 (the same specialisation: 16-byte aligned pointers, strides divisible by 16 marked so, a stride of 1
folded), config 0 of the autotuner, the declared poly5 GELU. Counts are static (instructions in the tile loop's
body, found as the innermost loop holding the MMAs) per thread of a 4-warp program: one tile is 64 channels x 128
pixels. Static counts are not time, but a path that needs a quarter of the loads shows it here.
"""

import argparse
import collections
import re

import fusefuzz.harness.backend as _backend  # noqa: E402

_backend._selected = "cuda"  # compile for the GPU even here

import triton  # noqa: E402
from fusefuzz.kernels import conv2d_gelu_gap_fused as K  # noqa: E402
from sass_tools import cuobjdump  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402

B, C, O, H, W, KS = 128, 8, 64, 256, 256, 3
NAMES = ["x_ptr", "wp_ptr", "koff_ptr", "b_ptr", "out_ptr", "C_OUT", "OH", "OW", "KT", "sxb", "sxc", "sxh", "sxw",
         "inv_area"]


def strides(layout):
    if layout == "channels_last":
        return dict(sxb=H * W * C, sxc=1, sxh=W * C, sxw=C)
    return dict(sxb=C * H * W, sxc=H * W, sxh=W, sxw=1)


def compile_variant(path, dtype, sm, loads_first=True, num_warps=4, maxnreg=None, skew=False, block_w=128,
                    stream_k=0, stream_arith=False):
    """stream_k > 0: the streamed (long-K) loop with chunks of stream_k; stream_arith: its offsets computed with
    the shape compiled in (else loaded from the koff table, and the natural read only)."""
    ptr = {"float32": "*fp32", "float16": "*fp16"}[dtype]
    dot_k = 16 if dtype != "float32" else 16  # triton 3.6's fp32 K (3.9 allows 8; the production wrapper asks it)
    if stream_k and not stream_arith:
        path = "natural"  # the table-fed streamed loop has no channels-last read
    layout = "channels_last" if path != "natural" else "contiguous"
    st = strides(layout)
    vals = dict(C_OUT=O, OH=H - KS + 1, OW=W - KS + 1, KT=C * KS * KS, **st)
    cl = path != "natural"
    sig, attrs, consts = {}, {}, {}
    for i, n in enumerate(NAMES):
        if n.endswith("_ptr"):
            sig[n] = "*i64" if n == "koff_ptr" else (ptr if n in ("x_ptr", "wp_ptr") else "*fp32")
            attrs[(i,)] = [["tt.divisibility", 16]]
        elif n == "inv_area":
            sig[n] = "fp32"
        elif vals[n] == 1:  # Triton folds an integer argument equal to 1
            sig[n] = "constexpr"
            consts[n] = 1
        else:
            sig[n] = "i32"
            if vals[n] % 16 == 0:
                attrs[(i,)] = [["tt.divisibility", 16]]
    a = dict(OW=vals["OW"], KT=vals["KT"], x_ptr=type("T", (), {"dtype": getattr(__import__("torch"), dtype)})(),
             BLOCK_W=block_w, NUM_CHUNKS=0 if stream_k else -(-vals["KT"] // dot_k), DOT_K=dot_k)
    known = not stream_k or stream_arith
    meta = dict(NUM_CHUNKS=a["NUM_CHUNKS"], CIN=C if known else 0, KH=KS if known else 0, KW=KS if known else 0,
                BLOCK_N=64, DOT_K=dot_k, STREAM_K=stream_k or dot_k,
                PRECISION="tf32" if dtype == "float32" else "ieee", DETERMINISTIC=False, GELU_MODE=4, BLOCK_W=block_w,
                TILE_W=K._tile_w(a), SHIFT_COLS=True, LOOP_STAGES=1, BIAS_K=K._bias_in_k(a),
                TF32_RNE=dtype == "float32" and path != "staged", LOADS_FIRST=loads_first, HW_TRUNC=True,
                PX_M=False, PART2D=False, TAPS_MAJOR=cl, CL=cl, SKEW=skew)
    fn = K.conv2d_gelu_gap_kernel.fn.fn
    for n in fn.arg_names:
        if n in meta:
            sig[n] = "constexpr"
            consts[n] = meta[n]
    src = triton.compiler.ASTSource(fn=fn, signature=sig, constexprs=consts, attrs=attrs)
    options = {"num_warps": num_warps}
    if maxnreg:
        options["maxnreg"] = maxnreg
    return triton.compile(src, target=GPUTarget("cuda", sm, 32), options=options)


def sass(kernel, tag):
    text, res = cuobjdump(kernel, f"fused_{tag}", "-sass", "-res-usage")
    m = re.search(r"REG:(\d+).*?SHARED:(\d+)", res)
    return text, (int(m.group(1)), int(m.group(2))) if m else (None, None)


def loop_body(text):
    """(instructions of the innermost backward-branch loop that holds the MMAs, all instructions)."""
    lines = [ln for ln in text.splitlines() if re.match(r"\s+/\*[0-9a-f]{4}\*/", ln)]
    ins = []
    for ln in lines:
        m = re.match(r"\s+/\*([0-9a-f]{4})\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)(.*);", ln)
        if m:
            ins.append((int(m.group(1), 16), m.group(2), m.group(3)))
    best = None
    for i, (addr, op, rest) in enumerate(ins):
        t = re.search(r"0x([0-9a-f]+)", rest) if op.startswith("BRA") else None
        if t and int(t.group(1), 16) < addr:
            body = [x for x in ins if int(t.group(1), 16) <= x[0] <= addr]
            if any(o.startswith(("HGMMA", "WGMMA", "HMMA")) for _, o, _ in body):
                if best is None or len(body) < len(best):
                    best = body
    return best or [], ins


def classify(op):
    base = op.split(".")[0]
    if base in ("LDG", "LDGSTS", "LDS", "STS", "STG", "LDSM", "STSM", "RED", "ATOM", "REDG", "LDL", "STL"):
        width = next((w for w in ("128", "64", "U16", "16", "U8") if f".{w}" in op), "32")
        return f"{base}.{width}"
    return base


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float32", choices=["float32", "float16"])
    ap.add_argument("--variants", default="natural,channels-last,staged")
    ap.add_argument("--sm", type=int, default=90)
    ap.add_argument("--loads-first", type=int, default=1)
    ap.add_argument("--num-warps", type=int, default=4)
    ap.add_argument("--maxnreg", type=int, default=0)
    ap.add_argument("--skew", type=int, default=0, help="1: the SKEW loop (epilogue of the previous tile)")
    ap.add_argument("--block-w", type=int, default=128, help="pixels per tile (default 128)")
    ap.add_argument("--show", action="store_true", help="print the loop body")
    ap.add_argument("--shape", default=None, help="B,CIN,COUT,H,W,K (default the headline 128,8,64,256,256,3)")
    ap.add_argument("--stream-k", type=int, default=0, help="compile the streamed long-K loop with this K chunk")
    ap.add_argument("--stream-arith", type=int, default=0, help="1: streamed offsets computed (shape compiled in)")
    args = ap.parse_args(argv)
    global B, C, O, H, W, KS
    if args.shape:
        B, C, O, H, W, KS = (int(v) for v in args.shape.split(","))
    rows = {}
    for path in args.variants.split(","):
        k = compile_variant(path, args.dtype, args.sm, loads_first=bool(args.loads_first), num_warps=args.num_warps,
                            maxnreg=args.maxnreg or None, skew=bool(args.skew), block_w=args.block_w,
                            stream_k=args.stream_k, stream_arith=bool(args.stream_arith))
        text, (regs, _static_smem) = sass(k, f"{path}_{args.dtype}")
        body, allins = loop_body(text)
        if args.show:
            for a, o, r in body:
                print(f"{a:05x} {o}{r}")
        mix = collections.Counter(classify(o) for _, o, _ in body)
        # GELU work (FFMA, MUFU, FMNMX) between the first MMA's issue and the last wait for an MMA: what the
        # scheduler overlapped with the tensor cores
        ops = [o for _, o, _ in body]
        first = next((i for i, o in enumerate(ops) if o.startswith("HGMMA")), None)
        last = max((i for i, o in enumerate(ops) if o.startswith("WARPGROUP.DEPBAR")), default=None)
        mix["(GELU ops under the MMAs)"] = (sum(1 for o in ops[first:last] if o.split(".")[0] in ("FFMA", "MUFU", "FMNMX"))
                                           if first is not None and last else 0)
        spills = sum(1 for _, o, _ in allins if o.startswith(("LDL", "STL")))
        rows[path] = dict(total=len(body), mix=mix, regs=regs, smem=k.metadata.shared, spills=spills)
    keys = sorted({m for r in rows.values() for m in r["mix"]}, key=lambda m: -max(r["mix"][m] for r in rows.values()))
    print(f"sm_{args.sm} {args.dtype}, triton {triton.__version__}, num_warps={args.num_warps}, "
          f"maxnreg={args.maxnreg or None}, loads_first={bool(args.loads_first)}, skew={bool(args.skew)}: static SASS of the tile loop, "
          f"per thread (one 64 x {args.block_w} tile)")
    print("| instruction | " + " | ".join(rows) + " |")
    print("|---|" + "---|" * len(rows))
    for name in ("total",):
        print(f"| **{name}** | " + " | ".join(str(r[name]) for r in rows.values()) + " |")
    for m in keys:
        print(f"| {m} | " + " | ".join(str(r["mix"].get(m, 0)) for r in rows.values()) + " |")
    print("| registers / shared bytes / local ld+st | " + " | ".join(f"{r['regs']} / {r['smem']} / {r['spills']}"
                                                        for r in rows.values()) + " |")


if __name__ == "__main__":
    main()
