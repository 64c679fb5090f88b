"""The ``bedalloc`` command line (MODEL.md §5 exit codes)."""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from pathlib import Path

from . import __version__

EXIT_OK, EXIT_LIMIT, EXIT_INPUT, EXIT_UNPLACED, EXIT_ERROR, EXIT_INTERRUPT = 0, 1, 2, 3, 4, 130
EXIT_PIPE = 141  # stdout closed by its reader: 128 + SIGPIPE, as a shell reports a process SIGPIPE ended

DESCRIPTION = """\
bedalloc plans the use of immigration-detention beds. For every person in an instance file it
decides: a bed in a compatible housing unit, or release to an Alternatives-to-Detention (ATD)
program, never breaking a legal rule (mandatory detention, custody time limits, short-stay sites,
families kept together), releasing the least public-safety risk, then spending the least money. Every plan is checked by an
independent verifier before it is written.
"""

EPILOG = """\
exit codes (solve): 0 verified plan, proven optimal; 1 verified plan, a limit stopped the search;
2 invalid input or command line; 3 verified plan, but some people have no legal outcome
(see diagnosis.json); 4 solver error or a plan that failed verification; 130 interrupted.
examples:
  bedalloc solve instances/ice-fy2026.json --out out/ice-fy2026
  bedalloc solve instances/ice-fy2026.json --pins kept.csv   (kept.csv: rows of an earlier plan.csv)
  bedalloc check instances/ice-fy2026.json out/ice-fy2026
  bedalloc validate my-instance.json
"""


from .backends.base import MAX_TIME_LIMIT  # noqa: E402  (light: numpy and scipy only when solving)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit 2
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def _typed(convert, ok, requirement):
    """An argparse type: ``convert`` the text, then require ``ok(value)``."""

    def parse(text):
        try:
            v = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {'whole ' if convert is int else ''}number: {text!r}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"{requirement}: {text!r}")
        return v

    return parse


_positive_float = _typed(float, lambda v: 0 < v <= MAX_TIME_LIMIT,
                         f"must be a positive number of seconds, at most {MAX_TIME_LIMIT:.0f}")
_gap = _typed(float, lambda v: 0 <= v < 1, "must be in [0, 1)")
_threads = _typed(int, lambda v: 0 <= v <= 256, "must be a whole number from 0 to 256")
_seed = _typed(int, lambda v: 0 <= v < 2**31, "must be a whole number from 0 to 2147483647")


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``--version`` and one sub-parser per command, in the order of ``--help``."""
    p = _Parser(prog="bedalloc", description=DESCRIPTION, epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"bedalloc {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    _solve_parser(sub)
    _check_parser(sub)
    _validate_parser(sub)
    _export_model_parser(sub)
    _solvers_parser(sub)
    _explain_parser(sub)
    _diagnose_parser(sub)
    _whatif_parser(sub)
    _capacity_curve_parser(sub)
    _simulate_parser(sub)
    _sweep_parser(sub)
    _generate_parser(sub)
    _convert_parser(sub)
    _template_parser(sub)
    return p


def _solve_parser(sub) -> None:
    """``bedalloc solve``: the instance, output, time limit, solver and the optional outputs."""
    s = sub.add_parser("solve", help="solve an instance and write a verified plan",
                       description="Solve an instance to lexicographic optimality (unplaced, surge beds, "
                                   "released risk, cost) and write plan.csv and summary.json into --out.")
    s.add_argument("instance", help="instance: JSON file (MODEL.md format), .xlsx workbook or folder of CSV files")
    s.add_argument("--out", metavar="DIR", help="output folder (default: out/<instance name>)")
    s.add_argument("--time-limit", type=_positive_float, metavar="S",
                   help="wall-clock limit in seconds for the whole command (default: none)")
    s.add_argument("--mip-gap", type=_gap, default=1e-6, metavar="G",
                   help="relative optimality gap accepted on the cost level (default 1e-6)")
    s.add_argument("--threads", type=_threads, default=1, metavar="N",
                   help="solver threads (default 1: deterministic; 0 = solver's choice)")
    s.add_argument("--seed", type=_seed, default=0, metavar="K", help="solver random seed (default 0)")
    s.add_argument("--solver", default="highs", metavar="NAME",
                   help="solver: highs (default, bedalloc's exact column-generation engine), highs-mip, cpsat, "
                        "scip, flow (one day, no families, small instances), gurobi, gurobi-lex (with gurobipy); "
                        "see 'bedalloc solvers'")
    s.add_argument("--bed-values",
                   type=_typed(int, lambda v: 0 <= v <= 10000, "must be a whole number from 0 to 10000"),
                   default=0, metavar="K", help="one-day plans: the value of one more bed in every unit and "
                   "facility (LP estimate), re-solved exactly for the K most valuable units (default 0: off)")
    s.add_argument("--capacity-curve", action="store_true",
                   help="one-day plans: also solve with every unit's beds from -30%% to +30%% (13 points)")
    s.add_argument("--pins", metavar="FILE.csv",
                   help="keep decisions already taken: a CSV in plan.csv's columns (a filtered plan.csv "
                        "works; at least person_id,decision); its rows replace the instance's pins of those "
                        "people and their families; written to the output folder as pins.csv")
    s.add_argument("--report", metavar="FILE", help="also write a self-contained HTML report with charts")
    s.add_argument("--xlsx", action="store_true",
                   help="also write plan.xlsx to the output folder: summary, plan with names, transfers, releases, "
                        "facilities, programs (national one-day instance: several seconds more)")
    s.add_argument("--redact", action="store_true",
                   help="no person ids anywhere but plan.csv and pins.csv (diagnosis.json lists none)")
    s.add_argument("--quiet", action="store_true", help="print nothing but errors")
    s.add_argument("--log", action="store_true", help="show the solver log")
    s.add_argument("--write-model", metavar="DIR",
                   help="also write each level's class model as MPS (earlier levels held by rows) and "
                        "model.json, what every column means, into DIR (docs/api.md)")


def _check_parser(sub) -> None:
    """``bedalloc check``: a plan against its instance."""
    c = sub.add_parser("check", help="verify a plan against its instance",
                       description="Recompute every rule and the four objective levels of PLAN_DIR/plan.csv.")
    c.add_argument("instance", help="the instance file the plan was made for")
    c.add_argument("plan_dir", metavar="PLAN_DIR", help="folder holding plan.csv (or the plan.csv file)")


def _validate_parser(sub) -> None:
    """``bedalloc validate``: an instance file."""
    v = sub.add_parser("validate", help="validate an instance file",
                       description="Check an instance file against MODEL.md; print each problem on one line.")
    v.add_argument("instance", help="instance: JSON file (docs/MODEL.md format), .xlsx workbook or folder of CSV files")


def _export_model_parser(sub) -> None:
    """``bedalloc export-model``: one level of the person-level formulation as MPS."""
    x = sub.add_parser("export-model", help="write the person-level formulation of one level as MPS",
                       description="Write level K of the readable person-level formulation (one binary per "
                                   "person and unit, program, release or unplaced; earlier levels held at their "
                                   "optima, found by solving first) as MPS, to check bedalloc's class model "
                                   "with another solver.  One-day instances.")
    x.add_argument("instance", help="instance file (JSON, MODEL.md format)")
    x.add_argument("--level", type=int, choices=range(1, 5), required=True, metavar="K",
                   help="the level: 1 unplaced, 2 surge, 3 released risk, 4 cost")
    x.add_argument("--person-level", required=True, metavar="OUT.mps", help="the MPS file to write")


def _solvers_parser(sub) -> None:
    """``bedalloc solvers``: the solver backends."""
    sub.add_parser("solvers", help="list the solver backends, whether each is available, and its version",
                   description="List the solver backends usable with 'bedalloc solve --solver NAME'.")


def _explain_parser(sub) -> None:
    """``bedalloc explain``: one person's outcome."""
    e = sub.add_parser("explain", help="say in plain words why a person got their outcome",
                       description="Explain one person's outcome in a plan folder written by 'bedalloc solve', "
                                   "and what would have changed it.")
    e.add_argument("plan_dir", metavar="PLAN_DIR", help="folder written by 'bedalloc solve'")
    e.add_argument("person_id", metavar="PERSON_ID", help="the person's id (plan.csv person_id)")
    e.add_argument("--instance", help="the instance file (default: the one named in PLAN_DIR/summary.json)")


