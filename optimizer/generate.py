"""Synthetic instances from public, aggregated ICE detention statistics (``bedalloc generate``).

:func:`national_instance` builds a one-day instance (MODEL.md §2) from the FY2026 facility table
of ICE's detention-statistics workbook (bundled, trimmed, in ``optimizer/data/``; provenance in
``optimizer/data/PROVENANCE.md``).  Every person is synthetic: per facility, people are drawn so
that the facility's published marginals (classification level A-D, sex x criminality, ICE threat
level, mandatory detention) are matched exactly after largest-remainder rounding; nothing is taken
from any person-level record.  Every rule and number is listed, with its source, in
``instances/README.md`` ("National instance ice-fy2026.json: generation rules"); the constants
below carry the same references.

Units: beds, days, US dollars (USD) per bed-day or per participant-day, kilometres (only through
latitude/longitude in degrees).

Randomness: facility ``i`` (its row index in the bundled table) draws everything from its own
stream ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(i,)))``, so the same seed gives a
byte-identical file, and a regional subset (``aors``) contains exactly the same facilities and
people as the national instance with that seed and scale.  The contract-1.1 fields (transport
limits, local ties; see ``TRANSFERS_FY2007`` and ``LOCAL_TIES_SHARE``) are added last, the ties
from streams of their own, so turning them off gives exactly the instance without them.

This module is imported when the command-line parser is built: numpy and zipcodes are imported
inside the functions that need them, never at module level.
"""

from __future__ import annotations

import argparse
import collections
import csv
import io
import json
import math
import os
import sys
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"

FISCAL_YEARS = {2026: {"facilities": "ice_facilities_fy2026.csv", "snapshot_date": "2026-04-09"}}
"""Bundled fiscal years; the snapshot date is the FY2026 workbook's as-of date (file_date column)."""

MAX_SCALE = 20.0
"""Largest accepted ``scale`` (about 1.3 million people; keeps files under ~150 MB)."""

# --- facilities and beds -------------------------------------------------------------------
TYPE_MAP = {
    "SPC": "SPC", "CDF": "CDF", "IGSA": "IGSA", "DIGSA": "DIGSA", "USMS IGA": "USMS_IGA",
    "USMS CDF": "USMS_CDF", "BOP": "BOP", "FAMILY": "FAMILY", "FAMILY STAGING": "FAMILY",
    "STAGING": "STAGING", "HOLD": "HOLD", "STATE": "STATE", "DOD": "DOD",
}
"""ICE ``Type Detailed`` -> MODEL.md facility type; anything else (JUVENILE, TAP-ICE, Other) -> OTHER."""

BED_FACTOR = 0.76
"""Beds = max(guaranteed minimum, BED_FACTOR x ADP) per facility (beds).  Calibrated so that the
national total is about 63,000 beds: ICE's contractual capacity was 62,913 beds on 14 Apr 2025
(TRAC, DOMAIN.md §1.1) while the FY2026 ADP is about 66,000 (DOMAIN.md §1.2): demand above supply."""

SURGE_TYPES = frozenset({"SPC", "CDF", "DIGSA", "STATE"})
SURGE_SHARE = 0.05
"""Dedicated ICE sites (SPC, CDF, DIGSA, STATE soft-sided sites) get floor(5 %) of each general
unit's beds as surge beds; TRAC found 45 of 181 facilities above contract capacity (DOMAIN §1.1).
A facility that holds more people of a sex and level group than that group's beds gets at least
the difference as surge beds in the group's general unit: it held them, so they fit, above its
rated beds (emergency beds are used only for people with no other legal outcome, MODEL.md §4)."""

FAMILY_UNIT_BEDS = 500
"""A family facility's beds are split into family units of at most this many beds."""

MEDICAL_MIN_FACILITY_BEDS = 400
MEDICAL_MIN_GROUP_BEDS = 60
MEDICAL_SHARE = 0.03
"""Facilities with >= 400 beds (not STAGING/FAMILY) get, for each (sex, level group) with >= 60
beds, a medical unit of max(2, round(3 %)) of that group's beds (DOMAIN §2.4: onsite medical
providers at most facilities; medical/mental-health segregation is the commonest placement)."""

LEVEL_GROUPS = (("AB", ("A", "B")), ("CD", ("C", "D")))
"""Co-housing rule (DOMAIN §2.1, [verify] there): level A is never housed with D; adjacent levels
may mix.  Units hold levels A,B or C,D (family units: all levels)."""

GM_RATE_USD = (100.0, 170.0)
GM_MARGINAL_SHARE = (0.05, 0.35)
JAIL_PER_DIEM_USD = (55.0, 80.0)
CONTRACT_PER_DIEM_USD = (110.0, 170.0)
FAMILY_GM_RATE_USD = 231.99
"""Per diems (USD per bed-day, DOMAIN §1.5-1.6): guaranteed-minimum facilities pay gm_rate ~
U(100, 170) per GM bed and a marginal per diem of U(5 %, 35 %) of it above the GM (2015 tiered
contracts); shared jails without GM (IGSA, USMS IGA, USMS CDF, BOP, OTHER) U(55, 80) (2015 medians
$65-$67); other non-GM sites U(110, 170) (ICE's ~$152 bed-day).  Family GM rate $231.99 (Dilley,
FY2021 budget request)."""

JAIL_TYPES = frozenset({"IGSA", "USMS_IGA", "USMS_CDF", "BOP", "OTHER"})

# --- people --------------------------------------------------------------------------------
PENDING_SHARE = 18731 / (18731 + 23991)
"""Share of pending criminal charges among people without a conviction: currently detained,
Apr 2026 (DOMAIN §1.3: 18,731 pending vs 23,991 other immigration violators)."""

ICLOS_BUCKETS = ((0, 179, 54564), (181, 365, 5519), (366, 730, 2145), (731, 1095, 75))
ICLOS_SCALE_DAYS = 46.0
"""Days in custody (DOMAIN §1.2, FY2026 'ICLOS and Detainees'): 87.6 % 0-180, 8.9 % 181-365,
3.4 % 366-730, 0.1 % > 730 days.  Within 0-180 a truncated exponential (scale 46 days) so that the
overall mean is ~81 days as ICE reports; other buckets uniform (the last capped at 1095)."""

POST_ORDER_SHARE = 0.05
ZADVYDAS_DAYS = 180
"""Post-order detainees whose removal is not foreseeable: 5 % of the non-mandatory adults with
risk <= 85 (the highest ATD max_risk; 8 CFR 241.14 lets ICE keep specially dangerous people) get
max_custody_days 180 (Zadvydas v. Davis six months, DOMAIN §3)."""

