"""The one-day allocation model as arrays: classes of interchangeable people and a sparse MIP.

Exactness of the class aggregation
----------------------------------
Two single people (no ``family_id``) are put in the same *class* when they agree on

* their origin point (origin facility, or their AOR hub when ``origin`` is null): this fixes the
  moving cost to every facility (MODEL.md §3, "Moving cost");
* their *bed type* ``(sex, level, needs_medical, stay band)``: this fixes the set of compatible
  units (MODEL.md §3 rules 2 and 5; the stay band says which ``max_stay_days`` they satisfy);
* ``mandatory`` and whether they are at their legal limit (``custody_days >= max_custody_days``,
  MODEL.md §3 rule 4): this fixes whether they may be detained and whether they may be released;
* their *program key* ``(aor, risk band)``: the set of ATD programs whose ``max_risk`` is at least
  their raw risk and whose ``aor`` admits them (MODEL.md §3 rule 3).

Every quantity of levels 1, 2 and 4 depends on a person only through these attributes, so
permuting the outcomes of people within a class leaves levels 1, 2 and 4 unchanged.  Level 3 sums
the effective risks of the released people; for a class with ``k`` releases it is therefore
minimised by releasing the ``k`` lowest effective risks, and the released risk of the class is the
prefix sum ``S_c(k)``, a convex piecewise-linear function of ``k``.  The model represents it with
one bounded integer column per distinct effective-risk value of the class (a "segment"), cost
= that value; because the segment costs increase, any optimal solution fills them in order, and the
decoder releases exactly the lowest-risk people.  Hence an optimal solution of the class model maps
to an optimal person-level plan, and vice versa, at every lexicographic level.

Families are kept one by one (binary columns): a family is one block (MODEL.md §3 rule 2).

The network part (classes -> origin/bed-type pools -> facilities -> units -> surge/guaranteed
minimum) is a min-cost flow for each single objective level; only families and the rows that hold
earlier levels at their optimum break the network structure, which is why the model is solved as a
MIP (ENGINEERING.md §6 "Holding a level with an objective row breaks integrality of an LP").

Columns (all integer, lower bound 0):

====== ===================================================== ==========================
block  meaning                                               level cost
====== ===================================================== ==========================
unp    unplaced people of a class                            L1: 1 per person
det    detained people of a class (may not be at the limit)  -
seg    released people of a class at one risk value          L3: risk x 10^4
atd    releases of a program key sent to one program         L4: per_diem x cost_days
arc    detained people of a pool moved to a facility         L4: moving cost (USD)
put    people of a bed type in a unit                        -
surge  surge beds used in a unit (<= surge_beds)             L2: 1 per bed
excess occupancy of a facility above its guaranteed minimum  L4: per_diem x cost_days
fam    family detained in one family unit (binary)           L4: members' moving costs
frel   family released (binary)                              L3: members' risks x 10^4
funp   family unplaced (binary)                              L1: members
fatd   an adult of a released family in one program (binary) L4: per_diem x cost_days
====== ===================================================== ==========================

Level-3 costs are integers (effective risks are on the 0.0001 grid, MODEL.md §2) so levels 1-3
take integer values and can be held exactly.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field, fields

import numpy as np
import scipy.sparse as sp

from .instance import Instance, effective_risk

EARTH_RADIUS_KM = 6371.0088  # MODEL.md §3
RISK_SCALE = 10_000  # effective risk grid 0.0001 (MODEL.md §2)
LEVELS = ("unplaced", "surge", "released_risk", "cost_usd")
SEX = {"M": 0, "F": 1}
LEVEL_INDEX = {"A": 0, "B": 1, "C": 2, "D": 3}
BIG_STAY = 1 << 30
NO_LIMIT = 1 << 40  # no custody limit: a limit day beyond every horizon


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km (broadcasting numpy arrays of degrees; R = 6371.0088 km)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


@dataclass
class People:
    """Per-person arrays (length P = number of people, instance order)."""

    sex: np.ndarray  # int8, 0 = M, 1 = F
    level: np.ndarray  # int8, 0..3 = A..D, -1 for a minor without level
    risk: np.ndarray  # float64, raw risk 0..100
    eff: np.ndarray  # float64, effective release risk (MODEL.md §2)
    eff_units: np.ndarray  # int64, effective risk in 0.0001 units
    aor: np.ndarray  # int32 AOR index
    origin: np.ndarray  # int32 origin facility index, -1 when null
    mandatory: np.ndarray  # bool
    at_limit: np.ndarray  # bool: custody_days >= max_custody_days (must not hold a bed on day 0)
    arrival: np.ndarray  # int64 arrival_day
    limit_day: np.ndarray  # int64: the first day without a bed (MODEL.md §3 rule 4), NO_LIMIT without a limit
    medical: np.ndarray  # bool
    stay: np.ndarray  # int64, removal_day - arrival_day (BIG_STAY when removal_day is null)
    removed: np.ndarray  # bool: removal_day <= arrival_day, no decision needed
    minor: np.ndarray  # bool
    family: np.ndarray  # int32 family index, -1 when single
    # contract 1.1 (MODEL.md §2 ``local_ties``, ``pin``; §3 rules 7-9)
    ties: np.ndarray  # bool: local ties (held only in the origin facility or the AOR's facilities)
    pin_kind: np.ndarray  # int8: 0 not pinned, 1 detain, 2 release (a family pin binds every member)
    pin_fac: np.ndarray  # int32: pinned facility (a unit pin gives its facility), -1 when free
    pin_unit: np.ndarray  # int32: pinned unit, -1 when free
    pin_day: np.ndarray  # int64: pinned release day, -1 when free
    pin_prog: np.ndarray  # int32: pinned ATD program (binds only the adult who carries it), -1 when free


PIN_DETAIN, PIN_RELEASE = 1, 2


_ARRAYS: dict[tuple[int, str], tuple[weakref.ref, object]] = {}


def _cached(inst: Instance, kind: str, make):
    """``make(inst)`` computed once per instance object (instances are frozen) and made
    read-only, so the solver, the verifier's callers and the reasons share one conversion."""
    key = (id(inst), kind)
    hit = _ARRAYS.get(key)
    if hit is not None and hit[0]() is inst:
        return hit[1]
    value = make(inst)
    for f in fields(value):
        arr = getattr(value, f.name)
        if isinstance(arr, np.ndarray):
            arr.setflags(write=False)
    _ARRAYS[key] = (weakref.ref(inst, lambda _: _ARRAYS.pop(key, None)), value)
    return value


def people_arrays(inst: Instance) -> People:
    """Per-person arrays of ``inst`` (read-only, computed once per instance object)."""
    return _cached(inst, "people", _people_arrays)


def network_arrays(inst: Instance) -> "Network":
    """Facility, unit and program arrays of ``inst`` (read-only, computed once per instance)."""
    return _cached(inst, "network", _network_arrays)


def _people_arrays(inst: Instance) -> People:
    """Convert ``inst.people`` to numpy arrays (one comprehension per field)."""
    aor_idx = {a.code: i for i, a in enumerate(inst.aors)}
    fac_idx = {f.id: i for i, f in enumerate(inst.facilities)}
    table = inst.policy.factors()
    fam_idx: dict[str, int] = {}
    ppl = inst.people

    def arr(values, dtype):
        return np.fromiter(values, dtype=dtype, count=len(ppl))

    eff_of: dict[tuple, float] = {}  # (risk, factors...) -> effective risk: a few thousand nationally

    def eff_risk(p) -> float:
        key = (p.risk, *p.humanitarian)
        e = eff_of.get(key)
        if e is None:
            e = eff_of[key] = effective_risk(p.risk, p.humanitarian, table)
        return e

    eff = arr(map(eff_risk, ppl), np.float64)
    removal = [p.removal_day for p in ppl]
    arrival = arr((p.arrival_day for p in ppl), np.int64)
    has_removal = arr((r is not None for r in removal), bool)
    removal_a = arr((-1 if r is None else r for r in removal), np.int64)
    limit_day = arr((NO_LIMIT if p.max_custody_days is None else p.arrival_day + p.max_custody_days - p.custody_days
                     for p in ppl), np.int64)
    return People(
        sex=arr((SEX[p.sex] for p in ppl), np.int8),
        level=arr((-1 if p.level is None else LEVEL_INDEX[p.level] for p in ppl), np.int8),
        risk=arr((p.risk for p in ppl), np.float64),
        eff=eff,
        eff_units=np.rint(eff * RISK_SCALE).astype(np.int64),
        aor=arr((aor_idx[p.aor] for p in ppl), np.int32),
        origin=arr((-1 if p.origin is None else fac_idx[p.origin] for p in ppl), np.int32),
        mandatory=arr((p.mandatory for p in ppl), bool),
        at_limit=limit_day <= arrival,
        arrival=arrival,
        limit_day=limit_day,
        medical=arr((p.needs_medical for p in ppl), bool),
        stay=np.where(has_removal, removal_a - arrival, BIG_STAY),
        removed=has_removal & (removal_a <= arrival),
        minor=arr((p.minor for p in ppl), bool),
        family=arr((-1 if p.family_id is None else fam_idx.setdefault(p.family_id, len(fam_idx)) for p in ppl),
                   np.int32),
        ties=arr((p.local_ties for p in ppl), bool),
        **_pin_arrays(inst),
    )


