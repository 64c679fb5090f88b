"""The multi-day model (optimizer/horizon.py) against the brute force, the one-day model and
the verifier, on every MIP backend."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bruteforce import RISK_UNITS, brute_force_days
from optimizer import backends
from optimizer.backends.base import BackendError
from optimizer.generate import national_instance
from optimizer.instance import parse_instance, read_instance
from optimizer import horizon, lexico
from optimizer.horizon import build_horizon
from optimizer.lexico import LevelParams, solve_with_backend
from optimizer.settings import SETTINGS
from optimizer.engine import SolveParams, solve, tighten
from optimizer.verifier import verify
from randinst import load_multiday, load_random, multiday_instance, write_instance

MIP = [b["name"] for b in backends.describe() if b["available"] and b["name"] in ("highs", *backends.MIP)]


def solved_as_brute_force(inst, params=SolveParams(mip_gap=1e-9)):
    """``solve(inst, params)``, asserted optimal with the enumeration's four levels."""
    ref = brute_force_days(inst)
    res = solve(inst, params)
    o, H = res.objective, inst.horizon_days
    assert res.termination == "optimal", (inst.name, res.native_status)
    assert (o["unplaced"], o["surge"]) == (ref.unplaced, ref.surge), inst.name
    assert o["released_risk"] * H * RISK_UNITS == pytest.approx(ref.released_risk_units, abs=1e-6), inst.name
    assert o["cost_usd"] == pytest.approx(ref.cost_usd, rel=1e-6, abs=1e-6), inst.name
    return res


@pytest.mark.parametrize("name,seeds", [(n, 100 if n == "highs" else 30) for n in MIP])
def test_random_multiday_instances_against_brute_force(tmp_path, monkeypatch, name, seeds):
    """All four levels equal the enumeration's on random 2-4 day instances (at most 5 people),
    and every plan passes the verifier with the same levels; with ``highs``, some level-4 MIPs
    need more columns freed than the LP optimal face's (reduced-cost fixing)."""
    later = assumed = 0
    stages = []  # per MIP of solve_mip: how many column sets it was solved over
    inside = []  # not empty while solve_mip runs (near_point's MIPs are not counted)
    restricted, mip = lexico.LexSolver._restricted, lexico.LexSolver.solve_mip

    def counted(self, *a, integer):
        if integer and inside:
            stages[-1] += 1
        return restricted(self, *a, integer=integer)

    def solve_mip(self, *a):
        stages.append(0)
        inside.append(True)
        try:
            return mip(self, *a)
        finally:
            inside.pop()
    monkeypatch.setattr(lexico.LexSolver, "_restricted", counted)
    monkeypatch.setattr(lexico.LexSolver, "solve_mip", solve_mip)
    for seed in range(seeds):
        inst = load_multiday(seed, tmp_path)
        res = solved_as_brute_force(inst, SolveParams(mip_gap=1e-9, solver=name))
        assumed += res.native_status[0] == "At its lower bound"  # levels 1-2 proven without their LPs
        check = verify(inst, res.rows)
        assert check.ok, (seed, check.violations[:3])
        assert check.objective["released_risk"] == pytest.approx(res.objective["released_risk"], abs=1e-9)
        later += sum(r["decision"] == "release" and r["unit_id"] != "" for r in res.rows)
    if name == "highs":
        assert later > 0  # some plans hold people and release them on a later day
        assert 0 < assumed < seeds  # levels 1-2 at their lower bounds, and not (solved in turn)
        assert stages and max(stages) > 1, stages  # the column set widened until proven


def test_cohorts_priced_one_at_a_time_agree_with_brute_force(tmp_path, monkeypatch, tune):
    """Cohorts priced in from one per class, one per class and round, give the enumeration's
    four levels; an LP infeasible with the cohorts priced in so far is solved again with every
    column, so that an infeasible assumption (levels 1-2 at their lower bounds) is the model's."""
    tune(priced_cohorts=0, initial_cohorts=1, enter_segments=1)
    adds = []  # per column addition: whether the LP was infeasible
    add_cols = lexico.LexSolver._add_cols
    monkeypatch.setattr(lexico.LexSolver, "_add_cols", lambda self, new, cost: (
        adds.append(self.lp.modelStatusToString(self.lp.getModelStatus()) in lexico.INFEASIBLE),
        add_cols(self, new, cost))[1])
    assumed = 0
    for seed in range(100):
        inst = load_multiday(seed, tmp_path)
        res = solved_as_brute_force(inst)
        assumed += res.native_status[0] == "At its lower bound"
    assert 0 < assumed < 100
    assert adds.count(True) > 0 and adds.count(False) > 0  # columns added to infeasible LPs and by pricing


