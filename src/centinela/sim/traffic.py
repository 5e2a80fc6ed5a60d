"""Who flies where and when: the air bridge and its confounders, day by day.

Each ``*_flights`` function draws one kind of traffic for one UTC day and returns :class:`Flight` objects
(tens a day, so plain objects are fine) holding a kinematic :class:`~centinela.sim.kinematics.Plan`, the
aircraft's identity and transponder, and the time one of its events must happen at (a narco flight is
scheduled by its dawn landing, the others by their first take-off). :func:`fly_flight` flies it.

Kinds (``truth/flights.csv``): ``narco`` (air bridge), ``military`` (army helicopters), ``mission``
(mission and bush planes to community strips), ``general`` (general aviation between airfields),
``airline`` (scheduled flights between airports).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from centinela.assess.solar import CIVIL_DAWN_ELEVATION_DEG, sun_elevation_deg
from centinela.geo.frames import haversine_m
from centinela.sim.kinematics import Leg, Performance, Plan, Stop, Trajectory, fly
from centinela.sim.routes import valley_axis_deg, valley_walk
from centinela.sim.world import DAY_S, Site, World

LOCAL_UTC_OFFSET_H = -5.0  # Peru (no daylight saving)
# ICAO 24-bit address blocks (ICAO Annex 10 vol. III): Peru E84000-E84FFF, Bolivia E94000-E94FFF.
PERU_ICAO24_BLOCK, BOLIVIA_ICAO24_BLOCK = 0xE84000, 0xE94000
# Squawks: 7000 is the ICAO VFR conspicuity code; discrete IFR codes avoid the special ones.
VFR_SQUAWK = "7000"
SPECIAL_SQUAWKS = {"7000", "7500", "7600", "7700", "2000", "1200", "0000"}
# Illustrative airline callsign prefixes (the first is LATAM Peru's ICAO designator).
AIRLINE_PREFIXES = ("LPE", "SKU", "JAT")
# Time on the ground before the first take-off (engine start, taxi) and after the last landing, s.
PRE_TAKEOFF_S, POST_LANDING_S = (60.0, 240.0), (60.0, 180.0)
# Registered-airfield turnaround for general aviation and mission planes is not simulated: one trip a flight.


@dataclass
class Aircraft:
    """One airframe of a fleet: its type and what it carries."""

    aircraft_type: str
    registration: str | None
    icao24: str | None  # Mode S address (None: no Mode S)
    transponder: bool
    adsb: bool


@dataclass
class Flight:
    kind: str
    aircraft: Aircraft
    plan: Plan
    anchor: tuple[str, int, float]  # ("landing" | "takeoff", which one, epoch time it must happen at)
    callsign: str | None = None
    squawk: str | None = None
    flight_plan: bool = False
    # Transponder changes relative to the flight: (kind, start fraction of airborne time, duration s).
    transponder_episode: tuple[str, float, float] | None = None
    spoof_icao24: str | None = None
    leg_sites: list[tuple[Site, Site]] = field(default_factory=list)
    traj: Trajectory | None = None
    transponder_on: np.ndarray | None = None
    # narco flights of a scenario with leaky units: the recipients of the emulated alert (centinela.sim.leaks)
    leak_records: list[dict] | None = None


def performance(cfg: dict, aircraft_type: str) -> Performance:
    if aircraft_type not in cfg["aircraft"]:
        raise ValueError(f"simulator: aircraft type {aircraft_type!r} has no aircraft.{aircraft_type} table")
    return Performance(**{k: v for k, v in cfg["aircraft"][aircraft_type].items()})


def civil_dawn_s(day_start_s: float, lat: float, lon: float) -> float:
    """Civil dawn (sun at -6 degrees, rising) during the UTC day starting at ``day_start_s``."""
    t = day_start_s + np.arange(0.0, DAY_S, 60.0)
    elevation = sun_elevation_deg(t, lat, lon)
    rising = np.flatnonzero((elevation[:-1] < CIVIL_DAWN_ELEVATION_DEG) & (elevation[1:] >= CIVIL_DAWN_ELEVATION_DEG))
    return float(t[rising[0]] + 60.0) if rising.size else day_start_s + 10.75 * 3600.0


def local_hour_s(day_start_s: float, hour_local: float) -> float:
    return day_start_s + (hour_local - LOCAL_UTC_OFFSET_H) * 3600.0


# --- fleets -------------------------------------------------------------------------------------------------
def make_fleets(cfg: dict, rng: np.random.Generator) -> dict[str, list[Aircraft]]:
    """Airframes per kind, drawn once per scenario so the same aircraft fly again on later days."""
    used: set[int] = set()

    def address(block: int) -> str:
        while True:
            a = block + int(rng.integers(0, 0x1000))
            if a not in used:
                used.add(a)
                return f"{a:06x}"

    def registration() -> str:
        return f"OB{int(rng.integers(1000, 2000))}"

    fleets: dict[str, list[Aircraft]] = {}
    n = cfg["narco"]
    # Bolivian-registered, no working transponder (DESIGN.md: "as a rule, no transponder").
    fleets["narco"] = [Aircraft(str(rng.choice(n["aircraft_types"])), None, None, False, False)
                       for _ in range(n["fleet_size"])]
    m = cfg["military"]
    fleets["military"] = [Aircraft(str(rng.choice(m["aircraft_types"])), None, None, False, False)
                          for _ in range(m["fleet_size"])]
    for kind in ("mission", "general"):
        c = cfg[kind]
        fleet = []
        for _ in range(c["fleet_size"]):
            transponder = bool(rng.random() < c["transponder_probability"])
            mode_s = transponder and bool(rng.random() < c["mode_s_probability"])
            adsb = mode_s and bool(rng.random() < c["adsb_probability"])
            fleet.append(Aircraft(str(rng.choice(c["aircraft_types"])), registration(),
                                  address(PERU_ICAO24_BLOCK) if mode_s else None, transponder, adsb))
        fleets[kind] = fleet
    a = cfg["airline"]
    fleets["airline"] = [Aircraft("", None, address(PERU_ICAO24_BLOCK), True, True) for _ in range(a["fleet_size"])]
    return fleets


def discrete_squawk(rng: np.random.Generator) -> str:
    while True:
        code = "".join(str(d) for d in rng.integers(0, 8, 4))
        if code not in SPECIAL_SQUAWKS:
            return code


# --- the air bridge -----------------------------------------------------------------------------------------
def narco_flights(cfg: dict, world: World, day_start_s: float, fleets, rng: np.random.Generator) -> list[Flight]:
    """The day's air-bridge round trips: Bolivian strip -> VRAEM valley strip (dawn) -> Bolivia."""
    n = cfg["narco"]
    region = cfg["region"]
    centre = (0.5 * (region["lat_min"] + region["lat_max"]), 0.5 * (region["lon_min"] + region["lon_max"]))
    dawn = civil_dawn_s(day_start_s, *centre)
    count = int(rng.poisson(n["flights_per_day"]))
    landings = []
    for _ in range(count):
        if rng.random() < n["late_fraction"]:
            landings.append(dawn + rng.uniform(*n["late_window_h"]) * 3600.0)
        else:
            offset_min = max(n["dawn_offset_min_min"], rng.normal(n["dawn_offset_mean_min"], n["dawn_offset_sigma_min"]))
            landings.append(dawn + offset_min * 60.0)
    bolivia = world.of_kind("bolivia")
    flights = []
    for landing_s in sorted(landings):
        strip = world.strips.choose(landing_s)
        world.strips.record_landing(strip, landing_s)
        origin = bolivia[int(rng.integers(len(bolivia)))]
        back = origin if rng.random() < n["return_to_origin_probability"] else bolivia[int(rng.integers(len(bolivia)))]
        ground_s = 60.0 * float(np.clip(rng.normal(n["ground_time_mean_min"], n["ground_time_sigma_min"]),
                                        *n["ground_time_range_min"]))
        inbound, outbound = _valley_legs(world, strip, origin, back, n, n["approach_agl_m"], rng)
        aircraft = fleets["narco"][int(rng.integers(len(fleets["narco"])))]
        plan = Plan([Stop(rng.uniform(*PRE_TAKEOFF_S)), inbound, Stop(ground_s), outbound,
                     Stop(rng.uniform(*POST_LANDING_S))], performance(cfg, aircraft.aircraft_type))
        flight = Flight("narco", aircraft, plan, ("landing", 0, landing_s),
                        leg_sites=[(origin, strip), (strip, back)])
        if rng.random() < n["transponder_on_probability"]:
            # A (spoofed) transponder on for a while, en route: posing as a legitimate flight.
            flight.transponder_episode = ("on", rng.uniform(0.1, 0.6), rng.uniform(*n["transponder_on_duration_s"]))
            flight.squawk = VFR_SQUAWK
            donors = [a for a in fleets["general"] + fleets["mission"] if a.icao24]
            if donors and rng.random() < n["spoof_icao24_probability"]:
                flight.spoof_icao24 = donors[int(rng.integers(len(donors)))].icao24
        flights.append(flight)
    return flights


