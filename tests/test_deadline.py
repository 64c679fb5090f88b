"""The whole-command time limit (optimizer/deadline.py): the solver runs in a child process that
is killed when it overruns, and the command still returns a verified constructive plan."""

from __future__ import annotations

import json
import time

import pytest

import optimizer.engine as solve_mod
from optimizer.backends.base import BackendError
from optimizer.cli import main
from optimizer.deadline import Overrun, run_bounded
from optimizer.instance import read_instance
from optimizer.engine import SolveParams, solve
from optimizer.verifier import verify


def test_run_bounded_returns_the_childs_result_and_its_exceptions():
    assert run_bounded(lambda report: {"x": [1, 2, 3]}, time.monotonic() + 30) == {"x": [1, 2, 3]}

    def refuse(report):
        raise BackendError("no families")

    with pytest.raises(BackendError, match="no families"):  # the type survives: exit 2, not 4
        run_bounded(refuse, time.monotonic() + 30)


def test_run_bounded_kills_a_child_that_overruns_and_keeps_its_last_partial_result():
    with pytest.raises(Overrun) as stop:
        run_bounded(lambda report: time.sleep(120), time.monotonic() + 0.5)
    assert stop.value.partial is None

    def levels(report):
        report({"proven": 1})
        report({"proven": 2})
        time.sleep(120)

    with pytest.raises(Overrun) as stop:
        run_bounded(levels, time.monotonic() + 1.0)
    assert stop.value.partial == {"proven": 2}


def test_a_solver_that_ignores_its_limit_is_stopped_and_a_constructive_plan_returned(monkeypatch):
    """The engine is replaced by one that sleeps far past the deadline: solve returns the
    verified constructive plan instead of waiting."""
    monkeypatch.setattr(solve_mod, "solve_lexicographic", lambda *a, **k: time.sleep(120))
    inst = read_instance("instances/tiny.json")
    res = solve(inst, SolveParams(time_limit=1.0))
    assert res.termination == "time_limit" and res.levels_proven == 0
    assert res.native_status == ["solver process killed at the time limit (it did not stop by itself)",
                                 "constructive heuristic"]
    assert res.verified is not None and res.verified.ok and verify(inst, res.rows).ok


def test_an_exhausted_limit_skips_the_model(tmp_path):
    """A deadline already past when the arrays are ready: no model is built (size 0), the plan is
    the constructive one, verified, exit 1."""
    out = tmp_path / "plan"
    assert main(["solve", "instances/tiny.json", "--time-limit", "0.001", "--out", str(out), "--quiet"]) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model_size"] == {"variables": 0, "constraints": 0, "nonzeros": 0}
    assert summary["native_status"] == ["no time left for the solver", "constructive heuristic"]
    assert main(["check", "instances/tiny.json", str(out)]) == 0



def test_extra_solves_share_the_commands_limit():
    """--bed-values and --capacity-curve under a deadline that has passed: no re-solve, no point,
    ``complete`` false; without one, everything and ``complete`` true."""
    from optimizer.bedvalue import bed_values
    from optimizer.instance import load_json
    from optimizer.whatif import capacity_curve

    inst = read_instance("instances/tiny.json")
    late = time.monotonic() + 0.01
    time.sleep(0.02)
    values = bed_values(inst, 3, deadline=late)
    assert not values["complete"] and all(u["method"] == "lp_dual" for u in values["units"])
    assert bed_values(inst, 3)["complete"]
    doc = load_json("instances/tiny.json")
    curve = capacity_curve(doc, [-10, 0, 10], risks=[50.0], deadline=late)
    assert curve == {"points": [], "beds_needed": [], "complete": False}
    full = capacity_curve(doc, [-10, 0, 10], risks=[50.0])
    assert full["complete"] and len(full["points"]) == 3 and len(full["beds_needed"]) == 1


def test_a_curve_point_cut_short_is_left_out_not_verified_against_other_beds(monkeypatch):
    """A point whose solve the limit cut short (its plan may be the constructive one, made for
    today's beds) ends the curve there instead of failing verification against scaled beds."""
    import dataclasses

    import optimizer.whatif as whatif
    from optimizer.instance import load_json

    real = whatif.solve
    calls = []

    def cut_after_first(*args, **kwargs):
        res = real(*args, **kwargs)
        calls.append(1)
        return res if len(calls) == 1 else dataclasses.replace(res, levels_proven=0, termination="time_limit")

    monkeypatch.setattr(whatif, "solve", cut_after_first)
    curve = whatif.capacity_curve(load_json("instances/tiny.json"), [-30, 0, 30],
                                  deadline=time.monotonic() + 600)
    assert not curve["complete"] and [p["percent"] for p in curve["points"]] == [-30]


