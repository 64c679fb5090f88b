"""A fast constructive plan for when the solver found no incumbent before the time limit.

One pass over the people, no optimisation; the plan is feasible by construction and the caller
verifies it like any other (MODEL.md §3).  Order: families, then single people, mandatory
people before everyone else and by decreasing effective risk (the riskiest get beds first); a
multi-day instance is also tried first come, first served (by arrival day first), and the
better plan is kept (:func:`greedy_plan`).  Each block takes, in this order of preference:

1. a regular bed in a compatible unit with room for the whole block, in the person's origin
   facility first (no moving cost), when no member is at the legal limit;
2. release, when no member is mandatory and every adult has an eligible ATD program with a free
   slot;
3. a surge bed in a compatible unit (only someone with no other legal outcome uses one);
4. otherwise unplaced.

Then a repair pass, once every outcome is set, so that it takes no slot anyone needed: each
single person left unplaced, then each single person in a surge bed, gets a regular bed freed
by releasing a single person placed there who is not mandatory, has an eligible ATD program
with a slot left and leaves the bed free on every day needed; of those, the one whose release
adds the least risk x days.  Levels 1 and 2 rank above level 3 (MODEL.md §4), so each such
release makes the plan lexicographically better.

One-day and multi-day instances alike: a bed is held from arrival to removal or the end of the
plan, and releases happen on the arrival day, except those of the repair pass, on the first day
the bed is needed.

Contract 1.1: local ties and detain pins restrict the units (:func:`optimizer.model.single_units`);
a bed outside the origin facility takes a transport seat of the origin AOR and the nation on
the arrival day (:class:`Seats`) and is skipped when none is left; pinned people come first (a
unit pin, then a facility pin, then by the units or ATD programs that may take them, fewest
first) and get only their pinned outcome (a release pin's bed until its day, its program), are never
unplaced when some bed or slot is left for them, and are never released by the repair pass.
The greedy pass is not exact: pins that can hold together may still fail here, and the
verifier then refuses the plan.
"""

from __future__ import annotations

import collections

import numpy as np

from .horizon import person_days
from .instance import Instance
from .model import (
    PIN_DETAIN, PIN_RELEASE, Network, People, bed_type_keys, family_members, family_units, program_keys,
    programs_of, single_units,
)


class Seats:
    """Transport seats left per (origin facility's AOR, day) and per day (MODEL.md §3 rule 7);
    Python lists, since the greedy pass asks once per person."""

    def __init__(self, inst: Instance, N: Network):
        H, big = inst.horizon_days, 1 << 62
        nat = inst.policy.max_transfers_per_day
        self.national = [big if nat is None else nat] * H
        self.aor = [[big if a.max_transfers_out_per_day is None else a.max_transfers_out_per_day] * H
                    for a in inst.aors]
        self.fac_aor = N.fac_aor.tolist()

    def take(self, origins, fac: int, day: int) -> bool:
        """Seats for the people from ``origins`` (facility indices, -1 none) moved into facility
        ``fac`` on ``day``: taken and True, or nothing taken and False when too few are left."""
        need = collections.Counter(self.fac_aor[o] for o in origins if 0 <= o != fac)
        if not need:
            return True
        if self.national[day] < need.total() or any(self.aor[a][day] < k for a, k in need.items()):
            return False
        self._add(need, day, -1)
        return True

    def give_back(self, origins, fac: int, day: int) -> None:
        self._add(collections.Counter(self.fac_aor[o] for o in origins if 0 <= o != fac), day, 1)

    def _add(self, need, day, sign):
        self.national[day] += sign * need.total()
        for a, k in need.items():
            self.aor[a][day] += sign * k


def _stays_home(P: People, N: Network, people: np.ndarray) -> np.ndarray:
    """(len(people),) bool: the person's origin facility has a unit they fit (people who must
    move, from a short-stay site or a facility without their kind of unit, take seats first)."""
    out = np.zeros(len(people), dtype=bool)
    o = P.origin[people]
    has = o >= 0
    key = bed_type_keys(P, N)[people[has]] * (len(N.fac_gm) + 1) + o[has]
    uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
    fits = single_units(P, N, people[has][first])
    home = fits & (N.unit_fac[None, :] == o[has][first][:, None])
    out[has] = home.any(axis=1)[inv.ravel()]
    return out | ~has


