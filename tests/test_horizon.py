"""The multi-day model (optimizer/horizon.py) against the brute force, the one-day model and
the verifier, on every MIP backend."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bruteforce import RISK_UNITS, brute_force_days
from optimizer import backends
from optimizer.backends.base import BackendError
from optimizer.horizon import build_horizon
from optimizer.lexico import LevelParams, solve_with_backend
from optimizer.solve import SolveParams, solve
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
