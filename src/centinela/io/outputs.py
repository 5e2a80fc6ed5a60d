"""Writers and readers of every output file of ``analyze`` (CONTRACT.md "Outputs").

- ``tracks.parquet`` — TRACK_COLUMNS, then the optional ones present, then any extra columns.
- ``tracks.geojson`` — one feature per track: a LineString of its positions in time order, or a Point for a
  track with a single position (so every track shows on a map); properties ``track_id``, ``flight_id``,
  ``icao24``, ``callsign`` (first non-null value of the track), ``t_start``, ``t_end``, ``n_points``.
- ``events.jsonl``, ``alerts.jsonl`` — one JSON object a line; every column of the frame, nested values
  (``track_ids``, ``indicators``, ``predicted_site``, ``evidence`` …) as JSON.
- ``airstrips.geojson`` — a FeatureCollection of Points; properties are every column but lat/lon.
- ``assessments.csv`` — ``track_id,score`` then any extra columns.
- ``stages.json`` — ``Outputs.stages`` (an optional file added to the contract's set).
- ``run.json`` — what was analysed: ``scenario`` (its folder, absolute), ``previous_airstrips`` and
  ``centinela_version`` (optional; later commands such as ``dispatch`` find the scenario's own files there).
- ``report.html`` — the report, when given.

JSON is strict everywhere: NaN and infinities become ``null``, numpy values plain numbers.

Guarantee of :func:`write_outputs`: every file is first written completely into a temporary sibling folder
of ``OUT``. If anything fails there, ``OUT`` is left exactly as it was. Then each file is moved into ``OUT``
with ``os.replace`` (an atomic rename on the same filesystem); a stale ``report.html`` is removed when no
report is given. So no output file is ever half-written, and files of two runs can only be mixed if the
process dies during those renames (milliseconds). When ``OUT`` does not exist yet, the staging folder itself
is renamed to ``OUT`` in one step. Other files in ``OUT`` (databases, audit logs) are not touched.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from centinela.errors import InputError
from centinela.io._common import atomic_open, atomic_write_text, check_range, json_safe
from centinela.io._csvfile import read_csv_table, write_csv_table
from centinela.model import (
    AIRSTRIP_COLUMNS,
    ALERT_COLUMNS,
    ASSESSMENT_COLUMNS,
    EVENT_COLUMNS,
    TRACK_COLUMNS,
    TRACK_OPTIONAL_COLUMNS,
    Outputs,
    conform,
    empty_frame,
)

TRACKS_PARQUET, TRACKS_GEOJSON = "tracks.parquet", "tracks.geojson"
EVENTS, AIRSTRIPS, ASSESSMENTS, ALERTS = "events.jsonl", "airstrips.geojson", "assessments.csv", "alerts.jsonl"
STAGES, REPORT, RUN = "stages.json", "report.html", "run.json"
OUTPUT_FILES = (TRACKS_PARQUET, TRACKS_GEOJSON, EVENTS, AIRSTRIPS, ASSESSMENTS, ALERTS, STAGES)
# 1e-6 degree is about 0.1 m: finer than any sensor, and keeps the GeoJSON small.
GEOJSON_DECIMALS = 6
_TRACK_PROPERTIES = ("flight_id", "icao24", "callsign")


def dumps(value: Any) -> str:
    """Strict JSON text of ``value`` (NaN → null, numpy → Python).

    >>> dumps({"a": float("nan"), "b": np.int64(2)})
    '{"a": null, "b": 2}'
    """
    # default=str: a value JSON has no type for (a date, a path) is written as its text rather than failing.
    return json.dumps(json_safe(value), allow_nan=False, ensure_ascii=False, default=str)


# --- writers --------------------------------------------------------------------------------------------

def write_tracks(df: pd.DataFrame, out: str | Path) -> None:
    """Write ``tracks.parquet`` and ``tracks.geojson`` into the folder ``out`` (each atomically)."""
    out = Path(out)
    tracks = conform(df, TRACK_COLUMNS, TRACK_OPTIONAL_COLUMNS)
    table = pa.Table.from_pandas(tracks, preserve_index=False)
    with atomic_open(out / TRACKS_PARQUET, "wb") as f:
        pq.write_table(table, f)
    atomic_write_text(out / TRACKS_GEOJSON, _feature_collection(_track_features(tracks)))


def _track_features(tracks: pd.DataFrame) -> list[dict]:
    located = tracks[tracks["lat"].notna() & tracks["lon"].notna() & tracks["track_id"].notna()]
    if located.empty:
        return []
    located = located.sort_values(["track_id", "t"], kind="stable")
    coords = np.round(located[["lon", "lat"]].to_numpy(dtype=float), GEOJSON_DECIMALS)
    ids = located["track_id"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    t = located["t"].to_numpy(dtype=float)
    first_of = {name: located.groupby("track_id", sort=True)[name].first() for name in _TRACK_PROPERTIES
                if name in located.columns}
    features = []
    for a, b in zip(starts, ends, strict=True):
        track_id = ids[a]
        properties = {"track_id": track_id}
        for name in _TRACK_PROPERTIES:
            properties[name] = first_of[name].get(track_id) if name in first_of else None
        properties.update(t_start=t[a], t_end=t[b - 1], n_points=int(b - a))
        points = coords[a:b].tolist()
        geometry = ({"type": "Point", "coordinates": points[0]} if b - a == 1
                    else {"type": "LineString", "coordinates": points})
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return features


def write_events_jsonl(df: pd.DataFrame, path: str | Path) -> None:
    """Write events (EVENT_COLUMNS first, then extra columns such as ``evidence``) atomically."""
    _write_records(conform(df, EVENT_COLUMNS), path)


def write_alerts_jsonl(df: pd.DataFrame, path: str | Path) -> None:
    """Write alerts (ALERT_COLUMNS first, then extra columns) atomically."""
    _write_records(conform(df, ALERT_COLUMNS), path)


def write_airstrips_geojson(df: pd.DataFrame, path: str | Path) -> None:
    """Write airstrips as a FeatureCollection of Points; properties are every column but lat/lon (``id``,
    ``registered``, ``icao``, ``landings``, ``first_seen``, ``last_seen``, ``confidence`` and extras such as
    ``successor_of``)."""
    strips = conform(df, AIRSTRIP_COLUMNS)
    features = []
    for row in _records(strips):
        lon, lat = row.pop("lon"), row.pop("lat")
        geometry = None if lat is None or lon is None else {
            "type": "Point", "coordinates": [round(lon, GEOJSON_DECIMALS), round(lat, GEOJSON_DECIMALS)]}
        features.append({"type": "Feature", "geometry": geometry, "properties": row})
    atomic_write_text(path, _feature_collection(features))


def write_assessments_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write ``track_id,score`` then any extra columns (lists/dicts as JSON text) atomically."""
    scored = conform(df, ASSESSMENT_COLUMNS)
    columns = dict(ASSESSMENT_COLUMNS)
    for name in scored.columns:
        if name in columns:
            continue
        kind = scored[name].dtype.kind
        if kind == "b":
            columns[name] = "boolean"
        elif kind in "iuf":
            columns[name] = "float64"
        else:
            scored[name] = scored[name].map(lambda v: v if v is None or isinstance(v, str) else dumps(v))
            columns[name] = "string"
    write_csv_table(scored, path, columns, ["track_id", "score"], "assessments")