def greedy_plan(inst: Instance, P: People, N: Network) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-person arrays (P,): decision strings, unit index, program index and release day (-1
    where none), for :func:`optimizer.engine.plan_rows`.

    A multi-day plan is built twice, single people taken mandatory first, then by decreasing
    risk, and first come, first served (by arrival day, then as before), and the better plan at
    levels 1-3 (MODEL.md §4) is kept: on the national 14-day instance the first leaves 17
    people unplaced and uses 7,228 surge bed-days, the second 4 and none.  The repair pass only
    makes a plan better, so the kept plan is never worse than the first order's without it."""
    orders = [False] if inst.horizon_days == 1 else [False, True]  # one day: both orders agree
    plans = [_construct(inst, P, N, by_arrival) for by_arrival in orders]
    return min(plans, key=lambda plan: plan[1])[0]


def _pinned_order(P, N, families: list, singles: np.ndarray) -> list:
    """The pinned families (arrays of members) and single people (ints) of ``families`` and
    ``singles`` in the constructive order: a unit pin first, then a facility pin, then by their
    options (:func:`_pin_options`), fewest first, so that a pin with several options leaves
    those others can only have; families first among equals, single people in their order (a
    stable sort)."""
    fam = [b for b in families if P.pin_kind[b[0]]]
    one = singles[P.pin_kind[singles] > 0]
    blocks = fam + one.tolist()
    if not blocks:
        return []
    heads = np.concatenate([np.array([b[0] for b in fam], np.int64), one])
    count = _pin_options(P, N, fam, one)
    order = np.lexsort((count, P.pin_fac[heads] < 0, P.pin_unit[heads] < 0))
    return [blocks[k] for k in order.tolist()]


def _pin_options(P, N, fam: list, one: np.ndarray) -> np.ndarray:
    """Per pinned family of ``fam``, then per pinned single person of ``one``: a detain pin's
    units that fit, a release pin's ATD programs with slots that may take it (a program pin:
    one; a family's: those of any of its adults, as minors take no slot)."""
    cap = N.prog_capacity != 0
    count = np.zeros(len(fam) + len(one), np.int64)
    for k, b in enumerate(fam):
        if P.pin_kind[b[0]] == PIN_DETAIN:
            count[k] = family_units(P, N, b).sum()
        else:
            adults = b[~P.minor[b]]
            count[k] = (programs_of(P, N, adults) & cap).any(axis=0).sum()
    kind = P.pin_kind[one]
    rel = np.flatnonzero(kind == PIN_RELEASE)
    count[len(fam) + rel] = (programs_of(P, N, one[rel]) & cap).sum(axis=1)
    det = np.flatnonzero(kind == PIN_DETAIN)
    if len(det):  # single people with equal bed types fit the same units
        _, first, inv = np.unique(bed_type_keys(P, N)[one[det]], return_index=True, return_inverse=True)
        count[len(fam) + det] = single_units(P, N, one[det][first]).sum(axis=1)[inv]
    return count


def _construct(inst, P, N, by_arrival):
    """One constructive plan: (decision, unit, program, release day) and its levels 1-3
    (unplaced people, surge bed-days, released risk x days).

    Linear time: beds and slots are only ever taken before the repair pass, so the first unit
    (program) that had no room for a single person's days stays full for every later single
    person with the same bed type and days (program key), and a scan resumes where the last one
    stopped; the repair pass looks at no more than 4 units and occupants per person in all."""
    c = _Constructor(inst, P, N)
    singles = np.flatnonzero(~P.removed & (P.family < 0))
    keys = ((-P.eff[singles], ~P.mandatory[singles]) + ((c.arrival[singles],) if by_arrival else ())
            + (_stays_home(P, N, singles), P.pin_kind[singles] == 0))  # pinned first, then movers
    singles = singles[np.lexsort(keys)]
    families = [m for m in family_members(P).values() if not P.removed[m].any()]  # a family is removed whole
    for b in _pinned_order(P, N, families, singles):  # pinned people first, only their pinned outcome
        c.place_single(b) if isinstance(b, int) else c.place_family(b)
    for b in families:
        if not P.pin_kind[b[0]]:
            c.place_family(b)
    for i in singles[P.pin_kind[singles] == 0].tolist():
        c.place_single(i)
    c.repair(singles)
    return (c.decision, c.unit, c.prog, c.rday), c.levels()


