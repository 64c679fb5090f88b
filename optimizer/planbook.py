"""``plan.xlsx``: the plan as a workbook a planner can hand out (docs/spreadsheets.md).

Sheets: summary (the four levels, counts, termination, instance and its sha256), plan
(plan.csv's rows with facility names and program technologies), transfers (origin facility ->
destination facility per day, with counts and the people: transport orders), releases (by
facility: person, program, reason), facilities (beds, occupied, utilization, cost split into
guaranteed minimum and per diem) and programs (enrolled, capacity).  Written with openpyxl's
write-only mode; text never becomes a formula (:func:`optimizer.sheets.xlsx_cell`).
"""

from __future__ import annotations

import io

from .instance import Instance
from .sheets import sized_sheet, xlsx_cell

NUMERIC = {"release_day": int, "transfer": int, "effective_risk": float, "pinned": int}


def _summary_rows(summary: dict) -> list[list]:
    rows = [["key", "value"]]
    for key in ("instance", "instance_name", "instance_sha256", "solver", "termination", "levels_proven_optimal",
                "objective", "gap", "counts"):
        value = summary.get(key)
        rows += [[f"{key}.{k}", v] for k, v in value.items()] if isinstance(value, dict) else [[key, value]]
    return rows


def _plan_rows(inst: Instance, rows: list[dict]) -> list[list]:
    fac = {f.id: f.name for f in inst.facilities}
    tech = {p.id: p.technology for p in inst.atd_programs}
    cols = list(rows[0]) if rows else []
    at = cols.index("facility_id") + 1 if rows else 0
    header = cols[:at] + ["facility_name"] + cols[at:] + ["atd_technology"]
    out = [header]
    for r in rows:
        values = [NUMERIC[c](r[c]) if c in NUMERIC and r[c] != "" else r[c] for c in cols]
        out.append(values[:at] + [fac.get(r["facility_id"], "")] + values[at:] + [tech.get(r["atd_program_id"], "")])
    return out


def _transfer_rows(inst: Instance, rows: list[dict]) -> list[list]:
    """One row per (day, origin facility, destination facility): the transport orders."""
    fac = {f.id: f for f in inst.facilities}
    moves: dict[tuple, list[str]] = {}
    for p, r in zip(inst.people, rows):
        if r["transfer"] == "1":
            moves.setdefault((p.arrival_day, p.origin, r["facility_id"]), []).append(p.id)
    out = [["day", "origin_facility", "origin_name", "origin_aor", "destination_facility", "destination_name",
            "destination_aor", "people", "person_ids"]]
    for (day, o, d), ids in sorted(moves.items()):
        out.append([day, o, fac[o].name, fac[o].aor, d, fac[d].name, fac[d].aor, len(ids), ",".join(ids)])
    return out


def _release_rows(inst: Instance, rows: list[dict]) -> list[list]:
    """Releases grouped by the facility that releases the person: where the plan held them before
    the release day, else their origin facility (none: a new arrival)."""
    fac = {f.id: f.name for f in inst.facilities}
    out = [["facility", "facility_name", "person_id", "atd_program_id", "release_day", "effective_risk", "reason"]]
    picked = [(r["facility_id"] or p.origin or "", p.id, r) for p, r in zip(inst.people, rows)
              if r["decision"] == "release"]
    for origin, pid, r in sorted(picked, key=lambda x: (x[0], x[1])):
        out.append([origin or None, fac.get(origin), pid, r["atd_program_id"], int(r["release_day"]),
                    float(r["effective_risk"]), r.get("reason", "")])
    return out


def _facility_rows(inst: Instance, summary: dict) -> list[list]:
    days = inst.policy.cost_days if inst.horizon_days == 1 else inst.horizon_days
    out = [["facility", "name", "aor", "type", "beds", "surge_beds", "occupied", "utilization",
            "guaranteed_minimum", "cost_usd", "guaranteed_minimum_usd", "per_diem_usd"]]
    for f, s in zip(inst.facilities, summary["facilities"]):
        gm = round(f.guaranteed_minimum * f.gm_rate * days, 2)
        out.append([f.id, f.name, f.aor, f.type, s["beds"], sum(u.surge_beds for u in f.units), s["occupied"],
                    s["utilization"], f.guaranteed_minimum, s["cost_usd"], gm, round(s["cost_usd"] - gm, 2)])
    return out


def _program_rows(inst: Instance, summary: dict) -> list[list]:
    out = [["atd_program", "technology", "aor", "per_diem", "enrolled", "capacity", "utilization"]]
    for p, s in zip(inst.atd_programs, summary["atd"]):
        use = round(s["enrolled"] / p.capacity, 4) if p.capacity else None
        out.append([p.id, p.technology, p.aor, p.per_diem, s["enrolled"], p.capacity, use])
    return out


def plan_workbook(inst: Instance, rows: list[dict], summary: dict) -> bytes:
    """The bytes of ``plan.xlsx`` for a verified plan (``rows`` as plan.csv, with ``reason``) and
    its ``summary`` (summary.json's document)."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    sheets = {"summary": _summary_rows(summary), "plan": _plan_rows(inst, rows),
              "transfers": _transfer_rows(inst, rows), "releases": _release_rows(inst, rows),
              "facilities": _facility_rows(inst, summary), "programs": _program_rows(inst, summary)}
    for title, table in sheets.items():
        ws = sized_sheet(wb, title, len(table), len(table[0]))
        ws.freeze_panes = "A2"
        for row in table:
            ws.append([xlsx_cell(ws, v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
