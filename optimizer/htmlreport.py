"""A self-contained HTML report of a solved plan (``bedalloc solve --report FILE``).

One HTML file, charts embedded as PNG data (matplotlib), no script or style from the network:
it opens offline in any browser.  Charts: facility utilization, the distribution of effective
risk released with the release cutoff, releases by reason, the value of one more bed by
facility (when ``--bed-values`` was given) and the capacity curve (when ``--capacity-curve`` was
given).  Every chart is an ``<img class="chart">``; an inline script counts the charts that
loaded into ``<body data-charts-loaded>`` (the report test reads it from headless Chromium).
"""

from __future__ import annotations

import base64
import html
import io


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _charts(summary: dict, rows: list[dict[str, str]]) -> list[tuple[str, str]]:
    """(title, PNG base64) of every chart the summary allows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts = []
    facs = sorted((f for f in summary["facilities"] if f.get("utilization") is not None),
                  key=lambda f: -f["utilization"])[:40]
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar([f["id"] for f in facs], [100 * f["utilization"] for f in facs], color="#4a7ab5")
    ax.axhline(100, color="#b03030", lw=1)
    ax.set_ylabel("occupied / beds (%)")
    ax.tick_params(axis="x", rotation=90, labelsize=7)
    charts.append(("Facility utilization (the 40 fullest; surge beds count as occupied)", _png(fig)))

    released = [float(r["effective_risk"]) for r in rows if r["decision"] == "release"]
    kept = [float(r["effective_risk"]) for r in rows if r["decision"] == "detain"]
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.hist([kept, released], bins=50, range=(0, 100), stacked=True, color=["#9fb8d8", "#d8833a"],
            label=["detained", "released"])
    cutoff = summary.get("release_risk_cutoff")
    if cutoff is not None:
        ax.axvline(cutoff, color="#b03030", lw=1.5, label=f"highest released {cutoff:g}")
    ax.set_xlabel("effective risk")
    ax.set_ylabel("people")
    if released or kept:
        ax.set_yscale("log")
        ax.legend()
    charts.append(("Effective risk of the people detained and released, with the release cutoff", _png(fig)))

    reasons = {f"released: {k}": v for k, v in summary.get("releases_by_reason", {}).items()}
    reasons.update({f"unplaced: {k}": v for k, v in summary.get("unplaced_by_reason", {}).items()})
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.barh(list(reasons) or ["none"], list(reasons.values()) or [0], color="#d8833a")
    ax.set_xlabel("people")
    charts.append(("Releases and unplaced people by reason", _png(fig)))

    values = summary.get("bed_values")
    if values:
        # the first level one more bed changes: unplaced people where any change, else released risk
        key = "unplaced_change" if any(f["unplaced_change"] for f in values["facilities"]) else "released_risk_change"
        top = [f for f in values["facilities"] if f[key]][:25]
        fig, ax = plt.subplots(figsize=(10, 4))
        ax.bar([f["id"] for f in top], [-f[key] for f in top],
               color=["#4a7ab5" if f["method"] == "re_solve" else "#b0b0b0" for f in top])
        ax.set_ylabel("unplaced people avoided" if key == "unplaced_change" else "released risk avoided")
        ax.tick_params(axis="x", rotation=90, labelsize=7)
        charts.append(("Value of one more bed by facility (blue: exact re-solve; grey: LP estimate)", _png(fig)))

    curve = summary.get("capacity_curve")
    if curve:
        pts = curve["points"]
        fig, ax = plt.subplots(figsize=(8, 4))
        ax.plot([p["percent"] for p in pts], [p["released_risk"] for p in pts], marker="o", color="#d8833a")
        ax.set_xlabel("beds, % of today's")
        ax.set_ylabel("released risk")
        ax2 = ax.twinx()
        ax2.plot([p["percent"] for p in pts], [p["unplaced"] for p in pts], marker="s", color="#b03030")
        ax2.set_ylabel("unplaced people")
        charts.append(("Capacity curve: released risk (orange) and unplaced people (red)", _png(fig)))
    return charts


def render(summary: dict, rows: list[dict[str, str]]) -> str:
    """The report as one HTML document (UTF-8 text)."""
    e = html.escape
    obj = summary["objective"]
    c = summary["counts"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>bedalloc plan: {e(summary['instance_name'])}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "td,th{padding:2px 10px;text-align:right}th{text-align:left}img.chart{max-width:100%}</style>",
        "</head><body data-charts-loaded='0'>",
        f"<h1>Plan for {e(summary['instance_name'])}</h1>",
        f"<p>{e(summary['termination'])} ({summary['levels_proven_optimal']}/4 levels proven, "
        f"{e(summary['solver_version'])}); plan verified.</p>",
        "<table><tr><th>unplaced people</th><td>{:,}</td></tr><tr><th>surge bed-days</th><td>{:,}</td></tr>"
        "<tr><th>released risk</th><td>{:,.4f}</td></tr><tr><th>cost (USD)</th><td>{:,.2f}</td></tr>"
        "<tr><th>people</th><td>{:,}: detained {:,}, released {:,}, unplaced {:,}, removed {:,}</td></tr>"
        "</table>".format(obj["unplaced"], obj["surge"], obj["released_risk"], obj["cost_usd"], c["people"],
                          c["detained"], c["released"], c["unplaced"], c["removed"]),
    ]
    for title, data in _charts(summary, rows):
        parts.append(f"<h2>{e(title)}</h2><img class='chart' alt='{e(title)}' src='data:image/png;base64,{data}'>")
    parts.append("<script>window.addEventListener('load',function(){var n=0;"
                 "document.querySelectorAll('img.chart').forEach(function(i){if(i.complete&&i.naturalWidth>0)n++;});"
                 "document.body.setAttribute('data-charts-loaded',String(n));});</script></body></html>\n")
    return "\n".join(parts)