def write_outputs(outputs: Outputs, out_dir: str | Path, report_html: str | None = None,
                  run: dict | None = None) -> None:
    """Write every output file into ``out_dir`` (see the module docstring for the exact guarantee); ``run``,
    when given, is written as ``run.json``."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.staging-", dir=out_dir.parent))
    try:
        write_tracks(outputs.tracks, staging)
        write_events_jsonl(outputs.events, staging / EVENTS)
        write_airstrips_geojson(outputs.airstrips, staging / AIRSTRIPS)
        write_assessments_csv(outputs.assessments, staging / ASSESSMENTS)
        write_alerts_jsonl(outputs.alerts, staging / ALERTS)
        atomic_write_text(staging / STAGES, dumps(outputs.stages) + "\n")
        if report_html is not None:
            atomic_write_text(staging / REPORT, report_html)
        if run is not None:
            atomic_write_text(staging / RUN, dumps(run) + "\n")
        if not out_dir.exists():
            os.replace(staging, out_dir)
            return
        for item in sorted(staging.iterdir()):
            os.replace(item, out_dir / item.name)
        if report_html is None:
            (out_dir / REPORT).unlink(missing_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_records(df: pd.DataFrame, path: str | Path) -> None:
    atomic_write_text(path, "".join(dumps(row) + "\n" for row in _records(df)))


def _records(df: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain JSON-able values (NA → None)."""
    return [json_safe(row) for row in df.astype(object).to_dict("records")]


