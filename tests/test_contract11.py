"""Contract 1.1 (MODEL.md §3 rules 7-9: transport limits, local ties, pins) against the
brute-force oracles of ``tests/bruteforce.py``, on every backend.

The oracles are checked first on hand-made micro instances whose optima are worked out below
(each one distinguishes the contract's reading from a plausible misreading), then against each
other; the engine and every available backend must then reach the enumeration's four levels on
random small instances with limits, ties and pins (``tests/randinst.py``), one-day and
multi-day, and every plan must keep rules 7-9 (checked here, independently) and pass
:func:`optimizer.verifier.verify`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from bruteforce import (RISK_UNITS, Decision, brute_force, brute_force_days, check_new_rules, cost_close,
                        evaluate_plan, random_plan)
from optimizer import backends
from optimizer.backends.base import BackendError
from optimizer.instance import Instance, read_instance
from optimizer.engine import SolveParams, solve
from optimizer.verifier import verify
from randinst import multiday_instance, random_instance, write_instance

RULES = {"limits": True, "ties": True, "pins": True}
ONE_DAY = 300  # random one-day instances (at most 8 people) solved by highs
MULTI_DAY = 120  # random 2-4 day instances (at most 6 people) solved by highs
MULTI_PEOPLE = 6
OTHER = {"scip": (40, 20)}  # one-day and multi-day instances per other MIP backend (default 60, 30)
AVAILABLE = [b["name"] for b in backends.describe() if b["available"]]
MIP = [n for n in AVAILABLE if n in backends.MIP]
PYOMO = [n for n in AVAILABLE if n.startswith("pyomo:")]
ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- hand-made micro instances
#
# Every facility and hub sits at (0, 0): distances are 0, a transfer costs the fixed 250 USD.
# cost_days is the default 30 in one-day plans. Programs G1 (5 USD a day) and G2 (8 USD a day)
# take anyone. People are men of level A from facility F1 unless said otherwise.


def _doc(facilities, people, policy=None, aors=None, horizon=1):
    return {
        "format": "bedalloc-instance", "version": 1, "name": "micro11", "snapshot_date": "2026-01-01",
        "horizon_days": horizon, "policy": policy or {},
        "aors": [{"code": c, "name": c, "lat": 0.0, "lon": 0.0, **extra} for c, extra in (aors or {"HOU": {}}).items()],
        "facilities": [{"name": f["id"], "aor": "HOU", "state": "TX", "type": "CDF", "lat": 0.0, "lon": 0.0,
                        "per_diem": 100.0, **f} for f in facilities],
        "atd_programs": [{"id": "G1", "technology": "app", "per_diem": 5.0, "max_risk": 100.0},
                         {"id": "G2", "technology": "ankle_gps", "per_diem": 8.0, "max_risk": 100.0}],
        "people": [{"sex": "M", "level": "A", "aor": "HOU", "origin": "F1", **p} for p in people],
    }


def _unit(uid, beds, **kw):
    return {"id": uid, "sex": "M", "levels": ["A", "B", "C", "D"], "beds": beds, **kw}


def _family_unit(uid, beds):
    return {"id": uid, "sex": "any", "levels": ["A", "B", "C", "D"], "beds": beds, "family": True}


MICRO = {}  # name -> (doc, (unplaced, surge, released_risk, cost_usd), unique plan or None)

# 1. National limit: F1 has no bed, F2 three. With one seat the riskiest (30) moves, 10 and 20 are
#    released (without the limit all three move: released risk 0). 3,000 + 250 + 2 x 30 x 5.
MICRO["national_limit"] = (
    _doc([{"id": "F1", "units": [_unit("U1", 0)]}, {"id": "F2", "units": [_unit("U2", 3)]}],
         [{"id": "A", "risk": 10.0}, {"id": "B", "risk": 20.0}, {"id": "C", "risk": 30.0}],
         policy={"max_transfers_per_day": 1}),
    (0, 0, 30.0, 3550.0),
    {"A": ("release", "G1"), "B": ("release", "G1"), "C": ("detain", "U2")},
)

# 2. An AOR's limit counts moves out of the facilities located in it: A (case AOR SNA) and B both
#    leave F1 (in HOU, one seat), so only B (20) moves; C leaves F3 (in SNA, no limit). Counting
#    by the person's AOR would let A move too (released risk 0). 2 x 3,000 + 2 x 250 + 150.
MICRO["aor_limit_by_origin_facility"] = (
    _doc([{"id": "F1", "units": [_unit("U1", 0)]}, {"id": "F3", "aor": "SNA", "units": [_unit("U3", 0)]},
          {"id": "F2", "units": [_unit("U2", 4)]}],
         [{"id": "A", "risk": 10.0, "aor": "SNA"}, {"id": "B", "risk": 20.0}, {"id": "C", "risk": 5.0, "origin": "F3"}],
         aors={"HOU": {"max_transfers_out_per_day": 1}, "SNA": {}}),
    (0, 0, 10.0, 6650.0),
    {"A": ("release", "G1"), "B": ("detain", "U2"), "C": ("detain", "U2")},
)

# 3. Every family member moved is a transfer: the mother (40) and her son (risk 0) would take two of
#    the two seats, S (50) one. Moving S and releasing the family (40) beats moving the family
#    and releasing S (50); counting the family once would move all three (0). A released family
#    takes no seat. 3,000 + 250 + 150 (the son takes no program).
MICRO["family_members_each_count"] = (
    _doc([{"id": "F1", "units": [_unit("U1", 0)]},
          {"id": "F2", "units": [_unit("U2", 1), _family_unit("UF", 2)]}],
         [{"id": "MOM", "sex": "F", "risk": 40.0, "family_id": "X"},
          {"id": "SON", "level": None, "minor": True, "risk": 0.0, "family_id": "X"},
          {"id": "S", "risk": 50.0}],
         policy={"max_transfers_per_day": 2}),
    (0, 0, 40.0, 3400.0),
    {"MOM": ("release", "G1"), "SON": ("release", ""), "S": ("detain", "U2")},
)

# 4. Local ties: T (tied, case in HOU) may be held only in F1 (his origin, no bed) or in HOU's
#    facilities (F3: no bed), so he is released although F2 (SNA) has room; V is tied too but his
#    case is in SNA, so F2 is allowed; U is not tied. 2 x 3,000 + 2 x 250 + 150.
MICRO["local_ties"] = (
    _doc([{"id": "F1", "units": [_unit("U1", 0)]}, {"id": "F3", "units": [_unit("U3", 0)]},
          {"id": "F2", "aor": "SNA", "units": [_unit("U2", 3)]}],
         [{"id": "T", "risk": 30.0, "local_ties": True}, {"id": "U", "risk": 20.0},
          {"id": "V", "risk": 10.0, "aor": "SNA", "local_ties": True}],
         aors={"HOU": {}, "SNA": {}}),
    (0, 0, 30.0, 6650.0),
    {"T": ("release", "G1"), "U": ("detain", "U2"), "V": ("detain", "U2")},
)

# 5. Pins: B (10) is pinned to unit U1, E (20) detained anywhere, D (5) released to the dearer G2.
#    B and E fill U1's bed and its surge bed (pinned people may use surge beds), so A (90) is
#    released although unpinned he would have the bed. 2 x 3,000 + 150 + 240.
MICRO["pins"] = (
    _doc([{"id": "F1", "units": [_unit("U1", 1, surge_beds=1)]}],
         [{"id": "A", "risk": 90.0}, {"id": "B", "risk": 10.0, "pin": {"decision": "detain", "unit": "U1"}},
          {"id": "E", "risk": 20.0, "pin": {"decision": "detain"}},
          {"id": "D", "risk": 5.0, "pin": {"decision": "release", "atd_program": "G2"}}]),
    (0, 1, 95.0, 6390.0),
    {"A": ("release", "G1"), "B": ("detain", "U1"), "E": ("detain", "U1"), "D": ("release", "G2")},
)

# 6. A member's pin binds the family, a program pin only its adult: the child's release pin
#    releases the whole family (40 + 30 + 0) although the family unit is free; the father's pin
#    takes G2, the mother takes the cheaper G1. 30 x 5 + 30 x 8.
MICRO["family_pin"] = (
    _doc([{"id": "F1", "units": [_family_unit("UF", 3)]}],
         [{"id": "DAD", "risk": 40.0, "family_id": "X", "pin": {"decision": "release", "atd_program": "G2"}},
          {"id": "MOM", "sex": "F", "risk": 30.0, "family_id": "X"},
          {"id": "KID", "level": None, "minor": True, "risk": 0.0, "family_id": "X",
           "pin": {"decision": "release", "release_day": 0}}]),
    (0, 0, 70.0, 390.0),
    {"DAD": ("release", "G2"), "MOM": ("release", "G1"), "KID": ("release", "")},
)

# 7. Two days, one seat a day. A may hold a bed on day 0 only (his legal limit falls on day 1);
#    held in F2 and released on day 1 he is a transfer too. Moving B and releasing A on arrival
#    (50 x 2/2 = 50) beats moving A and releasing B (25 + 60); counting only detentions would
#    move both (25). C arrives on day 1 from F1 and takes day 1's seat. Cost: B 2 days, C 1 day
#    at 100, two transfers, A's program on 2 days: 300 + 500 + 10.
MICRO["released_later_is_a_transfer"] = (
    _doc([{"id": "F1", "units": [_unit("U1", 0)]}, {"id": "F2", "units": [_unit("U2", 2)]}],
         [{"id": "A", "risk": 50.0, "max_custody_days": 10, "custody_days": 9}, {"id": "B", "risk": 60.0},
          {"id": "C", "risk": 10.0, "arrival_day": 1, "mandatory": True}],
         policy={"max_transfers_per_day": 1}, horizon=2),
    (0, 0, 50.0, 810.0),
    {"A": ("release", "G1"), "B": ("detain", "U2"), "C": ("detain", "U2")},
)


def _read(doc, tmp_path, name="inst.json") -> Instance:
    return read_instance(write_instance(doc, tmp_path / name))


def _outcomes(plan) -> dict:
    return {pid: (d.decision, d.unit_id or d.atd_program_id) for pid, d in plan.items()}


def _oracles(inst):
    return [brute_force_days(inst)] + ([brute_force(inst)] if inst.horizon_days == 1 else [])


def _risk(ref, H: int) -> float:
    """Released risk of an optimum (the oracles count 0.0001 / H units)."""
    return ref.released_risk_units / (RISK_UNITS * H)


@pytest.mark.parametrize("name", sorted(MICRO))
def test_oracles_on_micro_instances(name, tmp_path):
    doc, (un, su, risk, cost), plan = MICRO[name]
    inst = _read(doc, tmp_path)
    for ref in _oracles(inst):
        assert (ref.unplaced, ref.surge, _risk(ref, inst.horizon_days), ref.n_optimal) == (un, su, risk, 1)
        assert ref.cost_usd == pytest.approx(cost, rel=1e-12)
        assert _outcomes(ref.plan) == plan
        check_new_rules(inst, ref.plan)


def test_micro_instances_show_the_rules(tmp_path):
    """Without the rule each micro instance is about, its optimum is the one the comments name:
    the rules are what changes the plans above."""
    def without(name, drop):  # (surge, released risk) of the optimum
        doc = json.loads(json.dumps(MICRO[name][0]))
        drop(doc)
        ref = brute_force_days(_read(doc, tmp_path, f"{name}.json"))
        return ref.surge, _risk(ref, doc["horizon_days"])

    def no_limits(doc):
        doc["policy"].pop("max_transfers_per_day", None)
        for a in doc["aors"]:
            a.pop("max_transfers_out_per_day", None)

    def unpin(doc):
        for p in doc["people"]:
            p.pop("pin", None)

    for name in ("national_limit", "aor_limit_by_origin_facility", "family_members_each_count"):
        assert without(name, no_limits) == (0, 0.0), name
    assert without("released_later_is_a_transfer", no_limits) == (0, 25.0)
    assert without("local_ties", lambda d: [p.pop("local_ties") for p in d["people"] if "local_ties" in p]) == (0, 0.0)
    assert without("pins", unpin) == (0, 35.0)
    assert without("family_pin", unpin) == (0, 0.0)


def test_oracles_refuse_pins_that_cannot_hold():
    """Two people pinned to a one-bed unit: no plan keeps both pins (the instance reader refuses
    such an instance; the oracles, given one anyway, say so instead of returning a plan)."""
    doc, _, _ = MICRO["pins"]
    doc = json.loads(json.dumps(doc))
    doc["facilities"][0]["units"][0]["surge_beds"] = 0
    inst = msgspec.convert(doc, Instance, strict=True)  # schema only: the pins are jointly infeasible
    for oracle in (brute_force, brute_force_days):
        with pytest.raises(ValueError, match="pins cannot all hold"):
            oracle(inst)


# --------------------------------------------------------------------------- random instances

_CACHE: dict = {}


def _case(kind: str, seed: int, tmp_dir: Path):
    """(instance, its optimum, the optimum without transport limits) for a random instance with
    limits, ties and pins, computed once per test session."""
    key = (kind, seed)
    if key not in _CACHE:
        doc = (random_instance(seed, **RULES) if kind == "one" else
               multiday_instance(seed, MULTI_PEOPLE, **RULES))
        inst = _read(doc, tmp_dir, f"{kind}{seed}.json")
        doc["policy"].pop("max_transfers_per_day", None)
        for a in doc["aors"]:
            a.pop("max_transfers_out_per_day", None)
        free = _read(doc, tmp_dir, f"{kind}{seed}-free.json")
        oracle = brute_force if kind == "one" else brute_force_days
        _CACHE[key] = (inst, oracle(inst), oracle(free))
    return _CACHE[key]


@pytest.fixture(scope="module")
def rand_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("rand11")


def _cases(rand_dir):
    return ([("one", s) + _case("one", s, rand_dir) for s in range(ONE_DAY)]
            + [("multi", s) + _case("multi", s, rand_dir) for s in range(MULTI_DAY)])


def _key(ref):
    return ref.unplaced, ref.surge, ref.released_risk_units


def test_random_instances_use_the_new_rules(rand_dir):
    """The random instances exercise every rule: the limits change the optimum in at least a
    quarter of them (so no optimal plan without limits keeps them: the optimum without limits
    moves more people than allowed), pins and ties are common, and optimal plans keep rules 7-9."""
    bound = {"one": 0, "multi": 0}
    pinned = tied = moved = 0
    for kind, seed, inst, ref, free in _cases(rand_dir):
        bound[kind] += _key(ref) != _key(free) or not cost_close(ref.cost_usd, free.cost_usd)
        pinned += any(p.pin is not None for p in inst.people)
        tied += any(p.local_ties for p in inst.people)
        seats = [check_new_rules(inst, plan) for plan in ref.plans[:3]]
        moved += sum(n for (aor, _), n in seats[0].items() if aor is None) > 0
    assert bound["one"] >= 0.25 * ONE_DAY and bound["multi"] >= 0.15 * MULTI_DAY, bound
    assert bound["one"] + bound["multi"] >= 0.25 * (ONE_DAY + MULTI_DAY), bound
    n = ONE_DAY + MULTI_DAY
    assert pinned >= 0.5 * n and tied >= 0.5 * n and moved >= 0.2 * n, (pinned, tied, moved)


def test_oracles_agree_with_each_other_on_the_new_rules(tmp_path):
    """The one-day branch-and-bound, its full enumeration and the multi-day enumeration give the
    same optima and the same number of optimal plans on one-day instances with every rule."""
    for seed in range(500, 580):
        inst = _read(random_instance(seed, 6, **RULES), tmp_path)
        a, b, c = brute_force(inst), brute_force(inst, prune=False), brute_force_days(inst)
        assert _key(a) + (a.n_optimal,) == _key(b) + (b.n_optimal,) == _key(c) + (c.n_optimal,), seed
        assert cost_close(a.cost_usd, b.cost_usd) and cost_close(a.cost_usd, c.cost_usd), seed


def test_random_plans_keep_every_rule(tmp_path):
    """The witnesses that pins are drawn from keep every rule, so the drawn pins can all hold."""
    import random

    for seed in range(100):
        for doc in (random_instance(seed, limits=True, ties=True),
                    multiday_instance(seed, MULTI_PEOPLE, limits=True, ties=True)):
            inst = _read(doc, tmp_path)
            plan = random_plan(inst, random.Random(seed))
            check_new_rules(inst, plan)
            if inst.horizon_days == 1:
                evaluate_plan(inst, plan)


# --------------------------------------------------------------------------- the engine and backends


def _plan(rows) -> dict[str, Decision]:
    return {r["person_id"]: Decision(r["decision"], r["facility_id"], r["unit_id"], r["atd_program_id"],
                                     int(r["release_day"]) if r["release_day"] else None) for r in rows}


def _assert_optimum(inst, res, ref, label):
    """All four levels equal the enumeration's; the plan keeps rules 7-9 (checked here) and passes
    the verifier with the same levels."""
    o, H = res.objective, inst.horizon_days
    assert res.termination == "optimal", label
    assert (o["unplaced"], o["surge"]) == (ref.unplaced, ref.surge), label
    assert o["released_risk"] * H * RISK_UNITS == pytest.approx(ref.released_risk_units, abs=1e-6), label
    assert o["cost_usd"] == pytest.approx(ref.cost_usd, rel=1e-6, abs=1e-6), label
    plan = _plan(res.rows)
    check_new_rules(inst, plan)
    if H == 1:
        e = evaluate_plan(inst, plan)
        assert (e["unplaced"], e["surge"], e["released_risk_units"]) == _key(ref), label
        assert cost_close(e["cost_usd"], ref.cost_usd), label
    check = verify(inst, res.rows)
    assert check.ok, (label, check.violations[:3])
    assert check.objective["released_risk"] == pytest.approx(o["released_risk"], abs=1e-9), label


def _solve(inst, name):
    return solve(inst, SolveParams(mip_gap=1e-9, threads=1, seed=0, solver=name))


@pytest.mark.parametrize("name", ["highs", *MIP, *PYOMO])
@pytest.mark.parametrize("micro", sorted(MICRO))
def test_backends_on_micro_instances(name, micro, tmp_path):
    doc, _, plan = MICRO[micro]
    inst = _read(doc, tmp_path)
    if name.startswith("pyomo:") and inst.horizon_days > 1:
        pytest.skip("the Pyomo formulation plans one day")
    ref = brute_force_days(inst)
    res = _solve(inst, name)
    _assert_optimum(inst, res, ref, micro)
    assert _outcomes(_plan(res.rows)) == plan


@pytest.mark.parametrize("kind,n", [("one", ONE_DAY), ("multi", MULTI_DAY)])
def test_engine_against_brute_force(kind, n, rand_dir):
    for seed in range(n):
        inst, ref, _ = _case(kind, seed, rand_dir)
        _assert_optimum(inst, _solve(inst, "highs"), ref, (kind, seed))


def test_engine_with_limits_and_no_single_origin(tmp_path):
    """Transport limits whose only origin is a family's: the compact model keeps origins but has
    no hub, and its pool duals still lift (was: "a full row has no image")."""
    inst = _read(multiday_instance(10, limits=True, ties=True), tmp_path)
    assert [p.origin for p in inst.people if p.family_id is None] == [None, None]
    _assert_optimum(inst, _solve(inst, "highs"), brute_force_days(inst), "multi 10")


@pytest.mark.parametrize("name", MIP)
def test_mip_backends_against_brute_force(name, rand_dir):
    for kind, n in zip(("one", "multi"), OTHER.get(name, (60, 30))):
        for seed in range(n):
            inst, ref, _ = _case(kind, seed, rand_dir)
            _assert_optimum(inst, _solve(inst, name), ref, (name, kind, seed))


@pytest.mark.parametrize("name", PYOMO)
def test_pyomo_against_brute_force(name, rand_dir):
    for seed in range(60):
        inst, ref, _ = _case("one", seed, rand_dir)
        _assert_optimum(inst, _solve(inst, name), ref, (name, seed))


def _families(inst) -> bool:  # a family still needing a decision (the flow backend refuses it)
    return any(p.family_id and not (p.removal_day is not None and p.removal_day <= p.arrival_day)
               for p in inst.people)


def _active_limit(inst) -> bool:
    """A transport limit below the number of people with a facility origin (nationally), or below
    the number whose origin facility is in the limit's AOR (one-day instances)."""
    aor_of = {f.id: f.aor for f in inst.facilities}
    out = [aor_of[p.origin] for p in inst.people
           if p.origin is not None and not (p.removal_day is not None and p.removal_day <= p.arrival_day)]
    nat = inst.policy.max_transfers_per_day
    return (nat is not None and nat < len(out)) or any(
        a.max_transfers_out_per_day is not None and a.max_transfers_out_per_day < out.count(a.code) for a in inst.aors)


