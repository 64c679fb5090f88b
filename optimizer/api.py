"""bedalloc's Python API (docs/api.md): read, solve, verify, explain and what-if.

Every function takes an instance as a path (JSON, MODEL.md format) or as the
:class:`optimizer.instance.Instance` that :func:`read_instance` returns, and raises only the
documented errors:

* :class:`InputError` (``exit_code`` 2): an invalid instance, plan or argument; ``lines`` names
  the file, the record and the field, one problem a line.
* :class:`BackendError` (``exit_code`` 2): an unknown or unavailable solver, a parameter out of
  range or one the solver cannot honour, a model above a solver's licence limit.
* :class:`SolverError` (``exit_code`` 4): a solver failure, or a plan that fails verification.

Results are frozen dataclasses.  Heavy modules (numpy, the solvers) are imported on first call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .backends.base import BackendError
from .errors import InputError, SolverError

if TYPE_CHECKING:
    import pandas

    from .instance import Instance
    from .verifier import Verification

__all__ = ["read_instance", "solve", "verify", "explain", "whatif", "Result", "Level", "WhatIf", "InputError",
           "BackendError", "SolverError"]
LEVELS = ("unplaced", "surge", "released_risk", "cost_usd")  # MODEL.md §4, in priority order


@dataclass(frozen=True)
class Level:
    """One objective level (MODEL.md §4): ``name`` in :data:`LEVELS`; ``value`` the verified
    plan's value (people, surge bed-days, risk points, USD); ``bound`` the proven lower bound
    (None when the solver proved none); ``gap`` = |value - bound| / max(1, |value|) (None without
    a bound); ``proven`` whether the level is proven optimal."""

    name: str
    value: float
    bound: float | None
    gap: float | None
    proven: bool


@dataclass(frozen=True)
class Result:
    """The outcome of :func:`solve`.

    ``termination``: ``optimal`` (all four levels proven) or ``time_limit`` (MODEL.md §5);
    ``levels``: the four :class:`Level` in priority order; ``rows``: the plan, one mapping per
    person in instance order with plan.csv's columns (strings, MODEL.md §5) and ``pinned``;
    ``verification``: the independent verifier's report of ``rows`` (always ``ok``);
    ``solver``, ``solver_version``, ``native_status`` (the solver's status per level),
    ``runtime_s`` (wall-clock seconds of the solve) and ``model_size`` (variables, constraints,
    nonzeros)."""

    termination: str
    levels: tuple[Level, ...]
    rows: tuple[Mapping[str, str], ...]
    verification: Verification
    solver: str
    solver_version: str
    native_status: tuple[str, ...]
    runtime_s: float
    model_size: Mapping[str, int]

    @property
    def objective(self) -> dict[str, float]:
        """Level name -> value."""
        return {lv.name: lv.value for lv in self.levels}

    @property
    def levels_proven(self) -> int:
        """The number of leading levels proven optimal."""
        return next((k for k, lv in enumerate(self.levels) if not lv.proven), len(self.levels))

    def to_pandas(self) -> pandas.DataFrame:
        """The plan as a pandas DataFrame (one row per person; pandas is optional: raises
        ``ImportError`` without it).  ``pandas.DataFrame(result.levels)`` gives the levels."""
        import pandas

        return pandas.DataFrame.from_records(list(self.rows))


@dataclass(frozen=True)
class WhatIf:
    """The outcome of :func:`whatif`: ``base`` and ``whatif`` (the verified levels of each plan
    plus ``released``, ``highest_risk_released``, ``highest_released_for_capacity`` and
    ``transfers``) and ``moved``, the number of people whose decision, unit or program differs."""

    base: Mapping[str, Any]
    whatif: Mapping[str, Any]
    moved: int


def read_instance(path: str | os.PathLike) -> Instance:
    """Read and validate an instance file (JSON, MODEL.md format).  Raises :class:`InputError`
    naming the file, record and field of every problem."""
    from .instance import read_instance as read

    if not isinstance(path, (str, os.PathLike)):
        raise InputError([f"read_instance: expected a file path, got {type(path).__name__}"])
    return read(path)


def _instance(instance) -> Instance:
    from .instance import Instance

    if isinstance(instance, (str, os.PathLike)):
        return read_instance(instance)
    if not isinstance(instance, Instance):
        raise InputError([f"instance: expected a file path or an Instance of read_instance, got "
                          f"{type(instance).__name__}"])
    return instance


def _typed(name: str, value, kinds: tuple, none: bool = False) -> None:
    """Raise :class:`InputError` unless ``value`` is one of ``kinds`` (never a bool), or None when
    ``none``."""
    if (value is None and none) or (isinstance(value, kinds) and not isinstance(value, bool)):
        return
    wanted = " or ".join(k.__name__ for k in kinds) + (" or None" if none else "")
    raise InputError([f"{name}: expected {wanted}, got {type(value).__name__} {value!r}"])


def _params(solver: str, time_limit, mip_gap: float, threads: int, seed: int, log: bool):
    """Checked :class:`optimizer.engine.SolveParams` (raises :class:`InputError` for a wrong
    type, :class:`BackendError` for a value the solver cannot take)."""
    from .backends import check
    from .engine import SolveParams

    _typed("solver", solver, (str,))
    _typed("time_limit", time_limit, (int, float), none=True)
    _typed("mip_gap", mip_gap, (int, float))
    for name, value in (("threads", threads), ("seed", seed)):
        _typed(name, value, (int,))
    params = SolveParams(time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed, log=log, solver=solver)
    check(solver, params.given())
    return params


def solve(instance, *, solver: str = "highs", time_limit: float | None = None, mip_gap: float = 1e-6,
          threads: int = 1, seed: int = 0, log: bool = False) -> Result:
    """Solve ``instance`` to lexicographic optimality (MODEL.md §4) and verify the plan.

    ``solver``: a name of ``bedalloc solvers``; ``time_limit``: seconds for the whole solve (None:
    none; at the limit the best verified plan so far, ``termination`` ``time_limit``);
    ``mip_gap``: relative gap accepted on the cost level; ``threads`` (0 = solver's choice),
    ``seed``, ``log`` (solver log to the console) as ``bedalloc solve``'s options."""
    import time

    from .engine import bound_and_gap, solve as run
    from .verifier import verify as check

    inst = _instance(instance)
    params = _params(solver, time_limit, mip_gap, threads, seed, log)
    t0 = time.monotonic()
    try:
        res = run(inst, params)
    except (BackendError, InputError):
        raise
    except Exception as e:  # a solver or internal failure (the CLI's exit 4)
        raise SolverError(f"{solver}: {type(e).__name__}: {e}") from e
    runtime = time.monotonic() - t0
    report = res.verified or check(inst, res.rows)
    if not report.ok:
        raise SolverError(f"{solver}: the plan failed verification: {report.violations[0]}")
    from .reasons import reasons

    for row, reason in zip(res.rows, reasons(inst, res.rows)[0]):  # plan.csv's reason column
        row["reason"] = reason
    bound, gap = bound_and_gap(report.objective, res.bound)
    levels = tuple(Level(name, report.objective[name], bound[name], gap[name], k < res.levels_proven)
                   for k, name in enumerate(LEVELS))
    return Result(termination=res.termination, levels=levels, rows=tuple(res.rows), verification=report,
                  solver=solver, solver_version=res.solver_version, native_status=tuple(res.native_status),
                  runtime_s=runtime, model_size=dict(res.model_size))


def _rows(plan) -> list[dict[str, str]]:
    """Plan rows from a :class:`Result`, a sequence of row mappings, or a plan.csv path (or the
    folder holding it)."""
    if isinstance(plan, Result):
        return [dict(r) for r in plan.rows]
    if isinstance(plan, (str, os.PathLike)):
        from pathlib import Path

        from .verifier import read_plan

        path = Path(plan)
        return read_plan(path / "plan.csv" if path.is_dir() else path)
    from .verifier import PLAN_COLUMNS

    rows = list(plan) if isinstance(plan, Sequence) else None
    if rows is None or not all(isinstance(r, Mapping) and set(PLAN_COLUMNS) <= set(r) for r in rows):
        raise InputError([f"plan: expected a Result, a plan.csv path or rows with plan.csv's columns "
                          f"({', '.join(PLAN_COLUMNS)}), got {type(plan).__name__}"])
    return [dict(r) for r in rows]


def verify(instance, plan: Result | Sequence[Mapping[str, str]] | str | os.PathLike) -> Verification:
    """Check every rule of MODEL.md §3 and recompute the four levels of ``plan`` (a
    :class:`Result`, rows with plan.csv's columns, or a plan.csv path or its folder).  Returns
    the verifier's report (``ok``, ``violations``, ``objective``, ``counts``, ...); a plan that
    breaks rules is a report with violations, not an exception.  Raises :class:`InputError`
    for an unreadable plan file."""
    from .verifier import verify as check

    return check(_instance(instance), _rows(plan))


def explain(instance, plan, person_id: str) -> str:
    """A few plain sentences on why ``person_id`` got their outcome in ``plan`` (as for
    :func:`verify`), and what would have changed it.  Raises :class:`InputError` when the plan
    fails verification or has no such person."""
    from .reasons import explain as say

    inst, rows = _instance(instance), _rows(plan)
    report = verify(inst, rows)
    if not report.ok:
        raise InputError([f"the plan fails verification ({report.violations[0]})"])
    text = say(inst, rows, person_id)
    if text is None:
        raise InputError([f"the plan has no person with id {person_id!r}"])
    return text


def whatif(instance, *, beds: Mapping[str, int] | None = None, atd: Mapping[str, int] | None = None,
           transfers: Mapping[str, int] | None = None, transfers_total: int | None = None, solver: str = "highs",
           time_limit: float | None = None, mip_gap: float = 1e-6, threads: int = 1, seed: int = 0) -> WhatIf:
    """Solve ``instance`` as it is and with changed capacity, as ``bedalloc whatif``: ``beds``
    (``FACILITY`` or ``FACILITY:UNIT`` -> beds to add, negative to remove), ``atd`` (program ->
    slots), ``transfers`` (AOR -> seats a day) and ``transfers_total`` (national seats a day).
    ``time_limit`` applies to each of the two solves.  Raises :class:`InputError` for an unknown
    facility, unit, program or AOR, or a count that would go below zero."""
    from .schema import as_dict
    from .whatif import change_capacity
    from .whatif import whatif as compare

    inst = _instance(instance)
    doc = as_dict(inst, drop_defaults=True)
    for name, change in (("beds", beds), ("atd", atd), ("transfers", transfers)):
        if change is not None and not isinstance(change, Mapping):
            raise InputError([f"{name}: expected a mapping of names to whole numbers, got {type(change).__name__}"])
        for key, n in (change or {}).items():
            _typed(f"{name}[{key!r}]", n, (int,))
    _typed("transfers_total", transfers_total, (int,), none=True)
    beds, atd, transfers = dict(beds or {}), dict(atd or {}), dict(transfers or {})
    try:
        change_capacity(doc, beds, atd, transfers, transfers_total)  # bad changes: before solving
    except ValueError as e:
        raise InputError([str(e)]) from None
    params = _params(solver, time_limit, mip_gap, threads, seed, False)
    try:
        out = compare(doc, beds, atd, params, transfers, transfers_total)
    except RuntimeError as e:
        raise SolverError(str(e)) from e
    return WhatIf(base=out["base"], whatif=out["whatif"], moved=out["moved"])
