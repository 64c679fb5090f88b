"""The HTML report (``bedalloc solve --report``), rendered in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from optimizer.cli import main

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    path = tmp / "report.html"
    assert main(["solve", "instances/tiny.json", "--out", str(tmp / "plan"), "--quiet", "--bed-values", "3",
                 "--capacity-curve", "--report", str(path)]) == 0
    return path


def test_report_is_self_contained(report):
    text = report.read_text(encoding="utf-8")
    assert len(re.findall(r"<img class='chart'", text)) == 5  # utilization, risk, reasons, bed value, curve
    assert "http://" not in text and "https://" not in text  # opens without network access
    assert "Plan for tiny" in text and "122.5000" in text


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package chromium)")
def test_report_renders_in_headless_chromium(report, tmp_path):
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    dom = subprocess.run([*flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert 'data-charts-loaded="5"' in dom  # every chart decoded and laid out
    shot = tmp_path / "shot.png"
    subprocess.run([*flags, "--window-size=1200,3000", f"--screenshot={shot}", report.as_uri()],
                   capture_output=True, timeout=120)
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[0] >= 3000 and pixels.shape[1] >= 1200
    assert pixels[..., :3].std() > 0.05  # not a blank page
    assert (pixels[..., :3].mean(axis=2) < 0.9).mean() > 0.02  # ink: text and charts


def test_report_path_is_checked_before_solving(tmp_path, capsys):
    out = tmp_path / "plan"
    assert main(["solve", "instances/tiny.json", "--out", str(out), "--report", str(tmp_path / "no" / "r.html")]) == 2
    assert "--report" in capsys.readouterr().err and not out.exists()
