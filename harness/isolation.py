"""Worker isolation for untrusted candidates: crashes and hangs become failures, not a dead campaign.

Hypothesis keeps running in the parent; each example is judged in a worker process that runs
:func:`fusefuzz.harness.runner.run_example` and sends the :class:`~fusefuzz.harness.runner.Outcome` back as plain data.
Only picklable data crosses the pipe: the problem name, how to load the candidate (a file path or an
importable module, plus its contract overrides), the example as a dict, the policy as a spec string
(:func:`fusefuzz.harness.policies.parse`) and the precision string.

Workers are forked from a multiprocessing *forkserver* that has already imported torch, numpy, triton
and the harness (a fresh worker costs milliseconds, not the seconds of a cold ``import torch``), so a
crashing example can be retried and shrunk like any other. The backend is chosen in the parent before
the forkserver starts (it inherits ``TRITON_INTERPRET``); nothing in the forkserver touches CUDA, and
every worker selects its backend itself.

What the parent does with what comes back:

* an outcome: returned as is; the worker is reused while it is healthy;
* the worker dies (a signal such as SIGSEGV or SIGABRT from "double free or corruption", ``os._exit``,
  ``sys.exit``) or a CUDA error poisons its context: failure kind ``crash`` for *that* example, with the
  signal or exit code and the last lines the worker wrote to stderr (faulthandler adds the Python stack).
  A worker that had run earlier examples may have been damaged by one of them (an out-of-bounds store
  that corrupted the heap without crashing), so such a crash is replayed on a fresh worker first; if the
  fresh worker survives, the crash is counted as unattributed and every later example gets a fresh
  worker that is also checked for a clean exit;
* no answer within the time limit: failure kind ``timeout``, the worker is killed. Hypothesis would
  re-run hanging examples while shrinking, so the wait is bounded: after the first timeout the limit
  drops to ``max(timeout / 10, 10 x the slowest completed example, 2 s)``, an example that timed out (or
  crashed) is answered from memory when it comes back, and after ``max_timeouts`` timeouts examples not
  seen before are skipped (rejected), so a campaign with a hanging kernel ends after a few timeouts;
* :class:`~fusefuzz.harness.candidates.CandidateError` in the worker is raised as ``CandidateError`` in the parent.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import importlib.util
import json
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback

from . import backend, kinds
from .approx import ApproxBudget
from .candidates import Candidate, CandidateError
from .example import Example
from .runner import Failure, Outcome

#: per-example time limit in seconds when none is given, per backend
DEFAULT_TIMEOUTS = {"interpreter": 120.0, "cuda": 60.0}
#: after this many timeouts, examples that were not seen before are skipped
MAX_TIMEOUTS = 5
#: the shortened limit after a timeout is never below this (seconds)
SHORT_FLOOR = 2.0
#: how long a worker may take to start and import the candidate
STARTUP_TIMEOUT = 180.0
#: how much of the worker's stderr goes into a crash message
STDERR_LINES = 15

#: imported once by the forkserver, so that a fresh worker pays nothing for them (torch._dynamo is
#: imported lazily by the first tensor made under a dispatch mode: 1.5 s per worker otherwise)
_PRELOAD = ["numpy", "torch", "torch._dynamo", "triton", "triton.language", "triton.runtime.interpreter",
            "fusefuzz.harness.runner", "fusefuzz.harness.problems", "fusefuzz.harness.policies",
            "fusefuzz.harness.campaign", "fusefuzz.harness.isolation"]
_CUDA_MARKERS = ("CUDA error", "CUDA_ERROR", "illegal memory access", "device-side assert", "misaligned address",
                 "unspecified launch failure", "illegal instruction", "an illegal address")


class WorkerError(RuntimeError):
    """The harness itself failed inside the worker (not the candidate); carries the remote traceback."""


class Skipped(Exception):
    """The timeout budget is spent and this example was never seen: it is not run."""


# ----------------------------------------------------------------------------------------------------
# What crosses the pipe
# ----------------------------------------------------------------------------------------------------

def candidate_ref(candidate: Candidate) -> dict:
    """How a worker loads ``candidate``: its file, or its importable module, with the resolved contract."""
    overrides = {"precision": candidate.precision, "deterministic": bool(candidate.deterministic),
                 "approx_budget": dict(vars(ApproxBudget.parse(candidate.approx_budget))),
                 "allowed_ops": sorted(candidate.allowed_ops),
                 "kwargs": dict(candidate.kwargs),
                 "dtypes": list(candidate.dtypes) if candidate.dtypes is not None else None,
                 "layouts": list(candidate.layouts) if candidate.layouts is not None else None,
                 "strict": bool(candidate.strict)}
    modname = getattr(candidate.module, "__name__", "") or ""
    if modname.startswith("fusefuzz_candidate_") and candidate.path:
        return {"kind": "file", "target": os.path.abspath(candidate.path), "name": candidate.name,
                "overrides": overrides}
    try:
        importable = bool(modname) and importlib.util.find_spec(modname) is not None
    except (ImportError, ValueError):
        importable = False
    if importable:
        return {"kind": "module", "target": modname, "name": candidate.name, "overrides": overrides}
    raise ValueError(f"candidate {candidate.name!r} cannot run in a worker: its module {modname!r} is neither a "
                     "candidate file nor importable by name")


def ref_for_spec(spec: str, *, precision: str | None = None) -> dict:
    """The ref of a CLI candidate spec (a ``.py`` path or a registered kernel name), before loading it."""
    overrides = {"precision": precision} if precision else {}
    if spec.endswith(".py") or os.sep in spec or os.path.exists(spec):
        return {"kind": "file", "target": os.path.abspath(spec), "name": os.path.basename(spec),
                "overrides": overrides}
    return {"kind": "registry", "target": spec, "name": spec, "overrides": overrides}


def _module_key(ref: dict) -> tuple:
    """What a worker imports at startup; workers are shared by refs with the same key."""
    if ref["kind"] == "registry":
        from . import registry

        try:
            return ("module", registry.get(ref["target"]).module)
        except KeyError:
            return ("registry", ref["target"])
    return (ref["kind"], ref["target"])


def load_ref(ref: dict, problem=None) -> Candidate:
    """Load a candidate from its ref (in the worker); loading problems raise CandidateError. With ``problem``,
    ModelNew is expected to take that problem's constructor arguments."""
    from .candidates import from_module, from_record, import_file

    ov = {k: v for k, v in ref.get("overrides", {}).items() if v is not None}
    if problem is not None:
        ov.setdefault("n_init_args", len(problem.init_args(problem.headline)))
    if "allowed_ops" in ov:
        ov["allowed_ops"] = frozenset(ov["allowed_ops"])
    if ref["kind"] == "file":
        from .candidates import FILE_DEFAULT_DTYPES

        module = import_file(ref["target"])
        ov.setdefault("default_dtypes", FILE_DEFAULT_DTYPES)
        return from_module(module, name=ref["name"], path=ref["target"], **ov)
    if ref["kind"] == "module":
        module = importlib.import_module(ref["target"])
        return from_module(module, name=ref["name"], path=getattr(module, "__file__", None), **ov)
    if ref["kind"] == "registry":
        from . import registry

        try:
            record = registry.get(ref["target"])
        except KeyError as e:
            raise CandidateError(str(e.args[0])) from None
        return from_record(record, **ov)
    raise ValueError(f"candidate ref kind={ref['kind']!r} is not file, module or registry")