def _diagnose_parser(sub) -> None:
    """``bedalloc diagnose``: a certified shortfall of beds and slots."""
    d = sub.add_parser("diagnose", help="certify a shortfall of beds and slots without solving the plan",
                       description="Find the people who can have no legal outcome and the beds and ATD slots they "
                                   "compete for (a max-flow / Hall cut), without solving the plan. Exit 0 when "
                                   "there is no shortfall, 3 when there is one.")
    d.add_argument("instance", help="one-day instance file")
    d.add_argument("--json", action="store_true", help="print the certificate as JSON")


def _whatif_parser(sub) -> None:
    """``bedalloc whatif``: the changes of capacity or transport limits to compare."""
    w = sub.add_parser("whatif", help="compare the plan with more or fewer beds, ATD slots or transport seats",
                       description="Solve the instance as it is and with changed capacity or transport limits; "
                                   "compare released risk, the highest risk released, transfers, cost and the "
                                   "people whose outcome changes.")
    w.add_argument("instance", help="instance file")
    w.add_argument("--beds", action="append", default=[], metavar="FACILITY[:UNIT]=+N",
                   help="add (or, with -N, remove) beds in a facility (spread over its units) or one unit; "
                        "repeatable")
    w.add_argument("--atd", action="append", default=[], metavar="PROGRAM=+N", help="add ATD slots; repeatable")
    w.add_argument("--transfers", action="append", default=[], metavar="AOR=+N",
                   help="add (or, with -N, remove) seats to an AOR's max_transfers_out_per_day; repeatable")
    w.add_argument("--transfers-total", type=int, metavar="+N",
                   help="add (or remove) seats to the national policy.max_transfers_per_day")


def _capacity_curve_parser(sub) -> None:
    """``bedalloc capacity-curve``: the points of the curve and the risks to protect."""
    cc = sub.add_parser("capacity-curve", help="optimal outcomes from -30%% to +30%% of all beds",
                        description="Solve with every unit's beds scaled from --from to --to percent (step "
                                    "--step; 13 points by default), reusing the built model, and find the beds "
                                    "needed so that nobody at or above each --risk is released.")
    cc.add_argument("instance", help="one-day instance file")
    cc.add_argument("--from", dest="lo", type=float, default=-30.0, help="first point, percent (default -30)")
    cc.add_argument("--to", dest="hi", type=float, default=30.0, help="last point, percent (default 30)")
    cc.add_argument("--step", type=_typed(float, lambda v: v > 0, "must be positive"), default=5.0,
                    help="percent between points (default 5)")
    cc.add_argument("--risk", type=float, action="append", default=[], metavar="R",
                    help="find the beds needed so that nobody with effective risk >= R is released; repeatable")
    cc.add_argument("--out", metavar="FILE", help="also write the curve as CSV")
    cc.add_argument("--quiet", action="store_true", help="no progress bar")


def _simulate_parser(sub) -> None:
    """``bedalloc simulate``: the days, seed and policies of the rolling-horizon simulation."""
    m = sub.add_parser("simulate", help="replay a rolling horizon and compare planning policies",
                       description="Simulate DAYS days: each day realize arrivals and removals at random, "
                                   "re-plan, apply the plan's first day; compare the horizon plan, a one-day "
                                   "(myopic) plan and a first-come-first-served rule.")
    m.add_argument("instance", help="instance file: the starting state and the forecast (its arrivals)")
    m.add_argument("--days", type=_typed(int, lambda v: 1 <= v <= 366, "must be a whole number from 1 to 366"),
                   default=60, help="days to simulate (default 60)")
    m.add_argument("--seed", type=_seed, default=0, metavar="K", help="random seed of arrivals and removals")
    m.add_argument("--policies", default="horizon,myopic,rule",
                   help="comma-separated subset of horizon, myopic, rule (default: all three)")
    m.add_argument("--solver", default="highs", metavar="NAME", help="solver of the optimizing policies")
    m.add_argument("--out", metavar="DIR", help="folder for simulation.csv and days.csv "
                                                "(default: out/<instance file name without .json>-simulation)")
    m.add_argument("--quiet", action="store_true", help="no progress bar")


