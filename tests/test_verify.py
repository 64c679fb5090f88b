"""Tests of the independent verifier (optimizer/verify.py; MODEL.md §3–§5).

A small hand-made one-day instance with a hand-written valid plan whose objective is computed by
hand, then one mutated plan per rule, each of which must be caught with a message naming the
right person, unit, facility or program.  Plus a multi-day instance and read_plan on bad files.
"""

from __future__ import annotations

import copy
import csv
import json
import math

import pytest

from optimizer.errors import InputError
from optimizer.instance import read_instance
from optimizer.verifier import PLAN_COLUMNS, Verification, read_plan, verify

# One degree of longitude on the equator, km (haversine reduces to R x dlon there).
D1 = 6371.0088 * math.pi / 180  # 111.19508... km


def base_instance() -> dict:
    """One-day instance.  Facilities on the equator: F1 at lon 0, F2 at lon 1, F3 at lon 2;
    AOR hubs NYC at lon 0, LOS at lon 1."""
    return {
        "format": "bedalloc-instance",
        "version": 1,
        "name": "verify-base",
        "snapshot_date": "2025-01-01",
        "horizon_days": 1,
        "policy": {"cost_days": 30, "transfer_fixed_usd": 250, "transfer_usd_per_km": 0.5},
        "aors": [
            {"code": "NYC", "name": "New York", "lat": 0.0, "lon": 0.0},
            {"code": "LOS", "name": "Los Angeles", "lat": 0.0, "lon": 1.0},
        ],
        "facilities": [
            {"id": "F1", "name": "One", "aor": "NYC", "state": "NY", "type": "CDF",
             "lat": 0.0, "lon": 0.0, "guaranteed_minimum": 2, "gm_rate": 100, "per_diem": 150,
             "units": [
                 {"id": "U1", "sex": "M", "levels": ["A", "B"], "beds": 2, "surge_beds": 1},
                 {"id": "U2", "sex": "F", "levels": ["A", "B", "C", "D"], "beds": 2,
                  "medical": True},
                 {"id": "U7", "sex": "F", "levels": ["A", "B", "C", "D"], "beds": 1},
             ]},
            {"id": "F2", "name": "Two", "aor": "NYC", "state": "NJ", "type": "IGSA",
             "lat": 0.0, "lon": 1.0, "per_diem": 80,
             "units": [
                 {"id": "U3", "sex": "any", "levels": ["A", "B"], "beds": 3, "family": True},
                 {"id": "U4", "sex": "M", "levels": ["C", "D"], "beds": 1},
                 {"id": "U6", "sex": "M", "levels": ["A", "B"], "beds": 2},
                 {"id": "U8", "sex": "any", "levels": ["A", "B", "C", "D"], "beds": 2,
                  "family": True},
             ]},
            {"id": "F3", "name": "Staging", "aor": "NYC", "state": "NY", "type": "STAGING",
             "lat": 0.0, "lon": 2.0, "per_diem": 50, "max_stay_days": 3,
             "units": [{"id": "U5", "sex": "M", "levels": ["A", "B", "C", "D"], "beds": 2}]},
        ],
        "atd_programs": [
            {"id": "A1", "technology": "ankle_gps", "per_diem": 5, "capacity": 3, "max_risk": 80},
            {"id": "A2", "technology": "app", "per_diem": 2, "max_risk": 40, "aor": "LOS"},
            {"id": "A3", "technology": "telephonic", "per_diem": 1, "max_risk": 100},
        ],
        "people": [
            {"id": "P1", "sex": "M", "level": "A", "risk": 10, "aor": "NYC", "origin": "F1"},
            {"id": "P2", "sex": "M", "level": "B", "risk": 20, "aor": "LOS"},
            {"id": "P3", "sex": "M", "level": "B", "risk": 30, "aor": "NYC", "origin": "F1"},
            {"id": "P4", "sex": "F", "level": "C", "risk": 50, "aor": "NYC", "origin": "F2",
             "needs_medical": True},
            {"id": "P5", "sex": "M", "level": "D", "risk": 90, "aor": "NYC", "origin": "F2",
             "mandatory": True},
            {"id": "P6", "sex": "M", "level": "A", "risk": 60, "aor": "LOS",
             "humanitarian": ["elderly"]},
            {"id": "P7", "sex": "F", "level": "A", "risk": 30, "aor": "LOS",
             "humanitarian": ["pregnant", "medical"]},
            {"id": "P8", "sex": "F", "level": "B", "risk": 40, "aor": "NYC", "family_id": "FAM1"},
            {"id": "P9", "sex": "F", "level": None, "risk": 0, "aor": "NYC", "family_id": "FAM1",
             "minor": True},
            {"id": "P10", "sex": "M", "level": "A", "risk": 20, "aor": "NYC", "family_id": "FAM2"},
            {"id": "P11", "sex": "M", "level": None, "risk": 0, "aor": "NYC", "family_id": "FAM2",
             "minor": True},
            {"id": "P12", "sex": "M", "level": "A", "risk": 10, "aor": "NYC", "removal_day": 0},
            {"id": "P13", "sex": "M", "level": "A", "risk": 15, "aor": "NYC", "removal_day": 2},
            {"id": "P14", "sex": "M", "level": "A", "risk": 70, "aor": "NYC", "mandatory": True,
             "needs_medical": True},  # no medical unit for men, may not be released: truly unplaced
            {"id": "P15", "sex": "M", "level": "B", "risk": 25, "aor": "NYC",
             "max_custody_days": 180, "custody_days": 180},
        ],
    }


def row(pid, dec, fac="", unit="", prog="", rday="", transfer="0", eff="0.0000"):
    return dict(zip(PLAN_COLUMNS, (pid, dec, fac, unit, prog, rday, transfer, eff)))


