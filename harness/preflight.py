"""The preflight: build a candidate once at the problem's smallest example and copy the reference's parameters into
it, before any fuzzing. Used by the campaign (in process) and by :mod:`fusefuzz.harness.isolation` (in a worker)."""

from __future__ import annotations

from .candidates import Candidate, CandidateError, MissingParameter, copy_parameters
from .example import Example


def preflight(problem, candidate: Candidate) -> None:
    """Build the candidate at the problem's smallest example and copy parameters: structural errors
    (ambiguous parameters, constructor signature) end the campaign with exit 2 before any fuzzing; a missing
    parameter is left to the examples (a failure of kind ``missing_parameter``)."""
    smallest = getattr(problem, "smallest_example", None)
    ex = smallest() if smallest is not None else Example(sizes={n: 1 for n in problem.size_names})
    reference = problem.make_reference(ex, "cpu", dtype=None)
    try:
        model = candidate.build(problem.init_args(ex))
    except Exception:  # noqa: BLE001 - constructor failures are judged per example
        return
    if not hasattr(model, "named_parameters"):
        raise CandidateError(f"ModelNew(...) returned {type(model).__name__}, not an nn.Module")
    try:
        copy_parameters(reference, model.float())
    except MissingParameter:
        pass
