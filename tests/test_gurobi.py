"""The Gurobi backends (optional gurobipy): the lexicographic optimum on tiny and against brute
force, a total status map, and a clear refusal above the size-limited licence."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from bruteforce import RISK_UNITS, brute_force, brute_force_days
from optimizer import backends
from optimizer.backends import base
from optimizer.backends.base import BackendError, MipParams, MipProblem
from optimizer.instance import read_instance
from optimizer.engine import SolveParams, solve
from marketsplit import market_split
from randinst import load_multiday, load_random

NAMES = ("gurobi", "gurobi-lex")


def test_listed_as_unavailable_with_the_reason_without_gurobipy(monkeypatch):
    from optimizer.backends import gurobi

    monkeypatch.setattr(gurobi, "importable", lambda module: False)
    monkeypatch.setattr(backends, "NAMES", NAMES)  # the other backends' probes take seconds
    listed = {b["name"]: b for b in backends.describe()}
    for name in NAMES:
        assert listed[name]["available"] is False
        assert "gurobipy is not installed" in listed[name]["version"]
    with pytest.raises(BackendError, match="not available on this machine: gurobipy is not installed"):
        backends.get("gurobi-lex")


needs_gurobi = pytest.mark.skipif(not base.importable("gurobipy"), reason="gurobipy is not installed")


@needs_gurobi
@pytest.mark.parametrize("name", NAMES)
def test_tiny_instance(name):
    res = solve(read_instance("instances/tiny.json"), SolveParams(mip_gap=1e-9, solver=name))
    assert res.termination == "optimal" and res.levels_proven == 4
    assert (res.objective["unplaced"], res.objective["surge"], res.objective["released_risk"]) == (0, 1, 122.5)
    assert res.objective["cost_usd"] == pytest.approx(24716.889, abs=0.01)


@needs_gurobi
@pytest.mark.parametrize("name", NAMES)
def test_random_instances_against_brute_force(tmp_path, name):
    for seed in range(20):
        inst = load_random(seed, tmp_path)
        ref = brute_force(inst)
        res = solve(inst, SolveParams(mip_gap=1e-9, solver=name))
        o = res.objective
        assert res.termination == "optimal", seed
        assert (o["unplaced"], o["surge"]) == (ref.unplaced, ref.surge), seed
        assert round(o["released_risk"] * RISK_UNITS) == ref.released_risk_units, seed
        assert abs(o["cost_usd"] - ref.cost_usd) <= 1e-6 * max(1.0, ref.cost_usd), seed


@needs_gurobi
@pytest.mark.parametrize("name", NAMES)
def test_random_multi_day_instances_against_brute_force(tmp_path, name):
    for seed in range(10):
        inst = load_multiday(seed, tmp_path)
        ref = brute_force_days(inst)
        res = solve(inst, SolveParams(mip_gap=1e-9, solver=name))
        o, H = res.objective, inst.horizon_days
        assert res.termination == "optimal", seed
        assert (o["unplaced"], o["surge"]) == (ref.unplaced, ref.surge), seed
        assert o["released_risk"] * H * RISK_UNITS == pytest.approx(ref.released_risk_units, abs=1e-6), seed
        assert o["cost_usd"] == pytest.approx(ref.cost_usd, rel=1e-6, abs=1e-6), seed


@needs_gurobi
def test_native_status_table_is_total():
    from gurobipy import GRB

    from optimizer.backends.base import TERMINATIONS
    from optimizer.backends.gurobi import STATUS

    assert set(STATUS) == {n for n in dir(GRB.Status) if n.isupper()}
    assert set(STATUS.values()) <= set(TERMINATIONS)
    assert STATUS["OPTIMAL"] == "optimal" and STATUS["TIME_LIMIT"] == "time_limit"


@needs_gurobi
def test_a_model_above_the_licence_limit_is_refused_with_the_reason():
    from optimizer.backends import gurobi

    if not gurobi._size_limited():
        pytest.skip("an unrestricted Gurobi licence")
    n = 2500
    problem = MipProblem(sp.csc_matrix(np.ones((1, n))), np.array([1.0]), np.array([np.inf]), np.zeros(n),
                         np.ones(n), np.ones(n), np.ones(n, bool))
    with pytest.raises(BackendError, match=r"\(2500 variables, 1 rows\) is above the Gurobi licence's size limit"):
        gurobi.solve(problem, MipParams())


@needs_gurobi
@pytest.mark.parametrize("slack", [False, True])
def test_time_limit_with_and_without_incumbent(slack):
    from optimizer.backends import gurobi

    problem = market_split(6, 0, slack=slack)
    res = gurobi.solve(problem, MipParams(time_limit=0.5))
    assert res.termination == "time_limit" and res.native_status == "TIME_LIMIT" and res.runtime_s < 5
    assert res.has_solution is slack and (res.x is None) is (not slack)
    if slack:  # the incumbent is feasible, its objective the solver's
        assert res.objective == pytest.approx(problem.cost @ res.x) and res.objective > 0
        assert np.allclose(problem.A @ res.x, problem.row_lower) and res.bound <= res.objective


@needs_gurobi
def test_hierarchical_passes_stopped_by_the_limit():
    """gurobi-lex stopped in its first pass: no level proven, the incumbent kept, the later
    passes not reported."""
    import time
    from types import SimpleNamespace

    from optimizer.backends.gurobi_lex import solve_levels
    from optimizer.lexico import LevelParams

    p = market_split(6, 0, slack=True)
    n = p.A.shape[1]
    model = SimpleNamespace(A=p.A, row_lower=p.row_lower, row_upper=p.row_upper, col_lower=p.col_lower,
                            col_upper=p.col_upper, objectives=np.vstack([p.cost, np.ones(n), np.zeros((2, n))]))
    x, proven, bounds, statuses, version = solve_levels(model, LevelParams(), time.monotonic() + 0.5)
    assert proven == 0 and statuses == ["TIME_LIMIT"] and len(bounds) == 1 and version.startswith("Gurobi")
    assert x is not None and np.allclose(p.A @ x, p.row_lower) and bounds[0] <= p.cost @ x
