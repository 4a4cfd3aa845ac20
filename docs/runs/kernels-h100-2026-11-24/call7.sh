#!/usr/bin/env bash
# One device call (about 6.5 minutes) after the LayerNorm warps change (~64 bytes of row per thread):
#   1. benchmarks/bench_new_kernels.py --kernels layernorm alone
#   2. then at once: the gpu profile of layernorm.fused and layernorm.looped (seed 4) and more of
#      linear_gelu.fused-ieee (seeds 5, 6, 7; its 107 examples after the specialisation change were short of 400)
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 FUSEFUZZ_CHECKS=all
OUT=${OUT:-/tmp/ff-out}; mkdir -p "$OUT"
W=${TMPDIR:-/tmp}/round7; rm -rf "$W"; mkdir -p "$W/bench" "$W/new"
t0=$(date +%s)
timeout -s TERM 150 python3 benchmarks/bench_new_kernels.py --kernels layernorm --out "$W/bench" --budget-s 120 \
    > "$W/bench.log" 2>&1; echo "bench exit $? after $(( $(date +%s) - t0 )) s"
export OMP_NUM_THREADS=1
F=$(( ${END_S:-400} - ($(date +%s) - t0) ))
pids=()
check() { local name=$1; shift
  FUSEFUZZ_DATABASE=$W/db-$name timeout -s TERM -k 10 "$F" python3 -m fusefuzz.harness.cli check "$@" --json "$W/new/$name.json" \
      --repro-dir "$W/new/repros-$name" > "$W/new/$name.log" 2>&1; }
for k in layernorm.fused layernorm.looped; do check "$k-s4" $k --problem layernorm --profile gpu --seed 4 & pids+=($!); done
for seed in 5 6 7; do check "linear_gelu.fused-ieee-s$seed" linear_gelu.fused-ieee --problem linear_gelu --profile gpu \
    --max-examples 100 --seed $seed & pids+=($!); done
wait "${pids[@]}"
tar -czf "$OUT/round7.tgz" -C "$W" --exclude='db-*' . 2>/dev/null
for f in "$W"/new/*.log; do echo "$(basename "$f" .log): $(grep -h '^fusefuzz:' "$f" | head -1)"; done
grep -h "^| .*| ours" "$W/bench/bench.md" | cut -c1-150
echo "total $(( $(date +%s) - t0 )) s"
