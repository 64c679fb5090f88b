"""Backends on the generalized assignment problem against published optima (OR-Library), and
``benchmarks/gap.py``'s readers: both file formats, the sense, the signed objective, refusals."""

from __future__ import annotations

import csv
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from gap import DATA, GapFormatError, main, plan_runs, read_gap, read_optima, solve_run  # noqa: E402

from optimizer import backends  # noqa: E402
from optimizer.backends.base import MipParams  # noqa: E402

SOLVERS = [b["name"] for b in backends.describe() if b["available"] and b["name"] in backends.MIP]
PARAMS = MipParams(mip_gap=0.0, abs_gap=0.99)
# 2 agents, 4 jobs, negative costs: cost, resource, capacity
COST = [[-3, 5, -2, 4], [1, -6, 2, -1]]
RESOURCE = [[2, 3, 1, 2], [1, 2, 3, 2]]
CAPACITY = [4, 5]


def _single(cost=COST, resource=RESOURCE, capacity=CAPACITY) -> str:
    m, n = len(cost), len(cost[0])
    return "\n".join([f" {m} {n}", *(" ".join(map(str, r)) for r in cost + resource), " ".join(map(str, capacity))])


def _write(tmp_path, name, text) -> Path:
    path = tmp_path / name
    path.write_text(text + "\n")
    return path


def _enumerate(sense: str) -> int:
    """The optimum by enumerating every assignment of the 4 jobs to the 2 agents."""
    values = []
    for agents in itertools.product(range(2), repeat=4):
        use = [sum(RESOURCE[i][j] for j, a in enumerate(agents) if a == i) for i in range(2)]
        if all(u <= c for u, c in zip(use, CAPACITY)):
            values.append(sum(COST[a][j] for j, a in enumerate(agents)))
    return min(values) if sense == "min" else max(values)


def test_reader_multi_instance_shapes():
    instances = read_gap(DATA / "orlib" / "gap1.txt")
    assert [i.name for i in instances] == [f"gap1-{k}" for k in range(1, 6)]
    c, r, b = instances[0].cost, instances[0].resource, instances[0].capacity
    assert c.shape == r.shape == (5, 15) and b.shape == (5,)
    assert c[0, :3].tolist() == [17, 21, 22]


def test_single_and_multi_formats_read_the_same_instance(tmp_path):
    """Told apart by structure: the same instance, alone (``m n`` first) and as a one-instance
    OR-Library file (count first), reads the same; the single one is named after its file."""
    [one] = read_gap(_write(tmp_path, "e0204", _single()))
    [multi] = read_gap(_write(tmp_path, "set.txt", "1\n" + _single()))
    assert (one.name, multi.name) == ("e0204", "set-1")
    for a, b in ((one.cost, multi.cost), (one.resource, multi.resource), (one.capacity, multi.capacity)):
        assert np.array_equal(a, b)
    assert one.cost.tolist() == COST and one.capacity.tolist() == CAPACITY


@pytest.mark.parametrize("text,msg", [
    ("2\n1 2\n1 2\n", r"instance 1 of 2 \(m=1, n=2, line 2\) needs 5 numbers after its size; the file ends after 2"),
    ("1\n1 1\n5 3 x\n", r"line 3: 'x' is not a whole number"),
    ("1\n1 1\n5 3 4\n9\n", r"line 4: 1 numbers after the last of 1 instances"),
    (" 2 4\n" + "1 " * 16 + "\n4\n", r"line 1 gives m=2 n=4, so a single-instance file holds 2 \+ 2mn \+ m = 20 "
     r"numbers; this one holds 19"),
    (_single(capacity=[4, -5]), r"line 6: the instance: capacity of agent 2 is negative \(-5\)"),
    (_single(resource=[[2, 3, 1, 2], [1, 2, -3, 2]]), r"line 5: the instance: resource of agent 2, job 3 is "
     r"negative \(-3\)"),
    ("0\n", "line 1: neither 'm n' of one instance nor a positive number of instances"),
    ("", "neither"),
])
def test_reader_refuses_invalid_data(tmp_path, text, msg):
    path = _write(tmp_path, "bad.txt", text)
    with pytest.raises(GapFormatError, match=msg) as e:
        read_gap(path)
    assert str(e.value).startswith(f"{path}: ")


