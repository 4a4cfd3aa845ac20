#!/usr/bin/env bash
# The fused conv2d+GELU+pool kernel on a GPU machine in one call (issue 17): the issue-4 benchmark at the headline
# shape (benchmarks/bench_conv2d_gelu_gap.py --no-sweep: fused modes, eager, torch.compile, fp32/fp16/bf16,
# channels_last), alone on the GPU, then the gpu fuzz profile over the three fused records (every check, every
# autotune config) side by side. Logs stay in L; $OUT gets bench.md, bench.json, fuzz.tgz and summary.txt
# (a call brings back 8 files at most).
#   DEADLINE_S=520 bash scripts/device_kernel.sh
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/ff-kernel}; L=${LOGS:-/tmp/ff-kernel-logs}; mkdir -p "$L" "$OUT"
t0=$(date +%s)
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
  python3 -c "import sys, torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, 'python', sys.version.split()[0])"
} > "$OUT/summary.txt" 2>&1
timeout -k 5 "${BENCH_S:-260}" python3 benchmarks/bench_conv2d_gelu_gap.py --out "$L/bench" --no-sweep --rep-ms 100 \
    --warm-s 0.5 > "$L/bench.log" 2>&1
echo "bench rc=$? $(( $(date +%s) - t0 ))s" >> "$OUT/summary.txt"
cp "$L/bench/bench.md" "$L/bench/bench.json" "$OUT/" 2>/dev/null
OUT="$L/fuzz" LIMIT=${FUZZ_S:-200} PARALLEL=3 KERNELS=${KERNELS:-"conv2d_gelu_gap.fused:200 conv2d_gelu_gap.fused-deterministic:120 conv2d_gelu_gap.fused-ieee:60"} \
    bash scripts/device_fuzz.sh > "$L/fuzz.log" 2>&1
echo "fuzz rc=$? $(( $(date +%s) - t0 ))s" >> "$OUT/summary.txt"
tail -n 12 "$L/fuzz.log" >> "$OUT/summary.txt"
tar czf "$OUT/fuzz.tgz" -C "$L" fuzz fuzz.log bench.log
cat "$OUT/summary.txt"; cat "$OUT/bench.md" 2>/dev/null || tail -n 20 "$L/bench.log"
