"""The cheat corpus (tests/cheats/): each file grafts one publicly reported cheat onto a correct fused #67 kernel
and says, in its header, which kind ``fusefuzz check`` must report (``# expect:``) and what ``fusefuzz bench``
must say (``# expect-bench:``). Checks run through the campaign (ci profile, first failure, isolated workers);
bench runs on the host clock (the real GpuTimer logic with HostApi), so the timing defences are exercised on CPU.
docs/cheats.md has the table."""

import glob
import os
import re
from dataclasses import dataclass

import pytest
from conftest import REPO
from fusefuzz.harness import backend, campaign, kinds, problems, runner
from fusefuzz.harness.candidates import load
from fusefuzz.harness.configs import pinned, sweep
from fusefuzz.harness.example import Example
from fusefuzz.harness.perf import bench
from fusefuzz.harness.perf.timer import GpuTimer, HostApi

CHEATS = os.path.join(REPO, "tests", "cheats")
PROBLEM = problems.get("conv2d_gelu_gap")
SMALL = Example(sizes=dict(batch=3, in_channels=3, out_channels=5, height=7, width=6, kernel_size=3),
                dtype="float32", distribution="randn", seed=3)
BENCH_VERDICTS = {"VALID": bench.VALID, "INVALID": bench.INVALID, "tampering": bench.TAMPERING}


@dataclass
class Cheat:
    path: str
    cheat: str
    mechanism: str
    source: str
    expect: tuple  # kinds any of which counts; ("pass",) for controls; () when check cannot see it
    expect_bench: str | None
    where: str

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


def _corpus() -> list[Cheat]:
    out = []
    for path in sorted(glob.glob(os.path.join(CHEATS, "*.py"))):
        with open(path, encoding="utf-8") as f:
            head = dict(re.findall(r"^# ([\w-]+): (.*)$", f.read(), flags=re.M))
        out.append(Cheat(path, head.get("fusefuzz-cheat", ""), head.get("mechanism", ""), head.get("source", ""),
                         tuple(head["expect"].split("|")) if "expect" in head else (),
                         head.get("expect-bench"), head.get("where", "")))
    return out


CORPUS = _corpus()
CPU_CHECK = [c for c in CORPUS if c.where == "cpu" and c.expect and c.expect != ("pass",)]
CPU_BENCH = [c for c in CORPUS if c.where == "cpu" and c.expect_bench]


def test_corpus_headers_name_a_cheat_its_mechanism_source_and_a_known_kind():
    cheats = [c for c in CORPUS if c.expect != ("pass",)]
    assert len(cheats) >= 14
    for c in CORPUS:
        assert c.cheat and c.mechanism and c.source and c.where in ("cpu", "gpu"), c.name
        assert c.expect or c.expect_bench, f"{c.name}: neither '# expect:' nor '# expect-bench:'"
        for k in c.expect:
            assert k == "pass" or k in kinds.FAILURE_KINDS, f"{c.name}: expect={k!r}"
        assert c.expect_bench in (None, *BENCH_VERDICTS), f"{c.name}: expect-bench={c.expect_bench!r}"
    named = " ".join(c.cheat + c.mechanism for c in cheats)
    for word in ("gelu", "elapsed_time", "allow_tf32", "data_ptr", "thread", "subclass", "freed", "warm-up",
                 "bf16", "half", "broadcast", "hard-coded", "stack", "Triton kernel only copies"):
        assert word in named, f"the corpus has no cheat about {word!r}"


@pytest.mark.parametrize("cheat", CPU_CHECK, ids=[c.name for c in CPU_CHECK])
def test_check_refuses_cheat_with_its_kind(cheat, monkeypatch):
    monkeypatch.setenv("FUSEFUZZ_CHECKS", "all")
    candidate = load(cheat.path, problem=PROBLEM)
    result = campaign.run_campaign(PROBLEM, candidate, profile="ci", max_examples=4, seed=0, shrink=False,
                                   first_failure_only=True, isolate=True)
    found = [f.kind for f in result.failures]
    assert set(found) & set(cheat.expect), (f"{cheat.name}: expected {'|'.join(cheat.expect)}, got {result.verdict} "
                                            f"{found}: {result.failures[0].summary if result.failures else ''}")


def test_control_passes_every_check_in_process(monkeypatch):
    # the correct twin of every cheat: no tampering reported, no other finding (two examples, every check)
    monkeypatch.setenv("FUSEFUZZ_CHECKS", "all")
    candidate = load(os.path.join(CHEATS, "00_control.py"), problem=PROBLEM)
    for ex in (SMALL, SMALL.replace(dtype="float16", seed=4)):
        outcome = runner.run_example(PROBLEM, candidate, ex)
        assert outcome.ok, [f.message for f in outcome.failures]


@pytest.mark.parametrize("cheat", CPU_BENCH, ids=[c.name for c in CPU_BENCH])
def test_bench_verdict_on_the_host_clock(cheat):
    candidate = load(cheat.path, problem=PROBLEM)
    with pinned(sweep(candidate.autotuners)[0]):
        res = bench.run_bench(PROBLEM, candidate, SMALL, baselines=(), rounds=6,
                              timer_factory=lambda: GpuTimer(api=HostApi(), flush=False))
    want = BENCH_VERDICTS[cheat.expect_bench]
    assert res.verdict == want, f"{cheat.name}: expected {want}, got {res.verdict}: {res.reason}"
    if want != bench.VALID:
        assert res.median_ms is None


@pytest.mark.gpu
@pytest.mark.parametrize("cheat", [c for c in CORPUS if c.expect_bench], ids=[c.name for c in CORPUS if c.expect_bench])
def test_bench_verdict_on_the_gpu(cheat):
    if backend.name() != "cuda":
        pytest.skip("needs a CUDA GPU")
    from fusefuzz.harness.perf import cases

    candidate = load(cheat.path, problem=PROBLEM)
    res = bench.run_bench(PROBLEM, candidate, cases.example("headline"), baselines=(), timer_factory=GpuTimer)
    assert res.verdict == BENCH_VERDICTS[cheat.expect_bench], f"{cheat.name}: {res.verdict}: {res.reason}"
