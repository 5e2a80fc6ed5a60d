"""Every parameter of the simulator, its default per profile, and how a user's TOML or dict overrides it.

A configuration is a nested dict. ``default_config(profile)`` returns the full set; ``resolve_config``
merges a user's overrides (a TOML file or a dict with the same nesting) over it. Unknown keys are refused
with a ValueError naming the dotted key; so are values of the wrong type. Tables under ``sensors`` and
``aircraft`` are keyed by id: a new id adds a sensor or an aircraft type, ``enabled = false`` removes a sensor.
Lists are replaced, not merged. Every configuration mistake is a ValueError (the CLI reports those as bad
input), wrong types included.

Where the numbers come from: DESIGN.md's facts (four air-bridge flights a day, ~10 min on the ground, dawn
landings, cruise ~70 m/s, VRAEM valley floors 500-1,000 m, helicopters between bases and outposts with no
flight plan) and public aircraft performance figures; see ``docs/simulator.md``.

>>> cfg = resolve_config("hard", {"narco": {"flights_per_day": 6}})
>>> cfg["narco"]["flights_per_day"], cfg["sensors"]["PSR-PICHARI"]["pd"] < default_config()["sensors"]["PSR-PICHARI"]["pd"]
(6, True)
>>> resolve_config("easy", {"narco": {"flights_per_dya": 6}})
Traceback (most recent call last):
...
ValueError: unknown simulator parameter 'narco.flights_per_dya'
"""
from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

PROFILES = ("easy", "hard")

_PSR = {
    "kind": "psr", "enabled": True, "scan_s": 10.0, "range_max_m": 150_000.0, "sigma_range_m": 60.0,
    "sigma_azimuth_deg": 0.2, "pd": 0.9, "clutter_per_scan": 0.5, "mask_deg": -2.0, "site_search_km": 15.0,
    "mast_m": 20.0,
}
# A radar on a mast at a valley base: no ridge-top search; a slight down-look (the floor around is flat).
_VALLEY_SITE = {"site_search_km": 0.0, "mask_deg": -0.5}
_RIDGE_SITE = {"site_search_km": 15.0, "mask_deg": -2.0}
_SSR = {
    "kind": "ssr", "enabled": True, "scan_s": 8.0, "range_max_m": 350_000.0, "sigma_range_m": 30.0,
    "sigma_azimuth_deg": 0.07, "pd": 0.98, "clutter_per_scan": 0.05, "mask_deg": -0.5, "site_search_km": 12.0,
    "mast_m": 20.0,
}
_ADSB = {"kind": "adsb", "enabled": True, "range_max_m": 350_000.0, "site_search_km": 5.0, "mast_m": 10.0}
_OBSERVER = {"kind": "observer", "enabled": True, "range_max_m": 8_000.0, "sigma_azimuth_deg": 15.0,
             "site_search_km": 0.0, "mast_m": 2.0}

