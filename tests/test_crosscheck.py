"""``benchmarks/crosscheck.py`` on a few instances: the brute force and a backend in processes of
their own agree, the records and the table say so, and a wrong level would be caught."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from crosscheck import agrees, case, main, records  # noqa: E402


def test_instances_cover_kinds_and_rules():
    kinds = [case(s)[0] for s in range(6)]
    assert kinds == ["one", "one", "multi", "one", "one", "multi"]
    _, doc = case(0)  # limits, ties and pins all on for instance 0
    assert any("pin" in p for p in doc["people"]) and any(p.get("local_ties") for p in doc["people"])


def test_tiny_run_agrees_with_brute_force(tmp_path, capsys):
    out = tmp_path / "cc"
    assert main(["--n", "3", "--solvers", "highs,flow", "--out", str(out), "--jobs", "2"]) == 0
    table = capsys.readouterr().out
    assert "| highs | HiGHS" in table and "| 3 | 3 | 3 | 0 | 0 | 0 | 0 | 0 | 0 |" in table
    brute, highs = records(out / "brute.jsonl"), records(out / "highs.jsonl")
    assert [r["seed"] for r in brute] == [r["seed"] for r in highs] == [0, 1, 2]
    assert all(r["status"] == "optimal" and r["violations"] == 0 for r in highs)
    assert all(agrees(h, b) for h, b in zip(highs, brute))
    flow = records(out / "flow.jsonl")
    assert {r["status"] for r in flow} <= {"optimal", "skipped", "refused"}
    with open(out / "runs.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 9
    wrong = dict(highs[0], surge=highs[0]["surge"] + 1)
    cheaper = dict(highs[0], cost_usd=highs[0]["cost_usd"] - 0.01)
    assert not agrees(wrong, brute[0]) and not agrees(cheaper, brute[0])


def test_the_backends_run_as_tasks_of_a_dask_cluster(tmp_path, capsys):
    """Issue 23 item 4: with --workers the same records come from a local Dask cluster."""
    out = tmp_path / "cc"
    assert main(["--n", "2", "--solvers", "highs", "--out", str(out), "--workers", "1"]) == 0
    brute, highs = records(out / "brute.jsonl"), records(out / "highs.jsonl")
    assert [r["seed"] for r in highs] == [0, 1] and all(agrees(h, b) for h, b in zip(highs, brute))
    with pytest.raises(SystemExit):  # a scheduler has its own workers: one or the other
        main(["--n", "2", "--out", str(out), "--workers", "1", "--scheduler", "tcp://127.0.0.1:1"])