def _sweep_parser(sub) -> None:
    """``bedalloc sweep``: the grid, the solvers or simulations, and the Dask cluster."""
    sw = sub.add_parser("sweep", help="solve or simulate a grid of scenarios on Dask (this machine or a cluster)",
                        description="Solve (or simulate) every combination of the grid options, one Dask task a "
                                    "cell, on a local cluster (one worker process per core) or the cluster behind "
                                    "--scheduler; write DIR/results.csv, results.parquet, report.html and "
                                    "DIR/cells/ (run again to finish an interrupted sweep). See docs/sweeps.md.")
    sw._negative_number_matcher = re.compile(r"^-\d")  # '--beds -10,0,10' is a value, not an option
    sw.add_argument("instance", help="instance file")
    sw.add_argument("--out", required=True, metavar="DIR", help="output folder (its cells/ make the sweep resumable)")
    for flag, what in (("--beds", "every unit's beds, percent change"), ("--atd", "every ATD program's capacity, "
                       "percent change"), ("--transfers", "every transport limit, percent change")):
        sw.add_argument(flag, metavar="PCTS", help=f"{what}, comma-separated (default 0)")
    sw.add_argument("--arrivals", metavar="FACTORS", help="forecast arrivals (multi-day instances) thinned or "
                    "replicated by these factors, seeded (default 1)")
    sw.add_argument("--solver", metavar="NAMES", help="comma-separated solvers (default highs)")
    sw.add_argument("--simulate", type=int, metavar="DAYS", help="simulate DAYS days per cell instead of one plan")
    sw.add_argument("--replications", type=int, metavar="R", help="simulations: seeds 0..R-1 (default 1)")
    sw.add_argument("--policies", metavar="NAMES", help="simulations: policies (default horizon,myopic,rule)")
    sw.add_argument("--spec", metavar="FILE.toml", help="the grid as a TOML file (options given override it)")
    sw.add_argument("--scheduler", metavar="ADDRESS", help="run on the Dask cluster behind tcp://HOST:PORT")
    sw.add_argument("--workers", type=_typed(int, lambda v: 1 <= v <= 1024, "must be from 1 to 1024"), metavar="N",
                    help="worker processes of the local cluster (default: one per core)")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")


def _generate_parser(sub) -> None:
    """``bedalloc generate``: its options live in optimizer/generate.py."""
    g = sub.add_parser("generate", help="generate an instance from public ICE statistics",
                       description="Generate a synthetic instance from the public, aggregated ICE detention "
                                   "statistics bundled with bedalloc (seeded, reproducible).")
    from .generate import configure_parser

    configure_parser(g)


def _convert_parser(sub) -> None:
    """``bedalloc convert``: IN and OUT."""
    cv = sub.add_parser("convert", help="convert an instance between JSON, .xlsx and a folder of CSV files",
                        description="Read and validate IN (JSON, .xlsx workbook or folder of CSV files) and write "
                                    "it to OUT: a .json or .xlsx file, or a folder (CSV files); docs/spreadsheets.md.")
    cv.add_argument("input", metavar="IN", help="instance: JSON file, .xlsx workbook or folder of CSV files")
    cv.add_argument("output", metavar="OUT", help="OUT.json, OUT.xlsx or a folder for CSV files")


def _template_parser(sub) -> None:
    """``bedalloc template``: the workbook to write."""
    tp = sub.add_parser("template", help="write an empty instance workbook to fill in",
                        description="Write an empty .xlsx instance workbook: the sheets with their headers, "
                                    "a notes sheet and lists for the enumerated fields (docs/spreadsheets.md).")
    tp.add_argument("output", metavar="OUT.xlsx", help="workbook to write")


def _err(lines):
    for line in lines:
        print(line, file=sys.stderr)


def cmd_solvers() -> int:
    from rich.table import Table

    from .backends import describe
    from .report import console

    t = Table(title="solver backends (bedalloc solve --solver NAME)", title_justify="left")
    for col in ("name", "available", "version", "honours", "models"):
        t.add_column(col)
    for b in describe():
        t.add_row(b["name"], "yes" if b["available"] else "no", b["version"],
                  ", ".join("--" + k.replace("_", "-") for k in b["options"]) or "-",
                  ("multi-day" if "multi_day" in b["features"] else "one day")
                  + (", families" if "families" in b["features"] else ", no families"))
    console(None, soft_wrap=True).print(t)
    return EXIT_OK


def cmd_export_model(args) -> int:
    """``bedalloc export-model``: level K of the person-level formulation as MPS."""
    from .errors import InputError
    from .instance import read_instance
    from .model import RISK_SCALE
    from .modelfile import write_person_level
    from .engine import solve

    try:
        inst = read_instance(args.instance)
    except InputError as e:
        _err(e.lines)
        return EXIT_INPUT
    why = _bad_output_file(args.person_level, "--person-level", [args.instance], (".mps",))
    if why is None and inst.horizon_days > 1:
        why = f"{args.instance}: export-model: one-day instances only (horizon_days = {inst.horizon_days})"
    if why:
        _err([why])
        return EXIT_INPUT
    held = []
    if args.level > 1:  # the earlier levels' optima, from bedalloc's own engine
        o = solve(inst).objective
        held = [o["unplaced"], o["surge"], round(o["released_risk"] * RISK_SCALE)][: args.level - 1]
    try:
        write_person_level(args.person_level, inst, args.level, held)
    except OSError as e:
        _err([f"{args.person_level}: cannot write the model: {e.strerror or e}"])
        return EXIT_INPUT
    print(f"wrote {args.person_level}: level {args.level} of the person-level formulation"
          + (f", levels 1-{args.level - 1} held at {held}" if held else ""))
    return EXIT_OK


def cmd_explain(args) -> int:
    """``bedalloc explain``: one person's outcome in plain words (exit 0; 2 for bad input)."""
    import json

    from .errors import InputError
    from .instance import read_instance
    from .reasons import explain
    from .verifier import read_plan

    plan_dir = Path(args.plan_dir)
    summary: dict = {}
    if args.instance is None:
        try:
            summary = json.loads((plan_dir / "summary.json").read_text(encoding="utf-8"))
            instance = summary["instance"]
            if not isinstance(instance, str):
                raise TypeError("'instance' is not a file name")
        except (OSError, ValueError, KeyError, TypeError) as e:
            _err([f"{plan_dir}: summary.json: cannot read the instance file name ({e}); give --instance"])
            return EXIT_INPUT
    else:
        instance = args.instance
    if not Path(instance).exists():  # a file, or a folder of CSV files
        _err([f"{instance}: the plan's instance file is not found from here (summary.json names it relative to "
              "where solve ran); give --instance"])
        return EXIT_INPUT
    from .pinfile import plan_pins
    from .verifier import verify

    digest: list[str] = []
    try:
        inst = plan_pins(read_instance(instance, digest), plan_dir)
        rows = read_plan(plan_dir / "plan.csv")
    except InputError as e:
        _err(e.lines)
        return EXIT_INPUT
    if summary.get("instance_sha256") not in (None, digest[0]):
        _err([f"{plan_dir}: the plan was made for another version of {instance} (sha256 differs); give --instance"])
        return EXIT_INPUT
    check = verify(inst, rows)
    if not check.ok:
        _err([f"{plan_dir}/plan.csv: the plan fails verification ({check.violations[0]}); see bedalloc check"])
        return EXIT_INPUT
    text = explain(inst, rows, args.person_id)
    if text is None:
        _err([f"{plan_dir}/plan.csv: no person with id {args.person_id!r}"])
        return EXIT_INPUT
    print(text)
    return EXIT_OK