def base_plan() -> list[dict[str, str]]:
    return [
        row("P1", "detain", "F1", "U1", eff="10.0000"),
        row("P2", "detain", "F1", "U1", eff="20.0000"),
        row("P3", "detain", "F1", "U1", eff="30.0000"),
        row("P4", "detain", "F1", "U2", transfer="1", eff="50.0000"),
        row("P5", "detain", "F2", "U4", eff="90.0000"),
        row("P6", "release", prog="A1", rday="0", eff="30.0000"),   # 60 x elderly 0.5
        row("P7", "release", prog="A2", rday="0", eff="3.7500"),    # 30 x 0.25 x 0.5
        row("P8", "detain", "F2", "U3", eff="40.0000"),
        row("P9", "detain", "F2", "U3", eff="0.0000"),
        row("P10", "release", prog="A1", rday="0", eff="20.0000"),
        row("P11", "release", rday="0", eff="0.0000"),
        row("P12", "removed", eff="10.0000"),
        row("P13", "detain", "F3", "U5", eff="15.0000"),
        row("P14", "unplaced", eff="70.0000"),
        row("P15", "release", prog="A1", rday="0", eff="25.0000"),
    ]


@pytest.fixture
def inst(tmp_path):
    return load(tmp_path, base_instance())


def load(tmp_path, d, name="inst.json"):
    p = tmp_path / name
    p.write_text(json.dumps(d))
    return read_instance(p)


def idx(pid: str) -> int:
    return int(pid[1:]) - 1


def mutate(plan, pid, **cells):
    plan = copy.deepcopy(plan)
    r = plan[idx(pid)]
    assert r["person_id"] == pid
    for k, v in cells.items():
        r[k] = v
    return plan


def assert_caught(res: Verification, rule: str, *needles: str):
    assert not res.ok
    hits = [v for v in res.violations if v.startswith(rule + ":") and all(s in v for s in needles)]
    assert hits, f"no {rule!r} violation containing {needles}; got {res.violations}"


# ----------------------------------------------------------------------------------------------
# the valid plan, objective by hand
# ----------------------------------------------------------------------------------------------

def test_valid_plan_and_objective(inst):
    res = verify(inst, base_plan())
    assert res.ok, res.violations
    assert res.violations == []
    # unplaced: P14.
    # surge: U1 holds P1, P2, P3 = 3 on day 0, beds 2 -> 1 surge bed-day.
    # released risk: P6 30 + P7 3.75 + P10 20 + P11 0 (minor counts) + P15 25 = 78.75.
    # cost, per day:  F1 occupied 4 (U1 3 + U2 1): 2 x 100 + 150 x (4 - 2) = 500
    #                 F2 occupied 3 (U3 2 + U4 1): 80 x 3 = 240
    #                 F3 occupied 1 (U5 P13):      50 x 1 = 50        -> 790 x 30 days = 23,700
    #   ATD per day: P6 A1 5 + P7 A2 2 + P10 A1 5 + P15 A1 5 (P11 minor: none) = 17 x 30 = 510
    #   moving: P1, P3 in origin F1, P5 in origin F2: 0
    #           P2 origin null, LOS hub (lon 1) -> F1 (lon 0): 0.5 x D1, no fixed fee
    #           P4 origin F2 (lon 1) -> F1 (lon 0): 250 + 0.5 x D1
    #           P8, P9 origin null, NYC hub (lon 0) -> F2 (lon 1): 0.5 x D1 each
    #           P13 origin null, NYC hub (lon 0) -> F3 (lon 2): 0.5 x 2 x D1
    #           -> 250 + 3 x D1 = 250 + 333.585... ; total 24,793.59
    assert res.objective["unplaced"] == 1
    assert res.objective["surge"] == 1
    assert res.objective["released_risk"] == 78.75
    assert res.objective["cost_usd"] == round(23700 + 510 + 250 + 3 * D1, 2) == 24793.59
    assert res.counts == {"people": 15, "detained": 8, "released": 5, "unplaced": 1,
                          "removed": 1, "transfers": 1, "pinned": 0}
    assert res.per_facility == [
        {"id": "F1", "occupied": 4, "beds": 5, "cost_usd": 15000.0},
        {"id": "F2", "occupied": 3, "beds": 8, "cost_usd": 7200.0},
        {"id": "F3", "occupied": 1, "beds": 2, "cost_usd": 1500.0},
    ]
    assert res.transfers_by_aor == [  # P4 moves from F2 (AOR NYC) to F1
        {"aor": "NYC", "day": 0, "transfers": 1, "limit": None},
        {"aor": "LOS", "day": 0, "transfers": 0, "limit": None},
        {"aor": None, "day": 0, "transfers": 1, "limit": None},
    ]
    assert res.per_program == [
        {"id": "A1", "enrolled": 3, "capacity": 3},
        {"id": "A2", "enrolled": 1, "capacity": None},
        {"id": "A3", "enrolled": 0, "capacity": None},
    ]


def test_surge_and_cost_recomputed_after_a_move(inst):
    # P3 moves from U1 (F1) to U6 (F2): transfer 1 (origin F1).
    plan = mutate(base_plan(), "P3", facility_id="F2", unit_id="U6", transfer="1")
    res = verify(inst, plan)
    assert res.ok, res.violations
    # surge: U1 now holds 2 = beds -> 0.
    # per day: F1 3 people: 200 + 150 x 1 = 350; F2 4 people: 320; F3 50 -> 720 x 30 = 21,600
    # ATD 510; moving: 250 + 3 x D1 (as before) + P3: 250 + 0.5 x D1 (F1 -> F2)
    assert res.objective["surge"] == 0
    assert res.objective["cost_usd"] == round(21600 + 510 + 500 + 3.5 * D1, 2)
    assert res.counts["transfers"] == 2
    assert res.per_facility[0]["occupied"] == 3


