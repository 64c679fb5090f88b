"""The instance reader (optimizer/instance.py) against MODEL.md §2.

``tests/data/bad/`` holds malformed instance files, each derived from ``instances/tiny.json`` with
exactly one defect and named after it.  Every one must be refused with :class:`InputError`, every
message line must name the file, and the first line must name the record and the field (or, for a
defect of the file itself, say what is wrong with it).  ``EXPECTED`` pins those messages: a new
file in the folder must be added there, and a regression in a message fails the test.
"""

from __future__ import annotations

import collections
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest

from optimizer import instance
from optimizer.errors import InputError
from optimizer.instance import MAX_PROBLEMS, effective_risk, parse_instance, read_instance
from optimizer.schema import (DEFAULT_HUMANITARIAN, Instance, Person, Policy, as_dict, known_keys, replace,
                              wording_model)

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny.json"
DATA = Path(__file__).resolve().parent / "data"
BAD = DATA / "bad"
X_FILE = DATA / "valid_x_annotations.json"

# file -> (what the first line must contain after "FILE: ", a word of the message (case-insensitive))
EXPECTED: dict[str, tuple[str, str]] = {
    # the file itself
    "empty_file.json": ("the file is empty", "empty"),
    "whitespace_only.json": ("the file is empty", "empty"),
    "truncated_json.json": ("not valid JSON", "line"),
    "not_utf8.json": ("not UTF-8 text", "offset"),
    "byte_order_mark.json": ("byte-order mark", "UTF-8"),
    "duplicate_json_key.json": ("not valid JSON", "duplicate key 'risk'"),
    "deeply_nested_lists.json": ("not valid JSON", "nested too deeply"),
    "deeply_nested_x_key.json": ("not valid JSON", "nested too deeply"),
    "top_level_list.json": ("top level", "must be a JSON object"),
    "top_level_string.json": ("top level", "must be a JSON object"),
    # format and version
    "wrong_format.json": ("top level: field 'format'", "bedalloc-plan"),
    "missing_format.json": ("top level: field 'format'", "bedalloc-instance"),
    "wrong_version.json": ("top level: field 'version'", "version 1"),
    "string_version.json": ("top level: field 'version'", "version 1"),
    "bool_version.json": ("top level: field 'version'", "version 1"),
    "float_version.json": ("top level: field 'version'", "version 1"),
    # required fields
    "missing_top_people.json": ("top level: field 'people'", "missing"),
    "missing_top_snapshot_date.json": ("top level: field 'snapshot_date'", "missing"),
    "missing_aor_lat.json": ("aors[1] code=SNA: field 'lat'", "missing"),
    "missing_facility_per_diem.json": ("facilities[1] id=BRZ: field 'per_diem'", "missing"),
    "missing_facility_units.json": ("facilities[2] id=HLD: field 'units'", "missing"),
    "missing_unit_beds.json": ("facilities[0] id=MTG.units[1] id=MTG-CD: field 'beds'", "missing"),
    "missing_unit_levels.json": ("facilities[1] id=BRZ.units[0] id=BRZ-M: field 'levels'", "missing"),
    "missing_program_max_risk.json": ("atd_programs[1] id=APP: field 'max_risk'", "missing"),
    "missing_person_risk.json": ("people[3] id=P04: field 'risk'", "missing"),
    "missing_person_level.json": ("people[4] id=P05: field 'level'", "missing"),
    "null_for_beds.json": ("facilities[0] id=MTG.units[0] id=MTG-AB: field 'beds'", "integer"),
    # types
    "string_for_beds.json": ("facilities[0] id=MTG.units[1] id=MTG-CD: field 'beds'", "integer"),
    "string_for_risk.json": ("people[3] id=P04: field 'risk'", "number"),
    "bool_for_beds.json": ("facilities[0] id=MTG.units[1] id=MTG-CD: field 'beds'", "integer"),
    "bool_for_risk.json": ("people[3] id=P04: field 'risk'", "number"),
    "int_for_bool_mandatory.json": ("people[2] id=P03: field 'mandatory'", "boolean"),
    "fractional_beds.json": ("facilities[3] id=DIL.units[0] id=DIL-FAM: field 'beds'", "integer"),
    "float_for_int_beds.json": ("facilities[3] id=DIL.units[0] id=DIL-FAM: field 'beds'", "integer"),
    "float_for_int_custody_days.json": ("people[9] id=P10: field 'custody_days'", "integer"),
    "nan_risk.json": ("people[3] id=P04: field 'risk'", "finite"),
    "infinity_per_diem.json": ("facilities[1] id=BRZ: field 'per_diem'", "finite"),
    "huge_number_per_diem.json": ("facilities[1] id=BRZ: field 'per_diem'", "finite"),
    "huge_number_beds.json": ("facilities[1] id=BRZ.units[1] id=BRZ-F: field 'beds'", "integer"),
    "huge_integer_beds.json": ("facilities[1] id=BRZ.units[1] id=BRZ-F: field 'beds'", "less than"),
    "string_for_units.json": ("facilities[2] id=HLD: field 'units'", "list"),
    "string_for_levels.json": ("facilities[0] id=MTG.units[0] id=MTG-AB: field 'levels'", "list"),
    "object_for_people.json": ("top level: field 'people'", "list"),
    "number_for_person.json": ("people[5]", "JSON object"),
    # ranges
    "negative_beds.json": ("facilities[1] id=BRZ.units[0] id=BRZ-M: field 'beds'", "greater than or equal to 0"),
    "negative_surge_beds.json": ("facilities[0] id=MTG.units[1] id=MTG-CD: field 'surge_beds'", "greater than"),
    "negative_custody_days.json": ("people[7] id=P08: field 'custody_days'", "greater than"),
    "negative_arrival_day.json": ("people[4] id=P05: field 'arrival_day'", "greater than"),
    "negative_per_diem.json": ("atd_programs[0] id=GPS: field 'per_diem'", "greater than"),
    "risk_over_100.json": ("people[3] id=P04: field 'risk'", "less than or equal to 100"),
    "risk_negative.json": ("people[3] id=P04: field 'risk'", "greater than or equal to 0"),
    "max_risk_over_100.json": ("atd_programs[2] id=CM-SNA: field 'max_risk'", "100"),
    "latitude_out_of_range.json": ("facilities[0] id=MTG: field 'lat'", "90"),
    "longitude_out_of_range.json": ("aors[0] code=HOU: field 'lon'", "-180"),
    "horizon_days_zero.json": ("top level: field 'horizon_days'", "greater than or equal to 1"),
    "arrival_day_outside_horizon.json": ("people[11] id=P12: field 'arrival_day'", "outside the horizon"),
    "cost_days_zero.json": ("policy: field 'cost_days'", "greater than"),
    "humanitarian_multiplier_zero.json": ("policy.humanitarian_factors: field 'elderly'", "greater than 0"),
    "humanitarian_multiplier_over_one.json": ("policy.humanitarian_factors: field 'elderly'", "less than or equal to 1"),
    "invalid_snapshot_date.json": ("top level: field 'snapshot_date'", "not a valid ISO date"),
    "snapshot_date_not_iso.json": ("top level: field 'snapshot_date'", "pattern"),
    "empty_name.json": ("top level: field 'name'", "at least 1 character"),
    # enumerations
    "unknown_sex.json": ("people[2] id=P03: field 'sex'", "'M' or 'F'"),
    "unknown_unit_sex.json": ("facilities[1] id=BRZ.units[1] id=BRZ-F: field 'sex'", "'any'"),
    "unknown_level.json": ("people[2] id=P03: field 'level'", "'D'"),
    "lowercase_level.json": ("people[2] id=P03: field 'level'", "'D'"),
    "unknown_unit_level.json": ("facilities[0] id=MTG.units[0] id=MTG-AB.levels[1]: field 'levels'", "'D'"),
    "unknown_technology.json": ("atd_programs[1] id=APP: field 'technology'", "ankle_gps"),
    "unknown_facility_type.json": ("facilities[1] id=BRZ: field 'type'", "IGSA"),
    "unknown_humanitarian_factor.json": ("people[3] id=P04: field 'humanitarian'", "unknown factor 'veteran'"),
    "repeated_humanitarian_factor.json": ("people[3] id=P04: field 'humanitarian'", "repeated"),
    "empty_levels.json": ("facilities[1] id=BRZ.units[0] id=BRZ-M: field 'levels'", "at least 1"),
    "repeated_level.json": ("facilities[1] id=BRZ.units[0] id=BRZ-M: field 'levels'", "repeated"),
    # ids and references
    "duplicate_person_id.json": ("people[4] id=P04: field 'id'", "duplicate person id"),
    "duplicate_unit_id.json": ("facilities[1] id=BRZ.units[1] id=MTG-MED: field 'id'", "duplicate unit id"),
    "duplicate_facility_id.json": ("facilities[4] id=BRZ: field 'id'", "duplicate facility id"),
    "duplicate_program_id.json": ("atd_programs[2] id=APP: field 'id'", "duplicate program id"),
    "duplicate_aor_code.json": ("aors[2] code=HOU: field 'code'", "duplicate AOR code"),
    "unknown_origin_facility.json": ("people[3] id=P04: field 'origin'", "unknown facility 'XYZ'"),
    "unknown_person_aor.json": ("people[3] id=P04: field 'aor'", "unknown AOR 'ATL'"),
    "unknown_facility_aor.json": ("facilities[1] id=BRZ: field 'aor'", "unknown AOR 'ATL'"),
    "unknown_program_aor.json": ("atd_programs[2] id=CM-SNA: field 'aor'", "unknown AOR 'ATL'"),
    # people, families, the legal limit
    "minor_without_family.json": ("people[2] id=P03: field 'family_id'", "minor"),
    "family_without_adult.json": ("people[7] id=P08: field 'family_id'", "no adult"),
    "family_different_arrival_days.json": ("people[7] id=P08: field 'arrival_day'", "different arrival days"),
    "family_different_removal_days.json": ("people[7] id=P08: field 'removal_day'", "different removal days"),
    "mandatory_at_legal_limit.json": ("people[9] id=P10: field 'max_custody_days'", "contradictory"),
    "family_member_of_mandatory_at_limit.json": ("people[8] id=P09: field 'max_custody_days'", "family with a mandatory member"),
    "level_null_for_adult.json": ("people[2] id=P03: field 'level'", "only for minors"),
    "any_sex_not_family_unit.json": ("facilities[1] id=BRZ.units[1] id=BRZ-F: field 'sex'", "only family units"),
    # unknown keys
    "unknown_key_bedz.json": ("facilities[0] id=MTG.units[1] id=MTG-CD: field 'bedz'", "unknown field"),
    "misspelt_beds_as_bedz.json": ("facilities[0] id=MTG.units[1] id=MTG-CD: field 'beds'", "'bedz'"),
    "misspelt_surge_beds.json": ("facilities[0] id=MTG.units[1] id=MTG-CD: field 'surge_bedz'", "unknown field"),
    "unknown_top_level_key.json": ("top level: field 'Horizon_days'", "unknown field"),
    "unknown_policy_key.json": ("policy: field 'cost_day'", "unknown field"),
    "unknown_aor_key.json": ("aors[1] code=SNA: field 'hub'", "unknown field"),
    "unknown_facility_key.json": ("facilities[3] id=DIL: field 'beds'", "unknown field"),
    "unknown_program_key.json": ("atd_programs[1] id=APP: field 'cap'", "unknown field"),
    "unknown_person_key.json": ("people[0] id=P01: field 'note'", "unknown field"),
    # contract 1.1: transport limits, local ties, pin types and unknown keys
    "string_for_max_transfers_per_day.json": ("policy: field 'max_transfers_per_day'", "integer"),
    "fractional_max_transfers_per_day.json": ("policy: field 'max_transfers_per_day'", "integer"),
    "float_for_int_max_transfers_out_per_day.json": ("aors[1] code=SNA: field 'max_transfers_out_per_day'", "integer"),
    "negative_max_transfers_out_per_day.json": ("aors[0] code=HOU: field 'max_transfers_out_per_day'",
                                                "greater than or equal to 0"),
    "int_for_bool_local_ties.json": ("people[2] id=P03: field 'local_ties'", "boolean"),
    "string_for_pin.json": ("people[2] id=P03: field 'pin'", "must be a JSON object"),
    "unknown_pin_decision.json": ("people[2] id=P03: field 'pin.decision'", 'got "hold"'),
    "missing_pin_decision.json": ("people[2] id=P03: field 'pin.decision'", "missing"),
    "unknown_pin_key.json": ("people[2] id=P03: field 'pin.unitt'", "unknown field of a detain pin"),
    "release_day_on_detain_pin.json": ("people[2] id=P03: field 'pin.release_day'", "unknown field of a detain pin"),
    "float_for_pin_release_day.json": ("people[2] id=P03: field 'pin.release_day'", "integer"),
    "negative_pin_release_day.json": ("people[2] id=P03: field 'pin.release_day'", "greater than or equal to 0"),
    "number_for_pin_unit.json": ("people[2] id=P03: field 'pin.unit'", "string"),
    # pin references
    "pin_unknown_unit.json": ("people[2] id=P03: field 'pin.unit'", "unknown unit 'MTG-XY'"),
    "pin_unknown_facility.json": ("people[2] id=P03: field 'pin.facility'", "unknown facility 'XYZ'"),
    "pin_unknown_program.json": ("people[2] id=P03: field 'pin.atd_program'", "unknown ATD program 'DRONE'"),
    "pin_unit_outside_facility.json": ("people[2] id=P03: field 'pin.unit'", "not in the pinned facility 'BRZ'"),
    # pins no outcome can satisfy by itself (MODEL.md §2 pin)
    "pin_on_removed_person.json": ("people[10] id=P11: field 'pin.decision'", "needs no decision"),
    "pin_detain_past_legal_limit.json": ("people[9] id=P10: field 'pin.decision'",
                                         "legal limit of 180 custody days on day 0, before leaving custody on day 1"),
    "pin_release_mandatory.json": ("people[0] id=P01: field 'pin.decision'", "the person is mandatory"),
    "pin_release_family_with_mandatory.json": ("people[8] id=P09: field 'pin.decision'",
                                               "family member people[7] id=P08 is mandatory"),
    "pin_unit_wrong_sex.json": ("people[2] id=P03: field 'pin.unit'", "unit MTG-MED is for sex F"),
    "pin_unit_wrong_level.json": ("people[2] id=P03: field 'pin.unit'", "holds levels C,D, the person's level is B"),
    "pin_unit_not_medical.json": ("people[6] id=P07: field 'pin.unit'", "not medical"),
    "pin_family_unit_for_single.json": ("people[2] id=P03: field 'pin.unit'", "is a family unit"),
    "pin_single_unit_for_family.json": ("people[7] id=P08: field 'pin.unit'", "is not a family unit"),
    "pin_unit_misfits_family_member.json": ("people[7] id=P08: field 'pin.unit'",
                                            "member people[8] id=P09: rule 2 (compatibility)"),
    "pin_unit_short_stay.json": ("people[2] id=P03: field 'pin.unit'", "rule 5 (short stay): facility HLD"),
    "pin_unit_local_ties.json": ("people[3] id=P04: field 'pin.unit'", "rule 8 (local ties)"),
    "pin_facility_without_fitting_unit.json": ("people[6] id=P07: field 'pin.facility'", "no unit of facility 'BRZ'"),
    "pin_detain_nowhere.json": ("people[3] id=P04: field 'pin.decision'", "no unit in the instance"),
    "pin_program_risk_too_high.json": ("people[3] id=P04: field 'pin.atd_program'", "max_risk is 50"),
    "pin_program_other_aor.json": ("people[2] id=P03: field 'pin.atd_program'", "serves AOR SNA only"),
    "pin_minor_with_program.json": ("people[8] id=P09: field 'pin.atd_program'", "a minor takes no ATD program"),
    "pin_release_without_eligible_program.json": ("people[2] id=P03: field 'pin.decision'", "no ATD program"),
    "pin_release_day_after_horizon.json": ("people[2] id=P03: field 'pin.release_day'",
                                           "the only valid day is 0 (the plan ends on day 1)"),
    "pin_release_day_without_bed.json": ("people[3] id=P04: field 'pin.release_day'", "until release day 1"),
    # family members' pins that disagree
    "family_pins_detain_and_release.json": ("people[8] id=P09: field 'pin.decision'",
                                            "detain pin of family member people[7] id=P08"),
    "family_pins_different_facilities.json": ("people[8] id=P09: field 'pin.facility'",
                                              "facility 'DIL' pinned on family member people[7] id=P08"),
    "family_pins_different_release_days.json": ("people[8] id=P09: field 'pin.release_day'",
                                                "release day 0 pinned on family member people[7] id=P08"),
    # pins that cannot all hold together (count pre-check)
    "pins_exceed_unit_beds.json": ("facilities[0] id=MTG.units[0] id=MTG-AB: field 'beds'", "exceed them by 1"),
    "pins_exceed_facility_beds.json": ("facilities[0] id=MTG: field 'units'", "exceed them by 1"),
    "pins_exceed_program_capacity.json": ("atd_programs[0] id=GPS: field 'capacity'", "exceed it by 1"),
    "pins_exceed_aor_transfers.json": ("aors[0] code=HOU: field 'max_transfers_out_per_day'", "exceed it by 1"),
    "pins_exceed_national_transfers.json": ("policy: field 'max_transfers_per_day'", "exceed it by 1"),
    # size
    "very_long_id.json": ("people[4] id=" + "P" * 40 + ": field 'id'", "at most 200 characters"),
}

