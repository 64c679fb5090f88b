"""bedalloc: exact, verified planning of detention beds and Alternatives-to-Detention releases.

Python API (docs/api.md, :mod:`optimizer.api`): :func:`read_instance`, :func:`solve`,
:func:`verify`, :func:`explain` and :func:`whatif`, with frozen results (:class:`Result`,
:class:`Level`, :class:`WhatIf`) and documented errors (:class:`InputError`,
:class:`BackendError`, :class:`SolverError`).  Heavy modules are imported on first use.
"""

from .api import (
    BackendError, InputError, Level, Result, SolverError, WhatIf, explain, read_instance, solve, verify, whatif,
)

__version__ = "0.1.0"
__all__ = ["read_instance", "solve", "verify", "explain", "whatif", "Result", "Level", "WhatIf", "InputError",
           "BackendError", "SolverError", "__version__"]
