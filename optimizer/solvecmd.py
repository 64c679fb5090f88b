"""``bedalloc solve``: every output checked before any work, the instance read (with ``--pins``),
the deadline of a ``--time-limit``, the solver, the verifier, the reasons and summary.json, the extra
one-day solves, the plan folder, the report and the terminal summary (MODEL.md §5: exit codes and
their precedence; before the verified plan an interrupt is exit 130 and writes nothing, from the
verified plan on it writes the plan whole and exits 1: optimizer/interrupts.py)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .errors import EXIT_ERROR, EXIT_INPUT, EXIT_LIMIT, EXIT_OK, EXIT_UNPLACED, err, refused
from .outdir import bad_output_file


def cmd_solve(args, started: float, say=None) -> int:
    """``bedalloc solve``; ``say``: the progress display (:class:`optimizer.report.Status`)."""
    from .errors import InputError

    from . import interrupts
    from .backends import BackendError, check
    from .engine import SolveParams

    say = say or (lambda *a, **k: None)
    params = SolveParams(time_limit=args.time_limit, mip_gap=args.mip_gap, threads=args.threads,
                         seed=args.seed, log=args.log, solver=args.solver, progress=_checking(say))
    try:
        check(args.solver, params.given())
    except BackendError as e:
        err([f"bedalloc: --solver {args.solver}: {e}"])
        return EXIT_INPUT
    out, why = _solve_outputs(args)  # every output checked before any work: exit 2 writes nothing
    if why:
        err([why])
        return EXIT_INPUT
    digest: list[str] = []
    t0, cpu0 = time.monotonic(), time.process_time()
    say("reading the instance")
    try:
        inst, pins = _read_for_solve(args, digest)
    except InputError as e:
        return refused(e)
    interrupts.check()  # the safe points before a verified plan: a noted SIGINT or SIGTERM is exit 130
    t_read = time.monotonic() - t0
    params, deadline = _solve_deadline(args, params, inst, started, t_read, time.process_time() - cpu0)
    res = _run_solver(args, inst, params, deadline)
    if isinstance(res, int):
        return res
    interrupts.check()
    t1 = time.monotonic()
    say("verifying the plan")
    check = _verified(inst, res)
    if check is None:
        return EXIT_ERROR
    interrupts.check()  # the last one: from here signals are only noted, the verified plan is written
    interrupts.hold()
    res.timings.setdefault("verify", time.monotonic() - t1)
    return _write_solution(args, inst, out, res, check, (params, deadline, pins, digest[0], t_read, started), say)


def _checking(say):
    """``say`` (the progress display) that is also a safe point of `solve`: the engine calls it at
    each stage, level and pricing round, the extra solves at each step (optimizer/interrupts.py)."""
    from . import interrupts

    def progress(*args, **kwargs) -> None:
        interrupts.check()
        say(*args, **kwargs)
    return progress


def _read_for_solve(args, digest: list) -> tuple:
    """The instance of `solve` with its ``--pins`` applied, and the pins (None without);
    raises InputError for a bad file or extra that cannot be made for it."""
    from .errors import InputError
    from .instance import read_instance

    inst = read_instance(args.instance, digest)
    why = _extras_problem(args, inst)
    if why:
        raise InputError([why])
    if args.pins is None:
        return inst, None
    from .pinfile import load_pins

    return load_pins(args.pins, inst)


def _solve_deadline(args, params, inst, started: float, t_read: float, cpu_read: float) -> tuple:
    """``(params, deadline)`` of the solver: the command's limit less the reserve for what
    follows the solver (and plan.xlsx), both grown by the machine's measured slowdown."""
    if not args.time_limit:
        return params, None
    from dataclasses import replace

    from .deadline import reserve_s, slowdown

    params = replace(params, slowdown=slowdown(t_read, cpu_read))
    deadline = started + args.time_limit - reserve_s(len(inst.people), inst.horizon_days) * params.slowdown
    if args.xlsx:
        from .settings import SETTINGS

        deadline -= SETTINGS.xlsx_s_per_row * len(inst.people) * params.slowdown
    return params, deadline


