"""Reading and validating instance files (MODEL.md §2).

The schema is :mod:`optimizer.schema` (strict: integers must be JSON integers, booleans JSON
booleans, numbers finite; unknown keys refused except ``x_*`` annotations, which are kept).  A
document becomes its records in one msgspec conversion; a document that breaks the schema, or
whose strings may hold control characters, is checked by the same schema as pydantic models,
which word every problem.  The cross-record rules (ids, references, families, the legal-limit
contradiction) are checked afterwards, then, when those found nothing, the pins (contract 1.1,
:mod:`optimizer.pins`).  Every problem becomes one line ``FILE: RECORD: field 'NAME': message``
in :class:`InputError`; a problem inside a person's ``pin`` names the person as the record and
``pin.FIELD`` as the field.

Bounds beyond MODEL.md (documented in README.md, "Instance limits"): beds and capacities at most
10,000,000; days at most 100,000, except ``horizon_days`` at most 3,660 (ten years); costs at most
1e9 USD; strings at most 200 characters;
files at most 2 GiB.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import json
import re
from pathlib import Path

from .errors import InputError
from .pins import pin_conflicts, pin_problems
from .schema import (ANNOTATIONS, NO_CONTROL, PINS, AtdProgram, Aor, Facility, Instance, Person, Policy, Unit,
                     known_keys, wording_model)

MAX_FILE_BYTES = 2 * 1024**3
MAX_PROBLEMS = 20


def effective_risk(risk: float, factors: list[str], table: dict[str, float]) -> float:
    """Effective release risk (MODEL.md §2): ``risk`` times each factor's multiplier, left to
    right in float64, then ``round(x, 4)``.  Unitless, on the 0.0001 grid."""
    x = float(risk)
    for f in factors:
        x = x * table[f]
    return round(x, 4)


def _record_label(raw, loc) -> str:
    """``people[1834] id=P001834`` for a pydantic error location into the raw document."""
    parts, node = [], raw
    for i, key in enumerate(loc):
        if isinstance(key, int) and isinstance(node, list):  # an index (an int key of a dict is a name)
            parts[-1] += f"[{key}]"
            try:
                node = node[key]
            except (IndexError, KeyError, TypeError):
                node = None
            if isinstance(node, dict) and i < len(loc) - 1:
                for name in ("id", "code"):  # AOR records are keyed by code
                    if isinstance(node.get(name), str):
                        parts[-1] += f" {name}={_printable(node[name][:40])}"
                        break
        else:
            if i == len(loc) - 1:
                break
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts) or "top level"


def _printable(text: str) -> str:
    """``text`` with control characters shown as ``\\xNN`` (messages stay one line)."""
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", text)


def _field(raw, loc) -> str:
    """The field a pydantic error location into the raw document names: its last key that is
    not a list index."""
    node, field = raw, None
    for key in loc:
        if not (isinstance(key, int) and isinstance(node, list)):
            field = str(key)
        try:
            node = node[key]
        except (IndexError, KeyError, TypeError):
            node = None
    return field if field is not None else (str(loc[-1]) if loc else "(document)")


def _misspelt_hint(raw, loc) -> str:
    """For a missing field: name the record's unknown keys (a misspelling such as ``bedz``)."""
    node, model = raw, Instance
    models = {"policy": Policy, "aors": Aor, "facilities": Facility, "units": Unit,
              "atd_programs": AtdProgram, "people": Person}
    for key in loc[:-1]:
        try:
            node = node[key]
        except (IndexError, KeyError, TypeError):
            return ""
        if isinstance(key, str):
            model = models.get(key, model)
    if not isinstance(node, dict):
        return ""
    unknown = [k for k in node if k not in _KNOWN[model] and not (isinstance(k, str) and k.startswith("x_"))]
    if not unknown:
        return ""
    return " (this record has unknown field(s) " + ", ".join(repr(str(k)[:40]) for k in unknown[:5]) + "; misspelt?)"


