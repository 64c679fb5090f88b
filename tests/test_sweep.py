"""``bedalloc sweep`` on Dask (optimizer/sweep.py): cells equal separate solves, on a local cluster
and on a scheduler and workers started by hand; killed workers, twice-failing cells, resuming."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from optimizer.cli import main
from optimizer.generate import national_instance
from optimizer.sweep import DEFAULTS, Failed, cells, cluster, map_on_cluster, read_spec, run_sweep
from optimizer.whatif import scenario

LEVELS = ("unplaced", "surge", "released_risk", "cost_usd")
GRID = {**DEFAULTS, "beds": [-10, 0, 10], "atd": [0, 50]}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def instance(tmp_path_factory) -> Path:
    """A small generated regional instance (transport limits and local ties, contract 1.1)."""
    path = tmp_path_factory.mktemp("sweep") / "sna.json"
    path.write_text(json.dumps(national_instance(seed=0, aors=["SNA"], scale=0.05, transport_limits=True,
                                                 local_ties=True)))
    return path


@pytest.fixture(scope="module")
def expected(instance, tmp_path_factory) -> dict:
    """(beds %, ATD %) -> the levels of a separate ``bedalloc solve`` of that scenario."""
    doc, out = json.loads(instance.read_text()), tmp_path_factory.mktemp("solves")
    levels = {}
    for b, a in [(b, a) for b in GRID["beds"] for a in GRID["atd"]]:
        f = out / f"b{b}a{a}.json"
        f.write_text(json.dumps(scenario(doc, beds=b, atd=a)))
        assert main(["solve", str(f), "--out", str(out / f.stem), "--quiet"]) == 0
        levels[(b, a)] = json.loads((out / f.stem / "summary.json").read_text())["objective"]
    return levels


@pytest.fixture(scope="module")
def scheduler():
    """One LocalCluster of two worker processes for the module (start-up is slow)."""
    with cluster(workers=2) as client:
        yield client


def _assert_levels(rows: list[dict], expected: dict) -> None:
    assert len(rows) == 6 and all(r["status"] == "ok" for r in rows)
    for r in rows:
        want = expected[(float(r["beds_pct"]), float(r["atd_pct"]))]
        assert {k: float(r[k]) for k in LEVELS} == pytest.approx(want, abs=0.006), r


def test_scenario_scales_every_capacity_and_thins_arrivals():
    doc = national_instance(seed=1, aors=["SNA"], scale=0.05, horizon_days=3, transport_limits=True)
    s = scenario(doc, beds=-10, atd=50, transfers=-50, arrivals=0)
    units = [(u["beds"], v["beds"]) for f, g in zip(doc["facilities"], s["facilities"])
             for u, v in zip(f["units"], g["units"])]
    assert all(b == math.floor(a * 0.9 + 0.5) for a, b in units)
    assert [b["capacity"] for b in s["atd_programs"]] == [math.floor(a["capacity"] * 1.5 + 0.5)
                                                          for a in doc["atd_programs"]]
    assert s["policy"]["max_transfers_per_day"] == math.floor(doc["policy"]["max_transfers_per_day"] * 0.5 + 0.5)
    forecast = [p for p in doc["people"] if p.get("arrival_day", 0) > 0]
    assert forecast and len(s["people"]) == len(doc["people"]) - len(forecast)
    tripled = scenario(doc, arrivals=3)["people"]
    assert len(tripled) == len(doc["people"]) + 2 * len(forecast) and len({p["id"] for p in tripled}) == len(tripled)
    assert doc["facilities"][0]["units"][0]["beds"] == units[0][0]  # the instance is not changed


def test_cells_are_the_cartesian_product():
    got = cells({**GRID, "simulate": 5, "replications": 2, "policies": ["myopic", "rule"]})
    assert len(got) == 3 * 2 * 2 * 2
    assert got[0] == {"beds_pct": -10, "atd_pct": 0, "transfers_pct": 0.0, "arrivals": 1.0, "solver": "highs",
                      "policy": "myopic", "replication": 0}
    assert got[-1]["beds_pct"] == 10 and got[-1]["replication"] == 1


@pytest.mark.parametrize("argv, message", [
    (["--beds", "-10,x"], "--beds '-10,x': expected comma-separated numbers"),
    (["--arrivals", "2"], "--arrivals 2: the instance has no forecast arrivals"),
    (["--solver", "nope"], "--solver nope:"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "--workers: not with --scheduler"),
    (["--simulate", "3", "--policies", "horizon,lucky"], "--policies: unknown lucky"),
    (["--replications", "3"], "--replications and --policies: only with --simulate"),
])
def test_bad_options_exit_2_and_write_nothing(instance, tmp_path, capsys, argv, message):
    assert main(["sweep", str(instance), "--out", str(tmp_path / "out"), *argv]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_spec_file_errors_name_the_file_and_key(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text("beds = [-10, 0]\n[simulate]\ndays = 3\nseeds = 2\n")
    with pytest.raises(Exception, match=r"s.toml: simulate.seeds: unknown key"):
        read_spec(str(spec))
    spec.write_text("beds = [-10, 0]\natd = 'x'\n[simulate]\ndays = 3\nreplications = 2\n")
    with pytest.raises(Exception, match=r"s.toml: atd: expected a non-empty list of numbers"):
        read_spec(str(spec))
    spec.write_text("beds = [-10, 0]\n[simulate]\ndays = 3\nreplications = 2\npolicies = ['rule']\n")
    assert read_spec(str(spec)) == {"beds": [-10, 0], "simulate": 3, "replications": 2, "policies": ["rule"]}


def test_sweep_rows_equal_separate_solves(instance, expected, scheduler, tmp_path):
    """The done-when sweep through the command line, on the module's cluster; its report and
    parquet file hold the same cells."""
    out = tmp_path / "out"
    assert main(["sweep", str(instance), "--beds", "-10,0,10", "--atd", "0,50", "--out", str(out),
                 "--scheduler", scheduler.scheduler.address]) == 0
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    _assert_levels(rows, expected)
    assert {r["worker"] for r in rows} <= set(scheduler.nthreads())
    import pyarrow.parquet as pq

    assert pq.read_table(out / "results.parquet").column("released_risk").to_pylist() == \
        [float(r["released_risk"]) for r in rows]
    report = (out / "report.html").read_text()
    assert report.count("<svg") == 3 and not re.search(r"""(src|href)=["']?(https?:|//)""", report)
    assert len(list((out / "cells").glob("*.json"))) == 6


