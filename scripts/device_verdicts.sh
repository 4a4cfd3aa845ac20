#!/usr/bin/env bash
# Verdicts and cheats on a GPU machine, one call (issues 14 and 15): the corpus and the zoo kill-rate tests, the
# reference-process and tamper tests, the PyTorch-eager control per dtype, one partially fused candidate, every
# cheat through `fusefuzz check --profile ci` and the timing ones through `fusefuzz bench`, then a table
# (scripts/verdict_table.py). Three groups run side by side (16 cores); the benches run last, alone.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 CI=true FUSEFUZZ_BACKEND=cuda
# logs go to L (not $OUT: a call brings back 8 files at most); finish() writes the tables and one tarball into
# $OUT, and runs even when the deadline (DEADLINE_S, default 540) cuts the steps short.
OUT=${OUT:-/tmp/ff-out}; L=${LOGS:-/tmp/ff-logs}; mkdir -p "$L" "$OUT"
finish() {
  python3 scripts/verdict_table.py "$L" > "$OUT/table.md" 2> "$L/table.err"
  tar czf "$OUT/logs.tgz" -C "$(dirname "$L")" "$(basename "$L")"
  cp "$L/summary.txt" "$OUT/summary.txt"; cat "$OUT/summary.txt" "$OUT/table.md"
}
if [ "${1:-}" != "--steps" ]; then  # the steps in a child under a deadline, then finish() whatever happened
  timeout "${DEADLINE_S:-540}" bash "$0" --steps; echo "steps rc=$?" >> "$L/summary.txt"; finish; exit 0
fi
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  python3 -c "import sys, torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, 'python', sys.version.split()[0])"
} > "$L/device.txt" 2>&1
step() {  # step NAME LIMIT_S CMD...: one line per step in summary.txt
  local name=$1 limit=$2; shift 2; local t0; t0=$(date +%s)
  timeout "$limit" "$@" > "$L/$name.log" 2>&1; local rc=$?
  echo "$name rc=$rc $(( $(date +%s) - t0 ))s" >> "$L/summary.txt"
}
CLI="python3 -m fusefuzz.harness.cli"
PYT="python3 -m pytest -p fusefuzz.harness.plugin -q -rA -p no:cacheprovider"
(
  step corpus 200 $PYT tests/test_corpus.py -n 4
  for dt in float32 float16 bfloat16; do
    step "eager-$dt" 90 $CLI check tests/candidates/torch_eager_control.py --profile ci --seed 1 --dtypes $dt \
        --contract-dtypes $dt --json "$L/eager-$dt.json"
  done
  step partial 120 $CLI check tests/corpus/conv_gelu_gap_01_cudnn_conv_triton_epilogue.py --profile ci --seed 1 \
      --json "$L/partial.json"
  step refserver_tamper 90 $PYT tests/test_refserver.py tests/test_tamper.py
) &
( step zoo 380 $PYT tests/test_zoo.py -n 8 ) &
# every cheat through check, in four processes (each file's campaign is sequential)
mapfile -t files < <(ls tests/cheats/*.py)
for i in 0 1 2 3; do
  part=(); for j in "${!files[@]}"; do [ $((j % 4)) -eq $i ] && part+=("${files[$j]}"); done
  ( step "cheats-$i" 380 $CLI check "${part[@]}" --profile ci --seed 0 --json "$L/cheats-$i.json" ) &
done
wait
# bench: the timing cheats at the medium shape, our fused kernel and the side-stream control at the headline one
for f in tests/cheats/*.py; do
  grep -q "^# expect-bench:" "$f" || continue
  n=$(basename "$f" .py); shape=medium; [ "$n" = 00_control_side_stream ] && shape=headline
  step "bench-$n" 45 $CLI bench "$f" --shape $shape --baselines none --rounds 30 --min-time 0.1 --json "$L/bench-$n.json"
done
step bench-conv2d_gelu_gap.fused 45 $CLI bench conv2d_gelu_gap.fused --baselines none --rounds 50 \
    --json "$L/bench-conv2d_gelu_gap.fused.json"