def test_an_lp_the_interior_point_method_fails_on_is_solved_again_by_simplex(tmp_path, monkeypatch, tune):
    """A run that ends neither optimal, infeasible nor at the limit is solved again by dual
    simplex: HiGHS 1.16's interior point method gave "Solve error" on seed 147's infeasible
    41-column level-3 LP (large-LP settings, cohorts priced from none; adversarial review), and
    here every interior point run is made to fail.  The enumeration's four levels every time."""
    tune(priced_cohorts=0, initial_cohorts=0, scratch_rows=0)
    run = lexico.LexSolver._run
    for fail in (False, True):
        failed = []
        monkeypatch.setattr(lexico.LexSolver, "_run", lambda self, h, cap=None: (
            failed.append(1) or ("Solve error", False)) if fail and h.getOptionValue("solver")[1] == "ipm"
            else run(self, h, cap))
        for seed in [147] + list(range(20) if fail else []):
            solved_as_brute_force(load_multiday(seed, tmp_path))
        assert bool(failed) == fail


def test_level_2_lps_large_by_nonzeros_open_by_interior_point(tmp_path, monkeypatch, tune):
    """A multi-day level-2 (surge bed-days) LP with more than ``ipm_nonzeros`` nonzeros opens by
    the interior point method, the other levels' and one-day models' by dual simplex, every
    pricing round by primal
    simplex from the last basis (without the row count's caps): the enumeration's four levels on
    tiny instances, every arc and cohort priced, at most two columns entering per round."""
    tune(ipm_nonzeros=0, priced_arcs=0, priced_cohorts=0, lift_near_arcs=1, initial_arcs=1, enter_per_group=1,
         enter_total=2)
    runs, levels = [], []
    run, solve_lp = lexico.LexSolver._run, lexico.LexSolver.solve_lp
    monkeypatch.setattr(lexico.LexSolver, "_run", lambda self, h, cap=None: (
        runs.append((levels[-1], h.getOptionValue("solver")[1], h.getOptionValue("presolve")[1], cap)),
        run(self, h, cap))[1])
    monkeypatch.setattr(lexico.LexSolver, "solve_lp", lambda self, cost, x_prev=None, level=None: (
        levels.append(level), solve_lp(self, cost, x_prev, level))[1])
    for seed in range(30):
        solved_as_brute_force(load_multiday(seed, tmp_path))
    opened = [(level, solver) for level, solver, presolve, _ in runs if presolve == "on"]
    assert {solver for level, solver in opened if level == 1} == {"ipm"}
    assert {solver for level, solver in opened if level != 1} == {"simplex"}
    rounds = [r for r in runs if r[2] == "off"]
    assert rounds and all(solver == "simplex" and cap is None for _, solver, _, cap in rounds)
    # the limit is exclusive: a level-2 LP of exactly ipm_nonzeros nonzeros keeps dual simplex
    monkeypatch.setattr(lexico.LexSolver, "_run", lambda self, h, cap=None: (
        runs.append((levels[-1], h.getOptionValue("solver")[1], h.getNumNz())), run(self, h, cap))[1])
    runs.clear()
    solved_as_brute_force(load_multiday(0, tmp_path))
    nonzeros = next(nz for level, _, nz in runs if level == 1)
    for limit, solver in ((nonzeros, "simplex"), (nonzeros - 1, "ipm")):
        tune(ipm_nonzeros=limit)
        runs.clear()
        solved_as_brute_force(load_multiday(0, tmp_path))
        assert next(opened for level, opened, _ in runs if level == 1) == solver, limit
    tune(ipm_nonzeros=0)  # one-day models keep dual simplex (a million people: 1.3 times slower by interior point)
    runs.clear()
    solve(load_random(0, tmp_path), SolveParams(mip_gap=1e-9))
    assert {opened for level, opened, _ in runs if level == 1} == {"simplex"}