FLORES_DAYS = 20
FAMILY_NEAR_LIMIT_SHARE = 0.2
"""Minors in family detention: max_custody_days 20 (Flores, DOMAIN §3.5).  A family's custody days
are U{0..17}, or U{18..26} for 20 % of families (some at or past the limit)."""

STAGING_MAX_STAY_DAYS = 3
STAGING_REMOVAL_SHARE = 0.7
REMOVED_TODAY_SHARE = 0.005
"""STAGING sites: max_stay_days 3 (under-72-hour, DOMAIN §3.6); 70 % of their people have
removal_day U{1,2,3}.  0.5 % of the other adults have removal_day 0 (removed today)."""

BOOKINS_FILE = "ice_initial_bookins_fy2026.csv"
BOOKINS_MONTH = ("Mar", 31)
ALOS_DAYS = 50.2
MAX_HORIZON_DAYS = 90
HORIZON_STREAM = 1_000_000
"""Multi-day instances (``--horizon-days N``): forecast arrivals on days 1..N-1, a Poisson number
per day with mean = the last full month's national initial book-ins (March 2026, Total: 32,531 /
31 days; ``ice_initial_bookins_fy2026.csv``) x the subset's share of the national ADP x scale.
Each arrival is drawn like the people of an adult facility of its AOR (chosen in proportion to
ADP; family and staging sites excluded), with no origin, no custody days and no legal limit.
Scheduled removals: a stay in custody from the snapshot (or from arrival) is exponential with the
FY2026 national average length of stay, 50.2 days (DOMAIN §1.2; memoryless, so it also gives the
remaining stay of the people already held); ``removal_day`` is set when it falls inside the plan
(staging sites keep their U{1,2,3} removals, families keep none).  Drawn from a separate random
stream, so the current population is the one-day instance's, day for day.  At most 90 days."""

# --- transport limits and local ties (contract 1.1) -----------------------------------------
MAX_LIMIT = 10_000_000  # the reader's largest count (optimizer/instance.py)
TRANSFERS_FY2007 = 261_941
ADP_FY2007 = 30_000
TRANSFER_SLACK = (5, 4)
MIN_AOR_TRANSFERS = 5
"""Transport limits (DOMAIN §3.7): ICE's FOIA'd transfer records count 261,941 transfers in FY2007
at an average daily population of roughly 30,000, i.e. r = 261,941 / (365 x 30,000) ~ 0.0239
transfers per person in custody per day.  ``policy.max_transfers_per_day`` = ceil(r x H), H = the
people held on day 0 (everyone with an origin facility; forecast arrivals are not counted).  Each
AOR's ``max_transfers_out_per_day`` = max(5, ceil(5/4 x r x H_a)), H_a = the people held in that
AOR's facilities: its share of the national seats with 25 % slack (seats are not perfectly
divisible), so the AOR limits add up to more than the national one, which binds as well; plus the
people held at its short-stay sites (staging, hold rooms) beyond their stay, who must move (or be
released): moving them out is what those sites exist for.  Exact integer arithmetic; an AOR's
limit does not depend on which other AORs are in the instance."""

LOCAL_TIES_SHARE = 0.2
TIES_STREAM = 2_000_000
"""Local ties (DOMAIN §3.7, assumption): each person has ``local_ties`` with probability 0.2 (the
directive's criteria: attorney of record, immediate family or pending proceedings in the AOR; ~14 %
of detained respondents had an attorney, family ties are not published; DOMAIN suggests 15-30 %).
One draw per family (members share the flag).  Drawn from streams of their own (one per facility,
one for the forecast arrivals), so the rest of the instance is unchanged by them."""

NEEDS_MEDICAL_RATE = 0.02
HUMANITARIAN_RATES = {
    "pregnant": 0.01, "medical": 0.02, "mental_health": 0.03,
    "caretaker": 0.021, "elderly": 0.01, "disabled": 0.01,
}
"""Per-adult rates (assumptions unless noted): pregnant (women only) 1 %; medical 2 % plus every
needs_medical person; mental_health 3 %; caretaker 2.1 % (6,651 parents of US-citizen children
among 310,181 FY2025 book-ins, DOMAIN §2.5); elderly 1 %; disabled 1 %."""

RISK_RANGES = {"t1": (70, 100), "t2": (50, 80), "t3": (30, 60), "conv": (20, 45),
               "pending": (10, 40), "none": (0, 25)}
"""Risk score in [0, 100] by ICE threat level (1 most severe) and criminality, uniform in the
range, 1 decimal (DOMAIN §2.2, §6.3: threat 1 > 2 > 3 > none; convicted > pending > none)."""

# --- ATD -----------------------------------------------------------------------------------
ATD_TECH = {"Ankle Monitor": "ankle_gps", "Wristworn": "wrist_gps", "SmartLINK": "app",
            "VoiceID": "telephonic"}
ATD_MAX_RISK = {"ankle_gps": 85.0, "wrist_gps": 65.0, "app": 45.0, "telephonic": 25.0,
                "case_management": 20.0}
"""Highest risk a program may supervise, by intensity (DOMAIN §6.1: telephonic < app < wrist GPS <
ankle GPS); case management without technology is the least intensive."""

ATD_MONTH_DAYS = 30
ATD_MIN_SLOTS = 5
"""Free enrolment slots per AOR program = a month's intake by Little's law: active participants
x 30 / average length in program (days), at least 5 (ICE ATD by AOR x technology, FY2026;
telephonic from FY2025, the last year ICE lists VoiceID)."""

CASE_MANAGEMENT_PER_DIEM = 4.20
CASE_MANAGEMENT_MONTHLY = round((5844 + 1577) / 190 * 30)
"""National case-management program: $4.20/day (ICE: ATD-ISAP costs "less than $4.20 per day",
DOMAIN §1.7); capacity = a month of FY2026 releases on recognizance (5,844) or supervision (1,577)
over 190 days (Oct 1 - Apr 9; DOMAIN §4), i.e. 1,172 slots, scaled to the subset's ADP share."""


