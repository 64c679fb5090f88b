"""The solver-neutral interface every MIP backend implements (ENGINEERING.md §5.3).

A backend solves one :class:`MipProblem` (minimise ``cost @ x`` subject to
``row_lower <= A @ x <= row_upper``, ``col_lower <= x <= col_upper``, ``x`` integer where
``integer``) under shared :class:`MipParams` and returns a :class:`MipResult`.  Whether a solution
exists is decided from the solver's primal solution status, never from its headline status
(ENGINEERING.md §4, issue 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

TERMINATIONS = ("optimal", "time_limit", "infeasible", "error")


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


class BackendError(Exception):
    """A backend that is not installed, or an option it does not accept."""
