"""Scenario sweeps and simulation studies on Dask (``bedalloc sweep``).

A sweep is the cartesian product of its axes: every unit's beds, every ATD program's capacity
and every transport limit scaled by percentages, the forecast arrivals scaled by factors, and
solvers (:func:`optimizer.whatif.scenario` builds each scenario); with ``simulate`` days, times
the policies and replications of :func:`optimizer.simulate.simulate` (replication k is seed k).
Each cell is one independent Dask task that builds its scenario from the instance (scattered to
the workers once), solves or simulates it, verifies the plans and returns one row.

Runs on a ``dask.distributed.LocalCluster`` (one single-threaded worker process per core, or
``workers``) or on the existing cluster behind a scheduler address.  A cell whose worker dies is
rescheduled by Dask; on the local cluster a cell whose worker dies twice is recorded as failed
(``distributed.scheduler.allowed-failures`` = 1).  :func:`map_on_cluster` runs any function
over any items the same way (for benchmarks).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

AXES = (("beds", "beds_pct"), ("atd", "atd_pct"), ("transfers", "transfers_pct"), ("arrivals", "arrivals"),
        ("solver", "solver"))
DEFAULTS = {"beds": [0.0], "atd": [0.0], "transfers": [0.0], "arrivals": [1.0], "solver": ["highs"],
            "simulate": None, "replications": 1, "policies": ["horizon", "myopic", "rule"]}
SOLVE_COLUMNS = ("termination", "levels_proven", "unplaced", "surge", "released_risk", "cost_usd", "released",
                 "highest_risk_released", "highest_released_for_capacity", "transfers")
SIMULATE_COLUMNS = ("released", "released_risk", "max_risk_released", "deadline_violations", "unplaced_days",
                    "surge_bed_days", "cost_usd", "transfers", "max_transfers_per_day", "days_at_limit",
                    "aor_days_at_limit")


class Failed:
    """The result of an item whose task failed on the cluster (its worker died too often, or its
    function raised): ``error`` is one line."""

    def __init__(self, error: str):
        self.error = error

    def __repr__(self):
        return f"Failed({self.error!r})"


def default_workers() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def cluster(scheduler: str | None = None, workers: int | None = None):
    """A ``distributed.Client`` of the cluster behind ``scheduler`` (``tcp://HOST:PORT``), or of
    a new LocalCluster of ``workers`` single-threaded worker processes (default: one per core) on
    which a task whose worker dies twice fails; closed on exit."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except Exception as e:  # refused, timed out, or not a Dask scheduler (garbled answers)
            raise Unreachable(f"--scheduler {scheduler}: no Dask scheduler answers there "
                              f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'no detail'})") from None
        with client:
            yield client
        return
    # worker-saturation 1.0: a worker holds only the cell it runs, so a cell that kills its worker
    # never charges a death to another cell queued there (which would then fail in its place)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.scheduler.worker-saturation": 1.0}):
        with LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                          dashboard_address=":0", silence_logs=logging.CRITICAL) as local, Client(local) as client:
            yield client


class Unreachable(Exception):
    """The scheduler given by ``--scheduler`` cannot be reached (one line)."""


_LOST = object()  # a task whose result or input vanished with its worker


def _outcome(future):
    """The result of a done future, a :class:`Failed` (the function raised, or the task's worker
    died too often: ``KilledWorker``), or ``_LOST``."""
    from concurrent.futures import CancelledError

    if future.status == "error":
        e = future.exception()
        return Failed(f"{type(e).__name__}: {e}".splitlines()[0])
    try:
        return future.result() if future.status == "finished" else _LOST
    except CancelledError:  # finished, but its worker died before the result was fetched
        return _LOST


