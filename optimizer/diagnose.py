"""Shortfall certificates: why some people can have no legal outcome, without solving the plan.

A one-day instance is a bipartite supply problem: every person needing a decision must get a
bed in a compatible unit (if not at the legal limit) or a slot in an eligible ATD program (if
releasable; minors released with their family take none).  Local ties (MODEL.md §3 rule 8) and
pins (rule 9) only narrow a person's options: units in their origin facility or their AOR, the
pinned facility or unit, no bed after a release pin, no slot after a detain pin.  Treat each
family member as one person (a relaxation: families only make it harder) and build the network

    source -> person group (its size) -> compatible unit (beds + surge beds)
                                      -> eligible program (free slots)  -> sink

where a *group* holds the people with the same compatible units and eligible programs.  By the
max-flow min-cut theorem (Hall's condition with capacities), the number of people who can get
no outcome is at least ``people - max flow``, and the source side of a minimum cut is a set S of
groups whose compatible beds and slots ``N(S)`` hold fewer than ``|S|`` people: the certificate
"these people need these beds and slots, which hold that many: short by ``|S| - cap(N(S))``".
The source side is taken as small as possible (the nodes reachable from the source in the
residual network).  Without families and transport limits the bound is exact: it equals the
optimal level 1.

Transport limits (rule 7) cap the people placed outside their origin facility per origin AOR
and nationally; such a side constraint is no network, so then the groups also split by origin
facility and the bound is the linear relaxation of the same supply problem with one row per
limit: maximise the people placed (x[g,u] beds, y[g,q] slots, free minors) subject to group
sizes, beds + surge beds, slots, and for each AOR with a limit the sum of x[g,u] over groups
whose origin facility is in that AOR and units of other facilities at most its seats (and the
national seats over all groups with an origin).  Every plan gives a feasible point of this LP
with the people it places (each family member counted alone, a person held in another
facility than their origin is one of the transfers the limits count), so the LP maximum is at
least the people any plan places, and ``people - floor(LP max)`` is a lower bound on level 1.
When it exceeds the max-flow bound, the excess is certified by an extra entry of ``short``
(``kind`` ``seats``) naming the limits whose rows bind (nonzero duals).
"""

from __future__ import annotations

import numpy as np

from .instance import Instance
from .model import PIN_DETAIN, PIN_RELEASE, allowed_units, family_groups, network_arrays, people_arrays, programs_of
from .reasons import transfer_limits
from .errors import EXIT_OK, EXIT_UNPLACED, InputError, refused


def _groups(inst: Instance, P, N):
    """Per person needing a decision: the compatible units that ties and pins allow (bool, U),
    eligible programs (Q) and whether release needs no slot (a minor)."""
    active = np.flatnonzero(~P.removed)
    lvl = np.maximum(P.level, 0)
    fam = P.family >= 0
    units = ((N.unit_family[None, :] == fam[active][:, None])
             & ((N.unit_sex[None, :] == P.sex[active][:, None]) | (N.unit_sex[None, :] == 2))
             & (N.unit_levels[:, lvl[active]].T | P.minor[active][:, None])
             & (N.unit_medical[None, :] | ~P.medical[active][:, None])
             & (P.stay[active][:, None] <= N.fac_max_stay[N.unit_fac][None, :])
             & ~P.at_limit[active][:, None])
    # rules 8 and 9: ties and detain pins narrow the units; a release pin allows no bed, a detain pin no slot
    units &= allowed_units(P, N, active) & (P.pin_kind[active] != PIN_RELEASE)[:, None]
    fam_mandatory = family_groups(P, P.mandatory, np.logical_or)
    releasable = ~P.mandatory[active] & ~fam_mandatory[active]
    progs = programs_of(P, N, active) & (releasable & (P.pin_kind[active] != PIN_DETAIN))[:, None] \
        & ~P.minor[active][:, None]
    free = releasable & P.minor[active] & (P.pin_kind[active] != PIN_DETAIN)  # a releasable minor needs no slot
    return active, units, progs, free


