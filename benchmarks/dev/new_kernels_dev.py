"""Development timings for kernels/linear_gelu.py and kernels/layernorm.py on a GPU (not part of the suite).

Builds variants of each kernel file by small source edits (written to a temporary folder and imported, since
``@triton.jit`` needs a source file), then times every variant and, for the GEMM, every autotune config alone,
next to eager PyTorch and torch.compile in the same process; accuracy of each variant against float64.

    python3 benchmarks/dev/new_kernels_dev.py --out DIR        # JSON + a table on stdout

Variants (the edit each makes):
  linear_gelu  base  | spec (sizes/strides specialised by Triton's default rules, not do_not_specialize)
               lowp  | fp16/bf16 dots without input_precision="ieee" | spec+lowp | x3 (fp32 "ieee" path as tf32x3)
  layernorm    base  | spec | nmask (column mask against N rounded to the vector width, so masked loads vectorise)
               spec+nmask, and num_warps 4/8/16 for it
"""

import argparse
import importlib.util
import json
import os
import re
import sys
import tempfile
import time

import torch
import triton
from triton.testing import do_bench

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)


def variant(path, name, edits):
    src = open(path).read().replace("from .gelu import", "from fusefuzz.kernels.gelu import")  # imported outside the package
    for old, new in edits:
        if old not in src and not old.startswith("re:"):
            raise SystemExit(f"variant {name}: edit target not found: {old[:60]!r}")
        src = re.sub(old[3:], new, src) if old.startswith("re:") else src.replace(old, new)
    d = tempfile.mkdtemp(prefix=f"ffdev_{name}_")
    f = os.path.join(d, f"ffdev_{name.replace('+', '_')}.py")
    open(f, "w").write(src)
    spec = importlib.util.spec_from_file_location(os.path.basename(f)[:-3], f)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def med(fn):
    return do_bench(fn, warmup=25, rep=150, return_mode="median")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/ffdev")
    ap.add_argument("--budget-s", type=float, default=280)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    rows = []

    def add(**r):
        rows.append(r)
        print(json.dumps(r), flush=True)
        json.dump(rows, open(os.path.join(args.out, "dev.json"), "w"), indent=1)

    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    import torch.nn.functional as F
    from torch import _dynamo

    _dynamo.config.cache_size_limit = 256

    # ------------------------------------------------------------------ linear_gelu
    lp = os.path.join(REPO, "kernels", "linear_gelu.py")
    nospec = ('@triton.jit(do_not_specialize=["M", "N", "K", "sxm", "sxk", "swn", "swk", "som"])', "@triton.jit")
    lowp = ('PRECISION=input_precision if x.dtype == torch.float32 else "ieee"',
            'PRECISION=input_precision if x.dtype == torch.float32 else "tf32"')
    x3ok = ('_PRECISIONS = ("tf32", "ieee")', '_PRECISIONS = ("tf32", "ieee", "tf32x3")')
    lin = {"base": variant(lp, "base", [x3ok]), "spec": variant(lp, "spec", [nospec, x3ok]),
           "lowp": variant(lp, "lowp", [lowp]), "spec+lowp": variant(lp, "spec_lowp", [nospec, lowp])}
    m = n = k = 4096
    flops = 2 * m * n * k
    for dname in ("float16", "bfloat16", "float32"):
        dt = getattr(torch, dname)
        x = torch.randn(m, k, device="cuda", dtype=dt)
        w = torch.randn(n, k, device="cuda", dtype=dt) / k ** 0.5
        b = torch.randn(n, device="cuda", dtype=dt)
        ref = F.gelu(x.double() @ w.double().T + b.double())
        eager = lambda: F.gelu(F.linear(x, w, b))  # noqa: E731
        comp = torch.compile(lambda x, w, b: F.gelu(F.linear(x, w, b)))
        for label, fn in (("eager", eager), ("compile", lambda: comp(x, w, b))):
            ms = med(fn)
            add(kernel="linear_gelu", dtype=dname, variant=label, ms=ms, tflops=flops / ms / 1e9)
        precs = ("tf32", "ieee", "tf32x3") if dname == "float32" else ("tf32",)
        for vname, mod in lin.items():
            if dname == "float32" and "lowp" in vname:
                continue
            kern = mod.linear_gelu_kernel
            all_cfgs = list(kern.configs)
            for prec in precs:
                for ci, cfg in enumerate(all_cfgs):
                    if time.time() - t0 > args.budget_s:
                        break
                    kern.configs = [cfg]
                    kern.cache.clear()
                    try:
                        fn = lambda: mod.linear_gelu(x, w, b, input_precision=prec)  # noqa: E731
                        out = fn()
                        torch.cuda.synchronize()
                        err = float((out.double() - ref).abs().max())
                        ms = med(fn)
                        add(kernel="linear_gelu", dtype=dname, variant=vname, precision=prec, config=ci,
                            cfg=str(cfg), ms=ms, tflops=flops / ms / 1e9, max_abs_err=err)
                    except Exception as e:  # noqa: BLE001
                        add(kernel="linear_gelu", dtype=dname, variant=vname, precision=prec, config=ci,
                            error=f"{type(e).__name__}: {str(e)[:200]}")
            kern.configs = all_cfgs
            kern.cache.clear()
        del x, w, ref
        torch.cuda.empty_cache()

    # ------------------------------------------------------------------ layernorm
    np_ = os.path.join(REPO, "kernels", "layernorm.py")
    lspec = ('@triton.jit(do_not_specialize=["M", "N", "sxm", "sxn"])', "@triton.jit")
    nmask = ("        col_ok = cols < N\n        mask = row_ok[:, None] & col_ok[None, :]",
             "        n_vec = (N // VEC) * VEC if ALIGN else N  # == N under ALIGN; tells Triton N % VEC == 0\n"
             "        col_ok = cols < n_vec\n        mask = row_ok[:, None] & col_ok[None, :]")
    warps = ('    return dict(BLOCK_N=block_n, BLOCK_R=block_r, LOOPED=looped, num_warps=warps)',
             '    warps = int(os.environ.get("FFDEV_WARPS", warps))\n'
             '    return dict(BLOCK_N=block_n, BLOCK_R=block_r, LOOPED=looped, num_warps=warps)')
    ln = {"base": variant(np_, "lnbase", []), "spec": variant(np_, "lnspec", [lspec]),
          "nmask": variant(np_, "lnnmask", [nmask]), "spec+nmask": variant(np_, "lnboth", [lspec, nmask, warps, ("import torch\n", "import os\nimport torch\n")])}
    for rows_, n in ((8192, 1024), (8192, 4096), (8192, 8192), (256, 65536)):
        for dname in ("float32", "float16", "bfloat16"):
            if time.time() - t0 > args.budget_s + 120:
                break
            dt = getattr(torch, dname)
            x = torch.randn(rows_, n, device="cuda", dtype=dt)
            w = torch.randn(n, device="cuda", dtype=dt)
            b = torch.randn(n, device="cuda", dtype=dt)
            gb = 2 * x.numel() * x.element_size() / 1e9
            ref = F.layer_norm(x.double(), (n,), w.double(), b.double(), 1e-5)
            comp = torch.compile(lambda x, w, b: F.layer_norm(x, (x.shape[-1],), w, b, 1e-5))
            for label, fn in (("eager", lambda: F.layer_norm(x, (n,), w, b, 1e-5)), ("compile", lambda: comp(x, w, b))):
                ms = med(fn)
                add(kernel="layernorm", dtype=dname, shape=f"{rows_}x{n}", variant=label, ms=ms, gbs=gb / ms * 1e3)
            for vname, mod in ln.items():
                for wp in ((None,) if vname != "spec+nmask" else (None, 4, 8, 16)):
                    if wp is None:
                        os.environ.pop("FFDEV_WARPS", None)
                    else:
                        os.environ["FFDEV_WARPS"] = str(wp)
                    try:
                        fn = lambda: mod.layernorm(x, w, b, 1e-5)  # noqa: E731
                        err = float((fn().double() - ref).abs().max())
                        ms = med(fn)
                        add(kernel="layernorm", dtype=dname, shape=f"{rows_}x{n}", variant=vname, warps=wp or "auto",
                            ms=ms, gbs=gb / ms * 1e3, max_abs_err=err)
                    except Exception as e:  # noqa: BLE001
                        add(kernel="layernorm", dtype=dname, shape=f"{rows_}x{n}", variant=vname, warps=wp or "auto",
                            error=f"{type(e).__name__}: {str(e)[:200]}")
            os.environ.pop("FFDEV_WARPS", None)
            del x, ref
            torch.cuda.empty_cache()
    # ------------------------------------------------------------------ table
    print("\n== summary ==")
    for r in rows:
        if "error" in r:
            print(r["kernel"], r["dtype"], r.get("shape", ""), r["variant"], r.get("precision", ""), r.get("config", ""),
                  "ERROR", r["error"][:100])
        else:
            print(f"{r['kernel']:11} {r['dtype']:8} {r.get('shape', '4096^3'):10} {r['variant']:10} "
                  f"{str(r.get('precision', '')):6} cfg={str(r.get('config', r.get('warps', ''))):4} {r['ms']:.4f} ms "
                  f"{r.get('tflops', r.get('gbs', 0)):7.1f} err={r.get('max_abs_err', '')}")
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
