"""The tables of the HTML report (``bedalloc solve --report``), derived from a verified plan.

Computed from the instance, the plan rows (with their ``reason`` column) and summary.json, so
the figures agree with the verifier's: the cost split adds up to the plan's level-4 cost, the
per-AOR counts to the plan's counts.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from .instance import Instance


def cost_split(inst: Instance, summary: dict, rows: list[dict[str, str]]) -> dict[str, float]:
    """The plan's cost (USD, MODEL.md §4 level 4) in four parts: ``guaranteed_minimum`` (the
    payments for guaranteed-minimum beds, used or not), ``per_diem`` (facility per diems above
    the minimums), ``atd`` (ATD per diems of the released adults) and ``moving`` (transfer fees
    and per-km costs: the rest of the verified total)."""
    H = inst.horizon_days
    mult = inst.policy.cost_days if H == 1 else 1
    gm = sum(f.guaranteed_minimum * f.gm_rate for f in inst.facilities) * H * mult
    detention = sum(f["cost_usd"] for f in summary["facilities"])
    per_diem = {p.id: p.per_diem for p in inst.atd_programs}
    atd = sum(per_diem[r["atd_program_id"]] * (H - int(r["release_day"]))
              for r in rows if r["decision"] == "release" and r["atd_program_id"]) * mult
    total = summary["objective"]["cost_usd"]
    return {"guaranteed_minimum": round(gm, 2), "per_diem": round(detention - gm, 2) + 0.0, "atd": round(atd, 2),
            "moving": round(total - detention - atd, 2) + 0.0}  # + 0.0: no "-0.00"


def flows(inst: Instance, rows: list[dict[str, str]]) -> Counter:
    """Transfers (MODEL.md §3 rule 7) by (AOR of the origin facility, AOR of the unit's facility),
    over the plan (each on the person's arrival day)."""
    fac_aor = {f.id: f.aor for f in inst.facilities}
    return Counter((fac_aor[p.origin], fac_aor[r["facility_id"]])
                   for p, r in zip(inst.people, rows) if r["transfer"] == "1")


def aor_table(inst: Instance, summary: dict, rows: list[dict[str, str]]) -> list[dict]:
    """One dict per AOR, instance order: ``code``, ``name``, ``people`` (people of the AOR's cases
    who need a decision), ``detained``, ``released`` (a Counter by reason), ``unplaced``, ``beds``
    and ``surge_beds`` (of the facilities located in the AOR), ``occupied`` (their beds used on
    the busiest day, surge included), ``out`` and ``limit`` (transfers out of the AOR's facilities
    on its busiest day, and its ``max_transfers_out_per_day``), ``in`` (transfers into its
    facilities, from any facility, over the plan)."""
    by_aor: dict[str, dict] = {
        a.code: {"code": a.code, "name": a.name, "people": 0, "detained": 0, "released": Counter(), "unplaced": 0,
                 "beds": 0, "surge_beds": 0, "occupied": 0, "out": 0, "limit": a.max_transfers_out_per_day, "in": 0}
        for a in inst.aors}
    for p, r in zip(inst.people, rows):
        e = by_aor[p.aor]
        if r["decision"] != "removed":
            e["people"] += 1
        if r["decision"] == "detain":
            e["detained"] += 1
        elif r["decision"] == "release":
            e["released"][r.get("reason") or "other"] += 1
        elif r["decision"] == "unplaced":
            e["unplaced"] += 1
    for f in inst.facilities:
        by_aor[f.aor]["beds"] += sum(u.beds for u in f.units)
        by_aor[f.aor]["surge_beds"] += sum(u.surge_beds for u in f.units)
    for code, days in aor_days(inst, summary).items():
        by_aor[code]["occupied"] = max(days)
    for t in summary.get("transfers_by_aor", []):
        if t["aor"] is not None:
            by_aor[t["aor"]]["out"] = max(by_aor[t["aor"]]["out"], t["transfers"])
    for (_, dst), n in flows(inst, rows).items():
        by_aor[dst]["in"] += n
    return list(by_aor.values())


def aor_days(inst: Instance, summary: dict) -> dict[str, list[int]]:
    """Beds used (surge included) per AOR and day: the sum over the AOR's facilities."""
    out: dict[str, list[int]] = defaultdict(lambda: [0] * inst.horizon_days)
    for f, s in zip(inst.facilities, summary["facilities"]):
        days = s.get("occupied_by_day", [s["occupied"]])
        acc = out[f.aor]
        for t, n in enumerate(days):
            acc[t] += n
    return {a.code: out[a.code] for a in inst.aors}


def facility_table(inst: Instance, summary: dict) -> list[dict]:
    """One dict per facility, instance order: ``id``, ``name``, ``aor``, ``state``, ``type``, ``lat``,
    ``lon``, ``beds``, ``surge_beds``, ``occupied`` (busiest day), ``utilization`` (None without
    beds), ``gm_usd`` (guaranteed-minimum payments) and ``per_diem_usd`` (per diems above them)."""
    H = inst.horizon_days
    mult = inst.policy.cost_days if H == 1 else 1
    out = []
    for f, s in zip(inst.facilities, summary["facilities"]):
        gm = f.guaranteed_minimum * f.gm_rate * H * mult
        out.append({"id": f.id, "name": f.name, "aor": f.aor, "state": f.state, "type": f.type, "lat": f.lat,
                    "lon": f.lon, "beds": s["beds"], "surge_beds": sum(u.surge_beds for u in f.units),
                    "occupied": s["occupied"], "utilization": s["utilization"], "gm_usd": round(gm, 2),
                    "per_diem_usd": round(s["cost_usd"] - gm, 2) + 0.0})  # + 0.0: no "-0.00"
    return out


def reason_lists(inst: Instance, rows: list[dict[str, str]]) -> dict[str, list[dict]]:
    """The people behind each bar of "releases and unplaced people by reason": ``"released: R"``
    or ``"unplaced: R"`` -> rows ``{person, aor, risk, origin, facility, program, day}``, by
    effective risk, highest first."""
    out: dict[str, list[dict]] = defaultdict(list)
    for p, r in zip(inst.people, rows):
        if r["decision"] in ("release", "unplaced"):
            key = f"{'released' if r['decision'] == 'release' else 'unplaced'}: {r.get('reason') or 'other'}"
            out[key].append({"person": p.id, "aor": p.aor, "risk": float(r["effective_risk"]),
                             "origin": p.origin or "", "facility": r["facility_id"], "program": r["atd_program_id"],
                             "day": r["release_day"]})
    for lst in out.values():
        lst.sort(key=lambda e: -e["risk"])
    return dict(sorted(out.items(), key=lambda kv: -len(kv[1])))
