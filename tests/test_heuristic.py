"""The constructive plan used when a time limit leaves no incumbent (optimizer/heuristic.py)."""

from __future__ import annotations

import json

import numpy as np

from optimizer.cli import main
from optimizer.heuristic import greedy_plan
from optimizer.model import network_arrays, people_arrays
from optimizer.engine import plan_rows
from optimizer.verifier import verify
from randinst import load_multiday, load_random


def test_constructive_plans_are_feasible(tmp_path):
    """One-day and multi-day random instances: the verifier finds no violation."""
    for seed in range(80):
        for inst in (load_random(seed, tmp_path), load_multiday(seed, tmp_path)):
            P, N = people_arrays(inst), network_arrays(inst)
            check = verify(inst, plan_rows(inst, P, N, *greedy_plan(inst, P, N)))
            assert check.ok, (seed, inst.horizon_days, check.violations[:3])


def test_pins_with_fewest_options_are_placed_first(tmp_path):
    """Random one-day instances with transport limits and pins (seeds 51, 68, 137, 143, 144 and
    338 of 400 with 30 people, 236 with 120): pins (of single people or families) are placed by
    their options, fewest first: the programs that may take a release pin (a program pin: one; a
    family's: its adults', as minors take no slot, seed 236), the units that fit a detain pin, so
    that a pin with several options leaves those others can only have; the constructive plan
    keeps every pin and passes the verifier; was: the pinned person left unplaced, and under
    ``--time-limit`` exit 4 with nothing written."""
    from randinst import random_instance, write_instance

    from optimizer.instance import read_instance

    for seed, people in ((51, 30), (68, 30), (137, 30), (143, 30), (144, 30), (338, 30), (236, 120)):
        doc = random_instance(seed, people, limits=True, pins=True)
        inst = read_instance(write_instance(doc, tmp_path / f"{seed}.json"))
        P, N = people_arrays(inst), network_arrays(inst)
        check = verify(inst, plan_rows(inst, P, N, *greedy_plan(inst, P, N)))
        assert check.ok, (seed, check.violations[:3])


def test_the_repair_pass_uses_an_empty_unit_whose_seat_a_repair_gave_back(tmp_path):
    """Random one-day instance 453 (30 people, transport limits, pins): the one national seat
    goes to P27 in the first pass, which leaves three mandatory men unplaced beside the empty
    unit U3; the repair pass releases P27 and gives the seat back, and now places one of them in
    U3 (it only looked at units with occupants); was: the verifier refused the plan."""
    from randinst import random_instance, write_instance

    from optimizer.instance import read_instance

    inst = read_instance(write_instance(random_instance(453, 30, limits=True, pins=True), tmp_path / "453.json"))
    P, N = people_arrays(inst), network_arrays(inst)
    rows = plan_rows(inst, P, N, *greedy_plan(inst, P, N))
    check = verify(inst, rows)
    assert check.ok, check.violations[:3]
    assert [r["unit_id"] for r in rows if r["unit_id"] == "U3"] == ["U3"]


def test_time_limit_before_any_incumbent_still_writes_a_verified_plan(tmp_path, capsys):
    """National instance, a limit that runs out while reading: exit 1 and a plan, never nothing."""
    out = tmp_path / "plan"
    assert main(["solve", "instances/ice-fy2026.json", "--time-limit", "0.05", "--out", str(out), "--quiet"]) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["termination"] == "time_limit" and summary["levels_proven_optimal"] == 0
    assert summary["native_status"][-1] == "constructive heuristic"
    # the greedy plan spends transport seats first come, first served: a few people (0.4 %) whose
    # only bed is elsewhere find no seat left and no slot (the optimum places everyone)
    assert summary["objective"]["unplaced"] < 0.01 * summary["counts"]["people"]
    assert main(["check", "instances/ice-fy2026.json", str(out)]) == 0


def test_a_mandatory_arrival_takes_the_bed_of_a_releasable_person(tmp_path):
    """Step 3: one bed, a releasable person in it, a mandatory arrival on day 2.  The constructive
    plan releases the occupant on day 2 (no surge, nobody unplaced), not on day 0, and not the
    riskier of two occupants."""
    from randinst import write_instance

    from optimizer.instance import read_instance

    doc = json.loads(open("instances/tiny.json").read())
    doc.update(name="bump", horizon_days=3)
    doc["facilities"] = [{"id": "F", "name": "F", "aor": "HOU", "state": "TX", "type": "IGSA", "lat": 30.0,
                          "lon": -95.0, "per_diem": 80,
                          "units": [{"id": "U", "sex": "M", "levels": ["A", "B"], "beds": 2, "surge_beds": 1}]}]
    doc["atd_programs"] = [{"id": "APP", "technology": "app", "per_diem": 1.0, "max_risk": 100}]
    doc["people"] = [
        {"id": "LOW", "sex": "M", "level": "A", "risk": 10.0, "aor": "HOU", "origin": "F"},
        {"id": "HIGH", "sex": "M", "level": "A", "risk": 40.0, "aor": "HOU", "origin": "F"},
        {"id": "MAND", "sex": "M", "level": "B", "risk": 5.0, "aor": "HOU", "origin": None, "mandatory": True,
         "arrival_day": 2},
    ]
    inst = read_instance(write_instance(doc, tmp_path / "bump.json"))
    P, N = people_arrays(inst), network_arrays(inst)
    rows = plan_rows(inst, P, N, *greedy_plan(inst, P, N))
    check = verify(inst, rows)
    assert check.ok and check.objective["unplaced"] == 0 and check.objective["surge"] == 0
    by_id = {r["person_id"]: r for r in rows}
    assert (by_id["LOW"]["decision"], by_id["LOW"]["unit_id"], by_id["LOW"]["release_day"]) == ("release", "U", "2")
    assert by_id["HIGH"]["decision"] == "detain" and by_id["MAND"]["decision"] == "detain"
    assert check.objective["released_risk"] == 10.0 * (3 - 2) / 3


