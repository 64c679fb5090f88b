"""What-if questions on capacity: more or fewer beds, ATD slots or transport seats, and the
capacity curve.

Every answer is a full optimal, verified solve.  The capacity curve scales every unit's beds
(``round(beds x (1 + p / 100))``, half up; surge beds and guaranteed minimums unchanged) and
re-solves the one-day class model built once, changing only its bed rows.
"""

from __future__ import annotations

import copy
import math
import time

import numpy as np

from .instance import Instance, parse_instance
from .engine import SolveParams, build_models, solve
from .verifier import verify
from .errors import EXIT_INPUT, EXIT_OK, InputError, err, refused
from .outdir import bad_output_file


# the plan files' grid for the tables' figures: effective risks to 0.0001, USD to the cent
GRID = {"released_risk": ",.4f", "highest_released_for_capacity": ",.4f", "cost_usd": ",.2f"}


def _outcome(inst: Instance, rows: list[dict[str, str]]) -> dict:
    """The verified levels of a plan, the number released, the highest effective risk released,
    and the highest released for lack of capacity (reasons ``capacity`` and ``humanitarian``:
    releases at a legal limit happen whatever the beds), and the transfers (MODEL.md §3 rule 7)."""
    from .reasons import reasons

    check = verify(inst, rows)
    if not check.ok:
        raise RuntimeError(f"a what-if plan failed verification: {check.violations[0]}")
    why, _ = reasons(inst, rows)
    released = [float(r["effective_risk"]) for r in rows if r["decision"] == "release"]
    capacity = [float(r["effective_risk"]) for r, w in zip(rows, why)
                if r["decision"] == "release" and w in ("capacity", "humanitarian")]
    return {**check.objective, "released": len(released), "highest_risk_released": max(released, default=None),
            "highest_released_for_capacity": max(capacity, default=None),
            "transfers": sum(r["transfer"] == "1" for r in rows)}


def change_capacity(doc: dict, beds: dict[str, int], atd: dict[str, int], transfers: dict[str, int] | None = None,
                    transfers_total: int | None = None) -> dict:
    """A copy of instance document ``doc`` with ``beds`` added (``FACILITY`` or
    ``FACILITY:UNIT`` -> beds, negative to remove; a facility's change is spread over its units
    in proportion to their beds, largest remainders first), ``atd`` slots added (program ->
    slots), ``transfers`` seats added to AORs' ``max_transfers_out_per_day`` (AOR code -> seats)
    and ``transfers_total`` to ``policy.max_transfers_per_day``.  Raises ``ValueError`` naming
    an unknown facility, unit, program or AOR, a limit that does not exist (none to change), or
    a count that would go below zero."""
    doc = copy.deepcopy(doc)
    for key, n in beds.items():
        for u, a in bed_changes(doc, key, n):
            if u["beds"] + a < 0:
                raise ValueError(f"--beds {key}: unit {u['id']} would have {u['beds'] + a} beds")
            u["beds"] += a
    progs = {a["id"]: a for a in doc["atd_programs"]}
    for pid, n in atd.items():
        if pid not in progs:
            raise ValueError(f"--atd {pid}: {_unknown('ATD program', pid, progs)}")
        if progs[pid].get("capacity") is None:
            raise ValueError(f"--atd {pid}: the program has no capacity limit to change")
        if progs[pid]["capacity"] + n < 0:
            raise ValueError(f"--atd {pid}: capacity would be {progs[pid]['capacity'] + n}")
        progs[pid]["capacity"] += n
    _change_transfers(doc, transfers or {}, transfers_total)
    return doc


