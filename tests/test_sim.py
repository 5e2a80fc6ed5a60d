"""The simulator, checked the way its users rely on it: real scenario folders read back with the contract
readers, and physics that could fail (radar blind spots, transponders, dawn landings, valley strips)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from centinela.geo.frames import haversine_m
from centinela.geo.terrain import SyntheticVraemTerrain, terrain_grid
from centinela.io.scenario import read_scenario
from centinela.io.truth import read_truth
from centinela.sim import default_config, resolve_config, simulate
from centinela.sim.traffic import civil_dawn_s

# Seven hours from 08:00 UTC (03:00 local): the dawn landings (~10:45 UTC) and take-offs back are inside.
WINDOW = {"days": 0.3, "config": {"start": "2026-06-01T08:00:00Z"}}
DAY_S = 86_400.0


@pytest.fixture(scope="module")
def easy(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("sim") / "easy"
    return path, simulate(path, seed=5, profile="easy", **WINDOW)


@pytest.fixture(scope="module")
def hard(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("sim") / "hard"
    return path, simulate(path, seed=5, profile="hard", **WINDOW)


def _truth(path: Path):
    truth = read_truth(path)
    kinds = truth.flights.set_index("truth_id")["kind"]
    return truth, kinds


def test_same_seed_gives_byte_identical_files(easy, tmp_path):
    path, _ = easy
    again = tmp_path / "again"
    simulate(again, seed=5, profile="easy", **WINDOW)
    files = sorted(p.relative_to(path) for p in path.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for name in files:
        assert (path / name).read_bytes() == (again / name).read_bytes(), f"{name} differs between two runs"


def test_another_seed_gives_another_scenario(easy, tmp_path):
    other = tmp_path / "other"
    simulate(other, seed=6, profile="easy", **WINDOW)
    assert (other / "plots.jsonl").read_bytes() != (easy[0] / "plots.jsonl").read_bytes()


def test_files_follow_the_contract_and_read_back(easy):
    path, summary = easy
    scenario = read_scenario(path)  # the contract readers validate every field
    kinds = {s.kind for s in scenario.sensors}
    assert kinds == {"psr", "ssr", "adsb", "observer"}
    assert all(s.sac is not None for s in scenario.sensors if s.kind in ("psr", "ssr"))
    plots = scenario.plots
    assert len(plots) == sum(summary["plots"].values()) > 1000
    raw_t = [json.loads(line)["t"] for line in (path / "plots.jsonl").read_text().splitlines()]
    assert np.all(np.diff(raw_t) >= 0), "plots.jsonl must be in time order overall"
    psr = plots[plots["sensor"].str.startswith("PSR")]
    assert psr["alt_m"].isna().all() and psr["icao24"].isna().all() and psr["squawk"].isna().all()
    ssr = plots[plots["sensor"].str.startswith("SSR")]
    assert ssr["squawk"].notna().all() and ssr["alt_m"].notna().all()
    t0 = pd.Timestamp("2026-06-01T08:00:00Z").timestamp()
    for frame in (plots, scenario.adsb, scenario.observations):
        assert frame["t"].between(t0, t0 + 0.3 * DAY_S).all()
    assert len(scenario.adsb) > 100 and len(scenario.flightplans) > 0
    assert set(scenario.observations["kind"]) <= {"sighting", "sound"}
    truth = read_truth(path)
    assert set(truth.flights["kind"]) >= {"narco", "military", "airline"}
    assert truth.events["kind"].isin(["landing", "takeoff"]).all()
    assert truth.events["site"].notna().all()
    strips = pd.read_csv(path / "truth" / "strips.csv")
    assert {"strip_id", "lat", "lon", "kind", "active_from", "cratered_t", "successor_of"} <= set(strips.columns)
    details = pd.read_csv(path / "truth" / "flight_details.csv")
    assert details["truth_id"].tolist() == truth.flights["truth_id"].tolist()


def test_sbs_lines_use_real_basestation_conventions(easy):
    path, _ = easy
    lines = (path / "adsb.sbs").read_text().splitlines()
    fields = [line.split(",") for line in lines]
    assert all(len(f) == 22 and f[0] == "MSG" for f in fields)
    assert {f[1] for f in fields} == {"1", "3", "4"}
    position = [f for f in fields if f[1] == "3"]
    assert all(len(f[6]) == 10 and f[6][4] == "/" and len(f[7]) == 12 and f[7][2] == ":" for f in position)
    # Altitude in feet: airliners cruise at tens of thousands of feet; ground speed in knots.
    altitudes_ft = np.array([float(f[11]) for f in position if f[11]])
    assert altitudes_ft.max() > 25_000
    speeds_kt = np.array([float(f[12]) for f in fields if f[1] == "4" and f[12]])
    assert 400 < speeds_kt.max() < 520  # an A320 at 230 m/s is ~447 kt


def test_narco_landings_are_at_dawn_on_valley_floor_strips(easy):
    path, _ = easy
    truth, kinds = _truth(path)
    events = truth.events
    vraem = events[(events["kind"] == "landing") & events["site"].str.startswith("VR-")]
    assert len(vraem) >= 2 and (vraem["truth_id"].map(kinds) == "narco").all() and vraem["clandestine"].all()
    dawn = civil_dawn_s(pd.Timestamp("2026-06-01").timestamp(), -12.3, -74.0)
    assert 10.4 < (dawn % DAY_S) / 3600 < 11.0  # civil dawn in June ~05:40 local, DESIGN.md
    offset_min = (vraem["t"] - dawn) / 60.0
    assert (offset_min >= -16).all() and (offset_min <= 5.5 * 60).all()
    assert (offset_min.abs() <= 60).mean() >= 0.5, "most air-bridge landings are just after dawn"

    terrain = SyntheticVraemTerrain()
    for lat, lon in zip(vraem["lat"], vraem["lon"]):
        *_, z = terrain_grid(terrain, lat - 0.005, lat + 0.005, lon - 0.005, lon + 0.005, step_deg=0.0025)
        assert z[2, 2] < 1_000.0, "strips lie on valley floors (DESIGN.md: floors 500-1,000 m)"
        slope = np.hypot(*np.gradient(z, 0.0025 * 110_574.0))
        assert slope[1:-1, 1:-1].max() < 0.08, f"strip at {lat}, {lon} is not on flat ground"
        *_, ring = terrain_grid(terrain, lat - 0.08, lat + 0.08, lon - 0.08, lon + 0.08, step_deg=0.01)
        assert ring.max() - z[2, 2] > 800.0, "a valley floor: the walls rise within ~9 km"


def test_narco_ground_time_is_five_to_twenty_minutes(easy):
    path, _ = easy
    truth, kinds = _truth(path)
    ev = truth.events[truth.events["truth_id"].map(kinds) == "narco"].sort_values("t")
    stops = []
    for _, e in ev.groupby("truth_id"):
        landings = e[(e["kind"] == "landing") & e["site"].str.startswith("VR-")]
        for _, landing in landings.iterrows():
            later = e[(e["kind"] == "takeoff") & (e["t"] > landing["t"])]
            if len(later):
                stops.append(later["t"].iloc[0] - landing["t"])
    assert stops, "no complete ground stop inside the window"
    # On the strip 5-20 min; the roll-out and take-off roll add under a minute.
    assert all(5 * 60 <= s <= 21 * 60 for s in stops), stops
    states = truth.states[truth.states["truth_id"].map(kinds) == "narco"]
    assert states["on_ground"].any() and not states["transponder"].any()


def test_helicopters_fly_at_dawn_without_transponder_or_plan(easy):
    path, _ = easy
    truth, kinds = _truth(path)
    dawn = civil_dawn_s(pd.Timestamp("2026-06-01").timestamp(), -12.3, -74.0)
    heli = truth.events[(truth.events["truth_id"].map(kinds) == "military") & (truth.events["kind"] == "takeoff")]
    assert ((heli["t"] - dawn).abs() < 45 * 60).any(), "army helicopters take off around dawn"
    states = truth.states[truth.states["truth_id"].map(kinds) == "military"]
    assert not states["transponder"].any()
    plans = read_scenario(path).flightplans
    military_ids = truth.flights.loc[truth.flights["kind"] == "military", "icao24"].dropna()
    assert not plans["icao24"].isin(military_ids).any()


def test_ssr_identity_only_from_transponders_that_are_on(easy):
    path, _ = easy
    truth, _ = _truth(path)
    plots = read_scenario(path).plots
    ssr = plots[plots["sensor"].str.startswith("SSR")]
    with_id = ssr[ssr["icao24"].notna()]
    assert len(with_id) > 50
    on = truth.states[truth.states["transponder"]]
    transponding = set(truth.flights.loc[truth.flights["truth_id"].isin(on["truth_id"]), "icao24"].dropna())
    assert set(with_id["icao24"]) <= transponding
    dark = set(truth.flights.loc[truth.flights["kind"].isin(["narco", "military"]), "truth_id"])
    assert not truth.states.loc[truth.states["truth_id"].isin(dark), "transponder"].any()


def test_hard_profile_has_more_clutter_and_worse_radar(easy, hard):
    e_cfg, h_cfg = default_config("easy"), default_config("hard")
    for sensor_id in ("PSR-PICHARI", "PSR-MAZAMARI"):
        assert h_cfg["sensors"][sensor_id]["pd"] < e_cfg["sensors"][sensor_id]["pd"]
        assert h_cfg["sensors"][sensor_id]["clutter_per_scan"] > e_cfg["sensors"][sensor_id]["clutter_per_scan"]
    # What the files show: far more false plots per scan on the same traffic windows.
    scans = 0.3 * DAY_S / e_cfg["sensors"]["PSR-PICHARI"]["scan_s"]
    assert hard[1]["plots"]["PSR-PICHARI"] / scans > easy[1]["plots"]["PSR-PICHARI"] / scans + 2.0
    assert hard[1]["flights"].get("mission", 0) + hard[1]["flights"].get("military", 0) >= \
        easy[1]["flights"].get("mission", 0) + easy[1]["flights"].get("military", 0)


def test_config_overrides_and_refuses_unknown_keys(tmp_path):
    toml = tmp_path / "sim.toml"
    toml.write_text('[narco]\nflights_per_day = 9\n[sensors.PSR-EXTRA]\nkind = "psr"\nlat = -12.0\nlon = -74.0\n')
    cfg = resolve_config("easy", toml)
    assert cfg["narco"]["flights_per_day"] == 9 and cfg["sensors"]["PSR-EXTRA"]["scan_s"] == 10.0
    with pytest.raises(ValueError, match="radar.min_sped_mps"):
        resolve_config("easy", {"radar": {"min_sped_mps": 3}})
    with pytest.raises(ValueError, match="narco.flights_per_day"):
        resolve_config("easy", {"narco": {"flights_per_day": "many"}})
    with pytest.raises(ValueError, match="profile"):
        default_config("medium")


def test_every_parameter_is_documented():
    from centinela.sim.config import describe_parameters, parameters_markdown

    missing = [key for key, _, _, text in describe_parameters() if not text]
    assert not missing, f"parameters without a description: {missing}"
    doc = (Path(__file__).resolve().parents[1] / "docs" / "simulator.md").read_text()
    assert "does not model" in doc.lower()
    assert parameters_markdown() in doc, "docs/simulator.md is stale: regenerate with python -m centinela.sim.config"


@pytest.fixture(scope="module")
def busy_bridge(tmp_path_factory) -> Path:
    """Eight air-bridge flights a day, every strip cratered after use, every plane squawking for a while."""
    cfg = {"start": "2026-06-01T08:00:00Z", "strips": {"crater_probability_per_use": 1.0},
           "airline": {"routes": []}, "general": {"flights_per_day": 0.0}, "military": {"sorties_per_day": 0.0},
           "mission": {"flights_per_day": 0.0},
           "narco": {"flights_per_day": 8.0, "transponder_on_probability": 1.0, "spoof_icao24_probability": 1.0}}
    path = tmp_path_factory.mktemp("sim") / "bridge"
    simulate(path, days=0.2, seed=2, config=cfg)
    return path


def test_strip_successors_open_a_few_km_from_cratered_strips(busy_bridge):
    strips = pd.read_csv(busy_bridge / "truth" / "strips.csv", keep_default_na=False)
    narco = strips[strips["kind"] == "narco"].set_index("strip_id")
    successors = narco[narco["successor_of"] != ""]
    assert len(successors) >= 3
    for _, row in successors.iterrows():
        old = narco.loc[row["successor_of"]]
        d = haversine_m(old["lat"], old["lon"], row["lat"], row["lon"])
        assert 2_000 <= d <= 6_000
        assert float(row["active_from"]) > float(old["cratered_t"])


def test_spoofing_narco_planes_squawk_a_real_address_for_a_while(busy_bridge):
    truth, kinds = _truth(busy_bridge)
    details = pd.read_csv(busy_bridge / "truth" / "flight_details.csv", keep_default_na=False).set_index("truth_id")
    narco = details[details.index.map(kinds) == "narco"]
    assert (narco["transponder_episode"] == "on").all() and (narco["spoofed_icao24"] != "").all()
    states = truth.states[truth.states["truth_id"].map(kinds) == "narco"]
    share_on = states.groupby("truth_id")["transponder"].mean()
    assert ((share_on > 0) & (share_on < 0.2)).all(), "on briefly, dark the rest of the flight"
