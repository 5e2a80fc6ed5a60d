"""Bad input: readers raise InputError — and nothing else — naming the right line and field.

Property-based tests write a valid file with the real writer, break one line in one of the ways real files
break (malformed JSON, wrong type, missing field, out-of-range value, truncation, unsorted times), and check
the error. Blank lines are sprinkled in so line numbering is tested too.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from centinela.errors import InputError
from centinela.io import (
    InputWarning,
    iter_plots_jsonl,
    read_flightplans_csv,
    read_observations_jsonl,
    read_plots_jsonl,
    read_sbs,
    read_sensors_toml,
    write_plots_jsonl,
    write_sbs,
)
from centinela.io.airfields import read_airfields_csv
from centinela.io.outputs import read_outputs
from centinela.io.truth import read_truth

T0 = 1_780_310_700.0
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def valid_plot_lines(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"t": T0 + np.arange(n) * 1.5, "sensor": np.where(np.arange(n) % 3 == 0, "SSR-1", "PSR-1"),
                       "range_m": rng.random(n) * 1e5, "azimuth_deg": rng.random(n) * 360,
                       "alt_m": np.where(np.arange(n) % 3 == 0, 1500.0, np.nan)})
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        write_plots_jsonl(df, Path(d) / "p.jsonl")
        return (Path(d) / "p.jsonl").read_text().splitlines()


# How a line of plots.jsonl breaks: (name, field the error must name, function from the parsed object to text)
WRONG_VALUES = {
    "t": ["1780310700", True, [1], {"a": 1}, 1780310700000.0, -5.0, 0, None],
    "sensor": [5, False, ["PSR-1"], None, "", "   "],
    "range_m": ["45210.3", -1.0, 1e12, None, True],
    "azimuth_deg": ["87.1", -0.5, 360.5, 1e9, None],
    "alt_m": ["high", -5000.0, 1e6, [1.0]],
    "icao24": [123456, "xyz123", "e8044e0", ""],
    "squawk": [7500, "7800", "75000"],
    "callsign": [12, ["A"]],
}


@st.composite
def broken_plots(draw):
    n = draw(st.integers(2, 25))
    lines = valid_plot_lines(n, draw(st.integers(0, 1000)))
    k = draw(st.integers(0, n - 1))
    how = draw(st.sampled_from(["garbage", "wrong_value", "missing", "truncated", "not_object", "two_objects"]))
    field = None
    if how == "garbage":
        lines[k] = draw(st.sampled_from(['{"t": 1780310700.0, "sensor": "PSR-1"', "not json", '{"t": }',
                                         '{"t": 1, "t": 2, "sensor": "PSR-1", "range_m": 1, "azimuth_deg": 1}',
                                         ('{"t": 1780310700.0, "sensor": "PSR-1", "range_m": 1.0, '
                                          '"azimuth_deg": 2.0} trailing'), '{"sensor": "\\ud800"}']))
        field = "t" if '"t": 2' in lines[k] else ("sensor" if "ud800" in lines[k] else None)
    elif how == "wrong_value":
        field = draw(st.sampled_from(sorted(WRONG_VALUES)))
        obj = json.loads(lines[k])
        obj[field] = draw(st.sampled_from(WRONG_VALUES[field]))
        lines[k] = json.dumps(obj)
    elif how == "missing":
        field = draw(st.sampled_from(["t", "sensor", "range_m", "azimuth_deg"]))
        obj = json.loads(lines[k])
        del obj[field]
        lines[k] = json.dumps(obj)
    elif how == "truncated":
        k = n - 1
        lines[k] = lines[k][: draw(st.integers(1, len(lines[k]) - 1))]
    elif how == "not_object":
        lines[k] = draw(st.sampled_from(["[1, 2]", "3", '"plot"', "null"]))
    elif how == "two_objects":
        lines[k] = lines[k] + " " + lines[k]
    blanks = draw(st.lists(st.integers(0, n), max_size=3))
    expected_line = k + 1 + sum(1 for b in blanks if b <= k)
    for b in sorted(blanks, reverse=True):
        lines.insert(b, "  " if b % 2 else "")
    text = "\n".join(lines) + ("" if how == "truncated" else "\n")
    return text, expected_line, field


@SETTINGS
@given(case=broken_plots(), chunk_rows=st.sampled_from([3, 200_000]))
def test_broken_plots_raise_input_error_at_the_right_line(tmp_path, case, chunk_rows):
    text, line, field = case
    path = tmp_path / "plots.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_plots_jsonl(path)
    assert (e.value.line, e.value.field) == (line, field), str(e.value)
    assert str(e.value).startswith(f"{path}:{line}:")
    with pytest.raises(InputError) as e:
        for _ in iter_plots_jsonl(path, chunk_rows=chunk_rows):
            pass
    assert (e.value.line, e.value.field) == (line, field), str(e.value)


@SETTINGS
@given(n=st.integers(3, 30), data=st.data())
def test_unsorted_plots_warn_and_sort_whole_file_and_raise_when_streaming(tmp_path, n, data):
    lines = valid_plot_lines(n, 0)
    i, j = sorted(data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True)))
    lines[i], lines[j] = lines[j], lines[i]
    sensors = [json.loads(x)["sensor"] for x in lines]
    # The first line whose time is earlier than an earlier line of its sensor.
    last: dict[str, float] = {}
    expected = None
    for k, x in enumerate(lines):
        obj = json.loads(x)
        if obj["t"] < last.get(obj["sensor"], -np.inf) and expected is None:
            expected = k + 1
        last[obj["sensor"]] = max(last.get(obj["sensor"], -np.inf), obj["t"])
    path = tmp_path / "plots.jsonl"
    path.write_text("\n".join(lines) + "\n")
    chunk_rows = data.draw(st.integers(1, n))
    if expected is None:  # the two swapped plots came from different sensors: still in order per sensor
        assert sensors[i] != sensors[j]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert np.all(np.diff(read_plots_jsonl(path)["t"]) >= 0)
        assert sum(len(c) for c in iter_plots_jsonl(path, chunk_rows=chunk_rows)) == n
        return
    with pytest.warns(InputWarning, match=f"plots.jsonl:{expected}: field 't'"):
        df = read_plots_jsonl(path)
    assert np.all(np.diff(df["t"]) >= 0) and len(df) == n
    with pytest.raises(InputError) as e:
        list(iter_plots_jsonl(path, chunk_rows=chunk_rows))
    assert (e.value.line, e.value.field) == (expected, "t")


def valid_sbs_lines(n: int) -> list[str]:
    import tempfile
    from pathlib import Path

    df = pd.DataFrame({"t": T0 + np.arange(n) * 0.5, "icao24": ["e8044e"] * n, "msg_type": [3, 4, 1] * (n // 3)
                       + [3] * (n % 3), "alt_m": 3000.0, "lat": -12.5, "lon": -73.9, "gs_mps": 70.0,
                       "track_deg": 90.0, "vr_mps": 1.0, "callsign": "LPE123", "squawk": "1200",
                       "on_ground": False})
    with tempfile.TemporaryDirectory() as d:
        write_sbs(df, Path(d) / "a.sbs")
        return (Path(d) / "a.sbs").read_text().splitlines()


SBS_BREAKS = {  # field index -> (field name the error names, bad values)
    1: ("msg_type", ["9", "x", "", "0"]),
    4: ("hex_ident", ["", "XYZ123", "E8044E00"]),
    6: ("date_gen", ["2026-06-01", "yesterday", "1970/01/01", "2026/13/01"]),
    7: ("time_gen", ["25:00:00.000", "10:45", "noon"]),
    11: ("altitude_ft", ["high", "200000", "-5000"]),
    12: ("ground_speed_kt", ["fast", "-1", "9000"]),
    13: ("track_deg", ["north", "361"]),
    14: ("lat", ["-95.0", "south"]),
    15: ("lon", ["181", "1,2"]),
    16: ("vertical_rate_fpm", ["40000", "up"]),
    17: ("squawk", ["7800", "12345"]),
    21: ("is_on_ground", ["2", "yes"]),
}


@st.composite
def broken_sbs(draw):
    n = draw(st.integers(2, 20))
    lines = valid_sbs_lines(n)
    k = draw(st.integers(0, n - 1))
    how = draw(st.sampled_from(["field", "count", "truncated", "record"]))
    fields = lines[k].split(",")
    field = None
    if how == "field":
        index = draw(st.sampled_from(sorted(SBS_BREAKS)))
        field, values = SBS_BREAKS[index]
        fields[index] = draw(st.sampled_from(values))
        if fields[index] == "1,2":
            field = None  # a comma inside a field adds a field
        lines[k] = ",".join(fields)
    elif how == "count":
        lines[k] = ",".join(fields[:-1] if draw(st.booleans()) else fields + ["0"])
    elif how == "truncated":
        k = n - 1
        # Cutting only the last character can leave a valid line (an empty on-ground flag): cut at least two.
        lines[k] = lines[k][: draw(st.integers(1, len(lines[k]) - 2))]
        field = "record" if not lines[k].startswith("MSG,") else None
    else:
        lines[k] = "XYZ," + ",".join(fields[1:])
        field = "record"
    blanks = draw(st.lists(st.integers(0, n), max_size=3))
    expected_line = k + 1 + sum(1 for b in blanks if b <= k)
    for b in sorted(blanks, reverse=True):
        lines.insert(b, "")
    text = "\n".join(lines) + ("" if how == "truncated" else "\n")
    return text, expected_line, field


@SETTINGS
@given(case=broken_sbs())
def test_broken_sbs_raise_input_error_at_the_right_line(tmp_path, case):
    text, line, field = case
    path = tmp_path / "adsb.sbs"
    path.write_text(text)
    with pytest.raises(InputError) as e:
        read_sbs(path)
    assert (e.value.line, e.value.field) == (line, field), str(e.value)


@SETTINGS
@given(data=st.data())
def test_broken_observations(tmp_path, data):
    good = {"t": T0, "sensor": "OBS-1", "azimuth_deg": 12.0, "kind": "sighting"}
    field, value = data.draw(st.sampled_from([("kind", "smell"), ("kind", None), ("azimuth_deg", 400),
                                              ("azimuth_deg", "N"), ("t", 12.0), ("sensor", 3)]))
    bad = {**good, field: value}
    n = data.draw(st.integers(1, 10))
    k = data.draw(st.integers(0, n - 1))
    lines = [json.dumps(bad if i == k else good) for i in range(n)]
    path = tmp_path / "observations.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as e:
        read_observations_jsonl(path)
    assert (e.value.line, e.value.field) == (k + 1, field)


FLIGHTPLAN_HEADER = "callsign,icao24,aircraft_type,origin,destination,off_block,eta"
FLIGHTPLAN_ROW = "LPE2101,e80123,A320,SPJC,SPZO,2026-06-01T10:45:00Z,2026-06-01T11:45:00Z"


@SETTINGS
@given(data=st.data())
def test_broken_flightplans(tmp_path, data):
    n = data.draw(st.integers(1, 8))
    k = data.draw(st.integers(0, n - 1))
    fields = FLIGHTPLAN_ROW.split(",")
    index, value, field = data.draw(st.sampled_from([
        (5, "2026-06-01 25:00", "off_block"), (6, "soon", "eta"), (5, "", "off_block"), (0, "", "callsign"),
        (3, "LIMA1", "origin"), (4, "S", "destination"), (1, "nothex", "icao24"), (5, "1999-01-01T00:00Z", "off_block"),
    ]))
    fields[index] = value
    rows = [",".join(fields) if i == k else FLIGHTPLAN_ROW for i in range(n)]
    path = tmp_path / "flightplans.csv"
    path.write_text(FLIGHTPLAN_HEADER + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as e:
        read_flightplans_csv(path)
    assert (e.value.line, e.value.field) == (k + 2, field), str(e.value)
    path.write_text(FLIGHTPLAN_HEADER + "\n" + "\n".join([FLIGHTPLAN_ROW] * n) + "\n" + FLIGHTPLAN_ROW[:30])
    with pytest.raises(InputError, match="cut off") as e:
        read_flightplans_csv(path)
    assert e.value.line == n + 2


def test_flightplans_header_must_name_required_columns(tmp_path):
    path = tmp_path / "flightplans.csv"
    path.write_text("callsign,origin,destination\nA,SPJC,SPZO\n")
    with pytest.raises(InputError, match="off_block") as e:
        read_flightplans_csv(path)
    assert (e.value.line, e.value.field) == (1, "off_block")


SENSORS_OK = """date = "2026-06-01"

