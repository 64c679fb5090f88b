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
   (:func:`optimizer.engine.solve`) and every plan passes the verifier before it is applied.
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

Contract 1.1 (MODEL.md §3 rules 7-9) holds on every simulated day:

* **Transport limits** are per day, so every planning instance carries the instance's
  ``max_transfers_per_day`` and ``max_transfers_out_per_day`` unchanged.  A plan's day 0 is the
  simulated day, and its transfers are exactly the day's moves: a plan's origins are where people
  are (their unit's facility, or the instance's origin while without a bed), the world moves
  exactly those the plan places elsewhere, and every other transfer of a plan would fall on a
  later day, which only forecast arrivals (no origin) reach.  So a plan within the limits keeps
  the day within them.  The rule policy moves nobody after day 0 (arrivals have no origin).
* **Local ties** are person fields: copies of a template keep its ``local_ties``; the rule
  places a tied arrival only in a facility of its AOR.
* **Pins** of the people in custody on day 0 (instance days are simulated days) are kept until
  carried out; a member's pin binds the family, as in the contract.  A detention pin holds the
  person in that unit or facility until removal, except that the law overrides it: it lapses
  with the plan whose window reaches the legal limit (the person is then releasable like anyone
  at the limit).  A release pin with a day releases on that day; in a plan whose window ends
  before that day it is a detention pin without unit or facility (the person holds some bed
  until then).  A release pin without a day (or program) takes the day (and program) of the
  first plan that releases the person, from then on binding.  Slots of a program named by a
  pending release are held back from every plan whose window ends before the release day (and
  from the rule); a pending release that names no program holds no slot.  Forecast arrivals and
  their copies carry no pin (a pin is a decision about one person).  The rule releases pinned
  people on their day before serving arrivals and never releases a pinned person otherwise.

Every day is checked against the limits, ties and pins; a breach is an internal error
(:class:`optimizer.errors.SolverError`), since the plans and the rule keep them by construction.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import EXIT_ERROR, EXIT_INPUT, EXIT_OK, InputError, SolverError, err, refused
from .instance import Instance, effective_risk, parse_instance
from .outdir import bad_output_file

POLICIES = ("horizon", "myopic", "rule")


@dataclass
class Outcome:
    """Totals of one policy over the simulated days (USD, people, bed-days).  A day is at a
    transport limit when its transfers (national, or out of one AOR) use every seat of a limit of
    at least one seat."""

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
    max_transfers_per_day: int = 0  # the busiest day's transfers
    transfer_limit: int | None = None  # the instance's max_transfers_per_day
    days_at_limit: int = 0  # days whose transfers equal the national limit
    aor_days_at_limit: int = 0  # (AOR, day) pairs whose transfers out equal the AOR's limit
    solve_s: float = 0.0
    per_day: list[dict] = field(default_factory=list)

    def row(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items() if k != "per_day"}


