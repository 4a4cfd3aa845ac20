"""The reference out of the candidate's reach: every reference value is computed in a process where candidate code
never ran.

The float64 analysis, the operand-rounded ("emulated") analyses, PyTorch's peer output and PyTorch's own output at
the candidate's dtype (everything :class:`fusefuzz.harness.judging.Context` offers a policy) are ordinary PyTorch
calls. Made in the process that imported the candidate, they would use whatever the candidate left there: a
``torch.nn.functional.gelu`` replaced at import, a ``Conv2d._conv_forward`` whose code was swapped (same function
object, so no identity check sees it), a flipped TF32 switch. :mod:`fusefuzz.harness.tamper` names such changes;
this module makes them powerless: the values come from a *reference process*.

- An isolation worker forks its reference process first thing (:func:`fork_now`), before it imports the candidate
  and before CUDA is initialised; the fork shares torch's already-imported modules, so it costs milliseconds.
- Any other process that judges (the pytest plugin, ``--no-isolation``, the bench) starts one on first use
  (:func:`client`) as a fresh interpreter (``python -c``) that imports torch and the harness, never candidate
  code.

The protocol is one request, one reply over a socket pair, pickled with the standard pickler (tensors travel by
value, CUDA ones come back on the device). A :class:`Session` holds one example's inputs and parameters in the
reference process; its values are computed there lazily and cached here by the caller. A problem travels by name
(plus the source a run-time problem was built from); a problem object that is neither registered nor picklable
(a test's ad-hoc record) is evaluated in this process, and :attr:`Session.where` says so.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
import pickle
import socket
import subprocess
import sys
import threading
from collections import OrderedDict
from multiprocessing.connection import Connection

import torch

#: tests set this to False to show what the reference process protects against; nothing else should
ENABLED = True
#: sessions the reference process keeps (examples whose values may still be asked for)
KEEP_SESSIONS = 8
#: seconds a spawned reference process may take to import torch and the harness
START_TIMEOUT = 120.0

_LOCK = threading.Lock()
_CLIENT: ReferenceProcess | None = None


class ReferenceProcessError(RuntimeError):
    """The reference process died or answered nonsense: a harness failure (exit 3), never the candidate's."""


# ----------------------------------------------------------------------------------------------------
# What is computed (here or there): one example's reference values
# ----------------------------------------------------------------------------------------------------

class Evaluation:
    """One example's reference values, computed in *this* process from the given inputs and parameters.

    The reference process holds one per session; :class:`Session` asks it over the socket. ``reference`` (the
    module at the example's dtype) is rebuilt from the problem when not given."""

    def __init__(self, problem, example, inputs, params, device, reference=None):
        self.problem, self.example, self.inputs, self.params, self.device = problem, example, inputs, params, device
        self._reference = reference

    def reference(self) -> torch.nn.Module:
        if self._reference is None:
            model = self.problem.make_reference(self.example, self.device)
            with torch.no_grad():
                own = dict(model.named_parameters())
                for n, p in self.params.items():
                    if n in own:
                        own[n].copy_(p)
            self._reference = model
        return self._reference

    def analysis(self):
        return self.problem.analyse(self.example, self.inputs, self.params)

    def emulated(self, contract: str):
        """The float64 analysis with operands rounded like ``contract``."""
        from .reference import round_operand

        inputs = [round_operand(x, contract) for x in self.inputs]
        # weights (dim >= 2) are dot operands; biases (1-D) are added in fp32 and stay as they are
        params = {n: round_operand(p, contract) if p.dim() >= 2 else p for n, p in self.params.items()}
        return self.problem.analyse(self.example, inputs, params)

    def peer(self, contract: str) -> torch.Tensor:
        """PyTorch at the candidate's precision: TF32 off, operands pre-rounded like the contract."""
        from .precision import operand_roundoff
        from .reference import round_operand, run_reference, tf32_disabled

        rounds = operand_roundoff(contract, self.example.dtype) > 0
        model = copy.deepcopy(self.reference())
        with torch.no_grad():
            if rounds:
                for p in model.parameters():
                    if p.dim() >= 2:  # weights are dot operands; biases are added in fp32
                        p.copy_(round_operand(p, contract))
            inputs = [round_operand(x, contract) if rounds else x for x in self.inputs]
            with tf32_disabled():
                return run_reference(model, inputs, self.example)

    def torch(self) -> torch.Tensor:
        """The reference at the candidate's dtype with PyTorch's default flags (KernelBench's check)."""
        from .reference import run_reference

        with torch.no_grad():
            return run_reference(self.reference(), self.inputs, self.example)


