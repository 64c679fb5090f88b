"""Contract 1.1 reasons (``no_seat``, ``local_ties``, ``pinned``), diagnosis.json, the diagnose
certificate under transport limits and ties, explain and ``whatif --transfers`` on small
hand-made one-day instances whose optimal plans are written by hand below (checked against the
brute force where a solve honours rule 7)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from optimizer.cli import main
from optimizer.diagnose import diagnose
from optimizer.instance import parse_instance
from optimizer.output import diagnosis
from optimizer.reasons import explain, reasons
from optimizer.verifier import verify
from optimizer.whatif import change_capacity

# F1 (AOR HOU, crowded: one bed) and F2 (AOR SNA, three free beds); everyone is held in F1 now.


def _doc(people, aor_limit=None, national=None, f2_sex="M", slots=5):
    unit = {"sex": "M", "levels": ["A", "B", "C", "D"]}
    return {
        "format": "bedalloc-instance", "version": 1, "name": "seats", "snapshot_date": "2026-01-05",
        "horizon_days": 1, "policy": {} if national is None else {"max_transfers_per_day": national},
        "aors": [{"code": "HOU", "name": "Houston", "lat": 29.76, "lon": -95.37,
                  "max_transfers_out_per_day": aor_limit},
                 {"code": "SNA", "name": "San Antonio", "lat": 29.42, "lon": -98.49}],
        "facilities": [
            {"id": "F1", "name": "crowded", "aor": "HOU", "state": "TX", "type": "CDF", "lat": 30.3, "lon": -95.44,
             "per_diem": 100, "units": [{"id": "F1-M", **unit, "beds": 1}]},
            {"id": "F2", "name": "roomy", "aor": "SNA", "state": "TX", "type": "CDF", "lat": 28.67, "lon": -99.17,
             "per_diem": 100, "units": [{"id": "F2-M", **unit, "sex": f2_sex, "beds": 3}]}],
        "atd_programs": [{"id": "APP", "technology": "app", "per_diem": 1.0, "max_risk": 100, "capacity": slots}],
        "people": [{"sex": "M", "level": "B", "aor": "HOU", "origin": "F1", **p} for p in people]}


def _plan(inst, spec):
    """Plan rows from ``{person: unit id, "APP" (released to it) or "unplaced"}`` (verified)."""
    rows = []
    for p in inst.people:
        out = spec[p.id]
        fac = next((f.id for f in inst.facilities for u in f.units if u.id == out), "")
        dec = "detain" if fac else "unplaced" if out == "unplaced" else "release"
        rows.append({"person_id": p.id, "decision": dec, "facility_id": fac, "unit_id": fac and out,
                     "atd_program_id": out if dec == "release" else "", "release_day": "0" if dec == "release" else "",
                     "transfer": str(int(bool(fac) and fac != p.origin)), "effective_risk": f"{p.risk:.4f}"})
    check = verify(inst, rows)
    assert check.ok, check.violations
    return rows


THREE = [{"id": "X1", "risk": 50.0}, {"id": "X2", "risk": 40.0}, {"id": "X3", "risk": 30.0}]
# optimal with one seat: X1 stays in F1's bed, X2 takes the seat to F2, X3 (lowest risk) is released
SEAT_PLAN = {"X1": "F1-M", "X2": "F2-M", "X3": "APP"}


@pytest.mark.parametrize("limits,where,flag", [
    (dict(aor_limit=1), "1 more seat out of AOR HOU on day 0", "--transfers HOU=+1"),
    (dict(national=1), "1 more national seat on day 0", "--transfers-total +1")], ids=["aor", "national"])
def test_a_release_for_want_of_a_seat(limits, where, flag):
    inst = parse_instance(_doc(THREE, **limits))
    rows = _plan(inst, SEAT_PLAN)
    assert reasons(inst, rows)[0] == ["", "", "no_seat"]
    text = explain(inst, rows, "X3")
    assert "Reason no_seat" in text and "free in F2" in text
    assert ("the seats out of AOR HOU on day 0 (max_transfers_out_per_day 1, 1 used) were used up" in text
            if "aor_limit" in limits else
            "the national seats of day 0 (policy max_transfers_per_day 1, 1 used)" in text)
    assert f"Keeping them needs at least {where} (bedalloc whatif INSTANCE {flag} shows what that many more seats change; others may get them first)" in text


def test_two_released_for_seats_the_lower_risk_needs_two_more():
    """Four people, one bed, one seat: X3 (30) and X4 (20) released for want of seats; X3
    needs one more seat, X4 two (X3 goes first)."""
    inst = parse_instance(_doc(THREE + [{"id": "X4", "risk": 20.0}], aor_limit=1))
    rows = _plan(inst, {**SEAT_PLAN, "X4": "APP"})
    assert reasons(inst, rows)[0] == ["", "", "no_seat", "no_seat"]
    assert "needs at least 1 more seat out of AOR HOU on day 0 (" in explain(inst, rows, "X3")
    assert ("needs at least 2 more seats out of AOR HOU on day 0: 1 person from F1 of the same bed class released "
            "for want of seats with a higher effective risk comes first (bedalloc whatif INSTANCE --transfers HOU=+2") \
        in explain(inst, rows, "X4")


def test_a_release_for_local_ties():
    """X1 and X3 have ties in HOU: only F1 (their origin) is allowed, its one bed goes to X1
    (50 > 45); F2's free beds are forbidden to X3."""
    people = [{"id": "X1", "risk": 50.0, "local_ties": True}, {"id": "X2", "risk": 40.0},
              {"id": "X3", "risk": 45.0, "local_ties": True}]
    inst = parse_instance(_doc(people))
    rows = _plan(inst, {"X1": "F1-M", "X2": "F2-M", "X3": "APP"})
    assert reasons(inst, rows)[0] == ["", "", "local_ties"]
    text = explain(inst, rows, "X3")
    assert "Reason local_ties" in text and "the ties forbid the free beds in facilities F2" in text
    assert ", local ties;" in text


