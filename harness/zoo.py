"""The bug zoo: KernelBench-format candidates with a known bug (or none), each headed by

    # fusefuzz-zoo: <one-line description>
    # expect: <failure kind[|kind], or pass>   [(cuda: <kind>[|<kind>] - why the GPU shows it differently)]
    # problem: <registered problem>      (optional, default conv2d_gelu_gap; any line of the leading comments)

The optional ``(cuda: ...)`` part is for bugs whose symptom depends on where they run: an unmasked store
past the end of a small output corrupts the interpreter's heap (``crash``) but lands inside the CUDA caching
allocator's block on a GPU, where it overwrites the neighbouring row (``mismatch``). :attr:`Member.expected`
is the kind for the backend in use.

:func:`members` reads them; :func:`judge_member` runs one under a profile and says whether the harness
reported the expected kind. Used by the kill-rate test and by ``docs/oracle.md``'s generator.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass

from . import kinds

ZOO_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "zoo")
#: kinds only the isolated runner can report (a crash kills the process, a hang never returns)
NEEDS_ISOLATION = frozenset({kinds.CRASH, kinds.TIMEOUT})


#: the problem of members whose header names none
DEFAULT_PROBLEM = "conv2d_gelu_gap"


@dataclass(frozen=True)
class Member:
    path: str
    description: str
    expect: str
    problem: str = DEFAULT_PROBLEM
    #: the kind on a CUDA GPU where it differs from ``expect`` (the interpreter's), and why
    expect_cuda: str | None = None
    expect_cuda_why: str = ""

    @property
    def expected(self) -> str:
        """The failure kind (or ``pass``) the harness must report on the backend in use."""
        from . import backend

        return self.expect_cuda if self.expect_cuda and backend.name() == "cuda" else self.expect

    @property
    def expect_text(self) -> str:
        return self.expect + (f" (cuda: {self.expect_cuda})" if self.expect_cuda else "")

    @property
    def name(self) -> str:
        return os.path.splitext(os.path.basename(self.path))[0]

    @property
    def is_control(self) -> bool:
        return self.expect == "pass"

    @property
    def needs_isolation(self) -> bool:
        """Its expected kind kills or stalls the process that runs it."""
        return any(k in NEEDS_ISOLATION for k in self.expected.split("|"))


def members(directory: str = ZOO_DIR) -> list[Member]:
    out = []
    for fname in sorted(os.listdir(directory)):
        if not fname.endswith(".py") or fname.startswith("_"):
            continue
        path = os.path.join(directory, fname)
        with open(path, encoding="utf-8") as f:
            head = [f.readline() for _ in range(3)]
            lines = list(head)
            while lines[-1].startswith("#"):  # the rest of the leading comment block
                lines.append(f.readline())
        m1 = re.match(r"#\s*fusefuzz-zoo:\s*(.+)", head[0])
        m2 = re.match(r"#\s*expect:\s*(\S+)(?:\s*\(cuda:\s*([\w|]+)\s*(?:-\s*(.*?))?\))?\s*$", head[1])
        if not (m1 and m2):
            raise ValueError(f"zoo file {path!r} lacks the '# fusefuzz-zoo:' / '# expect:' header lines")
        expect, expect_cuda, why = m2.group(1), m2.group(2), (m2.group(3) or "").strip()
        for value in (*expect.split("|"), *(expect_cuda or "").split("|")):
            value = value or None
            allowed = (*kinds.FAILURE_KINDS, *kinds.NOTE_KINDS)  # members are judged strict: notes fail
            if value is not None and value != "pass" and value not in allowed:
                raise ValueError(f"zoo file {path!r}: expect={value!r} is not a failure kind or 'pass'; "
                                 f"use one of {', '.join(sorted(allowed))}")
        if expect_cuda and not why:
            raise ValueError(f"zoo file {path!r}: '(cuda: {expect_cuda})' needs its reason: "
                             f"'(cuda: {expect_cuda} - why the GPU shows it differently)'")
        named = [m.group(1) for m in (re.match(r"#\s*problem:\s*(\S+)", line) for line in lines) if m]
        out.append(Member(path, m1.group(1).strip(), expect, named[0] if named else DEFAULT_PROBLEM,
                          expect_cuda, why))
    return out


@dataclass
class Verdict:
    member: Member
    verdict: str
    kinds: list
    examples_run: int
    seconds: float
    first_failure_example: str | None
    message: str
    examples_to_first_failure: int | None = None
    seconds_to_first_failure: float | None = None

    @property
    def correct(self) -> bool:
        if self.member.is_control:
            return self.verdict in ("pass", "unsupported") and not self.kinds
        # "a|b": either kind is the bug showing (e.g. stray reads give NaN or finite garbage on a GPU)
        return any(k in self.kinds for k in self.member.expected.split("|"))


def judge_member(member: Member, *, profile: str = "ci", max_examples: int | None = None, seed: int = 0,
                 isolate: bool = False, **campaign_kwargs) -> Verdict:
    from . import campaign, candidates, problems

    problem = problems.get(member.problem)
    candidate = candidates.load(member.path, problem=problem)  # ModelNew takes the problem's constructor arguments
    start = time.perf_counter()
    first_seen: dict = {}

    def on_example(result, outcome):
        if not first_seen and outcome is not None and outcome.failures:
            first_seen.update(examples=result.examples_run, seconds=time.perf_counter() - start)

    # a member stands for a kernel that claims to be whole: judged strict, as registered kernels are (notes fail)
    campaign_kwargs.setdefault("strict", True)
    kwargs = dict(profile=profile, max_examples=max_examples, seed=seed, on_example=on_example, **campaign_kwargs)
    if isolate:
        kwargs["isolate"] = True
    result = campaign.run_campaign(problem, candidate, **kwargs)
    found = [f.kind for f in result.failures]
    first = result.failures[0] if result.failures else None
    return Verdict(member, result.verdict, found, result.examples_run, time.perf_counter() - start,
                   first.example.describe() if first else None, first.summary if first else "",
                   first_seen.get("examples"), first_seen.get("seconds"))
