#!/usr/bin/env bash
# One device call (about 9.5 minutes) after the Linear+GELU / LayerNorm specialisation change (27e5b5c):
#   1. benchmarks/bench_new_kernels.py alone on the GPU (ours vs eager vs torch.compile, incl. max-autotune)
#   2. then, at once (OMP_NUM_THREADS=1 per process): the gpu profile of the changed kernels
#      (linear_gelu.fused 3 x 134 examples, linear_gelu.fused-ieee 2 x 100, layernorm.fused 400,
#      layernorm.looped 400; all checks, every config) and scripts/device_kernelbench.sh with KB_PARALLEL=1
# Everything lands in $OUT/round4.tgz; short tables are printed last.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 FUSEFUZZ_CHECKS=all
OUT=${OUT:-/tmp/ff-out}; mkdir -p "$OUT"
W=${TMPDIR:-/tmp}/round4; rm -rf "$W"; mkdir -p "$W/bench" "$W/new" "$W/kb"
t0=$(date +%s)
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$W/env.txt"
timeout -s TERM -k 10 "${BENCH_S:-260}" python3 benchmarks/bench_new_kernels.py --out "$W/bench" \
    --budget-s $(( ${BENCH_S:-260} - 30 )) --max-autotune > "$W/bench.log" 2>&1
echo "bench exit $? after $(( $(date +%s) - t0 )) s"
export OMP_NUM_THREADS=1
F=$(( ${END_S:-560} - ($(date +%s) - t0) ))
pids=()
check() {  # check NAME ARGS...
  local name=$1; shift
  FUSEFUZZ_DATABASE=$W/db-$name timeout -s TERM -k 10 "$F" python3 -m fusefuzz.harness.cli check "$@" --json "$W/new/$name.json" \
      --repro-dir "$W/new/repros-$name" > "$W/new/$name.log" 2>&1
}
for seed in 3 4 5; do check "linear_gelu.fused-s$seed" linear_gelu.fused --problem linear_gelu --profile gpu \
    --max-examples 134 --seed $seed & pids+=($!); done
for seed in 3 4; do check "linear_gelu.fused-ieee-s$seed" linear_gelu.fused-ieee --problem linear_gelu --profile gpu \
    --max-examples 100 --seed $seed & pids+=($!); done
for k in layernorm.fused layernorm.looped; do check "$k-s3" $k --problem layernorm --profile gpu --seed 3 & pids+=($!); done
OUT=$W/kb KB_PARALLEL=1 KB_EXAMPLES=${KB_EXAMPLES:-20} KB_LIMIT=${KB_LIMIT:-110} bash scripts/device_kernelbench.sh \
    > "$W/kb.txt" 2>&1
wait "${pids[@]}"
echo "fuzz done after $(( $(date +%s) - t0 )) s"
tar -czf "$OUT/round4.tgz" -C "$W" --exclude='db-*' . 2>/dev/null
echo "== gpu profile after the change =="
for f in "$W"/new/*.log; do echo "$(basename "$f" .log): $(grep -h '^fusefuzz:' "$f" | head -1)"; done
echo "== kernelbench references =="; tail -12 "$W/kb.txt" | cut -c1-220
echo "== bench =="; sed -n '/== benchmark/,$p' "$W/bench.log" | head -5; grep -h "^| .*| ours" "$W/bench/bench.md" | head -60 | cut -c1-150
echo "total $(( $(date +%s) - t0 )) s"