@pytest.mark.parametrize("warm_cols,warm_cap", [(0, 2.0), (10**9, 10.0**9), (10**9, 0.0)])
def test_large_lp_settings_agree_with_brute_force(tmp_path, monkeypatch, tune, warm_cols, warm_cap):
    """The settings of LPs above ``scratch_rows`` (interior point when opened, pricing rounds from
    scratch or warm-started by primal simplex, warm starts stopped at once and redone
    from scratch) give the enumeration's four levels on tiny instances and ``highs-mip``'s on
    20-people ones, every arc and cohort priced, one arc entering per pool and at most two
    columns per round. Rounds above ``warm_cols`` get no time warm (``big_round_cap`` 0), so
    that each is redone from scratch whatever the machine's speed."""
    tune(priced_arcs=0, priced_cohorts=0, lift_near_arcs=1, scratch_rows=0, warm_cols=warm_cols, initial_arcs=1,
         enter_per_group=1, enter_total=2, warm_cap=warm_cap, big_round_cap=0.0)
    redone = []
    from_scratch = lexico.LexSolver._from_scratch
    monkeypatch.setattr(lexico.LexSolver, "_from_scratch", lambda self, solver="ipm": (redone.append(1), from_scratch(self, solver))[1])
    added = []
    add_cols = lexico.LexSolver._add_cols
    monkeypatch.setattr(lexico.LexSolver, "_add_cols", lambda self, new, cost: (
        added.append(len(new)), add_cols(self, new, cost))[1])
    for seed in range(30):
        solved_as_brute_force(load_multiday(seed, tmp_path))
    for seed in range(540, 560):  # 20 people: pools that differ by origin, arcs priced in
        inst = read_instance(write_instance(multiday_instance(seed, 20), tmp_path / "m.json"))
        a = solve(inst, SolveParams(mip_gap=1e-9))
        b = solve(inst, SolveParams(mip_gap=1e-9, solver="highs-mip"))
        assert a.levels_proven == b.levels_proven == 4, seed
        assert [a.objective[k] for k in ("unplaced", "surge")] == [b.objective[k] for k in ("unplaced", "surge")]
        assert a.objective["released_risk"] == pytest.approx(b.objective["released_risk"], abs=1e-9), seed
        assert a.objective["cost_usd"] == pytest.approx(b.objective["cost_usd"], rel=1e-6), seed
    assert added.count(2) > 0  # the cap on a round bound
    # rounds solved from scratch (a cap of 2 would depend on timing: a warm start of a tiny LP
    # may take more than twice its last solve from scratch on a busy machine)
    assert (len(redone) > 0) == (warm_cols == 0 or warm_cap == 0)


def test_one_day_horizon_model_equals_the_one_day_model(tmp_path):
    """With horizon_days = 1 the horizon model reaches the class model's four levels."""
    for seed in range(100):
        inst = load_random(seed, tmp_path)
        ref = solve(inst, SolveParams(mip_gap=1e-9)).objective
        hm = build_horizon(inst)
        x, proven, *_ = solve_with_backend(hm, backends.get("highs-mip"), LevelParams(mip_gap=1e-9), None)
        v = hm.objectives @ x + hm.offsets
        assert proven == 4
        assert (round(v[0]), round(v[1]), round(v[2] / RISK_UNITS, 4)) == (
            ref["unplaced"], ref["surge"], ref["released_risk"]), seed
        assert v[3] == pytest.approx(ref["cost_usd"], rel=1e-6), seed


def _highs_agrees_with_mip(inst):
    """``highs`` and ``highs-mip`` prove the same four levels; returns ``highs``'s result."""
    a = solve(inst, SolveParams(solver="highs"))
    b = solve(inst, SolveParams(solver="highs-mip"))
    assert a.levels_proven == b.levels_proven == 4
    for k in ("unplaced", "surge", "released_risk"):
        assert a.objective[k] == pytest.approx(b.objective[k], abs=1e-9), k
    assert a.objective["cost_usd"] == pytest.approx(b.objective["cost_usd"], rel=1e-6)
    return a


