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
from optimizer.instance import parse_instance
from optimizer import horizon, lexico
from optimizer.horizon import build_horizon
from optimizer.lexico import LevelParams, solve_with_backend
from optimizer.solve import SolveParams, solve, tighten
from optimizer.verify import verify
from randinst import load_multiday, load_random

MIP = [b["name"] for b in backends.describe() if b["available"] and b["name"] in ("highs", *backends.MIP)]


@pytest.mark.parametrize("name,seeds", [(n, 100 if n == "highs" else 30) for n in MIP])
def test_random_multiday_instances_against_brute_force(tmp_path, name, seeds):
    """All four levels equal the enumeration's on random 2-4 day instances (at most 5 people),
    and every plan passes the verifier with the same levels."""
    later = 0
    for seed in range(seeds):
        inst = load_multiday(seed, tmp_path)
        ref = brute_force_days(inst)
        res = solve(inst, SolveParams(mip_gap=1e-9, solver=name))
        o, H = res.objective, inst.horizon_days
        assert res.termination == "optimal", seed
        assert (o["unplaced"], o["surge"]) == (ref.unplaced, ref.surge), seed
        assert o["released_risk"] * H * RISK_UNITS == pytest.approx(ref.released_risk_units, abs=1e-6), seed
        assert o["cost_usd"] == pytest.approx(ref.cost_usd, rel=1e-6, abs=1e-6), seed
        check = verify(inst, res.rows)
        assert check.ok, (seed, check.violations[:3])
        assert check.objective["released_risk"] == pytest.approx(o["released_risk"], abs=1e-9)
        later += sum(r["decision"] == "release" and r["unit_id"] != "" for r in res.rows)
    if name == "highs":
        assert later > 0  # some plans hold people and release them on a later day


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


@pytest.mark.parametrize("priced", [False, True])
@pytest.mark.parametrize("aors,scale,days", [(["HOU"], 0.2, 7), (["SNA", "SEA"], 0.1, 5)])
def test_column_generation_engine_agrees_with_the_mip_on_generated_horizons(monkeypatch, aors, scale, days, priced):
    """``highs`` (optimal faces; with ``priced``, moving arcs enter by pricing from the cheapest
    one per pool) and ``highs-mip`` (every column, each level a MIP) prove the same four levels
    on generated multi-day instances whose pools differ by origin, and the plan passes the
    verifier."""
    if priced:  # only each pool's cheapest arc starts in the LP
        monkeypatch.setattr(horizon, "PRICED_ARCS", 0)
        monkeypatch.setattr(lexico, "INITIAL_ARCS", 1)
    inst = parse_instance(json.loads(json.dumps(national_instance(seed=3, aors=aors, scale=scale,
                                                                  horizon_days=days))))
    hm = build_horizon(inst)
    assert len(hm.pool_bt) > len(np.unique(hm.pool_bt))  # pools differ by origin
    assert (hm.arc_rank.max() >= lexico.INITIAL_ARCS) == priced  # with priced, some arcs start outside the LP
    a = solve(inst, SolveParams(solver="highs"))
    b = solve(inst, SolveParams(solver="highs-mip"))
    assert a.levels_proven == b.levels_proven == 4
    for k in ("unplaced", "surge", "released_risk"):
        assert a.objective[k] == pytest.approx(b.objective[k], abs=1e-9), k
    assert a.objective["cost_usd"] == pytest.approx(b.objective["cost_usd"], rel=1e-6)
    check = verify(inst, a.rows)
    assert check.ok and check.objective["surge"] == a.objective["surge"]


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
