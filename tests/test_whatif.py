"""What-if capacity changes and the capacity curve (optimizer/whatif.py), checked by re-solving."""

from __future__ import annotations

import json

import pytest

from optimizer.cli import main
from optimizer.generate import national_instance
from optimizer.instance import parse_instance
from optimizer.engine import solve
from optimizer.verifier import verify
from optimizer.whatif import capacity_curve, change_capacity, scaled_beds, whatif

TINY = json.loads(open("instances/tiny.json").read())


def _levels(doc):
    inst = parse_instance(doc)
    return verify(inst, solve(inst).rows).objective


@pytest.mark.parametrize("doc", [TINY, json.loads(json.dumps(national_instance(seed=3, aors=["HOU"], scale=0.1)))],
                         ids=["tiny", "hou"])
def test_curve_points_equal_solving_the_scaled_instance(doc):
    """Each point reuses the built model with new bed rows; it must equal a fresh solve."""
    res = capacity_curve(doc, [-30, -10, 0, 15, 30])
    for p in res["points"]:
        ref = _levels(scaled_beds(doc, p["percent"]))
        assert {k: p[k] for k in ref} == pytest.approx(ref), p["percent"]
        assert p["proven"]
    assert [p["beds"] for p in res["points"]] == sorted(p["beds"] for p in res["points"])


def test_beds_needed_by_bisection_is_the_smallest_whole_percentage():
    doc = json.loads(json.dumps(national_instance(seed=3, aors=["HOU"], scale=0.1)))
    res = capacity_curve(doc, [0], risks=[20.0])
    need = res["beds_needed"][0]
    if need["percent"] is None:
        pytest.skip("not reachable on this instance")
    def high(pct):  # noqa: E306
        return capacity_curve(doc, [pct])["points"][0]["highest_released_for_capacity"] or -1
    assert high(need["percent"]) < 20.0
    if need["percent"] > 0:
        assert high(need["percent"] - 1) >= 20.0


def test_whatif_one_more_bed_removes_the_surge_bed():
    """tiny: the surge bed at MTG-CD (P02) is no longer needed with one more regular bed."""
    res = whatif(TINY, {"MTG:MTG-CD": 1}, {})
    assert (res["base"]["surge"], res["whatif"]["surge"]) == (1, 0)
    assert res["whatif"]["released_risk"] == res["base"]["released_risk"] == 122.5
    one_more_slot = whatif(TINY, {}, {"GPS": 1})  # P04 could take GPS instead of CM-SNA (cheaper)
    assert one_more_slot["whatif"]["cost_usd"] < one_more_slot["base"]["cost_usd"]


@pytest.mark.parametrize("beds,atd,needle", [({"NOPE": 1}, {}, "no facility"), ({"MTG:X": 1}, {}, "no unit"),
                                             ({"HLD": -5}, {}, "would have"), ({}, {"ZZZ": 1}, "no ATD program"),
                                             ({"MTX": 1}, {}, r"--beds MTX: no facility 'MTX' \(nearest: MTG\)$"),
                                             ({}, {"ZZZ": 1}, r"no ATD program 'ZZZ' \(3 known, such as GPS, APP, "
                                                              r"CM-SNA\)$")])
def test_bad_changes_are_refused(beds, atd, needle):
    with pytest.raises(ValueError, match=needle):
        change_capacity(TINY, beds, atd)


def test_cli_whatif_and_curve(tmp_path, capsys):
    assert main(["whatif", "instances/tiny.json", "--beds", "MTG:MTG-CD=+1"]) == 0
    assert "surge bed-days" in capsys.readouterr().out
    # a facility's beds: the title says which units get them (MTG's three units have a bed each:
    # +1 goes to the first by largest remainder, BRZ's +2 one to each of its two units)
    assert main(["whatif", "instances/tiny.json", "--beds", "MTG=+1", "--beds", "BRZ=+2"]) == 0
    assert "What if: MTG +1 bed (unit MTG-AB), BRZ +2 beds (over 2 units)" in capsys.readouterr().out
    assert main(["whatif", "instances/tiny.json", "--beds", "MTG=one"]) == 2
    assert main(["whatif", "instances/tiny.json"]) == 2
    out = tmp_path / "curve.csv"
    assert main(["capacity-curve", "instances/tiny.json", "--quiet", "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 14  # header + 13 points
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "one" in err[0]


def test_tables_show_risks_on_the_plan_files_grid(capsys):
    """capacity-curve and whatif: released risk and the highest risk released for lack of beds
    with 4 decimals, as in plan.csv and summary.json; cost with 2 (tiny: 122.5 released, 30.0
    the highest)."""
    assert main(["capacity-curve", "instances/tiny.json", "--from", "0", "--to", "0", "--step", "10"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "+0 " in line)
    assert "122.5000" in row and "30.0000" in row and "24,716.89" in row
    assert main(["whatif", "instances/tiny.json", "--beds", "BRZ=+0"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "highest released" in line)
    assert [x for x in row.split() if x != "│"][-3:] == ["30.0000", "30.0000", "+0.0000"]  # not a whole number


@pytest.mark.parametrize("doc", [TINY, json.loads(json.dumps(national_instance(seed=4, aors=["NOL"], scale=0.05)))],
                         ids=["tiny", "nol"])
def test_value_of_a_bed_equals_re_solving_with_one_more_bed(doc):
    """Every exactly re-solved value (model reused, one bed row changed) equals a fresh solve
    of the instance with one more bed in that unit; every unit of a small instance is exact."""
    from optimizer.bedvalue import bed_values

    inst = parse_instance(doc)
    n_units = sum(len(f.units) for f in inst.facilities)
    values = bed_values(inst, exact=n_units)
    base = _levels(doc)
    assert len(values["units"]) == n_units and all(e["method"] == "re_solve" for e in values["units"])
    for e in values["units"]:
        new = _levels(change_capacity(doc, {f"{e['facility']}:{e['id']}": 1}, {}))
        assert e["unplaced_change"] == new["unplaced"] - base["unplaced"], e
        assert e["surge_change"] == new["surge"] - base["surge"], e
        assert e["released_risk_change"] == pytest.approx(new["released_risk"] - base["released_risk"], abs=1e-4), e
        assert e["cost_change"] == pytest.approx(new["cost_usd"] - base["cost_usd"], abs=0.02), e
    best = {f["id"]: f for f in values["facilities"]}
    assert set(best) == {f.id for f in inst.facilities if f.units}
