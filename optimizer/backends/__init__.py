"""MIP backends behind one interface (:mod:`optimizer.backends.base`).

``highs`` is bedalloc's own engine (:mod:`optimizer.lexico`: column generation on optimal faces);
the other backends (``highs-mip`` is plain HiGHS, one MIP per level) solve each lexicographic
level as a MIP with the earlier levels held by rows
(:func:`optimizer.lexico.solve_with_backend`); ``flow`` solves the network special case (one day,
no families) as one min-cost flow with the levels combined in integer costs; ``gurobi`` (level
by level) and ``gurobi-lex`` (Gurobi's hierarchical multi-objective) need the optional gurobipy.  Modules are imported only when used.
"""

from __future__ import annotations

import importlib

from .base import FEATURES, OPTIONS, BackendError
from ..errors import EXIT_OK

MODULES = {"highs-mip": "highs", "cpsat": "cpsat", "scip": "scip", "flow": "flow", "gurobi": "gurobi",
           "gurobi-lex": "gurobi_lex"}
NAMES = ("highs", *MODULES, "pyomo:highs", "pyomo:cbc", "pyomo:glpk")
MIP = ("highs-mip", "cpsat", "scip")  # backends that solve a MipProblem (the others take the model)
OPTION_FLAGS = {"time_limit": "--time-limit", "mip_gap": "--mip-gap", "threads": "--threads", "seed": "--seed",
                "log": "--log"}


def capabilities(name: str) -> tuple[frozenset, frozenset]:
    """``(options, features)`` of backend ``name``: the shared parameters it honours (from
    :data:`base.OPTIONS`) and the model features it supports (:data:`base.FEATURES`).  Raises
    :class:`BackendError` for an unknown or unavailable backend."""
    if name == "highs":
        return frozenset(OPTIONS), frozenset(FEATURES)
    mod = get(name)
    if name.startswith("pyomo:"):
        return mod.OPTIONS[name.split(":", 1)[1]], mod.FEATURES
    return mod.OPTIONS, mod.FEATURES


def check(name: str, given: dict) -> None:
    """Refuse at once a backend that is unknown or not installed, or that cannot honour one of
    the ``given`` shared parameters (name -> value, only those the user set).  Raises
    :class:`BackendError` with one clear message."""
    options, _ = capabilities(name)
    unknown = sorted(set(given) - set(OPTIONS))
    if unknown:
        raise BackendError(f"unknown solver option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
    refused = [k for k in OPTIONS if k in given and k not in options]
    if refused:
        honoured = ", ".join(OPTION_FLAGS[k] for k in OPTIONS if k in options) or "none"
        raise BackendError(f"solver {name!r} cannot honour {', '.join(OPTION_FLAGS[k] for k in refused)} "
                           f"(options it honours: {honoured})")


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
        why = mod.unavailable_reason() if hasattr(mod, "unavailable_reason") else None
        raise BackendError(f"solver {name!r} is not available on this machine" + (f": {why}" if why else ""))
    return mod


def version(name: str) -> str:
    """The version string of an available backend ``name`` (raises :class:`BackendError` when it
    is unknown or unavailable)."""
    if name == "highs":
        import highspy

        return f"HiGHS {highspy._core._Highs().version()}"
    if name.startswith("pyomo:"):
        return get(name).version(name.split(":", 1)[1])
    return get(name).version()


def describe() -> list[dict]:
    """Name, availability, version, honoured options and features of every backend (for
    ``bedalloc solvers``), in :data:`NAMES` order."""
    out = []
    for name in NAMES:
        entry = {"name": name, "available": False, "version": "", "options": [], "features": []}
        try:
            options, features = capabilities(name)
        except (BackendError, ImportError) as e:
            why = str(e).partition("machine: ")[2] if isinstance(e, BackendError) else str(e)
            entry["version"] = f"({why})" if why else ""
        else:
            entry.update(available=True, version=version(name), options=[k for k in OPTIONS if k in options],
                         features=[k for k in FEATURES if k in features])
        out.append(entry)
    return out


def cmd_solvers(args) -> int:
    """``bedalloc solvers``: the backends, whether each is available, its version, options and models."""
    from rich.markup import escape
    from rich.table import Table

    from ..report import console

    t = Table(title="solver backends (bedalloc solve --solver NAME)", title_justify="left")
    for col in ("name", "available", "version", "honours", "models"):
        t.add_column(col)
    for b in describe():  # a version may be an install hint with brackets (pip install -e '.[gurobi]')
        t.add_row(b["name"], "yes" if b["available"] else "no", escape(b["version"]),
                  ", ".join("--" + k.replace("_", "-") for k in b["options"]) or "-",
                  ("multi-day" if "multi_day" in b["features"] else "one day")
                  + (", families" if "families" in b["features"] else ", no families"))
    console(None, soft_wrap=True).print(t)
    return EXIT_OK
