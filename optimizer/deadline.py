"""The whole-command time limit: ``bedalloc solve --time-limit T`` ends within about T seconds.

The limit counts from the start of the command.  After the instance is read, the solver gets the
time left minus a *reserve* for what follows it (decoding, a constructive plan when there is no
incumbent, verification, reasons, writing), estimated from the number of people: the
per-person figure is the measured cost of those phases on the 500,000-person benchmark instance
(``benchmarks/timelimit.py``) with a margin.  A solver that overruns its own limit (a solver
checks its clock only now and then, and not at all in some phases) is stopped from outside:
:func:`run_bounded` runs it in a forked child process that is killed at the hard deadline, and the
caller falls back to the constructive plan (MODEL.md §5: exit 1, a verified plan, never nothing).
"""

from __future__ import annotations

import os
import signal
import time

RESERVE_FIXED_S = 0.25  # summary, report table, process exit
RESERVE_PER_PERSON_S = 16e-6  # decode 3, constructive plan 6, verify 3, reasons 2.5, write 2.5 (us per person)
GRACE_S = 0.2  # how long past its deadline a solver may take to return before it is killed


class Overrun(Exception):
    """The solver did not return by the hard deadline and was killed."""


def reserve_s(people: int) -> float:
    """Seconds kept after the solver for ``people`` people (see the module docstring)."""
    return RESERVE_FIXED_S + RESERVE_PER_PERSON_S * people


def run_bounded(fn, hard_deadline: float):
    """``fn()`` in a forked child process, returning its (picklable) result.

    Raises :class:`Overrun` when the child has not answered by ``hard_deadline`` (a
    ``time.monotonic()`` value; the child is killed), and the child's own exception when ``fn``
    raised (``RuntimeError`` when the child died without answering).  The child ignores SIGINT and SIGTERM: the parent handles them and kills it
    (``KeyboardInterrupt`` propagates).  The child shares the parent's memory copy-on-write, so a
    model built before the call is not copied."""
    import multiprocessing as mp
    import pickle

    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)

    def child():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            payload = ("ok", fn())
        except BaseException as e:  # report, never raise in the child
            payload = ("error", e)
        try:
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:  # an unpicklable exception: its text
            data = pickle.dumps(("error", RuntimeError(f"{type(payload[1]).__name__}: {payload[1]} ({e})")))
        send.send_bytes(data)
        send.close()

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    send.close()
    try:
        if not recv.poll(max(0.0, hard_deadline - time.monotonic())):
            raise Overrun()
        try:
            kind, value = pickle.loads(recv.recv_bytes())
        except EOFError:  # the child died without answering (killed by the system, out of memory)
            raise RuntimeError(f"the solver process ended without a result (exit {proc.exitcode})") from None
    finally:
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        recv.close()
    if kind == "error":
        raise value
    return value
