"""Render ``report.html``: the day's summary, which stages ran, alerts with their reasons, a map, and —
when the scenario has truth — the evaluation table and the reliability curve."""
from __future__ import annotations

import base64
import html
import io
import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from centinela.model import Outputs, Scenario

# The VRAEM as DESIGN.md bounds it (lat −11.3..−13.3, lon −73.4..−74.6).
VRAEM_BOX = {"lat_min": -13.3, "lat_max": -11.3, "lon_min": -74.6, "lon_max": -73.4}

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3}.ran{color:#176117}.not{color:#a15c00}.num{text-align:right;font-variant-numeric:tabular-nums}
.caveat{background:#fff8e1;border-left:4px solid #f0b400;padding:.5em 1em}
img{max-width:100%;border:1px solid #ddd}
"""


def _utc(t: float | None) -> str:
    if t is None or not np.isfinite(t):
        return "—"
    return datetime.fromtimestamp(float(t), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def map_png(scenario: Scenario | None, outputs: Outputs) -> str | None:
    """A static map of tracks (coloured by score), events, airstrips, alerts and sensors, as a data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tracks = outputs.tracks
    if tracks.empty and outputs.airstrips.empty:
        return None
    fig, ax = plt.subplots(figsize=(9, 8))
    scores = dict(zip(outputs.assessments["track_id"], outputs.assessments["score"], strict=False))
    cmap = plt.get_cmap("RdYlGn_r")
    for track_id, rows in tracks.groupby("track_id", sort=False):
        score = scores.get(track_id)
        color = cmap(float(score)) if score is not None and np.isfinite(score) else "#4a6fa5"
        ax.plot(rows["lon"], rows["lat"], "-", lw=0.7, color=color, alpha=0.8)
    box = VRAEM_BOX
    ax.plot(
        [box["lon_min"], box["lon_max"], box["lon_max"], box["lon_min"], box["lon_min"]],
        [box["lat_min"], box["lat_min"], box["lat_max"], box["lat_max"], box["lat_min"]],
        "k--", lw=0.8, label="VRAEM",
    )
    _draw_borders(ax)
    if scenario is not None:
        for s in scenario.sensors:
            ax.plot(s.lon, s.lat, marker="^", color="k", ms=7)
            ax.annotate(s.id, (s.lon, s.lat), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ev = outputs.events
    for kind, marker, color in (("landing", "v", "#b00"), ("ground_stop", "X", "#b00"), ("takeoff", "^", "#555"),
                                ("border_crossing", "|", "#06c")):
        sel = ev[ev["kind"] == kind] if not ev.empty else ev
        if len(sel):
            ax.plot(sel["lon"], sel["lat"], marker, color=color, ms=6, ls="", label=kind)
    strips = outputs.airstrips
    if len(strips):
        reg = strips["registered"].astype(bool)
        ax.plot(strips.loc[reg, "lon"], strips.loc[reg, "lat"], "s", mfc="none", mec="#060", ms=9, ls="",
                label="registered airfield")
        ax.plot(strips.loc[~reg, "lon"], strips.loc[~reg, "lat"], "s", mfc="none", mec="#c00", ms=9, ls="",
                label="clandestine strip")
    if len(outputs.alerts):
        sites = pd.DataFrame(list(outputs.alerts["predicted_site"]))
        if {"lat", "lon"} <= set(sites.columns):
            ax.plot(sites["lon"], sites["lat"], "*", color="#f0b400", mec="k", ms=14, ls="", label="alert site")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect(1 / np.cos(np.radians(-12.3)))
    ax.legend(loc="lower left", fontsize=7)
    ax.grid(alpha=0.3)
    uri = _png(fig)
    plt.close(fig)
    return uri


def _draw_borders(ax) -> None:
    """International borders (Natural Earth, shipped with the package), without widening the view."""
    from centinela.geo.borders import Borders

    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    borders = Borders.default()
    for a, b in borders.pairs:
        line = borders.border(a, b)
        for part in getattr(line, "geoms", [line]):
            xs, ys = part.xy
            ax.plot(xs, ys, "-", color="#888", lw=1.0)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)


def reliability_png(curve: pd.DataFrame) -> str:
    """The reliability curve (predicted probability vs observed frequency) as a data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], "k:", lw=0.8, label="perfect calibration")
    ax.plot(curve["predicted"], curve["observed"], "o-", label="Centinela")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed fraction of air-bridge tracks")
    ax.legend(fontsize=8)
    uri = _png(fig)
    plt.close(fig)
    return uri


def _alert_rows(alerts: pd.DataFrame) -> list[list[object]]:
    rows = []
    for a in alerts.to_dict("records"):
        site = a.get("predicted_site") or {}
        indicators = a.get("indicators")
        if isinstance(indicators, dict):
            reasons = "; ".join(f"{k}: {v}" for k, v in indicators.items())
        elif isinstance(indicators, list):
            reasons = "; ".join(str(i) for i in indicators)
        else:
            reasons = str(indicators or "")
        rows.append([
            a.get("alert_id"), _utc(a.get("t_issued")), f"{a.get('score', float('nan')):.2f}",
            f"{site.get('lat', float('nan')):.4f}, {site.get('lon', float('nan')):.4f}"
            + (f" ({site.get('airstrip_id')})" if site.get("airstrip_id") else "") + _site_uncertainty(a),
            _utc(a.get("eta")), f"±{(a.get('eta_window_s') or 0) / 120:.0f} min", reasons,
        ])
    return rows


def _site_uncertainty(alert: dict) -> str:
    """`` ±12 km; 3% within 2 km`` from the alert's optional sigma_site_m and site_probability ('' without)."""
    from centinela.alerts.dispatch import finite_or_none

    parts = []
    sigma, probability = finite_or_none(alert.get("sigma_site_m")), finite_or_none(alert.get("site_probability"))
    if sigma is not None:
        parts.append(f"±{sigma / 1000:.1f} km (1σ)")
    if probability is not None:
        parts.append(f"{100 * probability:.0f}% chance within 2 km")
    return f"; {'; '.join(parts)}" if parts else ""


def render_report(
    scenario: Scenario | None,
    outputs: Outputs,
    *,
    metrics_rows: list[tuple[str, str, str]] | None = None,
    reliability: pd.DataFrame | None = None,
    leaks: pd.DataFrame | None = None,
) -> str:
    """The whole report as one HTML string. ``metrics_rows`` and ``reliability`` come from evaluation,
    only when truth exists; ``leaks`` is the per-unit leak posterior table (``centinela leaks``), when the
    alerts were dispatched."""
    tracks = outputs.tracks
    t0 = float(tracks["t"].min()) if len(tracks) else None
    t1 = float(tracks["t"].max()) if len(tracks) else None
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Centinela report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Centinela report</h1>",
        f"<p class='sub'>{html.escape(str(scenario.path) if scenario else '')} · {_utc(t0)} → {_utc(t1)}</p>",
        ("<p class='caveat'>Every score and alert below is an estimate with its uncertainty. Centinela informs "
        "police interdiction and investigation; it never recommends the use of force.</p>"),
        "<h2>Summary</h2>",
        _table(["", "count"], [
            ["tracks", tracks["track_id"].nunique() if len(tracks) else 0],
            ["flights", tracks["flight_id"].nunique() if "flight_id" in tracks and len(tracks) else "—"],
            ["events", len(outputs.events)],
            ["airstrips (clandestine)", int((~outputs.airstrips["registered"].astype(bool)).sum())
             if len(outputs.airstrips) else 0],
            ["alerts", len(outputs.alerts)],
        ]),
        "<h2>Stages</h2>",
        "<table><tr><th>stage</th><th>status</th></tr>" + "".join(
            f"<tr><td>{html.escape(k)}</td><td class='{'ran' if v == 'ran' else 'not'}'>{html.escape(v)}</td></tr>"
            for k, v in outputs.stages.items()
        ) + "</table>",
        "<h2>Alerts</h2>",
        _table(["alert", "issued", "score", "predicted site", "ETA", "window", "reasons"],
               _alert_rows(outputs.alerts)) if len(outputs.alerts) else "<p>No alerts were raised.</p>",
    ]
    if len(outputs.events):
        counts = outputs.events["kind"].value_counts()
        parts += ["<h2>Events</h2>", _table(["kind", "count"], [[k, int(v)] for k, v in counts.items()])]
    map_uri = map_png(scenario, outputs)
    if map_uri:
        parts += ["<h2>Map</h2>", f"<img alt='map of tracks, events and airstrips' src='{map_uri}'>"]
    if leaks is not None and len(leaks):
        from centinela.alerts.leaks import leak_section_html

        parts.append(leak_section_html(leaks))  # the fragment brings its own heading
    if metrics_rows:
        parts += ["<h2>Evaluation against truth</h2>", _table(["section", "metric", "value"],
                                                               [list(r) for r in metrics_rows])]
    if reliability is not None and len(reliability):
        parts += ["<h2>Reliability of scores</h2>", f"<img alt='reliability curve' src='{reliability_png(reliability)}'>"]
    parts.append(f"<script type='application/json' id='stages'>{json.dumps(outputs.stages)}</script>")
    parts.append("</body></html>")
    return "\n".join(parts)


def read_leak_table(out_dir) -> pd.DataFrame | None:
    """``OUT/leaks.csv`` (written by ``centinela leaks``) for the report, or None when there is none."""
    from pathlib import Path

    from centinela.alerts.leaks import read_leaks_csv

    path = Path(out_dir) / "leaks.csv"
    return read_leaks_csv(path) if path.exists() else None
