"""Plain HiGHS MIP backend (one model, one solve), for the generic lexicographic driver and the
GAP benchmark; ``bedalloc solve --solver highs`` uses the column-generation engine instead."""

from __future__ import annotations

import time

import numpy as np

from .base import MipParams, MipProblem, MipResult, importable

NAME = "highs-mip"
# every HighsModelStatus (by name) -> termination (base.TERMINATIONS); a limit or an interrupt is
# "time_limit" (the search stopped early), a failure "error"; kUnboundedOrInfeasible cannot be
# told apart and bedalloc's models are bounded, so it is an error too
STATUS = {
    "kOptimal": "optimal", "kModelEmpty": "optimal", "kInfeasible": "infeasible",
    "kTimeLimit": "time_limit", "kInterrupt": "time_limit", "kHighsInterrupt": "time_limit",
    "kSolutionLimit": "time_limit", "kIterationLimit": "time_limit", "kObjectiveBound": "time_limit",
    "kObjectiveTarget": "time_limit", "kMemoryLimit": "error", "kUnbounded": "error", "kUnboundedOrInfeasible": "error",
    "kNotset": "error", "kLoadError": "error", "kModelError": "error", "kPresolveError": "error", "kSolveError": "error",
    "kPostsolveError": "error", "kUnknown": "error",
}
OPTIONS = frozenset({"time_limit", "mip_gap", "threads", "seed", "log"})
FEATURES = frozenset({"families", "multi_day"})


def available() -> bool:
    return importable("highspy")


def version() -> str:
    import highspy

    return f"HiGHS {highspy._core._Highs().version()}"


def solve(problem: MipProblem, params: MipParams) -> MipResult:
    """Solve ``problem`` with HiGHS (passModel in one call)."""
    import highspy

    t0 = time.monotonic()
    h = highspy._core._Highs()  # the base class: no banner before output_flag is set
    h.setOptionValue("output_flag", bool(params.log))
    if params.threads:
        h.setOptionValue("threads", int(params.threads))
    h.setOptionValue("random_seed", int(params.seed))
    h.setOptionValue("mip_rel_gap", float(params.mip_gap))
    h.setOptionValue("mip_abs_gap", float(params.abs_gap))
    if params.time_limit is not None:
        h.setOptionValue("time_limit", max(float(params.time_limit), 0.01))
    A = problem.A.tocsc()
    n = A.shape[1]
    h.passModel(int(n), int(A.shape[0]), int(A.nnz), 1, 1, 0.0,
                np.ascontiguousarray(problem.cost, dtype=float), np.asarray(problem.col_lower, dtype=float),
                np.asarray(problem.col_upper, dtype=float), np.asarray(problem.row_lower, dtype=float),
                np.asarray(problem.row_upper, dtype=float), A.indptr.astype(np.int32), A.indices.astype(np.int32),
                A.data.astype(float), problem.integer.astype(np.int32))
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    has = info.primal_solution_status == 2 or status == highspy.HighsModelStatus.kModelEmpty  # not the headline
    term = STATUS.get(status.name, "error")
    x = np.asarray(h.getSolution().col_value) if has else None
    return MipResult(
        termination=term, has_solution=has, x=x,
        objective=float(problem.cost @ x) if has else None,
        bound=float(info.mip_dual_bound) if has else None,
        native_status=h.modelStatusToString(status), solver_version=version(), runtime_s=time.monotonic() - t0,
    )
