"""The solver against an independent brute-force oracle on random one-day instances.

``tests/bruteforce.py`` enumerates every plan (it shares no code with ``optimizer.model`` or
``optimizer.engine``); ``tests/randinst.py`` draws the instances.  The oracle itself is checked
first, on hand-made micro instances whose optima are worked out by hand below, and by
comparing its branch-and-bound with plain enumeration.

The solver is imported inside ``_solve`` (not at module level) so that the oracle's own tests
still run when the solver is broken; every solver test then fails loudly with the ImportError.
"""

from __future__ import annotations

import json
import math

import pytest

from bruteforce import RISK_UNITS, Decision, brute_force, cost_close, evaluate_plan
from optimizer.instance import read_instance
from randinst import load_random, random_instance, write_instance

N_SEEDS = 200
R_KM = 6371.0088
KM_PER_DEGREE = R_KM * math.pi / 180  # 111.19508023353292 km along the equator


def _solve(inst):
    from optimizer.engine import SolveParams, solve  # must exist: no importorskip on purpose

    return solve(inst, SolveParams(time_limit=None, mip_gap=1e-9, threads=1, seed=0))


def _rows_to_plan(rows) -> dict[str, Decision]:
    return {
        r["person_id"]: Decision(r["decision"], r.get("facility_id", ""), r.get("unit_id", ""), r.get("atd_program_id", ""))
        for r in rows
    }


def _assert_same_objective(obj: dict, ref, label: str):
    """Solver objective vs brute force: levels 1-2 exact, level 3 to 4 decimals, level 4 within
    1e-6 relative + 1e-6 absolute."""
    assert obj["unplaced"] == ref.unplaced, f"{label}: unplaced {obj['unplaced']} != {ref.unplaced}"
    assert obj["surge"] == ref.surge, f"{label}: surge {obj['surge']} != {ref.surge}"
    assert round(obj["released_risk"] * RISK_UNITS) == ref.released_risk_units, (
        f"{label}: released_risk {obj['released_risk']} != {ref.released_risk}"
    )
    a, b = obj["cost_usd"], ref.cost_usd
    assert abs(a - b) <= 1e-6 * max(abs(a), abs(b)) + 1e-6, f"{label}: cost_usd {a} != {b}"


# --------------------------------------------------------------------------- random instances


@pytest.fixture(scope="module")
def rand_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("randinst")


_CACHE: dict[int, tuple] = {}


def _case(seed: int, rand_dir):
    """(instance, brute-force result) for a seed, computed once per test session."""
    if seed not in _CACHE:
        inst = read_instance(write_instance(random_instance(seed), rand_dir / f"rand{seed:03d}.json"))
        _CACHE[seed] = (inst, brute_force(inst))
    return _CACHE[seed]


