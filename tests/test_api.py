"""The Python API (optimizer/api.py, docs/api.md): functions in a fresh interpreter, the CLI's
levels through it, the documented example, frozen results and the documented errors."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

# from optimizer.api, not optimizer: until optimizer/solve.py and verify.py are renamed, the package
# attributes solve and verify are the engine's modules once another test module has imported them
from optimizer.api import BackendError, InputError, SolverError, explain, read_instance, solve, verify, whatif
from optimizer.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny.json"
TINY_LEVELS = {"unplaced": 0, "surge": 1, "released_risk": 122.5, "cost_usd": 24716.89}


def _python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_fresh_interpreter_gets_functions_and_the_clis_four_levels(tmp_path):
    got = json.loads(_python(
        "import inspect, json\n"
        "from optimizer import read_instance, solve, verify\n"
        "assert all(inspect.isfunction(f) for f in (read_instance, solve, verify))\n"
        "res = solve(read_instance('instances/tiny.json'))\n"
        "assert verify('instances/tiny.json', res).ok\n"
        "print(json.dumps([res.termination, res.levels_proven, res.objective]))\n"))
    assert main(["solve", str(TINY), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    cli = json.loads((tmp_path / "out" / "summary.json").read_text())["objective"]
    assert got == ["optimal", 4, cli] and cli == TINY_LEVELS


def test_the_documented_example_runs_as_written():
    text = (ROOT / "docs" / "api.md").read_text()
    example = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    out = _python(example)
    assert "{'unplaced': 0, 'surge': 1, 'released_risk': 122.5, 'cost_usd': 24716.89}" in out
    assert "1 -> 0 surge bed-days; 1 people moved" in out


def test_no_package_name_is_both_a_function_and_a_submodule():
    out = _python("import inspect, optimizer\n"
                  "import optimizer.engine, optimizer.verifier\n"
                  "optimizer.solve('instances/tiny.json')\n"
                  "print(inspect.isfunction(optimizer.solve), inspect.isfunction(optimizer.verify))\n")
    assert out.split() == ["True", "True"]


def test_result_is_frozen_and_typed():
    res = solve(TINY)
    assert res.objective == TINY_LEVELS and res.termination == "optimal" and res.solver == "highs"
    assert [lv.name for lv in res.levels] == list(TINY_LEVELS) and all(lv.proven for lv in res.levels)
    assert res.levels[2].bound == 122.5 and res.levels[2].gap == 0.0
    assert len(res.rows) == 12 and res.rows[0]["person_id"] == "P01"
    assert res.verification.ok and res.verification.objective == TINY_LEVELS
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.termination = "time_limit"


def test_to_pandas():
    pd = pytest.importorskip("pandas")
    res = solve(TINY)
    plan = res.to_pandas()
    assert plan.shape == (12, 10) and plan["decision"].value_counts().to_dict() == {"detain": 8, "release": 3,
                                                                                   "removed": 1}
    assert plan.loc[plan["decision"] == "release", "reason"].tolist() == ["humanitarian", "legal_limit", "capacity"]
    assert pd.DataFrame(res.levels)["value"].tolist() == list(TINY_LEVELS.values())


def test_verify_takes_rows_and_plan_files_and_reports_violations(tmp_path):
    inst = read_instance(TINY)
    res = solve(inst)
    assert main(["solve", str(TINY), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert verify(inst, tmp_path / "out").objective == TINY_LEVELS
    assert verify(TINY, str(tmp_path / "out" / "plan.csv")).ok
    rows = [dict(r) for r in res.rows]
    detained = next(r for r in rows if r["decision"] == "detain")
    detained["unit_id"] = "NOPE"
    report = verify(inst, rows)
    assert report.violations == ["unknown: people[0] id=P01: unit_id 'NOPE' is not a unit of the instance"]


def test_explain_and_whatif():
    inst = read_instance(TINY)
    res = solve(inst)
    assert explain(inst, res, "P01").startswith("P01: man, level C")
    w = whatif(TINY, beds={"MTG": 2})
    assert (w.base["surge"], w.whatif["surge"], w.moved) == (1, 0, 1)
    assert w.base["released_risk"] == 122.5 and w.whatif["released_risk"] == 95.0


def test_rows_with_none_for_empty_cells_verify_and_explain_as_with_empty_strings():
    inst = read_instance(TINY)
    rows = solve(inst).rows
    nones = [{k: (None if v == "" else v) for k, v in r.items()} for r in rows]
    assert verify(inst, nones).ok
    for person in ("P01", "P05", "P12"):
        assert explain(inst, nones, person) == explain(inst, rows, person)


def test_documented_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(InputError) as e:
        read_instance(bad)
    assert e.value.exit_code == 2 and str(bad) in e.value.lines[0]
    with pytest.raises(BackendError, match="unknown solver 'nope'"):
        solve(TINY, solver="nope")
    with pytest.raises(BackendError, match="mip_gap"):
        solve(TINY, mip_gap=2.0)
    with pytest.raises(InputError, match="no person with id 'X9'"):
        explain(TINY, solve(TINY), "X9")
    with pytest.raises(InputError, match="no facility 'NOPE'"):
        whatif(TINY, beds={"NOPE": 1})
    assert BackendError.exit_code == 2 and SolverError.exit_code == 4


@pytest.mark.parametrize("call", [
    lambda inst: read_instance(None),
    lambda inst: solve(None),
    lambda inst: solve(inst, solver=3),
    lambda inst: solve(inst, time_limit="10"),
    lambda inst: solve(inst, seed="a"),
    lambda inst: verify(inst, 5),
    lambda inst: verify(inst, [{"person_id": "P01"}]),
    lambda inst: verify(None, []),
    lambda inst: whatif(inst, beds={"MTG": 1.5}),
    lambda inst: whatif(inst, beds={"MTG": True}),
    lambda inst: whatif(inst, beds=["MTG"]),
    lambda inst: whatif(inst, transfers_total="3"),
])
def test_wrong_arguments_raise_input_error(call):
    """A wrong argument is an InputError naming it (the CLI's exit 2), never a raw TypeError
    from deep inside or a SolverError."""
    with pytest.raises(InputError):
        call(read_instance(TINY))
