"""The value of one more bed in each housing unit and each facility (one-day plans).

Units are ranked by the lexicographic effect of one more bed (MODEL.md §4): unplaced people
first, then surge bed-days, then released risk, then cost.  Two methods, and the summary says
which one gave each number:

* ``lp_dual`` (every unit): the dual value of the unit's bed row in the LP relaxation of each of
  levels 1-3 of the class model, the levels before it held at their optimal values.  An exact
  rate of change for a small change of capacity, but for a whole bed only an estimate (a
  degenerate LP has several optimal duals, one more bed may change the optimal basis, and the
  LP ignores integrality); only the released-risk estimate is reported.
* ``re_solve`` (``exact`` units): the instance solved again to lexicographic optimality with one
  more bed in the unit, on the model built once (only the unit's bed row changes); the changes
  of all four levels are exact.  The units re-solved are chosen in this order: the units that
  may lower level 1 (they fit a person or a family left unplaced), then those that may lower
  level 2 (surge beds are used in them, or they fit someone held in such a unit), each group by
  its LP estimate of that level, then the rest, all by the estimates of the four levels in order.  The summary
  gives the size of the first two groups (``candidates``): with ``exact`` at least their sum,
  every unit that can change an earlier level is re-solved exactly.

A facility's value is that of its best unit (one more bed placed where it helps most).
"""

from __future__ import annotations

import time

import numpy as np

from .instance import Instance
from .model import RISK_SCALE, family_members, family_units, network_arrays, people_arrays, single_units
from .engine import SolveParams, build_models, solve


def _lp_duals(model, x: np.ndarray, deadline: float | None = None) -> np.ndarray | None:
    """(4, U): the duals of the unit bed rows in the LP relaxations of the four levels, each with
    the levels before it held at ``x``'s values (people, surge bed-days, released-risk points and
    USD per bed); None when ``deadline`` stops an LP.  One LP, warm-started from level to level
    up to released risk (a hold row added, the objective changed), the cost level from scratch;
    a level whose value is 0 at ``x`` (nobody unplaced,
    no surge bed) cannot be lowered: its duals are 0, no LP is solved for it."""
    import highspy

    A = model.A.tocsc()
    n = A.shape[1]
    from .interrupts import check
    from .lexico import interruptible

    h = highspy._core._Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    interruptible(h)  # an interrupt stops these LPs too (the extra solves end: docs/reliability.md)
    h.passModel(int(n), int(A.shape[0]), int(A.nnz), 1, 1, 0.0, np.zeros(n), model.col_lower, model.col_upper,
                model.row_lower, model.row_upper, A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data,
                np.zeros(n, np.int32))
    out = np.zeros((4, len(model.row_upper[model.row_blocks["unit"]])))
    for level, scale in ((0, 1.0), (1, 1.0), (2, RISK_SCALE), (3, 1.0)):
        cost = model.objectives[level]
        value = float(cost @ x)
        if level < 2 and value == 0:
            out[level] = 0.0
        else:
            if level == 3:  # from scratch: a warm start from the risk level's basis crawled (national: 96 s, cold 25 s)
                h.clearSolver()
            h.changeColsCost(n, np.arange(n, dtype=np.int32), np.ascontiguousarray(cost, dtype=float))
            if deadline is not None:
                h.setOptionValue("time_limit", max(0.01, deadline - time.monotonic()))
            h.run()
            check()  # an interrupt that stopped the run ends the extra solves here
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return None
            out[level] = np.asarray(h.getSolution().row_dual)[model.row_blocks["unit"]] / scale
        nz = np.flatnonzero(cost)
        h.addRow(-np.inf, value + 1e-9, len(nz), nz.astype(np.int32), cost[nz].astype(float))
    return out