def test_ties_forbid_beds_held_by_lower_risks():
    """No free bed anywhere (F2 full): X3 (45, tied to HOU) is released while lower risks are
    kept in F2, which the tie forbids: local_ties, not capacity."""
    people = [{"id": "X1", "risk": 50.0, "local_ties": True}, {"id": "X3", "risk": 45.0, "local_ties": True}] + [
        {"id": f"Y{k}", "risk": 10.0 + k, "aor": "SNA", "origin": "F2"} for k in range(3)]
    inst = parse_instance(_doc(people))
    rows = _plan(inst, {"X1": "F1-M", "X3": "APP", "Y0": "F2-M", "Y1": "F2-M", "Y2": "F2-M"})
    assert reasons(inst, rows)[0] == ["", "local_ties", "", "", ""]
    assert "where beds were held by people of lower effective risk" in explain(inst, rows, "X3")


def test_pinned_beds_and_a_pinned_release():
    """F1's bed is pinned to X1 (risk 10), F2 holds women only: X2 (50) is released because of
    the pin; X3's own release is pinned."""
    people = [{"id": "X1", "risk": 10.0, "pin": {"decision": "detain", "unit": "F1-M"}}, {"id": "X2", "risk": 50.0},
              {"id": "X3", "risk": 60.0, "pin": {"decision": "release"}}]
    inst = parse_instance(_doc(people, f2_sex="F"))
    rows = _plan(inst, {"X1": "F1-M", "X2": "APP", "X3": "APP"})
    assert reasons(inst, rows)[0] == ["", "pinned", "pinned"]
    assert "held by pinned people (X1)" in explain(inst, rows, "X2")
    assert "Reason pinned: the outcome was pinned" in explain(inst, rows, "X3")
    assert "Detained in unit F1-M of facility F1: the outcome was pinned" in explain(inst, rows, "X1")


def test_seats_taken_by_a_pinned_transfer():
    """The one seat out of HOU goes to X2, pinned to F2; X3 is released: pinned, not no_seat."""
    people = [THREE[0], {**THREE[1], "pin": {"decision": "detain", "facility": "F2"}}, THREE[2]]
    inst = parse_instance(_doc(people, aor_limit=1))
    rows = _plan(inst, SEAT_PLAN)
    assert reasons(inst, rows)[0] == ["", "", "pinned"]
    assert "without the pinned people's transfers a seat would have been left" in explain(inst, rows, "X3")


