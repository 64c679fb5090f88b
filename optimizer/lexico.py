"""Exact lexicographic optimisation of a :class:`~optimizer.model.Model`.

:func:`solve_lexicographic` (``--solver highs``) optimises the four levels (MODEL.md §4) of a
one-day model (:mod:`optimizer.model`) or a multi-day model (:mod:`optimizer.horizon`) on
persistent, warm-started HiGHS LPs:

1. **Compact levels 1-3.**  Levels 1-3 do not depend on where people come from, so they are
   optimised on the origin-free compact model (multi-day: also units merged into unit types); its
   optimal duals lift to the full model (:func:`optimizer.model.lift_duals`,
   :class:`optimizer.horizon.HorizonLift`: every full column gets its image's reduced cost).
2. **Levels 1-2 at their lower bounds first.**  No one unplaced who has a legal outcome and no
   surge bed is assumed by fixing those columns at 0 (:meth:`LexSolver.fix_at_bounds`); when
   level 3's LP is then feasible, levels 1-2 are proven without LPs of their own, else every
   level is solved in turn.  A fractional level-3 optimum gets an integer point of its face (a
   MIP next to the LP optimum, LP vertices of random objectives over the face, then a MIP without
   objective), carried to the full model.
3. **Optimal faces.**  After each level, complementary slackness with the optimal duals ``y``
   fixes every column with ``rc > 0`` at its lower bound, every column with ``rc < 0`` at its
   upper bound and every row with ``y != 0`` at the bound it touches: the next level is optimised
   over the set of LP-optimal solutions, which keeps the network structure (an objective row would
   break total unimodularity, ENGINEERING.md §6).  Levels whose current solution already costs 0
   need no LP (``y = 0`` is optimal).
4. **Column generation.**  Every LP starts from a restricted set of columns (the
   ``SETTINGS.initial_arcs`` cheapest moving arcs per pool (compact model of transport limits:
   forecast arrivals' arcs to their largest unit types, ``optimizer.horizon._arc_ranks``), the
   ``SETTINGS.initial_segments`` lowest risk segments or ``SETTINGS.initial_cohorts`` cohorts per
   class (:mod:`optimizer.settings`), at level 4 also the lift's choice: the lifted
   compact solution's columns and arcs of low estimated cost); after each solve, ``rc = c - A^T y`` is
   computed for every column and the negative ones enter (a bounded number per pool or class and
   round, at most ``SETTINGS.enter_total`` in all) until none is left: the LP optimum is then the full
   model's.  An LP infeasible over its columns is solved again over every column, so that
   infeasible is the model's.  A fractional optimum (families are binary blocks) is solved as a MIP with reduced-cost fixing
   (:meth:`LexSolver.solve_mip`): moving a column off the bound where the LP optimum holds it
   costs at least ``|rc|``, so only the columns with ``|rc| <= tau`` are free, ``tau`` growing
   from the LP optimal face until the incumbent is proven for the full model.
5. **Proof and fallback.**  An integer point of the last face has levels 1-3 equal to their LP
   optima, which bound the MIP optima from below: all four levels are proven.  When the face holds
   no integer point, every level is solved as a MIP with the earlier ones held by exact rows
   ``c_k x <= z_k`` (levels 1-3 are integer-valued).

:func:`solve_with_backend` solves each level as a MIP with any backend of
:mod:`optimizer.backends`, holding earlier levels by exact rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .interrupts import ARRIVED
from .model import Model
from .settings import SETTINGS

INFEASIBLE = ("Infeasible", "Primal infeasible or unbounded")  # HiGHS statuses (no LP here is unbounded)


@dataclass(frozen=True)
class LevelParams:
    """Solver settings shared by every HiGHS call: ``threads`` (0 = solver default), ``seed``,
    relative ``mip_gap`` of level 4, ``log`` (print the solver log), ``progress`` (called with a
    short text at each level and pricing round, for a progress display; None: nothing)."""

    threads: int = 1
    seed: int = 0
    mip_gap: float = 1e-6
    log: bool = False
    progress: object = None


LEVEL_NAMES = ("unplaced people", "surge bed-days", "released risk", "cost")


def _say(params: LevelParams, text: str) -> None:
    if params.progress is not None:
        params.progress(text)


def _new_highs(params: LevelParams, time_left: float | None):
    import highspy

    # The base class: highspy.Highs() calls into HiGHS before options can be set, printing a banner.
    h = highspy._core._Highs()
    h.setOptionValue("output_flag", bool(params.log))
    if params.threads:
        h.setOptionValue("threads", int(params.threads))
    h.setOptionValue("random_seed", int(params.seed))
    if time_left is not None:
        h.setOptionValue("time_limit", max(float(time_left), 0.01))
    return h



def _stop_on_signal(kind, message, data_out, data_in, user_data) -> None:
    """HiGHS's interrupt callback, at each simplex or interior point iteration: a SIGINT or SIGTERM
    noted since (optimizer/interrupts.py) stops the run within an iteration instead of after it.
    The note's own KeyboardInterrupt, raised here when Python runs the handler, ends this call
    and HiGHS returns; :meth:`LexSolver._run` then acts on the note."""
    if ARRIVED:
        data_in.user_interrupt = True


def interruptible(h) -> None:
    """Let a noted signal stop the HiGHS object ``h``'s runs at their next iteration
    (:func:`_stop_on_signal`; HiGHS's presolve has no such callback and runs to its end)."""
    from highspy import cb

    h.setCallback(_stop_on_signal, None)
    for kind in (cb.HighsCallbackType.kCallbackSimplexInterrupt, cb.HighsCallbackType.kCallbackIpmInterrupt,
                 cb.HighsCallbackType.kCallbackMipInterrupt):
        h.startCallback(kind)


class LexSolver:
    """State of one lexicographic solve: the persistent LP, the active columns, bounds and holds."""

    def __init__(self, model: Model, params: LevelParams, deadline: float | None):
        self.m, self.params, self.deadline = model, params, deadline
        n = model.A.shape[1]
        self.col_lo = model.col_lower.astype(float).copy()
        self.col_hi = model.col_upper.astype(float).copy()
        self.row_lo = model.row_lower.astype(float).copy()
        self.row_hi = model.row_upper.astype(float).copy()
        self.banned = np.zeros(n, dtype=bool)  # excluded for good (positive reduced cost on a face)
        self.holds: list[tuple[np.ndarray, float]] = []
        self.group = np.full(n, -1, dtype=np.int64)  # pricing group (pool of an arc, class of a segment)
        b = model.blocks
        empty = slice(0, 0)
        arc = np.arange(b.get("arc", empty).start, b.get("arc", empty).stop)
        self.group[arc] = model.arc_pool
        self.seg_group0 = model.arc_pool.max(initial=-1) + 1
        self.tiebreak = np.zeros(n)
        self.tiebreak[arc] = model.arc_rank
        active = np.ones(n, dtype=bool)
        if len(model.pool_bt) > len(np.unique(model.pool_bt)):  # pools differ by origin: price arcs
            active[arc[model.arc_rank >= SETTINGS.initial_arcs]] = False
        self.priced_in = ~active  # arcs left out of the first LP (:meth:`open_face` lets some in)
        # a class's outcome columns, priced per class: one-day risk segments, multi-day cohorts
        for name, first in (("seg", SETTINGS.initial_segments), ("coh", SETTINGS.initial_cohorts)):
            if name in b:
                cols = np.arange(b[name].start, b[name].stop)
                rank = getattr(model, f"{name}_rank")
                self.group[cols] = getattr(model, f"{name}_class") + self.seg_group0
                self.tiebreak[cols] = rank
                active[cols[rank >= first]] = False
        self.cols = np.flatnonzero(active)  # HiGHS column j is model column cols[j] (once opened)
        self.out = np.zeros(0, np.int64)  # active columns fixed when the LP was opened: not in it
        self.shift = None  # their part of each row, taken off the LP's row bounds
        self.active = active
        self.version = ""
        self.lp = None

    # ------------------------------------------------------------------ helpers
    def left(self):
        return None if self.deadline is None else self.deadline - time.monotonic()

    def _col_entries(self, cols):
        A = self.m.A[:, cols]
        if self.holds:
            H = sp.csc_matrix(np.vstack([h[0][cols] for h in self.holds]))
            A = sp.vstack([A, H], format="csc")
        return A

    def _open_lp(self, cost):
        """A HiGHS LP over the active columns not fixed (national 14-day level 4: 600,000 active
        columns, 400,000 of them fixed by the faces of levels 1-3; warm starts keep every column
        of the LP, presolve does not run)."""
        free = self.col_lo < self.col_hi
        if not (free & self.active).any():  # HiGHS would call an empty LP optimal whatever its row bounds
            free[:] = True
        self.lp, self.cols, self.shift = self._restricted(cost, free, self.col_lo, integer=False)
        self.out = np.flatnonzero(self.active & ~free)
        self.version = self.lp.version()

    def _add_cols(self, new, cost):
        A = self._col_entries(new)
        self.lp.addCols(len(new), np.ascontiguousarray(cost[new]), self.col_lo[new], self.col_hi[new], int(A.nnz),
                        A.indptr[:-1].astype(np.int32), A.indices.astype(np.int32), A.data)
        self.cols = np.concatenate([self.cols, new])
        self.active[new] = True

    def _run(self, h, cap=None):
        """Run ``h`` until the deadline, or for at most ``cap`` seconds. Returns (status, ok)."""
        import highspy

        from .interrupts import check

        check()  # a safe point of `solve` (optimizer/interrupts.py): a noted SIGINT stops it here
        left = self.left()
        if left is not None and left <= 0.01:
            return "Time limit reached", False
        # For LPs HiGHS measures time_limit against the object's total run time, every earlier
        # run included (ERGO-Code/HiGHS#1331), so the limit is that total plus the time left (set
        # on every run: a capped run's limit must not outlive it).  A MIP measures each run on its
        # own, which is the same here: every MIP runs once, on a new object.
        h.setOptionValue("time_limit", h.getRunTime() + min(np.inf if left is None else left,
                                                            np.inf if cap is None else cap))
        interruptible(h)
        h.run()
        check()  # a signal during the run stopped it (_stop_on_signal): act on it as at any safe point
        status = h.getModelStatus()
        has = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
        if status == highspy.HighsModelStatus.kModelEmpty:  # nothing to decide: optimal
            return "Optimal (empty model)", True
        return h.modelStatusToString(status), status == highspy.HighsModelStatus.kOptimal and has

    def reduced_costs(self, cost, y):
        """``cost - A^T y`` over every model column (HiGHS: row duals ``y``, minimisation)."""
        nb = self.m.A.shape[0]
        rc = cost - self.m.A.T @ y[:nb]
        for j, (coef, _) in enumerate(self.holds):
            rc -= coef * y[nb + j]
        return rc

    def _entering(self, rc, scale):
        cand = np.flatnonzero(~self.active & ~self.banned & (rc < -1e-9 * scale))
        if len(cand) == 0:
            return cand
        g = self.group[cand]
        order = np.lexsort((self.tiebreak[cand], rc[cand], g))
        cand, g = cand[order], g[order]
        first = np.ones(len(g), dtype=bool)
        first[1:] = g[1:] != g[:-1]
        start = np.maximum.accumulate(np.where(first, np.arange(len(g)), 0))
        rank = np.arange(len(g)) - start
        limit = np.where(g >= self.seg_group0, SETTINGS.enter_segments, SETTINGS.enter_per_group)
        cand = cand[(rank < limit) | (g < 0)]
        if len(cand) > SETTINGS.enter_total:
            cand = cand[np.lexsort((self.tiebreak[cand], rc[cand]))[:SETTINGS.enter_total]]
        return np.sort(cand)

    # ------------------------------------------------------------------ levels
    def solve_lp(self, cost, x_prev=None, level=None):
        """Column generation to the full model's LP optimum for the objective ``cost`` (level
        ``level``, 0-based, when it is one of the model's). Returns (status, ok, x, y, z, rc).

        When ``x_prev`` (a solution of the current face) already costs 0 and no cost is
        negative, it is optimal and ``y = 0`` is an optimal dual: no LP is solved."""
        if x_prev is not None and not (cost < 0).any() and float(cost @ x_prev) == 0.0:
            n_rows = self.m.A.shape[0] + len(self.holds)
            return "Optimal (zero)", True, x_prev, np.zeros(n_rows), 0.0, cost.astype(float)
        scale = max(1.0, float(np.abs(cost).max(initial=0)))
        if self.lp is None:
            self._open_lp(cost)
        else:
            self.lp.changeColsCost(len(self.cols), np.arange(len(self.cols), dtype=np.int32),
                                   np.ascontiguousarray(cost[self.cols]))
            self.lp.changeObjectiveOffset(float(cost[self.out] @ self.col_lo[self.out]))
        # A new objective: presolve and dual simplex (interior point in large LPs, and in level-2
        # LPs of multi-day models with more than SETTINGS.ipm_nonzeros nonzeros; one-day models
        # keep dual simplex, faster on them); a pricing round: primal simplex from
        # the previous basis, without presolve (it would discard the basis); in large LPs
        # (SETTINGS.scratch_rows) for at most SETTINGS.warm_cap times the last solve from scratch
        # (SETTINGS.big_round_cap when more than SETTINGS.warm_cols columns enter), then interior
        # point from scratch.
        big = self.m.A.shape[0] > SETTINGS.scratch_rows
        surge_ipm = level == 1 and getattr(self.m, "horizon", 1) > 1 and self.lp.getNumNz() > SETTINGS.ipm_nonzeros
        self.lp.setOptionValue("solver", "ipm" if big or surge_ipm else "simplex")
        self.lp.setOptionValue("simplex_strategy", 1)
        self.lp.setOptionValue("presolve", "on")
        cap = None  # seconds a warm start may take (large LPs)
        scratch_s = np.inf  # the last solve from scratch (large LPs), seconds
        redone = False  # a failed run solved again by simplex
        while True:
            start = time.monotonic()
            status, ok = self._run(self.lp, cap)
            if cap is not None and status == "Time limit reached" and (self.left() is None or self.left() > 0.01):
                # a warm start that crawls (national 14-day: 158 s for 20,000 arcs after the first
                # LP): from scratch instead, by simplex when the interior point method failed before
                self._from_scratch("simplex" if redone else "ipm")
                cap = None
                continue
            if not ok and status not in (*INFEASIBLE, "Time limit reached") and not redone:
                # HiGHS's interior point method may end in "Solve error" where dual simplex
                # proves the LP infeasible (a 41-column level-3 LP, HiGHS 1.16): once by simplex
                self._from_scratch("simplex")
                cap, redone = None, True
                continue
            if status in INFEASIBLE and len(rest := np.flatnonzero(~self.active & ~self.banned)):
                # infeasible with the columns priced in so far: every column, so that
                # "infeasible" is the model's (pricing needs the duals of a feasible LP)
                self._add_cols(rest, cost)
                continue
            if not ok:
                return status, False, None, None, None, None
            if cap is None and big:
                scratch_s = time.monotonic() - start
            sol = self.lp.getSolution()
            y = np.asarray(sol.row_dual)
            if len(y) == 0:  # an LP without free columns has no duals: y = 0 is optimal (costs >= 0)
                y = np.zeros(self.m.A.shape[0] + len(self.holds))
            rc = self.reduced_costs(cost, y)
            new = self._entering(rc, scale)
            _say(self.params, f"pricing: {len(new):,} columns enter")
            if len(new) == 0:
                x = self.col_lo.copy()  # columns out of the LP are at their lower bound
                x[self.cols] = sol.col_value
                return status, True, x, y, float(self.lp.getInfo().objective_function_value), rc
            # primal simplex from the last basis (still primal feasible), in large LPs for at most
            # a share of the last solve from scratch
            self.lp.setOptionValue("solver", "simplex")
            self.lp.setOptionValue("simplex_strategy", 4)
            self.lp.setOptionValue("presolve", "off")
            share = SETTINGS.big_round_cap if len(new) > SETTINGS.warm_cols else SETTINGS.warm_cap
            cap = share * scratch_s if big else None
            self._add_cols(new, cost)

    def _from_scratch(self, solver="ipm"):
        """The next run of the LP from scratch, with presolve: by the interior point method
        (large LPs) or by dual simplex (``solver="simplex"``)."""
        self.lp.clearSolver()
        self.lp.setOptionValue("solver", solver)
        self.lp.setOptionValue("simplex_strategy", 1)
        self.lp.setOptionValue("presolve", "on")

    def restrict_to_face(self, rc, y):
        """Fix columns and rows by complementary slackness with the optimal duals (exact)."""
        n_rows = self.m.A.shape[0]
        pos = rc > SETTINGS.face_tol
        neg = rc < -SETTINGS.face_tol
        self.banned |= pos & ~self.active
        self.col_hi[pos] = self.col_lo[pos]
        self.col_lo[neg] = self.col_hi[neg]
        yb = y[:n_rows]
        at_up = yb < -SETTINGS.face_tol
        at_lo = yb > SETTINGS.face_tol
        self.row_lo[at_up] = self.row_hi[at_up]
        self.row_hi[at_lo] = self.row_lo[at_lo]
        rows = np.flatnonzero(at_up | at_lo)
        if self.lp is not None:
            act = self.cols
            self.lp.changeColsBounds(len(act), np.arange(len(act), dtype=np.int32), self.col_lo[act], self.col_hi[act])
            if len(rows):
                self.lp.changeRowsBounds(len(rows), rows.astype(np.int32), self.row_lo[rows] - self.shift[rows],
                                         self.row_hi[rows] - self.shift[rows])
        # columns now fixed above zero must be in the LP (duals lifted from the compact model can
        # fix columns that were never priced in)
        self._include(np.flatnonzero(~self.active & (self.col_lo > 0)), np.zeros(len(self.col_lo)))

    def close(self):
        """Free the HiGHS LP (national 14-day: hundreds of MB); the columns, bounds and faces
        stay, for :meth:`face_point` and :meth:`solve_mip` (new HiGHS models of their own)."""
        self.lp, self.out = None, np.zeros(0, np.int64)
        self.cols = np.flatnonzero(self.active)

    def open_face(self, cost):
        """In a large LP (``scratch_rows``), every column of the current face joins the LP (or
        the columns it will open with) for the next level's objective ``cost``: the face has
        excluded most columns, and the next level's first pricing round would otherwise need a
        second solve from scratch (national
        14-day with transport limits, compact level 3: 135,335 columns more; one interior point
        solve of 28.7-37.7 s of CPU against 33.3-45.5 s for two).  Of the arcs that enter only by
        pricing, those ranked below ``SETTINGS.face_arcs`` times ``SETTINGS.initial_arcs`` join
        (the same level with forecast arrivals' arcs priced: every arc of the face, 448,146
        columns and 33.8 s; the first LP's 16 per pool, 338,377 columns, 19.6 s and a pricing
        round of 9.8 s; 24 or 32 per pool, one solve of 19.8 s or 20.0 s)."""
        if self.m.A.shape[0] > SETTINGS.scratch_rows:
            later = self.priced_in & (self.tiebreak >= SETTINGS.face_arcs * SETTINGS.initial_arcs)
            self._include(np.flatnonzero(~self.active & ~self.banned & ~later & (self.col_lo < self.col_hi)), cost)

    def _include(self, new, cost):
        """Make the model columns ``new`` active (and add them to the LP once it is open)."""
        if self.lp is None:
            self.active[new] = True
            self.cols = np.flatnonzero(self.active)
        elif len(new):
            self._add_cols(new, cost)

    def fix_at_bounds(self, costs) -> list[float]:
        """For each level cost in ``costs`` (each ``>= 0``): fix every column of positive cost at
        its lower bound, except the columns that an equality row holds alone (their value is
        forced).  Returns each level's resulting value, a lower bound of its optimum.  When the
        model stays feasible, the fixed columns form the levels' optimal faces."""
        A = self.m.A.tocsr()
        alone = np.flatnonzero((np.diff(A.indptr) == 1) & (self.row_lo == self.row_hi))
        value = self.col_lo.copy()
        col = A.indices[A.indptr[alone]]
        value[col] = self.row_lo[alone] / A.data[A.indptr[alone]]
        forced = np.zeros(A.shape[1], dtype=bool)
        forced[col] = True
        for cost in costs:
            fix = (cost > 0) & ~forced
            self.col_hi[fix] = self.col_lo[fix]
            self.banned |= fix & ~self.active
        return [float(cost @ value) for cost in costs]

    def activate(self, mask):
        """Add the model columns in ``mask`` (not banned) before the LP is opened."""
        assert self.lp is None
        self.active |= mask & ~self.banned
        self.cols = np.flatnonzero(self.active)

    def _restricted(self, cost, free, value, integer):
        """A new HiGHS model over the active columns in ``free``; every other active column is
        fixed at ``value`` (its part moved into the row bounds and the objective offset).
        Returns the HiGHS object, the model column of each of its columns and the shift of each
        row (model rows, then holds)."""
        cols = np.flatnonzero(self.active & free)
        fixed = np.flatnonzero(self.active & ~free)
        shift = self._col_entries(fixed) @ value[fixed]
        h = _new_highs(self.params, self.left())
        A = self._col_entries(cols)
        rlo = np.concatenate([self.row_lo, np.full(len(self.holds), -np.inf)]) - shift
        rhi = np.concatenate([self.row_hi, [hh[1] for hh in self.holds]]) - shift
        n = len(cols)
        h.passModel(int(n), int(A.shape[0]), int(A.nnz), 1, 1, float(cost[fixed] @ value[fixed]),
                    np.ascontiguousarray(cost[cols]), self.col_lo[cols], self.col_hi[cols], rlo, rhi,
                    A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data,
                    np.full(n, int(integer), dtype=np.int32))
        return h, cols, shift

    def face_point(self, tries, x):
        """An integer point of the current face, or None: first :meth:`near_point` of the
        fractional LP optimum ``x``, then the LP vertices of ``tries`` random objectives over the
        face's free columns (national 14-day compact level-3 face: 0.9-1.1 s each, 3 of 5
        integral; a MIP without objective took 2-139 s depending on the seed)."""
        x_int = self.near_point(x)
        if x_int is not None:
            return x_int
        rng = np.random.default_rng(self.params.seed)
        free = self.active & ~self.banned & (self.col_lo < self.col_hi)
        for _ in range(tries):
            cost = np.zeros(len(self.col_lo))
            cost[free] = rng.integers(0, 1000, int(free.sum()))
            h, cols, _ = self._restricted(cost, free, self.col_lo, integer=False)
            if not self._run(h)[1]:
                return None
            x = self.col_lo.copy()
            x[cols] = h.getSolution().col_value
            if np.all(np.abs(x - np.rint(x)) <= 1e-7):
                return np.rint(x)
        return None

    def near_point(self, x):
        """An integer point of the current face next to its fractional point ``x``, or None: a
        MIP without objective over the face's columns within one (then two) rows of a
        fractional column of ``x``, every other column fixed at its (integer) value in ``x``.
        Any solution is an integer point of the face: its fixed columns are integers, its free
        ones are integers within the face's bounds, and every row keeps the face's bounds.
        National 14-day with transport limits, compact level 3: 124 fractional columns, 7,890
        free within one row, 0.2 s, where the random vertices of :meth:`face_point` took 18 s."""
        A = self.m.A  # CSC
        face = self.active & ~self.banned & (self.col_lo < self.col_hi)
        near = np.abs(x - np.rint(x)) > 1e-7
        for _ in range(2):
            rows = np.zeros(A.shape[0])
            rows[A[:, np.flatnonzero(near)].indices] = 1.0
            near = abs(A).T @ rows > 0
            h, cols, _ = self._restricted(np.zeros(len(x)), near & face, np.rint(x), integer=True)
            if self._run(h)[1] and h.getInfo().primal_solution_status == 2:
                x_int = np.rint(x)
                x_int[cols] = np.rint(h.getSolution().col_value)
                return x_int
        return None

    def solve_mip(self, cost, k, z_lp, rc):
        """The level as a MIP, exact by reduced-cost fixing.  Returns (status, ok, x, bound).

        ``z_lp`` is the level's LP optimum over every model column and ``rc`` its reduced costs:
        a solution that moves column j off the bound where the LP optimum holds it (by at least
        one unit: bounds and values are integers) costs at least ``z_lp + |rc_j|``.  So the MIP
        is solved over the columns with ``|rc| <= tau`` only, the others fixed at that bound
        (national 14-day level 4: about 30,000 of 4.5 million arcs at ``tau = 0``); its
        incumbent ``z`` has the bound ``min(MIP bound, z_lp + tau)`` over the whole model.
        ``tau`` starts at the LP optimal face (0), then grows to the level's tolerance and to
        ``z - z_lp`` until the incumbent is proven; ``ok`` is False when the limit stops it or
        no column set holds a solution."""
        integral = k < 3
        gap = 0.99 if integral else float(self.params.mip_gap) * max(1.0, abs(z_lp))
        scale = max(1.0, float(np.abs(cost).max(initial=0)))
        movable = ~self.banned & (self.col_lo < self.col_hi)
        at = np.where(rc < 0, self.col_hi, self.col_lo)  # the bound where the LP optimum holds a column
        steps = [SETTINGS.face_tol * scale] + ([gap] if gap > SETTINGS.face_tol * scale else []) + [np.inf]
        x_best, z_best, status = None, np.inf, "Infeasible"
        while steps:
            tau = steps.pop(0)
            free = movable & ((np.abs(rc) <= tau) | ~np.isfinite(at))
            if np.isinf(tau):
                free &= self.active  # columns never priced in stay out (their rc bounds the rest)
            self._include(np.flatnonzero(free & ~self.active), cost)  # never priced in (rc >= 0): join at rc <= tau
            rest = float(np.abs(rc[movable & ~free]).min(initial=np.inf))  # every fixed column costs this
            value = np.where(self.active & (self.col_lo < self.col_hi), at, self.col_lo)
            h, cols, _ = self._restricted(cost, free, value, integer=True)
            h.setOptionValue("mip_rel_gap", 0.0)
            h.setOptionValue("mip_abs_gap", gap)
            n = len(cols)
            if x_best is not None:  # still feasible: the columns it moved stay free
                h.setSolution(n, np.arange(n, dtype=np.int32), np.ascontiguousarray(x_best[cols]))
            status, ok = self._run(h)
            info = h.getInfo()
            if info.primal_solution_status == 2:
                x = value.copy()
                x[cols] = h.getSolution().col_value
                z = float(cost @ np.rint(x))
                if z < z_best:
                    x_best, z_best = x, z
            if not ok and status not in INFEASIBLE:  # stopped by the limit
                return status, False, x_best, min(float(info.mip_dual_bound), z_lp + rest)
            if x_best is None:
                continue  # no solution with these columns free: free more
            bound = min(float(info.mip_dual_bound) if ok else np.inf, z_lp + rest)
            if z_best - bound <= gap + 1e-9 * scale:
                return status, True, x_best, bound
            if np.isfinite(tau) and tau >= z_best - z_lp:  # not proven where it must be (numerics)
                return status, False, x_best, bound
            steps = [z_best - z_lp]  # every better solution moves only columns free there
        return status, False, x_best, z_lp


def solve_lexicographic(model: Model, params: LevelParams, deadline: float | None,
                        compact: Model | None = None, lift=None):
    """Optimise the four levels of ``model`` in order (see the module docstring).

    With a ``compact`` model (same levels 1-3, see :func:`optimizer.model.build` and
    :func:`optimizer.horizon.build_horizon`) and ``lift`` (an object with ``duals(y)`` and
    ``solution(x)`` carrying compact duals and solutions to ``model``, ``initial(xc, xf, lower,
    upper)``, the model columns to start level 4 with from the compact solution ``xc``, its lift
    ``xf`` (None when it cannot be carried) and the model's column bounds, and
    ``reserve_s``, the seconds before ``deadline`` at which the compact levels stop so that their
    solution can be carried, the last ``lift_s`` of them for ``solution``), levels 1-3 are
    optimised on the compact model and only level 4 on ``model``.

    Returns ``(x, proven, bounds, statuses, version)``: ``x`` integer over all model columns (None
    when no solution was found), ``proven`` the number of leading levels proven optimal,
    ``bounds`` the dual bound of each attempted level, ``statuses`` HiGHS's status per level.
    Raises ``RuntimeError`` when HiGHS returns a solution inconsistent with its own objective."""
    result = _faces(model, params, deadline, compact, lift)
    if result is None:  # the optimal faces hold no integer point: solve level by level as MIPs
        result = _holds(model, params, deadline)
    return result


def _check(cost, x, z, k):
    xi = np.rint(x).astype(np.int64)
    value = float(cost @ xi)
    if abs(value - z) > 1e-6 * max(1.0, abs(z)) + 1e-3:
        raise RuntimeError(f"HiGHS returned a level-{k + 1} solution of value {value}, reported {z}")
    return xi


def _faces(model, params, deadline, compact, lift):
    """Levels 1-3 as LPs restricted to optimal faces, level 4 as LP or MIP on the last face.

    Levels 1 and 2 are first assumed at their lower bound (:meth:`LexSolver.fix_at_bounds`: no
    one unplaced who has some legal outcome, no surge bed): when level 3's LP is feasible with
    them fixed, they are proven optimal without their own LPs (national 14-day instance: level 2's
    LP did not finish in 582 s).  Otherwise, and with active transport limits, every level is
    solved in turn.

    An integer point of the last face has every level 1-3 value equal to its LP optimum, a lower
    bound of the MIP optimum, so it proves levels 1-3 optimal.  Returns None when the last face
    holds no integer point (some level's MIP optimum exceeds its LP optimum)."""
    seats = model.row_blocks.get("seat", slice(0, 0))
    # Binding transport limits keep people on surge beds at home (national 14-day: the failed
    # assumption of level 2 cost 87 s, its level-3 LP infeasible only over every column), so with
    # seat rows only level 1 is assumed.
    assume = 2 if seats.stop == seats.start else 1
    result = _faces_from(model, params, deadline, compact, lift, assume)
    if result == "infeasible":
        result = _faces_from(model, params, deadline, compact, lift, 0)
    return result


def _faces_from(model, params, deadline, compact, lift, assume):
    """:func:`_faces` with the first ``assume`` levels (0-2) assumed at their lower bounds;
    "infeasible" when the assumption fails."""
    s = LexSolver(model, params, deadline)
    statuses = ["At its lower bound"] * assume  # optimal once a later level's LP is feasible
    if compact is None:
        bounds = s.fix_at_bounds(model.objectives[:assume]) if assume else []
        return _full_levels(s, assume, bounds, statuses, (None, 0))
    # the compact levels leave time to carry their solution over when the limit stops them
    early = None if deadline is None else deadline - lift.reserve_s
    chain, maps = [LexSolver(compact, params, early), s], [lift.duals]
    coarse = lift.coarse() if assume < 2 else None
    if coarse is not None:  # levels 1-2 on the risk-merged compact model
        chain, maps = [LexSolver(coarse.model, params, early), *chain], [coarse.duals, *maps]
    bounds = []
    if assume:  # on every model of the chain; the compact model's values are the bounds
        bounds = chain[-2].fix_at_bounds(compact.objectives[:assume])
        for t in [*chain[:-2], s]:
            t.fix_at_bounds(t.m.objectives[:assume])
    done = _compact_levels(chain, maps, assume, bounds, statuses, params, coarse and coarse.split)
    if done == "infeasible":
        return done
    (xc, ok), c = done, chain[-2]
    version = next((t.version for t in chain if t.version), "")
    if not ok:
        return (*_carried(model, lift, c, xc, bounds, deadline), bounds, statuses, version)
    xf, proven = _lifted(model, lift, xc, bounds, 3)
    if xf is None and (c.left() is None or c.left() > 0):
        # a fractional LP optimum: an integer point of the compact face (national 14-day:
        # 0.2 s) proves levels 1-3 and starts level 4 from a feasible set of columns
        x_int = c.face_point(SETTINGS.face_tries, xc)
        if x_int is None:
            status, ok, x_int, _ = c.solve_mip(np.zeros(len(xc)), 3, 0.0, np.zeros(len(xc)))
            if status in INFEASIBLE:
                return None
            if x_int is None:  # the limit stopped it: no plan to carry over
                statuses.append(f"MIP (integer point of level 3): {status}")
                return None, 0, bounds, statuses, c.version
        xc = np.rint(x_int)
        xf, proven = _lifted(model, lift, xc, bounds, 3)
    s.activate(lift.initial(xc, xf, s.col_lo, s.col_hi))
    return _full_levels(s, 3, bounds, statuses, (xf, proven))


def _compact_levels(chain, maps, first, bounds, statuses, params, split=None):
    """Levels ``first``-3 on the compact models of ``chain`` (solvers; its last is the full
    model's): levels 1-2 on the first, level 3 on the one before the last.  Each level's optimal
    face is carried down the chain by its optimal duals, lifted by ``maps`` (``maps[i]`` takes
    ``chain[i]``'s rows to ``chain[i + 1]``'s): every later model's columns get the reduced
    costs of their images, so the faces are the same.  Returns "infeasible" when an assumed level
    fails, else ``(xc, ok)``: the last LP optimum on the compact model, or when there is none the
    risk-merged model's carried over by ``split`` (None before the first), ``ok`` False when a
    level's LP failed (its status is in ``statuses``)."""
    xs = [None] * len(chain)
    for k in range(first, 3):
        i = 0 if k < 2 else len(chain) - 2
        t = chain[i]
        _say(params, f"level {k + 1} of 4 ({LEVEL_NAMES[k]})")
        status, ok, x, y, z_lp, rc = t.solve_lp(t.m.objectives[k], xs[i], k)
        if not ok:
            if k == first > 0 and status in INFEASIBLE:
                return "infeasible"
            statuses.append(f"LP: {status}")
            if xs[-2] is None and split is not None and xs[0] is not None:
                return split(xs[0]), False
            return xs[-2], False
        xs[i] = x
        statuses.append(status)
        bounds.append(z_lp)
        t.restrict_to_face(rc, y)
        for later, lift_duals in zip(chain[i + 1:], maps[i:]):
            y = lift_duals(y)
            later.restrict_to_face(later.reduced_costs(later.m.objectives[k], y), y)
        nxt = chain[0 if k < 1 else len(chain) - 2] if k < 2 else None
        if nxt is not t:  # its last level: free its LP before the next, larger one
            t.close()
        if nxt is not None:
            nxt.open_face(nxt.m.objectives[k + 1])
    return xs[-2], True


def _full_levels(s, first, bounds, statuses, fallback):
    """Levels ``first``-4 on the full model (solver ``s``), level 4 by MIP when its LP optimum
    is fractional; ``fallback`` is the best solution so far and its number of proven levels."""
    x = None
    for k in range(first, 4):
        _say(s.params, f"level {k + 1} of 4 ({LEVEL_NAMES[k]})")
        cost = s.m.objectives[k]
        status, ok, x, y, z_lp, rc = s.solve_lp(cost, x, k)
        if not ok:
            if k == first > 0 and k < 3 and status in INFEASIBLE:
                return "infeasible"
            statuses.append(f"LP: {status}")
            return fallback[0], fallback[1], bounds, statuses, s.version
        statuses.append(status)
        bounds.append(z_lp)
        if np.all(np.abs(x - np.rint(x)) <= 1e-7):  # an integer point of this face proves levels 1..k+1
            fallback = (_check(cost, x, z_lp, k), k + 1)
        if k < 3:
            s.restrict_to_face(rc, y)
    if fallback[1] == 4:  # the LP optimum of level 4 is an integer point: every level is proven
        return fallback[0], 4, bounds, statuses, s.version
    _say(s.params, "level 4 of 4 (cost): MIP")
    s.close()
    status, ok, x_mip, bound = s.solve_mip(cost, 3, z_lp, rc)
    statuses[3] = f"MIP: {status}"
    if x_mip is None:
        if status in INFEASIBLE:
            return None
        return fallback[0], fallback[1], bounds, statuses, s.version
    bounds[3] = bound
    return _check(cost, x_mip, float(cost @ np.rint(x_mip)), 3), (4 if ok else 3), bounds, statuses, s.version


def _carried(model, lift, c, xc, bounds, deadline):
    """``xc``, the compact levels' last LP optimum when the limit (or a failed LP) stopped the
    next level, lifted to ``model`` with the levels it proves.  When it is fractional, an integer
    point next to it on the face of the levels solved (:meth:`LexSolver.near_point` of ``c``, the
    compact model's solver) is lifted instead, found in the time the compact levels kept for it
    (until ``lift.lift_s`` before ``deadline``).  Every solved level of such a point equals its LP
    bound, so it is proven (``generate --aor HOU,SNA,DAL --horizon-days 30 --seed 1`` at
    ``--time-limit 40``: levels 1-2 proven and no one unplaced, where the constructive plan left
    162 people unplaced)."""
    xf, proven = _lifted(model, lift, xc, bounds, len(bounds))
    if xf is None and xc is not None:
        c.close()  # its stopped LP (hundreds of MB) before a MIP of its own
        if deadline is not None:
            c.deadline = deadline - lift.lift_s
        x_int = c.near_point(xc) if c.left() is None or c.left() > 0 else None
        if x_int is not None:
            xf, proven = _lifted(model, lift, x_int, bounds, len(bounds))
    return xf, proven


def _lifted(model, lift, xc, bounds, levels):
    """The compact solution ``xc`` lifted to ``model``, with the number of leading levels it
    proves optimal (its value equals the LP bound there); (None, 0) when it cannot be lifted."""
    xf = None if xc is None else lift.solution(xc)
    if xf is None:
        return None, 0
    proven = 0
    while proven < levels and abs(float(model.objectives[proven] @ xf) - bounds[proven]) < 1e-6:
        proven += 1
    return xf, proven


def _holds(model, params, deadline):
    """Each level as a MIP on generated columns, its value held by a row for the later levels."""
    s = LexSolver(model, params, deadline)
    x_best, proven, bounds, statuses = None, 0, [], []
    for k in range(4):
        _say(params, f"level {k + 1} of 4 ({LEVEL_NAMES[k]})")
        cost = model.objectives[k]
        status, ok, x, y, z_lp, rc = s.solve_lp(cost, level=k)
        if not ok:
            statuses.append(f"LP: {status}")
            break
        if np.all(np.abs(x - np.rint(x)) <= 1e-7):
            z, bound = z_lp, z_lp
            statuses.append("Optimal (LP integral)")
        else:
            status, ok, x_mip, bound = s.solve_mip(cost, k, z_lp, rc)
            statuses.append(f"MIP: {status}")
            if x_mip is None:
                bounds.append(bound)
                break
            x = x_mip
            z = float(cost @ np.rint(x))
        x_best = _check(cost, x, z, k)
        bounds.append(bound)
        if not ok:
            break
        proven += 1
        if k < 3:
            s.holds.append((cost, z))
            s.lp = None  # reopen the LP with the hold row at the next level
    return x_best, proven, bounds, statuses, s.version


def solve_with_backend(model: Model, backend, params: LevelParams, deadline: float | None,
                       compact: Model | None = None, lift=None):
    """The four levels as MIPs solved by ``backend`` (a module of :mod:`optimizer.backends`).

    Levels 1-3 are solved on ``compact`` when given (their values equal ``model``'s), each held
    by an exact row ``c_k x <= z_k`` for the later levels; level 4 on ``model`` with the three
    holds.  Returns the same tuple as :func:`solve_lexicographic`.  A backend with its own
    lexicographic method (``solve_levels(model, params, deadline)``, e.g. Gurobi's hierarchical
    multi-objective) is handed the whole model instead."""
    from .backends.base import MipParams

    if hasattr(backend, "solve_levels"):
        return backend.solve_levels(model, params, deadline)
    holds: list[tuple[int, float]] = []
    x_best, x_compact, proven, bounds, statuses, version = None, None, 0, [], [], ""
    for k in range(4):
        _say(params, f"level {k + 1} of 4 ({LEVEL_NAMES[k]})")
        m = compact if (compact is not None and k < 3) else model
        problem = level_problem(m, k, holds)
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0.05:
            break
        res = backend.solve(problem, MipParams(
            time_limit=left, mip_gap=0.0 if k < 3 else params.mip_gap, abs_gap=0.99 if k < 3 else 1e-6,
            threads=params.threads, seed=params.seed, log=params.log))
        if res.termination == "error":
            raise RuntimeError(f"{res.solver_version}: level {k + 1}: {res.native_status}")
        statuses.append(res.native_status)
        version = res.solver_version
        bounds.append(res.bound if res.bound is not None else float("nan"))
        if not res.has_solution:
            break
        x = np.rint(res.x).astype(np.int64)
        if m is compact:
            x_compact = x
        else:
            x_best = x
        if res.termination != "optimal":
            break
        proven += 1
        if k < 3:
            holds.append((k, float(m.objectives[k] @ x)))
    if x_best is None and x_compact is not None and lift is not None:
        x_best = lift.solution(x_compact)
    if x_best is None:
        proven = 0
    return x_best, min(proven, 4), bounds, statuses, version


def level_problem(m: Model, k: int, holds: list[tuple[int, float]]):
    """Level ``k`` of ``m`` as a :class:`optimizer.backends.base.MipProblem`: minimise
    ``objectives[k]`` over ``m``'s rows plus one row ``objectives[j] @ x <= z`` per ``(j, z)`` of
    ``holds`` (the earlier levels' optima), every column integer."""
    from .backends.base import MipProblem

    A, rlo, rhi = m.A, m.row_lower, m.row_upper
    if holds:
        A = sp.vstack([A, sp.csr_matrix(np.vstack([m.objectives[j] for j, _ in holds]))], format="csc")
        rlo = np.concatenate([rlo, np.full(len(holds), -np.inf)])
        rhi = np.concatenate([rhi, [z for _, z in holds]])
    return MipProblem(A, rlo, rhi, m.col_lower, m.col_upper, m.objectives[k], np.ones(A.shape[1], bool))
