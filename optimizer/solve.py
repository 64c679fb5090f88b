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


def solve_levels(model: Model, params: SolveParams, deadline: float | None):
    """Solve the four levels in order. Returns (x, proven, bounds, statuses, version)."""
    import highspy

    A = model.A
    n, m = A.shape[1], A.shape[0]
    # The base class: highspy.Highs() calls into HiGHS before options can be set, printing a banner.
    h = highspy._core._Highs()
    h.setOptionValue("output_flag", bool(params.log))
    if params.threads:
        h.setOptionValue("threads", int(params.threads))
    h.setOptionValue("random_seed", int(params.seed))
    h.passModel(
        int(n), int(m), int(A.nnz), 1, 1, 0.0,
        np.ascontiguousarray(model.objectives[0]), model.col_lower, model.col_upper,
        model.row_lower, model.row_upper,
        A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data,
        np.ones(n, dtype=np.int32),
    )
    idx = np.arange(n, dtype=np.int32)
    x = None
    proven = 0
    bounds, statuses = [], []
    for k in range(4):
        if k:
            # No warm start from the previous level: with HiGHS 1.16, setSolution after addRow
            # returned col_value inconsistent with the reported objective (seen on small models).
            h.changeColsCost(n, idx, np.ascontiguousarray(model.objectives[k]))
        if k < 3:
            h.setOptionValue("mip_rel_gap", 0.0)
            h.setOptionValue("mip_abs_gap", 0.99)
        else:
            h.setOptionValue("mip_rel_gap", float(params.mip_gap))
            h.setOptionValue("mip_abs_gap", 1e-6)
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0.05:
                break
            h.setOptionValue("time_limit", left)
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        statuses.append(h.modelStatusToString(status))
        has = info.primal_solution_status == 2  # kSolutionStatusFeasible
        if has:
            x = np.rint(np.asarray(h.getSolution().col_value)).astype(np.int64)
            reported = float(info.objective_function_value)
            if abs(float(model.objectives[k] @ x) - reported) > 1e-6 * max(1.0, abs(reported)) + 1e-3:
                raise RuntimeError(
                    f"HiGHS returned a solution whose level-{k + 1} objective {float(model.objectives[k] @ x)} "
                    f"differs from the reported {reported}"
                )
        bounds.append(float(info.mip_dual_bound) if has else float("nan"))
        if status != highspy.HighsModelStatus.kOptimal or not has:
            break
        proven += 1
        if k < 3:
            z = float(model.objectives[k] @ x)
            nz = np.flatnonzero(model.objectives[k])
            h.addRow(-np.inf, z + 0.5, len(nz), nz.astype(np.int32), model.objectives[k][nz])
    return x, proven, bounds, statuses, h.version()


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
