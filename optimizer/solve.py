"""Lexicographic solve of the one-day model with HiGHS, decoding to a person-level plan.

Levels (MODEL.md §4) are solved in order on one HiGHS model: each level's optimum is held by a row
``objective_k @ x <= z_k`` (levels 1-3 are integer-valued, so the row is exact) before the next
level is optimised.  Levels 1-3 are solved with an
absolute gap below one unit (proven optimal on their integer grid); level 4 to ``mip_gap``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .instance import Instance
from .model import LEVELS, RISK_SCALE, Model, Network, People, build, network_arrays, people_arrays

@dataclass(frozen=True)
class SolveParams:
    """Shared solver parameters: ``time_limit`` (s, None = none), relative ``mip_gap`` of level 4,
    ``threads`` (0 = solver default), ``seed``, and ``log`` (solver log to the console)."""

    time_limit: float | None = None
    mip_gap: float = 1e-6
    threads: int = 1
    seed: int = 0
    log: bool = False

    def __post_init__(self):
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValueError("time limit must be positive seconds")
        if not 0 <= self.mip_gap < 1:
            raise ValueError("mip gap must be in [0, 1)")
        if self.threads < 0:
            raise ValueError("threads must be >= 0")


@dataclass
class Result:
    """Outcome of :func:`solve`.

    ``termination`` is ``optimal`` or ``time_limit`` (MODEL.md §5); ``levels_proven`` counts the
    leading levels proven optimal; ``objective`` (the model's values), ``bound`` and ``gap`` are keyed by level
    name (cost in USD, released risk in risk points); ``rows`` are the plan.csv rows (strings)."""

    termination: str
    levels_proven: int
    rows: list[dict[str, str]]
    objective: dict[str, float]
    bound: dict[str, float]
    gap: dict[str, float]
    native_status: list[str]
    solver_version: str
    model_size: dict
    model_stats: dict
    timings: dict = field(default_factory=dict)


INITIAL_ARCS = 6  # cheapest arcs per pool in the first restricted model
INITIAL_SEGMENTS = 4  # lowest-risk segments per class in the first restricted model
RC_TOL = 1e-7


class _Restricted:
    """HiGHS on the columns ``cols`` of a :class:`Model` plus the rows holding earlier levels."""

    def __init__(self, model: Model, params: SolveParams, holds: list[tuple[np.ndarray, float]]):
        self.model, self.params, self.holds = model, params, holds

    def run(self, cols: np.ndarray, cost: np.ndarray, integer: bool, gap: tuple[float, float], time_left):
        import highspy
        import scipy.sparse as sp

        m = self.model
        A = m.A[:, cols]
        rlo, rhi = m.row_lower, m.row_upper
        if self.holds:
            H = sp.csc_matrix(np.vstack([h[0][cols] for h in self.holds]))
            A = sp.vstack([A, H], format="csc")
            rlo = np.concatenate([rlo, np.full(len(self.holds), -np.inf)])
            rhi = np.concatenate([rhi, [h[1] for h in self.holds]])
        n = len(cols)
        # The base class: highspy.Highs() calls into HiGHS before options can be set, printing a banner.
        h = highspy._core._Highs()
        h.setOptionValue("output_flag", bool(self.params.log))
        if self.params.threads:
            h.setOptionValue("threads", int(self.params.threads))
        h.setOptionValue("random_seed", int(self.params.seed))
        h.setOptionValue("mip_rel_gap", gap[0])
        h.setOptionValue("mip_abs_gap", gap[1])
        if time_left is not None:
            h.setOptionValue("time_limit", max(time_left, 0.01))
        h.passModel(
            int(n), int(A.shape[0]), int(A.nnz), 1, 1, 0.0,
            np.ascontiguousarray(cost[cols]), m.col_lower[cols], m.col_upper[cols], rlo, rhi,
            A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data,
            np.full(n, 1 if integer else 0, dtype=np.int32),
        )
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        sol = h.getSolution()
        has = info.primal_solution_status == 2  # kSolutionStatusFeasible
        return {
            "optimal": status == highspy.HighsModelStatus.kOptimal and has,
            "status": h.modelStatusToString(status),
            "x": np.asarray(sol.col_value) if has else None,
            "y": np.asarray(sol.row_dual) if (has and not integer) else None,
            "obj": float(info.objective_function_value) if has else None,
            "bound": float(info.mip_dual_bound) if integer else float(info.objective_function_value),
            "version": h.version(),
        }

    def reduced_costs(self, cost: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``cost - A^T y`` over every column of the full model (HiGHS sign convention)."""
        m = self.model
        nb = m.A.shape[0]
        rc = cost - m.A.T @ y[:nb]
        for j, (coef, _) in enumerate(self.holds):
            rc -= coef * y[nb + j]
        return rc


def solve_levels(model: Model, params: SolveParams, deadline: float | None):
    """Solve the four levels in order by exact column generation.

    Each level starts from a restricted set of columns (every column but the moving arcs beyond
    the :data:`INITIAL_ARCS` cheapest per pool and the risk segments beyond the
    :data:`INITIAL_SEGMENTS` lowest per class; columns added at earlier levels stay).  The LP
    relaxation is re-solved, adding every column of negative reduced cost, until none is left: it
    is then the LP optimum of the full model.  The MIP on the restricted columns is solved next;
    its optimum is optimal for the full model when no excluded column has a reduced cost below
    ``z_mip - z_lp`` (any solution using excluded column j costs at least ``z_lp + rc_j``),
    otherwise those columns are added and the MIP is solved again.  When the LP optimum is
    integral it is the MIP optimum and no MIP is solved.

    Returns ``(x, proven, bounds, statuses, version)``; ``x`` is over all columns (None when no
    solution was found), ``proven`` counts the leading levels proven optimal."""
    b = model.blocks
    n = model.A.shape[1]
    active = np.ones(n, dtype=bool)
    arc_idx = np.arange(b["arc"].start, b["arc"].stop)
    active[arc_idx[model.arc_rank >= INITIAL_ARCS]] = False
    seg_idx = np.arange(b["seg"].start, b["seg"].stop)
    active[seg_idx[model.seg_rank >= INITIAL_SEGMENTS]] = False
    holds: list[tuple[np.ndarray, float]] = []
    rm = _Restricted(model, params, holds)
    x_full, proven, bounds, statuses, version = None, 0, [], [], ""

    def left():
        return None if deadline is None else deadline - time.monotonic()

    for k in range(4):
        cost = model.objectives[k]
        integral = k < 3
        gap = (0.0, 0.99) if integral else (float(params.mip_gap), 1e-6)
        done = False
        while True:  # column generation on the LP relaxation
            if left() is not None and left() <= 0.05:
                break
            cols = np.flatnonzero(active)
            lp = rm.run(cols, cost, False, gap, left())
            version = lp["version"]
            if not lp["optimal"]:
                statuses.append(f"LP {lp['status']}")
                break
            rc = rm.reduced_costs(cost, lp["y"])
            add = ~active & (rc < -RC_TOL * max(1.0, float(np.abs(cost).max(initial=0))))
            if not add.any():
                done = True
                break
            active |= add
        if not done:
            break
        z_lp = lp["obj"]
        x_lp = lp["x"]
        if np.all(np.abs(x_lp - np.rint(x_lp)) <= 1e-9):
            res = {"optimal": True, "status": "Optimal (LP integral)", "x": x_lp, "obj": z_lp, "bound": z_lp}
        else:
            while True:
                cols = np.flatnonzero(active)
                res = rm.run(cols, cost, True, gap, left())
                if not res["optimal"]:
                    break
                slack = res["obj"] - z_lp
                if integral and slack < 1.0 - 1e-6:
                    slack = 0.0  # integer objective: the LP bound rounds up to the incumbent
                add = ~active & (rc < slack - RC_TOL * max(1.0, abs(z_lp)))
                if not add.any():
                    break
                active |= add
        statuses.append(res["status"])
        if res["x"] is not None:
            x = np.zeros(n)
            x[np.flatnonzero(active)] = res["x"]
            x_new = np.rint(x).astype(np.int64)
            value = float(cost @ x_new)
            if abs(value - res["obj"]) > 1e-6 * max(1.0, abs(res["obj"])) + 1e-3:
                raise RuntimeError(
                    f"HiGHS returned a solution whose level-{k + 1} objective {value} differs from the reported {res['obj']}"
                )
            x_full = x_new
        bounds.append(res["bound"] if res["x"] is not None else float("nan"))
        if not res["optimal"]:
            break
        proven += 1
        if k < 3:
            holds.append((cost, float(cost @ x_full)))
    return x_full, proven, bounds, statuses, version


def all_unplaced(model: Model) -> np.ndarray:
    """A feasible solution that leaves everyone unplaced (the fallback when no incumbent exists)."""
    x = np.zeros(model.A.shape[1], dtype=np.int64)
    b = model.blocks
    x[b["unp"]] = model.col_upper[b["unp"]].astype(np.int64)
    x[b["funp"]] = 1
    return x


def decode(inst: Instance, model: Model, P: People, N: Network, x: np.ndarray) -> list[dict[str, str]]:
    """Turn a model solution into plan.csv rows (MODEL.md §5), deterministically.

    Within a class the released people are the lowest effective risks (ties: instance order), then
    the detained, then the unplaced; detained people of a pool fill arcs and units in column order."""
    n_people = len(P.sex)
    decision = np.full(n_people, "", dtype=object)
    unit = np.full(n_people, -1, dtype=np.int64)
    prog = np.full(n_people, -1, dtype=np.int64)
    decision[P.removed] = "removed"
    b = model.blocks
    get = lambda name: x[b[name]]  # noqa: E731

    pc = model.person_class
    singles = np.flatnonzero(pc >= 0)
    order = singles[np.lexsort((singles, P.eff_units[singles], pc[singles]))]
    C = len(model.col_upper[b["unp"]])
    starts = np.searchsorted(pc[order], np.arange(C + 1))
    released = np.bincount(model.seg_class, weights=get("seg"), minlength=C).astype(np.int64)
    det = np.zeros(C, dtype=np.int64)
    det_classes = np.flatnonzero(model.class_pool >= 0)
    det[det_classes] = get("det")
    unp = get("unp")

    key_people: dict[int, list[int]] = {}
    pool_people: dict[int, list[int]] = {}
    for c in range(C):
        ppl = order[starts[c]:starts[c + 1]]
        k, d = released[c], det[c]
        if k:
            decision[ppl[:k]] = "release"
            key_people.setdefault(int(model.class_progkey[c]), []).extend(ppl[:k].tolist())
        if d:
            decision[ppl[k:k + d]] = "detain"
            pool_people.setdefault(int(model.class_pool[c]), []).extend(ppl[k:k + d].tolist())
        if unp[c]:
            decision[ppl[k + d:]] = "unplaced"

    atd = get("atd")
    for j in np.flatnonzero(atd):
        ppl = key_people[int(model.atd_key[j])]
        take, key_people[int(model.atd_key[j])] = ppl[: atd[j]], ppl[atd[j]:]
        prog[take] = model.atd_prog[j]

    arc = get("arc")
    node_people: dict[int, list[int]] = {}
    for j in np.flatnonzero(arc):
        pool = int(model.arc_pool[j])
        ppl = pool_people[pool]
        take, pool_people[pool] = ppl[: arc[j]], ppl[arc[j]:]
        node_people.setdefault(int(model.arc_node[j]), []).extend(take)
    put = get("put")
    for j in np.flatnonzero(put):
        node = int(model.put_node[j])
        ppl = node_people[node]
        take, node_people[node] = ppl[: put[j]], ppl[put[j]:]
        unit[take] = model.put_unit[j]

    for j in np.flatnonzero(get("fam")):
        mem = model.family_members[model.fam_family[j]]
        decision[mem] = "detain"
        unit[mem] = model.fam_unit[j]
    for f in model.frel_family[get("frel") > 0]:
        decision[model.family_members[f]] = "release"
    for f in np.flatnonzero(get("funp")):
        decision[model.family_members[f]] = "unplaced"
    for j in np.flatnonzero(get("fatd")):
        prog[model.fatd_person[j]] = model.fatd_prog[j]

    fac_ids = [f.id for f in inst.facilities]
    unit_ids = [u.id for f in inst.facilities for u in f.units]
    prog_ids = [p.id for p in inst.atd_programs]
    rows = []
    for i, p in enumerate(inst.people):
        u = unit[i]
        f = N.unit_fac[u] if u >= 0 else -1
        rows.append({
            "person_id": p.id,
            "decision": decision[i],
            "facility_id": fac_ids[f] if u >= 0 else "",
            "unit_id": unit_ids[u] if u >= 0 else "",
            "atd_program_id": prog_ids[prog[i]] if prog[i] >= 0 else "",
            "release_day": "0" if decision[i] == "release" else "",
            "transfer": "1" if (u >= 0 and P.origin[i] >= 0 and P.origin[i] != f) else "0",
            "effective_risk": f"{P.eff[i]:.4f}",
        })
    return rows


def solve(inst: Instance, params: SolveParams = SolveParams(), deadline: float | None = None) -> Result:
    """Solve a validated one-day instance to lexicographic optimality (MODEL.md §4) with HiGHS.

    Returns a :class:`Result` whose ``rows`` still have to be verified (the CLI does so before
    writing).  Raises ``ValueError`` for ``horizon_days > 1`` (not supported yet)."""
    t0 = time.monotonic()
    if deadline is None and params.time_limit is not None:
        deadline = t0 + params.time_limit
    P = people_arrays(inst)
    N = network_arrays(inst)
    model = build(inst, P, N)
    t1 = time.monotonic()
    x, proven, bounds, statuses, version = solve_levels(model, params, deadline)
    t2 = time.monotonic()
    if x is None:
        x = all_unplaced(model)
    rows = decode(inst, model, P, N, x)
    t3 = time.monotonic()
    values = model.objectives @ x + model.offsets
    obj = {name: float(v) for name, v in zip(LEVELS, values)}
    obj["unplaced"] = int(round(obj["unplaced"]))
    obj["surge"] = int(round(obj["surge"]))
    obj["released_risk"] = round(obj["released_risk"] / RISK_SCALE, 4)
    bound, gap = {}, {}
    for k, name in enumerate(LEVELS):
        if k < proven:
            bound[name] = obj[name]
        elif k < len(bounds) and np.isfinite(bounds[k]):
            bb = bounds[k] + model.offsets[k]
            bound[name] = round(bb / RISK_SCALE, 4) if k == 2 else float(bb)
        else:
            bound[name] = None
        if bound[name] is None:
            gap[name] = None
        else:
            inc = obj[name]
            gap[name] = abs(inc - bound[name]) / max(1.0, abs(inc))
    return Result(
        termination="optimal" if proven == 4 else "time_limit",
        levels_proven=proven,
        rows=rows,
        objective=obj,
        bound=bound,
        gap=gap,
        native_status=statuses,
        solver_version=f"HiGHS {version}".strip(),
        model_size=model.size,
        model_stats=model.stats,
        timings={"build": t1 - t0, "solve": t2 - t1, "decode": t3 - t2},
    )
