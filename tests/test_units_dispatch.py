"""Units register and dispatch policy: minimal distribution, named roles, widening with a second person."""
from __future__ import annotations

import pandas as pd
import pytest

from centinela.alerts.dispatch import (
    DISPATCH_COLUMNS,
    DispatchPolicy,
    plan_dispatch,
    reach_times_s,
    read_dispatch_csv,
    widen,
    write_dispatch_csv,
)
from centinela.alerts.units import (
    UNIT_COLUMNS,
    default_units,
    read_approvers,
    read_units,
    scenario_units,
)
from centinela.errors import InputError
from centinela.geo.frames import destination

UNIT = """
[[unit]]
unit_id = "{uid}"
kind = "{kind}"
clearance = {clearance}
lat = {lat}
lon = {lon}
area_radius_m = {area}
means = "{means}"
speed_kmh = {speed}
ready_min = {ready}
always = {always}
"""


def unit_toml(uid, kind="police", clearance=2, lat=-12.5, lon=-73.8, area=50_000.0, means="road", speed=36.0,
              ready=10.0, always="false"):
    return UNIT.format(uid=uid, kind=kind, clearance=clearance, lat=lat, lon=lon, area=area, means=means,
                       speed=speed, ready=ready, always=always)


def alert(alert_id="A1", lat=-12.5, lon=-73.8, t_issued=1_780_300_000.0, minutes_to_eta=30.0):
    return {"alert_id": alert_id, "t_issued": t_issued, "eta": t_issued + 60.0 * minutes_to_eta,
            "eta_window_s": 900.0, "predicted_site": {"lat": lat, "lon": lon, "airstrip_id": None},
            "sigma_site_m": 1_000.0}


@pytest.fixture
def register(tmp_path):
    # Two road units 9 and 18 km from the site (36 km/h = 10 m/s), a helicopter far away, a prosecutor, the
    # operations centre, an uncleared local station right at the site, and an army command.
    site_lat, site_lon = -12.5, -73.8
    lat9, lon9 = destination(site_lat, site_lon, 90.0, 9_000.0)
    lat18, lon18 = destination(site_lat, site_lon, 270.0, 18_000.0)
    lat_far, lon_far = destination(site_lat, site_lon, 0.0, 120_000.0)
    text = 'approvers = ["boss", "prosecutor.general"]\n' + "".join([
        unit_toml("NEAR", lat=float(lat9), lon=float(lon9)),
        unit_toml("FAR", lat=float(lat18), lon=float(lon18)),
        unit_toml("HELI", lat=float(lat_far), lon=float(lon_far), area=200_000.0, means="helicopter",
                  speed=180.0, ready=20.0),
        unit_toml("LOCAL", clearance=1, ready=1.0),
        unit_toml("PROSECUTOR", kind="prosecutor", clearance=3, means="none", speed=0.0, ready=0.0,
                  always="true"),
        unit_toml("OPS", kind="command", clearance=3, means="none", speed=0.0, ready=0.0, area=400_000.0,
                  always="true"),
        unit_toml("ARMY", kind="military", means="helicopter", speed=180.0, ready=5.0),
    ])
    path = tmp_path / "units.toml"
    path.write_text(text)
    return path


def test_default_register_is_valid_and_covers_every_kind():
    units = default_units()
    assert list(units.columns) == UNIT_COLUMNS
    assert len(units) >= 20 and units["unit_id"].is_unique
    assert set(units["kind"]) == {"police", "prosecutor", "military", "analyst", "command"}
    # VRAEM: the police bases are in the valley, roughly -11 .. -13.5 latitude
    police = units[units["kind"] == "police"]
    assert police["lat"].between(-13.5, -11.0).all() and police["lon"].between(-75.0, -73.5).all()


def test_scenario_register_overrides_default(tmp_path, register):
    assert len(scenario_units(tmp_path)) == 7  # the fixture wrote tmp_path/units.toml
    assert len(scenario_units(tmp_path / "elsewhere")) == len(default_units())
    assert read_approvers(register) == ["boss", "prosecutor.general"]


@pytest.mark.parametrize("field, value, message", [
    ("kind", '"navy"', "unknown kind"),
    ("clearance", "5", "integer 0..3"),
    ("speed_kmh", "-3.0", "speed in km/h"),
    ("means", '"boat"', "unknown means"),
])
def test_bad_unit_is_named_with_its_field_and_line(tmp_path, field, value, message):
    text = unit_toml("OK") + unit_toml("BROKEN")
    head, tail = text.rsplit(f"\n{field} = ", 1)
    tail = tail.split("\n", 1)[1]
    path = tmp_path / "units.toml"
    path.write_text(f"{head}\n{field} = {value}\n{tail}")
    with pytest.raises(InputError) as e:
        read_units(path)
    assert e.value.field == field and "BROKEN" in str(e.value) and message in str(e.value)
    assert path.read_text().splitlines()[e.value.line - 1].startswith(field)


