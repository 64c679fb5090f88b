"""Plan outputs (MODEL.md §5): plan.csv, summary.json, diagnosis.json, written atomically."""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .instance import Instance
from .model import eligible_programs, network_arrays, people_arrays
from .verify import PLAN_COLUMNS

PLAN_FILES = frozenset({"plan.csv", "summary.json", "diagnosis.json", "pins.csv"})


def unsafe_out_dir(out: str | Path) -> str | None:
    """Why ``out`` may not be (re)placed by a plan folder, or None when it may.

    A plan folder replaces ``out`` whole, so ``out`` must be absent or an earlier plan folder
    (only plan files in it): a folder holding anything else is never deleted."""
    out = Path(out)
    if not out.exists():
        return None
    if not out.is_dir():
        return "a file of that name exists; --out must name a folder"
    if out.resolve() == Path.cwd().resolve() or out.resolve() == out.resolve().parent:
        return "the current or root folder cannot be an output folder"
    others = sorted(p.name for p in out.iterdir() if p.name not in PLAN_FILES)
    if others:
        return (f"the folder holds other files ({', '.join(others[:3])}{', ...' if len(others) > 3 else ''}); "
                "choose a new or an earlier plan folder")
    return None


def write_plan_dir(out: str | Path, rows: list[dict[str, str]], documents: dict[str, dict | str],
                   started: float | None = None) -> Path:
    """Write ``plan.csv`` and the ``documents`` (file name -> content: JSON, or a ``str`` written
    as it is, such as ``pins.csv``) into folder ``out``.

    Everything goes to a temporary folder beside ``out`` that replaces ``out`` only when
    complete; an older ``out`` is removed after the swap, so an interrupted run leaves it intact.
    The caller checks :func:`unsafe_out_dir` first.
    When ``started`` (a ``time.monotonic()`` value) is given, ``summary.json`` gets its
    ``timings_s.write`` (writing plan.csv) and ``timings_s.total`` (since ``started``) filled in.
    Raises ``OSError`` when the folder cannot be written."""
    import time

    t0 = time.monotonic()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a plan folder is an ordinary folder
    old = None
    try:
        with open(tmp / "plan.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(list(rows[0].keys()) if rows else PLAN_COLUMNS)
            w.writerows([list(r.values()) for r in rows])
        if started is not None and "summary.json" in documents:
            now = time.monotonic()
            documents["summary.json"]["timings_s"].update(write=round(now - t0, 4), total=round(now - started, 4))
        for name, doc in documents.items():
            with open(tmp / name, "w", encoding="utf-8", newline="") as fh:
                if isinstance(doc, str):
                    fh.write(doc)
                else:
                    json.dump(doc, fh, indent=2)
                    fh.write("\n")
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "previous")
        try:
            os.replace(tmp, out)
        except BaseException:
            if old is not None:  # put the earlier plan back
                os.replace(old / "previous", out)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return out