BAD_FILES = sorted(p.name for p in BAD.iterdir() if p.is_file())


def _refused(path: Path) -> list[str]:
    with pytest.raises(InputError) as e:
        read_instance(path)
    assert e.value.lines, "InputError without a message"
    assert e.value.exit_code == 2
    return e.value.lines


def test_table_matches_folder():
    assert len(BAD_FILES) >= 60
    assert set(BAD_FILES) == set(EXPECTED), (
        f"files without an EXPECTED entry: {sorted(set(BAD_FILES) - set(EXPECTED))}; "
        f"entries without a file: {sorted(set(EXPECTED) - set(BAD_FILES))}"
    )


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_file_is_refused(name):
    path = BAD / name
    lines = _refused(path)
    assert 1 <= len(lines) <= MAX_PROBLEMS + 1
    for line in lines:
        assert line.startswith(f"{path}: "), line
        assert "\n" not in line
        assert len(line) < 1000, f"line of {len(line)} characters"  # a 1 MB value is not echoed
        assert "Traceback" not in line
    where, word = EXPECTED[name]
    first = lines[0][len(str(path)) + 2:]
    assert where in first, f"{where!r} not in {first!r}"
    assert word.lower() in first.lower(), f"{word!r} not in {first!r}"
    if ": field '" in where:  # record-level defect: the record comes first, then the field
        assert first.startswith(where), f"{first!r} does not start with {where!r}"


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_file_has_one_defect(name):
    """Each file is tiny.json with one defect, so exactly one problem is reported."""
    assert len(_refused(BAD / name)) == 1