def _run_solver(args, inst, params, deadline):
    """The solver's :class:`optimizer.engine.Result`, or the exit code after saying why it gave
    none (2: the solver cannot take the instance; 4: it failed)."""
    from .backends import BackendError
    from .engine import solve
    from .errors import SolverError

    try:
        return solve(inst, params, deadline=deadline)
    except BackendError as e:  # the chosen solver cannot take this instance: exit 2, nothing written
        err([f"{args.instance}: --solver {args.solver}: {e}"])
        return EXIT_INPUT
    except SolverError as e:  # a solver that fails on valid input names its status: exit 4
        err([f"bedalloc: solver error: {e}; nothing was written"])
        return EXIT_ERROR
    except Exception as e:  # a solver or internal failure: exit 4, nothing written
        err([f"bedalloc: solver error: {type(e).__name__}: {e}"])
        return EXIT_ERROR


def _write_solution(args, inst, out: Path, res, check, context: tuple, say) -> int:
    """Reasons, summary, extra solves, the plan folder, the report and the closing lines of a
    verified plan; ``context``: (params, deadline, pins, instance sha256, read s, start).  From
    the verified plan on, a SIGINT or SIGTERM (only noted: optimizer/interrupts.py) stops only
    the extra solves; the plan is written whole, then the exit is 1 (MODEL.md §5)."""
    from .interrupts import ARRIVED
    from .output import write_plan_dir

    params, deadline, pins, sha, t_read, started = context
    unplaced = check.objective["unplaced"]
    _reached("verified")
    why, summary = _reasons_and_summary(args, inst, sha, params, res, check, pins)
    _extras(args, inst, params, res, summary, deadline)
    summary["timings_s"].update(read=round(t_read, 4), verify=round(res.timings["verify"], 4))
    docs = _documents(args, inst, res, why, summary, pins, deadline)
    say("writing the plan")
    try:
        write_plan_dir(out, res.rows, docs, started)
    except OSError as e:  # the folder was found writable before any work: a full disk, an I/O error
        err([f"{out}: cannot write the plan folder: {e.strerror or e}; nothing was written"])
        return EXIT_ERROR
    _reached("written")
    code = _after_writing(args, inst, out, summary, res, unplaced, say)
    if ARRIVED:
        err([f"bedalloc: interrupted; the verified plan was written to {out}"])
    if ARRIVED and code == EXIT_OK:  # precedence: 2, 4, 3, 1, 0
        code = EXIT_UNPLACED if res.levels_proven >= 1 and unplaced > 0 else EXIT_LIMIT
    return code


def _solve_outputs(args) -> tuple[Path, str | None]:
    """The plan folder of `solve`, and why it, ``--report`` or ``--write-model`` cannot be written (one line) or
    None: checked before any work, so that exit 2 means nothing written (MODEL.md §5)."""
    from .outdir import unsafe_out_dir

    if args.out is not None and not args.out.strip():
        return Path(), "bedalloc: --out: empty folder name"
    out = Path(args.out) if args.out else Path("out") / Path(args.instance).stem
    why = unsafe_out_dir(out)
    if why:
        return out, f"{out}: --out: {why}"
    models = [] if args.write_model is None else [args.write_model]
    if args.report is not None:
        why = bad_output_file(args.report, "--report", [args.instance, out, *models] + ([args.pins] if args.pins else []),
                               (".html", ".htm"))
        if why:
            return out, why
    if models:
        return out, _bad_model_dir(args.write_model, out)
    return out, None


def _bad_model_dir(folder: str, out: Path) -> str | None:
    """Why ``--write-model`` may not be ``folder`` (one line), or None: absent or an earlier model
    folder, in a writable place, apart from the plan folder ``out`` (neither inside the other)."""
    from .modelfile import unsafe_model_dir
    from .outdir import unwritable

    here, plan = Path(folder).resolve(), out.resolve()
    why = unsafe_model_dir(folder) or (None if here.parent.is_dir() else f"the folder {here.parent} does not exist") \
        or unwritable(folder)
    if why is None and (here == plan or plan in here.parents or here in plan.parents):
        why = f"must be apart from the plan folder {out} (neither inside the other)"
    return f"{folder}: --write-model: {why}" if why else None


def _extras_problem(args, inst) -> str | None:
    """Why --bed-values or --capacity-curve cannot be made for this instance and solver (one
    line), or None."""
    if args.bed_values or args.capacity_curve:
        flag = "--bed-values" if args.bed_values else "--capacity-curve"
        if inst.horizon_days > 1:
            return f"bedalloc: {flag}: one-day plans only (this instance has horizon_days = {inst.horizon_days})"
        if args.solver not in ("highs", "highs-mip", "cpsat", "scip"):
            return (f"bedalloc: {flag}: needs a solver of the class model (highs, highs-mip, cpsat, scip), "
                    f"not {args.solver}")
    if args.pins is not None and args.capacity_curve:  # its points re-read the instance file, without the pins
        return ("bedalloc: --capacity-curve: not with --pins (the curve solves the instance file as it is); "
                "run 'bedalloc capacity-curve' on an instance with the pins")
    return None


