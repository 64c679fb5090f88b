"""Validation of pins (contract 1.1, MODEL.md §2 ``pin``): pins no outcome can satisfy by
itself, family pins that disagree, and pins that cannot all hold together.

Interface (used by :func:`optimizer.instance.parse_instance` and by the ``--pins FILE.csv``
reader, which puts its rows into the instance's ``pin`` fields and re-labels the problems):

* :func:`pin_problems` ``(inst) -> [(person index, field, message)]``: references (unknown
  facility, unit or program; a unit outside the pinned facility), family members' pins that
  disagree, and every pin that no outcome can satisfy by itself.  ``field`` is one of
  ``pin.decision``, ``pin.facility``, ``pin.unit``, ``pin.atd_program``, ``pin.release_day``
  (plan.csv columns ``decision``, ``facility_id``, ``unit_id``, ``atd_program_id``,
  ``release_day``); the problem sits on the person whose own pin carries that field, and a message
  about another family member names it.  Assumes the rest of the instance is valid.
* :func:`pin_conflicts` ``(inst) -> [line]``: pins that cannot all hold together, at most
  :data:`MAX_CONFLICT_LINES` lines ``RECORD: field 'F': message`` (no file name), each naming a
  unit, facility, program or transport limit and by how many the pins exceed it.  Assumes
  :func:`pin_problems` found nothing.

Both return nothing at once when no person has a pin, so instances without pins pay one pass
over the people.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from itertools import accumulate
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .schema import Facility, Instance, Person, Unit

MAX_CONFLICT_LINES = 5
Problem = tuple[int, str, str]  # (person index, field, message)


@dataclass
class Bound:
    """The pin binding a group: one person, or a family through its members' pins (a member's
    pin binds the whole family's decision, facility, unit and release day; MODEL.md §2)."""

    members: list[int]
    decision: str
    by: dict[str, int]  # field name ('decision', 'facility', 'unit', 'release_day') -> member whose pin gives it
    facility: str | None = None  # the pinned facility, or the pinned unit's facility
    unit: str | None = None
    release_day: int | None = None


@dataclass
class _Refs:
    """Lookups by id, built once when some person has a pin."""

    inst: Instance
    facs: dict[str, tuple[int, Facility]] = field(default_factory=dict)
    units: dict[str, tuple[int, int, Unit]] = field(default_factory=dict)  # id -> (facility index, index in it, unit)
    progs: dict = field(default_factory=dict)  # id -> (index, program)
    fits: dict = field(default_factory=dict)  # cache of _fits_somewhere

    def __post_init__(self):
        for k, f in enumerate(self.inst.facilities):
            self.facs[f.id] = (k, f)
            for j, u in enumerate(f.units):
                self.units[u.id] = (k, j, u)
        self.progs = {q.id: (k, q) for k, q in enumerate(self.inst.atd_programs)}

    def who(self, i: int) -> str:
        return f"people[{i}] id={self.inst.people[i].id}"

    def unit_facility(self, unit_id: str) -> Facility:
        return self.inst.facilities[self.units[unit_id][0]]


def _groups(inst: Instance) -> list[list[int]]:
    """The people bound by some pin, as groups: a single person, or a whole family one of whose
    members has a pin (members in instance order)."""
    families: dict[str, list[int]] = {}
    pinned = []
    for i, p in enumerate(inst.people):
        if p.family_id is not None:
            families.setdefault(p.family_id, []).append(i)
        elif p.pin is not None:
            pinned.append([i])
    pinned += [m for m in families.values() if any(inst.people[i].pin is not None for i in m)]
    return sorted(pinned)


def pin_problems(inst: Instance) -> list[Problem]:
    """Every pin problem that does not depend on other pins' capacity (module docstring).

    A group with a reference problem or disagreeing members' pins gets no further checks (they
    would only repeat it)."""
    refs = _Refs(inst)
    out: list[Problem] = []
    for members in _groups(inst):
        found = [pr for i in members for pr in _reference_problems(refs, i)]
        bound = None if found else _bind(refs, members, found)
        out += found if bound is None else _group_problems(refs, bound)
    return out


