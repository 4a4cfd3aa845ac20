#!/usr/bin/env bash
# Verdicts and cheats on a GPU machine, one call (issues 14 and 15): the corpus and the zoo kill-rate tests, the
# reference-process and tamper tests, the PyTorch-eager control per dtype, one partially fused candidate, every
# cheat through `fusefuzz check --profile ci` and the timing ones through `fusefuzz bench`, then a table
# (scripts/verdict_table.py). Three groups run side by side (16 cores); the benches run last, alone.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 CI=true FUSEFUZZ_BACKEND=cuda
OUT=${OUT:-/tmp/ff-out}; L=$OUT/logs; mkdir -p "$L"
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
  step corpus 240 $PYT tests/test_corpus.py -n 4
  step refserver_tamper 120 $PYT tests/test_refserver.py tests/test_tamper.py
  for dt in float32 float16 bfloat16; do
    step "eager-$dt" 120 $CLI check tests/candidates/torch_eager_control.py --profile ci --seed 1 --dtypes $dt \
        --contract-dtypes $dt --json "$L/eager-$dt.json"
  done
  step partial 150 $CLI check tests/corpus/conv_gelu_gap_01_cudnn_conv_triton_epilogue.py --profile ci --seed 1 \
      --json "$L/partial.json"
) &
( step zoo 420 $PYT tests/test_zoo.py -n 6 ) &
(
  step cheats_tests 300 $PYT tests/test_cheats.py -n 3 -k "not test_bench_verdict_on_the_gpu"
  step cheats_check 300 $CLI check tests/cheats --profile ci --seed 0 --json "$L/cheats.json"
) &
wait
step cheats_bench_tests 150 $PYT tests/test_cheats.py -k test_bench_verdict_on_the_gpu
for f in tests/cheats/*.py conv2d_gelu_gap.fused; do
  grep -q "^# expect-bench:" "$f" 2>/dev/null || [ "$f" = conv2d_gelu_gap.fused ] || continue
  n=$(basename "$f" .py)
  step "bench-$n" 60 $CLI bench "$f" --baselines none --rounds 50 --json "$L/bench-$n.json"
done
python3 scripts/verdict_table.py "$L" > "$OUT/table.md" 2> "$L/table.err"
tar czf "$OUT/logs.tgz" -C "$OUT" logs
cat "$L/summary.txt"; cat "$OUT/table.md"
