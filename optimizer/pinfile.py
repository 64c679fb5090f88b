"""Pins given on the command line: ``bedalloc solve --pins FILE.csv`` (MODEL.md §5, "Pins given
on the command line"), and the ``pins.csv`` a plan folder keeps of them.

A pins file has plan.csv's columns (a header with at least ``person_id,decision``; missing
columns read as empty, other columns are ignored), so a filtered plan.csv keeps yesterday's
decisions: a ``detain`` row pins its ``unit_id`` (or ``facility_id``, or anywhere), a ``release``
row its ``release_day`` and ``atd_program_id`` where given (never a unit: the bed until a later
release day stays the optimizer's choice), ``unplaced`` and ``removed`` rows pin nothing.  A row
for any member of a family replaces the instance's pins of the whole family.  The result is a new
:class:`~optimizer.instance.Instance` that passes the same checks as an instance file
(:func:`optimizer.instance.instance_problems`, pins included).

Project decisions where MODEL.md leaves a question open:

* a row's cells that its decision does not use must be empty (``atd_program_id`` and
  ``release_day`` on a detain row; every place cell on unplaced and removed rows), as in any
  plan.csv row; a release row's ``facility_id`` and ``unit_id`` are ignored;
* a person who needs no decision (``removal_day <= arrival_day``) may only have a ``removed``
  row, and a ``removed`` row must name such a person;
* the plan folder's ``pins.csv`` holds the rows as read, reduced to the six pin columns and to
  the cells that pin something (the ``pins_sha256`` of summary.json is that file's).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .instance import MAX_PROBLEMS, Instance, instance_problems
from .schema import DetainPin, ReleasePin, replace
from .verifier import DECISIONS, read_csv

PIN_COLUMNS = ("person_id", "decision", "facility_id", "unit_id", "atd_program_id", "release_day")
PINS_FILE = "pins.csv"
_DAY_RE = re.compile(r"[0-9]+\Z")
_PERSON_RE = re.compile(r"people\[([0-9]+)\] ")


def _q(cell: str) -> str:
    """A cell quoted for a one-line message (at most 60 characters, control characters escaped)."""
    return repr(cell[:60])


class _Bad(Exception):
    """One bad cell: ``field`` and what is wrong with it."""

    def __init__(self, field: str, message: str):
        super().__init__(field, message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class Pins:
    """The rows of a pins file: ``rows`` (line number, person index, the six pin cells as kept)
    in file order, and ``pins`` person index -> the pin of their row (None for unplaced and
    removed rows)."""

    rows: list[tuple[int, int, dict[str, str]]]
    pins: dict[int, object]

    def text(self) -> str:
        """``pins.csv`` as a plan folder keeps it (see the module docstring)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(PIN_COLUMNS)
        w.writerows([cells[c] for c in PIN_COLUMNS] for _, _, cells in self.rows)
        return buf.getvalue()

    def sha256(self) -> str:
        return hashlib.sha256(self.text().encode("utf-8")).hexdigest()


def read_pins(path: str | Path, inst: Instance) -> Pins:
    """Read and check a pins file against ``inst`` (ids, decisions, days, units, facilities,
    programs; one row per person).  Raises :class:`InputError`, one line per bad cell
    (``FILE line N, field F: message``, at most :data:`MAX_PROBLEMS`)."""
    path = Path(path)

    def header_problem(header):
        missing = [c for c in PIN_COLUMNS[:2] if c not in header]
        return f"the header has no column {', '.join(missing)} (it needs at least person_id,decision)" if missing else None

    index = {p.id: i for i, p in enumerate(inst.people)}
    look = _Lookups(inst)
    first_line: dict[int, int] = {}
    rows, pins, problems = [], {}, []
    for line, raw in read_csv(path, header_problem, max_rows=len(inst.people)):
        cells = {c: raw.get(c, "") for c in PIN_COLUMNS}
        try:
            i = index.get(cells["person_id"])
            if i is None:
                raise _Bad("person_id", f"unknown person {_q(cells['person_id'])}")
            if i in first_line:
                raise _Bad("person_id", f"person {cells['person_id']} repeats line {first_line[i]} (one row per person)")
            first_line[i] = line
            pins[i], kept = _pin(cells, inst.people[i], look)
            rows.append((line, i, {**cells, **kept}))
        except _Bad as e:
            problems.append(f"{path} line {line}, field {e.field}: {e.message}")
            if len(problems) > MAX_PROBLEMS:
                problems[-1] = f"{path}: ... and more problems (only the first {MAX_PROBLEMS} are listed)"
                break
    if problems:
        raise InputError(problems)
    return Pins(rows, pins)


class _Lookups:
    """Unit -> facility, the facility and program ids and the days of an instance, and the pins
    made so far: equal rows share one (frozen) pin object, so that a whole plan.csv of pins
    validates a few thousand pins, not one per person."""

    def __init__(self, inst: Instance):
        self.unit_fac = {u.id: f.id for f in inst.facilities for u in f.units}
        self.facilities = {f.id for f in inst.facilities}
        self.programs = {q.id for q in inst.atd_programs}
        self.horizon = inst.horizon_days
        self.made: dict[tuple, object] = {}

    def pin(self, model, **fields):
        key = (model, *fields.values())
        pin = self.made.get(key)
        if pin is None:
            pin = self.made[key] = model(**fields)
        return pin