def test_two_surge_beds(tmp_path):
    d = base_instance()
    d["facilities"][0]["units"][0]["surge_beds"] = 2
    inst = load(tmp_path, d)
    # P6 (M, A) detained in U1 too: 4 people, beds 2 -> surge 2; no longer released.
    plan = mutate(base_plan(), "P6", decision="detain", facility_id="F1", unit_id="U1",
                  atd_program_id="", release_day="")
    res = verify(inst, plan)
    assert res.ok, res.violations
    assert res.objective["surge"] == 2
    assert res.objective["released_risk"] == 48.75  # 78.75 - 30
    # moving for P6: origin null, LOS hub (lon 1) -> F1 (lon 0): 0.5 x D1; F1 5 people:
    # 200 + 150 x 3 = 650/day, +150 x 30 = 4,500; ATD -5 x 30 = -150
    assert res.objective["cost_usd"] == round(23700 + 4500 + 510 - 150 + 250 + 3.5 * D1, 2)


def test_minor_level_not_checked(tmp_path):
    d = base_instance()
    d["people"][idx("P9")]["level"] = "D"  # U3 lists A, B only; P9 is a minor
    res = verify(load(tmp_path, d), base_plan())
    assert res.ok, res.violations


def test_released_risk_rounded_on_grid(tmp_path):
    d = base_instance()
    d["people"][idx("P6")]["risk"] = 33.3333  # x 0.5 = 16.66665 -> round(., 4)
    d["people"][idx("P7")]["risk"] = 0.1      # x 0.25 x 0.5 = 0.0125
    inst = load(tmp_path, d)
    e6 = round(33.3333 * 0.5, 4)
    plan = mutate(base_plan(), "P6", effective_risk=f"{e6:.4f}")
    plan = mutate(plan, "P7", effective_risk="0.0125")
    res = verify(inst, plan)
    assert res.ok, res.violations
    assert res.objective["released_risk"] == round(e6 + 0.0125 + 20 + 25, 4)


# ----------------------------------------------------------------------------------------------
# one mutated plan per rule
# ----------------------------------------------------------------------------------------------

MUTATIONS = [
    # (name, person, cells, rule, needles)
    ("beds exceeded", "P6",
     dict(decision="detain", facility_id="F1", unit_id="U1", atd_program_id="", release_day=""),
     "beds", ("unit U1 (facility F1) holds 4 people on day 0, beds 2 + surge 1 = 3",)),
    ("wrong sex", "P7",
     dict(decision="detain", facility_id="F2", unit_id="U6", atd_program_id="", release_day=""),
     "compatibility", ("people[6] id=P7", "sex F", "unit U6")),
    ("wrong level", "P5", dict(unit_id="U6"),
     "compatibility", ("people[4] id=P5", "level D", "unit U6")),
    ("medical", "P4", dict(unit_id="U7"),
     "compatibility", ("people[3] id=P4", "medical", "unit U7")),
    ("family split across units", "P9", dict(unit_id="U8"),
     "family", ("people[8] id=P9", "FAM1", "unit U8", "people[7] id=P8", "unit U3")),
    ("family partly released", "P11",
     dict(decision="detain", facility_id="F2", unit_id="U3", release_day=""),
     "family", ("people[10] id=P11", "FAM2", "people[9] id=P10", "release")),
    ("family unit used by a single", "P1", dict(facility_id="F2", unit_id="U3", transfer="1"),
     "compatibility", ("people[0] id=P1", "family unit U3")),
    ("non-family unit for a family", "P8", dict(unit_id="U6"),
     "compatibility", ("people[7] id=P8", "FAM1", "unit U6", "not a family unit")),
    ("mandatory released", "P14", dict(decision="release", atd_program_id="A3", release_day="0"),
     "law", ("people[13] id=P14", "mandatory")),
    ("legal limit exceeded", "P15",
     dict(decision="detain", facility_id="F2", unit_id="U6", atd_program_id="", release_day=""),
     "law", ("people[14] id=P15", "unit U6", "day 0", "max_custody_days 180")),
    ("short stay violated", "P1", dict(facility_id="F3", unit_id="U5", transfer="1"),
     "short_stay", ("people[0] id=P1", "facility F3", "max_stay_days 3")),
    ("ineligible program (risk)", "P6", dict(atd_program_id="A2"),
     "atd", ("people[5] id=P6", "risk 60", "program A2", "max_risk 40")),
    ("program in another AOR", "P15", dict(atd_program_id="A2"),
     "atd", ("people[14] id=P15", "AOR NYC", "program A2", "LOS")),
    ("program capacity exceeded", "P3",
     dict(decision="release", facility_id="", unit_id="", atd_program_id="A1", release_day="0"),
     "atd", ("program A1 enrols 4 people, capacity 3",)),
    ("minor given a program", "P11", dict(atd_program_id="A3"),
     "atd", ("people[10] id=P11", "minor", "A3")),
    ("released adult without program", "P10", dict(atd_program_id=""),
     "atd", ("people[9] id=P10", "no atd_program_id")),
    ("unknown program", "P10", dict(atd_program_id="ZZ"),
     "unknown", ("people[9] id=P10", "'ZZ'")),
    ("unknown unit", "P1", dict(unit_id="U99"),
     "unknown", ("people[0] id=P1", "unit_id 'U99'")),
    ("unknown facility", "P1", dict(facility_id="F99"),
     "unknown", ("people[0] id=P1", "facility_id 'F99'")),
    ("facility_id mismatch", "P1", dict(facility_id="F2"),
     "cells", ("people[0] id=P1", "facility_id 'F2'", "unit U1 is in facility F1")),
    ("facility_id missing", "P1", dict(facility_id=""),
     "cells", ("people[0] id=P1", "unit U1 is in facility F1")),
    ("facility without unit on release", "P6", dict(facility_id="F1"),
     "cells", ("people[5] id=P6", "without a unit_id")),
    ("transfer flag wrong (0 for 1)", "P4", dict(transfer="0"),
     "transfer", ("people[3] id=P4", "transfer is 0, expected 1")),
    ("transfer flag wrong (1 for 0)", "P2", dict(transfer="1"),
     "transfer", ("people[1] id=P2", "transfer is 1, expected 0")),
    ("transfer flag on a release", "P6", dict(transfer="1"),
     "transfer", ("people[5] id=P6", "expected 0")),
    ("transfer not 0/1", "P1", dict(transfer="yes"),
     "transfer", ("people[0] id=P1", "'yes'")),
    ("effective_risk wrong", "P7", dict(effective_risk="3.7600"),
     "effective_risk", ("people[6] id=P7", "3.7600", "3.7500")),
    ("effective_risk raw instead of effective", "P6", dict(effective_risk="60"),
     "effective_risk", ("people[5] id=P6", "30.0000")),
    ("effective_risk nan", "P14", dict(effective_risk="nan"),
     "effective_risk", ("people[13] id=P14", "plan says nan", "70.0000")),
    ("effective_risk empty", "P14", dict(effective_risk=""),
     "effective_risk", ("people[13] id=P14", "not a number")),
    ("removed person given a decision", "P12", dict(decision="unplaced"),
     "removed", ("people[11] id=P12", "must say removed")),
    ("removed without removal", "P14", dict(decision="removed"),
     "removed", ("people[13] id=P14", "needs a decision")),
    ("bad decision string", "P14", dict(decision="Unplaced"),
     "decision", ("people[13] id=P14", "'Unplaced'")),
    ("release_day on a detain row", "P1", dict(release_day="0"),
     "cells", ("people[0] id=P1", "release_day '0'", "detain row")),
    ("program on a detain row", "P1", dict(atd_program_id="A1"),
     "cells", ("people[0] id=P1", "atd_program_id 'A1'")),
    ("detain without unit", "P1", dict(facility_id="", unit_id=""),
     "cells", ("people[0] id=P1", "needs a unit_id")),
    ("unit on an unplaced row", "P14", dict(facility_id="F2", unit_id="U6"),
     "cells", ("people[13] id=P14", "unit_id 'U6'", "unplaced")),
    ("release without release_day", "P6", dict(release_day=""),
     "cells", ("people[5] id=P6", "needs a release_day")),
    ("release_day not an integer", "P6", dict(release_day="0.0"),
     "cells", ("people[5] id=P6", "not an integer")),
    ("release_day outside the horizon", "P6", dict(release_day="1"),
     "cells", ("people[5] id=P6", "release_day 1", "outside")),
    ("release from a unit in a one-day plan", "P15", dict(facility_id="F2", unit_id="U6"),
     "cells", ("people[14] id=P15", "release from unit U6", "> arrival_day 0")),
]


