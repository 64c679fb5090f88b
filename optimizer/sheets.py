"""Spreadsheet instances (docs/spreadsheets.md): an ``.xlsx`` workbook or a folder of CSV files.

The layout: sheets (or files ``NAME.csv``) ``instance`` and ``policy`` (two columns ``key,value``;
a humanitarian factor is the key ``humanitarian_factors.NAME``), ``aors``, ``facilities``,
``units`` (one row per unit, its facility in column ``facility``), ``atd_programs`` and ``people``
(a pin is the columns ``pin_decision``, ``pin_facility``, ``pin_unit``, ``pin_atd_program``,
``pin_release_day``).  Column headers are the JSON field names; a list is one comma-separated
cell; an empty cell takes the field's default; booleans are TRUE/FALSE or the text true/false.
Columns ``x_*`` are annotations: a cell holding valid JSON text is read as that JSON value.

Reading converts the rows into the JSON reader's document and validates it with the same code
(:func:`optimizer.instance.parse_instance`); its messages are mapped back to
``FILE: SHEET row N, column C: message`` (header = row 1).  Writing (``bedalloc convert``) goes
the other way, so that a round trip gives an equal :class:`~optimizer.instance.Instance`.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import typing
from dataclasses import dataclass, field
from pathlib import Path

from .errors import EXIT_INPUT, EXIT_OK, InputError, err, refused
from .outdir import bad_output_file, ordinary_mode, replace_folder
from .instance import MAX_PROBLEMS, Instance, parse_instance, read_bytes
from .schema import AtdProgram, Aor, Facility, Person, Policy, Unit, as_dict, wording_model

SHEETS = ("instance", "policy", "aors", "facilities", "units", "atd_programs", "people")
OPTIONAL_SHEETS = ("policy",)
KEY_VALUE = ("instance", "policy")
PIN_COLUMNS = {"pin_decision": "decision", "pin_facility": "facility", "pin_unit": "unit",
               "pin_atd_program": "atd_program", "pin_release_day": "release_day"}
EXCEL_ROWS = 1_048_576  # Excel's last row: a sheet reaching it may have been cut off
MAX_COLUMNS = 1000
HF = "humanitarian_factors."
_EMPTY = object()
_DATES = (dt.datetime, dt.date, dt.time, dt.timedelta)


@dataclass(frozen=True)
class Column:
    kind: str  # bool, int, float, str, list or any (an x_ annotation)
    required: bool = False
    nullable: bool = False


def _kind(annotation) -> tuple[str, bool]:
    """(kind, accepts None) of a pydantic field annotation."""
    seen, stack, nullable = set(), [annotation], False
    while stack:
        a = stack.pop()
        origin = typing.get_origin(a)
        if a is type(None):
            nullable = True
        elif origin is list:
            seen.add("list")
        elif origin is typing.Literal:
            seen.add(type(typing.get_args(a)[0]).__name__)
        elif origin is not None:
            stack.extend(typing.get_args(a) if origin is not typing.Annotated else typing.get_args(a)[:1])
        elif a in (bool, int, float, str):
            seen.add(a.__name__)
    kind = next(k for k in ("list", "bool", "int", "float", "str") if k in seen)
    return kind, nullable


def _model_columns(record, skip=()) -> dict[str, Column]:
    out = {}
    for name, f in wording_model(record).model_fields.items():
        if name not in skip:
            kind, nullable = _kind(f.annotation)
            out[name] = Column(kind, f.is_required(), nullable)
    return out


ANNOTATION = Column("any")
_RECORDS = ("aors", "atd_programs", "people", "facilities")


def columns(sheet: str) -> dict[str, Column]:
    """The known columns of ``sheet`` in layout order (for a key/value sheet: its keys)."""
    if sheet == "instance":
        return _model_columns(Instance, skip=("policy",) + _RECORDS)
    if sheet == "policy":
        return _model_columns(Policy, skip=("humanitarian_factors",))
    if sheet == "units":
        return {"facility": Column("str", True), **_model_columns(Unit)}
    if sheet == "facilities":
        return _model_columns(Facility, skip=("units",))
    if sheet == "people":
        pin = {"pin_decision": Column("str"), "pin_release_day": Column("int", nullable=True)}
        return {**_model_columns(Person, skip=("pin",)),
                **{c: pin.get(c, Column("str", nullable=True)) for c in PIN_COLUMNS}}
    return _model_columns({"aors": Aor, "atd_programs": AtdProgram}[sheet])


# ---- cells -> JSON values ------------------------------------------------------------------------

def _cell(v, kind: str):
    """A spreadsheet cell as the JSON value of a field of ``kind``; ``_EMPTY`` for an empty cell.
    Raises ValueError with the message for a cell that does not fit."""
    if v is None or v == "":
        return _EMPTY
    if kind == "any":
        return _annotation(v)
    if isinstance(v, str) and kind != "str" and not v.strip():
        return _EMPTY
    if isinstance(v, _DATES):
        if kind == "str" and isinstance(v, dt.date) and (not isinstance(v, dt.datetime) or v.time() == dt.time()):
            return v.strftime("%Y-%m-%d")  # a date typed into a text cell, such as snapshot_date
        raise ValueError(f"a date or time where {'a number' if kind in ('int', 'float') else 'text'} belongs "
                         "(format the cell as a number or text)")
    if kind == "str":
        if isinstance(v, bool):
            raise ValueError(f"must be text, got {str(v).upper()}")
        return v if isinstance(v, str) else _number_text(v)
    if kind == "list":
        return [x.strip() for x in (v if isinstance(v, str) else _number_text(v)).split(",")]
    if kind == "bool":
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.strip().lower() in ("true", "false"):
            return v.strip().lower() == "true"
        raise ValueError(f"must be TRUE or FALSE, got {str(v)[:40]!r}")
    return _number(v, kind)


def _number(v, kind: str):
    if isinstance(v, bool):
        raise ValueError(f"must be a number, got {str(v).upper()}")
    if isinstance(v, str):
        try:
            v = int(v)
        except ValueError:
            try:
                v = float(v)
            except ValueError:
                raise ValueError(f"not a number: {v[:40]!r}") from None
    if kind == "int" and isinstance(v, float):
        if not v.is_integer():
            raise ValueError(f"must be a whole number, got {v!r}")
        v = int(v)
    return v


def _number_text(v) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _annotation(v):
    """An ``x_*`` cell: text holding valid JSON is that value, other text and numbers as they are."""
    if isinstance(v, _DATES):
        return v.isoformat()
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def annotation_text(v) -> str | None:
    """The inverse of :func:`_annotation` for a text cell (None for a native number or boolean)."""
    if isinstance(v, str):
        try:
            json.loads(v)
        except ValueError:
            return v
    elif isinstance(v, (bool, int, float)):
        return None
    return json.dumps(v, ensure_ascii=False)


# ---- reading tables ------------------------------------------------------------------------------

@dataclass
class Table:
    label: str  # people (a sheet) or people.csv (a file)
    rows: list = field(default_factory=list)  # (row number, values), header first


def _check_names(path: Path, present: list[str], label: str) -> None:
    """The sheet (or file) names: every required one, no unknown one (``notes`` and ``x_*`` allowed)."""
    if not any(n.lower() in SHEETS for n in present):
        names = ", ".join(s + ".csv" for s in SHEETS) if label == "file" else ", ".join(SHEETS)
        what = "files of a CSV instance folder" if label == "file" else "sheets of an instance workbook"
        raise InputError([f"{path}: cannot read the {what}: it has none of {names}; "
                          "see docs/spreadsheets.md or 'bedalloc template'"])
    lines = []
    lower = {n.lower(): n for n in present}
    for name in SHEETS:
        if name not in present and name not in OPTIONAL_SHEETS:
            hint = f" (found {lower[name]!r}: names are lower case)" if name in lower else ""
            lines.append(f"{path}: missing {label} {name!r}{hint}; the layout is {', '.join(SHEETS)}")
    for name in present:
        if name not in SHEETS and name != "notes" and not name.startswith("x_") and name.lower() not in SHEETS:
            lines.append(f"{path}: unknown {label} {name!r}; the layout is {', '.join(SHEETS)} "
                         "(plus notes and own x_* sheets)")
    if lines:
        raise InputError(lines[:MAX_PROBLEMS])


def _xlsx_tables(path: Path, data: bytes) -> dict[str, Table]:
    import warnings

    import openpyxl

    with warnings.catch_warnings():  # openpyxl warns about workbook features it drops (one line only)
        warnings.simplefilter("ignore")
        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
            try:
                return _workbook_tables(path, wb)
            finally:
                wb.close()
        except InputError:
            raise
        except Exception as e:  # not a workbook, a damaged or encrypted one, broken XML in a sheet
            raise InputError([f"{path}: not a readable .xlsx workbook ({type(e).__name__}: {str(e)[:120]})"]) from None


def _workbook_tables(path: Path, wb) -> dict[str, Table]:
    _check_names(path, wb.sheetnames, "sheet")
    tables, problems = {}, []
    for name in SHEETS:
        if name in wb.sheetnames:
            ws = wb[name]
            _check_size(path, name, ws.max_row, ws.max_column)
            problems += _raw_problems(path, wb, ws, name)
            ws.reset_dimensions()  # a dimension that is too small must not cut rows off
            tables[name] = Table(name, _rows(path, name, ws.iter_rows(values_only=True)))
    if problems:
        raise InputError(problems[:MAX_PROBLEMS])
    return tables


def _check_size(path: Path, name: str, max_row, max_col) -> None:
    if max_row is not None and max_row >= EXCEL_ROWS:
        raise InputError([f"{path}: sheet {name!r} reaches Excel's last row ({EXCEL_ROWS:,}): rows may have been "
                          "cut off when it was saved; give a CSV folder or a JSON file instead"])
    if max_col is not None and max_col > MAX_COLUMNS:
        raise InputError([f"{path}: sheet {name!r} has {max_col:,} columns (at most {MAX_COLUMNS}); "
                          "delete the unused columns"])


def _rows(path: Path, name: str, rows) -> list:
    out = []
    for r, values in enumerate(rows, start=1):
        if r >= EXCEL_ROWS:
            _check_size(path, name, r, None)
        values = tuple(values)
        if any(v is not None and v != "" for v in values):
            out.append((r, values))
    return out


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z]+\d+:[A-Z]+\d+)"')
_FORMULA = re.compile(rb'\sr="([A-Z]+)(\d+)"[^>]*>\s*<(?:\w+:)?f[\s>/]')


def _raw_problems(path: Path, wb, ws, name: str) -> list[str]:
    """Merged cells and formulas, found in the sheet's XML (read-only mode does not report them)."""
    found: dict[str, str] = {}
    tail = b""
    with wb._archive.open(ws._worksheet_path) as src:
        while len(found) < MAX_PROBLEMS:
            chunk = src.read(1 << 20)
            if not chunk:
                break
            text = tail + chunk
            for m in _MERGE.finditer(text):
                found.setdefault(m.group(1).decode(), f"{path}: {name} cells {m.group(1).decode()}: merged cells; "
                                 "unmerge them and fill every cell")
            for m in _FORMULA.finditer(text):
                col, row = m.group(1).decode(), m.group(2).decode()
                found.setdefault(col + row, f"{path}: {name} row {row}, column {_column_name(ws, col)}: a formula; the "
                                 "instance takes values only (copy the cells and paste them as values)")
            tail = text[-4096:]
    return list(found.values())


