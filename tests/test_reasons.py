"""Reasons for releases (plan.csv ``reason``), release cutoffs and ``bedalloc explain``."""

from __future__ import annotations

import csv
import json

import pytest

from optimizer.cli import main
from optimizer.instance import read_instance
from optimizer.reasons import REASONS, reasons
from optimizer.engine import SolveParams, solve
from randinst import load_random


@pytest.fixture(scope="module")
def tiny():
    inst = read_instance("instances/tiny.json")
    return inst, solve(inst).rows


def test_tiny_reasons_and_cutoffs(tiny):
    """instances/README.md: P04 is released only because 'elderly' halves his risk (55 -> 27.5,
    below P03's 35 kept); P10 is at the 180-day limit; P12 has no free bed for men C-D."""
    inst, rows = tiny
    why, cutoffs = reasons(inst, rows)
    got = {p.id: w for p, w in zip(inst.people, why) if w}
    assert got == {"P04": "humanitarian", "P10": "legal_limit", "P12": "capacity"}
    ab = next(c for c in cutoffs if c["class"].startswith("men of level A-B"))
    # kept and releasable with a free slot: P03 only (P05, risk 62, has no eligible program with room)
    assert (ab["highest_released"], ab["lowest_kept"], ab["released"], ab["kept_releasable"]) == (27.5, 35.0, 1, 1)


def test_two_more_beds_keep_p12():
    from optimizer.whatif import whatif

    tiny = json.loads(open("instances/tiny.json").read())
    assert whatif(tiny, {"MTG:MTG-CD": 1}, {})["whatif"]["released_risk"] == 122.5
    assert whatif(tiny, {"MTG:MTG-CD": 2}, {})["whatif"]["released_risk"] == 92.5


def test_kept_people_could_have_been_released_and_cutoffs_are_ordered(tmp_path):
    """The lowest kept risk of a bed class counts only people who could have been released;
    then no capacity release is above it."""
    for seed in range(60):
        inst = load_random(seed, tmp_path)
        _, cutoffs = reasons(inst, solve(inst, SolveParams()).rows)
        for c in cutoffs:
            if c["highest_released"] is not None and c["lowest_kept"] is not None:
                assert c["highest_released"] <= c["lowest_kept"], (seed, c)


def test_every_release_and_unplaced_person_has_a_reason(tmp_path):
    for seed in range(40):
        inst = load_random(seed, tmp_path)
        rows = solve(inst, SolveParams()).rows
        why, _ = reasons(inst, rows)
        for r, w in zip(rows, why):
            assert (w in REASONS) == (r["decision"] in ("release", "unplaced")), (seed, r, w)


def test_solve_writes_reasons_and_explain_answers(tmp_path, capsys):
    out = tmp_path / "plan"
    assert main(["solve", "instances/tiny.json", "--out", str(out), "--quiet"]) == 0
    rows = list(csv.DictReader(open(out / "plan.csv")))
    assert [r["reason"] for r in rows if r["decision"] == "release"] == ["humanitarian", "legal_limit", "capacity"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["releases_by_reason"] == {"capacity": 1, "humanitarian": 1, "legal_limit": 1}
    assert main(["check", "instances/tiny.json", str(out)]) == 0  # the extra column is accepted
    capsys.readouterr()
    assert main(["explain", str(out), "P04"]) == 0
    text = capsys.readouterr().out
    assert "humanitarian" in text and "55 to 27.5" in text and "(35)" in text
    assert main(["explain", str(out), "P12"]) == 0
    # the surge bed P02 uses is replaced first: two more beds keep P12 (whatif MTG:MTG-CD=+2)
    assert "Kept if 2 more beds for men of level C-D" in capsys.readouterr().out
    assert main(["explain", str(out), "P01"]) == 0
    assert "mandatory detention" in capsys.readouterr().out
    # kept detainees are compared with the releases for lack of beds that could use their unit:
    # P04 (27.5, humanitarian) may use MTG-AB but not P06's hold room (instances/README.md)
    assert main(["explain", str(out), "P06"]) == 0
    assert "no one released for lack of beds may use their unit" in capsys.readouterr().out
    assert main(["explain", str(out), "P03"]) == 0
    assert "effective risk 35 is at least that of everyone released for lack of beds who may use their unit " \
        "(highest 27.5)" in capsys.readouterr().out
    assert main(["explain", str(out), "nobody"]) == 2
    assert main(["explain", str(tmp_path / "missing"), "P01"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "nobody" in err[0] and err[1].endswith("missing: no such plan folder (give the --out "
                                                                     "folder of bedalloc solve)")


def test_a_child_at_the_flores_limit_releases_the_family_for_legal_limit(tmp_path):
    doc = json.loads(open("instances/tiny.json").read())
    for p in doc["people"]:
        if p.get("family_id") == "FAM1":
            p["custody_days"] = 20  # the son reaches the 20-day limit: the family may not hold a bed
    path = tmp_path / "flores.json"
    path.write_text(json.dumps(doc))
    inst = read_instance(path)
    rows = solve(inst).rows
    why, _ = reasons(inst, rows)
    fam = {p.id: (r["decision"], w) for p, r, w in zip(inst.people, rows, why) if p.family_id == "FAM1"}
    assert fam == {"P08": ("release", "legal_limit"), "P09": ("release", "legal_limit")}


def test_a_family_with_no_legal_outcome_is_unplaced_for_the_legal_limit(tmp_path):
    """A 10-day plan: the family's custody limit comes on day 8, before the plan ends, so it may not
    hold a bed throughout (MODEL.md §3 rules 4 and 6), and the mother's risk (95) is above every
    program's maximum, so it may not be released either: unplaced, reason legal_limit for both
    members (not capacity: beds are free)."""
    from randinst import write_instance

    doc = json.loads(open("instances/tiny.json").read())
    doc["horizon_days"] = 10
    doc["people"] = [p for p in doc["people"] if p["id"] in ("P08", "P09")]
    doc["people"][0]["risk"] = 95.0
    inst = read_instance(write_instance(doc, tmp_path / "fam.json"))
    rows = solve(inst).rows
    assert [r["decision"] for r in rows] == ["unplaced", "unplaced"]
    assert reasons(inst, rows)[0] == ["legal_limit", "legal_limit"]
    # summary.json counts them as unplaced, not as releases
    assert main(["solve", str(tmp_path / "fam.json"), "--out", str(tmp_path / "plan"), "--quiet"]) == 3
    summary = json.loads((tmp_path / "plan" / "summary.json").read_text())
    assert summary["releases_by_reason"] == {} and summary["unplaced_by_reason"] == {"legal_limit": 2}
    # diagnosis.json gives the same reason for the family, and no beds that would not help
    diag = json.loads((tmp_path / "plan" / "diagnosis.json").read_text())
    assert [(g["reason"], g["people"], g["compatible_beds_incl_surge"]) for g in diag["groups"]] == [
        ("legal_limit", 1, 0), ("legal_limit", 1, 0)]
