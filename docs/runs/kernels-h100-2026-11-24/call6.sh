#!/usr/bin/env bash
# One device call (about 8 minutes), one thing after another:
#   1. the harness-throughput benchmark (ci profile on the GPU, in-process; the interpreter row skips with its
#      reason on the H100 machine: triton 3.6 + NumPy 2.4), JSON kept
#   2. A/A: the fused and two-pass kernel benchmarks twice into a fresh per-GPU storage, then the gate (expect 0)
#   3. scripts/device_scaleout.sh: registry fuzz tests under pytest-xdist, two workers on the one GPU, shared DB
# Everything lands in $OUT/round6.tgz; short tables are printed last.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/ff-out}; mkdir -p "$OUT"
W=${TMPDIR:-/tmp}/round6; rm -rf "$W"; mkdir -p "$W/scaleout"
STORE=$W/benchmarks
PYT=(python3 -m pytest -p fusefuzz.harness.plugin -p no:cacheprovider -q -rs --fusefuzz-bench-storage "$STORE"
     --benchmark-columns=median,iqr,rounds --benchmark-sort=name)
t0=$(date +%s)
at() { echo; echo "=== $1 [$(( $(date +%s) - t0 )) s]"; }
{
at "1. throughput"
timeout -s TERM 130 "${PYT[@]}" benchmarks/test_bench_throughput.py --fusefuzz-bench-campaign-rounds 2 \
    --benchmark-json "$W/throughput.json"; echo "EXIT throughput=$?"
at "2. A/A: run A"
timeout -s TERM 90 "${PYT[@]}" benchmarks/test_bench_conv2d_gelu_gap.py -k "test_kernel and headline" \
    --fusefuzz-bench-baselines none --benchmark-autosave --benchmark-json "$W/aa_a.json"; echo "EXIT aa_a=$?"
at "2. A/A: run B"
timeout -s TERM 90 "${PYT[@]}" benchmarks/test_bench_conv2d_gelu_gap.py -k "test_kernel and headline" \
    --fusefuzz-bench-baselines none --benchmark-autosave --benchmark-json "$W/aa_b.json"; echo "EXIT aa_b=$?"
python3 -m fusefuzz.harness.cli perf compare --storage "$STORE" --markdown "$W/gate_aa.md" --json "$W/gate_aa.json"
echo "EXIT gate_aa=$?"
at "3. scale-out"
OUT=$W/scaleout RUN_LIMIT=${RUN_LIMIT:-90} REPLAY_LIMIT=${REPLAY_LIMIT:-60} MAX_EXAMPLES=${MAX_EXAMPLES:-25} timeout -s TERM 220 \
    bash scripts/device_scaleout.sh > "$W/scaleout.txt" 2>&1; echo "EXIT scaleout=$?"
at "summary"
python3 - "$W" <<'PY'
import json, os, sys
w = sys.argv[1]
try:
    for b in json.load(open(os.path.join(w, "throughput.json")))["benchmarks"]:
        e = b["extra_info"]
        print(f"throughput {b['name']}: median {b['stats']['median']:.2f} s/round, {e.get('examples_run')} examples, "
              f"{e.get('examples_per_s')} examples/s")
except Exception as ex:
    print("throughput: no JSON", ex)
try:
    d = json.load(open(os.path.join(w, "gate_aa.json")))
    judged = [v for v in d["verdicts"] if v["ratio"] is not None]
    print(f"A/A gate: {d['regressions']} regression(s) of {len(judged)} compared; ratios "
          + ", ".join(f"{v['name'].split('[')[-1][:-1]} {v['ratio']:.3f}" for v in judged))
except Exception as ex:
    print("A/A gate: no JSON", ex)
PY
tail -25 "$W/scaleout.txt"
echo "total $(( $(date +%s) - t0 )) s"
} 2>&1 | grep -v "Warning\|warn(" | tee "$W/round6.log"
tar -czf "$OUT/round6.tgz" -C "$W" . 2>/dev/null
