"""The HTML report: one self-contained page (inline CSS and SVG, no script, no network).

Per layer: the status, the layer-level hints, the counterexample with its snippet; per failing
gradient check: heatmaps of the analytic gradient, the numerical gradient and
|analytic - numerical| side by side (2-D slices of N-d arrays), the hints and the message.
When only a sample of elements was probed, the worst elements are listed instead.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from .model import Report

_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "error": "#8250df", "skip": "#6e7781",
            "warn": "#9a6700"}
MAX_SLICES = 6
CELL = 14

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;
max-width:1200px;color:#1f2328;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px;border-bottom:1px solid
#d0d7de;padding-bottom:4px}h3{font-size:15px;margin:16px 0 4px}
.badge{display:inline-block;color:#fff;border-radius:4px;padding:0 7px;font-size:12px;
font-weight:600;vertical-align:middle}
table.summary{border-collapse:collapse;margin:10px 0}table.summary td,table.summary th{
padding:3px 12px;border-bottom:1px solid #eaeef2;text-align:left}
.hint{background:#fff8c5;border-left:4px solid #d4a72c;padding:6px 10px;margin:6px 0}
.hint code{font-size:12px;color:#6e7781}
.ce{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;margin:8px 0}
pre{background:#0d1117;color:#e6edf3;padding:10px;border-radius:6px;overflow-x:auto;
font-size:12px;max-height:420px}
.maps{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start;margin:6px 0}
.map{text-align:center;font-size:12px}.map svg{display:block;margin:2px auto;
border:1px solid #d0d7de}
.msg{color:#57606a;margin:4px 0}.slice{font-size:11px;color:#57606a}
"""


def _badge(status: str) -> str:
    return (f'<span class="badge" style="background:{_COLOURS.get(status, "#6e7781")}">'
            f"{html.escape(status.upper())}</span>")


def _colour(v: float, vmax: float, diverging: bool) -> str:
    if not np.isfinite(v):
        return "#000000"
    if vmax <= 0:
        t = 0.0
    else:
        t = max(-1.0, min(1.0, v / vmax))
    if diverging:  # blue (negative) - white - red (positive)
        if t >= 0:
            r, g, b = 255, int(255 * (1 - t)), int(255 * (1 - t))
        else:
            r, g, b = int(255 * (1 + t)), int(255 * (1 + t)), 255
    else:  # white - yellow - dark red (magnitude)
        t = abs(t)
        r, g, b = 255 - int(100 * t), int(255 * (1 - t) ** 0.8), int(230 * (1 - t) ** 2)
    return f"#{r:02x}{g:02x}{b:02x}"


