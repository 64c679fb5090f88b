"""Issue 24's performance targets in one run: each measure's median and min-max spread over
``--runs`` whole processes, its target, whether it is met, and the commit measured.

    .venv/bin/python benchmarks/targets.py [--runs 5] [--no-horizon] [--no-scale]

The measures (contract 1.1's limits on, one solver thread, each process started afresh):

- ``bedalloc solve instances/ice-fy2026.json``: wall clock (start-up included), peak memory, and
  its read-and-validate phase (``summary.json``);
- the four-level solve of the class model against one OR-Tools min-cost flow of the same
  network (``national.py --formulation class|flow``, in turn; the flow without transport limits,
  which it cannot express): the ratio of the pair medians;
- ``bedalloc solve instances/ice-fy2026-14d.json``: wall clock and peak memory, and the levels
  proven with ``--time-limit 30`` (skipped with ``--no-horizon``: about 5 minutes);
- 250,000 and 1,000,000 people over one day (``generate --scale``): wall clock, peak memory, and
  the growth from one to the other (skipped with ``--no-scale``: about 4 minutes).

Prints the table of targets and writes ``benchmarks/results/targets.json`` (about 12 minutes
with ``--runs 5``).  Memory is in MiB (the targets' GB are 1,024 MiB).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from national import ROOT, run_process, write_results  # noqa: E402

NATIONAL_PEOPLE = 66_157
PY = sys.executable


def spread(values: list[float]) -> dict:
    """The median, minimum and maximum of ``values``."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def solve_runs(instance: Path, runs: int, out: Path, *extra: str, ok=(0, 3)) -> list[dict]:
    """``runs`` whole ``bedalloc solve`` processes: wall s, peak MiB, exit code and summary.  Stops
    the benchmark at the first exit code not in ``ok`` (without a limit: proven optimal, exit 0
    or 3), so that no failed run is measured."""
    rows = []
    for _ in range(runs):
        code, wall, mib, _ = run_process([PY, "-m", "optimizer", "solve", str(instance), "--out", str(out),
                                          "--quiet", *extra])
        if code not in ok:
            raise SystemExit(f"targets.py: {' '.join(['bedalloc solve', str(instance), *extra])} exited {code}; "
                             "nothing measured")
        rows.append({"wall_s": wall, "peak_mib": mib, "exit": code,
                     "summary": json.loads((out / "summary.json").read_text())})
    return rows


def flow_ratio(runs: int) -> dict:
    """The class model's four-level solve against one min-cost flow, in turn, ``runs`` pairs."""
    times: dict[str, list[float]] = {"class": [], "flow": []}
    for _ in range(runs):
        for kind in times:
            code, _, _, text = run_process([PY, str(HERE / "national.py"), "--formulation", kind,
                                            str(ROOT / "instances" / "ice-fy2026.json")])
            if code != 0:
                raise SystemExit(f"targets.py: national.py --formulation {kind} exited {code}")
            times[kind].append(json.loads(text)["solve"])
    return {kind: spread(v) for kind, v in times.items()}


def proven(rows: list[dict]) -> list:
    """The levels proven optimal in each run (None where no summary was written)."""
    return [r["summary"].get("levels_proven_optimal") for r in rows]


def one_day(runs: int, tmp: Path) -> list[tuple]:
    """The national one-day rows of the table."""
    rows = solve_runs(ROOT / "instances" / "ice-fy2026.json", runs, tmp / "one")
    ratio = flow_ratio(runs)
    return [
        ("national one-day solve (s)", spread([r["wall_s"] for r in rows]), 1.5, proven(rows)),
        ("national one-day peak memory (MiB)", spread([r["peak_mib"] for r in rows]), None, None),
        ("reading and validating the national instance (s)",
         spread([r["summary"]["timings_s"]["read"] for r in rows]), 0.2, None),
        ("four-level solve / one min-cost flow", {"median": ratio["class"]["median"] / ratio["flow"]["median"],
                                                  "class_s": ratio["class"], "flow_s": ratio["flow"]}, 1.5, None),
    ]


