"""SCIP backend through OR-Tools' linear solver wrapper (pywraplp, SCIP bundled with OR-Tools)."""

from __future__ import annotations

import time

import numpy as np

from .base import BackendError, MipParams, MipProblem, MipResult

NAME = "scip"
# every pywraplp result status (by name) -> termination; FEASIBLE and NOT_SOLVED mean a limit
# stopped the search with and without a solution
STATUS = {"OPTIMAL": "optimal", "FEASIBLE": "time_limit", "INFEASIBLE": "infeasible", "NOT_SOLVED": "time_limit",
          "UNBOUNDED": "error", "ABNORMAL": "error", "MODEL_INVALID": "error"}
OPTIONS = frozenset({"time_limit", "mip_gap", "threads", "seed", "log"})
FEATURES = frozenset({"families", "multi_day"})


def _solver():
    from ortools.linear_solver import pywraplp

    return pywraplp.Solver.CreateSolver("SCIP")


def available() -> bool:
    try:
        return _solver() is not None
    except ImportError:
        return False


def version() -> str:
    s = _solver()
    return s.SolverVersion() if s is not None else "SCIP (not available)"


def solve(problem: MipProblem, params: MipParams) -> MipResult:
    """Solve ``problem`` with SCIP. Raises :class:`BackendError` when SCIP is not available."""
    from ortools.linear_solver import pywraplp

    t0 = time.monotonic()
    s = _solver()
    if s is None:
        raise BackendError("scip: SCIP is not available in this OR-Tools build")
    inf = s.infinity()
    lo = np.where(np.isfinite(problem.col_lower), problem.col_lower, -inf).tolist()
    hi = np.where(np.isfinite(problem.col_upper), problem.col_upper, inf).tolist()
    xs = [s.IntVar(a, b, "") if integer else s.NumVar(a, b, "")
          for a, b, integer in zip(lo, hi, problem.integer.tolist())]
    A = problem.A.tocsr()
    rlo = np.where(np.isfinite(problem.row_lower), problem.row_lower, -inf).tolist()
    rhi = np.where(np.isfinite(problem.row_upper), problem.row_upper, inf).tolist()
    for i in range(A.shape[0]):
        c = s.RowConstraint(rlo[i], rhi[i], "")
        for j, v in zip(A.indices[A.indptr[i]:A.indptr[i + 1]].tolist(), A.data[A.indptr[i]:A.indptr[i + 1]].tolist()):
            c.SetCoefficient(xs[j], v)
    obj = s.Objective()
    for j in np.flatnonzero(problem.cost).tolist():
        obj.SetCoefficient(xs[j], float(problem.cost[j]))
    obj.SetMinimization()
    if params.time_limit is not None:
        s.SetTimeLimit(int(max(params.time_limit, 0.01) * 1000))
    if params.threads:
        s.SetNumThreads(int(params.threads))
    s.SetSolverSpecificParametersAsString(
        f"randomization/randomseedshift = {int(params.seed)}\nlimits/absgap = {float(params.abs_gap)}\n"
    )
    if params.log:
        s.EnableOutput()
    mp = pywraplp.MPSolverParameters()
    mp.SetDoubleParam(mp.RELATIVE_MIP_GAP, float(params.mip_gap))
    status = s.Solve(mp)
    native = next((k for k in STATUS if getattr(pywraplp.Solver, k) == status), str(status))
    has = status in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE)  # a solution was kept
    term = STATUS.get(native, "error")
    x = np.array([v.solution_value() for v in xs]) if has else None
    return MipResult(
        termination=term, has_solution=has, x=x,
        objective=float(problem.cost @ x) if has else None,
        bound=float(obj.BestBound()) if has else None,
        native_status=native, solver_version=version(), runtime_s=time.monotonic() - t0,
    )