def test_a_solver_process_killed_by_the_system_still_gives_a_verified_plan(monkeypatch):
    """The child dies without answering (as under the out-of-memory killer): the constructive
    plan, verified, with the reason in the statuses."""
    import os
    import signal

    monkeypatch.setattr(solve_mod, "solve_lexicographic", lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL))
    inst = read_instance("instances/tiny.json")
    res = solve(inst, SolveParams(time_limit=30.0))
    assert res.levels_proven == 0 and res.verified.ok
    assert res.native_status[0].startswith("the solver process ended without a result")
    assert res.native_status[-1] == "constructive heuristic"


def test_a_stopped_search_keeps_the_constructive_plan_when_that_is_better(monkeypatch):
    """The engine stops with the all-unplaced plan (feasible, poor): the verified constructive
    plan, lexicographically better, is returned instead, with the search's statuses."""
    import numpy as np

    def all_unplaced(model, *a, **k):
        x = np.zeros(model.A.shape[1])
        x[model.blocks["unp"]] = model.col_upper[model.blocks["unp"]]
        x[model.blocks["funp"]] = 1
        return x, 0, [], ["stopped"], "test"

    monkeypatch.setattr(solve_mod, "solve_lexicographic", all_unplaced)
    inst = read_instance("instances/tiny.json")
    res = solve(inst, SolveParams(time_limit=30.0))
    assert res.native_status == ["stopped", "constructive heuristic (better than the stopped search's plan)"]
    assert res.verified.ok and res.objective["unplaced"] < len(inst.people)


@pytest.mark.parametrize("below", [0, 1])
def test_a_constructive_plan_at_the_level_1_bound_proves_level_1(monkeypatch, below):
    """The search stops without a plan but with a level-1 bound: the constructive plan proves
    level 1 exactly when its unplaced count equals that bound (MODEL.md §5: exit 3 then)."""
    inst = read_instance("instances/tiny.json")
    monkeypatch.setattr(solve_mod, "solve_lexicographic", lambda *a, **k: (None, 0, [], ["stopped"], "test"))
    unplaced = solve(inst, SolveParams(time_limit=30.0)).objective["unplaced"]
    monkeypatch.setattr(solve_mod, "solve_lexicographic",
                        lambda *a, **k: (None, 0, [float(unplaced - below)], ["stopped"], "test"))
    res = solve(inst, SolveParams(time_limit=30.0))
    assert res.bound["unplaced"] == unplaced - below
    assert res.levels_proven == (1 if below == 0 else 0)


def test_a_busy_machine_widens_the_reserves(monkeypatch, tmp_path):
    """Issue 20 item 8: the reserve after the solver and the lift reserve are measured on a quiet
    machine; a read phase that ran at a sixth of the CPU (other work on the machine) scales them
    by that factor, so that the solver stops early enough for its result to be written."""
    import optimizer.instance
    from optimizer.deadline import reserve_s, slowdown
    from optimizer.settings import SETTINGS

    assert slowdown(0.3, 0.1) == pytest.approx(3.0) and slowdown(0.05, 0.1) == 1.0 and slowdown(9.0, 0.01) == 1.0
    assert slowdown(100.0, 0.1) == SETTINGS.max_slowdown
    seen = {}
    real_read, real_solve = optimizer.instance.read_instance, solve_mod.solve

    def busy_read(path, digest=None):  # 0.06 s of CPU over about 0.36 s of wall clock
        start = time.process_time()
        while time.process_time() - start < 0.06:
            pass
        time.sleep(0.3)
        return real_read(path, digest)

    def spy(inst, params, deadline=None, models=None):
        seen.update(slowdown=params.slowdown, left=deadline - time.monotonic())
        return real_solve(inst, params, deadline=deadline, models=models)

    monkeypatch.setattr(optimizer.instance, "read_instance", busy_read)
    monkeypatch.setattr(solve_mod, "solve", spy)
    assert main(["solve", "instances/tiny.json", "--time-limit", "60", "--out", str(tmp_path / "p"),
                 "--quiet"]) == 0
    assert 4.0 <= seen["slowdown"] <= SETTINGS.max_slowdown
    # the solver's share: the limit less the read and the reserve, which grew by the factor
    assert seen["left"] < 60 - 0.3 - reserve_s(12, 1) * seen["slowdown"] + 0.05