def _valley_legs(world: World, strip: Site, come_from: Site, go_to: Site, c: dict, low_agl_m: float,
                 rng: np.random.Generator) -> tuple[Leg, Leg]:
    """A leg from ``come_from`` ending with a low approach along the valley to ``strip``, and a leg from
    ``strip`` climbing out along the valley towards ``go_to``."""
    terrain = world.terrain
    axis = valley_axis_deg(terrain, strip.lat, strip.lon)
    approach_m = rng.uniform(*c["approach_valley_km"]) * 1000.0
    walks = [valley_walk(terrain, strip.lat, strip.lon, h, approach_m) for h in axis]
    # Usually the valley end nearer to where the plane comes from; sometimes the far one (hidden longer).
    d = [haversine_m(w[0][-1], w[1][-1], come_from.lat, come_from.lon) for w in walks]
    k = int(np.argmin(d)) if rng.random() < c["approach_near_end_probability"] else int(rng.integers(2))
    entry_lat, entry_lon = walks[k][0][::-1], walks[k][1][::-1]
    inbound = Leg(np.r_[[[come_from.lat, come_from.lon]], np.c_[entry_lat, entry_lon]],
                  clearance_m=c["cruise_clearance_m"], low_from=1, low_agl_m=low_agl_m,
                  dep_site=come_from.id, arr_site=strip.id)
    departure_m = rng.uniform(*c.get("departure_valley_km", c["approach_valley_km"])) * 1000.0
    out_heading = axis[int(rng.integers(2))]
    out_lat, out_lon = valley_walk(terrain, strip.lat, strip.lon, out_heading, departure_m)
    outbound = Leg(np.r_[np.c_[out_lat, out_lon], [[go_to.lat, go_to.lon]]],
                   clearance_m=c["cruise_clearance_m"], orbit_dep=min(4, len(out_lat) - 1),
                   dep_site=strip.id, arr_site=go_to.id)
    return inbound, outbound