def _reference_problems(refs: _Refs, i: int) -> list[Problem]:
    """Unknown facility, unit or program in person ``i``'s own pin; a unit outside the pinned
    facility."""
    pin = refs.inst.people[i].pin
    if pin is None:
        return []
    if pin.decision == "release":
        if pin.atd_program is not None and pin.atd_program not in refs.progs:
            return [(i, "pin.atd_program", f"unknown ATD program {pin.atd_program!r}")]
        return []
    out = []
    if pin.facility is not None and pin.facility not in refs.facs:
        out.append((i, "pin.facility", f"unknown facility {pin.facility!r}"))
    if pin.unit is not None and pin.unit not in refs.units:
        out.append((i, "pin.unit", f"unknown unit {pin.unit!r}"))
    elif pin.unit is not None and pin.facility in refs.facs and refs.unit_facility(pin.unit).id != pin.facility:
        out.append((i, "pin.unit", f"unit {pin.unit!r} is in facility {refs.unit_facility(pin.unit).id!r}, "
                                   f"not in the pinned facility {pin.facility!r}"))
    return out


def _bind(refs: _Refs, members: list[int], out: list[Problem]) -> Bound | None:
    """The group's bound pin, or None after appending to ``out`` a problem for each member
    whose pin disagrees with an earlier member's (MODEL.md §2: a family gets one decision, one
    unit or facility and one release day)."""
    bound = None
    for i in members:
        pin = refs.inst.people[i].pin
        if pin is None:
            continue
        if bound is None:
            bound = Bound(members, pin.decision, {"decision": i})
        elif pin.decision != bound.decision:
            out.append((i, "pin.decision", f"{pin.decision} conflicts with the {bound.decision} pin of family member "
                                           f"{refs.who(bound.by['decision'])}: a family gets one decision"))
            continue
        if pin.decision == "detain":
            _bind_place(refs, bound, i, pin, out)
        elif pin.release_day is not None:
            if bound.release_day is not None and bound.release_day != pin.release_day:
                out.append((i, "pin.release_day", f"release day {pin.release_day} conflicts with release day "
                                                  f"{bound.release_day} pinned on family member "
                                                  f"{refs.who(bound.by['release_day'])}: "
                                                  "a family is released together"))
            else:
                bound.release_day = pin.release_day
                bound.by.setdefault("release_day", i)
    return None if out else bound


def _bind_place(refs: _Refs, bound: Bound, i: int, pin, out: list[Problem]) -> None:
    """Merge member ``i``'s detain pin (unit or facility) into ``bound``, or report how it
    disagrees with an earlier member's."""
    name = "unit" if pin.unit is not None else "facility"
    fac = refs.unit_facility(pin.unit).id if pin.unit is not None else pin.facility
    if fac is None:
        return
    what = f"unit {pin.unit!r}" if pin.unit is not None else f"facility {pin.facility!r}"
    if bound.facility is not None and bound.facility != fac:
        out.append((i, f"pin.{name}", f"{what} conflicts with facility {bound.facility!r} pinned on family member "
                                      f"{refs.who(bound.by['facility'])}: a family shares one unit"))
    elif pin.unit is not None and bound.unit is not None and bound.unit != pin.unit:
        out.append((i, "pin.unit", f"{what} conflicts with unit {bound.unit!r} pinned on family member "
                                   f"{refs.who(bound.by['unit'])}: a family shares one unit"))
    else:
        bound.facility = fac
        bound.by.setdefault("facility", i)
        if pin.unit is not None:
            bound.unit = pin.unit
            bound.by.setdefault("unit", i)


def _stay(inst: Instance, p: Person) -> tuple[int, int | None]:
    """(leave, legal-limit day L or None): the person is in custody on days [arrival_day, leave)
    and may hold a bed only on days before L (MODEL.md §2 ``pin``, §3 rule 4)."""
    leave = inst.horizon_days if p.removal_day is None else min(p.removal_day, inst.horizon_days)
    if p.max_custody_days is None:
        return leave, None
    return leave, p.arrival_day + p.max_custody_days - p.custody_days


