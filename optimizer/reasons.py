"""Why each person was released or left unplaced, and the release cutoff of each bed class.

Computed from the instance and the plan rows alone (like the verifier), so it explains any
plan, whoever made it.  A person's *bed class* is the set of housing units they fit: family or
single, sex, classification level, medical need and the stay limits they meet (MODEL.md §3
rules 2 and 5).  A unit is *tie-allowed* when the local ties of every member of the person's
family allow its facility (rule 8; always, without ties).  A bed is *free* for the person when a
compatible unit has room for their whole family on every day they would hold it (their own bed
counted as free; regular beds for a release, surge beds too for an unplaced person, who ranks
above surge, MODEL.md §4).  A tie-allowed unit *needs a seat* when it is outside the origin
facility and the seats left on the arrival day (origin AOR's and national, their own counted as
left; rule 7) are fewer than the family members it would move; otherwise it is *usable*.  A bed
is *held by a movable person* when its occupant, single, could have been released instead
(releasable, not at the limit, an eligible program with room) and has a lower effective risk
than the person (any risk, when the person is unplaced).

Reasons (plan.csv column ``reason``; MODEL.md §5 diagnosis names), in order of precedence: the
first that applies is the reason.

1. ``pinned`` (own pin): the person's release was pinned (their family's or their own pin,
   MODEL.md §2 ``pin``): a decision taken outside the plan, whatever else holds.
2. ``legal_limit``: released on the day the custody limit is reached (MODEL.md §3 rule 4), or
   unplaced when the limit comes before the person leaves custody (so no bed until then, rules 4
   and 6) and no eligible ATD program exists (for a family: for one of its adults);
3. ``atd_capacity``: unplaced although the limit requires release: no eligible program had a
   slot (``pinned`` when pinned people hold slots of those programs);
4. ``no_compatible_bed``: no housing unit of the instance fits the person at all; then
   ``short_stay_only``: only units of short-stay facilities fit, whose ``max_stay_days`` the
   person's stay exceeds (rule 5); then ``local_ties``: the ties forbid every unit that fits
   (these three for a release, or for an unplaced person who may not be released);
5. the beds, in this order:
   a. ``cost`` (a release): a free bed in a usable unit: the person's effective risk is 0, so
      releasing adds no risk and costs less than a bed;
   b. ``no_seat``: a free bed in a tie-allowed unit that needs a seat: the seats of the origin
      AOR's day or the nation's day were used up (``pinned`` when the seats would have been
      enough without the pinned people's transfers);
   c. ``local_ties``: free beds only in units the ties forbid;
   d. ``pinned``: a usable unit holds a pinned single person who may be released, of lower
      effective risk (any, for an unplaced person), on every day it has no free bed; or, for an
      unplaced person who may be released, pinned people hold slots of the full programs;
   e. ``no_seat`` (``pinned`` as in b), then ``local_ties``: as b and c with beds free or held
      by movable or pinned people of lower effective risk (releasing the occupant and moving the
      person in needed the seat, or the person's ties forbid that facility);
6. a release: ``humanitarian``: the raw risk is at least the lowest effective risk kept in the
   bed class: a humanitarian factor moved the person below the release cutoff; otherwise
   ``capacity``: every compatible bed the person could use went to people of higher effective
   risk or to people who may not be released.  An unplaced person: ``atd_capacity`` when
   release was allowed (no eligible ATD program had a slot; a family can be released only when
   every adult has an eligible program, so all its members get the same reason), otherwise
   ``capacity`` (no compatible bed was free).

Only single occupants are displaced (a family is one block) and only single people displace.
Reasons and cutoffs compare effective risks only; in a multi-day plan they do not weigh how
long each person stays (a person leaving tomorrow may be kept while a lower risk is released).

The *release cutoff* of a bed class is the highest effective risk released for capacity or
humanitarian reasons and the lowest effective risk kept among the people who could have been
released (releasable, with an eligible ATD program that still has room).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from .arrays import unique_rows
from .errors import EXIT_INPUT, EXIT_OK, InputError, err, refused
from .horizon import person_days
from .instance import Instance
from .model import (
    BIG_STAY, PIN_DETAIN, PIN_RELEASE, family_groups, family_members, family_units, network_arrays, people_arrays,
    program_keys, programs_of, single_units,
)

def _bed_classes(inst: Instance, P, N):
    """Per person (P,): bed class index (people who fit exactly the same units, or the same
    family), the class labels, whether any unit fits ignoring stay limits, whether any unit
    fits (bool arrays), and each class's units (classes, U) bool.  Compatibility only: local
    ties and pins are weighed by the reasons themselves (module docstring)."""
    n = len(P.sex)
    P = replace(P, ties=np.zeros(n, bool), pin_kind=np.zeros(n, np.int8))
    stays = np.unique(N.fac_max_stay[N.fac_max_stay < BIG_STAY])
    band = np.searchsorted(stays, P.stay, side="left")
    fam = P.family >= 0
    key = np.stack([np.where(fam, 1 + P.family, 0), P.sex, np.where(P.minor, -1, P.level), P.medical, band],
                   axis=1).astype(np.int64)
    key[fam, 1:] = -1  # a family's units depend on all its members: one class per family
    # np.unique on one int64 per person (mixed radix) is much faster than on rows
    radix = key.max(axis=0, initial=0) + 2
    _, first, kid = np.unique(np.ravel_multi_index((key + 1).T, radix), return_index=True, return_inverse=True)
    uniq = key[first]
    kid = kid.ravel()
    rep = np.zeros(len(uniq), np.int64)
    rep[kid[::-1]] = np.arange(n)[::-1]
    units = np.zeros((len(uniq), len(N.unit_fac)), bool)
    fits_any = np.zeros(len(uniq), bool)
    nostay = replace(P, stay=np.zeros(n, np.int64))  # stay limits ignored
    single = np.flatnonzero(uniq[:, 0] == 0)
    if len(single):
        units[single] = single_units(P, N, rep[single])
        fits_any[single] = single_units(nostay, N, rep[single]).any(axis=1)
    members = family_members(P)
    for k in np.flatnonzero(uniq[:, 0] > 0):
        mem = members[int(uniq[k, 0] - 1)]
        units[k] = family_units(P, N, mem)
        fits_any[k] = family_units(nostay, N, mem).any()
    # single people who fit exactly the same units share a class; each family is its own class
    sets, _, kcls = unique_rows(np.concatenate([units, np.where(uniq[:, :1] > 0, uniq[:, :1], 0)], axis=1))
    labels = []
    for c in range(len(sets)):
        ks = uniq[kcls == c]
        if ks[0, 0] > 0:
            labels.append(f"family {inst.people[members[int(ks[0, 0] - 1)][0]].family_id}")
            continue
        sexes = " and ".join(("men", "women")[s] for s in sorted(set(ks[:, 1].tolist())))
        levels = "".join("ABCD"[lv] for lv in sorted(set(ks[:, 2].tolist())) if lv >= 0)
        text = sexes + (f" of level {'-'.join(levels) if len(levels) < 3 else levels}" if levels else "")
        text += " needing a medical bed" if ks[:, 3].all() else ""
        b = int(ks[:, 4].min())
        text += f" staying more than {stays[b - 1]} day{'s' if stays[b - 1] != 1 else ''}" if b > 0 else ""
        labels.append(text if units[kcls == c].any() else text + " (no unit fits)")
    cls = kcls[kid]
    return cls, labels, fits_any[kid], units.any(axis=1)[kid], sets[:, :units.shape[1]]


REASONS = ("legal_limit", "capacity", "humanitarian", "atd_capacity", "no_compatible_bed", "short_stay_only", "cost",
           "no_seat", "local_ties", "pinned")
CHUNK = 4096  # people per block of (people, units) arrays


def _context(inst: Instance, rows: list[dict[str, str]]) -> dict:
    """The plan's per-person arrays (P,), bed classes, occupancy and seats (see :func:`reasons`)."""
    P, N = people_arrays(inst), network_arrays(inst)
    cls, labels, fits_any, fits, class_units = _bed_classes(inst, P, N)
    n = len(P.sex)
    dec, uidx, rday, enrol = _plan_columns(inst, rows)
    arrival, end, limit = person_days(inst, P)
    limit = family_groups(P, limit, np.minimum)  # one member at the limit: the family may not hold a bed
    releasable = ~family_groups(P, P.mandatory, np.logical_or)
    count = lambda who: np.bincount(enrol[who & (enrol >= 0)], minlength=len(inst.atd_programs))  # noqa: E731
    # the programs per program key, not per person (people x programs: 97 MB at a million people)
    _, first, of_key = np.unique(program_keys(P, N), return_index=True, return_inverse=True)
    eligible = programs_of(P, N, first)
    adult = ~P.minor  # a minor is released with the family, to no program
    room = (eligible & ((N.prog_capacity < 0) | (count(enrol >= 0) < N.prog_capacity))).any(axis=1)[of_key] & adult
    slot_pinned = ~room & (eligible & (count(P.pin_kind > 0) > 0)).any(axis=1)[of_key] & adult
    has_program = eligible.any(axis=1)[of_key] & adult
    c = dict(P=P, N=N, cls=cls, labels=labels, fits_any=fits_any, fits=fits, class_units=class_units.astype(bool),
             dec=dec, uidx=uidx, rday=rday, arrival=arrival, end=end, limit=limit, must_leave=limit < end,
             releasable=releasable, has_program=family_groups(P, has_program | P.minor, np.logical_and),
             slot_pinned=family_groups(P, slot_pinned, np.logical_or),
             block=family_groups(P, np.ones(n, np.int64), np.add),
             # kept although they could have been released: releasable, with an eligible program with room
             kept=(dec == "detain") & releasable & room & (limit > arrival))
    _occupancy(inst, c)
    return c