def _pin_arrays(inst: Instance) -> dict[str, np.ndarray]:
    """The pins binding each person (MODEL.md §2 ``pin``): a member's pin binds the whole family's
    decision, facility, unit and release day; a pinned program binds only its adult.  Members'
    pins were checked to agree when the instance was validated."""
    ppl = inst.people
    n = len(ppl)
    kind = np.zeros(n, np.int8)
    fac = np.full(n, -1, np.int32)
    unit = np.full(n, -1, np.int32)
    day = np.full(n, -1, np.int64)
    prog = np.full(n, -1, np.int32)
    if not any(p.pin is not None for p in ppl):
        return dict(pin_kind=kind, pin_fac=fac, pin_unit=unit, pin_day=day, pin_prog=prog)
    fac_idx = {f.id: i for i, f in enumerate(inst.facilities)}
    unit_idx, unit_fac = {}, []
    for fi, f in enumerate(inst.facilities):
        for u in f.units:
            unit_idx[u.id] = len(unit_fac)
            unit_fac.append(fi)
    prog_idx = {q.id: i for i, q in enumerate(inst.atd_programs)}
    members: dict[str, list[int]] = {}
    for i, p in enumerate(ppl):
        members.setdefault(p.family_id if p.family_id is not None else f"\0{i}", []).append(i)
    for group in members.values():
        for i in group:
            pin = ppl[i].pin
            if pin is None:
                continue
            g = np.array(group)
            if pin.decision == "detain":
                kind[g] = PIN_DETAIN
                if pin.unit is not None:
                    unit[g] = unit_idx[pin.unit]
                    fac[g] = unit_fac[unit_idx[pin.unit]]
                elif pin.facility is not None:
                    fac[g] = fac_idx[pin.facility]
            else:
                kind[g] = PIN_RELEASE
                if pin.release_day is not None:
                    day[g] = pin.release_day
                if pin.atd_program is not None:
                    prog[i] = prog_idx[pin.atd_program]
    return dict(pin_kind=kind, pin_fac=fac, pin_unit=unit, pin_day=day, pin_prog=prog)


@dataclass
class Network:
    """Facility, unit and program arrays (F facilities, U units, Q programs)."""

    unit_fac: np.ndarray  # (U,) facility index of each unit
    unit_sex: np.ndarray  # (U,) 0 M, 1 F, 2 any
    unit_levels: np.ndarray  # (U, 4) bool
    unit_beds: np.ndarray  # (U,) beds
    unit_surge: np.ndarray  # (U,) surge beds
    unit_medical: np.ndarray  # (U,) bool
    unit_family: np.ndarray  # (U,) bool
    fac_gm: np.ndarray  # (F,) guaranteed minimum, beds
    fac_gm_rate: np.ndarray  # (F,) USD per GM bed-day
    fac_per_diem: np.ndarray  # (F,) USD per bed-day above the GM
    fac_max_stay: np.ndarray  # (F,) days, BIG_STAY when null
    fac_aor: np.ndarray  # (F,) AOR index of each facility (local ties, transport limits)
    move_cost: np.ndarray  # (F + A, F) USD: from origin facility / AOR hub to facility
    prog_per_diem: np.ndarray  # (Q,) USD per day
    prog_capacity: np.ndarray  # (Q,) slots, -1 when unlimited
    prog_max_risk: np.ndarray  # (Q,)
    prog_aor: np.ndarray  # (Q,) AOR index, -1 when any


def _network_arrays(inst: Instance) -> Network:
    """Arrays of facilities, units and programs, and the moving-cost matrix (MODEL.md §3)."""
    aor_idx = {a.code: i for i, a in enumerate(inst.aors)}
    facs = inst.facilities
    units = [(fi, u) for fi, f in enumerate(facs) for u in f.units]
    flat = np.array([f.lat for f in facs], dtype=float), np.array([f.lon for f in facs], dtype=float)
    alat = np.array([a.lat for a in inst.aors], dtype=float)
    alon = np.array([a.lon for a in inst.aors], dtype=float)
    plat = np.concatenate([flat[0], alat])
    plon = np.concatenate([flat[1], alon])
    km = haversine_km(plat[:, None], plon[:, None], flat[0][None, :], flat[1][None, :])
    pol = inst.policy
    F = len(facs)
    move = pol.transfer_usd_per_km * km
    move[:F] += pol.transfer_fixed_usd
    move[np.arange(F), np.arange(F)] = 0.0
    sexmap = {"M": 0, "F": 1, "any": 2}
    lv = np.zeros((len(units), 4), dtype=bool)
    for k, (_, u) in enumerate(units):
        for l in u.levels:
            lv[k, LEVEL_INDEX[l]] = True
    progs = inst.atd_programs
    return Network(
        unit_fac=np.array([fi for fi, _ in units], dtype=np.int32),
        unit_sex=np.array([sexmap[u.sex] for _, u in units], dtype=np.int8),
        unit_levels=lv,
        unit_beds=np.array([u.beds for _, u in units], dtype=np.int64),
        unit_surge=np.array([u.surge_beds for _, u in units], dtype=np.int64),
        unit_medical=np.array([u.medical for _, u in units], dtype=bool),
        unit_family=np.array([u.family for _, u in units], dtype=bool),
        fac_gm=np.array([f.guaranteed_minimum for f in facs], dtype=np.int64),
        fac_gm_rate=np.array([f.gm_rate for f in facs], dtype=float),
        fac_per_diem=np.array([f.per_diem for f in facs], dtype=float),
        fac_max_stay=np.array([BIG_STAY if f.max_stay_days is None else f.max_stay_days for f in facs], dtype=np.int64),
        fac_aor=np.array([aor_idx[f.aor] for f in facs], dtype=np.int32),
        move_cost=move,
        prog_per_diem=np.array([p.per_diem for p in progs], dtype=float),
        prog_capacity=np.array([-1 if p.capacity is None else p.capacity for p in progs], dtype=np.int64),
        prog_max_risk=np.array([p.max_risk for p in progs], dtype=float),
        prog_aor=np.array([-1 if p.aor is None else aor_idx[p.aor] for p in progs], dtype=np.int32),
    )


def eligible_programs(net: Network, risk: float, aor: int) -> np.ndarray:
    """Indices of the ATD programs that may supervise a person (MODEL.md §3 rule 3)."""
    ok = (net.prog_max_risk >= risk) & ((net.prog_aor < 0) | (net.prog_aor == aor))
    return np.flatnonzero(ok)


def bed_type_keys(P: People, N: Network) -> np.ndarray:
    """(P,) integer bed type of each person: (sex, level, needs_medical, stay band, restriction),
    where the stay band counts the facilities' ``max_stay_days`` values below the person's stay
    and the restriction is :func:`restriction_keys`; people with equal keys fit exactly the same
    single units (MODEL.md §3 rules 2, 5, 8 and the units of a detain pin)."""
    stays = np.unique(N.fac_max_stay[N.fac_max_stay < BIG_STAY])
    band = np.searchsorted(stays, P.stay, side="left").astype(np.int64)
    lvl = np.maximum(P.level, 0).astype(np.int64)
    base = ((P.sex.astype(np.int64) * 4 + lvl) * 2 + P.medical) * (len(stays) + 2) + band
    rk = restriction_keys(P, N)
    return base if not rk.any() else base * (int(rk.max()) + 1) + rk


