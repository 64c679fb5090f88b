"""Contract 1.1 nationally: the bundled instances with their transport limits and local ties
against the same instances with both removed, whole ``bedalloc solve`` processes run in turn.

    .venv/bin/python benchmarks/limits.py [--runs 5] [--cap 900] [--days 1 14]

The instances without limits and ties are ``bedalloc generate [--horizon-days 14]
--no-transport-limits --no-local-ties`` (the committed files minus those fields).  For each
horizon the two variants are solved ``--runs`` times alternately (A, B, A, B, ...: both see the
same machine load), each run in its own process: median wall clock (start-up included), peak
resident memory, their ratio, and the aggregate change the limits make (transfers, releases,
released risk, surge, cost, from summary.json).  Writes ``benchmarks/results/limits.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from national import run_process, write_results  # noqa: E402

COMMITTED = {1: ROOT / "instances" / "ice-fy2026.json", 14: ROOT / "instances" / "ice-fy2026-14d.json"}


def _variants(days: int, tmp: Path) -> dict[str, Path]:
    free = tmp / f"free-{days}d.json"
    run_process([sys.executable, "-m", "optimizer", "generate", "--horizon-days", str(days),
                 "--no-transport-limits", "--no-local-ties", "--out", str(free)])
    return {"limits": COMMITTED[days], "no limits": free}


def _measure(days: int, runs: int, cap: float, tmp: Path) -> dict:
    walls = {name: [] for name in ("limits", "no limits")}
    mbs = {name: [] for name in walls}
    summaries = {}
    paths = _variants(days, tmp)
    for _ in range(runs):
        for name, path in paths.items():
            out = tmp / f"plan-{days}-{name.replace(' ', '-')}"
            code, wall, mb, _ = run_process([sys.executable, "-m", "optimizer", "solve", str(path), "--out", str(out),
                                             "--quiet"], cap)
            walls[name].append(wall)
            mbs[name].append(mb)
            if code is not None:
                summaries[name] = json.loads((out / "summary.json").read_text())
    entry = {"days": days, "runs": runs}
    for name in walls:
        s = summaries.get(name, {})
        entry[name] = {"wall_s_median": statistics.median(walls[name]), "wall_s": walls[name],
                       "peak_mb_max": max(mbs[name]), "termination": s.get("termination"),
                       "levels_proven": s.get("levels_proven_optimal"), "objective": s.get("objective"),
                       "counts": s.get("counts")}
    entry["ratio"] = entry["limits"]["wall_s_median"] / entry["no limits"]["wall_s_median"]
    return entry


def _table(results: list[dict]):
    from rich.table import Table

    t = Table(title="bedalloc solve with and without contract 1.1's limits and ties (median wall clock, "
              "start-up included)", title_justify="left")
    for col in ("days", "variant", "wall s", "peak MB", "levels", "transfers", "released", "released risk",
                "surge", "unplaced", "cost USD"):
        t.add_column(col, justify="left" if col == "variant" else "right")
    for e in results:
        for name in ("limits", "no limits"):
            v = e[name]
            o, c = v["objective"] or {}, v["counts"] or {}
            t.add_row(str(e["days"]), name, f"{v['wall_s_median']:.2f}", f"{v['peak_mb_max']:.0f}",
                      str(v["levels_proven"]), f"{c.get('transfers', 0):,}", f"{c.get('released', 0):,}",
                      f"{o.get('released_risk', 0):,.4f}", f"{o.get('surge', 0):,}", f"{o.get('unplaced', 0):,}",
                      f"{o.get('cost_usd', 0):,.2f}")
    return t


def main() -> int:
    from rich.console import Console

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cap", type=float, default=900.0, help="seconds before a run is killed")
    ap.add_argument("--days", type=int, nargs="+", default=[1, 14], choices=[1, 14])
    ap.add_argument("--out", default=str(HERE / "results" / "limits.json"))
    args = ap.parse_args()
    con = Console(width=None if sys.stdout.isatty() else 160)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for days in args.days:
            e = _measure(days, args.runs, args.cap, Path(tmp))
            results.append(e)
            con.print(f"{days} day(s): with limits {e['limits']['wall_s_median']:.2f} s, without "
                      f"{e['no limits']['wall_s_median']:.2f} s, ratio {e['ratio']:.2f}")
    con.print(_table(results))
    write_results(args.out, results, con)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
