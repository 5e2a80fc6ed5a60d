"""``simulate``: draw the world and the traffic, fly it, let the sensors see it, write the scenario folder.

Determinism: every random draw comes from a NumPy generator seeded by (seed, a stable hash of the part's
name), so the same seed and configuration give byte-identical files, and changing one part's parameters
does not reshuffle the others.
"""
from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from centinela.geo.terrain import (
    SCENARIO_TERRAIN_FILE,
    GeoTiffTerrain,
    GriddedTerrain,
    SyntheticTerrainParams,
    SyntheticVraemTerrain,
    Terrain,
    terrain_grid,
    write_geotiff,
)
from centinela.model import (
    FLIGHTPLAN_COLUMNS,
    OBSERVATION_COLUMNS,
    TRUTH_STATE_COLUMNS,
    Sensor,
    Truth,
    empty_frame,
)
from centinela.sim import sensors as sensor_models
from centinela.sim import traffic
from centinela.sim.config import resolve_config
from centinela.sim.world import DAY_S, World, build_world

# Flights are drawn for the day before the window too, so that the window starts with traffic in the air.
LEAD_DAYS = 1
NO_ICAO_CODE = "ZZZZ"  # ICAO flight plans name a place without a location indicator ZZZZ


def simulate(out: str | Path, *, days: float = 1.0, seed: int = 0, profile: str = "easy",
             config: str | Path | dict | None = None,
             progress: Callable[[str, float], None] | None = None) -> dict:
    """Write a scenario folder (contract inputs + truth/) and return a summary dict.

    ``days`` may be fractional; ``config`` (a TOML path or a nested dict) overrides any default of
    :func:`centinela.sim.default_config`; ``progress(stage, fraction)`` is called as work advances.

    >>> import tempfile
    >>> summary = simulate(tempfile.mkdtemp() + "/s", days=0.05, seed=1,
    ...                    config={"start": "2026-06-01T10:00:00Z"})
    >>> sorted(summary["files"])[:3]
    ['adsb.sbs', 'flightplans.csv', 'observations.jsonl']
    """
    if days <= 0:
        raise ValueError(f"days must be > 0, got {days}")
    report = progress or (lambda stage, fraction: None)
    cfg = resolve_config(profile, config)
    t0 = _parse_start(cfg["start"])
    t1 = t0 + float(days) * DAY_S
    step = float(cfg["truth_step_s"])
    if step < 1.0 or step != round(step):
        raise ValueError(f"truth_step_s must be a whole number of seconds >= 1, got {step}")
    out = Path(out)
    rngs = _Streams(seed)

    report("terrain", 0.0)
    terrain = _terrain(cfg)
    report("world", 0.05)
    world = build_world(cfg, terrain, t0, rngs("world"))
    sensor_list = build_sensors(cfg, terrain)

    report("traffic", 0.1)
    flights = _draw_traffic(cfg, world, t0, t1, rngs)
    n = max(len(flights), 1)
    for k, flight in enumerate(flights):
        traffic.fly_flight(flight, world)
        if k % 10 == 0:
            report("flying", 0.1 + 0.4 * k / n)
    register = None
    if cfg["leaks"]["units"]:
        from centinela.sim import leaks

        report("leaks", 0.5)
        units, register = leaks.units_register(cfg)
        leaks.apply_leaks(flights, world, cfg, units, rngs("leaks"))
    flights = [f for f in flights if f.traj.t_s[0] < t1 and f.traj.t_s[-1] >= t0]
    flights.sort(key=lambda f: (f.traj.t_s[0], f.kind))
    truth_ids = [f"F{k:05d}" for k in range(1, len(flights) + 1)]
    states = sensor_models.StateTable.from_flights(flights)

    plot_frames = []
    radars = [s for s in sensor_list if s.kind in ("psr", "ssr")]
    for k, radar in enumerate(radars):
        report(f"radar {radar.id}", 0.5 + 0.3 * k / max(len(radars), 1))
        plot_frames.append(sensor_models.radar_plots(radar, states, flights, cfg, terrain, t0, t1, rngs(radar.id)))
    plots = sensor_models.plots_frame(plot_frames)
    report("adsb", 0.8)
    receivers = [s for s in sensor_list if s.kind == "adsb"]
    adsb = sensor_models.adsb_messages(receivers, states, flights, cfg, terrain, t0, t1, rngs("adsb"))
    report("observers", 0.85)
    obs_frames = [sensor_models.observer_reports(post, states, cfg, terrain, t0, t1, rngs(post.id))
                  for post in sensor_list if post.kind == "observer"]
    observations = (pd.concat(obs_frames, ignore_index=True).sort_values("t", kind="stable").reset_index(drop=True)
                    if obs_frames else empty_frame(OBSERVATION_COLUMNS))
    plans = _flight_plans(flights, t0, t1, cfg, rngs("flightplans"))
    truth = _truth(flights, truth_ids, t0, t1, step)

    report("writing", 0.9)
    _write(out, sensor_list, plots, adsb, observations, plans, truth, _flight_details(flights, truth_ids), world)
    if register is not None:
        _write_leaks(out, register, flights, truth_ids)
    if isinstance(terrain, GriddedTerrain):
        # The map a real operator would have (SRTM-like DEM): an input, not truth.
        write_geotiff(terrain, Path(out) / SCENARIO_TERRAIN_FILE)
    report("done", 1.0)
    return _summary(out, cfg, profile, seed, days, t0, t1, flights, plots, adsb, observations, plans, truth)


