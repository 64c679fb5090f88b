"""The rolling-horizon simulation (optimizer/simulate.py, ``bedalloc simulate``)."""

from __future__ import annotations

import csv
import json

import pytest

from optimizer.cli import main
from optimizer.generate import national_instance
from optimizer.simulate import simulate


@pytest.fixture(scope="module")
def doc():
    return json.loads(json.dumps(national_instance(seed=2, aors=["HOU"], scale=0.05, horizon_days=4)))


def test_policies_reproducible_and_lawful(doc):
    """Same seed, same outcome; the optimizing policies never hold anyone past a legal limit;
    every person-day is accounted for."""
    a = simulate(doc, days=4, seed=1)
    b = simulate(doc, days=4, seed=1)
    assert [r.row() | {"solve_s": 0} for r in a] == [r.row() | {"solve_s": 0} for r in b]
    by = {r.policy: r for r in a}
    assert set(by) == {"horizon", "myopic", "rule"}
    assert by["horizon"].deadline_violations == by["myopic"].deadline_violations == 0
    for r in a:
        assert r.days == 4 and len(r.per_day) == 4
        assert all(d["in_beds"] + d["unplaced"] == d["in_custody"] for d in r.per_day)
        assert r.max_risk_released <= 100 and r.released_risk >= r.max_risk_released


def test_same_arrivals_for_every_policy(doc):
    """The policies see the same realized arrivals (one random stream per policy, same seed)."""
    out = simulate(doc, days=3, seed=5, policies=("myopic", "rule"))
    assert [d["in_custody"] for d in out[0].per_day][:1] == [d["in_custody"] for d in out[1].per_day][:1]


def test_cli_writes_the_csv_files(tmp_path, doc, capsys):
    path = tmp_path / "hou.json"
    path.write_text(json.dumps(doc))
    out = tmp_path / "sim"
    assert main(["simulate", str(path), "--days", "2", "--policies", "myopic,rule", "--out", str(out),
                 "--quiet"]) == 0
    rows = list(csv.DictReader(open(out / "simulation.csv")))
    assert [r["policy"] for r in rows] == ["myopic", "rule"]
    days = list(csv.DictReader(open(out / "days.csv")))
    assert len(days) == 4
    for r in rows:  # no limits in this instance: no limit column, no AOR at a limit
        mine = [d for d in days if d["policy"] == r["policy"]]
        assert int(r["transfers"]) == sum(int(d["transfers"]) for d in mine)
        assert int(r["max_transfers_per_day"]) == max(int(d["transfers"]) for d in mine)
        assert (r["transfer_limit"], r["days_at_limit"], r["aor_days_at_limit"]) == ("", "0", "0")
        assert all((d["transfer_limit"], d["aors_at_limit"]) == ("", "0") for d in mine)
    table = capsys.readouterr().out
    assert "deadline violations" in table
    released_risk = float(rows[0]["released_risk"])  # the table's cell: the plan files' grid, 0.0001
    assert f"{released_risk:,.4f}" in next(line for line in table.splitlines() if "myopic" in line)


