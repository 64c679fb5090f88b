"""Brute-force oracles (MODEL.md §3–§4, contract 1.1 rules 7–9 included), written independently
of the model.

:func:`brute_force` enumerates every plan of a small ONE-DAY instance (``horizon_days == 1``, at
most :data:`MAX_PEOPLE` people) with branch-and-bound; :func:`brute_force_days` enumerates every
plan of a small instance of any horizon.  Both return the lexicographic optimum of
``(unplaced, surge, released_risk, cost_usd)`` together with the number of optimal plans.
Only :mod:`optimizer.instance` is used: nothing here shares code with the MIP.

A plan gives each *block* (a person without ``family_id``, or a whole family) one outcome:

* ``detain`` in a unit that is compatible with every member (sex equal or ``"any"``; the unit
  lists the level of every adult; ``medical`` when any member needs it; ``family`` exactly when
  the block is a family), where no member is at the legal limit (``custody_days >=
  max_custody_days``), and, when the facility has ``max_stay_days``, every member leaves by
  removal within that many days (``removal_day - arrival_day <= max_stay_days``; a null
  ``removal_day`` never qualifies);
* ``release`` (on day 0, without a bed: in a one-day plan ``release_day`` can only be
  ``arrival_day`` = 0) when no member is mandatory, each adult choosing its own eligible
  program (``max_risk >= risk``, ``aor`` null or equal to the adult's), minors none;
* ``unplaced`` (always possible for an unpinned block; counts each member at level 1).

Contract 1.1 (rules 7–9), read from MODEL.md alone:

* **local ties** (rule 8): a unit is open to a block only when every member with ``local_ties``
  has it in their ``origin`` facility or in a facility whose ``aor`` is the member's ``aor``
  (a compatibility restriction; ATD programs are not restricted);
* **transport** (rule 7): an outcome that occupies a unit of facility f (detention, or a later
  release from a bed) moves every member whose ``origin`` is a facility other than f; each such
  member takes one seat of (AOR of the *origin facility*, ``arrival_day``) and one of the
  national day.  Seats are counted like beds: an option is taken only while no
  ``max_transfers_out_per_day`` and no ``max_transfers_per_day`` is exceeded.  A release on
  arrival, an unplaced block and a person without origin take no seat;
* **pins** (rule 9): a member's pin binds the whole block's decision, unit, facility and release
  day; a pinned program binds only its adult.  A pinned block's options are exactly those that
  match (a detain pin: full-stay detention in the unit, in some unit of the facility, or
  anywhere; a release pin: release, on the day and to the program where given, from any allowed
  bed until a later day); it is never ``unplaced``.

People with ``removal_day <= arrival_day`` are ``removed`` and take no decision (a family's
members share ``removal_day``, so a family is removed as a whole).

Objective of a one-day plan (``C = policy.cost_days``):

1. unplaced people;
2. surge beds used: sum over units of ``max(0, occupancy - beds)``;
3. released risk: sum of effective release risks of released people, minors included, held
   here as an integer count of 0.0001 units (``round(effective_risk * 10000)``);
4. cost: ``C x sum_f (gm_f x gm_rate_f + per_diem_f x max(0, occ_f - gm_f))``
   (guaranteed-minimum payments are due even for an empty facility)
   ``+ C x sum of the ATD per diems of released adults``
   ``+ moving costs`` of every detained person, minors included: ``transfer_fixed_usd`` when
   ``origin`` is a facility other than the unit's, plus ``transfer_usd_per_km`` x haversine
   distance (R = 6371.0088 km) from the origin facility, or from the person's AOR hub when
   ``origin`` is null, to the unit's facility; nothing when the unit is in the origin facility.

Levels 1–3 are compared exactly; level 4 with a tolerance of ``1e-6`` relative (and ``1e-6``
absolute): plans whose cost is within that tolerance of the best are counted as optimal ties.

Search: depth-first over blocks with capacity pruning (``beds + surge_beds`` per unit,
``capacity`` per program, transport seats) and branch-and-bound on the lexicographic tuple.
Every component of the partial objective can only grow as blocks are added, and each remaining
block adds at least its static lexicographic minimum option; lexicographic order is compatible
with addition, so ``partial + sum of remaining minima`` is a valid lexicographic lower bound
(capacities, seats, ties and pins only remove plans, so the bound stays valid).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from optimizer.instance import Instance, effective_risk

MAX_PEOPLE = 16  # random tests use <= 8; the hand-made tiny instance has 12
EARTH_RADIUS_KM = 6371.0088
RISK_UNITS = 10_000  # released risk is held as an integer number of 0.0001 units
REL_TOL = 1e-6
ABS_TOL = 1e-6


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (haversine, R = 6371.0088 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def cost_close(a: float, b: float) -> bool:
    """Level-4 equality: within 1e-6 relative plus 1e-6 absolute."""
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b)) + ABS_TOL


@dataclass(frozen=True)
class Decision:
    """One person's outcome, as in plan.csv (empty string for what does not apply)."""

    decision: str  # detain | release | unplaced | removed
    facility_id: str = ""
    unit_id: str = ""
    atd_program_id: str = ""
    release_day: int | None = None  # multi-day plans (brute_force_days) only


