"""OR-Tools min-cost flow: the network special case (one day, no families).

Without families, the class model (:mod:`optimizer.model`) is a min-cost flow: classes supply
their people; a person flows to the sink as unplaced, through a risk segment and an ATD program
(release), or through an (origin, bed type) pool, a facility, a unit (beds or surge beds) and the
facility's guaranteed minimum or paid beds (detention).  The four levels are combined exactly in
one integer cost per arc: ``W1 * unplaced + W2 * surge + W3 * risk units + cents`` with
``W3 > max cents``, ``W2 > W3 * max risk units``, ``W1 > W2 * max surge``; level 4 is in whole
cents (``COST_RESOLUTION``, each arc's cost rounded), so it is optimal at that resolution.  When
the weighted costs could exceed 64-bit integers the backend refuses (ENGINEERING.md §6).

Contract 1.1: local ties and pins only restrict the class model's arcs (units a tie or a detain
pin forbids, outcomes a pin excludes, a pinned class's unplaced arc of capacity 0), so the flow
expresses them; a class supplies all its people (the class rows' right-hand side) whatever its
unplaced arc's capacity.  An active transport limit (a limit below the number of people with a
facility origin, out of that AOR or in all: the model's seat rows) is a side constraint on
the moving arcs, not a flow: the backend refuses it.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from ..errors import SolverError
from .base import BackendError, importable

NAME = "flow"
OPTIONS: frozenset[str] = frozenset()  # runs to completion: no limit, gap, threads or seed
FEATURES: frozenset[str] = frozenset()  # one day, no families, no active transport limit
COST_RESOLUTION = 0.01
INT64_SAFE = 2**62


def available() -> bool:
    return importable("ortools.graph.python.min_cost_flow")


def version() -> str:
    import ortools

    return f"OR-Tools min-cost flow {ortools.__version__}"


class _Graph(NamedTuple):
    """The flow network of a class model: arcs (tails, heads, capacities, the model column each
    arc carries or -1), each class's supply, the node of class 0 and the sink."""

    tails: np.ndarray
    heads: np.ndarray
    caps: np.ndarray
    cols: np.ndarray
    sizes: np.ndarray  # people per class
    first_class: int
    sink: int


