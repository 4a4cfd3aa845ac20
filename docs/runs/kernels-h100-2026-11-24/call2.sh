#!/usr/bin/env bash
# One device call (about 9 minutes), three things at once (16 CPU cores; Triton compiles on the CPU):
#   1. benchmarks/new_kernels_dev.py: variants of the Linear+GELU and LayerNorm kernels vs eager / torch.compile
#   2. the fused conv kernel's gpu profile (400 examples: two isolated campaigns of 200, seeds 1 and 2, all checks,
#      every autotune config on every example)
#   3. the soundness run: each correct zoo control under the nightly profile (2000 examples), stopped at SOUND_S
# The fuzzing shares the GPU with the timings of 1 (fine for choosing variants; not for committed numbers).
# Everything lands in $OUT/round2.tgz; short tables are printed last.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 FUSEFUZZ_CHECKS=all
OUT=${OUT:-/tmp/ff-out}; mkdir -p "$OUT"
W=${TMPDIR:-/tmp}/round2; rm -rf "$W"; mkdir -p "$W/dev" "$W/fused" "$W/sound"
SOUND_S=${SOUND_S:-450}; FUSED_S=${FUSED_S:-470}
t0=$(date +%s)
python3 benchmarks/new_kernels_dev.py --out "$W/dev" --budget-s "${DEV_S:-250}" > "$W/dev.txt" 2>&1 &
pids=($!)
for seed in 1 2; do
  FUSEFUZZ_DATABASE=$W/fused/db-$seed timeout -s TERM -k 10 "$FUSED_S" python3 -m fusefuzz.harness.cli check \
      conv2d_gelu_gap.fused --profile gpu --max-examples 200 --seed $seed --isolate \
      --json "$W/fused/fused-seed$seed.json" --repro-dir "$W/fused/repros" > "$W/fused/seed$seed.log" 2>&1 &
  pids+=($!)
done
for c in 30_control_ieee 31_control_tf32 32_control_fp16_dot linear_gelu_05_control_ieee layernorm_05_control; do
  FUSEFUZZ_DATABASE=$W/sound/db-$c timeout -s TERM -k 10 "$SOUND_S" python3 -m fusefuzz.harness.cli check tests/zoo/$c.py \
      --profile nightly --seed 0 --json "$W/sound/$c.json" --repro-dir "$W/sound/repros" > "$W/sound/$c.log" 2>&1 &
  pids+=($!)
done
wait "${pids[@]}"
echo "all done after $(( $(date +%s) - t0 )) s"
tar -czf "$OUT/round2.tgz" -C "$W" . 2>/dev/null
echo "== fused gpu profile =="; for f in "$W"/fused/seed*.log; do grep -v "Warning\|warn(" "$f" | grep "fusefuzz:\|verdict\|examples run\|dtypes\|layout" | head -6; done
echo "== soundness (nightly) =="; for f in "$W"/sound/*.log; do echo "$(basename "$f"): $(grep -h "^fusefuzz:" "$f" | tail -1)"; done
echo "== dev timings =="; sed -n '/== summary ==/,$p' "$W/dev.txt" | cut -c1-160
echo "total $(( $(date +%s) - t0 )) s"