def restriction_keys(P: People, N: Network) -> np.ndarray:
    """(P,) 0 for a person who may use every compatible unit, else a positive id shared exactly by
    the people allowed the same units by local ties (their AOR's facilities and their origin
    facility, MODEL.md §3 rule 8) and a detain pin (its facility or unit, §2 ``pin``)."""
    n = len(P.sex)
    if not P.ties.any() and not (P.pin_kind == PIN_DETAIN).any():
        return np.zeros(n, np.int64)
    tied = P.ties
    org_aor = np.where(P.origin >= 0, N.fac_aor[np.maximum(P.origin, 0)], -1)
    tie_aor = np.where(tied, P.aor, -1)
    tie_org = np.where(tied & (P.origin >= 0) & (org_aor != P.aor), P.origin, -1)
    det = P.pin_kind == PIN_DETAIN
    # one mixed-radix integer per person, ordered as the rows (tie AOR, tie origin, pinned
    # facility, pinned unit) are: ids equal those of a row-wise unique, at a fraction of its time
    F, U = len(N.fac_aor) + 1, len(N.unit_fac) + 1
    key = (((tie_aor + 1) * F + tie_org + 1) * F + np.where(det, P.pin_fac, -1) + 1) * U \
        + np.where(det, P.pin_unit, -1) + 1
    _, inv = np.unique(key.astype(np.int64), return_inverse=True)
    inv = inv.ravel().astype(np.int64) + 1
    inv[key == 0] = 0  # the unrestricted people's id is left unused
    return inv


def allowed_units(P: People, N: Network, reps: np.ndarray) -> np.ndarray:
    """(len(reps), U) bool: the units local ties and detain pins leave each person ``reps[i]``
    (MODEL.md §3 rule 8, §2 ``pin``); compatibility itself is :func:`single_units`."""
    U = len(N.unit_fac)
    ok = np.ones((len(reps), U), dtype=bool)
    t = P.ties[reps]
    if t.any():
        r = reps[t]
        ok[t] = ((N.fac_aor[N.unit_fac][None, :] == P.aor[r][:, None])
                 | (N.unit_fac[None, :] == P.origin[r][:, None]))
    d = P.pin_kind[reps] == PIN_DETAIN
    if d.any():
        pf, pu = P.pin_fac[reps], P.pin_unit[reps]
        ok &= ~d[:, None] | (pf[:, None] < 0) | (N.unit_fac[None, :] == pf[:, None])
        ok &= ~d[:, None] | (pu[:, None] < 0) | (np.arange(U)[None, :] == pu[:, None])
    return ok


def program_keys(P: People, N: Network) -> np.ndarray:
    """(P,) integer program key: (aor, risk band, pinned program); people with equal keys are
    eligible for the same ATD programs (MODEL.md §3 rule 3).  The AOR counts only when a program
    is restricted."""
    risks = np.unique(N.prog_max_risk)
    rband = np.searchsorted(risks, P.risk, side="left").astype(np.int64)
    aor = P.aor.astype(np.int64) if (N.prog_aor >= 0).any() else np.zeros(len(P.aor), np.int64)
    key = aor * (len(risks) + 1) + rband
    # a pinned program is a key of its own (MODEL.md §2 ``pin``)
    return key if not (P.pin_prog >= 0).any() else key * (len(N.prog_per_diem) + 1) + P.pin_prog + 1


def single_units(P: People, N: Network, reps: np.ndarray) -> np.ndarray:
    """(len(reps), U) bool: the non-family units each person ``reps[i]`` fits (sex, level,
    medical need, short stay, local ties, detain pin; MODEL.md §3 rules 2, 5, 8 and §2 ``pin``;
    the legal limit is checked elsewhere)."""
    lvl = np.maximum(P.level[reps], 0)
    return ((~N.unit_family[None, :]) & (N.unit_sex[None, :] == P.sex[reps][:, None])
            & N.unit_levels[:, lvl].T & (N.unit_medical[None, :] | ~P.medical[reps][:, None])
            & (P.stay[reps][:, None] <= N.fac_max_stay[N.unit_fac][None, :]) & allowed_units(P, N, reps))


def family_units(P: People, N: Network, members: np.ndarray) -> np.ndarray:
    """(U,) bool: the family units that fit every member (MODEL.md §3 rules 2, 5 and 8; a
    family's detain pin binds every member)."""
    ok = N.unit_family & allowed_units(P, N, members).all(axis=0)
    for s in np.unique(P.sex[members]):
        ok &= (N.unit_sex == s) | (N.unit_sex == 2)
    for lv in np.unique(P.level[members[~P.minor[members]]]):
        ok &= N.unit_levels[:, lv]
    if P.medical[members].any():
        ok &= N.unit_medical
    return ok & (P.stay[members].min() <= N.fac_max_stay[N.unit_fac])


def programs_of(P: People, N: Network, reps: np.ndarray) -> np.ndarray:
    """(len(reps), Q) bool: the ATD programs eligible for each person ``reps[i]`` (rule 3), only
    the pinned one for a person whose pin names a program."""
    pin = P.pin_prog[reps][:, None]
    return (N.prog_max_risk[None, :] >= P.risk[reps][:, None]) & (
        (N.prog_aor[None, :] < 0) | (N.prog_aor[None, :] == P.aor[reps][:, None])) & (
        (pin < 0) | (np.arange(len(N.prog_per_diem))[None, :] == pin))


def family_groups(P: People, values: np.ndarray, reduce) -> np.ndarray:
    """(P,) ``values`` combined over each family with the ufunc ``reduce`` (``np.logical_or``,
    ``np.minimum``) and given to every member; single people keep their own value.  Linear in
    the number of people."""
    out = values.copy()
    fam = P.family >= 0
    if fam.any():
        acc = np.full(int(P.family.max()) + 1, reduce.identity if reduce.identity is not None else values.max(),
                      dtype=values.dtype)
        reduce.at(acc, P.family[fam], values[fam])
        out[fam] = acc[P.family[fam]]
    return out


def family_members(P: People) -> dict[int, np.ndarray]:
    """Family index -> the indices of its members (instance order); linear in the people."""
    fam = np.flatnonzero(P.family >= 0)
    order = fam[np.argsort(P.family[fam], kind="stable")]
    cuts = np.flatnonzero(np.diff(P.family[order])) + 1
    return {int(P.family[g[0]]): g for g in np.split(order, cuts)} if len(order) else {}