_DEFAULTS: dict[str, Any] = {
    "start": "2026-06-01T00:00:00Z",
    "truth_step_s": 2.0,
    "region": {"lat_min": -13.3, "lat_max": -11.3, "lon_min": -74.6, "lon_max": -73.4},
    "terrain": {"source": "synthetic", "seed": 7, "geotiff_path": ""},
    "sensors": {
        # Easy is the well-observed case: the primary radars stand at the army's valley bases (on a mast over
        # the flat valley floor, so they see along the valley down to a slight negative elevation) and three
        # gap-fillers at other valley bases watch the approaches and climb-outs the two main sites cannot.
        # The hard profile puts the two main radars back on the ridge tops and switches the gap-fillers off.
        "PSR-PICHARI": {**_PSR, **_VALLEY_SITE, "lat": -12.52, "lon": -73.83, "sac": 100, "sic": 1},
        "PSR-MAZAMARI": {**_PSR, **_VALLEY_SITE, "lat": -11.33, "lon": -74.53, "sac": 100, "sic": 2},
        "PSR-LLOCHEGUA": {**_PSR, **_VALLEY_SITE, "lat": -12.41, "lon": -73.91, "sac": 100, "sic": 4},
        "PSR-VIZCATAN": {**_PSR, **_VALLEY_SITE, "lat": -12.62, "lon": -74.1, "sac": 100, "sic": 5},
        "PSR-PUERTO-OCOPA": {**_PSR, **_VALLEY_SITE, "lat": -11.133, "lon": -74.35, "sac": 100, "sic": 6},
        "SSR-AYACUCHO": {**_SSR, "lat": -13.1548, "lon": -74.2044, "sac": 100, "sic": 3},
        "ADSB-AYACUCHO": {**_ADSB, "lat": -13.16, "lon": -74.22},
        "ADSB-PICHARI": {**_ADSB, "lat": -12.52, "lon": -73.83},
        "ADSB-MAZAMARI": {**_ADSB, "lat": -11.33, "lon": -74.53},
        "ADSB-CUSCO": {**_ADSB, "lat": -13.54, "lon": -71.94},
        "OBS-LLOCHEGUA": {**_OBSERVER, "lat": -12.28, "lon": -73.96},
        "OBS-PUERTO-ENE": {**_OBSERVER, "lat": -11.75, "lon": -74.15},
        "OBS-SANTA-ROSA": {**_OBSERVER, "lat": -12.80, "lon": -73.65},
        "OBS-VIZCATAN": {**_OBSERVER, "lat": -12.50, "lon": -74.09},
    },
    "radar": {
        "min_speed_mps": 15.0, "mti_notch_mps": 1.5,
        "rcs_factor": {"narco": 1.0, "mission": 1.0, "general": 1.5, "military": 2.0, "airline": 4.0},
    },
    "ssr": {"mode_c_step_ft": 100.0, "mode_s_step_ft": 25.0},
    "adsb": {"position_interval_s": 5.0, "velocity_interval_s": 5.0, "identity_interval_s": 30.0,
             "message_loss": 0.05, "position_sigma_m": 10.0, "altitude_step_ft": 25.0},
    "observers": {"p_sound_per_min": 0.4, "p_sighting_per_min": 0.5, "sighting_range_m": 6_000.0,
                  "sound_sigma_factor": 2.0, "time_sigma_s": 30.0, "false_reports_per_day": 1.0,
                  "daylight_sun_elevation_deg": -3.0},
    "aircraft": {
        # Public performance figures, rounded: speeds m/s, rates m/s, accelerations m/s^2, bank degrees.
        "C206": {"cruise_mps": 70.0, "approach_mps": 35.0, "rotate_mps": 28.0, "climb_speed_mps": 45.0, "climb_mps": 4.0,
                 "descent_mps": 6.0, "bank_deg": 30.0, "accel_mps2": 1.5, "vtol": False},
        "C208": {"cruise_mps": 85.0, "approach_mps": 40.0, "rotate_mps": 33.0, "climb_speed_mps": 55.0, "climb_mps": 5.0,
                 "descent_mps": 6.0, "bank_deg": 30.0, "accel_mps2": 1.5, "vtol": False},
        "PC6": {"cruise_mps": 60.0, "approach_mps": 30.0, "rotate_mps": 25.0, "climb_speed_mps": 40.0, "climb_mps": 5.0,
                "descent_mps": 6.0, "bank_deg": 30.0, "accel_mps2": 1.5, "vtol": False},
        "BE20": {"cruise_mps": 130.0, "approach_mps": 55.0, "rotate_mps": 50.0, "climb_speed_mps": 80.0, "climb_mps": 9.0,
                 "descent_mps": 8.0, "bank_deg": 25.0, "accel_mps2": 2.0, "vtol": False},
        "PA34": {"cruise_mps": 95.0, "approach_mps": 45.0, "rotate_mps": 38.0, "climb_speed_mps": 50.0, "climb_mps": 5.0,
                 "descent_mps": 6.0, "bank_deg": 25.0, "accel_mps2": 1.5, "vtol": False},
        "A320": {"cruise_mps": 230.0, "approach_mps": 70.0, "rotate_mps": 75.0, "climb_speed_mps": 150.0, "climb_mps": 12.0,
                 "descent_mps": 10.0, "bank_deg": 25.0, "accel_mps2": 2.0, "vtol": False},
        "AT72": {"cruise_mps": 140.0, "approach_mps": 60.0, "rotate_mps": 55.0, "climb_speed_mps": 85.0, "climb_mps": 7.0,
                 "descent_mps": 7.0, "bank_deg": 25.0, "accel_mps2": 2.0, "vtol": False},
        "MI17": {"cruise_mps": 55.0, "approach_mps": 20.0, "rotate_mps": 0.0, "climb_speed_mps": 30.0, "climb_mps": 6.0,
                 "descent_mps": 6.0, "bank_deg": 30.0, "accel_mps2": 1.0, "vtol": True},
    },
    "narco": {
        "flights_per_day": 4.0, "aircraft_types": ["C206"], "fleet_size": 6,
        # Easy: a short low-level segment (the plane comes down from its en-route height 10-25 km out and
        # climbs out within 5-15 km), so the valley radars see it descend and climb; hard flies the long,
        # terrain-hugging valley legs that hide it for the last 60-100 km.
        "cruise_clearance_m": 600.0, "approach_agl_m": 250.0, "approach_valley_km": [10.0, 25.0],
        "departure_valley_km": [5.0, 15.0],
        "dawn_offset_mean_min": 15.0, "dawn_offset_sigma_min": 15.0, "dawn_offset_min_min": -15.0,
        "late_fraction": 0.15, "late_window_h": [1.0, 5.0],
        "ground_time_mean_min": 10.0, "ground_time_sigma_min": 3.5, "ground_time_range_min": [5.0, 20.0],
        "transponder_on_probability": 0.0, "transponder_on_duration_s": [120.0, 600.0],
        "spoof_icao24_probability": 0.5,
        "bolivia_box": [-14.5, -11.5, -68.0, -65.5], "bolivia_strips": 8,
        "return_to_origin_probability": 0.6, "approach_near_end_probability": 0.7,
    },
    "strips": {
        "pool_size": 12, "min_separation_km": 5.0, "max_elevation_m": 1000.0, "min_elevation_m": 450.0,
        "max_slope": 0.03, "min_relief_m": 800.0, "airfield_exclusion_km": 5.0,
        "crater_probability_per_use": 0.15, "crater_delay_days": [1.0, 5.0],
        "successor_delay_days": [3.0, 10.0], "successor_distance_km": [2.0, 6.0],
        "history_days": [5.0, 120.0],
    },
    "military": {
        "sorties_per_day": 5.0, "aircraft_types": ["MI17"], "fleet_size": 8,
        "home_bases": ["BASE-PICHARI", "BASE-MAZAMARI"],
        "bases": {
            "BASE-PICHARI": [-12.52, -73.83], "BASE-MAZAMARI": [-11.3254, -74.5356],
            "BASE-LLOCHEGUA": [-12.41, -73.91], "BASE-PUERTO-OCOPA": [-11.133, -74.35],
            "BASE-VIZCATAN": [-12.62, -74.10], "BASE-SAN-FRANCISCO": [-12.533, -73.80],
        },
        "outposts": 20, "outpost_max_slope": 0.12, "outpost_max_elevation_m": 3800.0,
        "outpost_min_separation_km": 4.0,
        "speed_mps": [40.0, 60.0], "agl_m": [150.0, 400.0], "dawn_fraction": 0.6,
        "hops": [2, 4], "hop_km": [8.0, 40.0], "stop_min": [5.0, 30.0],
        "hover_probability": 0.5, "hover_s": [30.0, 180.0],
    },
    "mission": {
        "flights_per_day": 4.0, "aircraft_types": ["C206", "C208", "PC6"], "fleet_size": 6,
        "home_airfields": ["SPIP", "SPMF", "SPAY", "SPPA"],
        "community_strips": 15, "community_box": [-13.3, -10.8, -74.8, -73.0],
        "stops": [1, 3], "stop_min": [15.0, 60.0], "dawn_fraction": 0.2,
        "cruise_clearance_m": 600.0, "approach_agl_m": 400.0, "approach_valley_km": [10.0, 30.0],
        "approach_near_end_probability": 0.7, "transponder_off_duration_s": [600.0, 2400.0],
        "transponder_probability": 0.7, "mode_s_probability": 0.6, "adsb_probability": 0.3,
        "flight_plan_probability": 0.5, "transponder_off_midflight_probability": 0.0,
    },
    "general": {
        "flights_per_day": 4.0, "aircraft_types": ["PA34", "BE20", "C208"], "fleet_size": 10,
        "airfields": ["SPJC", "SPZO", "SPHO", "SPHY", "SPHU", "SPJJ", "SPIP", "SPMF", "SPAY", "SPTU"],
        "cruise_clearance_m": 900.0, "transponder_probability": 1.0, "mode_s_probability": 0.7,
        "adsb_probability": 0.5, "flight_plan_probability": 0.7, "transponder_off_midflight_probability": 0.0,
        "transponder_off_duration_s": [600.0, 2400.0], "local_hours": [7.0, 17.0],
    },
    "airline": {
        # [origin, destination, flights a day in each direction]
        "routes": [["SPJC", "SPZO", 8], ["SPJC", "SPHO", 2], ["SPJC", "SPTU", 2], ["SPJC", "SPJL", 2],
                   ["SPZO", "SPTU", 1], ["SPJC", "SLLP", 1], ["SPJC", "SPHY", 1], ["SPZO", "SLVR", 1]],
        "aircraft_types": ["A320", "AT72"], "regional_max_km": 500.0, "fleet_size": 30,
        "local_hours": [5.0, 21.0], "cruise_alt_m": [9_000.0, 11_500.0], "regional_cruise_alt_m": [5_500.0, 7_500.0],
        "terrain_exempt_km": 40.0, "transponder_off_midflight_probability": 0.0,
        "transponder_off_duration_s": [600.0, 2400.0],
    },
    # Flight plans: off-block precedes the take-off by the taxi time; filed times miss the real ones.
    "flightplans": {"taxi_s": [300.0, 900.0], "time_sigma_s": 300.0},
    # Leaky alert recipients (centinela.sim.leaks): none by default, so scenarios are unchanged unless asked.
    # An entry: leaks.units.<unit_id> = {leak_probability, abort_probability, delay_min}.
    "leaks": {"units": {}, "alert_lead_min": 30.0, "registry": ""},
}

