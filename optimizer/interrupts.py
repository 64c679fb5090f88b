"""SIGINT and SIGTERM while ``bedalloc`` runs (MODEL.md §5, docs/reliability.md "Interrupts").

The handler notes every signal in :data:`ARRIVED`.  Until :func:`hold`, it also raises
KeyboardInterrupt where the signal arrives, so that long Python work (reading, building a model,
Pyomo's model) stops at once.  Python may run the handler inside a finaliser (``__del__``) or a
weakref callback, where it prints the exception ("Exception ignored in ...") and drops it: the
note stays, and `solve` acts on it at its next safe point (:func:`check`): after reading, at each
stage, level and pricing round of the solver, before each HiGHS run and at each of its
iterations (HiGHS's interrupt callback, :func:`optimizer.lexico._stop_on_signal`), while it waits for a
solver child (:func:`optimizer.deadline.run_bounded`) or executable (killed within
:data:`POLL_S`), when the solver returns, after verifying.  After :func:`hold` (the plan is
verified) signals are only noted: the plan is written whole.
"""

from __future__ import annotations

import signal
import threading

ARRIVED: list[int] = []  # the signals noted since :func:`noting`, in order
KINDS = (signal.SIGINT, signal.SIGTERM)
POLL_S = 0.1  # how often a wait for a solver child or executable looks at ARRIVED
_held = False


def _note(signum, frame) -> None:
    ARRIVED.append(signum)
    if not _held and not _in_source_text(frame):
        raise KeyboardInterrupt


def _in_source_text(frame) -> bool:
    """Whether ``frame`` runs inside code that exec() or eval() compiled from a string (dataclass
    and namedtuple methods being made, mostly while a module is imported): CPython marks a
    KeyboardInterrupt that leaves such code as never handled and, although bedalloc handles it,
    ends the process by SIGINT at exit (exit -2 instead of 130).  There the signal is only noted."""
    while frame is not None:
        if frame.f_code.co_filename == "<string>":
            return True
        frame = frame.f_back
    return False


def noting():
    """From now on SIGINT and SIGTERM are noted in :data:`ARRIVED` (emptied first) and raise
    KeyboardInterrupt until :func:`hold`; returns the function that puts the previous handlers
    back (``ignore=True``: ignores them instead, for a process about to end with its exit code
    decided) and empties it.  Python handles signals on its main thread only: called elsewhere,
    nothing changes."""
    global _held
    if threading.current_thread() is not threading.main_thread():
        return lambda ignore=False: None
    ARRIVED.clear()
    _held = False
    previous = [signal.signal(k, _note) for k in KINDS]

    def restore(ignore: bool = False) -> None:
        global _held
        for k, handler in zip(KINDS, previous):
            signal.signal(k, signal.SIG_IGN if ignore else handler)
        ARRIVED.clear()
        _held = False
    return restore


def hold() -> None:
    """From now on a signal is only noted (``solve`` once its plan is verified: MODEL.md §5)."""
    global _held
    _held = True


def check() -> None:
    """A safe point: KeyboardInterrupt when a signal has been noted."""
    if ARRIVED:
        raise KeyboardInterrupt
