"""The rolling-horizon simulation (optimizer/simulate.py, ``bedalloc simulate``)."""

from __future__ import annotations

import csv
import json

import pytest

from optimizer.cli import main
from optimizer.generate import national_instance
from optimizer.simulate import simulate


@pytest.fixture(scope="module")
def doc():
    return json.loads(json.dumps(national_instance(seed=2, aors=["HOU"], scale=0.05, horizon_days=4)))


def test_policies_reproducible_and_lawful(doc):
    """Same seed, same outcome; the optimizing policies never hold anyone past a legal limit;
    every person-day is accounted for."""
    a = simulate(doc, days=4, seed=1)
    b = simulate(doc, days=4, seed=1)
    assert [r.row() | {"solve_s": 0} for r in a] == [r.row() | {"solve_s": 0} for r in b]
    by = {r.policy: r for r in a}
    assert set(by) == {"horizon", "myopic", "rule"}
    assert by["horizon"].deadline_violations == by["myopic"].deadline_violations == 0
    for r in a:
        assert r.days == 4 and len(r.per_day) == 4
        assert all(d["in_beds"] + d["unplaced"] == d["in_custody"] for d in r.per_day)
        assert r.max_risk_released <= 100 and r.released_risk >= r.max_risk_released


def test_same_arrivals_for_every_policy(doc):
    """The policies see the same realized arrivals (one random stream per policy, same seed)."""
    out = simulate(doc, days=3, seed=5, policies=("myopic", "rule"))
    assert [d["in_custody"] for d in out[0].per_day][:1] == [d["in_custody"] for d in out[1].per_day][:1]


def test_cli_writes_the_csv_files(tmp_path, doc, capsys):
    path = tmp_path / "hou.json"
    path.write_text(json.dumps(doc))
    out = tmp_path / "sim"
    assert main(["simulate", str(path), "--days", "2", "--policies", "myopic,rule", "--out", str(out),
                 "--quiet"]) == 0
    rows = list(csv.DictReader(open(out / "simulation.csv")))
    assert [r["policy"] for r in rows] == ["myopic", "rule"]
    days = list(csv.DictReader(open(out / "days.csv")))
    assert len(days) == 4
    assert "deadline violations" in capsys.readouterr().out


@pytest.mark.parametrize("args,needle", [(["--policies", "greedy"], "unknown greedy"),
                                         (["--days", "0"], "--days"),
                                         (["--solver", "flow"], None)])
def test_cli_bad_arguments(tmp_path, doc, capsys, args, needle):
    path = tmp_path / "hou.json"
    path.write_text(json.dumps(doc))
    out = tmp_path / "sim"
    try:
        code = main(["simulate", str(path), "--days", "2", "--out", str(out), "--quiet", *args])
    except SystemExit as e:  # argparse refuses the command line
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    if needle:
        assert needle in err
    assert not out.exists()