def _read_csv(name: str) -> list[dict]:
    with open(DATA_DIR / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _lr_round(weights, total: int):
    """Largest-remainder rounding of non-negative ``weights`` to integers summing to ``total``.
    Ties go to the earlier entry.  Returns an int64 numpy array."""
    import numpy as np

    w = np.asarray(weights, dtype=float)
    s = w.sum()
    if total <= 0 or s <= 0:
        out = np.zeros(len(w), dtype=np.int64)
        if total > 0:
            out[0] = total
        return out
    q = w * (total / s)
    base = np.floor(q).astype(np.int64)
    rest = int(total - base.sum())
    if rest > 0:
        order = np.argsort(-(q - base), kind="stable")
        base[order[:rest]] += 1
    return base


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def known_aors() -> list[str]:
    """AOR codes that have at least one facility in the bundled FY2026 table (sorted)."""
    return sorted({r["aor"] for r in _read_csv(FISCAL_YEARS[2026]["facilities"])})


def _facility_ids(rows: list[dict]) -> list[str]:
    """Stable short ids: AOR code + 2-digit rank of the facility name within its AOR (e.g. NOL07)."""
    by_aor: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_aor.setdefault(r["aor"], []).append(i)
    ids = [""] * len(rows)
    for aor, idx in by_aor.items():
        for k, i in enumerate(sorted(idx, key=lambda i: (rows[i]["name"], i)), start=1):
            ids[i] = f"{aor}{k:02d}"
    return ids


def _locator():
    """Returns ``locate(zip, state) -> (lat, lon, state)``: the ZIP's coordinates from the
    ``zipcodes`` package when it knows the ZIP with non-zero coordinates in the same state, else
    the state's centroid (mean of its standard ZIP codes, bundled ``state_centroids.csv``)."""
    import zipcodes

    cent = {r["state"]: (float(r["lat"]), float(r["lon"])) for r in _read_csv("state_centroids.csv")}

    def locate(zip_code: str, state: str):
        z = (zip_code or "").strip()
        if z.isdigit() and len(z) < 5:
            z = z.zfill(5)
        hits = []
        if len(z) == 5 and z.isdigit():
            try:
                hits = zipcodes.matching(z)
            except (ValueError, TypeError):
                hits = []
        for h in hits:
            lat, lon = float(h["lat"] or 0), float(h["long"] or 0)
            if (lat, lon) != (0.0, 0.0) and (not state or h["state"] == state):
                return round(lat, 4), round(lon, 4), state or h["state"]
        if state in cent:
            return cent[state][0], cent[state][1], state
        raise ValueError(f"no coordinates for ZIP {zip_code!r} / state {state!r}")

    return locate


def _f(row: dict, key: str) -> float:
    v = row.get(key, "")
    return float(v) if v not in ("", None) else 0.0


def _iclos(rng, n: int):
    """Days already in custody (ints), ICLOS distribution (see ICLOS_BUCKETS)."""
    import numpy as np

    p = np.array([b[2] for b in ICLOS_BUCKETS], dtype=float)
    b = rng.choice(len(p), size=n, p=p / p.sum())
    u = rng.random(n)
    lo0, hi0 = ICLOS_BUCKETS[0][0], ICLOS_BUCKETS[0][1] + 1
    s = ICLOS_SCALE_DAYS
    expo = lo0 - s * np.log1p(-u * (1.0 - math.exp(-(hi0 - lo0) / s)))
    out = np.floor(expo).astype(np.int64).clip(lo0, hi0 - 1)
    for k in range(1, len(ICLOS_BUCKETS)):
        lo, hi, _ = ICLOS_BUCKETS[k]
        m = b == k
        out[m] = lo + np.floor(u[m] * (hi - lo + 1)).astype(np.int64)
    return out


def _rank_assign(score, counts):
    """Category index per person: the highest scores get category 0 (``counts[0]`` people), the
    next ``counts[1]`` category 1, ...  Exact counts; ties broken by position."""
    import numpy as np

    order = np.argsort(-score, kind="stable")
    cat = np.empty(len(score), dtype=np.int64)
    cat[order] = np.repeat(np.arange(len(counts)), counts)
    return cat


def _draw_attributes(rng, row: dict, n: int, minor):
    """Sex, criminality, pending charges, threat, level and risk for ``n`` people of one facility,
    matching the row's marginals exactly after largest-remainder rounding (see module doc).
    ``minor`` marks children (family facility), who get the lowest categories."""
    import numpy as np

    sc = _lr_round([_f(row, "adp_male_crim"), _f(row, "adp_male_noncrim"),
                    _f(row, "adp_female_crim"), _f(row, "adp_female_noncrim")], n)
    female = rng.permutation(np.repeat([False, True], [sc[0] + sc[1], sc[2] + sc[3]]))
    u = rng.standard_normal(n)
    u[minor] = -50.0
    crim = np.zeros(n, dtype=bool)
    for fem, k in ((False, sc[0]), (True, sc[2])):
        idx = np.flatnonzero(female == fem)
        s = u[idx] + rng.standard_normal(len(idx))
        crim[idx[_rank_assign(s, [k, len(idx) - k]) == 0]] = True
    pending = ~crim & ~minor & (rng.random(n) < PENDING_SHARE)
    tc = _lr_round([_f(row, "adp_threat_1"), _f(row, "adp_threat_2"), _f(row, "adp_threat_3"),
                    _f(row, "adp_no_threat")], n)
    s = 4.0 * crim + 1.5 * pending + u + 0.5 * rng.standard_normal(n)
    threat = _rank_assign(s, tc) + 1  # 1, 2, 3; 4 = no threat level
    lc = _lr_round([_f(row, "adp_level_d"), _f(row, "adp_level_c"), _f(row, "adp_level_b"),
                    _f(row, "adp_level_a")], n)
    sev = np.array([0, 3, 2, 1, 0])[threat]
    s = u + 0.6 * sev + 0.8 * rng.standard_normal(n)
    level = 3 - _rank_assign(s, lc)  # 0=A .. 3=D
    cat = np.where(threat == 1, "t1", np.where(threat == 2, "t2", np.where(threat == 3, "t3",
                   np.where(crim, "conv", np.where(pending, "pending", "none")))))
    lo = np.zeros(n)
    hi = np.zeros(n)
    for k, (a, b) in RISK_RANGES.items():
        m = cat == k
        lo[m], hi[m] = a, b
    risk = np.round(lo + (hi - lo) * rng.random(n), 1)
    return female, crim, pending, threat, level, risk, u


def _facility_costs(rng, ftype: str, gm: int) -> tuple[float, float]:
    """(gm_rate, per_diem) in USD per bed-day; see GM_RATE_USD and neighbours."""
    a = rng.random(2)
    if ftype == "FAMILY":
        gm_rate = FAMILY_GM_RATE_USD
        per_diem = round(gm_rate * 0.1, 2)
        return (gm_rate if gm > 0 else 0.0), (per_diem if gm > 0 else gm_rate)
    if gm > 0:
        gm_rate = round(GM_RATE_USD[0] + (GM_RATE_USD[1] - GM_RATE_USD[0]) * a[0], 2)
        share = GM_MARGINAL_SHARE[0] + (GM_MARGINAL_SHARE[1] - GM_MARGINAL_SHARE[0]) * a[1]
        return gm_rate, round(gm_rate * share, 2)
    lo, hi = JAIL_PER_DIEM_USD if ftype in JAIL_TYPES else CONTRACT_PER_DIEM_USD
    return 0.0, round(lo + (hi - lo) * a[1], 2)


def _families(rng, n: int) -> list[tuple[int, int]]:
    """(adults, minors) per family summing to n: 1 adult (70 %) or 2, and 1-3 minors."""
    fams: list[list[int]] = []
    left = n
    while left > 0:
        a = 1 if rng.random() < 0.7 else 2
        m = int(rng.integers(1, 4))
        if left == 1 and fams:
            fams[-1][1] += 1
            break
        if a + m > left:
            a, m = (1, left - 1) if left >= 2 else (1, 0)
        fams.append([a, m])
        left -= a + m
    return [(a, m) for a, m in fams]


class _Legal(NamedTuple):
    """Legal status of one facility's people (int/bool arrays of length n; -1 = none)."""

    mandatory: np.ndarray
    custody: np.ndarray  # days already in custody
    max_custody: np.ndarray  # legal limit (Flores, Zadvydas), -1 without one
    removal: np.ndarray  # removal_day, -1 without one


class _Cohort(NamedTuple):
    """One facility's synthetic people, as arrays of length n (the records are made from it)."""

    female: np.ndarray
    level: np.ndarray  # 0=A .. 3=D
    risk: np.ndarray
    minor: np.ndarray
    fam_of: np.ndarray  # family index, -1 outside a family
    legal: _Legal
    needs_medical: np.ndarray
    hum: dict  # humanitarian factor -> bool array (see _humanitarian)


def _build_facility(i: int, row: dict, fid: str, seed: int, scale: float, locate,
                    horizon: int = 1) -> tuple[dict, list[dict]] | None:
    """One facility and its synthetic people, drawn from the facility's own random stream.

    The steps draw from that stream in this order: costs, families, attributes, legal status,
    units (with who needs a medical bed), humanitarian factors; the files depend on it."""
    import numpy as np

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
    ftype = TYPE_MAP.get(row["type_detailed"].strip().upper(), "OTHER")
    n, gm, beds = _sizes(row, scale)
    if n == 0 and beds == 0:
        return None
    gm_rate, per_diem = map(float, _facility_costs(rng, ftype, gm))  # numpy's rounding, Python's floats
    lat, lon, state = locate(row["zip"], row["state"].strip())
    fams, fam_of, minor = _family_structure(rng, n, ftype == "FAMILY")
    female, crim, pending, _, level, risk, u = _draw_attributes(rng, row, n, minor)
    m_count = _mandatory_count(row, n)
    if ftype == "FAMILY":
        legal = _family_legal_status(rng, n, fams, fam_of, minor, risk, m_count, horizon)
        units, needs_medical = _family_units(fid, beds), np.zeros(n, dtype=bool)
    else:
        legal = _adult_legal_status(rng, n, crim, pending, u, risk, m_count, ftype == "STAGING")
        units, needs_medical = _general_units(rng, row, fid, ftype, n, beds, scale, female, level)
    hum = _humanitarian(rng, female, ~minor, needs_medical)
    fac = {"id": fid, "name": row["name"].strip(), "aor": row["aor"], "state": state, "type": ftype,
           "lat": lat, "lon": lon}
    if gm:
        fac["guaranteed_minimum"] = gm
        fac["gm_rate"] = gm_rate
    fac["per_diem"] = per_diem
    if ftype == "STAGING":
        fac["max_stay_days"] = STAGING_MAX_STAY_DAYS
    fac["units"] = units
    cohort = _Cohort(female, level, risk, minor, fam_of, legal, needs_medical, hum)
    return fac, _people_records(fid, row["aor"], n, cohort)


def _sizes(row: dict, scale: float) -> tuple[int, int, int]:
    """(people, guaranteed minimum, beds) of a facility: people = ADP x scale, beds = max(GM,
    BED_FACTOR x ADP), at least 1 when it holds people."""
    adp = _f(row, "adp_total") * scale
    n = _round_half_up(adp)
    gm = _round_half_up(_f(row, "guaranteed_minimum") * scale)
    beds = max(gm, _round_half_up(BED_FACTOR * adp))
    if n > 0:
        beds = max(beds, 1)
    return n, gm, beds


def _family_structure(rng, n: int, family_site: bool):
    """(families, family index per person, minor per person): at a family facility its ``n``
    people form families (:func:`_families`), adults listed first; elsewhere nobody is in one."""
    import numpy as np

    fam_of = np.full(n, -1, dtype=np.int64)
    minor = np.zeros(n, dtype=bool)
    fams: list[tuple[int, int]] = []
    if family_site and n > 0:
        fams = _families(rng, n)
        pos = 0
        for k, (a, m) in enumerate(fams):
            fam_of[pos:pos + a + m] = k
            minor[pos + a:pos + a + m] = True
            pos += a + m
    return fams, fam_of, minor


def _mandatory_count(row: dict, n: int) -> int:
    """People under mandatory detention: the row's mandatory share of ``n``, exact (largest remainder)."""
    if not n:
        return 0
    return int(_lr_round([_f(row, "adp_mandatory"),
                          max(0.0, _f(row, "adp_total") - _f(row, "adp_mandatory"))], n)[0])


def _family_legal_status(rng, n: int, fams, fam_of, minor, risk, m_count: int, horizon: int) -> _Legal:
    """Custody days per family (see FAMILY_NEAR_LIMIT_SHARE), the Flores limit for minors, and
    ``m_count`` mandatory people in whole families whose minors stay below the limit."""
    import numpy as np

    mandatory = np.zeros(n, dtype=bool)
    custody = np.zeros(n, dtype=np.int64)
    max_custody = np.full(n, -1, dtype=np.int64)
    fam_days = np.empty(len(fams), dtype=np.int64)
    for k in range(len(fams)):
        near = rng.random() < FAMILY_NEAR_LIMIT_SHARE
        fam_days[k] = rng.integers(18, 27) if near else rng.integers(0, 18)
    # a family that could not be released (an adult above every ATD max_risk) stays below the limit
    top = max(ATD_MAX_RISK.values())
    for k in np.unique(fam_of[risk > top]):
        fam_days[k] = rng.integers(0, 18)
    if n:
        custody = fam_days[fam_of]
        max_custody[minor] = FLORES_DAYS
    # mandatory families: only families whose minors stay below the limit (MODEL.md §2)
    left = m_count
    for k in rng.permutation(len(fams)):
        if left <= 0:
            break
        if fam_days[k] > FLORES_DAYS - 3 or fam_days[k] + horizon - 1 >= FLORES_DAYS:
            continue  # MODEL.md §2: a mandatory family must not reach the limit inside the plan
        members = np.flatnonzero(fam_of == k)
        take = members[:left]  # adults first (they are listed first)
        mandatory[take] = True
        left -= len(take)
    return _Legal(mandatory, custody, max_custody, np.full(n, -1, dtype=np.int64))


def _adult_legal_status(rng, n: int, crim, pending, u, risk, m_count: int, staging: bool) -> _Legal:
    """Adult facilities: ``m_count`` mandatory people by a score favouring criminality, days in
    custody (:func:`_iclos`), removals (STAGING_REMOVAL_SHARE, REMOVED_TODAY_SHARE) and the
    post-order limit (POST_ORDER_SHARE)."""
    import numpy as np

    max_custody = np.full(n, -1, dtype=np.int64)
    removal = np.full(n, -1, dtype=np.int64)
    s = 1.5 * crim + 0.5 * pending + 0.3 * u + rng.standard_normal(n)
    mandatory = _rank_assign(s, [m_count, n - m_count]) == 0
    custody = _iclos(rng, n)
    if staging:
        soon = rng.random(n) < STAGING_REMOVAL_SHARE
        removal[soon] = rng.integers(1, STAGING_MAX_STAY_DAYS + 1, size=int(soon.sum()))
    else:
        gone = rng.random(n) < REMOVED_TODAY_SHARE
        removal[gone] = 0
        eligible = ~mandatory & (risk <= max(ATD_MAX_RISK.values())) & (removal < 0)
        post = eligible & (rng.random(n) < POST_ORDER_SHARE)
        max_custody[post] = ZADVYDAS_DAYS
    return _Legal(mandatory, custody, max_custody, removal)


def _family_units(fid: str, beds: int) -> list[dict]:
    """A family facility's beds in family units of at most FAMILY_UNIT_BEDS beds."""
    k_units = max(1, math.ceil(beds / FAMILY_UNIT_BEDS))
    return [{"id": f"{fid}-FAM{k}", "sex": "any", "levels": ["A", "B", "C", "D"], "beds": int(b), "family": True}
            for k, b in enumerate(_lr_round([1.0] * k_units, beds), start=1)]


def _general_units(rng, row: dict, fid: str, ftype: str, n: int, beds: int, scale: float, female, level):
    """(units, needs_medical) of an adult facility: its beds split over (sex, level group) in
    proportion to its people (to its ADP marginals when it has none), a general unit per group
    with its surge beds (SURGE_SHARE) and, at large facilities, a medical unit per large group
    (MEDICAL_SHARE) with the people of the group who need it."""
    import numpy as np

    group_of = np.where(level >= 2, 1, 0)  # 0 = AB, 1 = CD
    needs_medical = np.zeros(n, dtype=bool)
    sexes = (("M", False), ("F", True))
    if n > 0:
        w = [float(np.sum((female == fem) & (group_of == g))) for _, fem in sexes for g in (0, 1)]
    else:
        ms = [_f(row, "adp_male_crim") + _f(row, "adp_male_noncrim"),
              _f(row, "adp_female_crim") + _f(row, "adp_female_noncrim")]
        gs = [_f(row, "adp_level_a") + _f(row, "adp_level_b"), _f(row, "adp_level_c") + _f(row, "adp_level_d")]
        w = [a * b for a in ms for b in gs]
    gbeds = _lr_round(w, beds)
    big = beds >= MEDICAL_MIN_FACILITY_BEDS * scale and ftype != "STAGING"
    surge_ok = ftype in SURGE_TYPES
    units: list[dict] = []
    for si, (sx, fem) in enumerate(sexes):
        for g, (gname, levels) in enumerate(LEVEL_GROUPS):
            b = int(gbeds[2 * si + g])
            held = int(w[2 * si + g]) if n > 0 else 0  # the people it holds fit (SURGE_SHARE)
            if b <= 0 and held <= 0:
                continue
            med = 0
            if big and b >= MEDICAL_MIN_GROUP_BEDS * scale:
                med = max(2, _round_half_up(MEDICAL_SHARE * b))
            gen = b - med
            if gen > 0 or held > b:
                unit = {"id": f"{fid}-{sx}-{gname}", "sex": sx, "levels": list(levels), "beds": gen}
                surge = max(int(math.floor(SURGE_SHARE * gen)) if surge_ok else 0, held - b)
                if surge:
                    unit["surge_beds"] = surge
                units.append(unit)
            if med > 0:
                units.append({"id": f"{fid}-{sx}-{gname}-MED", "sex": sx, "levels": list(levels),
                              "beds": med, "medical": True})
                idx = np.flatnonzero((female == fem) & (group_of == g))
                k = min(int(rng.binomial(len(idx), NEEDS_MEDICAL_RATE)), med, len(idx))
                needs_medical[rng.choice(idx, size=k, replace=False)] = True
    return units, needs_medical


def _people_records(fid: str, aor: str, n: int, c: _Cohort) -> list[dict]:
    """The JSON records of a facility's people (fields equal to their MODEL.md default omitted)."""
    import numpy as np

    people = []
    letters = "ABCD"
    names = list(HUMANITARIAN_RATES)
    hum_rows = np.stack([c.hum[k] for k in names], axis=1) if n else np.zeros((0, len(names)), bool)
    for j in range(n):
        p = {"id": f"{fid}-{j + 1}", "sex": "F" if c.female[j] else "M",
             "level": None if c.minor[j] else letters[c.level[j]], "risk": float(c.risk[j]),
             "aor": aor, "origin": fid}
        if c.legal.mandatory[j]:
            p["mandatory"] = True
        if c.legal.max_custody[j] >= 0:
            p["max_custody_days"] = int(c.legal.max_custody[j])
        if c.legal.custody[j]:
            p["custody_days"] = int(c.legal.custody[j])
        if c.needs_medical[j]:
            p["needs_medical"] = True
        h = [names[k] for k in np.flatnonzero(hum_rows[j])]
        if h:
            p["humanitarian"] = h
        if c.fam_of[j] >= 0:
            p["family_id"] = f"{fid}-F{c.fam_of[j] + 1}"
        if c.minor[j]:
            p["minor"] = True
        if c.legal.removal[j] >= 0:
            p["removal_day"] = int(c.legal.removal[j])
        people.append(p)
    return people


def _atd_programs(aors: list[str], scale: float, adp_share: float) -> list[dict]:
    """One program per AOR and technology plus one national case-management program."""
    cost = {}
    for r in sorted(_read_csv("ice_atd_tech_cost_fy2025_fy2026.csv"), key=lambda r: int(r["fiscal_year"])):
        if r["technology"] in ATD_TECH:
            cost[ATD_TECH[r["technology"]]] = float(r["tech_cost_per_participant_day_usd"])
    intake: dict[tuple[str, str], float] = {}
    for r in _read_csv("ice_atd_participants_by_aor_fy2025_fy2026.csv"):
        tech = ATD_TECH.get(r["technology"])
        days = float(r["avg_length_in_program_days"])
        if tech and days > 0:
            intake[(r["aor"], tech)] = int(r["active_participants"]) * ATD_MONTH_DAYS / days
    out = []
    for aor in aors:
        for tech in ("ankle_gps", "wrist_gps", "app", "telephonic"):
            slots = max(ATD_MIN_SLOTS, intake.get((aor, tech), 0.0))
            out.append({"id": f"{aor}-{tech}", "technology": tech, "per_diem": cost[tech],
                        "capacity": max(1, _round_half_up(slots * scale)),
                        "max_risk": ATD_MAX_RISK[tech], "aor": aor})
    out.append({"id": "NAT-case_management", "technology": "case_management",
                "per_diem": CASE_MANAGEMENT_PER_DIEM,
                "capacity": max(1, _round_half_up(CASE_MANAGEMENT_MONTHLY * scale * adp_share)),
                "max_risk": ATD_MAX_RISK["case_management"]})
    return out


def _parse_aors(aors) -> list[str] | None:
    if aors is None:
        return None
    if isinstance(aors, str):
        aors = [aors]
    codes = []
    for item in aors:
        for c in str(item).split(","):
            c = c.strip().upper()
            if c and c not in codes:
                codes.append(c)
    if not codes:
        raise ValueError("--aor: no AOR code given")
    known = known_aors()
    bad = [c for c in codes if c not in known]
    if bad:
        raise ValueError(f"unknown AOR code {', '.join(bad)} (known: {', '.join(known)})")
    return codes


def _humanitarian(rng, female, adult, needs_medical) -> dict:
    """Humanitarian factors per person (factor -> bool array), adults only, in the policy table's
    order (HUMANITARIAN_RATES): pregnant only for women; medical for everyone who needs a
    medical bed."""
    out = {}
    for name, p in HUMANITARIAN_RATES.items():
        m = adult & (rng.random(len(adult)) < p)
        if name == "pregnant":
            m &= female
        if name == "medical":
            m |= needs_medical
        out[name] = m
    return out


def _forecast(people: list[dict], rows: list[dict], seed: int, share: float, horizon: int) -> list[dict]:
    """Scheduled removals of ``people`` (set in place) and the forecast arrivals of days
    1..horizon-1 (returned), as described at ``ALOS_DAYS``; ``share`` = ADP share x scale."""
    import numpy as np

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(HORIZON_STREAM,)))
    stay = np.ceil(rng.exponential(ALOS_DAYS, size=len(people))).astype(np.int64)
    for p, r in zip(people, stay.tolist()):
        if "removal_day" not in p and "family_id" not in p and r < horizon:
            p["removal_day"] = r
    month = {r["month"]: int(r["initial_bookins"]) for r in _read_csv(BOOKINS_FILE) if r["arresting_agency"] == "Total"}
    rate = month[BOOKINS_MONTH[0]] / BOOKINS_MONTH[1] * share
    sites = [r for r in rows if TYPE_MAP.get(r["type_detailed"].strip().upper(), "OTHER") not in ("FAMILY", "STAGING")
             and _f(r, "adp_total") > 0]
    if not sites:
        return []
    weight = np.array([_f(r, "adp_total") for r in sites])
    names = list(HUMANITARIAN_RATES)
    out = []
    for day in range(1, horizon):
        n = int(rng.poisson(rate))
        site = rng.choice(len(sites), size=n, p=weight / weight.sum())
        for k in np.unique(site):
            row = sites[k]
            m = int((site == k).sum())
            female, _, _, _, level, risk, _ = _draw_attributes(rng, row, m, np.zeros(m, dtype=bool))
            mandatory = rng.random(m) < _f(row, "adp_mandatory") / _f(row, "adp_total")
            medical = rng.random(m) < NEEDS_MEDICAL_RATE
            hum = _humanitarian(rng, female, np.ones(m, dtype=bool), medical)
            leave = day + np.ceil(rng.exponential(ALOS_DAYS, size=m)).astype(np.int64)
            for j in range(m):
                p = {"id": f"ARR{day:02d}-{len(out) + 1:06d}", "sex": "F" if female[j] else "M",
                     "level": "ABCD"[level[j]], "risk": float(risk[j]), "aor": row["aor"], "arrival_day": day}
                if mandatory[j]:
                    p["mandatory"] = True
                if medical[j]:
                    p["needs_medical"] = True
                h = [name for name in names if hum[name][j]]
                if h:
                    p["humanitarian"] = h
                if leave[j] < horizon:
                    p["removal_day"] = int(leave[j])
                out.append(p)
    return out