def as_completed_results(client, fn, items: list, shared=None, resubmit: int = 2):
    """Submit ``fn(item)`` (or ``fn(shared, item)``, ``shared`` scattered to every worker once)
    for every item; yield ``(index, result)`` as they finish, a failed task's result being a
    :class:`Failed`.  A task whose result or scattered input was lost with its worker (the only
    one holding it) is submitted again, up to ``resubmit`` times, ``shared`` scattered again if
    needed.  Unfinished tasks are cancelled when the caller stops early."""
    from collections import Counter

    from distributed import as_completed

    data, index, lost = [], {}, Counter()

    def submit(i):
        if shared is not None and (not data or data[-1].status != "finished"):
            # a key of its own (hash=False): a key named by the content would be the one an earlier,
            # interrupted sweep on the same cluster scattered, and its release could lose it here
            data.append(client.scatter(shared, broadcast=True, hash=False))
        f = client.submit(fn, *data[-1:], items[i], pure=False)
        index[f.key] = (i, f)
        return f

    done = as_completed([submit(i) for i in range(len(items))])
    try:
        for f in done:
            i, _ = index.pop(f.key)
            res = _outcome(f)
            if res is _LOST and lost[i] < resubmit:
                lost[i] += 1
                done.add(submit(i))
                continue
            yield i, Failed(f"the task's result was lost {resubmit + 1} times") if res is _LOST else res
    finally:
        client.cancel([f for _, f in index.values()])


def map_on_cluster(fn, items, scheduler: str | None = None, workers: int | None = None, shared=None) -> list:
    """``[fn(item) for item in items]`` (or ``fn(shared, item)``) computed on Dask: on the cluster
    behind ``scheduler``, else on a LocalCluster of ``workers`` processes.  ``fn`` must be
    importable by the workers (a module-level function).  A failed item's result is a
    :class:`Failed`; results are in the items' order."""
    items = list(items)
    out: list = [None] * len(items)
    with cluster(scheduler, workers) as client:
        for i, res in as_completed_results(client, fn, items, shared):
            out[i] = res
    return out


# ---- the grid


def cells(grid: dict) -> list[dict]:
    """The cells of ``grid`` (see :data:`DEFAULTS`): one dict of parameters per combination, the
    first axis slowest."""
    axes = [(col, grid[key]) for key, col in AXES]
    if grid.get("simulate"):
        axes += [("policy", grid["policies"]), ("replication", list(range(grid["replications"])))]
    names = [n for n, _ in axes]
    return [dict(zip(names, combo)) for combo in itertools.product(*(values for _, values in axes))]


