"""The independent verifier: every rule and every objective level, recomputed from the instance
and the plan alone (MODEL.md §3, §4, §5).

It shares no code with the optimization model (``model.py``, ``engine.py``); it uses only
:mod:`optimizer.instance` for reading the instance and for :func:`effective_risk`.  It is the
test oracle and runs after every solve, on the in-memory rows, before anything is written.

Public API:

* :func:`read_plan` reads ``plan.csv`` into rows (``dict`` of column name -> cell string);
* :func:`verify` checks the rows against the instance and returns a :class:`Verification`.

Units: days, US dollars (USD), kilometres (km), beds.  Days are numbered ``0 .. horizon_days-1``.

Project decisions where MODEL.md leaves a question open (documented here and in the issue note):

* **Moving cost** (MODEL.md §3), read literally.  A person who occupies a unit (``detain``, or
  ``release`` with a ``unit_id``) whose unit is *not* in the ``origin`` facility pays
  ``transfer_usd_per_km`` x the great-circle distance from the origin point to the unit's
  facility, where the origin point is the origin facility, or the person's AOR hub when
  ``origin`` is null; plus ``transfer_fixed_usd`` *only* when ``origin`` is a facility (a person
  not yet placed pays the per-km part from the AOR hub but no fixed fee).  A person whose unit is
  in the origin facility pays nothing.  People released on arrival, unplaced or removed pay
  nothing.  Haversine with Earth radius 6371.0088 km.
* **Release after removal**: a ``release`` row with a unit whose ``release_day`` is on or after
  the person's ``removal_day`` is a violation (the person leaves by removal first; the row must
  say ``detain``).
* **Short stays** (MODEL.md §3 rule 5) apply to any occupant of a unit in a facility with
  ``max_stay_days``, including a person released later from it: such a person must have a
  ``removal_day`` with ``removal_day - arrival_day <= max_stay_days``.
* **Broken rows** do not stop the check: rows are matched to people by ``person_id``; a person
  without a row, a row with an unknown ``decision``, an unknown unit or program contributes
  nothing to occupancy, enrolments or the objective (beyond what the rest of its row implies);
  an unparseable or out-of-range ``release_day`` is taken as ``arrival_day`` for the objective
  (release on arrival, no bed).
  The objective of a plan with violations is informational only.
* ``counts.transfers`` counts the people who occupy a unit in a facility other than their
  ``origin`` facility (the recomputed ``transfer`` flag, not the plan's cell); so do the
  transport limits (rule 7) and ``transfers_by_aor``.
* **Pins** (rule 9) are checked from the instance's pins (``bedalloc check`` applies a plan
  folder's ``pins.csv`` first, see :mod:`optimizer.pinfile`).  The ``pinned`` column is checked
  only when the plan has it: a plan without it reads as all 0 (MODEL.md §5) and is not faulted
  for that; rule 9 itself does not depend on the column.
* A person whose row names an unknown unit occupies nothing, so is no transfer and breaks no
  local tie (the unknown unit is reported).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from pathlib import Path

import numpy as np

from .errors import InputError
from .instance import Instance, effective_risk, read_bytes

PLAN_COLUMNS = (
    "person_id", "decision", "facility_id", "unit_id",
    "atd_program_id", "release_day", "transfer", "effective_risk",
)
DECISIONS = ("detain", "release", "unplaced", "removed")
EARTH_RADIUS_KM = 6371.0088

# the Person fields the verifier reads, in unpacking order
_PERSON_FIELDS = (
    "id", "arrival_day", "removal_day", "risk", "humanitarian", "minor", "family_id", "origin",
    "sex", "level", "needs_medical", "max_custody_days", "custody_days", "mandatory", "aor",
)
_INT_RE = re.compile(r"-?[0-9]+\Z")


@dataclass(frozen=True)
class Verification:
    """The verdict on one plan (MODEL.md §3–§5).

    * ``violations``: one line per broken rule, ``RULE: SUBJECT: message``, where RULE is one of
      ``plan`` (rows vs people), ``decision``, ``removed``, ``cells``, ``unknown``, ``transfer``,
      ``effective_risk``, ``beds``, ``compatibility``, ``family``, ``atd``, ``law``,
      ``short_stay``, ``transport``, ``local_ties``, ``pins``, ``pinned`` (the column),
      ``unplaced`` (unplaced although a legal outcome was available), and
      SUBJECT names the person (``people[i] id=X``), unit, facility, program, family, or the AOR
      and day of a transport limit.  Empty when the plan is valid.
    * ``objective``: the four levels of MODEL.md §4, recomputed: ``unplaced`` (people, int),
      ``surge`` (surge bed-days, int), ``released_risk`` (float: sum of effective risk x
      (horizon - release_day) / horizon, computed exactly on the 0.0001 grid; for a one-day plan
      it is the 4-decimal sum of effective risks released), ``cost_usd`` (float, rounded to
      cents).
    * ``per_facility``: one dict per facility, instance order: ``id``, ``occupied`` (peak beds
      used over the plan's days, surge included), ``beds`` (sum of unit ``beds``, surge
      excluded), ``cost_usd`` (its detention cost as in §4 level 4, cents; one-day plans
      multiplied by ``policy.cost_days``).
    * ``per_program``: one dict per ATD program, instance order: ``id``, ``enrolled`` (released
      adults assigned to it), ``capacity`` (int or None for unlimited).
    * ``counts``: ``people``, ``detained``, ``released``, ``unplaced``, ``removed`` (rows by
      decision), ``transfers`` (occupants of a unit outside their origin facility) and
      ``pinned`` (people bound by a pin of the instance, their own or their family's).
    * ``per_day``: one dict per day of the plan: ``day``, ``occupied`` (beds used, surge
      included), ``released`` (release rows with that release day) and ``units_at_capacity``
      (units whose occupancy reaches their beds: where capacity binds).  Multi-day plans also
      give each facility ``occupied_by_day``.
    * ``transfers_by_aor``: summary.json's rows ``{aor, day, transfers, limit}`` (MODEL.md §5):
      every AOR in instance order and every day (transfers out of the AOR's facilities, counted
      from the recomputed transfer flags), then per day the national total (``aor`` None,
      ``limit`` the policy's ``max_transfers_per_day``).
    """

    violations: list[str]
    objective: dict
    per_facility: list[dict] = field(default_factory=list)
    per_program: list[dict] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    per_day: list[dict] = field(default_factory=list)
    transfers_by_aor: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the plan breaks no rule."""
        return not self.violations


# --------------------------------------------------------------------------------------------
# Reading plan.csv (MODEL.md §5)
# --------------------------------------------------------------------------------------------

def read_plan(path: str | Path) -> list[dict[str, str]]:
    """Read ``plan.csv`` (``path`` is the file, or a folder that contains ``plan.csv``).

    Returns one ``dict`` per data row, column name -> cell string (``""`` for an empty cell),
    in file order; entirely blank lines are skipped.  The header must start with exactly
    ``person_id,decision,facility_id,unit_id,atd_program_id,release_day,transfer,effective_risk``
    (MODEL.md §5); documented extra columns may follow (names must be distinct).  UTF-8, with or
    without a byte-order mark.

    Raises :class:`InputError` with one line naming the file (and the line number where
    relevant) for a missing, unreadable, empty, oversized, binary, non-UTF-8 or malformed file, a
    wrong header, or a row whose number of cells differs from the header's.  Rule violations
    (wrong ids, bad decisions, ...) are not checked here; that is :func:`verify`'s job."""
    p = Path(path)
    if p.is_dir():
        p = p / "plan.csv"

    def header_problem(header):
        if tuple(header[: len(PLAN_COLUMNS)]) != PLAN_COLUMNS:
            return f"the header must start with {','.join(PLAN_COLUMNS)}; got {','.join(header)[:120]!r}"
        return None

    return [r for _, r in read_csv(p, header_problem)]


def read_csv(p: Path, header_problem, max_rows: int | None = None) -> list[tuple[int, dict[str, str]]]:
    """The data rows of CSV file ``p`` as (line number, column name -> cell string), in file
    order, blank lines skipped; UTF-8 with or without a byte-order mark.  ``header_problem(header)``
    says what is wrong with the header (a list of column names, which must also be distinct), or
    None.  Raises :class:`InputError` (one line naming the file and the line) for an unreadable,
    empty, oversized, binary, non-UTF-8 or malformed file, a bad header, a row whose number of
    cells differs from the header's, or more than ``max_rows`` data rows (read no further)."""
    data = read_bytes(p)
    if b"\x00" in data:
        raise InputError([f"{p}: not a CSV text file (contains NUL bytes)"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError([f"{p}: not UTF-8 text (invalid byte at offset {e.start})"]) from None
    del data
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as e:
        raise InputError([f"{p}: line 1: malformed CSV header: {e}"]) from None
    why = header_problem(header)
    if why:
        raise InputError([f"{p}: line 1: {why}"])
    if len(set(header)) != len(header):
        raise InputError([f"{p}: line 1: repeated column name in the header"])
    ncol = len(header)
    rows: list[tuple[int, dict[str, str]]] = []
    append = rows.append
    try:
        for cells in reader:
            if not cells:
                continue
            if len(cells) != ncol:
                raise InputError([
                    f"{p}: line {reader.line_num}: {len(cells)} cells, the header has {ncol}"
                ])
            if max_rows is not None and len(rows) >= max_rows:
                raise InputError([f"{p}: line {reader.line_num}: more than {max_rows} data rows, one per person "
                                  "of the instance at most"])
            append((reader.line_num, dict(zip(header, cells))))
    except csv.Error as e:
        raise InputError([f"{p}: line {reader.line_num}: malformed CSV: {e}"]) from None
    return rows


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------

def _sum_distances_km(lat: list[float], lon: list[float], src: list[int], dst: list[int]) -> float:
    """Sum of great-circle distances in km between points ``src[k]`` and ``dst[k]`` (indices into
    ``lat``/``lon``, degrees): haversine, Earth radius 6371.0088 km (MODEL.md §3), vectorized."""
    la = np.radians(np.asarray(lat, dtype=np.float64))
    lo = np.radians(np.asarray(lon, dtype=np.float64))
    s = np.asarray(src, dtype=np.intp)
    d = np.asarray(dst, dtype=np.intp)
    p1, p2 = la[s], la[d]
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((lo[d] - lo[s]) / 2) ** 2
    dist = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return math.fsum(dist.tolist())


def _facility_day_cost(occ: int, gm: int, gm_rate: float, per_diem: float) -> float:
    """One facility, one day (MODEL.md §2): ``gm x gm_rate + per_diem x max(0, occ - gm)`` USD."""
    return gm * gm_rate + per_diem * max(0, occ - gm)


def _transport(inst: Instance, moves: list[tuple[str, int]], add) -> list[dict]:
    """Rule 7 (MODEL.md §3): transfers per (AOR of the origin facility, day) and per day, each
    count above its limit reported; returns summary.json's ``transfers_by_aor`` rows (every AOR
    in instance order and every day, then the national total per day, ``aor`` None).

    ``moves``: (origin facility, arrival day) of each transfer: a person with a facility
    ``origin`` who occupies a unit of another facility (released later from it or not); it
    happens on their ``arrival_day``, each family member counting once."""
    H = inst.horizon_days
    aor_of_fac = {f.id: f.aor for f in inst.facilities}
    col = {a.code: k for k, a in enumerate(inst.aors)}
    count = np.zeros((len(inst.aors), H), dtype=np.int64)
    for origin, day in moves:
        count[col[aor_of_fac[origin]], day] += 1
    table = []
    limits = [(a.code, a.max_transfers_out_per_day, row) for a, row in zip(inst.aors, count)]
    limits.append((None, inst.policy.max_transfers_per_day, count.sum(axis=0)))
    for code, limit, per_day in limits:
        for t, c in enumerate(per_day.tolist()):
            table.append({"aor": code, "day": t, "transfers": c, "limit": limit})
            if limit is not None and c > limit:
                add(f"transport: AOR {code} day {t}: {c} transfers out of its facilities, "
                    f"max_transfers_out_per_day {limit}" if code is not None else
                    f"transport: day {t}: {c} transfers in all, policy max_transfers_per_day {limit}")
    return table


def _local_ties(inst: Instance, fac_of: list[str | None], add) -> None:
    """Rule 8 (MODEL.md §3): a person with ``local_ties`` occupies a unit only in their origin
    facility or in a facility of their own ``aor`` (``fac_of[i]``: the facility whose unit person
    i occupies, None without a bed)."""
    aor_of_fac = {f.id: f.aor for f in inst.facilities}
    for i, (p, f) in enumerate(zip(inst.people, fac_of)):
        if p.local_ties and f is not None and f != p.origin and aor_of_fac[f] != p.aor:
            add(f"local_ties: people[{i}] id={p.id}: has local ties in AOR {p.aor} but occupies a unit of "
                f"facility {f} (AOR {aor_of_fac[f]})"
                + (f", not of the origin facility {p.origin}" if p.origin is not None else ""))


def _pin_carriers(inst: Instance) -> dict[int, list[int]]:
    """Person index -> the indices of the people whose pins bind them (MODEL.md §2 ``pin``: their
    own, and every family member's); only people bound by some pin are keys."""
    people = inst.people
    carriers = [j for j, p in enumerate(people) if p.pin is not None]
    if not carriers:
        return {}
    families: dict[str, list[int]] = {}
    for i, p in enumerate(people):
        if p.family_id is not None:
            families.setdefault(p.family_id, []).append(i)
    bound: dict[int, list[int]] = {}
    for j in carriers:
        fid = people[j].family_id
        for i in families[fid] if fid is not None else (j,):
            bound.setdefault(i, []).append(j)
    return bound


def _pin_broken(pin, r: dict[str, str], uinfo: dict, own: bool) -> list[str]:
    """How row ``r`` breaks ``pin`` (empty when it keeps it).  A pin binds the decision, the unit
    or facility and the release day of everyone it binds; its program only the adult who carries
    it (``own``)."""
    dec = r.get("decision")
    if dec != pin.decision:
        never = " (a pinned person is never unplaced)" if dec == "unplaced" else ""
        return [f"pinned to {pin.decision}, but the plan says {dec}{never}"]
    if pin.decision == "detain":
        uid = r.get("unit_id") or ""
        fac = uinfo[uid][1] if uid in uinfo else r.get("facility_id") or ""
        if pin.unit is not None and uid != pin.unit:
            return [f"pinned to unit {pin.unit}, but detained in unit {uid or '(none)'}"]
        if pin.facility is not None and fac != pin.facility:
            return [f"pinned to facility {pin.facility}, but detained in facility {fac or '(none)'}"]
        return []
    out = []
    day = r.get("release_day") or ""
    if pin.release_day is not None and not (_INT_RE.match(day) and int(day) == pin.release_day):
        out.append(f"pinned to release_day {pin.release_day}, but the plan says {day or '(none)'}")
    prog = r.get("atd_program_id") or ""
    if own and pin.atd_program is not None and prog != pin.atd_program:
        out.append(f"pinned to ATD program {pin.atd_program}, but the plan says {prog or '(none)'}")
    return out


def _pins(inst: Instance, row_of: list, uinfo: dict, add) -> int:
    """Rule 9 (MODEL.md §3) and the ``pinned`` column (§5, checked where the plan has it: a plan
    without it reads as all 0 and rule 9 is still checked from the instance).  Returns the number
    of people bound by a pin."""
    people = inst.people
    bound = _pin_carriers(inst)
    for i, js in bound.items():
        r = row_of[i]
        if r is None:  # reported as a missing row
            continue
        for j in js:
            whose = "" if i == j else f" (the pin of family member people[{j}] id={people[j].id})"
            for why in _pin_broken(people[j].pin, r, uinfo, i == j):
                add(f"pins: people[{i}] id={people[i].id}: {why}{whose}")
    wrong = [i for i, r in enumerate(row_of)
             if r is not None and r.get("pinned", "1" if i in bound else "0") != ("1" if i in bound else "0")]
    for i in wrong:
        want, what = ("1", "is bound by a pin") if i in bound else ("0", "is bound by no pin")
        add(f"pinned: people[{i}] id={people[i].id}: pinned is {row_of[i]['pinned']!r}, expected {want} "
            f"(the person {what})")
    return len(bound)


# --------------------------------------------------------------------------------------------
# Needless "unplaced": a legal outcome was available given the rest of the plan (MODEL.md §3, §4)
# --------------------------------------------------------------------------------------------

_CHUNK = 4096  # blocks compared with every unit at once (bounds the block x unit matrices)


def _unplaced_blocks(inst: Instance, row_of: list, bound: dict) -> list[list[int]]:
    """The unplaced people who share one outcome (a family whose members are all unplaced, or a
    single person), leaving out anyone bound by a pin (reported under ``pins``), people who need
    no decision (``removed``) and families with mixed outcomes (``family``)."""
    blocks: dict[str, list[int]] = {}
    whole: dict[str, bool] = {}
    for i, (p, r) in enumerate(zip(inst.people, row_of)):
        unplaced = (r is not None and r.get("decision") == "unplaced" and i not in bound
                    and (p.removal_day is None or p.removal_day > p.arrival_day))
        key = p.family_id if p.family_id is not None else f"\0{i}"
        whole[key] = whole.get(key, True) and unplaced
        if unplaced:
            blocks.setdefault(key, []).append(i)
    return [members for key, members in blocks.items() if whole[key]]


def _window_min(free: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """(blocks, units): the least of ``free`` (units, days) over the days ``[start, stop)`` of
    each block (a sparse table of doubling windows: two lookups per block)."""
    tables = [free]
    while 2 ** len(tables) <= free.shape[1]:
        prev, half = tables[-1], 2 ** (len(tables) - 1)
        tables.append(np.minimum(prev[:, :-half], prev[:, half:]))
    k = np.floor(np.log2(stop - start)).astype(np.int64)
    out = np.empty((len(start), free.shape[0]), dtype=free.dtype)
    for level in np.unique(k).tolist():
        rows = np.flatnonzero(k == level)
        t = tables[level]
        out[rows] = np.minimum(t[:, start[rows]], t[:, stop[rows] - 2 ** level]).T
    return out


def _units_left(inst: Instance, occ: dict, moves: list[tuple[str, int]]) -> dict:
    """The units as arrays (instance order) with the beds the plan leaves free per day (surge
    beds not counted), and the transport seats it leaves per (AOR, day) and per day nationally
    (MODEL.md §3 rule 7; None when the instance has no transport limit)."""
    units = [(f, u) for f in inst.facilities for u in f.units]
    H = inst.horizon_days
    aor_of = {a.code: k for k, a in enumerate(inst.aors)}
    fac_of = {f.id: k for k, f in enumerate(inst.facilities)}
    free = np.repeat(np.array([u.beds for _, u in units], dtype=np.int64)[:, None], H, axis=1)
    for k, (_, u) in enumerate(units):
        if u.id in occ:
            free[k] -= np.asarray(occ[u.id], dtype=np.int64)
    limits = [a.max_transfers_out_per_day for a in inst.aors] + [inst.policy.max_transfers_per_day]
    seats = None
    if any(x is not None for x in limits):
        seats = np.repeat(np.array([len(inst.people) if x is None else x for x in limits], np.int64)[:, None], H, 1)
        for origin, day in moves:
            seats[[aor_of[inst.facilities[fac_of[origin]].aor], -1], day] -= 1
    return {"free": free, "seats": seats, "fac": np.array([fac_of[f.id] for f, _ in units], dtype=np.int64),
            "fac_aor": np.array([aor_of[f.aor] for f in inst.facilities], dtype=np.int64),
            "sex": np.array([u.sex for _, u in units]), "medical": np.array([u.medical for _, u in units], bool),
            "levels": np.array([[lv in u.levels for lv in "ABCD"] for _, u in units], bool).reshape(-1, 4),
            "family": np.array([u.family for _, u in units], bool),
            "stay": np.array([np.inf if f.max_stay_days is None else f.max_stay_days for f, _ in units]),
            "ids": [u.id for _, u in units]}


def _fits(inst: Instance, people: list, U: dict) -> tuple[np.ndarray, dict]:
    """(people, units): the units each person may hold a bed in for their whole stay in the plan
    (compatibility, the custody limit, short stays, local ties: MODEL.md §3 rules 2, 4, 5, 8), and
    the people's arrays used for it (``arrival``, ``leave``, ``origin``)."""
    H = inst.horizon_days
    aor_of = {a.code: k for k, a in enumerate(inst.aors)}
    fac_of = {f.id: k for k, f in enumerate(inst.facilities)}
    P = {"arrival": np.array([p.arrival_day for p in people], dtype=np.int64),
         "leave": np.array([H if p.removal_day is None else min(p.removal_day, H) for p in people], dtype=np.int64),
         "origin": np.array([-1 if p.origin is None else fac_of[p.origin] for p in people], dtype=np.int64)}
    legal = np.array([p.max_custody_days is None or p.custody_days + (e - 1 - p.arrival_day) < p.max_custody_days
                      for p, e in zip(people, P["leave"].tolist())], dtype=bool)
    stay = np.array([np.inf if p.removal_day is None else p.removal_day - p.arrival_day for p in people])
    col = lambda values, dtype=bool: np.array(values, dtype=dtype)[:, None]  # noqa: E731
    fits = (((U["sex"] == col([p.sex for p in people], "<U1")) | (U["sex"] == "any"))
            & (U["levels"][:, [0 if p.level is None else "ABCD".index(p.level) for p in people]].T
               | col([p.minor for p in people]))
            & (U["medical"] | ~col([p.needs_medical for p in people]))
            & (U["family"] == col([p.family_id is not None for p in people]))
            & (stay[:, None] <= U["stay"]) & legal[:, None])
    u_aor = U["fac_aor"][U["fac"]]
    fits &= (~col([p.local_ties for p in people]) | (U["fac"] == P["origin"][:, None])
             | (u_aor == col([aor_of[p.aor] for p in people], np.int64)))
    return fits, P


def _bed_for(inst: Instance, blocks: list[list[int]], U: dict) -> np.ndarray:
    """Per block, a unit (index in instance order) with a free bed (not a surge bed) on every day
    the block needs one, that every member fits (:func:`_fits`), reachable within the transport
    seats left on the arrival day; -1 where there is none."""
    found = np.full(len(blocks), -1, dtype=np.int64)
    for lo in range(0, len(blocks) if U["ids"] else 0, _CHUNK):  # no unit, no bed
        chunk = blocks[lo:lo + _CHUNK]
        starts = np.cumsum([0] + [len(b) for b in chunk])[:-1]
        fits, P = _fits(inst, [inst.people[i] for b in chunk for i in b], U)
        fits = np.logical_and.reduceat(fits, starts, axis=0)  # members share arrival and removal (v1)
        size = np.diff(np.append(starts, len(P["origin"])))
        arrival, origin = P["arrival"][starts], P["origin"][starts]
        fits &= _window_min(U["free"], arrival, P["leave"][starts]) >= size[:, None]
        if U["seats"] is not None:  # a unit outside the origin facility is a transfer for each member
            one_origin = np.minimum.reduceat(P["origin"], starts) == np.maximum.reduceat(P["origin"], starts)
            seats = np.minimum(U["seats"][U["fac_aor"][np.maximum(origin, 0)], arrival], U["seats"][-1, arrival])
            moved = (U["fac"] != origin[:, None]) & (origin >= 0)[:, None] | ~one_origin[:, None]
            fits &= ~moved | ((seats >= size) & one_origin)[:, None]
        found[lo:lo + len(chunk)] = np.where(fits.any(axis=1), fits.argmax(axis=1), -1)
    return found


def _slot_for(inst: Instance, blocks: list[list[int]], enrolled: dict) -> list[str | None]:
    """Per block, an ATD program with a free slot for it when it may be released (no mandatory
    member; each adult an eligible program with room, minors none: MODEL.md §3 rules 3, 4), else
    None.  Families' adults take the programs one by one, the most restricted first."""
    progs = inst.atd_programs
    left = np.array([len(inst.people) if q.capacity is None else q.capacity - enrolled.get(q.id, 0) for q in progs],
                    dtype=np.int64)
    max_risk = np.array([q.max_risk for q in progs], dtype=float)
    q_aor = np.array([q.aor if q.aor is not None else "" for q in progs], dtype=object)
    out: list[str | None] = [None] * len(blocks)
    for b, members in enumerate(blocks):
        people = [inst.people[i] for i in members]
        if any(p.mandatory for p in people) or not len(progs):
            continue
        adults = [p for p in people if not p.minor]
        ok = ((max_risk >= np.array([p.risk for p in adults])[:, None])
              & ((q_aor == "") | (q_aor == np.array([p.aor for p in adults], dtype=object)[:, None])))
        room, first = left.copy(), None
        for row in ok[np.argsort(ok.sum(axis=1), kind="stable")]:
            q = np.flatnonzero(row & (room > 0))
            if not len(q):
                break
            room[q[0]] -= 1
            first = progs[q[0]].id if first is None else first
        else:
            out[b] = first
    return out


def _needless_unplaced(inst: Instance, row_of: list, occ: dict, enrolled: dict, moves: list, add) -> None:
    """An unplaced person or family for whom, given the rest of the plan, a legal outcome was
    available (MODEL.md §1, §3 ``unplaced``: no legal outcome exists): a free compatible bed
    (:func:`_bed_for`) or, when they may be released, a free slot in an eligible ATD program
    (:func:`_slot_for`)."""
    blocks = _unplaced_blocks(inst, row_of, _pin_carriers(inst))
    if not blocks:
        return
    U = _units_left(inst, occ, moves)
    beds, slots = _bed_for(inst, blocks, U), _slot_for(inst, blocks, enrolled)
    for members, unit, program in zip(blocks, beds.tolist(), slots):
        if unit < 0 and program is None:
            continue
        p = inst.people[members[0]]
        who = (f"family {p.family_id} ({len(members)} people, first people[{members[0]}] id={p.id})"
               if p.family_id is not None else f"people[{members[0]}] id={p.id}")
        what = (f"a free bed in unit {U['ids'][unit]} on every day of the stay" if unit >= 0
                else f"a free slot in ATD program {program} (release is allowed)")
        add(f"unplaced: {who}: unplaced although {what} was available")


def verify(inst: Instance, rows: list[dict[str, str]]) -> Verification:
    """Check a plan against every rule and recompute the objective (MODEL.md §3, §4, §5).

    ``inst`` is a validated :class:`~optimizer.instance.Instance`; ``rows`` are the plan's rows
    as produced by :func:`read_plan` (or the solver's in-memory rows): ``dict`` column name ->
    cell string, ``""`` for an empty cell.  Works for any ``horizon_days`` (one-day plans are
    the common case).  Linear in people + units x days.

    Rules checked (source in brackets):

    * rows [§5]: one row per person, in instance order, ``person_id`` matching; missing,
      unknown, repeated and out-of-order rows are reported;
    * ``decision`` in detain/release/unplaced/removed [§5]; ``removed`` exactly when
      ``removal_day <= arrival_day`` [§3];
    * cells [§5]: ``unit_id`` on every detain row; ``facility_id`` filled exactly when
      ``unit_id`` is, and equal to the unit's facility; ``atd_program_id`` only on release rows;
      ``release_day`` only on release rows, an integer in ``[arrival_day, horizon_days)``; a
      release without unit has ``release_day == arrival_day``, a release with a unit has
      ``release_day > arrival_day`` (and before ``removal_day``); nothing but ``transfer=0`` and
      ``effective_risk`` on unplaced and removed rows;
    * unknown unit, facility and program ids;
    * ``transfer`` is ``0``/``1`` and equals 1 exactly when ``origin`` is a facility and the
      person occupies a unit in another facility [§5];
    * ``effective_risk`` equals the recomputed effective risk, compared on the 0.0001 grid [§2];
    * beds [§3 rule 1]: per unit and day, occupancy <= ``beds + surge_beds``; a person occupies
      a bed on day t when ``arrival_day <= t < min(release_day, removal_day, horizon_days)``;
    * compatibility [§3 rule 2]: unit sex equal or ``any``; adult's level listed (minors not
      checked); ``medical`` unit when ``needs_medical``; ``family`` unit exactly when the person
      has a ``family_id``; all members of a family get the same outcome (same unit and release
      day, all unplaced, or all removed);
    * ATD [§3 rule 3]: a released adult has a program with ``max_risk >= risk`` (raw risk) and
      ``aor`` null or the person's; a released minor has none; per program, enrolments <=
      ``capacity``;
    * law [§3 rule 4]: a ``mandatory`` person is never released; no bed on a day t with
      ``custody_days + (t - arrival_day) >= max_custody_days``;
    * short stays [§3 rule 5]: a unit in a facility with ``max_stay_days`` only for a person
      with ``removal_day - arrival_day <= max_stay_days`` (removal_day not null);
    * one placement [§3 rule 6] holds by the row format (one unit per row);
    * transport [§3 rule 7]: per day, the transfers out of each AOR's facilities (the AOR of the
      origin facility) <= its ``max_transfers_out_per_day``, all transfers <=
      ``max_transfers_per_day``; a transfer occupies a unit outside its facility ``origin``
      (released later or not) and counts on its ``arrival_day``, once per family member;
    * local ties [§3 rule 8]: a person with ``local_ties`` occupies a unit only in the origin
      facility or a facility of their ``aor``;
    * pins [§3 rule 9]: each pinned person's outcome is the pinned decision (never unplaced),
      unit or facility and release day, a member's pin binding the whole family, a pinned
      program its adult only; ``pinned`` is 1 exactly on the rows of people bound by a pin
      (checked where the plan has the column);
    * unplaced [§1, §3, §4 level 1: "no legal outcome exists"]: no unplaced person or family
      (people bound by pins and families with mixed outcomes are reported by their own rules) for
      whom, given the rest of the plan, a compatible unit allowed by short stays and local ties
      has a free bed (beds, not surge beds) on every day of their stay that the custody limit lets
      them hold, with transport seats left on their arrival day when it is a transfer; or who may
      be released (no mandatory member) with an eligible ATD program with a free slot for each
      adult.  Vectorised over people x units.

    Objective [§4] and the per-facility, per-program and count tables: see
    :class:`Verification` and the module docstring (moving-cost reading)."""
    violations: list[str] = []
    add = violations.append
    H = inst.horizon_days
    look = _Lookups.of(inst)
    row_of = _match_rows(inst.people, rows, add)
    tally = _person_pass(inst, row_of, look, add)
    transfers_by_aor = _transport(inst, tally.moves, add)
    _local_ties(inst, tally.fac_of, add)
    n_pinned = _pins(inst, row_of, look.uinfo, add)
    move_cost = _moving_cost(inst.policy, tally, look)
    if tally.decisions["unplaced"]:  # otherwise no row to look at (a pass over everyone)
        _needless_unplaced(inst, row_of, tally.occ, tally.enrolled, tally.moves, add)
    surge, fac_occ = _beds_and_surge(tally.occ, look.uinfo, add)
    per_program = _atd_capacity(inst, tally.enrolled, add)
    mult = inst.policy.cost_days if H == 1 else 1
    per_facility, det_costs = _detention_costs(inst, fac_occ, mult)
    per_day = _per_day(H, tally, look.uinfo)
    total_cost = math.fsum(det_costs) + tally.atd_cost * mult + move_cost
    objective, counts = _objective_and_counts(inst, tally, surge, total_cost, n_pinned)
    return Verification(violations, objective, per_facility, per_program, counts, per_day, transfers_by_aor)


@dataclass(frozen=True)
class _Lookups:
    """The instance's tables the checks look up: ``uinfo`` unit id -> (unit, facility id, set of
    levels, facility ``max_stay_days``), facilities and programs by id, and the distance points
    (facility k -> k, AOR hub j -> ``len(facilities) + j``) with their coordinates."""

    uinfo: dict
    fac_by_id: dict
    prog_by_id: dict
    pt_fac: dict
    pt_aor: dict
    pt_lat: list
    pt_lon: list

    @classmethod
    def of(cls, inst: Instance) -> _Lookups:
        facilities = inst.facilities
        uinfo = {}
        for f in facilities:
            for u in f.units:
                uinfo[u.id] = (u, f.id, frozenset(u.levels), f.max_stay_days)
        return cls(
            uinfo=uinfo,
            fac_by_id={f.id: f for f in facilities},
            prog_by_id={p.id: p for p in inst.atd_programs},
            pt_fac={f.id: k for k, f in enumerate(facilities)},
            pt_aor={a.code: len(facilities) + j for j, a in enumerate(inst.aors)},
            pt_lat=[f.lat for f in facilities] + [a.lat for a in inst.aors],
            pt_lon=[f.lon for f in facilities] + [a.lon for a in inst.aors],
        )


def _match_rows(people: list, rows: list[dict[str, str]], add) -> list[dict | None]:
    """Rows matched to people (MODEL.md §5: one row per person, in instance order): ``row_of[i]``
    is person i's row or None; unknown, repeated and out-of-order rows and people without a row
    are reported."""
    if len(rows) == len(people) and [r.get("person_id") for r in rows] == [p.id for p in people]:
        return rows
    index = {p.id: i for i, p in enumerate(people)}
    row_of: list[dict | None] = [None] * len(people)
    first_row: dict[str, int] = {}
    last_i = -1
    order_reported = False
    for k, r in enumerate(rows):
        pid = r.get("person_id") or ""
        i = index.get(pid)
        if i is None:
            add(f"plan: row {k + 1}: person_id={pid!r} is not a person of the instance")
            continue
        if pid in first_row:
            add(f"plan: row {k + 1}: person_id={pid} repeats row {first_row[pid] + 1} "
                f"(one row per person)")
            continue
        first_row[pid] = k
        row_of[i] = r
        if i < last_i and not order_reported:
            add(f"plan: row {k + 1}: people[{i}] id={pid} comes after people[{last_i}] "
                f"id={people[last_i].id}; rows must follow the instance order")
            order_reported = True
        last_i = max(last_i, i)
    for i, r in enumerate(row_of):
        if r is None:
            add(f"plan: people[{i}] id={people[i].id}: no row in the plan")
    return row_of


@dataclass
class _Tally:
    """What the per-person pass gathers for the rules over many people and the objective.

    ``occ``: unit -> beds used per day; ``enrolled``: program -> people; ``decisions``: rows by
    decision; ``released_on``: release rows by release day; ``fac_of``: the facility whose unit
    each person occupies (None without a bed); ``moves``: (origin facility, arrival day) of each
    transfer; ``risk_grid``: released risk in units of 0.0001 / horizon_days; ``atd_cost``: ATD
    per diems x days, USD; ``move_src``, ``move_dst``: distance points of the occupants who pay
    the per-km moving cost."""

    occ: dict = field(default_factory=dict)
    enrolled: dict = field(default_factory=dict)
    decisions: dict = field(default_factory=lambda: dict.fromkeys(DECISIONS, 0))
    released_on: list = field(default_factory=list)
    fac_of: list = field(default_factory=list)
    moves: list = field(default_factory=list)
    risk_grid: int = 0
    atd_cost: float = 0.0
    move_src: list = field(default_factory=list)
    move_dst: list = field(default_factory=list)


def _person_pass(inst: Instance, row_of: list, look: _Lookups, add) -> _Tally:
    """Every rule on one person's row [§2, §3 rules 2-5, §5], in one pass over the people, and
    the tallies of :class:`_Tally` (occupancy of multi-day plans from difference arrays)."""
    people = inst.people
    H = inst.horizon_days
    table = inst.policy.factors()
    prog_by_id = look.prog_by_id
    tally = _Tally(released_on=[0] * H, fac_of=[None] * len(people))
    occ, enrolled, n_dec, released_on, fac_of = (tally.occ, tally.enrolled, tally.decisions,
                                                  tally.released_on, tally.fac_of)
    diff: dict[str, list[int]] = {}  # multi-day: unit -> difference array of occupancy
    fam_first: dict[str, tuple[int, tuple, str]] = {}  # family -> (first member, outcome key, text)
    risk_grid = 0
    atd_cost = 0.0
    eff_of: dict = {}  # (risk, factors) -> effective risk: a few thousand distinct nationally
    cells_of = itemgetter(*PLAN_COLUMNS[1:])
    person_fields = attrgetter(*_PERSON_FIELDS)

    for i, (p, r) in enumerate(zip(people, row_of)):
        if r is None:
            continue
        try:
            dec, fac, uid, prog, rday_s, tr, er = cells_of(r)
        except KeyError:
            dec, fac, uid, prog, rday_s, tr, er = (r.get(c) or "" for c in PLAN_COLUMNS[1:])
        person = person_fields(p)
        pid, arrival, removal, risk, hum, minor, family_id, origin, _, _, _, _, _, mandatory, paor = person

        eff = eff_of.get((risk, *hum))
        if eff is None:
            eff = eff_of[(risk, *hum)] = effective_risk(risk, hum, table)
        cells = _check_cells(i, pid, er, eff, dec, fac, uid, prog, rday_s, arrival, removal, look, add)
        if cells is None:  # no known decision: the row says nothing more
            continue
        info, ufac = cells
        rday = _check_release_day(i, pid, uid, rday_s, arrival, removal, H, add) if dec == "release" else arrival

        # occupancy interval [arrival, end) [§3]
        occupies = False
        end = arrival
        if info is not None:
            end = H if removal is None or removal > H else removal
            if dec == "release" and rday < end:
                end = rday  # rday == arrival_day (no bed) when release_day is not valid
            occupies = end > arrival
        moved = occupies and origin is not None and ufac != origin
        if tr != ("1" if moved else "0"):
            _report_transfer_cell(i, pid, tr, moved, occupies, origin, uid, ufac, add)
        if info is not None:
            _check_placement(i, person, info, uid, occupies, end, add)
        if dec == "release":
            pr = _check_release(i, pid, prog, risk, minor, mandatory, paor, prog_by_id, add)
            if pr is not None:
                enrolled[prog] = enrolled.get(prog, 0) + 1
                atd_cost += pr.per_diem * (H - rday)
            released_on[rday] += 1
            risk_grid += round(eff * 10000) * (H - rday)
        if family_id is not None:
            _check_family(i, pid, dec, uid, rday_s, family_id, fam_first, people, add)
        n_dec[dec] += 1
        if occupies:  # a bed on days arrival .. end - 1
            fac_of[i] = ufac
            if H > 1:
                _stay(diff, uid, arrival, end, H)
            elif uid in occ:
                occ[uid][0] += 1
            else:
                occ[uid] = [1]
            if ufac != origin:
                _move(tally, look, origin, paor, ufac, arrival, moved)

    tally.risk_grid, tally.atd_cost = risk_grid, atd_cost
    if H > 1:
        for uid, d in diff.items():
            occ[uid] = list(itertools.accumulate(d[:H]))
    return tally


def _check_cells(i: int, pid: str, er: str, eff: float, dec: str, fac: str, uid: str, prog: str,
                 rday_s: str, arrival: int, removal: int | None, look: _Lookups, add) -> tuple | None:
    """The row's cells [§5]: ``effective_risk`` equal to the recomputed ``eff`` on the 0.0001
    grid [§2]; a known ``decision``, ``removed`` exactly when ``removal_day <= arrival_day`` [§3];
    the cells each decision fills and leaves empty; known unit and facility ids, ``facility_id``
    the unit's facility.  Returns None for an unknown decision, else the unit's ``uinfo`` entry
    (None when the row occupies no known unit) and its facility."""
    try:
        er_val = float(er)  # nan and inf never equal eff: reported below
    except (ValueError, TypeError):
        add(f"effective_risk: people[{i}] id={pid}: cell {er!r} is not a number "
            f"(expected {eff:.4f})")
    else:
        if er_val != eff and round(er_val, 4) != eff:
            add(f"effective_risk: people[{i}] id={pid}: plan says {er}, recomputed {eff:.4f}")
    if dec not in DECISIONS:
        add(f"decision: people[{i}] id={pid}: {dec!r} is not one of detain, release, "
            f"unplaced, removed")
        return None
    if removal is not None and removal <= arrival:
        if dec != "removed":
            add(f"removed: people[{i}] id={pid}: removal_day {removal} <= arrival_day "
                f"{arrival} needs no decision; the row must say removed, not {dec}")
    elif dec == "removed":
        add(f"removed: people[{i}] id={pid}: removal_day {removal} is not <= arrival_day "
            f"{arrival}; the person needs a decision")
    if dec == "detain":
        if not uid:
            add(f"cells: people[{i}] id={pid}: a detain row needs a unit_id")
        if prog:
            add(f"cells: people[{i}] id={pid}: atd_program_id {prog!r} must be empty on a "
                f"detain row")
        if rday_s:
            add(f"cells: people[{i}] id={pid}: release_day {rday_s!r} is filled on a detain "
                f"row (release_day only on release rows)")
    elif dec != "release":  # unplaced, removed
        for col, val in (("facility_id", fac), ("unit_id", uid),
                         ("atd_program_id", prog), ("release_day", rday_s)):
            if val:
                add(f"cells: people[{i}] id={pid}: {col} {val!r} must be empty on a {dec} row")
    info = None
    ufac = None
    if uid and dec != "unplaced" and dec != "removed":
        info = look.uinfo.get(uid)
        if info is None:
            add(f"unknown: people[{i}] id={pid}: unit_id {uid!r} is not a unit of the instance")
        else:
            ufac = info[1]
    if fac != ufac and (fac or ufac is not None):
        if fac and fac not in look.fac_by_id:
            add(f"unknown: people[{i}] id={pid}: facility_id {fac!r} is not a facility of "
                f"the instance")
        elif ufac is not None:
            add(f"cells: people[{i}] id={pid}: facility_id {fac!r} but unit {uid} is in "
                f"facility {ufac}")
        elif not uid and dec != "unplaced" and dec != "removed":
            add(f"cells: people[{i}] id={pid}: facility_id {fac!r} without a unit_id")
    return info, ufac


def _check_release_day(i: int, pid: str, uid: str, rday_s: str, arrival: int, removal: int | None,
                       H: int, add) -> int:
    """A release row's ``release_day`` [§3, §5]: an integer in ``[arrival_day, horizon_days)``,
    equal to ``arrival_day`` without a unit, after it with one, and before ``removal_day``.
    Returns the release day the objective counts (``arrival_day`` when the cell is not valid)."""
    if not rday_s:
        add(f"cells: people[{i}] id={pid}: a release row needs a release_day")
    elif not _INT_RE.match(rday_s):
        add(f"cells: people[{i}] id={pid}: release_day {rday_s!r} is not an integer")
    else:
        d = int(rday_s)
        if d < arrival or d >= H:
            add(f"cells: people[{i}] id={pid}: release_day {d} is outside "
                f"[arrival_day {arrival}, horizon_days {H})")
        elif not uid:
            if d != arrival:
                add(f"cells: people[{i}] id={pid}: release without a unit means release "
                    f"on arrival: release_day {d} != arrival_day {arrival}")
        elif d <= arrival:
            add(f"cells: people[{i}] id={pid}: release from unit {uid} needs release_day "
                f"{d} > arrival_day {arrival} (release on arrival has no unit)")
        elif removal is not None and d >= removal:
            add(f"cells: people[{i}] id={pid}: release_day {d} is on or after removal_day "
                f"{removal}; the person leaves by removal first (the row must say detain)")
        return d if arrival <= d < H else arrival
    return arrival


def _report_transfer_cell(i: int, pid: str, tr: str, moved: bool, occupies: bool, origin: str | None,
                          uid: str, ufac: str | None, add) -> None:
    """The ``transfer`` cell is not the recomputed flag [§5]: 1 exactly when ``origin`` is a
    facility and the person occupies a unit in another facility."""
    if tr != "0" and tr != "1":
        add(f"transfer: people[{i}] id={pid}: cell {tr!r} must be 0 or 1")
    else:
        why = (f"origin {origin}, unit {uid} in facility {ufac}" if occupies
               else "the person occupies no unit")
        add(f"transfer: people[{i}] id={pid}: transfer is {tr}, expected {int(moved)} "
            f"({why})")


def _check_placement(i: int, person: tuple, info: tuple, uid: str, occupies: bool, end: int, add) -> None:
    """A person in a unit: compatibility [§3 rule 2], and while they occupy a bed (days
    ``arrival_day .. end - 1``) the custody limit [rule 4] and short stays [rule 5]."""
    (pid, arrival, removal, _, _, minor, family_id, _, psex, plevel,
     pmed, mcd, custody, _, _) = person
    unit, ufac, levels, max_stay = info
    if unit.sex != psex and unit.sex != "any":
        add(f"compatibility: people[{i}] id={pid}: sex {psex} in unit {uid} for sex "
            f"{unit.sex}")
    if not minor and plevel not in levels:
        add(f"compatibility: people[{i}] id={pid}: level {plevel} in unit {uid} with "
            f"levels {''.join(unit.levels)}")
    if pmed and not unit.medical:
        add(f"compatibility: people[{i}] id={pid}: needs a medical bed; unit {uid} is "
            f"not medical")
    if unit.family != (family_id is not None):
        if unit.family:
            add(f"compatibility: people[{i}] id={pid}: has no family_id but is in "
                f"family unit {uid}")
        else:
            add(f"compatibility: people[{i}] id={pid}: family {family_id} member in "
                f"unit {uid}, which is not a family unit")
    if not occupies:
        return
    if mcd is not None and custody + (end - 1 - arrival) >= mcd:
        t = max(arrival, arrival + mcd - custody)
        add(f"law: people[{i}] id={pid}: occupies a bed in unit {uid} on day {t} "
            f"with custody_days {custody} + {t - arrival} days >= "
            f"max_custody_days {mcd}")
    if max_stay is not None:
        if removal is None:
            add(f"short_stay: people[{i}] id={pid}: in facility {ufac} "
                f"(max_stay_days {max_stay}) but has no removal_day")
        elif removal - arrival > max_stay:
            add(f"short_stay: people[{i}] id={pid}: in facility {ufac} "
                f"(max_stay_days {max_stay}) but removal_day {removal} - "
                f"arrival_day {arrival} = {removal - arrival}")


def _check_release(i: int, pid: str, prog: str, risk: float, minor: bool, mandatory: bool, paor: str,
                   prog_by_id: dict, add):
    """A release [§3 rules 3, 4]: never a mandatory person; a minor takes no ATD program, an
    adult an eligible one (``max_risk`` at least the raw risk, ``aor`` null or theirs).
    Returns the adult's known program (it enrols them), else None."""
    if mandatory:
        add(f"law: people[{i}] id={pid}: mandatory detention, but released")
    if minor:
        if prog:
            add(f"atd: people[{i}] id={pid}: a minor takes no ATD program, got {prog!r}")
        return None
    if not prog:
        add(f"atd: people[{i}] id={pid}: released adult has no atd_program_id")
        return None
    pr = prog_by_id.get(prog)
    if pr is None:
        add(f"unknown: people[{i}] id={pid}: atd_program_id {prog!r} is not a "
            f"program of the instance")
        return None
    if pr.max_risk < risk:
        add(f"atd: people[{i}] id={pid}: risk {risk:g} above program {prog} "
            f"max_risk {pr.max_risk:g}")
    if pr.aor is not None and pr.aor != paor:
        add(f"atd: people[{i}] id={pid}: AOR {paor} but program {prog} serves "
            f"AOR {pr.aor}")
    return pr


def _check_family(i: int, pid: str, dec: str, uid: str, rday_s: str, family_id: str,
                  fam_first: dict, people: list, add) -> None:
    """One outcome per family [§3 rule 2]: the same unit and release day, all unplaced or all
    removed; ``fam_first``: family -> (first member, outcome key, outcome text)."""
    if dec == "detain":
        key, text = ("detain", uid), f"detain in unit {uid or '(none)'}"
    elif dec == "release":
        key = ("release", uid, rday_s)
        text = (f"release on day {rday_s or '(none)'}"
                + (f" from unit {uid}" if uid else ""))
    else:
        key, text = (dec,), dec
    first = fam_first.get(family_id)
    if first is None:
        fam_first[family_id] = (i, key, text)
    elif first[1] != key:
        j = first[0]
        add(f"family: people[{i}] id={pid}: family {family_id} member gets {text}, "
            f"but people[{j}] id={people[j].id} gets {first[2]} (one outcome per family)")


def _stay(diff: dict, uid: str, arrival: int, end: int, H: int) -> None:
    """A multi-day stay in unit ``uid`` on days ``arrival .. end - 1``, into the unit's
    difference array of occupancy (``diff``: unit -> ``H + 1`` counts)."""
    d = diff.get(uid)
    if d is None:
        d = diff[uid] = [0] * (H + 1)
    d[arrival] += 1
    d[end] -= 1


def _move(tally: _Tally, look: _Lookups, origin: str | None, paor: str, ufac: str, arrival: int,
          moved: bool) -> None:
    """An occupant outside their origin facility: the transfer (when ``origin`` is a facility)
    and the moving cost's distance points (per km from the origin facility, or from the AOR hub
    when ``origin`` is null)."""
    if moved:
        tally.move_src.append(look.pt_fac[origin])
        tally.moves.append((origin, arrival))
    else:
        tally.move_src.append(look.pt_aor[paor])
    tally.move_dst.append(look.pt_fac[ufac])


def _moving_cost(policy, tally: _Tally, look: _Lookups) -> float:
    """Moving cost [§3]: the fixed fee per transfer plus per km from each occupant's origin point."""
    move_cost = len(tally.moves) * policy.transfer_fixed_usd
    if tally.move_src:
        move_cost += policy.transfer_usd_per_km * _sum_distances_km(
            look.pt_lat, look.pt_lon, tally.move_src, tally.move_dst)
    return move_cost


def _beds_and_surge(occ: dict, uinfo: dict, add) -> tuple[int, dict]:
    """Beds per unit and day [§3 rule 1] and the surge bed-days [§4 level 2]; returns the surge
    and each facility's occupancy per day."""
    surge = 0
    fac_occ: dict[str, list[int]] = {}
    for uid, days in occ.items():
        u, fid = uinfo[uid][0], uinfo[uid][1]
        cap = u.beds + u.surge_beds
        over = [t for t, c in enumerate(days) if c > cap]
        if over:
            t0 = over[0]
            more = f" (over capacity on {len(over)} days in all)" if len(over) > 1 else ""
            add(f"beds: unit {uid} (facility {fid}) holds {days[t0]} people on day "
                f"{t0}, beds {u.beds} + surge {u.surge_beds} = {cap}{more}")
        for c in days:
            if c > u.beds:
                surge += c - u.beds
        fo = fac_occ.get(fid)
        if fo is None:
            fac_occ[fid] = list(days)
        else:
            for t, c in enumerate(days):
                fo[t] += c
    return surge, fac_occ


def _atd_capacity(inst: Instance, enrolled: dict, add) -> list[dict]:
    """ATD capacity [§3 rule 3]: enrolments per program <= ``capacity``; returns ``per_program``."""
    per_program = []
    for pr in inst.atd_programs:
        e = enrolled.get(pr.id, 0)
        if pr.capacity is not None and e > pr.capacity:
            add(f"atd: program {pr.id} enrols {e} people, capacity {pr.capacity}")
        per_program.append({"id": pr.id, "enrolled": e, "capacity": pr.capacity})
    return per_program


def _detention_costs(inst: Instance, fac_occ: dict, mult: int) -> tuple[list[dict], list[float]]:
    """Detention cost per facility [§2, §4 level 4], one-day plans x ``mult`` (policy.cost_days);
    returns ``per_facility`` and the unrounded costs."""
    H = inst.horizon_days
    per_facility = []
    det_costs = []
    zeros = [0] * H
    for f in inst.facilities:
        days = fac_occ.get(f.id, zeros)
        gm, rate, pd = f.guaranteed_minimum, f.gm_rate, f.per_diem
        cost = math.fsum(_facility_day_cost(c, gm, rate, pd) for c in days) * mult
        det_costs.append(cost)
        per_facility.append({
            "id": f.id,
            "occupied": max(days) if days else 0,
            "beds": sum(u.beds for u in f.units),
            "cost_usd": round(cost, 2),
        })
    if H > 1:
        for f, entry in zip(inst.facilities, per_facility):
            entry["occupied_by_day"] = list(fac_occ.get(f.id, zeros))
    return per_facility, det_costs


def _per_day(H: int, tally: _Tally, uinfo: dict) -> list[dict]:
    """summary.json's days: beds used, releases and units at capacity per day."""
    occ = tally.occ
    return [{"day": t, "occupied": sum(days[t] for days in occ.values()), "released": tally.released_on[t],
             "units_at_capacity": sum(1 for uid, days in occ.items() if days[t] >= max(1, uinfo[uid][0].beds))}
            for t in range(H)]


def _objective_and_counts(inst: Instance, tally: _Tally, surge: int, total_cost: float,
                          n_pinned: int) -> tuple[dict, dict]:
    """The four objective levels [§4] and the counts of :class:`Verification`."""
    H = inst.horizon_days
    n_dec = tally.decisions
    objective = {
        "unplaced": n_dec["unplaced"],
        "surge": surge,
        "released_risk": (round(tally.risk_grid / (10000 * H), 4) if H == 1
                          else tally.risk_grid / (10000 * H)),
        "cost_usd": round(total_cost, 2),
    }
    counts = {
        "people": len(inst.people),
        "detained": n_dec["detain"],
        "released": n_dec["release"],
        "unplaced": n_dec["unplaced"],
        "removed": n_dec["removed"],
        "transfers": len(tally.moves),
        "pinned": n_pinned,
    }
    return objective, counts