[[sensor]]
id = "PSR-1"
kind = "psr"
lat = -12.6
lon = -73.9
alt_m = 2400.0
scan_s = 10.0
range_max_m = 150000.0
sigma_range_m = 50.0
sigma_azimuth_deg = 0.2
pd = 0.9
clutter_per_scan = 2.0

[[sensor]]
id = "OBS-1"
kind = "observer"
lat = -12.7
lon = -74.0
alt_m = 900.0
range_max_m = 8000.0
sigma_azimuth_deg = 5.0
"""


@pytest.mark.parametrize("old, new, line, field", [
    ('kind = "psr"', 'kind = "lidar"', 5, "kind"),
    ("lat = -12.6", "lat = -120.6", 6, "lat"),
    ("lat = -12.6", 'lat = "south"', 6, "lat"),
    ("pd = 0.9", "pd = 1.5", 13, "pd"),
    ("pd = 0.9", "", 3, "pd"),  # missing: the error points at the sensor's [[sensor]] header
    ("scan_s = 10.0", "scan_s = 0", 9, "scan_s"),
    ('id = "OBS-1"', 'id = "PSR-1"', 17, "id"),
    ("range_max_m = 8000.0\n", "", 16, "range_max_m"),
    ('date = "2026-06-01"', 'date = "June 1st"', 1, "date"),
    ('date = "2026-06-01"', 'date = "2026-06-01', 1, None),  # TOML syntax error
    ("lat = -12.6", "lat = true", 6, "lat"),
])
def test_broken_sensors_toml(tmp_path, old, new, line, field):
    path = tmp_path / "sensors.toml"
    assert old in SENSORS_OK
    path.write_text(SENSORS_OK.replace(old, new, 1))
    with pytest.raises(InputError) as e:
        read_sensors_toml(path)
    assert (e.value.line, e.value.field) == (line, field), str(e.value)


def test_sensors_toml_without_sensors_and_missing_file(tmp_path):
    path = tmp_path / "sensors.toml"
    path.write_text('date = "2026-06-01"\n')
    with pytest.raises(InputError, match=r"\[\[sensor\]\]"):
        read_sensors_toml(path)
    with pytest.raises(InputError, match="not found"):
        read_sensors_toml(tmp_path / "nope.toml")


def test_airfields_and_truth_errors_name_line_and_field(tmp_path):
    path = tmp_path / "airfields.csv"
    path.write_text("icao,name,lat,lon,elevation_m\nSPXX,A,-12,-73,600\nSPYY,B,-12,-273,600\n")
    with pytest.raises(InputError) as e:
        read_airfields_csv(path)
    assert (e.value.line, e.value.field) == (3, "lon")
    path.write_text("icao,name,lat,lon,elevation_m\nSPXX,A,-12,-73,600\n\nspxx,B,-12,-73,x\n")
    with pytest.raises(InputError) as e:
        read_airfields_csv(path)
    assert (e.value.line, e.value.field) == (4, "elevation_m")

    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "states.csv").write_text("t,truth_id,lat,lon,alt_m,on_ground,transponder\n1,a,1,2,3,maybe,true\n")
    (truth / "flights.csv").write_text("truth_id,kind,callsign,icao24\na,narco,,\n")
    (truth / "events.jsonl").write_text("")
    with pytest.raises(InputError) as e:
        read_truth(tmp_path)
    assert (e.value.line, e.value.field) == (2, "on_ground")
    with pytest.raises(InputError, match="no truth folder"):
        read_truth(truth)


def test_malformed_outputs_raise_input_error(tmp_path):
    (tmp_path / "events.jsonl").write_text('{"kind": "landing", "t": 1.0}\n{"kind": "landing", "t": "x"}\n')
    with pytest.raises(InputError) as e:
        read_outputs(tmp_path)
    assert (e.value.line, e.value.field) == (2, "t")
    (tmp_path / "events.jsonl").write_text('{"kind": "landing", "t": 1.0}\n')
    (tmp_path / "assessments.csv").write_text("track_id,score\nT1,1.5\n")
    with pytest.raises(InputError) as e:
        read_outputs(tmp_path)
    assert (e.value.line, e.value.field) == (2, "score")
    (tmp_path / "assessments.csv").unlink()
    (tmp_path / "tracks.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="Parquet"):
        read_outputs(tmp_path)


@SETTINGS
@given(data=st.data())
def test_with_several_bad_lines_the_earliest_value_error_is_named(tmp_path, data):
    n = data.draw(st.integers(3, 40))
    lines = valid_plot_lines(n, 1)
    bad_rows = sorted(data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=4, unique=True)))
    fields = {}
    for k in bad_rows:
        field = data.draw(st.sampled_from(["t", "range_m", "azimuth_deg", "alt_m", "icao24", "sensor"]))
        obj = json.loads(lines[k])
        obj[field] = {"t": 5.0, "range_m": -1.0, "azimuth_deg": 999.0, "alt_m": 1e7, "icao24": "zz",
                      "sensor": ""}[field]
        lines[k] = json.dumps(obj)
        fields[k] = field
    path = tmp_path / "plots.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as e:
        read_plots_jsonl(path)
    assert (e.value.line, e.value.field) == (bad_rows[0] + 1, fields[bad_rows[0]])
    # A malformed line is structural: it is named first even when a bad value comes earlier.
    lines[bad_rows[-1]] = lines[bad_rows[-1]][:-1]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="malformed JSON") as e:
        read_plots_jsonl(path)
    assert e.value.line == bad_rows[-1] + 1


# --- fuzzing: arbitrary lines give a frame or an InputError, never another exception ---------------------

_JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
_JSON_VALUES = st.recursive(_JSON_SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(
    st.sampled_from(["t", "sensor", "range_m", "azimuth_deg", "alt_m", "icao24", "kind", "x"]), c, max_size=6),
    max_leaves=8)
_GOOD_PLOT = '{"t": 1780310700.0, "sensor": "PSR-1", "range_m": 1.0, "azimuth_deg": 2.0}'
_GOOD_SBS = valid_sbs_lines(3)[1]
_SBS_FIELD = st.sampled_from(["", "1", "-1", "x", "E8044E", "2026/06/01", "10:45:00.5", "1e400", "nan", "inf",
                              " 12 ", "1_0", "MSG"]) | st.text(max_size=6)


def _replace_field(line: str, index: int, value: str) -> str:
    fields = line.split(",")
    fields[index % len(fields)] = value
    return ",".join(fields)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_JSON_VALUES.map(json.dumps) | st.text(max_size=30) | st.just(_GOOD_PLOT), max_size=6),
       newline_at_end=st.booleans())
def test_arbitrary_json_lines_give_plots_or_input_error(tmp_path, lines, newline_at_end):
    text = "\n".join(x.replace("\n", " ") for x in lines) + ("\n" if newline_at_end else "")
    path = tmp_path / "plots.jsonl"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        for reader in (read_plots_jsonl, read_observations_jsonl):
            try:
                reader(path)
            except InputError as e:
                assert e.line is None or 1 <= e.line <= max(1, len(lines))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.lists(_SBS_FIELD, min_size=1, max_size=24).map(",".join) | st.just(_GOOD_SBS)
                      | st.builds(_replace_field, st.just(_GOOD_SBS), st.integers(0, 21), _SBS_FIELD), max_size=6),
       newline_at_end=st.booleans())
def test_arbitrary_sbs_lines_give_messages_or_input_error(tmp_path, lines, newline_at_end):
    text = "\n".join(x.replace("\n", " ").replace("\r", " ") for x in lines) + ("\n" if newline_at_end else "")
    path = tmp_path / "adsb.sbs"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        read_sbs(path)
    except InputError as e:
        assert e.line is None or 1 <= e.line <= max(1, len(lines))