def _feature_collection(features: list[dict]) -> str:
    return dumps({"type": "FeatureCollection", "features": features}) + "\n"


# --- readers --------------------------------------------------------------------------------------------

def read_outputs(out_dir: str | Path) -> Outputs:
    """Read the outputs in ``out_dir``. A missing file gives an empty frame (with its columns) and an entry
    ``outputs.stages[<file name>] = "missing"``; ``stages.json``, when present, fills the rest of
    ``stages``. Malformed files raise InputError naming the file, line and field."""
    out_dir = Path(out_dir)
    outputs = Outputs()
    if (out_dir / STAGES).exists():
        outputs.stages.update(_read_json(out_dir / STAGES))
    readers = {
        TRACKS_PARQUET: ("tracks", read_tracks_parquet),
        EVENTS: ("events", read_events_jsonl),
        AIRSTRIPS: ("airstrips", read_airstrips_geojson),
        ASSESSMENTS: ("assessments", read_assessments_csv),
        ALERTS: ("alerts", read_alerts_jsonl),
    }
    for name, (attribute, reader) in readers.items():
        if (out_dir / name).exists():
            setattr(outputs, attribute, reader(out_dir / name))
        else:
            outputs.stages[name] = "missing"
    return outputs


def recorded_scenario(out_dir: str | Path) -> Path | None:
    """The scenario folder that ``analyze`` recorded in ``out_dir/run.json``, if it still exists; else None
    (outputs written before the record existed, or by another tool, or moved from another machine).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     empty = recorded_scenario(d)
    ...     _ = (Path(d) / RUN).write_text(json.dumps({"scenario": d}))
    ...     empty, recorded_scenario(d) == Path(d)
    (None, True)
    """
    path = Path(out_dir) / RUN
    if not path.is_file():
        return None
    scenario = _read_json(path).get("scenario")
    if not isinstance(scenario, str) or not Path(scenario).is_dir():
        return None
    return Path(scenario)