def _plan_columns(inst: Instance, rows: list[dict[str, str]]) -> tuple[np.ndarray, ...]:
    """(P,) each row's decision (object), unit index, release day and ATD program index (-1
    where the cell is empty: ``""``, or None in rows an API caller built), read in one pass."""
    n = len(rows)
    units = {"": -1, None: -1, **{u.id: k for k, u in enumerate(u for f in inst.facilities for u in f.units)}}
    programs = {"": -1, None: -1, **{a.id: k for k, a in enumerate(inst.atd_programs)}}
    # one list per column: zip(*rows) would make a million row iterators (this read: 1.5-2.0 s against 0.7-0.9 s)
    dec, unit, day, program = ([r[c] for r in rows] for c in ("decision", "unit_id", "release_day", "atd_program_id"))
    return (np.array(dec, dtype=object), np.fromiter(map(units.__getitem__, unit), np.int64, n),
            np.fromiter((int(d) if d else -1 for d in day), np.int64, n),
            np.fromiter(map(programs.__getitem__, program), np.int64, n))


def _occupancy(inst: Instance, c: dict) -> None:
    """Into ``c``: free regular beds per unit and day, the lowest effective risk of the pinned
    (``pin``) and of the pinned or movable (``any``) single occupants per unit and day, the
    transfers per (origin AOR, day) with the nation as the last row (``used``; ``pin_used`` the
    pinned people's) and the limits in the same rows (-1 none)."""
    P, N, H = c["P"], c["N"], inst.horizon_days
    holds = c["uidx"] >= 0
    start, stop = c["arrival"], np.where(c["dec"] == "release", c["rday"], c["end"])
    occ = np.zeros((len(N.unit_fac), H + 1), np.int64)
    np.add.at(occ, (c["uidx"][holds], start[holds]), 1)
    np.add.at(occ, (c["uidx"][holds], stop[holds]), -1)
    c["free"] = N.unit_beds[:, None] - np.cumsum(occ, axis=1)[:, :H]
    pinned = holds & (P.family < 0) & (P.pin_kind > 0) & c["releasable"]
    c["low"] = {}
    for name, who in (("pin", pinned), ("any", pinned | (c["kept"] & (P.family < 0) & (P.pin_kind == 0)))):
        days = stop[who] - start[who]
        t = np.repeat(start[who] - np.cumsum(days) + days, days) + np.arange(days.sum())
        low = np.full((len(N.unit_fac), H), np.inf)
        np.minimum.at(low, (np.repeat(c["uidx"][who], days), t), np.repeat(P.eff[who], days))
        c["low"][name] = low
    fac_aor = N.fac_aor.astype(np.int64)
    moved = holds & (P.origin >= 0) & (np.append(N.unit_fac, -1)[c["uidx"]] != P.origin)
    for key, who in (("used", moved), ("pin_used", moved & (P.pin_kind > 0))):
        used = np.zeros((len(inst.aors) + 1, H), np.int64)
        np.add.at(used, (fac_aor[P.origin[who]], start[who]), 1)
        used[-1] = used[:-1].sum(axis=0)
        c[key] = used
    c.update(fac_aor=fac_aor, moved=moved, limits=transfer_limits(inst))


