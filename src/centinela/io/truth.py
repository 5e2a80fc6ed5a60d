"""Ground truth of simulated scenarios (``SCENARIO/truth/``), for evaluation only — ``analyze`` never reads it.

- ``truth/states.csv`` — ``t,truth_id,lat,lon,alt_m,on_ground,transponder``
- ``truth/flights.csv`` — ``truth_id,kind,callsign,icao24``
- ``truth/events.jsonl`` — ``{"kind", "truth_id", "t", "lat", "lon", "site", "clandestine"}``

Booleans are written ``true``/``false`` (``1``/``0`` and ``True``/``False`` are read too).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from centinela.errors import InputError
from centinela.io._common import EarliestError, check_range, first_bad, write_jsonl_frame
from centinela.io._csvfile import read_csv_table, write_csv_table
from centinela.io._jsonl import iter_jsonl_chunks
from centinela.model import (
    TRUTH_EVENT_COLUMNS,
    TRUTH_FLIGHT_COLUMNS,
    TRUTH_STATE_COLUMNS,
    Truth,
    conform,
    empty_frame,
)

STATES, FLIGHTS, EVENTS = "states.csv", "flights.csv", "events.jsonl"
_EVENT_REQUIRED = ["kind", "truth_id", "t", "lat", "lon"]


def write_truth(truth: Truth, scenario_dir: str | Path) -> None:
    """Write the three truth files into ``scenario_dir/truth/``, each atomically."""
    folder = Path(scenario_dir) / "truth"
    write_csv_table(truth.states, folder / STATES, TRUTH_STATE_COLUMNS, list(TRUTH_STATE_COLUMNS), "truth states")
    write_csv_table(truth.flights, folder / FLIGHTS, TRUTH_FLIGHT_COLUMNS, ["truth_id", "kind"], "truth flights")
    write_jsonl_frame(truth.events, folder / EVENTS, TRUTH_EVENT_COLUMNS, _EVENT_REQUIRED, "truth events")

# optional: the simulator's table of every strip, for the airstrip metrics
STRIPS = "strips.csv"


def read_truth(scenario_dir: str | Path) -> Truth:
    """Read ``scenario_dir/truth/``; raises InputError if the folder or a file is missing or malformed."""
    folder = Path(scenario_dir) / "truth"
    if not folder.is_dir():
        raise InputError(folder, "no truth folder: only simulated scenarios carry ground truth")
    strips = pd.read_csv(folder / STRIPS, dtype={"strip_id": "string", "successor_of": "string"}) \
        if (folder / STRIPS).exists() else None
    return Truth(states=_read_states(folder / STATES), flights=_read_flights(folder / FLIGHTS),
                 events=_read_events(folder / EVENTS), strips=strips)


def _read_states(path: Path) -> pd.DataFrame:
    df, line_of_row = read_csv_table(path, TRUTH_STATE_COLUMNS, list(TRUTH_STATE_COLUMNS))
    first = EarliestError()
    with first.check():
        _check_positions(path, df, line_of_row)
    for name in ("truth_id", "on_ground", "transponder"):
        with first.check():
            i = first_bad(df[name].isna())
            if i is not None:
                raise InputError(path, f"missing required value {name!r}", line=int(line_of_row[i]), field=name)
    first.raise_if_any()
    return conform(df, TRUTH_STATE_COLUMNS)


def _read_flights(path: Path) -> pd.DataFrame:
    df, line_of_row = read_csv_table(path, TRUTH_FLIGHT_COLUMNS, ["truth_id", "kind"])
    for name in ("truth_id", "kind"):
        i = first_bad(df[name].isna())
        if i is not None:
            raise InputError(path, f"missing required value {name!r}", line=int(line_of_row[i]), field=name)
    return conform(df, TRUTH_FLIGHT_COLUMNS)


def _read_events(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputError(path, "file not found")
    frames = []
    for df, line_of_row in iter_jsonl_chunks(path, TRUTH_EVENT_COLUMNS):
        for name in ("kind", "truth_id"):
            i = first_bad(df[name].isna())
            if i is not None:
                raise InputError(path, f"missing required field {name!r}", line=int(line_of_row[i]), field=name)
        _check_positions(path, df, line_of_row)
        frames.append(conform(df, {k: ("boolean" if v == "bool" else v) for k, v in TRUTH_EVENT_COLUMNS.items()}))
    if not frames:
        return empty_frame(TRUTH_EVENT_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def _check_positions(path: Path, df: pd.DataFrame, line_of_row) -> None:
    first = EarliestError()
    for name, low, high, expected in (("t", None, None, "epoch seconds"), ("lat", -90.0, 90.0, "a latitude, -90..90"),
                                      ("lon", -180.0, 180.0, "a longitude, -180..180")):
        with first.check():
            check_range(path, df, line_of_row, name, low, high, required=True, expected=expected)
    first.raise_if_any()
