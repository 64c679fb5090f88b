"""The generalized assignment problem (GAP) on every MIP backend, against published optima.

    .venv/bin/python benchmarks/gap.py [FILE[:min|max] ...] [--sense min|max] [--optima FILE.csv]
                                       [--solvers highs-mip,cpsat,scip] [--time-limit 60] [--out DIR]

Reads GAP files as published (whitespace-separated integers), in either format, told apart by
their structure:

* single-instance (Chu-Beasley and Yagiura sets, every GAP solver's repository): ``m n``; the
  m x n cost matrix (row i = agent i); the m x n resource matrix; the m capacities.  A file is
  read this way when it holds exactly 2 + 2mn + m numbers for the m and n it starts with;
  its instance is named after the file (``c05100``);
* OR-Library multi-instance (``gap1`` .. ``gap12``, ``gapa`` ..): the number of instances P, then
  P instances as above; instance k (1-based) is named ``STEM-k`` (``gap1-3``).

Invalid data (a negative capacity or resource, a number missing or left over, a non-integer) is
refused with exit 2 and one line naming the file and the position, before anything is solved.
Each instance is solved in the sense given after its file (``c05100:min``), else by ``--sense``,
else in every sense the optima file lists for it; the optima file (``--optima``, CSV with columns
``instance,sense,optimum,proven``; extra columns are ignored) gives the published values the runs
are checked against.  Builds the textbook MIP (x_ij binary, each job on one agent, agent
capacities) as a :class:`optimizer.backends.base.MipProblem` and prints every run's objective (in
the file's sense, with its sign), bound, status and time, then per backend: proven optimal,
matched the published value, and the largest gap of the incumbent to it.  ``--out DIR`` writes
the runs to ``DIR/runs.csv``.  Without files: the bundled OR-Library sets (``data/gap/orlib``);
a bare name such as ``gap1`` is a bundled file; without ``--optima``, ``data/gap/known_optima.csv``
(the bundled sets' optima).
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "gap"
sys.path.insert(0, str(HERE.parent))

from optimizer.backends.base import BackendError, MipProblem  # noqa: E402

SENSES = ("min", "max")
RUN_FIELDS = ("file", "instance", "agents", "jobs", "sense", "solver", "version", "status", "objective", "bound",
              "gap", "runtime_s", "cpu_s", "published", "proven", "matched", "incumbent_gap")


class GapFormatError(ValueError):
    """Invalid data in a GAP or optima file (the message names the file and the position)."""


@dataclass
class GapInstance:
    """One GAP instance: cost and resource (m, n), capacity (m,), its name and its file."""

    name: str
    path: Path
    cost: np.ndarray
    resource: np.ndarray
    capacity: np.ndarray


class _Numbers:
    """A file's whole numbers with their line numbers, read in order."""

    def __init__(self, path: Path):
        self.path = path
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise GapFormatError(f"{path}: cannot read: {e}") from None
        self.values, self.lines = [], []
        for ln, line in enumerate(text.splitlines(), start=1):
            for tok in line.split():
                try:
                    v = int(tok)
                except ValueError:
                    raise GapFormatError(f"{path}: line {ln}: {tok[:20]!r} is not a whole number") from None
                if abs(v) >= 2**62:
                    raise GapFormatError(f"{path}: line {ln}: {tok[:20]}... is too large (beyond 2**62)")
                self.values.append(v)
                self.lines.append(ln)
        self.first_line = self.lines.count(1)

    def where(self, pos: int) -> str:
        return f"line {self.lines[pos]}" if pos < len(self.lines) else "the end of the file"

    def instance(self, pos: int, name: str, label: str) -> tuple[GapInstance, int]:
        """The instance whose ``m n`` starts at ``pos`` and the position after it."""
        if pos + 2 > len(self.values):
            raise GapFormatError(f"{self.path}: {label}: the file ends before its size m n")
        m, n = self.values[pos:pos + 2]
        if m <= 0 or n <= 0:
            raise GapFormatError(f"{self.path}: {self.where(pos)}: {label}: m and n must be positive, not {m} {n}")
        need = 2 * m * n + m
        if pos + 2 + need > len(self.values):
            raise GapFormatError(f"{self.path}: {label} (m={m}, n={n}, {self.where(pos)}) needs {need} numbers after "
                                 f"its size; the file ends after {len(self.values) - pos - 2}")
        start = pos + 2
        block = np.array(self.values[start:start + need], dtype=np.int64)
        cost, resource, capacity = block[:m * n].reshape(m, n), block[m * n:2 * m * n].reshape(m, n), block[2 * m * n:]
        for what, arr, offset in (("resource", resource, m * n), ("capacity", capacity, 2 * m * n)):
            if (arr < 0).any():
                k = int(np.flatnonzero(arr.ravel() < 0)[0])
                cell = f"agent {k // n + 1}, job {k % n + 1}" if arr.ndim == 2 else f"agent {k + 1}"
                raise GapFormatError(f"{self.path}: {self.where(start + offset + k)}: {label}: {what} of {cell} is "
                                     f"negative ({arr.ravel()[k]})")
        return GapInstance(name, self.path, cost, resource, capacity), start + need


