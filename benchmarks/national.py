"""Benchmark of `bedalloc solve` on the national instance, and of the class model against the
straightforward person-by-unit formulation.

    .venv/bin/python benchmarks/national.py [--runs 5] [--person-cap 300] [--out FILE]

1. ``bedalloc solve instances/ice-fy2026.json`` as a fresh process, ``--runs`` times: wall clock
   of the whole process (start-up included), peak resident memory (``wait4``), and the phase
   times of ``summary.json`` (read, build, solve, verify, write, total); medians are reported.
2. In the same run, on a regional subset of about 5,000 people (``generate --aor MIA``) and on the
   national instance: build + lexicographic solve of the class model (in a subprocess, median of
   ``--runs``) and of the person-by-unit model (``person_model.py``, one subprocess under the
   wall-clock cap ``--person-cap`` seconds, killed beyond it), and the ratio of the two.

Results are printed as a table and written as JSON (default ``benchmarks/results/national.json``).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NATIONAL = ROOT / "instances" / "ice-fy2026.json"


def run_process(cmd: list[str], timeout: float | None = None) -> tuple[int | None, float, float, str]:
    """Run ``cmd``; return (exit code or None when killed, wall s, peak RSS MB, stdout).  The
    package is byte-compiled first, as a user's first run leaves it: where the environment sets
    ``PYTHONDONTWRITEBYTECODE`` (the reference machine does), every run would otherwise compile
    each module changed since the last compilation again (about 0.13 s for the solve's modules)."""
    compileall.compile_dir(ROOT / "optimizer", quiet=1)
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, cwd=ROOT)
        code = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                break
            if timeout is not None and time.monotonic() - t0 > timeout:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        proc.returncode = code if code is not None else -9
        wall = time.monotonic() - t0
        out.seek(0)
        text = out.read().decode()
    return code, wall, usage.ru_maxrss / 1024.0, text


