"""The straightforward person-by-unit formulation of the one-day model (benchmark baseline).

One integer column per (person, compatible unit), per (adult, eligible ATD program), one
release-without-program column per minor, one unplaced column per person, surge and excess columns;
families are tied together by equality rows.  It solves the same problem as
``optimizer.model.build`` (same four levels, same lexicographic procedure via
``optimizer.engine.solve_levels``) without grouping people into classes, so the speed ratio between
the two measures what the class aggregation buys.
"""

from __future__ import annotations

import numpy as np

from optimizer.model import Model, _Builder, network_arrays, people_arrays


def build_person_model(inst) -> Model:
    """Person-by-unit MIP of a one-day instance; returns a :class:`Model` (decoding maps empty)."""
    P = people_arrays(inst)
    N = network_arrays(inst)
    F = len(inst.facilities)
    U = len(N.unit_fac)
    cost_days = float(inst.policy.cost_days)
    act = np.flatnonzero(~P.removed)
    b = _Builder()
    # compatibility person x unit
    lvl = np.maximum(P.level, 0)
    ok_unit = (
        (N.unit_family[None, :] == (P.family[act] >= 0)[:, None])
        & ((N.unit_sex[None, :] == P.sex[act][:, None]) | (N.unit_sex[None, :] == 2))
        & (N.unit_levels[:, lvl[act]].T | P.minor[act][:, None])
        & (N.unit_medical[None, :] | ~P.medical[act][:, None])
        & (P.stay[act][:, None] <= N.fac_max_stay[N.unit_fac][None, :])
        & ~P.at_limit[act][:, None]
    )
    # a family inherits the medical need of any member
    fam = P.family[act]
    if (fam >= 0).any():
        fam_med = np.zeros(fam.max() + 1, dtype=bool)
        np.logical_or.at(fam_med, fam[fam >= 0], P.medical[act][fam >= 0])
        fam_lim = np.zeros(fam.max() + 1, dtype=bool)
        np.logical_or.at(fam_lim, fam[fam >= 0], P.at_limit[act][fam >= 0])
        need = np.where(fam >= 0, fam_med[np.maximum(fam, 0)], False)
        ok_unit &= N.unit_medical[None, :] | ~need[:, None]
        ok_unit &= ~np.where(fam >= 0, fam_lim[np.maximum(fam, 0)], False)[:, None]
    pi, uu = np.nonzero(ok_unit)
    okey = np.where(P.origin[act] >= 0, P.origin[act], F + P.aor[act])
    col_x = b.columns("x", np.ones(len(pi)), {3: N.move_cost[okey[pi], N.unit_fac[uu]]})
    adult = ~P.minor[act] & ~P.mandatory[act]
    ok_prog = (
        (N.prog_max_risk[None, :] >= P.risk[act][:, None])
        & ((N.prog_aor[None, :] < 0) | (N.prog_aor[None, :] == P.aor[act][:, None]))
        & adult[:, None]
    )
    if (fam >= 0).any():
        fam_man = np.zeros(fam.max() + 1, dtype=bool)
        np.logical_or.at(fam_man, fam[fam >= 0], P.mandatory[act][fam >= 0])
        ok_prog &= ~np.where(fam >= 0, fam_man[np.maximum(fam, 0)], False)[:, None]
    qi, qq = np.nonzero(ok_prog)
    col_y = b.columns("y", np.ones(len(qi)), {2: P.eff_units[act][qi].astype(float), 3: N.prog_per_diem[qq] * cost_days})
    minors = np.flatnonzero(P.minor[act])
    col_r = b.columns("r", np.ones(len(minors)), {2: P.eff_units[act][minors].astype(float)})
    n = len(act)
    col_w = b.columns("w", np.ones(n), {0: 1.0})
    col_s = b.columns("surge", N.unit_surge, {1: 1.0})
    cost_fac = np.flatnonzero(N.fac_per_diem > 0)
    col_e = b.columns("excess", np.full(len(cost_fac), np.inf), {3: N.fac_per_diem[cost_fac] * cost_days})

    r = b.rows_("person", np.ones(n), 1.0)  # one outcome per person
    b.entries(r[pi], col_x, 1.0)
    b.entries(r[qi], col_y, 1.0)
    b.entries(r[minors], col_r, 1.0)
    b.entries(r, col_w, 1.0)
    r = b.rows_("unit", np.full(U, -np.inf), N.unit_beds)  # beds
    b.entries(r[uu], col_x, 1.0)
    b.entries(r, col_s, -1.0)
    fac_row = np.full(F, -1)
    r = b.rows_("facility", np.full(len(cost_fac), -np.inf), N.fac_gm[cost_fac])
    fac_row[cost_fac] = r
    fr = fac_row[N.unit_fac[uu]]
    b.entries(fr[fr >= 0], col_x[fr >= 0], 1.0)
    b.entries(r, col_e, -1.0)
    capped = np.flatnonzero(N.prog_capacity >= 0)
    prog_row = np.full(len(N.prog_capacity), -1)
    r = b.rows_("program", np.full(len(capped), -np.inf), N.prog_capacity[capped])
    prog_row[capped] = r
    ar = prog_row[qq]
    b.entries(ar[ar >= 0], col_y[ar >= 0], 1.0)
    # families: every member copies the first member's unit, release and unplaced choice
    members = np.flatnonzero(fam >= 0)
    if len(members):
        first = {}
        for m in members:
            first.setdefault(int(fam[m]), int(m))
        x_of = {(int(p), int(u)): int(c) for p, u, c in zip(pi, uu, col_x)}
        rel_cols = {}
        for p, c in zip(qi, col_y):
            rel_cols.setdefault(int(p), []).append(int(c))
        for p, c in zip(minors, col_r):
            rel_cols.setdefault(int(p), []).append(int(c))
        for m in members:
            lead = first[int(fam[m])]
            if lead == m:
                continue
            for u in range(U):
                a, c = x_of.get((lead, u)), x_of.get((int(m), u))
                if a is None and c is None:
                    continue
                rr = b.rows_(f"same_unit_{m}_{u}", np.zeros(1), 0.0)
                b.entries(np.repeat(rr, 2), [a if a is not None else c, c if c is not None else a],
                          [1.0 if a is not None else 0.0, -1.0 if c is not None else 0.0])
            rr = b.rows_(f"same_release_{m}", np.zeros(1), 0.0)
            la, ma = rel_cols.get(lead, []), rel_cols.get(int(m), [])
            b.entries(np.full(len(la) + len(ma), rr[0]), la + ma, [1.0] * len(la) + [-1.0] * len(ma))
            rr = b.rows_(f"same_unplaced_{m}", np.zeros(1), 0.0)
            b.entries(np.repeat(rr, 2), [col_w[lead], col_w[m]], [1.0, -1.0])
    A, rlo, rhi, clo, cub, obj = b.finish()
    offsets = np.array([0.0, 0.0, 0.0, float((N.fac_gm * N.fac_gm_rate).sum() * cost_days)])
    return Model(
        A=A, row_lower=rlo, row_upper=rhi, col_lower=clo, col_upper=cub, objectives=obj, offsets=offsets,
        blocks=b.blocks, row_blocks=b.row_blocks, stats={"people": n},
    )