def _group_problems(refs: _Refs, b: Bound) -> list[Problem]:
    """The pins of a group that no outcome can satisfy by itself (MODEL.md §2 ``pin``)."""
    inst, ppl = refs.inst, refs.inst.people
    first = ppl[b.members[0]]
    if first.removal_day is not None and first.removal_day <= first.arrival_day:
        return [(b.by["decision"], "pin.decision", f"the person needs no decision (removal_day {first.removal_day} "
                                                   f"<= arrival_day {first.arrival_day}): nothing to pin")]
    leave = _stay(inst, first)[0]  # family members share arrival_day and removal_day
    limits = [(day, i) for i in b.members if (day := _stay(inst, ppl[i])[1]) is not None]
    limit, holder = min(limits) if limits else (None, None)
    if b.decision == "detain":
        if limit is not None and limit < leave:
            return [(b.by["decision"], "pin.decision",
                     f"rule 4 (legal limit): {refs.who(holder)} reaches the legal limit of "
                     f"{ppl[holder].max_custody_days} custody days on day {limit}, before leaving custody on day "
                     f"{leave}: cannot stay detained")]
        return _place_problems(refs, b)
    return _release_problems(refs, b, leave, limit, holder)


def _misfit(refs: _Refs, members: list[int], fac: Facility, unit: Unit) -> str | None:
    """Why ``unit`` of ``fac`` cannot hold the group (the first member it does not fit, and the
    rule: MODEL.md §3 rules 2, 5 and 8), or None when it holds every member."""
    for i in members:
        why = _unit_misfit(unit, refs.inst.people[i]) or _facility_misfit(fac, refs.inst.people[i])
        if why:
            return (f"member {refs.who(i)}: " if len(members) > 1 else "") + why
    return None


def _whom(members: list[int]) -> str:
    return "the pinned person" if len(members) == 1 else "the pinned family"


def _plural(n: int, word: str, many: str = "") -> str:
    return f"{n} {word if n == 1 else many or word + 's'}"


def _unit_misfit(u: Unit, p: Person) -> str | None:
    """Rule 2 (compatibility) of one person and one unit, as a reason, or None."""
    if u.family != (p.family_id is not None):
        what = "a family unit and the person is not" if u.family else "not a family unit and the person is"
        return f"rule 2 (compatibility): unit {u.id} is {what} in a family"
    if u.sex not in (p.sex, "any"):
        return f"rule 2 (compatibility): unit {u.id} is for sex {u.sex}, the person's sex is {p.sex}"
    if not p.minor and p.level not in u.levels:
        return f"rule 2 (compatibility): unit {u.id} holds levels {','.join(u.levels)}, the person's level is {p.level}"
    if p.needs_medical and not u.medical:
        return f"rule 2 (compatibility): unit {u.id} is not medical and the person needs a medical bed"
    return None


def _facility_misfit(f: Facility, p: Person) -> str | None:
    """Rules 5 (short stay) and 8 (local ties) of one person and one facility, or None."""
    if f.max_stay_days is not None and (p.removal_day is None or p.removal_day - p.arrival_day > f.max_stay_days):
        when = ("has no removal day" if p.removal_day is None else
                f"leaves by removal {p.removal_day - p.arrival_day} days after arrival")
        return f"rule 5 (short stay): facility {f.id} keeps people at most {f.max_stay_days} days and the person {when}"
    if p.local_ties and f.id != p.origin and f.aor != p.aor:
        return (f"rule 8 (local ties): the person has local ties in AOR {p.aor}; facility {f.id} is in AOR {f.aor} "
                "and is not their origin")
    return None


def _fits_somewhere(refs: _Refs, members: list[int], facs) -> bool:
    """Whether some unit of the facilities ``facs`` holds the whole group; cached by what
    compatibility depends on, so thousands of pinned people cost a few unit scans."""
    ppl = refs.inst.people
    key = (tuple((p.sex, None if p.minor else p.level, p.needs_medical, p.family_id is not None,
                  None if p.removal_day is None else p.removal_day - p.arrival_day,
                  (p.origin, p.aor) if p.local_ties else None) for p in (ppl[i] for i in members)),
           tuple(f.id for f in facs) if len(facs) == 1 else None)
    if key not in refs.fits:
        refs.fits[key] = any(_misfit(refs, members, f, u) is None for f in facs for u in f.units)
    return refs.fits[key]