def horizon(runs: int, tmp: Path) -> list[tuple]:
    """The national 14-day rows of the table."""
    path = ROOT / "instances" / "ice-fy2026-14d.json"
    rows = solve_runs(path, runs, tmp / "h")
    limited = solve_runs(path, 1, tmp / "h30", "--time-limit", "30", ok=(0, 1, 3))
    return [
        ("national 14-day solve (s)", spread([r["wall_s"] for r in rows]), 20.0, proven(rows)),
        ("national 14-day peak memory (MiB)", spread([r["peak_mib"] for r in rows]), 1.2 * 1024, None),
        ("national 14-day, --time-limit 30: wall s (one run), levels proven", {"median": limited[0]["wall_s"]}, None,
         proven(limited)),
    ]


def scale(runs: int, tmp: Path) -> list[tuple]:
    """The rows of 250,000 and 1,000,000 people, and the growth between them."""
    walls, out = {}, []
    for size in (250_000, 1_000_000):
        path = tmp / f"scale-{size}.json"
        code, *_ = run_process([PY, "-m", "optimizer", "generate", "--scale", f"{size / NATIONAL_PEOPLE:.6f}",
                                "--out", str(path)])
        if code != 0:
            raise SystemExit(f"targets.py: bedalloc generate --scale for {size:,} people exited {code}")
        rows = solve_runs(path, runs, tmp / f"s{size}")
        walls[size] = spread([r["wall_s"] for r in rows])
        path.unlink()
        out.append((f"{size:,} people, one day (s)", walls[size], 20.0 if size == 1_000_000 else None, proven(rows)))
        out.append((f"{size:,} people, peak memory (MiB)", spread([r["peak_mib"] for r in rows]),
                    2.0 * 1024 if size == 1_000_000 else None, None))
    out.append(("growth from 250,000 to 1,000,000 people", {"median": walls[1_000_000]["median"] /
                                                            walls[250_000]["median"]}, 4.0, None))
    return out


def commit() -> str:
    """The commit measured, marked when the tree has uncommitted changes."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout
    return head.strip() + (" (with uncommitted changes)" if dirty.strip() else "")


def table(rows: list[tuple], title: str):
    """The rich table of ``rows`` (measure, spread, target, levels proven)."""
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for col in ("measure", "median", "min-max", "target", "met", "levels proven"):
        t.add_column(col, justify="left" if col in ("measure", "levels proven") else "right")
    for name, s, target, levels in rows:
        span = f"{s['min']:.2f}-{s['max']:.2f}" if "min" in s else ""
        met = "" if target is None else ("yes" if s["median"] <= target else "no")
        t.add_row(name, f"{s['median']:.2f}", span, "" if target is None else f"<= {target:g}", met,
                  "" if levels is None else ", ".join(map(str, levels)))
    return t


def main() -> int:
    from rich.console import Console

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="processes per measure (default 5)")
    ap.add_argument("--no-horizon", action="store_true", help="skip the national 14-day instance")
    ap.add_argument("--no-scale", action="store_true", help="skip 250,000 and 1,000,000 people")
    ap.add_argument("--out", default=str(HERE / "results" / "targets.json"),
                    help="results as JSON (default benchmarks/results/targets.json)")
    args = ap.parse_args()
    if args.runs < 1:
        raise SystemExit("targets.py: --runs must be at least 1")
    con = Console(width=None if sys.stdout.isatty() else 150)
    measured = commit()
    with tempfile.TemporaryDirectory() as tmp:
        rows = one_day(args.runs, Path(tmp))
        rows += [] if args.no_horizon else horizon(args.runs, Path(tmp))
        rows += [] if args.no_scale else scale(args.runs, Path(tmp))
    con.print(table(rows, f"issue 24's targets, commit {measured}, {args.runs} runs each (medians)"))
    write_results(args.out, {"commit": measured, "runs": args.runs,
                             "rows": [{"measure": n, **s, "target": t, "levels_proven": lv}
                                      for n, s, t, lv in rows]}, con)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
