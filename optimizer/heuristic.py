"""A fast constructive plan for when the solver found no incumbent before the time limit.

One pass over the people, no optimisation; the plan is feasible by construction and the caller
verifies it like any other (MODEL.md §3).  Order: families, then single people by decreasing
effective risk (the riskiest get beds first), mandatory people before everyone else.  Each
block takes, in this order of preference:

1. a regular bed in a compatible unit with room for the whole block, in the person's origin
   facility first (no moving cost), when no member is at the legal limit;
2. release, when no member is mandatory and every adult has an eligible ATD program with a free
   slot;
3. a surge bed in a compatible unit (only someone with no other legal outcome uses one);
4. otherwise unplaced.

One-day and multi-day instances alike: a bed is held from arrival to removal or the end of the
plan, releases happen on the arrival day.
"""

from __future__ import annotations

import numpy as np

from .instance import Instance
from .model import Network, People, bed_type_keys, family_members, family_units, programs_of, single_units


def greedy_plan(inst: Instance, P: People, N: Network) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-person arrays (P,): decision strings, unit index, program index and release day (-1
    where none), for :func:`optimizer.solve.plan_rows`."""
    n, H = len(P.sex), inst.horizon_days
    decision = np.where(P.removed, "removed", "unplaced").astype(object)
    unit = np.full(n, -1, np.int64)
    prog = np.full(n, -1, np.int64)
    rday = np.full(n, -1, np.int64)
    arrival = np.fromiter((p.arrival_day for p in inst.people), np.int64, n)
    end = np.minimum(np.where(P.stay >= 1 << 30, H, arrival + np.minimum(P.stay, 1 << 30)), H)
    limit = np.fromiter((1 << 40 if p.max_custody_days is None else p.arrival_day + p.max_custody_days - p.custody_days
                         for p in inst.people), np.int64, n)
    used = np.zeros((len(N.unit_fac), H), np.int64)  # beds used per unit and day
    slots = np.where(N.prog_capacity >= 0, N.prog_capacity, n + 1).astype(np.int64)
    elig = programs_of(P, N, np.arange(n))
    blocks = [m for m in family_members(P).values() if not P.removed[m].any()]  # a family is removed whole
    singles = np.flatnonzero(~P.removed & (P.family < 0))
    singles = singles[np.lexsort((-P.eff[singles], ~P.mandatory[singles]))]
    blocks += [np.array([i]) for i in singles]
    bt = bed_type_keys(P, N)
    compat_single: dict[int, np.ndarray] = {}  # bed type -> compatible units
    for b in blocks:
        i = b[0]
        a, e = int(arrival[i]), int(end[i])
        may_hold = bool((limit[b] >= e).all()) and e > a
        if len(b) > 1 or P.family[i] >= 0:
            units = np.flatnonzero(family_units(P, N, b)) if may_hold else np.zeros(0, np.int64)
        else:
            if bt[i] not in compat_single:
                compat_single[bt[i]] = np.flatnonzero(single_units(P, N, np.array([i]))[0])
            units = compat_single[bt[i]] if may_hold else np.zeros(0, np.int64)
        if len(units) and P.origin[i] >= 0:  # the origin facility first
            units = units[np.argsort(N.unit_fac[units] != P.origin[i], kind="stable")]
        fits = (used[units, a:e] + len(b) <= N.unit_beds[units][:, None]).all(axis=1)
        if fits.any():
            u = units[np.argmax(fits)]
            used[u, a:e] += len(b)
            decision[b], unit[b] = "detain", u
            continue
        adults = b[~P.minor[b]]
        picks = []
        if not P.mandatory[b].any():
            left = slots.copy()
            for p in adults:
                q = np.flatnonzero(elig[p] & (left > 0))
                if not len(q):
                    picks = None
                    break
                picks.append(q[0])
                left[q[0]] -= 1
            if picks is not None:
                for p, q in zip(adults, picks):
                    prog[p] = q
                    slots[q] -= 1
                decision[b], rday[b] = "release", a
                continue
        fits = (used[units, a:e] + len(b) <= (N.unit_beds + N.unit_surge)[units][:, None]).all(axis=1)
        if fits.any():
            u = units[np.argmax(fits)]
            used[u, a:e] += len(b)
            decision[b], unit[b] = "detain", u
    return decision, unit, prog, rday