def _place_problems(refs: _Refs, b: Bound) -> list[Problem]:
    """A detain pin's unit, facility or 'anywhere' must hold the whole group."""
    if b.unit is not None:
        why = _misfit(refs, b.members, refs.unit_facility(b.unit), refs.units[b.unit][2])
        return [(b.by["unit"], "pin.unit", f"unit {b.unit!r} cannot hold {_whom(b.members)}: {why}")] if why else []
    if b.facility is not None:
        fac = refs.facs[b.facility][1]
        if _fits_somewhere(refs, b.members, [fac]):
            return []
        reasons = [_misfit(refs, b.members, fac, u) for u in fac.units[:3]]
        more = ", ..." if len(fac.units) > 3 else ""
        return [(b.by["facility"], "pin.facility", f"no unit of facility {b.facility!r} can hold {_whom(b.members)}"
                                                   f"{': ' if reasons else ''}{'; '.join(reasons)}{more}")]
    if _fits_somewhere(refs, b.members, refs.inst.facilities):
        return []
    return [(b.by["decision"], "pin.decision", f"no unit in the instance can hold {_whom(b.members)} "
                                               "(rules 2 compatibility, 5 short stay, 8 local ties)")]


def _release_problems(refs: _Refs, b: Bound, leave: int, limit: int | None, holder: int | None) -> list[Problem]:
    """A release pin: nobody mandatory, an eligible program for every adult, a valid release
    day and, for a later release day, a unit to hold the bed until then."""
    ppl = refs.inst.people
    mandatory = [i for i in b.members if ppl[i].mandatory]
    if mandatory:
        whose = "the person is" if mandatory == b.members else f"family member {refs.who(mandatory[0])} is"
        return [(b.by["decision"], "pin.decision", f"rule 4 (law): {whose} mandatory and can never be released")]
    out = [pr for i in b.members for pr in _program_problems(refs, b, i)]
    day = b.release_day
    if day is None:
        return out
    first = ppl[b.members[0]]
    last = leave - 1 if limit is None else min(limit, leave - 1)
    if day != first.arrival_day and not first.arrival_day < day <= last:
        valid = f"valid days are {first.arrival_day} to {last}" if last > first.arrival_day else \
            f"the only valid day is {first.arrival_day}"
        why = (f"rule 4: {refs.who(holder)} reaches the legal limit on day {limit}" if last == limit else
               f"removal on day {leave}" if leave == first.removal_day else f"the plan ends on day {leave}")
        out.append((b.by["release_day"], "pin.release_day", f"day {day} is not a valid release day: {valid} ({why})"))
    elif day > first.arrival_day and not _fits_somewhere(refs, b.members, refs.inst.facilities):
        out.append((b.by["release_day"], "pin.release_day",
                    f"no unit can hold {_whom(b.members)} until release day {day} "
                    "(rules 2 compatibility, 5 short stay, 8 local ties)"))
    return out


def _program_problems(refs: _Refs, b: Bound, i: int) -> list[Problem]:
    """Person ``i`` of a released group: its own pinned program must be eligible (and a minor
    names none); an adult without one needs some eligible program (MODEL.md §3 rule 3)."""
    p = refs.inst.people[i]
    prog = p.pin.atd_program if p.pin is not None else None
    if p.minor:
        return [(i, "pin.atd_program", "rule 3 (ATD): a minor takes no ATD program")] if prog is not None else []
    if prog is not None:
        why = _ineligible(refs.progs[prog][1], p)
        return [(i, "pin.atd_program", f"program {prog!r} cannot supervise the person: {why}")] if why else []
    if any(_ineligible(q, p) is None for q in refs.inst.atd_programs):
        return []
    whom = "the person" if len(b.members) == 1 else f"family member {refs.who(i)}"
    return [(b.by["decision"], "pin.decision", f"rule 3 (ATD): no ATD program may supervise {whom} "
                                               f"(risk {p.risk:g}, AOR {p.aor})")]


def _ineligible(q, p: Person) -> str | None:
    """Why program ``q`` may not supervise adult ``p`` (rule 3), or None."""
    if q.max_risk < p.risk:
        return f"rule 3 (ATD): its max_risk is {q.max_risk:g}, the person's risk is {p.risk:g}"
    if q.aor is not None and q.aor != p.aor:
        return f"rule 3 (ATD): it serves AOR {q.aor} only, the person's AOR is {p.aor}"
    return None


