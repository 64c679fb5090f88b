"""The HTML report's map: an inline SVG of the state outlines (bundled, offline:
optimizer/data/us_states.json, see PROVENANCE.md), the facilities as circles sized by beds and
coloured by utilization, and the transfers between AORs as lines with their counts.

The conterminous states are drawn in an Albers equal-area conic projection (USGS standard
parallels 29.5 and 45.5 degrees N); Alaska, Hawaii and the territories in insets along the bottom,
each in its own equirectangular projection, drawn only when a facility or an AOR hub lies there
(Alaska and Hawaii always)."""

from __future__ import annotations

import html
import json
import math
from importlib import resources

W, H_MAIN, H_INSET = 960, 560, 130
INSET_OF = {"AK": "AK", "HI": "HI", "PR": "PR", "VI": "PR", "GU": "GU", "MP": "GU", "AS": "AS"}
INSET_TITLES = {"AK": "Alaska", "HI": "Hawaii", "PR": "Puerto Rico, Virgin Is.", "GU": "Guam, N. Mariana Is.",
                "AS": "American Samoa"}
UTIL_COLOURS = ((0.0, "#2c7bb6"), (0.7, "#abd9e9"), (0.9, "#fdd835"), (1.0, "#fdae61"), (1.05, "#d7191c"))


def _albers(lon: float, lat: float) -> tuple[float, float]:
    """Albers equal-area conic, conterminous USA (unit sphere; y grows northwards)."""
    p1, p2, p0, l0 = map(math.radians, (29.5, 45.5, 23.0, -96.0))
    n = (math.sin(p1) + math.sin(p2)) / 2
    c = math.cos(p1) ** 2 + 2 * n * math.sin(p1)
    rho0 = math.sqrt(c - 2 * n * math.sin(p0)) / n
    rho = math.sqrt(c - 2 * n * math.sin(math.radians(lat))) / n
    th = n * (math.radians(lon) - l0)
    return rho * math.sin(th), rho0 - rho * math.cos(th)


def _plate(lat0: float):
    """An equirectangular projection around latitude ``lat0`` (y grows northwards)."""
    k = math.cos(math.radians(lat0))
    return lambda lon, lat: (lon * k, lat)


class _Frame:
    """One projection fitted into a box of the SVG (x0, y0, w, h) around given lon/lat points."""

    def __init__(self, project, points, box):
        self.project, (x0, y0, w, h) = project, box
        xy = [project(lo, la) for lo, la in points]
        xs, ys = [p[0] for p in xy], [p[1] for p in xy]
        dx, dy = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
        self.s = min(w / dx, h / dy) * 0.94
        self.ox = x0 + (w - dx * self.s) / 2 - min(xs) * self.s
        self.oy = y0 + (h - dy * self.s) / 2 + max(ys) * self.s

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        x, y = self.project(lon, lat)
        return round(self.ox + x * self.s, 1), round(self.oy - y * self.s, 1)


def _outlines() -> dict[str, list[list[tuple[float, float]]]]:
    doc = json.loads(resources.files("optimizer").joinpath("data/us_states.json").read_text(encoding="utf-8"))
    return {region: [[(a[i] / 100, a[i + 1] / 100) for i in range(0, len(a), 2)] for a in arcs]
            for region, arcs in doc["regions"].items()}


def _frames(outlines, used: set[str]) -> dict[str, _Frame]:
    """The main frame (``L48``) and one inset frame per inset region shown."""
    frames = {"L48": _Frame(_albers, [p for arc in outlines["L48"] for p in arc], (0, 0, W, H_MAIN))}
    shown = [r for r in INSET_TITLES if r in used or r in ("AK", "HI")]
    w = W / len(shown)
    for k, region in enumerate(shown):
        pts = [p for name, arcs in outlines.items() if INSET_OF.get(name) == region for arc in arcs for p in arc]
        lat0 = sum(p[1] for p in pts) / len(pts)
        frames[region] = _Frame(_plate(lat0), pts, (k * w + 6, H_MAIN + 18, w - 12, H_INSET - 24))
    return frames


def utilization_colour(u: float | None) -> str:
    """The map's colour of a utilization (occupied / beds; None: no beds)."""
    if u is None:
        return "#9e9e9e"
    return [c for lo, c in UTIL_COLOURS if u >= lo][-1]


