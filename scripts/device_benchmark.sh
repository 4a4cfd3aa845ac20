#!/usr/bin/env bash
# The issue-level benchmarks on a GPU machine, from the repository root, alone on the GPU; uses the machine's
# torch/triton and this checkout (nothing is installed):
#   conv2d_gelu_gap  benchmarks/bench_conv2d_gelu_gap.py: the fused and two-pass kernels vs eager and torch.compile
#                    at the headline shape (fp32/fp16/bf16) and a sweep of smaller shapes (REP_MS per block)
#   new_kernels      benchmarks/bench_new_kernels.py: Linear+GELU and LayerNorm vs eager and torch.compile
#                    (incl. max-autotune), rows skipped after BUDGET_S seconds
#
#   OUT=DIR bash scripts/device_benchmark.sh                       (both)
#   OUT=DIR BENCH=new_kernels BUDGET_S=120 bash scripts/device_benchmark.sh
#
# Each writes bench.json and bench.md into $OUT/NAME (with the GPU, versions and date) and is stopped after LIMIT
# seconds (default 400); the Markdown tables are printed last. Committed results go to benchmarks/results/.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/ff-bench}; mkdir -p "$OUT"
t0=$(date +%s)
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader 2>&1 | tee "$OUT/gpu.txt"
for name in ${BENCH:-conv2d_gelu_gap new_kernels}; do
    case "$name" in
        conv2d_gelu_gap) cmd=(python3 benchmarks/bench_conv2d_gelu_gap.py --out "$OUT/$name" --rep-ms "${REP_MS:-100}") ;;
        new_kernels) cmd=(python3 benchmarks/bench_new_kernels.py --out "$OUT/$name" --budget-s "${BUDGET_S:-300}"
                          --max-autotune) ;;
        *) echo "device_benchmark.sh: BENCH name=$name is not conv2d_gelu_gap or new_kernels"; exit 2 ;;
    esac
    timeout -s TERM -k 10 "${LIMIT:-400}" "${cmd[@]}" > "$OUT/$name.log" 2>&1
    echo "EXIT $name=$? ($(( $(date +%s) - t0 )) s)"
done
for name in ${BENCH:-conv2d_gelu_gap new_kernels}; do
    if [ -f "$OUT/$name/bench.md" ]; then cat "$OUT/$name/bench.md"; else echo "$name: no bench.md (see $OUT/$name.log)"; fi
done
echo "total $(( $(date +%s) - t0 )) s"
