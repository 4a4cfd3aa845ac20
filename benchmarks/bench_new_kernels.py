"""Benchmark of the Linear+GELU and LayerNorm kernels against eager PyTorch and torch.compile, in one process.

GPU only:  python benchmarks/bench_new_kernels.py --out DIR [--kernels linear,layernorm] [--dtypes fp32,fp16,bf16]
           [--max-autotune] [--budget-s 240] [--quick]

Rows per (kernel, dtype, shape): ours, eager, torch.compile (mode "default"); with ``--max-autotune`` a second
pass adds torch.compile mode "max-autotune-no-cudagraphs" on the first shape of each kernel (GEMM template
autotuning is slow), while the time budget (``--budget-s``) lasts. For fp32 Linear, comparisons are like for
like: our TF32 kernel against PyTorch with ``allow_tf32=True`` (cuBLAS TF32) and our IEEE kernel against
PyTorch's default fp32 (``allow_tf32=False``); both pairs are reported.

Timing: ``triton.testing.do_bench`` (CUDA events, L2 flushed before each repetition, median) after warm-up calls
that compile and autotune. Every timed path's output is checked against a float64 reference of the same inputs:
``err/bound`` is the worst error over the harness's rounding-error bound for that path's contract (<= 1 is
correct), so a fast wrong row is visible. Linear: TFLOP/s (2 M N K); LayerNorm: GB/s of the minimum traffic
(read x, write y, read weight and bias). For our Linear kernel the time of every autotune config alone is
recorded too (``configs``), with the config the autotuner picked.

Writes ``bench.json`` (rewritten after every row) and ``bench.md`` into ``--out``; prints the Markdown table last.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import torch  # noqa: E402

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
DTYPE_NAMES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
#: (batch M, in_features K, out_features N): the headline 4096^3 first, then smaller / skinny ones
LINEAR_SHAPES = [(4096, 4096, 4096), (8192, 2048, 8192), (1024, 4096, 4096), (256, 4096, 4096)]
MAX_AUTOTUNE = "max-autotune-no-cudagraphs"
#: (rows, features): rows 8192 x 1024 / 4096 / 8192, and one long row (the looped path)
LAYERNORM_SHAPES = [(8192, 1024), (8192, 4096), (8192, 8192), (256, 65536)]


#: set by --smoke-cpu: the script's plumbing on a CPU (interpreter, tiny shapes, host timer), not a benchmark
SMOKE = False


def _device():
    return torch.device("cpu" if SMOKE else "cuda")


def _sync():
    if not SMOKE:
        torch.cuda.synchronize()


def _env(args) -> dict:
    import triton

    gpu = "cpu (--smoke-cpu: no timings)" if SMOKE else torch.cuda.get_device_name()
    return dict(gpu=gpu, torch=torch.__version__, triton=triton.__version__,
                python=platform.python_version(), cuda=torch.version.cuda,
                command=" ".join([os.path.basename(sys.executable)] + sys.argv),
                date=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), rep_ms=args.rep_ms)


class Recorder:
    def __init__(self, out_dir: str, env: dict):
        self.out_dir = out_dir
        self.data = {"env": env, "rows": [], "configs": [], "skipped": []}
        os.makedirs(out_dir, exist_ok=True)

    def add(self, key: str, row: dict) -> None:
        self.data[key].append(row)
        with open(os.path.join(self.out_dir, "bench.json.tmp"), "w", encoding="utf-8") as f:
            json.dump(self.data, f, indent=1)
        os.replace(os.path.join(self.out_dir, "bench.json.tmp"), os.path.join(self.out_dir, "bench.json"))
        if key == "rows":
            print(json.dumps(row), flush=True)


def _ratio(problem, example, x, params, out, contract) -> float:
    """Worst |out - ref64| / bound over all outputs (the harness's bound for ``contract``)."""
    a = problem.analyse(example, [x], params)
    bound = problem.bound(a, contract)
    err = (out.double() - a.ref64).abs()
    ratio = torch.where(err == 0, torch.zeros_like(err), err / bound)
    ratio = torch.where(torch.isfinite(out.double()) | ~torch.isfinite(a.ref64), ratio, torch.full_like(ratio, 1e30))
    return float(torch.nan_to_num(ratio, nan=1e30).max())


def _bench(fn, rep_ms):
    if SMOKE:
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1e3
    from triton.testing import do_bench

    return float(do_bench(fn, warmup=max(10, rep_ms // 4), rep=rep_ms, return_mode="median"))


def _compiled(model, mode):
    torch._dynamo.reset()  # one shape per compiled function: no recompile limit, no dynamic shapes
    return torch.compile(model, mode=mode, dynamic=False)


class _TF32:
    """PyTorch's TF32 switch for matmuls (cuBLAS rounds operands to nearest TF32)."""

    def __init__(self, on: bool):
        self.on = on

    def __enter__(self):
        self.saved = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = self.on

    def __exit__(self, *exc):
        torch.backends.cuda.matmul.allow_tf32 = self.saved


def bench_linear(rec, args, deadline, *, shapes, mode="default"):
    """Rows of ours, eager and torch.compile(mode) per shape and dtype; a mode other than "default" adds only its
    torch.compile rows (a second pass, after every default row)."""
    from fusefuzz.harness.example import Example
    from fusefuzz.harness.problems import linear_gelu as problem_mod
    from fusefuzz.kernels import linear_gelu as lg

    problem = problem_mod.PROBLEM
    dev = _device()
    if SMOKE:  # the interpreter cannot autotune: one config
        lg.linear_gelu_kernel.configs = lg.linear_gelu_kernel.configs[-1:]
    for si, (m, k, n) in enumerate(shapes):
        for dname in args.dtypes:  # shapes outer: the headline shape of every dtype first
            dt = DTYPES[dname]
            ex = Example(sizes=dict(batch=m, in_features=k, out_features=n), dtype=DTYPE_NAMES[dname], seed=0)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                model = problem_mod.Model(k, n)
            model = model.to(device=dev, dtype=dt).eval()
            x = torch.randn(m, k, generator=torch.Generator().manual_seed(0)).to(device=dev, dtype=dt)
            params = {name: p.detach() for name, p in model.named_parameters()}
            w, b = params["linear.weight"], params["linear.bias"]
            flops = problem.flops(ex)
            shape = f"{m}x{k}x{n}"
            # (path, callable, contract of the output, torch TF32 switch)
            paths = []
            if mode == "default" and dt == torch.float32:
                paths += [("ours tf32", lambda x=x, w=w, b=b: lg.linear_gelu(x, w, b, input_precision="tf32"),
                           "tf32", None),
                          ("ours ieee", lambda x=x, w=w, b=b: lg.linear_gelu(x, w, b, input_precision="ieee"),
                           "ieee", None),
                          ("eager tf32", lambda x=x, model=model: model(x), "tf32-rn", True),
                          ("eager ieee", lambda x=x, model=model: model(x), "ieee", False)]
            elif mode == "default":
                paths += [("ours", lambda x=x, w=w, b=b: lg.linear_gelu(x, w, b), "ieee", None),
                          ("eager", lambda x=x, model=model: model(x), "ieee", None)]
            for tf32 in ([True, False] if dt == torch.float32 else [None]):
                tag = "" if tf32 is None else (" tf32" if tf32 else " ieee")
                label = f"compile {mode}{tag}" if mode != "default" else f"compile{tag}"
                paths.append((label, ("compile", mode), "tf32-rn" if tf32 else "ieee", tf32))
            for label, fn, contract, tf32 in paths:
                if SMOKE and isinstance(fn, tuple):
                    continue
                if time.monotonic() > deadline:
                    rec.add("skipped", {"kernel": "linear_gelu", "dtype": dname, "shape": shape, "path": label,
                                        "why": "time budget spent"})
                    continue
                row = dict(kernel="linear_gelu", dtype=dname, shape=shape, path=label)
                try:
                    with torch.no_grad(), _TF32(bool(tf32)):
                        if isinstance(fn, tuple):
                            t0 = time.perf_counter()
                            cm = _compiled(model, fn[1])
                            call = lambda cm=cm, x=x: cm(x)  # noqa: E731
                            out = call()
                            _sync()
                            row["compile_s"] = round(time.perf_counter() - t0, 1)
                        else:
                            call = fn
                            out = call()
                        out = call()
                        _sync()
                        ms = _bench(call, args.rep_ms)
                    row.update(ms=round(ms, 4), tflops=round(flops / ms / 1e9, 1),
                               err_over_bound=round(_ratio(problem, ex, x, params, out, contract), 4),
                               contract=contract)
                    if label.startswith("ours"):
                        best = getattr(lg.linear_gelu_kernel, "best_config", None)
                        row["config"] = str(best) if best is not None else None
                except Exception as e:  # noqa: BLE001 - a failed path is a row with its error, not a dead run
                    row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
                rec.add("rows", row)
            if mode == "default" and si == 0 and time.monotonic() < deadline:
                _linear_configs(rec, lg, x, w, b, dname, shape, flops, args)


def _linear_configs(rec, lg, x, w, b, dname, shape, flops, args):
    """Each autotune config alone (the harness's config pinning), for the record."""
    from fusefuzz.harness.configs import find_autotuners, pinned, sweep

    precisions = ["tf32", "ieee"] if x.dtype == torch.float32 else ["ieee"]
    for prec in precisions:
        for a in sweep(find_autotuners(lg)):
            row = dict(kernel="linear_gelu", dtype=dname, shape=shape, precision=prec, config=a.describe())
            try:
                with pinned(a), torch.no_grad():
                    lg.linear_gelu(x, w, b, input_precision=prec)
                    _sync()
                    ms = _bench(lambda prec=prec: lg.linear_gelu(x, w, b, input_precision=prec), args.rep_ms)
                row.update(ms=round(ms, 4), tflops=round(flops / ms / 1e9, 1))
            except Exception as e:  # noqa: BLE001
                row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
            rec.add("configs", row)
            print("config", json.dumps(row), flush=True)


def bench_layernorm(rec, args, deadline, *, shapes, mode="default"):
    """As :func:`bench_linear`: ours, eager and torch.compile(mode); other modes add their compile rows only."""
    from fusefuzz.harness.example import Example
    from fusefuzz.harness.problems import layernorm as problem_mod
    from fusefuzz.kernels import layernorm as ln

    problem = problem_mod.PROBLEM
    dev = _device()
    for rows_, n in shapes:
        for dname in args.dtypes:
            dt = DTYPES[dname]
            ex = Example(sizes=dict(batch=rows_, features=n), dtype=DTYPE_NAMES[dname], seed=0)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                model = problem_mod.Model(n)
            model = model.to(device=dev, dtype=dt).eval()
            x = torch.randn(rows_, n, generator=torch.Generator().manual_seed(0)).to(device=dev, dtype=dt)
            params = {name: p.detach() for name, p in model.named_parameters()}
            w, b = params["norm.weight"], params["norm.bias"]
            nbytes = problem.min_bytes(ex)
            shape = f"{rows_}x{n}"
            paths = [("ours", lambda x=x, w=w, b=b, eps=model.norm.eps: ln.layernorm(x, w, b, eps)),
                     ("eager", lambda x=x, model=model: model(x)),
                     ("compile", ("compile", "default"))]
            if mode != "default":
                paths = [(f"compile {mode}", ("compile", mode))]
            for label, fn in paths:
                if SMOKE and isinstance(fn, tuple):
                    continue
                if time.monotonic() > deadline:
                    rec.add("skipped", {"kernel": "layernorm", "dtype": dname, "shape": shape, "path": label,
                                        "why": "time budget spent"})
                    continue
                row = dict(kernel="layernorm", dtype=dname, shape=shape, path=label)
                try:
                    with torch.no_grad():
                        if isinstance(fn, tuple):
                            t0 = time.perf_counter()
                            cm = _compiled(model, fn[1])
                            call = lambda cm=cm, x=x: cm(x)  # noqa: E731
                            call()
                            _sync()
                            row["compile_s"] = round(time.perf_counter() - t0, 1)
                        else:
                            call = fn
                        call()
                        out = call()
                        _sync()
                        ms = _bench(call, args.rep_ms)
                    row.update(ms=round(ms, 4), gbps=round(nbytes / ms / 1e6, 1),
                               err_over_bound=round(_ratio(problem, ex, x, params, out, "ieee"), 4))
                    if label == "ours":
                        row["launch"] = ln.launch_params(n, elem_size=x.element_size())
                except Exception as e:  # noqa: BLE001
                    row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
                rec.add("rows", row)


def markdown(data: dict) -> str:
    env = data["env"]
    lines = [f"# New kernels vs eager and torch.compile ({env['gpu']})", "",
             f"torch {env['torch']}, triton {env['triton']}, CUDA {env['cuda']}; {env['date']}; "
             f"`{env['command']}`", "",
             "Median ms (`triton.testing.do_bench`, L2 flushed). `err/bound`: worst error over the harness's "
             "rounding-error bound for the path's contract (<= 1: correct). speedup = best baseline of the same "
             "precision / ours.", ""]
    for kernel, unit in (("linear_gelu", "tflops"), ("layernorm", "gbps")):
        rows = [r for r in data["rows"] if r["kernel"] == kernel]
        if not rows:
            continue
        lines += [f"## {kernel}", "", f"| dtype | shape | path | ms | {'TFLOP/s' if unit == 'tflops' else 'GB/s'} "
                  "| err/bound | speedup |", "|---|---|---|---|---|---|---|"]
        for r in rows:
            speed = _speedup(r, rows)
            if "error" in r:
                lines.append(f"| {r['dtype']} | {r['shape']} | {r['path']} | error | | | {r['error'][:80]} |")
            else:
                lines.append(f"| {r['dtype']} | {r['shape']} | {r['path']} | {r['ms']:.4f} | {r[unit]} | "
                             f"{r['err_over_bound']:.3g} | {speed} |")
        lines.append("")
    if data["configs"]:
        lines += ["## linear_gelu: each autotune config alone (first shape)", "", "| dtype | precision | config | ms "
                  "| TFLOP/s |", "|---|---|---|---|---|"]
        for r in data["configs"]:
            lines.append(f"| {r['dtype']} | {r['precision']} | {r['config']} | {r.get('ms', 'error')} | "
                         f"{r.get('tflops', r.get('error', ''))} |")
        lines.append("")
    if data["skipped"]:
        lines.append(f"{len(data['skipped'])} paths skipped: the time budget was spent.")
    return "\n".join(lines) + "\n"


def _speedup(row: dict, rows: list) -> str:
    """For our rows: the fastest baseline of the same precision (fp32: tf32 vs tf32, ieee vs ieee) / ours."""
    if not row["path"].startswith("ours") or "ms" not in row:
        return ""
    tag = row["path"].split(" ", 1)[1] if " " in row["path"] else None
    same = [r for r in rows if r["dtype"] == row["dtype"] and r["shape"] == row["shape"] and "ms" in r
            and not r["path"].startswith("ours") and (tag is None or r["path"].endswith(tag))]
    if not same:
        return ""
    best = min(same, key=lambda r: r["ms"])
    return f"{best['ms'] / row['ms']:.2f}x vs {best['path']}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="directory for bench.json and bench.md")
    p.add_argument("--kernels", default="linear,layernorm", help="comma list of linear, layernorm")
    p.add_argument("--dtypes", default="fp32,fp16,bf16", help="comma list of fp32, fp16, bf16")
    p.add_argument("--rep-ms", type=int, default=100, help="do_bench repetition time per row (ms)")
    p.add_argument("--max-autotune", action="store_true",
                   help="also torch.compile mode max-autotune-no-cudagraphs (Linear: first shape only)")
    p.add_argument("--budget-s", type=float, default=1e9, help="skip the remaining rows after this many seconds")
    p.add_argument("--quick", action="store_true", help="two shapes per kernel")
    p.add_argument("--smoke-cpu", action="store_true",
                   help="check this script on a CPU: Triton interpreter, tiny shapes, no torch.compile, host timer "
                        "(set TRITON_INTERPRET=1); the numbers mean nothing")
    args = p.parse_args(argv)
    args.dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    kernels = [k.strip() for k in args.kernels.split(",") if k.strip()]
    for name, values, allowed in (("dtypes", args.dtypes, DTYPES), ("kernels", kernels, ("linear", "layernorm"))):
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            p.error(f"--{name}={','.join(values)!r}: use a comma list of {', '.join(allowed)}")
    if args.smoke_cpu:
        global SMOKE, LINEAR_SHAPES, LAYERNORM_SHAPES
        SMOKE = True
        LINEAR_SHAPES, LAYERNORM_SHAPES = [(33, 40, 70), (5, 17, 9)], [(9, 300), (3, 20000)]
    elif not torch.cuda.is_available():
        print("bench_new_kernels: no CUDA device; this benchmark runs on a GPU only (--smoke-cpu checks the "
              "script itself)", file=sys.stderr)
        return 2
    deadline = time.monotonic() + args.budget_s
    rec = Recorder(args.out, _env(args))
    lin = LINEAR_SHAPES[:2] if args.quick else LINEAR_SHAPES
    ln = LAYERNORM_SHAPES[:2] if args.quick else LAYERNORM_SHAPES
    if "layernorm" in kernels:
        bench_layernorm(rec, args, deadline, shapes=ln)
    if "linear" in kernels:
        bench_linear(rec, args, deadline, shapes=lin)
    if args.max_autotune and not SMOKE:  # slow (GEMM template autotuning): after every default row, first shapes
        if "linear" in kernels:
            bench_linear(rec, args, deadline, shapes=lin[:1], mode=MAX_AUTOTUNE)
        if "layernorm" in kernels:
            bench_layernorm(rec, args, deadline, shapes=ln[:1], mode=MAX_AUTOTUNE)
    md = markdown(rec.data)
    with open(os.path.join(args.out, "bench.md"), "w", encoding="utf-8") as f:
        f.write(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