class _Constructor:
    """The state of one constructive pass (:func:`_construct`): the plan so far, the regular and
    surge beds, ATD slots and transport seats left, and the caches that keep the pass linear."""

    def __init__(self, inst: Instance, P: People, N: Network):
        n, H = len(P.sex), inst.horizon_days
        self.P, self.N, self.H = P, N, H
        self.decision = np.where(P.removed, "removed", "unplaced").astype(object)
        self.unit = np.full(n, -1, np.int64)
        self.prog = np.full(n, -1, np.int64)
        self.rday = np.full(n, -1, np.int64)
        self.arrival, self.end, self.limit = person_days(inst, P)
        self.free = np.repeat(N.unit_beds[:, None], H, axis=1)  # regular beds left per unit and day
        self.spare = np.repeat(N.unit_surge[:, None], H, axis=1)  # surge beds left per unit and day
        self.slots = np.where(N.prog_capacity >= 0, N.prog_capacity, n + 1).astype(np.int64)
        self.units_of: dict = {}  # bed type (and origin facility) -> compatible single units
        self.progs_of: dict[int, np.ndarray] = {}  # program key -> eligible programs
        self.scan: dict[tuple, int] = {}  # (what, key, a, e) -> position where the next scan starts
        self.seats = Seats(inst, N)
        self.occupants: dict[int, list[int]] = {}  # unit -> people the repair pass may release there
        self.in_surge: dict[int, np.ndarray] = {}  # single people on a surge bed: those days
        self.work = 4 * n + 100_000  # units and occupants the repair pass may still look at: linear time
        # Python lists: scalar reads of numpy arrays dominate the loop otherwise
        self.pin_l, self.pday_l = P.pin_kind.tolist(), P.pin_day.tolist()
        self.arrival_l, self.end_l, self.bt_l, self.limit_l, self.pk_l = (
            v.tolist() for v in (self.arrival, self.end, bed_type_keys(P, N), self.limit, program_keys(P, N)))
        self.origin_l, self.mandatory_l, self.eff_l = P.origin.tolist(), P.mandatory.tolist(), P.eff.tolist()

    def first_fit(self, units, size, a, e, surge, start=0):
        """Position in ``units`` of the first with ``size`` beds (regular, or with surge) on days [a, e)."""
        room = self.free + self.spare if surge else self.free
        if e == a + 1:  # one day: scalar comparisons
            col = room[:, a]
            for k in range(start, len(units)):
                if col[units[k]] >= size:
                    return k
            return len(units)
        for k in range(start, len(units)):
            if room[units[k], a:e].min() >= size:
                return k
        return len(units)

    def place(self, u, b, size, a, e):
        """Block ``b`` (a single person's index, or a family's members) in unit ``u`` on days
        [a, e): regular beds first, surge beds for the rest, day by day."""
        free, spare, P = self.free, self.spare, self.P
        if e == a + 1:
            regular = min(int(free[u, a]), size)
            free[u, a] -= regular
            spare[u, a] -= size - regular
            all_regular = regular == size
        else:
            regular = np.minimum(free[u, a:e], size)
            free[u, a:e] -= regular
            spare[u, a:e] -= size - regular
            all_regular = bool((regular == size).all())
        if isinstance(b, int) and not self.pin_l[b]:  # an unpinned single person: the repair pass may move them
            if not all_regular:
                self.in_surge[b] = a + np.flatnonzero(np.atleast_1d(regular) < size)  # the days on a surge bed
            elif not P.mandatory[b] and not P.pin_kind[b]:
                self.occupants.setdefault(int(u), []).append(b)
        self.decision[b] = "detain"
        self.unit[b] = u

    def fit_moved(self, units, size, a, e, surge, origins):
        """The first unit with room whose transport seats are left (taken), or -1."""
        k = self.first_fit(units, size, a, e, surge)
        while k < len(units) and not self.seats.take(origins, self.N.unit_fac[units[k]], a):
            k = self.first_fit(units, size, a, e, surge, k + 1)
        return int(units[k]) if k < len(units) else -1

    def place_family(self, b):
        """One family: a bed, release, surge beds, or unplaced."""
        P, N = self.P, self.N
        i = b[0]
        a, e = int(self.arrival[i]), int(self.end[i])
        kind = P.pin_kind[i]
        d = a if kind != PIN_RELEASE or P.pin_day[i] < 0 else int(P.pin_day[i])  # pinned release day
        units = (np.flatnonzero(family_units(P, N, b)) if (self.limit[b] >= e).all() and e > a
                 else np.zeros(0, np.int64))
        if kind == PIN_RELEASE:
            units = np.flatnonzero(family_units(P, N, b)) if d > a else np.zeros(0, np.int64)
            e = d
        if len(units) and P.origin[i] >= 0:  # the origin facility first
            units = units[np.argsort(N.unit_fac[units] != P.origin[i], kind="stable")]
        u = self.fit_moved(units, len(b), a, e, kind == PIN_RELEASE, P.origin[b])
        if u >= 0:
            self.place(u, b, len(b), a, e)
            if kind != PIN_RELEASE:
                return
        if not P.mandatory[b].any() and kind != PIN_DETAIN and (u >= 0 or d == a) and self.release_family(b, d):
            return
        u = self.fit_moved(units, len(b), a, e, True, P.origin[b]) if kind != PIN_RELEASE else -1
        if u >= 0:
            self.place(u, b, len(b), a, e)

    def release_family(self, b, d):
        """Family ``b`` released on day ``d`` when every adult gets an eligible program with a
        free slot (taken); whether it was."""
        P, slots = self.P, self.slots
        adults = b[~P.minor[b]]
        picks = _slot_matching(programs_of(P, self.N, adults), slots)
        if picks is None:
            return False
        self.prog[adults] = picks
        np.subtract.at(slots, picks, 1)
        self.decision[b], self.rday[b] = "release", d
        return True

    def free_slot(self, j):
        """An eligible program of single person ``j`` with a free slot, or -1."""
        key = self.pk_l[j]
        if key not in self.progs_of:
            self.progs_of[key] = np.flatnonzero(programs_of(self.P, self.N, np.array([j]))[0])
        qs = self.progs_of[key]
        k = self.scan.get(("atd", key), 0)
        while k < len(qs) and self.slots[qs[k]] <= 0:
            k += 1
        self.scan[("atd", key)] = k
        return int(qs[k]) if k < len(qs) else -1

    def release(self, j, q, d):
        """Single person ``j`` released to program ``q`` on day ``d``."""
        self.prog[j], self.slots[q] = q, self.slots[q] - 1
        self.decision[j], self.rday[j] = "release", d

    def units_for(self, i):
        """The single units person ``i`` fits, and those of them in their origin facility."""
        units_of, g, o = self.units_of, self.bt_l[i], self.origin_l[i]
        if g not in units_of:
            units_of[g] = np.flatnonzero(single_units(self.P, self.N, np.array([i]))[0])
        if o >= 0 and (g, o) not in units_of:
            units_of[g, o] = units_of[g][self.N.unit_fac[units_of[g]] == o]
        return units_of[g], (units_of[g, o] if o >= 0 else units_of[g][:0])

    def bed(self, i, a, e, surge):
        """A bed for single person i on days [a, e): the origin facility first, then the first
        unit with room (scans resume per bed type and days) if a seat is left; taken or not."""
        units, home = self.units_for(i)
        k = self.first_fit(home, 1, a, e, surge)
        if k < len(home):
            self.place(home[k], i, 1, a, e)
            return True
        what = ("surge" if surge else "bed", self.bt_l[i], a, e)
        k = self.scan[what] = self.first_fit(units, 1, a, e, surge, self.scan.get(what, 0))
        if k < len(units) and self.seats.take([self.origin_l[i]], self.N.unit_fac[units[k]], a):
            self.place(units[k], i, 1, a, e)
            return True
        return False

    def release_pinned(self, i, a):
        """A release pin: the bed until its day when later than arrival, then its program."""
        d = self.pday_l[i] if self.pday_l[i] >= 0 else a
        if (d == a or self.bed(i, a, d, True)) and self.free_slot(i) >= 0:
            self.release(i, self.free_slot(i), d)

    def place_single(self, i):
        """One person: a bed, release, surge beds, or unplaced."""
        a, e = self.arrival_l[i], self.end_l[i]
        if self.pin_l[i] == PIN_RELEASE:
            self.release_pinned(i, a)
            return
        can_hold = self.limit_l[i] >= e and e > a
        if can_hold and self.bed(i, a, e, False):
            return
        if not self.mandatory_l[i] and self.pin_l[i] != PIN_DETAIN:
            q = self.free_slot(i)
            if q >= 0:
                self.release(i, q, a)
                return
        if can_hold:
            self.bed(i, a, e, True)

    def repair(self, singles):
        """The repair pass (module docstring): the unplaced first (level 1), then those on surge
        beds (level 2)."""
        arrival_l, end_l, origin_l, fac = self.arrival_l, self.end_l, self.origin_l, self.N.unit_fac
        unplaced = [i for i in singles.tolist()
                    if self.decision[i] == "unplaced" and self.limit_l[i] >= end_l[i] > arrival_l[i]]
        for i in [j for j in unplaced if not self.pin_l[j]] + list(self.in_surge):
            if self.work < len(self.units_for(i)[0]):
                break  # the repair pass has used its share
            a, e, u = arrival_l[i], end_l[i], int(self.unit[i])
            if u >= 0:  # off its beds for now: surge beds on the days it used one, regular ones otherwise
                days = self.in_surge.pop(i)
                self.spare[u, days] += 1
                self.free[u, a:e] += 1
                self.free[u, days] -= 1
                self.seats.give_back([origin_l[i]], fac[u], a)
            if not self.bump(i, self.units_for(i)[0], a, e) and u >= 0:
                self.seats.take([origin_l[i]], fac[u], a)  # the seat it gave back is still free
                self.place(u, i, 1, a, e)  # back where it was (no repair took its beds meanwhile)

    def bump(self, i, units, a, e):
        """The repair pass for single person i on days [a, e); whether it found a regular bed."""
        self.work -= len(units)
        if self.work < 0:
            return False
        best = self.best_release(i, units, a, e)
        if not isinstance(best, tuple):  # placed in room an earlier repair left, or no occupant to release
            return best is True
        _, j, u, d = best
        arrival_l, origin_l = self.arrival_l, self.origin_l
        fac = int(self.N.unit_fac[u])
        if d == arrival_l[j]:  # released on arrival: never held the bed, nor a seat
            self.seats.give_back([origin_l[j]], fac, arrival_l[j])
        if not self.seats.take([origin_l[i]], fac, a):
            if d == arrival_l[j]:
                self.seats.take([origin_l[j]], fac, arrival_l[j])
            return False
        self.free[u, d:self.end_l[j]] += 1
        self.occupants[u].remove(j)
        self.release(j, self.free_slot(j), d)
        if d == arrival_l[j]:
            self.unit[j] = -1
        self.place(u, i, 1, a, e)
        return True

    def best_release(self, i, units, a, e):
        """The occupant of ``units`` whose release frees a regular bed for single person i on
        days [a, e) at the least risk x days: ``(risk lost, occupant, unit, release day)``; True
        when a unit had room (i placed there), None when there is no such occupant or the pass
        ran out of work.  Room is left by an earlier repair, or was there all along when the
        first pass found no transport seat to it and a repair has given one back since."""
        best = None
        for u in units.tolist():
            occ = self.occupants.get(u, ())
            self.work -= max(len(occ), 1)
            if self.work < 0:
                return None
            short = np.flatnonzero(self.free[u, a:e] < 1) + a  # days without a free regular bed
            if not len(short):  # room
                if not self.seats.take([self.origin_l[i]], self.N.unit_fac[u], a):
                    continue
                self.place(u, i, 1, a, e)
                return True
            for j in occ:
                d = a if self.arrival_l[j] <= a else self.arrival_l[j]  # j keeps the bed on [arrival, d), released on d
                if d > short[0] or self.end_l[j] <= short[-1]:
                    continue
                lost = self.eff_l[j] * (self.H - d)
                if (best is None or lost < best[0]) and self.free_slot(j) >= 0:
                    best = (lost, j, u, d)
        return best

    def levels(self):
        """Levels 1-3 of the plan: surge bed-days as the verifier counts them, occupancy above
        the beds (a repair release may free a regular bed on days where someone else stays
        booked on a surge bed)."""
        P, N, decision, rday = self.P, self.N, self.decision, self.rday
        released = decision == "release"
        return (int((decision == "unplaced").sum()),
                int(np.maximum(0, N.unit_surge[:, None] - self.spare - self.free).sum()),
                float((P.eff[released] * (self.H - rday[released])).sum()))


def _slot_matching(elig: np.ndarray, slots: np.ndarray) -> np.ndarray | None:
    """A program with a free slot for each adult of a family (``elig``: adults x programs), or
    None when none exists: a maximum bipartite matching of the adults to the programs' slots
    (each program stands for up to one slot per adult), so that no adult takes the only slot
    another could use."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    copies = np.minimum(slots, len(elig)).clip(min=0)
    owner = np.repeat(np.arange(len(slots)), copies)  # the program of each slot copy
    graph = csr_matrix(elig[:, owner].astype(np.int8))
    match = maximum_bipartite_matching(graph, perm_type="column")
    return None if (match < 0).any() else owner[match]