def _slices(a: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """2-D views of an array of any rank (at most MAX_SLICES of them)."""
    if a.ndim == 0:
        return [("", a.reshape(1, 1))]
    if a.ndim == 1:
        return [("", a.reshape(1, -1))]
    if a.ndim == 2:
        return [("", a)]
    lead = a.shape[:-2]
    out = []
    for idx in np.ndindex(*lead):
        out.append(("[" + ", ".join(map(str, idx)) + ", :, :]", a[idx]))
        if len(out) >= MAX_SLICES:
            break
    return out


def heatmap_svg(a: np.ndarray, vmax: float, diverging: bool, title: str) -> str:
    """One heatmap of a 2-D array as inline SVG (class ``heatmap``)."""
    rows, cols = a.shape
    cell = max(4, min(CELL, int(360 / max(cols, 1)), int(300 / max(rows, 1))))
    w, h = cols * cell, rows * cell
    rects = []
    for i in range(rows):
        for j in range(cols):
            v = float(a[i, j])
            rects.append(f'<rect x="{j * cell}" y="{i * cell}" width="{cell}" height="{cell}" '
                         f'fill="{_colour(v, vmax, diverging)}"><title>[{i}, {j}] '
                         f"{v:.4g}</title></rect>")
    return (f'<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" width="{w}" '
            f'height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{html.escape(title)}">'
            + "".join(rects) + "</svg>")


def _gradient_maps(check: Any) -> str:
    d = check.details if isinstance(check.details, dict) else {}
    if "analytic_gradient" in d and "numeric_gradient" in d:
        a = np.asarray(d["analytic_gradient"], dtype=float)
        n = np.asarray(d["numeric_gradient"], dtype=float)
        if a.shape == n.shape:
            diff = np.abs(a - n)
            vmax = float(max(np.max(np.abs(a)) if a.size else 0, np.max(np.abs(n)) if n.size
                             else 0))
            dmax = float(np.max(diff)) if diff.size else 0.0
            parts = []
            for (label, sa), (_, sn), (_, sd) in zip(_slices(a), _slices(n), _slices(diff)):
                parts.append(
                    '<div class="maps">'
                    f'<div class="map">analytic {html.escape(check.input or "")}'
                    f'<span class="slice">{html.escape(label)}</span>'
                    f"{heatmap_svg(sa, vmax, True, 'analytic')}</div>"
                    f'<div class="map">numerical{heatmap_svg(sn, vmax, True, "numerical")}</div>'
                    f'<div class="map">|analytic − numerical| (max {dmax:.3g})'
                    f"{heatmap_svg(sd, dmax, False, 'difference')}</div></div>")
            more = len(list(np.ndindex(*a.shape[:-2]))) if a.ndim > 2 else 0
            if more > MAX_SLICES:
                parts.append(f'<p class="slice">showing {MAX_SLICES} of {more} slices</p>')
            return "".join(parts)
    worst = d.get("worst") or []
    if worst:
        rows = "".join(f"<tr><td>[{', '.join(map(str, w_['index']))}]</td>"
                       f"<td>{w_['analytic']:.4g}</td><td>{w_['numeric']:.4g}</td>"
                       f"<td>{abs(w_['analytic'] - w_['numeric']):.3g}</td></tr>"
                       for w_ in worst if isinstance(w_.get("analytic"), (int, float))
                       and isinstance(w_.get("numeric"), (int, float)))
        return ('<p class="slice">the array is large: a sample of elements was probed; the '
                'worst ones:</p><table class="summary"><tr><th>index</th><th>analytic</th>'
                f"<th>numerical</th><th>|difference|</th></tr>{rows}</table>")
    return ""


def _hints(hints: list[dict[str, Any]]) -> str:
    return "".join(f'<div class="hint">{html.escape(h.get("message", ""))} '
                   f'<code>{html.escape(h.get("id", ""))}</code></div>' for h in hints or [])


def render_html(report: Report) -> str:
    """The whole report as one self-contained HTML document."""
    s = report.settings or {}
    summ = report.summary()["checks"]
    out = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
           "<meta name='viewport' content='width=device-width, initial-scale=1'>",
           f"<title>gradcheck report — {html.escape(str(report.submission))}</title>",
           f"<style>{_CSS}</style></head><body>",
           f"<h1>gradcheck {_badge(report.status)}</h1>",
           f"<p class='msg'>{html.escape(str(report.submission))} — profile "
           f"{html.escape(str(report.profile))}, seed {html.escape(str(s.get('seed')))}, "
           f"{summ['pass']} passed, {summ['fail']} failed, {summ['error']} errors, "
           f"{summ['warn']} warnings in {report.duration:.2f}s</p>"]
    for err in report.errors:
        out.append(f"<div class='hint'>{_badge('error')} {html.escape(str(err.get('type', '')))}"
                   f": {html.escape(str(err.get('message', '')))}</div>")
    out.append("<table class='summary'><tr><th>layer</th><th>status</th><th>checks passed"
               "</th><th>time</th></tr>")
    for lr in report.layers:
        npass = sum(1 for c in lr.checks if c.status == "pass")
        out.append(f"<tr><td><a href='#layer-{lr.layer}'>{lr.layer}</a></td>"
                   f"<td>{_badge(lr.status)}</td><td>{npass}/{len(lr.checks)}</td>"
                   f"<td>{lr.duration:.2f}s</td></tr>")
    out.append("</table>")
    for lr in report.layers:
        if lr.status in ("pass", "skip"):
            continue
        out.append(f"<h2 id='layer-{lr.layer}'>{html.escape(lr.layer)} {_badge(lr.status)}</h2>")
        out.append(_hints(lr.hints))
        ce = lr.counterexample
        if ce:
            chk = ce.get("check", {})
            out.append("<div class='ce'><b>Smallest failing configuration:</b> "
                       f"{html.escape(ce.get('description', ''))} "
                       f"(check {html.escape(chk.get('name', ''))}). Paste this next to your "
                       f"code to reproduce it:<pre>{html.escape(ce.get('snippet', ''))}</pre>"
                       "</div>")
        for c in lr.checks:
            if c.status not in ("fail", "error"):
                continue
            where = "" if c.config == "default" else f" [{c.config}]"
            out.append(f"<h3>{_badge(c.status)} {html.escape(c.kind)}: "
                       f"{html.escape(c.input or c.name)}{html.escape(where)}</h3>")
            out.append(f"<p class='msg'>{html.escape(c.message)}</p>")
            if isinstance(c.details, dict):
                out.append(_hints(c.details.get("hints", [])))
            if c.kind == "gradient":
                out.append(_gradient_maps(c))
    out.append("</body></html>\n")
    return "\n".join(out)