def pin_conflicts(inst: Instance) -> list[str]:
    """Pins that cannot all hold together (MODEL.md §2 ``pin``, last bullet): one line per
    unit, facility, program or transport limit the pinned people alone exceed, naming by how
    many, at most :data:`MAX_CONFLICT_LINES` lines.

    This is the pre-check by counts over the pinned people only (anyone else may be unplaced):
    each test is a necessary condition of feasibility, so a line is always a real conflict.  It
    is not sufficient ('anywhere' pins and later release days compete for beds too): the exact
    feasibility solve over the pinned people extends this function, run when the counts find
    nothing."""
    refs = _Refs(inst)
    bounds = [b for b in (_bind(refs, m, []) for m in _groups(inst)) if b is not None and b.decision == "detain"]
    units = _unit_loads(refs, bounds)
    lines = (_unit_excess(refs, units) + _facility_excess(refs, bounds, units) + _program_excess(refs)
             + _transfer_excess(refs, bounds))
    # hook: the exact feasibility solve over the pinned people alone goes here, when ``lines`` is empty
    if len(lines) > MAX_CONFLICT_LINES:
        return lines[:MAX_CONFLICT_LINES - 1] + [f"... and {len(lines) - MAX_CONFLICT_LINES + 1} more limits "
                                                 "that the pins exceed"]
    return lines


class _Load:
    """People present per day from weighted day intervals ``[start, end)``, by bisection."""

    def __init__(self, intervals: list[tuple[int, int, int]]):
        self.starts = sorted((s, w) for s, _, w in intervals)
        self.ends = sorted((e, w) for _, e, w in intervals)
        self.cum_s = [0, *accumulate(w for _, w in self.starts)]
        self.cum_e = [0, *accumulate(w for _, w in self.ends)]

    def at(self, day: int) -> int:
        big = (day, float("inf"))
        return self.cum_s[bisect.bisect_right(self.starts, big)] - self.cum_e[bisect.bisect_right(self.ends, big)]

    def days(self) -> set[int]:
        """The days the load can rise on (it is highest on one of them)."""
        return {s for s, _ in self.starts}


def _interval(refs: _Refs, b: Bound) -> tuple[int, int, int]:
    """A detained group's bed days ``[arrival_day, leave)`` and its number of beds."""
    p = refs.inst.people[b.members[0]]
    return p.arrival_day, _stay(refs.inst, p)[0], len(b.members)


def _peak(excess, days) -> tuple[int, int]:
    """(largest ``excess(day)``, the first day it is reached) over ``days``."""
    best = max(((excess(t), -t) for t in days), default=(0, 0))
    return best[0], -best[1]


def _unit_loads(refs: _Refs, bounds: list[Bound]) -> dict[str, _Load]:
    """Unit id -> the people its unit pins place there (family pins count every member)."""
    by_unit: dict[str, list] = {}
    for b in bounds:
        if b.unit is not None:
            by_unit.setdefault(b.unit, []).append(_interval(refs, b))
    return {u: _Load(ivs) for u, ivs in sorted(by_unit.items(), key=lambda kv: refs.units[kv[0]][:2])}


def _unit_excess(refs: _Refs, units: dict[str, _Load]) -> list[str]:
    """Units whose pinned people exceed its beds and surge beds on some day."""
    out = []
    for uid, load in units.items():
        k, j, u = refs.units[uid]
        peak, day = _peak(load.at, load.days())
        cap = u.beds + u.surge_beds
        if peak > cap:
            out.append(f"facilities[{k}] id={refs.inst.facilities[k].id}.units[{j}] id={uid}: field 'beds': "
                       f"{_plural(peak, 'pinned person', 'pinned people')} must occupy the unit on day {day}, "
                       f"more than its {_plural(u.beds, 'bed')} and {_plural(u.surge_beds, 'surge bed')}: "
                       f"the pins exceed them by {peak - cap}")
    return out


