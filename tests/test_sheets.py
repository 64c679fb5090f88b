"""Spreadsheet instances and plan.xlsx (optimizer/sheets.py, optimizer/planbook.py,
docs/spreadsheets.md): lossless round trips JSON <-> XLSX <-> CSV folder, the same plan from
every format, every malformed workbook refused in one line per problem naming sheet, row and
column (exit 2, nothing written), the template, and plan.xlsx's sheets."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from optimizer import sheets
from optimizer.cli import main
from optimizer.errors import InputError
from optimizer.instance import parse_instance, read_instance

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny.json"


def tiny_doc() -> dict:
    return json.loads(TINY.read_text())


def rich_doc() -> dict:
    """tiny.json with what a round trip could lose: pins of both kinds, nulls, overridden and
    added humanitarian factors, annotations that are objects, JSON-looking text, numbers, null."""
    doc = tiny_doc()
    doc["x_meta"] = {"source": "test", "n": [1, 2]}
    doc["policy"].update(humanitarian_factors={"pregnant": 0.3, "veteran": 0.9}, max_transfers_per_day=7)
    doc["facilities"][0]["x_contract"] = "[not json"
    doc["facilities"][1]["x_contract"] = "[1, 2]"  # text that looks like JSON stays text
    doc["facilities"][0]["units"][0]["x_floor"] = 3
    people = doc["people"]
    people[0]["pin"] = {"decision": "detain", "facility": "MTG"}
    people[1]["x_case"] = None
    people[2]["humanitarian"] = ["pregnant", "veteran"]
    people[3]["x_case"] = "note, with comma"
    return doc


def write_rich(tmp_path: Path) -> tuple[Path, object]:
    src = tmp_path / "rich.json"
    src.write_text(json.dumps(rich_doc()))
    return src, read_instance(src)


def test_round_trip_json_xlsx_csv_json_is_lossless(tmp_path):
    src, inst = write_rich(tmp_path)
    assert inst.people[0].pin.facility == "MTG" and inst.facilities[1].annotations["x_contract"] == "[1, 2]"
    chain = [src, tmp_path / "a.xlsx", tmp_path / "b", tmp_path / "c.xlsx", tmp_path / "d.json", tmp_path / "e"]
    for a, b in zip(chain, chain[1:]):
        assert sheets.convert(a, b) == inst
        assert read_instance(b) == inst, b
    assert read_instance(chain[-1]).people[1].annotations["x_case"] is None
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == sorted(f"{s}.csv" for s in sheets.SHEETS)


def test_round_trip_generated_regional_instance(tmp_path):
    out = tmp_path / "sna.json"
    assert main(["generate", "--aor", "SNA", "--scale", "0.01", "--horizon-days", "2", "--out", str(out)]) == 0
    inst = read_instance(out)
    assert len(inst.people) == 47 and any(p.local_ties for p in inst.people)
    sheets.convert(out, tmp_path / "g.xlsx")
    sheets.convert(tmp_path / "g.xlsx", tmp_path / "g")
    assert read_instance(tmp_path / "g.xlsx") == inst
    assert read_instance(tmp_path / "g") == inst


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_same_plan_from_json_xlsx_and_csv_folder(tmp_path):
    sheets.convert(TINY, tmp_path / "tiny.xlsx")
    sheets.convert(TINY, tmp_path / "tiny")
    objectives = []
    for src in (TINY, tmp_path / "tiny.xlsx", tmp_path / "tiny"):
        out = tmp_path / f"out-{src.name}"
        assert main(["solve", str(src), "--out", str(out), "--quiet"]) == 0
        objectives.append(json.loads((out / "summary.json").read_text())["objective"])
        assert (out / "plan.csv").read_text() == (tmp_path / "out-tiny.json" / "plan.csv").read_text()
    assert objectives[0] == {"unplaced": 0, "surge": 1, "released_risk": 122.5, "cost_usd": 24716.89}
    assert objectives[1] == objectives[0] and objectives[2] == objectives[0]
    proc = run("whatif", tmp_path / "tiny", "--beds", "MTG:MTG-AB=+1")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr


def test_capacity_curve_and_simulate_read_spreadsheets(tmp_path):
    sheets.convert(TINY, tmp_path / "tiny.xlsx")
    sheets.convert(TINY, tmp_path / "tiny")
    curves = []
    for src in (TINY, tmp_path / "tiny.xlsx", tmp_path / "tiny"):
        out = tmp_path / f"curve-{src.name}.csv"
        assert main(["capacity-curve", str(src), "--from", "-10", "--to", "0", "--step", "10", "--out", str(out),
                     "--quiet"]) == 0
        curves.append(out.read_text())
    assert curves[0].splitlines()[1].startswith("-10.0,8,0,1,122.5,24716.89,") and curves[1:] == curves[:1] * 2
    assert main(["simulate", str(tmp_path / "tiny"), "--days", "2", "--policies", "rule", "--out",
                 str(tmp_path / "sim"), "--quiet"]) == 0
    assert (tmp_path / "sim" / "simulation.csv").read_text().startswith("policy,")


# ---- malformed workbooks: one line per problem, sheet, row and column, exit 2 ------------------------

@pytest.fixture()
def book(tmp_path):
    """An editable copy of tiny.json as a workbook: ``edit(fn)`` applies ``fn(wb)`` and saves."""
    path = tmp_path / "tiny.xlsx"
    sheets.write_xlsx(read_instance(TINY), path)

    def edit(fn):
        wb = openpyxl.load_workbook(path)
        fn(wb)
        wb.save(path)
        return path

    return edit


def problems(path) -> list[str]:
    with pytest.raises(InputError) as e:
        read_instance(path)
    return e.value.lines


def column(ws, name: str) -> int:
    return [c.value for c in ws[1]].index(name) + 1


def test_value_error_names_sheet_row_and_column(book):
    path = book(lambda wb: wb["people"].cell(5, column(wb["people"], "risk"), 150))
    assert problems(path) == [f"{path}: people row 5, column risk: Input should be less than or equal to 100"]


def test_cross_record_and_unit_and_pin_errors_are_located(book):
    def edit(wb):
        wb["facilities"].cell(3, column(wb["facilities"], "aor"), "XXX")
        wb["units"].cell(4, column(wb["units"], "beds"), -1)
        wb["people"].cell(2, column(wb["people"], "pin_decision"), "Detain")

    path = book(edit)
    assert problems(path) == [
        f"{path}: units row 4, column beds: Input should be greater than or equal to 0",
        f'{path}: people row 2, column pin_decision: must be "detain" or "release", got "Detain"',
    ]
    def fix(wb):
        wb["units"].cell(4, column(wb["units"], "beds"), 1)
        wb["people"].cell(2, column(wb["people"], "pin_decision"), "detain")

    path = book(fix)
    assert problems(path) == [f"{path}: facilities row 3, column aor: unknown AOR 'XXX'"]


def test_cells_that_fit_no_field(book):
    import datetime

    def edit(wb):
        ws = wb["people"]
        ws.cell(3, column(ws, "risk"), datetime.datetime(2025, 1, 2))
        ws.cell(4, column(ws, "mandatory"), "yes")
        ws.cell(5, column(ws, "custody_days"), 2.5)
        ws.cell(6, column(ws, "arrival_day"), "soon")

    path = book(edit)
    assert problems(path) == [
        f"{path}: people row 3, column risk: a date or time where a number belongs (format the cell as a number or text)",
        f"{path}: people row 4, column mandatory: must be TRUE or FALSE, got 'yes'",
        f"{path}: people row 5, column custody_days: must be a whole number, got 2.5",
        f"{path}: people row 6, column arrival_day: not a number: 'soon'",
    ]


def test_unknown_missing_and_repeated_columns(book):
    def edit(wb):
        ws = wb["units"]
        ws.cell(1, column(ws, "beds"), "bedz")
        ws.cell(1, ws.max_column + 1, "sex")

    path = book(edit)
    assert problems(path) == [
        f"{path}: units row 1, column bedz: unknown column (names are case-sensitive; own annotations must start "
        "with x_)",
        f"{path}: units row 1, column sex: repeated column",
        f"{path}: units row 1: missing column(s) beds (required)",
    ]


def test_wrong_sheet_names(book):
    def edit(wb):
        wb["people"].title = "tmp"  # sheet names are unique regardless of case
        wb["tmp"].title = "People"
        wb.create_sheet("Sheet1")

    path = book(edit)
    assert problems(path) == [
        f"{path}: missing sheet 'people' (found 'People': names are lower case); the layout is instance, policy, "
        "aors, facilities, units, atd_programs, people",
        f"{path}: unknown sheet 'Sheet1'; the layout is instance, policy, aors, facilities, units, atd_programs, "
        "people (plus notes and own x_* sheets)",
    ]


def test_merged_cells_and_formulas_refused(book):
    def edit(wb):
        wb["facilities"].merge_cells("B2:B3")
        wb["people"]["D2"] = "=10+5"

    path = book(edit)
    assert problems(path) == [
        f"{path}: facilities cells B2:B3: merged cells; unmerge them and fill every cell",
        f"{path}: people row 2, column risk: a formula; the instance takes values only (copy the cells and paste "
        "them as values)",
    ]


def test_sheet_reaching_excels_last_row_refused_from_its_dimension(book, tmp_path):
    """The dimension says 1,048,576 rows: refused before a row is read (no big file needed)."""
    path = book(lambda wb: None)
    big = tmp_path / "big.xlsx"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet7.xml":  # people
                assert b'<dimension ref="A1:U13"/>' in data
                data = data.replace(b'<dimension ref="A1:U13"/>', b'<dimension ref="A1:U1048576"/>')
            zout.writestr(item, data)
    import time

    t = time.perf_counter()
    assert problems(big) == [f"{big}: sheet 'people' reaches Excel's last row (1,048,576): rows may have been cut "
                             "off when it was saved; give a CSV folder or a JSON file instead"]
    assert time.perf_counter() - t < 2


def test_damaged_sheet_xml(book, tmp_path):
    path = book(lambda wb: None)
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, data[:len(data) // 2] if item.filename == "xl/worksheets/sheet7.xml" else data)
    lines = problems(bad)
    assert len(lines) == 1 and lines[0].startswith(f"{bad}: not a readable .xlsx workbook (ParseError: "), lines


def test_sheet_without_dimension_stops_at_excels_last_row(tmp_path, monkeypatch):
    """Rows streamed from a sheet that states no size are refused on reaching the last row (a
    last row of 1,000 here: the same code, without streaming a million rows)."""
    import itertools

    monkeypatch.setattr(sheets, "EXCEL_ROWS", 1000)
    rows = itertools.chain(itertools.repeat(("P",), 999), iter(pytest.fail, None))  # row 1,001 is never read
    assert len(sheets._rows(tmp_path / "x.xlsx", "people", itertools.islice(rows, 999))) == 999
    rows = itertools.chain(itertools.repeat(("P",), 1000), iter(pytest.fail, None))
    with pytest.raises(InputError) as e:
        sheets._rows(tmp_path / "x.xlsx", "people", rows)
    assert e.value.lines == [f"{tmp_path / 'x.xlsx'}: sheet 'people' reaches Excel's last row (1,000): rows may "
                             "have been cut off when it was saved; give a CSV folder or a JSON file instead"]


def test_not_a_workbook_and_other_formats(tmp_path):
    for name, data, words in (("x.xlsx", b"not a zip", "not a readable .xlsx workbook"),
                              ("x.xls", b"\xd0\xcf\x11\xe0", ".xls files are not read; save the workbook as .xlsx"),
                              ("plan.csv", b"person_id\n", "a single CSV file is not an instance")):
        (tmp_path / name).write_bytes(data)
        lines = problems(tmp_path / name)
        assert len(lines) == 1 and lines[0].startswith(f"{tmp_path / name}: ") and words in lines[0], lines
    openpyxl.Workbook().save(tmp_path / "blank.xlsx")
    (tmp_path / "folder").mkdir()
    for name, what in (("blank.xlsx", "sheets of an instance workbook"), ("folder", "files of a CSV instance folder")):
        lines = problems(tmp_path / name)
        assert len(lines) == 1 and lines[0].startswith(f"{tmp_path / name}: cannot read the {what}: it has none"), lines


def csv_folder(tmp_path) -> Path:
    folder = tmp_path / "tiny"
    sheets.convert(TINY, folder)
    return folder


def test_csv_encoding_problems(tmp_path):
    folder = csv_folder(tmp_path)
    people = folder / "people.csv"
    text = people.read_text(encoding="utf-8")
    people.write_bytes(b"\xef\xbb\xbf" + text.encode())  # Excel's CSV UTF-8: accepted
    assert read_instance(folder) == read_instance(TINY)
    people.write_bytes(text.replace("P03", "P\xe903").encode("cp1252"))
    assert problems(folder) == [f"{people}: not UTF-8 text (invalid byte at line 4); save it as \"CSV UTF-8\""]
    people.write_text(text.replace(",", ";"), encoding="utf-8")
    lines = problems(folder)
    assert lines[0].startswith(f"{folder}: people.csv row 1, column id;sex;") and \
        lines[0].endswith("the file is separated by semicolons: save it comma-separated")
    people.write_bytes(text.encode().replace(b"P03", b"P\x0003"))
    assert problems(folder) == [f"{folder}: people.csv row 4, column id: must not contain control characters "
                                "(newline, tab, NUL, ...)"]


def test_csv_errors_name_the_file_row_and_column(tmp_path):
    folder = csv_folder(tmp_path)
    units = folder / "units.csv"
    lines = units.read_text().splitlines()
    lines[3] = "NOPE" + lines[3][lines[3].index(","):]
    units.write_text("\n".join(lines) + "\n")
    (folder / "policy.csv").write_text("key,value\ncost_days,0\nbedz,1\n")
    assert problems(folder) == [
        f"{folder}: policy.csv row 3, column key: unknown key 'bedz' (known: cost_days, transfer_fixed_usd, "
        "transfer_usd_per_km, max_transfers_per_day, humanitarian_factors.NAME; own annotations x_*)",
        f"{folder}: units.csv row 4, column facility: unknown facility 'NOPE'",
    ]
    units.write_text("\n".join(lines).replace("NOPE", "MTG") + "\n")
    (folder / "policy.csv").write_text("key,value\ncost_days,0\n")
    assert problems(folder) == [f"{folder}: policy.csv row 2, column value (cost_days): Input should be greater "
                                "than or equal to 1"]


def test_bad_input_exits_2_and_writes_nothing(tmp_path, book, capsys):
    path = book(lambda wb: wb["people"].cell(5, column(wb["people"], "risk"), 150))
    for argv in (["convert", str(path), str(tmp_path / "o.json")], ["convert", str(path), str(tmp_path / "o")],
                 ["solve", str(path), "--out", str(tmp_path / "o")], ["validate", str(path)],
                 ["convert", str(TINY), str(TINY)], ["convert", str(TINY), str(tmp_path / "o.csv")],
                 ["template", str(tmp_path / "t.json")]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.xlsx"]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc, a folder no one can create files in")
@pytest.mark.parametrize("name", ["t.xlsx", "t.json", "t"])
def test_convert_to_an_unwritable_folder_says_one_line(name):
    """Refused before the instance is read: one line, exit 2, and no openpyxl tracebacks at exit
    from a workbook that was begun (a subprocess, where they would appear)."""
    out = Path("/proc") / name
    proc = subprocess.run([sys.executable, "-m", "optimizer", "convert", str(TINY), str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{out}: cannot write in /proc: "), proc.stderr


# ---- the template and plan.xlsx -------------------------------------------------------------------

def test_template_filled_in_solves(tmp_path, capsys):
    tpl = tmp_path / "t.xlsx"
    assert main(["template", str(tpl)]) == 0
    assert main(["template", str(tpl)]) == 2  # never overwritten
    assert capsys.readouterr().err.strip() == (f"{tpl}: bedalloc template: a file of that name exists; "
                                               "remove it first or choose another name")
    wb = openpyxl.load_workbook(tpl)
    assert wb.sheetnames == list(sheets.SHEETS) + ["notes"]
    lists = {str(dv.sqref).split(":")[0][:-1] + "@" + ws.title: dv.formula1
             for ws in wb for dv in ws.data_validations.dataValidation}
    assert lists["C@units"] == '"M,F,any"' and lists["E@facilities"].startswith('"SPC,CDF,IGSA,')
    inst = read_instance(TINY)
    for sheet in sheets.SHEETS:  # fill it in as a planner would, row by row
        ws = wb[sheet]
        rows = sheets.sheet_rows(inst, sheet)
        if sheet in sheets.KEY_VALUE:
            ws.delete_rows(2, ws.max_row)
        assert rows[0][:len(list(ws.values)[0])] == list(list(ws.values)[0])
        for row in rows[1:]:
            ws.append([",".join(v) if isinstance(v, list) else None if v is sheets._EMPTY else v for v in row])
    import datetime

    snapshot = [r for r in wb["instance"].iter_rows(min_row=2) if r[0].value == "snapshot_date"][0][1]
    snapshot.value = datetime.datetime(2025, 6, 2)  # Excel makes 2025-06-02 typed in a cell a date
    wb.save(tpl)
    assert read_instance(tpl) == inst
    assert main(["solve", str(tpl), "--out", str(tmp_path / "o"), "--quiet", "--xlsx"]) == 0
    assert (tmp_path / "o" / "plan.xlsx").is_file()


def test_plan_xlsx_sheets_and_text_never_a_formula(tmp_path):
    doc = tiny_doc()
    doc["facilities"][1]["name"] = '=HYPERLINK("http://x","y")'  # BRZ: P05 is moved there
    doc["facilities"][0]["name"] = "-1+2"
    src = tmp_path / "t.json"
    src.write_text(json.dumps(doc))
    out = tmp_path / "o"
    assert main(["solve", str(src), "--out", str(out), "--quiet", "--xlsx"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["plan.csv", "plan.xlsx", "summary.json"]
    with zipfile.ZipFile(out / "plan.xlsx") as z:
        assert not any(b"<f>" in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))
    wb = openpyxl.load_workbook(out / "plan.xlsx")
    assert wb.sheetnames == ["summary", "plan", "transfers", "releases", "facilities", "programs"]
    summary = dict(wb["summary"].iter_rows(min_row=2, values_only=True))
    assert summary["objective.cost_usd"] == 24716.89 and summary["counts.transfers"] == 1
    assert summary["instance_sha256"] == json.loads((out / "summary.json").read_text())["instance_sha256"]
    assert list(wb["transfers"].iter_rows(min_row=2, values_only=True)) == [
        (0, "HLD", "Houston field-office hold room (synthetic)", "HOU", "BRZ", '=HYPERLINK("http://x","y")', "HOU",
         1, "P05")]
    releases = list(wb["releases"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1], r[2], r[6]) for r in releases] == [("MTG", "-1+2", "P04", "humanitarian"),
                                                            ("MTG", "-1+2", "P10", "legal_limit"),
                                                            ("MTG", "-1+2", "P12", "capacity")]
    fac = {r[0]: r for r in wb["facilities"].iter_rows(min_row=2, values_only=True)}
    assert fac["MTG"][4:] == (3, 2, 4, 1.3333, 3, 9600, 6300, 3300)  # 3 x 70 x 30 guaranteed + 1 x 110 x 30
    plan = list(wb["plan"].iter_rows(values_only=True))
    assert len(plan) == 13 and plan[0][3] == "facility_name" and plan[1][:4] == ("P01", "detain", "MTG", "-1+2")
    progs = {r[0]: r for r in wb["programs"].iter_rows(min_row=2, values_only=True)}
    assert progs["GPS"][4:] == (1, 1, 1)


def test_document_is_the_json_readers(tmp_path):
    """load_json of a workbook gives the document parse_instance validates (whatif, simulate)."""
    sheets.convert(TINY, tmp_path / "t.xlsx")
    from optimizer.instance import load_json

    assert parse_instance(load_json(tmp_path / "t.xlsx")) == read_instance(TINY)
