#!/usr/bin/env bash
# Issue 4 on a GPU machine (device tool, repo root): correctness evidence for the fused kernel (gpu profile, every
# registered conv2d_gelu_gap kernel, every dtype/layout drawn, every autotune config on every example; > 2**31
# element inputs) and the benchmark (headline fp32/fp16/bf16 vs eager, torch.compile, the two-kernel kernel; a sweep).
# Env: KERNELS ("name:examples:seconds ..."; default: fused with the gpu profile's 400 examples, the other
# variants 100), SKIP_FUZZ=1, SKIP_INT64=1, SKIP_BENCH=1, REP_MS (default 100), BENCH_LIMIT (s).
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 FUSEFUZZ_DATABASE=${TMPDIR:-/tmp}/ff-db
OUT=${OUT:-/tmp/ff-out}; mkdir -p "$OUT"
t0=$(date +%s)
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/device.txt"
python3 -c "import torch, triton, hypothesis; print('torch', torch.__version__, 'triton', triton.__version__, 'hypothesis', hypothesis.__version__)" | tee -a "$OUT/device.txt"
if [ -z "${SKIP_FUZZ:-}" ]; then
  for spec in ${KERNELS:-fused:400:150 fused-deterministic:100:60 fused-ieee:100:60}; do
    IFS=: read -r k n lim <<< "$spec"
    PYTHONFAULTHANDLER=1 timeout -k 10 "$lim" python3 -m fusefuzz.harness.cli check "conv2d_gelu_gap.$k" --profile gpu \
      --max-examples "$n" --seed 0 ${FUZZ_ARGS:-} \
      --checks all --json "$OUT/fuzz_gpu_$k.json" --repro-dir "$OUT/repros" > "$OUT/fuzz_gpu_$k.log" 2>&1
    echo "EXIT fuzz $k=$? ($(( $(date +%s) - t0 )) s)"
  done
  [ -z "${SKIP_INT64:-}" ] && timeout 240 python3 -m pytest -p fusefuzz.harness.plugin tests/test_gpu.py -q -k "2_pow_31 or headline" -p no:cacheprovider \
    > "$OUT/test_gpu_int64.log" 2>&1; echo "EXIT int64 tests=$? ($(( $(date +%s) - t0 )) s)"
  [ -f "$OUT/test_gpu_int64.log" ] && tail -3 "$OUT/test_gpu_int64.log"
fi
if [ -z "${SKIP_BENCH:-}" ]; then
  timeout "${BENCH_LIMIT:-300}" python3 benchmarks/bench_conv2d_gelu_gap.py --out "$OUT/bench" --rep-ms "${REP_MS:-100}" \
    > "$OUT/bench.log" 2>&1; echo "EXIT bench=$? ($(( $(date +%s) - t0 )) s)"
fi
python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
for k in ("fused", "fused-deterministic", "fused-ieee", "twopass"):
    p = os.path.join(out, f"fuzz_gpu_{k}.json")
    if not os.path.exists(p):
        print(f"{k}: no report (see fuzz_gpu_{k}.log)"); continue
    r = json.load(open(p))
    r = r["results"][0] if "results" in r else r
    cov = " ".join(f"{c}:{n}" for c, n in r.get("coverage", {}).items())
    print(f"{k}: {r['verdict']} examples={r['examples_run']} configs={len(r['configs'])} "
          f"kinds={[f['kind'] for f in r['failures']]} worst={r['worst_error_over_bound']} {r['seconds']}s | {cov}")
PY
[ -f "$OUT/bench/bench.md" ] && cat "$OUT/bench/bench.md"
echo "total $(( $(date +%s) - t0 )) s"