def policy_spec(policy):
    """The policy as a :func:`fusefuzz.harness.policies.parse` spec string when one round-trips, else the object."""
    from . import policies

    if policy is None:
        return "bound"
    specs = [getattr(policy, "name", "")]
    factor = getattr(policy, "factor", None)
    if factor is not None:
        specs.append(f"peer:{factor!r}")
    override = getattr(policy, "override", None)
    if override is not None:
        specs.append(f"allclose:{override.atol!r}")
    table = getattr(policy, "table", None)
    if table is not None:
        specs.append(f"allclose:{table}")
    for spec in specs:
        try:
            if spec and policies.parse(spec) == policy:
                return spec
        except (ValueError, TypeError):
            continue
    return policy  # a frozen dataclass: picklable


def _plain(obj, depth: int = 0):
    """JSON-like data only (tensors and arrays become lists, anything else its repr)."""
    if depth > 20:
        return repr(obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, dict):
        return {str(k): _plain(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_plain(v, depth + 1) for v in obj]
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        try:
            return _plain(tolist(), depth + 1)
        except Exception:  # noqa: BLE001
            pass
    return repr(obj)


def _finding_to_dict(f: Failure) -> dict:
    return {"kind": f.kind, "message": f.message, "config": f.config, "details": _plain(f.details)}


def outcome_to_dict(outcome: Outcome) -> dict:
    return {"failures": [_finding_to_dict(f) for f in outcome.failures],
            "notes": [_finding_to_dict(f) for f in outcome.notes],
            "accuracy": None if outcome.accuracy is None else {
                "ratios": {k: (None if v is None else float(v)) for k, v in outcome.accuracy.ratios.items()},
                "contract": outcome.accuracy.contract},
            "unsupported": outcome.unsupported, "configs_run": int(outcome.configs_run),
            "ratios": {str(k): float(v) for k, v in outcome.ratios.items()}, "seconds": float(outcome.seconds)}


def _accuracy(d: dict | None):
    if not d:
        return None
    from .accuracy import Accuracy, _tightest

    return Accuracy(dict(d["ratios"]), d["contract"], _tightest(d["ratios"]))


def outcome_from_dict(d: dict, example: Example) -> Outcome:
    def finding(f):
        return Failure(f["kind"], example, f["message"], f.get("config", ""), details=dict(f.get("details") or {}))

    return Outcome(example, failures=[finding(f) for f in d.get("failures", [])],
                   notes=[finding(f) for f in d.get("notes", [])], accuracy=_accuracy(d.get("accuracy")),
                   unsupported=d.get("unsupported"),
                   configs_run=d.get("configs_run", 0), ratios=dict(d.get("ratios", {})),
                   seconds=d.get("seconds", 0.0))


def example_key(example: Example) -> str:
    return json.dumps(example.to_dict(), sort_keys=True, default=str)


# ----------------------------------------------------------------------------------------------------
# The worker side
# ----------------------------------------------------------------------------------------------------

def _watch_parent(parent_pid: int) -> None:
    """Exit when the parent is gone (a hanging worker must not outlive a killed campaign)."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            os._exit(3)
        except PermissionError:
            pass


def _setup_worker_process(log_path: str, parent_pid: int, backend_name: str, environ: dict) -> None:
    # the parent's environment now, not the forkserver's from when it started (FUSEFUZZ_CHECKS and the like)
    os.environ.clear()
    os.environ.update(environ)
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    with contextlib.suppress(Exception):
        sys.stdout.reconfigure(line_buffering=True)
        sys.stderr.reconfigure(line_buffering=True)
    import faulthandler

    faulthandler.enable(file=sys.stderr, all_threads=False)
    with contextlib.suppress(OSError):
        os.setsid()  # own process group: Ctrl-C at the terminal is the parent's to handle
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from . import refserver

    # before the candidate's import, CUDA and any thread: every reference value of this worker comes from there
    refserver.fork_now()
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    # the backend: decided by the parent; set before anything (re)imports triton
    os.environ[backend.ENV_VAR] = backend_name
    os.environ["TRITON_INTERPRET"] = "1" if backend_name == "interpreter" else "0"
    backend.select()


def _install_config_reporter(send) -> None:
    """Tell the parent which config is about to run, so a crash or hang names it."""
    from . import runner

    original = getattr(runner, "pinned", None)
    if original is None or getattr(original, "_fusefuzz_reporting", False):
        return

    @contextlib.contextmanager
    def pinned(assignment):
        with contextlib.suppress(Exception):
            send(("config", int(getattr(assignment, "index", 0)), assignment.describe()))
        with original(assignment):
            yield

    pinned._fusefuzz_reporting = True
    runner.pinned = pinned


def _cuda_poisoned(outcome: Outcome) -> str | None:
    if backend.name() != "cuda":
        return None
    import torch

    try:
        torch.cuda.synchronize()
    except Exception as e:  # noqa: BLE001
        return " ".join(str(e).split())[:500]
    for f in outcome.failures:
        if f.kind == kinds.EXCEPTION and any(m in f.message for m in _CUDA_MARKERS):
            return f.summary
    return None


def _worker_main(conn, problem_name: str, module_key: tuple, log_path: str, parent_pid: int,
                 backend_name: str, environ: dict) -> None:
    _setup_worker_process(log_path, parent_pid, backend_name, environ)
    import gc

    from . import policies, problems
    from .runner import run_example

    send = conn.send
    try:
        kind, target = module_key
        if kind == "file":
            from .candidates import import_file

            import_file(target)
        elif kind == "module":
            importlib.import_module(target)
        problem = problems.get(problem_name)
        if backend_name == "cuda":  # the context is made here, not on the clock of the first example
            import torch

            torch.empty(1, device="cuda")
            torch.cuda.synchronize()
    except CandidateError as e:
        send(("candidate_error", str(e)))
        return
    except Exception:  # noqa: BLE001
        send(("error", traceback.format_exc()))
        return
    send(("ready", os.getpid()))
    _install_config_reporter(send)
    cands: dict[str, Candidate] = {}
    maps: dict[str, dict | None] = {}
    pols: dict = {}

    def candidate_for(ref):
        k = json.dumps(ref, sort_keys=True, default=str)
        if k not in cands:
            cands[k] = load_ref(ref, problem)
            maps[k] = _param_map(problem, cands[k])
        return cands[k], maps[k]

    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        op = msg[0]
        if op == "stop":
            cands.clear()
            gc.collect()
            if backend_name == "cuda":
                import torch

                with contextlib.suppress(Exception):
                    torch.cuda.synchronize()
            send(("stopped",))
            return
        try:
            if op == "preflight":
                from .preflight import preflight

                cand, _ = candidate_for(msg[1])
                preflight(problem, cand)
                send(("ok", {"name": cand.name, "precision": cand.precision}))
                continue
            if op != "run":
                send(("error", f"unknown request {op!r}"))
                continue
            _, ref, ex_dict, pol, precision = msg
            cand, param_map = candidate_for(ref)
            send(("begin", param_map))
            example = Example.from_dict(ex_dict, problem.size_names)
            key = pol if isinstance(pol, str) else repr(pol)
            if key not in pols:
                pols[key] = policies.parse(pol) if isinstance(pol, str) else pol
            outcome = run_example(problem, cand, example, policy=pols[key], precision=precision)
        except CandidateError as e:
            send(("candidate_error", str(e)))
            continue
        except Exception:  # noqa: BLE001 - a harness error: the parent raises it (SystemExit etc. end the worker)
            send(("error", traceback.format_exc()))
            continue
        poisoned = _cuda_poisoned(outcome)
        if poisoned:
            cfg = outcome.failures[0].config if outcome.failures else ""
            outcome.failures = [Failure(kinds.CRASH, example,
                                        f"CUDA error poisoned the worker's context: {poisoned}\n"
                                        f"Example: {example.describe()}", cfg,
                                        details={"param_map": param_map or {}})]
        gc.collect()  # heap damage done by this example shows up here, not in the next one
        send(("outcome", outcome_to_dict(outcome), bool(poisoned)))
        if poisoned:
            return


def _param_map(problem, candidate) -> dict | None:
    """The reference -> candidate parameter mapping (for repro scripts of crashes and hangs)."""
    from .candidates import copy_parameters

    try:
        ex = Example(sizes={n: 1 for n in problem.size_names})
        reference = problem.make_reference(ex, "cpu", dtype=None)
        model = candidate.build(problem.init_args(ex))
        return copy_parameters(reference, model.float())
    except Exception:  # noqa: BLE001 - the run itself reports what is wrong
        return None


# ----------------------------------------------------------------------------------------------------
# The parent side
# ----------------------------------------------------------------------------------------------------

_CONTEXT = None
_LIVE: set = set()
_SPARES: dict = {}
_TEMP_DIRS: list = []


def _context():
    global _CONTEXT
    if _CONTEXT is None:
        backend.select()  # the forkserver inherits TRITON_INTERPRET from this process
        if "forkserver" in multiprocessing.get_all_start_methods():
            _CONTEXT = multiprocessing.get_context("forkserver")
            _CONTEXT.set_forkserver_preload(_PRELOAD)
        else:  # pragma: no cover - not Linux
            _CONTEXT = multiprocessing.get_context("spawn")
    return _CONTEXT


@contextlib.contextmanager
def _without_main():
    """Start processes without the parent's ``__main__``: multiprocessing would otherwise re-run the
    parent's script (or test runner) in every worker; the worker needs nothing from it."""
    import types

    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


def _describe_exit(code) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown signal"
        return f"was killed by signal {-code} ({name})"
    return f"exited with code {code}"


_NOISE = ("Extension modules:", "multiprocessing/", 'File "<string>"', "torch/nn/modules/module.py",
          "harness/isolation.py")


def _noise(line: str) -> bool:
    """faulthandler lines that say nothing about the candidate (the worker's own frames, module lists)."""
    return any(n in line for n in _NOISE)


def _hint(tail: str, target: str) -> str:
    """One line for an error message: what the worker said last, and where in the candidate it was."""
    lines = [ln.strip() for ln in tail.splitlines() if ln.strip()]
    said = [ln for ln in lines if not ln.startswith(("File ", "Stack (", "Current thread", "Thread 0x"))]
    where = [ln for ln in lines if ln.startswith("File ") and target and os.path.basename(target) in ln]
    parts = ([said[0]] if said else []) + ([where[-1].replace('"', "")] if where else [])
    return f" ({'; '.join(parts)})" if parts else ""


class _Worker:
    """One worker process and its pipe; stdout and stderr go to a log file."""

    def __init__(self, problem_name: str, module_key: tuple, log_dir: str):
        self.problem_name = problem_name
        self.module_key = module_key
        self.log_path = os.path.join(log_dir, f"worker-{time.monotonic_ns()}.log")
        self.examples = 0
        self.proc = None
        self.conn = None

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout  # starting the forkserver (the first worker) counts too
        ctx = _context()
        parent, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, name="fusefuzz-worker", daemon=True,
                                args=(child, self.problem_name, self.module_key, self.log_path, os.getpid(),
                                      backend.name(), dict(os.environ)))
        with _without_main():
            self.proc.start()
        child.close()
        self.conn = parent
        _LIVE.add(self)
        ev = self.wait(deadline)
        what = f"{self.module_key[1]!r}"
        if ev[0] == "msg" and ev[1][0] == "ready":
            return
        self.kill()
        if ev[0] == "msg" and ev[1][0] == "candidate_error":
            raise CandidateError(ev[1][1])
        if ev[0] == "msg" and ev[1][0] == "error":
            raise WorkerError(f"worker failed to start for {what}:\n{ev[1][1]}")
        if ev[0] == "timeout":
            raise CandidateError(f"cannot load candidate {what}: importing it did not finish within {timeout:g} s")
        raise CandidateError(f"cannot load candidate {what}: the worker {_describe_exit(ev[1])} while importing "
                             f"it{_hint(self.stderr_tail(0), self.module_key[1])}")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.is_alive()

    def send(self, msg) -> None:
        self.conn.send(msg)

    def wait(self, deadline: float):
        """("msg", message) | ("died", exit code) | ("timeout",)."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return ("timeout",)
            ready = multiprocessing.connection.wait([self.conn, self.proc.sentinel], timeout=remaining)
            if self.conn in ready or self.conn.poll(0):
                try:
                    return ("msg", self.conn.recv())
                except (EOFError, OSError):
                    pass
                self.proc.join(10)
                return ("died", self.proc.exitcode)
            if self.proc.sentinel in ready:
                self.proc.join(10)
                return ("died", self.proc.exitcode)

    def log_size(self) -> int:
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def stderr_tail(self, offset: int, lines: int = STDERR_LINES) -> str:
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        text = data[offset:].decode("utf-8", "replace") or data.decode("utf-8", "replace")
        kept = [ln.rstrip() for ln in text.splitlines() if ln.strip() and not _noise(ln)][-lines:]
        return "\n".join(ln[:300] for ln in kept)

    def stop(self, timeout: float = 10.0):
        """Ask for a clean exit; returns the exit code (None if it had to be killed)."""
        code = None
        try:
            self.send(("stop",))
            deadline = time.monotonic() + timeout
            while True:
                ev = self.wait(deadline)
                if ev[0] == "died":
                    code = ev[1]
                    break
                if ev[0] == "timeout":
                    break
                if ev[1][0] == "stopped":
                    self.proc.join(timeout)
                    code = self.proc.exitcode
                    break
        except (OSError, EOFError, ValueError):
            pass
        self.kill()
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # the worker and anything it started
            with contextlib.suppress(Exception):
                self.proc.kill()
            self.proc.join(10)
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
        _LIVE.discard(self)


@atexit.register
def _kill_all() -> None:
    for w in list(_LIVE):
        w.kill()
    _SPARES.clear()
    for d in _TEMP_DIRS:
        shutil.rmtree(d, ignore_errors=True)


def preflight(problem, spec: str, *, precision: str | None = None, timeout: float | None = None,
              deadline: float | None = None) -> dict:
    """Load ``spec`` and run :func:`fusefuzz.harness.preflight.preflight` in a worker: a file that crashes or hangs
    while importing, or is structurally wrong, raises CandidateError here without touching the parent.
    The worker is kept for the campaign that follows. ``deadline`` (``time.monotonic()``) bounds the wait."""
    ref = ref_for_spec(spec, precision=precision)
    if ref["kind"] == "file" and not os.path.exists(ref["target"]):
        from .candidates import import_file

        import_file(ref["target"])  # the loader's own one-line error
    key = (problem.name, _module_key(ref))
    log_dir = tempfile.mkdtemp(prefix="fusefuzz-preflight-")
    _TEMP_DIRS.append(log_dir)
    worker = _Worker(problem.name, key[1], log_dir)
    limit = max(STARTUP_TIMEOUT, timeout or 0)
    budget = deadline is not None and deadline - time.monotonic() < limit
    if budget:
        limit = max(deadline - time.monotonic(), 0.0)
    worker.start(limit)
    offset = worker.log_size()
    worker.send(("preflight", ref))
    ev = worker.wait(time.monotonic() + limit if deadline is None else min(time.monotonic() + limit, deadline))
    if ev[0] == "msg" and ev[1][0] == "ok":
        old = _SPARES.pop(key, None)
        if old is not None:
            old.kill()
        _SPARES[key] = worker
        return ev[1][1]
    worker.kill()
    if ev[0] == "msg" and ev[1][0] == "candidate_error":
        raise CandidateError(ev[1][1])
    if ev[0] == "msg" and ev[1][0] == "error":
        raise WorkerError(ev[1][1])
    if ev[0] == "timeout":
        raise CandidateError(f"cannot set up candidate {spec!r}: building it did not finish within {limit:.3g} s"
                             + (" (what was left of the budget)" if budget else ""))
    raise CandidateError(f"cannot set up candidate {spec!r}: the worker {_describe_exit(ev[1])} while building "
                         f"it{_hint(worker.stderr_tail(offset), ref['target'])}")


class IsolatedRunner:
    """Judge examples in worker processes; see the module docstring. Use as a context manager or close()."""

    def __init__(self, problem, candidate: Candidate, *, policy=None, precision: str | None = None,
                 timeout: float | None = None, max_timeouts: int = MAX_TIMEOUTS, deadline: float | None = None):
        """``deadline`` (a ``time.monotonic()`` value): the campaign's budget; no example runs past it (see
        :meth:`_budget_cut`)."""
        backend.select()
        self.problem = problem
        self.candidate = candidate
        self.ref = candidate_ref(candidate)
        self.key = (problem.name, _module_key(self.ref))
        self.policy = policy_spec(policy)
        self.precision = precision or candidate.precision or "auto"
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout={timeout!r} must be a positive number of seconds")
        self.timeout = float(timeout) if timeout else DEFAULT_TIMEOUTS.get(backend.name(), 120.0)
        self.max_timeouts = int(max_timeouts)
        self.deadline = deadline
        self.stats = {"examples": 0, "workers_started": 0, "crashes": 0, "timeouts": 0, "timeout_seconds": 0.0,
                      "replayed": 0, "skipped": 0, "unattributed_crashes": 0}
        self.notes: list[str] = []
        self._known: dict[str, Failure] = {}  # crash/timeout verdicts, never re-run
        self._failing: dict[str, Outcome] = {}  # failing outcomes, replayed once the timeout budget is spent
        self._slowest = 0.0
        self._fresh_each = False
        self._worker: _Worker | None = None
        self._log_dir = tempfile.mkdtemp(prefix="fusefuzz-workers-")

    # -- limits ------------------------------------------------------------------------------------
    @property
    def limit(self) -> float:
        """The time limit for the next example."""
        if not self.stats["timeouts"]:
            return self.timeout
        return min(self.timeout, max(self.timeout / 10, 10 * self._slowest, SHORT_FLOOR))

    @property
    def exhausted(self) -> bool:
        return self.stats["timeouts"] >= self.max_timeouts

    def should_skip(self, example: Example) -> bool:
        if not self.exhausted:
            return False
        key = example_key(example)
        if key in self._known or key in self._failing:
            return False
        self.stats["skipped"] += 1
        return True

    def summary(self) -> dict:
        out = dict(self.stats, timeout=self.timeout, timeout_seconds=round(self.stats["timeout_seconds"], 3))
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    # -- running -----------------------------------------------------------------------------------
    def run(self, example: Example) -> Outcome:
        key = example_key(example)
        if key in self._known:
            self.stats["replayed"] += 1
            return Outcome(example, failures=[self._known[key]])
        if key in self._failing and self.exhausted:
            self.stats["replayed"] += 1
            return self._failing[key]
        if self.exhausted:
            self.stats["skipped"] += 1
            raise Skipped(example.describe())
        self.stats["examples"] += 1
        outcome = self._run(example, key)
        if outcome.failures:
            self._failing[key] = outcome
        return outcome

    def _worker_for_example(self) -> _Worker:
        if self._worker is not None and self._worker.alive:
            return self._worker
        self._worker = None
        spare = _SPARES.pop(self.key, None)
        if spare is not None and spare.alive:
            self.stats["workers_started"] += 1  # by the preflight
            self._worker = spare
            return spare
        w = _Worker(self.problem.name, self.key[1], self._log_dir)
        self.stats["workers_started"] += 1
        limit = max(STARTUP_TIMEOUT, self.timeout)
        if self.deadline is not None:
            limit = min(limit, max(self.deadline - time.monotonic(), 0.0))
        try:
            w.start(limit)
        except CandidateError:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                from .stops import BudgetSpent

                raise BudgetSpent() from None
            raise
        self._worker = w
        return w

    def _retire(self) -> None:
        if self._worker is not None:
            self._worker.kill()
            self._worker = None

    def _run(self, example: Example, key: str, confirming: bool = False) -> Outcome:
        w = self._worker_for_example()
        reused = w.examples > 0
        w.examples += 1
        offset = w.log_size()
        own_limit = limit = self.limit
        if self.deadline is not None:
            limit = min(limit, max(self.deadline - time.monotonic(), 0.0))
        config, config_index, param_map = "", 0, {}
        start = time.monotonic()
        w.send(("run", self.ref, example.to_dict(), self.policy, self.precision))
        while True:
            ev = w.wait(start + limit)
            if ev[0] == "msg":
                msg = ev[1]
                if msg[0] == "begin":
                    param_map = msg[1] or {}
                elif msg[0] == "config":
                    config_index, config = msg[1], msg[2]
                elif msg[0] == "outcome":
                    elapsed = time.monotonic() - start
                    self._slowest = max(self._slowest, elapsed)
                    outcome = outcome_from_dict(msg[1], example)
                    if msg[2]:  # CUDA context poisoned: the worker exits
                        self.stats["crashes"] += 1
                        self._retire()
                        self._known[key] = outcome.failures[0]
                    elif self._fresh_each:
                        outcome = self._check_clean_exit(w, example, key, outcome, config, config_index, param_map)
                    return outcome
                elif msg[0] == "candidate_error":
                    raise CandidateError(msg[1])
                elif msg[0] == "error":
                    raise WorkerError(f"harness error in the worker:\n{msg[1]}")
                continue
            if ev[0] == "timeout":
                self._retire()
                self._budget_cut(limit, own_limit)
                self.stats["timeouts"] += 1
                self.stats["timeout_seconds"] += limit
                shortened = own_limit < self.timeout
                why = (f"no answer within {limit:.3g} s" + (f" (shortened from {self.timeout:.3g} s after an earlier "
                                                            "timeout)" if shortened else ""))
                if limit < own_limit:
                    why += (f", when the campaign's budget ran out (the limit per example is {own_limit:.3g} s), "
                            + ("and no example had finished" if not self._slowest else
                               f"over 10x the slowest finished example ({self._slowest:.3g} s)"))
                msg = (f"example timed out: {why}; the worker was killed\nExample: {example.describe()}"
                       + (f"\nRunning config: {config}" if config else ""))
                failure = Failure(kinds.TIMEOUT, example, msg, config,
                                  details={"config_index": config_index, "param_map": param_map,
                                           "limit_s": limit})
                self._known[key] = failure
                if self.exhausted:
                    self.notes.append(f"{self.stats['timeouts']} timeouts: examples not seen before are skipped "
                                      "from here on")
                return Outcome(example, failures=[failure])
            # the worker died
            code = ev[1]
            tail = w.stderr_tail(offset)
            self._retire()
            if reused and not confirming:
                # it may carry damage from an earlier example: ask a fresh worker
                again = self._run(example, key, confirming=True)
                if any(f.kind == kinds.CRASH for f in again.failures):
                    return again
                self.stats["unattributed_crashes"] += 1
                self._fresh_each = True
                self._retire()  # the worker that answered has run this example: the next one starts fresh
                self.notes.append(f"a worker {_describe_exit(code)} on an example that passes on a fresh worker "
                                  f"({example.describe()}): an earlier example damaged it; from here on every "
                                  "example gets a fresh worker checked for a clean exit")
                return again
            return self._crash(example, key, f"the worker {_describe_exit(code)} while running this example", tail,
                               config, config_index, param_map)

    def _crash(self, example, key, what, tail, config, config_index, param_map) -> Outcome:
        self.stats["crashes"] += 1
        msg = f"{what}\nExample: {example.describe()}"
        if config:
            msg += f"\nRunning config: {config}"
        if tail:
            msg += "\nlast lines of the worker's stderr:\n" + "\n".join("  " + ln for ln in tail.splitlines())
        failure = Failure(kinds.CRASH, example, msg, config,
                          details={"config_index": config_index, "param_map": param_map})
        self._known[key] = failure
        return Outcome(example, failures=[failure])

    def _budget_cut(self, limit: float, own_limit: float) -> None:
        """The budget stopped an example before its own time limit: unjudged (raises BudgetSpent) unless it had
        run 10x as long as the slowest example that finished, or none had finished (then it is a timeout)."""
        if limit >= own_limit or not self._slowest or limit >= max(10 * self._slowest, SHORT_FLOOR):
            return
        from .stops import BudgetSpent

        self.stats["examples"] -= 1
        raise BudgetSpent()

    def _check_clean_exit(self, w, example, key, outcome, config, config_index, param_map) -> Outcome:
        offset = w.log_size()
        code = w.stop()
        self._worker = None
        if code is not None and code != 0:
            return self._crash(example, key, f"the worker {_describe_exit(code)} while cleaning up after this "
                               "example (heap damage shows when memory is freed)", w.stderr_tail(offset),
                               config, config_index, param_map)
        return outcome

    def close(self) -> None:
        self._retire()
        shutil.rmtree(self._log_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ----------------------------------------------------------------------------------------------------
# compute-sanitizer (GPU): the minimal failing examples, or a sample of passing ones, under memcheck
# ----------------------------------------------------------------------------------------------------

SANITIZER_TOOLS = ("memcheck", "racecheck", "initcheck", "synccheck")


def sanitizer_unavailable() -> str | None:
    """Why ``--sanitize`` cannot run here, or None."""
    if backend.name() != "cuda":
        return f"needs a CUDA GPU (the backend is {backend.name()})"
    if shutil.which("compute-sanitizer") is None:
        return "compute-sanitizer is not on PATH"
    return None


def sanitize(problem, candidate: Candidate, failures: list, *, repro_dir: str, tools=("memcheck",),
             samples: int = 2, timeout: float = 600.0) -> list[dict]:
    """Re-run each failure's repro script (or, without failures, ``samples`` small examples) under
    ``compute-sanitizer --tool TOOL``; one finding per (example, tool): errors counted from the
    sanitizer's ERROR SUMMARY, with its first report lines."""
    import re
    import subprocess

    from . import repro as repro_mod

    if sanitizer_unavailable():
        return []
    jobs = []  # (example, script)
    for f in failures:
        script = f.repro if f.repro and os.path.exists(str(f.repro)) else repro_mod.write(problem, candidate, f,
                                                                                        repro_dir)
        jobs.append((f.example, script))
    if not jobs:
        sample = list(getattr(problem, "explicit", ()))[:samples] or [Example(sizes={n: 1 for n in
                                                                                  problem.size_names})]
        for ex in sample[:samples]:
            pseudo = Failure("sanitize_sample", ex, "a passing example, re-run under compute-sanitizer")
            jobs.append((ex, repro_mod.write(problem, candidate, pseudo, repro_dir)))
    findings = []
    for ex, script in jobs:
        for tool in tools:
            if tool not in SANITIZER_TOOLS:
                raise ValueError(f"sanitizer tool={tool!r} is not one of {', '.join(SANITIZER_TOOLS)}")
            cmd = ["compute-sanitizer", "--tool", tool, "--print-limit", "20", sys.executable, script]
            try:
                # without the caching allocator every tensor is its own allocation: memcheck sees the edges
                env = {**os.environ, "PYTORCH_NO_CUDA_MEMORY_CACHING": "1"}
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                                      cwd=os.path.dirname(os.path.abspath(script)))
                text, code = proc.stdout + proc.stderr, proc.returncode
            except subprocess.TimeoutExpired as e:
                text, code = f"{e.stdout or ''}{e.stderr or ''}\n(timed out after {timeout:g} s)", None
            m = re.search(r"ERROR SUMMARY:\s*(\d+)", text)
            errors = int(m.group(1)) if m else None
            report = [ln for ln in text.splitlines() if ln.startswith("=========")
                      and not any(x in ln for x in ("ERROR SUMMARY", "Host Frame", "host backtrace"))]
            findings.append({"example": ex.to_dict(), "tool": tool, "errors": errors, "returncode": code,
                             "script": script, "report": report[:12]})
    return findings