class _Streams:
    """Independent random generators per named part of the simulation."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def __call__(self, name: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])


def _parse_start(text: str) -> float:
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        raise ValueError(f"simulator parameter 'start' must be ISO 8601 like 2026-06-01T00:00:00Z, got {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _terrain(cfg: dict) -> Terrain:
    t = cfg["terrain"]
    if t["source"] == "synthetic":
        return SyntheticVraemTerrain(SyntheticTerrainParams(seed=int(t["seed"])))
    if t["source"] == "geotiff":
        if not t["geotiff_path"]:
            raise ValueError("simulator parameter 'terrain.geotiff_path' is required when terrain.source = 'geotiff'")
        return GeoTiffTerrain(t["geotiff_path"])
    raise ValueError(f"simulator parameter 'terrain.source' must be 'synthetic' or 'geotiff', got {t['source']!r}")


def build_sensors(cfg: dict, terrain: Terrain) -> list[Sensor]:
    """The configured sensors, each moved to the highest ground within its ``site_search_km`` and raised by
    its mast: radars stand on the ridge above a base, not in the valley."""
    out = []
    for sensor_id, c in cfg["sensors"].items():
        if not c["enabled"]:
            continue
        lat, lon = _high_ground(terrain, c["lat"], c["lon"], c["site_search_km"] * 1000.0)
        alt = float(terrain.elevation_m(lat, lon)) + c["mast_m"]
        common = {"id": sensor_id, "kind": c["kind"], "lat": round(lat, 6), "lon": round(lon, 6), "alt_m": round(alt, 1)}
        if c["kind"] in ("psr", "ssr"):
            out.append(Sensor(**common, scan_s=c["scan_s"], range_max_m=c["range_max_m"],
                              sigma_range_m=c["sigma_range_m"], sigma_azimuth_deg=c["sigma_azimuth_deg"],
                              pd=c["pd"], clutter_per_scan=c["clutter_per_scan"], mask_deg=c["mask_deg"],
                              sac=c.get("sac"), sic=c.get("sic")))
        elif c["kind"] == "adsb":
            out.append(Sensor(**common, range_max_m=c["range_max_m"]))
        else:
            out.append(Sensor(**common, range_max_m=c["range_max_m"], sigma_azimuth_deg=c["sigma_azimuth_deg"]))
    return out


def _high_ground(terrain: Terrain, lat: float, lon: float, radius_m: float) -> tuple[float, float]:
    if radius_m <= 0:
        return float(lat), float(lon)
    r_deg = radius_m / 110_574.0
    lats, lons, z = terrain_grid(terrain, lat - r_deg, lat + r_deg, lon - r_deg, lon + r_deg, step_deg=0.0025)
    glat, glon = np.meshgrid(lats, lons, indexing="ij")
    from centinela.geo.frames import haversine_m

    z = np.where(haversine_m(lat, lon, glat, glon) <= radius_m, z, -np.inf)
    i = np.unravel_index(int(np.argmax(z)), z.shape)
    return float(glat[i]), float(glon[i])


def _draw_traffic(cfg: dict, world: World, t0: float, t1: float, rngs: _Streams) -> list:
    fleets = traffic.make_fleets(cfg, rngs("fleets"))
    first_day = int(np.floor(t0 / DAY_S)) - LEAD_DAYS
    last_day = int(np.floor(t1 / DAY_S))
    flights = []
    for day in range(first_day, last_day + 1):
        day_start = day * DAY_S
        for kind, draw in (("narco", traffic.narco_flights), ("military", traffic.military_flights),
                           ("mission", traffic.mission_flights), ("general", traffic.general_flights),
                           ("airline", traffic.airline_flights)):
            flights += draw(cfg, world, day_start, fleets, rngs(f"{kind}-{day}"))
    return flights


def _truth(flights: list, truth_ids: list[str], t0: float, t1: float, step_s: float) -> Truth:
    frames, events = [], []
    for tid, f in zip(truth_ids, flights):
        tr = f.traj
        keep = (tr.t_s >= t0) & (tr.t_s < t1) & (np.round(tr.t_s) % step_s == 0)
        frames.append(pd.DataFrame({
            "t": tr.t_s[keep], "truth_id": tid, "lat": np.round(tr.lat[keep], 6), "lon": np.round(tr.lon[keep], 6),
            "alt_m": np.round(tr.alt_m[keep], 1), "on_ground": tr.on_ground[keep],
            "transponder": f.transponder_on[keep]}))
        sites = {site.id: site for pair in f.leg_sites for site in pair}
        for kind, items in (("takeoff", tr.takeoffs), ("landing", tr.landings)):
            for t, lat, lon, site_id in items:
                if t0 <= t < t1:
                    site = sites.get(site_id)
                    events.append({"kind": kind, "truth_id": tid, "t": t, "lat": round(lat, 6), "lon": round(lon, 6),
                                   "site": site_id, "clandestine": bool(site.clandestine) if site else False})
    states = (pd.concat(frames, ignore_index=True).sort_values(["t", "truth_id"], kind="stable").reset_index(drop=True)
              if frames else empty_frame(TRUTH_STATE_COLUMNS))
    flights_df = pd.DataFrame({
        "truth_id": truth_ids,
        "kind": [f.kind for f in flights],
        "callsign": pd.array([f.callsign for f in flights], dtype="string"),
        "icao24": pd.array([f.aircraft.icao24 for f in flights], dtype="string"),
    })
    events_df = pd.DataFrame(events, columns=["kind", "truth_id", "t", "lat", "lon", "site", "clandestine"])
    events_df = events_df.sort_values(["t", "truth_id"], kind="stable").reset_index(drop=True)
    return Truth(states=states, flights=flights_df, events=events_df)


def _flight_details(flights: list, truth_ids: list[str]) -> pd.DataFrame:
    """``truth/flight_details.csv``: what truth/flights.csv does not say about each flight."""
    text = lambda values: ["" if v is None else v for v in values]
    flag = lambda values: ["true" if v else "false" for v in values]
    return pd.DataFrame({
        "truth_id": truth_ids,
        "aircraft_type": [f.aircraft.aircraft_type for f in flights],
        "registration": text(f.aircraft.registration for f in flights),
        "transponder_fitted": flag(f.aircraft.transponder for f in flights),
        "adsb": flag(f.aircraft.adsb for f in flights),
        "flight_plan": flag(f.flight_plan for f in flights),
        "squawk": text(f.squawk for f in flights),
        "spoofed_icao24": text(f.spoof_icao24 for f in flights),
        "transponder_episode": text(f.transponder_episode[0] if f.transponder_episode else None for f in flights),
        "route": [" ".join([f.leg_sites[0][0].id] + [b.id for _, b in f.leg_sites]) for f in flights],
    })


def _flight_plans(flights: list, t0: float, t1: float, cfg: dict, rng: np.random.Generator) -> pd.DataFrame:
    """One row per leg of every flight that files plans, when the leg's take-off is in the window."""
    taxi_s, sigma_s = cfg["flightplans"]["taxi_s"], cfg["flightplans"]["time_sigma_s"]
    rows = []
    for f in flights:
        if not f.flight_plan:
            continue
        for (dep, arr), takeoff, landing in zip(f.leg_sites, f.traj.takeoffs, f.traj.landings):
            off_block = takeoff[0] - rng.uniform(*taxi_s) + rng.normal(0.0, sigma_s)
            if not t0 <= takeoff[0] < t1:
                continue
            rows.append({"callsign": f.callsign, "icao24": f.aircraft.icao24,
                         "aircraft_type": f.aircraft.aircraft_type,
                         "origin": dep.icao or NO_ICAO_CODE, "destination": arr.icao or NO_ICAO_CODE,
                         "off_block": float(np.round(off_block)),
                         "eta": float(np.round(landing[0] + rng.normal(0.0, sigma_s)))})
    df = pd.DataFrame(rows, columns=list(FLIGHTPLAN_COLUMNS))
    return df.sort_values("off_block", kind="stable").reset_index(drop=True)


