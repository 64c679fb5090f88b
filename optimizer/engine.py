"""Lexicographic solve of the one-day model with HiGHS, decoding to a person-level plan.

Levels (MODEL.md §4) are solved in order on one HiGHS model: each level's optimum is held by a row
``objective_k @ x <= z_k`` (levels 1-3 are integer-valued, so the row is exact) before the next
level is optimised.  Levels 1-3 are solved with an
absolute gap below one unit (proven optimal on their integer grid); level 4 to ``mip_gap``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np

from .backends.base import BackendError
from .instance import Instance
from .lexico import LevelParams, solve_lexicographic, solve_with_backend
from .verifier import PLAN_COLUMNS
from .model import (
    LEVELS, RISK_SCALE, Model, Network, People, build, lift_duals, lift_solution, network_arrays, people_arrays,
)

@dataclass(frozen=True)
class SolveParams:
    """Shared solver parameters: ``solver`` (a name of :data:`optimizer.backends.NAMES`),
    ``time_limit`` (s, None = none), relative ``mip_gap`` of level 4, ``threads`` (0 = solver
    default), ``seed``, ``log`` (solver log to the console) and ``progress`` (called with a short
    text as the solve goes: building, each level, each pricing round; None: nothing)."""

    time_limit: float | None = None
    mip_gap: float = 1e-6
    threads: int = 1
    seed: int = 0
    log: bool = False
    solver: str = "highs"
    progress: object = field(default=None, compare=False)
    slowdown: float = field(default=1.0, compare=False)  # optimizer.deadline.slowdown of the run

    def __post_init__(self):  # the same ranges as every backend (raises BackendError)
        from .backends.base import MipParams

        MipParams(time_limit=self.time_limit, mip_gap=self.mip_gap, threads=self.threads, seed=self.seed)

    def given(self) -> dict:
        """The parameters set to something other than their default (name -> value)."""
        default = SolveParams()
        return {k: getattr(self, k) for k in ("time_limit", "mip_gap", "threads", "seed", "log")
                if getattr(self, k) != getattr(default, k)}


@dataclass
class Result:
    """Outcome of :func:`solve`.

    ``termination`` is ``optimal`` or ``time_limit`` (MODEL.md §5); ``levels_proven`` counts the
    leading levels proven optimal; ``objective`` (the model's values), ``bound`` and ``gap`` are keyed by level
    name (cost in USD, released risk in risk points); ``rows`` are the plan.csv rows (strings);
    ``x`` the model solution (n,) they were decoded from (None for the Pyomo formulation);
    ``verified`` the :class:`optimizer.verifier.Verification` report of ``rows`` when it was already computed."""

    termination: str
    levels_proven: int
    rows: list[dict[str, str]]
    objective: dict[str, float]
    bound: dict[str, float]
    gap: dict[str, float]
    native_status: list[str]
    solver_version: str
    model_size: dict
    model_stats: dict
    timings: dict = field(default_factory=dict)
    x: np.ndarray | None = None
    verified: object | None = None  # the verifier's report of ``rows`` when solve already made one


def bound_and_gap(objective: dict, bound: dict) -> tuple[dict, dict]:
    """Per level name: the bound, never above the objective (levels are minimised, so a bound
    above a verified plan's value is rounding: CP-SAT bounds costs in cents, the verifier rounds
    to cents), and the gap |objective - bound| / max(1, |objective|) (MODEL.md §5); None for a
    level without a bound."""
    bound = {k: None if b is None else min(b, objective[k]) for k, b in bound.items()}
    gap = {k: None if b is None else abs(objective[k] - b) / max(1.0, abs(objective[k])) for k, b in bound.items()}
    return bound, gap


def tighten(model: Model, x: np.ndarray) -> np.ndarray:
    """Set the surge and excess columns to the surge beds and beds above the guaranteed minimum
    that the placements actually use (they may be larger when a level was not optimised)."""
    x = x.copy()
    b = model.blocks
    if "regular" in b:  # the multi-day model splits each occupancy into a free part (capped) and a paid part
        for free, paid in (("regular", "surge"), ("covered", "excess")):
            occupied = x[b[free]] + x[b[paid]]
            x[b[paid]] = np.maximum(0, occupied - model.col_upper[b[free]])
            x[b[free]] = occupied - x[b[paid]]
        return x
    for rows, cols in (("unit", "surge"), ("facility", "excess")):
        r, c = model.row_blocks[rows], model.blocks[cols]
        activity = model.A[r] @ x + x[c]  # the column enters its row with coefficient -1
        x[c] = np.maximum(0, np.rint(activity - model.row_upper[r])).astype(np.int64)
    return x


def decode(inst: Instance, model: Model, P: People, N: Network, x: np.ndarray) -> list[dict[str, str]]:
    """Turn a model solution into plan.csv rows (MODEL.md §5), deterministically.

    Within a class the released people are the lowest effective risks (ties: instance order), then
    the detained, then the unplaced; detained people of a pool fill arcs and units in column order."""
    n_people = len(P.sex)
    decision = np.full(n_people, "", dtype=object)
    unit = np.full(n_people, -1, dtype=np.int64)
    prog = np.full(n_people, -1, dtype=np.int64)
    decision[P.removed] = "removed"
    b = model.blocks
    get = lambda name: x[b[name]]  # noqa: E731

    pc = model.person_class
    singles = np.flatnonzero(pc >= 0)
    order = singles[np.lexsort((singles, P.eff_units[singles], pc[singles]))]
    C = len(model.col_upper[b["unp"]])
    starts = np.searchsorted(pc[order], np.arange(C + 1))
    released = np.bincount(model.seg_class, weights=get("seg"), minlength=C).astype(np.int64)
    det = np.zeros(C, dtype=np.int64)
    det_classes = np.flatnonzero(model.class_pool >= 0)
    det[det_classes] = get("det")
    unp = get("unp")

    key_people: dict[int, list[int]] = {}
    pool_people: dict[int, list[int]] = {}
    for c in range(C):
        ppl = order[starts[c]:starts[c + 1]]
        k, d = released[c], det[c]
        if k:
            decision[ppl[:k]] = "release"
            key_people.setdefault(int(model.class_progkey[c]), []).extend(ppl[:k].tolist())
        if d:
            decision[ppl[k:k + d]] = "detain"
            pool_people.setdefault(int(model.class_pool[c]), []).extend(ppl[k:k + d].tolist())
        if unp[c]:
            decision[ppl[k + d:]] = "unplaced"

    atd = get("atd")
    for j in np.flatnonzero(atd):
        ppl = key_people[int(model.atd_key[j])]
        take, key_people[int(model.atd_key[j])] = ppl[: atd[j]], ppl[atd[j]:]
        prog[take] = model.atd_prog[j]

    arc = get("arc")
    node_people: dict[int, list[int]] = {}
    for j in np.flatnonzero(arc):
        pool = int(model.arc_pool[j])
        ppl = pool_people[pool]
        take, pool_people[pool] = ppl[: arc[j]], ppl[arc[j]:]
        node_people.setdefault(int(model.arc_node[j]), []).extend(take)
    put = get("put")
    for j in np.flatnonzero(put):
        node = int(model.put_node[j])
        ppl = node_people[node]
        take, node_people[node] = ppl[: put[j]], ppl[put[j]:]
        unit[take] = model.put_unit[j]

    for j in np.flatnonzero(get("fam")):
        mem = model.family_members[model.fam_family[j]]
        decision[mem] = "detain"
        unit[mem] = model.fam_unit[j]
    for f in model.frel_family[get("frel") > 0]:
        decision[model.family_members[f]] = "release"
    for f in np.flatnonzero(get("funp")):
        decision[model.family_members[f]] = "unplaced"
    for j in np.flatnonzero(get("fatd")):
        prog[model.fatd_person[j]] = model.fatd_prog[j]
    return plan_rows(inst, P, N, decision, unit, prog)


def plan_rows(inst: Instance, P: People, N: Network, decision: np.ndarray, unit: np.ndarray,
              prog: np.ndarray, release_day: np.ndarray | None = None) -> list[dict[str, str]]:
    """plan.csv rows from per-person arrays (P,): decision strings, unit and program indices
    (-1 where none) and release days (None: day 0, the one-day plan's only day); the columns of
    MODEL.md §5, then ``pinned``."""

    def labels(ids, idx):  # ids[idx], "" where idx < 0: one string object per distinct cell
        table = np.array([*ids, ""], dtype=object)
        return table[np.where(idx >= 0, idx, len(ids))].tolist()

    fac = np.append(N.unit_fac, -1)[np.where(unit >= 0, unit, len(N.unit_fac))]
    day = np.zeros(len(unit), np.int64) if release_day is None else release_day
    values, which = np.unique(P.eff, return_inverse=True)
    columns = (
        [p.id for p in inst.people],
        decision.tolist(),
        labels([f.id for f in inst.facilities], fac),
        labels([u.id for f in inst.facilities for u in f.units], unit),
        labels([p.id for p in inst.atd_programs], prog),
        labels([str(t) for t in range(inst.horizon_days)], np.where(decision == "release", day, -1)),
        labels(["0", "1"], ((unit >= 0) & (P.origin >= 0) & (P.origin != fac)).astype(np.int64)),
        labels([f"{e + 0.0:.4f}" for e in values.tolist()], which),  # + 0.0: no "-0.0000"
        labels(["0", "1"], (P.pin_kind > 0).astype(np.int64)),  # the documented extra column (1.1)
    )
    # one dict per person, built without Python-level iteration (a million rows: 1.2 s against 1.6 s)
    return list(map(dict, map(zip, repeat(PLAN_COLUMNS + ("pinned",)), zip(*columns))))


def _constructive(inst, P, N, size, stats, statuses, version, t0, t1, t2) -> Result:
    """A :class:`Result` from the constructive heuristic (no level proven).  Its objective is the
    verifier's, so the verification report travels with it (``Result.verified``)."""
    from .heuristic import greedy_plan
    from .verifier import verify

    rows = plan_rows(inst, P, N, *greedy_plan(inst, P, N))
    t3 = time.monotonic()
    check = verify(inst, rows)
    none = {k: None for k in LEVELS}
    return Result(
        termination="time_limit", levels_proven=0, rows=rows, objective=dict(check.objective),
        bound=dict(none), gap=dict(none), native_status=statuses + ["constructive heuristic"],
        solver_version=version, model_size=size, model_stats=stats,
        timings={"build": t1 - t0, "solve": t3 - t1, "decode": 0.0, "verify": time.monotonic() - t3},  # solve:
        # the solver's attempt and the constructive plan
        verified=check,
    )


def _pyomo_result(inst, P, N, model, values, proven, statuses, version, chosen, t0, t1) -> Result:
    """A :class:`Result` from the Pyomo reference formulation's person-level choices."""
    n = len(P.sex)
    decision = np.where(P.removed, "removed", "unplaced").astype(object)
    unit = np.full(n, -1, dtype=np.int64)
    prog = np.full(n, -1, dtype=np.int64)
    uidx = {u.id: k for k, u in enumerate(u for f in inst.facilities for u in f.units)}
    pidx = {a.id: k for k, a in enumerate(inst.atd_programs)}
    pos = {p.id: i for i, p in enumerate(inst.people)}
    for pid, (what, where) in chosen.items():
        i = pos[pid]
        decision[i] = what
        if what == "detain":
            unit[i] = uidx[where]
        elif what == "release" and where:
            prog[i] = pidx[where]
    t2 = time.monotonic()
    obj = dict(zip(LEVELS, values))
    obj["unplaced"], obj["surge"] = int(round(obj["unplaced"])), int(round(obj["surge"]))
    obj["released_risk"] = round(obj["released_risk"], 4)
    bound = {k: (obj[k] if j < proven else None) for j, k in enumerate(LEVELS)}
    return Result(
        termination="optimal" if proven == 4 else "time_limit", levels_proven=proven,
        rows=plan_rows(inst, P, N, decision, unit, prog), objective=obj, bound=bound,
        gap={k: (0.0 if bound[k] is not None else None) for k in LEVELS}, native_status=statuses,
        solver_version=version, model_size=model.size, model_stats=model.stats,
        timings={"build": t1 - t0, "solve": t2 - t1, "decode": 0.0},
    )


class _Lift:
    """Carries compact-model duals and solutions to the full model (see optimizer.model)."""

    reserve_s = lift_s = 0.0  # carrying a solution over is quick

    def __init__(self, full, compact, eff_units):
        self.full, self.compact, self.eff_units = full, compact, eff_units

    def duals(self, y):
        return lift_duals(self.full, self.compact, y)

    def solution(self, x):
        return lift_solution(self.full, self.compact, x, self.eff_units)

    def initial(self, xc, xf, lower, upper):  # the lifted solution's columns, else every column
        return np.ones(self.full.A.shape[1], dtype=bool) if xf is None else xf > 0

    def coarse(self):  # levels 1-2 on the compact model itself
        return None


def build_models(inst: Instance, P: People, N: Network):
    """The full class model, its compact model (origin-free, or keeping origin facilities when a
    transport limit can bind: :func:`optimizer.model._arc_ends`) and the lift between them."""
    model = build(inst, P, N)
    compact = build(inst, P, N, merge_origins=True)
    return model, compact, _Lift(model, compact, P.eff_units)


def solve(inst: Instance, params: SolveParams = SolveParams(), deadline: float | None = None,
          models: tuple | None = None) -> Result:
    """Solve a validated instance to lexicographic optimality (MODEL.md §4).

    One-day instances use the class model (:mod:`optimizer.model`), multi-day instances the
    horizon model (:mod:`optimizer.horizon`); with ``highs`` either is solved by the
    column-generation engine of :mod:`optimizer.lexico` (levels 1-3 on its compact model), with
    the other backends level by level as MIPs.  Returns a
    :class:`Result` whose ``rows`` still have to be verified (the CLI does so before writing).
    ``models``: the one-day ``(model, compact, lift)`` of :func:`build_models`, built once and
    reused (for example with other bed counts, see :mod:`optimizer.whatif`).
    Raises :class:`BackendError` when the solver cannot take the instance."""
    t0 = time.monotonic()
    if deadline is None and params.time_limit is not None:
        deadline = t0 + params.time_limit
    P = people_arrays(inst)
    N = network_arrays(inst)
    level_params = LevelParams(threads=params.threads, seed=params.seed, mip_gap=params.mip_gap, log=params.log,
                               progress=params.progress)
    if params.progress is not None:
        params.progress("building the model")
    H = inst.horizon_days
    if H > 1:
        _check_multi_day(params.solver, H)
    if deadline is not None:
        from .deadline import build_s

        if time.monotonic() + build_s(len(P.sex), H) * params.slowdown >= deadline:  # no time to build a model
            none = {"variables": 0, "constraints": 0, "nonzeros": 0}
            now = time.monotonic()
            return _constructive(inst, P, N, none, {}, ["no time left for the solver"], "", t0, now, now)
    if H > 1:
        model, attempt = _horizon_attempt(inst, P, N, params, level_params, deadline)
    else:
        model, attempt = _one_day_attempt(inst, P, N, params, level_params, deadline, models)
    t1 = time.monotonic()

    def fallback(statuses, version=""):  # the constructive plan, with why the solver gave none
        return _constructive(inst, P, N, model.size, model.stats, statuses, version, t0, t1, time.monotonic())

    out = _run_attempt(attempt, deadline, t1, fallback)
    if isinstance(out, Result):
        return out
    if params.solver.startswith("pyomo:"):
        (values, proven, statuses, _, chosen), version = out
        if proven == 0 and not chosen:  # the limit left the solver no plan: a constructive one instead
            return fallback(statuses, version)
        return _pyomo_result(inst, P, N, model, values, proven, statuses, version, chosen, t0, t1)
    x, proven, bounds, statuses, version = out
    t2 = time.monotonic()
    if x is None:  # no incumbent before the limit: a constructive plan instead (optimizer/heuristic.py)
        return _with_level1_bound(fallback(statuses, version), model, bounds)
    res = _solved(inst, P, N, model, x, proven, bounds, statuses, version, (t0, t1, t2))
    return res if proven == 4 or deadline is None else _better_of(inst, P, N, model, res, t0, t1)


def _solved(inst: Instance, P: People, N: Network, model, x: np.ndarray, proven: int, bounds: list,
            statuses: list, version: str, times: tuple) -> Result:
    """The :class:`Result` of the solver's solution ``x``: tightened (:func:`tighten`), decoded to
    plan rows, with its levels and bounds; ``times``: the start, the model built, the solver done."""
    t0, t1, t2 = times
    H = inst.horizon_days
    x = tighten(model, x)
    if H > 1:
        from .horizon import decode_horizon

        rows = plan_rows(inst, P, N, *decode_horizon(inst, model, P, x))
    else:
        rows = decode(inst, model, P, N, x)
    t3 = time.monotonic()
    obj, raw = _levels(model, x, proven, bounds, H)
    bound, gap = bound_and_gap(obj, raw)
    return Result(
        termination="optimal" if proven == 4 else "time_limit",
        levels_proven=proven,
        rows=rows,
        objective=obj,
        bound=bound,
        gap=gap,
        native_status=statuses,
        solver_version=version,
        model_size=model.size,
        model_stats=model.stats,
        timings={"build": t1 - t0, "solve": t2 - t1, "decode": t3 - t2},
        x=x,
    )


def _check_multi_day(solver: str, H: int) -> None:
    """Raises :class:`BackendError` when ``solver`` plans one day only."""
    from . import backends

    if "multi_day" not in backends.capabilities(solver)[1]:
        raise BackendError(f"solver {solver!r} plans one day only (horizon_days = 1); for "
                           f"horizon_days = {H} use highs, highs-mip, cpsat or scip")


def _horizon_attempt(inst: Instance, P: People, N: Network, params: SolveParams, level_params: LevelParams,
                     deadline: float | None):
    """The multi-day model (with ``highs``, also its compact model and the lift between them) and
    the solver's attempt on it: ``(model, attempt)``."""
    from . import backends
    from .horizon import HorizonLift, build_horizon

    model = build_horizon(inst, P, N)
    compact = lift = None
    if params.solver == "highs":
        compact = build_horizon(inst, P, N, compact=True)
        lift = HorizonLift(inst, P, N, model, compact, params.slowdown)

    def attempt(report=None):
        if params.solver == "highs":
            x, proven, bounds, statuses, version = solve_lexicographic(model, level_params, deadline,
                                                                       compact, lift)
            return x, proven, bounds, statuses, f"HiGHS {version}"
        return solve_with_backend(model, backends.get(params.solver), level_params, deadline)
    return model, attempt


def _one_day_attempt(inst: Instance, P: People, N: Network, params: SolveParams, level_params: LevelParams,
                     deadline: float | None, models: tuple | None):
    """The one-day models (``models``, or built: :func:`build_models`) and the solver's attempt on
    them: ``(model, attempt)``."""
    model, compact, lift = models if models is not None else build_models(inst, P, N)

    def attempt(report=None):  # report(partial result): see optimizer/deadline.py
        if params.solver == "highs":
            x, proven, bounds, statuses, version = solve_lexicographic(
                model, level_params, deadline, compact, lift)
            return x, proven, bounds, statuses, f"HiGHS {version}"
        if params.solver.startswith("pyomo:"):
            return _pyomo_attempt(inst, params, deadline, report)
        if params.solver == "flow":
            from .backends import flow

            x, status, _ = flow.solve_model(model, N)
            return x, 4, list(model.objectives @ x), [status], flow.version()
        from . import backends

        return solve_with_backend(model, backends.get(params.solver), level_params, deadline, compact, lift)
    return model, attempt


def _pyomo_attempt(inst: Instance, params: SolveParams, deadline: float | None, report):
    """The Pyomo reference formulation's solve: ``(its output, version)``."""
    from .backends import pyomo_model

    name = params.solver.split(":", 1)[1]
    # 1 s of the time left is kept for writing, starting and reading back the solver
    # executables, which their own limits do not count; proven levels are reported
    # as they come, so that a stop keeps them
    left = None if deadline is None else deadline - time.monotonic() - 1.0
    version = pyomo_model.version(name)
    partial = None if report is None else (lambda out: report((out, version)))
    return pyomo_model.solve(inst, name, left, params.mip_gap, params.threads, params.seed, params.log,
                             progress=partial), version


def _run_attempt(attempt, deadline: float | None, t1: float, fallback):
    """The solver's output, under a hard stop even when the solver overruns its own limit
    (optimizer/deadline.py); the constructive :class:`Result` of ``fallback(statuses)`` when the
    solver left no plan."""
    if deadline is None:
        return attempt()
    if t1 >= deadline:  # no time left for the solver
        return fallback(["no time left for the solver"])
    from .deadline import Overrun, SolverDied, run_bounded
    from .settings import SETTINGS

    try:
        return run_bounded(attempt, deadline + SETTINGS.grace_s)
    except SolverDied as e:  # still a verified plan, never nothing (MODEL.md §5)
        return fallback([str(e)])
    except Overrun as stop:
        why = "solver process killed at the time limit (it did not stop by itself)"
        if stop.partial is None:
            return fallback([why])
        out = stop.partial  # the levels proven before the solver was stopped (Pyomo backends)
        out[0][2].append(why)
        return out


def _with_level1_bound(res: Result, model, bounds) -> Result:
    """The constructive plan's result with the stopped search's level-1 bound, which holds
    whatever happened at later levels; level 1 proven when the plan reaches it."""
    if bounds and np.isfinite(bounds[0]):
        level1 = math.ceil(bounds[0] + model.offsets[0] - 1e-6)  # level 1 counts whole people
        res.bound, res.gap = bound_and_gap(res.objective, {**res.bound, "unplaced": level1})
        if res.objective["unplaced"] == level1:  # the constructive plan reaches the bound
            res.levels_proven = 1
    return res


def _levels(model, x: np.ndarray, proven: int, bounds: list, H: int) -> tuple[dict, dict]:
    """Per level name: the plan's value (whole people and beds, released risk in risk points, or
    risk x days over a longer plan, cost in USD) and the solver's bound (None without one)."""
    values = model.objectives @ x + model.offsets
    obj = {name: float(v) for name, v in zip(LEVELS, values)}
    obj["unplaced"] = int(round(obj["unplaced"]))
    obj["surge"] = int(round(obj["surge"]))
    risk_unit = RISK_SCALE * H  # level 3 counts 0.0001 risk x days released
    obj["released_risk"] = round(obj["released_risk"] / risk_unit, 4) if H == 1 else obj["released_risk"] / risk_unit
    raw = {}
    for k, name in enumerate(LEVELS):
        solver_bound = k < len(bounds) and np.isfinite(bounds[k])
        if k < proven and not (k == 3 and solver_bound):  # levels 1-3 are proven exactly
            raw[name] = obj[name]
        elif solver_bound:  # level 4 proven to the gap, or a level the limit stopped
            bb = bounds[k] + model.offsets[k]
            # one-day released risk lies on the 0.0001 grid (MODEL.md §4), so its bound may be rounded
            raw[name] = (round(bb / risk_unit, 4) if H == 1 else bb / risk_unit) if k == 2 else float(bb)
        else:
            raw[name] = None
    return obj, raw


def _better_of(inst, P, N, model, res: Result, t0, t1) -> Result:
    """A search the limit stopped: its plan, or the constructive plan when that one is
    lexicographically better (both verified; MODEL.md §5 asks for the best verified plan).  The
    stopped search's bounds and proven levels still hold for the constructive plan, which cannot
    beat a proven level and so equals it there."""
    from .verifier import verify

    tv = time.monotonic()
    res.verified = verify(inst, res.rows)
    res.timings["verify"] = time.monotonic() - tv
    alt = _constructive(inst, P, N, model.size, model.stats, list(res.native_status), res.solver_version, t0, t1,
                        time.monotonic())

    def key(o):  # on the plan files' grid: whole people and beds, risk 0.0001, cost USD 0.01
        return (o["unplaced"], o["surge"], round(o["released_risk"], 4), round(o["cost_usd"], 2))

    if key(alt.objective) >= key(res.verified.objective):
        return res
    alt.levels_proven = res.levels_proven
    alt.bound, alt.gap = bound_and_gap(alt.objective, res.bound)
    alt.native_status = res.native_status + ["constructive heuristic (better than the stopped search's plan)"]
    return alt
