"""One call, one campaign: what ``fusefuzz check CANDIDATE [--reference REF.py]`` does, for Python and pytest.

>>> from fusefuzz.harness.check import check
>>> result = check("examples/candidates/softmax_triton.py", reference="examples/references/level1_softmax.py",
...                max_examples=10, seed=0)                                  # doctest: +SKIP
>>> result.verdict                                                          # doctest: +SKIP
'pass'

The pytest plugin's ``fusefuzz_check`` fixture calls :func:`check` with the command line's options
(``--fusefuzz-reference``, ``--fusefuzz-sizes``, ``--fusefuzz-strategy``, the profile, seed, isolation).
"""

from __future__ import annotations


def check(candidate, *, reference: str | None = None, problem=None, sizes=None, strategy=None,
          quiet: bool = True, **campaign_kwargs):
    """Fuzz ``candidate`` (a file, a registered kernel name or a :class:`~fusefuzz.harness.candidates.Candidate`)
    against ``reference`` (a KernelBench-format file; ``sizes``/``strategy`` as ``--sizes``/``--strategy``,
    a strategy may also be a Hypothesis strategy object) or ``problem`` (a name or a Problem; default the
    built-in problem). Keyword arguments go to :func:`fusefuzz.harness.campaign.run_campaign`. Loading errors raise
    :class:`~fusefuzz.harness.candidates.CandidateError` (one line). Progress as in the CLI (``quiet`` by default)."""
    from . import candidates, problems
    from .campaign import preflight, run_campaign
    from .problems import kernelbench
    from .progress import CampaignProgress

    if reference is not None:
        if problem is not None:
            raise ValueError("give reference= or problem=, not both")
        user = kernelbench.load_strategy(strategy) if isinstance(strategy, str) else strategy
        problem = problems.register(kernelbench.from_file(reference, sizes=sizes, strategy=user), replace=True)
    else:
        if sizes is not None or strategy is not None:
            raise ValueError("sizes= and strategy= need reference= (built-in problems have their own strategies)")
        problem = problems.get(problem or "conv2d_gelu_gap") if problem is None or isinstance(problem, str) \
            else problem
    if isinstance(candidate, str):
        candidate = candidates.load(candidate, problem=problem)
    preflight(problem, candidate)
    before = kernelbench.snapshot(problem)
    with CampaignProgress(candidate.name, quiet=quiet) as progress:
        result = run_campaign(problem, candidate, on_example=progress.on_example, on_start=progress.on_start,
                              **campaign_kwargs)
    kernelbench.annotate(result, problem, before)
    return result
