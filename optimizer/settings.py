"""The engine's tuning constants in one place: :data:`SETTINGS`, an :class:`EngineSettings`.

None of them changes what is optimal, only how fast it is proven (or, for the time-limit
reserves, how early the solver stops).  One line per field says why it has its value; the
measurements behind them are in docs/performance.md, "Engine research notes".  The engine
modules read :data:`SETTINGS`; a test that needs other values replaces it with
``dataclasses.replace(SETTINGS, ...)`` (tests/conftest.py, ``tune``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineSettings:
    """Tuning constants of the engine (:mod:`optimizer.lexico`, :mod:`optimizer.horizon`) and of
    the whole-command time limit (:mod:`optimizer.deadline`), grouped by concern."""

    # column generation (optimizer/lexico.py): the columns an LP starts with, and those entering per round
    initial_arcs: int = 6  # cheapest moving arcs per pool in the first LP
    initial_segments: int = 4  # lowest risk segments per class in the first LP
    initial_cohorts: int = 2  # cohorts per class in the first LP, above priced_cohorts cohorts
    enter_per_group: int = 64  # arcs entering per pool and round
    enter_segments: int = 256  # risk segments or cohorts entering per class and round
    enter_total: int = 40_000  # columns entering per round, the most negative: the first duals attract far arcs

    # warm starts (optimizer/lexico.py): how each LP and pricing round is solved
    scratch_rows: int = 50_000  # LPs with more rows open faster by interior point than by dual simplex
    ipm_nonzeros: int = 200_000  # so do multi-day level-2 (surge) LPs with more nonzeros: dual simplex crawls on them
    warm_cols: int = 20_000  # in those, warm starts of larger rounds may crawl: tried only briefly (big_round_cap)
    warm_cap: float = 1.0  # a warm start slower than this times the last solve from scratch is redone from scratch
    big_round_cap: float = 0.25  # a round above warm_cols runs warm for this share of the last solve from scratch

    # optimal faces (optimizer/lexico.py)
    face_tries: int = 4  # random LP vertices tried for an integer point of a fractional face before a MIP
    face_tol: float = 1e-6  # reduced costs and duals of levels 1-3 are integers (or simple fractions) of one unit

    # multi-day pricing (optimizer/horizon.py)
    priced_arcs: int = 500_000  # up to this many moving arcs, all start in the LP: pricing rounds cost more than arcs
    priced_direct_arcs: int = 100_000  # compact model of transport limits: above, forecast arrivals' arcs are priced
    initial_direct_arcs: int = 16  # then each arrival pool's arcs to the largest unit types in the first LP
    face_arcs: float = 2.0  # a face opened for the next level (LexSolver.open_face) takes this times as many priced arcs
    priced_cohorts: int = 100_000  # up to this many cohorts, all start in the LP: pricing costs more than they do
    lift_type_arcs: int = 4  # level 4 starts with the cheapest arcs per (pool, unit type the compact solution uses)
    lift_near_arcs: int = 6  # level 4 also starts with each pool's least estimated-cost arcs: first LP nearer optimum

    # time-limit reserves (optimizer/deadline.py, engine.py, cli.py), measured on a quiet machine with a margin
    reserve_fixed_s: float = 0.25  # kept after the solver for the summary, the report table and the process exit
    reserve_per_person_s: float = 40e-6  # ... per person: decode, constructive plan, verify, reasons, diagnosis, write
    reserve_per_person_day_s: float = 3e-6  # ... per person and day (multi-day): the two constructive plans
    build_per_person_s: float = 5e-6  # building the models, per person ...
    build_per_person_day_s: float = 3.5e-6  # ... and per person and day
    lift_per_person_s: float = 20e-6  # the compact levels stop this early for the lift to the full model
    point_per_person_s: float = 80e-6  # ... and this much earlier again, for an integer point of the face they reached,
    point_max_s: float = 2.0  # ... at most this much (its MIP grows with the fractional columns, not the people)
    xlsx_s_per_row: float = 1.8e-4  # writing plan.xlsx (--xlsx), per plan row
    grace_s: float = 0.2  # how long past its deadline a solver may take to return before it is killed
    max_slowdown: float = 8.0  # the reserves grow at most this much on a busy machine (deadline.slowdown)

    def __post_init__(self):
        if self.initial_direct_arcs < 1:  # it divides the arcs' ranks (horizon._horizon_flow)
            raise ValueError(f"initial_direct_arcs must be at least 1, got {self.initial_direct_arcs}")


SETTINGS = EngineSettings()