# --- confounders --------------------------------------------------------------------------------------------
def military_flights(cfg: dict, world: World, day_start_s: float, fleets, rng) -> list[Flight]:
    """Army helicopter sorties: base -> outposts and bases (short hops, stops, hovers) -> base."""
    m = cfg["military"]
    region = cfg["region"]
    dawn = civil_dawn_s(day_start_s, 0.5 * (region["lat_min"] + region["lat_max"]),
                        0.5 * (region["lon_min"] + region["lon_max"]))
    stops = world.of_kind("outpost") + world.of_kind("base")
    flights = []
    for _ in range(int(rng.poisson(m["sorties_per_day"]))):
        if rng.random() < m["dawn_fraction"]:
            start = dawn + rng.uniform(-10.0, 30.0) * 60.0
        else:
            start = rng.uniform(local_hour_s(day_start_s, 7.0), local_hour_s(day_start_s, 16.0))
        home = world.site(m["home_bases"][int(rng.integers(len(m["home_bases"])))])
        route = [home]
        for _ in range(int(rng.integers(m["hops"][0], m["hops"][1] + 1))):
            here = route[-1]
            d = np.array([haversine_m(here.lat, here.lon, s.lat, s.lon) for s in stops])
            ok = np.flatnonzero((d >= m["hop_km"][0] * 1000.0) & (d <= m["hop_km"][1] * 1000.0))
            nxt = stops[int(rng.choice(ok))] if ok.size else stops[int(np.argsort(d)[1])]
            route.append(nxt)
        route.append(home)
        aircraft = fleets["military"][int(rng.integers(len(fleets["military"])))]
        segments: list = [Stop(rng.uniform(*PRE_TAKEOFF_S))]
        for a, b in itertools.pairwise(route):
            hover = rng.uniform(*m["hover_s"]) if rng.random() < m["hover_probability"] else 0.0
            segments.append(Leg(np.array([[a.lat, a.lon], [b.lat, b.lon]]), clearance_m=rng.uniform(*m["agl_m"]),
                                speed_mps=rng.uniform(*m["speed_mps"]), hover_s=hover, dep_site=a.id, arr_site=b.id))
            segments.append(Stop(rng.uniform(*m["stop_min"]) * 60.0 if b is not home else rng.uniform(*POST_LANDING_S)))
        flights.append(Flight("military", aircraft, Plan(segments, performance(cfg, aircraft.aircraft_type)),
                              ("takeoff", 0, start), leg_sites=list(itertools.pairwise(route))))
    return flights


