"""The HTML report (``bedalloc solve --report``): its tables against the plan, and the page
rendered in headless Chromium (selenium with the system's chromedriver, offline)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from optimizer.cli import main
from optimizer.instance import read_instance
from optimizer.reportdata import aor_table, cost_split, reason_lists

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def _solve(tmp: Path, instance: str, *extra: str) -> Path:
    path = tmp / "report.html"
    assert main(["solve", instance, "--out", str(tmp / "plan"), "--quiet", "--report", str(path), *extra]) in (0, 1)
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """tiny.json with bed values and the capacity curve."""
    return _solve(tmp_path_factory.mktemp("report"), "instances/tiny.json", "--bed-values", "3", "--capacity-curve")


@pytest.fixture(scope="module")
def multiday(tmp_path_factory):
    """A generated two-AOR, four-day instance (transfers between AORs, occupancy by day)."""
    tmp = tmp_path_factory.mktemp("multiday")
    inst = tmp / "md.json"
    assert main(["generate", "--out", str(inst), "--aor", "SNA,HLG", "--scale", "0.03", "--horizon-days", "4"]) == 0
    return _solve(tmp, str(inst)), inst


def _plan(report: Path):
    folder = report.parent / "plan"
    rows = list(csv.DictReader(io.StringIO((folder / "plan.csv").read_text(encoding="utf-8"))))
    return rows, json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def test_tables_add_up_to_the_plan(multiday):
    report, path = multiday
    inst = read_instance(str(path))
    rows, summary = _plan(report)
    split = cost_split(inst, summary, rows)
    assert sum(split.values()) == pytest.approx(summary["objective"]["cost_usd"], abs=0.05)
    assert split["guaranteed_minimum"] == pytest.approx(
        sum(f.guaranteed_minimum * f.gm_rate for f in inst.facilities) * inst.horizon_days, abs=0.01)
    assert split["moving"] > 0 and split["atd"] > 0
    table = aor_table(inst, summary, rows)
    c = summary["counts"]
    assert sum(a["people"] for a in table) == c["people"] - c["removed"]
    assert sum(a["detained"] for a in table) == c["detained"]
    assert sum(sum(a["released"].values()) for a in table) == c["released"]
    assert sum(a["in"] for a in table) == c["transfers"]
    assert {a["code"]: a["out"] for a in table} == {
        code: max(t["transfers"] for t in summary["transfers_by_aor"] if t["aor"] == code) for code in ("HLG", "SNA")}
    lists = reason_lists(inst, rows)
    assert {k.split(": ")[1]: len(v) for k, v in lists.items() if k.startswith("released")} == \
        summary["releases_by_reason"]


def test_report_is_self_contained(report, multiday):
    for path in (report, multiday[0]):
        text = path.read_text(encoding="utf-8")
        assert "default-src 'none'" in text  # the browser itself refuses any request
        assert not re.findall(r"""(?:src|href)\s*=\s*["'](?!data:|#)""", text)  # nothing loaded from outside
    text = report.read_text(encoding="utf-8")
    assert "Plan for tiny" in text and "122.5000" in text and "Houston" in text
    assert text.count("<figure class='chart'") == 4  # reasons, cost, bed values, capacity curve
    assert multiday[0].read_text(encoding="utf-8").count("<figure class='chart'") == 3  # reasons, cost, days


def test_redacted_report_names_nobody(tmp_path):
    text = _solve(tmp_path, "instances/tiny.json", "--redact").read_text(encoding="utf-8")
    people = [p["id"] for p in json.loads(Path("instances/tiny.json").read_text())["people"]]
    assert not [p for p in people if re.search(rf">{re.escape(p)}<", text)]


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        opts.add_argument(a)
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


def _not_blank(px) -> bool:
    px = px[..., :3]
    return px.size > 0 and px.std() > 0.02 and (px.mean(axis=2) < 0.8).mean() > 0.005  # some ink, not one colour


def _column(driver, table: str, k: int) -> list[float]:
    return [float(td.get_attribute("data-v")) for td in
            driver.find_elements("css selector", f"#{table} tbody tr td:nth-child({k})")]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("Chromium or chromedriver is not installed (Debian packages chromium, chromium-driver)")
    driver = _browser()
    yield driver
    driver.quit()