def diagnosis(inst: Instance, rows: list[dict[str, str]], level1_proven: bool, why: list[str]) -> dict:
    """Which classes of unplaced people lack how many beds or ATD slots, and where.

    Groups unplaced people by (sex, level, medical need, mandatory, at legal limit, AOR, family,
    plan reason ``why`` of :func:`optimizer.reasons.reasons`) and says why (MODEL.md §4 level 1):
    ``legal_limit`` when no outcome exists under the rules (the custody limit comes before the
    person leaves custody and release is not allowed: neither beds nor slots would help, the
    plan's reason too), ``no_bed`` when the group may not be released (mandatory, or no eligible
    ATD program), ``no_atd_slot`` when it may not be detained (at the legal limit, or no
    compatible unit), ``no_bed_or_atd_slot`` otherwise; ``not_solved`` for every group when a
    limit stopped the search before level 1 was proven optimal (they may have a legal outcome).
    For each group it lists the compatible units (beds + surge beds, and the most the plan fills
    on any day; none for ``legal_limit``) and eligible programs."""
    P = people_arrays(inst)
    N = network_arrays(inst)
    unit_ids = [u.id for f in inst.facilities for u in f.units]
    fac_ids = [f.id for f in inst.facilities]
    uidx = {u: i for i, u in enumerate(unit_ids)}
    H = inst.horizon_days
    by_day = np.zeros((len(unit_ids), H + 1), dtype=np.int64)  # occupancy changes per unit and day
    enrolled = {p.id: 0 for p in inst.atd_programs}
    for p, r in zip(inst.people, rows):
        if r["unit_id"] and r["decision"] in ("detain", "release"):
            end = H if p.removal_day is None else min(p.removal_day, H)
            if r["decision"] == "release":
                end = min(end, int(r["release_day"]))
            by_day[uidx[r["unit_id"]], p.arrival_day] += 1
            by_day[uidx[r["unit_id"]], end] -= 1
        if r["atd_program_id"]:
            enrolled[r["atd_program_id"]] += 1
    occ = np.cumsum(by_day, axis=1)[:, :H].max(axis=1, initial=0)  # peak beds used over the plan's days
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        if r["decision"] == "unplaced":
            p = inst.people[i]
            key = (p.sex, p.level or "minor", p.needs_medical, p.mandatory, bool(P.at_limit[i]), p.aor, p.family_id is not None,
                   why[i] == "legal_limit")
            groups.setdefault(key, []).append(i)
    out = []
    for key, idx in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        sex, level, medical, mandatory, at_limit, aor, family, no_outcome = key
        i = idx[0]
        units = np.flatnonzero(
            (N.unit_family == family)
            & ((N.unit_sex == P.sex[i]) | (N.unit_sex == 2))
            & (N.unit_levels[:, max(P.level[i], 0)] | bool(P.minor[i]))
            & (N.unit_medical | (not medical))
            & (P.stay[i] <= N.fac_max_stay[N.unit_fac])
        ) if not (at_limit or no_outcome) else np.zeros(0, dtype=np.int64)
        progs = eligible_programs(N, P.risk[i], P.aor[i]) if not mandatory else np.zeros(0, dtype=np.int64)
        if not level1_proven:
            reason = "not_solved"  # a limit stopped the search before level 1 was optimal
        elif no_outcome:
            reason = "legal_limit"  # no outcome under the rules: neither beds nor slots help
        elif at_limit:
            reason = "no_atd_slot"  # may not hold a bed by law
        elif mandatory:
            reason = "no_bed"  # may not be released by law
        elif len(units) == 0:
            reason = "no_atd_slot"
        elif len(progs) == 0:
            reason = "no_bed"
        else:
            reason = "no_bed_or_atd_slot"
        cap = int((N.unit_beds[units] + N.unit_surge[units]).sum())
        out.append({
            "reason": reason,
            "people": len(idx),
            "class": {"sex": sex, "level": level, "needs_medical": medical, "mandatory": mandatory,
                      "at_legal_limit": at_limit, "aor": aor, "family": family},
            "compatible_beds_incl_surge": cap,
            "compatible_beds_used": int(occ[units].sum()),
            "compatible_units": [
                {"unit": unit_ids[u], "facility": fac_ids[N.unit_fac[u]],
                 "beds_incl_surge": int(N.unit_beds[u] + N.unit_surge[u]), "used": int(occ[u])}
                for u in units[:50]
            ],
            "eligible_programs": [
                {"program": inst.atd_programs[q].id, "capacity": inst.atd_programs[q].capacity,
                 "enrolled": enrolled[inst.atd_programs[q].id]}
                for q in progs
            ],
            "person_ids": [inst.people[j].id for j in idx[:100]],
        })
    return {
        "format": "bedalloc-diagnosis",
        "version": 1,
        "level1_proven_optimal": bool(level1_proven),
        "unplaced": sum(g["people"] for g in out),
        "groups": out,
    }