@pytest.mark.parametrize("name,pid,cells,rule,needles", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_mutation_is_caught(inst, name, pid, cells, rule, needles):
    res = verify(inst, mutate(base_plan(), pid, **cells))
    assert_caught(res, rule, *needles)


def test_mutations_are_precise(inst):
    """The single-rule mutations produce exactly one violation (no collateral noise)."""
    single = {"beds exceeded", "wrong sex", "wrong level", "medical", "family split across units",
              "family partly released", "family unit used by a single", "mandatory released",
              "legal limit exceeded", "short stay violated", "ineligible program (risk)",
              "program in another AOR", "program capacity exceeded", "minor given a program",
              "transfer flag wrong (0 for 1)", "effective_risk wrong", "bad decision string",
              "release_day on a detain row", "facility_id mismatch"}
    for name, pid, cells, rule, needles in MUTATIONS:
        if name in single:
            res = verify(inst, mutate(base_plan(), pid, **cells))
            assert len(res.violations) == 1, (name, res.violations)


def test_effective_risk_compared_on_grid(inst):
    plan = mutate(base_plan(), "P7", effective_risk="3.75")
    plan = mutate(plan, "P1", effective_risk="10")
    assert verify(inst, plan).ok


def test_missing_row(inst):
    plan = base_plan()
    del plan[idx("P5")]
    res = verify(inst, plan)
    assert_caught(res, "plan", "people[4] id=P5", "no row")
    assert not any("order" in v for v in res.violations), res.violations
    # the other rows are still checked: U4 is empty now, the objective still counts the rest
    assert res.per_facility[1]["occupied"] == 2


def test_extra_row(inst):
    plan = base_plan() + [row("PX", "unplaced")]
    assert_caught(verify(inst, plan), "plan", "row 16", "'PX'", "not a person")


def test_repeated_row(inst):
    plan = base_plan() + [row("P14", "unplaced", eff="70.0000")]
    assert_caught(verify(inst, plan), "plan", "row 16", "P14", "repeats row 14")


def test_reordered_rows(inst):
    plan = base_plan()
    plan[0], plan[1] = plan[1], plan[0]
    res = verify(inst, plan)
    assert_caught(res, "plan", "people[0] id=P1", "instance order")
    assert len(res.violations) == 1, res.violations


def test_empty_plan(inst):
    res = verify(inst, [])
    assert len(res.violations) == 15
    assert_caught(res, "plan", "people[14] id=P15", "no row")


def test_family_all_removed_is_consistent(tmp_path):
    d = base_instance()
    for pid in ("P8", "P9"):
        d["people"][idx(pid)]["removal_day"] = 0
    inst = load(tmp_path, d)
    plan = mutate(base_plan(), "P8", decision="removed", facility_id="", unit_id="")
    plan = mutate(plan, "P9", decision="removed", facility_id="", unit_id="")
    assert verify(inst, plan).ok
    plan = mutate(plan, "P9", decision="unplaced")
    res = verify(inst, plan)
    assert_caught(res, "removed", "people[8] id=P9")
    assert_caught(res, "family", "people[8] id=P9", "FAM1")


def test_family_all_unplaced_and_all_released_are_consistent(inst):
    plan = mutate(base_plan(), "P8", decision="unplaced", facility_id="", unit_id="")
    plan = mutate(plan, "P9", decision="unplaced", facility_id="", unit_id="")
    res = verify(inst, plan)
    assert res.violations == ["unplaced: family FAM1 (2 people, first people[7] id=P8): unplaced although a free bed "
                              "in unit U3 on every day of the stay was available"]  # consistent, but needless
    assert res.objective["unplaced"] == 3
    plan = mutate(plan, "P8", decision="release", atd_program_id="A3", release_day="0")
    plan = mutate(plan, "P9", decision="release", release_day="0")
    res = verify(inst, plan)
    assert res.ok, res.violations
    assert res.objective["released_risk"] == 78.75 + 40


def test_moving_cost_reading(tmp_path):
    """Origin null: per-km from the AOR hub, no fixed fee; origin facility: fee + per-km;
    unit in the origin facility: nothing (MODEL.md §3, read literally)."""
    d = base_instance()
    d["policy"]["cost_days"] = 1
    d["facilities"][0]["guaranteed_minimum"] = 0
    inst = load(tmp_path, d)
    # base plan, one day, no multiplier, F1 without guaranteed minimum:
    # detention F1 150 x 4 + F2 80 x 3 + F3 50 x 1 = 890; ATD 17; moving 250 + 3 x D1
    base = 890 + 17 + 250 + 3 * D1
    assert verify(inst, base_plan()).objective["cost_usd"] == round(base, 2)
    # P2 (origin null, LOS hub at lon 1) moved from U1 (F1, lon 0) to U6 (F2, lon 1): 0 km, no fee
    plan = mutate(base_plan(), "P2", facility_id="F2", unit_id="U6")
    res = verify(inst, plan)
    assert res.ok, res.violations
    # detention: F1 loses one (-150), F2 gains one (+80); moving: -0.5 x D1
    assert res.objective["cost_usd"] == round(base - 150 + 80 - 0.5 * D1, 2)
    # P1 (origin F1) moved to U6 in F2: +250 + 0.5 x D1
    plan = mutate(base_plan(), "P1", facility_id="F2", unit_id="U6", transfer="1")
    res = verify(inst, plan)
    assert res.ok, res.violations
    assert res.objective["cost_usd"] == round(base - 150 + 80 + 250 + 0.5 * D1, 2)


# ----------------------------------------------------------------------------------------------
# multi-day
# ----------------------------------------------------------------------------------------------

def multi_instance() -> dict:
    return {
        "format": "bedalloc-instance", "version": 1, "name": "verify-multi",
        "snapshot_date": "2025-01-01", "horizon_days": 3, "policy": {"cost_days": 30},
        "aors": [{"code": "NYC", "name": "New York", "lat": 0.0, "lon": 0.0}],
        "facilities": [
            {"id": "G1", "name": "G", "aor": "NYC", "state": "NY", "type": "CDF", "lat": 0.0,
             "lon": 0.0, "guaranteed_minimum": 1, "gm_rate": 10, "per_diem": 20,
             "units": [{"id": "V1", "sex": "M", "levels": ["A"], "beds": 1, "surge_beds": 1}]},
        ],
        "atd_programs": [{"id": "B1", "technology": "app", "per_diem": 3, "max_risk": 100}],
        "people": [
            {"id": "Q1", "sex": "M", "level": "A", "risk": 40, "aor": "NYC", "origin": "G1",
             "max_custody_days": 2},
            {"id": "Q2", "sex": "M", "level": "A", "risk": 10, "aor": "NYC", "arrival_day": 1,
             "removal_day": 2},
            {"id": "Q3", "sex": "M", "level": "A", "risk": 25, "aor": "NYC", "arrival_day": 2},
        ],
    }


def multi_plan():
    return [
        row("Q1", "release", "G1", "V1", "B1", "2", eff="40.0000"),
        row("Q2", "detain", "G1", "V1", eff="10.0000"),
        row("Q3", "release", prog="B1", rday="2", eff="25.0000"),
    ]


def test_multi_day_plan(tmp_path):
    inst = load(tmp_path, multi_instance())
    res = verify(inst, multi_plan())
    assert res.ok, res.violations
    # V1 occupancy: day 0 Q1; day 1 Q1 + Q2 (Q2 removed on day 2); day 2 nobody
    # surge: day 1 holds 2, beds 1 -> 1
    # released risk: Q1 40 x (3 - 2)/3 + Q3 25 x (3 - 2)/3 = 65/3
    # cost (no cost_days multiplier in a multi-day plan): G1 day 0: 10 + 0, day 1: 10 + 20 x 1,
    #   day 2: 10 -> 50; ATD: Q1 3 x 1 day + Q3 3 x 1 day = 6; moving: 0 (Q1 in origin, Q2
    #   from the NYC hub at G1's point) -> 56
    assert res.objective == {"unplaced": 0, "surge": 1, "released_risk": pytest.approx(65 / 3),
                             "cost_usd": 56.0}
    assert res.per_facility == [{"id": "G1", "occupied": 2, "beds": 1, "cost_usd": 50.0, "occupied_by_day": [1, 2, 0]}]
    # per day: Q1 and Q3 released on day 2; V1 (1 bed) full on days 0 and 1
    assert res.per_day == [{"day": 0, "occupied": 1, "released": 0, "units_at_capacity": 1},
                           {"day": 1, "occupied": 2, "released": 0, "units_at_capacity": 1},
                           {"day": 2, "occupied": 0, "released": 2, "units_at_capacity": 0}]


@pytest.mark.parametrize("pid,cells,rule,needles", [
    ("Q1", dict(decision="detain", atd_program_id="", release_day=""),
     "law", ("people[0] id=Q1", "day 2", "max_custody_days 2")),
    ("Q1", dict(release_day="3"), "cells", ("people[0] id=Q1", "outside")),
    ("Q3", dict(release_day="1"), "cells", ("people[2] id=Q3", "outside")),
    ("Q2", dict(decision="release", atd_program_id="B1", release_day="2"),
     "cells", ("people[1] id=Q2", "removal_day 2")),
], ids=["legal limit on day 2", "release after horizon", "release before arrival",
        "release after removal"])
def test_multi_day_mutations(tmp_path, pid, cells, rule, needles):
    inst = load(tmp_path, multi_instance())
    plan = multi_plan()
    i = int(pid[1:]) - 1
    plan[i] = {**plan[i], **cells}
    assert_caught(verify(inst, plan), rule, *needles)


def test_multi_day_release_on_arrival_with_wrong_day(tmp_path):
    d = multi_instance()
    d["people"][2]["arrival_day"] = 1
    inst = load(tmp_path, d)
    assert_caught(verify(inst, multi_plan()), "cells", "people[2] id=Q3",
                  "release on arrival", "release_day 2 != arrival_day 1")


def test_multi_day_beds_over_several_days(tmp_path):
    d = multi_instance()
    d["facilities"][0]["units"][0]["surge_beds"] = 0
    d["people"][1]["removal_day"] = None
    inst = load(tmp_path, d)
    res = verify(inst, multi_plan())
    # day 1: Q1 + Q2 = 2 > 1; day 2: Q2 only
    assert_caught(res, "beds", "unit V1 (facility G1) holds 2 people on day 1", "beds 1 + surge 0")


# ----------------------------------------------------------------------------------------------
# read_plan
# ----------------------------------------------------------------------------------------------

def write_plan(path, rows, header=PLAN_COLUMNS):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(c, "") for c in header])


