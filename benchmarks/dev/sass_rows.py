"""Compile the row-ring Gluon kernel (kernels/conv2d_gelu_gap_hopper.py) for sm_90 on a machine without a GPU and
print its registers, spills, shared memory and static SASS instruction mix: how a change to the consumers'
epilogue moves the instruction count before any device time is spent.

    PYTHONPATH=/tmp/t36 python benchmarks/dev/sass_rows.py [--dtype float32] [--set KEY=VALUE ...] [--diff ...]

Triton 3.6 is the device's version: ``pip install --no-deps --target /tmp/t36 triton==3.6.0`` and put it first
on PYTHONPATH (Gluon's API moves between releases; 3.9 compiles it too). The headline case is compiled:
x [128, 8, 256, 256] contiguous, 64 output channels, 3 x 3. ``--set`` overrides a launch key (``ROWS_LAUNCH``'s,
plus ``EXACT``, ``DETERMINISTIC``, ``PROBE``); ``--diff K=V`` compiles a second launch with those
overrides and prints both mixes side by side.
"""

import argparse
import collections
import re
import sys

import fusefuzz.harness.backend as _backend  # noqa: E402

_backend._selected = "cuda"  # compile for the GPU even here: select() would pick the interpreter without CUDA

import triton  # noqa: E402
from fusefuzz.kernels import conv2d_gelu_gap_hopper as hopper  # noqa: E402
from sass_tools import cuobjdump  # noqa: E402  (run as a script: benchmarks/dev is on sys.path)
from triton.backends.compiler import GPUTarget  # noqa: E402

_TYPES = {"float32": ("fp32", 4), "float16": ("fp16", 2), "bfloat16": ("bf16", 2)}
_OP = re.compile(r"^\s+/\*[0-9a-f]+\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_]+)", re.M)


def _value(text):
    if text in ("True", "False"):
        return text == "True"
    return None if text == "None" else int(text)


def compile_rows(dtype="float32", cin=8, kh=3, kw=3, cout=64, **over):
    """(compiled kernel, SASS text, cuobjdump -res-usage text) of the row-ring kernel, headline shape, ``over``
    launch keys."""
    from triton.experimental.gluon._runtime import GluonASTSource

    ty, eb = _TYPES[dtype]
    launch = {**hopper.ROWS_LAUNCH, "EXACT": 0, "DETERMINISTIC": False, "PROBE": 0, **over}
    dk, ncr, slots, _ = hopper.rows_geometry(cin, kh, kw, eb, launch["SLOTS"], launch["NPROD"], launch["NCONS"],
                                             1 + (launch["BIAS_MMA"] == 2))
    const = dict(CIN=cin, KH=kh, KW=kw, NCR=ncr, SLOTS=slots, DK=dk, ROUND=dtype == "float32",
                 EXACT=launch["EXACT"], DETERMINISTIC=launch["DETERMINISTIC"], C_REGS=launch["C_REGS"],
                 P_REGS=launch["P_REGS"], A_REGS=launch["A_REGS"], AHEAD=launch["AHEAD"], NPROD=launch["NPROD"],
                 PROBE=launch["PROBE"], BIAS_MMA=launch["BIAS_MMA"], NCONS=launch["NCONS"])
    fn = hopper.conv2d_gelu_gap_rows_kernel
    const["LEAN"] = launch.get("LEAN", False)
    const["sxw"] = 1  # a contiguous x: the JIT specialises a stride of 1
    sig = {"x_ptr": f"*{ty}", "wp_ptr": f"*{ty}", "b_ptr": "*fp32", "out_ptr": "*fp32", "C_OUT": "i32", "OH": "i32",
           "OW": "i32", "sxb": "i32", "sxc": "i32", "sxh": "i32", "sxw": "constexpr", "inv_area": "fp32"}
    for name in fn.arg_names:
        if name not in sig:
            sig[name] = "constexpr"
    div16 = [["tt.divisibility", 16]]
    attrs = {(fn.arg_names.index(n),): div16 for n in ("x_ptr", "wp_ptr", "b_ptr", "out_ptr", "C_OUT", "sxb",
                                                           "sxc", "sxh")}
    src = GluonASTSource(fn=fn, signature=sig, constexprs=const, attrs=attrs)
    kernel = triton.compile(src, target=GPUTarget("cuda", 90, 32),
                            options={"num_warps": 4, "maxnreg": launch["maxnreg"]})
    sass, res = cuobjdump(kernel, "rows", "-sass", "-res-usage")
    return kernel, sass, res


