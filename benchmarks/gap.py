"""The generalized assignment problem (GAP) on every backend, against published optima.

    .venv/bin/python benchmarks/gap.py [--solvers highs-mip,cpsat,scip] [--files gap1,gapa,path/to/file.txt]
                                       [--time-limit 60]

Reads OR-Library GAP files (format in ``benchmarks/data/gap/README.md``: the number of instances;
then per instance ``m n``, the m x n cost matrix, the m x n resource matrix, the m capacities;
whitespace-separated integers; any file in that format works), builds the textbook MIP (x_ij
binary, each job on one agent, agent capacities) as a :class:`optimizer.backends.base.MipProblem`,
solves it with each backend in both senses, and checks the objective against ``known_optima.csv``
where the optimum is known (a ``--files`` entry is a bundled file stem or the path of any file in
that format).  Prints solved count, median time and the gap to the optimum.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "gap"
sys.path.insert(0, str(HERE.parent))

from optimizer.backends.base import BackendError, MipProblem  # noqa: E402


class GapFormatError(ValueError):
    """A file that is not in the OR-Library GAP format (message names the file and the place)."""


def read_gap(path: str | Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Instances of an OR-Library GAP file: (cost (m, n), resource (m, n), capacity (m,)) each.

    Raises :class:`GapFormatError` for a truncated file, non-integers or trailing data."""
    path = Path(path)
    try:
        tokens = path.read_text().split()
        nums = [int(t) for t in tokens]
    except (OSError, UnicodeDecodeError) as e:
        raise GapFormatError(f"{path}: cannot read: {e}") from None
    except ValueError as e:
        raise GapFormatError(f"{path}: not whole numbers: {e}") from None
    pos = 0

    def take(k, what):
        nonlocal pos
        if pos + k > len(nums):
            raise GapFormatError(f"{path}: truncated while reading {what}")
        out = np.array(nums[pos:pos + k], dtype=np.int64)
        pos += k
        return out

    if any(abs(v) >= 2**62 for v in nums):
        raise GapFormatError(f"{path}: a number is too large (beyond 2**62)")
    count = int(take(1, "the number of instances")[0])
    if count <= 0:
        raise GapFormatError(f"{path}: the number of instances must be positive, not {count}")
    out = []
    for i in range(count):
        m, n = (int(v) for v in take(2, f"instance {i + 1} size"))
        if m <= 0 or n <= 0:
            raise GapFormatError(f"{path}: instance {i + 1}: m and n must be positive")
        c = take(m * n, f"instance {i + 1} costs").reshape(m, n)
        r = take(m * n, f"instance {i + 1} resources").reshape(m, n)
        b = take(m, f"instance {i + 1} capacities")
        out.append((c, r, b))
    if pos != len(nums):
        raise GapFormatError(f"{path}: {len(nums) - pos} numbers after the last instance")
    return out


def gap_problem(c: np.ndarray, r: np.ndarray, b: np.ndarray, sense: str) -> MipProblem:
    """The GAP as a MIP over x (m*n,) binary, index i*n + j; ``sense`` "min" or "max" (negated)."""
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
    """A bundled file stem (``gap1``, ``gapa``) or the path of any OR-Library GAP file."""
    bundled = DATA / "orlib" / f"{name}.txt"
    return bundled if bundled.exists() else Path(name)


def known_optima(path: Path = DATA / "known_optima.csv") -> dict:
    """(file stem, index 1-based, sense) -> optimal value."""
    with open(path, newline="") as fh:
        return {(Path(row["file"]).stem, int(row["index_in_file"]), row["sense"]): int(row["value"])
                for row in csv.DictReader(fh) if row["status"] == "optimal"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--solvers", default="highs-mip,cpsat,scip")
    ap.add_argument("--files", default=",".join(f"gap{i}" for i in range(1, 13)) + ",gapa,gapb,gapc")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--one", nargs=4, metavar=("FILE", "INDEX", "SENSE", "SOLVER"),
                    help="solve one instance (file stem, 1-based index, min|max) and print the result as JSON")
    args = ap.parse_args()
    try:
        return run(args)
    except (GapFormatError, BackendError) as e:
        print(e, file=sys.stderr)
        return 2


def run(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from optimizer import backends
    from optimizer.backends.base import MipParams

    names = [args.one[3]] if args.one else args.solvers.split(",")
    for name in names:
        if name not in backends.MIP:
            raise BackendError(f"{name!r} is not a MIP backend; the GAP takes {', '.join(backends.MIP)}")
    if args.one:
        import json

        stem, idx, sense, name = args.one
        instances = read_gap(gap_file(stem))
        if not idx.isdigit() or not 1 <= int(idx) <= len(instances) or sense not in ("min", "max"):
            raise GapFormatError(f"--one: INDEX must be 1..{len(instances)} and SENSE min or max, not {idx} {sense}")
        c, r, b = instances[int(idx) - 1]
        be = backends.get(name)
        res = be.solve(gap_problem(c, r, b, sense), MipParams(time_limit=args.time_limit, mip_gap=0.0, abs_gap=0.99))
        print(json.dumps({"termination": res.termination, "version": res.solver_version, "runtime_s": res.runtime_s,
                          "objective": None if res.objective is None else abs(res.objective)}))
        return 0
    optima = known_optima()
    table = Table(title="GAP: OR-Library instances with known optima", title_justify="left")
    for col in ("solver", "version", "runs", "proven optimal", "matches known optimum", "median s", "max gap"):
        table.add_column(col, justify="left" if col in ("solver", "version") else "right")
    for name in args.solvers.split(","):
        be = backends.get(name)
        times, gaps, solved, matched, known, runs = [], [], 0, 0, 0, 0
        for name_or_path in args.files.split(","):
            path = gap_file(name_or_path)
            bundled = path.resolve().parent == DATA / "orlib"
            for idx, (c, r, b) in enumerate(read_gap(path), start=1):
                for sense in ("min", "max"):
                    if bundled and (path.stem, idx, sense) not in optima:
                        continue  # bundled types A-C: minimisation optima only
                    runs += 1
                    res = be.solve(gap_problem(c, r, b, sense), MipParams(time_limit=args.time_limit, mip_gap=0.0,
                                                                          abs_gap=0.99))
                    times.append(res.runtime_s)
                    want = optima.get((path.stem, idx, sense)) if bundled else None
                    got = None if res.objective is None else round(abs(res.objective))
                    solved += res.termination == "optimal"
                    if want is not None:
                        known += 1
                        matched += got == want
                        gaps.append(abs(got - want) / max(1, want) if got is not None else 1.0)
        table.add_row(name, be.version(), str(runs), str(solved), f"{matched}/{known}",
                      f"{statistics.median(times):.3f}" if times else "-", f"{max(gaps, default=0):.2e}")
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
