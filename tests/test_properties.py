"""Property tests (hypothesis) over random instances: verified plans, brute-force optima, and
monotonicity of the lexicographic optimum."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bruteforce import RISK_UNITS, brute_force
from optimizer.instance import parse_instance
from optimizer.engine import SolveParams, solve
from optimizer.verifier import verify
from randinst import random_instance

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PARAMS = SolveParams(mip_gap=1e-9)


def _vector(doc):
    inst = parse_instance(doc)
    res = solve(inst, PARAMS)
    check = verify(inst, res.rows)
    assert check.ok, check.violations[:3]
    o = check.objective
    return (o["unplaced"], o["surge"], round(o["released_risk"] * RISK_UNITS), o["cost_usd"]), res.rows


def _not_worse(a, b) -> bool:
    """a <= b lexicographically (level 4 with a cent of tolerance: the verifier rounds to cents)."""
    if a[:3] != b[:3]:
        return a[:3] < b[:3]
    return a[3] <= b[3] + 0.01


@SETTINGS
@given(st.integers(0, 10_000))
def test_plan_is_verified_and_optimal(seed):
    doc = random_instance(seed, 7)
    vec, _ = _vector(doc)
    ref = brute_force(parse_instance(doc))
    assert vec[:3] == (ref.unplaced, ref.surge, ref.released_risk_units)
    assert abs(vec[3] - ref.cost_usd) <= 0.01


@SETTINGS
@given(st.integers(0, 10_000), st.integers(0, 1_000), st.integers(1, 3))
def test_more_beds_never_worse(seed, pick, extra):
    doc = random_instance(seed, 7)
    units = [u for f in doc["facilities"] for u in f["units"]]
    more = json.loads(json.dumps(doc))
    [u for f in more["facilities"] for u in f["units"]][pick % len(units)]["beds"] += extra
    assert _not_worse(_vector(more)[0], _vector(doc)[0])


@SETTINGS
@given(st.integers(0, 10_000), st.integers(0, 1_000))
def test_removing_a_person_never_worse(seed, pick):
    doc = random_instance(seed, 7)
    victim = doc["people"][pick % len(doc["people"])]
    fewer = json.loads(json.dumps(doc))
    fam = victim.get("family_id")  # a family leaves as a whole (a family keeps an adult)
    fewer["people"] = [p for p in fewer["people"] if p["id"] != victim["id"] and (fam is None or p.get("family_id") != fam)]
    assert _not_worse(_vector(fewer)[0], _vector(doc)[0])


@SETTINGS
@given(st.integers(0, 10_000), st.integers(0, 1_000), st.floats(0.1, 50.0))
def test_raising_a_detained_persons_risk_never_releases_them(seed, pick, rise):
    doc = random_instance(seed, 7)
    _, rows = _vector(doc)
    detained = [r["person_id"] for r in rows if r["decision"] == "detain"]
    if not detained:
        return
    pid = detained[pick % len(detained)]
    riskier = json.loads(json.dumps(doc))
    for p in riskier["people"]:
        if p["id"] == pid:
            p["risk"] = round(min(100.0, p["risk"] + rise), 1)
    after = {r["person_id"]: r["decision"] for r in _vector(riskier)[1]}
    assert after[pid] != "release"
