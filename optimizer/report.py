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


class Status:
    """What a long command is doing, on standard error with rich's progress display (a spinner,
    the stage, a bar where the stage counts, the elapsed time), only when standard error is a
    terminal and not ``quiet``; removed when stopped.  Call it with the stage's text (and
    ``done``/``total`` for counted stages); a text beginning with "pricing" is shown after the
    current level's.  Usable as a context manager and as ``SolveParams.progress``."""

    def __init__(self, quiet: bool):
        self.bar, self.level = None, ""
        if quiet:  # nothing to show: rich is not even imported (start-up time)
            return
        from rich.console import Console

        con = Console(stderr=True)
        if not con.is_terminal:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=con, transient=True)
        self.task = self.bar.add_task("starting", total=None)
        self.bar.start()

    def __call__(self, text: str, done: int | None = None, total: int | None = None) -> None:
        if self.bar is None:
            return
        stage = done is None and not text.startswith("pricing")
        if text.startswith("level"):
            self.level = text
        elif text.startswith("pricing"):
            text = f"{self.level}: {text}"
        else:
            self.level = ""
        # each new stage drawn at once (a short one would fall between two refreshes); rounds and counts as they come
        self.bar.update(self.task, description=text, completed=done or 0, total=total,
                        refresh=stage)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


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


def print_summary(summary: dict, rows: list[dict[str, str]], out: Path, names: dict[str, str] | None = None,
                  report: str | None = None) -> None:
    """Print termination, the four objective levels with bound and gap, counts, transfers against
    the transport limits, the releases by reason and the release cutoffs per bed class, the
    fullest facilities, the value of a bed, for a multi-day plan the days on which capacity binds
    and the occupancy and releases per day, and where the HTML ``report`` was written.
    ``names``: facility id -> name, shown next to the ids."""
    con = console(120)
    names = names or {}
    _headline(con, summary, out)
    _objective(con, summary)
    _counts(con, summary)
    _releases(con, summary)
    _fullest(con, summary, names)
    if summary.get("bed_values"):
        _values(con, summary["bed_values"], names)
    for key, what in (("bed_values", "exact values of a bed"), ("capacity_curve", "capacity curve")):
        if summary.get(key) and not summary[key]["complete"]:
            con.print(f"[yellow]{what}: cut short by the time limit (summary.json {key}.complete is false)[/]")
    if len(summary.get("days", [])) > 1:
        _days(con, summary["days"])
    if report:
        from rich.markup import escape

        con.print(f"report written to [bold]{escape(str(report))}[/]")
    ts = summary["timings_s"]
    con.print(f"time: read {ts['read']:.2f} s, build {ts['build']:.2f} s, solve {ts['solve']:.2f} s, "
              f"verify {ts['verify']:.2f} s, write {ts['write']:.2f} s, total {ts['total']:.2f} s; "
              f"model {summary['model_size']['variables']:,} columns x {summary['model_size']['constraints']:,} rows")


def _headline(con, summary: dict, out: Path) -> None:
    """Termination, levels proven, solver and where the plan went; a warning when the plan is
    the constructive one (optimizer/heuristic.py)."""
    from rich.markup import escape

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


def _objective(con, summary: dict) -> None:
    """The four levels of the lexicographic objective with bound and gap."""
    from rich.table import Table

    t = Table(title="Objective (lexicographic)", title_justify="left")
    for col in ("level", "value", "bound", "gap"):
        t.add_column(col, justify="right" if col != "level" else "left")
    levels = {"unplaced": "1 unplaced people", "surge": "2 surge bed-days", "released_risk": "3 released risk",
             "cost_usd": "4 cost (USD)"}
    for k, label in levels.items():
        gap = summary["gap"][k]
        t.add_row(label, _fmt(summary["objective"][k], k), _fmt(summary["bound"][k], k),
                  "-" if gap is None else f"{gap:.2e}")
    con.print(t)


def _counts(con, summary: dict) -> None:
    """People by decision, moves and pins; transfers against the transport limits."""
    c = summary["counts"]
    con.print(f"people {c['people']:,}: detained {c['detained']:,}, released {c['released']:,}, "
              f"unplaced {c['unplaced']:,}, removed {c['removed']:,}; moved between facilities {c['transfers']:,}"
              + (f"; pinned {c['pinned']:,}" if c.get("pinned") else ""))
    line = transfer_line(summary.get("transfers_by_aor", []))
    if line:
        con.print(line)