def test_the_repair_pass_takes_no_slot_that_someone_must_have(tmp_path):
    """One bed, one surge bed, one slot.  J (30) is in the bed, I (80, no eligible program) can
    only be detained, K (5) is at his custody limit and must be released.  Releasing J to give I
    the regular bed would take the slot K needs: the plan keeps I on the surge bed and releases K
    (unplaced 0, surge 1), never the other way round (unplaced 1)."""
    from randinst import write_instance

    from optimizer.instance import read_instance

    doc = json.loads(open("instances/tiny.json").read())
    doc.update(name="slot")
    doc["facilities"] = [{"id": "F", "name": "F", "aor": "HOU", "state": "TX", "type": "IGSA", "lat": 30.0,
                          "lon": -95.0, "per_diem": 80,
                          "units": [{"id": "U", "sex": "M", "levels": ["A"], "beds": 1, "surge_beds": 1}]}]
    doc["atd_programs"] = [{"id": "G", "technology": "app", "per_diem": 1.0, "max_risk": 40, "capacity": 1}]
    doc["people"] = [
        {"id": "J", "sex": "M", "level": "A", "risk": 30.0, "aor": "HOU", "origin": "F"},
        {"id": "I", "sex": "M", "level": "A", "risk": 80.0, "aor": "HOU", "origin": "F", "humanitarian": ["pregnant"]},
        {"id": "K", "sex": "M", "level": "A", "risk": 5.0, "aor": "HOU", "origin": "F", "custody_days": 180,
         "max_custody_days": 180},
    ]
    inst = read_instance(write_instance(doc, tmp_path / "slot.json"))
    P, N = people_arrays(inst), network_arrays(inst)
    check = verify(inst, plan_rows(inst, P, N, *greedy_plan(inst, P, N)))
    assert check.ok and (check.objective["unplaced"], check.objective["surge"]) == (0, 1)


def test_twenty_thousand_mandatory_men_overflowing_into_surge_beds(tmp_path):
    """20,000 mandatory men and 500 units of 20 beds and 20 surge beds: everyone is detained, half
    on surge beds, every one of them a repair candidate.  (Timing is measured, not asserted, by the
    benchmarks; this instance took 25 s when the repair pass scanned every unit for every person,
    0.2 s since its work budget counts units.)"""

    from randinst import write_instance

    from optimizer.instance import read_instance

    doc = json.loads(open("instances/tiny.json").read())
    doc["facilities"] = [{"id": f"F{k}", "name": "F", "aor": "HOU", "state": "TX", "type": "IGSA", "lat": 30.0,
                          "lon": -95.0, "per_diem": 80,
                          "units": [{"id": f"U{k}", "sex": "M", "levels": ["A"], "beds": 20, "surge_beds": 20}]}
                         for k in range(500)]
    doc["people"] = [{"id": f"M{k}", "sex": "M", "level": "A", "risk": 50.0, "aor": "HOU", "origin": None,
                      "mandatory": True} for k in range(20_000)]
    inst = read_instance(write_instance(doc, tmp_path / "big.json"))
    P, N = people_arrays(inst), network_arrays(inst)
    decision, unit, _, _ = greedy_plan(inst, P, N)
    assert (decision == "detain").all() and (np.bincount(unit, minlength=500) == 40).all()


def test_the_levels_each_order_reports_are_the_verifiers(tmp_path):
    """greedy_plan keeps the order whose own levels are better, so they must be the verifier's.
    Here a repair releases j from day 1, which frees day 2 as well, where k stays booked on a
    surge bed: the verifier counts occupancy above the beds (2 surge bed-days, not 3)."""
    from randinst import write_instance

    from optimizer.heuristic import _construct
    from optimizer.instance import read_instance

    doc = json.loads(open("instances/tiny.json").read())
    doc.update(name="levels", horizon_days=3)
    doc["aors"] = [{"code": "X", "name": "x", "lat": 33.7, "lon": -84.3},
                   {"code": "Y", "name": "y", "lat": 33.7, "lon": -84.3}]
    doc["facilities"] = [{"id": "F1", "name": "F", "aor": "X", "state": "TX", "type": "CDF", "lat": 33.9, "lon": -84.0,
                          "per_diem": 80.0, "units": [{"id": "U", "sex": "M", "levels": ["A"], "beds": 1,
                                                       "surge_beds": 2}]}]
    doc["atd_programs"] = [{"id": "G", "technology": "app", "per_diem": 5.0, "max_risk": 100.0, "aor": "Y"}]
    doc["people"] = [
        {"id": "m", "sex": "M", "level": "A", "risk": 90, "aor": "X", "arrival_day": 0, "removal_day": 1},
        {"id": "j", "sex": "M", "level": "A", "risk": 80, "aor": "Y", "arrival_day": 1},
        {"id": "k", "sex": "M", "level": "A", "risk": 70, "aor": "X", "arrival_day": 0},
        {"id": "i", "sex": "M", "level": "A", "risk": 60, "aor": "X", "arrival_day": 1, "removal_day": 2},
    ]
    inst = read_instance(write_instance(doc, tmp_path / "levels.json"))
    P, N = people_arrays(inst), network_arrays(inst)
    for by_arrival in (False, True):
        plan, levels = _construct(inst, P, N, by_arrival)
        o = verify(inst, plan_rows(inst, P, N, *plan)).objective
        assert levels == (o["unplaced"], o["surge"], o["released_risk"] * 3) == (0, 2, 160.0)