@dataclass
class BruteResult:
    unplaced: int
    surge: int
    released_risk_units: int  # in 0.0001 units (multi-day: 0.0001 / horizon_days units)
    cost_usd: float
    n_optimal: int  # plans whose levels 1-3 equal the optimum and cost is within tolerance
    plans: list[dict[str, Decision]] = field(default_factory=list)  # up to MAX_STORED optimal plans
    nodes: int = 0

    @property
    def released_risk(self) -> float:
        return round(self.released_risk_units / RISK_UNITS, 4)

    @property
    def objective(self) -> dict:
        return {
            "unplaced": self.unplaced,
            "surge": self.surge,
            "released_risk": self.released_risk,
            "cost_usd": self.cost_usd,
        }

    @property
    def plan(self) -> dict[str, Decision]:
        """The optimal plan when it is unique (raises otherwise)."""
        if self.n_optimal != 1:
            raise ValueError(f"the optimum is not unique ({self.n_optimal} optimal plans)")
        return self.plans[0]


MAX_STORED = 1000


# --------------------------------------------------------------------------- preprocessing


class _Data:
    """Indices and per-person facts derived from the instance."""

    def __init__(self, inst: Instance, one_day: bool = True):
        if one_day and inst.horizon_days != 1:
            raise ValueError("the brute force handles one-day instances only (horizon_days = 1)")
        if one_day and len(inst.people) > MAX_PEOPLE:
            raise ValueError(f"the brute force handles at most {MAX_PEOPLE} people")
        self.inst = inst
        pol = inst.policy
        self.C = pol.cost_days
        table = pol.factors()
        self.fac_index = {f.id: i for i, f in enumerate(inst.facilities)}
        self.facilities = list(inst.facilities)
        self.units = []  # (unit, facility index)
        for fi, f in enumerate(inst.facilities):
            for u in f.units:
                self.units.append((u, fi))
        self.programs = list(inst.atd_programs)
        self.aor = {a.code: a for a in inst.aors}
        self.eff_units = [round(effective_risk(p.risk, p.humanitarian, table) * RISK_UNITS) for p in inst.people]
        self.eff = [effective_risk(p.risk, p.humanitarian, table) for p in inst.people]

    def moving_cost(self, p, fi: int) -> float:
        """Moving cost of person p occupying a unit of facility index fi."""
        inst = self.inst
        fac = self.facilities[fi]
        if p.origin is not None:
            if p.origin == fac.id:
                return 0.0
            o = self.facilities[self.fac_index[p.origin]]
            d = haversine_km(o.lat, o.lon, fac.lat, fac.lon)
            return inst.policy.transfer_fixed_usd + inst.policy.transfer_usd_per_km * d
        hub = self.aor[p.aor]
        d = haversine_km(hub.lat, hub.lon, fac.lat, fac.lon)
        return inst.policy.transfer_usd_per_km * d

    def moves(self, members, fi: int) -> tuple[str, ...]:
        """Rule 7: the AOR of the origin facility of every member who is a transfer when the block
        occupies a unit of facility fi, one entry per member moved (minors included)."""
        fac_id = self.facilities[fi].id
        return tuple(self.facilities[self.fac_index[p.origin]].aor for p in members
                     if p.origin is not None and p.origin != fac_id)

    @staticmethod
    def at_limit(p) -> bool:
        # one-day plan, day t = arrival_day = 0: custody_days + 0 >= max_custody_days
        return p.max_custody_days is not None and p.custody_days >= p.max_custody_days

    def compatible(self, members, ui: int) -> bool:
        """Rules 2 (compatibility), 5 (short stays) and 8 (local ties) for every member."""
        u, fi = self.units[ui]
        fac = self.facilities[fi]
        if u.family != (members[0].family_id is not None):
            return False
        for p in members:
            if u.sex not in ("any", p.sex) or (not p.minor and p.level not in u.levels):
                return False
            if p.needs_medical and not u.medical:
                return False
            if fac.max_stay_days is not None:
                if p.removal_day is None or p.removal_day - p.arrival_day > fac.max_stay_days:
                    return False
            if p.local_ties and p.origin != fac.id and fac.aor != p.aor:
                return False
        return True

    def unit_ok(self, members, ui: int) -> bool:
        """:meth:`compatible`, and nobody at the legal limit on day 0 (one-day plans)."""
        return self.compatible(members, ui) and not any(self.at_limit(p) for p in members)

    def program_ok(self, p, pi: int) -> bool:
        g = self.programs[pi]
        return g.max_risk >= p.risk and (g.aor is None or g.aor == p.aor)

    def pin(self, block: list[int]) -> "_Pin":
        """The pin binding a block (see :class:`_Pin`); raises ``ValueError`` when members' pins
        disagree (the instance reader refuses such instances)."""
        bound: dict = {}
        programs = []
        for i in block:
            pin = self.inst.people[i].pin
            if pin is None:
                continue
            if pin.decision == "detain":
                fac = pin.facility
                if pin.unit is not None:
                    fac = next(self.facilities[fi].id for u, fi in self.units if u.id == pin.unit)
                fields = {"decision": "detain", "facility": fac, "unit": pin.unit}
            else:
                fields = {"decision": "release", "day": pin.release_day}
                if pin.atd_program is not None:
                    programs.append((i, pin.atd_program))
            for key, value in fields.items():
                if value is not None and bound.setdefault(key, value) != value:
                    raise ValueError(f"pins of block {block} disagree on {key}")
        return _Pin(**bound, programs=tuple(programs))


