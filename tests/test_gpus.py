"""GPU pinning for pytest-xdist workers (fusefuzz.harness.gpus), with fake device counts: no GPU needed."""

import pytest
from fusefuzz.harness import gpus


def test_resolve_all_count_and_list():
    visible = ["0", "1", "2", "3"]
    assert gpus.resolve(None, visible) == visible
    assert gpus.resolve("all", visible) == visible
    assert gpus.resolve("2", visible) == ["0", "1"]
    assert gpus.resolve("0,2", visible) == ["0", "2"]
    assert gpus.resolve("3,", visible) == ["3"]  # one GPU by position needs the comma; "3" is a count
    assert gpus.resolve("3", visible) == ["0", "1", "2"]
    # positions index the visible list: under CUDA_VISIBLE_DEVICES=4,6 position 1 is physical GPU 6
    assert gpus.resolve("1,", ["4", "6"]) == ["6"]
    assert gpus.resolve(None, []) == []  # no GPU: no plan, workers are not pinned


@pytest.mark.parametrize("spec, words", [
    ("5", "asks for 5 GPUs but 4 are visible"),
    ("0", "not a count or a list"),
    ("two", "not a count or a list"),
    ("0,4", "'4' is not a GPU position"),
    (",", "names no GPU"),
])
def test_resolve_rejects_bad_specs_with_one_line(spec, words):
    with pytest.raises(ValueError, match=words) as info:
        gpus.resolve(spec, ["0", "1", "2", "3"])
    assert f"--fusefuzz-gpus={spec!r}" in str(info.value) and "\n" not in str(info.value)


def test_resolve_with_no_gpu_says_so():
    with pytest.raises(ValueError, match="no CUDA GPU is visible"):
        gpus.resolve("2", [])


def test_workers_are_assigned_round_robin():
    two = ["0", "1"]
    assert [gpus.assign(f"gw{i}", two) for i in range(4)] == ["0", "1", "0", "1"]
    assert [gpus.assign(f"gw{i}", ["0"]) for i in range(2)] == ["0", "0"]  # two workers on one GPU
    assert gpus.assign("gw1", ["4", "6"]) == "6"
    assert gpus.assign(None, two) is None  # the controller, or no xdist
    assert gpus.assign("gw0", []) is None  # no GPU
    assert gpus.assign("worker-a", two) is None


def test_controller_exports_the_plan_and_a_worker_pins_itself(monkeypatch):
    monkeypatch.setattr(gpus, "_pinned", None)  # restored afterwards: this process is not really pinned
    monkeypatch.setattr(gpus, "visible_devices", lambda: ["0", "1"])
    controller = {}
    assert gpus.export_plan("2", env=controller) == ["0", "1"]
    assert controller[gpus.PLAN_ENV] == "0,1"
    # a worker inherits the controller's environment and never resolves the spec itself
    worker = dict(controller, PYTEST_XDIST_WORKER="gw3")
    monkeypatch.setattr(gpus, "visible_devices", lambda: pytest.fail("a worker must not count GPUs"))
    assert gpus.export_plan("2", env=worker) == ["0", "1"]
    done = gpus.pin_worker(env=worker)
    assert worker["CUDA_VISIBLE_DEVICES"] == "1" and done == {"worker": "gw3", "gpu": "1",
                                                              "how": "CUDA_VISIBLE_DEVICES=1"}
    assert gpus.pin_worker(env=dict(controller)) is None  # the controller is not pinned


def test_without_gpus_nothing_is_exported_or_pinned(monkeypatch):
    monkeypatch.setattr(gpus, "visible_devices", lambda: [])
    env = {gpus.PLAN_ENV: "stale"}
    assert gpus.export_plan(None, env=env) == [] and gpus.PLAN_ENV not in env
    worker = {"PYTEST_XDIST_WORKER": "gw0"}
    assert gpus.pin_worker(env=worker) is None and "CUDA_VISIBLE_DEVICES" not in worker


def test_a_worker_with_cuda_already_initialised_falls_back_to_set_device(monkeypatch):
    import torch

    chosen = []
    monkeypatch.setattr(gpus, "_pinned", None)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    monkeypatch.setattr(gpus, "visible_devices", lambda: ["4", "6"])
    env = {"PYTEST_XDIST_WORKER": "gw1", gpus.PLAN_ENV: "4,6"}
    done = gpus.pin_worker(env=env)
    assert chosen == [1] and "CUDA_VISIBLE_DEVICES" not in env and "set_device(1)" in done["how"]
