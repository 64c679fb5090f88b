"""Tests of the instance generator (optimizer/generate.py) and the committed national instance.

Promised per facility (instances/README.md, "Generator"): the synthetic population size is
round-half-up(ADP x scale) and these counts equal the largest-remainder rounding of the facility
row's ADP shares exactly (no tolerance): sex, sex x criminality, ICE threat level, classification
level (minors, who have level null, count as A) and mandatory detention.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
from pathlib import Path

import numpy as np
import pytest

from optimizer import generate as gen
from optimizer.errors import InputError
from optimizer.instance import read_instance

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "instances" / "ice-fy2026.json"
REGION = ["SNA", "HLG"]  # includes the family facility (Dilley) and a staging-free border region
CLI = {"transport_limits": True, "local_ties": True}  # `bedalloc generate`'s defaults (the committed files)


@pytest.fixture(scope="module")
def rows():
    return gen._read_csv(gen.FISCAL_YEARS[2026]["facilities"])


@pytest.fixture(scope="module")
def region():
    return gen.national_instance(seed=0, aors=REGION, **CLI)


@pytest.fixture(scope="module")
def national():
    return gen.national_instance(seed=0, **CLI)


@pytest.fixture(scope="module")
def national_text(national):
    return gen.to_json_text(national)


def _write(tmp_path, inst, name="inst.json"):
    p = tmp_path / name
    p.write_text(gen.to_json_text(inst), encoding="utf-8")
    return p


def _by_name(rows):
    ids = gen._facility_ids(rows)
    return {ids[i]: r for i, r in enumerate(rows)}


# --- reproducibility ----------------------------------------------------------------------

def test_same_seed_same_bytes_different_seed_differs():
    a = gen.to_json_text(gen.national_instance(seed=7, aors=["BOS", "BUF"], **CLI))
    b = gen.to_json_text(gen.national_instance(seed=7, aors=["BOS", "BUF"], **CLI))
    c = gen.to_json_text(gen.national_instance(seed=8, aors=["BOS", "BUF"], **CLI))
    assert a == b
    assert a != c


def test_committed_14_day_file_is_seed0_output():
    path = ROOT / "instances" / "ice-fy2026-14d.json"
    expected = gen.to_json_text(gen.national_instance(seed=0, horizon_days=14, **CLI))
    assert path.read_text(encoding="utf-8") == expected, (
        "instances/ice-fy2026-14d.json differs from the generator's output; regenerate it with "
        "`bedalloc generate --horizon-days 14 --out instances/ice-fy2026-14d.json`")


def test_horizon_adds_arrivals_and_removals_to_the_same_population(tmp_path, region):
    """The multi-day instance keeps the one-day population (attributes unchanged but scheduled
    removals and which families are mandatory), adds Poisson arrivals at the book-in rate and validates (no MODEL.md §2
    contradiction for mandatory families near the Flores limit)."""
    multi = gen.national_instance(seed=0, aors=REGION, horizon_days=14, **CLI)
    read_instance(_write(tmp_path, multi))
    base = {p["id"]: p for p in region["people"]}
    now = [p for p in multi["people"] if p["id"] in base]
    arrivals = [p for p in multi["people"] if p["id"] not in base]
    assert len(now) == len(base)
    for p in now:  # mandatory families are only those that stay below the Flores limit all plan long
        skip = {"removal_day"} | ({"mandatory"} if "family_id" in p else set())
        q = {k: v for k, v in p.items() if k not in skip}
        assert q == {k: v for k, v in base[p["id"]].items() if k not in skip}
    share = sum(gen._f(r, "adp_total") for r in gen._read_csv(gen.FISCAL_YEARS[2026]["facilities"])
                if r["aor"] in REGION) / sum(gen._f(r, "adp_total") for r in gen._read_csv(
                    gen.FISCAL_YEARS[2026]["facilities"]))
    mean = 32531 / 31 * share * 13  # days 1..13
    assert abs(len(arrivals) - mean) < 4 * mean ** 0.5
    assert all(1 <= p["arrival_day"] <= 13 and "origin" not in p for p in arrivals)
    assert all(p["removal_day"] > p["arrival_day"] for p in arrivals if "removal_day" in p)
    assert 0.1 * len(arrivals) < sum(bool(p.get("local_ties")) for p in arrivals) < 0.3 * len(arrivals)
    assert multi["policy"] == region["policy"] and multi["aors"] == region["aors"]  # arrivals hold no seat
    removed = sum("removal_day" in p and p["removal_day"] > 0 for p in now)
    assert 0.15 * len(now) < removed < 0.35 * len(now)  # 1 - exp(-13 / 50.2) = 23 %


def test_committed_file_is_seed0_output(national_text):
    assert COMMITTED.exists(), "instances/ice-fy2026.json is missing"
    assert COMMITTED.read_text(encoding="utf-8") == national_text, (
        "instances/ice-fy2026.json differs from the generator's output; regenerate it with "
        "`bedalloc generate --out instances/ice-fy2026.json`")


def test_region_is_a_slice_of_the_national_instance(national, region):
    ids = {f["id"] for f in region["facilities"]}
    assert {f["aor"] for f in region["facilities"]} == set(REGION)
    assert [f for f in national["facilities"] if f["id"] in ids] == region["facilities"]
    assert [p for p in national["people"] if p["origin"] in ids] == region["people"]
    assert [a["code"] for a in region["aors"]] == sorted(REGION)
    assert [a for a in national["aors"] if a["code"] in REGION] == region["aors"]  # same AOR limits
    progs = {p["id"] for p in region["atd_programs"]}
    assert progs == {f"{a}-{t}" for a in REGION for t in ("ankle_gps", "wrist_gps", "app", "telephonic")} | {
        "NAT-case_management"}


# --- validity -------------------------------------------------------------------------------

def test_region_valid(tmp_path, region):
    inst = read_instance(_write(tmp_path, region))
    assert inst.name == "ice-fy2026-hlg-sna"
    assert len(inst.people) == len(region["people"])
    assert 5_000 <= len(inst.people) <= 10_000


def test_national_valid_and_in_promised_ranges(tmp_path, national, national_text):
    p = tmp_path / "n.json"
    p.write_text(national_text, encoding="utf-8")
    inst = read_instance(p)  # raises InputError on any invalid or contradictory record
    s = gen.instance_stats(national)
    assert s["facilities"] == 203
    assert 65_000 <= s["people"] <= 67_500  # FY2026 ADP 66,162 (DOMAIN §1.2)
    assert 62_000 <= s["beds"] <= 64_000    # ~62,913 contractual beds (DOMAIN §1.1)
    assert s["beds"] < s["people"]          # demand above supply
    assert 400 <= s["units"] <= 800
    # surge beds: every facility's people of a sex and level group fit its units of that group
    held = collections.Counter((p.origin, p.sex, p.level in ("C", "D")) for p in inst.people
                               if p.origin and p.family_id is None)
    room = collections.Counter()
    for f in inst.facilities:
        for u in f.units:
            if not u.family:
                room[f.id, u.sex, "C" in u.levels] += u.beds + u.surge_beds
    assert all(room[k] >= n for k, n in held.items())
    assert s["beds"] < s["people"] < s["beds"] + s["surge_beds"]
    assert s["at_limit"] > 0 and s["families"] > 0 and s["removed_today"] > 0
    assert len(inst.atd_programs) == 4 * 24 + 1
    assert len(national_text.encode()) < 9_000_000


def test_small_scale_and_single_aor_valid(tmp_path):
    for kw in ({"scale": 0.1}, {"aors": ["SEA"], "scale": 2.5}):
        inst = gen.national_instance(seed=3, **kw)
        read_instance(_write(tmp_path, inst))


# --- marginals ------------------------------------------------------------------------------

def _expected(row, n, cols):
    return [int(x) for x in gen._lr_round([gen._f(row, c) for c in cols], n)]


def test_attribute_marginals_exact_for_every_facility(rows):
    """sex x criminality, threat and level of every FY2026 row (drawn directly, all 203 rows)."""
    for i, row in enumerate(rows):
        n = gen._round_half_up(gen._f(row, "adp_total"))
        rng = np.random.default_rng(i)
        minor = np.zeros(n, dtype=bool)
        if row["type_detailed"] == "FAMILY":
            minor[: n // 2] = True
        female, crim, pending, threat, level, risk, _ = gen._draw_attributes(rng, row, n, minor)
        got = [int(np.sum(~female & crim)), int(np.sum(~female & ~crim)),
               int(np.sum(female & crim)), int(np.sum(female & ~crim))]
        assert got == _expected(row, n, ["adp_male_crim", "adp_male_noncrim", "adp_female_crim",
                                         "adp_female_noncrim"]), row["name"]
        assert [int(np.sum(threat == k)) for k in (1, 2, 3, 4)] == _expected(
            row, n, ["adp_threat_1", "adp_threat_2", "adp_threat_3", "adp_no_threat"]), row["name"]
        assert [int(np.sum(level == k)) for k in (0, 1, 2, 3)] == _expected(
            row, n, ["adp_level_a", "adp_level_b", "adp_level_c", "adp_level_d"]), row["name"]
        assert not np.any(minor & (crim | pending | (threat != 4) | (level != 0)))
        assert np.all((risk >= 0) & (risk <= 100))
        assert np.all(risk[threat == 1] >= 70) and np.all(risk[(threat == 4) & ~crim & ~pending] <= 25)


def test_people_marginals_exact_per_facility(rows, region):
    fac_rows = _by_name(rows)
    people = collections.defaultdict(list)
    for p in region["people"]:
        people[p["origin"]].append(p)
    for f in region["facilities"]:
        row = fac_rows[f["id"]]
        assert f["name"] == row["name"].strip() and f["aor"] == row["aor"]
        ps = people[f["id"]]
        n = gen._round_half_up(gen._f(row, "adp_total"))
        assert len(ps) == n, f["id"]
        sex = _expected(row, n, ["adp_male_crim", "adp_male_noncrim", "adp_female_crim", "adp_female_noncrim"])
        assert sum(p["sex"] == "M" for p in ps) == sex[0] + sex[1], f["id"]
        lv = collections.Counter("A" if p["level"] is None else p["level"] for p in ps)
        assert [lv[x] for x in "ABCD"] == _expected(
            row, n, ["adp_level_a", "adp_level_b", "adp_level_c", "adp_level_d"]), f["id"]
        mand = gen._lr_round([gen._f(row, "adp_mandatory"),
                              gen._f(row, "adp_total") - gen._f(row, "adp_mandatory")], n)[0]
        assert sum(bool(p.get("mandatory")) for p in ps) == mand, f["id"]
        assert all(p["aor"] == f["aor"] for p in ps)


# --- rules ----------------------------------------------------------------------------------

def test_facility_rules(rows, national):
    fac_rows = _by_name(rows)
    unit_ids = set()
    held = collections.Counter((p["origin"], p["sex"], p.get("level") in ("C", "D")) for p in national["people"]
                               if p.get("origin") and not p.get("family_id"))
    for f in national["facilities"]:
        row = fac_rows[f["id"]]
        n = gen._round_half_up(gen._f(row, "adp_total"))
        gm = gen._round_half_up(gen._f(row, "guaranteed_minimum"))
        beds = sum(u["beds"] for u in f["units"])
        assert beds == max(gm, gen._round_half_up(gen.BED_FACTOR * gen._f(row, "adp_total")), 1 if n else 0)
        assert f.get("guaranteed_minimum", 0) == gm
        assert (f.get("gm_rate", 0) > 0) == (gm > 0)
        assert (f.get("max_stay_days") == 3) == (f["type"] == "STAGING")
        for u in f["units"]:
            assert u["beds"] + u.get("surge_beds", 0) > 0
            assert u["id"] not in unit_ids and u["id"].startswith(f["id"] + "-")
            unit_ids.add(u["id"])
            assert not ("A" in u["levels"] and "D" in u["levels"]) or u.get("family")
            assert (u["sex"] == "any") == bool(u.get("family")) == (f["type"] == "FAMILY")
            if u.get("family") or u.get("medical"):
                assert not u.get("surge_beds")
                continue
            # surge: 5 % at dedicated sites, at least what the group's people need above its beds
            group = sum(v["beds"] for v in f["units"] if (v["sex"], v["levels"]) == (u["sex"], u["levels"]))
            share = math.floor(gen.SURGE_SHARE * u["beds"]) if f["type"] in gen.SURGE_TYPES else 0
            assert u.get("surge_beds", 0) == max(share, held[f["id"], u["sex"], "C" in u["levels"]] - group)
        if f["type"] in {"FAMILY", "STAGING"}:
            assert not any(u.get("medical") for u in f["units"])


def test_people_rules(national):
    people = national["people"]
    progs = national["atd_programs"]
    top = max(p["max_risk"] for p in progs)
    med_units = {(f["id"], u["sex"], tuple(u["levels"])) for f in national["facilities"]
                 for u in f["units"] if u.get("medical")}
    fams = collections.defaultdict(list)
    for p in people:
        assert p["id"].startswith(p["origin"] + "-")
        lim = p.get("max_custody_days")
        if lim is not None and not p.get("minor"):
            assert lim == 180 and not p.get("mandatory") and p["risk"] <= top
        if p.get("needs_medical"):
            grp = ("A", "B") if p["level"] in "AB" else ("C", "D")
            assert (p["origin"], p["sex"], grp) in med_units
            assert "medical" in p.get("humanitarian", [])
        if "pregnant" in p.get("humanitarian", []):
            assert p["sex"] == "F" and not p.get("minor")
        if p.get("family_id"):
            fams[p["family_id"]].append(p)
    assert fams
    at_limit = 0
    for members in fams.values():
        adults = [m for m in members if not m.get("minor")]
        minors = [m for m in members if m.get("minor")]
        assert 1 <= len(adults) <= 2 and len(members) >= 2
        assert len({m.get("custody_days", 0) for m in members}) == 1
        assert all(m["max_custody_days"] == 20 and m["level"] is None for m in minors)
        days = members[0].get("custody_days", 0)
        if any(m.get("mandatory") for m in members):
            assert days <= 17  # never reaches the Flores limit while held (MODEL.md §2)
        at_limit += bool(minors) and days >= 20
        if days >= 20:
            assert all(a["risk"] <= top for a in adults)
    assert at_limit > 0


def test_mandatory_fits_compatible_beds_and_at_limit_fits_slots(national):
    """Necessary conditions for unplaced = 0: the people who can never be released (mandatory,
    or risk above every program) fit their compatible beds (surge included) per (sex, level
    group) and in medical beds; the people at a legal limit fit their AOR's eligible ATD slots."""
    top = max(p["max_risk"] for p in national["atd_programs"])
    need = collections.Counter()
    need_med = collections.Counter()
    at_limit = collections.Counter()
    for p in national["people"]:
        if p.get("removal_day") == 0 or p.get("family_id"):
            continue
        grp = "AB" if p["level"] in "AB" else "CD"
        if p.get("mandatory") or p["risk"] > top:
            need[(p["sex"], grp)] += 1
            if p.get("needs_medical"):
                need_med[(p["sex"], grp)] += 1
        if p.get("max_custody_days") is not None and p.get("custody_days", 0) >= p["max_custody_days"]:
            at_limit[p["aor"]] += 1
    beds = collections.Counter()
    med = collections.Counter()
    for f in national["facilities"]:
        for u in f["units"]:
            if u.get("family"):
                continue
            key = (u["sex"], "".join(u["levels"]))
            beds[key] += u["beds"] + u.get("surge_beds", 0)
            if u.get("medical"):
                med[key] += u["beds"]
    for key, k in need.items():
        assert k <= beds[key], key
    for key, k in need_med.items():
        assert k <= med[key], key
    slots = collections.Counter(p["aor"] for p in national["atd_programs"] for _ in range(p["capacity"])
                                if p.get("aor"))
    for aor, k in at_limit.items():
        assert k <= slots[aor], aor


