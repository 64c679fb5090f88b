"""Pins (contract 1.1, MODEL.md §2 ``pin``): the count pre-check of pins that cannot all hold
together (exact excesses on hand-counted multi-day instances), the release-day and legal-limit
boundaries, valid pins accepted, and the ``pin_problems`` interface the ``--pins`` reader uses.

Each instance is ``instances/tiny.json`` (read its people and units in tests/test_instance.py)
with the edits shown; one malformed file per refused case is in ``tests/data/bad/``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import msgspec
import pytest

from optimizer.errors import InputError
from optimizer.instance import parse_instance, read_instance
from optimizer.pins import MAX_CONFLICT_LINES, pin_conflicts, pin_problems
from optimizer.schema import DetainPin, Instance, ReleasePin, replace

ROOT = Path(__file__).resolve().parents[1]
TINY = json.loads((ROOT / "instances" / "tiny.json").read_text(encoding="utf-8"))


def _doc(horizon: int = 1) -> dict:
    doc = copy.deepcopy(TINY)
    doc["horizon_days"] = horizon
    return doc


def _unit(doc: dict, uid: str) -> dict:
    return next(u for f in doc["facilities"] for u in f["units"] if u["id"] == uid)


def _add(doc: dict, pid: str, template: int = 2, **fields) -> int:
    """Append a copy of people[template] (P03: man, level B, risk 35, HOU, origin MTG) with a new
    id and ``fields``; returns its index."""
    doc["people"].append({**copy.deepcopy(doc["people"][template]), "id": pid, **fields})
    return len(doc["people"]) - 1


def _refused(doc: dict) -> list[str]:
    with pytest.raises(InputError) as e:
        parse_instance(doc, "i.json")
    assert e.value.exit_code == 2
    return [line.removeprefix("i.json: ") for line in e.value.lines]


# --------------------------------------------------------------------------------------------
# the count pre-check: exact excesses
# --------------------------------------------------------------------------------------------

def test_unit_overfull_on_its_busiest_day():
    """Stays [0,2) [0,5) [1,5) [2,4) [2,5) [3,5) in a unit of 2 beds + 1 surge bed: 2, 3, 4, 5, 4
    people on days 0..4, so day 3 exceeds it by 2."""
    doc = _doc(horizon=5)
    _unit(doc, "MTG-AB").update(beds=2, surge_beds=1)
    for k, (a, r) in enumerate([(0, 2), (0, None), (1, None), (2, 4), (2, None), (3, None)]):
        _add(doc, f"S{k}", origin=None, arrival_day=a, removal_day=r, pin={"decision": "detain", "unit": "MTG-AB"})
    assert _refused(doc) == [
        "facilities[0] id=MTG.units[0] id=MTG-AB: field 'beds': 5 pinned people must occupy the unit on day 3, "
        "more than its 2 beds and 1 surge bed: the pins exceed them by 2"]


def test_family_pin_counts_every_member():
    """FAM1 (2 people) pinned through its minor and a second family of 3 through one adult: 5
    people in DIL-FAM (2 beds)."""
    doc = _doc()
    doc["people"][8]["pin"] = {"decision": "detain", "unit": "DIL-FAM"}
    for k in range(3):
        _add(doc, f"F{k}", template=7, family_id="FAM2", minor=k > 0, level=None if k else "A",
             pin={"decision": "detain", "unit": "DIL-FAM"} if k == 0 else None)
    assert _refused(doc) == [
        "facilities[3] id=DIL.units[0] id=DIL-FAM: field 'beds': 5 pinned people must occupy the unit on day 0, "
        "more than its 2 beds and 0 surge beds: the pins exceed them by 3"]


def test_program_capacity():
    doc = _doc()
    for i in (2, 3, 11):  # risks 35, 55, 30: all within GPS's max_risk 80
        doc["people"][i]["pin"] = {"decision": "release", "atd_program": "GPS"}
    _add(doc, "R1", pin={"decision": "release", "atd_program": "GPS"})
    assert _refused(doc) == [
        "atd_programs[0] id=GPS: field 'capacity': 4 pinned releases to the program, more than its capacity of 1: "
        "the pins exceed it by 3"]


def test_transfers_per_aor_day_and_per_day():
    """HOU (limit 1): 3 transfers out of MTG on day 0, 2 on day 1; SNA (no limit): 1 out of DIL
    on day 0; nationally (limit 3): 4 on day 0, 2 on day 1.  A unit pin in the origin facility
    and a person without origin are not transfers."""
    doc = _doc(horizon=2)
    doc["aors"][0]["max_transfers_out_per_day"] = 1
    doc["policy"]["max_transfers_per_day"] = 3
    _unit(doc, "BRZ-M").update(beds=10)
    for k, day in enumerate([0, 0, 0, 1, 1]):
        _add(doc, f"T{k}", arrival_day=day, pin={"decision": "detain", "facility": "BRZ"})
    _add(doc, "T5", origin="DIL", pin={"decision": "detain", "unit": "BRZ-M"})
    _add(doc, "T6", pin={"decision": "detain", "unit": "MTG-AB"})  # stays in its origin facility
    _add(doc, "T7", origin=None, pin={"decision": "detain", "unit": "BRZ-M"})  # a new arrival
    assert _refused(doc) == [
        "aors[0] code=HOU: field 'max_transfers_out_per_day': 3 pinned transfers out of the AOR's facilities on day 0, "
        "more than its limit of 1: the pins exceed it by 2",
        "aors[0] code=HOU: field 'max_transfers_out_per_day': 2 pinned transfers out of the AOR's facilities on day 1, "
        "more than its limit of 1: the pins exceed it by 1",
        "policy: field 'max_transfers_per_day': 4 pinned transfers on day 0, more than the national limit of 3: "
        "the pins exceed it by 1"]


@pytest.mark.parametrize("child_origin, moved", [("MTG", 2), (None, 1)])
def test_every_family_member_moved_is_a_transfer(child_origin, moved):
    """FAM1 moved from MTG (HOU) to DIL-FAM: the minor counts too, unless it has no origin."""
    doc = _doc()
    doc["aors"][0]["max_transfers_out_per_day"] = 1
    doc["people"][7].update(origin="MTG", pin={"decision": "detain", "unit": "DIL-FAM"})
    doc["people"][8]["origin"] = child_origin
    if moved == 1:
        assert pin_conflicts(parse_instance(doc)) == []
    else:
        assert _refused(doc) == [
            "aors[0] code=HOU: field 'max_transfers_out_per_day': 2 pinned transfers out of the AOR's facilities "
            "on day 0, more than its limit of 1: the pins exceed it by 1"]


def test_facility_pins_against_beds_left_by_unit_pins():
    """MTG-AB (3 beds) holds one unit-pinned man; 4 level-B men pinned to MTG fit only MTG-AB
    (2 beds left: excess 2); 2 level-C men fit MTG-CD (3 beds with surge: no excess); both sets
    together: 6 people, 5 beds (excess 1).  The line names the worst set."""
    doc = _doc()
    _unit(doc, "MTG-AB")["beds"] = 3
    _add(doc, "U0", pin={"decision": "detain", "unit": "MTG-AB"})
    for k in range(4):
        _add(doc, f"B{k}", pin={"decision": "detain", "facility": "MTG"})
    for k in range(2):
        _add(doc, f"C{k}", level="C", pin={"decision": "detain", "facility": "MTG"})
    assert _refused(doc) == [
        "facilities[0] id=MTG: field 'units': on day 0, 4 people pinned to the facility fit only its units MTG-AB, "
        "which have 2 beds (surge included) beside unit pins: the pins exceed them by 2"]


def test_facility_pins_overlapping_unit_sets():
    """Level-B men fit {MTG-AB, MTG-BC}, level-C men fit {MTG-BC, MTG-CD} (1 bed each): 2 of
    each fit either set alone, but 4 people need the 3 beds of the union."""
    doc = _doc()
    _unit(doc, "MTG-CD")["surge_beds"] = 0
    doc["facilities"][0]["units"].append({"id": "MTG-BC", "sex": "M", "levels": ["B", "C"], "beds": 1})
    for k in range(2):
        _add(doc, f"B{k}", pin={"decision": "detain", "facility": "MTG"})
        _add(doc, f"C{k}", level="C", pin={"decision": "detain", "facility": "MTG"})
    assert _refused(doc) == [
        "facilities[0] id=MTG: field 'units': on day 0, 4 people pinned to the facility fit only its units "
        "MTG-AB, MTG-CD, MTG-BC, which have 3 beds (surge included) beside unit pins: the pins exceed them by 1"]
    doc["people"].pop()  # 3 people in the union: they fit
    assert pin_conflicts(parse_instance(doc)) == []


def test_at_most_five_lines():
    """7 days each with one pinned transfer out of HOU (limit 0): 4 lines and a count of the rest."""
    doc = _doc(horizon=7)
    doc["aors"][0]["max_transfers_out_per_day"] = 0
    _unit(doc, "BRZ-M")["beds"] = 7
    for day in range(7):
        _add(doc, f"D{day}", arrival_day=day, pin={"decision": "detain", "unit": "BRZ-M"})
    lines = _refused(doc)
    assert len(lines) == MAX_CONFLICT_LINES == 5
    assert [ln.split(" on day ")[1][:1] for ln in lines[:4]] == ["0", "1", "2", "3"]
    assert lines[4] == "... and 3 more limits that the pins exceed"


def test_pins_that_fit_exactly_are_accepted():
    """Every limit met with equality: 1 bed + 2 surge beds for 3 pins, capacity 1, 1 seat."""
    doc = _doc()
    doc["aors"][0]["max_transfers_out_per_day"] = 1
    doc["policy"]["max_transfers_per_day"] = 1
    for i in (0, 11):  # P01 and P12 (level C, origin MTG) stay in MTG-CD
        doc["people"][i]["pin"] = {"decision": "detain", "unit": "MTG-CD"}
    _add(doc, "C9", level="C", pin={"decision": "detain", "facility": "MTG"})
    doc["people"][2]["pin"] = {"decision": "detain", "unit": "BRZ-M"}  # the one transfer
    doc["people"][3]["pin"] = {"decision": "release", "atd_program": "GPS"}
    inst = parse_instance(doc)
    assert pin_problems(inst) == [] and pin_conflicts(inst) == []


# --------------------------------------------------------------------------------------------
# boundaries: legal limit and release days (MODEL.md §2 pin)
# --------------------------------------------------------------------------------------------

def _limited(horizon=5, removal=None, **pin) -> dict:
    """P03 with 8 of 10 custody days used: legal-limit day L = 0 + 10 - 8 = 2."""
    doc = _doc(horizon)
    doc["people"][2].update(max_custody_days=10, custody_days=8, removal_day=removal, pin=pin)
    return doc


def test_release_days_up_to_the_legal_limit():
    for day in (0, 1, 2):
        assert pin_problems(parse_instance(_limited(decision="release", release_day=day))) == []
    assert _refused(_limited(decision="release", release_day=3)) == [
        "people[2] id=P03: field 'pin.release_day': day 3 is not a valid release day: valid days are 0 to 2 "
        "(rule 4: people[2] id=P03 reaches the legal limit on day 2)"]


def test_release_days_up_to_the_day_before_removal():
    assert pin_problems(parse_instance(_limited(removal=2, decision="release", release_day=1))) == []
    assert _refused(_limited(removal=2, decision="release", release_day=2)) == [
        "people[2] id=P03: field 'pin.release_day': day 2 is not a valid release day: valid days are 0 to 1 "
        "(removal on day 2)"]


def test_detention_until_removal_on_the_legal_limit_day():
    """L = 2: detention is possible when removal comes on day 2, not when it comes on day 3."""
    assert pin_problems(parse_instance(_limited(removal=2, decision="detain"))) == []
    assert _refused(_limited(removal=3, decision="detain")) == [
        "people[2] id=P03: field 'pin.decision': rule 4 (legal limit): people[2] id=P03 reaches the legal limit of "
        "10 custody days on day 2, before leaving custody on day 3: cannot stay detained"]


def test_family_legal_limit_is_the_earliest_member_s():
    """FAM1 (12 of 20 days: L = 8) with the minor at 19 of 20 (L = 1): release by day 1."""
    doc = _doc(horizon=10)
    doc["people"][8]["custody_days"] = 19
    doc["people"][7]["pin"] = {"decision": "release", "release_day": 2}
    assert _refused(doc) == [
        "people[7] id=P08: field 'pin.release_day': day 2 is not a valid release day: valid days are 0 to 1 "
        "(rule 4: people[8] id=P09 reaches the legal limit on day 1)"]


# --------------------------------------------------------------------------------------------
# valid pins, annotations, the interface for the --pins reader, validate
# --------------------------------------------------------------------------------------------

def test_valid_pins_of_every_kind():
    doc = _doc(horizon=3)
    doc["people"][0]["pin"] = {"decision": "detain", "facility": "MTG", "unit": "MTG-CD", "x_order": "court 12"}
    doc["people"][2]["pin"] = {"decision": "detain"}
    doc["people"][3]["pin"] = {"decision": "release", "atd_program": "CM-SNA", "release_day": 2}
    doc["people"][6]["pin"] = {"decision": "detain", "facility": "MTG"}
    doc["people"][8]["pin"] = {"decision": "release", "release_day": 0}  # the minor binds FAM1
    doc["people"][7]["pin"] = {"decision": "release", "atd_program": "APP"}
    inst = parse_instance(doc)
    assert inst.people[0].pin == DetainPin(facility="MTG", unit="MTG-CD", annotations={"x_order": "court 12"})
    assert inst.people[3].pin == ReleasePin(atd_program="CM-SNA", release_day=2)
    assert pin_problems(inst) == [] and pin_conflicts(inst) == []


def test_unknown_pin_key_reported_with_schema_errors():
    doc = _doc()
    doc["people"][1]["risk"] = "high"
    doc["people"][2]["pin"] = {"decision": "release", "flor": 1}
    assert _refused(doc) == [
        "people[1] id=P02: field 'risk': Input should be a valid number",
        "people[2] id=P03: field 'pin.flor': unknown field of a release pin (known: decision, atd_program, "
        "release_day; own annotations must start with x_)"]


def _with_pins(inst, pins: dict):
    """``inst`` with the pins of some people replaced, as the --pins reader builds it."""
    people = [replace(p, pin=pins[i]) if i in pins else p for i, p in enumerate(inst.people)]
    return replace(inst, people=people)


def test_pin_problems_interface():
    inst = read_instance(ROOT / "instances" / "tiny.json")
    assert pin_problems(inst) == [] and pin_conflicts(inst) == []
    bad = _with_pins(inst, {2: DetainPin(unit="MTG-XY"),
                            7: DetainPin(facility="DIL"),
                            8: ReleasePin(),
                            11: ReleasePin(atd_program="CM-SNA")})
    assert pin_problems(bad) == [
        (2, "pin.unit", "unknown unit 'MTG-XY'"),
        (8, "pin.decision", "release conflicts with the detain pin of family member people[7] id=P08: "
                            "a family gets one decision"),
        (11, "pin.atd_program", "program 'CM-SNA' cannot supervise the person: rule 3 (ATD): it serves AOR SNA "
                                "only, the person's AOR is HOU"),
    ]


def test_validate_runs_the_pin_checks(capsys):
    from optimizer.cli import main

    path = ROOT / "tests" / "data" / "bad" / "pins_exceed_unit_beds.json"
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{path}: facilities[0] id=MTG.units[0] id=MTG-AB: field 'beds': 2 pinned people must occupy "
                   "the unit on day 0, more than its 1 bed and 0 surge beds: the pins exceed them by 1"]


# --------------------------------------------------------------------------------------------
# the exact check: a feasibility solve over the pinned people alone
# --------------------------------------------------------------------------------------------

def _pin_anywhere(doc: dict, *ids: str) -> None:
    for p in doc["people"]:
        if p["id"] in ids:
            p["pin"] = {"decision": "detain"}


def test_anywhere_pins_that_counts_cannot_see_are_refused_by_the_solve():
    """Three men of levels A-B (P03, P04, P05, none removed soon) pinned to detention anywhere,
    and two beds they fit (MTG-AB, BRZ-M; HLD-M holds only people removed within a day): no unit
    or facility is named, so the counts pass, and the solve over the pinned people leaves one of
    them without a bed, naming the two units."""
    doc = _doc()
    _pin_anywhere(doc, "P03", "P04", "P05")
    assert pin_conflicts(msgspec.convert(doc, Instance, strict=True)) == []  # the schema alone, then the counts
    lines = _refused(doc)
    assert lines == [
        "pins: the pins cannot all hold together: at best 1 pinned person is left without the pinned "
        "outcome; exceeded: unit BRZ-M of facility BRZ (beds 1, surge beds 0)",
        "pins: also exceeded: unit MTG-AB of facility MTG (beds 1, surge beds 0)"]


def test_anywhere_pins_that_fit_are_kept_by_the_plan():
    """Two of the three fit the two beds: valid, and the optimal plan detains both."""
    from optimizer.engine import SolveParams, solve

    doc = _doc()
    _pin_anywhere(doc, "P03", "P05")
    res = solve(parse_instance(doc), SolveParams())
    rows = {r["person_id"]: r for r in res.rows}
    assert res.levels_proven == 4
    assert [rows[p]["decision"] for p in ("P03", "P05")] == ["detain", "detain"]
    assert {rows[p]["unit_id"] for p in ("P03", "P05")} == {"MTG-AB", "BRZ-M"}
    assert [rows[p]["pinned"] for p in ("P03", "P04", "P05")] == ["1", "0", "1"]


def test_a_pinned_transfer_beyond_the_seats_is_refused_by_the_solve():
    """Multi-day: P03 (origin MTG) pinned to some unit of BRZ with no seat on day 0 nationally;
    the counts see it (a facility pin is a transfer), and so does the solve."""
    doc = _doc(horizon=3)
    doc["policy"]["max_transfers_per_day"] = 0
    next(p for p in doc["people"] if p["id"] == "P03")["pin"] = {"decision": "detain", "facility": "BRZ"}
    lines = _refused(doc)
    assert len(lines) == 1 and "max_transfers_per_day" in lines[0] and "by 1" in lines[0]