def transfer_limits(inst: Instance) -> np.ndarray:
    """(AORs + 1,) the transfer limits per AOR (``max_transfers_out_per_day``), the last the
    nation (``policy.max_transfers_per_day``); -1 where none (MODEL.md §3 rule 7)."""
    return np.array([-1 if v is None else v for v in [a.max_transfers_out_per_day for a in inst.aors]
                     + [inst.policy.max_transfers_per_day]], np.int64)


def seat_excess(c: dict, members: np.ndarray, used: np.ndarray) -> dict[int, np.ndarray]:
    """Seats missing (> 0) per limit row (an AOR index, or the last row: the nation) to move
    the family ``members`` into each facility (F,) on their arrival day: a member whose origin
    is another facility takes a seat of their origin facility's AOR and a national one
    (MODEL.md §3 rule 7); the seats of their own transfers in the plan are theirs.  Only the
    rows with a limit."""
    P, nation = c["P"], len(c["limits"]) - 1
    o = P.origin[members]
    moving = o >= 0
    day = int(c["arrival"][members[0]])
    out = {}
    for row in sorted({nation} | set(c["fac_aor"][o[moving]].tolist())):
        if c["limits"][row] >= 0:
            mine = moving if row == nation else moving & (c["fac_aor"][np.maximum(o, 0)] == row)
            need = int(mine.sum()) - np.bincount(o[mine], minlength=len(c["fac_aor"]))
            out[row] = used[row, day] - int((c["moved"][members] & mine).sum()) + need - c["limits"][row]
    return out


def _seat_ok(c: dict, idx: np.ndarray, used: np.ndarray) -> np.ndarray:
    """(R, F) bool: the seats allow each person of ``idx`` (with their family) into each
    facility; single people vectorised (one seat, none for their own facility), families by
    :func:`seat_excess`."""
    P, F = c["P"], len(c["fac_aor"])
    o, day = P.origin[idx], c["arrival"][idx]
    short = np.zeros(len(idx), bool)
    for row in (c["fac_aor"][np.maximum(o, 0)], np.full(len(idx), len(c["limits"]) - 1)):
        lim = c["limits"][row]
        short |= (lim >= 0) & (used[row, day] - c["moved"][idx] + 1 > lim)
    ok = ~(short & (o >= 0))[:, None] | (np.arange(F)[None, :] == o[:, None])
    for r in np.flatnonzero(P.family[idx] >= 0):
        members = np.flatnonzero(P.family == P.family[idx[r]])
        ok[r] = np.all([ex <= 0 for ex in seat_excess(c, members, used).values()] or [np.ones(F, bool)], axis=0)
    return ok


def _tie_ok(c: dict, idx: np.ndarray) -> np.ndarray:
    """(R, F) bool: the local ties of each person of ``idx`` (every member of their family)
    allow each facility (MODEL.md §3 rule 8)."""
    P, F = c["P"], len(c["fac_aor"])

    def allowed(who):
        return (~P.ties[who][:, None] | (np.arange(F)[None, :] == P.origin[who][:, None])
                | (c["fac_aor"][None, :] == P.aor[who][:, None]))

    ok = allowed(idx)
    for r in np.flatnonzero(P.family[idx] >= 0):
        ok[r] = allowed(np.flatnonzero(P.family == P.family[idx[r]])).all(axis=0)
    return ok