# --------------------------------------------------------------------------------------------
# problem count cap
# --------------------------------------------------------------------------------------------

def _tiny() -> dict:
    return json.loads(TINY.read_text(encoding="utf-8"))


def _write(tmp_path: Path, doc: dict, name: str = "inst.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


@pytest.mark.parametrize("defect", ["risk", "aor", "key"])
def test_many_problems_are_capped(tmp_path, defect):
    doc = _tiny()
    template = doc["people"][0]
    people = []
    for i in range(100):
        p = dict(template, id=f"Q{i:03d}")
        if defect == "risk":
            p["risk"] = "high"  # schema error (pydantic pass)
        elif defect == "aor":
            p["aor"] = "ZZZ"  # cross-record error
        else:
            p["colour"] = "blue"  # unknown key
        people.append(p)
    doc["people"] = people
    path = _write(tmp_path, doc)
    lines = _refused(path)
    assert len(lines) == MAX_PROBLEMS + 1
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert lines[0].startswith(f"{path}: people[0] id=Q000: field ")
    assert "more problems" in lines[-1]
    if defect == "risk":  # the schema pass counts every problem
        assert lines[-1].endswith("... and 80 more problems")
    else:  # the later checks stop early and must not claim a count
        assert lines[-1].endswith(f"... and more problems (only the first {MAX_PROBLEMS} are listed)")


def test_several_problems_one_line_each(tmp_path):
    doc = _tiny()
    doc["people"][3]["risk"] = "55"
    doc["facilities"][1]["units"][0]["beds"] = -1
    doc["atd_programs"][0]["technology"] = "drone"
    lines = _refused(_write(tmp_path, doc))
    assert len(lines) == 3
    joined = "\n".join(lines)
    for where in ("people[3] id=P04: field 'risk'", "facilities[1] id=BRZ.units[0] id=BRZ-M: field 'beds'",
                  "atd_programs[0] id=GPS: field 'technology'"):
        assert where in joined


def test_missing_file(tmp_path):
    path = tmp_path / "nope.json"
    lines = _refused(path)
    assert lines == [f"{path}: cannot read the file: No such file or directory"]


def test_folder_instead_of_file(tmp_path):
    lines = _refused(tmp_path)
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path}: cannot read the file")


