"""OR-Tools CP-SAT backend.

CP-SAT needs integer data (ENGINEERING.md §4, issues 10 and 15).  The scaling is exact and
documented here:

* constraint matrix and row bounds: integers already (beds, people, family sizes); passed as is,
  a non-integer coefficient is refused (:class:`BackendError`);
* released risk (level 3): the model counts it in units of 0.0001 risk points
  (``optimizer.model.RISK_SCALE``), the resolution MODEL.md §2 gives risk, so it is integer and
  passed exactly;
* cost (level 4, USD): every coefficient is scaled to whole cents (``COST_RESOLUTION`` = 0.01
  USD) and rounded.  The plan is optimal for the rounded costs; its true cost differs from the
  float optimum by at most 0.005 USD per unit of flow changed.  ``tests/test_backends.py``
  proves that the scaled optimum equals the float optimum (to 1e-6 relative) on the tiny
  instance, 100 random instances against the brute force and a regional instance against HiGHS;
* an infinite column bound becomes the sum of the finite column bounds plus the largest row
  bound (at most ``INT_BOUND``); an objective whose range would not fit in 64-bit integers is
  a solver failure on valid input (:class:`~optimizer.errors.SolverError`, exit 4).
"""

from __future__ import annotations

import time

import numpy as np

from ..errors import SolverError
from .base import BackendError, MipParams, MipProblem, MipResult, importable

COST_RESOLUTION = 0.01
INT_BOUND = 10**9
NAME = "cpsat"
# every CpSolverStatus (by name) -> termination; FEASIBLE means a limit stopped the proof, UNKNOWN
# that a limit stopped the search before any solution
STATUS = {"OPTIMAL": "optimal", "FEASIBLE": "time_limit", "INFEASIBLE": "infeasible", "UNKNOWN": "time_limit",
          "MODEL_INVALID": "error"}
OPTIONS = frozenset({"time_limit", "mip_gap", "threads", "seed", "log"})
FEATURES = frozenset({"families", "multi_day"})


def available() -> bool:
    return importable("ortools.sat.python.cp_model")


def version() -> str:
    import ortools

    return f"OR-Tools CP-SAT {ortools.__version__}"


def _as_int(values: np.ndarray, what: str) -> np.ndarray:
    r = np.rint(values)
    if np.any(np.abs(values - r) > 1e-9):
        raise BackendError(f"cpsat: {what} must be integers")
    return r.astype(np.int64)


def solve(problem: MipProblem, params: MipParams) -> MipResult:
    """Solve ``problem`` with CP-SAT (every column integer). Raises :class:`BackendError` for
    non-integer constraint data."""
    from ortools.sat.python import cp_model

    t0 = time.monotonic()
    A = problem.A.tocsr()
    coef = _as_int(A.data, "constraint coefficients")
    # an infinite column bound becomes the sum of the finite column bounds plus the largest row
    # bound: bedalloc's unbounded columns carry people (flows, beds above a guaranteed minimum),
    # at most everyone; a smaller domain keeps the objective within int64
    col_fin = np.concatenate([v[np.isfinite(v)] for v in (problem.col_lower, problem.col_upper)])
    row_fin = np.concatenate([v[np.isfinite(v)] for v in (problem.row_lower, problem.row_upper)])
    big = min(INT_BOUND, 1.0 + float(np.abs(col_fin).sum()) + float(np.abs(row_fin).max(initial=0.0)))
    lo = np.where(np.isfinite(problem.col_lower), problem.col_lower, -big)
    hi = np.where(np.isfinite(problem.col_upper), problem.col_upper, big)
    lo, hi = _as_int(lo, "column bounds"), _as_int(hi, "column bounds")
    m = cp_model.CpModel()
    xs = [m.new_int_var(int(a), int(b), "") for a, b in zip(lo.tolist(), hi.tolist())]
    rlo, rhi = problem.row_lower, problem.row_upper
    for i in range(A.shape[0]):
        s, e = A.indptr[i], A.indptr[i + 1]
        expr = cp_model.LinearExpr.weighted_sum([xs[j] for j in A.indices[s:e].tolist()], coef[s:e].tolist())
        a = int(np.ceil(rlo[i] - 1e-9)) if np.isfinite(rlo[i]) else cp_model.INT_MIN
        b = int(np.floor(rhi[i] + 1e-9)) if np.isfinite(rhi[i]) else cp_model.INT_MAX
        m.add_linear_constraint(expr, a, b)
    cost = problem.cost
    scale = 1.0
    if np.any(np.abs(cost - np.rint(cost)) > 1e-9):
        scale = 1.0 / COST_RESOLUTION
    if float(np.abs(cost * scale).sum()) * max(np.abs(lo).max(initial=0), np.abs(hi).max(initial=0)) >= 2.0**62:
        raise SolverError("cpsat: the objective does not fit in 64-bit integers at a resolution of 0.01 "
                          "(valid costs this large need another solver)")
    icost = np.rint(cost * scale).astype(np.int64)
    nz = np.flatnonzero(icost)
    m.minimize(cp_model.LinearExpr.weighted_sum([xs[j] for j in nz.tolist()], icost[nz].tolist()))
    solver = cp_model.CpSolver()
    sp = solver.parameters
    if params.time_limit is not None:
        sp.max_time_in_seconds = max(float(params.time_limit), 0.01)
    if params.threads:  # 0: CP-SAT chooses
        sp.num_workers = int(params.threads)
    sp.random_seed = int(params.seed)
    sp.relative_gap_limit = float(params.mip_gap)
    sp.absolute_gap_limit = float(params.abs_gap) * scale
    sp.log_search_progress = bool(params.log)
    status = solver.solve(m)
    native = solver.status_name(status)
    has = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)  # CP-SAT's solution status
    term = STATUS.get(native, "error")
    x = np.array([solver.value(v) for v in xs], dtype=float) if has else None
    return MipResult(
        termination=term, has_solution=has, x=x,
        objective=float(cost @ x) if has else None,
        bound=float(solver.best_objective_bound) / scale if has or status == cp_model.OPTIMAL else None,
        native_status=native, solver_version=version(), runtime_s=time.monotonic() - t0,
    )
