"""The ``bedalloc`` command line: the parser and the dispatch of each command to the function of its
module (``COMMANDS``; ``solve``: :mod:`optimizer.solvecmd`), and the process's exit codes (MODEL.md §5)."""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import time

from . import __version__
from .errors import EXIT_INPUT, EXIT_INTERRUPT, err

EXIT_PIPE = 141  # stdout closed by its reader: 128 + SIGPIPE, as a shell reports a process SIGPIPE ended

DESCRIPTION = """\
bedalloc plans the use of immigration-detention beds. For every person in an instance file it
decides: a bed in a compatible housing unit, or release to an Alternatives-to-Detention (ATD)
program, never breaking a legal rule (mandatory detention, custody time limits, short-stay sites,
families kept together, transport seats, local ties, decisions already taken), leaving the fewest
people without an outcome, then using the fewest emergency beds, then releasing the least
public-safety risk, then spending the least money. Every plan is checked by an independent
verifier before it is written.
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
                        "scip, flow (one day, no families, small instances), gurobi, gurobi-lex (with gurobipy), "
                        "pyomo:highs, pyomo:cbc, pyomo:glpk (one day); see 'bedalloc solvers'")
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
                                   "compare the four levels (unplaced, surge bed-days, released risk, cost), "
                                   "releases, the highest risk released, transfers and the people whose "
                                   "outcome changes.")
    w.add_argument("instance", help="instance file")
    w.add_argument("--beds", action="append", default=[], metavar="FACILITY[:UNIT]=+N",
                   help="add (or, with -N, remove) beds in a facility (spread over its units) or one unit; "
                        "repeatable")
    w.add_argument("--atd", action="append", default=[], metavar="PROGRAM=+N",
                   help="add (or, with -N, remove) slots of an ATD program with a capacity; repeatable")
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


# Every command but solve: the module of optimizer/ that does its work and the function called with the
# parsed arguments, imported only when the command runs (start-up time).
COMMANDS = {
    "check": ("check", "cmd_check"),
    "validate": ("check", "cmd_validate"),
    "export-model": ("modelfile", "cmd_export_model"),
    "solvers": ("backends", "cmd_solvers"),
    "explain": ("reasons", "cmd_explain"),
    "diagnose": ("diagnose", "cmd_diagnose"),
    "whatif": ("whatif", "cmd_whatif"),
    "capacity-curve": ("whatif", "cmd_capacity_curve"),
    "simulate": ("simulate", "cmd_simulate"),
    "sweep": ("sweep", "command"),
    "generate": ("generate", "run"),
    "convert": ("sheets", "cmd_sheets"),
    "template": ("sheets", "cmd_sheets"),
}


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
            from .solvecmd import cmd_solve

            with Status(args.quiet) as say:
                return cmd_solve(args, started, say)
        module, function = COMMANDS[args.command]
        return getattr(importlib.import_module(f"{__package__}.{module}"), function)(args)
    except KeyboardInterrupt:
        err(["bedalloc: interrupted; nothing written"])
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