def _no_duplicate_keys(pairs):
    d = dict(pairs)
    if len(d) != len(pairs):
        seen = set()
        where = next((f" (the object with {n}={d[n]!r:.60})" for n in ("id", "code") if isinstance(d.get(n), str)), "")
        for k, _ in pairs:
            if k in seen:
                raise ValueError(f"duplicate key {k!r:.60} in one JSON object{where}")
            seen.add(k)
    return d


def require_regular(path: Path) -> None:
    """Raise :class:`InputError` (one line naming the file) when ``path`` exists but is not a
    regular file after following symbolic links (a folder, a device, a pipe: reading a pipe
    would wait forever).  May raise OSError (from ``stat``)."""
    if path.exists() and not path.is_file():
        raise InputError([f"{path}: cannot read the file: not a regular file (a folder, a device or a pipe)"])


def read_bytes(path: Path) -> bytes:
    """The bytes of a non-empty regular file of at most :data:`MAX_FILE_BYTES`.

    Raises :class:`InputError` (one line naming the file) when it is missing, not a regular file
    (a folder, a device, a pipe), unreadable, too large or empty."""
    try:
        require_regular(path)
        if path.exists() and path.stat().st_size > MAX_FILE_BYTES:  # refused before reading a byte
            raise InputError([f"{path}: the file is larger than the limit of {MAX_FILE_BYTES} bytes"])
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise InputError([f"{path}: cannot read the file: {e.strerror or e}"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise InputError([f"{path}: the file is larger than the limit of {MAX_FILE_BYTES} bytes"])
    if not data or data.isspace():  # no stripped copy of a large file
        raise InputError([f"{path}: the file is empty"])
    return data


HUGE_INT = 10**100  # what an integer of more digits than Python converts (4,300) reads as


def _json_int(text: str) -> int:
    """A JSON integer; one too long for Python to convert reads as +-:data:`HUGE_INT`, so that
    the field's own range check names it."""
    if len(text) > 4000:
        return -HUGE_INT if text.startswith("-") else HUGE_INT
    return int(text)


_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")


def _fast_loads(data: bytes):
    """The document of ``data`` parsed by orjson (about twice as fast as :mod:`json` with the
    duplicate-key hook), or None when only :func:`load_json`'s own parse may decide: any orjson
    error (the strict parse then words it), a backslash anywhere, a run of 19 digits, or nesting
    deeper than orjson writes.

    Without a backslash no string holds an escape, so orjson's compact output repeats every
    string byte for byte: it has as many colons as the input exactly when no key was dropped as a
    duplicate (a colon is kept inside strings and written once per key).  orjson reads an integer
    as a float only outside -2**63..2**64-1, and every integer of 18 digits or fewer is inside
    (|n| < 10**18 < 2**63; JSON allows no leading zeros), so leaving any run of 19 digits to
    :mod:`json` is exact: no integer orjson would turn into a float (such as -2**63 - 1, of 19
    digits) gets through."""
    if b"\\" in data or b"0" * 19 in data.translate(_DIGITS_TO_ZERO):
        return None
    import orjson

    try:
        return doc if orjson.dumps(doc := orjson.loads(data)).count(b":") == data.count(b":") else None
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):  # also nested deeper than its writer's limit
        return None


def load_json(path: str | Path, digest: list | None = None):
    """Read a JSON file strictly (UTF-8, no byte-order mark, no duplicate keys).

    When ``digest`` is a list, the file's SHA-256 (hex) is appended to it.  Raises
    :class:`InputError` with one line naming the file for an unreadable, empty, oversized,
    non-UTF-8 or non-JSON file.  A spreadsheet instance (:func:`is_spreadsheet`) gives the JSON
    document of its rows (:mod:`optimizer.sheets`)."""
    path = Path(path)
    if is_spreadsheet(path):
        from .sheets import load_document

        return load_document(path, digest)
    return _json_document(path, digest)[0]


def _json_document(path: Path, digest: list | None) -> tuple[object, bool]:
    """:func:`load_json` of a JSON file, and whether no string of it can hold a control
    character: true of a file without a backslash (JSON writes those characters only as
    escapes) and without the DEL byte, the parse orjson's."""
    data = read_bytes(path)
    if digest is not None:
        import hashlib

        digest.append(hashlib.sha256(data).hexdigest())
    if data.startswith(b"\xef\xbb\xbf"):
        raise InputError([f"{path}: the file starts with a byte-order mark; save it as UTF-8 without BOM"])
    bom = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    if bom or b"\x00" in data[:4096]:  # JSON text never holds a NUL byte: UTF-16 or UTF-32
        mark = "with" if bom else "without"
        raise InputError([f"{path}: not UTF-8 text: the file looks like UTF-16 or UTF-32 ({mark} a byte-order mark); "
                          "save it as UTF-8"])
    doc = _fast_loads(data)
    if doc is not None:
        return doc, b"\x7f" not in data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError([f"{path}: not UTF-8 text (invalid byte at offset {e.start})"]) from None
    del data
    try:
        try:
            return json.loads(text, object_pairs_hook=_no_duplicate_keys), False
        except ValueError as e:  # an integer too long for Python: read again, each such one as HUGE_INT
            if "integer string conversion" not in str(e):  # (only then: a hook slows the common case)
                raise
            return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_int=_json_int), False
    except json.JSONDecodeError as e:
        msg = e.msg.removesuffix(" at")  # "Invalid control character at": the place follows
        raise InputError([f"{path}: not valid JSON: {msg} at line {e.lineno} column {e.colno}"]) from None
    except ValueError as e:
        raise InputError([f"{path}: not valid JSON: {e}"]) from None
    except RecursionError:
        raise InputError([f"{path}: not valid JSON: nested too deeply"]) from None