def _column_name(ws, letter: str) -> str:
    """The header (row 1) of the column named by ``letter``, as other cell messages name it, or
    the letter itself when that column has no header."""
    from openpyxl.utils import column_index_from_string

    head = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
    i = column_index_from_string(letter) - 1
    return str(head[i]) if i < len(head) and head[i] not in (None, "") else letter


def _csv_tables(folder: Path) -> tuple[dict[str, Table], str]:
    """The folder's CSV files and the folder's digest (names, sizes and bytes in layout order)."""
    try:
        present = sorted(p.stem for p in folder.iterdir() if p.suffix == ".csv")
    except OSError as e:
        raise InputError([f"{folder}: cannot read the folder: {e.strerror or e}"]) from None
    _check_names(folder, present, "file")
    tables, h = {}, hashlib.sha256()
    for name in SHEETS:
        if name in present:
            p = folder / f"{name}.csv"
            data = read_bytes(p)
            h.update(f"{name}.csv\n{len(data)}\n".encode())
            h.update(data)
            tables[name] = Table(f"{name}.csv", _csv_rows(p, data))
    return tables, h.hexdigest()


def _csv_rows(p: Path, data: bytes) -> list:
    try:
        text = data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise InputError([f"{p}: not UTF-8 text (invalid byte at line {line}); save it as \"CSV UTF-8\""]) from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise InputError([f"{p}: not a readable CSV file ({e})"]) from None
    return [(r, tuple(values)) for r, values in enumerate(rows, start=1) if any(v != "" for v in values)]