# --------------------------------------------------------------------------------------------
# valid files and defaults
# --------------------------------------------------------------------------------------------

def test_tiny_reads_with_defaults():
    digest: list[str] = []
    inst = read_instance(TINY, digest)
    import hashlib

    assert digest == [hashlib.sha256(TINY.read_bytes()).hexdigest()]
    assert inst.format == "bedalloc-instance" and inst.version == 1 and inst.horizon_days == 1
    assert [p.id for p in inst.people] == [f"P{i:02d}" for i in range(1, 13)]
    units = {u.id: u for f in inst.facilities for u in f.units}
    assert units["MTG-AB"].surge_beds == 0 and units["MTG-CD"].surge_beds == 2
    assert units["MTG-AB"].medical is False and units["MTG-AB"].family is False
    assert units["DIL-FAM"].family is True and units["DIL-FAM"].sex == "any"
    fac = {f.id: f for f in inst.facilities}
    assert fac["BRZ"].guaranteed_minimum == 0 and fac["BRZ"].gm_rate == 0.0
    assert fac["BRZ"].max_stay_days is None and fac["HLD"].max_stay_days == 1
    progs = {p.id: p for p in inst.atd_programs}
    assert progs["APP"].capacity is None and progs["GPS"].capacity == 1
    assert progs["GPS"].aor is None and progs["CM-SNA"].aor == "SNA"
    p = inst.people[0]
    assert (p.mandatory, p.custody_days, p.max_custody_days, p.needs_medical, p.humanitarian,
            p.family_id, p.minor, p.arrival_day, p.removal_day) == (True, 0, None, False, [], None, False, 0, None)
    assert inst.people[8].level is None and inst.people[8].minor is True
    assert inst.policy.cost_days == 30
    assert inst.policy.factors() == DEFAULT_HUMANITARIAN
    assert effective_risk(45.0, ["pregnant"], inst.policy.factors()) == 11.25


