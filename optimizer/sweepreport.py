"""``DIR/report.html`` of ``bedalloc sweep``: one self-contained HTML file, the charts inline SVG
(matplotlib; text drawn as paths), no script or style from the network.

Plan sweeps: released risk, cost and people released against the beds percentage, one line per
combination of the other axes (ATD capacity, transport limits, arrivals, solver).  Simulation
studies: each policy's totals over the replications with the mean and its 95 % confidence
interval (Student's t), per scenario.  Then the table of every cell.
"""

from __future__ import annotations

import html
import io

PLAN_METRICS = (("released_risk", "released risk (sum of effective risk)"), ("cost_usd", "cost (USD)"),
                ("released", "people released"))
SIM_METRICS = (("released_risk", "released risk over the days"), ("cost_usd", "cost (USD)"),
               ("unplaced_days", "unplaced person-days"))
LABELS = {"atd_pct": "ATD {:+g} %", "transfers_pct": "transfers {:+g} %", "arrivals": "arrivals x{:g}",
          "solver": "{}", "beds_pct": "beds {:+g} %"}


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _label(row: dict, names: list[str]) -> str:
    return ", ".join(LABELS[n].format(row[n]) for n in names) or "all"


def _varying(rows: list[dict], names) -> list[str]:
    return [n for n in names if len({r[n] for r in rows}) > 1]


def _plan_charts(rows: list[dict], plt) -> list[tuple[str, str]]:
    others = _varying(rows, ("atd_pct", "transfers_pct", "arrivals", "solver"))
    lines: dict[str, list[dict]] = {}
    for r in rows:
        lines.setdefault(_label(r, others), []).append(r)
    charts = []
    for key, title in PLAN_METRICS:
        fig, ax = plt.subplots(figsize=(8, 4))
        for label, pts in lines.items():
            pts = sorted(pts, key=lambda r: r["beds_pct"])
            ax.plot([r["beds_pct"] for r in pts], [r[key] for r in pts], marker="o", label=label)
        ax.set_xlabel("beds (% change of every unit's beds)")
        ax.set_ylabel(title)
        if len(lines) > 1:
            ax.legend(fontsize=8)
        charts.append((f"{title} against beds", _svg(fig)))
    return charts


def _mean_ci(values: list[float]) -> tuple[float, float]:
    """The mean and the half-width of its 95 % confidence interval (0 for one value)."""
    import numpy as np
    from scipy import stats

    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), 0.0
    return float(v.mean()), float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))


def _simulation_charts(rows: list[dict], plt) -> list[tuple[str, str]]:
    scen = _varying(rows, ("beds_pct", "atd_pct", "transfers_pct", "arrivals", "solver"))
    groups = sorted({(_label(r, scen), r["policy"]) for r in rows}, key=lambda g: g)
    charts = []
    for key, title in SIM_METRICS:
        fig, ax = plt.subplots(figsize=(max(6, len(groups) * 0.9), 4))
        for x, (label, policy) in enumerate(groups):
            vals = [r[key] for r in rows if (_label(r, scen), r["policy"]) == (label, policy)]
            mean, half = _mean_ci(vals)
            ax.scatter([x] * len(vals), vals, color="#9fb8d8", s=12, zorder=1)
            ax.errorbar([x], [mean], yerr=[half], fmt="o", color="#b03030", capsize=5, zorder=2)
        ax.set_xticks(range(len(groups)), [p if label == "all" else f"{p}\n{label}" for label, p in groups],
                      fontsize=8)
        ax.set_ylabel(title)
        charts.append((f"{title}: replications (dots), mean and 95 % confidence interval", _svg(fig)))
    return charts


def _table(rows: list[dict], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if r.get(c) is None else str(r.get(c)))}</td>"
                                    for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(title: str, rows: list[dict], columns: list[str], simulate: bool) -> str:
    """The report's HTML text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r["status"] == "ok"]
    charts = (_simulation_charts if simulate else _plan_charts)(ok, plt) if ok else []
    failed = len(rows) - len(ok)
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>{len(rows)} cells, {len(ok)} finished, {failed} failed.</p>"]
    parts += [f"<h2>{html.escape(t)}</h2><div class='chart'>{svg}</div>" for t, svg in charts]
    parts += ["<h2>Every cell</h2>", _table(rows, columns)]
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}.chart svg{max-width:100%;height:auto}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n")
