"""Scale: time per phase and peak memory of ``bedalloc solve`` from 10,000 to 1,000,000 people.

    .venv/bin/python benchmarks/scale.py [--sizes 10000,100000,250000,1000000] [--runs 1] [--cap 900]

Each instance is ``bedalloc generate --scale S`` (the national instance, about 200 facilities and
690 units, with populations, beds and ATD slots multiplied by S = size / 66,157; one day), solved
in its own process (``--quiet``), killed after ``--cap`` seconds.  Prints one row per size: the
phases from ``summary.json`` (read, build, solve, verify, write), the process wall clock and
peak resident memory, and whether all four levels were proven optimal; writes
``benchmarks/results/scale.json``.
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

from national import run_process, write_results  # noqa: E402

NATIONAL_PEOPLE = 66_157


def main() -> int:
    from rich.console import Console
    from rich.table import Table

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,250000,1000000")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--cap", type=float, default=900.0)
    ap.add_argument("--out", default=str(HERE / "results" / "scale.json"))
    args = ap.parse_args()
    py = sys.executable
    con = Console(width=None if sys.stdout.isatty() else 140)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            scale = size / NATIONAL_PEOPLE
            path = Path(tmp) / f"scale-{size}.json"
            run_process([py, "-m", "optimizer", "generate", "--scale", f"{scale:.6f}", "--out", str(path)])
            people = len(json.loads(path.read_text())["people"])
            walls, mbs, phases, proven = [], [], {}, None
            for _ in range(args.runs):
                out = Path(tmp) / f"plan-{size}"
                code, wall, mb, _ = run_process([py, "-m", "optimizer", "solve", str(path), "--out", str(out),
                                                 "--quiet"], args.cap)
                walls.append(wall)
                mbs.append(mb)
                if code is None or not (out / "summary.json").exists():
                    break
                summary = json.loads((out / "summary.json").read_text())
                proven = summary["levels_proven_optimal"]
                for k, v in summary["timings_s"].items():
                    phases.setdefault(k, []).append(v)
            entry = {"size": size, "people": people, "scale": scale, "wall_s_median": statistics.median(walls),
                     "peak_mb_max": max(mbs), "levels_proven": proven,
                     "phases_s_median": {k: statistics.median(v) for k, v in phases.items()}}
            results.append(entry)
            con.print(f"{people:,} people: {entry['wall_s_median']:.1f} s, {entry['peak_mb_max']:.0f} MB")
            path.unlink()
    t = Table(title="bedalloc solve by size (one day; medians)", title_justify="left")
    for col in ("people", "read", "build", "solve", "verify", "write", "wall s", "peak MB", "levels proven"):
        t.add_column(col, justify="right")
    for e in results:
        ph = e["phases_s_median"]
        t.add_row(f"{e['people']:,}", *(f"{ph[k]:.2f}" if k in ph else "-" for k in ("read", "build", "solve", "verify",
                                                                                        "write")),
                  f"{e['wall_s_median']:.1f}", f"{e['peak_mb_max']:.0f}", str(e["levels_proven"] or "killed"))
    con.print(t)
    write_results(args.out, results, con)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
