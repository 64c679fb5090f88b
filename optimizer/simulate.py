"""Rolling-horizon simulation (``bedalloc simulate``): re-plan every day, apply the plan's first day.

The instance is the starting state and the forecast.  Its people with ``arrival_day`` 0 are in
custody on simulated day 0; its forecast arrivals (``arrival_day`` > 0) are the templates of
future arrivals.  Each simulated day:

1. **Realize** the day's arrivals: a Poisson number with mean = the instance's forecast arrivals
   per day (at least one forecast day is needed for arrivals), each a copy of a random template
   with a fresh id.  Every person has a scheduled removal: the instance's ``removal_day`` when
   given, otherwise a stay drawn from an exponential with the FY2026 average length of stay
   (``optimizer.generate.ALOS_DAYS``, 50.2 days).
2. **Plan** with the policy (below) from today's state: the people in custody (origin = their
   current facility, ``custody_days`` advanced), today's arrivals and, for the horizon policy,
   the forecast arrivals of the next days.  Optimizing policies solve the instance exactly
   (:func:`optimizer.solve.solve`) and every plan passes the verifier before it is applied.
3. **Apply** the plan's day 0: releases on day 0 leave custody (risk and ATD enrolment are
   recorded); everyone else who has a bed today keeps it; people the plan leaves unplaced stay in
   custody without a bed (counted as unplaced person-days).
4. **Count** the day: occupancy per unit (surge bed-days), facility cost (guaranteed minimum and
   per diem), ATD per diems of everyone released so far, moving costs, and legal-deadline
   violations (a person holding a bed on a day on which ``custody_days >= max_custody_days``).
   Then removals due tomorrow leave and custody days advance.

ATD slots: a program's ``capacity`` is read as free enrolments per 30 days: available on day 0,
then accrued daily; a plan may use the slots left plus those accruing within its window.  A
mandatory person who reaches a legal limit within a plan's window is planned as releasable (the
limit, set by courts, overrides mandatory detention; MODEL.md §2 would otherwise reject the
instance).

Policies:

* ``horizon``: the instance's ``horizon_days``-day plan (forecast arrivals included);
* ``myopic``: a one-day plan of today's people only;
* ``rule``: no optimisation.  Everyone keeps their bed; arrivals are served first come, first
  served: the first unit (instance order) with a free bed that fits them; when none is free, a
  releasable person is released, the lowest raw risk among the arrival and the occupants of the
  fitting units, to a program with a free slot, and the arrival takes the freed bed; otherwise a
  surge bed, otherwise no bed.  The rule does not track legal deadlines.

Families are kept as they are placed on day 0 (the rule policy) or re-planned as blocks (the
optimizing policies); arrivals are single adults.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from .instance import Instance, effective_risk, parse_instance

POLICIES = ("horizon", "myopic", "rule")


@dataclass
class Outcome:
    """Totals of one policy over the simulated days (USD, people, bed-days)."""

    policy: str
    days: int
    released: int = 0
    released_risk: float = 0.0  # sum of the effective risks released
    max_risk_released: float = 0.0
    deadline_violations: int = 0  # person-days in a bed at or beyond the legal limit
    unplaced_days: int = 0  # person-days in custody without a bed
    surge_bed_days: int = 0
    cost_usd: float = 0.0
    transfers: int = 0
    solve_s: float = 0.0
    per_day: list[dict] = field(default_factory=list)

    def row(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items() if k != "per_day"}


class _World:
    """The simulated state under one policy: who is in custody, where, and the running totals."""

    def __init__(self, doc: dict, policy: str, seed: int):
        from .generate import ALOS_DAYS

        self.doc = doc
        self.policy = policy
        self.rng = np.random.default_rng(seed)  # the same seed gives every policy the same arrivals
        self.H = doc["horizon_days"]
        self.units = {u["id"]: (f, u) for f in doc["facilities"] for u in f["units"]}
        self.unit_order = list(self.units)
        self.factors = parse_instance({**doc, "people": []}, "<simulation>").policy.factors()
        now = [p for p in doc["people"] if p.get("arrival_day", 0) == 0]
        self.templates = [p for p in doc["people"] if p.get("arrival_day", 0) > 0]
        self.rate = len(self.templates) / max(1, self.H - 1)
        self.alos = ALOS_DAYS
        self.people: dict[str, dict] = {}
        self.leave: dict[str, int] = {}  # simulated day of removal
        family_leave: dict[str, int] = {}  # a family leaves together
        for p in now:
            if p.get("removal_day") is not None and p["removal_day"] <= 0:
                continue
            q = {k: v for k, v in p.items() if k not in ("arrival_day", "removal_day")}
            self.people[q["id"]] = q
            leave = p["removal_day"] if p.get("removal_day") is not None else None
            if q.get("family_id"):
                leave = family_leave.setdefault(q["family_id"], leave if leave is not None else self._stay(0))
            self.leave[q["id"]] = leave if leave is not None else self._stay(0)
        self.bed: dict[str, str] = {}  # person -> unit held
        self.slots = {a["id"]: float(a.get("capacity") or 0) for a in doc["atd_programs"]}
        self.used = {a["id"]: 0 for a in doc["atd_programs"]}
        self.released_pd: list[float] = []  # per diem of each released adult
        self.out = Outcome(policy, 0)
        self.arrived = 0

    def _stay(self, day: int) -> int:
        return day + max(1, math.ceil(self.rng.exponential(self.alos)))

    def arrivals(self, day: int) -> list[dict]:
        if not self.templates:
            return []
        n = int(self.rng.poisson(self.rate))
        out = []
        for k in self.rng.integers(0, len(self.templates), size=n).tolist():
            self.arrived += 1
            q = {key: v for key, v in self.templates[k].items() if key not in ("arrival_day", "removal_day", "origin")}
            q["id"] = f"S{self.arrived:07d}"
            self.people[q["id"]] = q
            self.leave[q["id"]] = self._stay(day)
            out.append(q)
        return out

    def eff(self, p: dict) -> float:
        return effective_risk(p["risk"], p.get("humanitarian", []), self.factors)

    # ---- planning instances
    def plan_doc(self, day: int, window: int) -> dict:
        """Today's planning instance: people in custody (day 0), forecast arrivals (days 1..)."""
        people, freed = [], set()
        for pid, p in self.people.items():
            q = dict(p)
            if pid in self.bed:
                q["origin"] = self.units[self.bed[pid]][0]["id"]
            r = self.leave[pid] - day
            q["removal_day"] = r  # known removal days, inside the window or not (short stays need them)
            limit = q.get("max_custody_days")
            if limit is not None and q.get("custody_days", 0) + min(r, window) - 1 >= limit:
                freed.add(q.get("family_id") or pid)  # the legal limit overrides mandatory detention
            people.append(q)
        for q in people:
            if (q.get("family_id") or q["id"]) in freed:
                q.pop("mandatory", None)
        if window > 1:
            for k, t in enumerate(self.templates):
                if t["arrival_day"] < window:
                    q = dict(t)
                    q["id"] = f"F{k:06d}"
                    people.append(q)
        progs = []
        for a in self.doc["atd_programs"]:
            b = dict(a)
            if a.get("capacity") is not None:
                b["capacity"] = max(0, math.floor(self.slots[a["id"]] + a["capacity"] * (window - 1) / 30))
            progs.append(b)
        doc = {**self.doc, "horizon_days": window, "people": people, "atd_programs": progs}
        doc.pop("x_generator", None)
        return doc

    # ---- applying a day
    def release(self, p: dict, program: str | None) -> None:
        self.out.released += 1
        e = self.eff(p)
        self.out.released_risk += e
        self.out.max_risk_released = max(self.out.max_risk_released, e)
        if program:
            self.used[program] += 1
            self.slots[program] -= 1
            self.released_pd.append(next(a["per_diem"] for a in self.doc["atd_programs"] if a["id"] == program))
        self.people.pop(p["id"])
        self.bed.pop(p["id"], None)

    def place(self, pid: str, unit: str) -> None:
        old = self.bed.get(pid)
        fac = self.units[unit][0]
        origin = self.units[old][0]["id"] if old else self.people[pid].get("origin")
        if origin != fac["id"]:
            pol = self.doc.get("policy", {})
            self.out.transfers += origin is not None
            self.out.cost_usd += self._move(self.people[pid], origin, fac, pol)
        self.bed[pid] = unit

    def _move(self, p, origin, fac, pol) -> float:
        from .model import haversine_km

        if origin is not None:
            o = next(f for f in self.doc["facilities"] if f["id"] == origin)
            fixed = pol.get("transfer_fixed_usd", 250.0)
        else:
            o = next(a for a in self.doc["aors"] if a["code"] == p["aor"])
            fixed = 0.0
        km = float(haversine_km(o["lat"], o["lon"], fac["lat"], fac["lon"]))
        return fixed + pol.get("transfer_usd_per_km", 0.5) * km

    def count_day(self, day: int) -> None:
        occ: dict[str, int] = {}
        for u in self.bed.values():
            occ[u] = occ.get(u, 0) + 1
        surge = sum(max(0, c - self.units[u][1]["beds"]) for u, c in occ.items())
        fac_occ: dict[str, int] = {}
        for u, c in occ.items():
            fid = self.units[u][0]["id"]
            fac_occ[fid] = fac_occ.get(fid, 0) + c
        cost = sum(f.get("guaranteed_minimum", 0) * f.get("gm_rate", 0.0)
                   + f["per_diem"] * max(0, fac_occ.get(f["id"], 0) - f.get("guaranteed_minimum", 0))
                   for f in self.doc["facilities"])
        cost += sum(self.released_pd)
        late = sum(1 for pid in self.bed if self.people[pid].get("max_custody_days") is not None
                   and self.people[pid].get("custody_days", 0) >= self.people[pid]["max_custody_days"])
        unplaced = len(self.people) - len(self.bed)
        self.out.surge_bed_days += surge
        self.out.cost_usd += cost
        self.out.deadline_violations += late
        self.out.unplaced_days += unplaced
        self.out.days += 1
        self.out.per_day.append({"policy": self.policy, "day": day, "in_custody": len(self.people),
                                 "in_beds": len(self.bed), "released_total": self.out.released, "surge": surge,
                                 "deadline_violations": late, "unplaced": unplaced})

    def advance(self, day: int) -> None:
        for pid in [pid for pid, d in self.leave.items() if d <= day + 1 and pid in self.people]:
            self.people.pop(pid)
            self.bed.pop(pid, None)
        for p in self.people.values():
            p["custody_days"] = p.get("custody_days", 0) + 1
        for a in self.doc["atd_programs"]:
            if a.get("capacity") is not None:
                self.slots[a["id"]] += a["capacity"] / 30