def test_read_plan_round_trip(tmp_path, inst):
    write_plan(tmp_path / "plan.csv", base_plan())
    assert read_plan(tmp_path / "plan.csv") == base_plan()
    assert read_plan(tmp_path) == base_plan()  # a folder holding plan.csv
    assert verify(inst, read_plan(tmp_path)).ok


def test_read_plan_extra_columns_and_bom(tmp_path):
    header = PLAN_COLUMNS + ("x_note",)
    rows = [{**r, "x_note": "hi, there"} for r in base_plan()]
    write_plan(tmp_path / "plan.csv", rows, header)
    got = read_plan(tmp_path / "plan.csv")
    assert got[0]["x_note"] == "hi, there" and got == rows
    data = (tmp_path / "plan.csv").read_bytes()
    (tmp_path / "plan.csv").write_bytes(b"\xef\xbb\xbf" + data)
    assert read_plan(tmp_path / "plan.csv") == rows


@pytest.mark.parametrize("content,needle", [
    (b"", "empty"),
    (b"\n\n", "empty"),
    (b"\x00\x01\x02\xff\xfe binary", "NUL"),
    (b"\xff\xfe\xfa garbage", "UTF-8"),
    (b"person_id,decision,unit_id\nP1,detain,U1\n", "header"),
    (b"Person_id,decision,facility_id,unit_id,atd_program_id,release_day,transfer,effective_risk\n",
     "header"),
    (b"person_id,decision,facility_id,unit_id,atd_program_id,release_day,transfer,effective_risk\n"
     b"P1,detain,F1,U1,,,0,10.0000\nP2,detain,F1\n", "line 3"),
    (b"person_id,decision,facility_id,unit_id,atd_program_id,release_day,transfer,effective_risk\n"
     b"P1,\"detain,F1,U1,,,0,10.0000\n", "line"),
    (b"person_id,decision,facility_id,unit_id,atd_program_id,release_day,transfer,effective_risk,"
     b"person_id\n", "repeated"),
], ids=["empty", "blank", "binary", "not-utf8", "wrong header", "header case",
        "short row", "unclosed quote", "repeated column"])
