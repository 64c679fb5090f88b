"""The HTML report's sections on the value of a bed and the capacity curve (when computed)."""

from __future__ import annotations

from .htmlreport import _figure, _svg, _table, e
from .instance import Instance

LEVELS = (("unplaced_change", "unplaced people"), ("surge_change", "surge bed-days"),
          ("released_risk_change", "released risk"), ("cost_change", "cost (USD)"))


def _first_level(entry: dict) -> tuple[str, float] | None:
    """The first level one more bed changes (key, change), or None."""
    for key, _ in LEVELS:
        if entry.get(key):
            return key, entry[key]
    return None


def values_section(summary: dict, inst: Instance) -> str:
    """The units ranked by the lexicographic effect of one more bed (MODEL.md §4 order)."""
    values = summary.get("bed_values")
    if not values:
        return ""
    import matplotlib.pyplot as plt

    names = {f.id: f.name for f in inst.facilities}
    top = values["units"][:20]
    fmt = {"cost_change": "{:+,.2f}", "released_risk_change": "{:+,.4f}"}
    body = [[u["id"], f"{u['facility']} {names.get(u['facility'], '')}"]
            + ["-" if u[k] is None else fmt.get(k, "{:+,}").format(u[k]) for k, _ in LEVELS] + [u["method"]]
            for u in top]
    parts = ["<h2>Value of one more bed</h2><p class='note'>Units ranked by the effect of one more bed on the "
             "levels in order: unplaced people, then surge bed-days, then released risk, then cost. "
             "re_solve: solved again exactly; lp_dual: an LP estimate of the released-risk change only.</p>"]
    firsts = [(u, _first_level(u)) for u in top]
    shown = [(u, f) for u, f in firsts if f is not None]
    shown = [(u, f) for u, f in shown if f[0] == shown[0][1][0]] if shown else []  # one level: one scale
    if shown:
        fig, ax = plt.subplots(figsize=(9, 0.3 * len(shown) + 0.9))
        colours = {"unplaced_change": "#b03030", "surge_change": "#e57c00", "released_risk_change": "#d8a33a",
                   "cost_change": "#4a7ab5"}
        labels = [f"{u['id']}{'' if u['method'] == 're_solve' else ' (estimate)'}" for u, _ in shown]
        ax.barh(labels[::-1], [-v for _, (_, v) in shown][::-1], color=[colours[k] for _, (k, _) in shown][::-1])
        ax.set_xlabel(f"{dict(LEVELS)[shown[0][1][0]]} saved by one more bed")
        ax.spines[["top", "right"]].set_visible(False)
        parts.append(_figure("value of one more bed", _svg(fig)))
    parts.append(_table([("unit", False), ("facility", False)] + [(label, True) for _, label in LEVELS]
                        + [("method", False)], body, "bedvalues"))
    cand = values.get("candidates", {"unplaced": 0, "surge": 0})
    exact = sum(u["method"] == "re_solve" for u in values["units"])
    parts.append(f"<p class='note'>{cand['unplaced']:,} units may place an unplaced person and {cand['surge']:,} "
                 f"more may save a surge bed-day; {exact:,} units were solved again exactly (these first).</p>")
    if not values.get("complete", True):
        parts.append("<p class='note'>Cut short by the time limit: some units keep their estimate.</p>")
    return "\n".join(parts)


def curve_section(summary: dict) -> str:
    """Released risk and unplaced people against the beds (percent of today's)."""
    curve = summary.get("capacity_curve")
    if not curve or not curve.get("points"):
        return ""
    import matplotlib.pyplot as plt

    pts = curve["points"]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot([p["percent"] for p in pts], [p["released_risk"] for p in pts], marker="o", color="#d8833a",
            label="released risk")
    ax.set_xlabel("beds, % change from today's")
    ax.set_ylabel("released risk")
    ax2 = ax.twinx()
    ax2.plot([p["percent"] for p in pts], [p["unplaced"] for p in pts], marker="s", color="#b03030",
             label="unplaced people")
    ax2.set_ylabel("unplaced people")
    fig.legend(loc="upper right", frameon=False)
    cols = [("beds %", True), ("beds", True), ("unplaced", True), ("surge", True), ("released", True),
            ("released risk", True), ("cost (USD)", True)]
    body = [[f"{p['percent']:+g}", f"{p['beds']:,}", "-" if p["unplaced"] is None else f"{p['unplaced']:,}",
             "-" if p["surge"] is None else f"{p['surge']:,}", "-" if p["released"] is None else f"{p['released']:,}",
             "-" if p["released_risk"] is None else f"{p['released_risk']:,.4f}",
             "-" if p["cost_usd"] is None else f"{p['cost_usd']:,.2f}"] for p in pts]
    return ("<h2>Capacity curve</h2><p class='note'>Every unit's beds scaled; surge beds unchanged.</p>"
            + _figure("capacity curve", _svg(fig)) + _table(cols, body) + ("" if curve.get("complete", True) else
                                                                        f"<p class='note'>{e('Cut short by the time limit.')}</p>"))
