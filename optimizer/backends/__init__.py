"""MIP backends behind one interface (:mod:`optimizer.backends.base`).

``highs`` is bedalloc's own engine (:mod:`optimizer.lexico`: column generation on optimal faces);
the other backends (``highs-mip`` is plain HiGHS, one MIP per level) solve each lexicographic
level as a MIP with the earlier levels held by rows
(:func:`optimizer.lexico.solve_with_backend`); ``flow`` solves the network special case (one day,
no families) as one min-cost flow with the levels combined in integer costs.  Modules are imported only when used.
"""

from __future__ import annotations

import importlib

from .base import BackendError

MODULES = {"highs-mip": "highs", "cpsat": "cpsat", "scip": "scip", "flow": "flow"}
NAMES = ("highs", *MODULES, "pyomo:highs", "pyomo:cbc", "pyomo:glpk")
MIP = ("highs-mip", "cpsat", "scip")  # backends that solve a MipProblem (the others take the model)


def get(name: str):
    """The backend module called ``name`` (not ``highs``). Raises :class:`BackendError` for an
    unknown or unavailable backend."""
    if name.startswith("pyomo:"):
        from . import pyomo_model

        solver = name.split(":", 1)[1]
        if solver not in pyomo_model.SOLVERS:
            raise BackendError(f"unknown Pyomo solver {solver!r}; known: {', '.join(pyomo_model.SOLVERS)}")
        if not pyomo_model.available(solver):
            raise BackendError(f"solver {name!r} is not available on this machine "
                               f"(Pyomo needs the {pyomo_model.SOLVERS[solver]} executable or module)")
        return pyomo_model
    if name not in MODULES:
        raise BackendError(f"unknown solver {name!r}; known: {', '.join(NAMES)}")
    mod = importlib.import_module(f".{MODULES[name]}", __name__)
    if not mod.available():
        raise BackendError(f"solver {name!r} is not available on this machine")
    return mod


def describe() -> list[dict]:
    """Name, availability and version of every backend (for ``bedalloc solvers``)."""
    import highspy

    out = [{"name": "highs", "available": True, "version": f"HiGHS {highspy._core._Highs().version()}"}]
    from . import pyomo_model

    for solver in pyomo_model.SOLVERS:
        ok = pyomo_model.available(solver)
        out.append({"name": f"pyomo:{solver}", "available": ok, "version": pyomo_model.version(solver) if ok else ""})
    for name, mod_name in MODULES.items():
        try:
            mod = importlib.import_module(f".{mod_name}", __name__)
            ok = mod.available()
            out.append({"name": name, "available": ok, "version": mod.version() if ok else ""})
        except ImportError as e:
            out.append({"name": name, "available": False, "version": f"({e})"})
    return out