def cell_key(digest: str, cell: dict, days: int | None) -> str:
    """The file name (without ``.json``) of a cell's result in ``DIR/cells``: a hash of the
    instance's SHA-256, the cell's parameters and the simulated days."""
    text = json.dumps({"instance": digest, "days": days, **cell}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "local"


def run_cell(instance: bytes, cell: dict, days: int | None = None) -> dict:
    """Build the cell's scenario from the instance's JSON text, solve (or simulate ``days`` days
    under the cell's policy, seed = replication) and verify it; return ``{"row": ..., "plan":
    ...}``.  Never raises: a failure is a row with ``status`` "failed" and its ``error``."""
    t0 = time.monotonic()
    row, plan = {**cell, "status": "ok"}, {}
    try:
        from .whatif import scenario

        doc = scenario(json.loads(instance), cell["beds_pct"], cell["atd_pct"], cell["transfers_pct"],
                       cell["arrivals"], seed=cell.get("replication", 0))
        row.update(_simulated(doc, cell, days) if days else _solved(doc, cell, plan))
    except Exception as e:  # noqa: BLE001  (a failed cell is a row, never the end of the sweep)
        row.update(status="failed", error=f"{type(e).__name__}: {e}".splitlines()[0])
    row.update(wall_s=round(time.monotonic() - t0, 3), worker=_worker_name())
    return {"row": row, "plan": plan}


def _solved(doc: dict, cell: dict, plan: dict) -> dict:
    """The verified outcome of solving the scenario ``doc``; ``plan`` gets the people detained
    per facility and released per program."""
    from collections import Counter

    from .instance import parse_instance
    from .engine import SolveParams, solve
    from .whatif import _outcome

    inst = parse_instance(doc, "<sweep cell>")
    res = solve(inst, SolveParams(solver=cell["solver"]))
    out = _outcome(inst, res.rows)  # raises when the plan fails verification
    units = {u["id"]: f["id"] for f in doc["facilities"] for u in f["units"]}
    plan["detained_by_facility"] = dict(Counter(units[r["unit_id"]] for r in res.rows if r["unit_id"]))
    plan["released_by_program"] = dict(Counter(r["atd_program_id"] for r in res.rows if r["decision"] == "release"))
    return {"termination": res.termination, "levels_proven": res.levels_proven, **out,
            "solve_s": round(res.timings.get("solve", 0.0), 3)}


def _simulated(doc: dict, cell: dict, days: int) -> dict:
    """The totals of simulating ``days`` days of the scenario under the cell's policy."""
    from .simulate import simulate
    from .engine import SolveParams

    (res,) = simulate(doc, days, cell["replication"], [cell["policy"]], SolveParams(solver=cell["solver"]))
    return {k: v for k, v in res.row().items() if k in SIMULATE_COLUMNS or k == "solve_s"}


# ---- the output folder


def columns(grid: dict) -> list[str]:
    """results.csv's columns: the cell's parameters, its status, its outcome, its times."""
    params = [col for _, col in AXES] + (["policy", "replication"] if grid.get("simulate") else [])
    outcome = SIMULATE_COLUMNS if grid.get("simulate") else SOLVE_COLUMNS
    return [*params, "status", *outcome, "solve_s", "wall_s", "worker", "error"]


def finished(out: Path, keys: list[str]) -> dict[str, dict]:
    """The finished cells among ``keys`` found in ``out/cells`` (key -> ``{"row", "plan"}``);
    unreadable files are ignored (their cells run again)."""
    done = {}
    for key in keys:
        try:
            cell = json.loads((out / "cells" / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(cell, dict) and isinstance(cell.get("row"), dict):  # else damaged: run again
            done[key] = cell
    return done


def write_results(out: Path, grid: dict, rows: list[dict]) -> None:
    """``out/results.csv`` and ``out/results.parquet`` (one row per cell), atomically."""
    import csv
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from .generate import write_atomic

    cols = columns(grid)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    write_atomic(out / "results.csv", buf.getvalue())
    tmp = out / ".results.parquet.tmp"
    pq.write_table(pa.Table.from_pylist([{c: r.get(c) for c in cols} for r in rows]), tmp)
    os.replace(tmp, out / "results.parquet")


def _progress(total: int, skipped: int, quiet: bool):
    """A rich progress bar on stderr (only when it is a terminal) of cells done, running and
    failed, with the time left."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    con = Console(stderr=True)
    bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[running]} running, {task.fields[failed]} failed"),
                   TimeRemainingColumn(), console=con, disable=quiet or not con.is_terminal, transient=True)
    task = bar.add_task("sweep", total=total, completed=skipped, running=0, failed=0)
    return bar, task


def run_sweep(instance: bytes, grid: dict, out: Path, scheduler: str | None = None, workers: int | None = None,
              quiet: bool = True, on_cell=None) -> list[dict]:
    """Run the cells of ``grid`` on ``instance`` (JSON text) that ``out/cells`` does not hold
    yet, writing each finished cell there atomically as it arrives (then ``on_cell(row)``);
    return every cell's row in grid order.  A failed cell's row has its error and is not kept in
    ``out/cells`` (the next run tries it again)."""
    from functools import partial

    from .generate import write_atomic

    digest = hashlib.sha256(instance).hexdigest()
    grid_cells = cells(grid)
    keys = [cell_key(digest, c, grid.get("simulate")) for c in grid_cells]
    rows = {k: v["row"] for k, v in finished(out, keys).items()}
    todo = [i for i, k in enumerate(keys) if k not in rows]
    (out / "cells").mkdir(parents=True, exist_ok=True)
    if not todo:
        return [rows[k] for k in keys]
    bar, task = _progress(len(keys), len(rows), quiet)
    with bar, cluster(scheduler, workers) as client:
        slots, failed = sum(client.nthreads().values()), 0
        bar.update(task, running=min(slots, len(todo)))
        fn = partial(run_cell, days=grid.get("simulate"))
        for n, (j, res) in enumerate(as_completed_results(client, fn, [grid_cells[i] for i in todo], instance), 1):
            key = keys[todo[j]]
            if isinstance(res, Failed):  # the worker died twice, or the task could not run
                res = {"row": {**grid_cells[todo[j]], "status": "failed", "error": res.error}, "plan": {}}
            if res["row"]["status"] == "ok":
                write_atomic(out / "cells" / f"{key}.json", json.dumps(res, indent=1))
            failed += res["row"]["status"] != "ok"
            rows[key] = res["row"]
            bar.update(task, advance=1, running=min(slots, len(todo) - n), failed=failed)
            if on_cell:
                on_cell(res["row"])
    return [rows[k] for k in keys]


# ---- the command line


SPEC_KEYS = {"beds", "atd", "transfers", "arrivals", "solver", "simulate"}
SIMULATE_KEYS = {"days", "replications", "policies"}


def read_spec(path: str) -> dict:
    """The grid of a ``--spec`` TOML file (see docs/sweeps.md) as :data:`DEFAULTS`' keys.
    Raises :class:`optimizer.errors.InputError` naming the file and the key."""
    import tomllib

    from .errors import InputError

    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except OSError as e:
        raise InputError([f"{path}: cannot read the spec: {e.strerror or e}"]) from None
    except tomllib.TOMLDecodeError as e:
        raise InputError([f"{path}: not a valid TOML file: {e}"]) from None
    sim = raw.get("simulate", {})
    if not isinstance(sim, dict):
        raise InputError([f"{path}: simulate: not a table (simulate.{{days, replications, policies}})"])
    unknown = sorted(set(raw) - SPEC_KEYS) + [f"simulate.{k}" for k in sorted(set(sim) - SIMULATE_KEYS)
                                              if isinstance(sim, dict)]
    if unknown or not isinstance(sim, dict):
        raise InputError([f"{path}: {unknown[0] if unknown else 'simulate'}: unknown key or not a table "
                          f"(known: {', '.join(sorted(SPEC_KEYS))}; simulate.{{days, replications, policies}})"])
    grid = {k: raw[k] for k in ("beds", "atd", "transfers", "arrivals", "solver") if k in raw}
    grid |= {{"days": "simulate"}.get(k, k): v for k, v in sim.items()}
    for key, value in grid.items():
        text = key in ("solver", "policies")
        ok = (isinstance(value, int) and not isinstance(value, bool) if key in ("simulate", "replications") else
              isinstance(value, list) and value and all(isinstance(v, str) if text else
                                                        isinstance(v, (int, float)) and not isinstance(v, bool)
                                                        for v in value))
        if not ok:
            name = {"simulate": "simulate.days", "replications": "simulate.replications",
                    "policies": "simulate.policies"}.get(key, key)
            raise InputError([f"{path}: {name}: expected " + ("a whole number" if key in ("simulate", "replications")
                                                                else "a non-empty list of " + ("names" if text
                                                                                                else "numbers"))])
    return grid


def _numbers(text: str, flag: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"{flag} {text!r}: expected comma-separated numbers") from None
    if not values:
        raise ValueError(f"{flag}: no values")
    return list(dict.fromkeys(int(v) if v.is_integer() else v for v in values))


def _grid(args) -> dict:
    """The sweep's grid: :data:`DEFAULTS`, then the ``--spec`` file, then the options given.
    Raises ValueError (a bad option) or InputError (a bad spec file)."""
    grid = {**DEFAULTS, **(read_spec(args.spec) if args.spec else {})}
    for key in ("beds", "atd", "transfers", "arrivals"):
        if getattr(args, key) is not None:
            grid[key] = _numbers(getattr(args, key), f"--{key}")
    for key in ("solver", "policies"):
        if getattr(args, key) is not None:
            grid[key] = [x.strip() for x in getattr(args, key).split(",") if x.strip()]
    if args.simulate is not None:
        grid["simulate"] = args.simulate
    if args.replications is not None:
        grid["replications"] = args.replications
    return {k: list(dict.fromkeys(v)) if isinstance(v, list) else v for k, v in grid.items()}


def _grid_problem(doc: dict, grid: dict) -> str | None:
    """Why ``grid`` cannot be swept on instance ``doc`` (one line), or None."""
    from .backends import BackendError, capabilities
    from .simulate import POLICIES
    from .whatif import scenario_problem

    for key in ("beds", "atd", "transfers", "arrivals"):
        for v in grid[key]:
            why = scenario_problem(doc, **{key: v})
            if why:
                return f"--{key} {v:g}: {why}"
    for name in grid["solver"]:
        try:
            features = capabilities(name)[1]
            if doc["horizon_days"] > 1 and "multi_day" not in features:
                return f"--solver {name}: plans one day only; the instance has horizon_days = {doc['horizon_days']}"
            if "families" not in features and any(p.get("family_id") for p in doc["people"]):
                return f"--solver {name}: cannot plan families, and the instance has some"
        except BackendError as e:
            return f"--solver {name}: {e}"
    if grid["simulate"] is not None:
        if not 1 <= grid["simulate"] <= 366 or not 1 <= grid["replications"] <= 100000:
            return "--simulate must be 1 to 366 days and --replications 1 to 100000"
        wrong = [p for p in grid["policies"] if p not in POLICIES] or ([] if grid["policies"] else ["(none)"])
        if wrong:
            return f"--policies: unknown {', '.join(wrong)}; known: {', '.join(POLICIES)}"
    return None


SWEEP_FILES = frozenset({"results.csv", "results.parquet", "report.html", "cells"})


def _out_problem(out: Path, instance: str) -> str | None:
    """Why ``--out`` may not hold the sweep (one line), or None: a new folder in a writable place,
    or an earlier sweep's (only its files), outside the instance's folder tree."""
    from .outdir import unwritable

    if out.exists() and not out.is_dir():
        return f"{out}: --out: not a folder"
    if out.resolve() == Path(instance).resolve() or out.resolve() in Path(instance).resolve().parents:
        return f"{out}: --out: would write into the instance's folder tree; choose another folder"
    if out.is_dir() and (others := sorted(p.name for p in out.iterdir() if p.name not in SWEEP_FILES)):
        return (f"{out}: --out: the folder holds other files ({', '.join(others[:3])}); choose a new or an "
                "earlier sweep folder")
    why = unwritable(out / "results.csv")
    return f"{out}: --out: {why}" if why else None


def _check(args) -> tuple[bytes, dict]:
    """The instance's text and the grid, everything checked before any work.  Raises
    InputError (files) or ValueError (options)."""
    from .instance import load_json, read_bytes, read_instance

    if args.scheduler and args.workers:
        raise ValueError("--workers: not with --scheduler (the cluster has its workers)")
    grid = _grid(args)
    if grid["simulate"] is None and (args.replications is not None or args.policies is not None):
        raise ValueError("--replications and --policies: only with --simulate DAYS")
    read_instance(args.instance)
    doc = load_json(args.instance)
    why = _grid_problem(doc, grid) or _out_problem(Path(args.out), args.instance)
    if why:
        raise ValueError(why)
    if args.scheduler:
        try:
            with cluster(args.scheduler):  # refuse an unreachable scheduler before anything is written
                pass
        except Unreachable as e:
            raise ValueError(str(e)) from None
    return read_bytes(Path(args.instance)), grid


def command(args) -> int:
    """``bedalloc sweep``: check everything, run the missing cells, write results and report."""
    from .errors import InputError, refused
    from .generate import write_atomic
    from .sweepreport import render

    try:
        instance, grid = _check(args)
    except (InputError, ValueError) as e:
        return refused(e, "bedalloc sweep")
    out = Path(args.out)
    try:
        rows = run_sweep(instance, grid, out, args.scheduler, args.workers, quiet=args.quiet)
    except KeyboardInterrupt:
        print(f"bedalloc sweep: interrupted; the finished cells are kept in {out}/cells: run the same "
              f"command again to finish the others", file=sys.stderr)
        return 130
    write_results(out, grid, rows)
    title = f"Sweep of {Path(args.instance).name}" + (f": {grid['simulate']}-day simulations" if grid["simulate"]
                                                       else "")
    write_atomic(out / "report.html", render(title, rows, columns(grid), bool(grid["simulate"])))
    failed = sum(r["status"] != "ok" for r in rows)
    print(f"{len(rows)} cells, {failed} failed: written to {out}/results.csv, results.parquet and report.html")
    return 4 if failed else 0

