"""Array helpers shared by the model code and the reasons (numpy only)."""

from __future__ import annotations

import numpy as np


def unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(a, axis=0, return_index=True, return_inverse=True)`` of a 2-D integer or
    boolean array: the distinct rows in the same (lexicographic) order, the index of each one's
    first occurrence and the inverse as a flat array.  Each row is shifted to non-negative values
    and compared as one big-endian byte string, whose byte order is the numeric order: about ten
    times as fast as numpy's field-by-field sort of the rows on 66,157 rows of 4 columns."""
    b = a.astype(np.int64)
    b = np.ascontiguousarray((b - b.min(axis=0, initial=0)).astype(">u8"))
    _, first, inverse = np.unique(b.view(np.dtype((np.void, 8 * b.shape[1]))).ravel(), return_index=True,
                                  return_inverse=True)
    return a[first], first, inverse.ravel()
