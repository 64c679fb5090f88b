"""The value of one more bed in each housing unit and each facility (one-day plans).

Two methods, and the summary says which one gave each number:

* ``lp_dual`` (every unit): the dual value of the unit's bed row in the LP relaxation of
  level 3 of the class model, with levels 1-2 held at their optimal values: the change in
  released risk.  It is the exact rate of change for a small change of capacity, but for a
  whole bed only an estimate (a degenerate LP has several optimal duals and one more bed may
  change the optimal basis); no cost change is estimated.
* ``re_solve`` (the ``exact`` most valuable units by the estimate, and their facilities): the
  instance solved again to lexicographic optimality with one more bed in the unit, on the model
  built once (only the unit's bed row changes); the changes of all four levels are exact.

A facility's value is that of its best unit (one more bed placed where it helps most).
"""

from __future__ import annotations

import time

import numpy as np

from .instance import Instance
from .model import RISK_SCALE, network_arrays, people_arrays
from .solve import SolveParams, build_models, solve


def _risk_duals(model, x: np.ndarray, deadline: float | None = None) -> np.ndarray | None:
    """Duals of the unit bed rows (U,) in the LP relaxation of level 3 with levels 1-2 held at
    ``x``'s values: released risk (points) per bed; None when ``deadline`` stops the LP."""
    import highspy
    import scipy.sparse as sp

    holds = np.vstack([model.objectives[0], model.objectives[1]])
    A = sp.vstack([model.A, sp.csr_matrix(holds)], format="csc")
    rlo = np.concatenate([model.row_lower, [-np.inf, -np.inf]])
    rhi = np.concatenate([model.row_upper, holds @ x + 1e-9])
    h = highspy._core._Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    n = A.shape[1]
    h.passModel(int(n), int(A.shape[0]), int(A.nnz), 1, 1, 0.0, np.ascontiguousarray(model.objectives[2]),
                model.col_lower, model.col_upper, rlo, rhi, A.indptr.astype(np.int32), A.indices.astype(np.int32),
                A.data, np.zeros(n, np.int32))
    if deadline is not None:
        h.setOptionValue("time_limit", max(0.01, deadline - time.monotonic()))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.asarray(h.getSolution().row_dual)[model.row_blocks["unit"]] / RISK_SCALE


def bed_values(inst: Instance, exact: int = 20, params: SolveParams = SolveParams(),
               deadline: float | None = None, base=None) -> dict:
    """Value of one more bed per unit and per facility of a one-day instance.

    The instance is solved here (the base), then ``exact`` units are re-solved, as many as fit
    before ``deadline`` (``time.monotonic()``; None: all of them, each under ``params``' limit);
    ``complete`` says whether all were.  ``base``: the instance's :class:`optimizer.solve.Result`
    when already solved with ``params`` (it is not solved again).  Returns ``{"units": [...],
    "facilities": [...]}``, each entry ``{id, (facility), released_risk_change, cost_change,
    unplaced_change, surge_change, method}`` sorted by the released-risk change (most negative
    first), then the cost change; risk in effective-risk points, cost in USD over the plan.
    Raises ``ValueError`` for a multi-day instance."""
    if inst.horizon_days != 1:
        raise ValueError("the value of a bed is computed for one-day plans")
    incomplete = {"units": [], "facilities": [], "complete": False}
    if base is not None and base.x is None:  # the limit left only a constructive plan: nothing to price
        return incomplete
    if deadline is not None and time.monotonic() >= deadline:
        return incomplete
    P, N = people_arrays(inst), network_arrays(inst)
    models = build_models(inst, P, N)
    model = models[0]
    base = base if base is not None else solve(inst, params, deadline=deadline, models=models)
    if base.x is None:
        return incomplete
    if deadline is None:
        risk_lp = _risk_duals(model, base.x)
    else:  # HiGHS runs in a child process, as every solve under a limit (optimizer/deadline.py): its
        # thread scheduler must not be started in this process, whose children then could not use threads
        from .deadline import GRACE_S, Overrun, SolverDied, run_bounded

        try:
            risk_lp = run_bounded(lambda _report: _risk_duals(model, base.x, deadline), deadline + GRACE_S)
        except (Overrun, SolverDied):
            risk_lp = None
    if risk_lp is None:
        return incomplete
    unit_ids = [u.id for f in inst.facilities for u in f.units]
    fac_ids = [f.id for f in inst.facilities]
    units = [{"id": unit_ids[u], "facility": fac_ids[N.unit_fac[u]],
              "released_risk_change": round(float(risk_lp[u]), 4) + 0.0,  # + 0.0: no "-0"
              "cost_change": None, "unplaced_change": None, "surge_change": None, "method": "lp_dual"}
             for u in range(len(unit_ids))]
    order = sorted(range(len(units)), key=lambda u: (units[u]["released_risk_change"], u))
    beds = model.row_upper[model.row_blocks["unit"]].copy()
    complete = True
    for u in order[:exact]:
        if deadline is not None and time.monotonic() >= deadline:
            complete = False  # the whole command's time limit: the rest keep their LP estimate
            break
        for m in models[:2]:
            m.row_upper[m.row_blocks["unit"].start + u] = beds[u] + 1
        res = solve(inst, params, deadline=deadline, models=models)
        for m in models[:2]:
            m.row_upper[m.row_blocks["unit"].start + u] = beds[u]
        if res.levels_proven < 4:  # stopped by the limit: not an exact value
            complete = False
            continue
        d = {k: res.objective[k] - base.objective[k] for k in ("unplaced", "surge", "released_risk", "cost_usd")}
        units[u].update(released_risk_change=round(d["released_risk"], 4), cost_change=round(d["cost_usd"], 2),
                        unplaced_change=d["unplaced"], surge_change=d["surge"], method="re_solve")
    # exact values first (by unplaced, surge, risk and cost change), then the estimates by risk
    units.sort(key=lambda e: (e["method"] != "re_solve", e["unplaced_change"] or 0, e["surge_change"] or 0,
                              e["released_risk_change"], e["cost_change"] or 0.0, e["id"]))
    best: dict[str, dict] = {}
    for e in units:  # sorted: the first unit seen is the facility's best
        if e["facility"] not in best:
            best[e["facility"]] = {"id": e["facility"], "best_unit": e["id"],
                                   **{k: e[k] for k in ("released_risk_change", "cost_change", "unplaced_change",
                                                        "surge_change", "method")}}
    return {"units": units, "facilities": list(best.values()), "complete": complete}