def _binding_pins(people: list[dict]) -> dict[str, dict]:
    """Each pinned person's binding pin (MODEL.md §2 ``pin``): the family's decision, facility,
    unit and release day from any member's pin (validated to agree), the program of the
    person's own pin only."""
    groups: dict[str, list[dict]] = {}
    for p in people:
        groups.setdefault(p.get("family_id") or "\0" + p["id"], []).append(p)
    out = {}
    for group in groups.values():
        pins = [p["pin"] for p in group if p.get("pin")]
        if not pins:
            continue
        shared = {k: next((q[k] for q in pins if q.get(k) is not None), None)
                  for k in ("facility", "unit", "release_day")}
        for p in group:
            own = p.get("pin") or {}
            out[p["id"]] = {"decision": pins[0]["decision"], **shared, "atd_program": own.get("atd_program")}
    return out


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
        self.fac_aor = {f["id"]: f["aor"] for f in doc["facilities"]}
        self.limit = (doc.get("policy") or {}).get("max_transfers_per_day")
        self.aor_limit = {a["code"]: a["max_transfers_out_per_day"] for a in doc["aors"]
                          if a.get("max_transfers_out_per_day") is not None}
        self.moved: Counter[str] = Counter()  # today's transfers by the origin facility's AOR
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
            q = {k: v for k, v in p.items() if k not in ("arrival_day", "removal_day", "pin")}
            self.people[q["id"]] = q
            leave = p["removal_day"] if p.get("removal_day") is not None else None
            if q.get("family_id"):
                leave = family_leave.setdefault(q["family_id"], leave if leave is not None else self._stay(0))
            self.leave[q["id"]] = leave if leave is not None else self._stay(0)
        self.pins = _binding_pins([p for p in now if p["id"] in self.people])  # until carried out or lapsed
        self.bed: dict[str, str] = {}  # person -> unit held
        self.slots = {a["id"]: float(a.get("capacity") or 0) for a in doc["atd_programs"]}
        self.used = {a["id"]: 0 for a in doc["atd_programs"]}
        self.released_pd: list[float] = []  # per diem of each released adult
        self.out = Outcome(policy, 0, transfer_limit=self.limit)
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
            q = {key: v for key, v in self.templates[k].items()
                 if key not in ("arrival_day", "removal_day", "origin", "pin")}
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
                if self.pins.get(q["id"], {}).get("decision") == "detain":
                    del self.pins[q["id"]]  # and a detention pin: it lapses (later windows reach the limit too)
            pin = self.plan_pin(q["id"], day, window)
            if pin is not None:
                q["pin"] = pin
        if window > 1:
            for k, t in enumerate(self.templates):
                if t["arrival_day"] < window:
                    q = {key: v for key, v in t.items() if key not in ("origin", "pin")}  # as realized
                    q["id"] = f"F{k:06d}"
                    people.append(q)
        held = self.held_slots(day + window)
        progs = []
        for a in self.doc["atd_programs"]:
            b = dict(a)
            if a.get("capacity") is not None:
                b["capacity"] = max(0, math.floor(self.slots[a["id"]] + a["capacity"] * (window - 1) / 30)
                                    - held[a["id"]])
            progs.append(b)
        doc = {**self.doc, "horizon_days": window, "people": people, "atd_programs": progs}
        doc.pop("x_generator", None)
        return doc

    def plan_pin(self, pid: str, day: int, window: int) -> dict | None:
        """The pin of ``pid`` in the plan of ``day`` (days relative to it): a release beyond the
        plan's last day of custody is a detention without unit or facility until then."""
        pin = self.pins.get(pid)
        if pin is None:
            return None
        if pin["decision"] == "detain":
            return {k: pin[k] for k in ("decision", "facility", "unit")}
        k = pin["release_day"]
        if k is not None and k - day >= min(self.leave[pid] - day, window):
            return {"decision": "detain"}
        return {"decision": "release", "atd_program": pin["atd_program"], "release_day": None if k is None else k - day}

    def held_slots(self, first_day: int) -> Counter[str]:
        """Slots held back for pinned releases to a named program on ``first_day`` or later."""
        return Counter(pin["atd_program"] for pid, pin in self.pins.items() if pid in self.people
                       and pin["decision"] == "release" and pin["atd_program"] is not None
                       and pin["release_day"] is not None and pin["release_day"] >= first_day)

    def book(self, pid: str, day: int, program: str | None) -> None:
        """A plan releases pinned ``pid`` on a later ``day``: a pin without day or program takes them."""
        pin = self.pins.get(pid)
        if pin is not None and pin["decision"] == "release":
            pin["release_day"] = day if pin["release_day"] is None else pin["release_day"]
            pin["atd_program"] = pin["atd_program"] or program

    # ---- applying a day
    def release(self, p: dict, program: str | None, day: int) -> None:
        pin = self.pins.pop(p["id"], None)
        if pin is not None and (pin["decision"] == "detain" or pin["release_day"] not in (None, day)
                                or pin["atd_program"] not in (None, program)):
            raise SolverError(f"internal error: {self.policy} policy, simulated day {day}: "
                              f"{p['id']} released against its {pin['decision']} pin")
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

    def place(self, pid: str, unit: str, day: int) -> None:
        old = self.bed.get(pid)
        fac = self.units[unit][0]
        p = self.people[pid]
        origin = self.units[old][0]["id"] if old else p.get("origin")
        pin = self.pins.get(pid, {})
        if (p.get("local_ties") and fac["id"] != origin and fac["aor"] != p["aor"]) or (
                pin.get("decision") == "detain" and (pin["unit"] not in (None, unit)
                                                     or pin["facility"] not in (None, fac["id"]))):
            raise SolverError(f"internal error: {self.policy} policy, simulated day {day}: {pid} placed in "
                              f"{unit} against its local ties or pin")
        if origin != fac["id"]:
            self.out.transfers += origin is not None
            if origin is not None:
                self.moved[self.fac_aor[origin]] += 1
            self.out.cost_usd += self._move(p, origin, fac, self.doc.get("policy", {}))
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

    def check_day(self, day: int) -> None:
        """Contract 1.1 at the end of the applied day (see the module doc): transfers within the
        limits, every pinned person in custody in a bed, every release pinned for today done."""
        total = sum(self.moved.values())
        over = [f"{n} transfers out of AOR {a}, over its limit {self.aor_limit[a]}"
                for a, n in self.moved.items() if n > self.aor_limit.get(a, n)]
        if self.limit is not None and total > self.limit:
            over.append(f"{total} transfers, over the national limit {self.limit}")
        for pid, pin in self.pins.items():
            if pid in self.people and (pid not in self.bed or pin["release_day"] == day):
                over.append(f"{pid}'s {pin['decision']} pin not kept")
        if over:
            raise SolverError(f"internal error: {self.policy} policy, simulated day {day}: {'; '.join(over[:3])}")

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
        moved = sum(self.moved.values())
        aors_at_limit = sum(1 for a, n in self.moved.items() if n == self.aor_limit.get(a))
        self.out.surge_bed_days += surge
        self.out.cost_usd += cost
        self.out.deadline_violations += late
        self.out.unplaced_days += unplaced
        self.out.max_transfers_per_day = max(self.out.max_transfers_per_day, moved)
        self.out.days_at_limit += bool(self.limit) and moved == self.limit
        self.out.aor_days_at_limit += aors_at_limit
        self.out.days += 1
        self.out.per_day.append({"policy": self.policy, "day": day, "in_custody": len(self.people),
                                 "in_beds": len(self.bed), "released_total": self.out.released, "surge": surge,
                                 "deadline_violations": late, "unplaced": unplaced, "transfers": moved,
                                 "transfer_limit": self.limit, "aors_at_limit": aors_at_limit})
        self.moved.clear()

    def advance(self, day: int) -> None:
        for pid in [pid for pid, d in self.leave.items() if d <= day + 1 and pid in self.people]:
            self.people.pop(pid)
            self.bed.pop(pid, None)
            self.pins.pop(pid, None)
        for p in self.people.values():
            p["custody_days"] = p.get("custody_days", 0) + 1
        for a in self.doc["atd_programs"]:
            if a.get("capacity") is not None:
                self.slots[a["id"]] += a["capacity"] / 30


