"""``bedalloc validate`` (an instance file) and ``bedalloc check`` (a plan against its instance):
checks that solve nothing.  Light on purpose: the instance reader and the verifier only."""

from __future__ import annotations

from pathlib import Path

from .errors import EXIT_INPUT, EXIT_LIMIT, EXIT_OK, InputError, err

CHECK_LINES = 50  # violations `check` prints; the others are counted


def cmd_validate(args) -> int:
    """``bedalloc validate``: one line per problem of the instance file (exit 2), or its size (exit 0)."""
    from .instance import read_instance

    try:
        inst = read_instance(args.instance)
    except InputError as e:
        err(e.lines)
        return EXIT_INPUT
    print(f"{args.instance}: valid: {len(inst.people)} people, {len(inst.facilities)} facilities, "
          f"{sum(len(f.units) for f in inst.facilities)} units, {len(inst.atd_programs)} ATD programs, "
          f"horizon {inst.horizon_days} day(s)")
    return EXIT_OK


def cmd_check(args) -> int:
    """``bedalloc check``: the violations and the four levels of a plan (exit 0 none, 1 violations, 2 bad input)."""
    from .instance import read_instance
    from .pinfile import plan_pins
    from .verifier import read_plan, verify

    try:
        inst = plan_pins(read_instance(args.instance), args.plan_dir)
        rows = read_plan(args.plan_dir)
    except InputError as e:
        err(e.lines)
        return EXIT_INPUT
    res = verify(inst, rows)
    for line in res.violations[:CHECK_LINES]:
        print(line)
    if len(res.violations) > CHECK_LINES:
        print(f"... and {len(res.violations) - CHECK_LINES} more violations")
    _warn_other_instance(args.instance, args.plan_dir)
    o = res.objective
    print(f"{'OK' if res.ok else 'VIOLATIONS: ' + str(len(res.violations))}: unplaced {o['unplaced']}, "
          f"surge {o['surge']}, released risk {o['released_risk']:.4f}, cost {o['cost_usd']:.2f} USD")
    return EXIT_OK if res.ok else EXIT_LIMIT


def _warn_other_instance(instance: str, plan_dir: str) -> None:
    """Say so when PLAN_DIR/summary.json was written for another instance file."""
    import hashlib
    import json

    summary = Path(plan_dir) / "summary.json"
    try:
        sha = json.loads(summary.read_text(encoding="utf-8")).get("instance_sha256")
        mine = hashlib.sha256(Path(instance).read_bytes()).hexdigest()
    except Exception:  # no readable summary next to the plan: nothing to compare
        return
    if isinstance(sha, str) and sha != mine:
        print(f"note: {summary} says the plan was made for another instance file (sha256 {sha[:12]}...)")
