"""The one-day model written algebraically in Pyomo: the readable reference of MODEL.md §3-§4.

One binary variable per (person, compatible unit), per (released adult, eligible ATD program),
per released minor, per unplaced person; surge beds per unit; beds above the guaranteed minimum
per facility.  Contract 1.1: local ties (rule 8) and pins (rule 9) only remove variables (a
unit a tie forbids, an outcome a pin excludes; a pinned person's unplaced variable is fixed at
0), and transport limits (rule 7) are one row per limited origin AOR and one national row over
the unit variables that are transfers (in a one-day plan every transfer is on day 0).  Written
for a modeller to read against MODEL.md, not for speed (bedalloc's own engine works on classes
of people, see optimizer/model.py).  Solved through Pyomo with HiGHS
(``appsi_highs``), CBC or GLPK, level by level, each level held by an exact constraint.
"""

from __future__ import annotations

import logging
import math
import time

from ..instance import Instance, effective_risk
from ..model import haversine_km
from ..errors import SolverError
from .base import BackendError

NAME = "pyomo"
SOLVERS = {"highs": "appsi_highs", "cbc": "cbc", "glpk": "glpk"}
# the shared parameters each solver honours through Pyomo (GLPK is single-threaded and has no seed)
OPTIONS = {"highs": frozenset({"time_limit", "mip_gap", "threads", "seed", "log"}),
           "cbc": frozenset({"time_limit", "mip_gap", "threads", "seed", "log"}),
           "glpk": frozenset({"time_limit", "mip_gap", "log"})}
FEATURES = frozenset({"families"})
# every Pyomo TerminationCondition (by name) -> termination (base.TERMINATIONS); whether a solution
# exists is read from the results' solution count, never from this
STATUS = {"optimal": "optimal", "globallyOptimal": "optimal", "infeasible": "infeasible",
          "maxTimeLimit": "time_limit", "maxIterations": "time_limit", "maxEvaluations": "time_limit",
          "userInterrupt": "time_limit", "resourceInterrupt": "time_limit", "feasible": "time_limit",
          "intermediateNonInteger": "time_limit", "minFunctionValue": "time_limit", "minStepLength": "time_limit",
          "locallyOptimal": "error", "unbounded": "error", "infeasibleOrUnbounded": "error", "invalidProblem": "error",
          "noSolution": "error", "solverFailure": "error", "internalSolverError": "error", "error": "error",
          "licensingProblems": "error", "other": "error", "unknown": "error"}
RISK_SCALE = 10_000  # released risk on the 0.0001 grid, in integers (MODEL.md §2)


def available(solver: str = "highs") -> bool:
    try:
        import pyomo.environ as pyo
    except ImportError:
        return False
    return bool(pyo.SolverFactory(SOLVERS[solver]).available(exception_flag=False))


def version(solver: str = "highs") -> str:
    import pyomo
    import pyomo.environ as pyo

    v = pyo.SolverFactory(SOLVERS[solver]).version()
    return f"Pyomo {pyomo.__version__} + {solver} {'.'.join(map(str, v)) if v else ''}".strip()


