"""Random small instances (MODEL.md §2) for the brute-force comparison: one-day
(:func:`random_instance`) and multi-day (:func:`multiday_instance`).

``random_instance(seed)`` is deterministic in ``seed`` and always returns an instance dict
that ``read_instance`` accepts.  Capacities are drawn tight on purpose so that releases, surge
beds and unplaced people occur; the legal-limit contradiction of MODEL.md §2 is avoided by
never putting a mandatory person, or a member of a family with a mandatory member, at or
beyond the limit.  The contract 1.1 fields (transport limits, local ties, pins) are added on
request only (:func:`add_new_rules`), from a random stream of their own, so that an instance
without them is the same as before they existed.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from bruteforce import random_plan
from optimizer.instance import parse_instance, read_instance

# a few hub points (lat, lon) in the continental US
_HUBS = [
    ("SNA", 29.4241, -98.4936),
    ("HOU", 29.7604, -95.3698),
    ("ELP", 31.7619, -106.4850),
    ("PHO", 33.4484, -112.0740),
    ("ATL", 33.7490, -84.3880),
    ("NOL", 29.9511, -90.0715),
]
_SPOTS = [
    (29.8850, -97.9380), (30.5230, -92.4210), (31.3320, -92.4650), (32.7767, -96.7970),
    (31.9686, -99.9018), (32.3668, -86.3000), (33.9320, -116.9550), (32.6790, -115.4990),
    (30.2672, -97.7431), (35.0844, -106.6504), (31.5493, -97.1467), (32.2988, -90.1848),
]
_FAC_TYPES = ["SPC", "CDF", "IGSA", "DIGSA", "USMS_IGA", "STAGING", "HOLD", "FAMILY"]
_TECH = ["ankle_gps", "wrist_gps", "app", "telephonic", "case_management", "none"]


def random_instance(seed: int, max_people: int = 8, **new_rules) -> dict:
    """A valid one-day instance dict with 1–3 facilities, 1–4 units, 1–3 ATD programs,
    1–2 AORs and 1..``max_people`` people, drawn from ``random.Random(seed)``; ``new_rules``
    (``limits``, ``ties``, ``pins``) are passed to :func:`add_new_rules`."""
    rng = random.Random(seed)
    r = rng.random

    # ---- policy
    policy: dict = {}
    if r() < 0.4:
        policy["cost_days"] = rng.choice([1, 7, 30, 90])
    if r() < 0.3:
        policy["transfer_fixed_usd"] = float(rng.choice([0, 100, 250, 400]))
    if r() < 0.3:
        policy["transfer_usd_per_km"] = rng.choice([0.0, 0.25, 0.5, 1.0])
    custom_factor = None
    if r() < 0.3:
        hf = {}
        if r() < 0.5:
            hf["pregnant"] = rng.choice([0.2, 0.3, 0.5])
        custom_factor = "veteran"
        hf["veteran"] = rng.choice([0.7, 0.8, 0.9])
        policy["humanitarian_factors"] = hf
    factor_names = ["pregnant", "medical", "mental_health", "caretaker", "elderly", "disabled"]
    if custom_factor:
        factor_names.append(custom_factor)

    # ---- AORs
    hubs = rng.sample(_HUBS, rng.randint(1, 2))
    aors = [{"code": c, "name": f"{c} field office", "lat": lat, "lon": lon} for c, lat, lon in hubs]
    aor_codes = [a["code"] for a in aors]

    # ---- facilities and units
    n_fac = rng.randint(1, 3)
    n_units = rng.randint(n_fac, 4)
    with_families = r() < 0.45  # then one unit is surely a family unit and families are likely
    family_unit = rng.randrange(n_units) if with_families else -1
    units_per_fac = [1] * n_fac
    for _ in range(n_units - n_fac):
        units_per_fac[rng.randrange(n_fac)] += 1
    spots = rng.sample(_SPOTS, n_fac)
    facilities = []
    uid = 0
    plain = 0  # non-family units so far
    for fi in range(n_fac):
        fac = {
            "id": f"F{fi + 1}",
            "name": f"Facility {fi + 1}",
            "aor": rng.choice(aor_codes),
            "state": "TX",
            "type": rng.choice(_FAC_TYPES),
            "lat": spots[fi][0],
            "lon": spots[fi][1],
            "per_diem": float(rng.choice([60, 85, 110, 140, 175]) + rng.choice([0, 0.25, 0.5])),
        }
        if r() < 0.35:
            fac["guaranteed_minimum"] = rng.randint(1, 3)
            fac["gm_rate"] = float(rng.choice([50, 70, 95]))
        if fi > 0 and r() < 0.25:
            fac["max_stay_days"] = rng.choice([1, 3])
        units = []
        for _ in range(units_per_fac[fi]):
            uid += 1
            family = uid - 1 == family_unit or r() < 0.1
            if family:
                sex = "any" if r() < 0.8 else rng.choice(["M", "F"])
            else:
                plain += 1
                sex = "M" if plain % 2 else "F"  # alternate, so both sexes usually have a unit
            main = not family and plain == 1  # the first plain unit: open to most men, often surge
            levels = ["A", "B", "C", "D"] if main or r() < 0.5 else sorted(rng.sample(["A", "B", "C", "D"], rng.randint(1, 3)))
            beds = rng.choice([0, 1, 1, 2] if main else [0, 1, 1, 2, 2, 3])
            unit = {"id": f"U{uid}", "sex": sex, "levels": levels, "beds": beds}
            if r() < (0.7 if main else 0.4):
                unit["surge_beds"] = rng.randint(1, 2)
            if r() < 0.35:
                unit["medical"] = True
            if family:
                unit["family"] = True
            units.append(unit)
        fac["units"] = units
        facilities.append(fac)
    fac_ids = [f["id"] for f in facilities]

    # ---- ATD programs
    programs = []
    for gi in range(rng.randint(1, 3)):
        g = {
            "id": f"G{gi + 1}",
            "technology": rng.choice(_TECH),
            "per_diem": float(rng.choice([3, 4.5, 6, 8, 12])),
            "max_risk": float(rng.choice([40, 60, 80, 100, 100])),
        }
        broad = gi == 0 and r() < 0.5  # sometimes a program open to (almost) everyone
        if broad:
            g["max_risk"] = 100.0
        if r() < 0.5:
            g["capacity"] = rng.choice([0, 1, 1, 2, 3]) if not broad else rng.choice([1, 2, 3, 4])
        if not broad and r() < 0.3:
            g["aor"] = rng.choice(aor_codes)
        programs.append(g)

    # ---- people
    n_people = rng.randint(1, max_people) if r() < 0.2 else rng.randint(max(1, max_people - 4), max_people)
    people: list[dict] = []
    pid = 0
    fam_no = 0

    def new_person(minor: bool, fam: str | None) -> dict:
        nonlocal pid
        pid += 1
        p = {
            "id": f"P{pid:02d}",
            "sex": "M" if r() < 0.7 else "F",
            "level": (rng.choice(["A", "B", "C", "D", None]) if minor else rng.choice(["A", "B", "C", "D"])),
            "risk": round(rng.uniform(0, 100), 1),
            "aor": rng.choice(aor_codes),
        }
        if r() < 0.6:
            p["origin"] = rng.choice(fac_ids)
        elif r() < 0.5:
            p["origin"] = None
        if r() < 0.12:
            p["needs_medical"] = True
        if r() < 0.3:
            p["humanitarian"] = rng.sample(factor_names, rng.randint(1, 2))
        if minor:
            p["minor"] = True
        if fam is not None:
            p["family_id"] = fam
        return p

    while len(people) < n_people:
        room = n_people - len(people)
        if room >= 2 and r() < (0.35 if with_families else 0.05):
            fam_no += 1
            fam = f"FAM{fam_no}"
            size = rng.randint(2, min(room, 3))
            n_adults = 2 if size == 3 and r() < 0.3 else 1
            members = [new_person(False, fam) for _ in range(n_adults)]
            members += [new_person(True, fam) for _ in range(size - n_adults)]
            shared_removal = rng.choice([None, None, None, 0, 2, 5])
            for m in members:
                if shared_removal is not None:
                    m["removal_day"] = shared_removal
            people.extend(members)
        else:
            p = new_person(False, None)
            x = r()
            if x < 0.1:
                p["removal_day"] = 0
            elif x < 0.3:
                p["removal_day"] = rng.choice([1, 2, 3, 5])
            people.append(p)

    # mandatory flags (by block) and legal limits
    blocks: dict[str, list[dict]] = {}
    for p in people:
        blocks.setdefault(p.get("family_id") or p["id"], []).append(p)
    for members in blocks.values():
        for m in members:
            if not m.get("minor") and r() < 0.3:
                m["mandatory"] = True
        held = any(m.get("mandatory") for m in members)
        for m in members:
            if r() < 0.3:
                limit = rng.choice([20, 180])
                m["max_custody_days"] = limit
                if held:
                    m["custody_days"] = rng.randint(0, limit - 1)
                else:
                    m["custody_days"] = rng.choice([limit, limit - 1, rng.randint(0, limit), limit + 3])
            elif r() < 0.3:
                m["custody_days"] = rng.randint(0, 60)

    return add_new_rules({
        "format": "bedalloc-instance",
        "version": 1,
        "name": f"random-{seed}",
        "snapshot_date": "2025-01-15",
        "horizon_days": 1,
        "policy": policy,
        "aors": aors,
        "facilities": facilities,
        "atd_programs": programs,
        "people": people,
    }, seed, **new_rules)


def add_new_rules(doc: dict, seed: int, limits: bool = False, ties: bool = False, pins: bool = False) -> dict:
    """``doc`` with the contract 1.1 fields (MODEL.md §2), in place, drawn from
    ``random.Random(200_000 + seed)``:

    * ``limits``: a national ``max_transfers_per_day`` and per-AOR ``max_transfers_out_per_day``
      of 0 to 2 (at least one of them set), small so that they bind; a second facility (a copy
      of a random unit with 1 to 3 beds) when there is one only; most people present on
      day 0 get an origin facility, most of them the one with the fewest beds (only people held
      in a facility are transfers, and a crowded facility sends people elsewhere);
    * ``ties``: ``local_ties`` on about a third of the people;
    * ``pins``: pins on about 40 % of the blocks a random plan of the instance (limits and ties
      included) detains or releases (:func:`bruteforce.random_plan`): one or more members each
      pin what that plan does (detain: the unit, its facility, both or anywhere; release: the
      day and the adult's program, each or not), so the pins can all hold together."""
    rng = random.Random(200_000 + seed)
    if ties:
        for p in doc["people"]:
            if rng.random() < 0.35:
                p["local_ties"] = True
    if limits:
        if len(doc["facilities"]) == 1:  # a second facility to move people to
            unit = {**rng.choice(doc["facilities"][0]["units"]), "id": "U9", "beds": rng.randint(1, 3)}
            first = doc["facilities"][0]
            lat, lon = rng.choice([s for s in _SPOTS if s != (first["lat"], first["lon"])])
            doc["facilities"].append({**first, "id": "F2", "name": "Facility 2", "lat": lat, "lon": lon,
                                      "aor": rng.choice(doc["aors"])["code"], "units": [unit]})
        beds = {f["id"]: sum(u["beds"] for u in f["units"]) for f in doc["facilities"]}
        crowded = min(beds, key=beds.get)  # most people come from the smallest facility
        for p in doc["people"]:
            if p.get("arrival_day", 0) == 0 and rng.random() < 0.8:
                p["origin"] = crowded if rng.random() < 0.6 else rng.choice(list(beds))
        while not ("max_transfers_per_day" in doc["policy"]
                   or any("max_transfers_out_per_day" in a for a in doc["aors"])):
            if rng.random() < 0.7:
                doc["policy"]["max_transfers_per_day"] = rng.choice([0, 1, 1, 2])
            for a in doc["aors"]:
                if rng.random() < 0.7:
                    a["max_transfers_out_per_day"] = rng.choice([0, 1, 1, 2])
    if pins:
        _add_pins(doc, rng)
    return doc


def _add_pins(doc: dict, rng: random.Random) -> None:
    witness = random_plan(parse_instance(doc), rng)
    blocks: dict[str, list[dict]] = {}
    for p in doc["people"]:
        blocks.setdefault(p.get("family_id") or p["id"], []).append(p)
    for members in blocks.values():
        outcome = witness[members[0]["id"]]
        if outcome.decision not in ("detain", "release") or rng.random() >= 0.4:
            continue
        pinned = [m for m in members if rng.random() < 0.5] or [rng.choice(members)]
        for m in pinned:
            dec = witness[m["id"]]
            pin = {"decision": dec.decision}
            if dec.decision == "detain":
                where = rng.choice(["unit", "facility", "both", "anywhere"])
                if where in ("unit", "both"):
                    pin["unit"] = dec.unit_id
                if where in ("facility", "both"):
                    pin["facility"] = dec.facility_id
            else:
                if rng.random() < 0.5:
                    pin["release_day"] = dec.release_day
                if dec.atd_program_id and rng.random() < 0.5:
                    pin["atd_program"] = dec.atd_program_id
            m["pin"] = pin


def write_instance(doc: dict, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(doc, indent=1))
    return path


def load_random(seed: int, tmp_dir: str | Path, max_people: int = 8, **new_rules):
    """Write ``random_instance(seed)`` to ``tmp_dir`` and read it back (validated)."""
    doc = random_instance(seed, max_people, **new_rules)
    return read_instance(write_instance(doc, Path(tmp_dir) / f"rand{seed}.json"))


def multiday_instance(seed: int, max_people: int = 5, **new_rules) -> dict:
    """A random small MULTI-DAY instance (2 to 4 days): :func:`random_instance` with arrival and
    removal days drawn per block (forecast arrivals, removals inside and beyond the horizon) and
    legal limits that fall inside the plan; a mandatory block never reaches its limit before it
    leaves (the MODEL.md §2 contradiction).  ``new_rules`` as in :func:`random_instance`."""
    doc = random_instance(seed, max_people)
    rng = random.Random(100_000 + seed)
    H = rng.randint(2, 4)
    doc["horizon_days"] = H
    blocks: dict[str, list[dict]] = {}
    for p in doc["people"]:
        blocks.setdefault(p.get("family_id") or p["id"], []).append(p)
    for members in blocks.values():
        a = rng.choice([0, 0, rng.randrange(H)])
        removal = rng.choice([None, None, a + rng.randint(0, H - a + 1)])
        end = H if removal is None else min(removal, H)
        held = any(m.get("mandatory") for m in members)
        for m in members:
            m["arrival_day"] = a
            for key in ("removal_day", "max_custody_days", "custody_days"):
                m.pop(key, None)
            if removal is not None:
                m["removal_day"] = removal
            if rng.random() < 0.5:
                limit = rng.choice([3, 20])
                if held:  # custody + (end - 1 - a) < limit
                    limit = max(limit, end - a + 1)
                    m["custody_days"] = rng.randint(0, limit - (end - a))
                else:  # the limit falls before, inside or after the plan
                    m["custody_days"] = max(0, limit - rng.randint(0, H + 1))
                m["max_custody_days"] = limit
    return add_new_rules(doc, seed, **new_rules)


def load_multiday(seed: int, tmp_dir: str | Path, max_people: int = 5, **new_rules):
    """Write ``multiday_instance(seed)`` to ``tmp_dir`` and read it back (validated)."""
    doc = multiday_instance(seed, max_people, **new_rules)
    return read_instance(write_instance(doc, Path(tmp_dir) / f"multi{seed}.json"))


def short_of_cd_beds(doc: dict) -> dict:
    """``doc`` (a generated instance) with every men's level C-D unit halved and its surge beds
    removed, in place: mandatory men are left without beds (tests of diagnoses)."""
    for f in doc["facilities"]:
        for u in f["units"]:
            if u["sex"] == "M" and u["levels"] == ["C", "D"]:
                u["beds"] //= 2
                u.pop("surge_beds", None)
    return doc