# A new leaks.units entry starts from this (every field may be overridden).
_LEAKY_UNIT = {"leak_probability": 0.5, "abort_probability": 0.5, "delay_min": 5.0}

# The hard profile: worse sensors, more confounders, darker and lower narco flights.
_HARD: dict[str, Any] = {
    "sensors": {
        "PSR-PICHARI": {"pd": 0.7, "clutter_per_scan": 4.0, "sigma_range_m": 120.0, "sigma_azimuth_deg": 0.35,
                        **_RIDGE_SITE},
        "PSR-MAZAMARI": {"pd": 0.7, "clutter_per_scan": 4.0, "sigma_range_m": 120.0, "sigma_azimuth_deg": 0.35,
                         **_RIDGE_SITE},
        "PSR-LLOCHEGUA": {"enabled": False}, "PSR-VIZCATAN": {"enabled": False}, "PSR-PUERTO-OCOPA": {"enabled": False},
        "SSR-AYACUCHO": {"pd": 0.93, "clutter_per_scan": 0.3},
        "OBS-LLOCHEGUA": {"sigma_azimuth_deg": 25.0}, "OBS-PUERTO-ENE": {"sigma_azimuth_deg": 25.0},
        "OBS-SANTA-ROSA": {"sigma_azimuth_deg": 25.0}, "OBS-VIZCATAN": {"sigma_azimuth_deg": 25.0},
    },
    "radar": {"mti_notch_mps": 3.0},
    "adsb": {"message_loss": 0.15},
    "observers": {"p_sound_per_min": 0.25, "p_sighting_per_min": 0.3, "false_reports_per_day": 4.0},
    "narco": {"approach_agl_m": 150.0, "approach_valley_km": [60.0, 100.0], "departure_valley_km": [20.0, 50.0],
              "cruise_clearance_m": 400.0,
              "transponder_on_probability": 0.3},
    "military": {"sorties_per_day": 9.0, "dawn_fraction": 0.7},
    "mission": {"flights_per_day": 8.0, "dawn_fraction": 0.5, "transponder_probability": 0.5,
                "flight_plan_probability": 0.3, "transponder_off_midflight_probability": 0.2,
                "approach_agl_m": 250.0},
    "general": {"flights_per_day": 6.0, "transponder_off_midflight_probability": 0.1},
    "airline": {"transponder_off_midflight_probability": 0.02},
}

