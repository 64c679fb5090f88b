"""The ``bedalloc`` command line (optimizer/cli.py) against MODEL.md §5: exit codes, outputs,
atomic output folders.  Argument errors run in-process; everything else runs as a subprocess
(``python -m optimizer``), the way users run it.  Only tiny.json and small derived or generated
instances are used, so the whole file runs in a few seconds."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from optimizer.cli import main
from optimizer.errors import InputError
from optimizer.instance import read_instance

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny.json"
BAD = Path(__file__).resolve().parent / "data" / "bad"

PLAN_HEADER = ["person_id", "decision", "facility_id", "unit_id", "atd_program_id", "release_day", "transfer",
               "effective_risk"]
LEVELS = ["unplaced", "surge", "released_risk", "cost_usd"]


def run(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir()
                  if p.name.startswith(f".{out.name}.tmp-") or p.name.startswith(f".{out.name}.old-"))


def tiny_doc() -> dict:
    return json.loads(TINY.read_text(encoding="utf-8"))


def write_json(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


def read_rows(plan_dir: Path) -> list[dict[str, str]]:
    with open(plan_dir / "plan.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_rows(plan_dir: Path, rows: list[dict[str, str]]) -> None:
    with open(plan_dir / "plan.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


# --------------------------------------------------------------------------------------------
# in-process: argument errors and --help
# --------------------------------------------------------------------------------------------

def exit_code(argv) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse exits; main() returns for errors found after parsing
        return e.code if isinstance(e.code, int) else 1


@pytest.mark.parametrize("argv", [
    [],
    ["solve"],                                           # missing instance
    ["validate"],
    ["check", str(TINY)],                                # missing PLAN_DIR
    ["solve", str(TINY), "--time-limit", "-1"],
    ["solve", str(TINY), "--time-limit", "0"],
    ["solve", str(TINY), "--time-limit", "nan"],
    ["solve", str(TINY), "--time-limit", "soon"],
    ["solve", str(TINY), "--mip-gap", "2"],
    ["solve", str(TINY), "--mip-gap", "-0.1"],
    ["solve", str(TINY), "--threads", "x"],
    ["solve", str(TINY), "--threads", "-1"],
    ["solve", str(TINY), "--seed", "1.5"],
    ["solve", str(TINY), "--bogus"],
    ["frobnicate"],                                      # unknown command
    ["generate"],                                        # --out is required
])
def test_argument_errors(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written, in particular no out/ folder
    assert exit_code(argv) == 2
    cap = capsys.readouterr()
    assert cap.out == ""
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1, cap.err
    assert "error" in lines[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [
    ["solve", "does-not-exist.json"],
    ["validate", "does-not-exist.json"],
    ["check", "does-not-exist.json", "nowhere"],
])
def test_missing_instance_file(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert exit_code(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("does-not-exist.json: cannot read the file")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["--help"], ["solve", "--help"], ["check", "--help"], ["validate", "--help"],
                                  ["generate", "--help"], ["--version"]])
def test_help(argv, capsys):
    assert exit_code(argv) == 0
    out = capsys.readouterr().out
    assert "bedalloc" in out


def test_every_command_runs_a_function_of_its_module():
    """cli.py parses and dispatches: each command but solve names the function of its module."""
    import argparse
    import importlib

    from optimizer.cli import COMMANDS, build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(COMMANDS) | {"solve"}
    for module, function in COMMANDS.values():
        assert callable(getattr(importlib.import_module(f"optimizer.{module}"), function))


def test_main_keeps_garbage_collection_enabled(capsys):
    import gc

    assert gc.isenabled()
    exit_code(["validate", str(TINY)])
    exit_code(["solve"])
    assert gc.isenabled()
    capsys.readouterr()


# --------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------

def test_validate_tiny():
    proc = run("validate", TINY)
    assert proc.returncode == 0, proc.stderr
    assert "valid: 12 people" in proc.stdout
    assert proc.stderr == ""


@pytest.mark.parametrize("name", ["missing_person_risk.json", "not_utf8.json", "deeply_nested_lists.json",
                                  "very_long_id.json", "mandatory_at_legal_limit.json"])
def test_validate_bad_file(name):
    path = BAD / name
    proc = run("validate", path)
    assert proc.returncode == 2
    no_traceback(proc)
    assert proc.stdout == ""
    with pytest.raises(InputError) as e:
        read_instance(path)
    assert proc.stderr.splitlines() == e.value.lines
    assert all(line.startswith(f"{path}: ") for line in proc.stderr.splitlines())


def test_validate_one_line_per_problem(tmp_path):
    doc = tiny_doc()
    doc["people"][3]["risk"] = "55"
    doc["people"][5]["sex"] = "X"
    doc["facilities"][0]["units"][2]["beds"] = 1.5
    path = write_json(tmp_path / "three.json", doc)
    proc = run("validate", path)
    assert proc.returncode == 2
    no_traceback(proc)
    lines = proc.stderr.splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert any("people[3] id=P04: field 'risk'" in line for line in lines)
    assert any("people[5] id=P06: field 'sex'" in line for line in lines)
    assert any("facilities[0] id=MTG.units[2] id=MTG-MED: field 'beds'" in line for line in lines)


# --------------------------------------------------------------------------------------------
# solve tiny.json, then check
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("solve") / "tiny-plan"
    proc = run("solve", TINY, "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # --quiet
    no_traceback(proc)
    return out


def test_solve_writes_plan_and_summary(solved):
    assert sorted(p.name for p in solved.iterdir()) == ["plan.csv", "summary.json"]
    assert leftovers(solved) == []


def test_plan_csv(solved):
    inst = read_instance(TINY)
    with open(solved / "plan.csv", newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header[:len(PLAN_HEADER)] == PLAN_HEADER
    rows = read_rows(solved)
    assert [r["person_id"] for r in rows] == [p.id for p in inst.people]
    assert {r["decision"] for r in rows} <= {"detain", "release", "unplaced", "removed"}
    assert all(r["transfer"] in ("0", "1") for r in rows)
    by_id = {r["person_id"]: r for r in rows}
    assert by_id["P01"]["decision"] == "detain" and by_id["P02"]["decision"] == "detain"  # mandatory
    assert by_id["P10"]["decision"] == "release"  # at the legal limit
    assert by_id["P11"]["decision"] == "removed"  # removal_day 0
    assert by_id["P07"]["effective_risk"] == "11.2500"  # 45 x pregnant 0.25
    assert by_id["P08"]["unit_id"] == by_id["P09"]["unit_id"] == "DIL-FAM"  # family together


def test_summary_json(solved):
    s = json.loads((solved / "summary.json").read_text(encoding="utf-8"))
    for key in ("format", "version", "instance", "instance_sha256", "solver", "solver_version", "params",
                "termination", "has_solution", "objective", "bound", "gap", "counts", "facilities", "atd",
                "timings_s", "model_size"):
        assert key in s, key
    assert s["format"] == "bedalloc-summary" and s["version"] == 1
    assert s["instance"].endswith("tiny.json")
    assert s["instance_sha256"] == hashlib.sha256(TINY.read_bytes()).hexdigest()
    assert isinstance(s["solver"], str) and s["solver"] and isinstance(s["solver_version"], str)
    assert isinstance(s["params"], dict)
    assert s["termination"] == "optimal" and s["has_solution"] is True
    assert list(s["objective"]) == LEVELS
    assert set(s["bound"]) == set(LEVELS) and set(s["gap"]) == set(LEVELS)
    # the values documented for tiny.json in instances/README.md
    assert s["objective"]["unplaced"] == 0 and s["objective"]["surge"] == 1
    assert s["objective"]["released_risk"] == pytest.approx(122.5, abs=1e-9)
    assert all(0 <= g <= 1e-6 for g in s["gap"].values())
    c = s["counts"]
    assert set(c) >= {"people", "detained", "released", "unplaced", "removed", "transfers"}
    assert c["people"] == 12
    assert c["detained"] + c["released"] + c["unplaced"] + c["removed"] == c["people"]
    assert [f["id"] for f in s["facilities"]] == ["MTG", "BRZ", "HLD", "DIL"]
    for f in s["facilities"]:
        assert set(f) >= {"id", "occupied", "beds", "utilization", "cost_usd"}
        assert f["utilization"] == pytest.approx(f["occupied"] / f["beds"], abs=1e-4)
    assert sum(f["cost_usd"] for f in s["facilities"]) <= s["objective"]["cost_usd"] + 1e-6
    assert [a["id"] for a in s["atd"]] == ["GPS", "APP", "CM-SNA"]
    for a in s["atd"]:
        assert set(a) >= {"id", "enrolled", "capacity"}
    assert sum(a["enrolled"] for a in s["atd"]) == c["released"]
    assert set(s["timings_s"]) >= {"read", "build", "solve", "verify", "write", "total"}
    assert all(v >= 0 for v in s["timings_s"].values())
    assert set(s["model_size"]) >= {"variables", "constraints", "nonzeros"}


def test_check_accepts_the_plan(solved):
    proc = run("check", TINY, solved)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("OK")
    proc = run("check", TINY, solved / "plan.csv")  # the file itself is accepted too
    assert proc.returncode == 0


def test_check_notes_a_plan_made_for_another_instance_file(solved, tmp_path, capsys):
    other = tmp_path / "tiny-copy.json"
    other.write_text(TINY.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # the same people, another file
    sha = json.loads((solved / "summary.json").read_text(encoding="utf-8"))["instance_sha256"]
    for where in (solved, solved / "plan.csv"):  # the plan file itself: its folder's summary.json
        capsys.readouterr()
        assert main(["check", str(other), str(where)]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0] == (f"note: {solved / 'summary.json'} says the plan was made for another instance file "
                          f"(sha256 {sha[:12]}...)")
        assert out[1].startswith("OK: ") and len(out) == 2
    other.write_text(TINY.read_text(encoding="utf-8").replace('"risk": 88.5', '"risk": 88.6'), encoding="utf-8")
    assert main(["check", str(other), str(solved)]) == 1  # another risk: its effective risk cell differs
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("note: ") and "another instance file" in out[0] and out[-1].startswith("VIOLATIONS: ")


def test_check_finds_a_released_mandatory_person(solved, tmp_path):
    plan = tmp_path / "mutated"
    shutil.copytree(solved, plan)
    rows = read_rows(plan)
    assert rows[0]["person_id"] == "P01" and rows[0]["decision"] == "detain"
    rows[0].update(decision="release", facility_id="", unit_id="", atd_program_id="GPS", release_day="0")
    write_rows(plan, rows)
    proc = run("check", TINY, plan)
    assert proc.returncode == 1
    no_traceback(proc)
    assert any("P01" in line and "mandatory" in line for line in proc.stdout.splitlines()), proc.stdout


def test_check_finds_an_unknown_unit(solved, tmp_path):
    plan = tmp_path / "mutated"
    shutil.copytree(solved, plan)
    rows = read_rows(plan)
    rows[2]["unit_id"] = "NOPE"
    write_rows(plan, rows)
    proc = run("check", TINY, plan)
    assert proc.returncode == 1
    assert any("P03" in line for line in proc.stdout.splitlines()), proc.stdout


@pytest.mark.parametrize("content", [None, b"", b"\x00\x01\x02garbage", b"hello,world\n1,2\n",
                                     b"\xff\xfe not utf-8"])
def test_check_unreadable_plan(tmp_path, content):
    plan = tmp_path / "plan"
    plan.mkdir()
    if content is not None:
        (plan / "plan.csv").write_bytes(content)
    proc = run("check", TINY, plan)
    assert proc.returncode == 2
    no_traceback(proc)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(str(plan / "plan.csv")), proc.stderr


def test_check_and_explain_read_a_deeply_nested_summary_as_none(solved, tmp_path, capsys):
    """A summary.json nested deeper than the JSON parser recurses is no summary: check has
    nothing to compare (OK, exit 0); explain asks for --instance (one line, exit 2); no traceback."""
    plan = tmp_path / "nested"
    shutil.copytree(solved, plan)
    (plan / "summary.json").write_text("[" * 100000 + "]" * 100000, encoding="utf-8")
    assert main(["check", str(TINY), str(plan)]) == 0
    assert capsys.readouterr().out.startswith("OK: ")
    assert main(["explain", str(plan), "P01"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{plan}: summary.json: cannot read the instance file name (missing, unreadable or not a JSON object); "
        "give --instance"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
@pytest.mark.parametrize("name", ["summary.json", "plan.csv"])
def test_check_and_explain_refuse_a_pipe_in_the_plan_folder(solved, tmp_path, name):
    """summary.json or plan.csv that is a named pipe (reading it would wait forever): one line
    naming the file, exit 2, at once (a subprocess, so that a hang fails by its timeout)."""
    plan = tmp_path / "plan"
    shutil.copytree(solved, plan)
    (plan / name).unlink()
    os.mkfifo(plan / name)
    for args in (("check", TINY, plan), ("explain", plan, "P01")):
        proc = run(*args, timeout=30)
        assert proc.returncode == 2 and proc.stdout == "", proc.stdout
        assert proc.stderr.splitlines() == [
            f"{plan / name}: cannot read the file: not a regular file (a folder, a device or a pipe)"]


def test_check_bad_instance(solved):
    proc = run("check", BAD / "bool_for_beds.json", solved)
    assert proc.returncode == 2
    no_traceback(proc)
    assert "field 'beds'" in proc.stderr


# --------------------------------------------------------------------------------------------
# solve: bad input, atomic output folder
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bool_for_beds.json", "truncated_json.json", "mandatory_at_legal_limit.json"])
def test_solve_bad_instance_writes_nothing(tmp_path, name):
    out = tmp_path / "out"
    proc = run("solve", BAD / name, "--out", out, "--quiet")
    assert proc.returncode == 2
    no_traceback(proc)
    assert proc.stderr.startswith(f"{BAD / name}: ")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_solve_bad_instance_keeps_older_plan(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.csv").write_text("older plan\n", encoding="utf-8")
    (out / "summary.json").write_text("{}\n", encoding="utf-8")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    proc = run("solve", BAD / "missing_unit_beds.json", "--out", out)
    assert proc.returncode == 2
    no_traceback(proc)
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()} == before
    assert leftovers(out) == []


def test_solve_out_is_a_file(tmp_path):
    out = tmp_path / "out"
    out.write_text("not a folder", encoding="utf-8")
    proc = run("solve", TINY, "--out", out, "--quiet")
    assert proc.returncode == 2
    no_traceback(proc)
    assert len(proc.stderr.splitlines()) == 1
    assert out.read_text(encoding="utf-8") == "not a folder"


def test_solve_twice_replaces_the_folder(tmp_path):
    out = tmp_path / "out"
    proc = run("solve", TINY, "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    first = (out / "plan.csv").read_bytes()
    (out / "diagnosis.json").write_text("{}", encoding="utf-8")  # a plan file of an older run
    proc = run("solve", TINY, "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["plan.csv", "summary.json"]  # replaced, not merged
    assert (out / "plan.csv").read_bytes() == first  # deterministic
    assert leftovers(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("foreign", ["notes.txt", "sub"])
def test_solve_never_deletes_other_files(tmp_path, foreign):
    """--out replaces an earlier plan folder, never a folder holding anything else."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.csv").write_text("old", encoding="utf-8")
    if foreign == "sub":
        (out / foreign).mkdir()
    else:
        (out / foreign).write_text("mine", encoding="utf-8")
    proc = run("solve", TINY, "--out", out, "--quiet")
    assert proc.returncode == 2
    assert "--out" in proc.stderr and foreign in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(["plan.csv", foreign])
    assert (out / "plan.csv").read_text(encoding="utf-8") == "old"
    assert leftovers(out) == []