def test_policy_defaults_when_absent(tmp_path):
    doc = _tiny()
    del doc["policy"]
    inst = read_instance(_write(tmp_path, doc))
    assert inst.policy.cost_days == 30
    assert inst.policy.transfer_fixed_usd == 250 and inst.policy.transfer_usd_per_km == 0.5
    assert inst.policy.factors() == DEFAULT_HUMANITARIAN


def test_policy_defaults_when_empty(tmp_path):
    doc = _tiny()
    doc["policy"] = {}
    inst = read_instance(_write(tmp_path, doc))
    assert inst.policy.cost_days == 30 and inst.policy.factors() == DEFAULT_HUMANITARIAN


def test_humanitarian_overrides_merge_with_defaults(tmp_path):
    doc = _tiny()
    doc["policy"]["humanitarian_factors"] = {"elderly": 0.9, "veteran": 0.8}
    doc["people"][3]["humanitarian"] = ["elderly", "veteran"]
    inst = read_instance(_write(tmp_path, doc))
    table = inst.policy.factors()
    assert table == {**DEFAULT_HUMANITARIAN, "elderly": 0.9, "veteran": 0.8}
    assert table["pregnant"] == 0.25  # defaults kept
    assert effective_risk(55.0, inst.people[3].humanitarian, table) == round(55.0 * 0.9 * 0.8, 4)