def build(inst: Instance):
    """The Pyomo model of a one-day instance, with the four level expressions ``m.level[1..4]``."""
    import pyomo.environ as pyo

    pol = inst.policy
    days = pol.cost_days
    table = pol.factors()
    units = [(f, u) for f in inst.facilities for u in f.units]
    fac = {f.id: f for f in inst.facilities}
    hub = {a.code: a for a in inst.aors}
    people = [p for p in inst.people if not (p.removal_day is not None and p.removal_day <= p.arrival_day)]
    families: dict[str, list] = {}
    for p in people:
        if p.family_id:
            families.setdefault(p.family_id, []).append(p)

    def block(p):  # the people who share p's outcome (MODEL.md §3 rule 2)
        return families[p.family_id] if p.family_id else [p]

    def may_hold_bed(q):  # law (rule 4): not at the custody limit on day 0
        return q.max_custody_days is None or q.custody_days < q.max_custody_days

    def pins(p):  # rule 9: the pins binding p's block (a member's pin binds the whole family)
        return [q.pin for q in block(p) if q.pin is not None]

    def fits(p, f, u):  # compatibility (rule 2), short stays (rule 5), law (rule 4), local ties (rule 8)
        # and detain pins (rule 9), for p's block
        if not all(pin.decision == "detain" and pin.unit in (None, u.id) and pin.facility in (None, f.id)
                   for pin in pins(p)):
            return False
        for q in block(p):
            if u.sex not in (q.sex, "any") or u.family != (q.family_id is not None):
                return False
            if not q.minor and q.level not in u.levels:
                return False
            if q.needs_medical and not u.medical:
                return False
            if f.max_stay_days is not None and (q.removal_day is None or q.removal_day - q.arrival_day > f.max_stay_days):
                return False
            if not may_hold_bed(q):
                return False
            if q.local_ties and q.origin != f.id and f.aor != q.aor:
                return False
        return True

    def eligible(p, a):  # ATD (rule 3); a pinned program binds only the adult who carries it (rule 9)
        pinned = p.pin.atd_program if p.pin is not None and p.pin.decision == "release" else None
        return a.max_risk >= p.risk and a.aor in (None, p.aor) and pinned in (None, a.id)

    def may_release(p):  # mandatory detention (rule 4) and release pins (rule 9), for p's block
        return not any(q.mandatory for q in block(p)) and all(pin.decision == "release" for pin in pins(p))

    def seat(i, u):  # rule 7: the origin facility's AOR when person i in unit u is a transfer, else None
        p = person[i]
        return fac[p.origin].aor if p.origin is not None and p.origin != unit_fac[u].id else None

    def moving_cost(p, f):  # MODEL.md §3 "Moving cost"
        if p.origin == f.id:
            return 0.0
        o = fac[p.origin] if p.origin else hub[p.aor]
        km = float(haversine_km(o.lat, o.lon, f.lat, f.lon))
        return (pol.transfer_fixed_usd if p.origin else 0.0) + pol.transfer_usd_per_km * km

    def rule(f):  # a constraint rule; a relation that holds trivially (no variable) is skipped
        def wrapped(m, *index):
            expr = f(m, *index)
            return pyo.Constraint.Skip if isinstance(expr, bool) else expr
        return wrapped

    m = pyo.ConcreteModel()
    P = [p.id for p in people]
    person = {p.id: p for p in people}
    unit_fac = {u.id: f for f, u in units}
    m.X = pyo.Set(dimen=2, initialize=[(p.id, u.id) for p in people for f, u in units if fits(p, f, u)])
    m.Y = pyo.Set(dimen=2, initialize=[(p.id, a.id) for p in people if not p.minor and may_release(p)
                                       for a in inst.atd_programs if eligible(p, a)])
    m.R = pyo.Set(initialize=[p.id for p in people if p.minor and may_release(p)])
    units_of = {i: [] for i in P}  # the units person i may hold a bed in
    people_in = {u.id: [] for _, u in units}  # the people who may hold a bed in unit u
    programs_of = {i: [] for i in P}  # the ATD programs person i may be released to
    enrolled = {a.id: [] for a in inst.atd_programs}  # the people program a may take
    for i, u in m.X:
        units_of[i].append(u)
        people_in[u].append(i)
    for i, a in m.Y:
        programs_of[i].append(a)
        enrolled[a].append(i)
    m.x = pyo.Var(m.X, domain=pyo.Binary)  # detained in unit
    m.y = pyo.Var(m.Y, domain=pyo.Binary)  # released to program
    m.r = pyo.Var(m.R, domain=pyo.Binary)  # minor released with the family (no program)
    m.w = pyo.Var(P, domain=pyo.Binary, bounds=lambda m, i: (0, 0 if pins(person[i]) else 1))  # unplaced
    m.surge = pyo.Var([u.id for _, u in units], domain=pyo.NonNegativeIntegers)
    m.excess = pyo.Var([f.id for f in inst.facilities], domain=pyo.NonNegativeIntegers)

    def released(i):
        return sum(m.y[i, a] for a in programs_of[i]) + (m.r[i] if i in m.R else 0)

    beds = {u.id: u.beds for _, u in units}
    surge_beds = {u.id: u.surge_beds for _, u in units}
    capacity = {a.id: a.capacity for a in inst.atd_programs if a.capacity is not None}
    m.one_outcome = pyo.Constraint(P, rule=rule(
        lambda m, i: sum(m.x[i, u] for u in units_of[i]) + released(i) + m.w[i] == 1))
    m.beds = pyo.Constraint(list(beds), rule=rule(
        lambda m, u: sum(m.x[i, u] for i in people_in[u]) <= beds[u] + m.surge[u]))
    m.surge_beds = pyo.Constraint(list(beds), rule=rule(lambda m, u: m.surge[u] <= surge_beds[u]))
    m.paid_beds = pyo.Constraint([f.id for f in inst.facilities], rule=rule(
        lambda m, f: sum(m.x[i, u.id] for u in fac[f].units for i in people_in[u.id])
        <= fac[f].guaranteed_minimum + m.excess[f]))
    m.atd_capacity = pyo.Constraint(list(capacity), rule=rule(
        lambda m, a: sum(m.y[i, a] for i in enrolled[a]) <= capacity[a]))
    seats = {a.code: a.max_transfers_out_per_day for a in inst.aors if a.max_transfers_out_per_day is not None}
    m.seats_out = pyo.Constraint(list(seats), rule=rule(
        lambda m, r: sum(m.x[i, u] for i, u in m.X if seat(i, u) == r) <= seats[r]))
    m.seats = pyo.Constraint([0] if pol.max_transfers_per_day is not None else [], rule=rule(
        lambda m, t: sum(m.x[i, u] for i, u in m.X if seat(i, u) is not None) <= pol.max_transfers_per_day))
    # families: every member has the first member's outcome
    ties = [(fam[0].id, q.id) for fam in families.values() for q in fam[1:]]
    m.same_unit = pyo.Constraint([(a, b, u) for a, b in ties for u in dict.fromkeys(units_of[a] + units_of[b])],
                                 rule=rule(
        lambda m, a, b, u: (m.x[a, u] if (a, u) in m.X else 0) == (m.x[b, u] if (b, u) in m.X else 0)))
    m.same_release = pyo.Constraint(ties, rule=rule(lambda m, a, b: released(a) == released(b)))
    m.same_unplaced = pyo.Constraint(ties, rule=rule(lambda m, a, b: m.w[a] == m.w[b]))

    eff = {p.id: round(effective_risk(p.risk, p.humanitarian, table) * RISK_SCALE) for p in people}
    per_diem = {a.id: a.per_diem for a in inst.atd_programs}
    m.level = pyo.Expression([1, 2, 3, 4], rule=lambda m, k: {
        1: sum(m.w[i] for i in P),
        2: sum(m.surge[u.id] for _, u in units),
        3: sum(eff[i] * released(i) for i in P),
        4: sum(f.guaranteed_minimum * f.gm_rate * days + f.per_diem * days * m.excess[f.id] for f in inst.facilities)
        + sum(per_diem[a] * days * m.y[i, a] for (i, a) in m.Y)
        + sum(moving_cost(person[i], unit_fac[u]) * m.x[i, u] for (i, u) in m.X),
    }[k])
    return m