# What each parameter means (dotted key -> text). ``docs/simulator.md`` prints this table; a test checks
# that every default has a line. Keys under sensors.<id> and aircraft.<type> are described once.
DESCRIPTIONS: dict[str, str] = {
    "start": "UTC start of the scenario, ISO 8601 (local time in the VRAEM is UTC-5)",
    "truth_step_s": "spacing of truth/states.csv rows, s (kinematics run at 1 s; must divide into whole seconds)",
    "region.*": "the VRAEM box (DESIGN.md): narco strips, community strips and outposts lie inside it; degrees",
    "terrain.source": '"synthetic" (SyntheticVraemTerrain) or "geotiff" (GeoTiffTerrain of terrain.geotiff_path)',
    "terrain.seed": "seed of the synthetic DEM (fixed: every scenario shares one world)",
    "terrain.geotiff_path": "a GeoTIFF DEM in EPSG:4326, used when terrain.source = \"geotiff\"",
    "sensors.<id>.kind": "psr, ssr, adsb or observer",
    "sensors.<id>.enabled": "false drops the sensor",
    "sensors.<id>.lat/lon": "nominal site, degrees; the sensor stands on the highest ground within site_search_km",
    "sensors.<id>.site_search_km": "radius searched for the highest ground near the nominal site (0: use it as is), km",
    "sensors.<id>.mast_m": "antenna height above ground, m (sensor alt_m = terrain + mast_m)",
    "sensors.<id>.scan_s": "radar scan period, s",
    "sensors.<id>.range_max_m": "maximum slant range (radar), ground range (ADS-B receiver, observer), m",
    "sensors.<id>.sigma_range_m": "radar range noise (1 sigma), m",
    "sensors.<id>.sigma_azimuth_deg": "radar or observer bearing noise (1 sigma), degrees",
    "sensors.<id>.pd": "per-scan detection probability of a small aircraft inside coverage",
    "sensors.<id>.clutter_per_scan": "mean false plots per scan (Poisson), uniform over the coverage disc",
    "sensors.<id>.mask_deg": "lowest apparent elevation the radar sees, degrees (negative on a ridge top)",
    "sensors.<id>.sac/sic": "ASTERIX System Area / Identification Codes (arbitrary: Peru's are not public)",
    "radar.min_speed_mps": "primary radar MTI: no plot below this ground speed (aircraft on the ground, hovering), m/s",
    "radar.mti_notch_mps": "primary radar MTI: no plot when the radial speed is below this (tangential fading), m/s",
    "radar.rcs_factor.*": "detection boost per flight kind: pd_eff = 1 - (1 - pd)^factor (bigger radar cross-section)",
    "ssr.mode_c_step_ft": "Mode C altitude quantum, ft",
    "ssr.mode_s_step_ft": "Mode S altitude quantum, ft",
    "adsb.position_interval_s": "spacing of MSG,3 position lines kept per aircraft (real: ~2/s; thinned), s",
    "adsb.velocity_interval_s": "spacing of MSG,4 velocity lines, s",
    "adsb.identity_interval_s": "spacing of MSG,1 identity lines, s",
    "adsb.message_loss": "probability that a receiver in coverage misses a message",
    "adsb.position_sigma_m": "ADS-B position noise (GNSS, 1 sigma), m",
    "adsb.altitude_step_ft": "ADS-B barometric altitude quantum, ft",
    "observers.p_sound_per_min": "chance a post reports an airborne aircraft it can hear, per minute in range",
    "observers.p_sighting_per_min": "chance a post reports an aircraft it can see, per minute",
    "observers.sighting_range_m": "how far a post can see an aircraft (needs line of sight and daylight), m",
    "observers.sound_sigma_factor": "bearing noise of a sound report, in multiples of the post's sigma_azimuth_deg",
    "observers.time_sigma_s": "error of the reported time, s (1 sigma)",
    "observers.false_reports_per_day": "mean false reports per post per day (random bearing and kind)",
    "observers.daylight_sun_elevation_deg": "sun elevation above which sightings are possible, degrees",
    "aircraft.<type>.cruise_mps": "cruise true airspeed (no wind: = ground speed), m/s",
    "aircraft.<type>.approach_mps": "final approach speed, m/s",
    "aircraft.<type>.rotate_mps": "lift-off / touch-down speed (0 for helicopters), m/s",
    "aircraft.<type>.climb_mps": "climb rate, m/s",
    "aircraft.<type>.climb_speed_mps": "best-rate-of-climb speed, flown while climbing, m/s",
    "aircraft.<type>.descent_mps": "descent rate, m/s",
    "aircraft.<type>.bank_deg": "bank limit of coordinated turns, degrees (turn radius v^2 / (g tan bank))",
    "aircraft.<type>.accel_mps2": "longitudinal acceleration and braking, m/s^2",
    "aircraft.<type>.vtol": "vertical take-off and landing, hover (helicopters)",
    "narco.flights_per_day": "mean air-bridge round trips a day (Poisson), DESIGN.md: four",
    "narco.aircraft_types": "types flown (Cessna 206 class, DESIGN.md)",
    "narco.fleet_size": "planes in the air bridge's pool",
    "narco.cruise_clearance_m": "height above the highest terrain within 8 km (before and ahead) en route, m",
    "narco.approach_agl_m": "height above the valley floor on the terrain-hugging final approach, m",
    "narco.approach_valley_km": "length of the low approach flown along the valley, km [min, max]",
    "narco.departure_valley_km": "length of the climb-out flown along the valley, km [min, max]",
    "narco.dawn_offset_mean_min": "landing time after civil dawn (sun at -6 deg), mean, min",
    "narco.dawn_offset_sigma_min": "landing time after civil dawn, spread (1 sigma), min",
    "narco.dawn_offset_min_min": "earliest landing relative to civil dawn, min",
    "narco.late_fraction": "share of flights landing later in the morning instead",
    "narco.late_window_h": "those land this long after dawn, h [min, max]",
    "narco.ground_time_mean_min": "time on the strip, mean, min (DESIGN.md: about 10)",
    "narco.ground_time_sigma_min": "time on the strip, spread (1 sigma), min",
    "narco.ground_time_range_min": "time on the strip is clipped to this, min (DESIGN.md: 5-20)",
    "narco.transponder_on_probability": "share of flights that switch a (spoofed) transponder on for a while",
    "narco.transponder_on_duration_s": "how long it stays on, s [min, max]",
    "narco.spoof_icao24_probability": "share of those that squawk a real aircraft's Mode S address",
    "narco.bolivia_box": "Beni/Pando lowland box of the origin strips [lat_min, lat_max, lon_min, lon_max]",
    "narco.bolivia_strips": "number of Bolivian origin strips",
    "narco.return_to_origin_probability": "share of flights returning to the strip they came from",
    "narco.approach_near_end_probability": "share approaching from the valley end nearer their origin (else either)",
    "mission.approach_near_end_probability": "share approaching from the valley end nearer the previous stop",
    "mission.transponder_off_duration_s": "how long a transponder stays off, s [min, max]",
    "general.transponder_off_duration_s": "how long a transponder stays off, s [min, max]",
    "airline.transponder_off_duration_s": "how long a transponder stays off, s [min, max]",
    "flightplans.taxi_s": "off-block time before take-off, s [min, max]",
    "flightplans.time_sigma_s": "error of filed off-block and ETA times (1 sigma), s",
    "strips.pool_size": "clandestine VRAEM strips active at the start",
    "strips.min_separation_km": "minimum distance between strips of the pool, km",
    "strips.max_elevation_m": "strips lie on valley floors below this, m (DESIGN.md: floors 500-1,000 m)",
    "strips.min_elevation_m": "and above this, m",
    "strips.max_slope": "largest terrain slope at a strip (rise over run)",
    "strips.min_relief_m": "terrain must rise this much within 8 km (a valley, not a plain), m",
    "strips.airfield_exclusion_km": "no clandestine strip this close to a registered airfield or base, km",
    "strips.crater_probability_per_use": "chance that the state craters a strip after a landing on it",
    "strips.crater_delay_days": "days from that landing to the cratering [min, max]",
    "strips.successor_delay_days": "days from cratering until a new strip nearby is in use [min, max]",
    "strips.successor_distance_km": "distance of the successor strip from the cratered one, km [min, max]",
    "strips.history_days": "how long before the start the initial strips came into use, days [min, max]",
    "military.sorties_per_day": "mean helicopter sorties a day (Poisson)",
    "military.aircraft_types": "types flown (Mi-17 class)",
    "military.fleet_size": "helicopters",
    "military.home_bases": "bases sorties start and end at",
    "military.bases": "military bases in the VRAEM: id -> [lat, lon]",
    "military.outposts": "number of outposts (landing zones) drawn from the terrain",
    "military.outpost_max_slope": "steepest landing zone (rise over run)",
    "military.outpost_max_elevation_m": "highest landing zone, m",
    "military.outpost_min_separation_km": "minimum distance between outposts, km",
    "military.speed_mps": "cruise speed range, m/s (DESIGN.md brief: 40-60)",
    "military.agl_m": "height above the terrain ahead en route, m [min, max]",
    "military.dawn_fraction": "share of sorties that start at civil dawn (others in daytime)",
    "military.hops": "landings per sortie before returning home [min, max]",
    "military.hop_km": "length of a hop, km [min, max]",
    "military.stop_min": "time on the ground at each stop, min [min, max]",
    "military.hover_probability": "chance of a hover before a landing",
    "military.hover_s": "hover duration, s [min, max]",
    "mission.flights_per_day": "mean mission / bush round trips a day (Poisson)",
    "mission.aircraft_types": "types flown",
    "mission.fleet_size": "planes",
    "mission.home_airfields": "ICAO codes of the registered airfields they are based at",
    "mission.community_strips": "number of community dirt strips (legal, not in the ICAO registry)",
    "mission.community_box": "box the community strips lie in [lat_min, lat_max, lon_min, lon_max]",
    "mission.stops": "community strips visited per trip [min, max]",
    "mission.stop_min": "time on the ground at each, min [min, max]",
    "mission.dawn_fraction": "share of trips leaving at civil dawn (others in daytime)",
    "mission.cruise_clearance_m": "height above the terrain ahead en route, m",
    "mission.approach_agl_m": "height above the valley floor on the valley approach, m",
    "mission.approach_valley_km": "length of the valley approach, km [min, max]",
    "mission.transponder_probability": "share of planes with a working transponder",
    "mission.mode_s_probability": "share of transponders that are Mode S (icao24, callsign)",
    "mission.adsb_probability": "share of Mode S planes with ADS-B out",
    "mission.flight_plan_probability": "share of trips that file a flight plan",
    "mission.transponder_off_midflight_probability": "share of flights that switch the transponder off mid-flight",
    "general.flights_per_day": "mean general-aviation flights a day (Poisson)",
    "general.aircraft_types": "types flown",
    "general.fleet_size": "planes",
    "general.airfields": "ICAO codes they fly between",
    "general.cruise_clearance_m": "height above the terrain ahead en route, m",
    "general.transponder_probability": "share of planes with a working transponder",
    "general.mode_s_probability": "share of transponders that are Mode S",
    "general.adsb_probability": "share of Mode S planes with ADS-B out",
    "general.flight_plan_probability": "share of flights that file a flight plan",
    "general.transponder_off_midflight_probability": "share of flights that switch the transponder off mid-flight",
    "general.local_hours": "departures between these local hours [min, max]",
    "airline.routes": "[origin, destination, flights a day each way]; airports from the airportsdata package",
    "airline.aircraft_types": "[jet, turboprop]: routes up to regional_max_km fly the turboprop",
    "airline.regional_max_km": "longest route flown by the turboprop, km",
    "airline.fleet_size": "airframes (icao24 addresses) shared by all routes",
    "airline.local_hours": "departures between these local hours [min, max]",
    "airline.cruise_alt_m": "jet cruise altitude range, m MSL (rounded to whole flight levels)",
    "airline.regional_cruise_alt_m": "turboprop cruise altitude range, m MSL",
    "airline.terrain_exempt_km": "within this distance of an airport an airliner flies its procedure, not terrain clearance, km",
    "airline.transponder_off_midflight_probability": "share of flights that switch the transponder off mid-flight",
    "leaks.units": "leaky alert recipients: unit_id -> {leak_probability, abort_probability, delay_min} "
                   "(defaults 0.5, 0.5, 5 min); none by default",
    "leaks.alert_lead_min": "the emulated alert of each narco flight is raised this long before it lands, min "
                            "(the warning's typical time to go, alerts.warning.EtaWindow)",
    "leaks.registry": "units.toml register the alerts are dispatched over (\"\": the packaged one)",
}