# ---- tables -> the JSON document ------------------------------------------------------------------

@dataclass
class Where:
    """Where each record of the document came from: sheet labels, row numbers, key rows."""

    labels: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)  # sheet -> [row number of record i]
    units: dict = field(default_factory=dict)  # (facility index, unit index) -> row number
    keys: dict = field(default_factory=dict)  # sheet -> {key: row number}


def _header(path: Path, t: Table, cols: dict[str, Column], problems: list) -> list[str]:
    if not t.rows or t.rows[0][0] != 1:
        problems.append(f"{path}: {t.label} row 1: the header row is missing (column names: {', '.join(cols)})")
        return []
    header = [str(h).strip() if h is not None else "" for h in t.rows[0][1]]
    while header and not header[-1]:
        header.pop()
    at = f"{path}: {t.label} row 1"
    for i, h in enumerate(header):
        if not h:
            problems.append(f"{at}, column {i + 1}: empty column name")
        elif h not in cols and not h.startswith("x_"):
            hint = "; the file is separated by semicolons: save it comma-separated" if ";" in h else ""
            problems.append(f"{at}, column {h[:60]}: unknown column (names are case-sensitive; own annotations "
                            f"must start with x_){hint}")
        elif h in header[:i]:
            problems.append(f"{at}, column {h}: repeated column")
    missing = [c for c, spec in cols.items() if spec.required and c not in header]
    if missing:
        problems.append(f"{at}: missing column(s) {', '.join(missing)} (required)")
    return header