def _optimize(world: _World, day: int, window: int, params) -> None:
    """Solve today's instance exactly, verify the plan, apply its day 0 (a pinned person the
    plan releases on a later day is booked for that day and program)."""
    import time

    from .engine import solve
    from .verifier import verify

    inst: Instance = parse_instance(world.plan_doc(day, window), f"<simulated day {day}>")
    t0 = time.monotonic()
    res = solve(inst, params)
    world.out.solve_s += time.monotonic() - t0
    check = verify(inst, res.rows)
    if not check.ok:
        raise SolverError(f"simulated day {day}: the plan failed verification: {check.violations[0]}")
    for r in res.rows:
        pid = r["person_id"]
        if pid not in world.people:  # forecast arrivals and removed people
            continue
        p = world.people[pid]
        program = r["atd_program_id"] or None
        if r["decision"] == "release" and r["release_day"] == "0":
            world.release(p, program, day)
        elif r["unit_id"]:
            world.place(pid, r["unit_id"], day)
            if r["decision"] == "release":
                world.book(pid, day + int(r["release_day"]), program)
        else:  # unplaced: in custody without a bed
            world.bed.pop(pid, None)


def _fits(world: _World, p: dict, unit: str, day: int) -> bool:
    """An arrival (no origin) may take ``unit``: compatibility, short stay, local ties."""
    f, u = world.units[unit]
    stay = world.leave[p["id"]] - day
    return (not u.get("family", False) and u["sex"] == p["sex"] and p["level"] in u["levels"]
            and (u.get("medical", False) or not p.get("needs_medical", False))
            and (f.get("max_stay_days") is None or stay <= f["max_stay_days"])
            and (not p.get("local_ties") or f["aor"] == p["aor"]))


