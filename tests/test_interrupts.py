"""SIGINT and SIGTERM during `bedalloc solve` (MODEL.md §5, docs/reliability.md "Interrupts",
optimizer/interrupts.py): never lost, even when Python runs the handler inside a finaliser or a
weakref callback; exit 130 and nothing written before the plan is verified, the whole plan and
exit 1 after.  Each signal is raised by a test hook at a chosen moment (issue 20)."""

from __future__ import annotations

import json
import os
import signal
import time
import weakref
from pathlib import Path

import pytest

import optimizer.engine
import optimizer.htmlreport
import optimizer.instance
import optimizer.report
import optimizer.verifier
from optimizer import solvecmd
from optimizer.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny.json"
SIGNALS = [signal.SIGINT, signal.SIGTERM]
DROPPED = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # what a finaliser raised


class _Finalised:
    def __init__(self, sig):
        self.sig = sig

    def __del__(self):  # Python drops what a finaliser raises ("Exception ignored in ...")
        signal.raise_signal(self.sig)


class _Target:
    pass


def _in_a_finaliser(sig) -> None:
    _Finalised(sig)  # no reference kept: finalised at once


def _in_a_weakref_callback(sig) -> None:
    target = _Target()
    keep = weakref.ref(target, lambda ref: signal.raise_signal(sig))
    del target  # the callback runs here
    assert keep() is None


def _plainly(sig) -> None:
    signal.raise_signal(sig)


def _signal_after(monkeypatch, module, name: str, sig, how=_plainly) -> None:
    """``module.name`` runs, then ``sig`` arrives (``how``: plainly, or inside a finaliser)."""
    real = getattr(module, name)

    def hooked(*args, **kwargs):
        value = real(*args, **kwargs)
        how(sig)
        return value

    monkeypatch.setattr(module, name, hooked)


def _solve(tmp_path, *extra) -> tuple[int, Path]:
    out = tmp_path / "plan"
    return main(["solve", str(TINY), "--out", str(out), *extra]), out


def _nothing_written(code: int, out: Path, err: str) -> None:
    assert code == 130, err
    assert "bedalloc: interrupted; nothing written" in err
    assert not out.exists() and os.listdir(out.parent) == []


def _plan_written(code: int, out: Path, err: str) -> None:
    assert code == 1, err
    assert f"bedalloc: interrupted; the verified plan was written to {out}" in err and "nothing written" not in err
    assert json.loads((out / "summary.json").read_text())["objective"]["unplaced"] == 0
    assert main(["check", str(TINY), str(out)]) == 0


@DROPPED
@pytest.mark.parametrize("sig", SIGNALS)
@pytest.mark.parametrize("how", [_in_a_finaliser, _in_a_weakref_callback])
def test_a_signal_handled_inside_a_finaliser_is_not_lost(how, sig, tmp_path, monkeypatch, capsys):
    """Before the fix the handler's KeyboardInterrupt was dropped there and nothing remembered
    it: the run went on, wrote its plan and exited 0.  Now the note is acted on after reading."""
    _signal_after(monkeypatch, optimizer.instance, "read_instance", sig, how)
    code, out = _solve(tmp_path)
    _nothing_written(code, out, capsys.readouterr().err)


@pytest.mark.parametrize("sig", SIGNALS)
@pytest.mark.parametrize("module, name", [(optimizer.instance, "read_instance"),  # after reading
                                          (optimizer.engine, "solve_lexicographic"),  # when the solver returns
                                          (optimizer.verifier, "verify")])  # while verifying
def test_a_signal_before_the_plan_is_verified_is_exit_130_and_writes_nothing(module, name, sig, tmp_path,
                                                                           monkeypatch, capsys):
    _signal_after(monkeypatch, module, name, sig)
    code, out = _solve(tmp_path)
    _nothing_written(code, out, capsys.readouterr().err)


def test_a_signal_between_levels_stops_the_solver_at_the_next_level(tmp_path, monkeypatch, capsys):
    levels = []

    def progress(text, *args):
        levels.append(text)
        if text.startswith("level 1"):
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(solvecmd, "_checking", lambda say, real=solvecmd._checking: real(progress))
    code, out = _solve(tmp_path)
    _nothing_written(code, out, capsys.readouterr().err)
    assert levels[-1].startswith("level 1")  # the level-2 stage was never reached


