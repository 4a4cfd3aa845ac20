#!/usr/bin/env bash
# Issue 7 part 3 on a ONE-GPU machine (H100), under 5 minutes: the registry fuzz tests with two
# pytest-xdist workers, both pinned to GPU 0; nvidia-smi once a second during the run; one shared
# example database; a deliberately broken candidate (tests/zoo/07_batch1_only.py) whose failure, found by
# one worker, is replayed first by both workers of the next run (--dist each). Everything goes to $OUT;
# a table is printed last.
#
#   OUT=/tmp/ff-scaleout bash scripts/device_scaleout.sh
#   knobs: MAX_EXAMPLES (per kernel, default 40), RUN_LIMIT (s for the fuzz run, default 150),
#          ONLY (a pytest -k expression selecting kernels, default: every registry kernel)
set -u
source "$(dirname "$0")/_scaleout_common.sh"
start_monitors
{
versions
t0=$(date +%s)
# 1. every registry kernel, gpu profile (MAX_EXAMPLES each), two workers on the one GPU, one database
export FUSEFUZZ_DATABASE=$OUT/db-fuzz
run fuzz-n2 2 "${RUN_LIMIT:-150}" --fusefuzz-profile gpu --fusefuzz-max-examples "${MAX_EXAMPLES:-40}" "${SEL[@]}"
# 2. cross-worker replay through the shared database
replay_demo "${REPLAY_LIMIT:-90}" --fusefuzz-profile gpu
stop_monitors
python3 scripts/scaleout_table.py "$OUT" --replay replay-find replay-each
echo "total $(( $(date +%s) - t0 )) s"
} 2>&1 | tee "$OUT/scaleout.log"