@dataclass(frozen=True)
class _Pin:
    """Rule 9 for one block: ``decision`` None when unpinned; the facility, unit and release day of
    any member's pin bind the whole block; ``programs`` holds (person index, program id) of the
    adults that carry a program pin (it binds only them)."""

    decision: str | None = None
    facility: str | None = None
    unit: str | None = None
    day: int | None = None
    programs: tuple = ()

    def allows(self, decision: str, facility: str = "", unit: str = "", day: int | None = None,
               programs: dict | None = None) -> bool:
        """Whether an outcome keeps the pin (``programs``: person index -> program id)."""
        if self.decision is None:
            return True
        if decision != self.decision or self.facility not in (None, facility) or self.unit not in (None, unit):
            return False
        if self.day is not None and day != self.day:
            return False
        return all((programs or {}).get(i) == g for i, g in self.programs)


class _Seats:
    """Transport seats (rule 7) taken so far, per (origin facility's AOR, day) and per day (key
    ``(None, day)``), against ``max_transfers_out_per_day`` and ``max_transfers_per_day``."""

    def __init__(self, inst: Instance):
        self.limits = {a.code: a.max_transfers_out_per_day for a in inst.aors}
        self.limits[None] = inst.policy.max_transfers_per_day
        self.used: Counter = Counter()

    @staticmethod
    def _keys(moves, day):
        return [(aor, day) for aor in moves] + [(None, day)] * len(moves)

    def fits(self, moves, day: int) -> bool:
        if not moves:
            return True
        need = Counter(self._keys(moves, day))
        return all(self.limits[k[0]] is None or self.used[k] + n <= self.limits[k[0]] for k, n in need.items())

    def take(self, moves, day: int, sign: int = 1) -> None:
        for k in self._keys(moves, day):
            self.used[k] += sign

    def over(self) -> list[str]:
        """The limits the seats taken exceed, one line each (empty when every limit holds)."""
        return [f"{'national' if k[0] is None else k[0]} day {k[1]}: {n} transfers > {self.limits[k[0]]}"
                for k, n in sorted(self.used.items(), key=lambda kn: (kn[0][1], kn[0][0] or ""))
                if self.limits[k[0]] is not None and n > self.limits[k[0]]]


@dataclass
class _Option:
    kind: str  # detain | release | unplaced
    unit: int = -1
    programs: tuple = ()  # one program index per adult of the block (release)
    d_unplaced: int = 0
    d_risk: int = 0
    static_cost: float = 0.0  # moving costs (detain) or C x ATD per diems (release)
    moves: tuple = ()  # origin AOR per member moved (detain; rule 7)

    def static_key(self):
        # lexicographic lower bound of this option's contribution (surge and facility per
        # diems are >= 0 and depend on the other blocks)
        return (self.d_unplaced, 0, self.d_risk, self.static_cost)


