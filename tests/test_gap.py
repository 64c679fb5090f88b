"""Backends on the generalized assignment problem against published optima (OR-Library)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from gap import DATA, GapFormatError, gap_problem, known_optima, read_gap  # noqa: E402

from optimizer import backends  # noqa: E402
from optimizer.backends.base import MipParams  # noqa: E402

SOLVERS = [b["name"] for b in backends.describe() if b["available"] and b["name"] in backends.MIP]


def test_reader_shapes():
    instances = read_gap(DATA / "orlib" / "gap1.txt")
    assert len(instances) == 5
    c, r, b = instances[0]
    assert c.shape == r.shape == (5, 15) and b.shape == (5,)
    assert c[0, :3].tolist() == [17, 21, 22]


@pytest.mark.parametrize("name", SOLVERS)
@pytest.mark.parametrize("stem,index", [("gap1", 1), ("gap4", 3), ("gap8", 5)])
def test_known_optimum_both_senses(name, stem, index):
    optima = known_optima()
    c, r, b = read_gap(DATA / "orlib" / f"{stem}.txt")[index - 1]
    for sense in ("min", "max"):
        res = backends.get(name).solve(gap_problem(c, r, b, sense), MipParams(mip_gap=0.0, abs_gap=0.99))
        assert res.termination == "optimal"
        assert round(abs(res.objective)) == optima[(stem, index, sense)]


@pytest.mark.parametrize("text,msg", [("2\n1 2\n1 2\n", "truncated"), ("1\n1 1\n5 3 x\n", "whole numbers"),
                                      ("1\n1 1\n5 3 4\n9\n", "after the last instance")])
def test_reader_rejects_malformed_files(tmp_path, text, msg):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(GapFormatError, match=msg):
        read_gap(path)