def cmd_diagnose(args) -> int:
    """``bedalloc diagnose``: the shortfall certificate (0 none, 3 a shortfall, 2 bad input)."""
    import json

    from .diagnose import diagnose
    from .errors import InputError
    from .instance import read_instance

    try:
        cert = diagnose(read_instance(args.instance))
    except InputError as e:
        _err(e.lines)
        return EXIT_INPUT
    except ValueError as e:
        _err([f"{args.instance}: {e}"])
        return EXIT_INPUT
    if args.json:
        print(json.dumps(cert, indent=2))
    elif not cert["unplaced_at_least"]:
        print(f"{args.instance}: no shortfall: every one of the {cert['people']:,} people can have a legal outcome")
    else:
        bound = "exactly" if cert["exact"] else "at least"
        print(f"{args.instance}: {bound} {cert['unplaced_at_least']:,} people can have no legal outcome:")
        for piece in cert["short"]:
            print(f"  {piece['text']}")
    return EXIT_UNPLACED if cert["unplaced_at_least"] else EXIT_OK


def _bad_output_file(path: str, flag: str, keep: list[str | Path], suffixes: tuple[str, ...] = (),
                     new: bool = False) -> str | None:
    """Why ``path`` may not be written by ``flag`` (one line), or None: it must be a file name
    in an existing, writable folder, ending in one of ``suffixes`` (when given: an existing file
    of another kind is never overwritten), absent when ``new``, and neither one of ``keep``
    (inputs) nor inside one of them (plan and model folders)."""
    from .outdir import unwritable

    p = Path(path)
    if p.is_dir() or not (p.parent if str(p.parent) else Path(".")).is_dir():
        return f"{path}: {flag}: must be a file name in an existing folder"
    if suffixes and p.suffix.lower() not in suffixes:
        return f"{path}: {flag}: must name a {' or '.join(suffixes)} file"
    if new and p.exists():
        return f"{path}: {flag}: a file of that name exists; remove it first or choose another name"
    target = p.resolve()
    for k in keep:
        k = Path(k).resolve()
        if target == k or k in target.parents:
            return f"{path}: {flag}: would overwrite {k}; choose another file"
    why = unwritable(p)
    return f"{path}: {flag}: {why}" if why else None


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

    from .errors import InputError
    from .instance import load_json, read_instance
    from .report import console
    from .whatif import change_capacity, whatif

    try:
        read_instance(args.instance)
        beds, atd = _changes(args.beds, "--beds"), _changes(args.atd, "--atd")
        transfers, total = _changes(args.transfers, "--transfers"), args.transfers_total
        if not beds and not atd and not transfers and total is None:
            raise ValueError("give at least one --beds, --atd, --transfers or --transfers-total change")
        doc = load_json(args.instance)
        change_capacity(doc, beds, atd, transfers, total)  # bad changes: exit 2 before solving
        res = whatif(doc, beds, atd, transfers=transfers, transfers_total=total)
    except InputError as e:
        _err(e.lines)
        return EXIT_INPUT
    except ValueError as e:
        _err([f"bedalloc whatif: {e}"])
        return EXIT_INPUT
    t = Table(title="What if: " + ", ".join([f"{k} {v:+d} beds" for k, v in beds.items()]
                                            + [f"{k} {v:+d} ATD slots" for k, v in atd.items()]
                                            + [f"{k} {v:+d} transfers a day" for k, v in transfers.items()]
                                            + ([f"national {total:+d} transfers a day"] if total is not None else [])),
              title_justify="left")
    for col in ("", "base", "what-if", "change"):
        t.add_column(col, justify="left" if not col else "right")
    b, w = res["base"], res["whatif"]
    for key, label in (("unplaced", "unplaced people"), ("surge", "surge bed-days"), ("released", "released people"),
                       ("released_risk", "released risk"),
                       ("highest_released_for_capacity", "highest released for lack of beds"),
                       ("transfers", "transfers"), ("cost_usd", "cost (USD)")):
        x, y = b[key], w[key]
        fmt = ",.2f" if key == "cost_usd" else ",.4f" if "risk" in key else ",.0f"  # the plan files' grid
        t.add_row(label, "-" if x is None else f"{x:{fmt}}", "-" if y is None else f"{y:{fmt}}",
                  "-" if x is None or y is None else f"{y - x:+{fmt}}")
    t.add_row("people whose outcome changes", "", "", f"{res['moved']:,}")
    console(120).print(t)
    return EXIT_OK


def cmd_capacity_curve(args) -> int:
    """``bedalloc capacity-curve``: optimal outcomes over scaled bed counts."""
    import csv
    import io

    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from .errors import InputError
    from .generate import write_atomic
    from .instance import load_json, read_instance
    from .report import console
    from .whatif import capacity_curve

    bad = None
    if not (-100 < args.lo <= args.hi <= 1000 and math.isfinite(args.step)):
        bad = "--from must be above -100, at most --to, and --to at most 1000"
    elif (args.hi - args.lo) / args.step > 200:
        bad = "at most 201 points (raise --step)"
    elif any(not 0 <= r <= 100 for r in args.risk):
        bad = "--risk must be from 0 to 100"
    else:
        bad = args.out and _bad_output_file(args.out, "--out", [args.instance])
    if bad:
        _err([f"bedalloc capacity-curve: {bad}"])
        return EXIT_INPUT
    percents = [round(args.lo + k * args.step, 6) for k in range(int((args.hi - args.lo) / args.step + 1e-9) + 1)]
    try:
        read_instance(args.instance)
        con = Console(stderr=True)
        with Progress(console=con, disable=args.quiet or not con.is_terminal, transient=True) as bar:
            task = bar.add_task("solving", total=len(percents) + 7 * len(args.risk))
            res = capacity_curve(load_json(args.instance), percents, args.risk,
                                 progress=lambda: bar.advance(task))
    except InputError as e:
        _err(e.lines)
        return EXIT_INPUT
    except ValueError as e:
        _err([f"{args.instance}: {e}"])
        return EXIT_INPUT
    if args.out:  # written before anything is printed: a closed stdout must not lose it
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(res["points"][0]), lineterminator="\n")
        w.writeheader()
        w.writerows(res["points"])
        write_atomic(args.out, buf.getvalue())
    t = Table(title="Capacity curve (every unit's beds scaled; surge beds unchanged)", title_justify="left")
    cols = ("percent", "beds", "unplaced", "surge", "released", "released_risk", "highest_released_for_capacity",
            "cost_usd")
    for col in cols:
        t.add_column(col.replace("_", " ").replace("for capacity", "for lack of beds"), justify="right")
    for p in res["points"]:
        t.add_row(*("-" if p[c] is None else f"{p[c]:+g}" if c == "percent" else f"{p[c]:,.2f}"
                    if isinstance(p[c], float) else f"{p[c]:,}" for c in cols))
    out = console(140)
    out.print(t)
    for n in res["beds_needed"]:
        out.print(f"nobody with effective risk >= {n['risk']:g} released for lack of capacity: "
                  + ("not reached with +100 % beds" if n["percent"] is None
                     else f"+{n['percent']} % beds ({n['extra_beds']:,} more beds)"))
    return EXIT_OK


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
        cells = {c: f"{r[c]:,.2f}" if isinstance(r[c], float) else f"{r[c]:,}" if isinstance(r[c], int) else str(r[c])
                 for c in cols}
        if r["transfer_limit"] is not None:  # the busiest day against the national seats
            cells["max_transfers_per_day"] += f" of {r['transfer_limit']:,}"
        t.add_row(*cells.values())
    console(220).print(t)


