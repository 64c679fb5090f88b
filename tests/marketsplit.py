"""A hard little MIP for time-limit tests of the backends (tests/test_backends.py,
tests/test_gurobi.py)."""

from __future__ import annotations

import numpy as np

from optimizer.backends.base import MipProblem


def market_split(m: int, seed: int, slack: bool) -> MipProblem:
    """A market-split problem (Cornuejols and Dawande 1999): ``m`` equality rows over 10 (m - 1)
    binaries with coefficients in [0, 99] and right-hand sides half the row sums; finding any
    feasible point is very hard for branch and bound.  With ``slack`` the rows get free
    deviation columns whose sum is minimised: x = 0 is feasible at once, proving the optimum is
    still very hard."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    n = 10 * (m - 1)
    a = rng.integers(0, 100, size=(m, n)).astype(float)
    d = np.floor(a.sum(1) / 2)
    if not slack:
        return MipProblem(sp.csc_matrix(a), d, d, np.zeros(n), np.ones(n), rng.integers(1, 10, n).astype(float),
                          np.ones(n, bool))
    A = sp.hstack([sp.csc_matrix(a), sp.eye(m), -sp.eye(m)], format="csc")
    return MipProblem(A, d, d, np.zeros(n + 2 * m), np.r_[np.ones(n), np.full(2 * m, np.inf)],
                      np.r_[np.zeros(n), np.ones(2 * m)], np.ones(n + 2 * m, bool))