def _blocks(inst: Instance):
    """Blocks of people indices needing a decision, and the list of removed indices."""
    fam: dict[str, list[int]] = {}
    blocks, removed = [], []
    for i, p in enumerate(inst.people):
        if p.removal_day is not None and p.removal_day <= p.arrival_day:
            removed.append(i)
            continue
        if p.family_id is None:
            blocks.append([i])
        else:
            if p.family_id not in fam:
                fam[p.family_id] = []
                blocks.append(fam[p.family_id])
            fam[p.family_id].append(i)
    return blocks, removed


def _adults(d: _Data, block: list[int]) -> list[int]:
    return [i for i in block if not d.inst.people[i].minor]


def _program_choices(d: _Data, block: list[int]) -> list[tuple]:
    """Every choice of one eligible program per adult (release; none when a member is
    mandatory)."""
    people = d.inst.people
    if any(people[i].mandatory for i in block):
        return []
    return list(itertools.product(*[[pi for pi in range(len(d.programs)) if d.program_ok(people[i], pi)]
                                    for i in _adults(d, block)]))


def _options(d: _Data, block: list[int]) -> list[_Option]:
    people = d.inst.people
    members = [people[i] for i in block]
    pin = d.pin(block)
    adults = _adults(d, block)
    opts: list[_Option] = []
    for ui, (u, fi) in enumerate(d.units):
        if d.unit_ok(members, ui) and pin.allows("detain", d.facilities[fi].id, u.id):
            mv = sum(d.moving_cost(p, fi) for p in members)
            opts.append(_Option("detain", unit=ui, static_cost=mv, moves=d.moves(members, fi)))
    risk = sum(d.eff_units[i] for i in block)
    for combo in _program_choices(d, block):
        if pin.allows("release", day=members[0].arrival_day,
                      programs={i: d.programs[pi].id for i, pi in zip(adults, combo)}):
            per_diem = d.C * sum(d.programs[pi].per_diem for pi in combo)
            opts.append(_Option("release", programs=combo, d_risk=risk, static_cost=per_diem))
    if pin.decision is None:
        opts.append(_Option("unplaced", d_unplaced=len(block)))
    if not opts:
        raise ValueError(f"no outcome keeps the pin of block {[people[i].id for i in block]}")
    opts.sort(key=_Option.static_key)
    return opts


# --------------------------------------------------------------------------- search