def test_cli_internal_error_is_exit_4(tmp_path, doc, capsys, monkeypatch):
    """A day that breaks the contract (here faked) stops the run: one line, exit 4, nothing written."""
    import optimizer.simulate
    from optimizer.errors import SolverError

    def broken(*args, **kwargs):
        raise SolverError("internal error: myopic policy, simulated day 0: 4 transfers, over the national limit 3")

    monkeypatch.setattr(optimizer.simulate, "simulate", broken)
    path = tmp_path / "hou.json"
    path.write_text(json.dumps(doc))
    out = tmp_path / "sim"
    assert main(["simulate", str(path), "--days", "2", "--out", str(out), "--quiet"]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{path}: internal error: myopic policy, simulated day 0: 4 transfers, over the national limit 3"]
    assert not out.exists()


@pytest.mark.parametrize("args,needle", [(["--policies", "greedy"], "unknown greedy"),
                                         (["--days", "0"], "--days"),
                                         (["--solver", "flow"], None)])
def test_cli_bad_arguments(tmp_path, doc, capsys, args, needle):
    path = tmp_path / "hou.json"
    path.write_text(json.dumps(doc))
    out = tmp_path / "sim"
    try:
        code = main(["simulate", str(path), "--days", "2", "--out", str(out), "--quiet", *args])
    except SystemExit as e:  # argparse refuses the command line
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    if needle:
        assert needle in err
    assert not out.exists()


# ---- contract 1.1: transport limits, local ties and pins on every simulated day

def _limited_doc() -> dict:
    """Three days, three AORs on the equator.  XA (AOR X) and ZA (AOR Z) each hold 5 mandatory
    men in 2 beds; YB (AOR Y) has 10 free beds.  Seats: 2 a day out of X, 2 out of Z, 3 a day
    nationally, so 6 people must move and only 3 can each day: every optimizing policy moves 3
    on day 0 (one AOR at its limit) and the other 3 on day 1.  T1 (level B, which XA does not
    hold) has local ties and is held in XB (AOR X), dearer than YB by far more than the move:
    without the ties every plan would move him to YB as soon as a seat is free (day 2).  Z1 is
    pinned to unit ZA-U (stays), Z2 to facility YB (moves on day 0); R1 (in YB) is pinned to be
    released on day 1 to P1, whose one slot must stay free until then although L1, at her legal
    limit, must be released on day 0 (to P2, dearer).  Without the ties or the held slot the
    plans differ (checked by replaying days with optimal plans drawn from a brute-force oracle)."""
    def man(pid, aor, origin, **extra):
        return {"id": pid, "sex": "M", "level": "A", "risk": 10, "aor": aor, "origin": origin,
                "mandatory": True, "removal_day": 30, **extra}

    def fac(fid, aor, lon, beds, per_diem=100, levels=("A", "B")):
        return {"id": fid, "name": fid, "aor": aor, "state": "TX", "type": "CDF", "lat": 0.0, "lon": lon,
                "per_diem": per_diem, "units": [{"id": f"{fid}-U", "sex": "M", "levels": list(levels), "beds": beds}]}

    people = [man(f"X{i}", "X", "XA") for i in range(1, 6)] + [man(f"Z{i}", "Z", "ZA") for i in range(1, 6)]
    people[5]["pin"] = {"decision": "detain", "unit": "ZA-U"}
    people[6]["pin"] = {"decision": "detain", "facility": "YB"}
    people.append(man("T1", "X", "XB", local_ties=True, level="B"))
    people += [man("R1", "Y", "YB", mandatory=False, pin={"decision": "release", "atd_program": "P1",
                                                           "release_day": 1}),
               {"id": "L1", "sex": "F", "level": "A", "risk": 5, "aor": "Y", "max_custody_days": 5,
                "custody_days": 5, "removal_day": 30}]
    return {
        "format": "bedalloc-instance", "version": 1, "name": "sim-limits", "snapshot_date": "2025-01-01",
        "horizon_days": 3, "policy": {"max_transfers_per_day": 3},
        "aors": [{"code": "X", "name": "X", "lat": 0.0, "lon": 0.0, "max_transfers_out_per_day": 2},
                 {"code": "Y", "name": "Y", "lat": 0.0, "lon": 1.0},
                 {"code": "Z", "name": "Z", "lat": 0.0, "lon": 2.0, "max_transfers_out_per_day": 2}],
        "facilities": [fac("XA", "X", 0.0, 2, levels="A"), fac("XB", "X", 0.0, 1, per_diem=500),
                       fac("YB", "Y", 1.0, 10), fac("ZA", "Z", 2.0, 2, levels="A")],
        "atd_programs": [{"id": "P1", "technology": "app", "per_diem": 1, "capacity": 1, "max_risk": 100},
                         {"id": "P2", "technology": "ankle_gps", "per_diem": 9, "max_risk": 100}],
        "people": people,
    }


def test_plan_doc_carries_limits_ties_and_pins():
    """Each day's planning instance keeps the per-day limits and the ties; a release pinned after
    the plan's window is a detention without place, and its program's slot is held back."""
    from optimizer.simulate import _World

    world = _World(_limited_doc(), "myopic", 0)
    one, three = world.plan_doc(0, 1), world.plan_doc(0, 3)
    for d in (one, three):
        assert d["policy"]["max_transfers_per_day"] == 3
        assert [a.get("max_transfers_out_per_day") for a in d["aors"]] == [2, None, 2]
        by = {p["id"]: p for p in d["people"]}
        assert by["T1"]["local_ties"] and by["Z1"]["pin"] == {"decision": "detain", "facility": None, "unit": "ZA-U"}
        assert by["Z2"]["pin"] == {"decision": "detain", "facility": "YB", "unit": None}
        assert "pin" not in by["X2"]
    assert {p["id"]: p for p in one["people"]}["R1"]["pin"] == {"decision": "detain"}
    assert {p["id"]: p for p in three["people"]}["R1"]["pin"] == {"decision": "release", "atd_program": "P1",
                                                                   "release_day": 1}
    assert [a.get("capacity") for a in one["atd_programs"]] == [0, None]  # P1's slot held for R1
    assert [a.get("capacity") for a in three["atd_programs"]] == [1, None]  # R1 is inside this plan


def test_detain_pin_lapses_at_the_legal_limit():
    """The law overrides a pin: the plan whose window reaches the legal limit frees the person."""
    from optimizer.simulate import _World

    world = _World(_limited_doc(), "horizon", 0)
    world.people["Z1"]["max_custody_days"] = 2
    assert {p["id"]: p for p in world.plan_doc(0, 2)["people"]}["Z1"]["pin"]["unit"] == "ZA-U"
    z1 = {p["id"]: p for p in world.plan_doc(0, 3)["people"]}["Z1"]
    assert "pin" not in z1 and "mandatory" not in z1 and "Z1" not in world.pins


def test_a_day_against_the_contract_is_an_internal_error():
    """The simulation checks its own days: over a limit, away from local ties, against a pin."""
    from optimizer.errors import SolverError
    from optimizer.simulate import _World

    world = _World(_limited_doc(), "rule", 0)
    for pid, unit in (("Z1", "ZA-U"), ("Z2", "YB-U"), ("R1", "YB-U"), ("X2", "YB-U"), ("X3", "YB-U")):
        world.place(pid, unit, 0)
    world.check_day(0)  # two out of X, three in all: at the limits, not over
    world.place("X4", "YB-U", 0)
    with pytest.raises(SolverError, match="3 transfers out of AOR X, over its limit 2; 4 transfers, over the "
                                          "national limit 3"):
        world.check_day(0)
    world.bed.pop("R1")
    with pytest.raises(SolverError, match="R1's release pin not kept"):
        world.check_day(0)
    with pytest.raises(SolverError, match="T1 placed in YB-U against its local ties"):
        world.place("T1", "YB-U", 0)
    with pytest.raises(SolverError, match="Z1 placed in YB-U against its local ties or pin"):
        world.place("Z1", "YB-U", 0)
    with pytest.raises(SolverError, match="R1 released against its release pin"):
        world.release(world.people["R1"], "P1", 0)


@pytest.mark.parametrize("policy,moves", [("myopic", [3, 3, 0]), ("horizon", [3, 3, 0]), ("rule", [3, 0, 0])])
def test_limits_ties_and_pins_every_day(policy, moves):
    """Transfers per day reach the limits and never exceed them; ties and pins hold each day."""
    from optimizer.simulate import _World, simulate_day
    from optimizer.engine import SolveParams

    world = _World(_limited_doc(), policy, 0)
    fac = {}
    for day in range(3):
        simulate_day(world, day, SolveParams())
        fac[day] = {pid: world.units[u][0]["id"] for pid, u in world.bed.items()}
        assert fac[day]["T1"] == "XB" and world.bed["Z1"] == "ZA-U" and fac[day]["Z2"] == "YB"
        assert ("R1" in world.people) == (day == 0) and "L1" not in world.people
    assert [d["transfers"] for d in world.out.per_day] == moves
    assert [d["aors_at_limit"] for d in world.out.per_day] == [int(m > 0) for m in moves]
    assert [d["unplaced"] for d in world.out.per_day] == [3, 3 * (policy == "rule"), 3 * (policy == "rule")]
    out = world.out
    assert (out.transfers, out.max_transfers_per_day, out.transfer_limit) == (sum(moves), 3, 3)
    assert (out.days_at_limit, out.aor_days_at_limit) == (sum(m > 0 for m in moves),) * 2
    assert (out.released, out.released_risk, world.used) == (2, 15.0, {"P1": 1, "P2": 1})


def test_cli_reports_transfers_against_the_limit(tmp_path, capsys):
    """days.csv and the table give each day's transfers against the national and AOR limits."""
    path = tmp_path / "limits.json"
    path.write_text(json.dumps(_limited_doc()))
    out = tmp_path / "sim"
    assert main(["simulate", str(path), "--days", "3", "--policies", "myopic", "--out", str(out), "--quiet"]) == 0
    days = list(csv.DictReader(open(out / "days.csv")))
    assert [(d["transfers"], d["transfer_limit"], d["aors_at_limit"]) for d in days] == [
        ("3", "3", "1"), ("3", "3", "1"), ("0", "3", "0")]
    row = next(csv.DictReader(open(out / "simulation.csv")))
    assert (row["max_transfers_per_day"], row["transfer_limit"], row["days_at_limit"], row["aor_days_at_limit"]) == (
        "3", "3", "2", "2")
    assert "3 of 3" in capsys.readouterr().out


def test_rule_keeps_ties_and_pins():
    """The rule releases a pinned person on the pinned day to the pinned program, and places a
    tied arrival only in its AOR (here full: no bed), an untied one wherever a bed is free."""
    from optimizer.simulate import _rule, _World

    world = _World(_limited_doc(), "rule", 0)
    for pid, unit in (("X1", "XA-U"), ("X2", "XA-U"), ("T1", "XB-U"), ("R1", "YB-U")):
        world.place(pid, unit, 0)
    arrivals = [{"id": f"S{k}", "sex": "M", "level": "A", "risk": 1, "aor": "X", "mandatory": True,
                 "local_ties": k == 1} for k in (1, 2)]
    for a in arrivals:
        world.people[a["id"]], world.leave[a["id"]] = a, 30
    _rule(world, arrivals, 0)
    assert "R1" in world.people and "S1" not in world.bed and world.bed["S2"] == "YB-U"
    _rule(world, [], 1)
    assert "R1" not in world.people and world.used == {"P1": 1, "P2": 0}
