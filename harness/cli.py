"""``fusefuzz``: fuzz a candidate file, or every bundled kernel, against the PyTorch reference.

Exit codes: 0 no failure (notes allowed); 1 a failure (a counterexample or violation); 2 the candidate could not
be loaded, or a usage error; 3 the harness itself failed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback

EXIT_OK, EXIT_FAIL, EXIT_ERROR, EXIT_HARNESS = 0, 1, 2, 3
#: the problem ``check`` uses when --problem is not given (``fuzz`` then takes every registered kernel's own)
DEFAULT_PROBLEM = "conv2d_gelu_gap"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--problem", default=None,
                   help=f"problem to check against (default: {DEFAULT_PROBLEM}; fuzz: each kernel's own problem)")
    p.add_argument("--profile", choices=("dev", "ci", "nightly", "gpu"), default=None,
                   help="Hypothesis settings profile (default: $FUSEFUZZ_PROFILE, else ci when $CI is set, else dev)")
    p.add_argument("--max-examples", type=int, default=None, help="override the profile's example count")
    p.add_argument("--seed", type=int, default=None, help="Hypothesis seed, for a reproducible campaign")
    p.add_argument("--precision", default=None,
                   help="precision contract: auto, ieee, tf32, tf32-rn, fp16, bf16 (default: what the kernel "
                        "declares, else auto)")
    p.add_argument("--policy", default=None,
                   help="tolerance policy: bound, peer[:FACTOR], allclose[:TOL|kernelbench-v0] (default: the "
                        "problem's: bound for built-in problems, peer for --reference)")
    p.add_argument("--backend", choices=("auto", "cuda", "interpreter"), default=None,
                   help="where kernels run (default: $FUSEFUZZ_BACKEND, else cuda when available)")
    p.add_argument("--dtypes", default=None, help="comma-separated subset of float32,float16,bfloat16")
    p.add_argument("--layouts", default=None, help="comma-separated subset of contiguous,channels_last,strided")
    p.add_argument("--contract-dtypes", default=None, metavar="DTYPES",
                   help="the dtypes the candidate claims (default: its FUSEFUZZ_DTYPES, else float32 for a file, "
                        "all for a registered kernel); other dtypes are still fuzzed: an exception there is a note")
    p.add_argument("--contract-layouts", default=None, metavar="LAYOUTS",
                   help="the layouts the candidate claims (default: its FUSEFUZZ_LAYOUTS, else all)")
    p.add_argument("--max-macs", default="auto",
                   help="cap on multiply-adds per example (default: 250000 in the interpreter, none on a GPU)")
    p.add_argument("--checks", default=None,
                   help="properties beyond equality: all, none, or a comma list of mutation, poison, fallback, "
                        "determinism, freshness, batch (default: $FUSEFUZZ_CHECKS, else all)")
    p.add_argument("--repro-dir", default="fusefuzz-repros", help="where repro scripts go (default: %(default)s)")
    p.add_argument("--isolate", action=argparse.BooleanOptionalAction, default=None,
                   help="run each example in a worker process, so that crashes and hangs become failures "
                        "(default: on for candidate files, off for registered kernels)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="per-example time limit in a worker (default: 120 in the interpreter, 60 on a GPU; "
                        "implies --isolate)")
    p.add_argument("--sanitize", action="store_true",
                   help="GPU: re-run the minimal failing examples (or a sample of passing ones) under "
                        "compute-sanitizer; skipped with a reason elsewhere")
    p.add_argument("--sanitizer-tools", default="memcheck", metavar="TOOLS",
                   help="comma list of memcheck, racecheck, initcheck, synccheck (default: %(default)s)")
    p.add_argument("--strict", action="store_true",
                   help="notes (things the reader should know that are no failure) count as failures")
    p.add_argument("--quiet", action="store_true",
                   help="no progress display (it is shown only on a terminal outside CI anyway; elsewhere one "
                        "summary line per campaign, which --quiet drops too)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fusefuzz", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="fuzz one candidate (a KernelBench-format file or a registered kernel)")
    check.add_argument("candidate", nargs="+",
                       help="path to a .py file defining ModelNew, a registered kernel name, or a directory of "
                            "candidate files (several: a summary table, exit code = the worst)")
    check.add_argument("--json", dest="json_out", default=None, help="write the JSON report here")
    check.add_argument("--reference", default=None, metavar="REF.py",
                       help="a KernelBench-format reference file (Model, get_inputs, get_init_inputs, module-level "
                            "size constants): fuzz against it instead of --problem (harness/problems/kernelbench.py)")
    check.add_argument("--sizes", default=None, metavar="NAME=LO:HI,...",
                       help="with --reference: ranges for sizes (NAME=V pins one; naming a non-size integer "
                            "constant fuzzes it too)")
    check.add_argument("--strategy", default=None, metavar="MODULE:NAME",
                       help="with --reference: a Hypothesis strategy drawing {size: value} dicts, or a function "
                            "f(draw) -> dict (MODULE may be a FILE.py)")
    _common(check)
    fuzz = sub.add_parser("fuzz", help="fuzz every bundled kernel (the main job)")
    fuzz.add_argument("--kernel", action="append", default=None, help="only these registered kernels")
    fuzz.add_argument("--json", dest="json_out", default=None, help="write the JSON report here")
    _common(fuzz)
    sub.add_parser("list", help="list registered kernels and problems")
    from .perf import cli as perf_cli

    perf_cli.add_parsers(sub)  # perf compare, perf report, bench
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


def _campaign(args, candidate, problem, *, isolate: bool = False, journal: str | None = None):
    from . import policies, profiles
    from .campaign import run_campaign
    from .problems import kernelbench
    from .progress import CampaignProgress

    if journal is None and getattr(args, "json_out", None):
        journal = args.json_out + ".partial"
    total = args.max_examples or profiles.MAX_EXAMPLES.get(args.profile or profiles.default_name())
    before = kernelbench.snapshot(problem)
    with CampaignProgress(candidate.name, total=total, quiet=getattr(args, "quiet", False)) as progress:
        result = run_campaign(
            problem, candidate, profile=args.profile, max_examples=args.max_examples, seed=args.seed,
            policy=policies.parse(args.policy or problem.default_policy), precision=args.precision,
            max_macs=_max_macs(args.max_macs), strategy_options=_strategy_options(args), repro_dir=args.repro_dir,
            journal=journal, isolate=isolate, timeout=args.timeout if isolate else None,
            on_example=progress.on_example, on_start=progress.on_start, strict=args.strict or None,
        )
    kernelbench.annotate(result, problem, before)
    from . import nulls

    try:  # can the policy tell right from wrong on this problem at all? (cached per reference)
        note = nulls.assess(problem).note()
    except Exception as e:  # noqa: BLE001 - the nulls are advice, never a reason for check to fail
        note = f"null candidates could not be judged on problem {problem.name!r}: {type(e).__name__}: {e}"
    if note:
        result.remarks.append(note)
    return result


def _problem(args):
    """--reference REF.py (with --sizes/--strategy), else the registered --problem."""
    from . import problems

    reference = getattr(args, "reference", None)
    if reference:
        from .problems import kernelbench

        return kernelbench.for_cli(reference, sizes=args.sizes, strategy=args.strategy)
    for opt in ("sizes", "strategy"):
        if getattr(args, opt, None):
            raise ValueError(f"--{opt} needs --reference REF.py (built-in problems have their own strategies)")
    return problems.get(args.problem or DEFAULT_PROBLEM)


def _is_file_spec(spec: str) -> bool:
    return spec.endswith(".py") or os.sep in spec or os.path.exists(spec)


def _isolate(args, spec: str | None) -> bool:
    """--isolate/--no-isolate, else on for candidate files (untrusted) and when --timeout is given."""
    if args.isolate is not None:
        return args.isolate
    return args.timeout is not None or (spec is not None and _is_file_spec(spec))


class _Terminated(KeyboardInterrupt):
    """SIGTERM (a CI timeout, ``kill``): unwound like Ctrl-C so that what was found is written down."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command != "list" and args.backend:
        os.environ["FUSEFUZZ_BACKEND"] = args.backend
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        from . import backend

        backend.select()
        return _dispatch(parser, args)
    except KeyboardInterrupt as e:
        what = "terminated" if isinstance(e, _Terminated) else "interrupted"
        print(f"fusefuzz: {what}; failures found so far are in the --json report's .partial file", file=sys.stderr)
        return 143 if isinstance(e, _Terminated) else 130
    except Exception as e:  # noqa: BLE001 - a bug of fusefuzz itself, not a verdict on the candidate
        traceback.print_exc(file=sys.stderr)
        print(f"fusefuzz: harness error (a bug in fusefuzz, not a verdict on the candidate): "
              f"{type(e).__name__}: {' '.join(str(e).split())}", file=sys.stderr)
        return EXIT_HARNESS
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _dispatch(parser, args) -> int:
    if args.command in ("perf", "bench"):
        from .perf import cli as perf_cli

        return perf_cli.dispatch(parser, args)
    from . import problems, report
    from .candidates import CandidateError

    if args.command == "list":
        from .registry import all_kernels

        for name in problems.names():
            print(f"problem {name}: {problems.get(name).description}")
        for r in all_kernels():
            print(f"kernel  {r.name} [{r.problem}, {r.precision}]: {r.description}")
        return EXIT_OK
    try:
        problem = _problem(args)
    except CandidateError as e:  # a reference file that cannot be used: one line, exit 2
        print(f"fusefuzz: error: {e}", file=sys.stderr)
        if getattr(args, "json_out", None):
            report.write_json(args.json_out, {"verdict": "error", "examples_run": 0, "failures": [], "error": str(e)})
        return EXIT_ERROR
    except ValueError as e:
        parser.print_usage(sys.stderr)
        print(f"fusefuzz: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    try:
        if args.precision not in (None, "auto"):
            from .precision import contract

            contract(args.precision)
        from . import policies

        policies.parse(args.policy or problem.default_policy)
        if (args.policy or "").partition(":")[0] == "bound" and problem.default_policy != "bound":
            raise ValueError(f"--policy={args.policy!r}: problem {problem.name!r} has no rounding-error bound; "
                             f"use peer[:FACTOR] (its default) or allclose[:TOL]")
        if getattr(args, "checks", None) is not None:
            from .runner import CHECKS_ENV, checks_from

            checks_from(args.checks)
            os.environ[CHECKS_ENV] = args.checks
        if args.max_examples is not None and args.max_examples < 1:
            raise ValueError(f"--max-examples={args.max_examples!r} must be >= 1")
        if args.command != "list" and args.timeout is not None:
            if not args.timeout > 0:
                raise ValueError(f"--timeout={args.timeout!r} must be a positive number of seconds")
            if args.isolate is False:
                raise ValueError("--timeout needs a worker process; it cannot be combined with --no-isolate")
    except ValueError as e:
        parser.print_usage(sys.stderr)
        print(f"fusefuzz: error: {e}", file=sys.stderr)
        return EXIT_ERROR

    out = report.console()
    if args.command == "check":
        specs = _expand(args.candidate)
        if len(specs) != 1 or os.path.isdir(args.candidate[0]):
            return _check_many(args, specs, problem, out)
        spec = specs[0]
        try:
            candidate = _load_checked(args, spec, problem)
        except CandidateError as e:
            print(f"fusefuzz: error: {e}", file=sys.stderr)
            if args.json_out:
                report.write_json(args.json_out, {"verdict": "error", "examples_run": 0, "failures": [],
                                                  "error": str(e)})
            return EXIT_ERROR
        result = _campaign(args, candidate, problem, isolate=_isolate(args, spec))
        report.render(result, out)
        _render_isolation(result, out)
        _sanitize(args, problem, candidate, result, out)
        if args.json_out:
            report.write_json(args.json_out, result.to_json())
        return result.exit_code

    # fuzz: every registered kernel (of --problem, when given), each against its own problem
    from .candidates import from_record
    from .registry import all_kernels

    records = [r for r in all_kernels(args.problem) if not args.kernel or r.name in args.kernel]
    if not records:
        print(f"fusefuzz: error: no registered kernel matches --kernel={args.kernel!r}"
              f"{f' and --problem={args.problem!r}' if args.problem else ''}", file=sys.stderr)
        return EXIT_ERROR
    results = []
    for record in records:
        problem = problems.get(record.problem)
        candidate = from_record(record, precision=None if args.precision in (None, "auto") else args.precision)
        result = _campaign(args, candidate, problem, isolate=_isolate(args, None))
        report.render(result, out)
        _render_isolation(result, out)
        _sanitize(args, problem, candidate, result, out)
        out.print("")
        results.append(result)
    report.render_fuzz(results, out)
    if args.json_out:
        report.write_json(args.json_out, {"verdict": _overall(results), "kernels": [r.to_json() for r in results]})
    return max(r.exit_code for r in results)


def _expand(specs: list[str]) -> list[str]:
    """Directories become their ``*.py`` files (sorted; names starting with ``_`` are helpers, skipped)."""
    out = []
    for spec in specs:
        if os.path.isdir(spec):
            out.extend(os.path.join(spec, n) for n in sorted(os.listdir(spec))
                       if n.endswith(".py") and not n.startswith("_"))
        else:
            out.append(spec)
    return out


def _load_checked(args, spec: str, problem):
    """Load and preflight ``spec``; a candidate file is first imported and set up in a worker, so a file
    that crashes or hangs on import is one error line, not a dead harness."""
    from .campaign import preflight
    from .candidates import load

    precision = args.precision if args.precision != "auto" else None
    if _isolate(args, spec):
        from . import isolation

        try:
            isolation.preflight(problem, spec, precision=precision, timeout=args.timeout)
        except isolation.WorkerError as e:
            from .candidates import CandidateError

            raise CandidateError(" ".join(str(e).split())[-500:]) from None
    candidate = load(spec, precision=precision, problem=problem,
                     dtypes=getattr(args, "contract_dtypes", None), layouts=getattr(args, "contract_layouts", None))
    preflight(problem, candidate)
    return candidate


def _sanitize(args, problem, candidate, result, out) -> None:
    """``--sanitize``: compute-sanitizer over the minimal failing examples; errors make the verdict fail."""
    if not getattr(args, "sanitize", None):
        return
    from . import isolation

    why = isolation.sanitizer_unavailable()
    if why:
        result.sanitizer = {"skipped": why}
        out.print(f"  sanitize:  skipped: {why}", markup=False)
        return
    tools = tuple(t.strip() for t in args.sanitizer_tools.split(",") if t.strip())
    findings = isolation.sanitize(problem, candidate, result.failures, repro_dir=args.repro_dir, tools=tools)
    errors = sum(f["errors"] or 0 for f in findings)
    result.sanitizer = {"tools": list(tools), "errors": errors, "findings": findings}
    for f in findings:
        n = "?" if f["errors"] is None else f["errors"]
        out.print(f"  sanitize:  {f['tool']}: {n} errors on {f['example']} ({f['script']})", markup=False)
        for line in f["report"][:6]:
            out.print(f"             {line}", markup=False)
    if errors and result.verdict in ("pass", "unsupported"):
        result.verdict = "fail"
        result.error = f"compute-sanitizer reported {errors} errors on examples that passed"


def _render_isolation(result, out) -> None:
    iso = getattr(result, "isolation", None)
    if not iso:
        return
    out.print(f"  isolation: {iso['examples']} examples run in worker processes ({iso['workers_started']} started); "
              f"{iso['crashes']} crashed, {iso['timeouts']} timed out (limit {iso['timeout']:g} s), "
              f"{iso['skipped']} skipped", markup=False)
    for note in iso.get("notes", []):
        out.print(f"  isolation: {note}", markup=False)


def _check_many(args, specs: list[str], problem, out) -> int:
    """``fusefuzz check DIR/`` or ``check a.py b.py``: every candidate, then one summary table."""
    from rich.table import Table
    from rich.text import Text

    from . import report
    from .candidates import CandidateError

    if not specs:
        print(f"fusefuzz: error: no candidate files (*.py) in {' '.join(args.candidate)}", file=sys.stderr)
        return EXIT_ERROR
    rows, payload, codes, stems = [], [], [], set()
    for spec in specs:
        name = os.path.basename(spec)
        journal = None
        if args.json_out:
            stem = os.path.splitext(name)[0]
            while stem in stems:
                stem += "_"
            stems.add(stem)
            journal = f"{args.json_out}.{stem}.partial"
        try:
            candidate = _load_checked(args, spec, problem)
        except CandidateError as e:
            print(f"fusefuzz: error: {e}", file=sys.stderr)
            rows.append((name, "error", "-", "0", "-", str(e)))
            payload.append({"candidate": name, "verdict": "error", "examples_run": 0, "failures": [], "error": str(e)})
            codes.append(EXIT_ERROR)
            continue
        result = _campaign(args, candidate, problem, isolate=_isolate(args, spec), journal=journal)
        report.render(result, out)
        _render_isolation(result, out)
        _sanitize(args, problem, candidate, result, out)
        out.print("")
        kinds = ", ".join(sorted({f.kind for f in result.failures})) or "-"
        rows.append((name, result.verdict, kinds, str(result.examples_run), f"{result.seconds:.0f}",
                     result.error or ""))
        payload.append(result.to_json())
        codes.append(result.exit_code)
    table = Table(title=f"fusefuzz check: {len(specs)} candidates", title_justify="left", header_style="bold")
    for col in ("candidate", "verdict", "kinds", "examples", "s", "note"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    out.print(table)
    code = max(codes)
    if args.json_out:
        verdict = {EXIT_OK: "pass", EXIT_FAIL: "fail"}.get(code, "error")
        report.write_json(args.json_out, {"verdict": verdict, "candidates": payload})
    return code


def _overall(results) -> str:
    verdicts = {r.verdict for r in results}
    for v in ("error", "fail"):
        if v in verdicts:
            return v
    return "pass"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