def diagnose(inst: Instance, level1: int | None = None, seat_lp: bool = True) -> dict:
    """The shortfall certificate of a one-day instance: ``{"unplaced_at_least", "exact",
    "short": [...]}`` where each entry of ``short`` describes one independent deficient set:
    its people grouped by (sex, level, mandatory, at the legal limit, AOR), the compatible
    units and eligible programs with their capacity, and by how many it is short.  With
    ``level1``, a proven optimal level 1, the transport relaxation is skipped when the max-flow
    bound reaches it already (max flow <= LP <= level 1); without ``seat_lp`` (a run under a
    time limit) it is skipped always, and the max-flow bound stands.  Raises ``ValueError`` for
    a multi-day instance."""
    if inst.horizon_days != 1:
        raise ValueError("diagnose handles one-day instances (horizon_days = 1)")
    P, N = people_arrays(inst), network_arrays(inst)
    active, units, progs, free = _groups(inst, P, N)
    seats = bool((transfer_limits(inst) >= 0).any()) and bool((P.origin[active] >= 0).any())
    gid, uniq = _same_options(np.concatenate([units, progs, free[:, None]], axis=1))
    G, U, Q = len(uniq), units.shape[1], progs.shape[1]
    size = np.bincount(gid, minlength=G)
    total = int(size.sum())
    graph, flow, value = _max_flow(N, uniq, size, U, Q)
    S = np.flatnonzero(_source_side(graph, flow)[1:1 + G])
    pieces = _deficient_sets(inst, P, N, active, gid, uniq, S, size, U, Q)
    bound = total - value
    if seat_lp and seats and total and (level1 is None or bound < level1):
        bound = _seat_certificate(inst, P, N, active, gid, uniq, U, Q, bound, pieces)
    pieces.sort(key=lambda d: -d["short_by"])
    return {"format": "bedalloc-diagnosis-certificate", "version": 1, "people": total,
            "unplaced_at_least": bound, "exact": not (P.family[active] >= 0).any() and not seats, "short": pieces}


def _same_options(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The groups of people with the same options (rows of ``keys``): each person's group and
    each group's options."""
    packed = np.ascontiguousarray(np.packbits(keys, axis=1))  # one byte string per person: fast grouping
    _, first, gid = np.unique(packed.view(np.dtype((np.void, packed.shape[1]))).ravel(), return_index=True,
                              return_inverse=True)
    return np.asarray(gid).ravel(), keys[first]


def _max_flow(N, uniq, size, U: int, Q: int):
    """The supply network of the module docstring (node 0 the source, then the groups, units,
    programs, and the sink last) and a maximum flow: ``(graph, flow, value)``."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    G = len(uniq)
    total = int(size.sum())
    big = total + 1
    s, t = 0, 1 + G + U + Q  # nodes: source, groups, units, programs, sink
    tails, heads, caps = [np.full(G, s)], [1 + np.arange(G)], [size]
    gg, uu = np.nonzero(uniq[:, :U])
    tails.append(1 + gg), heads.append(1 + G + uu), caps.append(np.full(len(gg), big))
    gg, qq = np.nonzero(uniq[:, U:U + Q])
    tails.append(1 + gg), heads.append(1 + G + U + qq), caps.append(np.full(len(gg), big))
    gf = np.flatnonzero(uniq[:, -1])
    tails.append(1 + gf), heads.append(np.full(len(gf), t)), caps.append(np.full(len(gf), big))
    tails.append(1 + G + np.arange(U)), heads.append(np.full(U, t)), caps.append(N.unit_beds + N.unit_surge)
    pcap = np.where(N.prog_capacity >= 0, N.prog_capacity, big)
    tails.append(1 + G + U + np.arange(Q)), heads.append(np.full(Q, t)), caps.append(pcap)
    tails, heads, caps = (np.concatenate(v).astype(np.int32) for v in (tails, heads, caps))
    graph = csr_matrix((caps, (tails, heads)), shape=(t + 1, t + 1))
    flow = maximum_flow(graph, s, t).flow if total else csr_matrix((t + 1, t + 1))
    value = int(flow[s].sum()) if total else 0
    return graph, flow, value


def _source_side(graph, flow) -> np.ndarray:
    """The nodes reachable from the source (node 0) in the residual network: the source side of
    the smallest minimum cut."""
    from scipy.sparse import csr_matrix

    s, n = 0, graph.shape[0]
    # residual graph: forward arcs with spare capacity, backward arcs with flow
    resid = (graph - flow).tocoo()
    fwd = resid.data > 0
    back = flow.tocoo()
    rows = np.concatenate([resid.row[fwd], back.col[back.data > 0]])
    cols = np.concatenate([resid.col[fwd], back.row[back.data > 0]])
    reach = np.zeros(n, bool)
    reach[s] = True
    adj = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    frontier = [s]
    while frontier:  # breadth-first search from the source
        nxt = np.unique(adj[frontier].indices)
        nxt = nxt[~reach[nxt]]
        reach[nxt] = True
        frontier = nxt.tolist()
    return reach


def _deficient_sets(inst, P, N, active, gid, uniq, S, size, U: int, Q: int) -> list[dict]:
    """Independent deficient sets: connected components of the groups ``S`` on the source side
    and their neighbours, those that are short (:func:`_describe`)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    pieces = []
    if len(S):
        link = csr_matrix(uniq[S, :U + Q].astype(np.int8))
        both = link @ link.T
        _, comp = connected_components(both, directed=False)
        for c in np.unique(comp):
            groups = S[comp == c]
            piece = _describe(inst, P, N, active, gid, uniq, groups, size, U, Q)
            if piece["short_by"] > 0:  # a component of the cut that is not short adds nothing
                pieces.append(piece)
    return pieces


def _seat_certificate(inst, P, N, active, gid, uniq, U, Q, bound, pieces) -> int:
    """The transport relaxation's bound (:func:`_seat_bound`) over the groups split by origin
    facility; when it beats ``bound``, a ``seats`` piece is appended to ``pieces``.  Returns the
    larger bound."""
    pairs, k_gid = np.unique(gid * (len(inst.facilities) + 1) + P.origin[active] + 1, return_inverse=True)
    k_size = np.bincount(k_gid.ravel(), minlength=len(pairs))
    k_gid, k_origin = pairs // (len(inst.facilities) + 1), pairs % (len(inst.facilities) + 1) - 1
    lp_bound, binding = _seat_bound(inst, N, uniq, k_gid, k_origin, k_size, U, Q)
    if lp_bound <= bound:
        return bound
    pieces.append(_seat_piece(inst, N, k_size, k_origin, binding, lp_bound - bound))
    return lp_bound


def _describe(inst, P, N, active, gid, uniq, groups, size, U, Q) -> dict:
    """One deficient set in domain terms."""
    people = active[np.isin(gid, groups)]
    need = int(size[groups].sum())
    unit_mask = uniq[groups, :U].any(axis=0)
    prog_mask = uniq[groups, U:U + Q].any(axis=0)
    beds = int((N.unit_beds[unit_mask] + N.unit_surge[unit_mask]).sum())
    slots = int(np.where(N.prog_capacity >= 0, N.prog_capacity, 0)[prog_mask].sum())
    kinds: dict[tuple, int] = {}
    for i in people:
        p = inst.people[i]
        key = (p.sex, p.level or "minor", p.mandatory, bool(P.at_limit[i]), p.aor)
        kinds[key] = kinds.get(key, 0) + 1
    unit_ids = [u.id for f in inst.facilities for u in f.units]
    classes = [{"sex": k[0], "level": k[1], "mandatory": k[2], "at_legal_limit": k[3], "aor": k[4], "people": v}
               for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])]
    text = "; ".join(f"{c['people']} {'mandatory ' if c['mandatory'] else ''}"
                     f"{'women' if c['sex'] == 'F' else 'men'} level {c['level']}"
                     f"{' at the legal limit' if c['at_legal_limit'] else ''} in AOR {c['aor']}" for c in classes[:5])
    if len(classes) > 5:
        text += f"; and {len(classes) - 5} more kinds"
    where = f"{beds} compatible beds (surge included) in {int(unit_mask.sum())} units"
    if prog_mask.any():
        where += f" and {slots} ATD slots in {int(prog_mask.sum())} eligible programs"
    return {"kind": "beds_and_slots", "people": need, "beds_incl_surge": beds, "atd_slots": slots,
            "short_by": need - beds - slots,
            "classes": classes, "units": [unit_ids[u] for u in np.flatnonzero(unit_mask)][:50],
            "programs": [inst.atd_programs[q].id for q in np.flatnonzero(prog_mask)],
            "text": f"{text}: {need} people; {where}; short by {need - beds - slots}"}


