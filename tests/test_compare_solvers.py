"""``benchmarks/compare_solvers.py``: the Dolan-More performance ratios, the field's columns and
the PNG figures (no solver is run here)."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from compare_solvers import (FIELD_COLUMNS, field_status, plot_profile, plot_runtimes, profile_ratios,  # noqa: E402
                             shifted_geomean, write_runs)

ROWS = [  # instance x solver: a proves both, b proves one (3x slower), c proves none
    {"instance": "i1", "solver": "a", "termination": "optimal", "runtime_s": 2.0},
    {"instance": "i1", "solver": "b", "termination": "optimal", "runtime_s": 6.0},
    {"instance": "i1", "solver": "c", "termination": "time_limit", "runtime_s": 9.0},
    {"instance": "i2", "solver": "a", "termination": "optimal", "runtime_s": 4.0},
    {"instance": "i2", "solver": "b", "termination": "timeout", "runtime_s": 40.0},
    {"instance": "i2", "solver": "c", "termination": "refused", "runtime_s": 0.5},
    {"instance": "i3", "solver": "a", "termination": "time_limit", "runtime_s": 10.0},
]


def test_performance_ratios():
    r = profile_ratios(ROWS, ["a", "b", "c"])
    assert r == {"a": [1.0, 1.0, math.inf], "b": [3.0, math.inf, math.inf], "c": [math.inf] * 3}
    assert profile_ratios(ROWS, ["b"]) == {"b": [1.0, math.inf]}  # best among the solvers compared


def test_field_status_and_geomean():
    assert [field_status(r) for r in ROWS] == ["OK", "OK", "OK", "OK", "TO", "ER", "OK"]
    assert abs(shifted_geomean([0.0, 30.0]) - 10.0) < 1e-12  # sqrt(10 * 40) - 10


def test_runs_csv_and_figures(tmp_path):
    rows = [dict(r, benchmark="t", run_id="x", extra=1) for r in ROWS]
    write_runs(tmp_path, rows)
    with open(tmp_path / "runs.csv") as fh:
        header = next(csv.reader(fh))
    assert header[:6] == ["benchmark", "instance", "solver", "termination", "runtime_s", "run_id"]
    assert set(header) <= set(FIELD_COLUMNS) | {"extra"} and header[-1] == "extra"
    plot_profile(profile_ratios(ROWS, ["a", "b", "c"]), tmp_path / "p.png", "t")
    plot_runtimes(ROWS, ["a", "b", "c"], tmp_path / "r.png", "t")
    for name in ("p.png", "r.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png", "r.png", "runs.csv"]
