"""Marked copies: every recipient's bulletin is operationally the same, but individually marked, so that a leaked
copy — the full text, a retyped fragment, a transcribed photo — can be attributed (:mod:`.trace`).

A bulletin has ten lines, and every line carries marks of its own, so any three lines identify the copy:

==========  ===============================================================================================
header      wording (4 variants) and the copy's reference code (8 random characters, also in the footer)
issued      wording; the issue time, shown 0-90 s late (the time the bulletin was written, not the alert's)
site        wording; the predicted site moved by at most ``SITE_SHIFT_FRACTION`` (0.1) of ``sigma_site_m``
sigma       wording; the stated uncertainty inflated by at most ``SIGMA_INFLATION`` (5 %)
window      wording; each edge of the ETA window moved *outward* by 0-60 s (never a narrower window)
eta         wording; the ETA moved by at most 20 s (well inside the window), with its local time
reasons     lead-in wording; the wording of each reason (3 variants) and their order
explain     lead-in wording; the order of the legitimate explanations not ruled out (or how "none" is said)
valid       wording; the validity end (window end + ground operation) shown 0-120 s late
footer      wording and the reference code again
==========  ===============================================================================================

Every change stays well inside the alert's own uncertainty and never narrows it: the site moves by a tenth of
its standard deviation, the uncertainty and the window only grow. No copy is more certain than the alert.

An alert that lacks a part (from another tool or a live feed: no predicted site, no ETA window, no ETA) gets a
shorter bulletin: one "not known" line (:data:`UNKNOWN_LINES`, wording marked) stands for the site and sigma
lines, for the window, for the ETA and, without an ETA, for the validity. Nothing is invented for what the alert
does not say; the other lines keep their marks (a site-unknown copy still carries its reference, issue time,
window and ETA, reason wording and order), so a leak of it is traced like any other.

Marks are drawn at random (seeded from :mod:`secrets` unless a seed is given, for tests and trials) and
recorded in the copies register (``copies.jsonl``): tracing reads the register, so no key management is
needed — but the register must be protected like the alerts themselves. Copies of one alert are spread apart:
each new copy takes, for every mark, the value farthest from those the alert's other copies already hold, so
that two copies differ in as many marks, by as much, as the mark's range allows.

>>> import pandas as pd
>>> alerts = pd.DataFrame([{"alert_id": "A1", "t_issued": 1_780_300_000.0, "eta": 1_780_301_800.0,
...     "eta_window_s": 1200.0, "score": 0.97, "indicators": ["no_transponder", "night"],
...     "predicted_site": {"lat": -12.5, "lon": -73.9, "airstrip_id": "S7"}, "sigma_site_m": 2000.0,
...     "explanations": []}])
>>> dispatch = pd.DataFrame({"alert_id": ["A1", "A1"], "unit_id": ["U1", "U2"]})
>>> copies = marked_copies(alerts, dispatch, rng_seed=1)
>>> len(copies), copies["text"].iloc[0] != copies["text"].iloc[1], len(copies["text"].iloc[0].splitlines())
(2, True, 10)
"""
from __future__ import annotations

import json
import math
import secrets
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from centinela.alerts.dispatch import GROUND_OPERATION_S, finite_or_none, predicted_site_lat_lon
from centinela.errors import InputError
from centinela.geo.frames import destination
from centinela.io._common import atomic_write_text

COPY_COLUMNS = ["alert_id", "unit_id", "copy_ref", "text", "marks"]
COPIES_JSONL = "copies.jsonl"