def _facility_excess(refs: _Refs, bounds: list[Bound], units: dict[str, _Load]) -> list[str]:
    """Facilities whose facility-pinned people need more beds than the units that fit them
    hold beside the unit-pinned people: for each set S of units that fits some of them (and
    the union of these sets), the facility-pinned people who fit only units of S, against the
    beds and surge beds of S left free by unit pins, on each day (a Hall condition, hence
    necessary).  One line per facility, its largest excess."""
    per_fac: dict[str, list] = {}
    for b in bounds:
        if b.unit is None and b.facility is not None:
            fac = refs.facs[b.facility][1]
            fits = frozenset(u.id for u in fac.units if _misfit(refs, b.members, fac, u) is None)
            per_fac.setdefault(b.facility, []).append((fits, _interval(refs, b)))
    out = []
    for fid, items in sorted(per_fac.items(), key=lambda kv: refs.facs[kv[0]][0]):
        fac = refs.facs[fid][1]
        sets = {s for s, _ in items} | {frozenset().union(*(s for s, _ in items))}
        names = {s: [u.id for u in fac.units if u.id in s] for s in sets}  # instance order
        order = sorted(sets, key=lambda s: (len(s), names[s]))  # the smallest set first among equal excesses
        excess, day, need, free, s = max((_set_excess(refs, items, s, units) + (s,) for s in order),
                                         key=lambda r: r[0])
        if excess > 0:
            out.append(f"facilities[{refs.facs[fid][0]}] id={fid}: field 'units': on day {day}, "
                       f"{_plural(need, 'person', 'people')} pinned to the facility fit only its units "
                       f"{', '.join(names[s])}, which have {_plural(free, 'bed')} (surge included) beside unit "
                       f"pins: the pins exceed them by {excess}")
    return out


def _set_excess(refs: _Refs, items: list, s: frozenset, units: dict[str, _Load]) -> tuple[int, int, int, int]:
    """(largest excess, its first day, the people needing ``s`` then, the free beds of ``s`` then)."""
    need = _Load([iv for fits, iv in items if fits <= s])
    caps = {u: refs.units[u][2].beds + refs.units[u][2].surge_beds for u in s}

    def free(t):
        return sum(max(0, c - (units[u].at(t) if u in units else 0)) for u, c in caps.items())

    days = need.days().union(*(units[u].days() for u in s if u in units))
    excess, day = _peak(lambda t: need.at(t) - free(t), days)
    return excess, day, need.at(day), free(day)


def _program_excess(refs: _Refs) -> list[str]:
    """Programs with more pinned enrolments than their capacity."""
    count: dict[str, int] = {}
    for p in refs.inst.people:
        if p.pin is not None and p.pin.decision == "release" and p.pin.atd_program is not None:
            count[p.pin.atd_program] = count.get(p.pin.atd_program, 0) + 1
    out = []
    for k, q in enumerate(refs.inst.atd_programs):
        n = count.get(q.id, 0)
        if q.capacity is not None and n > q.capacity:
            out.append(f"atd_programs[{k}] id={q.id}: field 'capacity': {_plural(n, 'pinned release')} "
                       f"to the program, more than its capacity of {q.capacity}: "
                       f"the pins exceed it by {n - q.capacity}")
    return out


def _transfer_excess(refs: _Refs, bounds: list[Bound]) -> list[str]:
    """Transport limits (MODEL.md §3 rule 7) exceeded by the transfers that unit and facility
    pins force: every member whose origin is a facility other than the pinned one, on its
    arrival day, counted by the origin facility's AOR and nationally."""
    ppl, inst = refs.inst.people, refs.inst
    by_aor: dict[tuple[str, int], int] = {}
    by_day: dict[int, int] = {}
    for b in bounds:
        if b.facility is None:
            continue
        for i in b.members:
            o = ppl[i].origin
            if o is not None and o != b.facility:
                key = (refs.facs[o][1].aor, ppl[i].arrival_day)
                by_aor[key] = by_aor.get(key, 0) + 1
                by_day[key[1]] = by_day.get(key[1], 0) + 1
    out = []
    for k, a in enumerate(inst.aors):
        for day in sorted(d for (code, d) in by_aor if code == a.code):
            n, cap = by_aor[a.code, day], a.max_transfers_out_per_day
            if cap is not None and n > cap:
                out.append(f"aors[{k}] code={a.code}: field 'max_transfers_out_per_day': "
                           f"{_plural(n, 'pinned transfer')} out of the AOR's facilities on day {day}, "
                           f"more than its limit of {cap}: the pins exceed it by {n - cap}")
    cap = inst.policy.max_transfers_per_day
    for day, n in sorted(by_day.items()):
        if cap is not None and n > cap:
            out.append(f"policy: field 'max_transfers_per_day': {_plural(n, 'pinned transfer')} on day {day}, "
                       f"more than the national limit of {cap}: the pins exceed it by {n - cap}")
    return out
