"""The value of a bed (optimizer/bedvalue.py) ranks units by the lexicographic effect of one more
bed and re-solves first the units that can change an earlier level (issue 21 item 5)."""

from __future__ import annotations

import json

import pytest

from optimizer.bedvalue import _candidates, bed_values
from optimizer.generate import national_instance
from optimizer.instance import parse_instance
from optimizer.model import network_arrays, people_arrays
from optimizer.engine import solve
from optimizer.whatif import whatif

LEVELS = ("unplaced", "surge", "released_risk", "cost_usd")


def _key(e: dict) -> tuple:
    return e["unplaced_change"], e["surge_change"], e["released_risk_change"], e["cost_change"]


@pytest.fixture(scope="module")
def houston():
    """A generated HOU instance with 80 % of its beds, no surge beds and no guaranteed minimums:
    mandatory people left unplaced, so that one more bed changes level 1 in most units, at the
    cost of the facility's per diem (HOU02 10.51 USD a day, HOU01 17.58)."""
    doc = json.loads(json.dumps(national_instance(seed=0, aors=["HOU"], scale=0.1)))
    for f in doc["facilities"]:
        f["guaranteed_minimum"] = 0
        for u in f["units"]:
            u["beds"], u["surge_beds"] = u["beds"] * 8 // 10, 0
    inst = parse_instance(doc)
    return doc, inst, bed_values(inst, exact=sum(len(f.units) for f in inst.facilities))


def test_units_that_change_an_earlier_level_are_candidates(houston):
    doc, inst, full = houston
    assert all(e["method"] == "re_solve" for e in full["units"])
    base = solve(inst)
    assert base.objective["unplaced"] == 140
    c1, c2 = _candidates(inst, people_arrays(inst), network_arrays(inst), base.rows)
    ids = [u.id for f in inst.facilities for u in f.units]
    lower1 = {e["id"] for e in full["units"] if e["unplaced_change"] < 0}
    assert lower1 and lower1 <= {ids[u] for u in range(len(ids)) if c1[u]}
    assert full["candidates"] == {"unplaced": int(c1.sum()), "surge": int((c2 & ~c1).sum())} == \
        {"unplaced": 23, "surge": 0}
    assert [_key(e) for e in full["units"]] == sorted(_key(e) for e in full["units"])  # lexicographic ranking


@pytest.mark.parametrize("k", [1, 3])
def test_a_few_re_solves_find_the_best_unit(houston, k):
    """With K re-solves the top unit is exact and as good, lexicographically, as the best of all."""
    doc, inst, full = houston
    values = bed_values(inst, exact=k)
    assert [e["method"] for e in values["units"]].count("re_solve") == k
    assert values["units"][0]["method"] == "re_solve"
    assert _key(values["units"][0]) == _key(full["units"][0]) == (-1, 0, 0.0, 315.3)  # 30 days x 10.51 USD
    assert values["units"][0]["id"].startswith("HOU02-")


def test_values_agree_with_whatif(houston):
    """The exact values are those of ``bedalloc whatif --beds FACILITY:UNIT=+1`` (issue 21: HOU02-M-AB
    places an unplaced person more cheaply than HOU01-M-AB, and ranks above it)."""
    doc, inst, full = houston
    by_id = {e["id"]: e for e in full["units"]}
    assert _key(by_id["HOU01-M-AB"]) == (-1, 0, 0.0, 527.4)  # 30 days x 17.58 USD
    assert list(by_id).index("HOU02-M-AB") < list(by_id).index("HOU01-M-AB")
    for e in (by_id["HOU02-M-AB"], by_id["HOU01-M-AB"]):
        res = whatif(doc, {f"{e['facility']}:{e['id']}": 1}, {})
        change = {k: res["whatif"][k] - res["base"][k] for k in LEVELS}
        assert (change["unplaced"], change["surge"]) == (e["unplaced_change"], e["surge_change"]), e
        assert change["released_risk"] == pytest.approx(e["released_risk_change"], abs=1e-4)
        assert change["cost_usd"] == pytest.approx(e["cost_change"], abs=0.02)
