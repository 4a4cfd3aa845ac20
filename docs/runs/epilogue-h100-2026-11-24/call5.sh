#!/usr/bin/env bash
# Session 4, device call 5: after the autotuner's new timer (kernels/conv2d_gelu_gap_fused.py _autotune_bench):
# the issue-4 benchmark again (alone), `fusefuzz bench` on the kernel file, then the gpu profile on the fused
# kernel for FUZZ_S seconds (every config on every example, isolated).
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
OUT=${OUT:-/tmp/ff-out}; mkdir -p "$OUT"
W=${TMPDIR:-/tmp}/s4r5; rm -rf "$W"; mkdir -p "$W"
t0=$(date +%s)
timeout -k 5 "${BENCH_LIMIT:-300}" python3 benchmarks/bench_conv2d_gelu_gap.py --out "$W/bench" --rep-ms "${REP_MS:-100}" \
    > "$W/bench.log" 2>&1
echo "bench rc=$? after $(( $(date +%s) - t0 )) s"
timeout -k 5 120 python3 -m fusefuzz.harness.cli bench kernels/conv2d_gelu_gap_fused.py --precision tf32-rn \
    --json "$W/bench_fused.json" > "$W/ffbench.txt" 2>&1
echo "fusefuzz bench rc=$? after $(( $(date +%s) - t0 )) s"
FUSEFUZZ_CHECKS=all FUSEFUZZ_DATABASE=$W/db timeout -s TERM -k 10 "${FUZZ_S:-150}" python3 -m fusefuzz.harness.cli check \
    conv2d_gelu_gap.fused --profile gpu --seed 7 --isolate --json "$W/fused-7.json" --repro-dir "$W/repros" \
    > "$W/fused-7.log" 2>&1
echo "gpu profile rc=$? after $(( $(date +%s) - t0 )) s"
rm -rf "$W/db"
tar -czf "$OUT/s4r5.tgz" -C "$W" . 2>/dev/null
echo "== gpu profile =="; grep -h "^fusefuzz:\|verdict" "$W/fused-7.log" | tail -2
echo "== fusefuzz bench =="; grep -v "Warning\|warn(" "$W/ffbench.txt" | grep "rounds\|baselines\|verdict"
echo "== bench (headline) =="; grep "128x8x256x256" "$W/bench/bench.md" | cut -c1-160
python3 -c "
import json; d = json.load(open('$W/bench/bench.json'))
for r in d['rows']:
    if 'config' in r: print(r['shape'][:26], r['dtype'], r['layout'][:6], r['path'][:14], round(r.get('ms', -1), 4), r['config'][:90])
"