def _change_transfers(doc: dict, transfers: dict[str, int], total: int | None) -> None:
    """Add seats to AORs' and the national transfer limits of ``doc`` in place (see
    :func:`change_capacity`)."""
    aors = {a["code"]: a for a in doc["aors"]}
    changes = [(f"--transfers {code}", aors.get(code), "max_transfers_out_per_day", n) for code, n in transfers.items()]
    if total is not None:
        changes.append(("--transfers-total", doc.setdefault("policy", {}), "max_transfers_per_day", total))
    for flag, record, key, n in changes:
        if record is None:
            raise ValueError(f"{flag}: {_unknown('AOR', flag.split()[-1], aors)}")
        if record.get(key) is None:
            raise ValueError(f"{flag}: {'the instance' if key == 'max_transfers_per_day' else 'the AOR'} has no "
                             f"transfer limit ({key}) to change")
        if record[key] + n < 0:
            raise ValueError(f"{flag}: {key} would be {record[key] + n}")
        record[key] += n


def _unknown(kind: str, name: str, names) -> str:
    """``no facility 'X'`` and the names nearest to it (or some of those there are)."""
    import difflib

    names = list(names)
    near = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"nearest: {', '.join(near)}" if near else f"{len(names)} known, such as {', '.join(names[:3])}"
    return f"no {kind} {name!r} ({hint})"


def bed_changes(doc: dict, key: str, n: int) -> list[tuple[dict, int]]:
    """The units of ``doc`` that ``--beds KEY=N`` changes and by how much (``FACILITY``: spread over
    its units in proportion to their beds, largest remainders first; ``FACILITY:UNIT``: that unit);
    units left unchanged are not listed.  Raises ``ValueError`` naming an unknown facility or unit."""
    fid, _, uid = key.partition(":")
    fac = next((f for f in doc["facilities"] if f["id"] == fid), None)
    if fac is None:
        raise ValueError(f"--beds {key}: {_unknown('facility', fid, [f['id'] for f in doc['facilities']])}")
    units = [u for u in fac["units"] if not uid or u["id"] == uid]
    if not units:
        raise ValueError(f"--beds {key}: facility {fid}: {_unknown('unit', uid, [u['id'] for u in fac['units']])}")
    weight = [u["beds"] for u in units] if any(u["beds"] for u in units) else [1] * len(units)
    share = [n * w / sum(weight) for w in weight]
    add = [math.floor(x) for x in share]
    for k in sorted(range(len(units)), key=lambda k: add[k] - share[k])[: n - sum(add)]:
        add[k] += 1
    return [(u, a) for u, a in zip(units, add) if a]


def whatif(doc: dict, beds: dict[str, int], atd: dict[str, int], params: SolveParams = SolveParams(),
           transfers: dict[str, int] | None = None, transfers_total: int | None = None) -> dict:
    """Solve the base instance and the changed one (:func:`change_capacity`); return both
    outcomes and ``moved``, the number of people whose decision, unit or program differs."""
    base_inst = parse_instance(doc)
    new_inst = parse_instance(change_capacity(doc, beds, atd, transfers, transfers_total), "what-if instance")
    base, new = solve(base_inst, params).rows, solve(new_inst, params).rows
    moved = sum((a["decision"], a["unit_id"], a["atd_program_id"]) != (b["decision"], b["unit_id"], b["atd_program_id"])
                for a, b in zip(base, new))
    return {"base": _outcome(base_inst, base), "whatif": _outcome(new_inst, new), "moved": moved}


def _scaled(n: int, percent: float) -> int:
    """``n`` times (1 + percent / 100), rounded half up."""
    return int(math.floor(n * (1 + percent / 100) + 0.5))


def scaled_beds(doc: dict, percent: float) -> dict:
    """``doc`` with every unit's beds times (1 + percent / 100), rounded half up."""
    doc = copy.deepcopy(doc)
    for f in doc["facilities"]:
        for u in f["units"]:
            u["beds"] = _scaled(u["beds"], percent)
    return doc