def read_instance(path: str | Path, digest: list | None = None) -> Instance:
    """Read, parse and validate an instance file.

    Returns a frozen :class:`Instance`; when ``digest`` is a list, the file's SHA-256 is appended
    to it.  Raises :class:`InputError` listing at most :data:`MAX_PROBLEMS` problems, one line
    each: ``FILE: RECORD: field 'F': message`` (for a spreadsheet: ``FILE: SHEET row N, column C:
    message``)."""
    path = Path(path)
    if is_spreadsheet(path):
        from .sheets import read_sheets

        return read_sheets(path, digest)
    with collection_paused():
        doc, plain = _json_document(path, digest)
        return parse_instance(doc, path, plain=plain)


@contextlib.contextmanager
def collection_paused():
    """Python's cyclic garbage collector paused while a document's records are made: parsing
    and converting the national instance makes about half a million containers, which would
    set off collections again and again (a third of the reading time) only to find no cycle
    among them.  Exact: a pause changes when cycles are freed, never what a program computes."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


SHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers", ".csv")


def is_spreadsheet(path: Path) -> bool:
    """Whether ``path`` names a spreadsheet instance: a workbook (or a file of another spreadsheet
    format, refused by name) or a folder of CSV files."""
    return path.suffix.lower() in SHEET_SUFFIXES or path.is_dir()


def parse_instance(raw, path: str | Path = "<instance>", *, plain: bool | None = None) -> Instance:
    """Validate a parsed JSON document (dict) as :func:`read_instance` does; ``path`` labels the
    messages; ``plain``: whether no string of ``raw`` can hold a control character (None: not
    known, then found out).  Raises :class:`InputError`."""
    if not isinstance(raw, dict):
        raise InputError([f"{path}: top level: the document must be a JSON object"])
    if raw.get("format") != "bedalloc-instance":
        got = "it is missing" if "format" not in raw else f"got {str(raw.get('format'))[:60]!r}"
        raise InputError([f"{path}: top level: field 'format': must be \"bedalloc-instance\"; {got}"])
    if type(raw.get("version")) is not int or raw.get("version") != 1:  # 1.0 and true are refused
        raise InputError([f"{path}: top level: field 'version': this reader knows version 1, got {str(raw.get('version'))[:60]!r}"])
    if plain is None:  # a document given as data: its JSON image, when it is the document, proves it
        image = _json_image(raw)
        plain, raw = image is not None, raw if image is None else image
    unknown, doc = _keys(raw)
    inst, why = _structs(doc) if plain else (None, "")
    if inst is None:  # invalid, or strings that may hold control characters: the full check words it
        checked = _schema_problems(raw, unknown, path)
        inst, why = _structs(_keys(checked.model_dump())[1])  # numpy's numbers made Python's
        if inst is None:  # a defect: the schema's two forms disagree
            raise InputError([f"{path}: {why}"])
    del raw, doc
    problems = unknown + instance_problems(inst, bool(unknown))
    if problems:
        lines = [f"{path}: {p}" for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:  # the checks stop early: the number left is not known
            lines.append(f"{path}: ... and more problems (only the first {MAX_PROBLEMS} are listed)")
        raise InputError(lines)
    return inst


def _json_image(raw: dict) -> dict | None:
    """``raw`` written by orjson and read back, when that gives ``raw`` again and no string can
    hold a control character (the one rule of the schema the structs leave out: orjson writes
    every character below 0x20 as an escape, so output without a backslash or a DEL byte proves
    it); else None, and the full check decides.  A tuple for a list, numpy's numbers, NaN, an
    integer beyond 64 bits or a string with a quote give None."""
    import orjson

    try:
        text = orjson.dumps(raw)
    except orjson.JSONEncodeError:
        return None
    if b"\\" in text or b"\x7f" in text:
        return None
    image = orjson.loads(text)
    return image if image == raw else None


def _structs(doc: dict) -> tuple[Instance | None, str]:
    """The instance of ``doc`` (annotations gathered by :func:`_keys`), or None and msgspec's
    reason when it breaks the schema."""
    import msgspec

    try:
        return msgspec.convert(doc, Instance, strict=True), ""
    except msgspec.ValidationError as e:
        return None, str(e)


def _schema_problems(raw: dict, unknown: list[str], path):
    """Raise :class:`InputError` with every schema problem of ``raw`` (pydantic's validation of
    :func:`~optimizer.schema.wording_model`, at most :data:`MAX_PROBLEMS`), then ``unknown``
    keys; return the validated pydantic model when the schema holds."""
    from pydantic import ValidationError

    try:
        return wording_model(Instance).model_validate(raw)
    except ValidationError as e:
        errors = e.errors()
    lines = []
    hinted = set()  # unknown keys already named as a likely misspelling of a missing field
    for er in errors[:MAX_PROBLEMS]:
        msg = "required field is missing" if er["type"] == "missing" else er["msg"]
        if er["type"] == "string_pattern_mismatch" and er.get("ctx", {}).get("pattern") == NO_CONTROL:
            msg = "must not contain control characters (newline, tab, NUL, ...)"
        loc, msg = _pin_loc(er, msg)
        if er["type"] == "missing":
            hint = _misspelt_hint(raw, loc)
            if hint:
                hinted.add(_record_label(raw, loc))
            msg += hint
        if loc and isinstance(loc[-1], int) and er["type"] in ("model_type", "model_attributes_type", "dict_type"):
            # the record itself is not an object
            lines.append(f"{path}: {_record_label(raw, loc + ('',))}: must be a JSON object (a record), "
                         f"got {type(er.get('input')).__name__}")
        else:
            lines.append(f"{path}: {_record_label(raw, loc)}: field '{_printable(_field(raw, loc))}': {msg}")
    unknown = [p for p in unknown if p.split(": field ")[0] not in hinted]
    lines += [f"{path}: {p}" for p in unknown][: max(0, MAX_PROBLEMS - len(lines))]
    if len(errors) > MAX_PROBLEMS:
        lines.append(f"{path}: ... and {len(errors) - MAX_PROBLEMS} more problems")
    raise InputError(lines)


def instance_problems(inst: Instance, found: bool = False) -> list[str]:
    """Every problem of a schema-valid instance (the rules that span records, pins), one line
    each without the file name: what :func:`parse_instance` checks after the schema and the
    unknown keys (``found``: those found some), and what an instance whose pins were replaced
    (``solve --pins``, :mod:`optimizer.pinfile`) must pass."""
    problems = _cross_checks(inst)
    # the pin checks rely on valid references and families, and find nothing without pins (one scan
    # of the people here, not one in each check)
    if found or problems or not any(p.pin is not None for p in inst.people):
        return problems
    problems = [f"people[{i}] id={inst.people[i].id}: field '{f}': {m}" for i, f, m in pin_problems(inst)]
    if not problems:  # counts first (they name the limits); the exact solve decides the rest
        problems = pin_conflicts(inst)
    if not problems:
        from .pinfeas import pin_infeasibility

        problems = pin_infeasibility(inst)
    return problems


def _pin_loc(er: dict, msg: str) -> tuple[tuple, str]:
    """A pydantic error location inside ``people[i].pin`` as ``(people, i, 'pin.FIELD')`` (the
    record is the person; the discriminator's tag such as ``detain`` is dropped), with
    readable messages for a missing or unknown ``decision`` and a pin that is not an object."""
    loc = tuple(er["loc"])
    if len(loc) < 3 or loc[0] != "people" or loc[2] != "pin":
        return loc, msg
    rest = [k for k in loc[3:4] if k not in ("detain", "release")] + list(loc[4:])
    if er["type"] == "union_tag_not_found":
        return loc[:2] + ("pin.decision",), "required field is missing"
    if er["type"] == "union_tag_invalid":  # the value as written in the file: "Detain", 5, null
        got = json.dumps(er["input"]["decision"])[:60]
        return loc[:2] + ("pin.decision",), f'must be "detain" or "release", got {got}'
    if not rest and er["type"] in ("model_type", "model_attributes_type", "dict_type"):
        msg = ('must be a JSON object {"decision": "detain", ...} or {"decision": "release", ...}, or null; '
               f"got {type(er.get('input')).__name__}")
    return loc[:2] + (".".join(["pin"] + [str(k) for k in rest]),), msg


_KNOWN = {cls: frozenset(known_keys(cls)) for cls in (Instance, Policy, Aor, Facility, Unit, AtdProgram, Person,
                                                       *PINS.values())}
_LISTS = (("aors", Aor), ("atd_programs", AtdProgram), ("people", Person), ("facilities", Facility))


def _keys(raw: dict) -> tuple[list[str], dict]:
    """The unknown keys of ``raw`` (one problem line each, about :data:`MAX_PROBLEMS` at most),
    and ``raw`` with each record's annotations (keys starting with ``x_``) gathered under
    ``x_``, the JSON name of the structs' ``annotations``.  Records without unknown keys are
    shared, not copied: a person is looked at by one set comparison, unless it has a pin."""
    out: list[str] = []
    doc = _record(raw, Instance, "top level", out)
    if isinstance(doc.get("policy"), dict):
        doc["policy"] = _record(doc["policy"], Policy, "policy", out)
    for name, cls in _LISTS:
        items, known = doc.get(name), _KNOWN[cls]
        if not isinstance(items, list) or len(out) > MAX_PROBLEMS:
            continue
        look = range(len(items)) if cls is Facility else _suspects(items, known)
        if look:
            doc[name] = items = list(items)
        for i in look:
            items[i] = _record(items[i], cls, lambda i=i: _label(name, i, items[i]), out)
    return out, doc


def _suspects(items: list, known: frozenset) -> list[int]:
    """The places of the records in ``items`` that may hold unknown keys or a pin: none when
    the union of all their keys (one pass in C) is known and holds no ``pin``."""
    try:
        keys = set().union(*items)
    except TypeError:  # a record that is not an object (the schema names it)
        keys = None
    if keys is not None and keys <= known:
        return [] if "pin" not in keys else [i for i, r in enumerate(items) if isinstance(r, dict) and r.get("pin") is not None]
    return [i for i, r in enumerate(items) if not (type(r) is dict and r.keys() <= known and r.get("pin") is None)]


def _record(node, cls, label, out: list[str], prefix: str = ""):
    """``node`` (a record of type ``cls``, or anything else: then unchanged) with its
    annotations gathered, its pin's and its units' too; its unknown keys added to ``out``,
    named by ``label`` (a string, or a function giving it)."""
    if not isinstance(node, dict):
        return node
    known, annotations = _KNOWN[cls], {}
    for k in node:  # in the document's order
        if k in known:
            continue
        if isinstance(k, str) and k.startswith("x_"):
            annotations[k] = node[k]
        elif len(out) <= MAX_PROBLEMS:
            out.append(f"{label if isinstance(label, str) else label()}: field '{prefix}{_printable(str(k)[:60])}': "
                       f"{_unknown_message(cls)}")
    node = {k: v for k, v in node.items() if k in known}
    if annotations:
        node[ANNOTATIONS] = annotations
    pin = node.get("pin") if cls is Person else None
    if isinstance(pin, dict) and pin.get("decision") in ("detain", "release"):  # not hashed: may be a list
        node["pin"] = _record(pin, PINS[pin["decision"]], label, out, "pin.")
    if cls is Facility and isinstance(node.get("units"), list):
        whose = label if isinstance(label, str) else label()
        node["units"] = [_record(u, Unit, f"{whose}.{_label('units', j, u)}", out) for j, u in enumerate(node["units"])]
    return node


def _label(name: str, i: int, rec) -> str:
    """``people[3] id=P3``: a record named for messages by its place and its id (or code)."""
    key = next((n for n in ("id", "code") if isinstance(rec, dict) and isinstance(rec.get(n), str)), None)
    return f"{name}[{i}]" + (f" {key}={rec[key][:40]}" if key else "")


def _unknown_message(cls) -> str:
    """The message for an unknown key in a record of type ``cls`` (a pin lists its keys)."""
    if cls in PINS.values():
        return (f"unknown field of a {cls.decision} pin (known: {', '.join(known_keys(cls))}; "
                "own annotations must start with x_)")
    return "unknown field (names are case-sensitive; own annotations must start with x_)"


def _cross_checks(inst: Instance) -> list[str]:
    """Rules that span records (MODEL.md §2, §3). Returns problem lines without the file name."""
    out: list[str] = []
    add = out.append
    try:
        _dt.date.fromisoformat(inst.snapshot_date)
    except ValueError:
        add(f"top level: field 'snapshot_date': not a valid ISO date: {inst.snapshot_date!r}")
    aors = _check_aors(inst, add)
    fac_ids = _check_facilities(inst, aors, add)
    _check_programs(inst, aors, add)
    families = _check_people(inst, aors, fac_ids, out)
    if families is None:  # too many problems already
        return out
    mandatory_family = _check_families(inst.people, families, add)
    _check_custody_limits(inst, mandatory_family, out)
    return out


def _check_aors(inst: Instance, add) -> set[str]:
    """AOR codes are unique; returns them."""
    aors = set()
    for i, a in enumerate(inst.aors):
        if a.code in aors:
            add(f"aors[{i}] code={a.code}: field 'code': duplicate AOR code")
        aors.add(a.code)
    return aors


def _check_facilities(inst: Instance, aors: set[str], add) -> set[str]:
    """Facility ids unique, their AOR known; unit ids unique across the instance, ``any`` sex
    only in family units, no repeated level. Returns the facility ids."""
    fac_ids, unit_ids = set(), set()
    for i, f in enumerate(inst.facilities):
        rec = f"facilities[{i}] id={f.id}"
        if f.id in fac_ids:
            add(f"{rec}: field 'id': duplicate facility id")
        fac_ids.add(f.id)
        if f.aor not in aors:
            add(f"{rec}: field 'aor': unknown AOR {f.aor!r}")
        for j, u in enumerate(f.units):
            urec = f"{rec}.units[{j}] id={u.id}"
            if u.id in unit_ids:
                add(f"{urec}: field 'id': duplicate unit id (unit ids are unique across the instance)")
            unit_ids.add(u.id)
            if u.sex == "any" and not u.family:
                add(f"{urec}: field 'sex': only family units may be \"any\"")
            if len(set(u.levels)) != len(u.levels):
                add(f"{urec}: field 'levels': repeated level")
    return fac_ids


def _check_programs(inst: Instance, aors: set[str], add) -> None:
    """ATD program ids unique, their AOR (when set) known."""
    prog_ids = set()
    for i, p in enumerate(inst.atd_programs):
        rec = f"atd_programs[{i}] id={p.id}"
        if p.id in prog_ids:
            add(f"{rec}: field 'id': duplicate program id")
        prog_ids.add(p.id)
        if p.aor is not None and p.aor not in aors:
            add(f"{rec}: field 'aor': unknown AOR {p.aor!r}")


def _check_people(inst: Instance, aors: set[str], fac_ids: set[str], out: list[str]) -> dict[str, list[int]] | None:
    """Each person: unique id, known AOR and origin, a level unless a minor, arrival inside the
    horizon, known and unrepeated humanitarian factors, a minor in a family.  Returns the
    families (family id -> member indices), or None when more than :data:`MAX_PROBLEMS` problems
    were found (the checks stop there)."""
    table = inst.policy.factors()
    horizon = inst.horizon_days
    person_ids = set()
    families: dict[str, list[int]] = {}

    def add(field: str, msg: str) -> None:  # the person of the loop below
        out.append(f"people[{i}] id={p.id}: field '{field}': {msg}")

    for i, p in enumerate(inst.people):
        if p.id in person_ids:
            add("id", "duplicate person id")
        person_ids.add(p.id)
        if p.aor not in aors:
            add("aor", f"unknown AOR {p.aor!r}")
        if p.origin is not None and p.origin not in fac_ids:
            add("origin", f"unknown facility {p.origin!r}")
        if p.level is None and not p.minor:
            add("level", "null is allowed only for minors")
        if p.arrival_day >= horizon:
            add("arrival_day", f"{p.arrival_day} is outside the horizon (days 0..{horizon - 1})")
        if p.humanitarian:
            for h in p.humanitarian:
                if h not in table:
                    add("humanitarian", f"unknown factor {h!r} (known: {', '.join(sorted(table))})")
            if len(set(p.humanitarian)) != len(p.humanitarian):
                add("humanitarian", "repeated factor")
        if p.minor and p.family_id is None:
            add("family_id", "a minor must belong to a family")
        if p.family_id is not None:
            families.setdefault(p.family_id, []).append(i)
        if len(out) > MAX_PROBLEMS:
            return None
    return families


def _check_families(people: list, families: dict[str, list[int]], add) -> dict[str, bool]:
    """A family has an adult, one arrival day and one removal day.  Returns family id -> whether
    a member is mandatory."""
    mandatory_family = {}
    for fid, members in families.items():
        ps = [people[i] for i in members]
        rec = f"people[{members[0]}] id={ps[0].id}"
        if all(p.minor for p in ps):
            add(f"{rec}: field 'family_id': family {fid!r} has no adult")
        if len({p.arrival_day for p in ps}) > 1:
            add(f"{rec}: field 'arrival_day': members of family {fid!r} have different arrival days")
        if len({p.removal_day for p in ps}) > 1:
            add(f"{rec}: field 'removal_day': members of family {fid!r} have different removal days")
        mandatory_family[fid] = any(p.mandatory for p in ps)
    return mandatory_family


def _check_custody_limits(inst: Instance, mandatory_family: dict[str, bool], out: list[str]) -> None:
    """No contradiction between the law's two rules (MODEL.md §3 rule 4): a person who may not be
    released (mandatory, or in a family with a mandatory member) and needs a decision must not
    reach ``max_custody_days`` inside the plan before removal."""
    horizon = inst.horizon_days
    for i, p in enumerate(inst.people):
        if p.max_custody_days is None:
            continue
        needs_decision = p.removal_day is None or p.removal_day > p.arrival_day
        held = p.mandatory or (p.family_id is not None and mandatory_family.get(p.family_id, False))
        if needs_decision and held:
            end = horizon if p.removal_day is None else min(p.removal_day, horizon)
            if p.custody_days + (end - 1 - p.arrival_day) >= p.max_custody_days:
                why = "is mandatory" if p.mandatory else "belongs to a family with a mandatory member"
                out.append(
                    f"people[{i}] id={p.id}: field 'max_custody_days': contradictory: the person {why} "
                    f"but reaches the legal limit of {p.max_custody_days} days inside the plan before removal"
                )
        if len(out) > MAX_PROBLEMS:
            break