def test_invalid_data_exits_2_naming_file_and_line(tmp_path, capsys):
    path = _write(tmp_path, "neg", _single(capacity=[-1, 5]))
    out = tmp_path / "out"
    assert main([f"{path}:min", "--solvers", "highs-mip", "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"gap.py: {path}: line 6: the instance: capacity of agent 1 is negative (-1)\n"
    assert not out.exists()


@pytest.mark.parametrize("text,msg", [
    ("instance,sense,optimum\nx,min,3\n", "missing column"),
    ("instance,sense,optimum,proven\nx,minimise,3,true\n", "row 2: sense must be min or max"),
    ("instance,sense,optimum,proven\nx,min,three,true\n", "row 2, column optimum: 'three' is not a number"),
    ("instance,sense,optimum,proven\nx,min,3,true\nx,min,4,false\n", "row 3: x min is listed twice"),
])
def test_optima_file_refusals(tmp_path, text, msg):
    with pytest.raises(GapFormatError, match=msg):
        read_optima(_write(tmp_path, "optima.csv", text))


def test_sense_per_file_flag_or_optima(tmp_path):
    path = _write(tmp_path, "e0204", _single())
    optima = read_optima(_write(tmp_path, "o.csv", "instance,sense,optimum,proven\ne0204,max,9,true\ne0204,min,-9,true"))
    assert [s for _, s in plan_runs([str(path)], None, optima)] == ["min", "max"]
    assert [s for _, s in plan_runs([f"{path}:max"], "min", optima)] == ["max"]
    assert [s for _, s in plan_runs([str(path)], "min", {})] == ["min"]
    with pytest.raises(GapFormatError, match="no sense to solve in"):
        plan_runs([str(path)], None, {})


@pytest.mark.parametrize("name", SOLVERS)
def test_signed_objective_and_bound_against_enumeration(name, tmp_path):
    [inst] = read_gap(_write(tmp_path, "e0204", _single()))
    for sense in ("min", "max"):
        want = _enumerate(sense)
        row = solve_run(name, inst, sense, PARAMS, {("e0204", sense): (want, True)})
        assert row["status"] == "optimal" and row["matched"]
        assert round(row["objective"]) == want and abs(row["bound"] - want) < 1
    assert (_enumerate("min"), _enumerate("max")) == (-12, 3)


def test_runs_csv_reports_the_published_optimum(tmp_path, capsys):
    path = _write(tmp_path, "e0204", _single())
    optima = _write(tmp_path, "o.csv", "instance,sense,optimum,proven,source\ne0204,min,-12,true,enumeration")
    assert main([str(path), "--optima", str(optima), "--solvers", "highs-mip", "--out", str(tmp_path / "out")]) == 0
    assert "e0204 min  highs-mip    optimal  objective -12  bound -12  gap 0.00e+00" in capsys.readouterr().out
    [row] = list(csv.DictReader(open(tmp_path / "out" / "runs.csv")))
    assert (row["instance"], row["sense"], float(row["objective"]), row["matched"]) == ("e0204", "min", -12.0, "True")


@pytest.mark.parametrize("name", SOLVERS)
@pytest.mark.parametrize("stem,index", [("gap1", 1), ("gap4", 3), ("gap8", 5)])
def test_known_optimum_both_senses(name, stem, index):
    optima = read_optima(DATA / "known_optima.csv")
    inst = read_gap(DATA / "orlib" / f"{stem}.txt")[index - 1]
    for sense in ("min", "max"):
        row = solve_run(name, inst, sense, PARAMS, optima)
        assert row["status"] == "optimal" and row["proven"] and row["matched"], row
        assert round(row["objective"]) == optima[f"{stem}-{index}", sense][0]
