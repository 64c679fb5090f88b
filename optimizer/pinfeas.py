"""The exact check that an instance's pins can all hold together (MODEL.md §2 ``pin``).

Only pinned people matter: anyone else may be left unplaced, so the pins can all hold exactly
when the model restricted to the pinned people (every member of a family bound by a pin), with
their pinned outcomes as its only columns but their ``unplaced`` columns left open
(``pins_hard=False``), has a level-1 optimum of 0.  That is a MIP over a few classes, solved
here to optimality; beds and surge beds, programs, transport limits, families and multi-day
stays are all in it, so the answer is exact where per-unit counts are only necessary conditions.

When it fails, the constraints to name are those with a nonzero dual value in the LP relaxation
of level 1 (the units, programs and transport limits that the pinned people exceed between
them); a shortfall only the integer families cause names none and says so.
"""

from __future__ import annotations

import numpy as np

from .instance import Instance
from .schema import replace

MAX_LINES = 5


def pin_infeasibility(inst: Instance) -> list[str]:
    """Lines (without the file name) saying that the pins cannot all hold together and which
    units, programs or transport limits they exceed; [] when they can (or nobody is pinned)."""
    pinned = _pinned_people(inst)
    if not pinned:
        return []
    sub = replace(inst, people=[inst.people[i] for i in pinned])
    model = _model(sub)
    short, y = _level1(model)
    if short == 0:
        return []
    head = (f"pins: the pins cannot all hold together: at best {short} pinned "
            f"{'person is' if short == 1 else 'people are'} left without the pinned outcome")
    named = _binding(sub, model, y)
    if not named:
        return [head + " (families that fit no unit together; no single unit, program or limit is exceeded)"]
    return [head + "; exceeded: " + named[0]] + [f"pins: also exceeded: {n}" for n in named[1:MAX_LINES - 1]]


def _pinned_people(inst: Instance) -> list[int]:
    """Indices of the people bound by a pin, their own or their family's (instance order)."""
    families = {p.family_id for p in inst.people if p.pin is not None and p.family_id is not None}
    return [i for i, p in enumerate(inst.people)
            if p.pin is not None or (p.family_id is not None and p.family_id in families)]


def _model(sub: Instance):
    if sub.horizon_days == 1:
        from .model import build

        return build(sub, pins_hard=False)
    from .horizon import build_horizon

    return build_horizon(sub, pins_hard=False)


def _level1(model) -> tuple[int, np.ndarray]:
    """The level-1 MIP optimum of ``model`` (whole people) and the row duals of its LP relaxation."""
    import highspy

    values = []
    duals = np.zeros(model.A.shape[0])
    A = model.A.tocsc()
    n = A.shape[1]
    for integer in (False, True):
        h = highspy._core._Highs()  # the base class: no banner before output_flag is set
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.passModel(int(n), int(A.shape[0]), int(A.nnz), 1, 1, 0.0,
                    np.ascontiguousarray(model.objectives[0], dtype=float), model.col_lower.astype(float),
                    model.col_upper.astype(float), model.row_lower.astype(float), model.row_upper.astype(float),
                    A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data.astype(float),
                    np.full(n, int(integer), dtype=np.int32))
        h.run()
        values.append(h.getInfo().objective_function_value)
        if not integer:
            duals = np.asarray(h.getSolution().row_dual)
    return int(round(values[1] + model.offsets[0])), duals


def _binding(sub: Instance, model, y: np.ndarray) -> list[str]:
    """The units, programs and transport limits whose rows have a nonzero LP dual, with what the
    pinned people would need of them."""
    blocks = model.row_blocks
    units = [(f.id, u) for f in sub.facilities for u in f.units]
    capped = [q for q in sub.atd_programs if q.capacity is not None]
    out = []
    for name in ("unit", "program", "seat"):
        sl = blocks.get(name)
        if sl is None:
            continue
        for k in np.flatnonzero(np.abs(y[sl]) > 1e-9):
            out.append(_label(sub, model, name, int(k), units, capped))
    return sorted(set(out))


def _label(sub, model, name, k, units, capped) -> str:
    if name == "unit":
        if model.row_blocks["unit"].stop - model.row_blocks["unit"].start > len(units):  # multi-day chain rows
            day, k = divmod(k, len(units))
            fac, u = units[k]
            return f"unit {u.id} of facility {fac} (beds {u.beds}, surge beds {u.surge_beds}) from day {day}"
        fac, u = units[k]
        return f"unit {u.id} of facility {fac} (beds {u.beds}, surge beds {u.surge_beds})"
    if name == "program":
        q = capped[k]
        return f"ATD program {q.id} ({q.capacity} slots)"
    from .model import network_arrays, people_arrays, seat_rows
    from .horizon import person_days

    P = people_arrays(sub)
    keys, limits = seat_rows(sub, P, network_arrays(sub), person_days(sub, P)[0])
    aor, day = keys[k]
    where = "nationally" if aor < 0 else f"out of AOR {sub.aors[aor].code}"
    return f"transport limit {where} on day {day} ({int(limits[k])} transfers)"