def _verified(inst, res):
    """The verifier's report of the solver's plan, or None (after saying why: exit 4) when it
    breaks a rule or a proven level disagrees with the model's value."""
    from .verifier import verify

    check = res.verified or verify(inst, res.rows)  # a constructive plan was verified already
    # Proven levels must match the verifier exactly.  A level the limit stopped before proving may
    # hold risk segments filled out of order; the decoder releases the lowest risks anyway, so the
    # verifier's value may only be lower there (the plan's true value, which the summary reports).
    mismatch = []
    for k, name in enumerate(("unplaced", "surge", "released_risk", "cost_usd")):
        tol = 1e-6 if k < 3 else 1e-6 * max(1.0, abs(check.objective[name])) + 0.01
        diff = check.objective[name] - res.objective[name]
        if diff > tol or (k < res.levels_proven and diff < -tol):
            mismatch.append(name)
    # A plan whose level 1 a limit stopped before proving may leave people unplaced although an
    # outcome was free (MODEL.md §5: "at worst one that leaves people unplaced"); said, not fatal.
    needless = [v for v in check.violations if v.startswith("unplaced:")] if res.levels_proven < 1 else []
    if len(check.violations) > len(needless) or mismatch:
        err(["bedalloc: internal error: the plan failed verification; nothing was written"] + check.violations[:20]
             + [f"objective level {k}: model {res.objective[k]} != verifier {check.objective[k]}" for k in mismatch])
        return None
    if needless:
        err([f"bedalloc: the limit stopped the search before level 1 was proven; {len(needless)} unplaced people or "
              "families had an outcome free (bedalloc check lists them)"])
    return check


def _extras(args, inst, params, res, summary, deadline) -> None:
    """The optional extra solves of a one-day plan (--bed-values, --capacity-curve) into
    ``summary``; a noted interrupt stops them at their next safe point (``params.progress``), noted
    in summary.json's ``extras_interrupted``: the verified plan is still written (MODEL.md §5)."""
    from . import interrupts

    try:
        interrupts.check()  # no extra solves after an interrupt
        if args.bed_values and inst.horizon_days == 1:
            from .bedvalue import bed_values

            summary["bed_values"] = bed_values(
                inst, args.bed_values, params, deadline=deadline, base=res,
                progress=lambda d, t: params.progress("value of a bed: units re-solved", d, t))
        if args.capacity_curve and inst.horizon_days == 1:
            from .instance import load_json
            from .whatif import capacity_curve

            points = iter(range(1, 14))
            summary["capacity_curve"] = capacity_curve(
                load_json(args.instance), [-30 + 5 * k for k in range(13)], params=params, deadline=deadline,
                progress=lambda: params.progress("capacity curve: points solved", next(points), 13))
    except KeyboardInterrupt:  # raised at a safe point: the signal is in interrupts.ARRIVED
        summary["extras_interrupted"] = [name for name, asked in (("bed_values", args.bed_values),
                                                                  ("capacity_curve", args.capacity_curve))
                                         if asked and name not in summary]


def _documents(args, inst, res, why, summary, pins, deadline) -> dict:
    """The plan folder's files besides plan.csv: diagnosis.json (when people are unplaced),
    summary.json, plan.xlsx (with --xlsx), pins.csv (with --pins)."""
    from .output import diagnosis

    unplaced = summary["objective"]["unplaced"]
    docs = {}
    if unplaced > 0:
        docs["diagnosis.json"] = diagnosis(inst, res.rows, res.levels_proven >= 1, why)
        if inst.horizon_days == 1:
            from .diagnose import diagnose

            # under a time limit, no LP of the transport relaxation (national: several seconds)
            docs["diagnosis.json"]["certificate"] = diagnose(inst, unplaced if res.levels_proven >= 1 else None,
                                                             seat_lp=deadline is None)
        if args.redact:
            for group in docs["diagnosis.json"]["groups"]:
                group.pop("person_ids", None)
    docs["summary.json"] = summary
    if args.xlsx:  # an interrupt meanwhile is held: the plan is written whole, then exit 1
        from .planbook import plan_workbook

        docs["plan.xlsx"] = plan_workbook(inst, res.rows, summary)
    if pins is not None:
        from .pinfile import PINS_FILE

        docs[PINS_FILE] = pins.text()
    return docs