def cmd_simulate(args) -> int:
    """``bedalloc simulate``: run the policies, print the comparison, write two CSV files."""
    import csv
    import io

    from rich.console import Console
    from rich.progress import Progress

    from .backends import BackendError, check
    from .errors import InputError, SolverError
    from .generate import write_atomic
    from .instance import load_json, read_instance
    from .simulate import POLICIES, simulate
    from .engine import SolveParams

    policies = list(dict.fromkeys(x.strip() for x in args.policies.split(",") if x.strip()))
    wrong = [x for x in policies if x not in POLICIES]
    if wrong or not policies:
        _err([f"bedalloc simulate: --policies: unknown {', '.join(wrong) or '(none)'}; known: {', '.join(POLICIES)}"])
        return EXIT_INPUT
    try:
        check(args.solver, {})
        read_instance(args.instance)  # one clear line per problem
    except BackendError as e:
        _err([f"bedalloc simulate: --solver {args.solver}: {e}"])
        return EXIT_INPUT
    except InputError as e:
        _err(e.lines)
        return EXIT_INPUT
    out = Path(args.out) if args.out else Path("out") / f"{Path(args.instance).stem}-simulation"
    why = (f"{out}: --out: not a folder" if out.exists() and not out.is_dir() else
           _bad_output_file(str(out / "simulation.csv"), "--out", [args.instance]) if out.exists() else None)
    if why is None and not out.exists():
        try:
            out.mkdir(parents=True)
            out.rmdir()
        except OSError as e:
            why = f"{out}: --out: cannot create the folder: {e.strerror or e}"
    if why:
        _err([why])
        return EXIT_INPUT
    doc = load_json(args.instance)
    con = Console(stderr=True)
    with Progress(console=con, disable=args.quiet or not con.is_terminal, transient=True) as bar:
        tasks = {p: bar.add_task(f"{p:8s}", total=args.days) for p in policies}
        try:
            results = simulate(doc, args.days, args.seed, policies, SolveParams(solver=args.solver),
                               progress=lambda policy, day: bar.advance(tasks[policy]))
        except (BackendError, InputError) as e:
            _err([f"{args.instance}: {e}" if isinstance(e, BackendError) else e.lines[0]])
            return EXIT_INPUT
        except SolverError as e:  # a plan failed verification or a day broke the contract
            _err([f"{args.instance}: {e}"])
            return EXIT_ERROR
    rows = [r.row() for r in results]

    def text(records):
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(records[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(records)
        return buf.getvalue()

    out.mkdir(parents=True, exist_ok=True)  # written before anything is printed: a closed stdout must not lose it
    write_atomic(out / "simulation.csv", text(rows))
    write_atomic(out / "days.csv", text([d for r in results for d in r.per_day]))
    _print_simulation(args, rows)
    print(f"written to {out}/simulation.csv and days.csv")
    return EXIT_OK


def cmd_sheets(args) -> int:
    """``bedalloc convert`` and ``bedalloc template`` (0; 2 for bad input, nothing written)."""
    from .errors import InputError
    from .sheets import convert, write_template

    try:
        if args.command == "template":
            if Path(args.output).suffix.lower() != ".xlsx":
                raise InputError([f"{args.output}: the template is a workbook: name it OUT.xlsx"])
            why = _bad_output_file(args.output, "OUT.xlsx", [], new=True)
            if why:
                raise InputError([why])
            write_template(args.output)
            print(f"template written to {args.output}")
            return EXIT_OK
        inst = convert(args.input, args.output)
    except InputError as e:
        _err(e.lines)
        return EXIT_INPUT
    except OSError as e:
        _err([f"{args.output}: cannot write: {e.strerror or e}"])
        return EXIT_INPUT
    print(f"{args.input} -> {args.output}: {len(inst.people)} people, {len(inst.facilities)} facilities, "
          f"{len(inst.atd_programs)} ATD programs")
    return EXIT_OK


def cmd_validate(args) -> int:
    from .errors import InputError
    from .instance import read_instance

    try:
        inst = read_instance(args.instance)
    except InputError as e:
        _err(e.lines)
        return EXIT_INPUT
    print(f"{args.instance}: valid: {len(inst.people)} people, {len(inst.facilities)} facilities, "
          f"{sum(len(f.units) for f in inst.facilities)} units, {len(inst.atd_programs)} ATD programs, "
          f"horizon {inst.horizon_days} day(s)")
    return EXIT_OK


def cmd_check(args) -> int:
    from .errors import InputError
    from .instance import read_instance
    from .pinfile import plan_pins
    from .verifier import read_plan, verify

    try:
        inst = plan_pins(read_instance(args.instance), args.plan_dir)
        rows = read_plan(args.plan_dir)
    except InputError as e:
        _err(e.lines)
        return EXIT_INPUT
    res = verify(inst, rows)
    for line in res.violations[:CHECK_LINES]:
        print(line)
    if len(res.violations) > CHECK_LINES:
        print(f"... and {len(res.violations) - CHECK_LINES} more violations")
    _warn_other_instance(args.instance, args.plan_dir)
    o = res.objective
    print(f"{'OK' if res.ok else 'VIOLATIONS: ' + str(len(res.violations))}: unplaced {o['unplaced']}, "
          f"surge {o['surge']}, released risk {o['released_risk']:.4f}, cost {o['cost_usd']:.2f} USD")
    return EXIT_OK if res.ok else EXIT_LIMIT


CHECK_LINES = 50


def _warn_other_instance(instance: str, plan_dir: str) -> None:
    """Say so when PLAN_DIR/summary.json was written for another instance file."""
    import hashlib
    import json

    summary = Path(plan_dir) / "summary.json"
    try:
        sha = json.loads(summary.read_text(encoding="utf-8")).get("instance_sha256")
        mine = hashlib.sha256(Path(instance).read_bytes()).hexdigest()
    except Exception:  # no readable summary next to the plan: nothing to compare
        return
    if isinstance(sha, str) and sha != mine:
        print(f"note: {summary} says the plan was made for another instance file (sha256 {sha[:12]}...)")


def cmd_solve(args, started: float, say=None) -> int:
    """``bedalloc solve``; ``say``: the progress display (:class:`optimizer.report.Status`)."""
    from .errors import InputError

    from . import interrupts
    from .backends import BackendError, check
    from .engine import SolveParams

    say = say or (lambda *a, **k: None)
    params = SolveParams(time_limit=args.time_limit, mip_gap=args.mip_gap, threads=args.threads,
                         seed=args.seed, log=args.log, solver=args.solver, progress=_checking(say))
    try:
        check(args.solver, params.given())
    except BackendError as e:
        _err([f"bedalloc: --solver {args.solver}: {e}"])
        return EXIT_INPUT
    out, why = _solve_outputs(args)  # every output checked before any work: exit 2 writes nothing
    if why:
        _err([why])
        return EXIT_INPUT
    digest: list[str] = []
    t0, cpu0 = time.monotonic(), time.process_time()
    say("reading the instance")
    try:
        inst, pins = _read_for_solve(args, digest)
    except InputError as e:
        _err(e.lines)
        return EXIT_INPUT
    interrupts.check()  # the safe points before a verified plan: a noted SIGINT or SIGTERM is exit 130
    t_read = time.monotonic() - t0
    params, deadline = _solve_deadline(args, params, inst, started, t_read, time.process_time() - cpu0)
    res = _run_solver(args, inst, params, deadline)
    if isinstance(res, int):
        return res
    interrupts.check()
    t1 = time.monotonic()
    say("verifying the plan")
    check = _verified(inst, res)
    if check is None:
        return EXIT_ERROR
    interrupts.check()  # the last one: from here signals are only noted, the verified plan is written
    interrupts.hold()
    res.timings.setdefault("verify", time.monotonic() - t1)
    return _write_solution(args, inst, out, res, check, (params, deadline, pins, digest[0], t_read, started), say)


def _checking(say):
    """``say`` (the progress display) that is also a safe point of `solve`: the engine calls it at
    each stage, level and pricing round, the extra solves at each step (optimizer/interrupts.py)."""
    from . import interrupts

    def progress(*args, **kwargs) -> None:
        interrupts.check()
        say(*args, **kwargs)
    return progress


def _read_for_solve(args, digest: list) -> tuple:
    """The instance of `solve` with its ``--pins`` applied, and the pins (None without);
    raises InputError for a bad file or extra that cannot be made for it."""
    from .errors import InputError
    from .instance import read_instance

    inst = read_instance(args.instance, digest)
    why = _extras_problem(args, inst)
    if why:
        raise InputError([why])
    if args.pins is None:
        return inst, None
    from .pinfile import load_pins

    return load_pins(args.pins, inst)


def _solve_deadline(args, params, inst, started: float, t_read: float, cpu_read: float) -> tuple:
    """``(params, deadline)`` of the solver: the command's limit less the reserve for what
    follows the solver (and plan.xlsx), both grown by the machine's measured slowdown."""
    if not args.time_limit:
        return params, None
    from dataclasses import replace

    from .deadline import reserve_s, slowdown

    params = replace(params, slowdown=slowdown(t_read, cpu_read))
    deadline = started + args.time_limit - reserve_s(len(inst.people), inst.horizon_days) * params.slowdown
    if args.xlsx:
        from .planbook import XLSX_S_PER_ROW

        deadline -= XLSX_S_PER_ROW * len(inst.people) * params.slowdown
    return params, deadline


def _run_solver(args, inst, params, deadline):
    """The solver's :class:`optimizer.engine.Result`, or the exit code after saying why it gave
    none (2: the solver cannot take the instance; 4: it failed)."""
    from .backends import BackendError
    from .engine import solve
    from .errors import SolverError

    try:
        return solve(inst, params, deadline=deadline)
    except BackendError as e:  # the chosen solver cannot take this instance: exit 2, nothing written
        _err([f"{args.instance}: --solver {args.solver}: {e}"])
        return EXIT_INPUT
    except SolverError as e:  # a solver that fails on valid input names its status: exit 4
        _err([f"bedalloc: solver error: {e}; nothing was written"])
        return EXIT_ERROR
    except Exception as e:  # a solver or internal failure: exit 4, nothing written
        _err([f"bedalloc: solver error: {type(e).__name__}: {e}"])
        return EXIT_ERROR


def _write_solution(args, inst, out: Path, res, check, context: tuple, say) -> int:
    """Reasons, summary, extra solves, the plan folder, the report and the closing lines of a
    verified plan; ``context``: (params, deadline, pins, instance sha256, read s, start).  From
    the verified plan on, a SIGINT or SIGTERM (noted: optimizer/interrupts.py) stops only the
    extra solves; the plan is written whole, then the exit is 1 (MODEL.md §5)."""
    from .interrupts import ARRIVED
    from .output import write_plan_dir

    params, deadline, pins, sha, t_read, started = context
    unplaced = check.objective["unplaced"]
    _reached("verified")
    why, summary = _reasons_and_summary(args, inst, sha, params, res, check, pins)
    _extras(args, inst, params, res, summary, deadline)
    summary["timings_s"].update(read=round(t_read, 4), verify=round(res.timings["verify"], 4))
    docs = _documents(args, inst, res, why, summary, pins, deadline)
    say("writing the plan")
    try:
        write_plan_dir(out, res.rows, docs, started)
    except OSError as e:  # the folder was found writable before any work: a full disk, an I/O error
        _err([f"{out}: cannot write the plan folder: {e.strerror or e}; nothing was written"])
        return EXIT_ERROR
    _reached("written")
    code = _after_writing(args, inst, out, summary, res, unplaced, say)
    if ARRIVED:
        _err([f"bedalloc: interrupted; the verified plan was written to {out}"])
    if ARRIVED and code == EXIT_OK:  # precedence: 2, 4, 3, 1, 0
        code = EXIT_UNPLACED if res.levels_proven >= 1 and unplaced > 0 else EXIT_LIMIT
    return code


def _solve_outputs(args) -> tuple[Path, str | None]:
    """The plan folder of `solve`, and why it, ``--report`` or ``--write-model`` cannot be written (one line) or
    None: checked before any work, so that exit 2 means nothing written (MODEL.md §5)."""
    from .outdir import unsafe_out_dir

    if args.out is not None and not args.out.strip():
        return Path(), "bedalloc: --out: empty folder name"
    out = Path(args.out) if args.out else Path("out") / Path(args.instance).stem
    why = unsafe_out_dir(out)
    if why:
        return out, f"{out}: --out: {why}"
    models = [] if args.write_model is None else [args.write_model]
    if args.report is not None:
        why = _bad_output_file(args.report, "--report", [args.instance, out, *models] + ([args.pins] if args.pins else []),
                               (".html", ".htm"))
        if why:
            return out, why
    if models:
        return out, _bad_model_dir(args.write_model, out)
    return out, None


def _bad_model_dir(folder: str, out: Path) -> str | None:
    """Why ``--write-model`` may not be ``folder`` (one line), or None: absent or an earlier model
    folder, in a writable place, apart from the plan folder ``out`` (neither inside the other)."""
    from .modelfile import unsafe_model_dir
    from .outdir import unwritable

    here, plan = Path(folder).resolve(), out.resolve()
    why = unsafe_model_dir(folder) or (None if here.parent.is_dir() else f"the folder {here.parent} does not exist") \
        or unwritable(folder)
    if why is None and (here == plan or plan in here.parents or here in plan.parents):
        why = f"must be apart from the plan folder {out} (neither inside the other)"
    return f"{folder}: --write-model: {why}" if why else None


def _extras_problem(args, inst) -> str | None:
    """Why --bed-values or --capacity-curve cannot be made for this instance and solver (one
    line), or None."""
    if args.bed_values or args.capacity_curve:
        flag = "--bed-values" if args.bed_values else "--capacity-curve"
        if inst.horizon_days > 1:
            return f"bedalloc: {flag}: one-day plans only (this instance has horizon_days = {inst.horizon_days})"
        if args.solver not in ("highs", "highs-mip", "cpsat", "scip"):
            return (f"bedalloc: {flag}: needs a solver of the class model (highs, highs-mip, cpsat, scip), "
                    f"not {args.solver}")
    if args.pins is not None and args.capacity_curve:  # its points re-read the instance file, without the pins
        return ("bedalloc: --capacity-curve: not with --pins (the curve solves the instance file as it is); "
                "run 'bedalloc capacity-curve' on an instance with the pins")
    return None


def _verified(inst, res):
    """The verifier's report of the solver's plan, or None (after saying why: exit 4) when it
    breaks a rule or a proven level disagrees with the model's value."""
    from .verifier import verify

    check = res.verified or verify(inst, res.rows)  # a constructive plan was verified already
    # Proven levels must match the verifier exactly.  A level the limit stopped before proving may
    # hold risk segments filled out of order; the decoder releases the lowest risks anyway, so the
    # verifier's value may only be lower there (the plan's true value, which the summary reports).
    mismatch = []
    for k, name in enumerate(("unplaced", "surge", "released_risk", "cost_usd")):
        tol = 1e-6 if k < 3 else 1e-6 * max(1.0, abs(check.objective[name])) + 0.01
        diff = check.objective[name] - res.objective[name]
        if diff > tol or (k < res.levels_proven and diff < -tol):
            mismatch.append(name)
    # A plan whose level 1 a limit stopped before proving may leave people unplaced although an
    # outcome was free (MODEL.md §5: "at worst one that leaves people unplaced"); said, not fatal.
    needless = [v for v in check.violations if v.startswith("unplaced:")] if res.levels_proven < 1 else []
    if len(check.violations) > len(needless) or mismatch:
        _err(["bedalloc: internal error: the plan failed verification; nothing was written"] + check.violations[:20]
             + [f"objective level {k}: model {res.objective[k]} != verifier {check.objective[k]}" for k in mismatch])
        return None
    if needless:
        _err([f"bedalloc: the limit stopped the search before level 1 was proven; {len(needless)} unplaced people or "
              "families had an outcome free (bedalloc check lists them)"])
    return check


def _extras(args, inst, params, res, summary, deadline) -> None:
    """The optional extra solves of a one-day plan (--bed-values, --capacity-curve) into
    ``summary``; a noted interrupt stops them at their next safe point (``params.progress``), noted
    in summary.json's ``extras_interrupted``: the verified plan is still written (MODEL.md §5)."""
    from . import interrupts

    try:
        interrupts.check()  # no extra solves after an interrupt
        if args.bed_values and inst.horizon_days == 1:
            from .bedvalue import bed_values

            summary["bed_values"] = bed_values(
                inst, args.bed_values, params, deadline=deadline, base=res,
                progress=lambda d, t: params.progress("value of a bed: units re-solved", d, t))
        if args.capacity_curve and inst.horizon_days == 1:
            from .instance import load_json
            from .whatif import capacity_curve

            points = iter(range(1, 14))
            summary["capacity_curve"] = capacity_curve(
                load_json(args.instance), [-30 + 5 * k for k in range(13)], params=params, deadline=deadline,
                progress=lambda: params.progress("capacity curve: points solved", next(points), 13))
    except KeyboardInterrupt:  # raised at a safe point: the signal is in interrupts.ARRIVED
        summary["extras_interrupted"] = [name for name, asked in (("bed_values", args.bed_values),
                                                                  ("capacity_curve", args.capacity_curve))
                                         if asked and name not in summary]


def _documents(args, inst, res, why, summary, pins, deadline) -> dict:
    """The plan folder's files besides plan.csv: diagnosis.json (when people are unplaced),
    summary.json, plan.xlsx (with --xlsx), pins.csv (with --pins)."""
    from .output import diagnosis

    unplaced = summary["objective"]["unplaced"]
    docs = {}
    if unplaced > 0:
        docs["diagnosis.json"] = diagnosis(inst, res.rows, res.levels_proven >= 1, why)
        if inst.horizon_days == 1:
            from .diagnose import diagnose

            # under a time limit, no LP of the transport relaxation (national: several seconds)
            docs["diagnosis.json"]["certificate"] = diagnose(inst, unplaced if res.levels_proven >= 1 else None,
                                                             seat_lp=deadline is None)
        if args.redact:
            for group in docs["diagnosis.json"]["groups"]:
                group.pop("person_ids", None)
    docs["summary.json"] = summary
    if args.xlsx:  # an interrupt meanwhile is held: the plan is written whole, then exit 1
        from .planbook import plan_workbook

        docs["plan.xlsx"] = plan_workbook(inst, res.rows, summary)
    if pins is not None:
        from .pinfile import PINS_FILE

        docs[PINS_FILE] = pins.text()
    return docs


def _after_writing(args, inst, out, summary, res, unplaced, say) -> int:
    """The report, the terminal summary and the closing lines of `solve` once its plan folder is
    in place; returns the exit code (an interrupt here leaves the plan standing: the caller
    exits 1)."""
    if args.report is not None:
        from .generate import write_atomic
        from .htmlreport import render

        say("writing the report")

        try:
            write_atomic(args.report, render(summary, res.rows, inst, redact=args.redact))
        except OSError as e:  # it was found writable before any work: a full disk, an I/O error
            _err([f"{args.report}: cannot write the report: {e.strerror or e} (the plan was written to {out})"])
            return EXIT_ERROR
    if args.write_model is not None:
        from .modelfile import write_levels

        try:
            write_levels(args.write_model, inst, res, args.instance)
        except OSError as e:  # it was found writable before any work: a full disk, an I/O error
            _err([f"{args.write_model}: cannot write the model files: {e.strerror or e} (the plan was written "
                  f"to {out})"])
            return EXIT_ERROR
    if hasattr(say, "stop"):
        say.stop()
    if not args.quiet:
        from .report import print_summary

        print_summary(summary, res.rows, out, {f.id: f.name for f in inst.facilities}, args.report)
        sys.stdout.flush()
    if unplaced > 0:
        where = out / "diagnosis.json"
        if res.levels_proven >= 1:
            _err([f"bedalloc: {unplaced} {'person has' if unplaced == 1 else 'people have'} no legal outcome; "
                  f"see {where} for why"])
        else:
            _err([f"bedalloc: the limit stopped the search before everyone was placed: {unplaced} people "
                  f"left unplaced for lack of time, not necessarily of beds; see {where}"])
    if res.levels_proven >= 1 and unplaced > 0:
        return EXIT_UNPLACED
    return EXIT_OK if res.termination == "optimal" else EXIT_LIMIT


def _reasons_and_summary(args, inst, sha, params, res, check, pins) -> tuple[list[str], dict]:
    """Each row's reason (plan.csv's documented extra column ``reason``, set on ``res.rows``)
    and summary.json without its read, verify and write timings."""
    from .reasons import reasons

    why, cutoffs = reasons(inst, res.rows)
    for row, reason in zip(res.rows, why):
        row["reason"] = reason
    summary = _summary(args, inst, sha, params, res, check)
    summary["params"].update(pins=args.pins, pins_sha256=pins.sha256() if pins else None)
    summary["release_cutoffs"] = cutoffs
    for key, decision in (("releases_by_reason", "release"), ("unplaced_by_reason", "unplaced")):
        picked = [w for w, row in zip(why, res.rows) if row["decision"] == decision and w]
        summary[key] = {k: picked.count(k) for k in sorted(set(picked))}
    return why, summary


def _reached(stage: str) -> None:
    """A point of `solve` where tests send a signal (tests/test_reliability.py): ``verified``
    (the plan passed the verifier) and ``written`` (the plan folder is in place)."""


def _summary(args, inst, sha, params, res, check) -> dict:
    from .engine import bound_and_gap

    bound, gap = bound_and_gap(check.objective, res.bound)  # against the written plan's values
    return {
        "format": "bedalloc-summary",
        "version": 1,
        "instance": str(args.instance),
        "instance_name": inst.name,
        "instance_sha256": sha,
        "solver": params.solver,
        "solver_version": res.solver_version,
        "params": {"time_limit": params.time_limit, "mip_gap": params.mip_gap, "threads": params.threads,
                   "seed": params.seed},
        "termination": res.termination,
        "has_solution": True,
        "levels_proven_optimal": res.levels_proven,
        "objective": check.objective,
        "bound": bound,
        "gap": gap,
        "counts": check.counts,
        "transfers_by_aor": check.transfers_by_aor,
        "facilities": [
            {**f, "utilization": round(f["occupied"] / f["beds"], 4) if f["beds"] else None} for f in check.per_facility
        ],
        "atd": check.per_program,
        "days": check.per_day,
        "release_risk_cutoff": max(
            (float(r["effective_risk"]) for r in res.rows if r["decision"] == "release"), default=None),
        "timings_s": {"read": 0.0, "build": round(res.timings["build"], 4), "solve": round(res.timings["solve"], 4),
                      "verify": 0.0, "write": 0.0, "total": 0.0},
        "model_size": res.model_size,
        "model_classes": res.model_stats,
        "native_status": res.native_status,
    }


class _Unbreakable:
    """A text stream whose writes and flushes never fail: when its reader has gone (EPIPE), its
    file descriptor was closed or it is None (started with the stream closed), what is written
    goes to the null device, then and at exit.  Everything else is the wrapped stream's."""

    def __init__(self, stream):
        self._stream = stream if stream is not None else open(os.devnull, "w", encoding="utf-8")

    def write(self, text: str) -> int:
        self._call("write", text)
        return len(text)

    def flush(self) -> None:
        self._call("flush")

    def _call(self, name: str, *args) -> None:
        try:
            getattr(self._stream, name)(*args)
        except (OSError, ValueError):  # BrokenPipeError, a closed descriptor, a closed file
            try:  # the descriptor now leads nowhere, so that the exit's own flush cannot fail
                os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
            except (OSError, ValueError, AttributeError):  # no descriptor of its own (a test's capture)
                self._stream = open(os.devnull, "w", encoding="utf-8")

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bedalloc`` console script; returns the exit code."""
    started = time.monotonic()
    from . import interrupts

    restore_signals = interrupts.noting()  # noted, never lost (optimizer/interrupts.py)
    # A short-lived process building many small objects: cyclic garbage collection only costs time.
    # Restored on the way out, so that an in-process caller (tests, notebooks) keeps its collector.
    import gc

    gc_was_enabled = gc.isenabled()
    gc.disable()
    streams = None
    try:
        args = build_parser().parse_args(argv)
        if args.command == "solve":  # keeps its own exit code whatever happens to its streams
            from .report import Status

            streams = sys.stdout, sys.stderr
            sys.stdout, sys.stderr = _Unbreakable(sys.stdout), _Unbreakable(sys.stderr)
            with Status(args.quiet) as say:
                return cmd_solve(args, started, say)
        if args.command == "check":
            return cmd_check(args)
        if args.command == "validate":
            return cmd_validate(args)
        if args.command == "solvers":
            return cmd_solvers()
        if args.command == "export-model":
            return cmd_export_model(args)
        if args.command == "simulate":
            return cmd_simulate(args)
        if args.command == "explain":
            return cmd_explain(args)
        if args.command == "whatif":
            return cmd_whatif(args)
        if args.command == "diagnose":
            return cmd_diagnose(args)
        if args.command == "capacity-curve":
            return cmd_capacity_curve(args)
        if args.command in ("convert", "template"):
            return cmd_sheets(args)
        if args.command == "sweep":
            from .sweep import command

            return command(args)
        from .generate import run

        return run(args)
    except KeyboardInterrupt:
        _err(["bedalloc: interrupted; nothing written"])
        return EXIT_INTERRUPT
    except BrokenPipeError:  # stdout closed early (`bedalloc diagnose --json | head`): no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit flush must not fail too
        return EXIT_PIPE
    finally:
        restore_signals(ignore=argv is None)  # the console script: its exit code stands, the process only ends
        if streams is not None:
            sys.stdout.flush()  # what is still buffered, before the plain streams come back
            sys.stderr.flush()
            sys.stdout, sys.stderr = streams
        if gc_was_enabled:
            gc.enable()