def test_solve_multi_day_end_to_end(tmp_path):
    """A two-day instance: solved, verified, release days written; check agrees; the one-day
    flow backend refuses it with one line."""
    doc = tiny_doc()
    doc["horizon_days"] = 2
    path = write_json(tmp_path / "two-days.json", doc)
    out = tmp_path / "out"
    proc = run("solve", path, "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(open(out / "plan.csv")))
    assert all(r["release_day"] in ("0", "1") for r in rows if r["decision"] == "release")
    assert all(r["release_day"] == "" for r in rows if r["decision"] != "release")
    assert run("check", path, out).returncode == 0
    proc = run("solve", path, "--solver", "flow", "--out", tmp_path / "flow", "--quiet")
    assert proc.returncode == 2
    no_traceback(proc)
    assert len(proc.stderr.splitlines()) == 1 and "one day only" in proc.stderr
    assert not (tmp_path / "flow").exists()


# --------------------------------------------------------------------------------------------
# solve: a mandatory person without a bed (exit 3, diagnosis.json)
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def infeasible(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("infeasible")
    doc = tiny_doc()
    # male, level D, needs a medical bed: no unit of tiny.json takes him, and he may not be released
    doc["people"].append({"id": "P13", "sex": "M", "level": "D", "risk": 40.0, "aor": "HOU", "origin": None,
                          "mandatory": True, "needs_medical": True})
    path = write_json(tmp / "no-bed.json", doc)
    out = tmp / "out"
    proc = run("solve", path, "--out", out, "--quiet")
    return path, out, proc


def test_infeasible_exit_3_with_diagnosis(infeasible):
    path, out, proc = infeasible
    assert proc.returncode == 3, proc.stderr
    no_traceback(proc)
    assert sorted(p.name for p in out.iterdir()) == ["diagnosis.json", "plan.csv", "summary.json"]
    d = json.loads((out / "diagnosis.json").read_text(encoding="utf-8"))
    assert d["unplaced"] == 1 and d["level1_proven_optimal"] is True
    assert len(d["groups"]) == 1
    g = d["groups"][0]
    assert g["reason"] == "no_bed" and g["people"] == 1 and g["person_ids"] == ["P13"]
    assert g["compatible_beds_incl_surge"] == 0
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["objective"]["unplaced"] == 1 and s["counts"]["unplaced"] == 1
    assert s["has_solution"] is True
    rows = read_rows(out)
    assert len(rows) == 13 and rows[-1]["person_id"] == "P13" and rows[-1]["decision"] == "unplaced"
    assert rows[-1]["unit_id"] == "" and rows[-1]["atd_program_id"] == ""
    # the other twelve keep the objective of tiny.json at the later levels
    assert s["objective"]["surge"] == 1 and s["objective"]["released_risk"] == pytest.approx(122.5, abs=1e-9)


def test_infeasible_plan_checks(infeasible):
    path, out, _ = infeasible
    proc = run("check", path, out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "unplaced 1" in proc.stdout


# --------------------------------------------------------------------------------------------
# generate
# --------------------------------------------------------------------------------------------

def test_generate_small_region(tmp_path):
    out = tmp_path / "mia.json"
    proc = run("generate", "--aor", "MIA", "--scale", "0.02", "--out", out)
    assert proc.returncode == 0, proc.stderr
    no_traceback(proc)
    inst = read_instance(out)
    assert inst.people and inst.facilities
    assert {a.code for a in inst.aors} >= {"MIA"}
    assert run("validate", out).returncode == 0
    assert [p.name for p in tmp_path.iterdir()] == ["mia.json"]  # no temporary file left


@pytest.mark.parametrize("args", [["--aor", "ZZZ", "--scale", "0.02"], ["--aor", "MIA", "--scale", "0"],
                                  ["--aor", "MIA", "--scale", "-1"], ["--aor", "MIA", "--scale", "nan"],
                                  ["--aor", "MIA", "--scale", "0.02", "--seed", "-1"]])
def test_generate_bad_arguments(tmp_path, args):
    out = tmp_path / "x.json"
    proc = run("generate", *args, "--out", out)
    assert proc.returncode == 2
    no_traceback(proc)
    assert len(proc.stderr.splitlines()) == 1
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_instance_without_units(tmp_path):
    """No housing unit anywhere: everyone who may be released is released (exit 0), no crash."""
    doc = tiny_doc()
    for f in doc["facilities"]:
        f["units"] = []
    doc["people"] = [p for p in doc["people"] if not p.get("mandatory") and not p.get("family_id")]
    path = write_json(tmp_path / "no-units.json", doc)
    out = tmp_path / "out"
    proc = run("solve", path, "--out", out, "--quiet")
    assert proc.returncode in (0, 3), proc.stderr
    no_traceback(proc)
    rows = read_rows(out)
    assert all(r["decision"] in ("release", "removed", "unplaced") and r["unit_id"] == "" for r in rows)
    assert run("check", path, out).returncode == 0


@pytest.mark.parametrize("argv", [["--threads", "100000"], ["--seed", "2147483648"], ["--out", ""]])
def test_out_of_range_arguments(argv, tmp_path):
    proc = run("solve", TINY, *argv, "--quiet")
    assert proc.returncode == 2
    no_traceback(proc)
    assert len(proc.stderr.strip().splitlines()) == 1


def test_control_characters_in_ids_are_refused(tmp_path):
    doc = tiny_doc()
    doc["people"][0]["id"] = "P\r01"
    proc = run("validate", write_json(tmp_path / "cr.json", doc))
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "id=P\\x0d01: field 'id': must not contain control characters" in line


@pytest.mark.parametrize("solver", ["highs", "highs-mip", "scip", "cpsat"])
def test_same_seed_and_one_thread_give_a_byte_identical_plan(tmp_path, solver):
    """MODEL.md §4: the same instance, seed and thread count give the same plan, byte for byte."""
    from optimizer import generate
    from optimizer.cli import main

    path = tmp_path / "hou.json"
    path.write_text(generate.to_json_text(generate.national_instance(seed=5, aors=["HOU"], scale=0.05)))
    plans = []
    for k in range(2):
        out = tmp_path / f"plan{k}"
        assert main(["solve", str(path), "--solver", solver, "--threads", "1", "--seed", "7", "--out", str(out),
                     "--quiet"]) in (0, 3)
        plans.append((out / "plan.csv").read_bytes())
    assert plans[0] == plans[1]


def test_redact_keeps_person_ids_in_plan_csv_only(tmp_path):
    """--redact: summary.json and diagnosis.json carry no person id (a plan with unplaced people)."""
    from optimizer import generate
    from optimizer.cli import main

    from randinst import short_of_cd_beds

    doc = short_of_cd_beds(generate.national_instance(seed=1, aors=["NOL"], scale=0.2))
    path = tmp_path / "short.json"
    path.write_text(json.dumps(doc))
    ids = [p["id"] for p in doc["people"]]
    for redact in (False, True):
        out = tmp_path / f"plan-{redact}"
        assert main(["solve", str(path), "--out", str(out), "--quiet", *(["--redact"] if redact else [])]) == 3
        others = (out / "summary.json").read_text() + (out / "diagnosis.json").read_text()
        assert any(i in others for i in ids) != redact
        assert all(i in (out / "plan.csv").read_text() for i in ids[:50])


def _wait_until_it_handles_sigterm(proc: subprocess.Popen) -> None:
    """Until the process catches SIGTERM (bedalloc's main has begun): Linux's /proc/PID/status
    lists the caught signals as a hexadecimal mask, SIGTERM (15) as bit 14."""
    import signal
    import time

    status = Path(f"/proc/{proc.pid}/status")
    if not status.exists():
        pytest.skip("no /proc to tell when bedalloc handles signals")
    for _ in range(6000):
        caught = next((line.split()[1] for line in status.read_text().splitlines() if line.startswith("SigCgt:")), "0")
        if int(caught, 16) >> (signal.SIGTERM - 1) & 1:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("bedalloc did not start handling SIGTERM within 60 s")


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_signal_during_a_solve_leaves_no_partial_output(tmp_path, sig):
    """MODEL.md §5: Ctrl-C or SIGTERM during a solve writes nothing (exit 130), or, once a plan
    is verified, the whole plan (exit 1); never a half-written folder or a traceback.  The signal is
    sent once bedalloc handles it: before that (the interpreter starting, bedalloc's modules
    loading) it has its default effect, the process ends at once (docs/reliability.md)."""
    import signal
    import time

    out = tmp_path / "plan"
    proc = subprocess.Popen([sys.executable, "-m", "optimizer", "solve", str(ROOT / "instances" / "ice-fy2026.json"),
                             "--out", str(out), "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    _wait_until_it_handles_sigterm(proc)
    time.sleep(1.0)  # reading, building or solving the national instance
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err
    assert leftovers(out) == []
    if proc.returncode == 130:
        assert not out.exists() and "interrupted" in err
    else:  # the signal came after the plan was verified
        assert proc.returncode in (0, 1) and run("check", ROOT / "instances" / "ice-fy2026.json", out).returncode == 0


def test_an_interrupt_during_the_extra_solves_writes_the_plan_and_says_what_is_missing(tmp_path, monkeypatch):
    """MODEL.md §5: once the plan is verified an interrupt writes it (exit 1); summary.json
    names the extra solves it left out."""
    import signal

    from optimizer import bedvalue
    from optimizer.cli import main

    def interrupted(*args, progress, **kwargs):  # a SIGINT, then the first unit re-solved (a safe point)
        signal.raise_signal(signal.SIGINT)
        progress(1, 2)
        raise AssertionError("the interrupt did not stop the extra solves")

    monkeypatch.setattr(bedvalue, "bed_values", interrupted)
    out = tmp_path / "plan"
    assert main(["solve", "instances/tiny.json", "--out", str(out), "--quiet", "--bed-values", "2"]) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["extras_interrupted"] == ["bed_values"] and "bed_values" not in summary
    assert run("check", ROOT / "instances" / "tiny.json", out).returncode == 0


@pytest.mark.parametrize("argv", [["diagnose", "instances/tiny.json", "--json"], ["solvers"]])
def test_a_closed_stdout_gives_no_traceback(monkeypatch, capsys, argv):
    """`bedalloc diagnose --json | head -1`, `bedalloc solvers | head -1` (a rich table): the reader
    goes away; exit 141, no traceback."""
    import os
    import sys

    from optimizer.cli import main

    r, w = os.pipe()
    os.close(r)  # the reader is gone: writes fail with EPIPE
    out = os.fdopen(w, "w", buffering=1)
    monkeypatch.setattr(sys, "stdout", out)
    try:
        assert main(argv) == 141
    finally:
        out.close()
    assert "Traceback" not in capsys.readouterr().err