def test_interrupted_sweep_runs_only_the_missing_cells(instance, expected, scheduler, tmp_path):
    data, address = instance.read_bytes(), scheduler.scheduler.address

    def stop_after_two(row, seen=[]):
        seen.append(row)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(data, GRID, tmp_path, scheduler=address, on_cell=stop_after_two)
    kept = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cells").glob("*.json")}
    assert len(kept) == 2
    ran = []
    rows = run_sweep(data, GRID, tmp_path, scheduler=address, on_cell=ran.append)
    assert len(ran) == 4 and {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cells").glob("*.json")
                              if p.name in kept} == kept
    _assert_levels(rows, expected)


def test_simulation_study_rows_equal_separate_simulations(scheduler, tmp_path):
    """Cells (policy, replication) equal in-process simulations with seed = replication; the
    report shows each policy's replications with a confidence interval."""
    from optimizer.simulate import simulate
    from optimizer.sweepreport import render
    from optimizer.sweep import columns

    doc = national_instance(seed=2, aors=["SNA"], scale=0.03, horizon_days=3)
    grid = {**DEFAULTS, "arrivals": [0.5, 2], "simulate": 3, "replications": 2, "policies": ["myopic", "rule"]}
    rows = run_sweep(json.dumps(doc).encode(), grid, tmp_path, scheduler=scheduler.scheduler.address)
    assert len(rows) == 8 and all(r["status"] == "ok" for r in rows)
    for r in rows:
        (want,) = simulate(scenario(doc, arrivals=r["arrivals"], seed=r["replication"]), 3, r["replication"],
                           [r["policy"]])
        assert {k: r[k] for k in ("released", "released_risk", "cost_usd", "unplaced_days")} == \
            {k: want.row()[k] for k in ("released", "released_risk", "cost_usd", "unplaced_days")}
    report = render("study", rows, columns(grid), True)
    assert report.count("<svg") == 3 and report.count("<tr>") == 1 + 8