@pytest.mark.parametrize("priced", [False, True])
@pytest.mark.parametrize("aors,scale,days", [(["HOU"], 0.2, 7), (["SNA", "SEA"], 0.1, 5)])
def test_column_generation_engine_agrees_with_the_mip_on_generated_horizons(tune, aors, scale, days, priced):
    """``highs`` (optimal faces; with ``priced``, moving arcs enter by pricing from the cheapest
    one per pool) and ``highs-mip`` (every column, each level a MIP) prove the same four levels
    on generated multi-day instances whose pools differ by origin, and the plan passes the
    verifier."""
    if priced:  # only each pool's cheapest arc starts in the LP
        tune(priced_arcs=0, initial_arcs=1)
    inst = parse_instance(json.loads(json.dumps(national_instance(seed=3, aors=aors, scale=scale,
                                                                  horizon_days=days))))
    hm = build_horizon(inst)
    assert len(hm.pool_bt) > len(np.unique(hm.pool_bt))  # pools differ by origin
    assert (hm.arc_rank.max() >= lexico.SETTINGS.initial_arcs) == priced  # with priced, some arcs start outside the LP
    a = _highs_agrees_with_mip(inst)
    check = verify(inst, a.rows)
    assert check.ok and check.objective["surge"] == a.objective["surge"]


@pytest.mark.parametrize("aors,scale,days", [(["HOU"], 0.2, 7), (["SNA", "SEA"], 0.1, 5)])
def test_forecast_arrivals_priced_in_agree_with_the_mip(tune, monkeypatch, aors, scale, days):
    """With transport limits the compact model keeps origins, and the arcs of forecast arrivals
    (pools without an origin, straight to unit types) enter its LPs by pricing from each pool's
    largest type (``priced_direct_arcs`` 0, ``initial_direct_arcs`` 1; with ``scratch_rows`` 0 the
    next level opens the face with each pool's two largest): ``highs`` proves the four levels of
    ``highs-mip`` (every column, each level a MIP), after pricing such arcs in."""
    tune(priced_direct_arcs=0, initial_direct_arcs=1, scratch_rows=0)
    entered = []
    add_cols = lexico.LexSolver._add_cols
    monkeypatch.setattr(lexico.LexSolver, "_add_cols", lambda self, new, cost: (
        entered.append(int(self.priced_in[new].sum())), add_cols(self, new, cost))[1])
    inst = parse_instance(json.loads(json.dumps(national_instance(
        seed=3, aors=aors, scale=scale, horizon_days=days, transport_limits=True, local_ties=True))))
    comp = build_horizon(inst, compact=True)
    assert comp.keeps_origins and (comp.arc_rank >= lexico.SETTINGS.initial_arcs).sum() > 100
    a = _highs_agrees_with_mip(inst)
    assert sum(entered) > 0, entered
    assert verify(inst, a.rows).ok


def test_tighten_moves_occupancy_from_surge_and_excess_to_free_beds():
    """A solution that books surge beds while regular beds are free (and beds above the
    guaranteed minimum while it is not reached) is tightened to the same occupancy at the least
    surge and excess."""
    inst = parse_instance(json.loads(json.dumps(national_instance(seed=3, aors=["HOU"], scale=0.2, horizon_days=5))))
    hm = build_horizon(inst)
    x = solve(inst, SolveParams(solver="highs")).x
    b = hm.blocks
    y = x.copy()
    for free, paid in (("regular", "surge"), ("covered", "excess")):
        j = np.flatnonzero((x[b[free]] > 0) & (x[b[paid]] < hm.col_upper[b[paid]]))[0]
        y[b[free].start + j] -= 1
        y[b[paid].start + j] += 1
    assert np.all(hm.A @ y == hm.A @ x)  # the same occupancy
    assert np.array_equal(tighten(hm, y), x)


@pytest.mark.parametrize("name", ["flow", "pyomo:highs"])
def test_one_day_backends_refuse_a_horizon(tmp_path, name):
    if not any(b["name"] == name and b["available"] for b in backends.describe()):
        pytest.skip(f"{name} not installed")
    inst = load_multiday(3, tmp_path)
    with pytest.raises(BackendError, match="one day only"):
        solve(inst, SolveParams(solver=name))