def test_read_plan_garbage(tmp_path, content, needle):
    p = tmp_path / "plan.csv"
    p.write_bytes(content)
    with pytest.raises(InputError) as e:
        read_plan(p)
    assert len(e.value.lines) == 1
    assert str(p) in e.value.lines[0] and needle in e.value.lines[0], e.value.lines


def test_read_plan_missing_file(tmp_path):
    with pytest.raises(InputError) as e:
        read_plan(tmp_path)  # folder without plan.csv
    assert "plan.csv" in e.value.lines[0] and "cannot read" in e.value.lines[0]


def test_multi_day_verifier_agrees_with_the_brute_force(tmp_path):
    """The brute-force optimum of random multi-day instances, written as plan rows, passes the
    verifier, which recomputes the same four levels (released risk weighted by days released)."""
    from bruteforce import RISK_UNITS, brute_force_days
    from randinst import load_multiday

    from optimizer.instance import effective_risk

    later = 0
    for seed in range(40):
        inst = load_multiday(seed, tmp_path, max_people=5)
        ref = brute_force_days(inst)
        table = inst.policy.factors()
        rows = []
        for p in inst.people:
            dec = ref.plans[0][p.id]
            transfer = int(bool(dec.unit_id) and p.origin is not None and p.origin != dec.facility_id)
            rows.append({"person_id": p.id, "decision": dec.decision, "facility_id": dec.facility_id,
                         "unit_id": dec.unit_id, "atd_program_id": dec.atd_program_id,
                         "release_day": "" if dec.release_day is None else str(dec.release_day),
                         "transfer": str(transfer),
                         "effective_risk": f"{effective_risk(p.risk, p.humanitarian, table):.4f}"})
            later += dec.decision == "release" and bool(dec.unit_id)
        check = verify(inst, rows)
        assert check.ok, (seed, check.violations[:3])
        H = inst.horizon_days
        assert (check.objective["unplaced"], check.objective["surge"]) == (ref.unplaced, ref.surge), seed
        assert check.objective["released_risk"] == pytest.approx(ref.released_risk_units / RISK_UNITS / H, abs=1e-9)
        assert check.objective["cost_usd"] == pytest.approx(ref.cost_usd, abs=0.005), seed  # reported in cents
    assert later > 0  # some optimal plans release people after holding them


