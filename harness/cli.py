"""``fusefuzz``: fuzz a candidate file, or every bundled kernel, against the PyTorch reference.

Exit codes: 0 no counterexample; 1 a counterexample or violation; 2 the candidate could not be loaded,
or a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--problem", default="conv2d_gelu_gap", help="problem to check against (default: %(default)s)")
    p.add_argument("--profile", choices=("dev", "ci", "nightly", "gpu"), default=None,
                   help="Hypothesis settings profile (default: $FUSEFUZZ_PROFILE, else ci when $CI is set, else dev)")
    p.add_argument("--max-examples", type=int, default=None, help="override the profile's example count")
    p.add_argument("--seed", type=int, default=None, help="Hypothesis seed, for a reproducible campaign")
    p.add_argument("--precision", default=None,
                   help="precision contract: auto, ieee, tf32, tf32-rn, fp16, bf16 (default: what the kernel "
                        "declares, else auto)")
    p.add_argument("--policy", default="bound",
                   help="tolerance policy: bound, peer[:FACTOR], allclose[:TOL|kernelbench-v0] (default: %(default)s)")
    p.add_argument("--backend", choices=("auto", "cuda", "interpreter"), default=None,
                   help="where kernels run (default: $FUSEFUZZ_BACKEND, else cuda when available)")
    p.add_argument("--dtypes", default=None, help="comma-separated subset of float32,float16,bfloat16")
    p.add_argument("--layouts", default=None, help="comma-separated subset of contiguous,channels_last,strided")
    p.add_argument("--max-macs", default="auto",
                   help="cap on multiply-adds per example (default: 250000 in the interpreter, none on a GPU)")
    p.add_argument("--repro-dir", default="fusefuzz-repros", help="where repro scripts go (default: %(default)s)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fusefuzz", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="fuzz one candidate (a KernelBench-format file or a registered kernel)")
    check.add_argument("candidate", help="path to a .py file defining ModelNew, or a registered kernel name")
    check.add_argument("--json", dest="json_out", default=None, help="write the JSON report here")
    _common(check)
    fuzz = sub.add_parser("fuzz", help="fuzz every bundled kernel (the main job)")
    fuzz.add_argument("--kernel", action="append", default=None, help="only these registered kernels")
    fuzz.add_argument("--json", dest="json_out", default=None, help="write the JSON report here")
    _common(fuzz)
    sub.add_parser("list", help="list registered kernels and problems")
    return parser


def _strategy_options(args) -> dict:
    opts = {}
    if args.dtypes:
        opts["dtypes"] = tuple(s.strip() for s in args.dtypes.split(",") if s.strip())
    if args.layouts:
        opts["layouts"] = tuple(s.strip() for s in args.layouts.split(",") if s.strip())
    return opts


def _max_macs(value: str):
    if value in (None, "auto"):
        return "auto"
    if value in ("none", "0"):
        return None
    return int(float(value))


def _campaign(args, candidate, problem):
    from . import policies
    from .campaign import run_campaign

    journal = (args.json_out + ".partial") if getattr(args, "json_out", None) else None
    return run_campaign(
        problem, candidate, profile=args.profile, max_examples=args.max_examples, seed=args.seed,
        policy=policies.parse(args.policy), precision=args.precision, max_macs=_max_macs(args.max_macs),
        strategy_options=_strategy_options(args), repro_dir=args.repro_dir, journal=journal,
    )


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command != "list" and args.backend:
        os.environ["FUSEFUZZ_BACKEND"] = args.backend
    try:
        from . import backend

        backend.select()
        return _dispatch(parser, args)
    except KeyboardInterrupt:
        print("fusefuzz: interrupted; failures found so far are in the --json report's .partial file", file=sys.stderr)
        return 130


def _dispatch(parser, args) -> int:
    from . import problems, report
    from .campaign import preflight
    from .candidates import CandidateError, load

    if args.command == "list":
        from kernels import all_kernels

        for name in problems.names():
            print(f"problem {name}: {problems.get(name).description}")
        for r in all_kernels():
            print(f"kernel  {r.name} [{r.problem}, {r.precision}]: {r.description}")
        return EXIT_OK
    try:
        problem = problems.get(args.problem)
        if args.precision not in (None, "auto"):
            from .precision import contract

            contract(args.precision)
        from . import policies

        policies.parse(args.policy)
        if args.max_examples is not None and args.max_examples < 1:
            raise ValueError(f"--max-examples={args.max_examples!r} must be >= 1")
    except ValueError as e:
        parser.print_usage(sys.stderr)
        print(f"fusefuzz: error: {e}", file=sys.stderr)
        return EXIT_ERROR

    out = report.console()
    if args.command == "check":
        try:
            candidate = load(args.candidate, precision=args.precision if args.precision != "auto" else None)
            preflight(problem, candidate)
        except CandidateError as e:
            print(f"fusefuzz: error: {e}", file=sys.stderr)
            if args.json_out:
                report.write_json(args.json_out, {"verdict": "error", "examples_run": 0, "failures": [],
                                                  "error": str(e)})
            return EXIT_ERROR
        result = _campaign(args, candidate, problem)
        report.render(result, out)
        if args.json_out:
            report.write_json(args.json_out, result.to_json())
        return result.exit_code

    # fuzz: every registered kernel of the problem
    from kernels import all_kernels

    records = [r for r in all_kernels(problem.name) if not args.kernel or r.name in args.kernel]
    if not records:
        print(f"fusefuzz: error: no registered kernel matches --kernel={args.kernel!r}", file=sys.stderr)
        return EXIT_ERROR
    results = []
    for record in records:
        candidate = record.candidate(precision=None if args.precision in (None, "auto") else args.precision)
        result = _campaign(args, candidate, problem)
        report.render(result, out)
        out.print("")
        results.append(result)
    report.render_fuzz(results, out)
    if args.json_out:
        report.write_json(args.json_out, {"verdict": _overall(results), "kernels": [r.to_json() for r in results]})
    return max(r.exit_code for r in results)


def _overall(results) -> str:
    verdicts = {r.verdict for r in results}
    for v in ("error", "fail"):
        if v in verdicts:
            return v
    return "pass"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