def write_results(path: str, results, con) -> None:
    """Write a benchmark's results as JSON to ``path`` (folders created) and say where."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(results, indent=2) + "\n")
    con.print(f"results written to {path}")


def formulation(kind: str, instance: str) -> None:
    """Child mode: build and solve one formulation (``class``, ``person`` or the ``flow`` speed
    reference), print its timings as JSON."""
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]  # this tree's package, as `-m optimizer` run here
    from optimizer.instance import read_instance
    from optimizer.lexico import LevelParams, solve_lexicographic

    inst = read_instance(instance)
    t0 = time.monotonic()
    if kind == "flow":  # the speed limit: one min-cost flow of the same network, levels 1 and 3, no families
        from optimizer.backends import flow
        from optimizer.model import network_arrays, people_arrays
        from optimizer.engine import build_models

        inst = _without_transport_limits(inst)  # seat rows are no network (issue 24: limits removed for the flow)
        net = network_arrays(inst)
        model, _, _ = build_models(inst, people_arrays(inst), net)
        t1 = time.monotonic()
        x, _, _ = flow.solve_model(model, net, levels=(0, 2), omit_families=True)
        values = (model.objectives @ x + model.offsets).tolist()
        print(json.dumps({"build": t1 - t0, "solve": time.monotonic() - t1, "proven": 0, "levels": values,
                          "columns": int(model.A.shape[1]), "rows": int(model.A.shape[0])}))
        return
    if kind == "class":
        from optimizer.model import network_arrays, people_arrays
        from optimizer.engine import build_models

        model, compact, lift = build_models(inst, people_arrays(inst), network_arrays(inst))
    else:
        from person_model import build_person_model

        model, compact, lift = build_person_model(inst), None, None
    t1 = time.monotonic()
    x, proven, _, _, _ = solve_lexicographic(model, LevelParams(), None, compact, lift)
    t2 = time.monotonic()
    values = (model.objectives @ x + model.offsets).tolist()
    print(json.dumps({"build": t1 - t0, "solve": t2 - t1, "proven": proven, "levels": values,
                      "columns": int(model.A.shape[1]), "rows": int(model.A.shape[0])}))


def _without_transport_limits(inst):
    """``inst`` with no transport limit (contract 1.1), its local ties and pins kept."""
    from optimizer.schema import replace

    return replace(inst, policy=replace(inst.policy, max_transfers_per_day=None),
                   aors=[replace(a, max_transfers_out_per_day=None) for a in inst.aors])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--person-cap", type=float, default=300.0, help="seconds allowed to the person-by-unit model")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "national.json"))
    ap.add_argument("--formulation", nargs=2, metavar=("KIND", "INSTANCE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.formulation:
        formulation(*args.formulation)
        return 0

    from rich.console import Console
    from rich.table import Table

    con = Console()
    py = sys.executable
    results: dict = {"instance": str(NATIONAL.relative_to(ROOT)), "runs": args.runs}

    # 1. the whole command, start-up included
    walls, rss, phases = [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            out = Path(tmp) / "plan"
            code, wall, mb, _ = run_process([py, "-m", "optimizer", "solve", str(NATIONAL), "--out", str(out), "--quiet"])
            if code != 0:
                con.print(f"[red]bedalloc solve exited {code}[/]")
                return 1
            walls.append(wall)
            rss.append(mb)
            summary = json.loads((out / "summary.json").read_text())
            for k, v in summary["timings_s"].items():
                phases.setdefault(k, []).append(v)
    results["solve_command"] = {
        "wall_s_median": statistics.median(walls), "wall_s": walls,
        "peak_rss_mb_median": statistics.median(rss), "peak_rss_mb_max": max(rss),
        "phases_s_median": {k: statistics.median(v) for k, v in phases.items()},
        "objective": summary["objective"], "termination": summary["termination"],
    }
    t = Table(title=f"bedalloc solve {NATIONAL.name} ({args.runs} runs, medians)", title_justify="left")
    for col in ("phase", "seconds"):
        t.add_column(col, justify="right" if col == "seconds" else "left")
    for k, v in results["solve_command"]["phases_s_median"].items():
        t.add_row(k, f"{v:.3f}")
    t.add_row("process wall clock", f"{results['solve_command']['wall_s_median']:.3f}")
    t.add_row("peak memory (MB)", f"{results['solve_command']['peak_rss_mb_median']:.0f}")
    con.print(t)

    # 2. class model vs person-by-unit model
    with tempfile.TemporaryDirectory() as tmp:
        subset = Path(tmp) / "mia.json"
        code, *_ = run_process([py, "-m", "optimizer", "generate", "--aor", "MIA", "--out", str(subset)])
        if code != 0:
            con.print("[red]could not generate the regional subset[/]")
            return 1
        ratios = Table(title="class model vs person-by-unit model (build + 4-level solve)", title_justify="left")
        for col in ("instance", "people", "class s (median)", "person s", "ratio", "class cols", "person cols"):
            ratios.add_column(col, justify="left" if col == "instance" else "right")
        results["formulations"] = {}
        for name, path in (("MIA subset", subset), ("national", NATIONAL)):
            people = len(json.loads(Path(path).read_text())["people"])
            cls = []
            for _ in range(args.runs):
                code, wall, mb, text = run_process([py, __file__, "--formulation", "class", str(path)])
                cls.append(json.loads(text))
            c_time = statistics.median(r["build"] + r["solve"] for r in cls)
            code, wall, mb, text = run_process([py, __file__, "--formulation", "person", str(path)], args.person_cap)
            person = json.loads(text) if code == 0 else None
            p_time = person["build"] + person["solve"] if person else None
            same = person is not None and _same_levels(cls[0]["levels"], person["levels"])
            entry = {"people": people, "class_s_median": c_time, "class_columns": cls[0]["columns"],
                     "person_s": p_time, "person_columns": person["columns"] if person else None,
                     "person_peak_rss_mb": mb, "person_capped": person is None, "same_levels": same,
                     "ratio": (p_time / c_time) if p_time else None}
            results["formulations"][name] = entry
            ratios.add_row(
                name, f"{people:,}", f"{c_time:.2f}",
                f"{p_time:.2f}" if p_time else f"> {args.person_cap:.0f} (capped)",
                f"{entry['ratio']:.1f}x" if p_time else f"> {args.person_cap / c_time:.0f}x",
                f"{cls[0]['columns']:,}", f"{person['columns']:,}" if person else "-",
            )
            if person is not None and not same:
                con.print(f"[red]{name}: the formulations disagree: {cls[0]['levels']} vs {person['levels']}[/]")
        con.print(ratios)
    write_results(args.out, results, con)
    return 0


def _same_levels(a, b) -> bool:
    return (round(a[0]) == round(b[0]) and round(a[1]) == round(b[1]) and round(a[2]) == round(b[2])
            and abs(a[3] - b[3]) <= 1e-6 * max(1.0, abs(a[3])))


if __name__ == "__main__":
    raise SystemExit(main())
