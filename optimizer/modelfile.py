"""Models any solver can read (docs/api.md "Models for other solvers").

:func:`write_levels` (``bedalloc solve --write-model DIR``) writes each lexicographic level of
the class model as an MPS file (``levelK.mps``: level K's objective, every earlier level held by
a row ``objective_j @ x <= z_j`` at its proven optimum, the rows of
:func:`optimizer.lexico.level_problem`) and ``model.json``, the sidecar naming what every column
means (its block and the class, pool, unit, facility, program, family, person or cohort it
stands for) and how a level's MPS objective maps to the plan's value.
:func:`write_person_level` (``bedalloc export-model``) writes the person-level reference
formulation (:mod:`optimizer.backends.pyomo_model`) of one level with readable names.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .instance import Instance
from .model import LEVELS, RISK_SCALE
from .errors import EXIT_INPUT, EXIT_OK, InputError, err, refused
from .outdir import bad_output_file, link_target, ordinary_mode

MODEL_FILES = ("model.json", "level1.mps", "level2.mps", "level3.mps", "level4.mps")


def unsafe_model_dir(out: str | Path) -> str | None:
    """Why ``out`` may not be (re)placed by a model folder (absent, or holding only model files),
    or None when it may."""
    out = Path(out)
    if not out.exists():
        return None
    if not out.is_dir():
        return "a file of that name exists; --write-model must name a folder"
    others = sorted(p.name for p in out.iterdir() if p.name not in MODEL_FILES)
    if others or out.resolve() in (Path.cwd().resolve(), Path(out.resolve().anchor)):
        return f"the folder holds other files ({', '.join(others[:3]) or 'the current or root folder'}); " \
               "choose a new or an earlier model folder"
    return None


def _ids(inst: Instance) -> dict[str, list[str]]:
    return {"unit": [u.id for f in inst.facilities for u in f.units], "fac": [f.id for f in inst.facilities],
            "facility": [f.id for f in inst.facilities], "prog": [a.id for a in inst.atd_programs],
            "person": [p.id for p in inst.people]}


def _block_fields(inst: Instance, model, cost_fac: np.ndarray) -> dict[str, dict[str, list]]:
    """Per column block: its first column, count, and per-column fields (ids where the field
    names a unit, facility, program or person; indices into ``classes``, ``families`` and pools
    otherwise); ``cost_fac``: the facilities with an excess column, in column order."""
    ids, H = _ids(inst), getattr(model, "horizon", 1)
    n_units = len(ids["unit"])
    per_unit_day = {"unit": lambda n: np.arange(n) % n_units, "day": lambda n: np.arange(n) // n_units}
    per_facility_day = {"facility": lambda n: np.tile(cost_fac, H),
                        "day": lambda n: np.repeat(np.arange(H), len(cost_fac))}
    implicit = {  # blocks whose index alone says what a column is
        "unp": {"class": lambda n: np.arange(n)}, "funp": {"family": lambda n: np.arange(n)},
        "det": {"class": lambda n: np.flatnonzero(model.class_pool >= 0)},
        "surge": per_unit_day, "regular": per_unit_day, "excess": per_facility_day, "covered": per_facility_day,
    }
    out = {}
    for name, cols in model.blocks.items():
        n = cols.stop - cols.start
        fields = {key: make(n) for key, make in implicit.get(name, {}).items()}
        for f in dataclasses.fields(model):
            value = getattr(model, f.name)
            if f.name.startswith(name + "_") and isinstance(value, np.ndarray) and value.shape == (n,):
                fields[f.name[len(name) + 1:]] = value
        out[name] = {"first": cols.start, "count": n, **{
            key: ([ids[key][i] if i >= 0 else None for i in np.asarray(v).tolist()] if key in ids
                  else np.asarray(v).tolist()) for key, v in fields.items()}}
    return out


def _tables(inst: Instance, model) -> dict:
    """The people behind classes and families, and each class's pool."""
    people = [p.id for p in inst.people]
    pc = model.person_class
    classes = [[] for _ in range(int(pc.max(initial=-1)) + 1)]
    for i in np.flatnonzero(pc >= 0):
        classes[pc[i]].append(people[i])
    pool = getattr(model, "class_pool", np.zeros(0))
    return {"classes": [{"people": c, **({"pool": int(pool[k])} if len(pool) else {})} for k, c in enumerate(classes)],
            "families": [[people[i] for i in m] for m in model.family_members]}


def _write_mps(path: Path, problem, blocks: dict, row_blocks: dict, held: int) -> None:
    """``problem`` as MPS through HiGHS: columns named ``BLOCK_J`` (``model.json`` says what
    they mean), rows ``BLOCK_I`` by the model's row blocks, hold rows ``hold_levelJ``."""
    import highspy

    h = highspy._core._Highs()
    h.setOptionValue("output_flag", False)
    A = problem.A.tocsc()
    h.passModel(int(A.shape[1]), int(A.shape[0]), int(A.nnz), 1, 1, 0.0,
                np.ascontiguousarray(problem.cost, dtype=float), np.asarray(problem.col_lower, dtype=float),
                np.asarray(problem.col_upper, dtype=float), np.asarray(problem.row_lower, dtype=float),
                np.asarray(problem.row_upper, dtype=float), A.indptr.astype(np.int32), A.indices.astype(np.int32),
                A.data.astype(float), problem.integer.astype(np.int32))
    for name, b in blocks.items():
        for j in range(b["count"]):
            h.passColName(b["first"] + j, f"{name}_{j}")
    m0 = A.shape[0] - held
    for name, rows in row_blocks.items():
        for i in range(rows.start, rows.stop):
            h.passRowName(i, f"{name}_{i - rows.start}")
    for j in range(held):
        h.passRowName(m0 + j, f"hold_level{j + 1}")
    h.writeModel(str(path))