def test_random_instances_are_valid_and_varied(rand_dir):
    """Every generated instance passes read_instance; the set covers the interesting cases."""
    seen = {"release": 0, "detain": 0, "unplaced": 0, "removed": 0, "surge": 0, "family": 0}
    for seed in range(N_SEEDS):
        inst, ref = _case(seed, rand_dir)
        assert inst.horizon_days == 1 and 1 <= len(inst.people) <= 8
        assert 1 <= len(inst.facilities) <= 3 and 1 <= len(inst.atd_programs) <= 3
        assert 1 <= sum(len(f.units) for f in inst.facilities) <= 4 and 1 <= len(inst.aors) <= 2
        decisions = {d.decision for d in ref.plans[0].values()}
        for k in ("release", "detain", "unplaced", "removed"):
            seen[k] += k in decisions
        seen["surge"] += ref.surge > 0
        seen["family"] += any(p.family_id for p in inst.people)
    # at least 10 % of the instances exercise each outcome
    assert all(v >= N_SEEDS // 10 for v in seen.values()), seen


def test_random_instance_is_deterministic():
    assert json.dumps(random_instance(17)) == json.dumps(random_instance(17))
    assert json.dumps(random_instance(17)) != json.dumps(random_instance(18))


def test_branch_and_bound_matches_full_enumeration(tmp_path):
    """The bound never cuts an optimal plan: same optimum, same optimal plans as plain
    enumeration, on 200 other random instances."""
    for seed in range(1000, 1000 + N_SEEDS):
        inst = read_instance(write_instance(random_instance(seed), tmp_path / "r.json"))
        a, b = brute_force(inst), brute_force(inst, prune=False)
        assert (a.unplaced, a.surge, a.released_risk_units, a.n_optimal) == (
            b.unplaced, b.surge, b.released_risk_units, b.n_optimal
        ), seed
        assert cost_close(a.cost_usd, b.cost_usd), seed
        assert sorted(map(repr, a.plans)) == sorted(map(repr, b.plans)), seed


def test_optimal_plans_evaluate_to_the_optimum(rand_dir):
    """The incremental objective of the search equals a from-scratch evaluation of the plan."""
    for seed in range(N_SEEDS):
        inst, ref = _case(seed, rand_dir)
        for plan in ref.plans[:3]:
            e = evaluate_plan(inst, plan)
            assert (e["unplaced"], e["surge"], e["released_risk_units"]) == (
                ref.unplaced, ref.surge, ref.released_risk_units
            ), seed
            assert cost_close(e["cost_usd"], ref.cost_usd), seed


@pytest.mark.parametrize("seed", range(N_SEEDS))
def test_solver_matches_bruteforce(seed, rand_dir):
    inst, ref = _case(seed, rand_dir)
    res = _solve(inst)
    assert res.termination == "optimal", f"seed {seed}: termination {res.termination}"
    # the plan itself is legal (checked here, independently) and evaluates to the optimum
    rows = res.rows
    assert [r["person_id"] for r in rows] == [p.id for p in inst.people], f"seed {seed}: rows not in instance order"
    e = evaluate_plan(inst, _rows_to_plan(rows))
    _assert_same_objective(e, ref, f"seed {seed} (plan rows, evaluated here)")
    # and the objective the solver reports is the optimum
    assert res.objective is not None, "solve() must fill Result.objective"
    _assert_same_objective(res.objective, ref, f"seed {seed} (reported objective)")


# --------------------------------------------------------------------------- hand-made micro instances
#
# Every micro instance has one AOR "HOU"; unless said otherwise its hub and every facility sit at
# (0, 0), so distances are 0, and people come from facility F1, so nobody pays a moving fee.
# cost_days is the default 30.


def _doc(facilities, programs, people, hub=(0.0, 0.0)):
    facs = []
    for f in facilities:
        f = {"name": f["id"], "aor": "HOU", "state": "TX", "type": "CDF", "lat": 0.0, "lon": 0.0, **f}
        facs.append(f)
    progs = [{"technology": "app", **g} for g in programs]
    ppl = [{"sex": "M", "level": "A", "aor": "HOU", "origin": "F1", **p} for p in people]
    return {
        "format": "bedalloc-instance", "version": 1, "name": "micro", "snapshot_date": "2025-01-01",
        "horizon_days": 1,
        "aors": [{"code": "HOU", "name": "Houston", "lat": hub[0], "lon": hub[1]}],
        "facilities": facs, "atd_programs": progs, "people": ppl,
    }


def _unit(uid, **kw):
    return {"id": uid, "sex": "M", "levels": ["A", "B", "C", "D"], **kw}


def _run(doc, tmp_path):
    inst = read_instance(write_instance(doc, tmp_path / "micro.json"))
    return inst, brute_force(inst)


def _decisions(ref):
    return {pid: (d.decision, d.unit_id or d.atd_program_id) for pid, d in ref.plan.items()}


MICRO = {}

# 1. One bed, two people. A: risk 40 x pregnant 0.25 = 10.0; B: risk 30.0. Releasing the lower
#    EFFECTIVE risk (A, although his raw risk is higher): released_risk 10.0.
#    cost = 30 x 100 (one bed, per diem 100) + 30 x 5 (A's ATD per diem) = 3,150.
MICRO["lower_effective_risk_released"] = (
    _doc(
        [{"id": "F1", "per_diem": 100, "units": [_unit("U1", beds=1)]}],
        [{"id": "G1", "per_diem": 5, "max_risk": 100}],
        [{"id": "A", "risk": 40.0, "humanitarian": ["pregnant"]}, {"id": "B", "risk": 30.0}],
    ),
    (0, 0, 10.0, 3150.0, 1),
    {"A": ("release", "G1"), "B": ("detain", "U1")},
)

# 2. One bed; A (risk 10) is mandatory, B (risk 90) is not. Without the mandatory flag A would be
#    released; with it, B goes: released_risk 90.0, cost 30 x 100 + 30 x 5 = 3,150.
MICRO["mandatory_displaces"] = (
    _doc(
        [{"id": "F1", "per_diem": 100, "units": [_unit("U1", beds=1)]}],
        [{"id": "G1", "per_diem": 5, "max_risk": 100}],
        [{"id": "A", "risk": 10.0, "mandatory": True}, {"id": "B", "risk": 90.0}],
    ),
    (0, 0, 90.0, 3150.0, 1),
    {"A": ("detain", "U1"), "B": ("release", "G1")},
)

# 3. One bed + 3 surge beds; program max_risk 80. A, B mandatory; D (risk 95 > 80) has no
#    program and is not mandatory; C (risk 40) can be released. A, B, D need beds: 3 people on
#    1 bed = 2 surge bed-days (otherwise someone is unplaced). C is released although a 4th
#    (surge) bed is free: surge ranks above released risk. (0, 2, 40.0, cost 30 x 100 x 3 +
#    30 x 5 = 9,150).
MICRO["surge_only_against_unplaced"] = (
    _doc(
        [{"id": "F1", "per_diem": 100, "units": [_unit("U1", beds=1, surge_beds=3)]}],
        [{"id": "G1", "per_diem": 5, "max_risk": 80}],
        [
            {"id": "A", "risk": 50.0, "mandatory": True},
            {"id": "B", "risk": 60.0, "mandatory": True},
            {"id": "C", "risk": 40.0},
            {"id": "D", "risk": 95.0},
        ],
    ),
    (0, 2, 40.0, 9150.0, 1),
    {"A": ("detain", "U1"), "B": ("detain", "U1"), "C": ("release", "G1"), "D": ("detain", "U1")},
)

# 4. Guaranteed minimum vs per diem. G: GM 2 beds at 80 (paid anyway: 30 x 2 x 80 = 4,800),
#    per diem 120 beyond; P: per diem 90. Three identical mandatory people arriving from the
#    hub (distance 0). The first two beds at G are free, the third person is cheaper at P
#    (90 < 120): cost 4,800 + 30 x 90 = 7,500. Any of the 3 can be the one sent to P:
#    3 optimal plans (all 3 at G: 4,800 + 3,600 = 8,400; 1 at G: 4,800 + 5,400 = 10,200).
MICRO["guaranteed_minimum_first"] = (
    _doc(
        [
            {"id": "G", "per_diem": 120, "guaranteed_minimum": 2, "gm_rate": 80, "units": [_unit("UG", beds=3)]},
            {"id": "P", "per_diem": 90, "units": [_unit("UP", beds=3)]},
        ],
        [{"id": "G1", "per_diem": 5, "max_risk": 100}],
        [{"id": x, "risk": 20.0, "mandatory": True, "origin": None} for x in ("A", "B", "C")],
    ),
    (0, 0, 0.0, 7500.0, 3),
    None,
)

# 5. (Everyone arrives from the hub at distance 0.) A family (mother, mandatory, + son, a minor) must go to the family unit even though the
#    women's unit is cheaper, and must not be split; a single woman W1 (mandatory) cannot use
#    the family unit. cost = 30 x 150 x 2 + 30 x 50 = 10,500.
_FAMILY_FACS = [
    {"id": "FF", "per_diem": 150, "units": [{"id": "FAM", "sex": "any", "levels": ["A", "B", "C", "D"], "beds": 2, "family": True}]},
    {"id": "F1", "per_diem": 50, "units": [{"id": "W", "sex": "F", "levels": ["A", "B", "C", "D"], "beds": 2}]},
]
_FAMILY_PEOPLE = [
    {"id": "MOM", "sex": "F", "risk": 10.0, "mandatory": True, "family_id": "X", "origin": None},
    {"id": "SON", "sex": "M", "level": None, "risk": 0.0, "minor": True, "family_id": "X", "origin": None},
    {"id": "W1", "sex": "F", "level": "B", "risk": 30.0, "mandatory": True, "origin": None},
]
MICRO["family_in_family_unit"] = (
    _doc(_FAMILY_FACS, [{"id": "G1", "per_diem": 5, "max_risk": 100}], _FAMILY_PEOPLE),
    (0, 0, 0.0, 10500.0, 1),
    {"MOM": ("detain", "FAM"), "SON": ("detain", "FAM"), "W1": ("detain", "W")},
)

# 5b. Same with a 1-bed family unit: the family is never split, both members are unplaced
#     (unplaced 2, not 1); W1 detained: cost 30 x 50 = 1,500.
_small = json.loads(json.dumps(_FAMILY_FACS))
_small[0]["units"][0]["beds"] = 1
MICRO["family_never_split"] = (
    _doc(_small, [{"id": "G1", "per_diem": 5, "max_risk": 100}], _FAMILY_PEOPLE),
    (2, 0, 0.0, 1500.0, 1),
    {"MOM": ("unplaced", ""), "SON": ("unplaced", ""), "W1": ("detain", "W")},
)

# 6. Legal limit and moving costs. F1 at (0, 0) with 2 beds, F2 at (0, 1) with 0 beds, hub at
#    (0, 2); one program, max_risk 50, per diem 5.
#    L1 (risk 40) is at his limit (180 of 180 days): released although a bed is free (40.0).
#    L2 (risk 70 > 50) is at his limit and no program takes him: unplaced (1).
#    T (origin F2, risk 60 > 50, no program) is moved to F1: 250 + 0.5 x 111.19508 km.
#    N (origin null, mandatory) comes from the hub: 0.5 x 222.39016 km, no fixed fee.
#    cost = 30 x 100 x 2 + 30 x 5 + 250 + 0.5 x 1 x 111.19508 + 0.5 x 2 x 111.19508
#         = 6,000 + 150 + 250 + 166.79262 = 6,566.79262
MICRO["legal_limit_and_moving"] = (
    _doc(
        [
            {"id": "F1", "per_diem": 100, "units": [_unit("U1", beds=2)]},
            {"id": "F2", "per_diem": 100, "lon": 1.0, "units": [_unit("U2", beds=0)]},
        ],
        [{"id": "G1", "per_diem": 5, "max_risk": 50}],
        [
            {"id": "L1", "risk": 40.0, "max_custody_days": 180, "custody_days": 180},
            {"id": "L2", "risk": 70.0, "max_custody_days": 180, "custody_days": 180},
            {"id": "T", "risk": 60.0, "origin": "F2"},
            {"id": "N", "risk": 20.0, "origin": None, "mandatory": True},
        ],
        hub=(0.0, 2.0),
    ),
    (1, 0, 40.0, 6000 + 150 + 250 + 0.5 * KM_PER_DEGREE + 0.5 * 2 * KM_PER_DEGREE, 1),
    {"L1": ("release", "G1"), "L2": ("unplaced", ""), "T": ("detain", "U1"), "N": ("detain", "U1")},
)

# 7. Short stays: S has max_stay_days 3 (per diem 40, 2 beds), F1 has 1 bed (per diem 100).
#    All mandatory, arriving from the hub (distance 0). a leaves by removal on day 2 (2 <= 3: may use S); b on day 5 (5 > 3) and c
#    never (null) may not; d is removed (removal_day 0, no decision). a -> S; b and c compete
#    for F1's bed: one is unplaced. (1, 0, 0.0, 30 x 40 + 30 x 100 = 4,200), 2 optimal plans.
MICRO["short_stay"] = (
    _doc(
        [
            {"id": "S", "per_diem": 40, "type": "STAGING", "max_stay_days": 3, "units": [_unit("US", beds=2)]},
            {"id": "F1", "per_diem": 100, "units": [_unit("U1", beds=1)]},
        ],
        [{"id": "G1", "per_diem": 5, "max_risk": 100}],
        [
            {"id": "a", "risk": 10.0, "mandatory": True, "removal_day": 2, "origin": None},
            {"id": "b", "risk": 10.0, "mandatory": True, "removal_day": 5, "origin": None},
            {"id": "c", "risk": 10.0, "mandatory": True, "origin": None},
            {"id": "d", "risk": 10.0, "mandatory": True, "removal_day": 0, "origin": None},
        ],
    ),
    (1, 0, 0.0, 4200.0, 2),
    None,
)


@pytest.mark.parametrize("name", sorted(MICRO))
def test_bruteforce_micro(name, tmp_path):
    doc, (un, su, risk, cost, n_opt), plan = MICRO[name]
    inst, ref = _run(doc, tmp_path)
    assert (ref.unplaced, ref.surge, ref.released_risk) == (un, su, risk)
    assert ref.cost_usd == pytest.approx(cost, rel=1e-12)
    assert ref.n_optimal == n_opt
    if plan is not None:
        assert _decisions(ref) == plan
    for p in ref.plans:
        e = evaluate_plan(inst, p)
        assert (e["unplaced"], e["surge"], e["released_risk"]) == (un, su, risk)
        assert e["cost_usd"] == pytest.approx(cost, rel=1e-12)


def test_bruteforce_micro_alternatives(tmp_path):
    """Details of micro 4 and 7 that the tuple alone does not show."""
    _, ref = _run(MICRO["guaranteed_minimum_first"][0], tmp_path)
    for plan in ref.plans:
        units = sorted(d.unit_id for d in plan.values())
        assert units == ["UG", "UG", "UP"]
    _, ref = _run(MICRO["short_stay"][0], tmp_path)
    for plan in ref.plans:
        assert plan["a"].unit_id == "US" and plan["d"].decision == "removed"
        assert {plan["b"].decision, plan["c"].decision} == {"detain", "unplaced"}


def test_bruteforce_refuses_multi_day(tmp_path):
    doc = MICRO["mandatory_displaces"][0]
    doc = {**doc, "horizon_days": 2}
    inst = read_instance(write_instance(doc, tmp_path / "m.json"))
    with pytest.raises(ValueError):
        brute_force(inst)


@pytest.mark.parametrize("name", sorted(MICRO))
def test_solver_micro(name, tmp_path):
    doc, _, plan = MICRO[name]
    inst, ref = _run(doc, tmp_path)
    res = _solve(inst)
    assert res.termination == "optimal"
    _assert_same_objective(evaluate_plan(inst, _rows_to_plan(res.rows)), ref, f"{name} (plan rows)")
    assert res.objective is not None, "solve() must fill Result.objective"
    _assert_same_objective(res.objective, ref, name)
    if plan is not None:
        got = {r["person_id"]: (r["decision"], r["unit_id"] or r["atd_program_id"]) for r in res.rows}
        assert got == plan


def test_multiday_enumerator_agrees_with_the_one_day_brute_force(tmp_path):
    """brute_force_days (any horizon) reproduces brute_force on one-day instances, optimal ties
    included: the multi-day oracle is checked before it checks the multi-day model."""
    from bruteforce import brute_force_days

    for seed in range(60):
        inst = load_random(seed, tmp_path, max_people=6)
        a, b = brute_force(inst), brute_force_days(inst)
        assert (a.unplaced, a.surge, a.released_risk_units, a.n_optimal) == (
            b.unplaced, b.surge, b.released_risk_units, b.n_optimal), seed
        assert abs(a.cost_usd - b.cost_usd) <= 1e-6 * max(1.0, a.cost_usd), seed