def _after_writing(args, inst, out, summary, res, unplaced, say) -> int:
    """The report, the terminal summary and the closing lines of `solve` once its plan folder is
    in place; returns the exit code (an interrupt here leaves the plan standing: the caller
    exits 1)."""
    if args.report is not None:
        from .generate import write_atomic
        from .htmlreport import render

        say("writing the report")

        try:
            write_atomic(args.report, render(summary, res.rows, inst, redact=args.redact))
        except OSError as e:  # it was found writable before any work: a full disk, an I/O error
            err([f"{args.report}: cannot write the report: {e.strerror or e} (the plan was written to {out})"])
            return EXIT_ERROR
    if args.write_model is not None:
        from .modelfile import write_levels

        try:
            write_levels(args.write_model, inst, res, args.instance)
        except OSError as e:  # it was found writable before any work: a full disk, an I/O error
            err([f"{args.write_model}: cannot write the model files: {e.strerror or e} (the plan was written "
                  f"to {out})"])
            return EXIT_ERROR
    if hasattr(say, "stop"):
        say.stop()
    if not args.quiet:
        from .report import print_summary

        print_summary(summary, res.rows, out, {f.id: f.name for f in inst.facilities}, args.report)
        sys.stdout.flush()
    if unplaced > 0:
        where = out / "diagnosis.json"
        if res.levels_proven >= 1:
            err([f"bedalloc: {unplaced} {'person has' if unplaced == 1 else 'people have'} no legal outcome; "
                  f"see {where} for why"])
        else:
            err([f"bedalloc: the limit stopped the search before everyone was placed: {unplaced} people "
                  f"left unplaced for lack of time, not necessarily of beds; see {where}"])
    if res.levels_proven >= 1 and unplaced > 0:
        return EXIT_UNPLACED
    return EXIT_OK if res.termination == "optimal" else EXIT_LIMIT


def _reasons_and_summary(args, inst, sha, params, res, check, pins) -> tuple[list[str], dict]:
    """Each row's reason (plan.csv's documented extra column ``reason``, set on ``res.rows``)
    and summary.json without its read, verify and write timings."""
    from .reasons import reasons

    why, cutoffs = reasons(inst, res.rows)
    for row, reason in zip(res.rows, why):
        row["reason"] = reason
    summary = _summary(args, inst, sha, params, res, check)
    summary["params"].update(pins=args.pins, pins_sha256=pins.sha256() if pins else None)
    summary["release_cutoffs"] = cutoffs
    for key, decision in (("releases_by_reason", "release"), ("unplaced_by_reason", "unplaced")):
        picked = [w for w, row in zip(why, res.rows) if row["decision"] == decision and w]
        summary[key] = {k: picked.count(k) for k in sorted(set(picked))}
    return why, summary


def _reached(stage: str) -> None:
    """A point of `solve` where tests send a signal (tests/test_reliability.py): ``verified``
    (the plan passed the verifier) and ``written`` (the plan folder is in place)."""


def _summary(args, inst, sha, params, res, check) -> dict:
    from .engine import bound_and_gap

    bound, gap = bound_and_gap(check.objective, res.bound)  # against the written plan's values
    return {
        "format": "bedalloc-summary",
        "version": 1,
        "instance": str(args.instance),
        "instance_name": inst.name,
        "instance_sha256": sha,
        "solver": params.solver,
        "solver_version": res.solver_version,
        "params": {"time_limit": params.time_limit, "mip_gap": params.mip_gap, "threads": params.threads,
                   "seed": params.seed},
        "termination": res.termination,
        "has_solution": True,
        "levels_proven_optimal": res.levels_proven,
        "objective": check.objective,
        "bound": bound,
        "gap": gap,
        "counts": check.counts,
        "transfers_by_aor": check.transfers_by_aor,
        "facilities": [
            {**f, "utilization": round(f["occupied"] / f["beds"], 4) if f["beds"] else None} for f in check.per_facility
        ],
        "atd": check.per_program,
        "days": check.per_day,
        "release_risk_cutoff": max(
            (float(r["effective_risk"]) for r in res.rows if r["decision"] == "release"), default=None),
        "timings_s": {"read": 0.0, "build": round(res.timings["build"], 4), "solve": round(res.timings["solve"], 4),
                      "verify": 0.0, "write": 0.0, "total": 0.0},
        "model_size": res.model_size,
        "model_classes": res.model_stats,
        "native_status": res.native_status,
    }