def _records(path: Path, t: Table, sheet: str, problems: list) -> list[tuple[int, dict]]:
    cols = columns(sheet)
    header = _header(path, t, cols, problems)
    specs = [(c, cols.get(c, ANNOTATION)) for c in header]
    out = []
    for r, values in t.rows[1:]:
        rec = {}
        for (c, spec), v in zip(specs, values):
            if type(v) is str and v and spec.kind == "str":  # the common case, first
                rec[c] = v
                continue
            try:
                val = _cell(v, spec.kind)
            except ValueError as e:
                problems.append(f"{path}: {t.label} row {r}, column {c}: {e}")
                continue
            if val is not _EMPTY:
                rec[c] = val
            elif spec.required and spec.nullable:
                rec[c] = None
        if any(v is not None and v != "" for v in values[len(header):]):
            problems.append(f"{path}: {t.label} row {r}, column {len(header) + 1}: a value under no column name")
        if sheet == "people":
            pin = {PIN_COLUMNS[c]: rec.pop(c) for c in PIN_COLUMNS if c in rec}
            if pin:
                rec["pin"] = pin
        out.append((r, rec))
    return out


def _key_values(path: Path, t: Table, sheet: str, problems: list) -> tuple[dict, dict]:
    cols = columns(sheet)
    header = _header(path, t, {"key": Column("str", True), "value": Column("any", True)}, problems)
    if header and header[:2] != ["key", "value"]:
        problems.append(f"{path}: {t.label} row 1: the columns must be key,value")
        return {}, {}
    doc, rows = {}, {}
    for r, values in t.rows[1:]:
        key, v = (list(values) + [None, None])[:2]
        key = str(key).strip() if key is not None else ""
        spec = cols.get(key) or (Column("float") if sheet == "policy" and key.startswith(HF) and key != HF
                                 else Column("any") if key.startswith("x_") else None)
        at = f"{path}: {t.label} row {r}, column "
        if spec is None:
            problems.append(f"{at}key: unknown key {key[:60]!r} (known: {', '.join(cols)}"
                            f"{', humanitarian_factors.NAME' if sheet == 'policy' else ''}; own annotations x_*)")
            continue
        if key in rows:
            problems.append(f"{at}key: repeated key {key!r} (first in row {rows[key]})")
            continue
        rows[key] = r
        try:
            val = _cell(v, spec.kind)
        except ValueError as e:
            problems.append(f"{at}value: {e}")
            continue
        if val is not _EMPTY:
            if key.startswith(HF):
                doc.setdefault("humanitarian_factors", {})[key[len(HF):]] = val
            else:
                doc[key] = val
    return doc, rows