def _transport_limits(people: list[dict], aor_list: list[dict], facilities: list[dict],
                      per_day: int | None) -> int:
    """Set each AOR's ``max_transfers_out_per_day`` (in place) and return the national limit, as
    described at ``TRANSFERS_FY2007``; ``per_day`` replaces the national figure (the AOR limits
    follow it in proportion)."""
    fac_aor = {f["id"]: f["aor"] for f in facilities}
    stay = {f["id"]: f["max_stay_days"] for f in facilities if f.get("max_stay_days") is not None}
    held = collections.Counter(fac_aor[p["origin"]] for p in people if p.get("origin"))
    must_move = collections.Counter(  # held at a short-stay site beyond its stay (MODEL.md §3 rule 5)
        fac_aor[p["origin"]] for p in people if p.get("origin") in stay
        and (p.get("removal_day") is None or p["removal_day"] - p.get("arrival_day", 0) > stay[p["origin"]]))
    total = sum(held.values())
    if per_day is None:
        rate = Fraction(TRANSFERS_FY2007, 365 * ADP_FY2007)
        per_day = math.ceil(rate * total)
    else:
        rate = Fraction(per_day, total) if total else Fraction(0)
    for a in aor_list:
        a["max_transfers_out_per_day"] = min(MAX_LIMIT, must_move[a["code"]] + max(
            MIN_AOR_TRANSFERS, math.ceil(Fraction(*TRANSFER_SLACK) * rate * held[a["code"]])))
    return per_day