# --- how far a mark may move the alert ----------------------------------------------------------------------
# The site moves by at most a tenth of its 1-sigma uncertainty: the true site stays inside every copy's stated
# uncertainty with room to spare (a 0.1-sigma offset changes the probability mass inside 1 sigma by < 1 %).
SITE_SHIFT_FRACTION = 0.1
# The stated uncertainty grows by at most 5 %: a copy is never more confident than the alert.
SIGMA_INFLATION = 0.05
# Each ETA window edge moves outward by up to a minute: windows are 10-50 minutes wide (alerts.warning).
WINDOW_EDGE_MAX_S = 60
# The ETA moves by at most 20 s; the window (at least 10 minutes) always contains it.
ETA_SHIFT_MAX_S = 20
# The issue time is shown up to 90 s late: a bulletin is written after the alert is raised.
ISSUED_DELAY_MAX_S = 90
# The validity end (window end + the ~10 min ground operation) is shown up to 2 minutes late.
VALID_DELAY_MAX_S = 120
# Local time in the VRAEM is UTC-5 all year (no daylight saving).
LOCAL_OFFSET_S = -5 * 3600
# Reference codes: Crockford's base-32 alphabet (no I, L, O, U: nothing to misread), 8 characters = 40 bits.
REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REF_LENGTH = 8
# A dirt strip is 500-800 m long. An alert that states no site uncertainty is marked as if it were this:
# marking moves the site by at most a tenth of it (100 m), which keeps every copy on the strip.
FALLBACK_SIGMA_SITE_M = 1000.0
# Candidate positions tried for each site mark (the farthest from the alert's other copies is taken).
SITE_CANDIDATES = 400
COORD_DECIMALS = 5  # 1e-5 degree is ~1 m: the shift of a copy is always visible at this precision

# --- wording ------------------------------------------------------------------------------------------------
# Every variant of a line keeps the same fields in the same order, so tracing can read them by position.
LINE_KINDS = ("header", "issued", "site", "sigma", "window", "eta", "reasons", "explain", "valid", "footer")
# The line that stands in a bulletin for what the alert does not say: site (and its uncertainty), window, ETA,
# validity (which ends with the window, so it is unknown without an ETA).
UNKNOWN_LINES = {"site": "site_unknown", "window": "window_unknown", "eta": "eta_unknown",
                 "valid": "valid_unknown"}
