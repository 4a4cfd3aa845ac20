"""``fusefuzz perf compare``, ``fusefuzz perf report`` and ``fusefuzz bench`` (registered by fusefuzz.harness.cli).

Exit codes: ``perf compare`` 0 no regression (or nothing to compare yet), 1 a regression, 2 an error;
``perf report`` 0, 2 on an error; ``bench`` 0 a valid timing, 1 a timing refused (outputs wrong after the
timing loop, or faster than the roofline), 2 an error (no GPU, the candidate cannot be loaded).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import MissingDependency
from .history import DEFAULT_ROOT, HistoryError
from .stats import DEFAULT_ALPHA, DEFAULT_THRESHOLD

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


def _gate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--storage", default=DEFAULT_ROOT, metavar="ROOT",
                   help="benchmark storage root, one folder per GPU key (default: %(default)s)")
    p.add_argument("--gpu-key", default=None, metavar="KEY",
                   help="which GPU's history (default: this machine's, else the only one stored)")
    p.add_argument("--last", type=int, default=3, metavar="N",
                   help="baseline = the rounds of the last N earlier runs, pooled (default: %(default)s)")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, metavar="FACTOR",
                   help="slowdown factor that counts as a regression when significant, for benchmarks that "
                        "declare none (default: %(default)s)")
    p.add_argument("--threshold-for", action="append", default=[], metavar="PATTERN=FACTOR",
                   help="per-benchmark threshold (fnmatch on the full or short name); repeatable; wins over "
                        "what a benchmark declares")
    p.add_argument("--alpha", type=float, default=None,
                   help=f"Mann-Whitney significance level for every benchmark (default: what each declares, "
                        f"else {DEFAULT_ALPHA})")


def add_parsers(sub) -> None:
    perf = sub.add_parser("perf", help="performance history: regression gate and report")
    perf.set_defaults(backend=None)
    psub = perf.add_subparsers(dest="perf_command", required=True)
    compare = psub.add_parser("compare", help="gate: the latest run against the stored history of the same GPU")
    compare.add_argument("--current", default=None, metavar="RUN.json",
                         help="the run to judge (default: the newest stored run of the GPU key)")
    _gate_options(compare)
    compare.add_argument("--markdown", default=None, metavar="FILE", help="also write the verdicts as Markdown")
    compare.add_argument("--json", dest="json_out", default=None, metavar="FILE", help="also write them as JSON")
    compare.set_defaults(backend=None)
    report = psub.add_parser("report", help="render the stored history as PNG plots and a Markdown/HTML table")
    _gate_options(report)
    report.add_argument("--out", default="perf-report", metavar="DIR", help="output folder (default: %(default)s)")
    report.add_argument("--all-keys", action="store_true", help="every GPU key in the storage, one section each")
    report.set_defaults(backend=None)

    bench = sub.add_parser("bench", help="time one candidate on a GPU, with integrity checks")
    bench.add_argument("candidate", help="a .py file defining ModelNew, or a registered kernel name")
    bench.add_argument("--problem", default="conv2d_gelu_gap", help="problem (default: %(default)s)")
    bench.add_argument("--shape", default="headline", help="a benchmark shape: headline, medium, small "
                                                           "(default: %(default)s)")
    bench.add_argument("--size", action="append", default=[], metavar="NAME=V",
                       help="override one size of the shape, e.g. --size batch=16; repeatable")
    bench.add_argument("--dtype", default="float32", choices=("float32", "float16", "bfloat16"),
                       help="input dtype (default: %(default)s)")
    bench.add_argument("--layout", default="contiguous", choices=("contiguous", "channels_last", "strided"),
                       help="input layout (default: %(default)s)")
    bench.add_argument("--precision", default=None,
                       help="precision contract (default: what the kernel declares, else auto)")
    bench.add_argument("--policy", default="bound", help="tolerance policy for the post-timing verification "
                                                         "(default: %(default)s)")
    bench.add_argument("--min-time", type=float, default=0.5, help="seconds of timed rounds (default: %(default)s)")
    bench.add_argument("--min-rounds", type=int, default=30, help="at least this many rounds (default: %(default)s)")
    bench.add_argument("--rounds", type=int, default=None,
                       help="timed rounds of the candidate, a fixed count (default: 100)")
    bench.add_argument("--baselines", default="eager,compile",
                       help="reference timings for speedups: eager, compile, eager,compile or none "
                            "(default: %(default)s)")
    bench.add_argument("--storage", default=DEFAULT_ROOT, metavar="ROOT",
                       help="where this GPU's measured peaks are cached (default: %(default)s)")
    bench.add_argument("--no-measured-peaks", action="store_true",
                       help="use only the spec table, do not measure this GPU's ceilings")
    bench.add_argument("--backend", choices=("auto", "cuda"), default=None, help="auto or cuda (bench needs a GPU)")
    bench.add_argument("--json", dest="json_out", default=None, metavar="FILE", help="write the result as JSON")


def dispatch(parser, args) -> int:
    try:
        if args.command == "bench":
            return _bench(args)
        if args.perf_command == "compare":
            return _compare(args)
        return _report(args)
    except (MissingDependency, HistoryError, ValueError) as e:
        print(f"fusefuzz: error: {e}", file=sys.stderr)
        return EXIT_ERROR


def _overrides(args):
    from .stats import parse_override

    return [parse_override(s) for s in args.threshold_for]


def _check_gate_args(args) -> None:
    if args.last < 1:
        raise ValueError(f"--last={args.last!r} must be >= 1 (how many earlier runs form the baseline)")
    if not args.threshold > 1.0:
        raise ValueError(f"--threshold={args.threshold!r} must be a slowdown factor > 1, e.g. 1.05")
    if args.alpha is not None and not 0.0 < args.alpha < 1.0:
        raise ValueError(f"--alpha={args.alpha!r} must be in (0, 1), e.g. 0.002")


def _compare(args) -> int:
    from . import history, report, stats

    _check_gate_args(args)
    overrides = _overrides(args)
    stats.require("scipy.stats", "fusefuzz perf compare (Mann-Whitney U test)")
    if args.current:
        current = history.load_run(args.current)
        key = args.gpu_key or current.gpu_key
        if not key:
            raise HistoryError(f"{args.current!r} has no machine_info['fusefuzz']['gpu_key']; give --gpu-key")
        if current.gpu_key and current.gpu_key != key:
            raise HistoryError(f"--current was measured on GPU key {current.gpu_key!r}, not {key!r}: runs from "
                               "different GPUs are never compared")
        hist = history.load_history(args.storage, key) if key in history.keys(args.storage) else \
            history.History(key, [], [])
    else:
        key = history.resolve_key(args.storage, args.gpu_key)
        hist = history.load_history(args.storage, key)
        if not hist.runs:
            raise HistoryError(f"no usable runs stored for GPU key {key!r} under {args.storage!r}")
        current = hist.runs[-1]
    for path, why in hist.refused:
        print(f"fusefuzz: skipped {path}: {why}", file=sys.stderr)
    earlier = [r for r in hist.runs if os.path.abspath(r.path) != os.path.abspath(current.path)]
    if current in hist.runs:
        earlier = earlier[:hist.runs.index(current)]
    verdicts = stats.compare(current, earlier, last=args.last, overrides=overrides, default_threshold=args.threshold,
                             alpha=args.alpha)
    text = report.verdict_table(verdicts, title=f"fusefuzz perf compare: {current.label} vs the last "
                                                f"{args.last} earlier run(s) of {key}")
    print(text)
    regressions = [v for v in verdicts if v.alarm]
    if not earlier:
        print(f"\nno earlier run of {key} to compare with: nothing to gate yet (exit 0)")
    elif regressions:
        print(f"\nREGRESSION in {len(regressions)} benchmark(s): " + ", ".join(v.name.split('::')[-1]
                                                                               for v in regressions))
    else:
        print("\nno regression")
    if args.markdown:
        _write(args.markdown, text + "\n")
    if args.json_out:
        _write(args.json_out, json.dumps({"gpu_key": key, "current": current.path,
                                          "baseline": [r.path for r in earlier[-args.last:]],
                                          "regressions": len(regressions),
                                          "verdicts": [v.to_json() for v in verdicts]}, indent=1))
    return EXIT_FAIL if regressions else EXIT_OK


def _report(args) -> int:
    from . import history, report

    _check_gate_args(args)
    keys = history.keys(args.storage) if args.all_keys else [history.resolve_key(args.storage, args.gpu_key)]
    if not keys:
        raise HistoryError(f"no benchmark runs stored under {args.storage!r}")
    paths = report.render(args.storage, keys, args.out, last=args.last, overrides=_overrides(args),
                          default_threshold=args.threshold, alpha=args.alpha)
    for p in paths:
        print(f"wrote {p}")
    return EXIT_OK


def _write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _sizes(spec_list, base: dict) -> dict:
    sizes = dict(base)
    for spec in spec_list:
        name, sep, value = spec.partition("=")
        if not sep or name not in sizes:
            raise ValueError(f"--size={spec!r} must be NAME=V with NAME one of {', '.join(sizes)}")
        try:
            sizes[name] = int(value)
        except ValueError:
            raise ValueError(f"--size={spec!r}: {value!r} is not an integer") from None
        if sizes[name] < 1:
            raise ValueError(f"--size={spec!r} must be >= 1")
    return sizes


def _bench(args) -> int:
    from .. import backend, kinds, policies, problems
    from ..candidates import CandidateError, MissingParameter
    from ..example import Example
    from ..report import console
    from . import bench, cases, machine, peaks
    from .timer import GpuTimer

    if backend.name() != "cuda":
        print(f"fusefuzz: error: bench times kernels on a CUDA GPU; the backend here is {backend.name()} "
              "(torch.cuda.is_available() is False or FUSEFUZZ_BACKEND says so); use `fusefuzz check` for "
              "correctness on this machine", file=sys.stderr)
        return EXIT_ERROR
    problem = problems.get(args.problem)
    policy = policies.parse(args.policy)
    base = cases.example(args.shape) if args.problem == cases.PROBLEM else problem.headline
    example = Example(sizes=_sizes(args.size, base.sizes), dtype=args.dtype, layout=args.layout,
                      distribution=base.distribution, scale=base.scale, seed=base.seed)
    modes = () if args.baselines in ("", "none") else tuple(m.strip() for m in args.baselines.split(",") if m.strip())
    for m in modes:
        if m not in ("eager", "compile"):
            raise ValueError(f"--baselines={args.baselines!r}: {m!r} is not eager or compile")
    if args.precision not in (None, "auto"):
        from ..precision import contract

        contract(args.precision)
    try:
        from ..campaign import preflight
        from ..candidates import load

        candidate = load(args.candidate, precision=None if args.precision in (None, "auto") else args.precision)
        preflight(problem, candidate)
    except CandidateError as e:
        print(f"fusefuzz: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    info = machine.describe()
    spec = peaks.spec_for(info.get("gpu"))
    measured = None if args.no_measured_peaks else peaks.measured(args.storage, info["gpu_key"])
    try:
        res = bench.run_bench(problem, candidate, example, timer_factory=GpuTimer, policy=policy,
                              precision=args.precision, baselines=modes, min_time=args.min_time,
                              min_rounds=args.min_rounds, spec=spec, measured=measured,
                              rounds=args.rounds)
    except MissingParameter as e:  # a wrong model (kind missing_parameter), not a setup error: nothing to time
        print(f"fusefuzz: {kinds.MISSING_PARAMETER}: {e}", file=sys.stderr)
        return EXIT_FAIL
    res.machine = info
    bench.render(res, console())
    if args.json_out:
        _write(args.json_out, json.dumps(res.to_json(), indent=1, default=str))
    return res.exit_code
