"""Every available MIP backend reaches the same four levels as the brute force and as HiGHS."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bruteforce import RISK_UNITS, brute_force
from optimizer import backends
from optimizer.backends.base import BackendError, MipParams, MipProblem
from optimizer.errors import SolverError
from optimizer.generate import national_instance
from optimizer.instance import read_instance
from optimizer.engine import SolveParams, solve
from marketsplit import market_split as _market_split
from randinst import load_random

AVAILABLE = [b["name"] for b in backends.describe() if b["available"] and b["name"] in backends.MIP]
pytestmark = pytest.mark.skipif(not AVAILABLE, reason="no MIP backend besides HiGHS installed")


def _params(name):
    return SolveParams(mip_gap=1e-9, solver=name)


PYOMO = [b["name"] for b in backends.describe() if b["available"] and b["name"].startswith("pyomo:")]


@pytest.mark.parametrize("name,seeds", [(n, 100) for n in AVAILABLE] + [(n, 40) for n in PYOMO])
def test_random_instances_against_brute_force(tmp_path, name, seeds):
    """MIP backends and the readable Pyomo reference formulation (pyomo_model.py)."""
    for seed in range(seeds):
        inst = load_random(seed, tmp_path)
        ref = brute_force(inst)
        res = solve(inst, _params(name))
        o = res.objective
        assert res.termination == "optimal", seed
        assert (o["unplaced"], o["surge"]) == (ref.unplaced, ref.surge), seed
        assert round(o["released_risk"] * RISK_UNITS) == ref.released_risk_units, seed
        # CP-SAT optimises level 4 on costs scaled to whole cents (optimizer/backends/cpsat.py): its
        # optimum must still equal the float optimum on every test instance
        assert abs(o["cost_usd"] - ref.cost_usd) <= 1e-6 * max(1.0, ref.cost_usd), seed


@pytest.mark.parametrize("name", AVAILABLE)
def test_tiny_instance(name):
    res = solve(read_instance("instances/tiny.json"), _params(name))
    assert res.objective["unplaced"] == 0 and res.objective["surge"] == 1
    assert res.objective["released_risk"] == 122.5
    assert res.objective["cost_usd"] == pytest.approx(24716.889, abs=0.01)


@pytest.mark.parametrize("name", AVAILABLE)
def test_medium_instance_agrees_with_highs(tmp_path, name):
    path = tmp_path / "hou.json"
    path.write_text(json.dumps(national_instance(seed=1, aors=["HOU"], scale=0.1)))
    inst = read_instance(path)
    ref = solve(inst, SolveParams(mip_gap=1e-9))
    res = solve(inst, _params(name))
    for level in ("unplaced", "surge", "released_risk"):
        assert res.objective[level] == ref.objective[level]
    assert res.objective["cost_usd"] == pytest.approx(ref.objective["cost_usd"], rel=1e-6)  # cpsat too (scaled)


@pytest.mark.parametrize("name", AVAILABLE)
def test_unplaced_people_on_every_backend(tmp_path, name):
    """A mandatory woman with no women's unit: level 1 is 1 on every backend."""
    doc = json.loads(open("instances/tiny.json").read())
    doc["people"].append({"id": "P99", "sex": "F", "level": "D", "risk": 50.0, "aor": doc["aors"][0]["code"],
                          "mandatory": True})
    doc["facilities"] = [{**f, "units": [u for u in f["units"] if u["sex"] != "F"]} for f in doc["facilities"]]
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc))
    inst = read_instance(path)
    assert solve(inst, _params(name)).objective["unplaced"] == solve(inst, SolveParams()).objective["unplaced"] >= 1


def test_unknown_solver_is_refused():
    with pytest.raises(BackendError, match="unknown solver"):
        backends.get("nosuchsolver")


@pytest.mark.parametrize("name", AVAILABLE)
def test_numpy_integer_data_and_infeasible_status(name):
    """numpy int64 arrays are accepted (ENGINEERING.md §4 issue 15); x0 + x1 >= 3 with both <= 1
    is reported infeasible without a solution."""
    import scipy.sparse as sp

    A = sp.csc_matrix(np.array([[1, 1]], dtype=np.int64))
    problem = MipProblem(A, np.array([3]), np.array([np.inf]), np.zeros(2, np.int64), np.ones(2, np.int64),
                         np.array([1, 2], dtype=np.int64), np.ones(2, bool))
    res = backends.get(name).solve(problem, MipParams())
    assert res.termination == "infeasible" and not res.has_solution and res.x is None
    feasible = MipProblem(A, np.array([1]), np.array([np.inf]), np.zeros(2), np.ones(2), np.array([1.0, 2.0]),
                          np.ones(2, bool))
    res = backends.get(name).solve(feasible, MipParams())
    assert res.termination == "optimal" and res.objective == 1.0 and list(res.x) == [1.0, 0.0]


