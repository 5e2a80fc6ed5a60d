"""Readers and writers of every file in CONTRACT.md, with validation.

Readers raise :class:`centinela.errors.InputError` naming the file, the 1-based line and the field of a
problem, and what was expected. Structural problems (a malformed line, a wrong number of fields, a value of
the wrong type) are named first, by their line; otherwise the earliest line with a bad value. Blank lines
are ignored. Writers replace their file atomically (a temporary file in the same folder, then
``os.replace``), so no reader ever sees a half-written file.

Time order: plots must be in time order per sensor (CONTRACT.md). Whole-file readers sort by time and, for
plots, warn with :class:`InputWarning` naming the first line where a sensor's time went backwards; the
streaming :func:`iter_plots_jsonl` cannot re-sort and raises InputError at that line instead.
"""
from centinela.io._common import InputWarning
from centinela.io.airfields import read_airfields_csv, registered_airfields, write_airfields_csv
from centinela.io.flightplans import read_flightplans_csv, write_flightplans_csv
from centinela.io.observations import read_observations_jsonl, write_observations_jsonl
from centinela.io.outputs import (
    read_outputs,
    write_airstrips_geojson,
    write_alerts_jsonl,
    write_assessments_csv,
    write_events_jsonl,
    write_outputs,
    write_tracks,
)
from centinela.io.plots import iter_plots_jsonl, read_plots_jsonl, write_plots_jsonl
from centinela.io.sbs import iter_sbs, parse_sbs_bytes, read_sbs, write_sbs
from centinela.io.scenario import read_scenario
from centinela.io.sensors import read_sensors_toml, write_sensors_toml
from centinela.io.truth import read_truth, write_truth

__all__ = [
    "InputWarning",
    "iter_plots_jsonl",
    "iter_sbs",
    "parse_sbs_bytes",
    "read_airfields_csv",
    "read_flightplans_csv",
    "read_observations_jsonl",
    "read_outputs",
    "read_plots_jsonl",
    "read_sbs",
    "read_scenario",
    "read_sensors_toml",
    "read_truth",
    "registered_airfields",
    "write_airfields_csv",
    "write_airstrips_geojson",
    "write_alerts_jsonl",
    "write_assessments_csv",
    "write_events_jsonl",
    "write_flightplans_csv",
    "write_observations_jsonl",
    "write_outputs",
    "write_plots_jsonl",
    "write_sbs",
    "write_sensors_toml",
    "write_tracks",
    "write_truth",
]
