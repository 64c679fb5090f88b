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


class _Rules:
    """The one-day instance as the Pyomo model reads it: the people needing a decision, their
    families, and the MODEL.md §3 rules that decide which variables exist and what they cost."""

    def __init__(self, inst: Instance):
        self.inst, self.pol = inst, inst.policy
        self.units = [(f, u) for f in inst.facilities for u in f.units]
        self.fac = {f.id: f for f in inst.facilities}
        self.hub = {a.code: a for a in inst.aors}
        self.people = [p for p in inst.people if not (p.removal_day is not None and p.removal_day <= p.arrival_day)]
        self.person = {p.id: p for p in self.people}
        self.unit_fac = {u.id: f for f, u in self.units}
        self.families: dict[str, list] = {}
        for p in self.people:
            if p.family_id:
                self.families.setdefault(p.family_id, []).append(p)

    def index(self, X, Y) -> None:
        """The incidence lists of the variables that exist (``X`` person-unit, ``Y`` adult-program)."""
        self.units_of = {p.id: [] for p in self.people}  # the units person i may hold a bed in
        self.people_in = {u.id: [] for _, u in self.units}  # the people who may hold a bed in unit u
        self.programs_of = {p.id: [] for p in self.people}  # the ATD programs person i may be released to
        self.enrolled = {a.id: [] for a in self.inst.atd_programs}  # the people program a may take
        for i, u in X:
            self.units_of[i].append(u)
            self.people_in[u].append(i)
        for i, a in Y:
            self.programs_of[i].append(a)
            self.enrolled[a].append(i)

    def block(self, p):  # the people who share p's outcome (MODEL.md §3 rule 2)
        return self.families[p.family_id] if p.family_id else [p]

    @staticmethod
    def may_hold_bed(q):  # law (rule 4): not at the custody limit on day 0
        return q.max_custody_days is None or q.custody_days < q.max_custody_days

    def pins(self, p):  # rule 9: the pins binding p's block (a member's pin binds the whole family)
        return [q.pin for q in self.block(p) if q.pin is not None]

    def fits(self, p, f, u):  # compatibility (rule 2), short stays (rule 5), law (rule 4), local ties
        # (rule 8) and detain pins (rule 9), for p's block
        if not all(pin.decision == "detain" and pin.unit in (None, u.id) and pin.facility in (None, f.id)
                   for pin in self.pins(p)):
            return False
        for q in self.block(p):
            if u.sex not in (q.sex, "any") or u.family != (q.family_id is not None):
                return False
            if not q.minor and q.level not in u.levels:
                return False
            if q.needs_medical and not u.medical:
                return False
            if f.max_stay_days is not None and (q.removal_day is None or q.removal_day - q.arrival_day > f.max_stay_days):
                return False
            if not self.may_hold_bed(q):
                return False
            if q.local_ties and q.origin != f.id and f.aor != q.aor:
                return False
        return True

    @staticmethod
    def eligible(p, a):  # ATD (rule 3); a pinned program binds only the adult who carries it (rule 9)
        pinned = p.pin.atd_program if p.pin is not None and p.pin.decision == "release" else None
        return a.max_risk >= p.risk and a.aor in (None, p.aor) and pinned in (None, a.id)

    def may_release(self, p):  # mandatory detention (rule 4) and release pins (rule 9), for p's block
        return not any(q.mandatory for q in self.block(p)) and all(pin.decision == "release" for pin in self.pins(p))

    def seat(self, i, u):  # rule 7: the origin facility's AOR when person i in unit u is a transfer, else None
        p = self.person[i]
        return self.fac[p.origin].aor if p.origin is not None and p.origin != self.unit_fac[u].id else None

    def moving_cost(self, p, f):  # MODEL.md §3 "Moving cost"
        if p.origin == f.id:
            return 0.0
        o = self.fac[p.origin] if p.origin else self.hub[p.aor]
        km = float(haversine_km(o.lat, o.lon, f.lat, f.lon))
        return (self.pol.transfer_fixed_usd if p.origin else 0.0) + self.pol.transfer_usd_per_km * km


def _rule(f):
    """A constraint rule from ``f``; a relation that holds trivially (no variable) is skipped."""
    import pyomo.environ as pyo

    def wrapped(m, *index):
        expr = f(m, *index)
        return pyo.Constraint.Skip if isinstance(expr, bool) else expr
    return wrapped


def build(inst: Instance):
    """The Pyomo model of a one-day instance, with the four level expressions ``m.level[1..4]``."""
    import pyomo.environ as pyo

    d = _Rules(inst)
    m = pyo.ConcreteModel()
    _variables(m, d)
    _capacity_rows(m, d)
    _family_rows(m, d)
    _levels(m, d)
    return m


