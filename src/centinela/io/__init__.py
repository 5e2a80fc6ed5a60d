"""Readers and writers of every file in CONTRACT.md, with validation.

Readers raise :class:`centinela.errors.InputError` naming the file, the 1-based line and the field of the
first problem; writers replace their file atomically (a temporary file in the same folder, then
``os.replace``), so no reader ever sees a half-written file.
"""
from centinela.io._common import InputWarning
from centinela.io.flightplans import read_flightplans_csv, write_flightplans_csv
from centinela.io.observations import read_observations_jsonl, write_observations_jsonl
from centinela.io.plots import iter_plots_jsonl, read_plots_jsonl, write_plots_jsonl
from centinela.io.sbs import iter_sbs, read_sbs, write_sbs
from centinela.io.sensors import read_sensors_toml, write_sensors_toml
from centinela.io.truth import read_truth, write_truth

__all__ = [
    "InputWarning",
    "iter_plots_jsonl",
    "iter_sbs",
    "read_flightplans_csv",
    "read_observations_jsonl",
    "read_plots_jsonl",
    "read_sbs",
    "read_sensors_toml",
    "read_truth",
    "write_flightplans_csv",
    "write_observations_jsonl",
    "write_plots_jsonl",
    "write_sbs",
    "write_sensors_toml",
    "write_truth",
]