def brute_force(inst: Instance, prune: bool = True) -> BruteResult:
    """Enumerate every plan of a one-day instance; return the lexicographic optimum and the
    number of optimal plans (ties at level 4 within 1e-6 relative + 1e-6 absolute).

    ``prune=False`` switches branch-and-bound off (capacity checks stay): every feasible plan
    is then visited, which the tests use to check the bound on small instances.  Raises
    ``ValueError`` when no plan keeps every pin."""
    d = _Data(inst)
    blocks, removed = _blocks(inst)
    # most constrained blocks first (fewest options), larger blocks first on ties
    opts = [_options(d, b) for b in blocks]
    order = sorted(range(len(blocks)), key=lambda k: (len(opts[k]), -len(blocks[k]), k))
    blocks = [blocks[k] for k in order]
    opts = [opts[k] for k in order]
    nb = len(blocks)

    # suffix sums of static lexicographic minima (the bound of the remaining blocks)
    suffix = [(0, 0, 0, 0.0)] * (nb + 1)
    for k in range(nb - 1, -1, -1):
        m = min(o.static_key() for o in opts[k])
        s = suffix[k + 1]
        suffix[k] = (s[0] + m[0], 0, s[2] + m[2], s[3] + m[3])

    n_units = len(d.units)
    unit_beds = [u.beds for u, _ in d.units]
    unit_cap = [u.beds + u.surge_beds for u, _ in d.units]
    unit_fac = [fi for _, fi in d.units]
    fac_gm = [f.guaranteed_minimum for f in d.facilities]
    fac_pd = [d.C * f.per_diem for f in d.facilities]
    prog_cap = [g.capacity for g in d.programs]
    base_cost = d.C * sum(f.guaranteed_minimum * f.gm_rate for f in d.facilities)

    unit_occ = [0] * n_units
    fac_occ = [0] * len(d.facilities)
    prog_used = [0] * len(d.programs)
    seats = _Seats(inst)
    chosen: list[_Option | None] = [None] * nb

    best = [None]  # (unplaced, surge, risk) of the incumbent
    best_cost = [math.inf]
    ties: list[tuple[float, list]] = []  # (cost, chosen options) within tolerance of best_cost
    nodes = [0]

    def worse(lb3, lbc) -> bool:
        b = best[0]
        if b is None or not prune:
            return False
        if lb3 != b:
            return lb3 > b
        return lbc > best_cost[0] and not cost_close(lbc, best_cost[0])

    def leaf(t3, cost):
        b = best[0]
        if b is None or t3 < b or (t3 == b and cost < best_cost[0] and not cost_close(cost, best_cost[0])):
            best[0] = t3
            best_cost[0] = cost
            ties.clear()
            ties.append((cost, list(chosen)))
            return
        if t3 != b:
            return
        if cost_close(cost, best_cost[0]) or cost < best_cost[0]:
            ties.append((cost, list(chosen)))
            if cost < best_cost[0]:
                best_cost[0] = cost
                ties[:] = [t for t in ties if cost_close(t[0], cost)]

    def dfs(k: int, un: int, su: int, ri: int, co: float):
        nodes[0] += 1
        if k == nb:
            leaf((un, su, ri), co)
            return
        s = suffix[k]
        if worse((un + s[0], su, ri + s[2]), co + s[3]):
            return
        block = blocks[k]
        size = len(block)
        for o in opts[k]:
            if o.kind == "detain":
                ui = o.unit
                occ = unit_occ[ui]
                if occ + size > unit_cap[ui] or not seats.fits(o.moves, 0):
                    continue
                fi = unit_fac[ui]
                fo = fac_occ[fi]
                gm = fac_gm[fi]
                d_surge = max(0, occ + size - unit_beds[ui]) - max(0, occ - unit_beds[ui])
                d_fac = fac_pd[fi] * (max(0, fo + size - gm) - max(0, fo - gm))
                unit_occ[ui] = occ + size
                fac_occ[fi] = fo + size
                seats.take(o.moves, 0)
                chosen[k] = o
                dfs(k + 1, un, su + d_surge, ri, co + d_fac + o.static_cost)
                seats.take(o.moves, 0, -1)
                unit_occ[ui] = occ
                fac_occ[fi] = fo
            elif o.kind == "release":
                ok = True
                for pi in o.programs:
                    prog_used[pi] += 1
                for pi in o.programs:
                    if prog_cap[pi] is not None and prog_used[pi] > prog_cap[pi]:
                        ok = False
                if ok:
                    chosen[k] = o
                    dfs(k + 1, un, su, ri + o.d_risk, co + o.static_cost)
                for pi in o.programs:
                    prog_used[pi] -= 1
            else:
                chosen[k] = o
                dfs(k + 1, un + o.d_unplaced, su, ri, co)
        chosen[k] = None

    dfs(0, 0, 0, 0, base_cost)
    if best[0] is None:  # without pins the all-unplaced plan always exists
        raise ValueError("the pins cannot all hold together")

    people = inst.people
    plans = []
    for _, ch in ties[:MAX_STORED]:
        plan = {people[i].id: Decision("removed") for i in removed}
        for block, o in zip(blocks, ch):
            plan.update(_block_decisions(d, block, o.kind, o.unit, o.programs))
        plans.append({p.id: plan[p.id] for p in people})
    un, su, ri = best[0]
    return BruteResult(un, su, ri, best_cost[0], len(ties), plans, nodes[0])


def _block_decisions(d: _Data, block: list[int], kind: str, ui: int = -1, programs: tuple = (),
                     day: int | None = None) -> dict[str, Decision]:
    """The members' rows of one block's outcome (a program per adult, in block order)."""
    people = d.inst.people
    fac_id, unit_id = (d.facilities[d.units[ui][1]].id, d.units[ui][0].id) if ui >= 0 else ("", "")
    progs = iter(programs)
    return {people[i].id: Decision(kind, fac_id, unit_id,
                                   "" if kind != "release" or people[i].minor else d.programs[next(progs)].id, day)
            for i in block}


# --------------------------------------------------------------------------- evaluation


def check_new_rules(inst: Instance, plan: dict[str, Decision]) -> Counter:
    """Check rules 7-9 of MODEL.md §3 (transport, local ties, pins) on a plan of any horizon.

    ``plan`` maps person id to :class:`Decision` (``release_day`` None on a release means
    ``arrival_day``).  Raises ``AssertionError`` naming the first violation.  Returns the
    transfers per ``(origin facility's AOR, day)`` and per ``(None, day)`` (the nation)."""
    d = _Data(inst, one_day=False)
    people = inst.people
    unit_fac = {u.id: fi for u, fi in d.units}
    seats = _Seats(inst)
    for p in people:
        dec = plan[p.id]
        if dec.unit_id:
            fac = d.facilities[unit_fac[dec.unit_id]]
            assert not p.local_ties or p.origin == fac.id or fac.aor == p.aor, (
                f"{p.id}: local ties forbid facility {fac.id}")
            seats.take(d.moves([p], unit_fac[dec.unit_id]), p.arrival_day)
    assert not seats.over(), f"transport limits exceeded: {seats.over()}"
    for block in _blocks(inst)[0]:
        pin = d.pin(block)
        programs = {i: plan[people[i].id].atd_program_id for i in block}
        for i in block:
            dec = plan[people[i].id]
            day = people[i].arrival_day if dec.release_day is None else dec.release_day
            assert pin.allows(dec.decision, dec.facility_id, dec.unit_id, day, programs), (
                f"{people[i].id}: {dec} breaks the pin {pin}")
    return +seats.used


