"""Indicators on hand-made flights whose every fact is known (centinela.assess.examples)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from centinela import model
from centinela.assess.examples import NOON_T0, airliner_with_plan, dark_dawn_stop, helicopter_hop
from centinela.assess.explanations import HELICOPTER_HOP, explain
from centinela.assess.indicators import (
    AIRBORNE_INDICATORS,
    FLIGHT_INDICATORS,
    airborne_indicators,
    flight_keys,
    indicators,
    track_rows,
)


def flight_row(case) -> pd.Series:
    table = indicators(case.scenario, case.outputs, registered=case.registered)
    assert table["flight_id"].nunique() == 1
    return table.iloc[0]


def test_dark_dawn_stop_on_a_clandestine_strip_shows_every_air_bridge_indicator():
    row = flight_row(dark_dawn_stop())
    for name in ("no_transponder", "no_flight_plan", "unregistered_landing", "ground_time_5_20min",
                 "dawn_landing", "dawn"):
        assert row[name] == 1.0, name
    assert row["light_plane_speed"] > 0.8  # a 70 m/s single-engine plane
    assert row["arrives_from_bolivia"] > 0.9  # appeared in the air flying west, away from Bolivia
    assert row["slow_flight"] == 0.0 and row["fast_flight"] == 0.0
    assert row["starts_at_airfield"] == 0.0 and row["lands_at_base"] == 0.0


def test_ground_time_outside_the_loading_band_is_not_flagged():
    assert flight_row(dark_dawn_stop(ground_s=45 * 60.0))["ground_time_5_20min"] == 0.0


def test_noon_landing_is_not_a_dawn_landing():
    assert flight_row(dark_dawn_stop(t0=NOON_T0))["dawn_landing"] == 0.0


def test_airliner_with_adsb_and_a_filed_plan():
    row = flight_row(airliner_with_plan())
    assert row["no_transponder"] == 0.0
    assert row["no_flight_plan"] == 0.0
    assert row["fast_flight"] == 1.0 and row["light_plane_speed"] == 0.0
    assert row["unregistered_landing"] == 0.0 and row["dawn"] == 0.0


def test_a_plan_filed_for_another_day_does_not_match():
    case = airliner_with_plan()
    plans = case.scenario.flightplans.copy()
    plans[["off_block", "eta"]] += 2 * 86_400.0
    case.scenario.flightplans = plans
    assert flight_row(case)["no_flight_plan"] == 1.0


def test_helicopter_hop_from_a_base_gets_the_helicopter_explanation():
    case = helicopter_hop()
    table = indicators(case.scenario, case.outputs, registered=case.registered)
    row = table.iloc[0]
    assert row["starts_at_base"] == 1.0
    assert row["slow_flight"] > 0.1  # the slow final before the hover
    assert HELICOPTER_HOP in explain(table)[0]
    # ...and the air-bridge plane does not get it
    assert HELICOPTER_HOP not in explain(indicators(*_inputs(dark_dawn_stop())))[0]


def _inputs(case):
    return case.scenario, case.outputs


def test_tracks_joined_by_a_ground_stop_are_one_flight():
    tracks = pd.DataFrame({"track_id": ["a", "b", "c", "d"], "flight_id": ["F1", "F1", pd.NA, "F9"]})
    events = pd.DataFrame({"kind": ["ground_stop"], "track_ids": [["b", "c"]]})
    keys = flight_keys(tracks, events)
    assert keys["a"] == keys["b"] == keys["c"] == "F1"
    assert keys["d"] == "F9"


def test_airborne_indicators_are_causal():
    """The value at an update equals the value computed from the track cut at that update."""
    case = dark_dawn_stop()
    rows = track_rows(case.scenario, case.outputs, registered=case.registered)
    kwargs = {"events": case.outputs.events, "flightplans": case.scenario.flightplans,
              "registered": case.registered, "airstrips": case.outputs.airstrips}
    full = airborne_indicators(rows, **kwargs)
    for cut in (5, 60, len(rows) // 2, len(rows) - 1):
        prefix = rows.iloc[: cut + 1]
        known_events = case.outputs.events[case.outputs.events["t"] <= float(prefix["t"].iloc[-1])]
        part = airborne_indicators(prefix, **{**kwargs, "events": known_events})
        np.testing.assert_allclose(part.iloc[-1].to_numpy(float), full.iloc[cut].to_numpy(float), atol=1e-9,
                                   err_msg=f"cut at update {cut}")


def test_indicator_table_has_one_documented_column_per_indicator():
    import importlib

    module = importlib.import_module("centinela.assess.indicators")  # the package re-exports a same-named function
    table = indicators(*_inputs(airliner_with_plan()), registered=airliner_with_plan().registered)
    assert list(table.columns) == ["track_id", "flight_id", *FLIGHT_INDICATORS]
    for name in FLIGHT_INDICATORS:
        assert f"``{name}``" in module.__doc__, f"{name} is not documented"
    assert set(AIRBORNE_INDICATORS) < set(FLIGHT_INDICATORS)


def test_no_tracks_give_an_empty_table():
    case = airliner_with_plan()
    case.outputs.tracks = model.empty_frame(model.TRACK_COLUMNS)
    assert len(indicators(case.scenario, case.outputs, registered=case.registered)) == 0


@pytest.mark.parametrize("t_local_h, expected", [(2.0, False), (6.3, True), (7.0, True), (9.0, False),
                                                 (17.8, False)])
def test_dawn_window_follows_the_sun(t_local_h, expected):
    from centinela.assess.solar import is_dawn

    midnight_local = 1_780_290_000.0  # 2026-06-01 05:00 UTC = 00:00 local (UTC-5)
    assert bool(is_dawn(midnight_local + t_local_h * 3600.0, -12.5, -73.8)) is expected