def _window(c: dict, s: int, e: int, surge: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit (U,) over the days [s, e): the fewest free beds (surge beds too with ``surge``),
    and over the days without one the highest daily lowest effective risk of a pinned, and of a
    pinned or movable, occupant (-inf when every day has a free bed)."""
    free = c["free"][:, s:e] + (c["N"].unit_surge[:, None] if surge else 0)
    if e <= s:
        return np.full(len(free), 1 << 40), np.full(len(free), -np.inf), np.full(len(free), -np.inf)
    full = free < 1
    return (free.min(axis=1), np.where(full, c["low"]["pin"][:, s:e], -np.inf).max(axis=1),
            np.where(full, c["low"]["any"][:, s:e], -np.inf).max(axis=1))


def _windows(c: dict, idx: np.ndarray, unplaced: np.ndarray) -> list[np.ndarray]:
    """(R, U) arrays of :func:`_window` over each person's days: from arrival until they leave
    or reach the limit; in the unit they held before a later release, from the release day."""
    e = np.minimum(c["end"][idx], c["limit"][idx])
    key = list(zip(c["arrival"][idx].tolist(), e.tolist(), unplaced.tolist()))
    cache = {k: _window(c, *k) for k in set(key)}
    pos = {k: j for j, k in enumerate(cache)}
    wid = np.array([pos[k] for k in key], np.int64)
    out = [np.stack([v[m] for v in cache.values()])[wid] for m in range(3)]
    own = c["uidx"][idx]
    for r in np.flatnonzero(own >= 0):
        vals = _window(c, int(c["rday"][idx[r]]), int(e[r]), bool(unplaced[r]))
        for m in range(3):
            out[m][r, own[r]] = vals[m][own[r]]
    return out


def _room(c: dict, idx: np.ndarray) -> dict[str, np.ndarray]:
    """(R, U) per person of ``idx`` and unit: compatible units that are ``usable``, need a seat
    (``seatless``; ``by_pins`` when the seats would do without pinned transfers) or that the
    ties forbid (``forbidden``); whether the unit has a free bed on every day (``free``), and
    over the days without one the highest lowest effective risk of a pinned (``pin``) and of a
    pinned or movable (``any``) occupant, -inf when always free, +inf for a family (module
    docstring; :func:`_below` compares them with the person's risk)."""
    P, N = c["P"], c["N"]
    unplaced = c["dec"][idx] == "unplaced"
    comp = c["class_units"][c["cls"][idx]]
    tie = _tie_ok(c, idx)[:, N.unit_fac]
    seat = _seat_ok(c, idx, c["used"])[:, N.unit_fac]
    free, pin, anyone = _windows(c, idx, unplaced)
    family = (P.family[idx] >= 0)[:, None]
    return dict(usable=comp & tie & seat, seatless=comp & tie & ~seat, forbidden=comp & ~tie,
                by_pins=comp & tie & ~seat & _seat_ok(c, idx, c["used"] - c["pin_used"])[:, N.unit_fac],
                free=free >= c["block"][idx][:, None], pin=np.where(family, np.inf, pin),
                any=np.where(family, np.inf, anyone))


def _below(c: dict, idx: np.ndarray) -> np.ndarray:
    """(R, 1) the effective risk below which an occupant is displaced: the person's own, or any
    (+inf) for an unplaced person."""
    return np.where(c["dec"][idx] == "unplaced", np.inf, c["P"].eff[idx])[:, None]


def _room_keys(c: dict, idx: np.ndarray) -> np.ndarray:
    """(R,) the people of ``idx`` whose :func:`_room` rows are equal get equal keys: bed class,
    days, own unit, family, and origin, AOR and current transfer where ties or limits use them."""
    P = c["P"]
    limited = (P.origin[idx] >= 0) & ((c["limits"][c["fac_aor"][np.maximum(P.origin[idx], 0)]] >= 0)
                                      | (c["limits"][-1] >= 0))
    tied = P.ties[idx]
    cols = [c["cls"][idx], c["dec"][idx] == "unplaced", c["arrival"][idx], np.minimum(c["end"], c["limit"])[idx],
            c["uidx"][idx], np.where(c["uidx"][idx] >= 0, c["rday"][idx], -1), P.family[idx],
            np.where(limited | tied, P.origin[idx], -2), np.where(tied, P.aor[idx], -1), c["moved"][idx] & limited]
    return unique_rows(np.stack(cols, axis=1).astype(np.int64))[2]


def _bed_reasons(c: dict, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 5 of the module docstring for each person of ``idx`` ('' when none applies), and
    whether any compatible unit is tie-allowed.  Computed once per :func:`_room_keys` group:
    per group the free units of each kind and the lowest displacement risk over each kind of
    unit, which each person compares with their own."""
    key = _room_keys(c, idx)
    reps = np.zeros(key.max(initial=-1) + 1, np.int64)
    reps[key] = idx
    out, tie_any = np.full(len(idx), "", dtype=object), np.zeros(len(idx), bool)
    for k in range(0, len(reps), CHUNK):
        rm = _room(c, reps[k:k + CHUNK])
        mine = np.flatnonzero((key >= k) & (key < k + CHUNK))
        g, part = key[mine] - k, idx[mine]
        thr = _below(c, part)[:, 0]
        unplaced = c["dec"][part] == "unplaced"
        slot = unplaced & c["slot_pinned"][part] & c["releasable"][part] & c["has_program"][part]

        def free(kind):
            return (rm[kind] & rm["free"]).any(axis=1)[g]

        def held(kind, value):
            return np.where(rm[kind], rm[value], np.inf).min(axis=1, initial=np.inf)[g] < thr

        conds = [~unplaced & free("usable"), free("seatless"), free("forbidden"), held("usable", "pin") | slot,
                 held("seatless", "any"), held("forbidden", "any")]
        choices = ["cost", np.where(free("by_pins"), "pinned", "no_seat"), "local_ties", "pinned",
                   np.where(held("by_pins", "any"), "pinned", "no_seat"), "local_ties"]
        out[mine] = np.select(conds, choices, default="")
        tie_any[mine] = (rm["usable"] | rm["seatless"]).any(axis=1)[g]
    return out, tie_any


def _analyse(inst: Instance, rows: list[dict[str, str]]) -> dict:
    """The context of :func:`_context` with each person's reason ``why`` (module docstring)."""
    a = _context(inst, rows)
    P, cls, dec, limit = a["P"], a["cls"], a["dec"], a["limit"]
    released = dec == "release"
    raw = np.round(P.risk, 4)
    lowest_kept = np.full(len(a["labels"]), np.inf)
    np.minimum.at(lowest_kept, cls[a["kept"]], P.eff[a["kept"]])
    idx = np.flatnonzero(released | (dec == "unplaced"))
    bed, tie_any = _bed_reasons(a, idx)
    why = [""] * len(dec)
    for i, b, ties_allow in zip(idx.tolist(), bed, tie_any):
        blocked = released[i] or not a["releasable"][i] or not a["has_program"][i]
        if released[i] and P.pin_kind[i] == PIN_RELEASE:
            why[i] = "pinned"
        elif a["rday"][i] >= limit[i] if released[i] else a["must_leave"][i] and not a["has_program"][i]:
            why[i] = "legal_limit"  # released at the limit, or unplaced, bound to leave, without an eligible program
        elif not released[i] and a["must_leave"][i]:
            why[i] = "pinned" if a["slot_pinned"][i] else "atd_capacity"  # must be released, programs full
        elif not a["fits_any"][i] and blocked:
            why[i] = "no_compatible_bed"
        elif not a["fits"][i] and blocked:
            why[i] = "short_stay_only"
        elif not ties_allow and blocked:
            why[i] = "local_ties"
        elif b:
            why[i] = b
        elif released[i]:
            why[i] = "humanitarian" if P.eff[i] < raw[i] and raw[i] >= lowest_kept[cls[i]] else "capacity"
        else:
            why[i] = "atd_capacity" if a["releasable"][i] and a["has_program"][i] else "capacity"
    a.update(why=why, lowest_kept=lowest_kept,
             voluntary=released & np.isin(np.array(why, dtype=object), ["capacity", "humanitarian"]),
             surge_used=(a["class_units"] * np.maximum(0, -a["free"]).max(axis=1)[None, :]).sum(axis=1))
    return a


def reasons(inst: Instance, rows: list[dict[str, str]]) -> tuple[list[str], list[dict]]:
    """The reason of each plan row (``""`` for detained and removed people) and the release
    cutoff of each bed class of single people with releases or releasable people kept (a list
    of dicts: ``class``, ``released``, ``kept_releasable``, ``highest_released``,
    ``lowest_kept``; effective risk).

    ``rows`` are verified plan rows in instance order (MODEL.md §5)."""
    a = _analyse(inst, rows)
    P, cls, labels, kept, voluntary = a["P"], a["cls"], a["labels"], a["kept"], a["voluntary"]
    cutoffs = []
    for c, label in enumerate(labels):
        if label.startswith("family "):
            continue  # a family is one block, released or kept whole
        rel = voluntary & (cls == c)
        kc = kept & (cls == c)
        if rel.any() or kc.any():
            cutoffs.append({"class": label, "released": int(rel.sum()), "kept_releasable": int(kc.sum()),
                            "highest_released": float(P.eff[rel].max()) if rel.any() else None,
                            "lowest_kept": float(P.eff[kc].min()) if kc.any() else None})
    return a["why"], cutoffs


def _facts(p, eff: float, raw: float, label: str) -> str:
    """The first line of :func:`explain`: who the person is."""
    facts = (f"{p.id}: {'woman' if p.sex == 'F' else 'man'}{' (minor)' if p.minor else ''}"
             f"{f', level {p.level}' if p.level else ''}, AOR {p.aor}, risk {raw:g}")
    if p.humanitarian:
        facts += f" (effective {eff:g} after {', '.join(p.humanitarian)})"
    if p.mandatory:
        facts += ", mandatory detention"
    if p.max_custody_days is not None:
        facts += f", {p.custody_days} of at most {p.max_custody_days} days in custody"
    facts += f", origin {p.origin}" if p.origin else ""
    facts += ", local ties" if p.local_ties else ""
    return facts + f"; bed class: {label}."


def _limit_day(day: int) -> str:
    """When the custody limit is reached, in words: on a day of the plan, or so many days before
    its first day (day 0)."""
    if day >= 0:
        return f"is reached on day {day}"
    return f"was reached {-day} day{'s' if day < -1 else ''} before the plan's first day"


def explain(inst: Instance, rows: list[dict[str, str]], person_id: str) -> str | None:
    """A few plain sentences: the person's facts, outcome, reason and what would have changed
    it; None when no row has ``person_id``."""
    ids = [r["person_id"] for r in rows]
    if person_id not in ids:
        return None
    i = ids.index(person_id)
    a = _analyse(inst, rows)
    P, r, p = a["P"], rows[i], inst.people[i]
    label = a["labels"][a["cls"][i]]
    eff, raw = float(P.eff[i]), float(round(p.risk, 4))
    facts = _facts(p, eff, raw, label)
    why, dec = a["why"][i], r["decision"]
    lk = a["lowest_kept"][a["cls"][i]]
    where = f"unit {r['unit_id']} of facility {r['facility_id']}" if r["unit_id"] else ""
    if dec == "removed":
        return facts + f"\nRemoved: leaves custody by removal on day {p.removal_day}; no decision is needed."
    if dec == "detain":
        return facts + f"\nDetained in {where}: {_why_kept(a, p, i, eff, label)}."
    released = f"Released on day {r['release_day']}" + (f" to ATD program {r['atd_program_id']}"
                                                          if r["atd_program_id"] else " (no program: a minor)")
    released += f", after holding a bed in {where}" if where else ""
    if why in ("no_seat", "local_ties", "pinned"):
        return facts + "\n" + _transport_text(inst, a, rows, i, released if dec == "release" else "Unplaced")
    if why == "legal_limit" and dec == "release":
        return facts + (f"\n{released}. Reason legal_limit: the custody limit {_limit_day(a['limit'][i])}, "
                        "so the law requires release by then (MODEL.md §3 rule 4). Nothing in capacity would "
                        "change it.")
    if why == "humanitarian":
        return facts + (f"\n{released}. Reason humanitarian: the factors {', '.join(p.humanitarian)} lower the "
                        f"effective risk from {raw:g} to {eff:g}, below the lowest effective risk kept for {label} "
                        f"({lk:g}). Without them the person would have been kept.")
    if why == "capacity" and dec == "release":
        return facts + f"\n{released}. " + _capacity_text(a, p, i, label, lk)
    if why in ("no_compatible_bed", "short_stay_only"):
        return facts + f"\n{dec.capitalize()}: " + _no_bed_text(why, label)
    if why == "atd_capacity" or why == "legal_limit":
        return facts + "\n" + _unplaced_text(a, i, why)
    if why == "cost":
        return facts + f"\n{released}. " + _cost_text(eff)
    return facts + (f"\nUnplaced: reason capacity: the person may not be released and every compatible bed "
                    f"({label}, surge beds included) is taken. One more such bed would change it.")


def _why_kept(a: dict, p, i: int, eff: float, label: str) -> str:
    """Why a detained person was not released."""
    if a["P"].pin_kind[i] == PIN_DETAIN:
        return "the outcome was pinned (a decision taken outside the plan, MODEL.md §2 pin)"
    if not a["releasable"][i]:
        return "mandatory detention: may not be released (MODEL.md §3 rule 4)"
    if p.minor or p.family_id:
        return "held with their family"
    # the people released for lack of beds whose bed class may use this person's unit
    unit = a["uidx"][i]
    could = a["voluntary"] & a["class_units"][a["cls"], unit]
    if not could.any():
        return "no one released for lack of beds may use their unit, so releasing them would only add released risk"
    top = float(a["P"].eff[could].max())
    if top <= eff:
        return (f"their effective risk {eff:g} is at least that of everyone released for lack of beds who may use "
                f"their unit (highest {top:g})")
    return (f"someone released at effective risk {top:g} may use their unit, but not in their place within "
            f"the plan's other rules (the days of the stay, transport seats, local ties)")


def _capacity_text(a: dict, p, i: int, label: str, lk: float) -> str:
    """Reason ``capacity`` of a release, and how many more beds would have kept the person."""
    P = a["P"]
    same = a["voluntary"] & (a["cls"] == a["cls"][i]) & (P.eff >= P.eff[i])
    more = int(same.sum()) + int(a["surge_used"][a["cls"][i]])  # surge beds in use are replaced first
    if p.family_id:
        more = int((P.family == P.family[i]).sum())
    kept_text = f"the lowest effective risk kept there is {lk:g}" if np.isfinite(lk) else \
        "no one who could be released was kept there"
    return (f"Reason capacity: every compatible bed ({label}) went to people of higher "
            f"effective risk or to people who may not be released; {kept_text}. Kept if {more:,} more "
            f"bed{'s' if more > 1 else ''} for {label} had been free.")


def _no_bed_text(why: str, label: str) -> str:
    """Reasons ``no_compatible_bed`` and ``short_stay_only``: no bed in the instance may hold the person."""
    if why == "no_compatible_bed":
        return (f"reason no_compatible_bed: no housing unit of the instance fits {label}. A unit for them would "
                "change it.")
    return ("reason short_stay_only: only short-stay facilities have units that fit, and the person's stay "
            "exceeds their limit (MODEL.md §3 rule 5). A bed in a facility without a stay limit would change it.")


def _unplaced_text(a: dict, i: int, why: str) -> str:
    """Reasons ``atd_capacity`` and ``legal_limit`` of an unplaced person."""
    if why == "atd_capacity" and a["must_leave"][i]:
        return (f"Unplaced: reason atd_capacity: the custody limit {_limit_day(a['limit'][i])}, "
                "before the person leaves custody, so the law requires release by then, and every eligible "
                "ATD program is full. One more slot in an eligible program would change it.")
    if why == "atd_capacity":
        return ("Unplaced: reason atd_capacity: no compatible bed was free and no eligible ATD program "
                "had a free slot. One more slot in an eligible program, or one more bed, would change it.")
    return (f"Unplaced: reason legal_limit: the custody limit {_limit_day(a['limit'][i])}, "
            "before the person leaves custody, so the law requires release by then, and no ATD "
            "program may take this person (or, in a family, one of its adults). An eligible program "
            "would change it.")


def _cost_text(eff: float) -> str:
    """Reason ``cost``: a free bed was not used."""
    if eff == 0:
        return ("Reason cost: a compatible bed was free, but the effective risk is 0: "
                "releasing adds no risk and costs less than the bed.")
    return ("Reason cost: a compatible bed the person could use was free on every day "
            "they would hold it; keeping them would have released less risk (this plan is not optimal "
            "at level 3).")


def _names(ids, k: int = 5) -> str:
    ids = list(dict.fromkeys(ids))
    return ", ".join(ids[:k]) + (f" and {len(ids) - k} more" if len(ids) > k else "")


def _limit_text(inst: Instance, a: dict, row: int, day: int) -> str:
    """One transport limit of a day in words, with its seats used (and by pinned people)."""
    used, lim, pinned = int(a["used"][row, day]), int(a["limits"][row]), int(a["pin_used"][row, day])
    by = f", {pinned} of them by pinned people" if pinned else ""
    if row == len(a["limits"]) - 1:
        return f"the national seats of day {day} (policy max_transfers_per_day {lim}, {used} used{by})"
    return f"the seats out of AOR {inst.aors[row].code} on day {day} (max_transfers_out_per_day {lim}, {used} used{by})"


def _seat_text(inst: Instance, a: dict, i: int, units: np.ndarray, members: np.ndarray, head: str, why: str,
               free: bool) -> str:
    """``no_seat`` (or ``pinned`` seats): the limits that stopped the move to the best of
    ``units`` (free beds, or beds held by movable people when not ``free``) and the fewest more
    seats of each with which an optimal plan could keep the person: the seats the move lacks,
    plus one for each person of the same origin facility, bed class and ties released for want
    of seats with a higher effective risk (keeping the person and releasing such a person would
    not be optimal: they could swap, when the person may take the other's ATD program; and each
    person more kept from a full facility is one more transfer out of it).  A lower bound only:
    the seats may go to other facilities' people first, or another limit may bind next, which
    only a re-solve (``whatif``) settles."""
    P, N = a["P"], a["N"]
    facs = np.unique(N.unit_fac[units])
    excess = seat_excess(a, members, a["used"])
    f = min(facs.tolist(), key=lambda g: sum(max(0, int(v[g])) for v in excess.values()))
    day, nation = int(a["arrival"][i]), len(a["limits"]) - 1
    short = {row: int(v[f]) for row, v in excess.items() if v[f] > 0}
    thr = np.where(a["dec"] == "unplaced", np.inf, P.eff)
    ahead = 0 if len(members) > 1 else int(((np.array(a["why"], dtype=object) == "no_seat") & (P.family < 0)
                                            & (P.origin == P.origin[i]) & (a["cls"] == a["cls"][i])
                                            & (P.ties == P.ties[i]) & (P.aor == P.aor[i]) & (thr > thr[i])).sum())
    more, flags = [], []
    for row, n in short.items():
        s = "s" if n + ahead > 1 else ""
        more.append(f"{n + ahead} more national seat{s} on day {day}" if row == nation else
                    f"{n + ahead} more seat{s} out of AOR {inst.aors[row].code} on day {day}")
        flags.append(f"--transfers-total +{n + ahead}" if row == nation else
                     f"--transfers {inst.aors[row].code}=+{n + ahead}")
    limits = " and ".join(_limit_text(inst, a, row, day) for row in short)
    held = "" if free else ", or held by someone of lower effective risk who could have been released,"
    text = (f"{head}. Reason {why}: a compatible bed the ties allow was free{held} in "
            f"{_names([inst.facilities[g].id for g in facs])}, but moving there from "
            f"{inst.people[i].origin} is a transfer and {limits} were used up (MODEL.md §3 rule 7)")
    if why == "pinned":
        return text + "; without the pinned people's transfers a seat would have been left."
    first = (f": {ahead} {'person' if ahead == 1 else 'people'} from {inst.people[i].origin} of the same bed class "
             f"released for want of seats with a higher effective risk {'comes' if ahead == 1 else 'come'} first"
             if ahead else "")
    return (text + f". {'Placing' if a['dec'][i] == 'unplaced' else 'Keeping'} them needs at least "
            f"{' and '.join(more)}{first} (bedalloc whatif INSTANCE {' '.join(flags)} shows what that many more seats change; others may get them first).")


def _transport_text(inst: Instance, a: dict, rows, i: int, head: str) -> str:
    """The text of reasons ``no_seat``, ``local_ties`` and ``pinned``, following the precedence
    of the module docstring to the step that gave the reason."""
    P, N, why = a["P"], a["N"], a["why"][i]
    members = np.flatnonzero(P.family == P.family[i]) if P.family[i] >= 0 else np.array([i])
    if why == "pinned" and P.pin_kind[i] == PIN_RELEASE:
        return (f"{head}. Reason pinned: the outcome was pinned (a decision taken outside the plan"
                f"{', by the family' if len(members) > 1 else ''}, MODEL.md §2 pin); the plan keeps it.")
    rm = {k: v[0] for k, v in _room(a, np.array([i])).items()}
    thr = _below(a, np.array([i]))[0, 0]
    rm["pin"], rm["any"] = rm["pin"] < thr, rm["any"] < thr
    if why == "local_ties":
        return _ties_text(inst, a, rm, i, members, head)
    held = rm["usable"] & rm["pin"]
    holders = [inst.people[j].id for j in np.flatnonzero((P.pin_kind > 0) & (P.family < 0) & a["releasable"]
                                                         & (a["uidx"] >= 0) & (P.eff < thr)) if held[a["uidx"][j]]]
    seat_free = (rm["seatless"] & rm["free"]).any()  # step b comes before the pinned occupants of step d
    unplaced = a["dec"][i] == "unplaced"
    slots = unplaced and a["slot_pinned"][i] and (a["must_leave"][i] or not holders)
    if why == "pinned" and slots and (a["must_leave"][i] or not seat_free):
        eligible = programs_of(P, N, members[~P.minor[members]]).any(axis=0)
        index = {q.id: k for k, q in enumerate(inst.atd_programs)}
        progs = sorted({r["atd_program_id"] for j, r in enumerate(rows)
                        if P.pin_kind[j] > 0 and r["atd_program_id"] and eligible[index[r["atd_program_id"]]]})
        return (f"{head}. Reason pinned: every eligible ATD program is full and pinned people hold slots in "
                f"{_names(progs)}; without those pins a slot would have been free.")
    if why == "pinned" and holders and not seat_free:
        return (f"{head}. Reason pinned: the compatible beds the person could use were held by pinned people "
                f"({_names(holders)}) who could have been released instead (lower effective risk): their pins kept "
                "them. Without those pins the person would have had a bed.")
    avail = "free" if seat_free else "any"
    return _seat_text(inst, a, i, rm["seatless"] & rm[avail], members, head, why, seat_free)


def _ties_text(inst: Instance, a: dict, rm: dict, i: int, members: np.ndarray, head: str) -> str:
    """The text of reason ``local_ties``: the facilities the ties forbid."""
    P, N, p = a["P"], a["N"], inst.people[i]
    tied = _names([inst.people[m].id for m in members if P.ties[m]])
    free, held = rm["forbidden"] & rm["free"], rm["forbidden"] & rm["any"] & ~rm["free"]
    fac = lambda m: _names([inst.facilities[g].id for g in np.unique(N.unit_fac[m])])  # noqa: E731
    what = (f"the ties forbid the free beds in facilities {fac(free)}" if free.any() else
            f"the ties forbid facilities {fac(held)}, where beds were held by people of lower effective risk "
            "who could have been released" if held.any() else
            f"the ties forbid every unit that fits (in facilities {fac(rm['forbidden'])})")
    return (f"{head}. Reason local_ties: the local ties of {tied} allow only the origin facility "
            f"({p.origin or 'none'}) and the facilities of AOR {p.aor} (MODEL.md §3 rule 8); {what}. A free "
            "compatible bed the ties allow would change it.")


def cmd_explain(args) -> int:
    """``bedalloc explain``: one person's outcome in plain words (exit 0; 2 for bad input)."""
    from .check import read_summary
    from .instance import read_instance
    from .verifier import read_plan

    plan_dir = Path(args.plan_dir)
    summary: dict = {}
    if not plan_dir.is_dir():
        err([f"{plan_dir}: no such plan folder (give the --out folder of bedalloc solve)"])
        return EXIT_INPUT
    if args.instance is None:
        try:
            summary = read_summary(plan_dir) or {}
        except InputError as e:
            return refused(e)
        instance = summary.get("instance")
        if not isinstance(instance, str):
            why = "no 'instance' file name in it" if summary else "missing, unreadable or not a JSON object"
            err([f"{plan_dir}: summary.json: cannot read the instance file name ({why}); give --instance"])
            return EXIT_INPUT
    else:
        instance = args.instance
    if not Path(instance).exists():  # a file, or a folder of CSV files
        err([f"{instance}: the plan's instance file is not found from here (summary.json names it relative to "
              "where solve ran); give --instance"])
        return EXIT_INPUT
    from .pinfile import plan_pins
    from .verifier import verify

    digest: list[str] = []
    try:
        inst = plan_pins(read_instance(instance, digest), plan_dir)
        rows = read_plan(plan_dir / "plan.csv")
    except InputError as e:
        return refused(e)
    if summary.get("instance_sha256") not in (None, digest[0]):
        err([f"{plan_dir}: the plan was made for another version of {instance} (sha256 differs); give --instance"])
        return EXIT_INPUT
    check = verify(inst, rows)
    if not check.ok:
        err([f"{plan_dir}/plan.csv: the plan fails verification ({check.violations[0]}); see bedalloc check"])
        return EXIT_INPUT
    text = explain(inst, rows, args.person_id)
    if text is None:
        err([f"{plan_dir}/plan.csv: no person with id {args.person_id!r}"])
        return EXIT_INPUT
    print(text)
    return EXIT_OK