def scenario_problem(doc: dict, beds: float = 0, atd: float = 0, transfers: float = 0,
                     arrivals: float = 1) -> str | None:
    """Why :func:`scenario` cannot build these parameters for ``doc`` (one line), or None."""
    if not (-100 <= beds <= 1000 and -100 <= atd <= 1000 and -100 <= transfers <= 1000):
        return "percentages must be from -100 to 1000"
    if not 0 <= arrivals <= 20:
        return "arrival factors must be from 0 to 20"
    if atd and all(a.get("capacity") is None for a in doc["atd_programs"]):
        return "no ATD program has a capacity to scale"
    limits = [(doc.get("policy") or {}).get("max_transfers_per_day")]
    limits += [a.get("max_transfers_out_per_day") for a in doc["aors"]]
    if transfers and all(n is None for n in limits):
        return "the instance has no transport limit to scale (contract 1.1)"
    if arrivals != 1 and not any(p.get("arrival_day", 0) > 0 for p in doc["people"]):
        return "the instance has no forecast arrivals (arrival_day > 0) to thin or replicate"
    return None


def scenario(doc: dict, beds: float = 0, atd: float = 0, transfers: float = 0, arrivals: float = 1,
             seed: int = 0) -> dict:
    """A copy of instance document ``doc`` with every unit's beds (as :func:`scaled_beds`), every
    ATD program's capacity and every transport limit (national and per AOR) scaled by these
    percentages, rounded half up (limits that are absent stay absent), and its forecast
    arrivals (``arrival_day`` > 0) scaled by factor ``arrivals`` (:func:`_scaled_arrivals`,
    seeded).  Raises ``ValueError`` with :func:`scenario_problem`'s line."""
    why = scenario_problem(doc, beds, atd, transfers, arrivals)
    if why:
        raise ValueError(why)
    doc = scaled_beds(doc, beds)
    for a in doc["atd_programs"]:
        if a.get("capacity") is not None:
            a["capacity"] = _scaled(a["capacity"], atd)
    for record, key in [(doc.get("policy") or {}, "max_transfers_per_day")] + [
            (a, "max_transfers_out_per_day") for a in doc["aors"]]:
        if record.get(key) is not None:
            record[key] = _scaled(record[key], transfers)
    if arrivals != 1:
        doc["people"] = _scaled_arrivals(doc["people"], arrivals, seed)
    return doc


def _scaled_arrivals(people: list[dict], factor: float, seed: int) -> list[dict]:
    """``people`` with each forecast arrival (a family as one block) kept ``floor(factor)`` times
    and once more with probability ``factor - floor(factor)`` (seeded): thinned below 1,
    replicated above.  The k-th extra copy's id and family id end in ``-xK``; copies carry no
    pin (a pin is a decision about one person)."""
    rng = np.random.default_rng(seed)
    blocks: dict[str, list[dict]] = {}
    for p in people:
        if p.get("arrival_day", 0) > 0:
            blocks.setdefault(p.get("family_id") or "\0" + p["id"], []).append(p)
    out = [p for p in people if p.get("arrival_day", 0) <= 0]
    whole = math.floor(factor)
    for block in blocks.values():
        copies = whole + int(rng.random() < factor - whole)
        out += block if copies else []
        for k in range(1, copies):
            out += [{key: v for key, v in p.items() if key != "pin"} | {"id": f"{p['id']}-x{k}"}
                    | ({"family_id": f"{p['family_id']}-x{k}"} if p.get("family_id") else {}) for p in block]
    return out


