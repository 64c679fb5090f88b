"""The solver-neutral interface every MIP backend implements (ENGINEERING.md §5.3).

A backend solves one :class:`MipProblem` (minimise ``cost @ x`` subject to
``row_lower <= A @ x <= row_upper``, ``col_lower <= x <= col_upper``, ``x`` integer where
``integer``) under shared :class:`MipParams` and returns a :class:`MipResult`.  Whether a solution
exists is decided from the solver's primal solution status, never from its headline status
(ENGINEERING.md §4, issue 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing the CLI must stay light
    import numpy as np
    import scipy.sparse as sp

TERMINATIONS = ("optimal", "time_limit", "infeasible", "error")
MAX_TIME_LIMIT = 1e7  # seconds (about 115 days); larger values overflow some solvers' integer limits
OPTIONS = ("time_limit", "mip_gap", "threads", "seed", "log")  # shared parameters a backend may honour
FEATURES = ("families", "multi_day")  # what a backend may model beyond one day without families


class BackendError(Exception):
    """A backend that is not installed, an option it does not accept, or a model it cannot take
    (exit code 2)."""

    exit_code = 2


@dataclass(frozen=True)
class MipProblem:
    """Arrays of one MIP: ``A`` (m, n) CSC; ``row_lower``, ``row_upper`` (m,); ``col_lower``,
    ``col_upper``, ``cost`` (n,) float (infinite bounds allowed); ``integer`` (n,) bool."""

    A: sp.csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    cost: np.ndarray
    integer: np.ndarray


@dataclass(frozen=True)
class MipParams:
    """Shared parameters: ``time_limit`` (s, None = none), relative ``mip_gap``, absolute
    ``abs_gap`` (below one unit proves an integer-valued objective), ``threads`` (0 = solver
    default), ``seed``, ``log``."""

    time_limit: float | None = None
    mip_gap: float = 1e-6
    abs_gap: float = 1e-6
    threads: int = 1
    seed: int = 0
    log: bool = False

    def __post_init__(self):
        problems = [
            f"{name} {value!r}: {why}" for name, value, ok, why in (
                ("time_limit", self.time_limit, self.time_limit is None or 0 < self.time_limit <= MAX_TIME_LIMIT,
                 f"must be positive seconds up to {MAX_TIME_LIMIT:.0f}, or None"),
                ("mip_gap", self.mip_gap, 0 <= self.mip_gap < 1, "must be in [0, 1)"),
                ("abs_gap", self.abs_gap, 0 <= self.abs_gap < float("inf"), "must be >= 0"),
                ("threads", self.threads, int(self.threads) == self.threads and 0 <= self.threads <= 256,
                 "must be a whole number from 0 to 256"),
                ("seed", self.seed, int(self.seed) == self.seed and 0 <= self.seed < 2**31,
                 "must be a whole number from 0 to 2**31 - 1"),
            ) if not ok
        ]
        if problems:
            raise BackendError("invalid solver parameters: " + "; ".join(problems))


@dataclass(frozen=True)
class MipResult:
    """``termination`` in :data:`TERMINATIONS`; ``x`` (n,) when ``has_solution``; ``objective``
    of ``x`` as the solver computed it; ``bound`` the proven lower bound (None when unknown);
    ``native_status`` the solver's own status string."""

    termination: str
    has_solution: bool
    x: np.ndarray | None
    objective: float | None
    bound: float | None
    native_status: str
    solver_version: str
    runtime_s: float


def importable(module: str) -> bool:
    """Whether ``module`` can be imported (a backend's ``available()``)."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True