def solve(inst: Instance, solver: str = "highs", time_limit: float | None = None, mip_gap: float = 1e-6,
          threads: int = 1, seed: int = 0, log: bool = False, progress=None):
    """Solve ``inst`` level by level. Returns ``(levels, proven, statuses, runtime_s, chosen)``
    (``progress``, when given, also receives that tuple after each proven level):
    the four level values of the last solution found (released risk in risk points; the
    all-unplaced plan when a limit stopped the first level without a solution), the number of
    levels proven optimal, and each placed or released person's (decision, unit or program id);
    others are unplaced.  Raises :class:`BackendError` when the solver is unknown or not
    installed, :class:`~optimizer.errors.SolverError` (exit 4) naming its status when it fails."""
    from contextlib import nullcontext

    from .executables import bound_to_this_process

    with bound_to_this_process() if solver != "highs" else nullcontext():  # cbc, glpsol: executables
        return _solve_levels(inst, solver, time_limit, mip_gap, threads, seed, log, progress)


def _solve_levels(inst: Instance, solver: str, time_limit: float | None, mip_gap: float, threads: int, seed: int,
                  log: bool, progress):
    """:func:`solve`'s level-by-level loop."""
    import pyomo.environ as pyo
    from pyomo.opt import SolutionStatus
    from pyomo.opt import TerminationCondition as TC

    PLAN_STATUSES = (SolutionStatus.optimal, SolutionStatus.feasible, SolutionStatus.stoppedByLimit)

    if solver not in SOLVERS or not available(solver):
        raise BackendError(f"pyomo:{solver} is not available (needs the {SOLVERS.get(solver, solver)} solver)")
    t0 = time.monotonic()
    m = build(inst)
    opt = pyo.SolverFactory(SOLVERS[solver])
    statuses, proven, loaded = [], 0, False
    m.hold = pyo.ConstraintList()
    for k in (1, 2, 3, 4):
        m.obj = pyo.Objective(expr=m.level[k], sense=pyo.minimize)
        exact = k < 4
        left = None if time_limit is None else time_limit - (time.monotonic() - t0)
        # the deadline passed while building or solving (the executables count in whole seconds)
        if left is not None and (left <= 0 or (solver != "highs" and left < 1)):
            statuses.append("deadline")
            m.del_component(m.obj)
            break
        if solver == "highs":  # the legacy interface takes the limit and the log per call
            opt.config.mip_gap = 0.0 if exact else mip_gap
            opt.highs_options = {"mip_abs_gap": 0.99 if exact else 1e-6, "random_seed": seed,
                                 **({"threads": threads} if threads else {})}
            res = opt.solve(m, load_solutions=False, tee=log, timelimit=left)
        else:
            options = {"cbc": {"ratioGap": 0.0 if exact else mip_gap, "allowableGap": 0.99 if exact else 1e-6,
                               "randomCbcSeed": seed, **({"threads": threads} if threads > 1 else {})},
                       "glpk": {"mipgap": 0.0 if exact else mip_gap}}[solver]
            if left is not None:  # whole seconds for both executables, rounded down to end in time
                options["seconds" if solver == "cbc" else "tmlim"] = math.floor(left)
            res = opt.solve(m, load_solutions=False, options=options, tee=log)
        cond = res.solver.termination_condition
        statuses.append(str(cond))
        m.del_component(m.obj)
        term = STATUS.get(cond.name, "error")
        if term in ("error", "infeasible"):  # every level of a valid instance has a solution (its
            # unplaced variables; the earlier levels' solution): the solver failed, not the input
            raise SolverError(f"pyomo:{solver}: level {k}: the solver reported {cond} on a valid instance")
        # the solver's solution status, not its headline status, says whether a plan exists
        # (CBC stopped early may return a fractional LP point, status "other": no plan)
        if len(res.solution) > 0 and res.solution(0).status in PLAN_STATUSES and cond != TC.intermediateNonInteger:
            quiet = logging.getLogger("pyomo.core")
            level = quiet.level
            quiet.setLevel(logging.ERROR)  # Pyomo warns when loading the incumbent of a stopped solve
            try:
                m.solutions.load_from(res)
            finally:
                quiet.setLevel(level)
            loaded = True
        if term != "optimal":
            break
        proven += 1
        if exact:
            m.hold.add(m.level[k] <= round(pyo.value(m.level[k])))
        if progress is not None:
            progress(_outcome(m, loaded, proven, list(statuses), t0))
    return _outcome(m, loaded, proven, statuses, t0)


def _outcome(m, loaded, proven, statuses, t0):
    """``(levels, proven, statuses, runtime_s, chosen)`` of the model's current solution (the
    all-unplaced plan when none was loaded; see :func:`solve`)."""
    import pyomo.environ as pyo

    if not loaded:  # no solution at all: the all-unplaced plan
        for var in m.component_data_objects(pyo.Var):
            var.set_value(1 if var.parent_component() is m.w else 0)
    values = [float(pyo.value(m.level[k])) for k in (1, 2, 3, 4)]
    values[2] = values[2] / RISK_SCALE
    chosen = {}  # person id -> (decision, unit or program id) of the last loaded solution
    if loaded:
        for (i, u) in m.X:
            if pyo.value(m.x[i, u]) > 0.5:
                chosen[i] = ("detain", u)
        for (i, a) in m.Y:
            if pyo.value(m.y[i, a]) > 0.5:
                chosen[i] = ("release", a)
        for i in m.R:
            if pyo.value(m.r[i]) > 0.5:
                chosen[i] = ("release", "")
    return values, proven, statuses, time.monotonic() - t0, chosen