def test_deadline_forces_release_on_the_limit_day(tmp_path):
    """A person with two days left of a legal limit in a 4-day plan, and a free bed, is held two
    days and released on day 2 (the limit day), not earlier (release later weighs less risk)."""
    doc = json.loads(open("instances/tiny.json").read())
    doc["horizon_days"] = 4
    doc["people"] = [{"id": "P1", "sex": "M", "level": "B", "risk": 40.0, "aor": doc["aors"][0]["code"],
                      "max_custody_days": 10, "custody_days": 8}]
    path = tmp_path / "limit.json"
    path.write_text(json.dumps(doc))
    from optimizer.instance import read_instance

    res = solve(read_instance(path), SolveParams())
    row = res.rows[0]
    assert row["decision"] == "release" and row["release_day"] == "2" and row["unit_id"] != ""
    assert res.objective["released_risk"] == pytest.approx(40.0 * 2 / 4)
    assert np.isclose(res.objective["unplaced"], 0)


def _lp(model, cost):
    """LP optimum of ``cost`` over ``model`` (HiGHS), with its row duals."""
    h = lexico._new_highs(LevelParams(), None)  # one thread, as every HiGHS object of the process
    A = model.A.tocsc()
    n = A.shape[1]
    h.passModel(n, A.shape[0], int(A.nnz), 1, 1, 0.0, np.ascontiguousarray(cost, dtype=float),
                model.col_lower.astype(float), model.col_upper.astype(float), model.row_lower.astype(float),
                model.row_upper.astype(float), A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data,
                np.zeros(n, dtype=np.int32))
    h.run()
    return h.getInfo().objective_function_value, np.asarray(h.getSolution().row_dual)


def _dual_objective(model, y, cost):
    """The dual objective of ``model``'s LP of ``cost`` at row duals ``y``: row bounds times ``y``
    plus the column bounds that the reduced costs' signs pick (equal to the LP optimum exactly
    when ``y`` is optimal)."""
    rc = cost - model.A.T @ y
    rows = np.where(y > 0, model.row_lower, model.row_upper)
    pos, neg = rc > 1e-9, rc < -1e-9
    return float(rows[y != 0] @ y[y != 0]) + float(rc[pos] @ model.col_lower[pos]) + float(rc[neg] @ model.col_upper[neg])


@pytest.mark.parametrize("aors,scale,days", [(["HOU"], 0.2, 7), (["SNA", "SEA"], 0.1, 5), (["MIA"], 0.1, 4)])
def test_compact_model_has_the_full_lp_optimum_and_its_duals_lift(aors, scale, days):
    """The compact model (origins merged, unit types) has the full model's LP optimum at level 1;
    its optimal duals, lifted, give every full column the reduced cost of its image, so the full
    dual objective equals the optimum: the lifted duals are optimal (checked through the full
    columns' reduced costs: each is at a bound that its sign allows in the full LP optimum)."""
    inst = parse_instance(json.loads(json.dumps(national_instance(seed=5, aors=aors, scale=scale,
                                                                  horizon_days=days))))
    from optimizer.model import network_arrays, people_arrays

    P, N = people_arrays(inst), network_arrays(inst)
    full, comp = build_horizon(inst, P, N), build_horizon(inst, P, N, compact=True)
    assert comp.A.shape[0] < full.A.shape[0] and len(np.unique(comp.unit_type)) < len(N.unit_fac)
    lift = horizon.HorizonLift(inst, P, N, full, comp)
    for k in range(3):
        zf, _ = _lp(full, full.objectives[k])
        zc, yc = _lp(comp, comp.objectives[k])
        assert zc == pytest.approx(zf, abs=1e-6)
        assert _dual_objective(full, lift.duals(yc), full.objectives[k]) == pytest.approx(zf, abs=1e-5)