def _candidates(inst: Instance, P, N, rows: list[dict[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """(U,) bool each: the units where one more bed may lower level 1 (they fit a person or a
    whole family left unplaced) and level 2 (surge beds are used in them, or they fit a single
    person or a family held in a unit that uses surge beds)."""
    U = len(N.unit_fac)
    unit_index = {u.id: k for k, u in enumerate(u for f in inst.facilities for u in f.units)}
    unit_of = np.array([unit_index.get(r["unit_id"], -1) if r["decision"] == "detain" else -1 for r in rows])
    occ = np.bincount(unit_of[unit_of >= 0], minlength=U)
    surged = occ > N.unit_beds
    in_surged = (unit_of >= 0) & surged[np.maximum(unit_of, 0)]
    unplaced = np.array([r["decision"] == "unplaced" for r in rows])
    masks = []
    for who, base in ((unplaced, np.zeros(U, bool)), (in_surged, surged.copy())):
        singles = np.flatnonzero(who & (P.family < 0))
        if len(singles):
            base |= single_units(P, N, singles).any(axis=0)
        for members in family_members(P).values():
            if who[members].any():
                base |= family_units(P, N, members)
        masks.append(base)
    return masks[0], masks[1]


def bed_values(inst: Instance, exact: int = 20, params: SolveParams = SolveParams(),
               deadline: float | None = None, base=None, progress=None) -> dict:
    """Value of one more bed per unit and per facility of a one-day instance.

    The instance is solved here (the base), then ``exact`` units are re-solved (module
    docstring), as many as fit before ``deadline`` (``time.monotonic()``; None: all of them,
    each under ``params``' limit); ``complete`` says whether all were.  ``base``: the instance's
    :class:`optimizer.engine.Result` when already solved with ``params`` (it is not solved
    again).  ``progress(done, total)``, when given, is called after each re-solve.  Returns
    ``{"units": [...], "facilities": [...], "complete", "candidates": {"unplaced", "surge"}}``,
    each entry ``{id, (facility), unplaced_change, surge_change, released_risk_change,
    cost_change, method}``: the re-solved units first, by their changes in the order of the
    levels (most negative first), then the estimates by their LP estimates of the levels; risk
    in effective-risk points, cost in USD over the plan.  Raises ``ValueError`` for a multi-day
    instance."""
    if inst.horizon_days != 1:
        raise ValueError("the value of a bed is computed for one-day plans")
    incomplete = {"units": [], "facilities": [], "complete": False, "candidates": {"unplaced": 0, "surge": 0}}
    if base is not None and base.x is None:  # the limit left only a constructive plan: nothing to price
        return incomplete
    if deadline is not None and time.monotonic() >= deadline:
        return incomplete
    P, N = people_arrays(inst), network_arrays(inst)
    models = build_models(inst, P, N)
    base = base if base is not None else solve(inst, params, deadline=deadline, models=models)
    if base.x is None:
        return incomplete
    if deadline is None:
        lp = _lp_duals(models[0], base.x)
    else:  # HiGHS runs in a child process, as every solve under a limit (optimizer/deadline.py): its
        # thread scheduler must not be started in this process, whose children then could not use threads
        from .deadline import Overrun, SolverDied, run_bounded
        from .settings import SETTINGS

        try:
            lp = run_bounded(lambda _report: _lp_duals(models[0], base.x, deadline),
                             deadline + SETTINGS.grace_s)
        except (Overrun, SolverDied):
            lp = None
    if lp is None:
        return incomplete
    lp = np.round(lp, 4) + 0.0  # + 0.0: no "-0"
    c1, c2 = _candidates(inst, P, N, base.rows)
    unit_ids = [u.id for f in inst.facilities for u in f.units]
    fac_ids = [f.id for f in inst.facilities]
    units = [{"id": unit_ids[u], "facility": fac_ids[N.unit_fac[u]], "unplaced_change": None, "surge_change": None,
              "released_risk_change": float(lp[2, u]), "cost_change": None, "method": "lp_dual"}
             for u in range(len(unit_ids))]
    order = sorted(range(len(units)), key=lambda u: (not c1[u], lp[0, u] if c1[u] else 0, not c2[u],
                                                     lp[1, u] if c2[u] else 0, *lp[:, u], u))
    complete = _re_solve(inst, models, base, units, order[:exact], params, deadline, progress)
    rank = {u["id"]: k for k, u in enumerate(units[v] for v in order)}
    units.sort(key=lambda e: (e["method"] != "re_solve", e["unplaced_change"] or 0, e["surge_change"] or 0,
                              e["released_risk_change"], e["cost_change"] or 0.0, rank[e["id"]]))
    best: dict[str, dict] = {}
    for e in units:  # sorted: the first unit seen is the facility's best
        if e["facility"] not in best:
            best[e["facility"]] = {"id": e["facility"], "best_unit": e["id"],
                                   **{k: e[k] for k in ("released_risk_change", "cost_change", "unplaced_change",
                                                        "surge_change", "method")}}
    return {"units": units, "facilities": list(best.values()), "complete": complete,
            "candidates": {"unplaced": int(c1.sum()), "surge": int((c2 & ~c1).sum())}}


def _re_solve(inst, models, base, units: list[dict], chosen: list[int], params, deadline, progress) -> bool:
    """Solve again with one more bed in each ``chosen`` unit, writing the exact changes into
    ``units``; returns whether every one was solved to optimality before ``deadline``."""
    beds = models[0].row_upper[models[0].row_blocks["unit"]].copy()
    complete = True
    for done, u in enumerate(chosen, 1):
        if deadline is not None and time.monotonic() >= deadline:
            return False  # the whole command's time limit: the rest keep their LP estimate
        for m in models[:2]:
            m.row_upper[m.row_blocks["unit"].start + u] = beds[u] + 1
        res = solve(inst, params, deadline=deadline, models=models)
        for m in models[:2]:
            m.row_upper[m.row_blocks["unit"].start + u] = beds[u]
        if progress is not None:
            progress(done, len(chosen))
        if res.levels_proven < 4:  # stopped by the limit: not an exact value
            complete = False
            continue
        d = {k: res.objective[k] - base.objective[k] for k in ("unplaced", "surge", "released_risk", "cost_usd")}
        units[u].update(released_risk_change=round(d["released_risk"], 4) + 0.0,
                        cost_change=round(d["cost_usd"], 2) + 0.0, unplaced_change=d["unplaced"],
                        surge_change=d["surge"], method="re_solve")
    return complete