def mix(sass):
    return collections.Counter(_OP.findall(sass))


_LINE = re.compile(r"^\s+/\*([0-9a-f]+)\*/\s+((?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]+)[^;]*);", re.M)


def loops(sass):
    """Backward branches: (start, end, instructions in [start, end], Counter of the body's opcodes, the first
    opcode) - the producer's row loop, the consumers' tile loops, the pre-arrival loops - largest first; the
    body counts are per executed iteration where the loop has no inner branch taken."""
    lines = [(int(m[1], 16), m[2], m[3].split(".")[0]) for m in _LINE.finditer(sass)]
    out = []
    for addr, text, op in lines:
        m = re.search(r"\bBRA (?:`\(\.L_x_\d+\) )?0x([0-9a-f]+)", text)
        if op == "BRA" and m and int(m[1], 16) < addr:
            body = [o for a, _t, o in lines if int(m[1], 16) <= a <= addr]
            out.append((int(m[1], 16), addr, len(body), collections.Counter(body)))
    return sorted(out, key=lambda r: -r[2])


def _parse(items):
    out = {}
    for item in items or []:
        key, _, val = item.partition("=")
        out[key] = _value(val)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float32", choices=sorted(_TYPES), help="x dtype (default float32)")
    ap.add_argument("--set", nargs="*", default=[], help="launch overrides KEY=VALUE (default: ROWS_LAUNCH)")
    ap.add_argument("--diff", nargs="*", default=None, help="a second launch: overrides on top of --set")
    ap.add_argument("--top", type=int, default=16, help="opcodes shown (default 16)")
    ap.add_argument("--sass", default=None, help="write the (first) SASS listing here")
    ap.add_argument("--loops", action="store_true", help="also list the loops (backward branches) of each launch")
    args = ap.parse_args(argv)
    base = _parse(args.set)
    runs = [("base", base)] + ([("diff", {**base, **_parse(args.diff)})] if args.diff is not None else [])
    mixes = []
    for name, over in runs:
        kernel, sass, res = compile_rows(args.dtype, **over)
        usage = re.search(r"REG:(\d+) STACK:(\d+) SHARED:(\d+)", res)
        if args.sass and not mixes:
            with open(args.sass, "w") as f:
                f.write(sass)
        m = mix(sass)
        mixes.append(m)
        if args.loops:
            for start, end, n, body in loops(sass):
                if n >= 40:
                    keys = ("FFMA", "MUFU", "FSEL", "LDG", "STS", "HGMMA", "CS2R", "MOV")
                    print(f"  {name} loop {start:#06x}..{end:#06x}: {n} instructions ("
                          + ", ".join(f"{k} {body[k]}" for k in keys if body[k]) + ")")
        print(f"{name}: triton {triton.__version__}, sm_90, {args.dtype}, {over or 'ROWS_LAUNCH'}: "
              f"REG {usage[1]} (maxnreg; partitions set their own), STACK {usage[2]} (spills), "
              f"{kernel.metadata.shared} B shared, "
              f"{sum(m.values())} SASS instructions")
    ops = collections.Counter()
    for m in mixes:
        ops.update(m)
    for op, _ in ops.most_common(args.top):
        print(f"  {op:12s} " + " ".join(f"{m[op]:7d}" for m in mixes)
              + (f"  {mixes[1][op] - mixes[0][op]:+7d}" if len(mixes) == 2 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