def level_scales(model) -> list[float]:
    """Per level: plan value = (model value + offset) / scale (level 3 counts 0.0001 risk x days)."""
    return [1.0, 1.0, float(RISK_SCALE * getattr(model, "horizon", 1)), 1.0]


def write_levels(out: str | Path, inst: Instance, res, instance_name: str) -> list[str]:
    """Write ``levelK.mps`` for every level whose earlier levels ``res`` (an engine
    :class:`optimizer.engine.Result`) proved, and ``model.json``, into folder ``out`` (replaced
    whole, atomically).  Returns the file names written."""
    from .lexico import level_problem

    model, N = _build(inst)
    levels = min(4, res.levels_proven + 1) if res.x is not None else 1
    values = model.objectives @ res.x if res.x is not None else None
    blocks = _block_fields(inst, model, np.flatnonzero(N.fac_per_diem > 0))
    scale = level_scales(model)
    out = Path(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent if str(out.parent) else "."))
    try:
        os.chmod(tmp, ordinary_mode(0o777))  # the folder is for other people's solvers too
        sidecar = {"instance": instance_name, "format": "MPS, minimise, every column integer", "levels": [],
                   "columns": blocks, **_tables(inst, model)}
        for k in range(levels):
            holds = [(j, float(values[j])) for j in range(k)]
            _write_mps(tmp / f"level{k + 1}.mps", level_problem(model, k, holds), blocks, model.row_blocks,
                       len(holds))
            sidecar["levels"].append({
                "level": k + 1, "name": LEVELS[k], "file": f"level{k + 1}.mps",
                "optimum": None if values is None or k >= res.levels_proven else float(values[k]),
                "offset": float(model.offsets[k]), "scale": scale[k],
                "holds": [{"row": f"hold_level{j + 1}", "level": LEVELS[j], "at_most": z} for j, z in holds]})
        (tmp / "model.json").write_text(json.dumps(sidecar, indent=1) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [e["file"] for e in sidecar["levels"]] + ["model.json"]


def _build(inst: Instance):
    """The full class model the engine solves (one-day or multi-day), built again, and its
    network arrays."""
    from .model import build, network_arrays, people_arrays

    P, N = people_arrays(inst), network_arrays(inst)
    if inst.horizon_days > 1:
        from .horizon import build_horizon

        return build_horizon(inst, P, N), N
    return build(inst, P, N), N


def write_person_level(out: str | Path, inst: Instance, level: int, held: list[float]) -> None:
    """Write level ``level`` (1-4) of the person-level reference formulation
    (:func:`optimizer.backends.pyomo_model.build`: one binary per person and unit, program,
    release or unplaced) as MPS with readable names, every earlier level j held by a row
    ``level[j] <= held[j - 1]`` (its optimum, in the formulation's units: level 3 in 0.0001
    risk points), atomically."""
    import pyomo.environ as pyo

    from .backends.pyomo_model import build

    m = build(inst)
    m.hold = pyo.Constraint(range(1, level), rule=lambda m, j: m.level[j] <= held[j - 1])
    m.obj = pyo.Objective(expr=m.level[level], sense=pyo.minimize)
    out = link_target(out)  # a symbolic link is followed, as bad_output_file checked it
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".mps", dir=out.parent if str(out.parent) else ".")
    os.close(fd)
    try:
        os.chmod(tmp, ordinary_mode(0o666))
        m.write(tmp, format="mps", io_options={"symbolic_solver_labels": True})
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def cmd_export_model(args) -> int:
    """``bedalloc export-model``: level K of the person-level formulation as MPS."""
    from .instance import read_instance
    from .engine import solve

    try:
        inst = read_instance(args.instance)
    except InputError as e:
        return refused(e)
    why = bad_output_file(args.person_level, "--person-level", [args.instance], (".mps",))
    if why is None and inst.horizon_days > 1:
        why = f"{args.instance}: export-model: one-day instances only (horizon_days = {inst.horizon_days})"
    if why:
        err([why])
        return EXIT_INPUT
    held = []
    if args.level > 1:  # the earlier levels' optima, from bedalloc's own engine
        o = solve(inst).objective
        held = [o["unplaced"], o["surge"], round(o["released_risk"] * RISK_SCALE)][: args.level - 1]
    try:
        write_person_level(args.person_level, inst, args.level, held)
    except OSError as e:
        err([f"{args.person_level}: cannot write the model: {e.strerror or e}"])
        return EXIT_INPUT
    print(f"wrote {args.person_level}: level {args.level} of the person-level formulation"
          + (f", levels 1-{args.level - 1} held at {held}" if held else ""))
    return EXIT_OK
