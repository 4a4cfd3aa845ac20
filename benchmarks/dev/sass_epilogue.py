"""Static SASS instruction mix of the epilogue probe's loop (benchmarks/dev/epilogue_probe.py), compiled for sm_90
on a machine without a GPU: the "~13 instructions per value" of benchmarks/dev/NOTES-fused.md.

    python benchmarks/dev/sass_epilogue.py [--mode 0|1]     (needs the triton wheel's cuobjdump; no GPU)

Counts are per thread for one 64x128 tile (64 values per thread with 4 warps), plus the code outside the loop.
"""

import argparse
import collections
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

import fusefuzz.harness.backend as _backend  # noqa: E402

_backend._selected = "cuda"  # compile for the GPU even here: select() would pick the interpreter without CUDA

import triton  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402

from benchmarks.dev.epilogue_probe import _epilogue_probe  # noqa: E402
from benchmarks.dev.sass_tools import cuobjdump  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", type=int, default=0, help="0: production GELU + sum, 1: sum only (default 0)")
    args = ap.parse_args(argv)
    src = triton.compiler.ASTSource(
        fn=_epilogue_probe, constexprs={"MODE": args.mode},
        signature={"out_ptr": "*fp32", "n_tiles": "i32", "tiles_per_prog": "i32", "MODE": "constexpr"})
    kernel = triton.compile(src, target=GPUTarget("cuda", 90, 32), options={"num_warps": 4})
    (sass,) = cuobjdump(kernel, "epilogue_probe", "-sass")
    ops = collections.Counter(re.findall(r"^\s+/\*[0-9a-f]+\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]+)", sass, re.M))
    print(f"triton {triton.__version__}, sm_90, mode {args.mode}: {sum(ops.values())} SASS instructions")
    for op, n in ops.most_common(12):
        print(f"  {op:28s} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
