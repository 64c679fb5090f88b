"""The lexicographic engine: column generation, optimal faces and the MIP fallback are exact.

The default settings rarely need many pricing rounds on small instances, so these tests shrink
the initial column sets and the entering batches to one column, which forces every path: columns
priced in round after round, columns fixed by lifted duals that were never priced in, the MIP
fallback with held levels.  Each run is compared with the independent brute force at all four
levels, and the class model with the person-by-unit formulation on medium generated instances.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import optimizer.lexico as lexico
from bruteforce import RISK_UNITS, brute_force
from optimizer.generate import national_instance
from optimizer.instance import read_instance
from optimizer.model import RISK_SCALE
from optimizer.solve import SolveParams, solve
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
def one_column_at_a_time(monkeypatch):
    monkeypatch.setattr(lexico, "INITIAL_ARCS", 1)
    monkeypatch.setattr(lexico, "INITIAL_SEGMENTS", 1)
    monkeypatch.setattr(lexico, "ENTER_PER_GROUP", 1)
    monkeypatch.setattr(lexico, "ENTER_SEGMENTS", 1)


def test_column_generation_one_column_at_a_time(tmp_path, one_column_at_a_time):
    for seed in range(200):
        inst = load_random(seed, tmp_path)
        res = solve(inst, PARAMS)
        assert res.termination == "optimal"
        _same(res.objective, brute_force(inst), f"seed {seed}")


def test_mip_fallback_with_held_levels(tmp_path, monkeypatch, one_column_at_a_time):
    """Force the path used when an optimal face holds no integer point."""
    monkeypatch.setattr(lexico, "_faces", lambda *args: None)
    for seed in range(100):
        inst = load_random(seed, tmp_path)
        res = solve(inst, PARAMS)
        assert res.termination == "optimal"
        _same(res.objective, brute_force(inst), f"seed {seed}")


@pytest.mark.parametrize("aor,scale", [("MIA", 0.06), ("SNA", 0.1), ("ELP", 0.1), ("HOU", 0.1)])
def test_class_model_equals_person_by_unit_model(tmp_path, monkeypatch, aor, scale):
    """Medium generated instances (families, staging sites, guaranteed minimums, AOR programs):
    the class model (with default and with one-column pricing) and the straightforward
    person-by-unit model reach the same four levels."""
    import json

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
    for name in ("INITIAL_ARCS", "INITIAL_SEGMENTS", "ENTER_PER_GROUP", "ENTER_SEGMENTS"):
        monkeypatch.setattr(lexico, name, 1)
    again = solve(inst, PARAMS)
    assert again.objective["unplaced"] == res.objective["unplaced"]
    assert again.objective["surge"] == res.objective["surge"]
    assert again.objective["released_risk"] == res.objective["released_risk"]
    assert again.objective["cost_usd"] == pytest.approx(res.objective["cost_usd"], rel=1e-7)