def _variables(m, d: _Rules) -> None:
    """The index sets of the variables that exist (``m.X`` person-unit, ``m.Y`` adult-program,
    ``m.R`` releasable minors, each person's unplaced ``m.w``), their incidence lists
    (:meth:`_Rules.index`), and the variables."""
    import pyomo.environ as pyo

    inst, P = d.inst, [p.id for p in d.people]
    m.X = pyo.Set(dimen=2, initialize=[(p.id, u.id) for p in d.people for f, u in d.units if d.fits(p, f, u)])
    m.Y = pyo.Set(dimen=2, initialize=[(p.id, a.id) for p in d.people if not p.minor and d.may_release(p)
                                       for a in inst.atd_programs if d.eligible(p, a)])
    m.R = pyo.Set(initialize=[p.id for p in d.people if p.minor and d.may_release(p)])
    d.index(m.X, m.Y)
    m.x = pyo.Var(m.X, domain=pyo.Binary)  # detained in unit
    m.y = pyo.Var(m.Y, domain=pyo.Binary)  # released to program
    m.r = pyo.Var(m.R, domain=pyo.Binary)  # minor released with the family (no program)
    m.w = pyo.Var(P, domain=pyo.Binary, bounds=lambda m, i: (0, 0 if d.pins(d.person[i]) else 1))  # unplaced
    m.surge = pyo.Var([u.id for _, u in d.units], domain=pyo.NonNegativeIntegers)
    m.excess = pyo.Var([f.id for f in inst.facilities], domain=pyo.NonNegativeIntegers)


def _released(m, d: _Rules, i):
    """1 when person ``i`` is released (to a program, or as a minor with the family)."""
    return sum(m.y[i, a] for a in d.programs_of[i]) + (m.r[i] if i in m.R else 0)


def _capacity_rows(m, d: _Rules) -> None:
    """One outcome per person; beds (+ surge beds) per unit; beds paid above the guaranteed
    minimum per facility; ATD slots; transport seats per limited origin AOR and nationally."""
    import pyomo.environ as pyo

    inst, pol, P = d.inst, d.pol, [p.id for p in d.people]
    beds = {u.id: u.beds for _, u in d.units}
    surge_beds = {u.id: u.surge_beds for _, u in d.units}
    capacity = {a.id: a.capacity for a in inst.atd_programs if a.capacity is not None}
    m.one_outcome = pyo.Constraint(P, rule=_rule(
        lambda m, i: sum(m.x[i, u] for u in d.units_of[i]) + _released(m, d, i) + m.w[i] == 1))
    m.beds = pyo.Constraint(list(beds), rule=_rule(
        lambda m, u: sum(m.x[i, u] for i in d.people_in[u]) <= beds[u] + m.surge[u]))
    m.surge_beds = pyo.Constraint(list(beds), rule=_rule(lambda m, u: m.surge[u] <= surge_beds[u]))
    m.paid_beds = pyo.Constraint([f.id for f in inst.facilities], rule=_rule(
        lambda m, f: sum(m.x[i, u.id] for u in d.fac[f].units for i in d.people_in[u.id])
        <= d.fac[f].guaranteed_minimum + m.excess[f]))
    m.atd_capacity = pyo.Constraint(list(capacity), rule=_rule(
        lambda m, a: sum(m.y[i, a] for i in d.enrolled[a]) <= capacity[a]))
    seats = {a.code: a.max_transfers_out_per_day for a in inst.aors if a.max_transfers_out_per_day is not None}
    m.seats_out = pyo.Constraint(list(seats), rule=_rule(
        lambda m, r: sum(m.x[i, u] for i, u in m.X if d.seat(i, u) == r) <= seats[r]))
    m.seats = pyo.Constraint([0] if pol.max_transfers_per_day is not None else [], rule=_rule(
        lambda m, t: sum(m.x[i, u] for i, u in m.X if d.seat(i, u) is not None) <= pol.max_transfers_per_day))


def _family_rows(m, d: _Rules) -> None:
    """Families: every member has the first member's outcome (same unit, released, unplaced)."""
    import pyomo.environ as pyo

    ties = [(fam[0].id, q.id) for fam in d.families.values() for q in fam[1:]]
    m.same_unit = pyo.Constraint([(a, b, u) for a, b in ties for u in dict.fromkeys(d.units_of[a] + d.units_of[b])],
                                 rule=_rule(
        lambda m, a, b, u: (m.x[a, u] if (a, u) in m.X else 0) == (m.x[b, u] if (b, u) in m.X else 0)))
    m.same_release = pyo.Constraint(ties, rule=_rule(lambda m, a, b: _released(m, d, a) == _released(m, d, b)))
    m.same_unplaced = pyo.Constraint(ties, rule=_rule(lambda m, a, b: m.w[a] == m.w[b]))