def test_flow_backend_against_brute_force(tmp_path):
    """The min-cost-flow backend on random instances without families; families are refused."""
    solved = refused = 0
    for seed in range(150):
        inst = load_random(seed, tmp_path)
        if any(p.family_id and not (p.removal_day is not None and p.removal_day <= p.arrival_day)
               for p in inst.people):  # a family still needing a decision
            with pytest.raises(BackendError, match="families"):
                solve(inst, SolveParams(solver="flow"))
            refused += 1
            continue
        ref = brute_force(inst)
        o = solve(inst, SolveParams(solver="flow")).objective
        assert (o["unplaced"], o["surge"]) == (ref.unplaced, ref.surge), seed
        assert round(o["released_risk"] * RISK_UNITS) == ref.released_risk_units, seed
        assert abs(o["cost_usd"] - ref.cost_usd) <= 0.01 * len(inst.people) + 1e-6, seed  # whole cents
        solved += 1
    assert solved > 50 and refused > 20


def test_flow_backend_refuses_when_weights_overflow(tmp_path):
    path = tmp_path / "mia.json"
    path.write_text(json.dumps(national_instance(seed=0, aors=["MIA"], scale=0.5)))
    with pytest.raises(SolverError, match="64-bit"):  # a solver failure on valid input: exit 4
        solve(read_instance(path), SolveParams(solver="flow"))



def test_unavailable_pyomo_solver_is_refused():
    with pytest.raises(BackendError, match="unknown Pyomo solver"):
        backends.get("pyomo:gurobi")


@pytest.mark.parametrize("name", AVAILABLE)
def test_time_limit_without_incumbent(name):
    res = backends.get(name).solve(_market_split(6, 0, slack=False), MipParams(time_limit=0.5))
    assert res.termination == "time_limit" and not res.has_solution and res.x is None and res.objective is None
    assert res.runtime_s < 5


@pytest.mark.parametrize("name", AVAILABLE)
def test_time_limit_with_incumbent(name):
    problem = _market_split(6, 0, slack=True)
    res = backends.get(name).solve(problem, MipParams(time_limit=0.5))
    assert res.termination == "time_limit" and res.has_solution
    assert res.objective == pytest.approx(problem.cost @ res.x) and res.objective > 0
    A = problem.A @ res.x  # the incumbent is feasible
    assert np.allclose(A, problem.row_lower) and np.all(res.x[:50] <= 1 + 1e-6)
    assert res.bound is None or res.bound <= res.objective
    assert res.runtime_s < 5


def test_time_limited_solve_writes_a_feasible_plan(tmp_path):
    """A solve stopped by the time limit still returns the incumbent, with the levels reached."""
    from optimizer.verifier import verify

    path = tmp_path / "mia.json"
    path.write_text(json.dumps(national_instance(seed=1, aors=["MIA"], scale=0.5)))
    inst = read_instance(path)
    res = solve(inst, SolveParams(solver="cpsat", time_limit=1.0))
    assert res.termination == "time_limit" and res.levels_proven < 4
    assert verify(inst, res.rows).ok


def _status_enum(name):
    if name == "highs-mip":
        import highspy

        return [k for k in dir(highspy.HighsModelStatus) if k.startswith("k")]
    if name == "cpsat":
        from ortools.sat import cp_model_pb2

        return list(cp_model_pb2.CpSolverStatus.keys())
    if name == "scip":
        return ["OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNBOUNDED", "ABNORMAL", "MODEL_INVALID", "NOT_SOLVED"]
    from pyomo.opt import TerminationCondition

    return [t.name for t in TerminationCondition]


@pytest.mark.parametrize("name", ["highs-mip", "cpsat", "scip", "pyomo:highs"])
def test_native_status_table_is_total(name):
    """Every native status the solver can return has an explicit termination."""
    from optimizer.backends.base import TERMINATIONS

    mod = backends.get(name)
    native = _status_enum(name)
    assert set(native) == set(mod.STATUS), set(native) ^ set(mod.STATUS)
    assert set(mod.STATUS.values()) <= set(TERMINATIONS)
    for ok in ("kOptimal", "OPTIMAL", "optimal"):
        if ok in mod.STATUS:
            assert mod.STATUS[ok] == "optimal"
    for limit in ("kTimeLimit", "FEASIBLE", "UNKNOWN", "NOT_SOLVED", "maxTimeLimit"):
        if limit in mod.STATUS:
            assert mod.STATUS[limit] == "time_limit"


