"""optimizer/arrays.py: unique_rows against numpy's own unique of rows."""

from __future__ import annotations

import numpy as np

from optimizer.arrays import unique_rows


def test_unique_rows_is_numpys_unique_of_rows():
    """arrays.unique_rows: np.unique(axis=0)'s rows in its order, first occurrences and inverse,
    for booleans, negative and large integers."""
    rng = np.random.default_rng(3)
    for trial in range(300):
        shape = (int(rng.integers(1, 40)), int(rng.integers(1, 6)))
        a = [rng.integers(0, 2, shape).astype(bool), rng.integers(-3, 3, shape),
             rng.integers(0, 2**40, shape) * rng.integers(0, 2, shape)][trial % 3]
        rows, first, inverse = np.unique(a, axis=0, return_index=True, return_inverse=True)
        got_rows, got_first, got_inverse = unique_rows(a)
        assert got_rows.dtype == rows.dtype and np.array_equal(got_rows, rows)
        assert np.array_equal(got_first, first) and np.array_equal(got_inverse, inverse.ravel())