def test_x_keys_accepted_everywhere():
    doc = json.loads(X_FILE.read_text(encoding="utf-8"))
    # the file really carries x_ keys at every level
    assert "x_top" in doc and "x_why" in doc["policy"] and "x_hub" in doc["aors"][0]
    assert "x_contract" in doc["facilities"][0] and "x_wing" in doc["facilities"][0]["units"][0]
    assert "x_vendor" in doc["atd_programs"][0] and "x_note" in doc["people"][0]
    inst = read_instance(X_FILE)
    base = read_instance(TINY)
    assert [p.id for p in inst.people] == [p.id for p in base.people]
    assert inst.facilities[0].units[0].beds == base.facilities[0].units[0].beds


def test_annotations_are_kept_in_place():
    """Every record's x_ keys are in its ``annotations``, and written back where they were."""
    doc = json.loads(X_FILE.read_text(encoding="utf-8"))
    inst = read_instance(X_FILE)
    assert inst.people[0].annotations == {"x_note": doc["people"][0]["x_note"]}
    assert inst.facilities[0].units[0].annotations == {"x_wing": doc["facilities"][0]["units"][0]["x_wing"]}
    assert inst.people[1].annotations == {"x_": doc["people"][1]["x_"]}  # the key x_ itself is an annotation
    assert [p.annotations is None for p in inst.people] == [not any(k.startswith("x_") for k in p) for p in doc["people"]]
    back = as_dict(inst)
    for path in (("x_top",), ("policy", "x_why"), ("aors", 0, "x_hub"), ("facilities", 0, "x_contract"),
                 ("facilities", 0, "units", 0, "x_wing"), ("atd_programs", 0, "x_vendor"), ("people", 0, "x_note")):
        a, b = doc, back
        for key in path:
            a, b = a[key], b[key]
        assert a == b
    assert parse_instance(as_dict(inst, drop_defaults=True)) == inst
    # a default by value, not by identity (a float read from a spreadsheet cell), is left out too
    brz = replace(inst.facilities[1], gm_rate=float("0.0"))
    assert "gm_rate" not in as_dict(brz, drop_defaults=True) and as_dict(brz)["gm_rate"] == 0.0
    assert "policy" not in as_dict(replace(inst, policy=Policy(cost_days=int("30"))), drop_defaults=True)
    assert sorted(back["people"][2]) == sorted(known_keys(Person))  # every field, none annotated
    assert back["people"][2]["pin"] is None and back["people"][2]["humanitarian"] is not inst.people[2].humanitarian


def test_a_document_that_may_hold_control_characters_gives_the_same_records(tmp_path):
    """A string with a quote (escaped in JSON) sends the document through the pydantic check;
    the records are those of the fast path."""
    doc = json.loads(X_FILE.read_text(encoding="utf-8"))
    fast = parse_instance(copy.deepcopy(doc))
    doc["facilities"][0]["name"] = 'The "North" wing'
    slow = read_instance(_write(tmp_path, doc))
    assert slow.facilities[0].name == 'The "North" wing'
    assert slow.facilities[1:] == fast.facilities[1:] and slow.people == fast.people


@pytest.mark.parametrize("text", ["P\r01", "P\x7f01", "P\x0001", "P01\n"])
def test_control_characters_are_refused_from_a_file_and_from_a_document(tmp_path, text):
    """The structs leave control characters to the document's check: a file writes them as
    escapes (DEL as itself), a document given as a dict holds them as they are."""
    doc = _tiny()
    doc["facilities"][1]["units"][0]["id"] = text
    raw = tmp_path / "raw.json"
    raw.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")  # DEL as itself, not as \u007f
    assert (b"\x7f" in raw.read_bytes()) == ("\x7f" in text)
    for read in (lambda: read_instance(raw), lambda: read_instance(_write(tmp_path, doc)),
                 lambda: parse_instance(copy.deepcopy(doc))):
        with pytest.raises(InputError) as e:
            read()
        assert "units[0]" in e.value.lines[0] and "field 'id': must not contain control characters" in e.value.lines[0]