def capacity_curve(doc: dict, percents, risks=(), params: SolveParams = SolveParams(), progress=None,
                   deadline: float | None = None) -> dict:
    """Optimal outcomes with every unit's beds scaled by each of ``percents``; and, for each
    risk R in ``risks``, the smallest whole percentage (0..100) of extra beds with which nobody of
    effective risk >= R is released for lack of capacity (releases at a legal limit do not
    depend on beds), found by bisection, which assumes that more beds never release a higher
    risk; None when +100 % is not enough.

    One-day instances only (the model is built once; each point changes its bed rows).
    ``progress()`` is called after every solve.  With ``deadline`` (``time.monotonic()``) the
    points and bisections not solved to proven optimality before it are left out and
    ``complete`` is false."""
    inst = parse_instance(doc)
    if inst.horizon_days != 1:
        raise ValueError("the capacity curve is for one-day instances (horizon_days = 1)")
    from .model import network_arrays, people_arrays

    P, N = people_arrays(inst), network_arrays(inst)
    models = build_models(inst, P, N)
    base_beds = N.unit_beds.copy()
    cache: dict[int, dict] = {}

    class _OutOfTime(Exception):
        pass

    def point(pct: float) -> dict:
        if pct in cache:
            return cache[pct]
        if deadline is not None and time.monotonic() >= deadline:
            raise _OutOfTime()
        changed = scaled_beds(doc, pct)
        beds = np.array([u["beds"] for f in changed["facilities"] for u in f["units"]], dtype=float)
        for m in models[:2]:  # the bed rows of the full and the compact model, in place
            m.row_upper[m.row_blocks["unit"]] = beds
        res = solve(inst, params, deadline=deadline, models=models)
        if deadline is not None and res.levels_proven < 4:
            # cut short by the command's limit: a constructive plan here would be for today's beds
            raise _OutOfTime()
        out = {"percent": pct, "beds": int(beds.sum()), **_outcome(parse_instance(changed, f"<{pct:+g} % beds>"),
                                                                    res.rows)}
        out["proven"] = res.levels_proven == 4
        cache[pct] = out
        if progress:
            progress()
        return out

    curve, needed = [], []
    try:
        for p in percents:
            curve.append(point(p))
        for r in risks:
            needed.append(_beds_needed(point, r, int(base_beds.sum())))
        complete = True
    except _OutOfTime:
        complete = False
    for m in models[:2]:
        m.row_upper[m.row_blocks["unit"]] = base_beds
    return {"points": curve, "beds_needed": needed, "complete": complete}


def _beds_needed(point, r: float, base: int) -> dict:
    """The smallest whole percentage of extra beds (0..100) with which nobody of effective risk
    >= ``r`` is released for lack of capacity, by bisection over ``point(pct)``."""
    ok = lambda pct: (point(pct)["highest_released_for_capacity"] or -1.0) < r  # noqa: E731
    if not ok(100):
        return {"risk": r, "percent": None, "extra_beds": None}
    if ok(0):
        return {"risk": r, "percent": 0, "extra_beds": 0}
    lo, hi = 0, 100  # ok(hi) holds, ok(lo) does not; find the smallest such whole percentage
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return {"risk": r, "percent": hi, "extra_beds": point(hi)["beds"] - base}


def _changes(items: list[str], flag: str) -> dict[str, int]:
    """``KEY=+N`` / ``KEY=-N`` items as a dict; raises ValueError naming the bad item."""
    out: dict[str, int] = {}
    for item in items:
        key, sep, num = item.rpartition("=")
        try:
            n = int(num)
        except ValueError:
            n = None
        if not sep or not key or n is None:
            raise ValueError(f"{flag} {item!r}: expected NAME=+N or NAME=-N")
        out[key] = out.get(key, 0) + n
    return out