def test_reach_time_is_ready_plus_travel(register):
    units = read_units(register)
    reach_s, distance_m = reach_times_s(units, -12.5, -73.8)
    near = units.index[units["unit_id"] == "NEAR"][0]
    assert distance_m[near] == pytest.approx(9_000.0, rel=1e-3)
    assert reach_s[near] == pytest.approx(600.0 + 900.0, rel=1e-3)  # 10 min ready + 9 km at 10 m/s
    assert reach_s[units.index[units["unit_id"] == "PROSECUTOR"][0]] == float("inf")


def test_smallest_set_that_can_act_plus_named_roles(register):
    units = read_units(register)
    d = plan_dispatch(pd.DataFrame([alert(minutes_to_eta=30.0)]), units)
    assert list(d.columns) == DISPATCH_COLUMNS
    # NEAR (25 min) beats FAR (40 min); LOCAL is nearer but uncleared; ARMY is never in the default set.
    assert d["unit_id"].tolist() == ["NEAR", "PROSECUTOR", "OPS"]
    assert d["reason"].iloc[0].startswith("acts: reaches the site in 25 min")
    assert d["widened_by"].isna().all()


def test_ground_operation_counts_and_nobody_acts_when_too_late(register):
    units = read_units(register)
    # 16 min to the ETA: NEAR needs 25 min but the plane stays ~10 min on the ground -> 26 min available.
    assert plan_dispatch(pd.DataFrame([alert(minutes_to_eta=16.0)]), units)["unit_id"].iloc[0] == "NEAR"
    late = plan_dispatch(pd.DataFrame([alert(minutes_to_eta=10.0)]), units)
    assert late["unit_id"].tolist() == ["PROSECUTOR", "OPS"]
    assert "no cleared unit can reach the site in time" in late["reason"].iloc[0]


def test_policy_can_ask_for_more_units_and_other_kinds(register):
    units = read_units(register)
    two = plan_dispatch(pd.DataFrame([alert(minutes_to_eta=60.0)]), units, DispatchPolicy(units_needed=2))
    assert two["unit_id"].tolist()[:2] == ["NEAR", "FAR"]
    army = plan_dispatch(pd.DataFrame([alert(minutes_to_eta=60.0)]), units,
                         DispatchPolicy(acting_kinds=("police", "military"), named_kinds=()))
    assert army["unit_id"].tolist() == ["ARMY"]  # 5 min ready, at the site


def test_widen_needs_a_second_authorised_person_and_a_reason(register, tmp_path):
    units = read_units(register)
    d = plan_dispatch(pd.DataFrame([alert()]), units)
    authorised = read_approvers(register)
    with pytest.raises(PermissionError, match="second person"):
        widen(d, "A1", "FAR", requested_by="boss", approved_by="boss", reason="backup", authorised=authorised)
    with pytest.raises(PermissionError, match="not authorised"):
        widen(d, "A1", "FAR", requested_by="ana", approved_by="luis", reason="backup", authorised=authorised)
    with pytest.raises(InputError, match="reason"):
        widen(d, "A1", "FAR", requested_by="ana", approved_by="boss", reason="  ", authorised=authorised)
    with pytest.raises(PermissionError, match="clearance"):
        widen(d, "A1", "LOCAL", requested_by="ana", approved_by="boss", reason="x", authorised=authorised,
              units=units)
    with pytest.raises(InputError, match="already receives"):
        widen(d, "A1", "NEAR", requested_by="ana", approved_by="boss", reason="x", authorised=authorised)
    wider = widen(d, "A1", "FAR", requested_by="ana", approved_by="boss", reason="second team for the strip",
                  authorised=authorised, units=units, t_dispatched=1_780_300_100.0)
    assert len(wider) == len(d) + 1
    row = wider.iloc[-1]
    assert (row["unit_id"], row["widened_by"], row["approved_by"]) == ("FAR", "ana", "boss")
    assert row["reason"] == "widened: second team for the strip"
    write_dispatch_csv(wider, tmp_path / "dispatch.csv")
    back = read_dispatch_csv(tmp_path / "dispatch.csv")
    pd.testing.assert_frame_equal(back, wider, check_dtype=False)


def test_alert_without_site_goes_to_the_roles_that_do_not_depend_on_the_site(register):
    bad = alert()
    bad["predicted_site"] = {"lat": None, "lon": None, "airstrip_id": None}
    plan = plan_dispatch(pd.DataFrame([bad]), read_units(register))
    assert plan["unit_id"].tolist() == ["PROSECUTOR", "OPS"]  # no acting unit: none can be checked to reach it
    assert plan["reason"].str.contains("site unknown").all()


def test_a_unit_both_acting_and_named_is_listed_once_as_acting(register):
    units = read_units(register)
    units.loc[units["unit_id"] == "NEAR", "always"] = True
    policy = DispatchPolicy(named_kinds=("police", "command"))
    plan = plan_dispatch(pd.DataFrame([alert()]), units, policy)
    near = plan[plan["unit_id"] == "NEAR"]
    assert len(near) == 1 and near["reason"].iloc[0].startswith("acts")
    assert plan["unit_id"].tolist() == ["NEAR", "OPS"]