def _screenshot(driver, path: Path):
    """The whole page at 1280 px wide, saved to ``path``, as an array."""
    import matplotlib.image

    driver.set_window_size(1280, driver.execute_script("return document.body.scrollHeight") + 120)
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return matplotlib.image.imread(path)


@pytest.mark.parametrize("which", ["report", "multiday"])
def test_report_in_headless_chromium(which, report, multiday, browser, tmp_path):
    path = report if which == "report" else multiday[0]
    browser.get_log("browser"), browser.get_log("performance")  # only this page's
    browser.get(path.as_uri())
    errors = [m for m in browser.get_log("browser") if m["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    requests = [json.loads(m["message"])["message"] for m in browser.get_log("performance")]
    urls = {r["params"]["request"]["url"] for r in requests if r["method"] == "Network.requestWillBeSent"}
    assert urls == {path.as_uri()}
    out = Path(os.environ.get("BEDALLOC_ARTEFACTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    page = _screenshot(browser, out / f"report-{which}.png")
    assert page.shape[1] == 1280 and _not_blank(page)
    charts = browser.find_elements("css selector", "figure.chart svg, svg#map")
    assert len(charts) == (5 if which == "report" else 4)
    for c in charts:  # each chart and the map drawn: its part of the screenshot is not blank
        r = browser.execute_script("var r=arguments[0].getBoundingClientRect();"
                                   "return [r.left+scrollX, r.top+scrollY, r.right+scrollX, r.bottom+scrollY];", c)
        x0, y0, x1, y1 = (int(v) for v in r)
        assert y1 - y0 > 100 and _not_blank(page[y0:y1, x0:x1]), c.get_attribute("outerHTML")[:80]
    assert len(browser.find_elements("css selector", "svg#map circle.fac")) == \
        len(browser.find_elements("css selector", "#facilities tbody tr"))
    beds = browser.find_element("xpath", "//table[@id='facilities']//th[text()='beds']")
    beds.click()
    assert _column(browser, "facilities", 6) == sorted(_column(browser, "facilities", 6))
    beds.click()
    assert _column(browser, "facilities", 6) == sorted(_column(browser, "facilities", 6), reverse=True)
    rows = browser.find_elements("css selector", "#facilities tbody tr")
    word = rows[0].find_element("css selector", "td:nth-child(2)").text.split()[0]
    expected = sum(word.lower() in r.text.lower() for r in rows)
    browser.find_element("css selector", "input.filter").send_keys(word)
    assert len([r for r in rows if r.is_displayed()]) == expected and 1 <= expected < len(rows)


def test_report_path_is_checked_before_solving(tmp_path, capsys):
    out = tmp_path / "plan"
    assert main(["solve", "instances/tiny.json", "--out", str(out), "--report", str(tmp_path / "no" / "r.html")]) == 2
    assert "--report" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("terminal,quiet", [(True, False), (True, True), (False, False)])
def test_progress_on_a_terminal_only(tmp_path, capfd, monkeypatch, terminal, quiet):
    """rich's progress display on stderr names each stage when stderr is a terminal (FORCE_COLOR
    makes rich take it for one), and shows nothing with --quiet or when stderr is not a terminal."""
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    if terminal:
        monkeypatch.setenv("FORCE_COLOR", "1")
    report = tmp_path / "r.html"
    assert main(["solve", "instances/tiny.json", "--out", str(tmp_path / "plan"), "--report", str(report),
                 *(["--quiet"] if quiet else [])]) == 0
    out, err = capfd.readouterr()
    stages = ["reading the instance", "building the model", "level 3 of 4 (released risk)", "level 4 of 4 (cost)",
              "verifying the plan", "writing the plan", "writing the report"]
    assert [s for s in stages if s in err] == (stages if terminal and not quiet else [])
    out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\s+", "", out)  # colours and line breaks of a terminal
    assert (f"reportwrittento{report}" in out) == (not quiet)
    assert "releaseriskcutoff" not in out
