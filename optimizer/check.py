"""``bedalloc validate`` (an instance file) and ``bedalloc check`` (a plan against its instance):
checks that solve nothing.  Light on purpose: the instance reader and the verifier only."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import EXIT_LIMIT, EXIT_OK, InputError, refused

CHECK_LINES = 50  # violations `check` prints; the others are counted


def cmd_validate(args) -> int:
    """``bedalloc validate``: one line per problem of the instance file (exit 2), or its size (exit 0)."""
    from .instance import read_instance

    try:
        inst = read_instance(args.instance)
    except InputError as e:
        return refused(e)
    print(f"{args.instance}: valid: {len(inst.people)} people, {len(inst.facilities)} facilities, "
          f"{sum(len(f.units) for f in inst.facilities)} units, {len(inst.atd_programs)} ATD programs, "
          f"horizon {inst.horizon_days} day(s)")
    return EXIT_OK


def cmd_check(args) -> int:
    """``bedalloc check``: the violations and the four levels of a plan (exit 0 none, 1 violations, 2 bad input)."""
    from .instance import read_instance
    from .pinfile import plan_folder, plan_pins
    from .verifier import read_plan, verify

    folder = plan_folder(args.plan_dir)
    try:
        inst = plan_pins(read_instance(args.instance), args.plan_dir)
        rows = read_plan(args.plan_dir)
        summary = read_summary(folder)
    except InputError as e:
        return refused(e)
    res = verify(inst, rows)
    violations = _pins_file_changed(folder, summary) + res.violations
    _warn_other_instance(args.instance, folder, summary)  # first: it may explain every violation below
    for line in violations[:CHECK_LINES]:
        print(line)
    if len(violations) > CHECK_LINES:
        print(f"... and {len(violations) - CHECK_LINES} more violations")
    o = res.objective
    print(f"{'VIOLATIONS: ' + str(len(violations)) if violations else 'OK'}: unplaced {o['unplaced']}, "
          f"surge {o['surge']}, released risk {o['released_risk']:.4f}, cost {o['cost_usd']:.2f} USD")
    return EXIT_LIMIT if violations else EXIT_OK


def read_summary(folder: Path) -> dict | None:
    """The plan folder's summary.json (``check`` and ``explain``), or None when it has none
    readable (a plan made elsewhere): missing, unreadable, not UTF-8, not JSON, nested too deep
    for the parser (RecursionError) or not an object.  Raises :class:`InputError` when it is not
    a regular file (a pipe would block the read forever), as for pins.csv and plan.csv."""
    from .instance import require_regular

    path = folder / "summary.json"
    try:
        require_regular(path)
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return summary if isinstance(summary, dict) else None


def _pins_file_changed(folder: Path, summary: dict | None) -> list[str]:
    """A violation line when the plan folder's pins.csv is not the one the plan was made with:
    its sha256 differs from summary.json's ``params.pins_sha256`` (hex, in either case), it is missing although that
    names one, or present although that is null.  Nothing to compare without the field (no
    summary.json, or one written before pins existed)."""
    from .pinfile import PINS_FILE

    params = summary.get("params") if summary else None
    if not isinstance(params, dict) or "pins_sha256" not in params:
        return []
    want, path = params["pins_sha256"], folder / PINS_FILE
    have = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None  # plan_pins read it
    if have == (want.lower() if isinstance(want, str) else want):  # a hex digest in either case
        return []
    if have is None:
        why = f"missing, but summary.json's params.pins_sha256 is {str(want)[:12]}...: the plan was made with pins"
    elif want is None:
        why = "present, but summary.json says the plan was made without pins (params.pins_sha256 is null)"
    else:
        why = (f"sha256 {have[:12]}... differs from summary.json's params.pins_sha256 {str(want)[:12]}...: the pins "
               "were changed after the solve")
    return [f"{PINS_FILE}: {path}: {why}"]


def _warn_other_instance(instance: str, folder: Path, summary: dict | None) -> None:
    """Say so when the plan folder's summary.json was written for another instance file."""
    sha = summary.get("instance_sha256") if summary else None
    if not isinstance(sha, str):
        return
    try:
        mine = hashlib.sha256(Path(instance).read_bytes()).hexdigest()
    except OSError:  # a folder of CSV files: nothing to compare
        return
    if sha != mine:
        print(f"note: {folder / 'summary.json'} says the plan was made for another instance file "
              f"(sha256 {sha[:12]}...)")