def build_document(path: Path, tables: dict[str, Table]) -> tuple[dict, Where]:
    """The JSON document of the tables, and where each record came from.  Raises InputError for
    cells that fit no field, unknown or missing columns, units of unknown facilities."""
    problems: list[str] = []
    where = Where(labels={s: t.label for s, t in tables.items()})
    doc = {}
    for sheet in KEY_VALUE:
        if sheet in tables:
            values, where.keys[sheet] = _key_values(path, tables[sheet], sheet, problems)
            if sheet == "instance":
                doc.update(values)
            else:
                doc["policy"] = values
    for sheet in ("aors", "facilities", "atd_programs", "people"):
        recs = _records(path, tables[sheet], sheet, problems)
        where.rows[sheet] = [r for r, _ in recs]
        doc[sheet] = [rec for _, rec in recs]
    first = {}
    for i, f in enumerate(doc["facilities"]):
        f["units"] = []
        first.setdefault(f.get("id"), i)
    for r, u in _records(path, tables["units"], "units", problems):
        fid = u.pop("facility", None)
        if fid not in first:
            if fid is not None:
                problems.append(f"{path}: {tables['units'].label} row {r}, column facility: unknown facility {fid!r}")
            continue
        units = doc["facilities"][first[fid]]["units"]
        where.units[(first[fid], len(units))] = r
        units.append(u)
    if problems:
        extra = [f"{path}: ... and {len(problems) - MAX_PROBLEMS} more problems"] if len(problems) > MAX_PROBLEMS else []
        raise InputError(problems[:MAX_PROBLEMS] + extra)
    return doc, where


# ---- validation messages -> sheet, row and column -------------------------------------------------

_LINE = re.compile(r"(?P<sheet>aors|facilities|atd_programs|people)\[(?P<i>\d+)\](?: (?:id|code)=.*?)?"
                   r"(?:\.units\[(?P<j>\d+)\](?: id=.*?)?)?(?:\.\w+\[\d+\])?: field '(?P<field>[^']*)': (?P<msg>.*)")
_KEYED = re.compile(r"(?P<label>top level|policy(?:\.humanitarian_factors)?): field '(?P<field>[^']*)': (?P<msg>.*)")


def locate(line: str, prefix: str, where: Where) -> str:
    """One line of :func:`~optimizer.instance.parse_instance` (``PREFIX: RECORD: field 'F': msg``)
    as ``PREFIX: SHEET row N, column C: msg``."""
    body = line[len(prefix):] if line.startswith(prefix) else line
    m = _LINE.fullmatch(body)
    if m:
        sheet, i, f = m["sheet"], int(m["i"]), m["field"]
        if m["j"] is not None:
            sheet, row = "units", where.units.get((i, int(m["j"])))
        else:
            row = where.rows[sheet][i] if i < len(where.rows.get(sheet, ())) else None
        col = "pin_" + f[4:] if f.startswith("pin.") else f
        return f"{prefix}{where.labels[sheet]} row {row}, column {col}: {m['msg']}"
    m = _KEYED.fullmatch(body)
    if m:
        sheet = "instance" if m["label"] == "top level" else "policy"
        key = (HF if m["label"].endswith("factors") else "") + m["field"]
        row = where.keys.get(sheet, {}).get(key)
        label = where.labels.get(sheet, sheet)
        return (f"{prefix}{label} row {row}, column value ({key}): {m['msg']}" if row else
                f"{prefix}{label}: key {key}: {m['msg']}")
    return line


# ---- entry points ---------------------------------------------------------------------------------