TEMPLATES: dict[str, tuple[str, ...]] = {
    "header": ("SUSPECT FLIGHT WARNING · ref {ref}",
               "WARNING OF A SUSPECT FLIGHT - ref {ref}",
               "INBOUND SUSPECT AIRCRAFT, reference {ref}",
               "ALERT: SUSPECT AIRCRAFT ON ITS WAY IN ({ref})"),
    "issued": ("Alert {alert_id} issued {date} {issued} UTC, score {score}.",
               "Issued on {date} at {issued} UTC as alert {alert_id}; score {score}.",
               "Raised {date} {issued} UTC: alert {alert_id} (score {score}).",
               "Alert {alert_id} was raised on {date}, {issued} UTC; its score is {score}."),
    "site": ("Predicted landing site: {lat}, {lon}{strip}.",
             "Likely landing site {lat}, {lon}{strip}.",
             "Expected to land at {lat}, {lon}{strip}.",
             "Probable destination: {lat}, {lon}{strip}."),
    "sigma": ("Position uncertainty {sigma} m (1 sigma){prob}.",
              "The site is uncertain by {sigma} m, one standard deviation{prob}.",
              "Uncertainty of the site: {sigma} m at 1 sigma{prob}.",
              "The site may be off by {sigma} m (1 sigma){prob}."),
    "window": ("Landing window {lo} to {hi} UTC.",
               "Expected landing between {lo} and {hi} UTC.",
               "Should land from {lo} until {hi} UTC.",
               "Window for the landing: {lo} - {hi} UTC."),
    "eta": ("ETA {eta} UTC ({local} local time).",
            "Best estimate of the landing: {eta} UTC, {local} local.",
            "Most likely landing time {eta} UTC / {local} local.",
            "Estimated arrival {eta} UTC (local {local})."),
    "reasons": ("Why: {items}.", "Reasons: {items}.", "Indicators: {items}.", "Raised because of: {items}."),
    "explain": ("Not ruled out: {items}.", "Legitimate explanations still open: {items}.",
                "Cannot exclude: {items}.", "Innocent explanations not excluded: {items}."),
    "valid": ("Valid until {valid} UTC. Observe and report; this alert never authorises the use of force.",
              "Expires {valid} UTC. For ground interdiction within the law only; it never authorises force.",
              "Good until {valid} UTC. Inform, watch, stop within the law; never a basis for using force.",
              "Valid to {valid} UTC. Information for ground interdiction; it authorises no use of force."),
    "footer": ("Need to know: do not copy or forward. Copy {ref}.",
               "Restricted to the named recipient. Copy {ref}.",
               "Do not forward; every copy is traceable. Copy {ref}.",
               "Confidential, need to know only. Copy {ref}."),
    # the lines of an alert that lacks a part (UNKNOWN_LINES)
    "site_unknown": ("Landing site unknown: the alert predicts none{strip_note}.",
                     "No predicted landing site{strip_note}; the plane may land anywhere in the area.",
                     "Where it will come down is not known{strip_note}.",
                     "This alert names no landing site{strip_note}."),
    "window_unknown": ("Landing window not given.",
                       "No time window was estimated for the landing.",
                       "The alert states no window of arrival.",
                       "Window: none stated."),
    "eta_unknown": ("ETA unknown.",
                    "No estimate of the arrival time.",
                    "When it lands cannot be said yet.",
                    "Arrival time not predicted by the alert."),
    "valid_unknown": ("Valid until withdrawn. Observe and report; this alert never authorises the use of force.",
                      "In force until cancelled. For interdiction within the law only; it never authorises force.",
                      "Stands until lifted. Inform, watch, stop within the law; never a basis for using force.",
                      "No expiry given. Information for ground interdiction; it authorises no use of force."),
}
# Ways to say that no legitimate explanation fits (the explain line of an alert without any).
NO_EXPLANATION = ("none found", "none of those checked", "no legitimate explanation fits",
                  "none that the indicators allow")
# Wording variants of the indicators an alert names (alerts.warning); others get generic variants.
REASON_WORDINGS: dict[str, tuple[str, ...]] = {
    "no_transponder": ("no transponder", "transponder silent", "flying without a transponder"),
    "transponder_switched_off": ("transponder switched off in flight", "transponder turned off mid-flight",
                                 "went dark: transponder off"),
    "no_flight_plan": ("no flight plan", "no plan filed", "flying without a filed plan"),
    "from_bolivia": ("took off in Bolivia", "origin in the Bolivian lowlands", "departed from Bolivia"),
    "near_bolivia": ("close to the Bolivian border", "near the border with Bolivia", "hugging the border"),
    "arrives_from_bolivia": ("crossed the border inbound", "arrives across the Bolivian border",
                             "entered Peru from Bolivia"),
    "low_level": ("low-level flight", "flying low", "stays at low altitude"),
    "contact_gaps": ("gaps in radar contact", "radar contact comes and goes", "intermittent contact"),
    "light_plane_speed": ("light-plane speed", "speed of a small plane", "cruises like a Cessna-class plane"),
    "course_from_bolivia": ("course points back to Bolivia", "heading in from the Bolivian side",
                            "on a track out of Bolivia"),
    "straight_flight": ("straight GPS-like course", "flies dead straight", "direct line of flight"),
    "appears_at_cruise": ("first seen already at cruise", "appears at cruising speed", "pops up mid-flight"),
    "starts_at_strip": ("took off from a clandestine strip", "departed an unregistered strip",
                        "started at a known dirt strip"),
    "night": ("flying at night", "night flight", "in the dark hours"),
    "dawn": ("at dawn", "dawn flight", "arriving around first light"),
}


