"""Make optimizer/data/us_states.json, the state outlines of the HTML report's map.

Input: ``states-10m.json`` of the npm package us-atlas 3.0.1 (TopoJSON of the U.S. Census
Bureau's cartographic boundary file of states, 1:10,000,000; ISC licence, data public domain).
Run: ``python tools/us_states_outline.py path/to/states-10m.json optimizer/data/us_states.json``.

Output: ``{"source": ..., "regions": {REGION: [[lon0, lat0, lon1, lat1, ...] in 1/100 degree]}}``,
each polyline one TopoJSON arc (a stretch of border drawn once), simplified by Douglas-Peucker
(tolerance 0.04 degree) and rounded to 0.01 degree.  REGION is ``L48`` (the conterminous states
and DC) or the postal code of a state or territory drawn in an inset (AK, HI, PR, VI, GU, MP, AS).
"""

from __future__ import annotations

import json
import sys

import numpy as np

INSETS = {"02": "AK", "15": "HI", "72": "PR", "78": "VI", "66": "GU", "69": "MP", "60": "AS"}
TOLERANCE = 0.04


def _decode(topo: dict) -> list[np.ndarray]:
    """The arcs as absolute (n, 2) lon/lat arrays (TopoJSON quantized delta encoding)."""
    scale, translate = np.array(topo["transform"]["scale"]), np.array(topo["transform"]["translate"])
    return [np.cumsum(np.array(a, dtype=np.float64), axis=0) * scale + translate for a in topo["arcs"]]


def _simplify(pts: np.ndarray, tol: float) -> np.ndarray:
    """Douglas-Peucker: the points of ``pts`` kept within ``tol`` of the original line."""
    keep = np.zeros(len(pts), bool)
    keep[[0, -1]] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        seg = pts[j] - pts[i]
        rel = pts[i + 1:j] - pts[i]
        norm = np.hypot(*seg)
        d = np.abs(seg[0] * rel[:, 1] - seg[1] * rel[:, 0]) / norm if norm else np.hypot(rel[:, 0], rel[:, 1])
        k = int(np.argmax(d))
        if d[k] > tol:
            keep[i + 1 + k] = True
            stack += [(i, i + 1 + k), (i + 1 + k, j)]
    return pts[keep]


def _arc_ids(arcs) -> set[int]:
    """Arc indices of a geometry's (nested) arc lists; a negative index ~i is arc i reversed."""
    if isinstance(arcs, int):
        return {arcs if arcs >= 0 else ~arcs}
    return set().union(*(_arc_ids(a) for a in arcs)) if arcs else set()


def main(src: str, dst: str) -> None:
    topo = json.load(open(src, encoding="utf-8"))
    arcs = _decode(topo)
    regions: dict[str, list] = {}
    seen: set[int] = set()
    for g in topo["objects"]["states"]["geometries"]:
        region = INSETS.get(g["id"], "L48")
        for a in sorted(_arc_ids(g["arcs"]) - seen):
            seen.add(a)
            pts = arcs[a].copy()
            if region == "AK":
                pts[:, 0] = np.where(pts[:, 0] > 0, pts[:, 0] - 360, pts[:, 0])  # the Aleutians west of 180
            q = np.round(_simplify(pts, TOLERANCE) * 100).astype(int)
            q = q[np.r_[True, np.any(np.diff(q, axis=0) != 0, axis=1)]]
            if len(q) >= 2:
                regions.setdefault(region, []).append(q.ravel().tolist())
    out = {"source": "us-atlas 3.0.1 states-10m.json (U.S. Census Bureau cartographic boundary, 1:10,000,000), "
                     f"Douglas-Peucker {TOLERANCE} degree, 0.01 degree grid",
           "regions": regions}
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
