"""The whole-command time limit: ``bedalloc solve --time-limit T`` ends within about T seconds.

The limit counts from the start of the command.  After the instance is read, the solver gets the
time left minus a *reserve* for what follows it (decoding, a constructive plan when there is no
incumbent, verification, reasons, writing), estimated from the number of people and days: the
per-person figure is the measured cost of those phases on the 500,000-person benchmark instance
(``benchmarks/timelimit.py``) with a margin, the per-person-day one that of the two constructive
plans of a multi-day instance (national, 14 days).  A solver that overruns its own limit (a solver
checks its clock only now and then, and not at all in some phases) is stopped from outside:
:func:`run_bounded` runs it in a forked child process that is killed at the hard deadline, and the
caller falls back to the constructive plan (MODEL.md §5: exit 1, a verified plan, never nothing).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time

from .settings import SETTINGS


class Overrun(Exception):
    """The solver did not return by the hard deadline and was killed; ``partial`` is the last
    value it reported on the way (None when none)."""

    def __init__(self, partial=None):
        super().__init__("the solver did not return by the deadline")
        self.partial = partial


class SolverDied(RuntimeError):
    """The solver's process ended without a result (killed by the system, out of memory)."""


def reserve_s(people: int, days: int) -> float:
    """Seconds kept after the solver for ``people`` people over ``days`` days (see the module
    docstring)."""
    per_day = SETTINGS.reserve_per_person_day_s * days if days > 1 else 0.0
    return SETTINGS.reserve_fixed_s + people * (SETTINGS.reserve_per_person_s + per_day)


def slowdown(wall_s: float, cpu_s: float) -> float:
    """How much slower than its own CPU time this process ran a phase (1 to SETTINGS.max_slowdown): the
    share of the machine that other work takes.  The reserves and the build estimate are measured
    on a quiet machine; ``solve`` scales them by this factor of its read phase, so that on a busy
    machine the solver stops early enough for its result to be carried over and written (a
    solver killed at the hard deadline leaves only the constructive plan).  1 when the phase used
    under 0.05 s of CPU (too short to tell)."""
    if cpu_s < 0.05:
        return 1.0
    return min(SETTINGS.max_slowdown, max(1.0, wall_s / cpu_s))


def build_s(people: int, days: int) -> float:
    """Estimated seconds to build the model of ``people`` people over ``days`` days: with less
    time left than this, no model is built and the constructive plan is written at once."""
    return people * (SETTINGS.build_per_person_s + SETTINGS.build_per_person_day_s * days)


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when its parent dies (prctl PR_SET_PDEATHSIG), so that a
    solver child never outlives a bedalloc killed by a signal it cannot handle."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the pipe still ends it when it writes
        pass
    if os.getppid() != parent:  # the parent died before the request
        os._exit(1)


def run_bounded(fn, hard_deadline: float):
    """``fn(report)`` in a forked child process, returning its (picklable) result.

    ``report(value)`` sends a partial result on the way (for example after each proven level).
    Raises :class:`Overrun` (carrying the last partial result) when the child has not answered by
    ``hard_deadline`` (a ``time.monotonic()`` value; the child is killed), and the child's own
    exception when ``fn`` raised (:class:`SolverDied` when the child died without answering).  The
    child ignores SIGINT and SIGTERM: the parent handles them and kills it (``KeyboardInterrupt``
    propagates; a signal only noted, :mod:`optimizer.interrupts`, is acted on within its POLL_S).
    The child shares the parent's memory copy-on-write, so a model built before the call is not
    copied.  It runs in its own process group, killed as a whole when it ends, with a
    private temporary folder that is removed, so solver executables and their files do not
    outlive it."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    scratch = tempfile.mkdtemp(prefix="bedalloc-solver-")
    proc = ctx.Process(target=_child, args=(fn, recv, send, os.getpid(), scratch), daemon=True)
    try:  # from the start: an interrupt may come as soon as the child runs
        proc.start()
        try:
            os.setpgid(proc.pid, proc.pid)  # also from here: no race with the child's own call
        except (ProcessLookupError, PermissionError):
            pass
        send.close()
        kind, value = _answer(recv, proc, hard_deadline)
    finally:
        send.close()
        _end_child(proc, recv, scratch)
    if kind == "error":
        raise value
    return value


def _send(send, kind: str, value) -> None:
    """Pickle ``(kind, value)`` down the pipe; an unpicklable exception goes as its text."""
    import pickle

    try:
        data = pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # an unpicklable exception: its text
        data = pickle.dumps(("error", RuntimeError(f"{type(value).__name__}: {value} ({e})")))
    send.send_bytes(data)


def _child(fn, recv, send, parent: int, scratch: str) -> None:
    """The forked child of :func:`run_bounded`: deaf to SIGINT and SIGTERM, dies with its
    parent, leads its own process group, keeps its files in ``scratch``, and sends the partial
    results and then ``fn``'s result or exception; it never raises."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent(parent)
    recv.close()  # only the parent reads: a write after the parent has gone fails instead of blocking
    os.setpgid(0, 0)  # its own group: a solver executable it starts (cbc, glpsol) dies with it
    os.environ["TMPDIR"] = tempfile.tempdir = scratch  # solver files go where the parent removes them
    try:
        kind, value = "ok", fn(lambda partial: _send(send, "partial", partial))
    except BaseException as e:  # report, never raise in the child
        kind, value = "error", e
    _send(send, kind, value)
    send.close()


def _answer(recv, proc, hard_deadline: float) -> tuple[str, object]:
    """Wait for the child's answer (``"ok"`` or ``"error"``, and its value), keeping the last
    partial result; :class:`Overrun` at ``hard_deadline``, :class:`SolverDied` when the child
    died without answering, KeyboardInterrupt when a signal is noted (optimizer/interrupts.py)."""
    import pickle

    from .interrupts import POLL_S, check

    partial = None
    while True:
        while not recv.poll(min(max(0.0, hard_deadline - time.monotonic()), POLL_S)):
            check()
            if time.monotonic() >= hard_deadline:
                raise Overrun(partial)
        try:
            kind, value = pickle.loads(recv.recv_bytes())
        except EOFError:  # the child died without answering (killed by the system, out of memory)
            proc.join(1.0)
            raise SolverDied(f"the solver process ended without a result (exit {proc.exitcode})") from None
        if kind != "partial":
            return kind, value
        partial = value


def _end_child(proc, recv, scratch: str) -> None:
    """Kill the child's process group (the child and anything it started), reap it, close the
    pipe and remove its temporary folder."""
    if proc.pid is not None:  # started
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the child and anything it started
        except (ProcessLookupError, PermissionError):
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGKILL)
        proc.join()
    recv.close()
    shutil.rmtree(scratch, ignore_errors=True)