MANDATORY = [{"id": f"M{k}", "risk": 50.0 + k, "mandatory": True} for k in range(3)]


@pytest.mark.parametrize("limits,ties,cause,level1", [
    (dict(aor_limit=1), False, "no_seat", 1), (dict(national=1), False, "no_seat", 1),
    ({}, True, "local_ties", 2)], ids=["aor", "national", "ties"])
def test_unplaced_diagnosis_and_certificate(limits, ties, cause, level1):
    """Three mandatory men in F1 (one bed): one seat (or ties) leaves level 1 = 1 (or 2 with
    ties: nobody may leave HOU).  The plan reason, the diagnosis group and the certificate
    agree; the max-flow alone would say 0."""
    people = [{**p, "local_ties": ties} for p in MANDATORY]
    inst = parse_instance(_doc(people, **limits))
    spec = {"M0": "F1-M", "M1": "unplaced" if ties else "F2-M", "M2": "unplaced"}
    rows = _plan(inst, spec)
    why, _ = reasons(inst, rows)
    assert why == ["", "" if not ties else cause, cause]
    assert ("Placing them needs at least 1 more" in explain(inst, rows, "M2")) == bool(limits)
    diag = diagnosis(inst, rows, True, why)
    assert [(g["reason"], g["people"]) for g in diag["groups"]] == [(cause, level1)]
    cert = diagnose(inst)
    assert cert["unplaced_at_least"] == level1 == sum(p["short_by"] for p in cert["short"])
    assert diagnose(inst, level1) == cert  # a known level 1 above the max-flow bound: the relaxation still runs
    if limits:
        g = diag["groups"][0]
        assert g["transport"] == [{"aor": "HOU", "day": 0, "limit": limits.get("aor_limit"), "used": 1},
                                  {"aor": None, "day": 0, "limit": limits.get("national"), "used": 1}]
        assert [p["kind"] for p in cert["short"]] == ["seats"] and not cert["exact"]
        assert cert["short"][0]["limits"][0]["limit"] == 1
    else:
        assert cert["exact"] and cert["short"][0]["units"] == ["F1-M"] and cert["short"][0]["beds_incl_surge"] == 1
        assert [u["tie_allowed"] for u in diag["groups"][0]["compatible_units"]] == [True, False]
        assert diag["groups"][0]["compatible_beds_incl_surge"] == 1


def test_a_mandatory_person_unplaced_by_a_pinned_bed():
    people = [{"id": "X1", "risk": 10.0, "pin": {"decision": "detain", "unit": "F1-M"}},
              {"id": "M1", "risk": 50.0, "mandatory": True}]
    inst = parse_instance(_doc(people, f2_sex="F"))
    rows = _plan(inst, {"X1": "F1-M", "M1": "unplaced"})
    why, _ = reasons(inst, rows)
    assert why == ["", "pinned"]
    assert [(g["reason"], g["people"]) for g in diagnosis(inst, rows, True, why)["groups"]] == [("pinned", 1)]


def test_a_person_at_the_legal_limit_unplaced_by_a_pinned_slot():
    """APP's one slot is pinned to X1; Y reaches the custody limit today, so must be released,
    and has no slot: pinned, not atd_capacity."""
    people = [{"id": "X1", "risk": 10.0, "pin": {"decision": "release", "atd_program": "APP"}},
              {"id": "Y", "risk": 20.0, "max_custody_days": 10, "custody_days": 10}]
    inst = parse_instance(_doc(people, slots=1))
    rows = _plan(inst, {"X1": "APP", "Y": "unplaced"})
    why, _ = reasons(inst, rows)
    assert why == ["pinned", "pinned"]
    assert [(g["reason"], g["people"]) for g in diagnosis(inst, rows, True, why)["groups"]] == [("pinned", 1)]
    assert "every eligible ATD program is full and pinned people hold slots in APP" in explain(inst, rows, "Y")


@pytest.mark.parametrize("limits,ties,level1", [(dict(aor_limit=1), False, 1), (dict(national=1), False, 1),
                                                ({}, True, 2)], ids=["aor", "national", "ties"])