_ID_TABLES = ("sensors", "aircraft", "military.bases", "leaks.units")


def default_config(profile: str = "easy") -> dict:
    """All parameters with their defaults for ``profile`` ("easy" or "hard"), as a nested dict (a copy)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    cfg = copy.deepcopy(_DEFAULTS)
    if profile == "hard":
        _merge(cfg, _HARD, "", check=False)
    return cfg


def resolve_config(profile: str = "easy", overrides: str | Path | dict | None = None) -> dict:
    """The defaults of ``profile`` with ``overrides`` (a TOML file path or a nested dict) merged over them.

    Raises ValueError naming the dotted key of an unknown parameter or a value of the wrong type."""
    cfg = default_config(profile)
    if overrides is None:
        return cfg
    if isinstance(overrides, (str, Path)):
        path = Path(overrides)
        try:
            overrides = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"simulator config {path}: file not found") from None
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"simulator config {path}: not valid TOML ({e})") from None
    if not isinstance(overrides, dict):
        raise ValueError(f"simulator config must be a dict or a TOML file path, got {type(overrides).__name__}")  # noqa: TRY004
    _merge(cfg, copy.deepcopy(overrides), "", check=True)
    return cfg


def _merge(base: dict, over: dict, prefix: str, *, check: bool) -> None:
    for key, value in over.items():
        dotted = f"{prefix}{key}"
        if key not in base:
            if check and prefix.rstrip(".") not in _ID_TABLES:
                raise ValueError(f"unknown simulator parameter {dotted!r}")
            base[key] = _new_entry(prefix.rstrip("."), dotted, value) if check else value
            continue
        current = base[key]
        if isinstance(current, dict):
            if not isinstance(value, dict):
                raise ValueError(f"simulator parameter {dotted!r} must be a table, got {value!r}")  # noqa: TRY004
            _merge(current, value, dotted + ".", check=check)
        else:
            if check:
                _check_type(dotted, current, value)
            base[key] = value


def _new_entry(table: str, dotted: str, value: Any) -> Any:
    """A new sensor, aircraft type or base: it must look like the existing ones."""
    if table == "military.bases":
        if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)):
            raise ValueError(f"simulator parameter {dotted!r} must be [lat, lon]")
        return value
    if not isinstance(value, dict):
        raise ValueError(f"simulator parameter {dotted!r} must be a table")  # noqa: TRY004
    if table == "leaks.units":
        entry = copy.deepcopy(_LEAKY_UNIT)
        _merge(entry, value, dotted + ".", check=True)
        return entry
    if table == "aircraft":
        template = _DEFAULTS["aircraft"]["C206"]
    else:
        kind = value.get("kind")
        templates = {"psr": _PSR, "ssr": _SSR, "adsb": _ADSB, "observer": _OBSERVER}
        if kind not in templates:
            raise ValueError(f"simulator parameter '{dotted}.kind' must be one of {', '.join(templates)}, got {kind!r}")
        template = {**templates[kind], "lat": 0.0, "lon": 0.0, "sac": 0, "sic": 0}
        for needed in ("lat", "lon"):
            if needed not in value:
                raise ValueError(f"simulator parameter '{dotted}.{needed}' is required for a new sensor")
    entry = copy.deepcopy(template)
    _merge(entry, value, dotted + ".", check=True)
    if table == "sensors" and "sac" not in value:
        entry.pop("sac"), entry.pop("sic")
    return entry


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_type(dotted: str, current: Any, value: Any) -> None:
    ok = (_is_number(current) and _is_number(value)) or type(current) is type(value)
    if isinstance(current, list) and isinstance(value, list):
        ok = True
    if not ok:
        raise ValueError(f"simulator parameter {dotted!r} must be {type(current).__name__}, got {value!r}")


def describe_parameters(profile: str = "easy") -> list[tuple[str, Any, Any, str]]:
    """(dotted key, easy default, hard default, description) for every parameter, for the docs."""
    easy, hard = _flatten(default_config("easy")), _flatten(default_config("hard"))
    rows = []
    for key, value in easy.items():
        rows.append((key, value, hard.get(key), _description(key)))
    return rows


def _flatten(cfg: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in cfg.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted not in ("military.bases", "radar.rcs_factor", "leaks.units"):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _description(key: str) -> str:
    parts = key.split(".")
    candidates = [key]
    if parts[0] in ("sensors", "aircraft") and len(parts) == 3:
        generic = f"{parts[0]}.<{'id' if parts[0] == 'sensors' else 'type'}>.{parts[2]}"
        candidates += [generic, generic.replace(".lat", ".lat/lon").replace(".lon", ".lat/lon"),
                       generic.replace(".sac", ".sac/sic").replace(".sic", ".sac/sic")]
    candidates.append(f"{parts[0]}.*")
    if key == "radar.rcs_factor":
        candidates.insert(0, "radar.rcs_factor.*")
    for candidate in candidates:
        if candidate in DESCRIPTIONS:
            return DESCRIPTIONS[candidate]
    return ""


def parameters_markdown() -> str:
    """The parameter tables of docs/simulator.md: sensors first (one row each), then everything else."""
    easy, hard = default_config("easy")["sensors"], default_config("hard")["sensors"]
    fields = ["kind", "lat", "lon", "scan_s", "range_max_m", "sigma_range_m", "sigma_azimuth_deg", "pd",
              "clutter_per_scan", "mask_deg", "site_search_km", "mast_m"]
    lines = ["| sensor | " + " | ".join(fields) + " |", "| --- " * (len(fields) + 1) + "|"]
    for sensor_id, values in easy.items():
        cells = []
        for name in fields:
            value, other = values.get(name, ""), hard[sensor_id].get(name, "")
            cells.append(f"{value}" + (f" (hard {other})" if other != value else ""))
        lines.append(f"| `{sensor_id}` | " + " | ".join(cells) + " |")
    lines += ["", "| sensor field | meaning |", "| --- | --- |"]
    lines += [f"| `{key.split('.', 2)[2]}` | {text} |" for key, text in DESCRIPTIONS.items()
              if key.startswith("sensors.<id>.")]
    lines += ["", "| parameter | easy | hard | meaning |", "| --- | --- | --- | --- |"]
    for key, value, other, text in describe_parameters():
        if key.startswith(("sensors.", "leaks.")):  # leaks.*: docs/need_to_know.md, leak_parameters_markdown()
            continue
        shown_hard = "" if other == value else f"`{other}`"
        lines.append(f"| `{key}` | `{value}` | {shown_hard} | {text} |")
    return "\n".join(lines)


def leak_parameters_markdown() -> str:
    """The table of the leaky-recipient parameters (docs/need_to_know.md, "Leak statistics")."""
    lines = ["| parameter | default | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{key}` | `{value}` | {text} |" for key, value, _, text in describe_parameters()
              if key.startswith("leaks.")]
    return "\n".join(lines)


if __name__ == "__main__":  # python -m centinela.sim.config > table.md
    print(parameters_markdown())