def test_flow_with_ties_and_pins(tmp_path):
    """The min-cost flow on one-day instances without families: with ties and pins it reaches
    the enumeration's levels (level 4 in whole cents); it refuses exactly the instances with an
    active transport limit, and solves those whose limits cannot bind."""
    solved = refused = inactive = 0
    for seed in range(150):
        for limits in (False, True):
            inst = _read(random_instance(seed, limits=limits, ties=True, pins=True), tmp_path)
            if _families(inst):
                continue
            if _active_limit(inst):
                with pytest.raises(BackendError, match="active transport limit") as e:
                    solve(inst, SolveParams(solver="flow"))
                assert "\n" not in str(e.value)
                refused += 1
                continue
            res = solve(inst, SolveParams(solver="flow"))
            ref = brute_force(inst)
            o = res.objective
            assert (o["unplaced"], o["surge"], round(o["released_risk"] * RISK_UNITS)) == _key(ref), seed
            assert abs(o["cost_usd"] - ref.cost_usd) <= 0.01 * len(inst.people) + 1e-6, seed
            check_new_rules(inst, _plan(res.rows))
            assert verify(inst, res.rows).ok, seed
            solved += 1
            inactive += limits
    assert solved > 80 and refused > 40 and inactive > 5, (solved, refused, inactive)