def _program(world: _World, p: dict, held: Counter[str], only: str | None = None) -> str | None:
    """The first eligible program (``only`` that one when given) with a free slot beyond those
    ``held`` for pinned releases."""
    for a in world.doc["atd_programs"]:
        if only in (None, a["id"]) and a["max_risk"] >= p["risk"] and a.get("aor") in (None, p["aor"]) and (
                a.get("capacity") is None or world.slots[a["id"]] - held[a["id"]] >= 1):
            return a["id"]
    return None


def _release_pinned(world: _World, day: int) -> None:
    """The rule carries out the releases pinned for today (to the pinned program, else the
    first eligible one with a free slot; minors take none)."""
    held = world.held_slots(day + 1)
    for pid, pin in list(world.pins.items()):
        if pin["decision"] == "release" and pin["release_day"] in (day, None) and pid in world.people:
            p = world.people[pid]
            program = None if p.get("minor") else _program(world, p, held, pin["atd_program"])
            if program is None and not p.get("minor"):
                raise SolverError(f"rule policy, simulated day {day}: no ATD slot left for the pinned release of {pid}")
            world.release(p, program, day)


def _rule(world: _World, arrivals: list[dict], day: int) -> None:
    """First come, first served; when full, release the lowest risk (see the module doc)."""
    _release_pinned(world, day)
    held = world.held_slots(day + 1)
    occ: dict[str, list[str]] = {u: [] for u in world.units}
    for pid, u in world.bed.items():
        occ[u].append(pid)
    for p in arrivals:
        fit = [u for u in world.unit_order if _fits(world, p, u, day)]
        free = next((u for u in fit if len(occ[u]) < world.units[u][1]["beds"]), None)
        if free is not None:
            world.place(p["id"], free, day)
            occ[free].append(p["id"])
            continue
        candidates = [(p["risk"], p["id"], None)] if not p.get("mandatory") else []
        for u in fit:
            candidates += [(world.people[q]["risk"], q, u) for q in occ[u] if not world.people[q].get("mandatory")
                           and not world.people[q].get("family_id") and q not in world.pins]
        released = False
        for _, qid, u in sorted(candidates):
            q = world.people[qid]
            prog = _program(world, q, held)
            if prog is None:
                continue
            world.release(q, prog, day)
            if u is not None:
                occ[u].remove(qid)
                world.place(p["id"], u, day)
                occ[u].append(p["id"])
            released = True
            break
        if released:
            continue
        surge = next((u for u in fit if len(occ[u]) < world.units[u][1]["beds"] + world.units[u][1].get(
            "surge_beds", 0)), None)
        if surge is not None:
            world.place(p["id"], surge, day)
            occ[surge].append(p["id"])


def simulate_day(world: _World, day: int, params) -> None:
    """One simulated day under ``world.policy``: arrivals, plan or rule, check, count, advance."""
    arrivals = world.arrivals(day) if day > 0 else []
    if world.policy == "rule":
        if day == 0:  # the starting placement: today's optimal one-day plan
            _optimize(world, 0, 1, params)
        _rule(world, arrivals, day)
    else:
        _optimize(world, day, world.H if world.policy == "horizon" else 1, params)
    world.check_day(day)
    world.count_day(day)
    world.advance(day)


def simulate(doc: dict, days: int, seed: int, policies=POLICIES, params=None, progress=None) -> list[Outcome]:
    """Run the rolling-horizon simulation of ``doc`` (a validated instance document) for
    ``days`` days under each policy; the same ``seed`` gives every policy the same arrivals.

    ``progress(policy, day)`` is called after each simulated day.  Raises
    :class:`optimizer.errors.SolverError` if a plan fails verification or a day breaks the
    contract, :class:`optimizer.errors.InputError` if a day's planning instance is refused, and
    :class:`optimizer.backends.base.BackendError` if the solver cannot take the instance."""
    from .engine import SolveParams

    params = params or SolveParams()
    out = []
    for policy in policies:
        world = _World(copy.deepcopy(doc), policy, seed)
        for day in range(days):
            simulate_day(world, day, params)
            if progress:
                progress(policy, day)
        out.append(world.out)
    return out


