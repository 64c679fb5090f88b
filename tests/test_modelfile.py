"""Models any solver can read: ``solve --write-model`` MPS files reproduce each level's optimum
in HiGHS and map back through model.json; ``export-model --person-level`` gives the same optima."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from optimizer.cli import main
from randinst import multiday_instance, write_instance

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny.json"


def _optimum(path: Path) -> tuple[float, np.ndarray]:
    import highspy

    h = highspy._core._Highs()
    h.setOptionValue("output_flag", False)
    # kWarning: Pyomo's MPS writer gives unbounded integer columns the upper bound 1e+21, which
    # HiGHS reads as infinite with a warning
    assert h.readModel(str(path)) in (highspy.HighsStatus.kOk, highspy.HighsStatus.kWarning)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h.getInfo().objective_function_value, np.rint(h.getSolution().col_value)


def _solve_and_reread(tmp_path, instance) -> tuple[dict, dict, list]:
    """Solve with --write-model; each level's file re-solved in HiGHS: (summary, model.json,
    [(optimum, x)])."""
    assert main(["solve", str(instance), "--out", str(tmp_path / "out"), "--write-model",
                 str(tmp_path / "model"), "--quiet"]) in (0, 3)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    sidecar = json.loads((tmp_path / "model" / "model.json").read_text())
    return summary, sidecar, [_optimum(tmp_path / "model" / lv["file"]) for lv in sidecar["levels"]]


def _check_levels(summary, sidecar, solved):
    assert [lv["name"] for lv in sidecar["levels"]] == list(summary["objective"])
    for lv, (z, _) in zip(sidecar["levels"], solved):
        assert z == pytest.approx(lv["optimum"], abs=1e-6)
        value = (z + lv["offset"]) / lv["scale"]
        assert value == pytest.approx(summary["objective"][lv["name"]], abs=0.005), lv["name"]
        assert [h["at_most"] for h in lv["holds"]] == [s["optimum"] for s in sidecar["levels"][: lv["level"] - 1]]


def test_tiny_levels_reproduced_and_columns_map_back(tmp_path):
    summary, sidecar, solved = _solve_and_reread(tmp_path, TINY)
    _check_levels(summary, sidecar, solved)
    assert [lv["optimum"] for lv in sidecar["levels"]] == [0.0, 1.0, 1225000.0, pytest.approx(18416.889, abs=1e-3)]
    x, cols = solved[3][1], sidecar["columns"]
    block = {name: x[b["first"]:b["first"] + b["count"]] for name, b in cols.items()}
    # every single person of a class is unplaced, detained or released in one of its segments
    released = np.bincount(cols["seg"]["class"], weights=block["seg"], minlength=len(sidecar["classes"]))
    detained = np.zeros(len(sidecar["classes"]))
    detained[cols["det"]["class"]] = block["det"]
    sizes = [len(c["people"]) for c in sidecar["classes"]]
    assert (block["unp"] + detained + released).tolist() == sizes
    assert {u: v for u, v in zip(cols["surge"]["unit"], block["surge"]) if v} == {"MTG-CD": 1.0}
    assert sidecar["families"] == [["P08", "P09"]] and cols["fam"]["unit"] == ["DIL-FAM"]


@pytest.fixture(scope="module")
def small_instance(tmp_path_factory):
    from optimizer.generate import national_instance

    path = tmp_path_factory.mktemp("gen") / "hou.json"
    path.write_text(json.dumps(national_instance(seed=1, aors=["HOU"], scale=0.05)))
    return path


def test_small_generated_instance(tmp_path, small_instance):
    summary, sidecar, solved = _solve_and_reread(tmp_path, small_instance)
    assert len(solved) == 4
    _check_levels(summary, sidecar, solved)


def test_multi_day_instance(tmp_path):
    path = write_instance(multiday_instance(3, max_people=8), tmp_path / "multiday.json")
    summary, sidecar, solved = _solve_and_reread(tmp_path, path)
    _check_levels(summary, sidecar, solved)
    coh = sidecar["columns"]["coh"]
    assert len(coh["class"]) == len(coh["depart"]) == len(coh["release"]) == coh["count"] > 0


def test_person_level_levels_equal_the_class_models(tmp_path):
    # levels 3 (risk in 0.0001 points) and 4 (the guaranteed-minimum payments as a constant),
    # each with the earlier levels held (levels 1-2 alone: each under a second more)
    for k, value in ((3, 122.5 * 10_000), (4, 24716.889)):
        out = tmp_path / f"p{k}.mps"
        assert main(["export-model", str(TINY), "--level", str(k), "--person-level", str(out)]) == 0
        z, _ = _optimum(out)
        assert z == pytest.approx(value, abs=1e-3), k
    text = (tmp_path / "p4.mps").read_text()
    assert "x(P01_MTG_CD)" in text and "hold(3)" in text
    mask = os.umask(0)
    os.umask(mask)
    # an ordinary file, as open() makes it (was 0600 from mkstemp; new-user review)
    assert stat.S_IMODE((tmp_path / "p4.mps").stat().st_mode) == 0o666 & ~mask


def test_refusals_write_nothing(tmp_path, capsys):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("keep")
    assert main(["solve", str(TINY), "--out", str(tmp_path / "out"), "--write-model", str(tmp_path / "busy")]) == 2
    assert "--write-model: the folder holds other files (notes.txt)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["notes.txt"]
    multiday = write_instance(multiday_instance(1), tmp_path / "multiday.json")
    assert main(["export-model", str(multiday), "--level", "1", "--person-level", str(tmp_path / "m.mps")]) == 2
    assert "one-day instances only" in capsys.readouterr().err and not (tmp_path / "m.mps").exists()