@pytest.mark.parametrize("aors,scale,days", [(["HOU"], 0.2, 7), (["SNA", "SEA"], 0.1, 5), (["MIA"], 0.1, 4)])
def test_risk_merged_model_has_the_compact_optimum_of_levels_1_2_and_its_duals_lift(aors, scale, days):
    """With transport limits, the compact model with effective risk out of its class key
    (``horizon.RiskMerge``) has fewer classes, the compact LP optimum of levels 1 and 2, and its
    optimal duals lifted by ``RiskMerge.duals`` reach that optimum as the compact model's dual
    objective (so they are optimal there); the engine then solves levels 1-2 on it and finds the
    same four levels as without it."""
    inst = parse_instance(json.loads(json.dumps(national_instance(
        seed=5, aors=aors, scale=scale, horizon_days=days, transport_limits=True, transfers_per_day=3))))
    from optimizer.model import network_arrays, people_arrays

    P, N = people_arrays(inst), network_arrays(inst)
    comp = build_horizon(inst, P, N, compact=True)
    merged = horizon.risk_merged(inst, P, N, comp)
    rb, mb = comp.row_blocks["class"], merged.model.row_blocks["class"]
    assert comp.keeps_origins and mb.stop - mb.start < (rb.stop - rb.start) / 1.5
    for k in range(2):
        zc, _ = _lp(comp, comp.objectives[k])
        zm, ym = _lp(merged.model, merged.model.objectives[k])
        assert zm == pytest.approx(zc, abs=1e-6)
        assert _dual_objective(comp, merged.duals(ym), comp.objectives[k]) == pytest.approx(zc, abs=1e-5)
    used = []
    risk_merged = horizon.risk_merged
    horizon.risk_merged = lambda *a: used.append(1) or risk_merged(*a)
    try:
        a = solve(inst, SolveParams(mip_gap=1e-9))
    finally:
        horizon.risk_merged = risk_merged
    b = solve(inst, SolveParams(mip_gap=1e-9, solver="highs-mip"))
    assert used and a.levels_proven == b.levels_proven == 4
    assert [a.objective[k] for k in ("unplaced", "surge")] == [b.objective[k] for k in ("unplaced", "surge")]
    assert a.objective["released_risk"] == pytest.approx(b.objective["released_risk"], abs=1e-9)
    assert a.objective["cost_usd"] == pytest.approx(b.objective["cost_usd"], rel=1e-6)


@pytest.mark.parametrize("stopped", [1, 2])
def test_a_stopped_level_keeps_the_levels_before_it_with_the_risk_merged_model(tmp_path, monkeypatch, stopped):
    """A level whose LP the time limit stops (simulated: level 2 on the risk-merged model, or
    level 3 after it) still leaves a plan proving the levels before it, as many on every instance
    as without the risk-merged model (its last solution is split onto the compact classes,
    ``RiskMerge.split``); was: level 3 stopped proved 1 level where 2 were proven before."""
    solve_lp = lexico.LexSolver.solve_lp

    def stop(self, cost, x_prev=None, level=None):
        if np.array_equal(cost, self.m.objectives[stopped]) and not any(
                np.array_equal(cost, self.m.objectives[j]) for j in range(4) if j != stopped):
            return "Time limit reached", False, None, None, None, None
        return solve_lp(self, cost, x_prev, level)

    monkeypatch.setattr(lexico.LexSolver, "solve_lp", stop)
    insts = [read_instance(write_instance(multiday_instance(seed, 8, limits=True), tmp_path / f"{seed}.json"))
             for seed in range(30)]
    merged = [solve(inst, SolveParams(mip_gap=1e-9)).levels_proven for inst in insts]
    monkeypatch.setattr(horizon.HorizonLift, "coarse", lambda self: None)
    assert merged == [solve(inst, SolveParams(mip_gap=1e-9)).levels_proven for inst in insts]
    assert sum(p == stopped for p in merged) >= 10  # the levels before the stopped one, proven