def _optimize(world: _World, day: int, window: int, params) -> None:
    """Solve today's instance exactly, verify the plan, apply its day 0."""
    import time

    from .solve import solve
    from .verify import verify

    inst: Instance = parse_instance(world.plan_doc(day, window), f"<simulated day {day}>")
    t0 = time.monotonic()
    res = solve(inst, params)
    world.out.solve_s += time.monotonic() - t0
    check = verify(inst, res.rows)
    if not check.ok:
        raise RuntimeError(f"day {day}: the plan failed verification: {check.violations[0]}")
    for r in res.rows:
        pid = r["person_id"]
        if pid not in world.people:  # forecast arrivals and removed people
            continue
        p = world.people[pid]
        if r["decision"] == "release" and r["release_day"] == "0":
            world.release(p, r["atd_program_id"] or None)
        elif r["unit_id"]:
            world.place(pid, r["unit_id"])
        else:  # unplaced: in custody without a bed
            world.bed.pop(pid, None)


def _fits(world: _World, p: dict, unit: str, day: int) -> bool:
    f, u = world.units[unit]
    stay = world.leave[p["id"]] - day
    return (not u.get("family", False) and u["sex"] == p["sex"] and p["level"] in u["levels"]
            and (u.get("medical", False) or not p.get("needs_medical", False))
            and (f.get("max_stay_days") is None or stay <= f["max_stay_days"]))


