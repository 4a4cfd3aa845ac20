#!/usr/bin/env bash
# The Foundation issue's checks on a GPU machine (run through the device tool from the repo root).
# Uses the machine's torch/triton; the package is used from the checkout (nothing is installed).
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 FUSEFUZZ_DATABASE=${TMPDIR:-/tmp}/ff-db
OUT=${OUT:-/tmp/ff-out}; mkdir -p "$OUT"
ff() { python3 -m fusefuzz.harness.cli "$@"; }
{
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
python3 -c "import torch, triton, hypothesis; print('torch', torch.__version__, 'triton', triton.__version__, 'hypothesis', hypothesis.__version__)"
t0=$(date +%s)
ff check tests/candidates/gelu_overflow.py --profile ci --seed 0 --json "$OUT/overflow.json" --repro-dir "$OUT/repros"; echo "EXIT overflow=$?"
ff check tests/candidates/direct_exact.py --profile ci --seed 0 --json "$OUT/correct.json"; echo "EXIT correct=$?"
ff check tests/candidates/no_modelnew.py; echo "EXIT no_modelnew=$?"
ff check conv2d_gelu_gap.twopass --precision tf32 --dtypes float32 --max-examples 150 --seed 0 --json "$OUT/tf32_as_tf32.json"; echo "EXIT tf32_as_tf32=$?"
ff check conv2d_gelu_gap.twopass --precision ieee --dtypes float32 --max-examples 150 --seed 0 --json "$OUT/tf32_as_ieee.json"; echo "EXIT tf32_as_ieee=$?"
for r in "$OUT"/repros/*.py; do python3 "$r"; echo "EXIT repro=$?"; done
echo "checks took $(( $(date +%s) - t0 )) s"
ff fuzz --profile gpu --max-examples "${FUZZ_EXAMPLES:-200}" --seed 0 --json "$OUT/fuzz_gpu.json"; echo "EXIT fuzz_gpu=$?"
echo "total $(( $(date +%s) - t0 )) s"
} 2>&1 | grep -v "Warning\|warn(" | tee "$OUT/foundation.log"