def evaluate_plan(inst: Instance, plan: dict[str, Decision]) -> dict:
    """Check a one-day plan against MODEL.md §3 and compute its objective from scratch.

    ``plan`` maps person id to :class:`Decision`.  Raises ``AssertionError`` naming the first
    violated rule.  Returns ``{unplaced, surge, released_risk, released_risk_units, cost_usd}``
    plus ``cost_parts`` (``detention``, ``atd``, ``moving``) for hand-checking and
    ``transfers`` (:func:`check_new_rules`)."""
    d = _Data(inst)
    people = inst.people
    unit_by_id = {u.id: ui for ui, (u, _) in enumerate(d.units)}
    prog_by_id = {g.id: pi for pi, g in enumerate(d.programs)}
    unit_occ = [0] * len(d.units)
    prog_used = [0] * len(d.programs)
    unplaced = risk = 0
    moving = atd = 0.0
    fams: dict[str, set] = {}
    for i, p in enumerate(people):
        dec = plan[p.id]
        removed = p.removal_day is not None and p.removal_day <= p.arrival_day
        assert (dec.decision == "removed") == removed, f"{p.id}: removed exactly when removal_day <= arrival_day"
        if p.family_id is not None:
            fams.setdefault(p.family_id, set()).add((dec.decision, dec.unit_id))
        if dec.decision == "detain":
            ui = unit_by_id[dec.unit_id]
            u, fi = d.units[ui]
            assert dec.facility_id == d.facilities[fi].id, f"{p.id}: facility_id"
            assert d.unit_ok([p], ui), f"{p.id}: unit {u.id} incompatible"
            unit_occ[ui] += 1
            moving += d.moving_cost(p, fi)
        elif dec.decision == "release":
            assert not p.mandatory, f"{p.id}: mandatory person released"
            if p.family_id is not None:
                assert not any(q.mandatory for q in people if q.family_id == p.family_id), f"{p.id}: family has a mandatory member"
            if p.minor:
                assert dec.atd_program_id == "", f"{p.id}: a minor takes no program"
            else:
                pi = prog_by_id[dec.atd_program_id]
                assert d.program_ok(p, pi), f"{p.id}: program {dec.atd_program_id} not eligible"
                prog_used[pi] += 1
                atd += d.C * d.programs[pi].per_diem
            risk += d.eff_units[i]
        elif dec.decision == "unplaced":
            unplaced += 1
    for fid, outcomes in fams.items():
        assert len(outcomes) == 1, f"family {fid}: members have different outcomes"
    for pi, g in enumerate(d.programs):
        assert g.capacity is None or prog_used[pi] <= g.capacity, f"program {g.id} over capacity"
    transfers = check_new_rules(inst, plan)
    surge = 0
    fac_occ = [0] * len(d.facilities)
    for ui, (u, fi) in enumerate(d.units):
        assert unit_occ[ui] <= u.beds + u.surge_beds, f"unit {u.id} over beds + surge"
        surge += max(0, unit_occ[ui] - u.beds)
        fac_occ[fi] += unit_occ[ui]
    detention = 0.0
    for fi, f in enumerate(d.facilities):
        detention += d.C * (f.guaranteed_minimum * f.gm_rate + f.per_diem * max(0, fac_occ[fi] - f.guaranteed_minimum))
    return {
        "unplaced": unplaced,
        "surge": surge,
        "released_risk_units": risk,
        "released_risk": round(risk / RISK_UNITS, 4),
        "cost_usd": detention + atd + moving,
        "cost_parts": {"detention": detention, "atd": atd, "moving": moving},
        "transfers": transfers,
    }


# --------------------------------------------------------------------------- multi-day plans


def _last_day(p, H: int) -> int:
    """The day a person leaves custody by removal or the end of the plan: min(removal_day, H)."""
    return H if p.removal_day is None else min(p.removal_day, H)