def seat_rows(inst: Instance, P: People, N: Network, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The transport limits that can bind (MODEL.md §3 rule 7): ``(keys, limits)``, ``keys`` (k, 2)
    of (AOR index, day) for a limit on moves out of that AOR's facilities, (-1, day) for the
    national limit.  ``day`` (P,) is each person's arrival day, the day a transfer happens.  A
    limit at least as large as the number of people with a facility origin who arrive that day
    (out of that AOR) can never bind and gets no row, so an instance without active limits has
    exactly the model of contract 1.0."""
    H = inst.horizon_days
    cand = ~P.removed & (P.origin >= 0)
    d = day[cand]
    oa = N.fac_aor[P.origin[cand]].astype(np.int64)
    keys, lims = [], []
    nat = inst.policy.max_transfers_per_day
    if nat is not None:
        t = np.flatnonzero(np.bincount(d, minlength=H) > nat)
        keys += [(-1, int(x)) for x in t]
        lims += [nat] * len(t)
    count = np.bincount(oa * H + d, minlength=len(inst.aors) * H).reshape(len(inst.aors), H)
    for ai, aor in enumerate(inst.aors):
        if aor.max_transfers_out_per_day is not None:
            t = np.flatnonzero(count[ai] > aor.max_transfers_out_per_day)
            keys += [(ai, int(x)) for x in t]
            lims += [aor.max_transfers_out_per_day] * len(t)
    return np.array(keys, np.int64).reshape(-1, 2), np.array(lims, float)


def seat_entries(keys: np.ndarray, N: Network, origin: np.ndarray, day: np.ndarray, cols: np.ndarray):
    """Entries ``(row within the seat block, column, 1)`` of columns ``cols`` that each move one
    person from facility ``origin`` on ``day`` (arrays of equal length; a column moving several
    people appears once per person): the row of the origin facility's AOR and day and the national
    row of the day, where :func:`seat_rows` made them."""
    H = int(max(keys[:, 1].max(initial=0), day.max(initial=0))) + 1
    code = (keys[:, 0] + 1) * H + keys[:, 1]
    order = np.argsort(code)
    rows, cs = [], []
    for want in ((N.fac_aor[origin].astype(np.int64) + 1) * H + day, day):
        pos = np.minimum(np.searchsorted(code[order], want), max(len(code) - 1, 0))
        hit = (code[order][pos] == want) if len(code) else np.zeros(len(want), bool)
        rows.append(order[pos[hit]] if len(code) else pos[hit])
        cs.append(cols[hit])
    rows, cs = np.concatenate(rows), np.concatenate(cs)
    return rows, cs, np.ones(len(rows))


def transport_rows(b, seats: np.ndarray, limits: np.ndarray, N: Network, origin: np.ndarray, day: np.ndarray,
                   cols: np.ndarray) -> None:
    """The row block ``seat`` of :func:`seat_rows` on builder ``b``: each column of ``cols`` moves
    one person from facility ``origin`` on ``day`` (a column moving several people appears once
    per person; arrays of equal length)."""
    r = b.rows_("seat", np.full(len(limits), -np.inf), limits)
    sr, sc, sv = seat_entries(seats, N, origin, day, cols)
    b.entries(r[sr], sc, sv)


def family_moves(P: People, members: list[np.ndarray], col_family: np.ndarray, col_fac: np.ndarray):
    """``(column positions, people)`` of the family members a family column moves: members with
    an origin facility other than the column's facility ``col_fac`` (each member is one transfer,
    MODEL.md §3 rule 7)."""
    if not len(col_family):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lengths = np.array([len(m) for m in members], np.int64)
    size = lengths[col_family]  # members of each column's family
    first = np.concatenate([[0], np.cumsum(lengths)])[col_family]
    k = np.repeat(np.arange(len(col_family)), size)
    within = np.arange(len(k)) - np.repeat(np.cumsum(size) - size, size)
    m = np.concatenate(members)[first[k] + within]
    moved = (P.origin[m] >= 0) & (P.origin[m] != np.asarray(col_fac)[k])
    return k[moved], m[moved]


def _empty():
    return np.zeros(0, dtype=np.int64)


@dataclass
class LexMip:
    """A solver-neutral MIP: minimise ``objectives[k] @ x`` lexicographically over k = 0..3,
    subject to ``row_lower <= A @ x <= row_upper``, ``col_lower <= x <= col_upper``, x integer.
    ``A`` (m, n); ``objectives`` (4, n); ``offsets`` (4,) constants (guaranteed-minimum
    payments, USD) added to the level values; ``blocks`` names column ranges."""

    A: sp.csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    objectives: np.ndarray
    offsets: np.ndarray
    blocks: dict[str, slice]

    @property
    def size(self) -> dict:
        return {"variables": int(self.A.shape[1]), "constraints": int(self.A.shape[0]), "nonzeros": int(self.A.nnz)}


@dataclass
class Model(LexMip):
    """The one-day class model (:func:`build`): a :class:`LexMip` whose level 3 is in units of
    0.0001 effective risk, with the maps from columns back to people."""

    # maps from columns and rows back to classes, pools and people (empty for other models)
    # (P,) class of each single person needing a decision, -1 otherwise
    person_class: np.ndarray = field(default_factory=_empty)
    # (C,) pool of the class, -1 when it may not be detained
    class_pool: np.ndarray = field(default_factory=_empty)
    # (C,) program key, -1 when it may not be released
    class_progkey: np.ndarray = field(default_factory=_empty)
    seg_class: np.ndarray = field(default_factory=_empty)  # (S,) class of each risk segment
    atd_key: np.ndarray = field(default_factory=_empty)  # (.,) program key of each atd column
    atd_prog: np.ndarray = field(default_factory=_empty)  # (.,) program of each atd column
    arc_pool: np.ndarray = field(default_factory=_empty)  # (.,) pool of each arc column
    arc_fac: np.ndarray = field(default_factory=_empty)  # (.,) facility of each arc column
    put_unit: np.ndarray = field(default_factory=_empty)  # (.,) unit of each put column
    put_node: np.ndarray = field(default_factory=_empty)  # (.,) (facility, bed type) node of each put column
    arc_node: np.ndarray = field(default_factory=_empty)  # (.,) node each arc feeds
    fam_family: np.ndarray = field(default_factory=_empty)  # (.,) family of each fam column
    fam_unit: np.ndarray = field(default_factory=_empty)  # (.,) unit of each fam column
    family_members: list[np.ndarray] = field(default_factory=list)  # people of each family (instance order)
    fatd_person: np.ndarray = field(default_factory=_empty)  # (.,) adult of each fatd column
    fatd_prog: np.ndarray = field(default_factory=_empty)  # (.,) program of each fatd column
    fatd_family: np.ndarray = field(default_factory=_empty)
    frel_family: np.ndarray = field(default_factory=_empty)  # (.,) family of each frel column
    row_blocks: dict[str, slice] = field(default_factory=dict)
    class_rep: np.ndarray = field(default_factory=_empty)  # (C,) a person of each class
    pool_bt: np.ndarray = field(default_factory=_empty)  # (pools,) bed type of each pool
    # (nodes,) facility * (G + 1) + bed type of each node
    node_key: np.ndarray = field(default_factory=_empty)
    seg_value: np.ndarray = field(default_factory=_empty)  # (S,) effective risk of each segment, 0.0001 units
    # (arcs,) bool: the arc keeps people in their origin facility
    arc_stay: np.ndarray = field(default_factory=_empty)
    # (S,) rank of each risk segment within its class (0 = lowest risk)
    seg_rank: np.ndarray = field(default_factory=_empty)
    # (.,) rank of each arc within its pool by moving cost (0 = cheapest)
    arc_rank: np.ndarray = field(default_factory=_empty)
    # compact model of active transport limits: pools keep their origin facility (hub: F)
    keeps_origins: bool = False
    pool_origin: np.ndarray = field(default_factory=_empty)  # (pools,) origin key of each pool
    stats: dict = field(default_factory=dict)


class _Builder:
    """Accumulates column blocks and COO triplets."""

    def __init__(self):
        self.n = 0
        self.m = 0
        self.rows, self.cols, self.vals = [], [], []
        self.ub, self.cost = [], [[], [], [], []]
        self.rlo, self.rhi = [], []
        self.blocks = {}
        self.row_blocks = {}

    def columns(self, name, ub, costs=None):
        ub = np.asarray(ub, dtype=float)
        k = len(ub)
        self.blocks[name] = slice(self.n, self.n + k)
        self.ub.append(ub)
        for lvl in range(4):
            c = None if costs is None else costs.get(lvl)
            self.cost[lvl].append(np.zeros(k) if c is None else np.broadcast_to(np.asarray(c, dtype=float), (k,)))
        self.n += k
        return np.arange(self.n - k, self.n)

    def rows_(self, name, lo, hi):
        lo = np.asarray(lo, dtype=float)
        k = len(lo)
        self.row_blocks[name] = slice(self.m, self.m + k)
        self.rlo.append(lo)
        self.rhi.append(np.broadcast_to(np.asarray(hi, dtype=float), (k,)))
        self.m += k
        return np.arange(self.m - k, self.m)

    def entries(self, r, c, v):
        r = np.asarray(r, dtype=np.int64)
        self.rows.append(r)
        self.cols.append(np.asarray(c, dtype=np.int64))
        self.vals.append(np.broadcast_to(np.asarray(v, dtype=float), r.shape))

    def finish(self):
        """The model's matrix (CSC), row bounds, column bounds and the four level costs.  Each list
        of blocks is let go once joined, each joined straight into its final array, and the
        indices are 32-bit when every row and column number fits: the peak of building the
        national 14-day model (18.7 million entries) fell from 1,636 to 1,090 MiB, below its
        solve's (the whole process: 1,641 to 1,542 MiB)."""
        idx = np.int32 if max(self.m, self.n) < 2**31 else np.int64
        vals, rows, cols = (_joined(self, name, dt) for name, dt in (("vals", float), ("rows", idx), ("cols", idx)))
        A = sp.csc_matrix((vals, (rows, cols)), shape=(self.m, self.n))
        del vals, rows, cols
        A.sum_duplicates()
        obj = np.empty((4, self.n))
        for k in range(4):
            _join(self.cost[k], obj[k])
        self.cost = None
        return A, _joined(self, "rlo"), _joined(self, "rhi"), np.zeros(self.n), _joined(self, "ub"), obj


def _join(blocks: list, out: np.ndarray) -> np.ndarray:
    """``blocks`` joined into ``out`` (of their total length; integers narrowed to its type
    where the caller knows they fit)."""
    if blocks:
        np.concatenate(blocks, out=out, casting="unsafe")
    return out


def _joined(b: _Builder, name: str, dtype=float) -> np.ndarray:
    """The builder's list of blocks ``name`` joined into one new array of ``dtype``, the list
    let go."""
    blocks = getattr(b, name)
    setattr(b, name, None)
    return _join(blocks, np.empty(sum(len(x) for x in blocks), dtype))