def reason_wordings(indicator: str) -> tuple[str, ...]:
    """The wording variants of an indicator (generic ones for an indicator without its own)."""
    if indicator in REASON_WORDINGS:
        return REASON_WORDINGS[indicator]
    words = indicator.replace("_", " ")
    return (words, f"indicator: {words}", f"{words} (indicator)")


# --- making copies ------------------------------------------------------------------------------------------

def marked_copies(alerts: pd.DataFrame, dispatch: pd.DataFrame, rng_seed: int | None = None,
                  existing: pd.DataFrame | None = None) -> pd.DataFrame:
    """One marked copy per row of ``dispatch`` (an (alert_id, unit_id) pair): :data:`COPY_COLUMNS`, ``marks``
    the JSON text of the marks (what tracing compares a leak with).

    ``existing`` copies (e.g. the register before a distribution is widened) are not remade; the new copies'
    marks are spread away from theirs. Raises InputError for a dispatched alert that is not in ``alerts``.
    """
    rng = np.random.default_rng(secrets.randbits(128) if rng_seed is None else rng_seed)
    by_id = {str(a["alert_id"]): a for a in alerts.to_dict("records")}
    have = existing if existing is not None else pd.DataFrame(columns=COPY_COLUMNS)
    taken_refs = set(have["copy_ref"].astype(str))
    rows = []
    for alert_id, group in dispatch.groupby(dispatch["alert_id"].astype(str), sort=False):
        if alert_id not in by_id:
            raise InputError("dispatch.csv", f"alert {alert_id!r} is not among the alerts", field="alert_id")
        alert = by_id[alert_id]
        mine = have[have["alert_id"].astype(str) == alert_id]
        done = set(mine["unit_id"].astype(str))
        taken = [json.loads(m) for m in mine["marks"]]
        for unit_id in dict.fromkeys(group["unit_id"].astype(str)):
            if unit_id in done:
                continue
            marks = draw_marks(alert, taken, rng, taken_refs)
            taken.append(marks)
            taken_refs.add(marks["ref"])
            rows.append({"alert_id": alert_id, "unit_id": unit_id, "copy_ref": marks["ref"],
                         "text": render_copy(alert, marks), "marks": json.dumps(marks, sort_keys=True)})
    return pd.DataFrame(rows, columns=COPY_COLUMNS)


def draw_marks(alert: dict, taken: list[dict], rng: np.random.Generator, taken_refs: set[str] = frozenset()
               ) -> dict:
    """The marks of one new copy of ``alert``, each as far as possible from those of the ``taken`` copies.
    Values are stored as shown in the text (rounded), since that is what a leak can repeat. A part the alert
    does not give (site, window, ETA) has no mark: its key is absent."""
    site = predicted_site_lat_lon(alert)
    t_issued = float(alert["t_issued"])
    eta, window_s = finite_or_none(alert.get("eta")), finite_or_none(alert.get("eta_window_s"))
    has_window = eta is not None and window_s is not None and window_s > 0
    kinds = line_kinds(site is not None, has_window, eta is not None)
    marks: dict = {"variant": {kind: _least_used([m["variant"].get(kind) for m in taken], len(TEMPLATES[kind]), rng)
                               for kind in kinds}}
    marks["ref"] = _new_ref(rng, taken_refs)
    if site is not None:
        _draw_site_marks(marks, site, _sigma_m(alert), [m for m in taken if "sigma_m" in m], rng)
    if has_window:
        half_window = window_s / 2
        lo_out = _pick_int(0, WINDOW_EDGE_MAX_S, [round(eta - half_window) - m["lo"] for m in taken if "lo" in m],
                           rng)
        hi_out = _pick_int(0, WINDOW_EDGE_MAX_S, [m["hi"] - round(eta + half_window) for m in taken if "hi" in m],
                           rng)
        marks["lo"], marks["hi"] = round(eta - half_window) - lo_out, round(eta + half_window) + hi_out
    if eta is not None:
        marks["eta"] = round(eta) + _pick_int(-ETA_SHIFT_MAX_S, ETA_SHIFT_MAX_S,
                                              [m["eta"] - round(eta) for m in taken if "eta" in m], rng)
    marks["issued"] = math.ceil(t_issued) + _pick_int(0, ISSUED_DELAY_MAX_S,
                                                           [m["issued"] - math.ceil(t_issued) for m in taken], rng)
    if eta is not None:
        valid = round(eta + (window_s / 2 if has_window else 0.0) + GROUND_OPERATION_S)
        marks["valid"] = valid + _pick_int(0, VALID_DELAY_MAX_S,
                                           [m["valid"] - valid for m in taken if "valid" in m], rng)
    reasons = [str(r) for r in _as_list(alert.get("indicators"))]
    marks["reason_order"] = _new_order(reasons, [m["reason_order"] for m in taken], rng)
    marks["reason_wording"] = {key: _least_used([m["reason_wording"].get(key) for m in taken],
                                                len(reason_wordings(key)), rng) for key in reasons}
    explanations = [str(e) for e in _as_list(alert.get("explanations"))]
    marks["explain_order"] = _new_order(explanations, [m["explain_order"] for m in taken], rng)
    marks["no_explanation"] = _least_used([m["no_explanation"] for m in taken], len(NO_EXPLANATION), rng)
    return marks