def solve_model(model, net, levels: tuple[int, ...] = (0, 1, 2, 3),
                omit_families: bool = False) -> tuple[np.ndarray, str, float]:
    """Optimal integer solution of a class model (built from ``net``, the instance's
    :class:`optimizer.model.Network`) without families, as model columns (n,).

    ``levels`` (0-based, MODEL.md §4 order) are combined lexicographically in one integer cost;
    the default is all four.  ``omit_families=True`` leaves family members out of the network
    instead of refusing (the result is then not a plan: the benchmark's speed reference uses it).
    Returns ``(x, status, runtime_s)``.  Raises :class:`BackendError` for a model with families
    or an active transport limit (exit 2: this solver cannot take such an instance), and
    :class:`~optimizer.errors.SolverError` (exit 4) when the combined integer costs would overflow
    64 bits or the flow solver fails."""
    from ortools.graph.python import min_cost_flow

    t0 = time.monotonic()
    _check_network(model, omit_families)
    g = _graph(model, net)
    cost = _combined_cost(model, net, g, levels)
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(g.tails, g.heads, g.caps, cost)
    supplies = np.zeros(g.sink + 1, dtype=np.int64)
    supplies[g.first_class:g.first_class + len(g.sizes)] = g.sizes
    supplies[g.sink] = -int(g.sizes.sum())
    smcf.set_nodes_supplies(np.arange(g.sink + 1), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:  # a solver failure (a feasible flow exists: unpinned classes may go
        # unplaced, and the pins of a valid instance can all hold)
        raise SolverError(f"flow: min-cost flow status {status}")
    flows = smcf.flows(np.arange(len(g.tails)))
    has = g.cols >= 0
    x = np.zeros(model.A.shape[1], dtype=np.int64)
    x[g.cols[has]] = flows[has]
    return x, "OPTIMAL", time.monotonic() - t0


def _check_network(model, omit_families: bool) -> None:
    """Refuse a model that is not a network flow: families (unless omitted) or an active transport limit."""
    b = model.blocks
    if not omit_families and any(b[k].stop > b[k].start for k in ("fam", "frel", "funp", "fatd")):
        raise BackendError("the instance has families, which are not a network flow; use another solver")
    seats = model.row_blocks["seat"]
    if seats.stop > seats.start:
        n = seats.stop - seats.start
        raise BackendError(f"the instance has {n} active transport limit{'s' if n > 1 else ''} (a limit below the "
                           "number of people with a facility origin); transport limits are not a network flow, "
                           "use another solver")


def _graph(model, net) -> _Graph:
    """Nodes: classes, program keys (risk segments), programs, pools, nodes, units, facilities,
    sink.  Arcs (module docstring): unplaced, detention into the class's pool, risk segments,
    programs, pool -> node -> unit, a unit's beds and surge beds, a facility's guaranteed
    minimum and paid beds."""
    b = model.blocks
    n_class = b["unp"].stop - b["unp"].start
    sizes = model.row_lower[model.row_blocks["class"]].astype(np.int64)  # people per class
    total = int(sizes.sum())
    K = model.row_blocks["progkey"].stop - model.row_blocks["progkey"].start
    n_prog = len(net.prog_capacity)
    n_pool = model.row_blocks["pool"].stop - model.row_blocks["pool"].start
    n_node = model.row_blocks["node"].stop - model.row_blocks["node"].start
    U, F = len(net.unit_beds), len(net.fac_gm)
    base = np.cumsum([0, n_class, K, n_prog, n_pool, n_node, U, F])
    C0, K0, Q0, P0, N0, U0, F0, T = (int(v) for v in base)
    tails, heads, caps, cols = [], [], [], []

    def arcs(t, h, cap, col=None):
        t = np.broadcast_to(np.asarray(t, np.int64), np.shape(cap)).ravel()
        tails.append(t)
        heads.append(np.broadcast_to(np.asarray(h, np.int64), t.shape).ravel())
        caps.append(np.asarray(cap, np.int64).ravel())
        cols.append(np.full(t.shape, -1, np.int64) if col is None else np.asarray(col, np.int64).ravel())

    big = total
    idx = lambda name: np.arange(b[name].start, b[name].stop)  # noqa: E731
    arcs(C0 + np.arange(n_class), T, model.col_upper[b["unp"]], idx("unp"))  # 0 for a pinned class
    det_classes = np.flatnonzero(model.class_pool >= 0)
    arcs(C0 + det_classes, P0 + model.class_pool[det_classes], sizes[det_classes], idx("det"))
    seg_cap = model.col_upper[b["seg"]].astype(np.int64)
    arcs(C0 + model.seg_class, K0 + model.class_progkey[model.seg_class], seg_cap, idx("seg"))
    arcs(K0 + model.atd_key, Q0 + model.atd_prog, np.full(len(model.atd_key), big), idx("atd"))
    arcs(Q0 + np.arange(n_prog), T, np.where(net.prog_capacity >= 0, np.minimum(net.prog_capacity, big), big))
    arcs(P0 + model.arc_pool, N0 + model.arc_node, np.full(len(model.arc_pool), big), idx("arc"))
    arcs(N0 + model.put_node, U0 + model.put_unit, np.full(len(model.put_unit), big), idx("put"))
    arcs(U0 + np.arange(U), F0 + net.unit_fac, np.minimum(net.unit_beds, big))
    arcs(U0 + np.arange(U), F0 + net.unit_fac, np.minimum(net.unit_surge, big), idx("surge"))
    cost_fac = np.flatnonzero(net.fac_per_diem > 0)  # the facilities with an "excess" column, in order
    plain = np.setdiff1d(np.arange(F), cost_fac)
    arcs(F0 + plain, T, np.full(len(plain), big))
    arcs(F0 + cost_fac, T, np.minimum(net.fac_gm[cost_fac], big))
    arcs(F0 + cost_fac, T, np.full(len(cost_fac), big), idx("excess"))
    return _Graph(*(np.concatenate(v) for v in (tails, heads, caps, cols)), sizes, C0, T)


def _combined_cost(model, net, g: _Graph, levels: tuple[int, ...]) -> np.ndarray:
    """Each arc's integer cost, the ``levels`` weighted lexicographically (module docstring);
    raises :class:`~optimizer.errors.SolverError` when the combined costs would overflow 64 bits."""
    obj = model.objectives
    col = np.maximum(g.cols, 0)
    has = g.cols >= 0
    total = int(g.sizes.sum())
    level_cost = [np.where(has, obj[0][col], 0).astype(np.int64), np.where(has, obj[1][col], 0).astype(np.int64),
                  np.where(has, np.rint(obj[2][col]), 0).astype(np.int64),
                  np.where(has, np.rint(obj[3][col] / COST_RESOLUTION), 0).astype(np.int64)]  # cents
    # bounds on each level's total over any flow (every person crosses at most one arc of each
    # kind), in Python integers so that nothing wraps around
    level_max = [int(total), int(net.unit_surge.sum()),
                 int((level_cost[2].astype(object) * np.minimum(g.caps, total).astype(object)).sum()),
                 int(total) * (int(np.abs(level_cost[3]).max(initial=0)) * 4 + 1)]
    weights, span = {}, 0  # span: the largest combined cost of the levels after the current one
    for k in sorted(levels, reverse=True):
        weights[k] = span + 1
        span += weights[k] * level_max[k]
    # OR-Tools also needs the largest arc cost times the number of nodes to fit (BAD_COST_RANGE)
    max_arc = sum(w * int(np.abs(level_cost[k]).max(initial=0)) for k, w in weights.items())
    if span >= INT64_SAFE or max_arc * (g.sink + 2) >= INT64_SAFE:
        raise SolverError(f"flow: the levels do not fit in one 64-bit cost (combined range {span:.3e}, largest "
                          f"arc cost {max_arc:.3e} x {g.sink + 2} nodes); valid costs this large need another solver")
    cost = np.zeros(len(g.tails), dtype=np.int64)
    for k, w in weights.items():
        cost += np.int64(w) * level_cost[k]
    return cost