def build(inst: Instance, people: People | None = None, net: Network | None = None,
          merge_origins: bool = False, pins_hard: bool = True) -> Model:
    """Build the one-day class model (MODEL.md §3-§4) of a validated ``horizon_days == 1`` instance.

    With ``merge_origins`` every person is treated as coming from one origin: the *compact* model,
    whose levels 1-3 equal the full model's (moving costs enter level 4 only) and whose optimal
    duals lift to the full model (:func:`lift_duals`).  Its level 4 is meaningless.  When a
    transport limit can bind (:func:`seat_rows`), the compact model keeps each person's origin
    facility and moves go through a hub per bed type (:func:`_arc_ends`).

    Pinned people (MODEL.md §2 ``pin``) are classes of their own: a detain pin removes their
    release columns and restricts their units (:func:`allowed_units`), a release pin removes
    their bed columns and restricts their programs (:func:`programs_of`), and with ``pins_hard``
    their ``unplaced`` columns are fixed at 0 (without it, level 1 counts the pinned people
    left without their pinned outcome: the feasibility check of pins).
    Raises ``ValueError`` for a multi-day instance."""
    if inst.horizon_days != 1:
        raise ValueError("the one-day model needs horizon_days = 1")
    P = people if people is not None else people_arrays(inst)
    N = net if net is not None else network_arrays(inst)
    seats, seat_lim = seat_rows(inst, P, N, np.zeros(len(P.sex), np.int64))
    hubs = merge_origins and len(seat_lim) > 0  # the compact model of active transport limits
    c = _classes(P, N, len(inst.facilities), merge_origins, hubs)
    seg = _risk_segments(P, c)
    flow = _flow_network(N, c, len(inst.facilities), hubs)
    fam = _families(P, N, len(inst.facilities))
    b = _Builder()
    col = _columns(b, N, c, seg, flow, fam, float(inst.policy.cost_days), pins_hard, hubs)
    _flow_rows(b, c, seg, flow, col)
    _capacity_rows(b, N, c, flow, fam, col)
    _family_rows(b, fam, col)
    _transport_rows(b, P, N, flow, fam, col, seats, seat_lim)
    return _model(b, N, c, seg, flow, fam, float(inst.policy.cost_days), hubs)


@dataclass
class _Classes:
    """Single people needing a decision grouped into classes of interchangeable people (module
    docstring), with the bed types and program keys of the classes."""

    person_class: np.ndarray  # (P,) class of each single person needing a decision, -1 otherwise
    sidx: np.ndarray  # the single people needing a decision
    cls: np.ndarray  # (len(sidx),) their classes
    size: np.ndarray  # (C,) people in each class
    pinned: np.ndarray  # (C,) bool: a pinned class
    origin: np.ndarray  # (C,) origin key
    rep: np.ndarray  # (C,) a person of each class
    bt: np.ndarray = None  # (C,) bed type index of each class
    G: int = 0  # bed types
    compat: np.ndarray = None  # (G, U) bool: the units of each bed type
    pk: np.ndarray = None  # (C,) program key index of each class
    K: int = 0  # program keys
    kk: np.ndarray = None  # (.,) program key of each (key, program) pair ...
    qq: np.ndarray = None  # (.,) ... and its program
    can_release: np.ndarray = None  # (C,) bool
    det_classes: np.ndarray = None  # the classes that may be detained

    @property
    def C(self) -> int:
        return len(self.size)