def test_flow_refuses_an_active_limit_with_one_line(tmp_path):
    path = write_instance(MICRO["national_limit"][0], tmp_path / "limit.json")
    proc = subprocess.run([sys.executable, "-m", "optimizer", "solve", str(path), "--solver", "flow", "--out",
                           str(tmp_path / "out"), "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "transport limit" in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


def test_constructive_plans_keep_rules_7_to_9(rand_dir):
    """The constructive plan (optimizer/heuristic.py: what a time limit without incumbent writes)
    keeps the transport limits, local ties and pins and passes the verifier, on the random
    instances above; it is never better than the optimum."""
    from optimizer.heuristic import greedy_plan
    from optimizer.model import network_arrays, people_arrays
    from optimizer.engine import plan_rows

    for kind, seed, inst, ref, _ in _cases(rand_dir):
        P, N = people_arrays(inst), network_arrays(inst)
        rows = plan_rows(inst, P, N, *greedy_plan(inst, P, N))
        check = verify(inst, rows)
        assert check.ok, (kind, seed, check.violations[:3])
        check_new_rules(inst, _plan(rows))
        o = check.objective
        got = (o["unplaced"], o["surge"], round(o["released_risk"] * inst.horizon_days * RISK_UNITS))
        assert got >= _key(ref), (kind, seed)
