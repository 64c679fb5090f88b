"""Many-instance cross-check: every backend and the brute force on the same random instances.

    nice -n 19 .venv/bin/python benchmarks/crosscheck.py --n 1000 --out DIR [--solvers highs,cpsat,...]
                                                          [--first 0] [--time-limit 60] [--jobs 1]
                                                          [--scheduler ADDRESS | --workers N]
    .venv/bin/python benchmarks/crosscheck.py --report DIR     # the table from DIR's records so far

Instance k is drawn from seed ``first + k`` by ``tests/randinst.py``: multi-day (2-4 days, up
to 5 people) when k % 3 == 2, else one-day (up to 8 people); transport limits, local ties and
pins are switched on by the bits of k (limits k % 2 == 0, ties k // 2 % 2 == 0, pins
k // 4 % 2 == 0), so every combination occurs equally; families come from the generator.

The brute force (``tests/bruteforce.py``: ``brute_force`` one-day, ``brute_force_days``
multi-day) and every backend run in a process of their own (``--worker``), each writing one JSON
line per instance to ``DIR/NAME.jsonl`` as it goes (with ``--scheduler`` or ``--workers``, those
processes are tasks of a Dask cluster, :func:`optimizer.sweep.map_on_cluster`: ``DIR`` must be on
a file system the workers share), so a run cut short still reports the
instances done (``--report DIR``).  A backend without the ``multi_day`` or ``families`` feature
skips those instances; a backend that refuses an instance (``BackendError``: the flow backend
with an active transport limit) counts as "refused".  The table compares the four levels with
the brute force (levels 1-3 exactly, cost within 1e-6 relative + 1e-6 absolute, the flow
backend's whole cents within 0.01 USD a person), and counts plans the verifier
(:func:`optimizer.verifier.verify`) or the independent rule check (``check_new_rules``) rejects.
Writes ``DIR/runs.csv`` (one row per backend and instance) and ``DIR/table.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

BRUTE = "brute"
FIELDS = ("solver", "version", "seed", "kind", "people", "families", "status", "unplaced", "surge", "risk_units",
          "cost_usd", "seconds", "violations", "message")


def case(seed: int, first: int = 0) -> tuple[str, dict]:
    """(kind, instance dict) of instance ``seed - first`` (see the module docstring)."""
    from randinst import multiday_instance, random_instance

    k = seed - first
    rules = {"limits": k % 2 == 0, "ties": k // 2 % 2 == 0, "pins": k // 4 % 2 == 0}
    if k % 3 == 2:
        return "multi", multiday_instance(seed, 5, **rules)
    return "one", random_instance(seed, 8, **rules)


def _has_families(inst) -> bool:
    """A family still needing a decision (a backend without the ``families`` feature refuses it)."""
    return any(p.family_id and not (p.removal_day is not None and p.removal_day <= p.arrival_day)
               for p in inst.people)


def _brute(inst) -> dict:
    from bruteforce import brute_force, brute_force_days

    ref = (brute_force if inst.horizon_days == 1 else brute_force_days)(inst)
    return {"unplaced": ref.unplaced, "surge": ref.surge, "risk_units": ref.released_risk_units,
            "cost_usd": ref.cost_usd}


def _backend(inst, name: str, time_limit: float) -> dict:
    """Solve with backend ``name``; the levels, and the violations of the verifier and of the
    independent check of rules 7-9 (first one in ``message``)."""
    from bruteforce import RISK_UNITS, Decision, check_new_rules
    from optimizer.engine import SolveParams, solve
    from optimizer.verifier import verify

    res = solve(inst, SolveParams(mip_gap=1e-9, threads=1, seed=0, solver=name, time_limit=time_limit))
    o = res.objective
    violations = list(verify(inst, res.rows).violations)
    plan = {r["person_id"]: Decision(r["decision"], r["facility_id"], r["unit_id"], r["atd_program_id"],
                                     int(r["release_day"]) if r["release_day"] else None) for r in res.rows}
    try:
        check_new_rules(inst, plan)
    except AssertionError as e:
        violations.append(f"rules 7-9: {e}")
    return {"status": res.termination, "version": res.solver_version, "unplaced": o["unplaced"], "surge": o["surge"],
            "risk_units": o["released_risk"] * inst.horizon_days * RISK_UNITS, "cost_usd": o["cost_usd"],
            "violations": len(violations), "message": violations[0] if violations else ""}


def run_one(name: str, seed: int, first: int, features: frozenset, time_limit: float, tmp: Path) -> dict:
    """The record of ``name`` (a backend or :data:`BRUTE`) on instance ``seed``."""
    from randinst import write_instance

    from optimizer.backends.base import BackendError
    from optimizer.instance import read_instance

    kind, doc = case(seed, first)
    inst = read_instance(write_instance(doc, tmp / f"{seed}.json"))
    rec = {"solver": name, "seed": seed, "kind": kind, "people": len(inst.people),
           "families": _has_families(inst), "status": "skipped", "violations": 0, "message": ""}
    if name != BRUTE and ((kind == "multi" and "multi_day" not in features)
                          or (rec["families"] and "families" not in features)):
        return rec
    start = time.perf_counter()
    try:
        rec.update(_brute(inst) | {"status": "optimal"} if name == BRUTE else _backend(inst, name, time_limit))
    except BackendError as e:
        rec.update(status="refused", message=str(e))
    except Exception as e:  # noqa: BLE001 - recorded as an error of this backend, the run goes on
        rec.update(status="error", message=f"{type(e).__name__}: {e}")
    rec["seconds"] = round(time.perf_counter() - start, 4)
    return rec


def worker(name: str, n: int, first: int, time_limit: float, out: Path) -> int:
    """Run ``name`` on instances first..first+n-1, appending one JSON line each to ``out``."""
    from optimizer import backends
    from optimizer.backends.base import BackendError

    try:
        features = frozenset() if name == BRUTE else backends.capabilities(name)[1]
    except BackendError as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 2
    done = {r["seed"] for r in records(out)}
    with tempfile.TemporaryDirectory(prefix="crosscheck-") as tmp, open(out, "a") as fh:
        for seed in range(first, first + n):
            if seed not in done:
                fh.write(json.dumps(run_one(name, seed, first, features, time_limit, Path(tmp))) + "\n")
                fh.flush()
    return 0


def records(path: Path) -> list[dict]:
    """The records of one ``NAME.jsonl`` (a last line cut short by a kill is left out)."""
    out = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def agrees(rec: dict, ref: dict) -> bool:
    """Levels 1-3 equal, cost within 1e-6 rel + 1e-6 abs (``cost_close``; flow: 0.01 USD a person)."""
    from bruteforce import cost_close

    cost = (abs(rec["cost_usd"] - ref["cost_usd"]) <= 0.01 * rec["people"] + 1e-6 if rec["solver"] == "flow"
            else cost_close(rec["cost_usd"], ref["cost_usd"]))
    return ((rec["unplaced"], rec["surge"]) == (ref["unplaced"], ref["surge"])
            and abs(rec["risk_units"] - ref["risk_units"]) <= 1e-6 and cost)


def summarise(recs: list[dict], ref: dict[int, dict]) -> dict:
    """One table row: counts by status, disagreements with the brute force, violations, times."""
    solved = [r for r in recs if r["status"] in ("optimal", "time_limit")]
    compared = [r for r in solved if r["status"] == "optimal" and r["seed"] in ref]
    disagree = [r["seed"] for r in compared if not agrees(r, ref[r["seed"]])]
    times = sorted(r["seconds"] for r in recs if "seconds" in r and r["status"] not in ("skipped", "refused"))
    count = {s: sum(r["status"] == s for r in recs) for s in ("skipped", "refused", "error", "time_limit")}
    return {"instances": len(recs), "solved": len(solved), "compared": len(compared), **count,
            "disagreements": disagree, "violations": [r["seed"] for r in recs if r["violations"]],
            "errors": [f"{r['seed']} ({r['message'][:80]})" for r in recs if r["status"] == "error"],
            "median_s": statistics.median(times) if times else None, "max_s": times[-1] if times else None,
            "total_s": sum(times)}


COLUMNS = ("solver", "version", "instances", "solved", "compared with brute force", "skipped (feature)",
           "refused", "errors", "not proven", "disagreements", "verifier violations", "median s", "max s", "total s")


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def table_rows(out: Path, names: list[str]) -> tuple[list[list[str]], bool]:
    """The table's rows (strings) from ``out``'s records, the brute force first, and whether
    any run disagreed, broke a rule or failed (listed on stderr)."""
    ref = {r["seed"]: r for r in records(out / f"{BRUTE}.jsonl") if r["status"] == "optimal"}
    rows, bad = [], False
    for name in names:
        recs = records(out / f"{name}.jsonl")
        version = "tests/bruteforce.py" if name == BRUTE else next((r["version"] for r in recs if "version" in r), "")
        s = summarise(recs, ref)
        rows.append([name, version, str(s["instances"]), str(s["solved"]),
                     "-" if name == BRUTE else str(s["compared"]), str(s["skipped"]), str(s["refused"]),
                     str(s["error"]), str(s["time_limit"]), "-" if name == BRUTE else str(len(s["disagreements"])),
                     "-" if name == BRUTE else str(len(s["violations"])), _fmt(s["median_s"]), _fmt(s["max_s"]),
                     f"{s['total_s']:.1f}"])
        for what in ("disagreements", "violations", "errors"):
            if s[what]:
                bad = True
                print(f"{name}: {len(s[what])} {what}, seeds {', '.join(map(str, s[what][:5]))}", file=sys.stderr)
    return rows, bad


def report(out: Path, names: list[str] | None = None) -> int:
    """Print the table (Markdown), write ``out/table.md`` and ``out/runs.csv``; exit 1 on any disagreement,
    violation or error."""
    import io

    from optimizer.generate import write_atomic

    names = names or [BRUTE] + sorted(p.stem for p in out.glob("*.jsonl") if p.stem != BRUTE)
    rows, bad = table_rows(out, names)
    md = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    md = "\n".join(md + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"
    print(md, end="")
    write_atomic(out / "table.md", md)
    buf = io.StringIO()
    w = csv.DictWriter(buf, FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for name in names:
        w.writerows(records(out / f"{name}.jsonl"))
    write_atomic(out / "runs.csv", buf.getvalue())
    return 1 if bad else 0


def spawn(name: str, args) -> tuple[str, int, str]:
    """Run ``name``'s worker in a process of its own; (name, exit code, last stderr line)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--n", str(args.n), "--first",
           str(args.first), "--time-limit", str(args.time_limit), "--out", str(args.out)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    return name, done.returncode, (done.stderr.strip().splitlines() or [""])[-1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100, help="instances per backend (default 100)")
    ap.add_argument("--first", type=int, default=0, help="seed of the first instance (default 0)")
    ap.add_argument("--solvers", help="comma-separated backends (default: every available one)")
    ap.add_argument("--time-limit", type=float, default=60.0, help="per solve, s (default 60)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes at once (default 1)")
    ap.add_argument("--scheduler", metavar="ADDRESS", help="run each backend as a task of the Dask cluster behind "
                    "this scheduler (--out on a file system the workers share)")
    ap.add_argument("--workers", type=int, help="run each backend as a task of a local Dask cluster of N workers")
    ap.add_argument("--out", type=Path, help="folder for NAME.jsonl, runs.csv and table.md")
    ap.add_argument("--report", type=Path, metavar="DIR", help="only print the table of DIR's records")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.report:
        return report(args.report)
    if args.out is None or args.n < 1 or args.jobs < 1 or (args.workers is not None and args.workers < 1):
        ap.error("--out DIR is required, and --n, --jobs and --workers must be at least 1")
    if args.scheduler and args.workers:
        ap.error("--scheduler and --workers: one or the other (a scheduler has its own workers)")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.worker:
        return worker(args.worker, args.n, args.first, args.time_limit, args.out / f"{args.worker}.jsonl")
    from optimizer import backends

    if args.solvers:  # checked by name here (cheap); a worker fails at once on an unavailable one
        names = args.solvers.split(",")
        if unknown := [n for n in names if n not in backends.NAMES]:
            ap.error(f"--solvers: unknown backend {', '.join(unknown)} (known: {', '.join(backends.NAMES)})")
    else:
        names = [b["name"] for b in backends.describe() if b["available"]]
    for name, code, last in _run_all([BRUTE, *names], args):
        if code:
            print(f"{name}: worker exited {code}: {last}", file=sys.stderr)
    return report(args.out, [BRUTE, *names])


def _run_all(names: list[str], args) -> list[tuple[str, int, str]]:
    """Each backend's worker process: here, ``--jobs`` at once, or as tasks on Dask."""
    if args.scheduler is None and args.workers is None:
        with ThreadPoolExecutor(args.jobs) as pool:
            return list(pool.map(lambda n: spawn(n, args), names))
    from functools import partial

    from optimizer.sweep import Failed, map_on_cluster

    done = map_on_cluster(partial(spawn, args=args), names, scheduler=args.scheduler, workers=args.workers)
    return [(n, 4, r.error) if isinstance(r, Failed) else r for n, r in zip(names, done)]


if __name__ == "__main__":
    raise SystemExit(main())