def _local_ties(people: list[dict], seed: int, row_of: dict[str, int]) -> None:
    """Set ``local_ties`` (in place) as described at ``LOCAL_TIES_SHARE``: the people of facility
    ``i`` draw in file order from ``SeedSequence(seed, spawn_key=(TIES_STREAM, i))``, forecast
    arrivals from ``(TIES_STREAM, HORIZON_STREAM)``; a family uses its first member's draw."""
    import numpy as np

    groups: dict[str | None, list[dict]] = {}
    for p in people:
        groups.setdefault(p.get("origin"), []).append(p)
    for origin, members in groups.items():
        key = (TIES_STREAM, row_of[origin] if origin else HORIZON_STREAM)
        draws = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key)).random(len(members))
        first: dict[str, float] = {}
        for p, u in zip(members, draws.tolist()):
            if p.get("family_id"):
                u = first.setdefault(p["family_id"], u)
            if u < LOCAL_TIES_SHARE:
                p["local_ties"] = True


def national_instance(seed: int = 0, fiscal_year: int = 2026, aors: list[str] | None = None,
                      scale: float = 1.0, horizon_days: int = 1, transport_limits: bool = False,
                      transfers_per_day: int | None = None, local_ties: bool = False) -> dict:
    """Build the synthetic instance as a JSON-ready dict (MODEL.md §2, version 1, one day).

    * ``seed``: non-negative integer; the same arguments give the same dict.
    * ``fiscal_year``: ICE facility table to use (only 2026 is bundled).
    * ``aors``: AOR codes (e.g. ``["SNA", "HLG"]``) to keep only those AORs' facilities, people
      and ATD programs (the national case-management program is kept, its capacity scaled to the
      subset's share of the national ADP); ``None`` for the whole country.
    * ``scale``: multiplies ADPs (people), beds, guaranteed minimums and ATD slots; 0 < scale <= 20.
    * ``horizon_days``: 1 (a one-day snapshot) to 90; above 1, forecast arrivals and scheduled
      removals are added (see ``ALOS_DAYS``).
    * ``transport_limits``: set ``policy.max_transfers_per_day`` and every AOR's
      ``max_transfers_out_per_day`` (contract 1.1, see ``TRANSFERS_FY2007``); ``transfers_per_day``
      replaces the national figure taken from the FY2007 transfer rate.
    * ``local_ties``: give ``local_ties`` to about 20 % of people (see ``LOCAL_TIES_SHARE``).

    Both are off by default in this function (tests that build small instances get contract-1.0
    instances); ``bedalloc generate`` turns both on unless ``--no-transport-limits`` /
    ``--no-local-ties``.
    Turned off, the result is exactly the instance without those fields (same people, same draws).

    At scale 1 the national instance has ~66,000 people (FY2026 ADP, DOMAIN §1.2) and ~63,000 beds
    (DOMAIN §1.1).  Raises ``ValueError`` (one-line message) for bad arguments.  Fields equal to
    their MODEL.md default are omitted.
    """
    scale = _check_arguments(seed, fiscal_year, scale, horizon_days, transport_limits, transfers_per_day)
    codes = _parse_aors(aors)
    meta = FISCAL_YEARS[fiscal_year]
    rows = _read_csv(meta["facilities"])
    ids = _facility_ids(rows)
    total_adp = sum(_f(r, "adp_total") for r in rows)
    selected = [i for i, r in enumerate(rows) if codes is None or r["aor"] in codes]
    locate = _locator()
    facilities, people = _facilities_and_people(rows, ids, selected, seed, scale, locate, horizon_days)
    used = sorted({f["aor"] for f in facilities})
    aor_list = _aor_records(used, locate)
    share = sum(_f(rows[i], "adp_total") for i in selected) / total_adp
    name, generator = _name_and_generator(seed, fiscal_year, codes, scale, horizon_days)
    if horizon_days > 1:
        people += _forecast(people, [rows[i] for i in selected], seed, share * scale, horizon_days)
    top = {"format": "bedalloc-instance", "version": 1, "name": name, "snapshot_date": meta["snapshot_date"],
           "horizon_days": horizon_days}
    if transport_limits:
        national = _transport_limits(people, aor_list, facilities, transfers_per_day)
        top["policy"] = {"max_transfers_per_day": national}
        generator["transfers_per_day"] = national
    if local_ties:
        _local_ties(people, seed, {ids[i]: i for i in selected})
        generator["local_ties_share"] = LOCAL_TIES_SHARE
    return {
        **top,
        "x_generator": generator,
        "aors": aor_list,
        "facilities": facilities,
        "atd_programs": _atd_programs(used, scale, share),
        "people": people,
    }