def _classes(P: People, N: Network, F: int, merge_origins: bool, hubs: bool) -> _Classes:
    """The classes of single people (key: origin, bed type, mandatory, at the limit, program key,
    pin kind), their compatible units and their eligible programs."""
    single = ~P.removed & (P.family < 0)
    btype_key, pkey_raw = bed_type_keys(P, N), program_keys(P, N)
    detainable = single & ~P.at_limit & (P.pin_kind != PIN_RELEASE)
    releasable = single & ~P.mandatory & (P.pin_kind != PIN_DETAIN)
    btype_key = np.unique(btype_key, return_inverse=True)[1].ravel()  # small integers for the radix
    pkey_raw = np.unique(pkey_raw, return_inverse=True)[1].ravel()
    okey = np.where(P.origin >= 0, P.origin, F + P.aor).astype(np.int64)
    if merge_origins:  # origins matter at levels 1-3 only through the seats
        okey = np.where(P.origin >= 0, P.origin, F) if hubs else np.zeros_like(okey)
    # class key in mixed radix: (origin, bed type + 1, mandatory, at limit, program key + 1)
    nb, npk = int(btype_key.max(initial=0)) + 2, int(pkey_raw.max(initial=0)) + 2
    ckey = (((((okey * nb + np.where(detainable, btype_key + 1, 0)) * 2 + P.mandatory) * 2 + P.at_limit) * npk
             + np.where(releasable, pkey_raw + 1, 0)) * 3 + P.pin_kind)
    sidx = np.flatnonzero(single)
    person_class = np.full(len(P.sex), -1, dtype=np.int64)
    ukeys, cls = np.unique(ckey[sidx], return_inverse=True)
    cls = cls.ravel()
    person_class[sidx] = cls
    C = len(ukeys)
    class_size = np.bincount(cls, minlength=C)
    class_pinned = ukeys % 3 > 0
    ukeys = ukeys // 3
    class_pkey = ukeys % npk - 1
    class_btype = (ukeys // (npk * 4)) % nb - 1
    # a representative person per class (for compatibility and eligibility)
    rep = np.zeros(C, dtype=np.int64)
    rep[cls[::-1]] = sidx[::-1]
    c = _Classes(person_class=person_class, sidx=sidx, cls=cls, size=class_size, pinned=class_pinned,
                 origin=ukeys // (npk * 4 * nb), rep=rep)
    g_has_unit = _class_bed_types(P, N, c, class_btype)
    k_has_prog = _class_programs(P, N, c, class_pkey)
    c.can_release = (class_pkey >= 0) & k_has_prog[c.pk]
    c.det_classes = np.flatnonzero((class_btype >= 0) & g_has_unit[c.bt])
    return c


def _class_bed_types(P: People, N: Network, c: _Classes, class_btype: np.ndarray) -> np.ndarray:
    """Compatibility of the classes' bed types with units (``c.bt``, ``c.G``, ``c.compat``);
    returns (G,) bool: the bed type has a compatible unit."""
    bt_vals, class_bt = np.unique(np.where(class_btype >= 0, class_btype, -1), return_inverse=True)
    c.bt = class_bt.ravel()
    c.G = len(bt_vals)
    g_rep = np.zeros(c.G, dtype=np.int64)
    g_rep[c.bt[::-1]] = c.rep[::-1]
    c.compat = single_units(P, N, g_rep)
    c.compat[bt_vals < 0] = False
    return c.compat.any(axis=1)


def _class_programs(P: People, N: Network, c: _Classes, class_pkey: np.ndarray) -> np.ndarray:
    """The classes' program keys and eligible programs (``c.pk``, ``c.K``, the (key, program)
    pairs ``c.kk``, ``c.qq``); returns (K,) bool: the key has an eligible program."""
    pk_vals, class_pk = np.unique(class_pkey, return_inverse=True)
    c.pk = class_pk.ravel()
    c.K = len(pk_vals)
    k_rep = np.zeros(c.K, dtype=np.int64)
    k_rep[c.pk[::-1]] = c.rep[::-1]
    elig = programs_of(P, N, k_rep)
    elig[pk_vals < 0] = False
    k_has_prog = elig.any(axis=1)
    c.kk, c.qq = np.nonzero(elig & k_has_prog[:, None])
    return k_has_prog


@dataclass
class _Segments:
    """Risk segments of the releasable classes: one per distinct effective risk of a class."""

    cls: np.ndarray  # (S,) class of each segment
    units: np.ndarray  # (S,) effective risk, 0.0001 units
    count: np.ndarray  # (S,) people of the class at that risk


def _risk_segments(P: People, c: _Classes) -> _Segments:
    """The distinct effective risks of each releasable class and how many people have each."""
    rel_mask = c.can_release[c.cls] if c.C else np.zeros(0, bool)
    rp = c.sidx[rel_mask]
    rc = c.cls[rel_mask]
    order = np.lexsort((P.eff_units[rp], rc))
    rc_s, ru_s = rc[order], P.eff_units[rp][order]
    if not len(rc_s):
        return _Segments(*(np.zeros(0, dtype=np.int64),) * 3)
    new = np.ones(len(rc_s), dtype=bool)
    new[1:] = (rc_s[1:] != rc_s[:-1]) | (ru_s[1:] != ru_s[:-1])
    starts = np.flatnonzero(new)
    return _Segments(cls=rc_s[starts], units=ru_s[starts], count=np.diff(np.append(starts, len(rc_s))))


@dataclass
class _Flow:
    """The network of detained single people: pools (origin, bed type), moving arcs (to
    facilities or through hubs), nodes (facility, bed type) and the units each node feeds."""

    det_pool: np.ndarray  # (detainable classes,) pool of each
    pool_origin: np.ndarray  # (pools,)
    pool_bt: np.ndarray  # (pools,)
    ap: np.ndarray  # (arcs,) source of each arc: a pool, or pools + hub index
    af: np.ndarray  # (arcs,) facility of each arc, -1 into the hub
    hub_bt: np.ndarray  # (hubs,) bed type of each hub
    arc_cost: np.ndarray  # (arcs,) moving cost, USD
    arc_bt: np.ndarray  # (arcs,) bed type of each arc
    org: np.ndarray  # (arcs,) origin key of each arc's source (hubs: F)
    node_vals: np.ndarray  # (nodes,) facility * (G + 1) + bed type
    arc_node: np.ndarray  # (arcs,) node each arc feeds, -1 into a hub
    put_node: np.ndarray  # (puts,) node of each put column
    put_unit: np.ndarray  # (puts,) unit of each put column

    @property
    def n_pool(self) -> int:
        return len(self.pool_origin)

    @property
    def from_pool(self) -> np.ndarray:
        return self.ap < self.n_pool

    @property
    def to_node(self) -> np.ndarray:
        return self.af >= 0


def _flow_network(N: Network, c: _Classes, F: int, hubs: bool) -> _Flow:
    """The pools of the detainable classes, their arcs to facilities (:func:`_arc_ends`) and the
    (facility, bed type) nodes they reach."""
    G, det_classes = c.G, c.det_classes
    pool_key = c.origin[det_classes] * (G + 1) + c.bt[det_classes]
    pool_vals, det_pool = np.unique(pool_key, return_inverse=True)
    n_pool = len(pool_vals)
    pool_origin = pool_vals // (G + 1)
    pool_bt = pool_vals % (G + 1)
    fac_compat = np.zeros((G, F), dtype=bool)  # bed type g has a compatible unit in facility f
    gg, uu = np.nonzero(c.compat)
    fac_compat[gg, N.unit_fac[uu]] = True
    ap, af, hub_bt = _arc_ends(pool_origin, pool_bt, fac_compat, F, hubs)
    from_pool, to_node = ap < n_pool, af >= 0
    arc_cost = np.zeros(len(ap))
    ok = from_pool & to_node
    arc_cost[ok] = N.move_cost[pool_origin[ap[ok]], af[ok]]
    arc_bt = np.empty(len(ap), np.int64)
    arc_bt[from_pool] = pool_bt[ap[from_pool]]
    arc_bt[~from_pool] = hub_bt[ap[~from_pool] - n_pool]
    org = np.full(len(ap), F, np.int64)  # origin key of each arc's source (hubs: F)
    org[from_pool] = pool_origin[ap[from_pool]]
    # nodes (facility, bed type) reached by arcs, and the units they feed
    node_vals, inv = np.unique(af[to_node] * (G + 1) + arc_bt[to_node], return_inverse=True)
    arc_node = np.full(len(ap), -1, np.int64)
    arc_node[to_node] = inv.ravel()
    put_node, put_unit = _node_units(N, c.compat, node_vals // (G + 1), node_vals % (G + 1), F)
    return _Flow(det_pool=det_pool.ravel(), pool_origin=pool_origin, pool_bt=pool_bt, ap=ap, af=af, hub_bt=hub_bt,
                 arc_cost=arc_cost, arc_bt=arc_bt, org=org, node_vals=node_vals, arc_node=arc_node,
                 put_node=put_node, put_unit=put_unit)


def _node_units(N: Network, compat: np.ndarray, node_fac: np.ndarray, node_bt: np.ndarray, F: int):
    """``(node, unit)`` of the put columns: the units of each node's facility that its bed type
    fits (``compat[g, u] & unit_fac[u] == f``)."""
    put_node_l, put_unit_l = [], []
    unit_of_fac = [np.flatnonzero(N.unit_fac == f) for f in range(F)]
    for j in range(len(node_fac)):
        us = unit_of_fac[node_fac[j]]
        us = us[compat[node_bt[j], us]]
        put_node_l.append(np.full(len(us), j))
        put_unit_l.append(us)
    put_node = np.concatenate(put_node_l) if put_node_l else np.zeros(0, np.int64)
    put_unit = np.concatenate(put_unit_l) if put_unit_l else np.zeros(0, np.int64)
    return put_node, put_unit


@dataclass
class _Families:
    """Families kept one by one: their bed, release and program columns."""

    members: list[np.ndarray]  # people of each family (instance order)
    fam_f: np.ndarray  # (.,) family of each bed column ...
    fam_u: np.ndarray  # (.,) ... its family unit ...
    fam_cost: list[float]  # (.,) ... and the members' moving costs
    frel_ok: np.ndarray  # (.,) the families that may be released
    frel_risk: list[float]  # (.,) their members' effective risks, 0.0001 units
    fsize: np.ndarray  # (families,) members, float
    fpinned: np.ndarray  # (families,) bool: a member has a pin
    fatd_p: np.ndarray  # (.,) adult of each program column ...
    fatd_q: np.ndarray  # (.,) ... its program ...
    fatd_fam: np.ndarray  # (.,) ... and its family


def _families(P: People, N: Network, F: int) -> _Families:
    """Each family's family units (when no member is at the legal limit and no release pin binds
    it), and, when it may be released, its risk and each adult's eligible programs."""
    fidx = np.flatnonzero(~P.removed & (P.family >= 0))
    o = fidx[np.argsort(P.family[fidx], kind="stable")]
    members = np.split(o, np.flatnonzero(np.diff(P.family[o])) + 1) if len(o) else []
    fam_f, fam_u, fam_cost = [], [], []
    frel_ok, frel_risk, fsize = [], [], []
    fatd_p, fatd_q, fatd_fam = [], [], []
    for j, mem in enumerate(members):
        adults = mem[~P.minor[mem]]
        fsize.append(len(mem))
        kind = P.pin_kind[mem[0]]  # a member's pin binds the family
        if not P.at_limit[mem].any() and kind != PIN_RELEASE:
            units = np.flatnonzero(family_units(P, N, mem))
            okeys = np.where(P.origin[mem] >= 0, P.origin[mem], F + P.aor[mem])
            fam_f.extend([j] * len(units))
            fam_u.extend(units.tolist())
            # the members' moving costs to each unit's facility, summed member by member
            fam_cost.extend(N.move_cost[okeys[:, None], N.unit_fac[units][None, :]].sum(axis=0).tolist())
        can_rel = not P.mandatory[mem].any() and kind != PIN_DETAIN
        progs = [np.flatnonzero(q) for q in programs_of(P, N, adults)]
        if can_rel and all(len(q) for q in progs):
            frel_ok.append(j)
            frel_risk.append(float(P.eff_units[mem].sum()))
            for a, q in zip(adults, progs):
                fatd_p.extend([a] * len(q))
                fatd_q.extend(q.tolist())
                fatd_fam.append(np.full(len(q), j))
    return _Families(
        members=members, fam_f=np.array(fam_f, dtype=np.int64), fam_u=np.array(fam_u, dtype=np.int64),
        fam_cost=fam_cost, frel_ok=np.array(frel_ok, dtype=np.int64), frel_risk=frel_risk,
        fsize=np.array(fsize, dtype=float), fpinned=np.array([P.pin_kind[m[0]] > 0 for m in members], dtype=bool),
        fatd_p=np.array(fatd_p, dtype=np.int64), fatd_q=np.array(fatd_q, dtype=np.int64),
        fatd_fam=np.concatenate(fatd_fam) if fatd_fam else np.zeros(0, np.int64))


def _columns(b: _Builder, N: Network, c: _Classes, seg: _Segments, flow: _Flow, fam: _Families,
             cost_days: float, pins_hard: bool, hubs: bool) -> dict[str, np.ndarray]:
    """The column blocks (module docstring), in their order; block name -> column indices."""
    col = {}
    col["unp"] = b.columns("unp", np.where(c.pinned & pins_hard, 0, c.size), {0: 1.0})
    col["det"] = b.columns("det", c.size[c.det_classes])
    col["seg"] = b.columns("seg", seg.count, {2: seg.units.astype(float)})
    col["atd"] = b.columns("atd", np.full(len(c.kk), np.inf), {3: N.prog_per_diem[c.qq] * cost_days})
    col["arc"] = b.columns("arc", np.full(len(flow.ap), np.inf), {3: flow.arc_cost} if not hubs else None)
    col["put"] = b.columns("put", np.full(len(flow.put_unit), np.inf))
    col["surge"] = b.columns("surge", N.unit_surge, {1: 1.0})
    cost_fac = np.flatnonzero(N.fac_per_diem > 0)
    col["excess"] = b.columns("excess", np.full(len(cost_fac), np.inf), {3: N.fac_per_diem[cost_fac] * cost_days})
    col["fam"] = b.columns("fam", np.ones(len(fam.fam_f)), {3: np.array(fam.fam_cost, dtype=float)})
    col["frel"] = b.columns("frel", np.ones(len(fam.frel_ok)), {2: np.array(fam.frel_risk, dtype=float)})
    col["funp"] = b.columns("funp", np.where(fam.fpinned & pins_hard, 0.0, 1.0), {0: fam.fsize})
    col["fatd"] = b.columns("fatd", np.ones(len(fam.fatd_p)), {3: N.prog_per_diem[fam.fatd_q] * cost_days})
    return col


def _flow_rows(b: _Builder, c: _Classes, seg: _Segments, flow: _Flow, col: dict) -> None:
    """Rows R1-R4': the balance of classes, program keys, pools, nodes and hubs."""
    # R1 class balance: unp + det + segs = size
    r = b.rows_("class", c.size, c.size)
    b.entries(r, col["unp"], 1.0)
    b.entries(r[c.det_classes], col["det"], 1.0)
    b.entries(r[seg.cls], col["seg"], 1.0)
    # R2 program-key balance: segs of classes with key k - atd(k, .) = 0
    r = b.rows_("progkey", np.zeros(c.K), 0.0)
    b.entries(r[c.pk[seg.cls]], col["seg"], 1.0)
    b.entries(r[c.kk], col["atd"], -1.0)
    # R3 pool balance: det of classes in pool - arcs out = 0
    ap, from_pool, to_node, arc = flow.ap, flow.from_pool, flow.to_node, col["arc"]
    r = b.rows_("pool", np.zeros(flow.n_pool), 0.0)
    b.entries(r[flow.det_pool], col["det"], 1.0)
    b.entries(r[ap[from_pool]], arc[from_pool], -1.0)
    # R4 node balance: arcs in - puts out = 0
    r = b.rows_("node", np.zeros(len(flow.node_vals)), 0.0)
    b.entries(r[flow.arc_node[to_node]], arc[to_node], 1.0)
    b.entries(r[flow.put_node], col["put"], -1.0)
    # R4' hub balance (compact model of active transport limits): moves in - moves out = 0
    r = b.rows_("hub", np.zeros(len(flow.hub_bt)), 0.0)
    b.entries(r[np.searchsorted(flow.hub_bt, flow.arc_bt[~to_node])], arc[~to_node], 1.0)
    b.entries(r[ap[~from_pool] - flow.n_pool], arc[~from_pool], -1.0)


def _capacity_rows(b: _Builder, N: Network, c: _Classes, flow: _Flow, fam: _Families, col: dict) -> None:
    """Rows R5-R7: unit beds, facility guaranteed minimums and program capacities."""
    put_unit, fam_f, fam_u = flow.put_unit, fam.fam_f, fam.fam_u
    # R5 unit beds: puts + family sizes - surge <= beds
    r = b.rows_("unit", np.full(len(N.unit_fac), -np.inf), N.unit_beds)
    b.entries(r[put_unit], col["put"], 1.0)
    b.entries(r[fam_u], col["fam"], fam.fsize[fam_f])
    b.entries(r, col["surge"], -1.0)
    # R6 facility guaranteed minimum: occupancy - excess <= gm (facilities with a per diem)
    cost_fac = np.flatnonzero(N.fac_per_diem > 0)
    fac_row = np.full(len(N.fac_gm), -1, dtype=np.int64)
    r = b.rows_("facility", np.full(len(cost_fac), -np.inf), N.fac_gm[cost_fac])
    fac_row[cost_fac] = r
    pr = fac_row[N.unit_fac[put_unit]]
    b.entries(pr[pr >= 0], col["put"][pr >= 0], 1.0)
    fr = fac_row[N.unit_fac[fam_u]]
    b.entries(fr[fr >= 0], col["fam"][fr >= 0], fam.fsize[fam_f][fr >= 0])
    b.entries(r, col["excess"], -1.0)
    # R7 program capacity
    capped = np.flatnonzero(N.prog_capacity >= 0)
    prog_row = np.full(len(N.prog_per_diem), -1, dtype=np.int64)
    r = b.rows_("program", np.full(len(capped), -np.inf), N.prog_capacity[capped])
    prog_row[capped] = r
    ar = prog_row[c.qq]
    b.entries(ar[ar >= 0], col["atd"][ar >= 0], 1.0)
    ar = prog_row[fam.fatd_q]
    b.entries(ar[ar >= 0], col["fatd"][ar >= 0], 1.0)


def _family_rows(b: _Builder, fam: _Families, col: dict) -> None:
    """Rows R8-R9: one outcome per family, one program per adult of a released family."""
    nF = len(fam.members)
    # R8 family outcome: fam + frel + funp = 1
    r = b.rows_("family", np.ones(nF), 1.0)
    b.entries(r[fam.fam_f], col["fam"], 1.0)
    b.entries(r[fam.frel_ok], col["frel"], 1.0)
    b.entries(r, col["funp"], 1.0)
    # R9 each adult of a released family in exactly one program: sum fatd - frel = 0
    adults_list, first = np.unique(fam.fatd_p, return_index=True)
    r = b.rows_("adult", np.zeros(len(adults_list)), 0.0)
    b.entries(r[np.searchsorted(adults_list, fam.fatd_p)], col["fatd"], 1.0)
    frel_pos = np.full(nF, -1, dtype=np.int64)
    frel_pos[fam.frel_ok] = np.arange(len(fam.frel_ok))
    b.entries(r, col["frel"][frel_pos[fam.fatd_fam[first]]], -1.0)


def _transport_rows(b: _Builder, P: People, N: Network, flow: _Flow, fam: _Families, col: dict,
                    seats: np.ndarray, seat_lim: np.ndarray) -> None:
    """Rows R10, transport (MODEL.md §3 rule 7): moves out of an origin AOR's facilities, and in
    all (:func:`seat_rows`)."""
    moved = (flow.org < len(N.fac_gm)) & (flow.org != flow.af)  # into another facility, or into the hub
    fk, fm = family_moves(P, fam.members, fam.fam_f, N.unit_fac[fam.fam_u])
    transport_rows(b, seats, seat_lim, N, np.concatenate([flow.org[moved], P.origin[fm]]),
                   np.zeros(int(moved.sum()) + len(fm), np.int64),
                   np.concatenate([col["arc"][moved], col["fam"][fk]]))


def _model(b: _Builder, N: Network, c: _Classes, seg: _Segments, flow: _Flow, fam: _Families,
           cost_days: float, hubs: bool) -> Model:
    """The finished :class:`Model` with its maps from columns back to classes and people."""
    A, rlo, rhi, clo, cub, obj = b.finish()
    offsets = np.array([0.0, 0.0, 0.0, float((N.fac_gm * N.fac_gm_rate).sum() * cost_days)])
    ap = flow.ap
    return Model(
        A=A, row_lower=rlo, row_upper=rhi, col_lower=clo, col_upper=cub, objectives=obj, offsets=offsets,
        blocks=b.blocks,
        person_class=c.person_class, class_pool=_class_pool(c.C, c.det_classes, flow.det_pool),
        class_progkey=np.where(c.can_release, c.pk, -1),
        seg_class=seg.cls, atd_key=c.kk, atd_prog=c.qq, arc_pool=ap, arc_fac=flow.af,
        put_unit=flow.put_unit, put_node=flow.put_node, arc_node=flow.arc_node,
        fam_family=fam.fam_f, fam_unit=fam.fam_u, family_members=fam.members,
        fatd_person=fam.fatd_p, fatd_prog=fam.fatd_q, fatd_family=fam.fatd_fam, frel_family=fam.frel_ok,
        row_blocks=b.row_blocks, class_rep=c.rep, pool_bt=flow.pool_bt, node_key=flow.node_vals,
        seg_value=seg.units, arc_stay=(flow.org == flow.af),
        seg_rank=_rank_within(seg.cls, np.arange(len(seg.cls))),
        arc_rank=np.zeros(len(ap), np.int64) if hubs else _rank_within(ap, flow.arc_cost), keeps_origins=hubs,
        pool_origin=flow.pool_origin,
        stats={"classes": c.C, "pools": flow.n_pool, "segments": len(seg.cls), "families": len(fam.members),
               "bed_types": c.G, "program_keys": c.K, "arcs": len(ap), "facilities": len(N.fac_gm)},
    )


def _arc_ends(pool_origin, pool_bt, fac_compat, F, hubs):
    """Moving arcs ``(source, facility, hub bed types)``: a source below the number of pools is a
    pool, above it a hub (index - pools); facility -1 is the arc into the pool's hub.

    Full model: every pool to every facility with a compatible unit.  Compact model of active
    transport limits (``hubs``): a pool keeps its origin facility (people without one share the
    origin F), has a *stay* arc to its origin and one arc into the hub of its bed type, which
    takes the transport rows, and each hub has an arc to every compatible facility.  Exactness:
    any full solution maps to one of this model with the same seats (a stay is the stay arc, a
    move goes through the hub); conversely the moves into a hub can be matched to its arcs out
    in any way, and a move matched to its own origin becomes a stay, which frees a seat; levels
    1-3 ignore moving costs.  The lifted duals price a full arc o -> f (f != o) at the sum of
    the reduced costs of o's arc into the hub and the hub's arc to f (:func:`lift_duals`)."""
    n_pool = len(pool_origin)
    if not hubs:
        ap, af = np.nonzero(fac_compat[pool_bt])
        return ap, af, np.zeros(0, np.int64)
    hub_bt = np.unique(pool_bt)
    own = np.flatnonzero(pool_origin < F)
    own = own[fac_compat[pool_bt[own], pool_origin[own]]]
    hh, hf = np.nonzero(fac_compat[hub_bt])
    src = np.concatenate([own, np.arange(n_pool), n_pool + hh])
    fac = np.concatenate([pool_origin[own], np.full(n_pool, -1), hf])
    return src, fac, hub_bt


def _rank_within(group: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Rank of each element within its group when sorted by value (ties by position)."""
    order = np.lexsort((np.arange(len(group)), value, group))
    g = group[order]
    start = np.zeros(len(g), dtype=np.int64)
    if len(g):
        new = np.ones(len(g), dtype=bool)
        new[1:] = g[1:] != g[:-1]
        start = np.maximum.accumulate(np.where(new, np.arange(len(g)), 0))
    rank = np.empty(len(g), dtype=np.int64)
    rank[order] = np.arange(len(g)) - start
    return rank


def _class_pool(C, det_classes, det_pool):
    out = np.full(C, -1, dtype=np.int64)
    out[det_classes] = det_pool
    return out


def lift_duals(full: Model, compact: Model, y: np.ndarray) -> np.ndarray:
    """Row duals of the compact model (``merge_origins=True``) carried to the full model.

    Class, pool and node rows take the dual of their image (the merged class, the bed type's
    pool, the same facility and bed type); every other row block is identical in both models.
    Each full column then has the reduced cost of its image, so the lifted duals are optimal for
    the full model at levels 1-3, where moving costs are zero.  ``y``: (compact rows,);
    returns (full rows,)."""
    out = np.zeros(full.A.shape[0])
    rb, cb = full.row_blocks, compact.row_blocks
    for name in ("progkey", "unit", "facility", "program", "family", "adult", "seat"):
        out[rb[name]] = y[cb[name]]
    out[rb["class"]] = y[cb["class"]][compact.person_class[full.class_rep]]
    out[rb["pool"]] = y[cb["pool"]][_compact_pool(full, compact)]
    out[rb["node"]] = y[cb["node"]][np.searchsorted(compact.node_key, full.node_key)]
    return out


def _compact_pool(full: Model, compact: Model) -> np.ndarray:
    """(full pools,) the compact pool of each full pool: the one of its bed type, and of its origin
    facility when the compact model keeps origins (people without one: origin F)."""
    F = full.stats["facilities"]
    origin = (np.where(full.pool_origin < F, full.pool_origin, F) if compact.keeps_origins
              else np.zeros(len(full.pool_bt), np.int64))
    M = int(max(full.pool_bt.max(initial=0), compact.pool_bt.max(initial=0))) + 1
    return np.searchsorted(compact.pool_origin * M + compact.pool_bt, origin * M + full.pool_bt)


def lift_solution(full: Model, compact: Model, xc: np.ndarray, eff_units: np.ndarray) -> np.ndarray | None:
    """An integer compact solution carried to a full-model solution with the same levels 1-3.

    Within a merged class the lowest effective risks are released (ties: instance order), the
    highest are unplaced, the rest detained; detained people of each (origin, bed type) pool are
    sent to the facilities the compact solution fills, staying where they are first.  Returns
    None when ``xc`` is not integral.  ``xc``: (compact columns,); returns (full columns,)."""
    if np.any(np.abs(xc - np.rint(xc)) > 1e-7):
        return None
    xc = np.rint(xc).astype(np.int64)
    fb, cb = full.blocks, compact.blocks
    x = np.zeros(full.A.shape[1], dtype=np.int64)
    for name in ("atd", "put", "surge", "excess", "fam", "frel", "funp", "fatd"):
        x[fb[name]] = xc[cb[name]]
    Cc = cb["unp"].stop - cb["unp"].start
    rel_c = np.bincount(compact.seg_class, weights=xc[cb["seg"]], minlength=Cc).astype(np.int64)
    unp_c = xc[cb["unp"]]
    # rank of every single person within its merged class (by effective risk, then instance order)
    pc, pf = compact.person_class, full.person_class
    idx = np.flatnonzero(pc >= 0)
    order = idx[np.lexsort((idx, eff_units[idx], pc[idx]))]
    starts = np.searchsorted(pc[order], np.arange(Cc))
    rank = np.empty(len(pc), dtype=np.int64)
    rank[order] = np.arange(len(order)) - starts[pc[order]]
    size_c = np.bincount(pc[idx], minlength=Cc)
    released = rank[idx] < rel_c[pc[idx]]
    unplaced = rank[idx] >= size_c[pc[idx]] - unp_c[pc[idx]]
    Cf = fb["unp"].stop - fb["unp"].start
    fcls = pf[idx]
    x[fb["unp"]] = np.bincount(fcls[unplaced], minlength=Cf)
    det = np.bincount(fcls[~released & ~unplaced], minlength=Cf)
    det_classes = np.flatnonzero(full.class_pool >= 0)
    x[fb["det"]] = det[det_classes]
    # full risk segments: released people counted by (class, effective risk)
    seg_pos = {(int(c), int(v)): j for j, (c, v) in enumerate(zip(full.seg_class, full.seg_value))}
    seg = np.zeros(fb["seg"].stop - fb["seg"].start, dtype=np.int64)
    for c, v in zip(fcls[released], eff_units[idx[released]]):
        seg[seg_pos[(int(c), int(v))]] += 1
    x[fb["seg"]] = seg
    # transport detained people from pools to nodes, per bed type: stays first, then in order
    supply = np.bincount(full.class_pool[det_classes], weights=det[det_classes],
                         minlength=len(full.pool_bt)).astype(np.int64)
    cnode = np.searchsorted(full.node_key, compact.node_key)
    into = compact.arc_node >= 0  # not the arcs into a hub
    demand = np.bincount(cnode[compact.arc_node[into]], weights=xc[cb["arc"]][into],
                         minlength=len(full.node_key)).astype(np.int64)
    arc = np.zeros(fb["arc"].stop - fb["arc"].start, dtype=np.int64)
    stay = np.flatnonzero(full.arc_stay)
    for j in stay:
        p, nd = full.arc_pool[j], full.arc_node[j]
        t = min(supply[p], demand[nd])
        arc[j] += t
        supply[p] -= t
        demand[nd] -= t
    # supplies and demands only fall, so arcs whose pool or node is already exhausted stay unused
    order = np.argsort(full.arc_rank, kind="stable")
    order = order[(supply[full.arc_pool[order]] > 0) & (demand[full.arc_node[order]] > 0)]
    for j in order:
        p, nd = full.arc_pool[j], full.arc_node[j]
        if supply[p] and demand[nd]:
            t = min(supply[p], demand[nd])
            arc[j] += t
            supply[p] -= t
            demand[nd] -= t
    if supply.any() or demand.any():
        return None
    x[fb["arc"]] = arc
    return x