class Session:
    """One example's reference values as the judging context asks for them; see the module docstring."""

    def __init__(self, problem, example, inputs, params, device, reference=None):
        self._local = Evaluation(problem, example, inputs, params, device, reference)
        self._remote = None
        self.where = "in this process (reference process disabled)"
        server = client() if ENABLED else None
        if server is None:
            return
        ref = _problem_ref(problem)
        if ref is None:
            self.where = (f"in this process: problem {problem.name!r} is neither registered nor picklable, "
                          "so no other process can rebuild it")
            return
        self._remote = server
        self._sid = server.open(ref, example, inputs, params, device)
        self.where = server.how

    def _ask(self, op, *args):
        if self._remote is None:
            return getattr(self._local, op)(*args)
        return self._remote.call(op, self._sid, *args)

    def analysis(self):
        return self._ask("analysis")

    def emulated(self, contract: str):
        return self._ask("emulated", contract)

    def peer(self, contract: str) -> torch.Tensor:
        return self._ask("peer", contract)

    def torch(self) -> torch.Tensor:
        return self._ask("torch")

    def __del__(self):
        remote = getattr(self, "_remote", None)
        if remote is not None:
            with contextlib.suppress(Exception):
                remote.forget(self._sid)


def _problem_ref(problem):
    """How the reference process finds ``problem``: ("name", name, source) or ("pickled", bytes); None: it cannot."""
    from .problems.problem import _REGISTRY

    if _REGISTRY.get(problem.name) is problem:
        return ("name", problem.name, problem.source)
    try:
        return ("pickled", pickle.dumps(problem))
    except Exception:  # noqa: BLE001 - lambdas, modules, local classes: not transferable
        return None


# ----------------------------------------------------------------------------------------------------
# The client side
# ----------------------------------------------------------------------------------------------------

class ReferenceProcess:
    """This process's handle on its reference process."""

    def __init__(self, conn: Connection, pid: int, how: str, popen=None):
        self.conn, self.pid, self.how, self._popen = conn, pid, how, popen
        self._ids = itertools.count(1)
        self._forgotten: list[int] = []
        self._lock = threading.Lock()

    def call(self, op, *args):
        with self._lock:
            forgotten, self._forgotten = self._forgotten, []
            try:
                self.conn.send_bytes(pickle.dumps((op, forgotten, *args), protocol=pickle.HIGHEST_PROTOCOL))
                status, value = pickle.loads(self.conn.recv_bytes())
            except (EOFError, OSError, pickle.UnpicklingError) as e:
                raise ReferenceProcessError(f"the reference process (pid {self.pid}) is gone: {e!r}; "
                                            "see the run's log for why (killed for memory?)") from None
        if status == "raise":
            raise value
        return value

    def open(self, problem_ref, example, inputs, params, device) -> int:
        sid = next(self._ids)
        # clones: views of bigger storages (strided layouts) travel with what they need, nothing else
        self.call("open", sid, problem_ref, example, [x.detach().clone() for x in inputs],
                  {n: p.detach().clone() for n, p in params.items()}, str(device))
        return sid

    def forget(self, sid: int) -> None:
        self._forgotten.append(sid)  # sent with the next request: no round trip from a finaliser

    @property
    def alive(self) -> bool:
        if self._popen is not None:
            return self._popen.poll() is None
        try:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return False
        return pid == 0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        if self._popen is not None:
            with contextlib.suppress(Exception):
                self._popen.wait(timeout=5)


