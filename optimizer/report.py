"""The short terminal summary of a solved plan (rich)."""

from __future__ import annotations

from pathlib import Path


def console(width: int | None, **options):
    """A rich console on standard output, ``width`` columns wide when that is not a terminal
    (rich's default when None); ``options`` go to ``rich.console.Console``.

    A reader that goes away (``bedalloc solvers | head -1``) raises ``BrokenPipeError``, which
    :func:`optimizer.cli.main` turns into exit 141 like every other command; rich's own
    ``on_broken_pipe`` would exit with status 1, the code for "violations"."""
    import os
    import sys

    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit flush must not fail
            raise BrokenPipeError

    return _Console(width=None if Console().is_terminal else width, **options)


def _fmt(v, level):
    if v is None:
        return "-"
    if level == "cost_usd":
        return f"{v:,.2f}"
    if level == "released_risk":
        return f"{v:,.4f}"
    return f"{int(v):,}"


def transfer_line(table: list[dict]) -> str | None:
    """One line of transfers against the transport limits (summary.json ``transfers_by_aor``):
    the national count of the busiest day against its seats, and how many AORs reach their own
    limit on some day; None when the instance sets no transport limit."""
    if all(e["limit"] is None for e in table):
        return None
    national = [e for e in table if e["aor"] is None]
    peak = max(national, key=lambda e: (e["transfers"], -e["day"]))
    seats = f" of {peak['limit']:,} seats" if peak["limit"] is not None else " (no national limit)"
    full = {e["aor"] for e in table if e["aor"] is not None and e["limit"] is not None and e["transfers"] >= e["limit"]}
    day = f"day {peak['day']}" if len(national) == 1 else f"busiest day {peak['day']}"
    return f"transfers {day}: {peak['transfers']:,}{seats}; AORs at their limit: {len(full)}"


def print_summary(summary: dict, rows: list[dict[str, str]], out: Path) -> None:
    """Print termination, the four objective levels with bound and gap, counts, transfers against
    the transport limits, the fullest facilities, the release risk cutoff (the highest effective
    risk released) and, for a multi-day plan, the days on which capacity binds and the occupancy
    and releases per day."""
    from rich.markup import escape
    from rich.table import Table

    con = console(120)
    term = summary["termination"]
    style = "green" if term == "optimal" and summary["objective"]["unplaced"] == 0 else "yellow"
    con.print(f"[bold]bedalloc[/] {escape(summary['instance_name'])}: [{style}]{term}[/] "
              f"({summary['levels_proven_optimal']}/4 levels proven"
              f"{', ' + escape(summary['solver_version']) if summary['solver_version'] else ''}), "
              f"plan verified, written to [bold]{escape(str(out))}[/]")
    if summary["native_status"] and summary["native_status"][-1].startswith("constructive heuristic"):
        why = summary["native_status"][-2] if len(summary["native_status"]) > 1 else "no solver run"
        con.print(f"[yellow]the time limit left no solver plan ({escape(why)}): this is "
                  "the constructive plan (optimizer/heuristic.py), feasible and verified, not optimized[/]")

    t = Table(title="Objective (lexicographic)", title_justify="left")
    for col in ("level", "value", "bound", "gap"):
        t.add_column(col, justify="right" if col != "level" else "left")
    names = {"unplaced": "1 unplaced people", "surge": "2 surge bed-days", "released_risk": "3 released risk",
             "cost_usd": "4 cost (USD)"}
    for k, label in names.items():
        gap = summary["gap"][k]
        t.add_row(label, _fmt(summary["objective"][k], k), _fmt(summary["bound"][k], k),
                  "-" if gap is None else f"{gap:.2e}")
    con.print(t)

    c = summary["counts"]
    cutoff = summary["release_risk_cutoff"]
    con.print(f"people {c['people']:,}: detained {c['detained']:,}, released {c['released']:,}, "
              f"unplaced {c['unplaced']:,}, removed {c['removed']:,}; moved between facilities {c['transfers']:,}"
              + (f"; pinned {c['pinned']:,}" if c.get("pinned") else ""))
    line = transfer_line(summary.get("transfers_by_aor", []))
    if line:
        con.print(line)
    con.print("release risk cutoff (highest effective risk released): "
              + ("none released" if cutoff is None else f"{cutoff:.4f}"))

    facs = [f for f in summary["facilities"] if f.get("utilization") is not None]
    facs.sort(key=lambda f: (-f["utilization"], -f["occupied"], f["id"]))
    peak = "peak day, " if len(summary.get("days", [])) > 1 else ""
    ft = Table(title="Fullest facilities", title_justify="left", caption=f"occupied: {peak}with surge beds",
               caption_justify="left")
    for col in ("facility", "occupied", "beds", "utilization"):
        ft.add_column(col, justify="right" if col != "facility" else "left")
    for f in facs[:5]:
        ft.add_row(escape(f["id"]), f"{f['occupied']:,}", f"{f['beds']:,}", f"{f['utilization']:.1%}")
    con.print(ft)
    values = summary.get("bed_values")
    if values:
        vt = Table(title="Value of one more bed (top 20 units; re_solve exact, lp_dual an estimate)",
                   title_justify="left")
        for col in ("unit", "facility", "unplaced", "surge", "released risk", "cost (USD)", "method"):
            vt.add_column(col, justify="left" if col in ("unit", "facility", "method") else "right")
        for e in values["units"][:20]:
            vt.add_row(escape(e["id"]), escape(e["facility"]), *("-" if e[k] is None else f"{e[k]:+,.4g}" for k in (
                "unplaced_change", "surge_change", "released_risk_change")),
                "-" if e["cost_change"] is None else f"{e['cost_change']:+,.2f}", e["method"])
        con.print(vt)
    for key, what in (("bed_values", "exact values of a bed"), ("capacity_curve", "capacity curve")):
        if summary.get(key) and not summary[key]["complete"]:
            con.print(f"[yellow]{what}: cut short by the time limit (summary.json {key}.complete is false)[/]")
    days = summary.get("days", [])
    if len(days) > 1:
        binding = [d["day"] for d in days if d["units_at_capacity"]]
        con.print("capacity binds (some unit full) on days: " + (", ".join(map(str, binding)) or "none"))
        dt = Table(title="Per day", title_justify="left")
        for col in ("day", "occupied", "released", "units full"):
            dt.add_column(col, justify="right")
        for d in days:
            dt.add_row(str(d["day"]), f"{d['occupied']:,}", f"{d['released']:,}", f"{d['units_at_capacity']:,}")
        con.print(dt)
    ts = summary["timings_s"]
    con.print(f"time: read {ts['read']:.2f} s, build {ts['build']:.2f} s, solve {ts['solve']:.2f} s, "
              f"verify {ts['verify']:.2f} s, write {ts['write']:.2f} s, total {ts['total']:.2f} s; "
              f"model {summary['model_size']['variables']:,} columns x {summary['model_size']['constraints']:,} rows")