def _levels(m, d: _Rules) -> None:
    """The four objective levels (MODEL.md §4): unplaced, surge beds, released risk (in
    1/RISK_SCALE points), cost in USD over ``cost_days``."""
    import pyomo.environ as pyo

    inst, days, P = d.inst, d.pol.cost_days, [p.id for p in d.people]
    table = d.pol.factors()
    eff = {p.id: round(effective_risk(p.risk, p.humanitarian, table) * RISK_SCALE) for p in d.people}
    per_diem = {a.id: a.per_diem for a in inst.atd_programs}
    m.level = pyo.Expression([1, 2, 3, 4], rule=lambda m, k: {
        1: sum(m.w[i] for i in P),
        2: sum(m.surge[u.id] for _, u in d.units),
        3: sum(eff[i] * _released(m, d, i) for i in P),
        4: sum(f.guaranteed_minimum * f.gm_rate * days + f.per_diem * days * m.excess[f.id] for f in inst.facilities)
        + sum(per_diem[a] * days * m.y[i, a] for (i, a) in m.Y)
        + sum(d.moving_cost(d.person[i], d.unit_fac[u]) * m.x[i, u] for (i, u) in m.X),
    }[k])


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
        res = _run(opt, m, solver, exact, left, mip_gap, threads, seed, log)
        cond = res.solver.termination_condition
        statuses.append(str(cond))
        m.del_component(m.obj)
        term = STATUS.get(cond.name, "error")
        if term in ("error", "infeasible"):  # every level of a valid instance has a solution (its
            # unplaced variables; the earlier levels' solution): the solver failed, not the input
            raise SolverError(f"pyomo:{solver}: level {k}: the solver reported {cond} on a valid instance")
        loaded = _load_plan(m, res) or loaded
        if term != "optimal":
            break
        proven += 1
        if exact:
            m.hold.add(m.level[k] <= round(pyo.value(m.level[k])))
        if progress is not None:
            progress(_outcome(m, loaded, proven, list(statuses), t0))
    return _outcome(m, loaded, proven, statuses, t0)


def _run(opt, m, solver: str, exact: bool, left: float | None, mip_gap: float, threads: int, seed: int, log: bool):
    """One solve of the current level: an exact level stops at an absolute gap below 1 (its
    values are integers), the cost level at ``mip_gap``; ``left`` seconds (None: no limit)."""
    if solver == "highs":  # the legacy interface takes the limit and the log per call
        opt.config.mip_gap = 0.0 if exact else mip_gap
        opt.highs_options = {"mip_abs_gap": 0.99 if exact else 1e-6, "random_seed": seed,
                             **({"threads": threads} if threads else {})}
        return opt.solve(m, load_solutions=False, tee=log, timelimit=left)
    options = {"cbc": {"ratioGap": 0.0 if exact else mip_gap, "allowableGap": 0.99 if exact else 1e-6,
                       "randomCbcSeed": seed, **({"threads": threads} if threads > 1 else {})},
               "glpk": {"mipgap": 0.0 if exact else mip_gap}}[solver]
    if left is not None:  # whole seconds for both executables, rounded down to end in time
        options["seconds" if solver == "cbc" else "tmlim"] = math.floor(left)
    return opt.solve(m, load_solutions=False, options=options, tee=log)


def _load_plan(m, res) -> bool:
    """Load the solve's plan into ``m`` when it has one; True when it did.  The solver's solution
    status, not its headline status, says whether a plan exists (CBC stopped early may return a
    fractional LP point, status "other": no plan)."""
    from pyomo.opt import SolutionStatus
    from pyomo.opt import TerminationCondition as TC

    plan_statuses = (SolutionStatus.optimal, SolutionStatus.feasible, SolutionStatus.stoppedByLimit)
    if not (len(res.solution) > 0 and res.solution(0).status in plan_statuses
            and res.solver.termination_condition != TC.intermediateNonInteger):
        return False
    quiet = logging.getLogger("pyomo.core")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # Pyomo warns when loading the incumbent of a stopped solve
    try:
        m.solutions.load_from(res)
    finally:
        quiet.setLevel(level)
    return True


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