def _program(world: _World, p: dict) -> str | None:
    for a in world.doc["atd_programs"]:
        if a["max_risk"] >= p["risk"] and a.get("aor") in (None, p["aor"]) and (
                a.get("capacity") is None or world.slots[a["id"]] >= 1):
            return a["id"]
    return None


def _rule(world: _World, arrivals: list[dict], day: int) -> None:
    """First come, first served; when full, release the lowest risk (see the module doc)."""
    occ: dict[str, list[str]] = {u: [] for u in world.units}
    for pid, u in world.bed.items():
        occ[u].append(pid)
    for p in arrivals:
        fit = [u for u in world.unit_order if _fits(world, p, u, day)]
        free = next((u for u in fit if len(occ[u]) < world.units[u][1]["beds"]), None)
        if free is not None:
            world.place(p["id"], free)
            occ[free].append(p["id"])
            continue
        candidates = [(p["risk"], p["id"], None)] if not p.get("mandatory") else []
        for u in fit:
            candidates += [(world.people[q]["risk"], q, u) for q in occ[u] if not world.people[q].get("mandatory")
                           and not world.people[q].get("family_id")]
        released = False
        for _, qid, u in sorted(candidates):
            q = world.people[qid]
            prog = _program(world, q)
            if prog is None:
                continue
            world.release(q, prog)
            if u is not None:
                occ[u].remove(qid)
                world.place(p["id"], u)
                occ[u].append(p["id"])
            released = True
            break
        if released:
            continue
        surge = next((u for u in fit if len(occ[u]) < world.units[u][1]["beds"] + world.units[u][1].get(
            "surge_beds", 0)), None)
        if surge is not None:
            world.place(p["id"], surge)
            occ[surge].append(p["id"])


def simulate(doc: dict, days: int, seed: int, policies=POLICIES, params=None, progress=None) -> list[Outcome]:
    """Run the rolling-horizon simulation of ``doc`` (a validated instance document) for
    ``days`` days under each policy; the same ``seed`` gives every policy the same arrivals.

    ``progress(policy, day)`` is called after each simulated day.  Raises ``RuntimeError`` if a
    plan fails verification and :class:`optimizer.backends.base.BackendError` if the solver
    cannot take the instance."""
    from .solve import SolveParams

    params = params or SolveParams()
    out = []
    for policy in policies:
        world = _World(copy.deepcopy(doc), policy, seed)
        for day in range(days):
            arrivals = world.arrivals(day) if day > 0 else []
            if policy == "rule":
                if day == 0:  # the starting placement: today's optimal one-day plan
                    _optimize(world, 0, 1, params)
                _rule(world, arrivals, day)
            else:
                _optimize(world, day, world.H if policy == "horizon" else 1, params)
            world.count_day(day)
            world.advance(day)
            if progress:
                progress(policy, day)
        out.append(world.out)
    return out