def test_the_certificate_equals_the_proven_level_1_when_seats_or_ties_bind(tmp_path, limits, ties, level1):
    """Needs a model that honours rules 7 and 8 (the lead's work)."""
    from optimizer.engine import solve

    doc = _doc([{**p, "local_ties": ties} for p in MANDATORY], **limits)
    inst = parse_instance(doc)
    res = solve(inst)
    assert res.levels_proven >= 1 and res.objective["unplaced"] == diagnose(inst)["unplaced_at_least"] == level1
    path = tmp_path / "seats.json"
    path.write_text(json.dumps(doc))
    assert main(["diagnose", str(path)]) == 3


def test_whatif_transfers_changes_and_refusals():
    doc = _doc(THREE, aor_limit=1, national=2)
    new = change_capacity(doc, {}, {}, {"HOU": 2}, -1)
    assert (new["aors"][0]["max_transfers_out_per_day"], new["policy"]["max_transfers_per_day"]) == (3, 1)
    assert doc["aors"][0]["max_transfers_out_per_day"] == 1  # the original is untouched
    for transfers, total, needle in [({"SNA": 1}, None, "--transfers SNA: the AOR has no transfer limit"),
                                     ({"XYZ": 1}, None, "--transfers XYZ: no AOR 'XYZ'"),
                                     ({"HOU": -2}, None, "max_transfers_out_per_day would be -1"),
                                     ({}, -3, "--transfers-total: max_transfers_per_day would be -1")]:
        with pytest.raises(ValueError, match=needle):
            change_capacity(doc, {}, {}, transfers, total)
    with pytest.raises(ValueError, match="the instance has no transfer limit"):
        change_capacity(_doc(THREE, aor_limit=1), {}, {}, {}, 1)


@pytest.mark.parametrize("argv,needle", [(["--transfers", "SNA=+1"], "no transfer limit"),
                                         (["--transfers", "NOPE=+1"], "no AOR 'NOPE'"),
                                         (["--transfers", "HOU=x"], "expected NAME=+N"),
                                         (["--transfers-total", "+1"], "no transfer limit")])