def _check_arguments(seed, fiscal_year, scale, horizon_days, transport_limits, transfers_per_day) -> float:
    """Raise ``ValueError`` (one line naming the option) for a bad argument of
    :func:`national_instance`; returns ``scale`` as a float."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {seed!r}")
    if fiscal_year not in FISCAL_YEARS:
        raise ValueError(f"--fiscal-year {fiscal_year} is not bundled (available: {', '.join(map(str, FISCAL_YEARS))})")
    try:
        scale = float(scale)
    except (TypeError, ValueError):
        raise ValueError(f"--scale must be a number, got {scale!r}") from None
    if not math.isfinite(scale) or scale <= 0 or scale > MAX_SCALE:
        raise ValueError(f"--scale must be > 0 and <= {MAX_SCALE:g}, got {scale!r}")
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise ValueError(f"--horizon-days must be a whole number from 1 to {MAX_HORIZON_DAYS}, got {horizon_days!r}")
    if transfers_per_day is not None:
        if not transport_limits:
            raise ValueError("--transfers-per-day cannot be combined with --no-transport-limits")
        if (isinstance(transfers_per_day, bool) or not isinstance(transfers_per_day, int)
                or not 0 <= transfers_per_day <= MAX_LIMIT):
            raise ValueError(f"--transfers-per-day must be a whole number from 0 to {MAX_LIMIT:,}, "
                             f"got {transfers_per_day!r}")
    return scale


def _facilities_and_people(rows: list[dict], ids: list[str], selected: list[int], seed: int, scale: float,
                           locate, horizon_days: int) -> tuple[list[dict], list[dict]]:
    """The selected rows' facilities (sorted by id) and their people (in the same order)."""
    facilities, people = [], []
    for i in selected:
        built = _build_facility(i, rows[i], ids[i], seed, scale, locate, horizon_days)
        if built is None:
            continue
        facilities.append(built[0])
        people.extend(built[1])
    if not facilities:
        raise ValueError("no facility left: the scale is too small for the chosen AORs")
    facilities.sort(key=lambda f: f["id"])
    order = {f["id"]: k for k, f in enumerate(facilities)}
    people.sort(key=lambda p: order[p["origin"]])  # stable: keeps each facility's order
    return facilities, people