def _write(out: Path, sensor_list, plots, adsb, observations, plans, truth, details, world: World) -> None:
    from centinela.io.flightplans import write_flightplans_csv
    from centinela.io.observations import write_observations_jsonl
    from centinela.io.plots import write_plots_jsonl
    from centinela.io.sbs import write_sbs
    from centinela.io.sensors import write_sensors_toml
    from centinela.io.truth import write_truth

    out.mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(exist_ok=True)
    write_sensors_toml(sensor_list, out / "sensors.toml")
    write_plots_jsonl(plots, out / "plots.jsonl")
    write_sbs(adsb, out / "adsb.sbs")
    write_observations_jsonl(observations, out / "observations.jsonl")
    write_flightplans_csv(plans, out / "flightplans.csv")
    write_truth(truth, out)
    world.strips_frame().to_csv(out / "truth" / "strips.csv", index=False, lineterminator="\n")
    details.to_csv(out / "truth" / "flight_details.csv", index=False, lineterminator="\n")


def _write_leaks(out: Path, register: Path, flights: list, truth_ids: list[str]) -> None:
    """The unit register alerts were dispatched over (an input: ``units.toml``) and ``truth/leaks.csv``."""
    import shutil

    from centinela.sim.leaks import leaks_frame

    shutil.copyfile(register, out / "units.toml")
    leaks_frame(flights, truth_ids).to_csv(out / "truth" / "leaks.csv", index=False, lineterminator="\n")


def _summary(out, cfg, profile, seed, days, t0, t1, flights, plots, adsb, observations, plans, truth) -> dict:
    files = {p.relative_to(out).as_posix(): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
    landings = truth.events[truth.events["kind"] == "landing"]
    narco_ids = set(truth.flights.loc[truth.flights["kind"] == "narco", "truth_id"])
    return {
        "path": str(out), "profile": profile, "seed": seed, "days": days,
        "start": datetime.fromtimestamp(t0, UTC).isoformat(),
        "end": datetime.fromtimestamp(t1, UTC).isoformat(),
        "flights": dict(sorted(Counter(f.kind for f in flights).items())),
        "plots": {str(k): int(v) for k, v in plots["sensor"].value_counts().sort_index().items()},
        "adsb_messages": len(adsb),
        "observations": len(observations),
        "flightplans": len(plans),
        "landings": len(landings),
        "narco_landings": int(landings["truth_id"].isin(narco_ids).sum()),
        "orbits_flown": int(sum(f.traj.orbits for f in flights)),
        "steep_profiles": int(sum(f.traj.steep_profiles for f in flights)),
        "files": files,
        "bytes": int(sum(files.values())),
    }
