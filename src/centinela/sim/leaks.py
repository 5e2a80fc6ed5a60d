"""Leaky recipients: the warning reaches the traffickers, and the plane does not come.

For every air-bridge flight the simulator emulates the alert a live system would raise — ``leaks.alert_lead_min``
before the landing, on the true strip — and dispatches it with the dispatch policy
(:func:`centinela.alerts.dispatch.plan_dispatch`) over the scenario's unit register. When a unit configured
under ``leaks.units`` receives it, the warning reaches the crew with that unit's ``leak_probability``; then,
``delay_min`` after the alert, the plane turns back to Bolivia (``abort_probability``) or diverts to another
strip in use. A leak that arrives after the plane has landed changes nothing.

The flight is re-flown from its own take-off along its own route up to the turning point, then on its new
route; ``truth/leaks.csv`` says, per flight and recipient, whether the unit leaked and what the flight did.
With no leaky unit configured (the default) nothing here runs and scenarios are unchanged.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from centinela.geo.frames import haversine_m
from centinela.sim.kinematics import Leg, Plan, Stop
from centinela.sim.world import Site, World

LEAK_TRUTH_COLUMNS = ["truth_id", "unit_id", "leaked", "outcome", "t_alert"]
# The emulated alert's stated uncertainty: a known strip (a landing estimate's ~300-500 m) and a 20-minute
# ETA window, what the warning gives a flight with its strip in sight.
ALERT_SIGMA_SITE_M = 500.0
ALERT_ETA_WINDOW_S = 1_200.0
# A diverting crew picks another strip in use within this distance of where it turns (fuel, and the ground
# crew must reach the new strip); the nearest other strip when none is this close.
DIVERT_MAX_KM = 80.0
# A turn later than this before the landing is not flown: the plane is on its final approach and lands.
MIN_TURN_BEFORE_LANDING_S = 120.0


@dataclass
class LeakyUnit:
    unit_id: str
    leak_probability: float
    abort_probability: float
    delay_min: float


def leaky_units(cfg: dict) -> list[LeakyUnit]:
    """The configured leaky units (``leaks.units``), checked."""
    out = []
    for unit_id, c in cfg["leaks"]["units"].items():
        for name in ("leak_probability", "abort_probability"):
            if not 0.0 <= float(c[name]) <= 1.0:
                raise ValueError(f"simulator parameter 'leaks.units.{unit_id}.{name}' must be in 0..1, got {c[name]}")
        if float(c["delay_min"]) < 0:
            raise ValueError(f"simulator parameter 'leaks.units.{unit_id}.delay_min' must be >= 0")
        out.append(LeakyUnit(unit_id, float(c["leak_probability"]), float(c["abort_probability"]),
                             float(c["delay_min"])))
    return out


def parse_leaky_unit(text: str) -> dict:
    """``ID:P[:ABORT[:DELAY_MIN]]`` (the CLI's ``--leaky-unit``) as a ``leaks.units`` config entry.

    >>> parse_leaky_unit("DIRANDRO-KIMBIRI:0.5")
    {'DIRANDRO-KIMBIRI': {'leak_probability': 0.5}}
    >>> parse_leaky_unit("CE-VRAEM:0.8:1:10")
    {'CE-VRAEM': {'leak_probability': 0.8, 'abort_probability': 1.0, 'delay_min': 10.0}}
    """
    parts = text.split(":")
    if not 2 <= len(parts) <= 4 or not parts[0]:
        raise ValueError(f"--leaky-unit expects ID:PROBABILITY[:ABORT_PROBABILITY[:DELAY_MIN]], got {text!r}")
    try:
        numbers = [float(p) for p in parts[1:]]
    except ValueError:
        raise ValueError(f"--leaky-unit {text!r}: probabilities and delay must be numbers") from None
    names = ("leak_probability", "abort_probability", "delay_min")
    return {parts[0]: dict(zip(names, numbers))}


def units_register(cfg: dict) -> tuple[pd.DataFrame, Path]:
    """The unit register the scenario uses (``leaks.registry``, else the packaged one) and its path."""
    from centinela.alerts.units import default_units_path, read_units

    path = Path(cfg["leaks"]["registry"]) if cfg["leaks"]["registry"] else default_units_path()
    return read_units(path), path


def apply_leaks(flights: list, world: World, cfg: dict, units: pd.DataFrame, rng: np.random.Generator) -> None:
    """Emulate, dispatch and (for leaky recipients) act on the alert of every flown narco flight, in place:
    a flight that aborts or diverts is re-flown; each narco flight gets ``leak_records`` (one per recipient)."""
    from centinela.alerts.dispatch import plan_dispatch
    from centinela.sim.traffic import fly_flight

    leaky = {u.unit_id: u for u in leaky_units(cfg)}
    unknown = sorted(set(leaky) - set(units["unit_id"].astype(str)))
    if unknown:
        raise ValueError(f"simulator: leaky unit(s) {', '.join(unknown)} not in the unit register")
    lead_s = float(cfg["leaks"]["alert_lead_min"]) * 60.0
    narco = [f for f in flights if f.kind == "narco" and f.traj is not None and f.traj.landings]
    if not narco:
        return
    alerts = pd.DataFrame([_emulated_alert(k, f, lead_s) for k, f in enumerate(narco)])
    dispatch = plan_dispatch(alerts, units)
    recipients = dispatch.groupby("alert_id")["unit_id"].apply(lambda s: [str(u) for u in s]).to_dict()
    for k, flight in enumerate(narco):
        alert = alerts.iloc[k]
        got = recipients.get(alert["alert_id"], [])
        leaked = {u: bool(u in leaky and rng.random() < leaky[u].leak_probability) for u in got}
        outcome = "arrived"
        first = next((leaky[u] for u in got if leaked[u]), None)
        if first is not None:
            t_turn = float(alert["t_issued"]) + first.delay_min * 60.0
            if t_turn <= float(alert["eta"]) - MIN_TURN_BEFORE_LANDING_S:
                outcome = "aborted" if rng.random() < first.abort_probability else "diverted"
                _reroute(flight, world, cfg, t_turn, outcome, rng)
                fly_flight(flight, world)
        flight.leak_records = [{"unit_id": u, "leaked": leaked[u], "outcome": outcome,
                                "t_alert": float(alert["t_issued"])} for u in got]


def _emulated_alert(k: int, flight, lead_s: float) -> dict:
    t_land, lat, lon, site = flight.traj.landings[0]
    return {"alert_id": f"SIM{k:05d}", "t_issued": float(t_land) - lead_s, "eta": float(t_land),
            "eta_window_s": ALERT_ETA_WINDOW_S, "sigma_site_m": ALERT_SIGMA_SITE_M,
            "predicted_site": {"lat": float(lat), "lon": float(lon), "airstrip_id": str(site)}}


def _reroute(flight, world: World, cfg: dict, t_turn: float, outcome: str, rng: np.random.Generator) -> None:
    """Replace the plan: the same take-off and route up to the position at ``t_turn``, then back to the origin
    (abort) or on to another strip in use (divert); the flight is then anchored on its original take-off."""
    from centinela.sim.traffic import _valley_legs

    traj, plan = flight.traj, flight.plan
    pre, inbound, ground = plan.segments[0], plan.segments[1], plan.segments[2]
    i = int(np.clip(np.searchsorted(traj.t_s, t_turn), 0, len(traj.t_s) - 1))
    turn = np.array([traj.lat[i], traj.lon[i]])
    # The route's waypoints already passed at the turn: the sample closest to each waypoint came before it.
    wp = inbound.waypoints
    d = haversine_m(wp[:, 0][:, None], wp[:, 1][:, None], traj.lat[None, :], traj.lon[None, :])
    passed = traj.t_s[np.argmin(d, axis=1)] < t_turn
    passed[0] = True
    prefix = np.r_[wp[: int(np.flatnonzero(passed).max()) + 1], turn[None, :]]
    origin_id, back = flight.leg_sites[0][0], flight.leg_sites[1][1]
    n = cfg["narco"]
    if outcome == "aborted":
        home = origin_id
        leg = Leg(np.r_[prefix, [[home.lat, home.lon]]], clearance_m=n["cruise_clearance_m"],
                  dep_site=home.id, arr_site=home.id)
        flight.plan = Plan([copy.copy(pre), leg, Stop(30.0)], plan.perf)
        flight.leg_sites = [(home, home)]
    else:
        strip = _divert_strip(world, flight.leg_sites[0][1], turn, t_turn)
        here = Site("turn", float(turn[0]), float(turn[1]), 0.0, "turn")
        approach, climb_out = _valley_legs(world, strip, here, back, n, n["approach_agl_m"], rng)
        leg = Leg(np.r_[prefix[:-1], approach.waypoints], clearance_m=n["cruise_clearance_m"],
                  low_from=approach.low_from + len(prefix) - 1, low_agl_m=approach.low_agl_m,
                  dep_site=origin_id.id, arr_site=strip.id)
        flight.plan = Plan([copy.copy(pre), leg, copy.copy(ground), climb_out, Stop(60.0)], plan.perf)
        flight.leg_sites = [(origin_id, strip), (strip, back)]
    flight.anchor = ("takeoff", 0, float(traj.takeoffs[0][0]))


def _divert_strip(world: World, planned: Site, turn: np.ndarray, t_s: float) -> Site:
    others = [s for s in world.strips.active(t_s) if s.id != planned.id] or \
             [s for s in world.strips.all_strips if s.id != planned.id]
    d = np.array([haversine_m(turn[0], turn[1], s.lat, s.lon) for s in others])
    near = np.flatnonzero(d <= DIVERT_MAX_KM * 1000.0)
    # The best-used strip within reach (the ground crew knows it), else the nearest.
    if near.size:
        return others[int(near[np.argmax([others[j].uses for j in near])])]
    return others[int(np.argmin(d))]


def leaks_frame(flights: list, truth_ids: list[str]) -> pd.DataFrame:
    """``truth/leaks.csv``: one row per narco flight and recipient of its emulated alert."""
    rows = [{"truth_id": tid, **r} for tid, f in zip(truth_ids, flights) for r in (f.leak_records or [])]
    df = pd.DataFrame(rows, columns=LEAK_TRUTH_COLUMNS)
    df["leaked"] = np.where(df["leaked"].astype(bool), "true", "false")
    return df