def mission_flights(cfg: dict, world: World, day_start_s: float, fleets, rng) -> list[Flight]:
    """Mission and bush planes: home airfield -> community strips in the valleys -> home."""
    c = cfg["mission"]
    region = cfg["region"]
    dawn = civil_dawn_s(day_start_s, 0.5 * (region["lat_min"] + region["lat_max"]),
                        0.5 * (region["lon_min"] + region["lon_max"]))
    community = world.of_kind("community")
    flights = []
    if not community:
        return flights
    for _ in range(int(rng.poisson(c["flights_per_day"]))):
        aircraft = fleets["mission"][int(rng.integers(len(fleets["mission"])))]
        home = world.site(c["home_airfields"][int(rng.integers(len(c["home_airfields"])))])
        d = np.array([haversine_m(home.lat, home.lon, s.lat, s.lon) for s in community])
        nearest = np.argsort(d)[:6]
        k = int(rng.integers(c["stops"][0], c["stops"][1] + 1))
        visits = [community[i] for i in rng.choice(nearest, size=min(k, nearest.size), replace=False)]
        route = [home, *visits, home]
        segments: list = [Stop(rng.uniform(*PRE_TAKEOFF_S))]
        previous_out: Leg | None = None
        for a, b in itertools.pairwise(route):
            nxt = route[route.index(b) + 1] if b is not home else None
            if b.kind == "community":
                inbound, outbound = _valley_legs(world, b, a, nxt or home, c, c["approach_agl_m"], rng)
                if previous_out is not None:  # join the climb-out of the last strip to this approach
                    inbound.waypoints = np.r_[previous_out.waypoints[:-1], inbound.waypoints[1:]]
                    inbound.low_from += len(previous_out.waypoints) - 2
                    inbound.orbit_dep = previous_out.orbit_dep
                    inbound.dep_site = previous_out.dep_site
                segments.append(inbound)
                segments.append(Stop(rng.uniform(*c["stop_min"]) * 60.0))
                previous_out = outbound
            else:
                leg = previous_out or Leg(np.array([[a.lat, a.lon], [b.lat, b.lon]]), clearance_m=c["cruise_clearance_m"])
                leg.arr_site = b.id
                segments.append(leg)
                segments.append(Stop(rng.uniform(*POST_LANDING_S)))
        if rng.random() < c["dawn_fraction"]:
            start = dawn + rng.uniform(0.0, 20.0) * 60.0
        else:
            start = rng.uniform(local_hour_s(day_start_s, 7.0), local_hour_s(day_start_s, 15.0))
        flight = Flight("mission", aircraft, Plan(segments, performance(cfg, aircraft.aircraft_type)),
                        ("takeoff", 0, start), callsign=aircraft.registration,
                        squawk=VFR_SQUAWK if aircraft.transponder else None,
                        flight_plan=bool(rng.random() < c["flight_plan_probability"]),
                        leg_sites=list(itertools.pairwise(route)))
        _maybe_switch_off(flight, c, rng)
        flights.append(flight)
    return flights