def read_gap(path: str | Path) -> list[GapInstance]:
    """The instances of a GAP file in the single-instance or the OR-Library multi-instance format
    (see the module docstring).  Raises :class:`GapFormatError` naming the file and position."""
    path = Path(path)
    nums = _Numbers(path)
    vals = nums.values
    if len(vals) >= 2 and vals[0] > 0 and vals[1] > 0 and len(vals) == 2 + 2 * vals[0] * vals[1] + vals[0]:
        return [nums.instance(0, path.stem, "the instance")[0]]
    if nums.first_line == 2 and len(vals) >= 2:  # "m n" on line 1, but the wrong number of numbers
        m, n = vals[:2]
        raise GapFormatError(f"{path}: line 1 gives m={m} n={n}, so a single-instance file holds 2 + 2mn + m = "
                             f"{2 + 2 * m * n + m} numbers; this one holds {len(vals)}")
    if not vals or vals[0] <= 0:
        raise GapFormatError(f"{path}: line 1: neither 'm n' of one instance nor a positive number of instances")
    out, pos = [], 1
    for k in range(1, vals[0] + 1):
        inst, pos = nums.instance(pos, f"{path.stem}-{k}", f"instance {k} of {vals[0]}")
        out.append(inst)
    if pos != len(vals):
        raise GapFormatError(f"{path}: {nums.where(pos)}: {len(vals) - pos} numbers after the last of "
                             f"{vals[0]} instances")
    return out


def read_optima(path: str | Path) -> dict[tuple[str, str], tuple[float, bool]]:
    """(instance, sense) -> (published optimum or best known value, proven) from a CSV with
    columns ``instance,sense,optimum,proven``.  Raises :class:`GapFormatError` naming the row."""
    path = Path(path)
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
            header = set(rows[0]) if rows else set()
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise GapFormatError(f"{path}: cannot read: {e}") from None
    if missing := [c for c in ("instance", "sense", "optimum", "proven") if c not in header]:
        raise GapFormatError(f"{path}: missing column(s) {', '.join(missing)} (or no rows)")
    out = {}
    for i, row in enumerate(rows, start=2):
        proven = (row["proven"] or "").strip().lower()
        try:
            value = float(row["optimum"])
        except (TypeError, ValueError):
            raise GapFormatError(f"{path}: row {i}, column optimum: {row['optimum']!r} is not a number") from None
        if row["sense"] not in SENSES or proven not in ("true", "false", "1", "0", "yes", "no"):
            raise GapFormatError(f"{path}: row {i}: sense must be min or max and proven true or false, not "
                                 f"{row['sense']!r} {row['proven']!r}")
        if (row["instance"], row["sense"]) in out:
            raise GapFormatError(f"{path}: row {i}: {row['instance']} {row['sense']} is listed twice")
        out[row["instance"], row["sense"]] = (value, proven in ("true", "1", "yes"))
    return out