def test_a_stopped_level_3_carries_an_integer_point_of_the_level_2_face(tmp_path, monkeypatch):
    """When the limit stops level 3 (simulated) at a fractional level-2 LP optimum (random
    multi-day instance 49 with transport limits, 8 people), an integer point next to it on the
    level-2 face (:meth:`near_point`) is carried to the full model: levels 1-2 proven, with the
    values of ``highs-mip``; was: the constructive plan, level 1 proven."""
    inst = read_instance(write_instance(multiday_instance(49, 8, limits=True), tmp_path / "49.json"))
    b = solve(inst, SolveParams(mip_gap=1e-9, solver="highs-mip"))
    solve_lp, near, found = lexico.LexSolver.solve_lp, lexico.LexSolver.near_point, []

    def stop(self, cost, x_prev=None, level=None):
        if level == 2:
            return "Time limit reached", False, None, None, None, None
        return solve_lp(self, cost, x_prev, level)

    monkeypatch.setattr(lexico.LexSolver, "solve_lp", stop)
    monkeypatch.setattr(lexico.LexSolver, "near_point", lambda self, x: found.append(near(self, x)) or found[-1])
    a = solve(inst, SolveParams(mip_gap=1e-9))
    assert len(found) == 1 and found[0] is not None
    assert a.levels_proven == 2 and a.native_status[-1] == "LP: Time limit reached"
    assert [a.objective[k] for k in ("unplaced", "surge")] == [b.objective[k] for k in ("unplaced", "surge")]
    assert verify(inst, a.rows).ok


@pytest.mark.parametrize("aors,scale,days", [(["HOU"], 0.2, 7), (["SNA", "SEA"], 0.1, 5)])
def test_a_decoded_plan_encodes_back_to_the_same_four_levels(aors, scale, days):
    """``encode_horizon`` of ``decode_horizon`` of an optimal solution has the same four level
    values, satisfies every row, and decodes to the same plan; the compact model's optimal
    integer solution of levels 1-3, carried by ``HorizonLift.solution``, has the full model's
    level 1-3 optima."""
    inst = parse_instance(json.loads(json.dumps(national_instance(seed=3, aors=aors, scale=scale,
                                                                  horizon_days=days))))
    from optimizer.model import network_arrays, people_arrays

    P, N = people_arrays(inst), network_arrays(inst)
    full, comp = build_horizon(inst, P, N), build_horizon(inst, P, N, compact=True)
    x, proven, *_ = lexico.solve_lexicographic(full, LevelParams(), None)
    assert proven == 4
    plan = horizon.decode_horizon(inst, full, P, x)
    xe = horizon.encode_horizon(inst, full, P, N, *plan)
    assert xe is not None
    assert np.allclose(full.objectives @ xe, full.objectives @ x)
    Ax = full.A @ xe
    assert (Ax >= full.row_lower - 1e-9).all() and (Ax <= full.row_upper + 1e-9).all()
    assert (xe >= full.col_lower).all() and (xe <= full.col_upper).all()
    for got, want in zip(horizon.decode_horizon(inst, full, P, xe), plan):
        assert np.array_equal(got, want)
    xc, pc, *_ = lexico.solve_lexicographic(comp, LevelParams(), None)
    assert pc == 4
    xf = horizon.HorizonLift(inst, P, N, full, comp).solution(xc)
    assert xf is not None
    assert np.allclose(full.objectives[:3] @ xf, full.objectives[:3] @ x)
    Ax = full.A @ xf
    assert (Ax >= full.row_lower - 1e-9).all() and (Ax <= full.row_upper + 1e-9).all()


def test_families_of_two_sizes_in_equal_family_units_keep_the_lifted_levels():
    """Two family units with equal attributes (3 and 2 beds), a family of 2 arriving before a
    family of 3: family units are unit types of their own, so the compact optimum carries over
    to the full model (first fit over merged units put the family of 2 in the 3-bed unit and
    left none for the family of 3), with the full model's levels 1-3 (adversarial review)."""
    from optimizer.instance import read_instance
    from optimizer.model import network_arrays, people_arrays

    inst = read_instance("tests/data/family_units.json")
    P, N = people_arrays(inst), network_arrays(inst)
    full, comp = build_horizon(inst, P, N), build_horizon(inst, P, N, compact=True)
    xc, proven, *_ = lexico.solve_lexicographic(comp, LevelParams(), None)
    assert proven == 4
    xf = horizon.HorizonLift(inst, P, N, full, comp).solution(xc)
    assert xf is not None
    ref = solve(inst, SolveParams(solver="highs-mip")).objective
    H = inst.horizon_days
    assert list(full.objectives[:2] @ xf) == [ref["unplaced"], ref["surge"]] == [0, 3]
    assert full.objectives[2] @ xf / (RISK_UNITS * H) == pytest.approx(ref["released_risk"], abs=1e-9)


