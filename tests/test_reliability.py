"""Reliability of `bedalloc solve` and its readers (issue 20, docs/reliability.md): interrupts once
a verified plan exists, outputs checked before any work, solver failures, closed streams, reading
edge cases."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from optimizer import solvecmd
from optimizer.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny.json"


def tiny_doc() -> dict:
    return json.loads(TINY.read_text(encoding="utf-8"))


def write_json(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


def checks(instance: Path, out: Path) -> bool:
    return main(["check", str(instance), str(out)]) == 0


# --------------------------------------------------------------------------------------------
# 1. an interrupt once a verified plan exists writes it and exits 1 (MODEL.md §5)
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", ["verified", "written"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_after_the_plan_is_verified_writes_it_and_exits_1(stage, sig, tmp_path, monkeypatch, capsys):
    out = tmp_path / "plan"
    monkeypatch.setattr(solvecmd, "_reached", lambda at: signal.raise_signal(sig) if at == stage else None)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        code = main(["solve", str(TINY), "--out", str(out)])
    finally:
        signal.signal(signal.SIGTERM, previous)
    err = capsys.readouterr().err
    assert code == 1, err
    assert f"interrupted; the verified plan was written to {out}" in err and "nothing written" not in err
    assert json.loads((out / "summary.json").read_text())["objective"]["unplaced"] == 0
    assert checks(TINY, out)


def test_an_interrupt_before_the_plan_is_verified_exits_130_and_writes_nothing(tmp_path, monkeypatch, capsys):
    import optimizer.engine

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(optimizer.engine, "solve", interrupted)
    out = tmp_path / "plan"
    assert main(["solve", str(TINY), "--out", str(out)]) == 130
    assert "nothing written" in capsys.readouterr().err and not out.exists()


# --------------------------------------------------------------------------------------------
# 2. every output path is checked before any work; exit 2 means nothing written
# --------------------------------------------------------------------------------------------

def _no_solve(monkeypatch):
    import optimizer.engine

    def solve(*args, **kwargs):
        raise AssertionError("solved although an output cannot be written")

    monkeypatch.setattr(optimizer.engine, "solve", solve)


@pytest.mark.skipif(not os.path.isdir("/sys"), reason="no /sys (where even root may not create files)")
@pytest.mark.parametrize("flag", ["--out", "--report"])
def test_an_output_nobody_may_write_is_exit_2_before_any_work(flag, tmp_path, monkeypatch, capsys):
    _no_solve(monkeypatch)
    out = tmp_path / "plan"
    where = "/sys/bedalloc-test-output" + (".html" if flag == "--report" else "")
    argv = ["solve", str(TINY), "--out", where] if flag == "--out" else \
        ["solve", str(TINY), "--out", str(out), "--report", where]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{where}: {flag}: cannot write in /sys" in err
    assert not out.exists() and not os.path.lexists(where)


@pytest.mark.skipif(not os.path.isdir("/sys"), reason="no /sys (where even root may not create files)")
def test_a_report_that_is_a_symbolic_link_is_followed(tmp_path, capsys):
    """--report a symbolic link, as --out: its target is checked (a link into /sys: exit 2, no
    solve, the link kept) and written (the link stays and points to the report)."""
    link = tmp_path / "r.html"
    link.symlink_to("/sys/bedalloc-test-output.html")
    assert main(["solve", str(TINY), "--out", str(tmp_path / "plan"), "--report", str(link), "--quiet"]) == 2
    assert f"{link}: --report: cannot write in /sys" in capsys.readouterr().err
    assert link.is_symlink() and not (tmp_path / "plan").exists()
    link.unlink()
    (tmp_path / "reports").mkdir()
    link.symlink_to(tmp_path / "reports" / "today.html")
    assert main(["solve", str(TINY), "--out", str(tmp_path / "plan"), "--report", str(link), "--quiet"]) == 0
    assert link.is_symlink() and (tmp_path / "reports" / "today.html").read_text(encoding="utf-8").startswith("<!")


@pytest.mark.skipif(not os.path.isdir("/sys"), reason="no /sys (where even root may not create files)")
@pytest.mark.parametrize("argv", [["generate", "--aor", "SNA"], ["capacity-curve", str(TINY)]])
def test_other_commands_check_their_output_before_any_work(argv, capsys):
    assert main([*argv, "--out", "/sys/bedalloc-test-output"]) == 2
    assert "cannot write in /sys" in capsys.readouterr().err and not os.path.lexists("/sys/bedalloc-test-output")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_report_in_a_read_only_folder_is_exit_2_and_writes_no_plan(tmp_path, monkeypatch, capsys):
    _no_solve(monkeypatch)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert main(["solve", str(TINY), "--out", str(tmp_path / "plan"), "--report", str(locked / "r.html")]) == 2
    finally:
        locked.chmod(0o755)
    assert "Permission denied" in capsys.readouterr().err and not (tmp_path / "plan").exists()


def test_a_plan_folder_that_cannot_be_written_after_all_is_exit_4(tmp_path, monkeypatch, capsys):
    """A disk that fills during the write: the checks passed, so it is an I/O failure, exit 4, and
    the atomic write leaves nothing."""
    import optimizer.output

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(optimizer.output, "write_plan_dir", full)
    assert main(["solve", str(TINY), "--out", str(tmp_path / "plan"), "--quiet"]) == 4
    assert "No space left on device; nothing was written" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# 4. a solver that fails on valid input is exit 4 naming its status
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["unbounded", "infeasible", "solverFailure"])
def test_a_pyomo_solver_failing_on_valid_input_is_exit_4_naming_its_status(status, tmp_path, monkeypatch, capsys):
    pytest.importorskip("pyomo")
    import pyomo.environ as pyo
    from pyomo.opt import TerminationCondition

    class Results:
        solver = type("S", (), {"termination_condition": getattr(TerminationCondition, status)})()
        solution = []

    class Failing:  # GLPK as the hostile review met it: "unbounded" on a bounded, valid instance
        def available(self, exception_flag=False):
            return True

        def version(self):
            return (5, 0)

        def solve(self, *args, **kwargs):
            return Results()

    monkeypatch.setattr(pyo, "SolverFactory", lambda name: Failing())
    out = tmp_path / "plan"
    assert main(["solve", str(TINY), "--solver", "pyomo:glpk", "--out", str(out), "--quiet"]) == 4
    err = capsys.readouterr().err
    assert f"the solver reported {status} on a valid instance" in err and not out.exists()


# --------------------------------------------------------------------------------------------
# 5. closed streams never change solve's exit code
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", ["stdout", "stderr", "both"])
def test_a_closed_stream_keeps_the_exit_code_of_solve(stream, tmp_path):
    doc = tiny_doc()  # a mandatory man who needs a medical bed no unit offers: exit 3, with a message
    doc["people"].append({"id": "P13", "sex": "M", "level": "D", "risk": 40.0, "aor": "HOU", "origin": None,
                          "mandatory": True, "needs_medical": True})
    path = write_json(tmp_path / "no-bed.json", doc)
    r, w = os.pipe()
    os.close(r)  # the reader is gone: every write fails with EPIPE
    try:
        proc = subprocess.run([sys.executable, "-m", "optimizer", "solve", str(path), "--out", str(tmp_path / "p")],
                              cwd=ROOT, stdout=w if stream != "stderr" else subprocess.DEVNULL,
                              stderr=w if stream != "stdout" else subprocess.PIPE, timeout=120)
    finally:
        os.close(w)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr is None or b"Traceback" not in proc.stderr


# --------------------------------------------------------------------------------------------
# 7. the smaller ones
# --------------------------------------------------------------------------------------------

def test_a_symlinked_out_is_followed_and_stays_a_link(tmp_path):
    target, link = tmp_path / "plans" / "monday", tmp_path / "latest"
    assert main(["solve", str(TINY), "--out", str(target), "--quiet"]) == 0
    link.symlink_to(target, target_is_directory=True)
    (target / "summary.json").unlink()  # so that the new plan is seen to arrive through the link
    assert main(["solve", str(TINY), "--out", str(link), "--quiet"]) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert (target / "summary.json").is_file() and checks(TINY, link)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "plans"]


def test_a_symlink_to_nothing_is_refused(tmp_path, capsys):
    link = tmp_path / "latest"
    link.symlink_to(tmp_path / "gone")
    assert main(["solve", str(TINY), "--out", str(link), "--quiet"]) == 2
    assert "symbolic link to a missing folder" in capsys.readouterr().err and link.is_symlink()


@pytest.mark.parametrize("field, where", [("horizon_days", "top level: field 'horizon_days'"),
                                          ("risk", "people[0] id=P01: field 'risk'")])
def test_an_integer_of_ten_thousand_digits_names_its_field(field, where, tmp_path, capsys):
    text = TINY.read_text(encoding="utf-8")
    key = f'"{field}": '
    start = text.index(key) + len(key)
    end = min(text.index(c, start) for c in ",}\n" if c in text[start:])
    path = tmp_path / "big.json"
    path.write_text(text[:start] + "9" * 10_000 + text[end:], encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {where}: Input should be less than or equal to" in err and "set_int_max_str_digits" not in err


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-16", "utf-32"])
def test_utf16_is_called_an_encoding_problem(encoding, tmp_path, capsys):
    path = tmp_path / "u.json"
    path.write_bytes(TINY.read_text(encoding="utf-8").encode(encoding))
    assert main(["validate", str(path)]) == 2
    bom = "with" if encoding in ("utf-16", "utf-32") else "without"
    assert f"{path}: not UTF-8 text: the file looks like UTF-16 or UTF-32 ({bom} a byte-order mark)" in \
        capsys.readouterr().err


def test_bed_values_says_its_upper_bound(capsys):
    assert cli_exit(["solve", str(TINY), "--bed-values", "10001"]) == 2
    assert "must be a whole number from 0 to 10000" in capsys.readouterr().err


def cli_exit(argv) -> int:
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


def test_explain_says_a_custody_limit_was_reached_before_the_plan(tmp_path, capsys):
    doc = tiny_doc()
    p = next(p for p in doc["people"] if not p.get("mandatory") and not p.get("family_id") and p["risk"] <= 50)
    p.update(custody_days=600, max_custody_days=73)  # reached 527 days before day 0: released on day 0
    path = write_json(tmp_path / "late.json", doc)
    out = tmp_path / "plan"
    assert main(["solve", str(path), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["explain", str(out), p["id"], "--instance", str(path)]) == 0
    text = capsys.readouterr().out
    assert "the custody limit was reached 527 days before the plan's first day" in text and "day -" not in text


# --------------------------------------------------------------------------------------------
# 3. solver executables die with bedalloc, even when it is killed with SIGKILL
# --------------------------------------------------------------------------------------------

def _descendants(pid: int) -> dict[int, str]:
    """pid -> command line of every process below ``pid``."""
    parent, name = {}, {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            name[int(entry)] = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        parent[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    found, todo = {}, [pid]
    while todo:
        p = todo.pop()
        for child, up in parent.items():
            if up == p and child not in found:
                found[child] = name[child]
                todo.append(child)
    return found


def _tiny_times(k: int, folder: Path) -> Path:
    """tiny.json with ``k`` copies of its people, beds and ATD slots: a solve of some seconds."""
    doc = tiny_doc()
    doc["people"] = [{**p, "id": f"{p['id']}-{j}", **({"family_id": f"{p['family_id']}-{j}"} if "family_id" in p
                                                       else {})} for j in range(k) for p in doc["people"]]
    for unit in (u for f in doc["facilities"] for u in f["units"]):
        unit["beds"] *= k
    for program in doc["atd_programs"]:
        program["capacity"] = program["capacity"] * k if program.get("capacity") else None
    return write_json(folder / f"tiny-x{k}.json", doc)


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not shutil.which("cbc") or not Path("/proc/self/stat").exists(),
                    reason="needs the cbc executable (.ci/run installs it) and Linux /proc")
@pytest.mark.parametrize("limit", [[], ["--time-limit", "600"]])  # in bedalloc itself, in its solver child
def test_cbc_dies_with_bedalloc_killed_by_sigkill_and_its_files_go(limit, tmp_path):
    pytest.importorskip("pyomo")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    solve = [sys.executable, "-m", "optimizer", "solve", str(_tiny_times(20, tmp_path)), "--solver", "pyomo:cbc",
             "--quiet"]
    proc = subprocess.Popen([*solve, "--out", str(tmp_path / "plan"), *limit], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cbc = None
    try:
        deadline = time.monotonic() + 120
        while cbc is None and proc.poll() is None and time.monotonic() < deadline:
            cbc = next((p for p, cmd in _descendants(proc.pid).items() if "cbc " in cmd and "-import" in cmd), None)
            try:  # a solve (not Pyomo's version probe), held mid-solve whatever the machine's speed
                os.kill(cbc, signal.SIGSTOP) if cbc else None
            except ProcessLookupError:  # it finished meanwhile: the next level's
                cbc = None
        assert cbc is not None and _running(cbc), f"no cbc was caught solving (exit {proc.poll()})"
        proc.kill()
        proc.wait()
        gone = time.monotonic() + 10
        while _running(cbc) and time.monotonic() < gone:
            time.sleep(0.05)
        assert not _running(cbc), "cbc outlived bedalloc"
    finally:
        if cbc is not None and _running(cbc):
            os.kill(cbc, signal.SIGKILL)
        proc.kill()
    left = sorted(p.name.split("-")[1] for p in scratch.iterdir())
    assert left == ["pyomo"] if not limit else left == ["solver"]  # what a killed process cannot remove
    again = subprocess.run([*solve[:4], str(TINY), *solve[5:], "--out", str(tmp_path / "again")], cwd=ROOT, env=env,
                           timeout=120)
    assert again.returncode == 0 and list(scratch.iterdir()) == []  # the next run removes them


# --------------------------------------------------------------------------------------------
# 6. the verifier flags a needless "unplaced"
# --------------------------------------------------------------------------------------------

def _unplace(rows: list[dict], ids) -> list[dict]:
    for r in rows:
        if r["person_id"] in ids:
            r.update(decision="unplaced", facility_id="", unit_id="", atd_program_id="", release_day="", transfer="0")
    return rows


@pytest.fixture(scope="module")
def tiny_plan(tmp_path_factory) -> list[dict]:
    from optimizer.instance import read_instance
    from optimizer.engine import solve

    return solve(read_instance(TINY)).rows


def test_p12_unplaced_although_a_program_has_a_slot_is_flagged(tiny_plan):
    from optimizer.instance import read_instance
    from optimizer.verifier import verify

    res = verify(read_instance(TINY), _unplace([dict(r) for r in tiny_plan], {"P12"}))
    assert res.violations == ["unplaced: people[11] id=P12: unplaced although a free slot in ATD program APP "
                              "(release is allowed) was available"]


def test_everyone_unplaced_while_beds_are_free_is_flagged_block_by_block(tiny_plan):
    from optimizer.instance import read_instance
    from optimizer.verifier import verify

    rows = _unplace([dict(r) for r in tiny_plan], {r["person_id"] for r in tiny_plan if r["decision"] != "removed"})
    flagged = [v.split(": ")[1] for v in verify(read_instance(TINY), rows).violations]
    assert flagged == [f"people[{i}] id=P{i + 1:02d}" for i in range(7)] + \
        ["family FAM1 (2 people, first people[7] id=P08)", "people[9] id=P10", "people[11] id=P12"]


def _seat_doc(limit: int | None, ties: bool) -> dict:
    """X is held in F1, whose only unit has no bed; F2 (same AOR) has one: X can have it only as a
    transfer, which the AOR's limit or X's local ties (X's case is in AOR B) may forbid."""
    unit = {"sex": "M", "levels": ["A", "B", "C", "D"]}
    fac = {"state": "TX", "type": "SPC", "lat": 30.0, "lon": -95.0, "per_diem": 100.0}
    return {
        "format": "bedalloc-instance", "version": 1, "name": "seats", "snapshot_date": "2026-01-01",
        "horizon_days": 1,
        "aors": [{"code": "A", "name": "A", "lat": 30.0, "lon": -95.0, "max_transfers_out_per_day": limit},
                 {"code": "B", "name": "B", "lat": 31.0, "lon": -96.0}],
        "facilities": [{**fac, "id": "F1", "name": "F1", "aor": "A", "units": [{**unit, "id": "U1", "beds": 0}]},
                       {**fac, "id": "F2", "name": "F2", "aor": "A", "units": [{**unit, "id": "U2", "beds": 1}]}],
        "atd_programs": [],
        "people": [{"id": "X", "sex": "M", "level": "A", "risk": 10.0, "aor": "B" if ties else "A", "origin": "F1",
                    "mandatory": True, "local_ties": ties}],
    }


@pytest.mark.parametrize("limit, ties, flagged", [(0, False, False), (1, False, True), (None, False, True),
                                                  (None, True, False)])
def test_a_transfer_the_limits_or_ties_forbid_is_not_a_needless_unplaced(limit, ties, flagged, tmp_path):
    from optimizer.instance import parse_instance
    from optimizer.verifier import verify

    rows = [{"person_id": "X", "decision": "unplaced", "facility_id": "", "unit_id": "", "atd_program_id": "",
             "release_day": "", "transfer": "0", "effective_risk": "10.0000"}]
    res = verify(parse_instance(_seat_doc(limit, ties)), rows)
    want = ["unplaced: people[0] id=X: unplaced although a free bed in unit U2 on every day of the stay was available"]
    assert res.violations == (want if flagged else [])


def test_a_bed_free_on_some_days_only_is_not_enough(tmp_path):
    """Multi-day: Y needs a bed on days 0-2; U2's one bed is taken on day 1 by Z (mandatory)."""
    from optimizer.instance import parse_instance
    from optimizer.verifier import verify

    doc = _seat_doc(None, False)
    doc["horizon_days"] = 3
    doc["people"] = [{"id": "Z", "sex": "M", "level": "A", "risk": 1.0, "aor": "A", "mandatory": True,
                      "arrival_day": 1, "removal_day": 2},
                     {"id": "Y", "sex": "M", "level": "A", "risk": 1.0, "aor": "A", "mandatory": True}]
    cells = {"facility_id": "", "unit_id": "", "atd_program_id": "", "release_day": "", "transfer": "0",
             "effective_risk": "1.0000"}
    rows = [{**cells, "person_id": "Z", "decision": "detain", "facility_id": "F2", "unit_id": "U2"},
            {**cells, "person_id": "Y", "decision": "unplaced"}]
    assert verify(parse_instance(doc), rows).violations == []
    doc["people"][0]["arrival_day"] = 2  # now Z holds the bed on day 2 only, and Y's stay still needs it
    doc["people"][0]["removal_day"] = 3
    assert verify(parse_instance(doc), rows).violations == []
    doc["people"][1]["removal_day"] = 2  # Y leaves by removal on day 2: days 0-1 are free
    assert verify(parse_instance(doc), rows).violations == [
        "unplaced: people[1] id=Y: unplaced although a free bed in unit U2 on every day of the stay was available"]


def test_the_window_minimum_matches_a_plain_minimum():
    import numpy as np

    from optimizer.verifier import _window_min

    rng = np.random.default_rng(0)
    free = rng.integers(-3, 5, size=(7, 37))
    start = rng.integers(0, 36, size=200)
    stop = start + 1 + rng.integers(0, 37 - start)
    want = np.array([free[:, a:b].min(axis=1) for a, b in zip(start, stop)])
    assert (_window_min(free, start, stop) == want).all()


@pytest.mark.parametrize("proven, code", [(0, 1), (4, 4)])
def test_solve_writes_a_stopped_search_with_a_needless_unplaced_but_never_a_proven_one(proven, code, tmp_path,
                                                                                          monkeypatch, capsys):
    """MODEL.md §5: a limit may leave people unplaced (exit 1, said on stderr); with level 1
    proven a needless unplaced is a contradiction: exit 4, nothing written."""
    import optimizer.engine
    from optimizer.instance import read_instance

    real = optimizer.engine.solve

    def stopped(inst, params, deadline=None):
        res = real(inst, params, deadline=deadline)
        _unplace(res.rows, {"P12"})
        res.objective.update(unplaced=1, released_risk=res.objective["released_risk"] - 30.0,
                             cost_usd=res.objective["cost_usd"] - 0.96 * 30)
        res.levels_proven, res.termination = proven, "optimal" if proven == 4 else "time_limit"
        return res

    monkeypatch.setattr(optimizer.engine, "solve", stopped)
    out = tmp_path / "plan"
    assert main(["solve", str(TINY), "--out", str(out), "--quiet"]) == code
    err = capsys.readouterr().err
    if code == 1:
        assert "1 unplaced people or families had an outcome free" in err
        assert main(["check", str(TINY), str(out)]) == 1  # check lists it
        assert read_instance(TINY) and json.loads((out / "summary.json").read_text())["objective"]["unplaced"] == 1
    else:
        assert "unplaced: people[11] id=P12: unplaced although" in err and not out.exists()


@pytest.mark.parametrize("extra,where,says", [
    (["--write-model", "{t}/mm"], "{t}/mm/plan", "neither inside the other"),
    (["--write-model", "{t}/m3", "--report", "{t}/m3/r.html"], "{t}/p", "would overwrite"),
    (["--write-model", "{t}/no/such/m"], "{t}/p", "does not exist"),
    (["--report", "{t}/keep.json"], "{t}/p", "must name a .html or .htm file"),
])
def test_outputs_that_clash_are_refused_before_any_work(tmp_path, capsys, extra, where, says):
    """Output paths inside one another, in a missing folder, or a report over another kind of
    file: exit 2 before any work, nothing written (the file that was there is kept)."""
    (tmp_path / "m3").mkdir()
    (tmp_path / "keep.json").write_text("{}")
    args = [a.format(t=tmp_path) for a in extra]
    code = main(["solve", str(TINY), "--out", where.format(t=tmp_path), "--quiet", *args])
    assert code == 2 and says in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.json", "m3"]
    assert (tmp_path / "keep.json").read_text() == "{}" and not any((tmp_path / "m3").iterdir())


def test_template_and_convert_never_overwrite_a_file(tmp_path, capsys):
    book = tmp_path / "mine.xlsx"
    book.write_bytes(b"not yours")
    assert main(["template", str(book)]) == 2
    assert main(["convert", str(TINY), str(book)]) == 2
    assert book.read_bytes() == b"not yours" and capsys.readouterr().err.count("exists") == 2