# (record, field, values the schema refuses, values it accepts): both forms of the schema agree
BOUNDS = [
    (("people", 0), "risk", [-0.1, 100.5, "5", True, None], [0, 100, 55.5]),
    (("people", 0), "custody_days", [-1, 100_001, 1.0, True], [0, 100_000]),
    (("people", 0), "level", ["E", 1], ["A", "D"]),
    (("people", 0), "humanitarian", [[""], ["x" * 201], "elderly", [1]], [["elderly"], []]),
    (("people", 0), "id", ["", "x" * 201, 5], ["x" * 200]),
    (("people", 0), "mandatory", [1, "true", None], [True, False]),
    (("people", 0), "pin", [{"decision": "detain", "facility": ""}, {"decision": "release", "release_day": -1},
                            {"decision": "hold"}, [1]], [None]),
    (("facilities", 0, "units", 0), "levels", [[], ["A", "B", "C", "D", "A"], ["E"]], [["A"], ["D", "C"]]),
    (("facilities", 0, "units", 0), "beds", [-1, 10_000_001, 2.5], [0, 10_000_000]),
    (("facilities", 0), "per_diem", [-0.01, 1e9 + 1, "80"], [0, 1e9, 80]),
    (("facilities", 0), "lat", [-90.5, 90.5], [-90, 90]),
    (("facilities", 0), "type", ["JAIL", None], ["SPC"]),
    (("atd_programs", 0), "capacity", [-1, 1.5], [None, 0]),
    (("policy",), "humanitarian_factors", [{"elderly": 0}, {"elderly": 1.5}, {"": 0.5}], [{"elderly": 1}]),
    (("policy",), "cost_days", [0, 100_001], [1, 100_000]),
    ((), "horizon_days", [0, 3661, 1.0], [1, 3660]),
    ((), "snapshot_date", ["2026-1-01", "today"], ["2026-01-01"]),
]


@pytest.mark.parametrize("where, field, bad, good", BOUNDS, ids=[f"{b[0][:1]}-{b[1]}" for b in BOUNDS])
def test_the_structs_and_the_wording_models_accept_the_same_values(where, field, bad, good):
    from optimizer.instance import _keys, _structs

    model = wording_model(Instance)
    for value, ok in [(v, False) for v in bad] + [(v, True) for v in good]:
        doc = _tiny()
        rec = doc
        for key in where:
            rec = rec[key]
        rec[field] = value
        assert (_structs(_keys(doc)[1])[0] is not None) is ok, (field, value)
        try:
            model.model_validate(doc)
            assert ok, (field, value)
        except pydantic.ValidationError:
            assert not ok, (field, value)


def test_x_key_with_moderate_nesting_accepted(tmp_path):
    doc = _tiny()
    doc["people"][0]["x_tree"] = json.loads("[" * 500 + "]" * 500)
    read_instance(_write(tmp_path, doc))


def test_horizon_two_is_valid(tmp_path):
    doc = _tiny()
    doc["horizon_days"] = 2
    assert read_instance(_write(tmp_path, doc)).horizon_days == 2



def test_type_error_and_unknown_key_reported_together(tmp_path):
    doc = _tiny()
    doc["people"][1]["risk"] = "high"
    doc["people"][2]["riks"] = 3
    lines = _refused(_write(tmp_path, doc))
    assert any(f"people[1] id={doc['people'][1]['id']}: field 'risk'" in ln for ln in lines)
    assert any(f"people[2] id={doc['people'][2]['id']}: field 'riks': unknown field" in ln for ln in lines)


def test_duplicate_key_names_the_record(tmp_path):
    text = TINY.read_text().replace('"id": "P04",', '"id": "P04", "id": "P04",', 1)
    assert text != TINY.read_text()
    path = tmp_path / "dup.json"
    path.write_text(text)
    (line,) = _refused(path)
    assert "duplicate key 'id'" in line and "id='P04'" in line


def test_record_that_is_not_an_object(tmp_path):
    doc = _tiny()
    doc["people"].append(7)
    (line,) = _refused(_write(tmp_path, doc))
    assert line.endswith(f"people[{len(doc['people']) - 1}]: must be a JSON object (a record), got int")


def test_a_file_above_the_size_limit_is_refused_before_it_is_read(tmp_path, capsys):
    """A sparse file one byte above MAX_FILE_BYTES (no disk used): exit 2, one line naming the
    file and the limit, refused from its size alone."""
    from optimizer.cli import main
    from optimizer.instance import MAX_FILE_BYTES

    big = tmp_path / "huge.json"
    with open(big, "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    assert main(["validate", str(big)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{big}: the file is larger than the limit of {MAX_FILE_BYTES} bytes"]


