"""The multi-day model (MODEL.md §3-§4 for ``horizon_days`` = H >= 1) as a sparse class MIP.

Each person needing a decision arrives on day ``a`` (``arrival_day``) and leaves custody by
removal or the end of the plan on day ``e = min(removal_day, H)``; the legal limit forbids a bed
from day ``L = a + max_custody_days - custody_days`` on (MODEL.md §3 rule 4).  Outcomes:

* ``keep``: a bed in one unit on days ``[a, e)`` (only when ``L >= e``, rule 6: one placement);
* ``release`` on day ``d``: on arrival (``d = a``, no bed) or from a bed held on days ``[a, d)``,
  ``a < d <= min(L, e - 1)``; the person's ATD program starts on day ``d``;
* ``unplaced``.

Exactness of the class aggregation
----------------------------------
Single people are put in one *class* when they agree on origin, bed type and program key (as in
:mod:`optimizer.model`), on ``mandatory``, on ``(a, e, min(L, e - 1), L >= e)`` (the days they
may occupy a bed and may be released) and, unless mandatory, on their effective risk.  All four
levels depend on a person only through these attributes (level 3 weighs a released person's
effective risk by ``H - d``), so the people of a class are interchangeable and optimal class
solutions decode to optimal person-level plans at every level.  A release on day ``d`` carries
its level-3 cost, effective risk x ``(H - d)``, on its own column: unlike the one-day model's
risk segments, this needs no row per class and day (national 14-day compact model: 34,075 rows,
its level-3 LP 13 s with levels 1-2 held at their optima, against 60,868 rows and 30 s with
segments).  Families are kept one by one (binary columns per unit and release day).

Detained people flow in *cohorts* ``(class, departure day)`` through pools ``(origin, bed type,
a, departure)`` straight to units (moving arcs, priced at the moving cost to the unit's facility);
a cohort occupies its unit on days ``[a, departure)``.  Occupancy is a chain per unit: the row of unit u and day t says that the beds
occupied on day t (a ``regular`` column capped at ``beds`` plus a ``surge`` column capped at
``surge_beds``) minus those of day t - 1 equal the people arriving on day t minus the people
leaving on day t, so a placement has two nonzeros in the unit rows whatever its length (national
14-day instance: 9.1 million nonzeros against 10.5 million with one row per unit and day, most of
them moving arcs).  A row per facility and day
splits the facility's occupancy into a part up to the guaranteed minimum (``covered``, free) and
the part above it (``excess``, per diem).  Every ATD program's capacity holds over the plan.

Level 4 sums, over the plan's days, the facilities' guaranteed-minimum payments and per diems
above the minimum, each released adult's program per diem from ``d`` to the end of the plan,
and moving costs.  With H = 1 every per-day term is multiplied by ``policy.cost_days``, so this
model then equals the one-day model of :mod:`optimizer.model` (the tests check it).

Levels 1-3 do not depend on origins, facilities or costs: the *compact* model
(``build_horizon(compact=True)``) merges every origin into one and units into unit types
(:func:`unit_types`); :class:`HorizonLift` carries its optimal duals and integer solutions to
the full model (MIA 14-day: 5,073 rows x 30,329 columns against 10,814 x 69,584).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .arrays import unique_rows
from .instance import Instance
from .model import (
    BIG_STAY, PIN_DETAIN, PIN_RELEASE, LexMip, Network, People, _Builder, _rank_within, bed_type_keys,
    _empty, family_moves, family_units, network_arrays, seat_rows, transport_rows,
    people_arrays, program_keys, programs_of, single_units,
)
from .settings import SETTINGS

@dataclass
class HorizonModel(LexMip):
    """The multi-day model: a :class:`optimizer.model.LexMip` whose level 3 is in units of
    0.0001 risk x day, plus the maps from columns back to people."""

    row_blocks: dict[str, slice]
    horizon: int
    person_class: np.ndarray  # (P,) class of each single needing a decision, -1 otherwise
    class_arrival: np.ndarray  # (C,)
    coh_class: np.ndarray  # (cohorts,) class of each cohort column
    coh_depart: np.ndarray  # (cohorts,) departure day (release day, or e when kept)
    coh_release: np.ndarray  # (cohorts,) bool: the cohort is released on its departure day
    coh_pool: np.ndarray  # (cohorts,) pool of each cohort
    coh_rank: np.ndarray  # (cohorts,) pricing rank within its class (optimizer.lexico), 0 = first
    rel_class: np.ndarray  # (.,) class of each release-on-arrival column
    keyday: np.ndarray  # (.,) program key * H + day of each (key, day) row
    atd_key: np.ndarray  # (.,) index into ``keyday`` of each atd column
    atd_prog: np.ndarray  # (.,) program of each atd column
    key_of_class: np.ndarray  # (C,) program key index, -1 when it may not be released
    arc_pool: np.ndarray  # (arcs,) pool of each moving arc
    arc_unit: np.ndarray  # (arcs,) unit of each moving arc
    # for column generation (optimizer.lexico): rank of each arc by moving cost within its pool
    # (0 for every arc, all in the first LP, up to SETTINGS.priced_arcs arcs); per pool, its (bed
    # type, arrival, departure) as one integer (pools that share it differ by origin only)
    arc_rank: np.ndarray
    pool_bt: np.ndarray
    unit_type: np.ndarray  # compact model: (full units,) unit type of each unit; empty otherwise
    # compact model of active transport limits (:func:`_hub_arcs`): the origin key of each pool
    # (origin facility, or the number of facilities for people without one) and the (bed type,
    # arrival, departure) key of each hub; an arc from source ``len(pool_bt) + h`` leaves hub h,
    # an arc to unit -1 enters the hub of its pool's key
    pool_origin: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    hub_key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    keeps_origins: bool = False  # the compact model of active transport limits (hub_key may be empty)
    family_members: list[np.ndarray] = field(default_factory=list)
    fbed_family: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fbed_unit: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fbed_depart: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fbed_release: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    frel_family: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fatd_person: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fatd_prog: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fatd_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    stats: dict = field(default_factory=dict)


def unit_types(N: Network, apart: np.ndarray | None = None) -> tuple[Network, np.ndarray]:
    """Units merged into *unit types* for the compact model: single (non-family) units that take
    the same people (sex, classification levels, medical, the facility's ``max_stay_days``) and
    have no surge beds form one type with their beds summed; a unit with surge beds or for
    families is a type of its own (a family needs one unit with room for all its members).
    Each type is a facility of its own without costs.  The LP optimum of levels 1-3 is unchanged:
    a solution of the merged model splits over the type's units in proportion to their beds.
    ``apart`` (U,) integer: units with different values are never merged (local ties and pins
    allow some people only some units, :func:`unit_apart`).
    Returns the type network (T types) and the type of each unit, (U,)."""
    U = len(N.unit_fac)
    sig = np.column_stack([N.unit_sex, N.unit_levels, N.unit_medical, N.unit_family, N.fac_max_stay[N.unit_fac],
                           np.where((N.unit_surge > 0) | N.unit_family, np.arange(U), -1),
                           np.zeros(U, np.int64) if apart is None else apart])
    _, first, utype = np.unique(sig, axis=0, return_index=True, return_inverse=True)
    utype = utype.ravel()
    T = len(first)
    zero = np.zeros(T)
    return dataclasses.replace(
        N, unit_fac=np.arange(T), unit_sex=N.unit_sex[first], unit_levels=N.unit_levels[first],
        unit_beds=np.bincount(utype, N.unit_beds, T).astype(N.unit_beds.dtype),
        unit_surge=np.bincount(utype, N.unit_surge, T).astype(N.unit_surge.dtype),
        unit_medical=N.unit_medical[first], unit_family=N.unit_family[first], fac_gm=zero.astype(N.fac_gm.dtype),
        fac_gm_rate=zero, fac_per_diem=zero, fac_max_stay=N.fac_max_stay[N.unit_fac[first]],
        fac_aor=N.fac_aor[N.unit_fac[first]], move_cost=np.zeros((1, T))), utype


def unit_apart(P: People, N: Network, by_origin: bool = False) -> np.ndarray:
    """(U,) a value per unit such that units with equal values are allowed alike to every person
    by local ties and detain pins (:func:`optimizer.model.allowed_units`): the facility's AOR when
    someone has ties, the unit itself when it is pinned or in a pinned facility or the origin of
    a tied person from another AOR.  Merging only such units keeps :func:`unit_types` exact.
    ``by_origin`` (transport limits): units of a facility that is someone's origin merge only
    within that facility, so that staying there is a type of its own (:func:`_hub_arcs`)."""
    U = len(N.unit_fac)
    apart = np.zeros(U, np.int64)
    if P.ties.any():
        apart = N.fac_aor[N.unit_fac].astype(np.int64) + 1
    det = P.pin_kind == 1
    facs = np.concatenate([P.pin_fac[det], P.origin[P.ties & (P.origin >= 0)]])
    own = np.isin(N.unit_fac, facs) | np.isin(np.arange(U), P.pin_unit[det])
    apart = np.where(own, -1 - np.arange(U), apart)
    if by_origin:  # the facility as a second digit keeps the AOR and pin distinctions
        at_origin = np.isin(N.unit_fac, P.origin[~P.removed & (P.origin >= 0)])
        apart = np.where(at_origin, apart * (len(N.fac_gm) + 1) + N.unit_fac + 1, apart * (len(N.fac_gm) + 1))
    return apart


def person_days(inst: Instance, P: People) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per person (P,): arrival day ``a``, leaving day ``e = min(removal_day, H)`` and limit day
    ``L`` (the first day the person may not hold a bed, MODEL.md §3 rule 4; ``model.NO_LIMIT`` without a
    limit), in days."""
    H = inst.horizon_days
    a = P.arrival
    e = np.where(P.stay >= BIG_STAY, H, np.minimum(a + np.minimum(P.stay, BIG_STAY), H))
    return a, e, P.limit_day


def build_horizon(inst: Instance, P: People | None = None, N: Network | None = None,
                  compact: bool = False, pins_hard: bool = True) -> HorizonModel:
    """Build the multi-day class model of a validated instance (any ``horizon_days``).

    With ``compact`` the model of levels 1-3 only (see :class:`HorizonLift`): every person
    comes from one origin, units are merged into unit types (:func:`unit_types`) and there
    are no facility rows; its level 4 is meaningless.  It is not exact when a transport limit
    can bind (levels 1-3 then depend on origins) and raises ``ValueError``.

    Contract 1.1: local ties and detain pins restrict units through the bed type
    (:func:`optimizer.model.restriction_keys`); pinned people are classes of their own (pin kind
    and release day in the class key) whose columns are only the pinned outcomes, and with
    ``pins_hard`` their ``unplaced`` columns are fixed at 0; transport limits are rows per (origin
    facility's AOR, arrival day) and per day over the moving arcs (:func:`optimizer.model.seat_rows`)."""
    P = P if P is not None else people_arrays(inst)
    N = N if N is not None else network_arrays(inst)
    H = inst.horizon_days
    mult = float(inst.policy.cost_days) if H == 1 else 1.0  # MODEL.md §4: one-day plans count cost_days
    days = person_days(inst, P)
    seats, seat_lim = seat_rows(inst, P, N, days[0])
    hubs = compact and len(seat_lim) > 0  # the compact model of active transport limits
    unit_type = np.zeros(0, np.int64)
    real = N
    if compact:
        N, unit_type = unit_types(N, unit_apart(P, N, by_origin=hubs))
    c = _horizon_classes(P, real, N, unit_type, days, compact, hubs)
    coh = _cohorts(c, H)
    pd = _program_days(P, N, c, coh, H)
    flow = _horizon_flow(real, N, c, coh, unit_type, hubs, H)
    fam = _horizon_families(P, real, N, unit_type, days, compact, H)
    b = _Builder()
    col = _horizon_columns(b, N, c, coh, pd, flow, fam, H, mult, compact, pins_hard)
    _horizon_flow_rows(b, c, coh, pd, flow, col)
    _occupancy_rows(b, N, flow, fam, col, days[0], H)
    _program_family_rows(b, P, N, pd, fam, col, days[0], H)
    _horizon_transport_rows(b, P, real, N, flow, fam, col, (seats, seat_lim), days[0], hubs)
    return _horizon_model(b, N, c, coh, pd, flow, fam, unit_type, hubs, H, mult)


@dataclass
class _HorizonClasses:
    """Classes of single people (module docstring), their key's columns and what each may do."""

    person_class: np.ndarray  # (P,) class of each single needing a decision, -1 otherwise
    size: np.ndarray  # (C,) people in each class
    rep: np.ndarray  # (C,) a person of each class
    orig: np.ndarray  # (C,) origin key
    bt: np.ndarray  # (C,) bed type, -1 when no bed may be held
    pk: np.ndarray  # (C,) program key, -1 for a mandatory class
    a: np.ndarray  # (C,) arrival day
    e: np.ndarray  # (C,) leaving day
    dmax: np.ndarray  # (C,) the last release day
    keep: np.ndarray  # (C,) 1 when the class may keep its bed to the leaving day
    pin: np.ndarray  # (C,) pin kind
    pday: np.ndarray  # (C,) pinned release day, -1 when free
    risk: np.ndarray  # (C,) effective risk, 0.0001 units (0 for mandatory classes)
    compat: np.ndarray  # (C, U) bool: the (full or type) units of each class
    rel: np.ndarray  # (C,) bool: the class may be released
    rel_class: np.ndarray  # (.,) the classes that may be released on arrival

    @property
    def C(self) -> int:
        return len(self.size)


def _horizon_classes(P: People, real: Network, N: Network, unit_type: np.ndarray, days, compact: bool,
                     hubs: bool) -> _HorizonClasses:
    """The classes of single people, their compatible units (types) and their eligibility for
    release."""
    a, e, L = days
    bt, pk = bed_type_keys(P, real), program_keys(P, real)
    dmax = np.maximum(a, np.minimum(L, e - 1))  # the last release day
    keep_ok = L >= e
    bed_ok = np.minimum(L, e) > a  # may hold a bed at all
    single = ~P.removed & (P.family < 0)
    okey = np.where(P.origin >= 0, P.origin, len(N.fac_gm) + P.aor).astype(np.int64)
    if compact:  # origins matter at levels 1-3 only through the seats
        okey = np.where(P.origin >= 0, P.origin, len(real.fac_gm)) if hubs else np.zeros_like(okey)
    key = np.stack([okey, np.where(bed_ok, bt, -1), P.mandatory.astype(np.int64),
                    np.where(P.mandatory, -1, pk), a, e, np.where(bed_ok, dmax, a), keep_ok.astype(np.int64),
                    np.where(P.mandatory, 0, P.eff_units), P.pin_kind, P.pin_day], axis=1)
    sidx = np.flatnonzero(single)
    ukeys, _, cls = unique_rows(key[sidx])
    C = len(ukeys)
    person_class = np.full(len(P.sex), -1, dtype=np.int64)
    person_class[sidx] = cls
    rep = np.zeros(C, dtype=np.int64)
    rep[cls[::-1]] = sidx[::-1]
    c_orig, c_bt, c_pk, c_a, c_e, c_dmax, c_keep = (ukeys[:, k] for k in (0, 1, 3, 4, 5, 6, 7))
    c_pin, c_pday = ukeys[:, 9], ukeys[:, 10]
    compat = _types(single_units(P, real, rep), unit_type, len(N.unit_fac)) & (c_bt >= 0)[:, None]
    elig = programs_of(P, N, rep) & (c_pk >= 0)[:, None]
    c_rel = elig.any(axis=1) & (c_pin != PIN_DETAIN)
    return _HorizonClasses(
        person_class=person_class, size=np.bincount(cls, minlength=C), rep=rep, orig=c_orig, bt=c_bt, pk=c_pk,
        a=c_a, e=c_e, dmax=c_dmax, keep=c_keep, pin=c_pin, pday=c_pday, risk=ukeys[:, 8].astype(float),
        compat=compat, rel=c_rel, rel_class=np.flatnonzero(c_rel & ((c_pday < 0) | (c_pday == c_a))))


@dataclass
class _Cohorts:
    """Cohort columns ``(class, departure day)`` of the people who hold a bed."""

    cls: np.ndarray  # (cohorts,) class
    depart: np.ndarray  # (cohorts,) departure day (release day, or e when kept)
    release: np.ndarray  # (cohorts,) bool: released on the departure day
    rank: np.ndarray  # (cohorts,) pricing rank within the class (optimizer.lexico)


def _cohorts(c: _HorizonClasses, H: int) -> _Cohorts:
    """Every release day from a bed and the kept outcome of each class that may hold a bed, with
    their pricing order within the class (``SETTINGS.priced_cohorts``)."""
    coh_c, coh_d, coh_r = [], [], []
    c_dmax, c_a = c.dmax, c.a
    for k in np.flatnonzero(c.compat.any(axis=1)):
        days = _release_days(c_a[k] + 1, c_dmax[k], c.pday[k]) if c.rel[k] else []
        coh_c += [k] * len(days)
        coh_d += days
        coh_r += [True] * len(days)
        if c.keep[k] and c.pin[k] != PIN_RELEASE:
            coh_c.append(k)
            coh_d.append(c.e[k])
            coh_r.append(False)
    coh_c, coh_d, coh_r = np.array(coh_c, np.int64), np.array(coh_d, np.int64), np.array(coh_r, bool)
    # pricing order within a class (optimizer.lexico): kept, the latest release, the earliest, the
    # others latest first; 0 for every cohort up to SETTINGS.priced_cohorts
    coh_rank = np.zeros(len(coh_c), np.int64)
    if len(coh_c) > SETTINGS.priced_cohorts:
        latest = c_dmax[coh_c]
        coh_rank = np.where(~coh_r, 0, np.where(coh_d == latest, 1, np.where(
            coh_d == c_a[coh_c] + 1, 2, 2 + latest - coh_d)))
    return _Cohorts(cls=coh_c, depart=coh_d, release=coh_r, rank=coh_rank)


@dataclass
class _ProgramDays:
    """ATD by (program key, day): the releases of a key on a day go to its eligible programs."""

    key_of_class: np.ndarray  # (C,) program key index, -1 when the class may not be released
    keyday: np.ndarray  # (.,) program key * H + day of each (key, day) row
    of_release: np.ndarray  # (releases,) row of each release column (on arrival, then cohorts)
    jj: np.ndarray  # (.,) (key, day) row of each atd column ...
    qq: np.ndarray  # (.,) ... and its program


def _program_days(P: People, N: Network, c: _HorizonClasses, coh: _Cohorts, H: int) -> _ProgramDays:
    """The (program key, day) pairs of the release columns and their eligible programs."""
    k_vals, c_key = np.unique(np.where(c.rel, c.pk, -1), return_inverse=True)
    c_key = np.where(c.rel, c_key.ravel(), -1)
    k_rep = np.zeros(len(k_vals), dtype=np.int64)
    k_rep[c_key[c.rel][::-1]] = c.rep[c.rel][::-1]
    k_elig = programs_of(P, N, k_rep) & (k_vals >= 0)[:, None]
    rel_days = np.concatenate([c.a[c.rel_class], coh.depart[coh.release]])
    rel_keys = np.concatenate([c_key[c.rel_class], c_key[coh.cls[coh.release]]])
    kd_vals, kd_of = np.unique(rel_keys * H + rel_days, return_inverse=True)
    jj, qq = np.nonzero(k_elig[kd_vals // H])
    return _ProgramDays(key_of_class=c_key, keyday=kd_vals, of_release=kd_of.ravel(), jj=jj, qq=qq)


@dataclass
class _HorizonFlow:
    """Pools (origin, bed type, arrival, departure) of the cohorts and their moving arcs to units
    (or, in the compact model of active transport limits, through hubs: :func:`_hub_arcs`)."""

    coh_pool: np.ndarray  # (cohorts,) pool of each cohort
    pool_vals: np.ndarray  # (pools, 4) origin, bed type, arrival, departure
    pool_bt: np.ndarray  # (pools,) (bed type, arrival, departure) as one integer
    hub_key: np.ndarray  # (hubs,) the same key of each hub
    type_fac: np.ndarray | None  # compact model with hubs: (types,) a real facility of each unit type
    ap: np.ndarray  # (arcs,) source: a pool, or pools + hub index
    au: np.ndarray  # (arcs,) unit (type) of each arc, -1 into the hub
    arc_move: np.ndarray  # (arcs,) moving cost, USD
    arc_rank: np.ndarray  # (arcs,) pricing rank within its source (:func:`_arc_ranks`), 0 = first
    src_key: np.ndarray  # (arcs,) (bed type, arrival, departure) of each arc's source
    arc_a: np.ndarray  # (arcs,) arrival day of each arc's people

    @property
    def from_pool(self) -> np.ndarray:
        return self.ap < len(self.pool_vals)

    @property
    def to_unit(self) -> np.ndarray:
        return self.au >= 0


def _horizon_flow(real: Network, N: Network, c: _HorizonClasses, coh: _Cohorts, unit_type: np.ndarray,
                  hubs: bool, H: int) -> _HorizonFlow:
    """The pools of the cohorts and their arcs to compatible units (moving cost to the unit's
    facility)."""
    U = len(N.unit_fac)
    bt_vals, c_g = np.unique(np.where(c.compat.any(axis=1), c.bt, -1), return_inverse=True)
    c_g = c_g.ravel()
    g_rep = np.zeros(len(bt_vals), dtype=np.int64)
    g_rep[c_g[::-1]] = np.arange(c.C)[::-1]
    g_compat = c.compat[g_rep] & (bt_vals >= 0)[:, None]
    coh_c = coh.cls
    pool_key = np.stack([c.orig[coh_c], c_g[coh_c], c.a[coh_c], coh.depart], axis=1)
    pool_vals, _, coh_pool = unique_rows(pool_key) if len(coh_c) else (
        np.zeros((0, 4), np.int64), None, np.zeros(0, np.int64))
    pool_bt = (pool_vals[:, 1] * H + pool_vals[:, 2]) * (H + 1) + pool_vals[:, 3]
    hub_key, type_fac = np.zeros(0, np.int64), None
    if hubs:
        type_fac = np.zeros(U, np.int64)
        type_fac[unit_type] = real.unit_fac
        ap, au, hub_key, straight = _hub_arcs(pool_vals, pool_bt, g_compat, type_fac, len(real.fac_gm), H)
        arc_move = np.zeros(len(ap))
        # ranks scaled so that the SETTINGS.initial_direct_arcs first of each pool rank below SETTINGS.initial_arcs
        rank = _arc_ranks(ap, -N.unit_beds[au], straight, SETTINGS.priced_direct_arcs)
        rank = rank * SETTINGS.initial_arcs // SETTINGS.initial_direct_arcs
    else:
        ap, au = np.nonzero(g_compat[pool_vals[:, 1]]) if len(pool_vals) else (np.zeros(0, np.int64),) * 2
        arc_move = N.move_cost[pool_vals[ap, 0], N.unit_fac[au]]
        rank = _arc_ranks(ap, arc_move, np.ones(len(ap), bool), SETTINGS.priced_arcs)
    src_key = np.concatenate([pool_bt, hub_key])[ap]  # (bed type, arrival, departure) of each arc's source
    return _HorizonFlow(coh_pool=np.asarray(coh_pool).ravel(), pool_vals=pool_vals, pool_bt=pool_bt, hub_key=hub_key,
                        type_fac=type_fac, ap=ap, au=au, arc_move=arc_move, arc_rank=rank, src_key=src_key,
                        arc_a=(src_key // (H + 1)) % H)


def _arc_ranks(ap: np.ndarray, key: np.ndarray, priced: np.ndarray, threshold: int) -> np.ndarray:
    """Pricing rank of each arc within its source by ``key`` (:mod:`optimizer.lexico` starts an
    LP with the ranks below ``SETTINGS.initial_arcs``); every arc ranks 0 (all start in the LP)
    when at most ``threshold`` arcs are ``priced``.  Column generation prices the others in, so
    the LP optima do not depend on the ranks, only the number of rounds does.

    * Full model: ``key`` is the moving cost, every arc priced above ``SETTINGS.priced_arcs``.
    * Compact model of active transport limits: only the arcs straight from the pools of people
      without an origin (forecast arrivals) are priced, above ``SETTINGS.priced_direct_arcs``,
      largest unit type first (``key`` = -beds).  National 14-day: 215,451 of its 312,309 arcs,
      of which the level-2 optimum uses 2,256; level 2 with the 16 largest types per pool at the
      start, 18.6 s of CPU against 35.0 s (docs/performance.md)."""
    rank = np.zeros(len(ap), np.int64)
    if priced.sum() > threshold:
        sel = np.flatnonzero(priced)
        rank[sel] = _rank_within(ap[sel], key[sel])
    return rank


@dataclass
class _HorizonFamilies:
    """Families kept one by one: binary columns per (unit, departure day), release on arrival,
    unplaced, and the programs of the adults of a released family per release day."""

    members: list[np.ndarray]
    fb_f: list | np.ndarray = field(default_factory=list)  # bed columns: family ...
    fb_u: list | np.ndarray = field(default_factory=list)  # ... unit (type) ...
    fb_d: list | np.ndarray = field(default_factory=list)  # ... departure day ...
    fb_r: list | np.ndarray = field(default_factory=list)  # ... released on that day ...
    fb_cost: list = field(default_factory=list)  # ... moving cost ...
    fb_risk: list = field(default_factory=list)  # ... and released risk x days
    fr_f: list | np.ndarray = field(default_factory=list)  # release on arrival: family ...
    fr_risk: list = field(default_factory=list)  # ... and released risk x days
    fsize: list | np.ndarray = field(default_factory=list)  # (families,) members
    fa_p: list | np.ndarray = field(default_factory=list)  # program columns: adult ...
    fa_q: list | np.ndarray = field(default_factory=list)  # ... program ...
    fa_day: list | np.ndarray = field(default_factory=list)  # ... release day ...
    fa_f: list | np.ndarray = field(default_factory=list)  # ... and family
    fpinned: np.ndarray | None = None  # (families,) bool: a member has a pin


def _horizon_families(P: People, real: Network, N: Network, unit_type: np.ndarray, days, compact: bool,
                      H: int) -> _HorizonFamilies:
    """The outcome columns of each family (:func:`_family_columns`), as arrays."""
    fidx = np.flatnonzero(~P.removed & (P.family >= 0))
    o = fidx[np.argsort(P.family[fidx], kind="stable")]
    fam = _HorizonFamilies(members=np.split(o, np.flatnonzero(np.diff(P.family[o])) + 1) if len(o) else [])
    for j, mem in enumerate(fam.members):
        _family_columns(fam, j, mem, P, real, N, unit_type, days, compact, H)
    fam.fb_f, fam.fb_u, fam.fb_d = (np.array(v, np.int64) for v in (fam.fb_f, fam.fb_u, fam.fb_d))
    fam.fb_r = np.array(fam.fb_r, bool)
    fam.fsize = np.array(fam.fsize, dtype=float)
    fam.fr_f = np.array(fam.fr_f, np.int64)
    fam.fpinned = np.array([P.pin_kind[m[0]] > 0 for m in fam.members], dtype=bool)
    fam.fa_p, fam.fa_q, fam.fa_day, fam.fa_f = (np.array(v, np.int64)
                                                for v in (fam.fa_p, fam.fa_q, fam.fa_day, fam.fa_f))
    return fam


def _family_columns(fam: _HorizonFamilies, j: int, mem: np.ndarray, P: People, real: Network, N: Network,
                    unit_type: np.ndarray, days, compact: bool, H: int) -> None:
    """Family ``j``'s columns appended to ``fam``: a bed in each fitting family unit (type) until
    each release day or to the end, release on arrival, and its adults' programs."""
    a, e, L = days
    fa, fe = int(a[mem[0]]), int(e[mem[0]])
    fl = int(L[mem].min())
    fam.fsize.append(len(mem))
    adults = mem[~P.minor[mem]]
    progs = [np.flatnonzero(programs_of(P, N, np.array([p]))[0]) for p in adults]
    kind, pday = P.pin_kind[mem[0]], int(P.pin_day[mem[0]])  # a member's pin binds the family
    can_rel = not P.mandatory[mem].any() and all(len(q) for q in progs) and kind != PIN_DETAIN
    risk_units = float(P.eff_units[mem].sum())
    stays = []  # (departure, released)
    if min(fl, fe) > fa:
        stays = [(d, True) for d in _release_days(fa + 1, min(fl, fe - 1), pday)] if can_rel else []
        if fl >= fe and kind != PIN_RELEASE:
            stays.append((fe, False))
    okeys = np.where(P.origin[mem] >= 0, P.origin[mem], len(N.fac_gm) + P.aor[mem]) if not compact else 0
    for u in _types(family_units(P, real, mem)[None, :], unit_type, len(N.unit_fac))[0].nonzero()[0] if stays else []:
        move = float(N.move_cost[okeys, N.unit_fac[u]].sum())
        for d, released in stays:
            fam.fb_f.append(j), fam.fb_u.append(u), fam.fb_d.append(d), fam.fb_r.append(released)
            fam.fb_cost.append(move)
            fam.fb_risk.append(risk_units * (H - d) if released else 0.0)
    if can_rel:
        arrival_ok = pday < 0 or pday == fa
        if arrival_ok:
            fam.fr_f.append(j)
            fam.fr_risk.append(risk_units * (H - fa))
        rel_days = [fa] * arrival_ok + [d for d, released in stays if released]
        for p, q in zip(adults, progs):
            for d in rel_days:
                fam.fa_p += [p] * len(q)
                fam.fa_q += q.tolist()
                fam.fa_day += [d] * len(q)
                fam.fa_f += [j] * len(q)


def _horizon_columns(b: _Builder, N: Network, c: _HorizonClasses, coh: _Cohorts, pd: _ProgramDays,
                     flow: _HorizonFlow, fam: _HorizonFamilies, H: int, mult: float, compact: bool,
                     pins_hard: bool) -> dict[str, np.ndarray]:
    """The column blocks in their order (module docstring); block name -> column indices.
    Occupancy of unit u on day t is column t * U + u (regular beds up to ``beds``, surge beds
    above), of facility i on day t column t * len(cost_fac) + i (up to the guaranteed minimum,
    and above it)."""
    col, size, risk, rc = {}, c.size, c.risk, c.rel_class
    col["unp"] = b.columns("unp", np.where((c.pin > 0) & pins_hard, 0, size), {0: 1.0})
    col["rel"] = b.columns("rel", size[rc], {2: risk[rc] * (H - c.a[rc])})  # on arrival
    col["coh"] = b.columns("coh", size[coh.cls], {2: np.where(coh.release, risk[coh.cls] * (H - coh.depart), 0.0)})
    kd_d = pd.keyday % H
    col["atd"] = b.columns("atd", np.full(len(pd.jj), np.inf), {3: N.prog_per_diem[pd.qq] * (H - kd_d[pd.jj]) * mult})
    col["arc"] = b.columns("arc", np.full(len(flow.ap), np.inf), {3: flow.arc_move})
    col["regular"] = b.columns("regular", np.tile(N.unit_beds, H))
    col["surge"] = b.columns("surge", np.tile(N.unit_surge, H), {1: 1.0})
    cost_fac = np.flatnonzero(N.fac_per_diem > 0)
    col["covered"] = b.columns("covered", np.tile(N.fac_gm[cost_fac], H))
    col["excess"] = b.columns("excess", np.full(len(cost_fac) * H, np.inf),
                              {3: np.tile(N.fac_per_diem[cost_fac], H) * mult})
    # compact: a family row bounds each unit type's column, whose image is one column per unit
    col["fbed"] = b.columns("fbed", np.full(len(fam.fb_f), np.inf if compact else 1.0),
                            {2: np.array(fam.fb_risk), 3: np.array(fam.fb_cost)})
    col["frel"] = b.columns("frel", np.ones(len(fam.fr_f)), {2: np.array(fam.fr_risk)})
    col["funp"] = b.columns("funp", np.where(fam.fpinned & pins_hard, 0.0, 1.0), {0: fam.fsize})
    col["fatd"] = b.columns("fatd", np.ones(len(fam.fa_p)), {3: N.prog_per_diem[fam.fa_q] * (H - fam.fa_day) * mult})
    return col


def _horizon_flow_rows(b: _Builder, c: _HorizonClasses, coh: _Cohorts, pd: _ProgramDays, flow: _HorizonFlow,
                       col: dict) -> None:
    """The balance rows of classes, (program key, day) pairs, pools and hubs."""
    r = b.rows_("class", c.size, c.size)  # unp + rel + cohorts = size
    b.entries(r, col["unp"], 1.0)
    b.entries(r[c.rel_class], col["rel"], 1.0)
    b.entries(r[coh.cls], col["coh"], 1.0)
    # ATD by (program key, day): releases - atd = 0
    n_rel = len(c.rel_class)
    r = b.rows_("progday", np.zeros(len(pd.keyday)), 0.0)
    b.entries(r[pd.of_release[:n_rel]], col["rel"], 1.0)
    b.entries(r[pd.of_release[n_rel:]], col["coh"][coh.release], 1.0)
    b.entries(r[pd.jj], col["atd"], -1.0)
    # pools: cohorts - arcs = 0
    ap, arc, from_pool, to_unit = flow.ap, col["arc"], flow.from_pool, flow.to_unit
    r = b.rows_("pool", np.zeros(len(flow.pool_vals)), 0.0)
    b.entries(r[flow.coh_pool], col["coh"], 1.0)
    b.entries(r[ap[from_pool]], arc[from_pool], -1.0)
    # hubs (compact model of active transport limits): moves in - moves out = 0
    r = b.rows_("hub", np.zeros(len(flow.hub_key)), 0.0)
    b.entries(r[np.searchsorted(flow.hub_key, flow.src_key[~to_unit])], arc[~to_unit], 1.0)
    b.entries(r[ap[~from_pool] - len(flow.pool_vals)], arc[~from_pool], -1.0)


def _occupancy_rows(b: _Builder, N: Network, flow: _HorizonFlow, fam: _HorizonFamilies, col: dict,
                    a: np.ndarray, H: int) -> None:
    """Unit occupancy as a chain (row t * U + u): the beds occupied on day t minus those of day
    t - 1 equal the people arriving on day t minus the people leaving on day t; and a row per
    facility with a per diem and day: occupancy - covered - excess = 0."""
    U = len(N.unit_fac)
    r = b.rows_("unit", np.zeros(U * H), 0.0)
    to_unit = flow.to_unit
    arc_d = flow.src_key % (H + 1)
    fb_a = np.array([a[fam.members[j][0]] for j in fam.fb_f], np.int64)
    for start, end, unit_of, cols, size_of in (
            (flow.arc_a[to_unit], arc_d[to_unit], flow.au[to_unit], col["arc"][to_unit], 1.0),
            (fb_a, fam.fb_d, fam.fb_u, col["fbed"], fam.fsize[fam.fb_f])):
        b.entries(r[start * U + unit_of], cols, -size_of)
        left = end < H
        b.entries(r[end[left] * U + unit_of[left]], cols[left], np.broadcast_to(size_of, left.shape)[left])
    day, uu = np.divmod(np.arange(U * H), U)
    nxt = day + 1 < H
    cost_fac = np.flatnonzero(N.fac_per_diem > 0)
    fac_row = np.full(len(N.fac_gm), -1, dtype=np.int64)
    fac_row[cost_fac] = np.arange(len(cost_fac))
    fr = fac_row[N.unit_fac[uu]]
    paid = fr >= 0
    rf = b.rows_("facility", np.zeros(len(cost_fac) * H), 0.0)  # occupancy - covered - excess = 0
    for cols in (col["regular"], col["surge"]):
        b.entries(r, cols, 1.0)
        b.entries(r[(day[nxt] + 1) * U + uu[nxt]], cols[nxt], -1.0)
        b.entries(rf[day[paid] * len(cost_fac) + fr[paid]], cols[paid], 1.0)
    b.entries(rf, col["covered"], -1.0)
    b.entries(rf, col["excess"], -1.0)


def _program_family_rows(b: _Builder, P: People, N: Network, pd: _ProgramDays, fam: _HorizonFamilies, col: dict,
                         a: np.ndarray, H: int) -> None:
    """Program capacity over the plan; one outcome per family; each adult of a family released
    on day d in one program."""
    pd_qq, fa_q = pd.qq, fam.fa_q
    capped = np.flatnonzero(N.prog_capacity >= 0)
    prog_row = np.full(len(N.prog_per_diem), -1, dtype=np.int64)
    prog_row[capped] = np.arange(len(capped))
    r = b.rows_("program", np.full(len(capped), -np.inf), N.prog_capacity[capped])
    ok = prog_row[pd_qq] >= 0
    b.entries(r[prog_row[pd_qq[ok]]], col["atd"][ok], 1.0)
    ok = prog_row[fa_q] >= 0
    b.entries(r[prog_row[fa_q[ok]]], col["fatd"][ok], 1.0)
    nF = len(fam.members)
    r = b.rows_("family", np.ones(nF), 1.0)
    b.entries(r[fam.fb_f], col["fbed"], 1.0)
    b.entries(r[fam.fr_f], col["frel"], 1.0)
    b.entries(r, col["funp"], 1.0)
    ad_vals, ad_of = np.unique(fam.fa_p * H + fam.fa_day, return_inverse=True)
    r = b.rows_("adult", np.zeros(len(ad_vals)), 0.0)
    b.entries(r[ad_of.ravel()], col["fatd"], 1.0)
    fam_pos = np.full(int(P.family.max(initial=-1)) + 1, -1, np.int64)  # family index -> position in members
    for j, mem in enumerate(fam.members):
        fam_pos[P.family[mem[0]]] = j
    fr_pos = np.full(nF, -1, np.int64)
    fr_pos[fam.fr_f] = np.arange(len(fam.fr_f))
    for k, (p, d) in enumerate(zip(ad_vals // H, ad_vals % H)):
        f = int(fam_pos[P.family[p]])
        if d == a[p]:
            b.entries([r[k]], [col["frel"][fr_pos[f]]], -1.0)
        sel = np.flatnonzero((fam.fb_f == f) & fam.fb_r & (fam.fb_d == d))
        b.entries(np.full(len(sel), r[k]), col["fbed"][sel], -1.0)


def _horizon_transport_rows(b: _Builder, P: People, real: Network, N: Network, flow: _HorizonFlow,
                            fam: _HorizonFamilies, col: dict, limits: tuple, a: np.ndarray, hubs: bool) -> None:
    """Transport rows (MODEL.md §3 rule 7, ``limits``: :func:`optimizer.model.seat_rows`): a move
    from an origin facility happens on the arrival day."""
    seats, seat_lim = limits
    F = len(real.fac_gm)
    org = np.full(len(flow.ap), F, np.int64)  # origin key of each arc's source (hubs: none)
    org[flow.from_pool] = flow.pool_vals[flow.ap[flow.from_pool], 0]
    if hubs:
        moved = flow.from_pool & ~flow.to_unit & (org < F)  # into the hub
    else:
        moved = (org < len(N.fac_gm)) & (org != N.unit_fac[flow.au])
    fac_of = flow.type_fac if hubs else N.unit_fac  # the real facility of each unit (compact: family type)
    fk, fm = family_moves(P, fam.members, fam.fb_f, fac_of[fam.fb_u]) if len(seat_lim) else (_empty(),) * 2
    transport_rows(b, seats, seat_lim, real, np.concatenate([org[moved], P.origin[fm]]),
                   np.concatenate([flow.arc_a[moved], a[fm]]),
                   np.concatenate([col["arc"][moved], col["fbed"][fk]]))


def _horizon_model(b: _Builder, N: Network, c: _HorizonClasses, coh: _Cohorts, pd: _ProgramDays,
                   flow: _HorizonFlow, fam: _HorizonFamilies, unit_type: np.ndarray, hubs: bool, H: int,
                   mult: float) -> HorizonModel:
    """The finished :class:`HorizonModel` with its maps from columns back to people."""
    A, rlo, rhi, clo, cub, obj = b.finish()
    offsets = np.array([0.0, 0.0, 0.0, float((N.fac_gm * N.fac_gm_rate).sum()) * H * mult])
    ap = flow.ap
    return HorizonModel(
        A=A, row_lower=rlo, row_upper=rhi, col_lower=clo, col_upper=cub, objectives=obj, offsets=offsets,
        blocks=b.blocks, row_blocks=b.row_blocks, horizon=H, person_class=c.person_class, class_arrival=c.a,
        coh_class=coh.cls, coh_depart=coh.depart, coh_release=coh.release, coh_rank=coh.rank, coh_pool=flow.coh_pool,
        rel_class=c.rel_class, keyday=pd.keyday, atd_key=pd.jj, atd_prog=pd.qq, key_of_class=pd.key_of_class,
        arc_pool=ap, arc_unit=flow.au,
        arc_rank=flow.arc_rank,
        pool_bt=flow.pool_bt, family_members=fam.members, pool_origin=flow.pool_vals[:, 0], hub_key=flow.hub_key,
        keeps_origins=hubs, unit_type=unit_type,
        fbed_family=fam.fb_f, fbed_unit=fam.fb_u, fbed_depart=fam.fb_d, fbed_release=fam.fb_r, frel_family=fam.fr_f,
        fatd_person=fam.fa_p, fatd_prog=fam.fa_q, fatd_day=fam.fa_day,
        stats={"classes": c.C, "cohorts": len(coh.cls), "pools": len(flow.pool_vals), "arcs": len(ap),
               "families": len(fam.members), "days": H},
    )


def _hub_arcs(pool_vals, pool_bt, g_compat, type_fac, F, H):
    """Arcs ``(source, unit type, hub keys, straight)`` of the compact model of active transport
    limits, ``straight`` marking the arcs of pools that go straight to the types.

    A pool (origin facility o, bed type g, arrival a, departure d) has a *stay* arc to each
    compatible type of o (types do not cross an origin facility, :func:`unit_apart`) and one arc
    into the hub (g, a, d), which carries the transport rows of o's AOR and day a; the hub has an
    arc to every type compatible with g.  Pools of people without an origin (o = F) use the hub
    without a seat, or straight to the types when no origin pool shares their key (forecast
    arrivals).  Exactness at levels 1-3 (moving costs are level 4): every full solution maps
    to one of this model with the same seats (a stay through the stay arc, a move through the
    hub), and every solution of this model to a full one with at most its seats (the moves into
    a hub may be matched to its arcs out in any way; a move matched to its own origin is a stay).
    The lifted duals price a full arc o -> unit u outside o at the sum of the reduced costs of
    o's arc into the hub and the hub's arc to u's type (:meth:`HorizonLift.duals`)."""
    n_pool = len(pool_vals)
    own = np.flatnonzero(pool_vals[:, 0] < F)
    hub_key = np.unique(pool_bt[own])  # a key with no origin pool needs no hub: its pools go straight
    into = np.isin(pool_bt, hub_key)
    hub_g = pool_vals[own[np.unique(pool_bt[own], return_index=True)[1]], 1]
    sp_, st = np.nonzero(g_compat[pool_vals[own, 1]] & (type_fac[None, :] == pool_vals[own, 0][:, None]))
    direct = np.flatnonzero(~into)
    dp, dt = np.nonzero(g_compat[pool_vals[direct, 1]])
    hh, ht = np.nonzero(g_compat[hub_g])
    src = np.concatenate([own[sp_], direct[dp], np.flatnonzero(into), n_pool + hh])
    typ = np.concatenate([st, dt, np.full(int(into.sum()), -1), ht])
    straight = np.zeros(len(src), dtype=bool)
    straight[len(sp_):len(sp_) + len(dp)] = True
    return src, typ, hub_key, straight


def _release_days(first: int, last: int, pinned: int) -> list[int]:
    """Release days ``first..last`` from a bed, only the pinned one when a pin names it."""
    return [d for d in range(first, last + 1) if pinned < 0 or d == pinned]


def _types(mask: np.ndarray, unit_type: np.ndarray, T: int) -> np.ndarray:
    """(k, U) unit mask carried to unit types (k, T) for the compact model (a type is allowed when
    its units are; they are allowed alike, :func:`unit_apart`); unchanged for the full model."""
    if not len(unit_type):
        return mask
    out = np.zeros((mask.shape[0], T), dtype=bool)
    rows, units = np.nonzero(mask)
    out[rows, unit_type[units]] = True
    return out


class HorizonLift:
    """Carries the compact model's duals (``build_horizon(compact=True)``) to the full model and
    picks the full model's first moving arcs from a compact LP solution (:mod:`optimizer.lexico`).

    Every full row takes the dual of its image: a class that of its merged class, a pool that of
    its (bed type, arrival, departure) and, with transport limits, origin facility (:func:`_hub_arcs`),
    a unit's chain row that of its unit type; facility rows get 0; program-day, program, family,
    adult and transport rows are the same in both models (hub rows are the compact model's own).  Each full column then has the reduced cost of
    its image at levels 1-3 (moving and facility costs are level-4 costs), and the two LP optima
    are equal (:func:`unit_types`), so the lifted duals are optimal for the full model."""

    def __init__(self, inst: Instance, P: People, N: Network, full: HorizonModel, compact: HorizonModel,
                 slowdown: float = 1.0):
        self.inst, self.P, self.N, self.full, self.compact = inst, P, N, full, compact
        # the compact levels stop this early, to carry their solution over: the lift's own share,
        # and before it an integer point of their last face when the limit stopped the next level
        self.lift_s = SETTINGS.lift_per_person_s * len(P.sex) * slowdown
        point_s = min(SETTINGS.point_per_person_s * len(P.sex), SETTINGS.point_max_s)
        self.reserve_s = self.lift_s + point_s * slowdown
        singles = np.flatnonzero(full.person_class >= 0)
        self.class_map = np.zeros(len(full.class_arrival), np.int64)
        self.class_map[full.person_class[singles]] = compact.person_class[singles]

    def coarse(self) -> RiskMerge | None:
        """The model of levels 1-2 (:class:`RiskMerge`) with active transport limits, whose
        level-2 LP is solved; None without them (levels 1-2 are then assumed first, and the plans
        of instances without limits stay as they were)."""
        return risk_merged(self.inst, self.P, self.N, self.compact) if self.compact.keeps_origins else None

    def duals(self, y: np.ndarray) -> np.ndarray:
        """(compact rows,) -> (full rows,)."""
        full, comp = self.full, self.compact
        H, U = full.horizon, len(comp.unit_type)
        T = int(comp.unit_type.max(initial=-1)) + 1
        rb, cb = full.row_blocks, comp.row_blocks
        out = np.zeros(full.A.shape[0])
        for name in ("program", "family", "adult", "seat"):
            out[rb[name]] = y[cb[name]]
        out[rb["progday"]] = y[cb["progday"]][_index(comp.keyday, full.keyday)]
        out[rb["class"]] = y[cb["class"]][self.class_map]
        F = len(self.N.fac_gm)
        origin = (np.where(full.pool_origin < F, full.pool_origin, F) if comp.keeps_origins
                  else np.zeros(len(full.pool_bt), np.int64))
        M = int(max(full.pool_bt.max(initial=0), comp.pool_bt.max(initial=0))) + 1
        out[rb["pool"]] = y[cb["pool"]][_index(comp.pool_origin * M + comp.pool_bt, origin * M + full.pool_bt)]
        day, unit = np.divmod(np.arange(U * H), U)
        out[rb["unit"]] = y[cb["unit"]][day * T + comp.unit_type[unit]]
        return out

    def solution(self, xc: np.ndarray) -> np.ndarray | None:
        """An integer compact solution carried to the full model with the same levels 1-3: decoded
        to people (:func:`decode_horizon`), each unit type's people put in its units by arrival
        day, and encoded (:func:`encode_horizon`).  None when ``xc`` is fractional (a type's
        units always have room: the people placed on earlier days only leave).
        (compact columns,) -> (full columns,) int."""
        if np.any(np.abs(xc - np.rint(xc)) > 1e-7):
            return None
        inst, P, N, comp = self.inst, self.P, self.N, self.compact
        decision, typ, prog, rday = decode_horizon(inst, comp, P, xc)
        a, e, _ = person_days(inst, P)
        leave = np.where(decision == "release", rday, e)
        unit = np.full(len(typ), -1, dtype=np.int64)
        # day by day, arrivals go to units of their type with a free bed that day: the occupancy
        # of the people placed before can only fall on later days, so the bed stays free
        U, H = len(comp.unit_type), self.full.horizon
        units_of = np.split(np.argsort(comp.unit_type, kind="stable"),
                            np.cumsum(np.bincount(comp.unit_type))[:-1])
        room = N.unit_beds + N.unit_surge  # a unit with surge beds is a type of its own
        occ = np.zeros(U, dtype=np.int64)  # occupancy on the current day
        leaving = np.zeros((U, H + 1), dtype=np.int64)
        # per type, a unit in each origin facility, -1 when none (the last entry: no origin facility)
        home = np.full((len(units_of), len(N.fac_gm) + 1), -1, dtype=np.int64)
        home[comp.unit_type, N.unit_fac] = np.arange(U)
        placed = np.flatnonzero(typ >= 0)
        _home_types(typ, placed[P.family[placed] < 0], bed_type_keys(P, N) * (H + 1) * H + a * (H + 1) + leave,
                    home, P.origin)
        for day in range(H):
            occ -= leaving[:, day]
            here = placed[a[placed] == day]
            fam = here[P.family[here] >= 0]
            for f in np.unique(P.family[fam]):  # a family needs room for all in one unit
                mem = fam[P.family[fam] == f]
                us = units_of[typ[mem[0]]]
                fits = us[occ[us] + len(mem) <= room[us]]
                if len(fits) == 0:
                    return None
                unit[mem] = fits[0]
                occ[fits[0]] += len(mem)
                leaving[fits[0], leave[mem[0]]] += len(mem)
            one = here[P.family[here] < 0]
            one = one[np.argsort(typ[one], kind="stable")]
            kinds, first = np.unique(typ[one], return_index=True)
            for t, grp in zip(kinds, np.split(one, first[1:])):
                us = units_of[t]
                # people first stay in their origin facility's unit of the type while it has room
                # (no moving cost), then fill the free beds in unit order
                pref = home[t][P.origin[grp]]
                grp = grp[np.argsort(pref, kind="stable")]
                pref = np.sort(pref, kind="stable")
                starts = np.searchsorted(pref, pref)
                stay = (pref >= 0) & (np.arange(len(grp)) - starts < room[pref] - occ[pref])
                unit[grp[stay]] = pref[stay]
                np.add.at(occ, pref[stay], 1)
                np.add.at(leaving, (pref[stay], leave[grp[stay]]), 1)
                grp = grp[~stay]
                slots = np.repeat(us, room[us] - occ[us])[:len(grp)]
                if len(slots) < len(grp):
                    return None
                unit[grp] = slots
                np.add.at(occ, slots, 1)
                np.add.at(leaving, (slots, leave[grp]), 1)
        return encode_horizon(inst, self.full, P, N, decision, unit, prog, rday)

    def initial(self, xc: np.ndarray, xf: np.ndarray | None, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """(full columns,) bool: columns to start level 4 with, beside the engine's own (the
        cheapest arcs per pool by moving cost).  ``lower`` and ``upper`` are the full model's
        column bounds on the optimal face of level 3.

        With the lifted solution ``xf``: its columns, and per pool the ``SETTINGS.lift_near_arcs``
        arcs of least estimated cost among those that may carry people: the moving cost plus the
        facility's per diem on each day of the stay on which ``xf`` fills its guaranteed
        minimum (beds below it are paid for in any case, MODEL.md §4).  National 14-day, on a
        saved level-3 state: the first level-4 LP at 111.5 million USD instead of 114.7 million
        (optimum 109.2 million), its column generation 37-38 s instead of 44-47 s (docs/performance.md, "Engine research notes").

        Without (``xc`` could not be lifted): every arc that stays in its origin facility, and
        per pool the ``SETTINGS.lift_type_arcs`` cheapest arcs into each unit type that the compact
        solution ``xc`` fills for the pool's (bed type, arrival, departure)."""
        full, comp, N = self.full, self.compact, self.N
        arcs = full.blocks["arc"]
        move = full.objectives[3][arcs]
        mask = np.zeros(full.A.shape[1], dtype=bool)
        if xf is not None:
            H, b = full.horizon, full.blocks
            paid = np.flatnonzero(N.fac_per_diem > 0)  # the facilities with a row per day (build_horizon)
            per_day = np.zeros((H, len(N.fac_gm)))
            at_min = xf[b["covered"]].reshape(H, len(paid)) >= N.fac_gm[paid]
            per_day[:, paid] = np.where(at_min, N.fac_per_diem[paid], 0.0)
            paid_by = np.vstack([np.zeros(len(N.fac_gm)), np.cumsum(per_day, axis=0)])  # (H + 1, F): days [0, t)
            key = full.pool_bt[full.arc_pool]
            arrive, depart = (key // (H + 1)) % H, key % (H + 1)
            fac = N.unit_fac[full.arc_unit]
            coh = b["coh"]
            supply = np.bincount(full.coh_pool, weights=upper[coh], minlength=len(full.pool_bt))  # at most
            sel = np.flatnonzero((lower[arcs] < upper[arcs]) & (supply[full.arc_pool] > 0))
            est = move[sel] + paid_by[depart[sel], fac[sel]] - paid_by[arrive[sel], fac[sel]]
            mask[arcs.start + sel[_rank_within(full.arc_pool[sel], est) < SETTINGS.lift_near_arcs]] = True
            return mask | (xf > 0)
        T = int(comp.unit_type.max(initial=-1)) + 1
        used = np.flatnonzero((xc[comp.blocks["arc"]] > 1e-9) & (comp.arc_unit >= 0))
        src_key = np.concatenate([comp.pool_bt, comp.hub_key])[comp.arc_pool[used]]
        used_key = np.unique(src_key * T + comp.arc_unit[used])
        typ = comp.unit_type[full.arc_unit]
        on = np.isin(full.pool_bt[full.arc_pool] * T + typ, used_key)
        sel = np.flatnonzero(on)
        near = np.zeros(len(on), dtype=bool)
        near[sel[_rank_within(full.arc_pool[sel] * T + typ[sel], move[sel]) < SETTINGS.lift_type_arcs]] = True
        mask[arcs] = near | (move == 0)
        return mask


@dataclass
class RiskMerge:
    """The compact model with effective risk left out of the class key, for levels 1-2 when
    their LPs are solved (transport limits): national 14-day, 19,008 classes against 39,682 and a
    level-2 LP of 62,345 rows against 83,019.

    Exactness.  Levels 1-2 do not depend on effective risk, so the compact classes that differ
    only in it are merged: a merged class's row is the sum of theirs, and each merged column
    stands for the columns of those classes with the same entries in every other row (the same
    pools, program keys and days), the same level-1 and level-2 costs and their bounds summed
    (class sizes, or infinite).  A compact solution sums to a merged one with the same levels 1-2
    and a merged one splits back in proportion to class sizes, so the LP optima are equal.  Every
    compact row takes the dual of its image (:meth:`duals`): a class row that of its merged
    class, every other row is the same row in both models.  Each compact column then has the
    reduced cost of its merged column, so the lifted duals are feasible with the merged dual
    objective (bounds summed): they are optimal for the compact model, and its optimal faces of
    levels 1-2 follow from them by complementary slackness."""

    model: HorizonModel
    compact: HorizonModel
    row_map: np.ndarray  # (compact rows,) the merged row of each
    class_map: np.ndarray  # (compact classes,) the merged class of each

    def duals(self, y: np.ndarray) -> np.ndarray:
        """(merged rows,) -> (compact rows,)."""
        return y[self.row_map]

    def split(self, xm: np.ndarray) -> np.ndarray:
        """A merged solution carried to the compact model (when a time limit stops a later
        merged level, the last solution still proves the levels before it).  Every column but a
        class's outcomes is the same column in both models; each merged outcome column is filled
        into the same outcome of its compact classes in turn, each up to its size.  The compact
        classes of a merged class have the same outcome columns (the same pools and program keys),
        so every row keeps its value, and the split is integer when ``xm`` is."""
        c, m = self.compact, self.model
        xc = np.zeros(c.A.shape[1])
        for name, cols in c.blocks.items():
            if name not in ("unp", "rel", "coh"):
                xc[cols] = xm[m.blocks[name]]
        left = c.row_lower[c.row_blocks["class"]].astype(float)  # what each class has still to place
        rest = xm.astype(float)  # what each merged column has still to give
        for name in ("unp", "rel", "coh"):
            cls, key = _outcomes(c, name)
            mcls, mkey = _outcomes(m, name)
            image = m.blocks[name].start + _index(mcls * (1 << 20) + mkey, self.class_map[cls] * (1 << 20) + key)
            for j in np.flatnonzero(rest[image] > 0):  # compact column j takes from its image
                take = min(rest[image[j]], left[cls[j]])
                xc[c.blocks[name].start + j] = take
                left[cls[j]] -= take
                rest[image[j]] -= take
        return xc


def _outcomes(h: HorizonModel, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The class of each column of outcome block ``name`` (``unp``, ``rel``, ``coh``) of ``h`` and
    its outcome within the class (a cohort's departure and release; 0 otherwise)."""
    if name == "coh":
        return h.coh_class, h.coh_depart * 2 + h.coh_release
    cls = np.arange(len(h.class_arrival)) if name == "unp" else h.rel_class
    return cls, np.zeros(len(cls), np.int64)


def risk_merged(inst: Instance, P: People, N: Network, compact: HorizonModel) -> RiskMerge | None:
    """The :class:`RiskMerge` of ``compact``; None when no classes merge.  Raises RuntimeError
    when the two models differ in a row other than the class rows (the exactness argument)."""
    merged = build_horizon(inst, dataclasses.replace(P, eff_units=np.zeros_like(P.eff_units)), N, compact=True)
    mb, cb = merged.row_blocks, compact.row_blocks
    size = {name: rows.stop - rows.start for name, rows in cb.items()}
    if size["class"] == mb["class"].stop - mb["class"].start:
        return None
    mcol, ccol = merged.blocks, compact.blocks
    if (list(mb) != list(cb) or any(mb[k].stop - mb[k].start != n for k, n in size.items() if k != "class")
            or list(mcol) != list(ccol) or any(mcol[k].stop - mcol[k].start != ccol[k].stop - ccol[k].start
                                               for k in ccol if k not in ("unp", "rel", "coh"))):
        raise RuntimeError("the risk-merged compact model has other rows or columns than the compact model")
    singles = np.flatnonzero(compact.person_class >= 0)
    class_map = np.zeros(size["class"], np.int64)
    class_map[compact.person_class[singles]] = merged.person_class[singles]
    row_map = np.zeros(compact.A.shape[0], np.int64)
    for name, rows in cb.items():
        image = np.arange(mb[name].start, mb[name].stop)
        row_map[rows] = image[class_map] if name == "class" else image
    other = np.ones(compact.A.shape[0], dtype=bool)
    other[cb["class"]] = False
    sums = np.bincount(class_map, weights=compact.row_lower[cb["class"]], minlength=mb["class"].stop - mb["class"].start)
    keys = ("keyday", "hub_key", "pool_origin", "pool_bt", "arc_pool", "arc_unit")
    if not (all(np.array_equal(getattr(merged, k), getattr(compact, k)) for k in keys)
            and np.array_equal(merged.row_lower[row_map[other]], compact.row_lower[other])
            and np.array_equal(merged.row_upper[row_map[other]], compact.row_upper[other])
            and np.array_equal(sums, merged.row_lower[mb["class"]])):
        raise RuntimeError("the risk-merged compact model does not keep the compact model's rows")
    return RiskMerge(merged, compact, row_map, class_map)


def encode_horizon(inst: Instance, hm: HorizonModel, P: People, N: Network, decision: np.ndarray,
                   unit: np.ndarray, prog: np.ndarray, rday: np.ndarray) -> np.ndarray | None:
    """The column values (columns,) int of a person-level plan (decision strings, unit, program
    and release day per person, (P,), as :func:`decode_horizon` returns them); None when the plan takes an
    outcome the model lacks or exceeds a unit's beds and surge beds."""
    H, b = hm.horizon, hm.blocks
    U, Q = len(N.unit_fac), len(N.prog_per_diem)
    a, e, _ = person_days(inst, P)
    x = np.zeros(hm.A.shape[1], dtype=np.int64)
    s = np.flatnonzero(hm.person_class >= 0)
    c, dec, d = hm.person_class[s], decision[s], rday[s]
    rel = dec == "release"
    np.add.at(x, b["unp"].start + c[dec == "unplaced"], 1)
    first = rel & (d == a[s])
    pos_rel = np.full(len(hm.class_arrival), -1, np.int64)
    pos_rel[hm.rel_class] = np.arange(len(hm.rel_class))
    if (pos_rel[c[first]] < 0).any():
        return None
    np.add.at(x, b["rel"].start + pos_rel[c[first]], 1)
    held = (rel & ~first) | (dec == "detain")
    leave = np.where(rel, d, e[s])[held]  # the day a held person leaves the bed
    coh_key = (hm.coh_class * (H + 1) + hm.coh_depart) * 2 + hm.coh_release
    coh = _find(coh_key, (c[held] * (H + 1) + leave) * 2 + rel[held])
    arc = None if coh is None else _find(hm.arc_pool * U + hm.arc_unit, hm.coh_pool[coh] * U + unit[s[held]])
    atd = _find(hm.keyday[hm.atd_key] * Q + hm.atd_prog, (hm.key_of_class[c[rel]] * H + d[rel]) * Q + prog[s[rel]])
    if arc is None or atd is None:
        return None
    for name, cols in (("coh", coh), ("arc", arc), ("atd", atd)):
        np.add.at(x, b[name].start + cols, 1)
    # families
    occ = np.zeros((H + 1, U), dtype=np.int64)
    fam_key = (hm.fbed_family * U + hm.fbed_unit) * (H + 1) + hm.fbed_depart
    frel = np.full(len(hm.family_members), -1, np.int64)
    frel[hm.frel_family] = np.arange(len(hm.frel_family))
    for j, mem in enumerate(hm.family_members):
        i = mem[0]
        what = decision[i]
        if what == "unplaced":
            x[b["funp"].start + j] = 1
        elif what == "release" and rday[i] == a[i]:
            if frel[j] < 0:
                return None
            x[b["frel"].start + frel[j]] = 1
        else:
            dep = rday[i] if what == "release" else e[i]
            col = _find(fam_key, np.array([(j * U + unit[i]) * (H + 1) + dep]))
            if col is None:
                return None
            x[b["fbed"].start + col] = 1
            occ[a[i], unit[i]] += len(mem)
            occ[dep, unit[i]] -= len(mem)
    fa = np.flatnonzero((hm.person_class < 0) & (decision == "release") & (prog >= 0))
    fatd = _find((hm.fatd_person * Q + hm.fatd_prog) * H + hm.fatd_day, (fa * Q + prog[fa]) * H + rday[fa])
    if fatd is None:
        return None
    x[b["fatd"].start + fatd] = 1
    # occupancy: regular beds first, surge beds above; facilities: up to the guaranteed minimum
    np.add.at(occ, (a[s[held]], unit[s[held]]), 1)
    np.add.at(occ, (leave, unit[s[held]]), -1)
    occ = np.cumsum(occ, axis=0)[:H]
    regular = np.minimum(occ, N.unit_beds)
    surge = occ - regular
    if (surge > N.unit_surge).any():
        return None
    x[b["regular"]] = regular.ravel()
    x[b["surge"]] = surge.ravel()
    cost_fac = np.flatnonzero(N.fac_per_diem > 0)
    fac = np.zeros((H, len(N.fac_gm)), dtype=np.int64)
    np.add.at(fac.T, N.unit_fac, occ.T)
    covered = np.minimum(fac[:, cost_fac], N.fac_gm[cost_fac])
    x[b["covered"]] = covered.ravel()
    x[b["excess"]] = (fac[:, cost_fac] - covered).ravel()
    return x


def _home_types(typ: np.ndarray, people: np.ndarray, group: np.ndarray, home: np.ndarray, origin: np.ndarray) -> None:
    """Swap unit types (``typ``, (P,), in place) among ``people`` of one ``group`` (bed type,
    arrival and leaving day: they fit the same types and occupy them on the same days, so levels
    1-3 stay the same) so that as many as possible get a type with a unit in their origin
    facility (``home[type, origin] >= 0``; ``origin`` -1 takes the last column, no facility),
    greedily type by type."""
    order = people[np.lexsort((people, group[people]))]
    for grp in np.split(order, np.flatnonzero(np.diff(group[order])) + 1):
        kinds, count = np.unique(typ[grp], return_counts=True)
        if len(kinds) < 2:
            continue
        free = np.ones(len(grp), dtype=bool)
        new = np.full(len(grp), -1, dtype=np.int64)
        for t, k in zip(kinds, count):
            take = np.flatnonzero(free & (home[t, origin[grp]] >= 0))[:k]
            new[take], free[take] = t, False
        new[free] = np.repeat(kinds, count - np.bincount(np.searchsorted(kinds, new[~free]), minlength=len(kinds)))
        typ[grp] = new


def _find(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray | None:
    """Positions of ``wanted`` in ``keys`` (unique), or None when one is missing."""
    order = np.argsort(keys, kind="stable")
    pos = np.searchsorted(keys[order], wanted)
    pos = np.minimum(pos, len(keys) - 1)
    if len(wanted) and (len(keys) == 0 or not np.array_equal(keys[order][pos], wanted)):
        return None
    return order[pos] if len(wanted) else np.zeros(0, np.int64)


def _index(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Positions of ``wanted`` in ``keys`` (unique), every one present."""
    pos = _find(keys, wanted)
    assert pos is not None, "a full row has no image"
    return pos


def decode_horizon(inst: Instance, hm: HorizonModel, P: People, x: np.ndarray):
    """Per-person arrays (P,) of a model solution: decision strings, unit index, program index
    (-1 where none) and release day (-1 where none), deterministically.

    Within a class (people of one effective risk, or mandatory) people are taken in instance
    order: released on arrival, then by increasing release day; then the kept; the rest unplaced.
    Detained people of a pool fill arcs and units in column order."""
    n = len(P.sex)
    decision = np.full(n, "", dtype=object)
    decision[P.removed] = "removed"
    unit = np.full(n, -1, dtype=np.int64)
    prog = np.full(n, -1, dtype=np.int64)
    rday = np.full(n, -1, dtype=np.int64)
    b = hm.blocks
    get = lambda name: np.rint(x[b[name]]).astype(np.int64)  # noqa: E731
    key_people, pool_people = _decode_classes(hm, get, decision, rday)
    atd = get("atd")
    for j, k in zip(np.flatnonzero(atd), atd[atd > 0]):
        kd = int(hm.keyday[hm.atd_key[j]])
        ppl, key_people[kd] = key_people[kd][:k], key_people[kd][k:]
        prog[ppl] = hm.atd_prog[j]
    _decode_arcs(hm, get("arc"), pool_people, unit)
    _decode_families(inst, hm, get, decision, unit, prog, rday)
    return decision, unit, prog, rday


def _decode_classes(hm: HorizonModel, get, decision: np.ndarray, rday: np.ndarray):
    """The outcomes of single people, class by class (see :func:`decode_horizon`); returns the
    people released per (program key, day) and the people held per pool, in order."""
    H = hm.horizon
    pc = hm.person_class
    singles = np.flatnonzero(pc >= 0)
    order = singles[np.argsort(pc[singles], kind="stable")]
    C = len(hm.class_arrival)
    starts = np.searchsorted(pc[order], np.arange(C + 1))
    taken = starts[:-1].copy()  # next unassigned position of each class in ``order``
    key_people: dict[int, list[int]] = defaultdict(list)
    pool_people: dict[int, list[int]] = defaultdict(list)

    def take(c, k):
        out = order[taken[c]:taken[c] + k]
        taken[c] += k
        return out

    def enrol(c, day, ppl):
        key_people[int(hm.key_of_class[c]) * H + int(day)].extend(ppl.tolist())

    rel = get("rel")
    for c, k in zip(hm.rel_class[rel > 0], rel[rel > 0]):  # columns at 0 take no one
        ppl = take(c, k)
        decision[ppl] = "release"
        rday[ppl] = hm.class_arrival[c]
        enrol(c, hm.class_arrival[c], ppl)
    coh = get("coh")
    for j in np.lexsort((hm.coh_depart, ~hm.coh_release, hm.coh_class)):  # releases by day, then the kept
        if coh[j] == 0:
            continue
        c = hm.coh_class[j]
        ppl = take(c, coh[j])
        if hm.coh_release[j]:
            decision[ppl] = "release"
            rday[ppl] = hm.coh_depart[j]
            enrol(c, hm.coh_depart[j], ppl)
        else:
            decision[ppl] = "detain"
        pool_people[int(hm.coh_pool[j])].extend(ppl.tolist())
    for c in range(C):
        decision[order[taken[c]:starts[c + 1]]] = "unplaced"
    return key_people, pool_people


def _decode_arcs(hm: HorizonModel, arc: np.ndarray, pool_people: dict, unit: np.ndarray) -> None:
    """The held people of each pool sent along the arcs to units, in column order; arcs into hubs
    come before the arcs out of them (:func:`_hub_arcs`)."""
    n_pool = len(hm.pool_bt)
    hub_of = np.searchsorted(hm.hub_key, hm.pool_bt)  # the hub of each pool (compact model with hubs)
    for j in np.flatnonzero(arc):
        src = int(hm.arc_pool[j])
        ppl, pool_people[src] = pool_people[src][:arc[j]], pool_people[src][arc[j]:]
        if hm.arc_unit[j] >= 0:
            unit[ppl] = hm.arc_unit[j]
        else:
            pool_people.setdefault(n_pool + int(hub_of[src]), []).extend(ppl)


def _decode_families(inst: Instance, hm: HorizonModel, get, decision: np.ndarray, unit: np.ndarray,
                     prog: np.ndarray, rday: np.ndarray) -> None:
    """The outcomes of families: a bed (until a release day or the end), release on arrival,
    unplaced; and the programs of released adults."""
    for j in np.flatnonzero(get("fbed")):
        mem = hm.family_members[hm.fbed_family[j]]
        unit[mem] = hm.fbed_unit[j]
        decision[mem] = "release" if hm.fbed_release[j] else "detain"
        rday[mem] = hm.fbed_depart[j] if hm.fbed_release[j] else -1
    for f in hm.frel_family[get("frel") > 0]:
        mem = hm.family_members[f]
        decision[mem] = "release"
        rday[mem] = np.fromiter((inst.people[i].arrival_day for i in mem), np.int64, len(mem))
    for f in np.flatnonzero(get("funp")):
        decision[hm.family_members[f]] = "unplaced"
    fatd = get("fatd")
    for j in np.flatnonzero(fatd):
        prog[hm.fatd_person[j]] = hm.fatd_prog[j]
