"""Gurobi backends (optional: ``pip install -e '.[gurobi]'``, also in the dev extra for the
tests; docs/api.md "Gurobi").

``gurobi`` solves one :class:`MipProblem` per level (the generic lexicographic driver
:func:`optimizer.lexico.solve_with_backend`, like ``highs-mip``); ``gurobi-lex``
(:mod:`optimizer.backends.gurobi_lex`) solves the four levels in one model with Gurobi's native
hierarchical multi-objective optimisation (:func:`hierarchical`).  The pip package ships a
size-limited licence; a model above its limit raises :class:`BackendError` with the reason.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from .base import BackendError, MipParams, MipProblem, MipResult, importable

NAME = "gurobi"
# every gurobipy GRB.Status (by name) -> termination (base.TERMINATIONS); a limit or an interrupt
# is "time_limit" (stopped early), SUBOPTIMAL too (a solution, optimality not proven); bedalloc sets
# no cutoff and its models are bounded, so CUTOFF, UNBOUNDED and INF_OR_UNBD are errors
STATUS = {
    "OPTIMAL": "optimal", "INFEASIBLE": "infeasible", "TIME_LIMIT": "time_limit", "NODE_LIMIT": "time_limit",
    "ITERATION_LIMIT": "time_limit", "SOLUTION_LIMIT": "time_limit", "INTERRUPTED": "time_limit",
    "USER_OBJ_LIMIT": "time_limit", "WORK_LIMIT": "time_limit", "SUBOPTIMAL": "time_limit",
    "LOADED": "error", "CUTOFF": "error", "INF_OR_UNBD": "error", "UNBOUNDED": "error", "NUMERIC": "error",
    "INPROGRESS": "error", "MEM_LIMIT": "error", "LOCALLY_OPTIMAL": "error", "LOCALLY_INFEASIBLE": "error",
}
OPTIONS = frozenset({"time_limit", "mip_gap", "threads", "seed", "log"})
FEATURES = frozenset({"families", "multi_day"})
SIZE_LIMIT_ERROR = 10010  # GRB.Error.SIZE_LIMIT_EXCEEDED


def unavailable_reason() -> str | None:
    """Why Gurobi cannot be used here (gurobipy missing, or no licence), None when it can."""
    if not importable("gurobipy"):
        return "gurobipy is not installed: pip install -e '.[gurobi]'"
    try:
        _env(False).dispose()
    except Exception as e:  # gurobipy.GurobiError: no valid licence
        return f"Gurobi cannot start: {e}"
    return None


def available() -> bool:
    return unavailable_reason() is None


@functools.cache
def version() -> str:
    import gurobipy as gp

    text = "Gurobi " + ".".join(map(str, gp.gurobi.version()))
    return text + (" (size-limited licence)" if _size_limited() else "")


def _size_limited() -> bool:
    """Whether the licence is the pip package's size-limited one (probed with an empty model one
    column above its limit of 2000)."""
    import gurobipy as gp

    with _env(False) as env, gp.Model(env=env) as m:
        m.addMVar(2001)
        try:
            m.optimize()
        except gp.GurobiError as e:
            return e.errno == SIZE_LIMIT_ERROR
    return False


def _env(log: bool):
    import gurobipy as gp

    env = gp.Env(empty=True)
    env.setParam("OutputFlag", int(bool(log)))  # before start: no licence banner
    env.start()
    return env


def _build(env, problem_or_model, params: MipParams):
    """A gurobipy model of the rows and columns of ``problem_or_model`` (a MipProblem or a
    LexMip), with the shared parameters; returns ``(model, x)``."""
    import gurobipy as gp

    p = problem_or_model
    m = gp.Model(env=env)
    integer = getattr(p, "integer", None)
    vtype = np.where(integer, "I", "C") if integer is not None else "I"
    x = m.addMVar(p.A.shape[1], lb=np.asarray(p.col_lower, float), ub=np.asarray(p.col_upper, float), vtype=vtype)
    A = p.A.tocsr()
    lo, hi = np.asarray(p.row_lower, float), np.asarray(p.row_upper, float)
    eq = lo == hi
    for mask, sense, rhs in ((eq, "=", hi), (~eq & np.isfinite(hi), "<", hi), (~eq & np.isfinite(lo), ">", lo)):
        if mask.any():
            m.addMConstr(A[mask], x, sense, rhs[mask])
    if params.threads:
        m.Params.Threads = int(params.threads)
    m.Params.Seed = int(params.seed)
    if params.time_limit is not None:
        m.Params.TimeLimit = max(float(params.time_limit), 0.01)
    return m, x


def _optimize(m, what: str) -> None:
    import gurobipy as gp

    try:
        m.optimize()
    except gp.GurobiError as e:
        if e.errno == SIZE_LIMIT_ERROR:
            raise BackendError(f"{what} ({m.NumVars} variables, {m.NumConstrs} rows) is above the Gurobi "
                               f"licence's size limit: {e}") from None
        raise


def _status(m) -> str:
    from gurobipy import GRB

    return next(n for n in STATUS if getattr(GRB.Status, n) == m.Status)


def solve(problem: MipProblem, params: MipParams) -> MipResult:
    """Solve ``problem`` with Gurobi (rows added as matrices, one call per sense)."""
    t0 = time.monotonic()
    with _env(params.log) as env:
        m, x = _build(env, problem, params)
        with m:
            m.setObjective(np.asarray(problem.cost, float) @ x)
            m.Params.MIPGap = float(params.mip_gap)
            m.Params.MIPGapAbs = float(params.abs_gap)
            _optimize(m, "the level's model")
            status = _status(m)
            has = m.SolCount > 0  # not the headline status
            xv = np.asarray(x.X) if has else None
            bound = float(m.ObjBound) if has and m.IsMIP else (float(m.ObjVal) if has else None)
    return MipResult(
        termination=STATUS[status], has_solution=has, x=xv,
        objective=float(problem.cost @ xv) if has else None, bound=bound,
        native_status=status, solver_version=version(), runtime_s=time.monotonic() - t0,
    )


def hierarchical(model, params, deadline: float | None):
    """The four levels of ``model`` (a :class:`optimizer.model.LexMip`) in one Gurobi model, by
    hierarchical multi-objective optimisation: level k has priority 4 - k (MODEL.md §4's order);
    levels 1-3 are integer-valued, so each of their passes is solved to a zero gap and held for the
    later passes by ``ObjNAbsTol`` 0.5 (no degradation at all); level 4 to ``params.mip_gap``.
    Returns the tuple of :func:`optimizer.lexico.solve_lexicographic`; raises ``RuntimeError``
    when Gurobi fails."""
    left = None if deadline is None else deadline - time.monotonic()
    if left is not None and left <= 0.05:
        return None, 0, [], ["no time left for the solver"], version()
    mp = MipParams(time_limit=left, mip_gap=params.mip_gap, threads=params.threads, seed=params.seed, log=params.log)
    with _env(params.log) as env:
        m, x = _build(env, model, mp)
        with m:
            for k in range(4):
                exact = k < 3
                m.setObjectiveN(np.asarray(model.objectives[k], float) @ x, index=k, priority=4 - k,
                                abstol=0.5 if exact else 0.0, reltol=0.0, name=f"level{k + 1}")
                penv = m.getMultiobjEnv(k)  # pass k: the level of priority 4 - k
                penv.setParam("MIPGap", 0.0 if exact else float(params.mip_gap))
                # no MIPGapAbs below one unit here, unlike a single-level solve: a pass that stops
                # within it lets the later passes degrade its level (Gurobi 13.0.3 on tiny: one
                # more person unplaced with MIPGapAbs 0.99 and ObjNAbsTol 0.5)
            _optimize(m, "the model")
            return _passes(m, x)


def _passes(m, x):
    """``(x, proven, bounds, statuses, version)`` of a solved hierarchical model: each level's
    status and bound from its pass (``ObjNPass``, ``ObjPassN*``); a level without a pass of its
    own in a model Gurobi solved to optimality was settled by presolve (its value is its bound)."""
    from gurobipy import GRB

    names = {getattr(GRB.Status, n): n for n in STATUS}
    has = m.SolCount > 0
    settled = has and _status(m) == "OPTIMAL"
    proven, bounds, statuses = 0, [], []
    for k in range(4):
        m.Params.ObjNumber = k
        if m.ObjNPass < 0:  # no pass: settled by presolve, or never reached before the limit
            if not settled:
                break
            status, bound = "OPTIMAL", float(m.ObjNVal)
        else:
            m.Params.ObjPassNumber = m.ObjNPass
            status, bound = names.get(m.ObjPassNStatus, "LOADED"), float(m.ObjPassNObjBound)
            if status == "LOADED":  # a pass the limit never started
                break
            if STATUS[status] == "error":
                raise RuntimeError(f"{version()}: level {k + 1}: {status}")
        statuses.append(status if m.ObjNPass >= 0 else "OPTIMAL (presolve, no pass)")
        bounds.append(bound)
        if STATUS[status] == "optimal" and proven == k:
            proven += 1
    return (np.rint(x.X).astype(np.int64) if has else None), (proven if has else 0), bounds, statuses, version()