def cmd_whatif(args) -> int:
    """``bedalloc whatif``: the plan with changed capacity against the base plan."""
    from rich.table import Table

    from .instance import load_json, read_instance
    from .report import console

    try:
        read_instance(args.instance)
        beds, atd = _changes(args.beds, "--beds"), _changes(args.atd, "--atd")
        transfers, total = _changes(args.transfers, "--transfers"), args.transfers_total
        if not beds and not atd and not transfers and total is None:
            raise ValueError("give at least one --beds, --atd, --transfers or --transfers-total change")
        doc = load_json(args.instance)
        change_capacity(doc, beds, atd, transfers, total)  # bad changes: exit 2 before solving
        res = whatif(doc, beds, atd, transfers=transfers, transfers_total=total)
    except (InputError, ValueError) as e:
        return refused(e, "bedalloc whatif")
    def say(k, v, one, many):
        return f"{k} {v:+d} {one if abs(v) == 1 else many}"

    def where(key, n):  # the units a facility's beds go to
        units = [u["id"] for u, _ in bed_changes(doc, key, n)]
        if ":" in key or not units:
            return ""
        return f" (unit {units[0]})" if len(units) == 1 else f" (over {len(units)} units)"
    t = Table(title="What if: " + ", ".join([say(k, v, "bed", "beds") + where(k, v) for k, v in beds.items()]
                                            + [say(k, v, "ATD slot", "ATD slots") for k, v in atd.items()]
                                            + [say(k, v, "transfer a day", "transfers a day")
                                               for k, v in transfers.items()]
                                            + ([say("national", total, "transfer a day", "transfers a day")]
                                               if total is not None else [])),
              title_justify="left")
    for col in ("", "base", "what-if", "change"):
        t.add_column(col, justify="left" if not col else "right")
    b, w = res["base"], res["whatif"]
    for key, label in (("unplaced", "unplaced people"), ("surge", "surge bed-days"), ("released", "released people"),
                       ("released_risk", "released risk"),
                       ("highest_released_for_capacity", "highest released for lack of beds"),
                       ("transfers", "transfers"), ("cost_usd", "cost (USD)")):
        x, y = b[key], w[key]
        fmt = GRID.get(key, ",.0f")
        t.add_row(label, "-" if x is None else f"{x:{fmt}}", "-" if y is None else f"{y:{fmt}}",
                  "-" if x is None or y is None else f"{y - x:+{fmt}}")
    t.add_row("people whose outcome changes", "", "", f"{res['moved']:,}")
    console(120).print(t)
    return EXIT_OK


def cmd_capacity_curve(args) -> int:
    """``bedalloc capacity-curve``: optimal outcomes over scaled bed counts."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from .generate import write_records
    from .instance import load_json, read_instance
    from .report import console

    bad = None
    if not (-100 < args.lo <= args.hi <= 1000 and math.isfinite(args.step)):
        bad = "--from must be above -100, at most --to, and --to at most 1000"
    elif (args.hi - args.lo) / args.step > 200:
        bad = "at most 201 points (raise --step)"
    elif any(not 0 <= r <= 100 for r in args.risk):
        bad = "--risk must be from 0 to 100"
    else:
        bad = args.out and bad_output_file(args.out, "--out", [args.instance])
    if bad:
        err([f"bedalloc capacity-curve: {bad}"])
        return EXIT_INPUT
    percents = [round(args.lo + k * args.step, 6) for k in range(int((args.hi - args.lo) / args.step + 1e-9) + 1)]
    try:
        read_instance(args.instance)
        con = Console(stderr=True)
        with Progress(console=con, disable=args.quiet or not con.is_terminal, transient=True) as bar:
            task = bar.add_task("solving", total=len(percents) + 7 * len(args.risk))
            res = capacity_curve(load_json(args.instance), percents, args.risk,
                                 progress=lambda: bar.advance(task))
    except (InputError, ValueError) as e:
        return refused(e, args.instance)
    if args.out:  # written before anything is printed: a closed stdout must not lose it
        write_records(args.out, res["points"])
    t = Table(title="Capacity curve (every unit's beds scaled; surge beds unchanged)", title_justify="left")
    cols = ("percent", "beds", "unplaced", "surge", "released", "released_risk", "highest_released_for_capacity",
            "cost_usd")
    for col in cols:
        t.add_column(col.replace("_", " ").replace("for capacity", "for lack of beds"), justify="right")
    for p in res["points"]:
        t.add_row(*("-" if p[c] is None else f"{p[c]:+g}" if c == "percent" else f"{p[c]:{GRID[c]}}"
                    if c in GRID else f"{p[c]:,}" for c in cols))
    out = console(140)
    out.print(t)
    for n in res["beds_needed"]:
        out.print(f"nobody with effective risk >= {n['risk']:g} released for lack of capacity: "
                  + ("not reached with +100 % beds" if n["percent"] is None
                     else f"+{n['percent']} % beds ({n['extra_beds']:,} more beds)"))
    return EXIT_OK