def load_tables(path: Path, digest: list | None = None) -> dict[str, Table]:
    """The tables of a workbook or a CSV folder (refusing other spreadsheet formats)."""
    suffix = path.suffix.lower()
    if suffix in (".xls", ".ods", ".numbers"):
        raise InputError([f"{path}: {suffix} files are not read; save the workbook as .xlsx (or as a folder of "
                          "CSV files)"])
    if suffix == ".csv":
        raise InputError([f"{path}: a single CSV file is not an instance: give a folder of CSV files "
                          f"({', '.join(s + '.csv' for s in SHEETS)}), an .xlsx workbook or a JSON file"])
    if path.is_dir():
        tables, sha = _csv_tables(path)
    else:
        data = read_bytes(path)
        sha = hashlib.sha256(data).hexdigest()
        tables = _xlsx_tables(path, data)
    if digest is not None:
        digest.append(sha)
    return tables


def load_document(path: str | Path, digest: list | None = None) -> dict:
    """The JSON document of a spreadsheet instance (not yet validated)."""
    path = Path(path)
    return build_document(path, load_tables(path, digest))[0]


def read_sheets(path: str | Path, digest: list | None = None) -> Instance:
    """Read and validate a spreadsheet instance; problems name sheet, row and column."""
    path = Path(path)
    doc, where = build_document(path, load_tables(path, digest))
    try:
        return parse_instance(doc, path)
    except InputError as e:
        raise InputError([locate(line, f"{path}: ", where) for line in e.lines]) from None


# ---- writing ------------------------------------------------------------------------------------

def sheet_rows(inst: Instance, sheet: str) -> list[list]:
    """The rows of ``sheet`` for ``inst`` (header first) as JSON values, None for an empty cell
    (``_EMPTY`` where a record lacks an annotation column that others have)."""
    if sheet in KEY_VALUE:
        rec = inst if sheet == "instance" else inst.policy
        rows = [[k, getattr(rec, k)] for k in columns(sheet)]
        if sheet == "policy":
            rows += [[HF + k, v] for k, v in rec.humanitarian_factors.items()]
        return [["key", "value"]] + rows + [[k, v] for k, v in (rec.annotations or {}).items()]
    if sheet == "units":
        recs = [{"facility": f.id, **as_dict(u)} for f in inst.facilities for u in f.units]
    else:
        recs = [as_dict(r) for r in getattr(inst, sheet)]
        for rec in recs:
            rec.pop("units", None)
    cols = list(columns(sheet))
    if sheet == "people":
        for rec in recs:
            pin = rec.pop("pin") or {}
            rec.update({c: pin.get(k) for c, k in PIN_COLUMNS.items()})
    extra = list(dict.fromkeys(k for rec in recs for k in rec if k not in cols))
    return [cols + extra] + [[rec.get(c, _EMPTY) for c in cols + extra] for rec in recs]


def _text(v, annotation: bool):
    """A cell's value as text for a CSV file."""
    if annotation and v is not _EMPTY:
        t = annotation_text(v)
        return t if t is not None else json.dumps(v)
    if v is None or v is _EMPTY:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return ",".join(v)
    return repr(v) if isinstance(v, float) else str(v)


def write_csv_folder(inst: Instance, out: Path) -> None:
    """The instance as a folder of CSV files, written to a temporary folder and then renamed."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    os.chmod(tmp, ordinary_mode(0o777))
    try:
        for sheet in SHEETS:
            rows = sheet_rows(inst, sheet)
            with open(tmp / f"{sheet}.csv", "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(rows[0])
                for row in rows[1:]:
                    w.writerow([_text(v, _is_annotation(rows[0], i, row)) for i, v in enumerate(row)])
        replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _is_annotation(header: list, i: int, row: list) -> bool:
    name = row[0] if header == ["key", "value"] else header[i]
    return isinstance(name, str) and name.startswith("x_") and (header != ["key", "value"] or i == 1)


def xlsx_cell(ws, v):
    """A value for a write-only sheet: lists comma-joined, text never read as a formula."""
    if isinstance(v, list):
        v = ",".join(v)
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        from openpyxl.cell import WriteOnlyCell

        c = WriteOnlyCell(ws, v)
        c.data_type = "s"  # text, whatever its first character
        return c
    return v


def write_xlsx(inst: Instance, out: Path) -> None:
    """The instance as an ``.xlsx`` workbook (openpyxl write-only), written atomically."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    for sheet in SHEETS:
        rows = sheet_rows(inst, sheet)
        ws = sized_sheet(wb, sheet, len(rows), len(rows[0]))
        ws.append(rows[0])
        for row in rows[1:]:
            ws.append([xlsx_cell(ws, _xlsx_value(v, _is_annotation(rows[0], i, row))) for i, v in enumerate(row)])
    save_atomic(wb, out)