def _seat_bound(inst: Instance, N, uniq, k_gid, k_origin, k_size, U: int, Q: int) -> tuple[int, list[int]]:
    """``people - floor(LP max)`` of the linear relaxation with transport rows (module
    docstring) and the limit rows (AOR index, or the AOR count for the nation) that bind.

    The people of a group ``g`` and an origin facility form a pair ``k`` (``k_gid``,
    ``k_origin``, ``k_size``).  A pair stays in units of ``g`` in its origin facility (one
    column per unit), or enters ``g``'s pool of placements elsewhere (one column, counted in the
    seat rows of the origin's AOR and the nation when it has an origin), or ``g``'s pool of
    releases, or is released free (minors); each pool hands out its people to ``g``'s units
    (programs) with equality rows.  Splitting a pool's flow into paths gives the per-person LP
    of the module docstring (a path back into the pair's own facility is a stay that needs no
    seat), so both have the same maximum, with one column per pair and unit of its origin
    instead of per pair and compatible unit."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix

    K, G, limits, fac_aor = len(k_gid), len(uniq), transfer_limits(inst), N.fac_aor.astype(np.int64)
    total = int(k_size.sum())
    sk, su = np.nonzero(uniq[k_gid, :U] & (N.unit_fac[None, :] == k_origin[:, None]))  # stays
    wg, wu = np.nonzero(uniq[:, :U])  # a pool's placements
    vg, vq = np.nonzero(uniq[:, U:U + Q])  # a pool's releases
    fk = np.flatnonzero(uniq[k_gid, -1])  # minors released free
    moved = np.flatnonzero(k_origin >= 0)
    # columns: stays, into the placement pool (K), into the release pool (K), free (len fk), w, v
    c_in, c_rel, c_free = len(sk), len(sk) + K, len(sk) + 2 * K
    c_w, c_v = c_free + len(fk), c_free + len(fk) + len(wg)
    n = c_v + len(vg)
    ub_rows = [sk, np.arange(K), np.arange(K), fk, K + su, K + wu, K + U + vq,
               K + U + Q + fac_aor[k_origin[moved]], np.full(len(moved), K + U + Q + len(inst.aors))]
    ub_cols = [np.arange(c_in), c_in + np.arange(K), c_rel + np.arange(K), c_free + np.arange(len(fk)),
               np.arange(c_in), c_w + np.arange(len(wg)), c_v + np.arange(len(vg)), c_in + moved, c_in + moved]
    eq_rows = [k_gid, wg, G + k_gid, G + vg]  # pool in = pool out
    eq_cols = [c_in + np.arange(K), c_w + np.arange(len(wg)), c_rel + np.arange(K), c_v + np.arange(len(vg))]
    eq_vals = [np.ones(K), -np.ones(len(wg)), np.ones(K), -np.ones(len(vg))]
    m_ub = K + U + Q + len(inst.aors) + 1
    A_ub = csr_matrix((np.ones(sum(map(len, ub_rows))), (np.concatenate(ub_rows), np.concatenate(ub_cols))),
                      shape=(m_ub, n))
    A_eq = csr_matrix((np.concatenate(eq_vals), (np.concatenate(eq_rows), np.concatenate(eq_cols))), shape=(2 * G, n))
    cap = lambda v: np.where(v >= 0, v, total + 1)  # noqa: E731  (-1: no limit)
    b_ub = np.concatenate([k_size, N.unit_beds + N.unit_surge, cap(N.prog_capacity), cap(limits)]).astype(float)
    obj = -np.concatenate([np.ones(c_w), np.zeros(n - c_w)])
    res = linprog(obj, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=np.zeros(2 * G), bounds=(0, None), method="highs")
    if res.status != 0:
        raise RuntimeError(f"the transport relaxation of diagnose failed: {res.message}")
    binding = np.flatnonzero(np.abs(res.ineqlin.marginals[K + U + Q:]) > 1e-9)
    return total - int(np.floor(-res.fun + 1e-6)), [int(k) for k in binding if limits[k] >= 0]


def _seat_piece(inst: Instance, N, size, g_origin, binding: list[int], short: int) -> dict:
    """The transport limits' part of the certificate: the limits that bind and the people held
    in their AORs' facilities (every facility's, for the national limit)."""
    A, fac_aor = len(inst.aors), N.fac_aor.astype(np.int64)
    origin_aor = np.where(g_origin >= 0, fac_aor[np.maximum(g_origin, 0)], -1)
    held = (g_origin >= 0) & (np.isin(origin_aor, binding) | (A in binding))
    limits = [{"aor": inst.aors[k].code if k < A else None, "day": 0,
               "limit": inst.aors[k].max_transfers_out_per_day if k < A else inst.policy.max_transfers_per_day}
              for k in binding]
    names = " and ".join(f"{d['limit']} seats out of AOR {d['aor']}" if d["aor"] else f"{d['limit']} national seats"
                         for d in limits)
    people = int(size[held].sum())
    return {"kind": "seats", "people": people, "seats": sum(d["limit"] for d in limits), "limits": limits,
            "short_by": short,
            "text": f"the transport limits of day 0 ({names or 'none binds alone'}) let too few of the {people:,} "
                    f"people held in those facilities move to compatible beds elsewhere: short by {short:,} more "
                    "(linear relaxation with the limits)"}


def cmd_diagnose(args) -> int:
    """``bedalloc diagnose``: the shortfall certificate (0 none, 3 a shortfall, 2 bad input)."""
    import json

    from .instance import read_instance

    try:
        cert = diagnose(read_instance(args.instance))
    except (InputError, ValueError) as e:
        return refused(e, args.instance)
    if args.json:
        print(json.dumps(cert, indent=2))
    elif not cert["unplaced_at_least"]:
        print(f"{args.instance}: no shortfall: every one of the {cert['people']:,} people can have a legal outcome")
    else:
        bound = "exactly" if cert["exact"] else "at least"
        print(f"{args.instance}: {bound} {cert['unplaced_at_least']:,} people can have no legal outcome:")
        for piece in cert["short"]:
            print(f"  {piece['text']}")
    return EXIT_UNPLACED if cert["unplaced_at_least"] else EXIT_OK