# ----------------------------------------------------------------------------------------------
# contract 1.1: transport limits, local ties, pins (MODEL.md §3 rules 7-9, §5 pinned)
# ----------------------------------------------------------------------------------------------

# pins that the base plan keeps: P1 detain in unit U1, P3 detain in facility F1, P6 release,
# P8 (FAM1 with minor P9) detain in unit U3, P10 (FAM2 with minor P11) release to A1 on day 0,
# P15 release to A1
PINS = {
    "P1": {"decision": "detain", "unit": "U1"},
    "P3": {"decision": "detain", "facility": "F1"},
    "P6": {"decision": "release"},
    "P8": {"decision": "detain", "unit": "U3"},
    "P10": {"decision": "release", "atd_program": "A1", "release_day": 0},
    "P15": {"decision": "release", "atd_program": "A1"},
}
BOUND = {"P1", "P3", "P6", "P8", "P9", "P10", "P11", "P15"}  # P9, P11: bound by their family's pin


def pinned_instance(tmp_path, pins=PINS):
    d = base_instance()
    for pid, pin in pins.items():
        d["people"][idx(pid)]["pin"] = pin
    return load(tmp_path, d)


def with_pinned_column(plan):
    return [{**r, "pinned": "1" if r["person_id"] in BOUND else "0"} for r in plan]


@pytest.mark.parametrize("aor_limit,national,caught", [
    (1, None, ["transport: AOR NYC day 0: 2 transfers out of its facilities, max_transfers_out_per_day 1"]),
    (None, 1, ["transport: day 0: 2 transfers in all, policy max_transfers_per_day 1"]),
    (1, 1, ["transport: AOR NYC day 0: 2 transfers out of its facilities, max_transfers_out_per_day 1",
            "transport: day 0: 2 transfers in all, policy max_transfers_per_day 1"]),
    (2, 2, []),
], ids=["AOR limit", "national limit", "both", "within both"])
def test_transport_limits(tmp_path, aor_limit, national, caught):
    d = base_instance()
    d["aors"][0]["max_transfers_out_per_day"] = aor_limit
    d["aors"][1]["max_transfers_out_per_day"] = 0  # nobody's origin is in LOS: never binds
    d["policy"]["max_transfers_per_day"] = national
    inst = load(tmp_path, d)
    assert verify(inst, base_plan()).ok  # one transfer (P4, origin F2 in NYC)
    # P1 (origin F1, NYC) moved to U6 in F2: a second transfer out of NYC's facilities
    res = verify(inst, mutate(base_plan(), "P1", facility_id="F2", unit_id="U6", transfer="1"))
    assert res.violations == caught
    assert res.counts["transfers"] == 2
    assert res.transfers_by_aor == [
        {"aor": "NYC", "day": 0, "transfers": 2, "limit": aor_limit},
        {"aor": "LOS", "day": 0, "transfers": 0, "limit": 0},
        {"aor": None, "day": 0, "transfers": 2, "limit": national},
    ]


def test_transport_counts_the_origin_facilitys_aor(tmp_path):
    """A transfer counts against the AOR where its origin facility is, not the person's AOR."""
    d = base_instance()
    d["aors"][1]["max_transfers_out_per_day"] = 0  # LOS: P4's case AOR after the change below
    d["people"][idx("P4")]["aor"] = "LOS"  # origin F2 is in NYC
    d["aors"][0]["max_transfers_out_per_day"] = 0
    res = verify(load(tmp_path, d), base_plan())
    assert res.violations == [
        "transport: AOR NYC day 0: 1 transfers out of its facilities, max_transfers_out_per_day 0"]


def test_transport_multi_day_on_arrival_day_and_release_from_a_bed(tmp_path):
    """A person released later from a bed outside their origin facility is a transfer, counted on
    their arrival day; a release on arrival is none."""
    d = multi_instance()
    d["facilities"].append({"id": "G2", "name": "G2", "aor": "NYC", "state": "NY", "type": "CDF", "lat": 0.0,
                            "lon": 1.0, "per_diem": 20,
                            "units": [{"id": "V2", "sex": "M", "levels": ["A"], "beds": 1}]})
    d["people"].append({"id": "Q4", "sex": "M", "level": "A", "risk": 5, "aor": "NYC", "origin": "G1",
                        "arrival_day": 1})
    d["people"].append({"id": "Q5", "sex": "M", "level": "A", "risk": 5, "aor": "NYC", "origin": "G1",
                        "arrival_day": 1})
    d["policy"]["max_transfers_per_day"] = 0
    inst = load(tmp_path, d)
    plan = multi_plan() + [row("Q4", "release", "G2", "V2", "B1", "2", transfer="1", eff="5.0000"),
                           row("Q5", "release", prog="B1", rday="1", eff="5.0000")]
    res = verify(inst, plan)
    assert res.violations == ["transport: day 1: 1 transfers in all, policy max_transfers_per_day 0"]
    assert [(e["aor"], e["day"], e["transfers"]) for e in res.transfers_by_aor] == [
        ("NYC", 0, 0), ("NYC", 1, 1), ("NYC", 2, 0), (None, 0, 0), (None, 1, 1), (None, 2, 0)]
    plan[3] = {**plan[3], "transfer": "0"}
    assert_caught(verify(inst, plan), "transfer", "people[3] id=Q4", "transfer is 0, expected 1")


