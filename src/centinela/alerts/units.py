"""The recipients of alerts: police units, prosecutors, military units, analysts and the operations centre.

A register is a TOML file of ``[[unit]]`` tables (the packaged default is ``centinela/data/units.toml``, ~20
VRAEM recipients; a scenario folder may carry its own ``units.toml``) plus an optional top-level ``approvers``
list: the people who may approve widening an alert's distribution. Each unit has the columns of
:data:`UNIT_COLUMNS`; see the data file's header for what each field means and where the numbers come from.

>>> units = default_units()
>>> units.loc[units["unit_id"] == "DIRANDRO-PICHARI-AIR", ["kind", "means", "speed_kmh"]].values.tolist()
[['police', 'helicopter', 180.0]]
>>> len(units) >= 20 and set(units["kind"]) == set(UNIT_KINDS)
True
"""
from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import pandas as pd

from centinela.errors import InputError
from centinela.io.toml_tables import TableLines, read_toml_tables

UNIT_COLUMNS = ["unit_id", "name", "kind", "clearance", "lat", "lon", "area_radius_m", "means", "speed_kmh",
                "ready_min", "always"]
UNIT_KINDS = ("police", "prosecutor", "military", "analyst", "command")
MEANS = ("road", "helicopter", "none")
MAX_CLEARANCE = 3
UNITS_FILE = "units.toml"

# Numeric limits, with why: a value outside is a typo or a unit mistake (km for m, hours for minutes).
_LIMITS: dict[str, tuple[float, float, str]] = {
    "lat": (-90.0, 90.0, "a latitude in degrees, -90..90"),
    "lon": (-180.0, 180.0, "a longitude in degrees, -180..180"),
    "area_radius_m": (0.0, 5_000_000.0, "a radius in metres, 0..5,000,000"),
    # the fastest means a unit may have is a helicopter (~300 km/h at most)
    "speed_kmh": (0.0, 400.0, "a speed in km/h, 0..400"),
    "ready_min": (0.0, 24 * 60.0, "minutes to get moving, 0..1440"),
}
_DTYPES = {"unit_id": "string", "name": "string", "kind": "string", "clearance": "int64", "lat": "float64",
           "lon": "float64", "area_radius_m": "float64", "means": "string", "speed_kmh": "float64",
           "ready_min": "float64", "always": "bool"}


def read_units(path: str | Path) -> pd.DataFrame:
    """Read and validate a units register (``[[unit]]`` tables). Raises InputError naming the unit and field."""
    return read_register(path)[0]


def read_approvers(path: str | Path) -> list[str]:
    """The top-level ``approvers`` list of a units register (empty when absent)."""
    return read_register(path)[1]


def read_register(path: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """The units and the approvers of a register, from one reading of the file."""
    doc, lines = _load(path)
    return _units_of(path, doc, lines), _approvers_of(path, doc, lines)


def _units_of(path: str | Path, doc: dict, lines: TableLines) -> pd.DataFrame:
    tables = doc.get("unit")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise InputError(path, "expected one or more [[unit]] tables", field="unit")
    rows, seen = [], set()
    for k, table in enumerate(tables):
        row = _unit_row(path, table, k, lines)
        if row["unit_id"] in seen:
            raise InputError(path, f"unit #{k + 1}: duplicate unit_id {row['unit_id']!r}",
                             line=lines.field(k, "unit_id"), field="unit_id")
        seen.add(row["unit_id"])
        rows.append(row)
    return pd.DataFrame(rows, columns=UNIT_COLUMNS).astype(_DTYPES)


def _approvers_of(path: str | Path, doc: dict, lines: TableLines) -> list[str]:
    approvers = doc.get("approvers", [])
    if not isinstance(approvers, list) or not all(isinstance(a, str) and a.strip() for a in approvers):
        raise InputError(path, "expected a list of non-empty names", line=lines.top("approvers"), field="approvers")
    return [a.strip() for a in approvers]


def default_units_path() -> Path:
    """The packaged register, ``centinela/data/units.toml``."""
    return Path(str(resources.files("centinela").joinpath("data", UNITS_FILE)))


def default_units() -> pd.DataFrame:
    """The packaged register of ~20 VRAEM recipients."""
    return read_units(default_units_path())


def scenario_units_path(scenario_dir: str | Path) -> Path:
    """``SCENARIO/units.toml`` when the scenario has one, else the packaged register."""
    own = Path(scenario_dir) / UNITS_FILE
    return own if own.exists() else default_units_path()


def scenario_units(scenario_dir: str | Path) -> pd.DataFrame:
    """The scenario's own ``units.toml`` (an optional input file) or, without one, the packaged register."""
    return read_units(scenario_units_path(scenario_dir))


def _load(path: str | Path) -> tuple[dict, TableLines]:
    return read_toml_tables(path, table="unit", missing="expected a units register (TOML with [[unit]] tables)")


def _unit_row(path: str | Path, table: dict, k: int, lines: TableLines) -> dict:
    unit = table.get("unit_id", f"#{k + 1}")

    def fail(name: str, message: str) -> InputError:
        return InputError(path, f"unit {unit!r}: {message}", line=lines.field(k, name), field=name)

    for name in UNIT_COLUMNS:
        if name not in table and name not in ("always", "name"):
            raise fail(name, f"missing required field {name!r}")
    for name in ("unit_id", "kind", "means"):
        if not isinstance(table[name], str) or not table[name].strip():
            raise fail(name, f"expected a non-empty string, got {table[name]!r}")
    row = {"unit_id": table["unit_id"].strip(), "name": str(table.get("name", table["unit_id"])).strip(),
           "kind": table["kind"].strip(), "means": table["means"].strip()}
    if row["kind"] not in UNIT_KINDS:
        raise fail("kind", f"unknown kind {row['kind']!r}; expected one of {', '.join(UNIT_KINDS)}")
    if row["means"] not in MEANS:
        raise fail("means", f"unknown means {row['means']!r}; expected one of {', '.join(MEANS)}")
    clearance = table["clearance"]
    if not isinstance(clearance, int) or isinstance(clearance, bool) or not 0 <= clearance <= MAX_CLEARANCE:
        raise fail("clearance", f"expected an integer 0..{MAX_CLEARANCE}, got {clearance!r}")
    row["clearance"] = clearance
    for name, (low, high, expected) in _LIMITS.items():
        value = table[name]
        if (not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
                or not low <= value <= high):
            raise fail(name, f"expected {expected}, got {value!r}")
        row[name] = float(value)
    if row["means"] != "none" and row["speed_kmh"] <= 0:
        raise fail("speed_kmh", f"a unit that moves by {row['means']} needs a speed > 0")
    always = table.get("always", False)
    if not isinstance(always, bool):
        raise fail("always", f"expected true or false, got {always!r}")
    row["always"] = always
    return row