@pytest.mark.parametrize("name,option,flag", [("flow", {"time_limit": 5.0}, "--time-limit"),
                                              ("flow", {"seed": 3}, "--seed"),
                                              ("pyomo:glpk", {"threads": 2}, "--threads")])
def test_options_a_backend_cannot_honour_are_refused(name, option, flag):
    if not any(b["name"] == name and b["available"] for b in backends.describe()):
        pytest.skip(f"{name} not installed")
    with pytest.raises(BackendError, match=f"cannot honour {flag}"):
        backends.check(name, option)
    backends.check(name, {})  # defaults are always fine


@pytest.mark.parametrize("kwargs,field", [({"time_limit": 0.0}, "time_limit"), ({"time_limit": float("inf")}, "time_limit"),
                                          ({"mip_gap": 1.0}, "mip_gap"), ({"threads": -1}, "threads"),
                                          ({"seed": 2**31}, "seed"), ({"abs_gap": -1.0}, "abs_gap")])
def test_invalid_parameters_fail_at_once(kwargs, field):
    with pytest.raises(BackendError, match=field):
        MipParams(**kwargs)
    with pytest.raises(TypeError):
        MipParams(presolve=False)  # an unknown option


def test_cli_refuses_an_option_the_solver_cannot_honour(tmp_path, capsys):
    from optimizer.cli import main

    out = tmp_path / "plan"
    assert main(["solve", "instances/tiny.json", "--solver", "flow", "--time-limit", "5", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cannot honour --time-limit" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def _no_families(tmp_path, per_diem_factor: float):
    doc = json.loads(open("instances/tiny.json").read())
    doc["people"] = [p for p in doc["people"] if not p.get("family_id")]
    doc["facilities"] = [{**f, "per_diem": f["per_diem"] * per_diem_factor} for f in doc["facilities"]]
    doc["atd_programs"] = [{**a, "per_diem": a["per_diem"] * per_diem_factor} for a in doc["atd_programs"]]
    path = tmp_path / f"nofam-{per_diem_factor:g}.json"
    path.write_text(json.dumps(doc))
    return read_instance(path)


def test_flow_refuses_costs_that_would_wrap_around_instead_of_answering_wrong(tmp_path):
    """Weights are computed in Python integers: huge per diems are refused, never wrapped."""
    inst = _no_families(tmp_path, 1.0)
    ref = solve(inst, SolveParams()).objective
    o = solve(inst, SolveParams(solver="flow")).objective
    assert [o[k] for k in ("unplaced", "surge", "released_risk")] == [ref[k] for k in ("unplaced", "surge",
                                                                                         "released_risk")]
    for factor in (1e3, 1e6):  # per diems up to 1e9 USD are valid input
        with pytest.raises(SolverError, match="64-bit"):  # a solver failure on valid input: exit 4
            solve(_no_families(tmp_path, factor), SolveParams(solver="flow"))


@pytest.mark.skipif("cpsat" not in AVAILABLE, reason="CP-SAT not installed")
def test_cpsat_large_costs_stay_within_int64(tmp_path):
    """Unbounded columns get a domain from the data, not 10**9, so large costs still solve."""
    inst = _no_families(tmp_path, 1e4)
    ref = solve(inst, SolveParams(mip_gap=1e-9)).objective
    o = solve(inst, SolveParams(solver="cpsat", mip_gap=1e-9)).objective
    assert [o[k] for k in ("unplaced", "surge", "released_risk")] == [ref[k] for k in ("unplaced", "surge",
                                                                                         "released_risk")]
    assert o["cost_usd"] == pytest.approx(ref["cost_usd"], rel=1e-6)


def test_solvers_table_prints_install_hints_with_their_brackets(monkeypatch, capsys):
    """An unavailable backend's install hint keeps its extra ('.[gurobi]'), which rich would
    otherwise read as markup and drop."""
    hint = "(gurobipy is not installed: pip install -e '.[gurobi]')"
    monkeypatch.setattr(backends, "describe", lambda: [
        {"name": "gurobi", "available": False, "version": hint, "options": [], "features": []}])
    monkeypatch.setenv("COLUMNS", "200")
    assert backends.cmd_solvers(None) == 0
    assert "pip install -e '.[gurobi]'" in capsys.readouterr().out