def _draw_site_marks(marks: dict, site: tuple[float, float], sigma_m: float, taken: list[dict],
                     rng: np.random.Generator) -> None:
    """The site and uncertainty marks (``site_shift_en_m``, ``lat``, ``lon``, ``sigma_m``), into ``marks``."""
    # site: candidates uniform in the disk of radius SITE_SHIFT_FRACTION * sigma, the farthest one is taken
    radius_m = SITE_SHIFT_FRACTION * sigma_m
    r = radius_m * np.sqrt(rng.uniform(0, 1, SITE_CANDIDATES))
    theta = rng.uniform(0, 2 * np.pi, SITE_CANDIDATES)
    east, north = r * np.sin(theta), r * np.cos(theta)
    used = np.array([m["site_shift_en_m"] for m in taken], float).reshape(-1, 2)
    k = _farthest(np.column_stack([east, north]), used, rng)
    bearing = math.degrees(math.atan2(east[k], north[k]))
    lat, lon = destination(site[0], site[1], bearing, float(r[k]))
    marks["site_shift_en_m"] = [round(float(east[k]), 1), round(float(north[k]), 1)]
    marks["lat"], marks["lon"] = round(float(lat), COORD_DECIMALS), round(float(lon), COORD_DECIMALS)
    extra = _pick_int(0, max(1, int(SIGMA_INFLATION * sigma_m)), [m["sigma_m"] - round(sigma_m) for m in taken],
                      rng)
    marks["sigma_m"] = round(sigma_m) + extra


