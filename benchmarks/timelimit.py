"""Time limits: how long ``bedalloc solve --time-limit T`` really takes, as a whole command.

    .venv/bin/python benchmarks/timelimit.py [--national 2,3,5,10] [--horizon 5,10,30]
                                             [--big 15,20,30,60] [--big-people 500000] [--runs 3]

For each limit T it runs the command ``--runs`` times in its own process on the national instance,
the national 14-day instance and a synthetic instance of ``--big-people`` people (``bedalloc
generate --scale``); an empty list of limits skips that instance.  It measures
the process wall clock (interpreter start to exit) and reports the median, the overshoot
(median - T), the allowance of issue 6 (10 % of T + 1 s), the exit codes, the levels proven and
whether the plan was the constructive one; writes ``benchmarks/results/timelimit.json``.
Limits below the *floor* (reading, a constructive plan, verification and writing) cannot be kept;
the script also measures that floor with ``--time-limit 0.001``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from national import ROOT, run_process, write_results  # noqa: E402

NATIONAL_PEOPLE = 66_157


def _limits(text: str, flag: str) -> list[float]:
    try:
        out = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SystemExit(f"timelimit.py: {flag}: comma-separated seconds expected, got {text!r}") from None
    if not out or any(not (v > 0) for v in out):
        raise SystemExit(f"timelimit.py: {flag}: positive seconds expected, got {text!r}")
    return out


def main() -> int:
    from rich.console import Console
    from rich.table import Table

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--national", default="2,3,5,10", help="limits (s) for the national instance")
    ap.add_argument("--horizon", default="5,10,30", help="limits (s) for the national 14-day instance")
    ap.add_argument("--big", default="15,20,30,60", help="limits (s) for the synthetic instance")
    ap.add_argument("--big-people", type=int, default=500_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "results" / "timelimit.json"))
    args = ap.parse_args()
    if args.runs < 1 or args.big_people < 1:
        raise SystemExit("timelimit.py: --runs and --big-people must be at least 1")
    plan = [(name, str(ROOT / "instances" / file), _limits(text, flag))
            for name, file, text, flag in (("national", "ice-fy2026.json", args.national, "--national"),
                                           ("national 14-day", "ice-fy2026-14d.json", args.horizon, "--horizon"))
            if text]
    py = sys.executable
    con = Console(width=None if sys.stdout.isatty() else 160)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.big:
            big = Path(tmp) / "big.json"
            run_process([py, "-m", "optimizer", "generate", "--scale", f"{args.big_people / NATIONAL_PEOPLE:.6f}",
                         "--out", str(big)])
            plan.append((f"synthetic {args.big_people:,}", str(big), _limits(args.big, "--big")))
        for name, path, limits in plan:
            for limit in [0.001] + limits:
                walls, codes, proven, constructive = [], [], [], []
                for _ in range(args.runs):
                    out = Path(tmp) / "plan"
                    code, wall, _, _ = run_process([py, "-m", "optimizer", "solve", path, "--out", str(out),
                                                    "--time-limit", str(limit), "--quiet"], 10 * limit + 120)
                    walls.append(wall)
                    codes.append(code)
                    summary = json.loads((out / "summary.json").read_text()) if code in (0, 1, 3) else {}
                    proven.append(summary.get("levels_proven_optimal"))
                    constructive.append("constructive heuristic" in summary.get("native_status", []))
                median = statistics.median(walls)
                results.append({
                    "instance": name, "limit_s": limit, "runs": args.runs, "wall_s_median": round(median, 3),
                    "wall_s_max": round(max(walls), 3), "overshoot_s": round(median - limit, 3),
                    "allowed_s": round(0.1 * limit + 1.0, 3), "within": median <= 1.1 * limit + 1.0,
                    "exit_codes": codes, "levels_proven": proven, "constructive": constructive,
                })
                con.print(f"{name}: limit {limit:g} s: median {median:.2f} s, exit codes {codes}")
    table = Table(title="bedalloc solve --time-limit T: whole-command wall clock (median)")
    for col in ("instance", "T s", "median s", "max s", "overshoot s", "allowed s", "within", "exit", "proven",
                "constructive"):
        table.add_column(col, justify="left" if col == "instance" else "right")
    for r in results:
        floor = r["limit_s"] == 0.001  # the floor has no allowance: it is what no limit goes below
        table.add_row(r["instance"], "floor" if floor else f"{r['limit_s']:g}",
                      f"{r['wall_s_median']:.2f}", f"{r['wall_s_max']:.2f}",
                      "-" if floor else f"{r['overshoot_s']:+.2f}", "-" if floor else f"{r['allowed_s']:.2f}",
                      "-" if floor else ("yes" if r["within"] else "no"), ",".join(map(str, r["exit_codes"])),
                      ",".join(map(str, r["levels_proven"])), f"{sum(r['constructive'])} of {r['runs']}")
    con.print(table)
    write_results(args.out, results, con)
    return 0


if __name__ == "__main__":
    sys.exit(main())