@pytest.mark.parametrize("sig", SIGNALS)
def test_a_signal_kills_the_solver_child_at_once(sig, tmp_path, monkeypatch, capsys):
    """With --time-limit the solver runs in a child process, deaf to signals: the parent notes the
    signal and kills the child within interrupts.POLL_S, long before the limit."""
    pid_file = tmp_path.parent / f"{tmp_path.name}.pid"

    def stuck(*args, **kwargs):  # runs in the child
        pid_file.write_text(str(os.getpid()))
        os.kill(os.getppid(), sig)
        time.sleep(60)

    monkeypatch.setattr(optimizer.engine, "solve_lexicographic", stuck)
    t0 = time.monotonic()
    code, out = _solve(tmp_path, "--time-limit", "50")
    assert time.monotonic() - t0 < 5
    _nothing_written(code, out, capsys.readouterr().err)
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(int(pid_file.read_text()), 0)


@pytest.mark.parametrize("sig", SIGNALS)
def test_a_signal_during_a_highs_run_stops_it_within_an_iteration(sig, tmp_path, monkeypatch, capsys):
    """Without --time-limit HiGHS runs in this process: its interrupt callback stops the run at
    the next iteration (the signal is raised at the first one here), not when the LP is solved."""
    import optimizer.lexico
    from optimizer.generate import national_instance

    calls, real = [], optimizer.lexico._stop_on_signal

    def first_raises(*args):
        calls.append(args[0])
        if len(calls) == 1:
            signal.raise_signal(sig)  # the handler runs here, inside HiGHS's call
        real(*args)

    monkeypatch.setattr(optimizer.lexico, "_stop_on_signal", first_raises)
    path = tmp_path.parent / f"{tmp_path.name}-mia.json"
    path.write_text(json.dumps(national_instance(seed=1, aors=["MIA"], scale=0.3)))
    out = tmp_path / "plan"
    code = main(["solve", str(path), "--out", str(out)])
    _nothing_written(code, out, capsys.readouterr().err)
    assert len(calls) == 1  # the handler's KeyboardInterrupt ended the run in that call: no later iteration


def test_a_signal_during_the_value_of_a_bed_stops_its_lp_and_keeps_the_plan(tmp_path, monkeypatch, capsys):
    """After the plan is verified a signal is only noted; the LPs of --bed-values stop at their
    next iteration all the same, and summary.json says the extra solve was interrupted."""
    import optimizer.interrupts
    import optimizer.lexico
    from optimizer.generate import national_instance

    calls, real = [], optimizer.lexico._stop_on_signal

    def raises_once_verified(*args):
        if optimizer.interrupts._held:
            calls.append(args[0])
            if len(calls) == 1:
                signal.raise_signal(signal.SIGINT)  # only noted now
        real(*args)

    monkeypatch.setattr(optimizer.lexico, "_stop_on_signal", raises_once_verified)
    path = tmp_path.parent / f"{tmp_path.name}-mia.json"
    path.write_text(json.dumps(national_instance(seed=1, aors=["MIA"], scale=0.3)))
    out = tmp_path / "plan"
    code = main(["solve", str(path), "--out", str(out), "--bed-values", "3"])
    err = capsys.readouterr().err
    assert code == 1 and f"bedalloc: interrupted; the verified plan was written to {out}" in err
    assert json.loads((out / "summary.json").read_text())["extras_interrupted"] == ["bed_values"]
    assert len(calls) == 1  # the run stopped at the iteration after the signal


@DROPPED
@pytest.mark.parametrize("sig", SIGNALS)
@pytest.mark.parametrize("module, name", [(optimizer.htmlreport, "render"),  # the plan folder is in place
                                          (optimizer.report, "print_summary")])
def test_a_signal_after_the_plan_is_written_keeps_it_and_exits_1(module, name, sig, tmp_path, monkeypatch, capsys):
    _signal_after(monkeypatch, module, name, sig, _in_a_finaliser)
    report = tmp_path / "report.html"
    code, out = _solve(tmp_path, "--report", str(report))
    _plan_written(code, out, capsys.readouterr().err)
    assert report.stat().st_size > 0