def read_tracks_parquet(path: str | Path) -> pd.DataFrame:
    """Read ``tracks.parquet`` into TRACK_COLUMNS (plus optional/extra columns present)."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as e:
        raise InputError(path, f"not a readable Parquet file ({e})") from None
    df = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow"),
                                       pa.large_string(): pd.StringDtype("pyarrow")}.get)
    missing = [c for c in ("t", "track_id", "lat", "lon") if c not in df.columns]
    if missing:
        raise InputError(path, f"missing required column(s) {missing}", field=missing[0])
    try:
        return conform(df, TRACK_COLUMNS, TRACK_OPTIONAL_COLUMNS)
    except (TypeError, ValueError) as e:
        raise InputError(path, f"a column has the wrong type ({e})") from None


def read_events_jsonl(path: str | Path) -> pd.DataFrame:
    """Read ``events.jsonl`` into EVENT_COLUMNS (extra fields kept)."""
    return read_records(path, EVENT_COLUMNS, required=("kind", "t"))


def read_alerts_jsonl(path: str | Path) -> pd.DataFrame:
    """Read ``alerts.jsonl`` into ALERT_COLUMNS (extra fields kept)."""
    return read_records(path, ALERT_COLUMNS, required=("alert_id", "score", "t_issued"))


def read_airstrips_geojson(path: str | Path) -> pd.DataFrame:
    """Read ``airstrips.geojson`` into AIRSTRIP_COLUMNS (extra properties kept)."""
    doc = _read_json(path)
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise InputError(path, "expected a GeoJSON FeatureCollection with a 'features' list", field="features")
    rows = []
    for k, feature in enumerate(features):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        properties = feature.get("properties") if isinstance(feature, dict) else None
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if not isinstance(properties, dict) or not (
                coords is None or (isinstance(coords, list) and len(coords) >= 2
                                   and all(isinstance(c, (int, float)) for c in coords[:2]))):
            raise InputError(path, f"feature #{k + 1}: expected a Point with properties", field="features")
        lon, lat = (coords[0], coords[1]) if coords else (None, None)
        rows.append({**properties, "lat": lat, "lon": lon})
    return _frame(path, rows, AIRSTRIP_COLUMNS)


def read_assessments_csv(path: str | Path) -> pd.DataFrame:
    """Read ``assessments.csv`` into ASSESSMENT_COLUMNS (extra columns kept as strings)."""
    df, line_of_row = read_csv_table(path, ASSESSMENT_COLUMNS, ["track_id", "score"])
    check_range(path, df, line_of_row, "score", 0.0, 1.0, required=True, expected="a probability, 0..1")
    return conform(df, ASSESSMENT_COLUMNS)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise InputError(path, f"not UTF-8 text ({e.reason})") from None
    except json.JSONDecodeError as e:
        raise InputError(path, f"malformed JSON: {e.msg}", line=e.lineno) from None


def read_records(path: str | Path, columns: dict[str, str], required: tuple[str, ...]) -> pd.DataFrame:
    """Small JSON-lines files (events, alerts, the copies register) with nested values, parsed line by line:
    one JSON object a line, ``required`` fields non-null, ``float64`` columns numbers; InputError names the line."""
    rows = []
    with open(path, encoding="utf-8", errors="strict") as f:
        try:
            for number, text in enumerate(f, start=1):
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as e:
                    raise InputError(path, f"malformed JSON: {e.msg} at column {e.colno}", line=number) from None
                if not isinstance(obj, dict):
                    raise InputError(path, "expected one JSON object a line", line=number)
                for name in required:
                    if obj.get(name) is None:
                        raise InputError(path, f"missing required field {name!r}", line=number, field=name)
                for name, dtype in columns.items():
                    value = obj.get(name)
                    if value is not None and dtype == "float64" and (
                            isinstance(value, bool) or not isinstance(value, (int, float))):
                        raise InputError(path, f"expected a number, got {json.dumps(value)[:40]}", line=number,
                                         field=name)
                rows.append(obj)
        except UnicodeDecodeError as e:
            raise InputError(path, f"not UTF-8 text ({e.reason})") from None
    return _frame(path, rows, columns)


def _frame(path: str | Path, rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    if not rows:
        return empty_frame(columns)
    df = pd.DataFrame(rows)
    # Integers and booleans may be null in a file: read them nullable, then use the model's dtype when full.
    nullable = {name: ("Int64" if dtype == "int64" else "boolean" if dtype == "bool" else dtype)
                for name, dtype in columns.items()}
    try:
        df = conform(df, nullable)
        for name, dtype in columns.items():
            if nullable[name] != dtype and df[name].notna().all():
                df[name] = df[name].astype(dtype)
    except (TypeError, ValueError) as e:
        raise InputError(path, f"a field has the wrong type ({e})") from None
    return df
