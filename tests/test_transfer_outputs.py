"""Contract 1.1 outputs of ``bedalloc solve`` (MODEL.md §5): summary.json ``transfers_by_aor``
and ``counts.pinned``, plan.csv's ``pinned`` column, and the terminal line of transfers against
the transport limits (optimizer/report.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from optimizer.cli import main
from optimizer.report import transfer_line

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny.json"


def test_solve_reports_transfers_against_the_limits(tmp_path, capsys):
    """tiny.json's optimum moves one person, P05 from HLD (AOR HOU) to BRZ; with HOU's limit at
    1 and 5 seats nationally the limits hold without changing it, and HOU is at its limit."""
    doc = json.loads(TINY.read_text(encoding="utf-8"))
    doc["aors"][0]["max_transfers_out_per_day"] = 1
    doc["policy"]["max_transfers_per_day"] = 5
    doc["people"][0]["pin"] = {"decision": "detain", "unit": "MTG-CD"}  # P01 stays where the optimum has it
    path = tmp_path / "limits.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["solve", str(path), "--out", str(out)]) == 0
    assert "transfers day 0: 1 of 5 seats; AORs at their limit: 1\n" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["transfers_by_aor"] == [
        {"aor": "HOU", "day": 0, "transfers": 1, "limit": 1},
        {"aor": "SNA", "day": 0, "transfers": 0, "limit": None},
        {"aor": None, "day": 0, "transfers": 1, "limit": 5},
    ]
    assert summary["counts"]["transfers"] == 1 and summary["counts"]["pinned"] == 1
    with open(out / "plan.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert reader.fieldnames[7:10] == ["effective_risk", "pinned", "reason"]
    assert [r["pinned"] for r in rows] == ["1"] + ["0"] * 11


def test_no_transfer_line_without_limits():
    table = [{"aor": "HOU", "day": 0, "transfers": 3, "limit": None},
             {"aor": None, "day": 0, "transfers": 3, "limit": None}]
    assert transfer_line(table) is None


def test_transfer_line_multi_day():
    table = [
        {"aor": "HOU", "day": 0, "transfers": 2, "limit": 2}, {"aor": "HOU", "day": 1, "transfers": 0, "limit": 2},
        {"aor": "SNA", "day": 0, "transfers": 1, "limit": None}, {"aor": "SNA", "day": 1, "transfers": 4, "limit": None},
        {"aor": None, "day": 0, "transfers": 3, "limit": None}, {"aor": None, "day": 1, "transfers": 4, "limit": None},
    ]
    assert transfer_line(table) == "transfers busiest day 1: 4 (no national limit); AORs at their limit: 1"