@pytest.mark.parametrize("tries", [SETTINGS.face_tries, 0])
def test_a_fractional_compact_optimum_gets_an_integer_point_of_its_face(monkeypatch, tune, tries):
    """When the compact level-3 LP optimum is fractional (random multi-day instance 84, 8 people), an integer
    point of the compact optimal face is found (with :meth:`near_point` left out: by random LP
    vertices, or with no tries by a MIP without objective), carried to the full model, and the four levels equal those of
    ``highs-mip``."""
    calls = []
    mip, point = lexico.LexSolver.solve_mip, lexico.LexSolver.face_point
    tune(face_tries=tries)
    monkeypatch.setattr(lexico.LexSolver, "near_point", lambda self, x: None)
    monkeypatch.setattr(lexico.LexSolver, "solve_mip",
                        lambda self, cost, *a: calls.append(("mip", not cost.any())) or mip(self, cost, *a))
    monkeypatch.setattr(lexico.LexSolver, "face_point",
                        lambda self, n, xc: (lambda x: calls.append(("vertex", x is not None)) or x)(point(self, n, xc)))
    inst = parse_instance(multiday_instance(84, 8))
    a = solve(inst, SolveParams(solver="highs"))
    # the integer point of the compact face
    assert calls[:2] == ([("vertex", True)] if tries else [("vertex", False), ("mip", True)])
    b = solve(inst, SolveParams(solver="highs-mip"))
    assert a.levels_proven == b.levels_proven == 4
    for k in ("unplaced", "surge", "released_risk"):
        assert a.objective[k] == pytest.approx(b.objective[k], abs=1e-9), k
    assert a.objective["cost_usd"] == pytest.approx(b.objective["cost_usd"], rel=1e-6)
    assert verify(inst, a.rows).ok


def test_near_point_finds_an_integer_point_next_to_a_fractional_optimum(monkeypatch):
    """Random multi-day instance 84 (8 people): the compact level-3 LP optimum is fractional and
    an integer point of its face lies within two rows of its fractional columns; the point found
    there carries to the full model, and the four levels equal those of ``highs-mip``."""
    found, near = [], lexico.LexSolver.near_point
    monkeypatch.setattr(lexico.LexSolver, "near_point", lambda self, x: found.append(near(self, x)) or found[-1])
    inst = parse_instance(multiday_instance(84, 8))
    a = solve(inst, SolveParams(solver="highs"))
    assert len(found) == 1 and found[0] is not None
    assert np.array_equal(found[0], np.rint(found[0]))
    b = solve(inst, SolveParams(solver="highs-mip"))
    assert a.levels_proven == b.levels_proven == 4
    for k in ("unplaced", "surge", "released_risk", "cost_usd"):
        assert a.objective[k] == pytest.approx(b.objective[k], abs=1e-6), k


def test_a_mip_needing_columns_never_priced_in_is_proven(tmp_path, tune):
    """A level-4 MIP with no solution on the LP optimal face nor within the gap tolerance, whose
    proof needs moving arcs never priced in (random multi-day instance 551, 20 people, one arc
    per pool and round): they join and all four levels are proven, equal to ``highs-mip``'s
    (adversarial review: the MIP gave up with 3 levels proven)."""
    tune(initial_arcs=1, enter_per_group=1, enter_segments=1, initial_segments=1, priced_arcs=0)
    inst = read_instance(write_instance(multiday_instance(551, 20), tmp_path / "m551.json"))
    a = solve(inst, SolveParams(mip_gap=1e-9))
    b = solve(inst, SolveParams(mip_gap=1e-9, solver="highs-mip"))
    assert a.levels_proven == b.levels_proven == 4
    for k in ("unplaced", "surge", "released_risk"):
        assert a.objective[k] == pytest.approx(b.objective[k], abs=1e-9), k
    assert a.objective["cost_usd"] == pytest.approx(b.objective["cost_usd"], rel=1e-6)


def test_settings_refuse_no_first_arcs_for_arrival_pools():
    """The arrival pools' first arcs divide the arcs' ranks: at least one (a clear error, not a
    division by zero deep in a build)."""
    import dataclasses

    from optimizer.settings import SETTINGS

    with pytest.raises(ValueError, match="initial_direct_arcs must be at least 1"):
        dataclasses.replace(SETTINGS, initial_direct_arcs=0)