def fork_now() -> ReferenceProcess:
    """Fork this process's reference process now. Call it before any candidate code runs and before CUDA is
    initialised (an isolation worker does, first thing)."""
    global _CLIENT
    here, there = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the reference process
        try:
            here.close()
            fd = there.detach()
            os.closerange(3, fd)  # nothing of the worker's (its pipe to the campaign) stays open here
            os.closerange(fd + 1, _max_fd())
            _serve(Connection(fd))
        finally:
            os._exit(0)
    there.close()
    with _LOCK:
        _CLIENT = ReferenceProcess(Connection(here.detach()), pid,
                                   f"in reference process {pid}, forked before the candidate was imported")
    return _CLIENT


def _max_fd() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (ValueError, OSError):  # pragma: no cover
        return 4096


def spawn() -> ReferenceProcess:
    """Start a reference process as a fresh interpreter that imports torch and the harness only."""
    here, there = socket.socketpair()
    path = [p for p in sys.path if p]
    code = f"import sys; sys.path[:0] = {path!r}; from fusefuzz.harness.refserver import _main; _main({there.fileno()})"
    popen = subprocess.Popen([sys.executable, "-c", code], pass_fds=[there.fileno()], stdin=subprocess.DEVNULL,
                             start_new_session=True)
    there.close()
    conn = Connection(here.detach())
    if not conn.poll(START_TIMEOUT):
        popen.kill()
        raise ReferenceProcessError(f"the reference process did not start within {START_TIMEOUT:g} s")
    try:
        hello = conn.recv_bytes()
    except EOFError:
        raise ReferenceProcessError(f"the reference process exited at start (code {popen.wait()})") from None
    if hello != b"ready":
        raise ReferenceProcessError(f"the reference process said {hello[:80]!r} at start")
    return ReferenceProcess(conn, popen.pid, f"in reference process {popen.pid}, a fresh interpreter", popen)


def client() -> ReferenceProcess | None:
    """This process's reference process, started on first use (None when disabled)."""
    global _CLIENT
    if not ENABLED:
        return None
    with _LOCK:
        if _CLIENT is None or not _CLIENT.alive:
            _CLIENT = spawn()
        return _CLIENT


# ----------------------------------------------------------------------------------------------------
# The reference process
# ----------------------------------------------------------------------------------------------------

def _main(fd: int) -> None:
    conn = Connection(fd)
    import fusefuzz.harness.problems  # noqa: F401 - the built-in problems, before the first request

    conn.send_bytes(b"ready")
    _serve(conn)


def _problem(ref):
    from . import problems
    from .problems.problem import _REGISTRY

    if ref[0] == "pickled":
        return pickle.loads(ref[1])
    _, name, source = ref
    problems.names()  # the built-in ones
    known = _REGISTRY.get(name)
    if known is not None and (source is None or known.source == source):
        return known
    if source is None:
        raise ReferenceProcessError(f"problem={name!r} is not known in the reference process")
    from .problems import kernelbench

    _REGISTRY[name] = kernelbench.from_source(source)
    return _REGISTRY[name]


def _serve(conn: Connection) -> None:
    sessions: OrderedDict[int, Evaluation] = OrderedDict()
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the judging process is gone
        try:
            op, forgotten, *args = pickle.loads(data)
            for sid in forgotten:
                sessions.pop(sid, None)
            if op == "open":
                sid, ref, example, inputs, params, device = args
                sessions[sid] = Evaluation(_problem(ref), example, inputs, params, device)
                while len(sessions) > KEEP_SESSIONS:
                    sessions.popitem(last=False)
                value = None
            else:
                sid, *rest = args
                if sid not in sessions:
                    raise ReferenceProcessError(f"session {sid} was dropped (more than {KEEP_SESSIONS} open)")
                value = getattr(sessions[sid], op)(*rest)
            reply = ("ok", value)
        except BaseException as e:  # noqa: BLE001 - every error goes back to the caller, the process stays
            reply = ("raise", e)
        try:
            payload = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - an exception that cannot be pickled still says what happened
            e = reply[1]
            payload = pickle.dumps(("raise", ReferenceProcessError(f"{type(e).__name__}: {e}")))
        try:
            conn.send_bytes(payload)
        except OSError:
            return