def _limit_day(p) -> float:
    """The first day t with ``custody_days + (t - arrival_day) >= max_custody_days`` (MODEL.md §3
    rule 4): the person may not occupy a bed on that day or later (inf without a limit)."""
    if p.max_custody_days is None:
        return math.inf
    return p.arrival_day + p.max_custody_days - p.custody_days


class _Stay(NamedTuple):
    """One block's outcome in a plan of H days: ``unit`` (-1 for none) occupied on days
    ``[start, end)``, release ``day`` (None when not released), one program per adult, and the
    origin AOR of every member moved (seats taken on day ``start``, rule 7)."""

    kind: str
    unit: int
    start: int
    end: int
    day: int | None
    programs: tuple
    moves: tuple


def _stays(d: _Data, block: list[int], H: int) -> list[_Stay]:
    """Every outcome of a block that rules 2-6 and 8-9 allow (capacities and seats are checked
    during the search)."""
    people = d.inst.people
    members = [people[i] for i in block]
    a, e = members[0].arrival_day, _last_day(members[0], H)
    limit = min(_limit_day(p) for p in members)
    pin = d.pin(block)
    adults = _adults(d, block)
    units = [ui for ui in range(len(d.units)) if d.compatible(members, ui)]
    out = []

    def add(kind, ui, end, day, combo):
        fac, unit = (d.facilities[d.units[ui][1]].id, d.units[ui][0].id) if ui >= 0 else ("", "")
        if pin.allows(kind, fac, unit, day, {i: d.programs[pi].id for i, pi in zip(adults, combo)}):
            out.append(_Stay(kind, ui, a, end, day, combo, d.moves(members, d.units[ui][1]) if ui >= 0 else ()))

    for ui in units:
        if e <= limit:
            add("detain", ui, e, None, ())
    for combo in _program_choices(d, block):
        add("release", -1, a, a, combo)
        for day in range(a + 1, min(e - 1, limit) + 1):
            for ui in units:
                add("release", ui, day, day, combo)
    if pin.decision is None:
        add("unplaced", -1, a, None, ())
    if not out:
        raise ValueError(f"no outcome keeps the pin of block {[people[i].id for i in block]}")
    return out


class _Load:
    """Beds per unit and day, enrolments per program and transport seats taken so far."""

    def __init__(self, d: _Data, H: int):
        self.d = d
        self.occ = [[0] * H for _ in d.units]
        self.enrolled = [0] * len(d.programs)
        self.seats = _Seats(d.inst)

    def fits(self, s: _Stay, size: int) -> bool:
        if s.unit >= 0:
            u = self.d.units[s.unit][0]
            if any(self.occ[s.unit][t] + size > u.beds + u.surge_beds for t in range(s.start, s.end)):
                return False
        for pi, n in Counter(s.programs).items():
            cap = self.d.programs[pi].capacity
            if cap is not None and self.enrolled[pi] + n > cap:
                return False
        return self.seats.fits(s.moves, s.start)

    def take(self, s: _Stay, size: int, sign: int = 1) -> None:
        if s.unit >= 0:
            for t in range(s.start, s.end):
                self.occ[s.unit][t] += sign * size
        for pi in s.programs:
            self.enrolled[pi] += sign
        self.seats.take(s.moves, s.start, sign)


def _stay_plan(d: _Data, blocks, removed, chosen) -> dict[str, Decision]:
    people = d.inst.people
    plan = {people[i].id: Decision("removed") for i in removed}
    for block, s in zip(blocks, chosen):
        plan.update(_block_decisions(d, block, s.kind, s.unit, s.programs, s.day))
    return {p.id: plan[p.id] for p in people}


