#!/usr/bin/env bash
# One device call (about 8 minutes), 16 processes at once (16 CPU cores; Triton compiles on the CPU):
#   1. benchmarks/new_kernels_dev.py: variants of the Linear+GELU and LayerNorm kernels (timings shared the GPU
#      with the fuzzing below: good for choosing a variant, not for committed numbers)
#   2. soundness, continued: the conv controls under the nightly profile with seeds 1 and 2, the Linear+GELU and
#      LayerNorm controls with seed 0 (each stopped at SOUND_S; the seed-0 conv runs were device call 2)
#   3. the gpu profile of the new kernels, continued: linear_gelu.fused / .fused-ieee seeds 1 and 2 (150 each),
#      layernorm.fused and layernorm.looped seed 1 (100 each)
#   4. scripts/device_kernelbench.sh (the five references, good and broken candidates)
# Everything lands in $OUT/round3.tgz; short tables are printed last.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 FUSEFUZZ_CHECKS=all
OUT=${OUT:-/tmp/ff-out}; mkdir -p "$OUT"
W=${TMPDIR:-/tmp}/round3; rm -rf "$W"; mkdir -p "$W/dev" "$W/sound" "$W/new" "$W/kb"
S=${SOUND_S:-440}
t0=$(date +%s)
pids=()
bg() { "$@" & pids+=($!); }
bg python3 benchmarks/new_kernels_dev.py --out "$W/dev" --budget-s "${DEV_S:-250}" > "$W/dev.txt" 2>&1
check() {  # check NAME LIMIT ARGS...
  local name=$1 lim=$2; shift 2
  FUSEFUZZ_DATABASE=$W/db-$name timeout -s TERM -k 10 "$lim" python3 -m fusefuzz.harness.cli "$@" --json "$W/$name.json" \
      --repro-dir "$W/repros-$name" > "$W/$name.log" 2>&1
}
for c in 30_control_ieee 31_control_tf32 32_control_fp16_dot; do
  for seed in 1 2; do bg check "sound/$c-s$seed" "$S" check "tests/zoo/$c.py" --profile nightly --seed $seed; done
done
bg check sound/linear_gelu_05_control_ieee-s0 "$S" check tests/zoo/linear_gelu_05_control_ieee.py \
    --problem linear_gelu --profile nightly --seed 0
bg check sound/layernorm_05_control-s0 "$S" check tests/zoo/layernorm_05_control.py --problem layernorm \
    --profile nightly --seed 0
for k in linear_gelu.fused linear_gelu.fused-ieee; do
  for seed in 1 2; do
    bg check "new/$k-s$seed" "$S" check "$k" --problem linear_gelu --profile gpu --max-examples 150 --seed $seed
  done
done
for k in layernorm.fused layernorm.looped; do
  bg check "new/$k-s1" "$S" check "$k" --problem layernorm --profile gpu --max-examples 100 --seed 1
done
OUT=$W/kb KB_EXAMPLES=${KB_EXAMPLES:-20} KB_LIMIT=${KB_LIMIT:-45} bash scripts/device_kernelbench.sh > "$W/kb.txt" 2>&1
wait "${pids[@]}"
echo "all done after $(( $(date +%s) - t0 )) s"
tar -czf "$OUT/round3.tgz" -C "$W" --exclude='db-*' . 2>/dev/null
echo "== soundness / new kernels (examples, failing) =="
for f in "$W"/sound/*.log "$W"/new/*.log; do echo "$(basename "$f" .log): $(grep -h '^fusefuzz:' "$f" | head -1)"; done
echo "== kernelbench references =="; tail -12 "$W/kb.txt" | cut -c1-200
echo "== dev timings =="; sed -n '/== summary ==/,$p' "$W/dev.txt" | cut -c1-150
tail -3 "$W/dev.txt" | cut -c1-300
echo "total $(( $(date +%s) - t0 )) s"
