"""The lexicographic engine: column generation, optimal faces and the MIP fallback are exact.

The default settings rarely need many pricing rounds on small instances, so these tests shrink
the initial column sets and the entering batches to one column, which forces every path: columns
priced in round after round, columns fixed by lifted duals that were never priced in, the MIP
fallback with held levels.  Each run is compared with the independent brute force at all four
levels, and the class model with the person-by-unit formulation on medium generated instances.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import optimizer.lexico as lexico
from bruteforce import RISK_UNITS, brute_force
from optimizer.generate import national_instance
from optimizer.instance import parse_instance, read_instance
from optimizer.model import RISK_SCALE
from optimizer.engine import SolveParams, bound_and_gap, solve
from randinst import load_random

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from person_model import build_person_model  # noqa: E402

PARAMS = SolveParams(mip_gap=1e-9)


def _same(obj, ref, label):
    assert obj["unplaced"] == ref.unplaced, label
    assert obj["surge"] == ref.surge, label
    assert round(obj["released_risk"] * RISK_UNITS) == ref.released_risk_units, label
    assert abs(obj["cost_usd"] - ref.cost_usd) <= 1e-6 * max(1.0, abs(ref.cost_usd)), label


@pytest.fixture
def one_column_at_a_time(tune):
    tune(initial_arcs=1, initial_segments=1, enter_per_group=1, enter_segments=1)


def test_column_generation_one_column_at_a_time(tmp_path, one_column_at_a_time):
    assumed = 0
    for seed in range(200):
        inst = load_random(seed, tmp_path)
        res = solve(inst, PARAMS)
        assert res.termination == "optimal"
        _same(res.objective, brute_force(inst), f"seed {seed}")
        assumed += res.native_status[0] == "At its lower bound"
    assert 0 < assumed < 200  # levels 1-2 proven at their lower bounds without their LPs, and not


def test_mip_fallback_with_held_levels(tmp_path, monkeypatch, one_column_at_a_time):
    """Force the path used when an optimal face holds no integer point."""
    monkeypatch.setattr(lexico, "_faces", lambda *args: None)
    for seed in range(100):
        inst = load_random(seed, tmp_path)
        res = solve(inst, PARAMS)
        assert res.termination == "optimal"
        _same(res.objective, brute_force(inst), f"seed {seed}")


@pytest.mark.parametrize("aor,scale", [("MIA", 0.06), ("SNA", 0.1), ("ELP", 0.1), ("HOU", 0.1)])
def test_class_model_equals_person_by_unit_model(tmp_path, tune, aor, scale):
    """Medium generated instances (families, staging sites, guaranteed minimums, AOR programs):
    the class model (with default and with one-column pricing) and the straightforward
    person-by-unit model reach the same four levels."""
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(national_instance(seed=3, aors=[aor], scale=scale)))
    inst = read_instance(path)
    assert len(inst.people) > 100
    res = solve(inst, PARAMS)
    assert res.termination == "optimal"
    model = build_person_model(inst)
    x, proven, _, _, _ = lexico.solve_lexicographic(model, lexico.LevelParams(mip_gap=1e-9), None)
    assert proven == 4
    v = model.objectives @ x + model.offsets
    assert int(round(v[0])) == res.objective["unplaced"]
    assert int(round(v[1])) == res.objective["surge"]
    assert round(v[2] / RISK_SCALE, 4) == res.objective["released_risk"]
    assert v[3] == pytest.approx(res.objective["cost_usd"], rel=1e-7)
    tune(initial_arcs=1, initial_segments=1, enter_per_group=1, enter_segments=1)
    again = solve(inst, PARAMS)
    assert again.objective["unplaced"] == res.objective["unplaced"]
    assert again.objective["surge"] == res.objective["surge"]
    assert again.objective["released_risk"] == res.objective["released_risk"]
    assert again.objective["cost_usd"] == pytest.approx(res.objective["cost_usd"], rel=1e-7)


def test_each_run_gets_the_time_left_on_top_of_earlier_runs(monkeypatch):
    """HiGHS counts ``time_limit`` against the total run time of an object that is run again, so
    the limit a persistent LP gets is its run time so far plus the time left (before, a later
    level of a 35 s run stopped at once because the earlier levels had used 17.5 s)."""

    class FakeHighs:
        def __init__(self):
            self.options = {}

        def getRunTime(self):
            return 17.5

        def setOptionValue(self, name, value):
            self.options[name] = value

        def setCallback(self, fn, data):
            self.callback = fn

        def startCallback(self, kind):
            pass

        def run(self):
            pass

        def getModelStatus(self):
            import highspy

            return highspy.HighsModelStatus.kOptimal

        def getInfo(self):
            return type("Info", (), {"primal_solution_status": 2})()

        def modelStatusToString(self, status):
            return "Optimal"

    s = lexico.LexSolver.__new__(lexico.LexSolver)
    s.deadline = lexico.time.monotonic() + 10.0
    h = FakeHighs()
    assert s._run(h) == ("Optimal", True)
    assert 17.5 + 9.0 < h.options["time_limit"] <= 17.5 + 10.0


def test_a_limit_at_a_later_level_keeps_the_proven_integer_point(monkeypatch, tmp_path):
    """When the LP of level 4 is stopped by the limit, the integer LP optimum of level 3 (on the
    optimal faces of levels 1-2 of the compact model, carried to the full model by
    ``HorizonLift.solution``) is returned with three levels proven, not thrown away (before,
    the plan fell back to the constructive one with no level proven)."""
    from optimizer.instance import parse_instance

    inst = parse_instance(json.loads(json.dumps(national_instance(seed=3, aors=["HOU"], scale=0.2, horizon_days=5))))
    ref = solve(inst, PARAMS)
    assert ref.levels_proven == 4
    solve_lp = lexico.LexSolver.solve_lp

    def level_4_stopped(self, cost, x_prev=None, level=None):
        if len(self.m.unit_type) == 0:  # the full model: only level 4 is solved there
            return "Time limit reached", False, None, None, None, None
        return solve_lp(self, cost, x_prev, level)

    monkeypatch.setattr(lexico.LexSolver, "solve_lp", level_4_stopped)
    res = solve(inst, PARAMS)
    assert res.levels_proven == 3 and res.native_status[-1] == "LP: Time limit reached"
    assert [res.objective[k] for k in ("unplaced", "surge", "released_risk")] == [
        ref.objective[k] for k in ("unplaced", "surge", "released_risk")]
    # the same through the command line, and summary.json's
    # bounds and gaps are those of the written plan's values (MODEL.md §5)
    from optimizer.cli import main

    path = tmp_path / "hou5.json"
    path.write_text(json.dumps(national_instance(seed=3, aors=["HOU"], scale=0.2, horizon_days=5)))
    assert ref.objective["unplaced"] == 0  # everyone has a legal outcome: exit 1, a limit stopped level 4
    assert main(["solve", str(path), "--out", str(tmp_path / "plan"), "--quiet"]) == 1
    summary = json.loads((tmp_path / "plan" / "summary.json").read_text())
    assert summary["levels_proven_optimal"] == 3
    for k, v in summary["objective"].items():
        b = summary["bound"][k]
        assert (b is None) == (k == "cost_usd") and (b is None or b <= v)
        assert summary["gap"][k] == (None if b is None else abs(v - b) / max(1.0, abs(v)))


def test_bound_and_gap_are_measured_against_the_plan():
    """The gap is |objective - bound| / max(1, |objective|) of the values given; a bound above the
    objective (rounding to cents) is cut to it."""
    objective = {"unplaced": 0, "surge": 3, "released_risk": 8408.1321, "cost_usd": 1131712.16}
    bound, gap = bound_and_gap(objective, {"unplaced": 0, "surge": None, "released_risk": 4049.6036,
                                           "cost_usd": 1131712.163})
    assert bound == {"unplaced": 0, "surge": None, "released_risk": 4049.6036, "cost_usd": 1131712.16}
    assert gap == {"unplaced": 0.0, "surge": None, "released_risk": (8408.1321 - 4049.6036) / 8408.1321,
                   "cost_usd": 0.0}


def test_the_constructive_plan_keeps_the_level_1_bound(monkeypatch):
    """When the engine stops with no integer point but with level 1's LP solved, the constructive
    plan written instead reports that bound (rounded up to whole people) and its gap."""
    import optimizer.engine as solve_module
    from optimizer.instance import parse_instance

    inst = parse_instance(json.loads(json.dumps(national_instance(seed=3, aors=["HOU"], scale=0.2, horizon_days=5))))
    monkeypatch.setattr(solve_module, "solve_lexicographic",
                        lambda *a, **k: (None, 0, [2.2], ["LP: Time limit reached"], "1.16"))
    res = solve(inst, PARAMS)
    assert res.levels_proven == 0 and res.native_status[-1] == "constructive heuristic"
    assert res.bound == {"unplaced": 3, "surge": None, "released_risk": None, "cost_usd": None}
    u = res.objective["unplaced"]
    assert u == 4 and res.gap["unplaced"] == (4 - 3) / 4  # the constructive plan's 4 against the bound 3


def test_levels_1_2_at_their_bounds_hold_when_releases_need_unpriced_segments():
    """A one-day instance whose levels 1-2 are 0 but whose releases need more risk segments than
    the first LP prices in: the lower-bound assumption must hold (it is judged on every column,
    not on the priced subset), with the same four levels as ``highs-mip``."""
    inst = parse_instance(json.loads(json.dumps(national_instance(seed=1, aors=["MIA"], scale=0.3))))
    res = solve(inst, PARAMS)
    assert res.native_status[:2] == ["At its lower bound"] * 2 and res.termination == "optimal"
    ref = solve(inst, SolveParams(mip_gap=1e-9, solver="highs-mip")).objective
    for k in ("unplaced", "surge", "released_risk"):
        assert res.objective[k] == pytest.approx(ref[k], abs=1e-9), k
    assert res.objective["cost_usd"] == pytest.approx(ref["cost_usd"], rel=1e-6)