def _aor_records(codes: list[str], locate) -> list[dict]:
    """The AORs' records, with their field office's ZIP code as hub."""
    aor_rows = {r["code"]: r for r in _read_csv("aors.csv")}
    aor_list = []
    for c in codes:
        r = aor_rows[c]
        lat, lon, _ = locate(r["hub_zip"], r["hub_state"])
        aor_list.append({"code": c, "name": r["name"], "lat": lat, "lon": lon})
    return aor_list


def _name_and_generator(seed: int, fiscal_year: int, codes: list[str] | None, scale: float,
                        horizon_days: int) -> tuple[str, dict]:
    """The instance's ``name`` (AOR codes, ``-x<scale>`` and ``-<N>d`` appended to ``ice-fy<year>``)
    and the start of its ``x_generator`` annotation."""
    name = f"ice-fy{fiscal_year}"
    if codes is not None:
        name += "-" + "-".join(sorted(codes)).lower()
    if scale != 1.0:
        name += f"-x{scale:g}"
    generator = {"tool": "bedalloc generate", "seed": seed, "fiscal_year": fiscal_year,
                 "aors": sorted(codes) if codes is not None else None, "scale": scale}
    if horizon_days > 1:
        name += f"-{horizon_days}d"
        generator["horizon_days"] = horizon_days
    return name, generator


