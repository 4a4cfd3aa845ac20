"""A pytest plugin for subprocess tests (``-p fake_gpus``): torch "sees" ``$FAKE_GPU_COUNT`` GPUs, so the
xdist pinning of :mod:`fusefuzz.harness.gpus` can be exercised on a CPU machine. Loaded before the fusefuzz
plugin's ``pytest_load_initial_conftests`` in the controller and in every worker."""

import os

from fusefuzz.harness import gpus

gpus.visible_devices = lambda: [str(i) for i in range(int(os.environ.get("FAKE_GPU_COUNT", "2")))]