def general_flights(cfg: dict, world: World, day_start_s: float, fleets, rng) -> list[Flight]:
    """General aviation between registered airfields, in daytime."""
    c = cfg["general"]
    flights = []
    for _ in range(int(rng.poisson(c["flights_per_day"]))):
        a, b = (world.site(code) for code in rng.choice(c["airfields"], size=2, replace=False))
        aircraft = fleets["general"][int(rng.integers(len(fleets["general"])))]
        start = rng.uniform(local_hour_s(day_start_s, c["local_hours"][0]), local_hour_s(day_start_s, c["local_hours"][1]))
        leg = Leg(np.array([[a.lat, a.lon], [b.lat, b.lon]]), clearance_m=c["cruise_clearance_m"],
                  dep_site=a.id, arr_site=b.id)
        plan = Plan([Stop(rng.uniform(*PRE_TAKEOFF_S)), leg, Stop(rng.uniform(*POST_LANDING_S))],
                    performance(cfg, aircraft.aircraft_type))
        ifr = bool(rng.random() < c["flight_plan_probability"])
        flight = Flight("general", aircraft, plan, ("takeoff", 0, start), callsign=aircraft.registration,
                        squawk=(discrete_squawk(rng) if ifr else VFR_SQUAWK) if aircraft.transponder else None,
                        flight_plan=ifr, leg_sites=[(a, b)])
        _maybe_switch_off(flight, c, rng)
        flights.append(flight)
    return flights


def airline_flights(cfg: dict, world: World, day_start_s: float, fleets, rng) -> list[Flight]:
    """Scheduled flights on the configured routes, each way, with flight plans, Mode S and ADS-B."""
    c = cfg["airline"]
    jet, turboprop = c["aircraft_types"][0], c["aircraft_types"][-1]
    flights = []
    for origin, destination, per_day in c["routes"]:
        for a_code, b_code in ((origin, destination), (destination, origin)):
            a, b = world.site(a_code), world.site(b_code)
            regional = haversine_m(a.lat, a.lon, b.lat, b.lon) <= c["regional_max_km"] * 1000.0
            aircraft_type = turboprop if regional else jet
            cruise_range = c["regional_cruise_alt_m"] if regional else c["cruise_alt_m"]
            for _ in range(int(per_day)):
                frame = fleets["airline"][int(rng.integers(len(fleets["airline"])))]
                aircraft = Aircraft(aircraft_type, None, frame.icao24, True, True)
                cruise_m = round(rng.uniform(*cruise_range) / (1000 * 0.3048)) * 1000 * 0.3048  # whole flight levels
                start = rng.uniform(local_hour_s(day_start_s, c["local_hours"][0]),
                                    local_hour_s(day_start_s, c["local_hours"][1]))
                leg = Leg(np.array([[a.lat, a.lon], [b.lat, b.lon]]), cruise_msl_m=cruise_m, clearance_m=600.0,
                          terrain_exempt_m=c["terrain_exempt_km"] * 1000.0, dep_site=a.id, arr_site=b.id)
                plan = Plan([Stop(rng.uniform(300.0, 600.0)), leg, Stop(rng.uniform(180.0, 400.0))],
                            performance(cfg, aircraft_type))
                callsign = f"{AIRLINE_PREFIXES[int(rng.integers(len(AIRLINE_PREFIXES)))]}{int(rng.integers(100, 3000))}"
                flight = Flight("airline", aircraft, plan, ("takeoff", 0, start), callsign=callsign,
                                squawk=discrete_squawk(rng), flight_plan=True, leg_sites=[(a, b)])
                _maybe_switch_off(flight, c, rng)
                flights.append(flight)
    return flights


def _maybe_switch_off(flight: Flight, c: dict, rng: np.random.Generator) -> None:
    """Some legitimate flights lose or switch off their transponder mid-flight for a while."""
    if flight.aircraft.transponder and rng.random() < c["transponder_off_midflight_probability"]:
        flight.transponder_episode = ("off", rng.uniform(0.2, 0.7), rng.uniform(*c["transponder_off_duration_s"]))


# --- flying -------------------------------------------------------------------------------------------------
def fly_flight(flight: Flight, world: World) -> Flight:
    """Fly the plan, place it in time by its anchor event, and work out the transponder's state per second."""
    traj = fly(flight.plan, world.terrain)
    kind, k, when = flight.anchor
    events = traj.landings if kind == "landing" else traj.takeoffs
    t_event = events[min(k, len(events) - 1)][0]
    flight.traj = traj.shifted(float(np.round(when - t_event)))
    on = np.full(traj.t_s.size, flight.aircraft.transponder)
    if flight.transponder_episode is not None:
        mode, start_fraction, duration_s = flight.transponder_episode
        airborne = np.flatnonzero(~traj.on_ground)
        if airborne.size:
            i0 = airborne[int(start_fraction * (airborne.size - 1))]
            i1 = min(traj.t_s.size, i0 + int(duration_s))
            on[i0:i1] = mode == "on"
    flight.transponder_on = on
    return flight
