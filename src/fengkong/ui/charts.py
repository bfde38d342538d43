"""Charts drawn on the server as inline SVG: they work offline and need no script.

>>> svg = line_chart({"2025-07": [(1, 0.01), (2, 0.03)]}, x_label="MOB", y_label="30+")
>>> svg.startswith("<svg") and "polyline" in svg
True
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["graph_view", "line_chart"]

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939")  # fmt: skip


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    x_label: str = "",
    y_label: str = "",
    percent: bool = True,
    width: int = 640,
    height: int = 300,
) -> str:
    """One polyline per series with axes, ticks and a legend."""
    points = [p for values in series.values() for p in values]
    left, right, top, bottom = 56, 130, 16, 40
    if not points:
        return (
            f"<svg width='{width}' height='{height}' role='img'><text x='20' y='40'>—</text></svg>"
        )
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y1 = max(ys) * 1.1 or 1.0
    w, h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * w

    def sy(y: float) -> float:
        return top + h - y / y1 * h

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"role='img' class='chart'>",
             f"<line x1='{left}' y1='{top + h}' x2='{left + w}' y2='{top + h}' stroke='#333'/>",
             f"<line x1='{left}' y1='{top}' x2='{left}' y2='{top + h}' stroke='#333'/>"]  # fmt: skip
    for k in range(5):
        y = y1 * k / 4
        label = f"{100 * y:.1f}%" if percent else f"{y:,.0f}"
        parts.append(f"<text x='{left - 6}' y='{sy(y) + 4:.1f}' font-size='10' "
                     f"text-anchor='end'>{label}</text>")  # fmt: skip
        parts.append(f"<line x1='{left}' y1='{sy(y):.1f}' x2='{left + w}' y2='{sy(y):.1f}' "
                     "stroke='#eee'/>")  # fmt: skip
    step = max(1, math.ceil((x1 - x0) / 10))
    x = math.ceil(x0)
    while x <= x1:
        parts.append(f"<text x='{sx(x):.1f}' y='{top + h + 14}' font-size='10' "
                     f"text-anchor='middle'>{x:g}</text>")  # fmt: skip
        x += step
    parts.append(f"<text x='{left + w / 2}' y='{height - 6}' font-size='11' "
                 f"text-anchor='middle'>{html.escape(x_label)}</text>")  # fmt: skip
    parts.append(f"<text x='12' y='{top + h / 2}' font-size='11' transform='rotate(-90 12 "
                 f"{top + h / 2})' text-anchor='middle'>{html.escape(y_label)}</text>")  # fmt: skip
    for k, (name, values) in enumerate(series.items()):
        color = _PALETTE[k % len(_PALETTE)]
        path = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in sorted(values))
        parts.append(f"<polyline fill='none' stroke='{color}' stroke-width='1.8' "
                     f"points='{path}'><title>{html.escape(name)}</title></polyline>")  # fmt: skip
        ly = top + 12 + 14 * k
        parts.append(f"<rect x='{left + w + 10}' y='{ly - 8}' width='10' height='10' "
                     f"fill='{color}'/>")  # fmt: skip
        parts.append(f"<text x='{left + w + 24}' y='{ly + 1}' font-size='10'>"
                     f"{html.escape(name)}</text>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def graph_view(view: Mapping[str, Any], *, size: int = 520) -> str:
    """An applicant's neighbourhood (``neighbourhood()`` JSON): applicants on rings by hop,
    identifiers between them, known-bad applicants in red, capped identifiers dashed.

    >>> graph_view({"applicant": 1, "nodes": [{"id": "person:1", "kind": "applicant", "hop": 0}],
    ...             "edges": []}).count("<circle")
    1
    """
    nodes = list(view.get("nodes", []))
    people = [n for n in nodes if n["kind"] == "applicant"]
    keys = [n for n in nodes if n["kind"] != "applicant"]
    c = size / 2
    where: dict[str, tuple[float, float]] = {}
    by_hop: dict[int, list[dict[str, Any]]] = {}
    for n in people:
        by_hop.setdefault(int(n.get("hop", 0)), []).append(n)
    for hop, group in by_hop.items():
        radius = 0 if hop == 0 else c * 0.42 * hop
        for k, n in enumerate(group):
            angle = 2 * math.pi * k / max(len(group), 1) + hop * 0.4
            where[n["id"]] = (c + radius * math.cos(angle), c + radius * math.sin(angle))
    touching: dict[str, list[str]] = {}
    for e in view.get("edges", []):
        touching.setdefault(e["target"], []).append(e["source"])
    for k, n in enumerate(keys):
        around = [where[p] for p in touching.get(n["id"], []) if p in where]
        if around:
            x = sum(p[0] for p in around) / len(around)
            y = sum(p[1] for p in around) / len(around)
            angle = 2 * math.pi * k / max(len(keys), 1)
            where[n["id"]] = (x + 22 * math.cos(angle), y + 22 * math.sin(angle))
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{size}' height='{size}' "
             "role='img' class='graph'>"]  # fmt: skip
    for e in view.get("edges", []):
        if e["source"] in where and e["target"] in where:
            (ax, ay), (bx, by) = where[e["source"]], where[e["target"]]
            parts.append(f"<line x1='{ax:.1f}' y1='{ay:.1f}' x2='{bx:.1f}' y2='{by:.1f}' "
                         "stroke='#aaa'/>")  # fmt: skip
    for n in keys:
        if n["id"] in where:
            x, y = where[n["id"]]
            dash = " stroke-dasharray='2,2'" if n.get("capped") else ""
            label = html.escape(f"{n['id']} ({n.get('holders', '?')} holders)")
            parts.append(f"<rect x='{x - 5:.1f}' y='{y - 5:.1f}' width='10' height='10' "
                         f"fill='#fff' stroke='#555'{dash}><title>{label}</title></rect>")  # fmt: skip
    for n in people:
        x, y = where[n["id"]]
        fill = "#d62728" if n.get("bad") else ("#1f77b4" if n.get("hop") == 0 else "#9ecae1")
        r = 10 if n.get("hop") == 0 else 7
        parts.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='{r}' fill='{fill}' stroke='#333'>"
                     f"<title>{html.escape(str(n['id']))}</title></circle>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)