def _flow_lines(flows, hubs, frames) -> list[str]:
    """Curved arrows between AOR hubs, width by count, the count at the middle."""
    out, top = [], max(flows.values(), default=1)
    for (a, b), n in sorted(flows.items(), key=lambda kv: kv[1]):
        if a == b:
            continue
        (x1, y1), (x2, y2) = frames["L48"](*hubs[a]), frames["L48"](*hubs[b])
        mx, my = (x1 + x2) / 2 - (y2 - y1) * 0.15, (y1 + y2) / 2 + (x2 - x1) * 0.15  # bend to the right
        w = 1 + 5 * math.sqrt(n / top)
        tip = f"{a} \u2192 {b}: {n:,} transfer{'s' if n != 1 else ''}"
        out.append(f"<g class='flow'><title>{html.escape(tip)}</title><path d='M{x1},{y1} Q{mx},{my} {x2},{y2}' "
                   f"fill='none' stroke='#5e35b1' stroke-opacity='0.55' stroke-width='{w:.1f}' "
                   f"marker-end='url(#arrow)'/><text x='{(x1 + 2 * mx + x2) / 4:.1f}' y='{(y1 + 2 * my + y2) / 4:.1f}' "
                   f"class='flowlabel'>{n:,}</text></g>")
    return out


def render_map(facilities: list[dict], hubs: dict[str, tuple[float, float]], flows) -> str:
    """The map as an ``<svg>`` element. ``facilities``: :func:`optimizer.reportdata.facility_table`
    rows; ``hubs``: AOR code -> (lon, lat); ``flows``: Counter of (origin AOR, destination AOR)."""
    outlines = _outlines()
    used = {INSET_OF[f["state"]] for f in facilities if f["state"] in INSET_OF}
    frames = _frames(outlines, used)
    region_of = {name: INSET_OF.get(name, "L48") for name in outlines}
    parts = [f"<svg id='map' class='map' viewBox='0 0 {W} {H_MAIN + H_INSET}' role='img' "
             "aria-label='map of the facilities' xmlns='http://www.w3.org/2000/svg'>",
             "<defs><marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='9' markerHeight='9' "
             "markerUnits='userSpaceOnUse' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='#5e35b1'/></marker></defs>",
             "<g class='outline'>"]
    for name, arcs in outlines.items():
        frame = frames.get(region_of[name])
        if frame is None:
            continue
        for arc in arcs:
            parts.append("<polyline points='" + " ".join(f"{x},{y}" for x, y in (frame(*p) for p in arc)) + "'/>")
    parts.append("</g>")
    insets = [r for r in frames if r != "L48"]
    w = W / len(insets)
    for k, region in enumerate(insets):
        parts.append(f"<rect class='insetbox' x='{k * w + 3:.1f}' y='{H_MAIN + 3}' width='{w - 6:.1f}' "
                     f"height='{H_INSET - 6}'/><text class='inset' x='{k * w + 8:.1f}' y='{H_MAIN + 15}'>"
                     f"{INSET_TITLES[region]}</text>")
    parts += _flow_lines(flows, hubs, frames)
    top = max((f["beds"] for f in facilities), default=1) or 1
    for f in sorted(facilities, key=lambda f: -f["beds"]):  # the small ones on top
        cx, cy = frames[INSET_OF.get(f["state"], "L48")](f["lon"], f["lat"])
        r = 2.5 + 16 * math.sqrt(f["beds"] / top)
        util = "no beds" if f["utilization"] is None else f"{f['utilization']:.0%}"
        tip = f"{f['id']} {f['name']} ({f['state']}, AOR {f['aor']}): {f['occupied']:,} of {f['beds']:,} beds, {util}"
        parts.append(f"<circle class='fac' data-id='{html.escape(f['id'])}' cx='{cx}' cy='{cy}' r='{r:.1f}' "
                     f"fill='{utilization_colour(f['utilization'])}'><title>{html.escape(tip)}</title></circle>")
    parts.append("</svg>")
    return "\n".join(parts)


def legend() -> str:
    """The map's legend (HTML)."""
    labels = ["below 70 %", "70-90 %", "90-100 %", "100-105 %", "above 105 % (surge beds)", "no beds"]
    keys = list(zip(labels, [c for _, c in UTIL_COLOURS] + ["#9e9e9e"]))
    return ("<p class='legend'>" + " ".join(f"<span class='swatch' style='background:{c}'></span>{lab}"
                                            for lab, c in keys)
            + " &middot; circle area: beds &middot; <span style='color:#5e35b1'>&rarr;</span> transfers between AORs "
              "(origin facility's AOR to the new facility's AOR), with counts</p>")