@pytest.mark.parametrize("text, dropped", [
    ('{"a": "x:y", "b": {"c": 1, "c": 2}}', True),  # a duplicate beside a colon inside a string
    ('{"a" : 1, "b"\n:\t{"c": "d"}, "e": [{"f": 1}, {"f": 1, "f": 1}]}', True),  # spaced colons
    ('{"a" : "x:y", "b": [{"c": 1}, {"c": 2}], "d": 12345678901234567890}', False),
    ('{"a": "\\u00e9", "b": 1}', False),
])
def test_fast_parse_equals_the_strict_parse_or_declines(text, dropped):
    """The orjson path gives json's document exactly, and declines (None) whenever a key was a
    duplicate, a run of 19 digits or a backslash appears; load_json then refuses the
    duplicate with json's message."""
    from optimizer.instance import _fast_loads

    data = text.encode()
    doc = _fast_loads(data)
    assert (doc is None) == (dropped or "\\" in text or "12345678901234567890" in text)
    if doc is not None:
        assert doc == json.loads(text) and type(doc["a"]) is type(json.loads(text)["a"])


def test_fast_parse_reads_the_bundled_instance_as_json_does():
    from optimizer.instance import _fast_loads

    data = TINY.read_bytes()
    assert _fast_loads(data) == json.loads(data)


@pytest.mark.parametrize("old, new", [
    ('"beds": 1}', '"beds": -9223372036854775809}'),  # -2**63 - 1: 19 digits, a float to orjson
    ('"custody_days": 12}', '"custody_days": -9999999999999999999}'),
])
def test_integers_orjson_reads_as_floats_get_the_standard_message(tmp_path, monkeypatch, capsys, old, new):
    """An integer below -2**63 of 19 digits gives the same lines as the standard json path
    (a range message, not "Input should be a valid integer")."""
    from optimizer.cli import main

    path = tmp_path / "inst.json"
    path.write_text(TINY.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    fast = capsys.readouterr().err
    monkeypatch.setattr(instance, "_fast_loads", lambda data: None)
    assert main(["validate", str(path)]) == 2
    standard = capsys.readouterr().err
    assert fast == standard and "greater than or equal to 0" in standard and "valid integer" not in standard


@pytest.mark.parametrize("key", [1, 1.5, None, "a\nb"])
def test_keys_that_are_not_names_are_refused_in_one_line_each(key):
    """A document given as data may hold keys JSON cannot: each is named, never a crash."""
    doc = _tiny()
    doc["people"][0][key] = 2
    doc["facilities"][0]["units"][0][key] = 3
    with pytest.raises(InputError) as e:
        parse_instance(doc)
    assert all("\n" not in line for line in e.value.lines)
    named = str(key).replace("\n", "\\x0a")  # control characters shown as \\xNN
    assert any(line.startswith(f"<instance>: people[0] id=P01: field '{named}'") for line in e.value.lines)
    assert any(f"units[0] id=MTG-AB: field '{named}'" in line for line in e.value.lines)


def test_a_misspelt_pin_key_is_refused_in_a_document_of_ordered_dicts():
    """A person that is a dict subclass (json.load(..., object_pairs_hook=OrderedDict)) is skipped
    by the reader's unknown-key pass when every person's keys are known: its pin's misspelling
    was accepted and the pin read as "release to any program"."""
    doc = json.loads(TINY.read_text(), object_pairs_hook=collections.OrderedDict)
    doc["people"][3]["pin"] = {"decision": "release", "atd_progam": "CM-SNA"}
    with pytest.raises(InputError) as e:
        parse_instance(doc)
    assert "field 'pin.atd_progam': unknown field of a release pin" in e.value.lines[0]


def test_a_tuple_of_people_is_refused_not_read_without_its_unknown_keys():
    """A tuple where the schema has a list skipped the unknown-key pass: unknown keys were
    accepted and x_ annotations dropped (the old reader: 'Input should be a valid list')."""
    doc = json.loads(TINY.read_text())
    doc["people"][0]["bedz"] = 1
    doc["people"] = tuple(doc["people"])
    with pytest.raises(InputError):
        parse_instance(doc)


def test_problem_lines_do_not_depend_on_the_hash_seed(tmp_path):
    """Two unknown keys in one record are named in the file's order, in every run (they
    followed set order, which changes with PYTHONHASHSEED)."""
    doc = json.loads(TINY.read_text())
    doc["people"][0].update({"bedz": 1, "risks": 2, "levle": 3, "aorr": 4})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    code = ("import sys; from optimizer.instance import read_instance\n"
            "try: read_instance(sys.argv[1])\n"
            "except Exception as e: print(*(l.split('field ')[1][:8] for l in e.lines))")
    outs = {subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in range(4)}
    assert len(outs) == 1 and outs.pop().split() == ["'bedz':", "'risks':", "'levle':", "'aorr':"]


def test_a_raw_control_character_breaks_the_json_and_says_where(tmp_path):
    doc = _tiny()
    doc["name"] = "tiny\tplan"
    path = tmp_path / "tab.json"
    text = json.dumps(doc).replace("\\t", "\t")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_instance(path)
    column = text.index("\t") + 1
    assert e.value.lines == [f"{path}: not valid JSON: Invalid control character at line 1 column {column}"]