def test_cli_whatif_transfers_refusals_exit_2_with_one_line(tmp_path, capsys, argv, needle):
    path = tmp_path / "seats.json"
    path.write_text(json.dumps(_doc(THREE, aor_limit=1)))
    assert main(["whatif", str(path), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_cli_whatif_one_more_seat_keeps_x3(tmp_path, capsys):
    """Needs a model that honours rule 7: one more seat out of HOU moves X3 too (2 transfers,
    nobody released)."""
    from optimizer.whatif import whatif

    res = whatif(_doc(THREE, aor_limit=1), {}, {}, transfers={"HOU": 1})
    assert (res["base"]["transfers"], res["base"]["released"]) == (1, 1)
    assert (res["whatif"]["transfers"], res["whatif"]["released"], res["whatif"]["released_risk"]) == (2, 0, 0.0)
    four = _doc(THREE + [{"id": "X4", "risk": 20.0}], aor_limit=1)  # explain: X4 needs at least 2 more seats
    assert [whatif(four, {}, {}, transfers={"HOU": n})["whatif"]["released"] for n in (1, 2)] == [1, 0]
    path = tmp_path / "seats.json"
    path.write_text(json.dumps(_doc(THREE, aor_limit=1)))
    assert main(["whatif", str(path), "--transfers", "HOU=+1"]) == 0
    out = capsys.readouterr().out
    table = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines() if line.startswith("│")]
    assert "HOU +1 transfer a day" in out and ["transfers", "1", "2", "+1"] in table


def test_random_plans_under_limits_and_ties_always_get_a_reason(tmp_path):
    """Random small instances (one-day and multi-day) with transport limits and ties, on
    whatever plan the solver gives: every release and unplaced person gets one reason of
    REASONS and explain answers for each; on one day, the certificate's parts add up to its
    bound, which limits and ties only raise."""
    import random

    from optimizer.reasons import REASONS
    from optimizer.engine import solve
    from randinst import multiday_instance, random_instance

    for seed in range(20):
        rng = random.Random(seed)
        doc = random_instance(seed) if seed % 3 else multiday_instance(seed)
        for a in doc["aors"]:
            a["max_transfers_out_per_day"] = rng.choice([None, 0, 1])
        doc["policy"]["max_transfers_per_day"] = rng.choice([None, 1, 2])
        for p in doc["people"]:
            p["local_ties"] = rng.random() < 0.4
        inst = parse_instance(doc)
        rows = solve(inst).rows
        why, _ = reasons(inst, rows)
        for p, r, w in zip(inst.people, rows, why):
            assert (w in REASONS) == (r["decision"] in ("release", "unplaced")), (seed, r, w)
            assert explain(inst, rows, p.id)
        if inst.horizon_days == 1:
            cert = diagnose(inst)
            assert sum(piece["short_by"] for piece in cert["short"]) == cert["unplaced_at_least"], seed
            assert diagnose(parse_instance(random_instance(seed)))["unplaced_at_least"] <= cert["unplaced_at_least"]


def _fewest_unplaced(inst) -> int:
    """Brute force: the fewest unplaced people of a one-day instance of single people under
    rules 1-3, 5, 7 and 8 (depth-first over each person's outcomes, capacities counted down)."""
    from optimizer.model import network_arrays, people_arrays, programs_of, single_units

    P, N = people_arrays(inst), network_arrays(inst)
    fac_aor = [[a.code for a in inst.aors].index(f.aor) for f in inst.facilities]
    todo = [i for i in range(len(P.sex)) if not P.removed[i]]
    units = single_units(P, N, np.array(todo, np.int64)) & ~P.at_limit[todo][:, None] if todo else None
    progs = programs_of(P, N, np.array(todo, np.int64)) if todo else None
    room = {("u", u): int(N.unit_beds[u] + N.unit_surge[u]) for u in range(len(N.unit_fac))}
    room |= {("q", q): int(c) for q, c in enumerate(N.prog_capacity) if c >= 0}
    room |= {("s", k): v for k, v in enumerate([a.max_transfers_out_per_day for a in inst.aors]) if v is not None}
    if inst.policy.max_transfers_per_day is not None:
        room[("s", "all")] = inst.policy.max_transfers_per_day
    options = []
    for r, i in enumerate(todo):
        opts = []
        for u in np.flatnonzero(units[r]):
            f = int(N.unit_fac[u])
            if P.ties[i] and f != P.origin[i] and fac_aor[f] != P.aor[i]:
                continue
            move = P.origin[i] >= 0 and f != P.origin[i]
            opts.append([("u", int(u))] + ([("s", fac_aor[P.origin[i]]), ("s", "all")] if move else []))
        if not P.mandatory[i]:
            opts += [[("q", int(q))] for q in np.flatnonzero(progs[r])]
        options.append(opts)
    best = [len(todo)]

    def go(k, unplaced):
        if unplaced >= best[0]:
            return
        if k == len(todo):
            best[0] = unplaced
            return
        for opt in options[k]:
            if all(room.get(x, 1) > 0 for x in opt):
                for x in opt:
                    if x in room:
                        room[x] -= 1
                go(k + 1, unplaced)
                for x in opt:
                    if x in room:
                        room[x] += 1
        go(k + 1, unplaced + 1)

    go(0, 0)
    return best[0]


def test_the_certificate_is_a_lower_bound_under_limits_and_ties_by_brute_force():
    """Random one-day instances of single people with transport limits and ties: the
    certificate never exceeds the brute-force level 1 and equals it on most, also where the
    limits raise it above the max-flow bound."""
    import random

    from randinst import random_instance

    equal = binding = 0
    for seed in range(60):
        rng = random.Random(seed)
        doc = random_instance(seed, max_people=6)
        doc["people"] = [p for p in doc["people"] if not p.get("family_id")]
        for a in doc["aors"]:
            a["max_transfers_out_per_day"] = rng.choice([None, 0, 1])
        doc["policy"]["max_transfers_per_day"] = rng.choice([None, 0, 1])
        for p in doc["people"]:
            p["local_ties"] = rng.random() < 0.4
        inst = parse_instance(doc)
        ref, cert = _fewest_unplaced(inst), diagnose(inst)
        assert cert["unplaced_at_least"] <= ref, seed
        equal += cert["unplaced_at_least"] == ref
        binding += any(piece["kind"] == "seats" for piece in cert["short"])  # above the max-flow bound
    assert equal >= 57 and binding >= 6, (equal, binding)