def render_copy(alert: dict, marks: dict) -> str:
    """The bulletin text of one copy (ten lines, see the module doc; fewer when the alert lacks a part)."""
    site = alert.get("predicted_site") if isinstance(alert.get("predicted_site"), dict) else {}
    strip = site.get("airstrip_id")
    prob = alert.get("site_probability")
    has_prob = prob is not None and not (isinstance(prob, float) and math.isnan(prob))
    reasons = [reason_wordings(k)[marks["reason_wording"][k]] for k in marks["reason_order"]]
    explain = marks["explain_order"] or [NO_EXPLANATION[marks["no_explanation"]]]
    fields = {
        "ref": format_ref(marks["ref"]),
        "alert_id": str(alert["alert_id"]),
        "date": datetime.fromtimestamp(marks["issued"], UTC).strftime("%Y-%m-%d"),
        "issued": clock(marks["issued"]),
        "score": f"{float(alert['score']):.2f}",
        "strip": f", strip {strip}" if strip else ", no known strip: dead-reckoned",
        "strip_note": f" (strip {strip} named, without a position)" if strip else "",
        "prob": "" if not (has_prob and strip) else (
            f"; {100 * float(prob):.0f}% chance of landing within 2 km of it" if "site_share" in alert
            # an alert from before site_probability was calibrated: it was the strip's share among the strips ahead
            else f"; {100 * float(prob):.0f}% of the weight among the known strips ahead"),
    }
    if "lat" in marks:
        fields.update(lat=f"{marks['lat']:.{COORD_DECIMALS}f}", lon=f"{marks['lon']:.{COORD_DECIMALS}f}",
                      sigma=str(marks["sigma_m"]))
    if "lo" in marks:
        fields.update(lo=clock(marks["lo"]), hi=clock(marks["hi"]))
    if "eta" in marks:
        fields.update(eta=clock(marks["eta"]), local=clock(marks["eta"] + LOCAL_OFFSET_S, seconds=False),
                      valid=clock(marks["valid"]))
    lines = []
    for kind in line_kinds("lat" in marks, "lo" in marks, "eta" in marks):
        template = TEMPLATES[kind][marks["variant"][kind]]
        items = "; ".join(reasons or ["none named"]) if kind == "reasons" else "; ".join(explain)
        lines.append(template.format(items=items, **fields))
    return "\n".join(lines) + "\n"


def line_kinds(has_site: bool, has_window: bool, has_eta: bool) -> tuple[str, ...]:
    """The lines of a bulletin, in order: :data:`LINE_KINDS`, with the :data:`UNKNOWN_LINES` for what the
    alert does not give (the site line stands for the site and its uncertainty; the validity ends with the
    window, so without an ETA it is unknown too).

    >>> line_kinds(False, True, True)
    ('header', 'issued', 'site_unknown', 'window', 'eta', 'reasons', 'explain', 'valid', 'footer')
    """
    known = {"site": has_site, "sigma": has_site, "window": has_window, "eta": has_eta, "valid": has_eta}
    kinds = []
    for kind in LINE_KINDS:
        if known.get(kind, True):
            kinds.append(kind)
        elif kind in UNKNOWN_LINES:
            kinds.append(UNKNOWN_LINES[kind])
    return tuple(kinds)


def clock(t_s: float, seconds: bool = True) -> str:
    """HH:MM:SS (or HH:MM) of an epoch time, UTC.

    >>> clock(1_780_300_005.0), clock(1_780_300_005.0, seconds=False)
    ('07:46:45', '07:46')
    """
    return datetime.fromtimestamp(int(t_s), UTC).strftime("%H:%M:%S" if seconds else "%H:%M")


def format_ref(ref: str) -> str:
    """A reference code as printed: two groups of four, ``ABCD-1234``."""
    return f"{ref[:4]}-{ref[4:]}"


# --- the register -------------------------------------------------------------------------------------------

def write_copies(copies: pd.DataFrame, out_dir: str | Path, *, bulletins: pd.DataFrame | None = None) -> None:
    """Write ``OUT/copies.jsonl`` (marks as nested JSON) and the bulletins to ``OUT/copies/<unit>/<alert>.txt``:
    those of ``bulletins`` (the copies just made), by default every copy's."""
    out_dir = Path(out_dir)
    lines = [json.dumps({**row, "marks": json.loads(row["marks"])}, ensure_ascii=False, sort_keys=False)
             for row in copies.to_dict("records")]
    atomic_write_text(out_dir / COPIES_JSONL, "".join(line + "\n" for line in lines))
    for row in (copies if bulletins is None else bulletins).to_dict("records"):
        atomic_write_text(out_dir / "copies" / _safe(row["unit_id"]) / f"{_safe(row['alert_id'])}.txt", row["text"])


