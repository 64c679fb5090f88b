"""SIGINT and SIGTERM while ``bedalloc`` runs (MODEL.md §5, docs/reliability.md "Interrupts").

The handler only notes the signal in :data:`ARRIVED`.  A handler that raised KeyboardInterrupt
could run inside a finaliser (``__del__``) or a weakref callback, where Python prints the
exception ("Exception ignored in ...") and drops it: the interrupt would be lost.  `solve` acts
on a noted signal at its safe points (:func:`check`): after reading, at each stage, level and
pricing round of the solver, when the solver returns, after verifying, between the extra solves;
a solver in a child process (:func:`optimizer.deadline.run_bounded`) is killed within
:data:`POLL_S`.  The other commands act on signals as Python does (:func:`raising`).
"""

from __future__ import annotations

import signal
import threading

ARRIVED: list[int] = []  # the signals noted since :func:`noting`, in order
KINDS = (signal.SIGINT, signal.SIGTERM)
POLL_S = 0.1  # how often a parent waiting for its solver child looks at ARRIVED


def _note(signum, frame) -> None:
    ARRIVED.append(signum)


def _terminate(signum, frame) -> None:  # SIGTERM ends a command like Ctrl-C (MODEL.md §5: exit 130)
    raise KeyboardInterrupt


def noting():
    """From now on SIGINT and SIGTERM are only noted in :data:`ARRIVED` (emptied first); returns
    the function that puts the previous handlers back (``ignore=True``: ignores them instead, for
    a process about to end with its exit code decided) and empties it.  Python handles signals on
    its main thread only: called elsewhere, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return lambda ignore=False: None
    ARRIVED.clear()
    previous = [signal.signal(k, _note) for k in KINDS]

    def restore(ignore: bool = False) -> None:
        for k, handler in zip(KINDS, previous):
            signal.signal(k, signal.SIG_IGN if ignore else handler)
        ARRIVED.clear()
    return restore


def raising() -> None:
    """From now on SIGINT and SIGTERM raise KeyboardInterrupt where they arrive (commands other
    than `solve`); one noted before is raised at once."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _terminate)
    check()


def check() -> None:
    """A safe point: KeyboardInterrupt when a signal has been noted."""
    if ARRIVED:
        raise KeyboardInterrupt