def _pin(cells: dict[str, str], person, look: _Lookups) -> tuple[object, dict[str, str]]:
    """The pin of one row and its cells as kept in pins.csv; raises :class:`_Bad`."""
    dec = cells["decision"]
    if dec not in DECISIONS:
        raise _Bad("decision", f"{_q(dec)} is not one of detain, release, unplaced, removed")
    no_decision = person.removal_day is not None and person.removal_day <= person.arrival_day
    if no_decision and dec != "removed":
        raise _Bad("decision", f"person {person.id} needs no decision (removal_day {person.removal_day} <= "
                               f"arrival_day {person.arrival_day}); the row must say removed")
    if dec == "removed" and not no_decision:
        why = ("no removal_day" if person.removal_day is None
               else f"removal_day {person.removal_day} > arrival_day {person.arrival_day}")
        raise _Bad("decision", f"person {person.id} needs a decision ({why}); removed names a person who needs none")
    unused = {"detain": ("atd_program_id", "release_day"), "release": ()}.get(dec, PIN_COLUMNS[2:])
    for col in unused:
        if cells[col]:
            raise _Bad(col, f"{_q(cells[col])} must be empty on {'an' if dec[0] in 'aeiou' else 'a'} {dec} row")
    if dec == "detain":
        fac, unit = cells["facility_id"], cells["unit_id"]
        if unit and unit not in look.unit_fac:
            raise _Bad("unit_id", f"unknown unit {_q(unit)}")
        if fac and fac not in look.facilities:
            raise _Bad("facility_id", f"unknown facility {_q(fac)}")
        if unit and fac and look.unit_fac[unit] != fac:
            raise _Bad("facility_id", f"{_q(fac)}, but unit {unit} is in facility {look.unit_fac[unit]}")
        return look.pin(DetainPin, facility=fac or None, unit=unit or None), {}
    if dec == "release":
        day, prog = cells["release_day"], cells["atd_program_id"]
        if day and not _DAY_RE.match(day):
            raise _Bad("release_day", f"{_q(day)} is not a whole day")
        if day and (len(day.lstrip("0")) > 6 or int(day) >= look.horizon):  # horizon_days <= 3660
            raise _Bad("release_day", f"day {_q(day)} is outside the plan's days 0..{look.horizon - 1}")
        if prog and prog not in look.programs:
            raise _Bad("atd_program_id", f"unknown ATD program {_q(prog)}")
        pin = look.pin(ReleasePin, atd_program=prog or None,
                       release_day=int(day) if day else None)
        return pin, {"facility_id": "", "unit_id": "", "release_day": str(int(day)) if day else ""}
    return None, {}


def apply_pins(inst: Instance, pins: Pins, path: str | Path) -> Instance:
    """A new validated instance: ``inst`` with the pins of every family (or single person) that
    has a row in ``pins`` replaced by the rows' pins.  The new instance passes the checks of an
    instance file (:func:`optimizer.instance.instance_problems`); a problem about a person is
    given the line of their row (or of their family's first row).  Raises :class:`InputError`.
    Only the replaced people are copied: fast for 66,000 people."""
    people = inst.people
    members: dict[str, list[int]] = {}
    for i, p in enumerate(people):
        if p.family_id is not None:
            members.setdefault(p.family_id, []).append(i)
    new: dict[int, object] = {}
    line_of: dict[int, int] = {}
    for line, i, _ in pins.rows:  # a row for any member replaces the whole family's pins
        for m in members[people[i].family_id] if people[i].family_id is not None else (i,):
            new.setdefault(m, None)
            line_of.setdefault(m, line)
    new.update(pins.pins)
    line_of.update((i, line) for line, i, _ in pins.rows)
    changed = list(people)
    for i, pin in new.items():
        if people[i].pin != pin:
            changed[i] = replace(people[i], pin=pin)
    out = replace(inst, people=changed)
    problems = instance_problems(out)
    if problems:
        lines = []
        for text in problems[:MAX_PROBLEMS]:
            m = _PERSON_RE.match(text)
            line = line_of.get(int(m.group(1))) if m else None
            lines.append(f"{path} line {line}: {text}" if line else f"{path}: with these pins: {text}")
        raise InputError(lines)
    return out


def load_pins(path: str | Path, inst: Instance) -> tuple[Instance, Pins]:
    """Read the pins file ``path`` and apply it to ``inst`` (:func:`read_pins`, :func:`apply_pins`)."""
    pins = read_pins(path, inst)
    return apply_pins(inst, pins, path), pins


def plan_folder(plan_dir: str | Path) -> Path:
    """The folder of a plan given as the folder or as its plan.csv: a plan.csv that is a symbolic
    link is followed to its target's folder, where its pins.csv and summary.json are."""
    path = Path(plan_dir)
    if path.is_dir():
        return path
    return Path(os.path.realpath(path)).parent if path.is_symlink() else path.parent


def plan_pins(inst: Instance, plan_dir: str | Path) -> Instance:
    """``inst`` with the plan folder's ``pins.csv`` applied when there is one (``bedalloc check``
    and ``explain``: a plan made with ``--pins`` verifies as made).  ``plan_dir`` is the folder or
    its plan.csv.  Raises :class:`InputError`."""
    folder = plan_folder(plan_dir)
    if not (folder / PINS_FILE).exists():
        return inst
    return load_pins(folder / PINS_FILE, inst)[0]
