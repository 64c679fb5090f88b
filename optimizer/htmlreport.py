"""A self-contained HTML report of a solved plan for planners (``bedalloc solve --report FILE``).

One HTML file: the map and the charts are inline SVG (the map drawn here, optimizer/reportmap.py;
the charts by matplotlib), the tables sort and filter with a few lines of inline script, and a
Content-Security-Policy forbids every request: the page opens offline and never reaches the
network.  It prints (the search boxes hidden, the lists behind the reasons opened).  Sections:
the four levels and the counts; the map; a table per AOR; the release cutoffs per bed class;
releases and unplaced people by reason with the people behind each bar; the cost split; for a
multi-day plan the occupancy by day per AOR against its beds; the value of a bed and the
capacity curve when they were computed; the facility table.  docs/report.md shows it.
"""

from __future__ import annotations

import html
import io

from .instance import Instance
from .reportdata import aor_days, aor_table, cost_split, facility_table, flows, reason_lists
from .report import REASON_WORDS
from .reportmap import legend, render_map

e = html.escape

CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:13px;margin:.5em 0}td,th{padding:2px 8px;border-bottom:1px solid #eee}
th{text-align:left;background:#f4f4f4}td.n,th.n{text-align:right}td.n{white-space:nowrap}
table.sortable th{cursor:pointer}table.sortable th.asc::after{content:" \\25B2"}
table.sortable th.desc::after{content:" \\25BC"}
.map{width:100%;height:auto;background:#fbfbf8}.map .outline polyline{fill:none;stroke:#9a9a9a;stroke-width:.6}
.map circle.fac{stroke:#333;stroke-width:.4;fill-opacity:.85}.map .flowlabel{font-size:11px;fill:#4527a0;
font-weight:bold;paint-order:stroke;stroke:#fff;stroke-width:3px}.map .inset{font-size:10px;fill:#666}
.map .insetbox{fill:none;stroke:#ddd}
.legend{font-size:12px}.swatch{display:inline-block;width:11px;height:11px;border:1px solid #555;margin:0 3px 0 9px}
figure.chart{margin:.5em 0}figure.chart svg{max-width:100%;height:auto}
.kpi td{font-size:15px}details{margin:.2em 0}summary{cursor:pointer}input.filter{margin:.3em 0;padding:3px;width:24em}
.note{color:#555;font-size:13px}
@media print{input.filter{display:none}body{max-width:none}h2{break-after:avoid}figure,svg{break-inside:avoid}}
"""

SCRIPT = """
function cellValue(tr,i){var t=tr.children[i].getAttribute('data-v');if(t===null)t=tr.children[i].textContent;
 var n=parseFloat(t);return isNaN(n)?t.toLowerCase():n;}
document.querySelectorAll('table.sortable').forEach(function(tab){
 tab.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){
  var asc=!th.classList.contains('asc');tab.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc');});
  th.classList.add(asc?'asc':'desc');var body=tab.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,b){var x=cellValue(a,i),y=cellValue(b,i);return (x<y?-1:x>y?1:0)*(asc?1:-1);});
  rows.forEach(function(r){body.appendChild(r);});});});});
document.querySelectorAll('input.filter').forEach(function(inp){inp.addEventListener('input',function(){
 var q=inp.value.toLowerCase();var body=document.getElementById(inp.getAttribute('data-table')).tBodies[0];
 Array.prototype.forEach.call(body.rows,function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)>=0?'':'none';});});});