def _die_once(marker: str, value: int) -> int:
    """Kill the worker process on the first call (the one that creates the marker), return
    ``value`` after.  The marker is created atomically: two cells checking for it at once on two
    workers both died once, and a cell then rescheduled onto the other dying worker counted two
    deaths (``KilledWorker``, seen in CI on a loaded machine)."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return value
    os._exit(1)


def _die(value: int) -> int:
    if value == 2:
        os._exit(1)
    return value


@pytest.mark.slow  # worker processes start and restart (seconds each); run in CI
def test_a_killed_worker_loses_nothing_and_a_cell_killing_twice_fails(scheduler, tmp_path):
    address = scheduler.scheduler.address
    scheduler.wait_for_workers(2, timeout=60)  # an earlier test's killed worker may still be restarting
    assert map_on_cluster(_die_once, [1, 5], address, shared=str(tmp_path / "died")) == [1, 5]
    got = map_on_cluster(_die, [1, 2, 3], address)
    assert got[0] == 1 and got[2] == 3 and isinstance(got[1], Failed) and "KilledWorker" in got[1].error
    scheduler.wait_for_workers(2, timeout=60)


@pytest.mark.slow  # worker processes start and restart (seconds each); run in CI
def test_the_only_worker_killed_loses_nothing(tmp_path, monkeypatch):
    """One worker (the default on a one-core machine): its death loses the scattered input and
    the results not yet fetched; they are scattered and computed again."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert map_on_cluster(_die_once, [1, 5, 7], shared=str(tmp_path / "died")) == [1, 5, 7]


@pytest.mark.slow  # worker processes start and restart (seconds each); run in CI
def test_worker_killed_mid_sweep(instance, expected, scheduler, tmp_path):
    """SIGKILL a worker process that is running a cell once the first cell is in: every cell is
    still finished and right."""
    scheduler.wait_for_workers(2, timeout=60)
    pids = scheduler.run(os.getpid)
    killed = []

    def kill_a_busy_worker(row):
        busy = [w for w, keys in scheduler.processing().items() if keys]
        if not killed and busy:
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.append(busy[0])

    rows = run_sweep(instance.read_bytes(), GRID, tmp_path, scheduler=scheduler.scheduler.address,
                     on_cell=kill_a_busy_worker)
    assert killed
    _assert_levels(rows, expected)
    scheduler.wait_for_workers(2, timeout=60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # worker processes start and restart (seconds each); run in CI
def test_scheduler_and_two_workers_started_by_hand(instance, expected, tmp_path):
    """``dask scheduler`` and two ``dask worker`` processes on localhost, random free ports."""
    dask = Path(sys.executable).with_name("dask")
    if not dask.exists():
        dask = shutil.which("dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
    log = open(tmp_path / "dask.log", "w")
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                               "--dashboard-address", f":{_free_port()}"], env=env, stdout=log, stderr=log)]
    try:
        procs += [subprocess.Popen([str(dask), "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                                    "--dashboard-address", f":{_free_port()}"], env=env, stdout=log, stderr=log)
                  for _ in range(2)]
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
            workers = set(client.nthreads())
        out = tmp_path / "out"
        assert main(["sweep", str(instance), "--beds", "-10,0,10", "--atd", "0,50", "--out", str(out),
                     "--scheduler", address]) == 0
        with open(out / "results.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        _assert_levels(rows, expected)
        assert {r["worker"] for r in rows} <= workers
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs[::-1]:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()


def test_the_documented_spec_example_is_valid(tmp_path):
    text = (ROOT / "docs" / "sweeps.md").read_text()
    spec = tmp_path / "study.toml"
    spec.write_text(text.split("```toml\n", 1)[1].split("```", 1)[0])
    grid = read_spec(str(spec))
    assert grid["beds"][0] == -33 and grid["beds"][-1] == 59 and len(cells({**DEFAULTS, **grid})) == 10 * 3 * 2
