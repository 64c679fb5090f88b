"""Sweep engine: speed-up of 2 Dask workers over 1, and the engine's per-cell overhead over a loop.

    .venv/bin/python benchmarks/sweep.py [--instance instances/ice-fy2026.json] [--cells 12] [--runs 3]

The sweep is ``--cells`` points of the capacity curve (every unit's beds from -30 % in steps of
5 %), each cell :func:`optimizer.sweep.run_cell` (build the scenario, solve, verify).  Three
modes, run alternately ``--runs`` times (the machine may be shared: medians are reported):

* ``loop``: the cells one after the other in this process (no engine);
* ``dask1`` / ``dask2``: a LocalCluster of 1 / 2 single-threaded worker processes; the time is
  from the first submit to the last result (the cluster's start-up is reported apart, as
  ``startup_s``), the instance scattered once.

Overhead = dask1 / loop - 1 (the engine's cost per cell: scatter, scheduling, result transfer,
and the worker's first imports); speed-up = dask1 / dask2 (``--modes`` chooses the modes and
their order in each run).  Writes
``benchmarks/results/sweep.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from optimizer.sweep import DEFAULTS, as_completed_results, cells, cluster, run_cell

HERE = Path(__file__).resolve().parent


def loop(data: bytes, grid_cells: list[dict]) -> dict:
    t0 = time.monotonic()
    rows = [run_cell(data, c)["row"] for c in grid_cells]
    return {"wall_s": time.monotonic() - t0, "cell_s": sum(r["wall_s"] for r in rows), "ok": _ok(rows)}


def on_dask(data: bytes, grid_cells: list[dict], workers: int) -> dict:
    t0 = time.monotonic()
    with cluster(workers=workers) as client:
        client.wait_for_workers(workers)
        t1 = time.monotonic()
        rows = [res["row"] for _, res in as_completed_results(client, run_cell, grid_cells, data)]
        t2 = time.monotonic()
    return {"wall_s": t2 - t1, "startup_s": t1 - t0, "cell_s": sum(r["wall_s"] for r in rows), "ok": _ok(rows)}


def _ok(rows: list[dict]) -> bool:
    return all(r["status"] == "ok" and r["levels_proven"] == 4 for r in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instance", default="instances/ice-fy2026.json")
    ap.add_argument("--cells", type=int, default=12)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--modes", default="loop,dask1,dask2", help="the modes, in the order each run takes them")
    args = ap.parse_args()
    data = Path(args.instance).read_bytes()
    grid_cells = cells({**DEFAULTS, "beds": [-30 + 5 * k for k in range(args.cells)]})
    runs: dict[str, list[dict]] = {m: [] for m in args.modes.split(",")}
    for r in range(args.runs):
        for mode in runs:
            res = loop(data, grid_cells) if mode == "loop" else on_dask(data, grid_cells, int(mode[-1]))
            runs[mode].append(res)
            print(f"run {r + 1} {mode}: {json.dumps({k: round(v, 2) for k, v in res.items()})}", flush=True)
    med = {m: statistics.median(x["wall_s"] for x in v) for m, v in runs.items()}
    summary = {"instance": args.instance, "cells": args.cells, "runs": runs, "median_wall_s": med,
               "median_startup_s": {m: statistics.median(x["startup_s"] for x in v) for m, v in runs.items()
                                    if m != "loop"}}
    if {"loop", "dask1"} <= set(med):
        summary["overhead"] = med["dask1"] / med["loop"] - 1
    if {"dask1", "dask2"} <= set(med):
        summary["speedup_2_vs_1"] = med["dask1"] / med["dask2"]
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=1))
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "sweep.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