@pytest.mark.parametrize("origin,cells,caught", [
    (None, {}, "local_ties: people[1] id=P2: has local ties in AOR LOS but occupies a unit of facility F1 (AOR NYC)"),
    ("F1", {}, None),  # the origin facility is allowed in any AOR
    ("F2", dict(transfer="1"),
     "local_ties: people[1] id=P2: has local ties in AOR LOS but occupies a unit of facility F1 (AOR NYC), "
     "not of the origin facility F2"),
    (None, dict(decision="release", facility_id="", unit_id="", atd_program_id="A2", release_day="0"), None),
], ids=["tie broken", "origin facility", "tie broken, origin elsewhere", "released: ties do not bind ATD"])
def test_local_ties(tmp_path, origin, cells, caught):
    d = base_instance()
    d["people"][idx("P2")].update(local_ties=True, origin=origin)
    d["people"][idx("P1")]["local_ties"] = True  # AOR NYC, in its origin F1 (NYC): allowed
    d["people"][idx("P4")]["local_ties"] = True  # AOR NYC, moved from F2 to F1 (NYC): allowed
    res = verify(load(tmp_path, d), mutate(base_plan(), "P2", **cells))
    assert res.violations == ([caught] if caught else [])


def test_pins_kept(tmp_path):
    inst = pinned_instance(tmp_path)
    res = verify(inst, base_plan())
    assert res.ok, res.violations
    assert res.counts["pinned"] == len(BOUND) == 8
    assert verify(inst, with_pinned_column(base_plan())).ok


PIN_MUTATIONS = [
    # (name, {person: cells}, violations)
    ("decision", {"P6": dict(decision="detain", facility_id="F2", unit_id="U6", atd_program_id="", release_day="")},
     ["pins: people[5] id=P6: pinned to release, but the plan says detain"]),
    ("pinned person unplaced", {"P1": dict(decision="unplaced", facility_id="", unit_id="")},
     ["pins: people[0] id=P1: pinned to detain, but the plan says unplaced (a pinned person is never unplaced)"]),
    ("unit", {"P1": dict(facility_id="F2", unit_id="U6", transfer="1")},
     ["pins: people[0] id=P1: pinned to unit U1, but detained in unit U6"]),
    ("facility", {"P3": dict(facility_id="F2", unit_id="U6", transfer="1")},
     ["pins: people[2] id=P3: pinned to facility F1, but detained in facility F2"]),
    ("program", {"P15": dict(atd_program_id="A3")},
     ["pins: people[14] id=P15: pinned to ATD program A1, but the plan says A3"]),
    ("family member", {"P8": dict(unit_id="U8"), "P9": dict(unit_id="U8")},
     ["pins: people[7] id=P8: pinned to unit U3, but detained in unit U8",
      "pins: people[8] id=P9: pinned to unit U3, but detained in unit U8 (the pin of family member people[7] id=P8)"]),
    ("family member released", {"P10": dict(decision="unplaced", atd_program_id="", release_day=""),
                                "P11": dict(decision="unplaced", release_day="")},
     ["pins: people[9] id=P10: pinned to release, but the plan says unplaced (a pinned person is never unplaced)",
      "pins: people[10] id=P11: pinned to release, but the plan says unplaced (a pinned person is never unplaced) "
      "(the pin of family member people[9] id=P10)"]),
]


@pytest.mark.parametrize("name,changes,caught", PIN_MUTATIONS, ids=[m[0] for m in PIN_MUTATIONS])
def test_pin_broken(tmp_path, name, changes, caught):
    plan = base_plan()
    for pid, cells in changes.items():
        plan = mutate(plan, pid, **cells)
    assert verify(pinned_instance(tmp_path), plan).violations == caught  # nothing else is broken


def test_pin_of_a_minor_binds_the_adult_and_a_program_pin_only_its_adult(tmp_path):
    inst = pinned_instance(tmp_path, {"P9": {"decision": "detain", "unit": "U3"},
                                      "P11": {"decision": "release", "release_day": 0}})
    assert verify(inst, base_plan()).ok  # P10 keeps A1; a program pin would bind P10 alone
    plan = mutate(mutate(base_plan(), "P8", unit_id="U8"), "P9", unit_id="U8")
    assert verify(inst, plan).violations == [
        "pins: people[7] id=P8: pinned to unit U3, but detained in unit U8 (the pin of family member people[8] id=P9)",
        "pins: people[8] id=P9: pinned to unit U3, but detained in unit U8"]


def test_pin_release_day_multi_day(tmp_path):
    d = multi_instance()
    d["people"][0]["pin"] = {"decision": "release", "release_day": 2}
    inst = load(tmp_path, d)
    assert verify(inst, multi_plan()).ok
    plan = multi_plan()
    plan[0] = {**plan[0], "release_day": "1"}
    assert verify(inst, plan).violations == ["pins: people[0] id=Q1: pinned to release_day 2, but the plan says 1"]


@pytest.mark.parametrize("pid,cell,caught", [
    ("P9", "0", "pinned: people[8] id=P9: pinned is '0', expected 1 (the person is bound by a pin)"),
    ("P2", "1", "pinned: people[1] id=P2: pinned is '1', expected 0 (the person is bound by no pin)"),
    ("P2", "", "pinned: people[1] id=P2: pinned is '', expected 0 (the person is bound by no pin)"),
], ids=["family member 0", "unpinned 1", "empty"])
def test_pinned_column(tmp_path, pid, cell, caught):
    res = verify(pinned_instance(tmp_path), mutate(with_pinned_column(base_plan()), pid, pinned=cell))
    assert res.violations == [caught]


def test_pinned_column_read_back(tmp_path):
    inst = pinned_instance(tmp_path)
    write_plan(tmp_path / "plan.csv", with_pinned_column(base_plan()), PLAN_COLUMNS + ("pinned",))
    rows = read_plan(tmp_path)
    assert [r["pinned"] for r in rows] == ["1", "0", "1", "0", "0", "1", "0", "1", "1", "1", "1", "0", "0", "0", "1"]
    assert verify(inst, rows).ok
