#!/usr/bin/env bash
# Issue 8 on nvidia-h200-x2 (two GPUs), under 10 minutes: the gpu fuzz profile over every registry kernel
# with pytest-xdist, one worker per GPU (-n 2), against one worker (-n 1): wall clock and speedup; nvidia-smi
# once a second shows both GPUs busy and which worker process sits on which GPU; the -n 2 workers share one
# example database; a deliberately broken candidate's failure found on one worker (one GPU) is replayed
# first by both workers (both GPUs). Everything goes to $OUT; a table is printed last.
#
#   OUT=/tmp/ff-multigpu bash scripts/device_multigpu.sh
#   knobs: MAX_EXAMPLES (per kernel, default 60; the gpu profile's own is 400), RUN_LIMIT (s per timed run,
#          default 200; a serial run cut by it makes the speedup a lower bound), ONLY (pytest -k expression)
set -u
source "$(dirname "$0")/_scaleout_common.sh"
MAX=${MAX_EXAMPLES:-60}
LIMIT=${RUN_LIMIT:-200}
start_monitors
{
versions
t0=$(date +%s)
# 1. timed runs; each with a fresh Triton cache (both pay the same compiles) and its own database
for n in 2 1; do
    TRITON_CACHE_DIR=$(mktemp -d) FUSEFUZZ_DATABASE=$OUT/db-n$n \
        run "fuzz-n$n" "$n" "$LIMIT" --fusefuzz-profile gpu --fusefuzz-max-examples "$MAX" "${SEL[@]}"
    echo "database of fuzz-n$n: $(find "$OUT/db-n$n" -type f 2>/dev/null | wc -l) files"
done
# 2. cross-worker (cross-GPU) replay through the shared database
replay_demo 90 --fusefuzz-profile gpu
stop_monitors
python3 scripts/scaleout_table.py "$OUT" --speedup fuzz-n1 fuzz-n2 --replay replay-find replay-each
echo "total $(( $(date +%s) - t0 )) s"
} 2>&1 | tee "$OUT/multigpu.log"