# --- transport limits and local ties (contract 1.1) ----------------------------------------

def _held(inst):
    """People held on day 0 per AOR of their origin facility (the base of the transport limits)."""
    aor_of = {f["id"]: f["aor"] for f in inst["facilities"]}
    return collections.Counter(aor_of[p["origin"]] for p in inst["people"] if p.get("origin"))


def test_national_transport_limits_follow_the_fy2007_rate(national):
    """ceil(261,941 / (365 x 30,000) x 66,157) = ceil(1,582.55) = 1,583 seats a day nationally;
    per AOR max(5, ceil(1.25 x that rate x people held there)), integer arithmetic."""
    held = _held(national)
    assert sum(held.values()) == 66_157
    assert national["policy"]["max_transfers_per_day"] == 1583 == -(-261_941 * 66_157 // 10_950_000)
    assert national["policy"] == {"max_transfers_per_day": 1583}
    limits = {a["code"]: a["max_transfers_out_per_day"] for a in national["aors"]}
    stay = {f["id"]: f["max_stay_days"] for f in national["facilities"] if f.get("max_stay_days")}
    aor_of = {f["id"]: f["aor"] for f in national["facilities"]}
    must_move = collections.Counter(aor_of[p["origin"]] for p in national["people"] if p.get("origin") in stay
                                    and (p.get("removal_day") is None or p["removal_day"] > stay[p["origin"]]))
    assert limits == {a: must_move[a] + max(5, -(-5 * 261_941 * h // (4 * 10_950_000))) for a, h in held.items()}
    assert (limits["NOL"], limits["NYC"], sum(must_move.values())) == (442, 9, 243)
    assert national["x_generator"]["transfers_per_day"] == 1583


def test_transfers_per_day_replaces_the_national_figure():
    inst = gen.national_instance(seed=1, aors=["BOS", "NYC"], scale=0.2, transfers_per_day=40, **CLI)
    held = _held(inst)  # people held at scale 0.2
    assert (held["BOS"], held["NYC"]) == (188, 59)
    assert inst["policy"] == {"max_transfers_per_day": 40}
    # BOS: ceil(1.25 x 40 x 188 / 247) = ceil(38.06) = 39; NYC: ceil(1.25 x 40 x 59 / 247) = ceil(11.94) = 12
    assert [a["max_transfers_out_per_day"] for a in inst["aors"]] == [39, 12]
    zero = gen.national_instance(seed=1, aors=["NYC"], scale=0.2, transfers_per_day=0, **CLI)
    assert zero["policy"] == {"max_transfers_per_day": 0} and zero["aors"][0]["max_transfers_out_per_day"] == 5


def test_local_ties_share_families_and_aor(national):
    """About 20 % of people (one Bernoulli draw per family or single person: 66,157 people, so
    +-0.01 is more than 6 standard deviations); family members share the flag; every generated
    person is held in a facility of their own AOR, so a tie keeps them in that AOR."""
    people = national["people"]
    tied = sum(bool(p.get("local_ties")) for p in people)
    assert tied == 13_311 and abs(tied / len(people) - gen.LOCAL_TIES_SHARE) < 0.01
    fams = collections.defaultdict(set)
    for p in people:
        if p.get("family_id"):
            fams[p["family_id"]].add(bool(p.get("local_ties")))
    assert all(len(v) == 1 for v in fams.values()) and 0 < sum(v == {True} for v in fams.values()) < len(fams)
    aor_of = {f["id"]: f["aor"] for f in national["facilities"]}
    assert all(aor_of[p["origin"]] == p["aor"] for p in people)
    assert national["x_generator"]["local_ties_share"] == 0.2


def _without_contract_1_1(inst):
    """The instance with every field the two options add removed."""
    out = json.loads(json.dumps(inst))
    out.pop("policy")
    for key in ("transfers_per_day", "local_ties_share"):
        out["x_generator"].pop(key)
    for a in out["aors"]:
        a.pop("max_transfers_out_per_day")
    for p in out["people"]:
        p.pop("local_ties", None)
    return out


@pytest.mark.parametrize("days", [1, 3])
def test_options_off_give_the_same_instance_without_the_new_fields(days):
    """Limits and ties draw from streams of their own: turned off, the file is byte for byte the
    one with them, minus their fields (the committed files were checked the same way against their
    contract-1.0 versions)."""
    kw = {"seed": 4, "aors": ["SNA", "HLG"], "scale": 0.3, "horizon_days": days}
    on = gen.national_instance(**kw, **CLI)
    assert sum(bool(p.get("local_ties")) for p in on["people"]) > 0
    assert gen.to_json_text(gen.national_instance(**kw)) == gen.to_json_text(_without_contract_1_1(on))
    only_ties = gen.national_instance(**kw, local_ties=True)
    assert "policy" not in only_ties and [p.get("local_ties") for p in only_ties["people"]] == [
        p.get("local_ties") for p in on["people"]]


def test_cli_options_turn_limits_and_ties_off(tmp_path):
    on, off = tmp_path / "on.json", tmp_path / "off.json"
    assert gen.run(_args(out=on, aor="NYC", scale=0.5)) == 0
    p = argparse.ArgumentParser()
    gen.configure_parser(p)
    assert gen.run(p.parse_args(["--out", str(off), "--aor", "NYC", "--scale", "0.5", "--no-transport-limits",
                                 "--no-local-ties"])) == 0
    on_doc = json.loads(on.read_text(encoding="utf-8"))
    assert on_doc["policy"]["max_transfers_per_day"] == 4  # ceil(0.0239 x 147 people)
    assert off.read_text(encoding="utf-8") == gen.to_json_text(_without_contract_1_1(on_doc))
    read_instance(on)


# --- command line ---------------------------------------------------------------------------

def _args(**kw):
    p = argparse.ArgumentParser()
    gen.configure_parser(p)
    argv = []
    for k, v in kw.items():
        for item in (v if isinstance(v, list) else [v]):
            argv += [f"--{k.replace('_', '-')}", str(item)]
    return p.parse_args(argv)


def test_run_writes_atomically(tmp_path, capsys):
    out = tmp_path / "a.json"
    assert gen.run(_args(out=out, aor=["bos", "BUF,SPM"], seed=2)) == 0
    text = out.read_text(encoding="utf-8")
    assert text == gen.to_json_text(gen.national_instance(seed=2, aors=["BOS", "BUF", "SPM"], **CLI))
    assert json.loads(text)["name"] == "ice-fy2026-bos-buf-spm"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.json"]
    read_instance(out)


@pytest.mark.parametrize("kw, words", [
    ({"aor": "XYZ"}, "unknown AOR code XYZ"),
    ({"scale": 0}, "--scale"),
    ({"scale": -1}, "--scale"),
    ({"scale": "nan"}, "--scale"),
    ({"seed": -1}, "--seed"),
    ({"fiscal_year": 2019}, "--fiscal-year"),
    ({"horizon_days": 0}, "--horizon-days"),
    ({"horizon_days": 91}, "--horizon-days"),
    ({"transfers_per_day": -1}, "--transfers-per-day must be a whole number from 0 to 10,000,000"),
    ({"transfers_per_day": 10_000_001}, "--transfers-per-day must be a whole number from 0 to 10,000,000"),
])
def test_bad_arguments_exit_2_and_write_nothing(tmp_path, capsys, kw, words):
    out = tmp_path / "b.json"
    assert gen.run(_args(out=out, **kw)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
    assert list(tmp_path.iterdir()) == []


def test_transfers_per_day_without_limits_exit_2(tmp_path, capsys):
    p = argparse.ArgumentParser()
    gen.configure_parser(p)
    args = p.parse_args(["--out", str(tmp_path / "d.json"), "--aor", "NYC", "--no-transport-limits",
                         "--transfers-per-day", "5"])
    assert gen.run(args) == 2
    assert capsys.readouterr().err.strip() == (
        "bedalloc generate: error: --transfers-per-day cannot be combined with --no-transport-limits")
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_exit_2(tmp_path, capsys):
    assert gen.run(_args(out=tmp_path / "nope" / "c.json", aor="BOS")) == 2
    assert "does not exist" in capsys.readouterr().err


def test_module_import_is_light():
    import subprocess
    import sys

    code = ("import sys, optimizer.generate; "
            "print(','.join(m for m in ('numpy', 'zipcodes', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_invalid_instance_reader_still_strict(tmp_path, region):
    """The generator's output passes the strict reader only because it is valid: a corrupted
    copy (a mandatory minor at the Flores limit) is refused as contradictory."""
    inst = json.loads(json.dumps(region))
    minor = next(p for p in inst["people"] if p.get("minor"))
    minor["mandatory"] = True
    minor["custody_days"] = 25
    with pytest.raises(InputError) as e:
        read_instance(_write(tmp_path, inst))
    assert any("contradictory" in line for line in e.value.lines)
