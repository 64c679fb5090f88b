"""The constructive plan used when a time limit leaves no incumbent (optimizer/heuristic.py)."""

from __future__ import annotations

import json

from optimizer.cli import main
from optimizer.heuristic import greedy_plan
from optimizer.model import network_arrays, people_arrays
from optimizer.solve import plan_rows
from optimizer.verify import verify
from randinst import load_multiday, load_random


def test_constructive_plans_are_feasible(tmp_path):
    """One-day and multi-day random instances: the verifier finds no violation."""
    for seed in range(80):
        for inst in (load_random(seed, tmp_path), load_multiday(seed, tmp_path)):
            P, N = people_arrays(inst), network_arrays(inst)
            check = verify(inst, plan_rows(inst, P, N, *greedy_plan(inst, P, N)))
            assert check.ok, (seed, inst.horizon_days, check.violations[:3])


def test_time_limit_before_any_incumbent_still_writes_a_verified_plan(tmp_path, capsys):
    """National instance, a limit that runs out while reading: exit 1 and a plan, never nothing."""
    out = tmp_path / "plan"
    assert main(["solve", "instances/ice-fy2026.json", "--time-limit", "0.05", "--out", str(out), "--quiet"]) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["termination"] == "time_limit" and summary["levels_proven_optimal"] == 0
    assert summary["native_status"][-1] == "constructive heuristic"
    assert summary["objective"]["unplaced"] == 0  # everyone gets a bed or a slot
    assert main(["check", "instances/ice-fy2026.json", str(out)]) == 0