window.addEventListener('beforeprint',function(){document.querySelectorAll('details').forEach(function(d){d.open=true;});});
"""


def _svg(fig) -> str:
    """A matplotlib figure as an inline ``<svg>`` element (text kept as text)."""
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _figure(title: str, svg: str) -> str:
    return f"<figure class='chart' aria-label='{e(title)}'>{svg}</figure>"


def _table(cols: list[tuple[str, bool]], rows: list[list], table_id: str = "", sortable: bool = False) -> str:
    """An HTML table; ``cols``: (header, numeric); a cell is text, or (text, sort value)."""
    attrs = (f" id='{table_id}'" if table_id else "") + (" class='sortable'" if sortable else "")
    head = "".join(f"<th{' class=n' if num else ''}>{e(h)}</th>" for h, num in cols)
    body = []
    for row in rows:
        cells = []
        for (_, num), c in zip(cols, row):
            text, v = c if isinstance(c, tuple) else (c, None)
            cells.append(f"<td{' class=n' if num else ''}{'' if v is None else f' data-v={v!r}'}>{e(str(text))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _header(summary: dict, split: dict) -> str:
    obj, c = summary["objective"], summary["counts"]
    rows = [["1 unplaced people", f"{obj['unplaced']:,}"], ["2 surge bed-days", f"{obj['surge']:,}"],
            ["3 released risk", f"{obj['released_risk']:,.4f}"], ["4 cost (USD)", f"{obj['cost_usd']:,.2f}"]]
    legal = summary.get("releases_by_reason", {}).get("legal_limit", 0)
    return (f"<h1>Plan for {e(summary['instance_name'])}</h1>"
            f"<p>{e(summary['termination'])} ({summary['levels_proven_optimal']}/4 levels proven, "
            f"{e(summary['solver_version'] or summary['solver'])}); plan verified.</p>"
            + _table([("level", False), ("value", True)], rows).replace("<table", "<table class='kpi'", 1)
            + f"<p>people {c['people']:,}: detained {c['detained']:,}, released {c['released']:,} "
              f"(of them {legal:,} at their legal custody limit), unplaced {c['unplaced']:,}, removed {c['removed']:,}; "
              f"moved between facilities {c['transfers']:,}.</p>")


def _aor_section(inst: Instance, summary: dict, rows) -> str:
    table = aor_table(inst, summary, rows)
    reasons = sorted({k for a in table for k in a["released"]}, key=lambda k: -sum(a["released"][k] for a in table))
    cols = [("AOR", False), ("name", False), ("people", True), ("detained", True)] + \
           [(f"released: {REASON_WORDS.get(k, k)}", True) for k in reasons] + \
           [("unplaced", True), ("beds (+surge)", True), ("occupied", True), ("transfers out / limit", True),
            ("transfers in", True)]
    body = [[a["code"], a["name"], f"{a['people']:,}", f"{a['detained']:,}"]
            + [f"{a['released'][k]:,}" for k in reasons]
            + [f"{a['unplaced']:,}", f"{a['beds']:,} (+{a['surge_beds']:,})", f"{a['occupied']:,}",
               (f"{a['out']:,} / {'-' if a['limit'] is None else format(a['limit'], ',')}", a["out"]), f"{a['in']:,}"]
            for a in table]
    busiest = "" if inst.horizon_days == 1 else " on its busiest day"
    return ("<h2>Areas of responsibility</h2><p class='note'>people: the AOR's cases that need a decision; beds and "
            f"occupied{busiest}: facilities located in the AOR; transfers out{busiest} against the AOR's daily "
            "limit, counted by the origin facility's AOR; transfers in: into the AOR's facilities.</p>"
            + _table(cols, body, "aors", sortable=True))


def _cutoff_section(summary: dict) -> str:
    cuts = summary.get("release_cutoffs", [])
    legal = summary.get("releases_by_reason", {}).get("legal_limit", 0)
    body = [[c["class"], f"{c['released']:,}", "-" if c["highest_released"] is None else f"{c['highest_released']:.4f}",
             f"{c['kept_releasable']:,}", "-" if c["lowest_kept"] is None else f"{c['lowest_kept']:.4f}"]
            for c in sorted(cuts, key=lambda c: -(c["highest_released"] or -1))]
    return ("<h2>Release cutoffs per bed class</h2><p class='note'>For each class of single people who fit the same "
            "units: the highest effective risk released for lack of beds (or moved below the cutoff by a "
            "humanitarian factor) and the lowest effective risk kept among those who could have been released. "
            f"Releases at the legal custody limit ({legal:,}) are not choices and are not counted here.</p>"
            + (_table([("bed class", False), ("released", True), ("highest released", True),
                       ("kept, releasable", True), ("lowest kept", True)], body, "cutoffs", sortable=True)
               if body else "<p>No release for lack of beds: no cutoff.</p>"))


def _reasons_section(inst: Instance, rows, redact: bool) -> str:
    import matplotlib.pyplot as plt

    lists = reason_lists(inst, rows)
    parts = ["<h2>Releases and unplaced people by reason</h2>"]
    if not lists:
        return parts[0] + "<p>Nobody released or unplaced.</p>"
    labels = [f"{k.split(': ')[0]}: {REASON_WORDS.get(k.split(': ')[1], k.split(': ')[1])}" for k in lists]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(lists) + 0.8))
    bars = ax.barh(labels[::-1], [len(v) for v in lists.values()][::-1],
                   color=["#b03030" if k.startswith("unplaced") else "#d8833a" for k in list(lists)[::-1]])
    ax.bar_label(bars, fmt="{:,.0f}", padding=3)
    ax.set_xlabel("people")
    ax.spines[["top", "right"]].set_visible(False)
    parts.append(_figure("releases by reason", _svg(fig)))
    cols = ([] if redact else [("person", False)]) + [("AOR", False), ("effective risk", True), ("origin", False),
                                                      ("bed until release", False), ("ATD program", False),
                                                      ("release day", True)]
    for (key, people), label in zip(lists.items(), labels):
        body = [([] if redact else [p["person"]]) + [p["aor"], f"{p['risk']:.4f}", p["origin"], p["facility"],
                                                     p["program"], p["day"]] for p in people]
        parts.append(f"<details><summary>{e(label)}: {len(people):,} {'person' if len(people) == 1 else 'people'}</summary>{_table(cols, body)}</details>")
    return "\n".join(parts)


def _cost_section(split: dict) -> str:
    import matplotlib.pyplot as plt

    names = {"guaranteed_minimum": "guaranteed minimums", "per_diem": "per diems above them", "atd": "ATD per diems",
             "moving": "moving"}
    fig, ax = plt.subplots(figsize=(9, 1.2))
    left = 0.0
    colours = ["#4a7ab5", "#9fb8d8", "#7cb342", "#8e6cc0"]
    for (k, v), c in zip(split.items(), colours):
        ax.barh([0], [v], left=left, color=c, label=f"{names[k]}: {v:,.0f} USD")
        left += v
    ax.set_yticks([])
    ax.set_xlabel("USD")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=2, frameon=False)
    ax.spines[["top", "right", "left"]].set_visible(False)
    total = sum(split.values())
    body = [[names[k], f"{v:,.2f}", f"{v / total:.1%}" if total else "-"] for k, v in split.items()]
    return ("<h2>Cost</h2>" + _figure("cost split", _svg(fig))
            + _table([("part", False), ("USD", True), ("share", True)], body))


def _days_section(inst: Instance, summary: dict, table: list[dict]) -> str:
    import matplotlib.pyplot as plt

    days = aor_days(inst, summary)
    beds = {a["code"]: (a["beds"], a["beds"] + a["surge_beds"]) for a in table}
    codes = [a.code for a in inst.aors if beds[a.code][0]]
    ncol = 6
    nrow = -(-len(codes) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(12, 1.7 * nrow), squeeze=False, sharex=True)
    for ax, code in zip(axes.flat, codes):
        ax.plot(range(inst.horizon_days), days[code], color="#4a7ab5")
        ax.axhline(beds[code][0], color="#b03030", lw=1)
        ax.axhline(beds[code][1], color="#b03030", lw=0.8, ls=":")
        ax.set_title(code, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_ylim(0, beds[code][1] * 1.08 or 1)
    for ax in list(axes.flat)[len(codes):]:
        ax.set_visible(False)
    fig.tight_layout()
    return ("<h2>Occupancy by day per AOR</h2><p class='note'>Blue: beds used (surge included) in the AOR's "
            "facilities; red line: beds; dotted: beds and surge beds.</p>" + _figure("occupancy by day", _svg(fig)))


def render(summary: dict, rows: list[dict[str, str]], inst: Instance, redact: bool = False) -> str:
    """The report as one HTML document (UTF-8 text). ``rows``: the verified plan rows with their
    ``reason``; ``redact``: no person ids (the lists behind the reasons show the rest)."""
    from .reportvalues import curve_section, values_section

    import matplotlib

    matplotlib.use("Agg")
    split = cost_split(inst, summary, rows)
    facs = facility_table(inst, summary)
    aors = aor_table(inst, summary, rows)
    hubs = {a.code: (a.lon, a.lat) for a in inst.aors}
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
             "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">",
             f"<title>bedalloc plan: {e(summary['instance_name'])}</title><style>{CSS}</style></head><body>",
             _header(summary, split),
             "<h2>Facilities and transfers</h2>", render_map(facs, hubs, flows(inst, rows)), legend(),
             _aor_section(inst, summary, rows), _cutoff_section(summary), _reasons_section(inst, rows, redact),
             _cost_section(split)]
    if inst.horizon_days > 1:
        parts.append(_days_section(inst, summary, aors))
    parts += [values_section(summary, inst), curve_section(summary), _facility_section(facs, inst.horizon_days)]
    parts.append(f"<script>{SCRIPT}</script></body></html>\n")
    return "\n".join(p for p in parts if p)


def _facility_section(facs: list[dict], horizon: int) -> str:
    cols = [("id", False), ("name", False), ("AOR", False), ("state", False), ("type", False), ("beds", True),
            ("surge beds", True), ("occupied", True), ("utilization", True), ("guaranteed minimum USD", True),
            ("per diem USD", True)]
    body = [[f["id"], f["name"], f["aor"], f["state"], f["type"], (f"{f['beds']:,}", f["beds"]),
             (f"{f['surge_beds']:,}", f["surge_beds"]), (f"{f['occupied']:,}", f["occupied"]),
             ("-", -1) if f["utilization"] is None else (f"{f['utilization']:.1%}", f["utilization"]),
             (f"{f['gm_usd']:,.2f}", f["gm_usd"]), (f"{f['per_diem_usd']:,.2f}", f["per_diem_usd"])] for f in facs]
    busiest = " (occupied: the busiest day)" if horizon > 1 else ""
    return (f"<h2>Facilities</h2><p class='note'>Click a column to sort; type to filter{busiest}.</p>"
            "<input class='filter' data-table='facilities' placeholder='filter: id, name, AOR, state, type'>"
            + _table(cols, body, "facilities", sortable=True))
