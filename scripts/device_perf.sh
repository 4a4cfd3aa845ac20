#!/usr/bin/env bash
# Performance tracking on a GPU machine (issue 5, issue 6 part 5), from the repo root, in well under 8 minutes:
#   1. the benchmark suite into per-GPU storage ($OUT/benchmarks/<gpu-key>/), run A
#   2. the GPU benchmarks again (A/A), 3. the gate on B vs A: expect exit 0, no alarm
#   4. every kernel ~10 % slower (a real extra device copy costing 10 % of the call), 5. the gate: expect exit 1
#   6. the headline benchmark repeated in separate processes: median spread <= 1 %
#   7. fusefuzz bench: the fused kernel file (valid), zoo 23 (deferred launch: refused), a side-stream kernel
#      (work counted through device-wide synchronisation)
#   8. the report (PNG + Markdown/HTML) into $OUT/report; a short table last
# Uses the machine's torch/triton/scipy/matplotlib/pytest-benchmark; the package is used from the checkout.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 FUSEFUZZ_DATABASE=${TMPDIR:-/tmp}/ff-db
# the autotuner's pick is cached on disk (keyed on the kernel's source, shape and GPU): every run times the
# config the first one chose, instead of re-deciding between configs within 2 % of each other
export TRITON_CACHE_AUTOTUNING=1
OUT=${OUT:-/tmp/ff-out}; mkdir -p "$OUT"
STORE=$OUT/benchmarks
REPEATS=${REPEATS:-4}
HEADLINE='test_kernel[fused-headline-float32]'
COLS=(--benchmark-columns=median,iqr,rounds --benchmark-sort=name)
# the plugin comes from the checkout (-p) unless the package is installed (then its entry point loads it)
PLUGIN=(-p fusefuzz.harness.plugin)
python3 -c "import importlib.metadata as m, sys; sys.exit(0 if any(e.name == 'fusefuzz' for e in \
m.entry_points(group='pytest11')) else 1)" 2>/dev/null && PLUGIN=()
pyt() { python3 -m pytest "${PLUGIN[@]}" -p no:cacheprovider -q -rs --fusefuzz-bench-storage "$STORE" "${COLS[@]}" "$@"; }
ff() { python3 -m fusefuzz.harness.cli "$@"; }
t0=$(date +%s)
at() { echo; echo "=== $1 [$(( $(date +%s) - t0 )) s]"; }
{
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader
python3 -c "import torch, triton, scipy, matplotlib, pytest_benchmark as b; print('torch', torch.__version__, \
'triton', triton.__version__, 'scipy', scipy.__version__, 'matplotlib', matplotlib.__version__, 'pytest-benchmark', b.__version__)"

at "1. run A: the whole suite (GPU kernels and references, harness throughput), stored"
pyt benchmarks --fusefuzz-bench-campaign-rounds 2 --benchmark-autosave --benchmark-json "$OUT/run_a.json"
echo "EXIT suite_a=$?"

at "2. run B: the GPU benchmarks again (A/A)"
pyt benchmarks/test_bench_conv2d_gelu_gap.py --benchmark-autosave --benchmark-json "$OUT/run_b.json"; echo "EXIT suite_b=$?"

at "3. gate: run B against run A (expect exit 0)"
ff perf compare --storage "$STORE" --markdown "$OUT/gate_aa.md" --json "$OUT/gate_aa.json"; echo "EXIT gate_aa=$?"

at "4. run C: every kernel with an injected ~10 % slowdown (an extra device copy, no sleep)"
pyt benchmarks/test_bench_conv2d_gelu_gap.py -k test_kernel --fusefuzz-bench-slowdown 0.10 \
    --fusefuzz-bench-baselines none --benchmark-autosave --benchmark-json "$OUT/run_c_slow.json"; echo "EXIT suite_slow=$?"

at "5. gate: run C against runs A and B (expect exit 1)"
ff perf compare --storage "$STORE" --markdown "$OUT/gate_slow.md" --json "$OUT/gate_slow.json"; echo "EXIT gate_slow=$?"

at "6. the headline benchmark in $REPEATS separate processes (not stored)"
for i in $(seq 1 "$REPEATS"); do
  pyt "benchmarks/test_bench_conv2d_gelu_gap.py::$HEADLINE" --fusefuzz-bench-baselines none \
      --benchmark-json "$OUT/repeat_$i.json" > "$OUT/repeat_$i.log" 2>&1; echo "EXIT repeat_$i=$?"
done
python3 scripts/perf_spread.py --name "$HEADLINE" --limit 0.01 --json "$OUT/spread.json" "$OUT"/repeat_*.json
echo "EXIT spread=$?"

at "7. fusefuzz bench (integrity: device-wide sync, outputs re-verified after timing, roofline)"
ff bench kernels/conv2d_gelu_gap_fused.py --precision tf32-rn --storage "$STORE" --json "$OUT/bench_fused.json"
echo "EXIT bench_fused=$?"
ff bench tests/zoo/23_side_stream_no_sync.py --baselines none --storage "$STORE" --json "$OUT/bench_zoo23.json"
echo "EXIT bench_zoo23=$?"
ff bench tests/candidates/side_stream_unsynced.py --baselines none --storage "$STORE" --json "$OUT/bench_side.json"
echo "EXIT bench_side_stream=$?"

at "8. report"
ff perf report --storage "$STORE" --out "$OUT/report"; echo "EXIT report=$?"

at "9. summary"
python3 - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
rows = []
for run in ("run_a", "run_b", "run_c_slow"):
    d = load(run + ".json")
    rows.append((run, f"{len(d['benchmarks'])} benchmarks" if d else "missing"))
for gate in ("gate_aa", "gate_slow"):
    d = load(gate + ".json")
    if not d:
        rows.append((gate, "missing"))
        continue
    judged = [v for v in d["verdicts"] if v["ratio"] is not None]
    head = [v for v in judged if v["name"].endswith("fused-headline-float32]")]
    worst = max(judged, key=lambda v: v["ratio"]) if judged else None
    rows.append((gate, f"{d['regressions']} regression(s) of {len(judged)} compared; worst ratio "
                       f"{worst['ratio']:.3f} ({worst['name'].split('::')[-1]})" if worst else "nothing compared"))
    if head:
        rows.append((f"{gate} headline", f"ratio {head[0]['ratio']:.3f}, {head[0]['status']}"))
d = load("spread.json")
rows.append(("headline spread", f"{100 * d['spread']:.2f} % over {len(d['medians_ms'])} runs "
             f"({min(d['medians_ms']):.4f}-{max(d['medians_ms']):.4f} ms)" if d else "missing"))
for b in ("bench_fused", "bench_zoo23", "bench_side"):
    d = load(b + ".json")
    if not d:
        rows.append((b, "missing"))
        continue
    txt = d["verdict"].upper()
    if d.get("median_ms"):
        txt += f" {d['median_ms']:.4f} ms"
        if d.get("roofline", {}).get("spec"):
            txt += f", {d['roofline']['spec']['percent']:.1f} % of spec roofline"
        txt += "".join(f", {v:.2f}x {k}" for k, v in (d.get("speedups") or {}).items() if v)
    else:
        txt += f" (claimed {d['claimed_median_ms']:.4f} ms, not reported): {d['reason'][:90]}"
    side = (d.get("timer") or {}).get("side_stream_rounds")
    if side:
        txt += f"; {side}/{d['rounds']} side-stream rounds (stream events alone: {d['timer']['stream_ms_median']} ms)"
    rows.append((b, txt))
rep = os.path.join(out, "report")
rows.append(("report", ", ".join(sorted(os.listdir(rep))) if os.path.isdir(rep) else "missing"))
w = max(len(r[0]) for r in rows)
for k, v in rows:
    print(f"{k:<{w}}  {v}")
EOF
echo "total $(( $(date +%s) - t0 )) s"
} 2>&1 | grep -v "Warning\|warn(" | tee "$OUT/perf.log"
