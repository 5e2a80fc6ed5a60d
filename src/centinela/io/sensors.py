"""``sensors.toml``: one ``[[sensor]]`` table per sensor, plus optional top-level ``date`` and ``start``.

>>> import tempfile, pathlib
>>> from centinela.model import Sensor
>>> p = pathlib.Path(tempfile.mkdtemp()) / "sensors.toml"
>>> write_sensors_toml([Sensor("OBS-1", "observer", -12.5, -73.9, 800.0, range_max_m=8000.0,
...                            sigma_azimuth_deg=5.0)], p, date="2026-06-01")
>>> sensors, meta = read_sensors_toml(p)
>>> sensors[0].id, sensors[0].range_max_m, meta
('OBS-1', 8000.0, {'date': '2026-06-01', 'start': None})
"""
from __future__ import annotations

import dataclasses
import math
from datetime import date as _date
from datetime import time as _time
from pathlib import Path
from typing import Any

import tomli_w

from centinela.errors import InputError
from centinela.io._common import atomic_write_text, json_safe
from centinela.io.toml_tables import TableLines, read_toml_tables
from centinela.model import SENSOR_KINDS, Sensor

_RADAR_FIELDS = ("scan_s", "range_max_m", "sigma_range_m", "sigma_azimuth_deg", "pd", "clutter_per_scan")
# Fields each kind must give (CONTRACT.md "sensors.toml"); other known fields are optional.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "psr": _RADAR_FIELDS,
    "ssr": _RADAR_FIELDS,
    "adsb": (),
    "observer": ("range_max_m", "sigma_azimuth_deg"),
}
_FLOAT_FIELDS = ("lat", "lon", "alt_m", *_RADAR_FIELDS, "mask_deg")
_INT_FIELDS = ("sac", "sic")
# Numeric limits, with why: a value outside is a typo or a unit mistake.
_LIMITS: dict[str, tuple[float, float, str]] = {
    "lat": (-90.0, 90.0, "a latitude in degrees, -90..90"),
    "lon": (-180.0, 180.0, "a longitude in degrees, -180..180"),
    "alt_m": (-500.0, 9_000.0, "a ground altitude in metres, -500..9000"),
    "scan_s": (1e-3, 3_600.0, "a scan period in seconds, > 0"),
    "range_max_m": (1e-3, 2_000_000.0, "a maximum range in metres, > 0 (at most 2000 km)"),
    "sigma_range_m": (0.0, 100_000.0, "a range standard deviation in metres, >= 0"),
    "sigma_azimuth_deg": (0.0, 180.0, "an azimuth standard deviation in degrees, 0..180"),
    "pd": (0.0, 1.0, "a probability, 0..1"),
    "clutter_per_scan": (0.0, 1e7, "a mean number of false plots per scan, >= 0"),
    "mask_deg": (-10.0, 90.0, "an elevation mask in degrees, -10..90"),
    "sac": (0, 255, "an ASTERIX SAC, an integer 0..255"),
    "sic": (0, 255, "an ASTERIX SIC, an integer 0..255"),
}
_KNOWN = {f.name for f in dataclasses.fields(Sensor)} - {"extra"}


def write_sensors_toml(sensors: list[Sensor], path: str | Path, date: str | None = None,
                       start: str | None = None) -> None:
    """Write ``sensors`` to ``path`` (atomically). Fields left at None are omitted; ``extra`` is merged in."""
    doc: dict[str, Any] = {}
    if date is not None:
        doc["date"] = date
    if start is not None:
        doc["start"] = start
    tables = []
    for s in sensors:
        table: dict[str, Any] = {}
        for f in dataclasses.fields(Sensor):
            if f.name == "extra":
                continue
            value = getattr(s, f.name)
            if value is None:
                continue
            table[f.name] = int(value) if f.name in _INT_FIELDS else (float(value) if f.name in _FLOAT_FIELDS else value)
        for key, value in json_safe(s.extra or {}).items():
            if value is not None:  # TOML has no null: an absent key is how it says "none"
                table.setdefault(key, value)
        tables.append(table)
    doc["sensor"] = tables
    atomic_write_text(path, tomli_w.dumps(doc))


def read_sensors_toml(path: str | Path) -> tuple[list[Sensor], dict]:
    """Read and validate ``sensors.toml``. Returns the sensors and ``{"date": ..., "start": ...}`` (None when
    absent). Raises InputError naming the line and field of the first problem."""
    path = Path(path)
    doc, lines = read_toml_tables(path, table="sensor", missing="a scenario needs sensors.toml")

    meta = {"date": None, "start": None}
    for key, parse, expected in (("date", _date.fromisoformat, '"YYYY-MM-DD"'),
                                 ("start", _time.fromisoformat, '"HH:MM:SS"')):
        if key not in doc:
            continue
        value = doc[key]
        if isinstance(value, (_date, _time)) and not isinstance(value, str):
            value = value.isoformat()  # bare TOML dates/times are accepted too
        ok = isinstance(value, str)
        if ok:
            try:
                parse(value)
            except ValueError:
                ok = False
        if not ok:
            raise InputError(path, f"expected a string {expected}, got {value!r}", line=lines.top(key), field=key)
        meta[key] = value

    tables = doc.get("sensor")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise InputError(path, "expected one or more [[sensor]] tables", field="sensor")
    sensors: list[Sensor] = []
    seen: dict[str, int] = {}
    for k, table in enumerate(tables):
        sensor = _sensor_from_table(path, table, k, lines)
        if sensor.id in seen:
            raise InputError(path, f"duplicate sensor id {sensor.id!r} (also sensor #{seen[sensor.id] + 1})",
                             line=lines.field(k, "id"), field="id")
        seen[sensor.id] = k
        sensors.append(sensor)
    return sensors, meta


def _sensor_from_table(path: Path, table: dict, k: int, lines: TableLines) -> Sensor:
    def fail(name: str, message: str) -> InputError:
        return InputError(path, f"sensor #{k + 1}: {message}", line=lines.field(k, name), field=name)

    for name in ("id", "kind", "lat", "lon", "alt_m"):
        if name not in table:
            raise fail(name, f"missing required field {name!r}")
    if not isinstance(table["id"], str) or not table["id"].strip():
        raise fail("id", f"expected a non-empty string id, got {table['id']!r}")
    kind = table["kind"]
    if kind not in SENSOR_KINDS:
        raise fail("kind", f"unknown sensor kind {kind!r}; expected one of {', '.join(SENSOR_KINDS)}")
    for name in REQUIRED_FIELDS[kind]:
        if name not in table:
            raise fail(name, f"missing field {name!r}, required for a {kind} sensor")

    values: dict[str, Any] = {"id": table["id"].strip(), "kind": kind}
    for name in _FLOAT_FIELDS + _INT_FIELDS:
        if name not in table:
            continue
        value = table[name]
        low, high, expected = _LIMITS[name]
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if name in _INT_FIELDS:
            is_number = isinstance(value, int) and not isinstance(value, bool)
        if not is_number or not math.isfinite(value) or not low <= value <= high:
            raise fail(name, f"expected {expected}, got {value!r}")
        values[name] = int(value) if name in _INT_FIELDS else float(value)
    extra = {key: value for key, value in table.items() if key not in _KNOWN}
    return Sensor(**values, extra=extra)