def brute_force_days(inst: Instance) -> BruteResult:
    """Enumerate every plan of a small multi-day instance (MODEL.md §3-§4 for ``horizon_days``
    H >= 1; at most 6 people and 4 days in the tests) and return the lexicographic optimum.

    Each block (person or family; members share ``arrival_day`` a and ``removal_day``) takes one
    of: ``detain`` in a compatible unit for days ``[a, e)``, e = min(removal_day, H), allowed when
    no member reaches the legal limit before e; ``release`` on day a without a bed; ``release``
    on a day d with a < d < e and d <= every member's limit day, after occupying a compatible
    unit on days ``[a, d)``; or ``unplaced`` (unpinned blocks only).  Release needs no mandatory
    member and one eligible program per adult; a program takes at most ``capacity`` enrolments
    over the plan.  Local ties and pins restrict the options, transport seats are taken on day a
    (see the module docstring).

    Levels: unplaced people; surge bed-days (sum over units and days of max(0, occupancy -
    beds)); released risk in units of 0.0001 / H (sum of ``round(effective_risk x 10000) x (H -
    d)``); cost = sum over days and facilities of ``gm x gm_rate + per_diem x max(0, occupancy -
    gm)`` + each released adult's program per diem x (H - d) + moving costs of everyone who
    occupies a unit.  ``policy.cost_days`` is not used when H > 1 (for H = 1 it multiplies the
    per-day terms, as in :func:`brute_force`).  Full enumeration with lexicographic pruning on
    the partial levels (every term is >= 0).  Raises ``ValueError`` when no plan keeps every
    pin."""
    d = _Data(inst, one_day=False)
    H = inst.horizon_days
    mult = inst.policy.cost_days if H == 1 else 1
    people = inst.people
    blocks, removed = _blocks(inst)
    options = [_stays(d, block, H) for block in blocks]
    nf = len(d.facilities)
    load = _Load(d, H)
    chosen = [None] * len(blocks)
    best = {"key": None, "cost": math.inf, "ties": [], "nodes": 0}

    def evaluate():
        un = su = ri = 0
        cost = 0.0
        fac_occ = [[0] * H for _ in range(nf)]
        for ui, (u, fi) in enumerate(d.units):
            for t in range(H):
                su += max(0, load.occ[ui][t] - u.beds)
                fac_occ[fi][t] += load.occ[ui][t]
        for fi, f in enumerate(d.facilities):
            for t in range(H):
                cost += mult * (f.guaranteed_minimum * f.gm_rate + f.per_diem * max(0, fac_occ[fi][t]
                                                                                    - f.guaranteed_minimum))
        for block, s in zip(blocks, chosen):
            if s.kind == "unplaced":
                un += len(block)
                continue
            if s.unit >= 0:
                cost += sum(d.moving_cost(people[i], d.units[s.unit][1]) for i in block)
            if s.kind == "release":
                ri += sum(d.eff_units[i] for i in block) * (H - s.day)
                cost += sum(mult * d.programs[pi].per_diem * (H - s.day) for pi in s.programs)
        return (un, su, ri), cost

    def dfs(k, un):
        best["nodes"] += 1
        b = best["key"]
        if b is not None and un > b[0]:  # level 1 only grows as blocks are added
            return
        if k == len(blocks):
            key, cost = evaluate()
            if b is None or key < b or (key == b and cost < best["cost"] and not cost_close(cost, best["cost"])):
                best.update(key=key, cost=cost, ties=[list(chosen)])
            elif key == b and cost_close(cost, best["cost"]):
                best["ties"].append(list(chosen))
                best["cost"] = min(cost, best["cost"])
            return
        size = len(blocks[k])
        for s in options[k]:
            if not load.fits(s, size):
                continue
            load.take(s, size)
            chosen[k] = s
            dfs(k + 1, un + (size if s.kind == "unplaced" else 0))
            load.take(s, size, -1)
        chosen[k] = None

    dfs(0, 0)
    if best["key"] is None:  # without pins the all-unplaced plan always exists
        raise ValueError("the pins cannot all hold together")
    plans = [_stay_plan(d, blocks, removed, ch) for ch in best["ties"][:MAX_STORED]]
    un, su, ri = best["key"]
    return BruteResult(un, su, ri, best["cost"], len(best["ties"]), plans, best["nodes"])


def random_plan(inst: Instance, rng, unplaced_share: float = 0.1) -> dict[str, Decision]:
    """A random plan of any horizon that keeps every rule (beds, programs, seats, ties, pins):
    blocks in random order each take a random outcome that still fits, ``unplaced`` only with
    probability ``unplaced_share`` or when nothing else fits.  A witness for drawing pins that
    can all hold together (tests/randinst.py).  Raises ``ValueError`` when a pinned block finds
    no outcome left (never without pins)."""
    d = _Data(inst, one_day=False)
    H = inst.horizon_days
    blocks, removed = _blocks(inst)
    load = _Load(d, H)
    chosen = [None] * len(blocks)
    for k in rng.sample(range(len(blocks)), len(blocks)):
        size = len(blocks[k])
        fitting = [s for s in _stays(d, blocks[k], H) if load.fits(s, size)]
        placed = [s for s in fitting if s.kind != "unplaced"]
        if not fitting:
            raise ValueError(f"no outcome left for block {[inst.people[i].id for i in blocks[k]]}")
        chosen[k] = rng.choice(placed if placed and rng.random() >= unplaced_share else fitting)
        load.take(chosen[k], size)
    return _stay_plan(d, blocks, removed, chosen)
