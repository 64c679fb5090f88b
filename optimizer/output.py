"""Plan outputs (MODEL.md §5): plan.csv, summary.json, diagnosis.json, written atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .instance import Instance
from .outdir import ordinary_mode, plan_dir_target, replace_folder
from .model import allowed_units, eligible_programs, network_arrays, people_arrays
from .reasons import transfer_limits
from .verifier import PLAN_COLUMNS

CAUSES = ("legal_limit", "no_seat", "local_ties", "pinned")  # plan reasons that name the diagnosis cause


def write_plan_dir(out: str | Path, rows: list[dict[str, str]], documents: dict[str, dict | str],
                   started: float | None = None) -> Path:
    """Write ``plan.csv`` and the ``documents`` (file name -> content: JSON, or a ``str`` or
    ``bytes`` written as it is, such as ``pins.csv`` or ``plan.xlsx``) into folder ``out``.

    Everything goes to a temporary folder beside ``out`` that replaces ``out`` only when
    complete; an older ``out`` is removed after the swap, so an interrupted run leaves it intact.
    The caller checks :func:`unsafe_out_dir` first.  A symbolic link ``out`` is followed.
    When ``started`` (a ``time.monotonic()`` value) is given, ``summary.json`` gets its
    ``timings_s.write`` (writing plan.csv) and ``timings_s.total`` (since ``started``) filled in.
    Raises ``OSError`` when the folder cannot be written."""
    import time

    t0 = time.monotonic()
    out = plan_dir_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    os.chmod(tmp, ordinary_mode(0o777))  # a plan folder is an ordinary folder
    try:
        with open(tmp / "plan.csv", "w", newline="", encoding="utf-8") as fh:
            fh.write(csv_text(list(rows[0].keys()) if rows else list(PLAN_COLUMNS), rows))
        if started is not None and "summary.json" in documents:
            now = time.monotonic()
            documents["summary.json"]["timings_s"].update(write=round(now - t0, 4), total=round(now - started, 4))
        for name, doc in documents.items():
            if isinstance(doc, bytes):  # plan.xlsx
                (tmp / name).write_bytes(doc)
                continue
            with open(tmp / name, "w", encoding="utf-8", newline="") as fh:
                if isinstance(doc, str):
                    fh.write(doc)
                else:
                    json.dump(doc, fh, indent=2)
                    fh.write("\n")
        replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def csv_text(header: list[str], rows: list[dict[str, str]]) -> str:
    """The CSV text of ``header`` and the ``rows``' values (``csv.writer``'s, lines ending in
    ``\\n``): joined with commas directly when no cell needs quoting, which the commas, quotes
    and line breaks of the joined text prove (every row has the header's length, every line its commas), about
    four times as fast as ``csv.writer``; through ``csv.writer`` otherwise."""
    try:
        lines = [",".join(header)] + [",".join(r.values()) for r in rows]
    except TypeError:  # a cell that is not a string: csv.writer converts it
        lines = None
    if lines is not None and len(header) > 1 and all(len(r) == len(header) for r in rows):
        text = "\n".join(lines) + "\n"
        if (text.count(",") == len(lines) * (len(header) - 1) and text.count("\n") == len(lines)
                and '"' not in text and "\r" not in text):
            return text
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows([list(r.values()) for r in rows])
    return buf.getvalue()


def diagnosis(inst: Instance, rows: list[dict[str, str]], level1_proven: bool, why: list[str]) -> dict:
    """Which classes of unplaced people lack how many beds or ATD slots, and where.

    Groups unplaced people by (sex, level, medical need, mandatory, at legal limit, AOR, family,
    plan reason ``why`` of :func:`optimizer.reasons.reasons` when it names the cause; with
    transport limits or local ties also origin facility, ties and arrival day) and says why
    (MODEL.md §4 level 1, §5): ``legal_limit`` when no outcome exists under the rules (the custody
    limit comes before the person leaves custody and release is not allowed: neither beds nor
    slots would help, the plan's reason too); the plan's reason ``no_seat`` (a compatible bed was
    free elsewhere but the transport limits of the day were used up), ``local_ties`` (free
    compatible beds only where the ties forbid) or ``pinned`` (beds, slots or seats taken by
    pinned people); otherwise ``no_bed`` when the group may not be released (mandatory, or no
    eligible ATD program), ``no_atd_slot`` when it may not be detained (at the legal limit, or
    no compatible unit), ``no_bed_or_atd_slot`` otherwise; ``not_solved`` for every group when
    a limit stopped the search before level 1 was proven optimal (they may have a legal outcome).
    For each group it lists the compatible units (beds + surge beds, the most the plan fills on
    any day, and with ties whether the ties allow the unit, counted only then; none for
    ``legal_limit``), eligible
    programs, and for people with an origin facility under a transport limit the seats of their
    origin AOR's and the nation's arrival day (``transport``: limit and seats used)."""
    P, N = people_arrays(inst), network_arrays(inst)
    use = _plan_use(inst, rows)
    rules11 = bool((use["limits"] >= 0).any() or P.ties.any())
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        if r["decision"] == "unplaced":
            p = inst.people[i]
            key = (p.sex, p.level or "minor", p.needs_medical, p.mandatory, bool(P.at_limit[i]), p.aor,
                   p.family_id is not None, why[i] if why[i] in CAUSES else "",
                   (p.origin, p.local_ties, p.arrival_day) if rules11 else ())
            groups.setdefault(key, []).append(i)
    out = [_group(inst, P, N, key, idx, level1_proven, use)
           for key, idx in sorted(groups.items(), key=lambda kv: -len(kv[1]))]
    return {
        "format": "bedalloc-diagnosis",
        "version": 1,
        "level1_proven_optimal": bool(level1_proven),
        "unplaced": sum(g["people"] for g in out),
        "groups": out,
    }


def _plan_use(inst: Instance, rows: list[dict[str, str]]) -> dict:
    """What the plan uses: each unit's peak beds over the plan's days (``occ``), each program's
    enrolments, the transfers per origin facility's AOR and arrival day with the nation as the
    last row (``used``; MODEL.md §3 rule 7) and the limits in the same rows (-1 none)."""
    unit_ids = [u.id for f in inst.facilities for u in f.units]
    uidx = {u: i for i, u in enumerate(unit_ids)}
    fac_aor = {f.id: [a.code for a in inst.aors].index(f.aor) for f in inst.facilities}
    H = inst.horizon_days
    by_day = np.zeros((len(unit_ids), H + 1), dtype=np.int64)  # occupancy changes per unit and day
    used = np.zeros((len(inst.aors) + 1, H), np.int64)
    enrolled = {p.id: 0 for p in inst.atd_programs}
    for p, r in zip(inst.people, rows):
        if r["unit_id"] and r["decision"] in ("detain", "release"):
            end = H if p.removal_day is None else min(p.removal_day, H)
            if r["decision"] == "release":
                end = min(end, int(r["release_day"]))
            by_day[uidx[r["unit_id"]], p.arrival_day] += 1
            by_day[uidx[r["unit_id"]], end] -= 1
            if p.origin is not None and r["facility_id"] != p.origin:
                used[fac_aor[p.origin], p.arrival_day] += 1
        if r["atd_program_id"]:
            enrolled[r["atd_program_id"]] += 1
    used[-1] = used[:-1].sum(axis=0)
    return {"occ": np.cumsum(by_day, axis=1)[:, :H].max(axis=1, initial=0), "enrolled": enrolled, "used": used,
            "limits": transfer_limits(inst), "unit_ids": unit_ids}


def _group(inst: Instance, P, N, key: tuple, idx: list[int], level1_proven: bool, use: dict) -> dict:
    """One group of unplaced people of :func:`diagnosis` (``key``: its class and cause)."""
    sex, level, medical, mandatory, at_limit, aor, family, cause, where = key
    i = idx[0]
    units = np.flatnonzero(
        (N.unit_family == family)
        & ((N.unit_sex == P.sex[i]) | (N.unit_sex == 2))
        & (N.unit_levels[:, max(P.level[i], 0)] | bool(P.minor[i]))
        & (N.unit_medical | (not medical))
        & (P.stay[i] <= N.fac_max_stay[N.unit_fac])
    ) if not (at_limit or cause == "legal_limit") else np.zeros(0, dtype=np.int64)
    tie_ok = allowed_units(P, N, np.array([i]))[0]
    progs = eligible_programs(N, P.risk[i], P.aor[i]) if not mandatory else np.zeros(0, dtype=np.int64)
    if not level1_proven:
        reason = "not_solved"  # a limit stopped the search before level 1 was optimal
    elif cause:
        reason = cause  # no outcome under the rules, or a transport limit, a tie or a pin was the cause
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
    allowed = units[tie_ok[units]]  # the beds the group may use: ties restrict compatibility (rule 8)
    occ = use["occ"]
    group = {
        "reason": reason,
        "people": len(idx),
        "class": {"sex": sex, "level": level, "needs_medical": medical, "mandatory": mandatory,
                  "at_legal_limit": at_limit, "aor": aor, "family": family,
                  **(dict(zip(("origin", "local_ties", "arrival_day"), where)))},
        "compatible_beds_incl_surge": int((N.unit_beds[allowed] + N.unit_surge[allowed]).sum()),
        "compatible_beds_used": int(occ[allowed].sum()),
        "compatible_units": [
            {"unit": use["unit_ids"][u], "facility": inst.facilities[N.unit_fac[u]].id,
             "beds_incl_surge": int(N.unit_beds[u] + N.unit_surge[u]), "used": int(occ[u]),
             **({"tie_allowed": bool(tie_ok[u])} if P.ties[i] else {})}
            for u in units[:50]
        ],
        "eligible_programs": [
            {"program": inst.atd_programs[q].id, "capacity": inst.atd_programs[q].capacity,
             "enrolled": use["enrolled"][inst.atd_programs[q].id]}
            for q in progs
        ],
        "person_ids": [inst.people[j].id for j in idx[:100]],
    }
    if (use["limits"] >= 0).any() and P.origin[i] >= 0:
        day, rows = inst.people[i].arrival_day, (int(N.fac_aor[P.origin[i]]), len(inst.aors))
        group["transport"] = [{"aor": inst.aors[k].code if k < len(inst.aors) else None, "day": day,
                               "limit": None if use["limits"][k] < 0 else int(use["limits"][k]),
                               "used": int(use["used"][k, day])} for k in rows]
    return group