def gap_problem(c: np.ndarray, r: np.ndarray, b: np.ndarray, sense: str) -> MipProblem:
    """The GAP as a MIP over x (m*n,) binary, index i*n + j; ``sense`` "min" or "max" (negated)."""
    import scipy.sparse as sp

    m, n = c.shape
    cols = np.arange(m * n)
    assign = sp.csc_matrix((np.ones(m * n), (cols % n, cols)), shape=(n, m * n))
    capacity = sp.csc_matrix((r.ravel().astype(float), (cols // n, cols)), shape=(m, m * n))
    A = sp.vstack([assign, capacity], format="csc")
    lo = np.concatenate([np.ones(n), np.full(m, -np.inf)])
    hi = np.concatenate([np.ones(n), b.astype(float)])
    cost = c.ravel().astype(float) * (1.0 if sense == "min" else -1.0)
    return MipProblem(A, lo, hi, np.zeros(m * n), np.ones(m * n), cost, np.ones(m * n, bool))


def gap_file(name: str) -> Path:
    """A bundled file stem (``gap1``, ``gapa``) or the path of any GAP file."""
    bundled = DATA / "orlib" / f"{name}.txt"
    return bundled if bundled.exists() else Path(name)


def plan_runs(specs: list[str], sense: str | None, optima: dict) -> list[tuple[GapInstance, str]]:
    """(instance, sense) of every run: ``FILE:SENSE`` first, then ``sense``, else every sense the
    optima list for the instance.  Reads every file (raises :class:`GapFormatError`)."""
    runs = []
    for spec in specs:
        head, _, tail = spec.rpartition(":")
        path, fixed = (head, tail) if head and tail in SENSES else (spec, None)
        for inst in read_gap(gap_file(path)):
            senses = [fixed or sense] if fixed or sense else [s for s in SENSES if (inst.name, s) in optima]
            if not senses:
                raise GapFormatError(f"{inst.path}: {inst.name}: no sense to solve in: give {path}:min or {path}:max, "
                                     "--sense, or a row of --optima for it")
            runs += [(inst, s) for s in senses]
    return runs


def solve_run(name: str, inst: GapInstance, sense: str, params, optima: dict) -> dict:
    """One run's row (:data:`RUN_FIELDS`): objective and bound in the instance's sense, with
    their signs; the published value, whether the incumbent matches it and the incumbent's
    relative gap to it (positive = worse than published); ``runtime_s`` is the solver's (wall)
    time, ``cpu_s`` the CPU time this process used meanwhile (on a loaded machine, the share of
    the limit the solver really had)."""
    import time

    from optimizer import backends

    problem, cpu = gap_problem(inst.cost, inst.resource, inst.capacity, sense), time.process_time()
    res = backends.get(name).solve(problem, params)
    cpu = time.process_time() - cpu
    sign = 1.0 if sense == "min" else -1.0
    obj = sign * res.objective if res.has_solution and res.objective is not None else None
    bound = None if res.bound is None else sign * res.bound
    row = {"file": str(inst.path), "instance": inst.name, "agents": inst.cost.shape[0], "jobs": inst.cost.shape[1],
           "sense": sense, "solver": name, "version": res.solver_version,
           "status": res.termination, "objective": obj, "bound": bound, "runtime_s": round(res.runtime_s, 3),
           "cpu_s": round(cpu, 3), "gap": None if obj is None or bound is None else abs(obj - bound) / max(1.0, abs(obj))}
    if (inst.name, sense) in optima:
        pub, proven = optima[inst.name, sense]
        row.update(published=pub, proven=proven, matched=obj is not None and abs(obj - pub) < 0.5,
                   incumbent_gap=None if obj is None else sign * (obj - pub) / max(1.0, abs(pub)))
    return row


def _num(v, fmt="{:.10g}") -> str:
    return "-" if v is None else fmt.format(v)


def print_run(row: dict) -> None:
    pub = "" if row.get("published") is None else (
        f" published {row['published']:.10g}{'' if row['proven'] else ' (best known)'}"
        f" {'matched' if row['matched'] else 'NOT matched'}")
    print(f"{row['instance']:>12} {row['sense']} {row['solver']:>10} {row['status']:>10}  objective "
          f"{_num(row['objective'])}  bound {_num(row['bound'])}  gap {_num(row['gap'], '{:.2e}')}  "
          f"{row['runtime_s']:.2f} s ({row['cpu_s']:.2f} s CPU){pub}", flush=True)


def summary(rows: list[dict], names: list[str]):
    """Per backend: runs, proven optimal, matched / runs with a proven published optimum, the
    largest incumbent gap to the published value, median solve and CPU time, total solve time."""
    import statistics

    from rich.table import Table

    t = Table(title="GAP: per backend", title_justify="left")
    for col in ("solver", "version", "runs", "proven optimal", "matched proven published optimum",
                "matched best known (unproven)", "max incumbent gap", "no incumbent", "median s", "median CPU s",
                "total s"):
        t.add_column(col, justify="left" if col in ("solver", "version") else "right")
    for name in names:
        mine = [r for r in rows if r["solver"] == name]
        pub = [r for r in mine if r.get("published") is not None]
        gaps = [r["incumbent_gap"] for r in pub if r["incumbent_gap"] is not None]
        times = [r["runtime_s"] for r in mine]
        t.add_row(name, mine[0]["version"] if mine else "", str(len(mine)),
                  str(sum(r["status"] == "optimal" for r in mine)),
                  f"{sum(r['matched'] for r in pub if r['proven'])}/{sum(r['proven'] for r in pub)}",
                  f"{sum(r['matched'] for r in pub if not r['proven'])}/{sum(not r['proven'] for r in pub)}",
                  f"{max(gaps):.2e}" if gaps else "-", str(sum(r["objective"] is None for r in mine)),
                  f"{statistics.median(times):.2f}" if times else "-",
                  f"{statistics.median(r['cpu_s'] for r in mine):.2f}" if mine else "-", f"{sum(times):.1f}")
    return t


def contradictions(rows: list[dict]) -> list[str]:
    """Runs proven optimal whose value differs from a proven published optimum."""
    return [f"{r['solver']} {r['instance']} {r['sense']}: proven {r['objective']:.10g}, published {r['published']:.10g}"
            for r in rows if r["status"] == "optimal" and r.get("proven") and not r["matched"]]


def write_runs(out: Path, rows: list[dict]) -> None:
    """``out/runs.csv`` (written atomically)."""
    import io

    from optimizer.generate import write_atomic

    buf = io.StringIO()
    w = csv.DictWriter(buf, RUN_FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_atomic(out / "runs.csv", buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", metavar="FILE[:SENSE]",
                    help="GAP files or bundled names (default: the bundled OR-Library sets)")
    ap.add_argument("--sense", choices=SENSES, help="the sense of every file without its own")
    ap.add_argument("--optima", default=str(DATA / "known_optima.csv"),
                    help="CSV with columns instance,sense,optimum,proven (default: the bundled known_optima.csv)")
    ap.add_argument("--solvers", default="highs-mip,cpsat,scip")
    ap.add_argument("--time-limit", type=float, default=60.0, help="per run, s (default 60)")
    ap.add_argument("--out", type=Path, metavar="DIR", help="write the runs to DIR/runs.csv")
    ap.add_argument("--one", nargs=4, metavar=("FILE", "INDEX", "SENSE", "SOLVER"),
                    help="solve instance INDEX (1-based) of FILE in SENSE with SOLVER; print the run as JSON")
    args = ap.parse_args(argv)
    try:
        return run(args)
    except (GapFormatError, BackendError) as e:
        print(f"gap.py: {e}", file=sys.stderr)
        return 2


def run(args) -> int:
    import json
    import os

    from optimizer import backends
    from optimizer.backends.base import MipParams

    names = [args.one[3]] if args.one else args.solvers.split(",")
    if bad := [n for n in names if n not in backends.MIP]:
        raise BackendError(f"{', '.join(bad)}: not a MIP backend; the GAP takes {', '.join(backends.MIP)}")
    params = MipParams(time_limit=args.time_limit, mip_gap=0.0, abs_gap=0.99)  # integer objectives
    if args.one:
        path, idx, sense, name = args.one
        instances = read_gap(gap_file(path))
        if not idx.isdigit() or not 1 <= int(idx) <= len(instances) or sense not in SENSES:
            raise GapFormatError(f"--one: INDEX must be 1..{len(instances)} and SENSE min or max, not {idx} {sense}")
        print(json.dumps(solve_run(name, instances[int(idx) - 1], sense, params, {}), default=str))
        return 0
    specs = args.files or [f"gap{i}" for i in range(1, 13)] + ["gapa", "gapb", "gapc"]
    optima = read_optima(args.optima)
    runs = plan_runs(specs, args.sense, optima)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        if not os.access(args.out, os.W_OK):
            raise GapFormatError(f"{args.out}: --out folder is not writable")
    rows = []
    for name in names:
        for inst, sense in runs:
            rows.append(solve_run(name, inst, sense, params, optima))
            print_run(rows[-1])
    from rich.console import Console

    Console(width=None if sys.stdout.isatty() else 160).print(summary(rows, names))
    if args.out is not None:
        write_runs(args.out, rows)
        print(f"runs written to {args.out / 'runs.csv'}")
    for line in (bad := contradictions(rows)):
        print(f"CONTRADICTION: {line}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
