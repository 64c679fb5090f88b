"""Solver executables (``cbc``, ``glpsol``, started by Pyomo's shell-solver driver) never outlive
bedalloc, and their files are removed.

Inside :func:`bound_to_this_process`:

* every executable Pyomo starts runs in a process group of its own (terminal signals reach
  bedalloc only, which stops it) and asks Linux to kill it when the process that started it dies
  (``prctl(PR_SET_PDEATHSIG, SIGKILL)`` between fork and exec), so that it dies even when
  bedalloc is killed with SIGKILL, or when the solver child of :func:`optimizer.deadline.run_bounded`
  is killed (the child dies with bedalloc the same way);
* Pyomo writes its model and solution files into a private folder
  ``bedalloc-pyomo-<pid>-*`` in the temporary folder, removed on the way out.  A process killed
  with SIGKILL cannot remove anything: the next run removes the folders of processes that no
  longer exist (:func:`remove_stale`).

Pyomo starts executables with ``subprocess.run`` from ``pyomo.opt.solver.shellcmd``; the
module's ``subprocess`` is replaced for the block by :class:`_Spawner`, which adds the
``preexec_fn``.  ``tests/test_reliability.py`` kills bedalloc during a ``pyomo:cbc`` solve and
checks that no ``cbc`` survives.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

PR_SET_PDEATHSIG = 1
PREFIX = "bedalloc-pyomo-"
_OWNER = re.compile(rf"{PREFIX}(\d+)-")


def _preexec(parent: int):
    """The function run in a new executable's process between fork and exec (see the module
    docstring): its own process group, and death with ``parent``."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    except (OSError, AttributeError):  # not Linux: the process group alone
        prctl = None

    def preexec() -> None:
        os.setpgid(0, 0)
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request
            os._exit(1)

    return preexec


class _Spawner:
    """Stands in for the ``subprocess`` module of Pyomo's shell-solver driver: ``run`` starts the
    executable with :func:`_preexec` and no terminal input, and kills it on a SIGINT or SIGTERM
    that `solve` noted (optimizer/interrupts.py: looked at every POLL_S); everything else is
    ``subprocess``'s."""

    def __init__(self, parent: int):
        self._preexec = _preexec(parent)

    def run(self, *args, input=None, timeout=None, check=False, capture_output=False, **kwargs):
        from ..interrupts import POLL_S
        from ..interrupts import check as check_interrupts

        if capture_output:
            kwargs.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        kwargs.setdefault("preexec_fn", self._preexec)
        kwargs.setdefault("stdin", subprocess.DEVNULL if input is None else subprocess.PIPE)
        end = None if timeout is None else time.monotonic() + timeout
        with subprocess.Popen(*args, **kwargs) as proc:
            try:
                while True:  # communicate may be called again after its timeout, losing nothing
                    try:
                        out, err = proc.communicate(input, timeout=POLL_S)
                        break
                    except subprocess.TimeoutExpired:
                        check_interrupts()
                        if end is not None and time.monotonic() >= end:
                            raise subprocess.TimeoutExpired(proc.args, timeout) from None
            except BaseException:  # the executable does not outlive the call, nor stays a zombie
                proc.kill()
                proc.wait()
                raise
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        if check:
            done.check_returncode()
        return done

    def __getattr__(self, name):
        return getattr(subprocess, name)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie does not: a killed solver child whose parent
    died waits for a reaper that a container's first process may never be)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):  # no /proc (not Linux), or it ended meanwhile
        return True


def remove_stale(root: Path) -> None:
    """Remove the ``bedalloc-pyomo-<pid>-*`` folders in ``root`` whose process no longer exists,
    and the solver-child folders (``bedalloc-solver-*``, :func:`optimizer.deadline.run_bounded`)
    that hold one."""
    try:
        found = [*root.glob(f"{PREFIX}*"), *root.glob(f"bedalloc-solver-*/{PREFIX}*")]
    except OSError:  # another process removed a folder while it was listed: clean up next time
        return
    for folder in found:
        owner = _OWNER.match(folder.name)
        if owner and not _alive(int(owner.group(1))):
            shutil.rmtree(folder.parent if folder.parent != root else folder, ignore_errors=True)


@contextmanager
def bound_to_this_process():
    """Solver executables started by Pyomo inside the block die with this process, and their
    files go to a private folder removed on the way out (see the module docstring)."""
    from pyomo.common.tempfiles import TempfileManager
    from pyomo.opt.solver import shellcmd

    here = Path(tempfile.gettempdir())
    root = here.parent if here.name.startswith("bedalloc-solver-") else here
    remove_stale(root)
    scratch = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
    kept = shellcmd.subprocess, TempfileManager.tempdir
    shellcmd.subprocess, TempfileManager.tempdir = _Spawner(os.getpid()), scratch
    try:
        yield
    finally:
        shellcmd.subprocess, TempfileManager.tempdir = kept
        shutil.rmtree(scratch, ignore_errors=True)