def sized_sheet(wb, title: str, rows: int, cols: int):
    """A write-only sheet that states its size (``<dimension>``): without it, openpyxl's read-only
    mode parses the whole sheet once more just to look for it."""
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    ref = f"A1:{get_column_letter(max(cols, 1))}{max(rows, 1)}"
    ws.calculate_dimension = lambda: ref  # read by openpyxl's sheet writer before the first row
    return ws


def _xlsx_value(v, annotation: bool):
    if v is _EMPTY:
        return None
    if annotation:
        t = annotation_text(v)
        return v if t is None else t
    return v


def save_atomic(wb, out: Path) -> None:
    """Save an openpyxl workbook through a temporary file in the same folder and ``os.replace``
    (a symbolic link ``out`` is followed: :func:`optimizer.outdir.link_target`)."""
    from .outdir import link_target

    out = link_target(out)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        os.chmod(tmp, ordinary_mode(0o666))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def instance_json(inst: Instance) -> str:
    """The instance as JSON text (fields at their defaults left out)."""
    return json.dumps(as_dict(inst, drop_defaults=True), indent=1, ensure_ascii=False) + "\n"


# ---- bedalloc convert and bedalloc template ---------------------------------------------------

def _target(out: Path) -> str:
    """The format ``bedalloc convert`` writes to ``out``: json, xlsx or csv (a folder)."""
    suffix = out.suffix.lower()
    if suffix in (".json", ".xlsx"):
        return suffix[1:]
    if suffix and not out.is_dir():
        raise InputError([f"{out}: OUT must end in .json or .xlsx, or name a folder (CSV files)"])
    return "csv"


def _bad_target(src: Path, out: Path, kind: str) -> str | None:
    """Why ``out`` may not be written (one line), or None: checked before the instance is read
    (and before openpyxl starts a workbook, whose unfinished sheets would print tracebacks)."""
    from .outdir import link_target, unwritable

    if out.resolve() == src.resolve() or (src.is_dir() and src.resolve() in out.resolve().parents):
        return f"{out}: would overwrite the input {src}"
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        return f"{out}: the folder {out.parent} does not exist"
    why = unwritable(link_target(out))  # a symbolic link: written where it points (save_atomic, write_atomic)
    if why:
        return f"{out}: {why}"
    if kind != "csv" and out.is_dir():
        return f"{out}: a folder of that name exists"
    if kind != "csv" and out.exists():  # never clobber a file that may be someone's work
        return f"{out}: a file of that name exists; remove it first or choose another name"
    if kind == "csv" and out.exists():
        if not out.is_dir():
            return f"{out}: a file of that name exists; a CSV instance is a folder"
        others = sorted(p.name for p in out.iterdir() if p.name not in {f"{s}.csv" for s in SHEETS})
        if others:
            return f"{out}: the folder holds other files ({', '.join(others[:3])}); choose a new folder"
    return None


def convert(src: str | Path, out: str | Path) -> Instance:
    """``bedalloc convert``: read and validate ``src`` (JSON, workbook or CSV folder), write it to
    ``out`` in the format its name says.  Raises InputError before writing anything; OSError
    when writing fails (nothing is left behind)."""
    from .instance import read_instance

    src, out = Path(src), Path(out)
    kind = _target(out)
    why = _bad_target(src, out, kind)
    if why:
        raise InputError([why])
    inst = read_instance(src)
    if kind == "json":
        from .generate import write_atomic

        write_atomic(out, instance_json(inst))
    elif kind == "xlsx":
        write_xlsx(inst, out)
    else:
        write_csv_folder(inst, out)
    return inst