def _print_simulation(args, rows: list[dict]) -> None:
    """The policies' comparison table of ``bedalloc simulate``."""
    from rich.table import Table

    from .report import console

    t = Table(title=f"Simulation of {args.days} days (seed {args.seed})", title_justify="left")
    cols = ("policy", "released", "released_risk", "max_risk_released", "deadline_violations", "unplaced_days",
            "surge_bed_days", "cost_usd", "transfers", "max_transfers_per_day", "days_at_limit",
            "aor_days_at_limit", "solve_s")
    names = {"max_transfers_per_day": "most transfers a day", "days_at_limit": "days at national limit",
             "aor_days_at_limit": "AOR-days at limit"}
    for col in cols:
        t.add_column(names.get(col, col.replace("_", " ")), justify="left" if col == "policy" else "right")
    for r in rows:
        cells = {c: f"{r[c]:,.{4 if 'risk' in c else 2}f}" if isinstance(r[c], float)  # risks on the plan files' grid
                 else f"{r[c]:,}" if isinstance(r[c], int) else str(r[c]) for c in cols}
        if r["transfer_limit"] is not None:  # the busiest day against the national seats
            cells["max_transfers_per_day"] += f" of {r['transfer_limit']:,}"
        t.add_row(*cells.values())
    console(220).print(t)


def cmd_simulate(args) -> int:
    """``bedalloc simulate``: run the policies, print the comparison, write two CSV files."""
    from rich.console import Console
    from rich.progress import Progress

    from .backends import BackendError, check
    from .generate import write_records
    from .instance import load_json, read_instance
    from .engine import SolveParams

    policies = list(dict.fromkeys(x.strip() for x in args.policies.split(",") if x.strip()))
    wrong = [x for x in policies if x not in POLICIES]
    if wrong or not policies:
        err([f"bedalloc simulate: --policies: unknown {', '.join(wrong) or '(none)'}; known: {', '.join(POLICIES)}"])
        return EXIT_INPUT
    try:
        check(args.solver, {})
        read_instance(args.instance)  # one clear line per problem
    except BackendError as e:
        err([f"bedalloc simulate: --solver {args.solver}: {e}"])
        return EXIT_INPUT
    except InputError as e:
        return refused(e)
    out = Path(args.out) if args.out else Path("out") / f"{Path(args.instance).stem}-simulation"
    why = (f"{out}: --out: not a folder" if out.exists() and not out.is_dir() else
           bad_output_file(str(out / "simulation.csv"), "--out", [args.instance]) if out.exists() else None)
    if why is None and not out.exists():
        try:
            out.mkdir(parents=True)
            out.rmdir()
        except OSError as e:
            why = f"{out}: --out: cannot create the folder: {e.strerror or e}"
    if why:
        err([why])
        return EXIT_INPUT
    doc = load_json(args.instance)
    con = Console(stderr=True)
    with Progress(console=con, disable=args.quiet or not con.is_terminal, transient=True) as bar:
        tasks = {p: bar.add_task(f"{p:8s}", total=args.days) for p in policies}
        try:
            results = simulate(doc, args.days, args.seed, policies, SolveParams(solver=args.solver),
                               progress=lambda policy, day: bar.advance(tasks[policy]))
        except (BackendError, InputError) as e:
            err([f"{args.instance}: {e}" if isinstance(e, BackendError) else e.lines[0]])
            return EXIT_INPUT
        except SolverError as e:  # a plan failed verification or a day broke the contract
            err([f"{args.instance}: {e}"])
            return EXIT_ERROR
    rows = [r.row() for r in results]
    out.mkdir(parents=True, exist_ok=True)  # written before anything is printed: a closed stdout must not lose it
    write_records(out / "simulation.csv", rows)
    write_records(out / "days.csv", [d for r in results for d in r.per_day])
    _print_simulation(args, rows)
    print(f"written to {out}/simulation.csv and days.csv")
    return EXIT_OK