def test_signals_are_handlers_of_their_own_only_while_a_command_runs(tmp_path):
    before = [signal.getsignal(k) for k in SIGNALS]
    assert main(["solve", str(TINY), "--out", str(tmp_path / "plan"), "--quiet"]) == 0
    assert main(["validate", str(TINY)]) == 0
    assert [signal.getsignal(k) for k in SIGNALS] == before


@pytest.mark.parametrize("stage", ["verified", "written"])
def test_a_signal_after_a_plan_with_proven_unplaced_people_still_exits_3(stage, tmp_path, monkeypatch, capsys):
    """Precedence 2, 4, 3, 1, 0 (MODEL.md §5): proven unplaced people outrank the interrupt."""
    from randinst import short_of_cd_beds

    from optimizer import generate

    path = tmp_path / "short.json"
    path.write_text(json.dumps(short_of_cd_beds(generate.national_instance(seed=1, aors=["NOL"], scale=0.05))))
    monkeypatch.setattr(solvecmd, "_reached", lambda at: signal.raise_signal(signal.SIGTERM) if at == stage else None)
    out = tmp_path / "plan"
    assert main(["solve", str(path), "--out", str(out), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "no legal outcome" in err and f"interrupted; the verified plan was written to {out}" in err
    assert (out / "diagnosis.json").exists() and main(["check", str(path), str(out)]) == 0


def test_a_noted_signal_kills_a_solver_executable_at_once(tmp_path):
    """pyomo:cbc and pyomo:glpk run executables (optimizer/backends/executables.py): a noted signal
    stops the wait and kills the executable (it runs in a process group of its own, so Ctrl-C at
    a terminal reaches bedalloc only)."""
    import threading

    from optimizer import interrupts
    from optimizer.backends.executables import _Spawner

    spawner = _Spawner(os.getpid())
    assert spawner.run(["sh", "-c", "read x; echo $x"], input="seen\n", capture_output=True, text=True).stdout == "seen\n"
    restore = interrupts.noting()
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
    t0 = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            spawner.run(["sh", "-c", f"echo $$ > {tmp_path / 'pid'}; exec sleep 30"])
    finally:
        restore()
    assert time.monotonic() - t0 < 2
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(int((tmp_path / "pid").read_text()), 0)


def test_a_signal_inside_code_made_from_a_string_is_only_noted():
    """dataclasses and namedtuple make methods with exec(): CPython ends a process whose
    KeyboardInterrupt left such code by SIGINT (exit -2, seen when a signal came while a module
    was being imported), so the handler only notes it there and the next safe point acts."""
    from optimizer import interrupts

    restore = interrupts.noting()
    try:
        exec("import signal\nsignal.raise_signal(signal.SIGINT)")
        assert interrupts.ARRIVED == [signal.SIGINT]
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()
        with pytest.raises(KeyboardInterrupt):  # elsewhere it stops the run where it arrives
            signal.raise_signal(signal.SIGTERM)
    finally:
        restore()


def test_a_signal_as_the_solver_child_starts_still_kills_it(tmp_path, monkeypatch, capsys):
    """run_bounded: an interrupt between the child's start and the wait for its answer (here in
    the parent's setpgid call) used to skip the clean-up, leaving the child running."""
    pid_file = tmp_path.parent / f"{tmp_path.name}.pid"

    def stuck(*args, **kwargs):  # runs in the child
        pid_file.write_text(str(os.getpid()))
        time.sleep(60)

    real = os.setpgid

    def setpgid(pid, group):
        real(pid, group)
        if pid:  # the parent's call (the child's is setpgid(0, 0))
            while not pid_file.exists():
                time.sleep(0.01)
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(optimizer.engine, "solve_lexicographic", stuck)
    monkeypatch.setattr(os, "setpgid", setpgid)
    code, out = _solve(tmp_path, "--time-limit", "50")
    monkeypatch.undo()
    _nothing_written(code, out, capsys.readouterr().err)
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(int(pid_file.read_text()), 0)