def _allowed(sheet: str, col: str) -> list[str] | None:
    """The values a column takes when they are few (a data validation list), else None."""
    if col == "pin_decision":
        return ["detain", "release"]
    model = {"aors": Aor, "facilities": Facility, "units": Unit, "atd_programs": AtdProgram,
             "people": Person}.get(sheet)
    f = wording_model(model).model_fields.get(col) if model else None
    if f is None:
        return None
    stack = [f.annotation]
    while stack:
        a = stack.pop()
        if typing.get_origin(a) is typing.Literal:
            return [str(x) for x in typing.get_args(a)]
        stack.extend(x for x in typing.get_args(a) if typing.get_origin(a) is not list)
    return ["TRUE", "FALSE"] if columns(sheet)[col].kind == "bool" else None


def _note(sheet: str, col: str, spec: Column) -> list:
    model = {"instance": Instance, "policy": Policy, "aors": Aor, "facilities": Facility, "units": Unit,
             "atd_programs": AtdProgram, "people": Person}[sheet]
    fields = wording_model(model).model_fields
    f = fields.get(col) or fields.get(col.replace("pin_", "", 1))
    default = "" if spec.required or f is None else ("none" if f.default is None else
                                                      str(f.get_default(call_default_factory=True)))
    kind = {"list": "list, comma-separated", "bool": "TRUE/FALSE"}.get(spec.kind, spec.kind)
    allowed = _allowed(sheet, col) if sheet not in KEY_VALUE else None
    return [sheet, col, "required" if spec.required else "optional", default, kind, ", ".join(allowed or [])]


NOTES = (
    "One sheet per part of the instance (docs/spreadsheets.md; field meanings: docs/MODEL.md section 2).",
    "Column headers are the JSON field names; header = row 1. An empty cell takes the field's default.",
    "Lists (levels, humanitarian) are one cell, comma-separated: A,B. Booleans: TRUE/FALSE.",
    "instance and policy hold rows key,value; a humanitarian factor is the policy key humanitarian_factors.NAME.",
    "units: one row per unit, its facility id in column facility. people: a pin is the columns pin_*.",
    "Own annotations: columns, keys or sheets whose name starts with x_. Values only: no formulas, no merged cells.",
)


def write_template(out: str | Path) -> None:
    """``bedalloc template``: an empty workbook of the layout with headers, notes and lists."""
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    out = Path(out)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    notes = [["sheet", "column or key", "required", "default", "type", "allowed values"]]
    for sheet in SHEETS:
        ws = wb.create_sheet(sheet)
        cols = columns(sheet)
        ws.append(["key", "value"] if sheet in KEY_VALUE else list(cols))
        if sheet in KEY_VALUE:
            preset = {"format": "bedalloc-instance", "version": 1, "horizon_days": 1}
            for k in cols:
                ws.append([k, preset.get(k)])
        for i, (c, spec) in enumerate(cols.items(), start=1):
            notes.append(_note(sheet, c, spec))
            allowed = _allowed(sheet, c) if sheet not in KEY_VALUE else None
            if allowed:
                dv = DataValidation(type="list", formula1='"' + ",".join(allowed) + '"', allow_blank=True)
                dv.add(f"{get_column_letter(i)}2:{get_column_letter(i)}{EXCEL_ROWS - 1}")
                ws.add_data_validation(dv)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
    ws = wb.create_sheet("notes")
    for line in NOTES:
        ws.append([line])
    ws.append([])
    for row in notes:
        ws.append(row)
    save_atomic(wb, out)


def cmd_sheets(args) -> int:
    """``bedalloc convert`` and ``bedalloc template`` (0; 2 for bad input, nothing written)."""
    try:
        if args.command == "template":
            if Path(args.output).suffix.lower() != ".xlsx":
                raise InputError([f"{args.output}: the template is a workbook: name it OUT.xlsx"])
            why = bad_output_file(args.output, "bedalloc template", [], new=True)
            if why:
                raise InputError([why])
            write_template(args.output)
            print(f"template written to {args.output}")
            return EXIT_OK
        inst = convert(args.input, args.output)
    except InputError as e:
        return refused(e)
    except OSError as e:
        err([f"{args.output}: cannot write: {e.strerror or e}"])
        return EXIT_INPUT
    print(f"{args.input} -> {args.output}: {len(inst.people)} people, {len(inst.facilities)} facilities, "
          f"{len(inst.atd_programs)} ATD programs")
    return EXIT_OK
