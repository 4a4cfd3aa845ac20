#!/usr/bin/env bash
# Session 4, one device call (about 9 minutes):
#   1. timings, alone on the GPU: the fused kernel's production variant (A) and its no-GELU probe (I) with
#      eager / torch.compile in the same process (benchmarks/fused_dev.py), the epilogue-alone probe
#      (benchmarks/epilogue_probe.py), and `fusefuzz bench` on the kernel file (its trust checks + timing).
#   2. the gpu profile on the conv kernels after the strategy change (fixed-range size draws): fused (two
#      isolated campaigns), fused-deterministic, fused-ieee, twopass; all checks, every autotune config.
# Everything lands in $OUT/s4r1.tgz; short tables are printed last.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
OUT=${OUT:-/tmp/ff-out}; mkdir -p "$OUT"
W=${TMPDIR:-/tmp}/s4r1; rm -rf "$W"; mkdir -p "$W/dev" "$W/fuzz"
FUZZ_S=${FUZZ_S:-300}
t0=$(date +%s)
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv > "$W/gpu.txt" 2>&1
echo "== 1. timings (alone) =="
timeout -k 5 150 python3 benchmarks/fused_dev.py --variants A,I --compile --out "$W/dev" > "$W/dev.txt" 2>&1
echo "fused_dev rc=$? after $(( $(date +%s) - t0 )) s"
timeout -k 5 60 python3 benchmarks/epilogue_probe.py --json "$W/epilogue.json" > "$W/epilogue.txt" 2>&1
echo "epilogue_probe rc=$? after $(( $(date +%s) - t0 )) s"
timeout -k 5 150 python3 -m fusefuzz.harness.cli bench kernels/conv2d_gelu_gap_fused.py --precision tf32-rn \
    --json "$W/bench_fused.json" > "$W/bench.txt" 2>&1
echo "bench rc=$? after $(( $(date +%s) - t0 )) s"
echo "== 2. gpu profile =="
export FUSEFUZZ_CHECKS=all
pids=()
camp() {  # name seed extra...
  local name=$1 seed=$2; shift 2
  FUSEFUZZ_DATABASE=$W/fuzz/db-$name-$seed timeout -s TERM -k 10 "$FUZZ_S" python3 -m fusefuzz.harness.cli check \
      "conv2d_gelu_gap.$name" --profile gpu --seed "$seed" "$@" --json "$W/fuzz/$name-$seed.json" \
      --repro-dir "$W/fuzz/repros" > "$W/fuzz/$name-$seed.log" 2>&1 &
  pids+=($!)
}
camp fused 5 --isolate
camp fused 6 --isolate
camp fused-deterministic 5
camp fused-ieee 5
camp twopass 5
wait "${pids[@]}"
echo "all done after $(( $(date +%s) - t0 )) s"
tar -czf "$OUT/s4r1.tgz" -C "$W" . 2>/dev/null
echo "== gpu =="; cat "$W/gpu.txt"
echo "== gpu profile =="
for f in "$W"/fuzz/*.log; do echo "-- $(basename "$f"): $(grep -h "^fusefuzz:\|verdict" "$f" | tail -2 | tr '\n' ' ')"; done
echo "== fused_dev =="; grep -v "^gelu sweep\|Warning\|warn(" "$W/dev.txt" | tail -12 | cut -c1-170
echo "== bench =="; grep -v "Warning\|warn(" "$W/bench.txt" | tail -12 | cut -c1-170
echo "== epilogue probe =="; tail -7 "$W/epilogue.txt"
echo "total $(( $(date +%s) - t0 )) s"
