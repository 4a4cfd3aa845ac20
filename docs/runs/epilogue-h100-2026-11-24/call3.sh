#!/usr/bin/env bash
# Session 4, device call 3 (about 9 minutes): the issue-4 benchmark with its new timer (fusefuzz.harness.perf.timer.GpuTimer),
# alone on the GPU, then the GPU-marked tests (pytest -m gpu) after this session's changes.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
OUT=${OUT:-/tmp/ff-out}; mkdir -p "$OUT"
W=${TMPDIR:-/tmp}/s4r3; rm -rf "$W"; mkdir -p "$W"
t0=$(date +%s)
timeout -k 5 "${BENCH_LIMIT:-380}" python3 benchmarks/bench_conv2d_gelu_gap.py --out "$W/bench" --rep-ms "${REP_MS:-100}" \
    > "$W/bench.log" 2>&1
echo "bench rc=$? after $(( $(date +%s) - t0 )) s"
FUSEFUZZ_DATABASE=$W/db timeout -k 5 "${TESTS_LIMIT:-170}" python3 -m pytest -p fusefuzz.harness.plugin -m gpu tests -q \
    -p no:cacheprovider --fusefuzz-profile gpu -x > "$W/gpu_tests.log" 2>&1
echo "gpu tests rc=$? after $(( $(date +%s) - t0 )) s"
rm -rf "$W/db"
tar -czf "$OUT/s4r3.tgz" -C "$W" . 2>/dev/null
echo "== gpu tests =="; tail -5 "$W/gpu_tests.log"
echo "== bench =="; cat "$W/bench/bench.md" 2>/dev/null | cut -c1-200 | tail -40
