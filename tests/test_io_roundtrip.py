"""Round trips of every reader and writer of centinela.io, on real files in their real formats."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from centinela.errors import InputError
from centinela.io import (
    InputWarning,
    iter_plots_jsonl,
    read_flightplans_csv,
    read_observations_jsonl,
    read_plots_jsonl,
    read_sbs,
    read_sensors_toml,
    read_truth,
    write_flightplans_csv,
    write_observations_jsonl,
    write_plots_jsonl,
    write_sbs,
    write_sensors_toml,
    write_truth,
)
from centinela.io._common import atomic_write_text
from centinela.io.airfields import read_airfields_csv, registered_airfields, write_airfields_csv
from centinela.io.outputs import read_outputs, write_outputs
from centinela.io.scenario import read_scenario
from centinela.model import (
    ADSB_COLUMNS,
    FLIGHTPLAN_COLUMNS,
    OBSERVATION_COLUMNS,
    PLOT_COLUMNS,
    Outputs,
    Sensor,
    Truth,
    conform,
)

T0 = 1_780_310_700.0  # 2026-06-01 10:45:00 UTC


def sensors() -> list[Sensor]:
    radar = {"scan_s": 10.0, "range_max_m": 150_000.0, "sigma_range_m": 50.0, "sigma_azimuth_deg": 0.2,
             "pd": 0.9, "clutter_per_scan": 2.5}
    return [
        Sensor("PSR-1", "psr", -12.6, -73.9, 2_400.0, mask_deg=0.5, sac=10, sic=1, **radar),
        Sensor("SSR-1", "ssr", -12.4, -73.5, 3_100.0, **radar, extra={"note": "Mode S", "beam_deg": 1.5}),
        Sensor("ADSB-1", "adsb", -12.5, -73.8, 600.0),
        Sensor("OBS-1", "observer", -12.7, -74.0, 900.0, range_max_m=8_000.0, sigma_azimuth_deg=5.0),
    ]


def plots(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    is_ssr = np.arange(n) % 2 == 1
    return conform(pd.DataFrame({
        "t": T0 + np.sort(rng.random(n)) * 600,
        "sensor": np.where(is_ssr, "SSR-1", "PSR-1"),
        "range_m": rng.random(n) * 150_000,
        "azimuth_deg": rng.random(n) * 360,
        "alt_m": np.where(is_ssr, rng.random(n) * 5000, np.nan),
        "icao24": pd.array(np.where(is_ssr, "e8044e", None), dtype="string"),
        "squawk": pd.array(np.where(is_ssr, "7500", None), dtype="string"),
        "callsign": pd.array(np.where(is_ssr, 'LPE"Ñ 1', None), dtype="string"),  # quote and non-ASCII
    }), PLOT_COLUMNS)


def test_sensors_round_trip(tmp_path):
    path = tmp_path / "sensors.toml"
    write_sensors_toml(sensors(), path, date="2026-06-01", start="10:45:00")
    back, meta = read_sensors_toml(path)
    assert back == sensors()
    assert meta == {"date": "2026-06-01", "start": "10:45:00"}
    write_sensors_toml(sensors()[:1], path)
    assert read_sensors_toml(path)[1] == {"date": None, "start": None}


def test_plots_round_trip_is_exact(tmp_path):
    path = tmp_path / "plots.jsonl"
    df = plots()
    write_plots_jsonl(df, path)
    first, second = path.read_text(encoding="utf-8").splitlines()[:2]
    assert set(json.loads(first)) == {"t", "sensor", "range_m", "azimuth_deg"}  # nulls omitted
    assert json.loads(second)["callsign"] == 'LPE"Ñ 1'
    pd.testing.assert_frame_equal(read_plots_jsonl(path), df)
    chunks = list(iter_plots_jsonl(path, chunk_rows=7))
    assert len(chunks) >= 4 and all(1 <= len(c) <= 14 for c in chunks)  # about 7 lines each
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), df)


def test_plots_empty_file_and_blank_lines(tmp_path):
    path = tmp_path / "plots.jsonl"
    write_plots_jsonl(plots(0), path)
    assert path.read_text() == "" and len(read_plots_jsonl(path)) == 0
    write_plots_jsonl(plots(5), path)
    text = path.read_text().replace("\n", "\n\n  \n", 2)
    path.write_text(text)
    pd.testing.assert_frame_equal(read_plots_jsonl(path), plots(5))


def test_plots_unsorted_whole_file_warns_and_sorts_but_stream_raises(tmp_path):
    path = tmp_path / "plots.jsonl"
    df = plots(10)
    # Rows alternate PSR-1, SSR-1: swapping rows 3 and 4 interleaves the sensors differently but keeps each
    # sensor in time order, which the contract allows: no warning.
    write_plots_jsonl(df.iloc[[0, 1, 2, 4, 3, 5, 6, 7, 8, 9]], path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pd.testing.assert_frame_equal(read_plots_jsonl(path), df)
    write_plots_jsonl(df.iloc[[0, 1, 4, 3, 2, 5, 6, 7, 8, 9]], path)  # PSR-1: rows 4 then 2 -> line 5 goes back
    with pytest.warns(InputWarning, match=r"plots.jsonl:5: field 't'"):
        back = read_plots_jsonl(path)
    pd.testing.assert_frame_equal(back, df)
    with pytest.raises(InputError) as e:
        list(iter_plots_jsonl(path, chunk_rows=3))  # across a chunk border, too
    assert (e.value.line, e.value.field) == (5, "t")


def adsb_messages() -> pd.DataFrame:
    nan = np.nan
    return conform(pd.DataFrame({
        "t": T0 + np.array([0.0, 0.5, 1.25, 2.0, 2.5]),
        "icao24": ["e8044e", "e8044e", "e8044e", "e8044e", "~0a1b2c"],
        "msg_type": [1, 3, 4, 6, 3],
        "callsign": ["LPE2101", None, None, None, None],
        "alt_m": [nan, 3048.0, nan, 3048.0, 0.0],
        "gs_mps": [nan, nan, 70.0, nan, nan],
        "track_deg": [nan, nan, 123.4, nan, nan],
        "lat": [nan, -12.51234, nan, nan, -12.0],
        "lon": [nan, -73.91234, nan, nan, -74.0],
        "vr_mps": [nan, nan, -2.54, nan, nan],
        "squawk": [None, None, None, "7500", None],
        "on_ground": pd.array([None, False, None, None, True], dtype="boolean"),
    }), ADSB_COLUMNS)


def test_sbs_round_trip_in_real_units(tmp_path):
    path = tmp_path / "adsb.sbs"
    df = adsb_messages()
    write_sbs(df, path)
    lines = path.read_text().splitlines()
    assert lines[1] == ("MSG,3,111,11111,E8044E,111111,2026/06/01,10:45:00.500,2026/06/01,10:45:00.500,"
                        ",10000,,,-12.51234,-73.91234,,,,,,0")
    velocity = lines[2].split(",")
    assert velocity[7] == "10:45:01.250" and velocity[12] == "136.1" and velocity[16] == "-500"
    back = read_sbs(path)
    assert list(back.columns) == list(ADSB_COLUMNS) and dict(back.dtypes.astype(str)) == {
        k: ("string" if v == "string" else v) for k, v in ADSB_COLUMNS.items()}
    # Precision of the format: alt 1 ft, speed 0.1 kt, rate 1 ft/min, 1 ms.
    np.testing.assert_allclose(back["alt_m"], df["alt_m"], atol=0.16)
    np.testing.assert_allclose(back["gs_mps"], df["gs_mps"], atol=0.03)
    np.testing.assert_allclose(back["vr_mps"], df["vr_mps"], atol=0.003)
    np.testing.assert_allclose(back["t"], df["t"], atol=5e-4, rtol=0)
    pd.testing.assert_frame_equal(back.drop(columns=["alt_m", "gs_mps", "vr_mps", "t"]),
                                  df.drop(columns=["alt_m", "gs_mps", "vr_mps", "t"]))


def test_sbs_reads_other_records_logged_time_and_ground_flag_one(tmp_path):
    path = tmp_path / "adsb.sbs"
    path.write_text(
        "SEL,,496,2286,4CA4E5,27215,2010/02/19,18:06:07.710,2010/02/19,18:06:07.710,RYR1427\n"
        "\n"
        "MSG,3,,,4CA4E5,,,,2010/02/19,18:06:08.000,,2500,,,51.5,-0.1,,,0,0,0,1\n"
        "MSG,8,,,4ca4e5,,2010/02/19,18:06:07.000,,,,,,,,,,,,,,\n")
    back = read_sbs(path)
    assert back["msg_type"].tolist() == [8, 3]  # sorted by time
    assert back["on_ground"].tolist()[1] is True and back["on_ground"].isna().tolist() == [True, False]
    assert back["t"].tolist() == [1266602767.0, 1266602768.0]


def test_observations_round_trip(tmp_path):
    path = tmp_path / "observations.jsonl"
    df = conform(pd.DataFrame({"t": [T0, T0 + 30.5], "sensor": ["OBS-1", "OBS-1"],
                               "azimuth_deg": [10.0, 359.5], "kind": ["sighting", "sound"]}), OBSERVATION_COLUMNS)
    write_observations_jsonl(df, path)
    pd.testing.assert_frame_equal(read_observations_jsonl(path), df)


def test_flightplans_round_trip_iso_times(tmp_path):
    path = tmp_path / "flightplans.csv"
    df = conform(pd.DataFrame({
        "callsign": ["LPE2101", "FAP, 301"], "icao24": ["e80123", None], "aircraft_type": ["A320", None],
        "origin": ["SPJC", "SPHO"], "destination": ["SPZO", "SPJC"], "off_block": [T0, T0 + 60],
        "eta": [T0 + 3600, np.nan]}), FLIGHTPLAN_COLUMNS)
    write_flightplans_csv(df, path)
    assert path.read_text().splitlines()[1] == "LPE2101,e80123,A320,SPJC,SPZO,2026-06-01T10:45:00Z,2026-06-01T11:45:00Z"
    pd.testing.assert_frame_equal(read_flightplans_csv(path), df)


def test_flightplans_accept_offsets_and_naive_times_as_utc(tmp_path):
    path = tmp_path / "flightplans.csv"
    path.write_text("callsign,icao24,aircraft_type,origin,destination,off_block,eta\n"
                    "A1,,,spjc,SPZO,2026-06-01T05:45:00-05:00,2026-06-01T10:45:00\n")
    back = read_flightplans_csv(path)
    assert back["off_block"].tolist() == [T0] and back["eta"].tolist() == [T0]
    assert back["origin"].tolist() == ["SPJC"]


def truth() -> Truth:
    states = pd.DataFrame({"t": [T0, T0 + 1.5], "truth_id": ["N1", "N1"], "lat": [-12.5, -12.51],
                           "lon": [-73.9, -73.91], "alt_m": [600.0, 612.25], "on_ground": [True, False],
                           "transponder": [False, False]})
    flights = pd.DataFrame({"truth_id": ["N1", "M1"], "kind": ["narco", "mission"],
                            "callsign": pd.array([None, "MAF, 12"], dtype="string"),
                            "icao24": pd.array([None, "e80001"], dtype="string")})
    events = pd.DataFrame({"kind": ["takeoff", "landing"], "truth_id": ["N1", "N1"], "t": [T0 + 1, T0 + 900.5],
                           "lat": [-12.5, -12.9], "lon": [-73.9, -73.5], "site": ["S-3", "S-9"],
                           "clandestine": [True, True]})
    return Truth(states, flights, events)


def test_truth_round_trip(tmp_path):
    expected = truth()
    write_truth(expected, tmp_path)
    back = read_truth(tmp_path)
    pd.testing.assert_frame_equal(back.states, expected.states, check_dtype=False)
    pd.testing.assert_frame_equal(back.flights, expected.flights, check_dtype=False)
    pd.testing.assert_frame_equal(back.events, expected.events, check_dtype=False)
    assert back.states["on_ground"].dtype == bool


def test_airfields_round_trip_and_registry(tmp_path):
    path = tmp_path / "airfields.csv"
    df = pd.DataFrame({"icao": ["SPXX", "SPYY"], "name": ["Pista, Norte", None], "lat": [-12.1, -12.2],
                       "lon": [-73.1, -73.2], "elevation_m": [640.0, np.nan]})
    write_airfields_csv(df, path)
    back = read_airfields_csv(path)
    pd.testing.assert_frame_equal(back, registered_airfields(back))
    assert back["name"].tolist()[0] == "Pista, Norte" and math.isnan(back["elevation_m"].iloc[1])
    registry = registered_airfields(None)
    lima = registry.set_index("icao").loc["SPJC"]
    assert abs(lima["elevation_m"] - 113 * 0.3048) < 1e-9 and lima["country"] == "PE"
    registry.loc[:, "lat"] = 0.0  # callers get a copy, never the cached registry
    assert registered_airfields(None).set_index("icao").loc["SPJC", "lat"] != 0.0


def write_scenario(folder, n_plots: int = 10) -> None:
    write_sensors_toml(sensors(), folder / "sensors.toml", date="2026-06-01")
    write_plots_jsonl(plots(n_plots), folder / "plots.jsonl")
    write_sbs(adsb_messages(), folder / "adsb.sbs")
    write_observations_jsonl(pd.DataFrame({"t": [T0], "sensor": ["OBS-1"], "azimuth_deg": [90.0],
                                           "kind": ["sound"]}), folder / "observations.jsonl")


def test_read_scenario_reads_every_input_and_never_truth(tmp_path):
    write_scenario(tmp_path)
    (tmp_path / "truth").mkdir()
    (tmp_path / "truth" / "states.csv").write_text("garbage that would fail to parse\n")
    s = read_scenario(tmp_path)
    assert [x.id for x in s.sensors] == ["PSR-1", "SSR-1", "ADSB-1", "OBS-1"] and s.date == "2026-06-01"
    assert len(s.plots) == 10 and len(s.adsb) == 5 and len(s.observations) == 1
    assert list(s.flightplans.columns) == list(FLIGHTPLAN_COLUMNS) and len(s.flightplans) == 0
    assert s.airfields is None and s.sensor("OBS-1").kind == "observer"


def test_read_scenario_checks_files_against_each_other(tmp_path):
    write_scenario(tmp_path)
    bad = plots(6)
    bad.loc[4, "sensor"] = "ADSB-1"  # a sensor of sensors.toml, but not a radar
    write_plots_jsonl(bad, tmp_path / "plots.jsonl")
    with pytest.raises(InputError, match="not a radar of sensors.toml") as e:
        read_scenario(tmp_path)
    assert (e.value.line, e.value.field) == (5, "sensor")
    write_plots_jsonl(plots(6), tmp_path / "plots.jsonl")
    write_observations_jsonl(pd.DataFrame({"t": [T0], "sensor": ["PSR-1"], "azimuth_deg": [90.0],
                                           "kind": ["sound"]}), tmp_path / "observations.jsonl")
    with pytest.raises(InputError, match="not an observer") as e:
        read_scenario(tmp_path)
    assert e.value.line == 1


def test_read_scenario_reads_binary_asterix_and_raw_mode_s(tmp_path):
    from centinela.sources import write_cat048

    write_scenario(tmp_path)
    psr_plots = plots(20)
    psr_plots = psr_plots[psr_plots["sensor"] == "PSR-1"].reset_index(drop=True)
    (tmp_path / "plots.jsonl").unlink()
    write_cat048(psr_plots, sensors(), tmp_path / "plots.ast")
    (tmp_path / "adsb.sbs").unlink()
    # A real airborne-position message pair (even/odd CPR) as quoted in pyModeS's documentation.
    (tmp_path / "adsb.hex").write_text("1780310700.0 8D40621D58C382D690C8AC2863A7\n"
                                       "1780310701.0 8D40621D58C386435CC412692AD6\n")
    s = read_scenario(tmp_path)
    assert len(s.plots) == len(psr_plots)
    assert np.allclose(s.plots["range_m"], psr_plots["range_m"], atol=8.0)  # RHO is in 1/256 NM steps
    assert np.allclose(s.plots["t"], psr_plots["t"], atol=0.01)  # I140 is in 1/128 s steps
    positions = s.adsb[s.adsb["msg_type"] == 3].dropna(subset=["lat"])
    assert len(positions) >= 1 and set(s.adsb["icao24"].dropna()) == {"40621d"}
    (tmp_path / "sensors.toml").unlink()
    with pytest.raises(InputError, match="sensors.toml"):
        read_scenario(tmp_path)


def outputs() -> Outputs:
    tracks = pd.DataFrame({
        "t": [T0, T0 + 10, T0 + 20, T0], "track_id": ["T1", "T1", "T1", "T2"],
        "lat": [-12.0, -12.1, -12.2, -13.0], "lon": [-73.0, -73.1, -73.2, -74.0],
        "alt_m": [np.nan, 100.0, 200.0, np.nan], "vn_mps": [1.0, 1.0, 1.0, 0.0], "ve_mps": [0.5, 0.5, 0.5, 0.0],
        "sigma_pos_m": [50.0, 40.0, 40.0, 80.0], "flight_id": ["F1", "F1", "F1", None],
        "icao24": [None, "e8044e", None, None]})
    events = pd.DataFrame({"kind": ["landing"], "t": [T0 + 20], "t_end": [np.nan], "lat": [-12.2],
                           "lon": [-73.2], "track_ids": [["T1", "T2"]], "airstrip_id": ["S1"],
                           "confidence": [np.float64(0.8)], "evidence": [{"gap_s": np.int64(600), "x": np.nan}]})
    airstrips = pd.DataFrame({"id": ["S1", "S2"], "lat": [-12.2, -12.3], "lon": [-73.2, -73.3],
                              "registered": [False, True], "icao": [None, "SPXX"], "landings": [3, 0],
                              "first_seen": [T0, np.nan], "last_seen": [T0 + 20, np.nan],
                              "confidence": [0.9, 1.0], "successor_of": [None, "S0"]})
    assessments = pd.DataFrame({"track_id": ["T1", "T2"], "score": [0.93, 0.02],
                                "explanations": [["military"], []]})
    alerts = pd.DataFrame({"alert_id": ["A1"], "track_ids": [["T1"]], "score": [0.93], "t_issued": [T0 + 10],
                           "indicators": [{"no_transponder": True}],
                           "predicted_site": [{"lat": -12.2, "lon": -73.2, "airstrip_id": "S1"}],
                           "eta": [T0 + 600], "eta_window_s": [300.0]})
    return Outputs(tracks, events, airstrips, assessments, alerts, stages={"track": "ran", "alert": "ran"})


def test_outputs_round_trip_with_strict_json(tmp_path):
    out = tmp_path / "out"
    expected = outputs()
    write_outputs(expected, out, "<html>report</html>")
    assert sorted(p.name for p in out.iterdir()) == [
        "airstrips.geojson", "alerts.jsonl", "assessments.csv", "events.jsonl", "report.html", "stages.json",
        "tracks.geojson", "tracks.parquet"]
    for name in ("events.jsonl", "alerts.jsonl", "airstrips.geojson", "tracks.geojson"):
        text = (out / name).read_text()
        assert "NaN" not in text and "Infinity" not in text
        for line in text.splitlines():
            json.loads(line, parse_constant=lambda c, name=name: pytest.fail(f"{name}: non-strict JSON {c}"))
    geo = json.loads((out / "tracks.geojson").read_text())["features"]
    assert [f["geometry"]["type"] for f in geo] == ["LineString", "Point"]
    assert geo[0]["properties"] == {"track_id": "T1", "flight_id": "F1", "icao24": "e8044e", "callsign": None,
                                    "t_start": T0, "t_end": T0 + 20, "n_points": 3}
    assert geo[0]["geometry"]["coordinates"][2] == [-73.2, -12.2]

    back = read_outputs(out)
    pd.testing.assert_frame_equal(back.tracks, conform(expected.tracks, back.tracks.dtypes.astype(str).to_dict()))
    assert back.events.iloc[0]["track_ids"] == ["T1", "T2"]
    assert back.events.iloc[0]["evidence"] == {"gap_s": 600, "x": None}
    assert back.airstrips["landings"].tolist() == [3, 0] and back.airstrips["registered"].tolist() == [False, True]
    assert back.airstrips["successor_of"].tolist()[1] == "S0"
    assert back.assessments["score"].tolist() == [0.93, 0.02]
    assert back.alerts.iloc[0]["predicted_site"] == {"lat": -12.2, "lon": -73.2, "airstrip_id": "S1"}
    assert back.stages == {"track": "ran", "alert": "ran"}


def test_read_outputs_tolerates_missing_files(tmp_path):
    out = tmp_path / "out"
    write_outputs(outputs(), out)
    (out / "alerts.jsonl").unlink()
    (out / "tracks.parquet").unlink()
    back = read_outputs(out)
    assert back.stages["alerts.jsonl"] == "missing" and back.stages["tracks.parquet"] == "missing"
    assert len(back.alerts) == 0 and "alert_id" in back.alerts.columns and len(back.events) == 1
    assert read_outputs(tmp_path / "nowhere").stages["events.jsonl"] == "missing"


def test_write_outputs_failure_leaves_out_untouched(tmp_path):
    out = tmp_path / "out"
    write_outputs(outputs(), out, "<html>first</html>")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    broken = outputs()
    broken.alerts = broken.alerts.assign(score=["not a number"])  # fails late, after tracks were staged
    with pytest.raises((ValueError, TypeError)):
        write_outputs(broken, out, "<html>second</html>")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left behind
    write_outputs(Outputs(), out, None)  # an empty run replaces everything, and removes the stale report
    assert "report.html" not in {p.name for p in out.iterdir()}
    assert len(read_outputs(out).tracks) == 0


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "plots.jsonl"
    write_plots_jsonl(plots(3), path)
    before = path.read_bytes()
    bad = plots(3)
    bad.loc[1, "range_m"] = np.nan  # a required field: the writer refuses
    with pytest.raises(ValueError, match="range_m"):
        write_plots_jsonl(bad, path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["plots.jsonl"]

    class Boom(Exception):
        pass

    from centinela.io._common import atomic_open

    with pytest.raises(Boom), atomic_open(path, "w") as f:
        f.write("half")
        raise Boom
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["plots.jsonl"]
    atomic_write_text(tmp_path / "new" / "x.txt", "ok")
    assert (tmp_path / "new" / "x.txt").read_text() == "ok"


def test_parse_sbs_bytes_can_skip_bad_lines_and_keeps_input_numbering():
    from centinela.io.sbs import parse_sbs_bytes

    good = b"MSG,3,,,E8044E,,2026/06/01,10:45:00.000,,,,1000,,,-12.5,-73.9,,,,,,0\n"
    data = good + b"MSG,3,,,E8044E,,2026/06/01,10:45:01.000,,,,1000,,,-95,-73.9,,,,,,0\n" + b"\n" + good + b"junk\n"
    df, errors = parse_sbs_bytes(data, skip_bad_lines=True)
    assert len(df) == 2 and [(e.line, e.field) for e in errors] == [(2, "lat"), (5, "record")]
    assert str(errors[1]).startswith("<sbs stream>:5:")
    with pytest.raises(InputError) as e:
        parse_sbs_bytes(data)
    assert (e.value.line, e.value.field) == (5, "record")  # structural problems are reported first