def to_json_text(instance: dict) -> str:
    """Compact JSON with stable key order: top-level scalars one per line, then each list with one
    record per line.  UTF-8 text ending with a newline."""
    def dump(x):
        return json.dumps(x, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    items = list(instance.items())
    out = ["{\n"]
    for k, (key, val) in enumerate(items):
        end = ",\n" if k < len(items) - 1 else "\n"
        if isinstance(val, list) and val:
            out.append(dump(key) + ":[\n" + ",\n".join(dump(v) for v in val) + "\n]" + end)
        else:
            out.append(dump(key) + ":" + dump(val) + end)
    out.append("}\n")
    return "".join(out)


def instance_stats(instance: dict) -> dict:
    """Counts for reports: people, beds, surge beds, units, facilities, programs, mandatory,
    at-limit (custody_days >= max_custody_days), families, minors, removed today, people with local
    ties, and the national transfer limit (None without one)."""
    units = [u for f in instance["facilities"] for u in f["units"]]
    people = instance["people"]
    return {
        "people": len(people),
        "beds": sum(u["beds"] for u in units),
        "surge_beds": sum(u.get("surge_beds", 0) for u in units),
        "units": len(units),
        "facilities": len(instance["facilities"]),
        "atd_programs": len(instance["atd_programs"]),
        "atd_slots": sum(p.get("capacity") or 0 for p in instance["atd_programs"]),
        "mandatory": sum(1 for p in people if p.get("mandatory")),
        "at_limit": sum(1 for p in people if "max_custody_days" in p
                        and p.get("custody_days", 0) >= p["max_custody_days"]),
        "families": len({p["family_id"] for p in people if p.get("family_id")}),
        "minors": sum(1 for p in people if p.get("minor")),
        "removed_today": sum(1 for p in people if p.get("removal_day") == 0),
        "local_ties": sum(1 for p in people if p.get("local_ties")),
        "max_transfers_per_day": instance.get("policy", {}).get("max_transfers_per_day"),
    }


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``bedalloc generate``."""
    parser.add_argument("--out", required=True, metavar="FILE", help="instance file to write (JSON)")
    parser.add_argument("--seed", type=int, default=0, help="random seed, >= 0 (default 0)")
    parser.add_argument("--aor", action="append", metavar="CODE",
                        help="keep only this AOR (repeatable, or a comma list, e.g. SNA,HLG); "
                             "default: the whole country")
    parser.add_argument("--scale", type=float, default=1.0,
                        help=f"multiply populations, beds and ATD slots (0 < scale <= {MAX_SCALE:g}; default 1)")
    parser.add_argument("--fiscal-year", type=int, default=2026, help="ICE fiscal year (only 2026 is bundled)")
    parser.add_argument("--horizon-days", type=int, default=1, metavar="N",
                        help=f"plan length in days, 1 to {MAX_HORIZON_DAYS} (default 1); above 1, forecast "
                             "arrivals from the monthly book-ins and scheduled removals from the average "
                             "length of stay are added")
    parser.add_argument("--no-transport-limits", dest="transport_limits", action="store_false",
                        help="leave out the transport limits (contract 1.1); by default the national "
                             "policy.max_transfers_per_day is ceil(261,941 / (365 x 30,000) x people held), "
                             "ICE's FY2007 transfer rate (~0.024 per person per day), and each AOR's "
                             "max_transfers_out_per_day is max(5, ceil(1.25 x the same rate x the people held in "
                             "the AOR's facilities)), its share of the national seats with 25 %% slack")
    parser.add_argument("--transfers-per-day", type=int, metavar="N",
                        help="national transfer limit per day instead of the FY2007 rate; the AOR limits follow "
                             "it (the rate becomes N / people held)")
    parser.add_argument("--no-local-ties", dest="local_ties", action="store_false",
                        help=f"leave out local_ties (contract 1.1); by default {LOCAL_TIES_SHARE * 100:g} %% of "
                             "people, drawn per family, may be held only in their origin facility or their own AOR")


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder and
    ``os.replace``; nothing is left behind on failure.  A symbolic link ``path`` is followed
    (:func:`optimizer.outdir.link_target`)."""
    from .outdir import link_target, ordinary_mode

    path = link_target(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, ordinary_mode(0o666))
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_records(path: str | os.PathLike, records: list[dict]) -> None:
    """Write ``records`` (dicts with the same keys) as CSV, a header of their keys first, with
    :func:`write_atomic`."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(records[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(records)
    write_atomic(path, buf.getvalue())


def run(args) -> int:
    """Generate and write the instance.  0 on success; 2 (one line on stderr, nothing written)
    for bad arguments or an unwritable --out."""
    prog = "bedalloc generate"
    out = Path(args.out)
    if out.is_dir():
        print(f"{prog}: error: --out {out} is a folder; give a file name", file=sys.stderr)
        return 2
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        print(f"{prog}: error: --out {out}: folder {folder} does not exist", file=sys.stderr)
        return 2
    from .outdir import unwritable

    why = unwritable(out)  # before any work (docs/reliability.md)
    if why:
        print(f"{prog}: error: --out {out}: {why}", file=sys.stderr)
        return 2
    try:
        inst = national_instance(seed=args.seed, fiscal_year=args.fiscal_year, aors=args.aor, scale=args.scale,
                                 horizon_days=args.horizon_days, transport_limits=args.transport_limits,
                                 transfers_per_day=args.transfers_per_day, local_ties=args.local_ties)
    except ValueError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    text = to_json_text(inst)
    try:
        write_atomic(out, text)
    except OSError as e:
        print(f"{prog}: error: cannot write {out}: {e.strerror or e}", file=sys.stderr)
        return 2
    s = instance_stats(inst)
    limit = "none" if s["max_transfers_per_day"] is None else s["max_transfers_per_day"]
    print(f"wrote {out}: {s['people']} people, {s['facilities']} facilities, {s['units']} units, "
          f"{s['beds']} beds (+{s['surge_beds']} surge), {s['atd_programs']} ATD programs, "
          f"{s['local_ties']} with local ties, transfer limit {limit} a day, "
          f"{len(text.encode('utf-8')) / 1e6:.1f} MB")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m optimizer.generate --out FILE`` (same options as ``bedalloc generate``)."""
    parser = argparse.ArgumentParser(prog="python -m optimizer.generate",
                                     description="Generate a synthetic bedalloc instance.")
    configure_parser(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