def add_copies(out_dir: str | Path, alerts: pd.DataFrame, dispatch: pd.DataFrame,
               rng_seed: int | None = None) -> pd.DataFrame:
    """Mark a copy for each row of ``dispatch`` that OUT's register does not hold yet (away from the copies it
    holds), add them to ``OUT/copies.jsonl``, write their bulletins, and return them. Copies already sent are
    never remade."""
    path = Path(out_dir) / COPIES_JSONL
    existing = read_copies(path) if path.exists() else None
    new = marked_copies(alerts, dispatch, rng_seed=rng_seed, existing=existing)
    register = pd.concat([existing, new], ignore_index=True) if existing is not None else new
    write_copies(register, out_dir, bulletins=new)
    return new


def read_copies(path: str | Path) -> pd.DataFrame:
    """Read a copies register (``copies.jsonl``) into :data:`COPY_COLUMNS`; InputError names the bad line."""
    from centinela.io.outputs import read_records

    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found; expected the copies register written by `centinela dispatch`")
    copies = read_records(path, dict.fromkeys(COPY_COLUMNS, "object"), required=tuple(COPY_COLUMNS))
    copies["marks"] = [m if isinstance(m, str) else json.dumps(m, sort_keys=True) for m in copies["marks"]]
    return copies[COPY_COLUMNS].reset_index(drop=True)


# --- helpers ------------------------------------------------------------------------------------------------

def _sigma_m(alert: dict) -> float:
    """The alert's site uncertainty, or :data:`FALLBACK_SIGMA_SITE_M` when it states none (positive)."""
    sigma = pd.to_numeric(pd.Series([alert.get("sigma_site_m")]), errors="coerce").iloc[0]
    return float(sigma) if np.isfinite(sigma) and sigma > 0 else FALLBACK_SIGMA_SITE_M


def _as_list(value) -> list:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, dict):
        return list(value)
    return list(value)


def _least_used(used: list, n_variants: int, rng: np.random.Generator) -> int:
    """A variant index among the least used so far (ties broken at random): copies spread over all variants."""
    counts = np.bincount([u for u in used if u is not None], minlength=n_variants)[:n_variants]
    return int(rng.choice(np.flatnonzero(counts == counts.min())))


def _pick_int(low: int, high: int, used: list, rng: np.random.Generator) -> int:
    """An integer in [low, high] as far as possible from the ``used`` ones (ties at random)."""
    candidates = np.arange(low, high + 1, dtype=float)
    return int(candidates[_farthest(candidates[:, None], np.array(used, float).reshape(-1, 1), rng)])


def _farthest(candidates: np.ndarray, used: np.ndarray, rng: np.random.Generator) -> int:
    """Index of the candidate whose nearest used point is farthest (a random one when nothing is used)."""
    if len(used) == 0:
        return int(rng.integers(len(candidates)))
    nearest = np.sqrt(((candidates[:, None, :] - used[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    best = np.flatnonzero(nearest >= nearest.max() - 1e-9)
    return int(rng.choice(best))


def _new_order(items: list[str], used: list[list[str]], rng: np.random.Generator, tries: int = 50) -> list[str]:
    """A random order of ``items`` that no other copy has, when there are enough orders to go round."""
    seen = {tuple(u) for u in used}
    order = list(items)
    for _ in range(tries):
        order = [items[i] for i in rng.permutation(len(items))]
        if tuple(order) not in seen:
            break
    return order


def _new_ref(rng: np.random.Generator, taken: set[str]) -> str:
    """A fresh reference code with at least one letter and one digit in each group (never read as a number)."""
    while True:
        ref = "".join(REF_ALPHABET[i] for i in rng.integers(len(REF_ALPHABET), size=REF_LENGTH))
        groups = (ref[:4], ref[4:])
        if ref not in taken and all(any(c.isalpha() for c in g) and any(c.isdigit() for c in g) for g in groups):
            return ref


def _safe(name: str) -> str:
    """A file-system-safe version of an id."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))