def _fullest(con, summary: dict, names: dict[str, str]) -> None:
    """The five fullest facilities by utilization (peak day of a multi-day plan)."""
    from rich.markup import escape
    from rich.table import Table

    facs = [f for f in summary["facilities"] if f.get("utilization") is not None]
    facs.sort(key=lambda f: (-f["utilization"], -f["occupied"], f["id"]))
    peak = "peak day, " if len(summary.get("days", [])) > 1 else ""
    ft = Table(title="Fullest facilities", title_justify="left", caption=f"occupied: {peak}with surge beds",
               caption_justify="left")
    for col in ("facility", "name", "occupied", "beds", "utilization"):
        ft.add_column(col, justify="right" if col not in ("facility", "name") else "left")
    for f in facs[:5]:
        ft.add_row(escape(f["id"]), escape(names.get(f["id"], "")), f"{f['occupied']:,}", f"{f['beds']:,}",
                   f"{f['utilization']:.1%}")
    con.print(ft)


def _days(con, days: list[dict]) -> None:
    """A multi-day plan: the days on which capacity binds, and occupancy and releases per day."""
    from rich.table import Table

    binding = [d["day"] for d in days if d["units_at_capacity"]]
    con.print("capacity binds (some unit full) on days: " + (", ".join(map(str, binding)) or "none"))
    dt = Table(title="Per day", title_justify="left")
    for col in ("day", "occupied", "released", "units full"):
        dt.add_column(col, justify="right")
    for d in days:
        dt.add_row(str(d["day"]), f"{d['occupied']:,}", f"{d['released']:,}", f"{d['units_at_capacity']:,}")
    con.print(dt)


REASON_WORDS = {"capacity": "for lack of beds", "humanitarian": "humanitarian factor",
                "legal_limit": "legal custody limit",
                "no_seat": "no transport seat", "local_ties": "local ties", "pinned": "pinned",
                "cost": "risk 0: cheaper released", "atd_capacity": "no ATD slot", "no_compatible_bed": "no compatible bed",
                "short_stay_only": "short-stay sites only"}


def _releases(con, summary: dict) -> None:
    """The releases by reason (the legal-limit ones apart: not a choice) and the release cutoffs
    of the bed classes with releases for lack of beds (optimizer/reasons.py)."""
    from rich.table import Table

    by = summary.get("releases_by_reason", {})
    legal = by.get("legal_limit", 0)
    others = ", ".join(f"{REASON_WORDS.get(k, k)} {n:,}" for k, n in sorted(by.items(), key=lambda kv: -kv[1])
                       if k != "legal_limit")
    con.print(f"released at their legal custody limit: {legal:,}" + (f"; other releases: {others}" if others else ""))
    cuts = [c for c in summary.get("release_cutoffs", []) if c["released"]]
    if not cuts:
        con.print("release cutoffs: nobody released for lack of beds")
        return
    t = Table(title="Release cutoffs per bed class (releases for lack of beds)", title_justify="left")
    for col in ("bed class", "released", "highest released", "lowest kept"):
        t.add_column(col, justify="left" if col == "bed class" else "right")
    for c in sorted(cuts, key=lambda c: -c["highest_released"])[:8]:
        t.add_row(c["class"], f"{c['released']:,}", f"{c['highest_released']:.4f}",
                  "-" if c["lowest_kept"] is None else f"{c['lowest_kept']:.4f}")
    con.print(t)


def _values(con, values: dict, names: dict[str, str]) -> None:
    """The top 20 units by the lexicographic value of one more bed (optimizer/bedvalue.py)."""
    from rich.markup import escape
    from rich.table import Table

    vt = Table(title="Value of one more bed (top 20 units; re_solve exact, lp_dual an estimate)", title_justify="left")
    for col in ("unit", "facility", "unplaced", "surge", "released risk", "cost (USD)", "method"):
        vt.add_column(col, justify="left" if col in ("unit", "facility", "method") else "right")
    for e in values["units"][:20]:
        vt.add_row(escape(e["id"]), escape(f"{e['facility']} {names.get(e['facility'], '')}".strip()),
                   *("-" if e[k] is None else f"{e[k]:+,.4g}" for k in (
                       "unplaced_change", "surge_change", "released_risk_change")),
                   "-" if e["cost_change"] is None else f"{e['cost_change']:+,.2f}", e["method"])
    con.print(vt)
    cand = values.get("candidates", {})
    exact = sum(e["method"] == "re_solve" for e in values["units"])
    if cand.get("unplaced", 0) + cand.get("surge", 0) > exact:
        con.print(f"[yellow]{cand['unplaced']:,} units may place an unplaced person and {cand['surge']:,} more may "
                  f"save a surge bed; {exact:,} were re-solved: --bed-values {cand['unplaced'] + cand['surge']} "
                  "re-solves them all[/]")
