"""Read a scenario folder (CONTRACT.md "Inputs") into a :class:`centinela.model.Scenario`, checking the files
against each other. Never reads ``truth/``.

>>> import tempfile, pathlib
>>> from centinela.model import Sensor
>>> from centinela.io.sensors import write_sensors_toml
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> write_sensors_toml([Sensor("ADSB-1", "adsb", -12.5, -73.9, 600.0)], d / "sensors.toml")
>>> s = read_scenario(d)
>>> [x.id for x in s.sensors], len(s.plots), s.airfields is None
(['ADSB-1'], 0, True)
"""
from __future__ import annotations

from pathlib import Path

from centinela.errors import InputError
from centinela.io.airfields import read_airfields_csv
from centinela.io.flightplans import read_flightplans_csv
from centinela.io.observations import read_observations_jsonl
from centinela.io.plots import read_plots_jsonl
from centinela.io.sbs import read_sbs
from centinela.io.sensors import read_sensors_toml
from centinela.model import (
    ADSB_COLUMNS,
    FLIGHTPLAN_COLUMNS,
    OBSERVATION_COLUMNS,
    PLOT_COLUMNS,
    Scenario,
    empty_frame,
)

SENSORS, PLOTS, ADSB, OBSERVATIONS, FLIGHTPLANS, AIRFIELDS = (
    "sensors.toml", "plots.jsonl", "adsb.sbs", "observations.jsonl", "flightplans.csv", "airfields.csv")
# Binary alternatives the contract accepts; their readers come in a later issue.
PLOTS_BINARY = ("plots.ast", "plots.pcap")
ADSB_BINARY = ("adsb.beast", "adsb.hex")
RADAR_KINDS = ("psr", "ssr")


def read_scenario(path: str | Path) -> Scenario:
    """Read every input file of the scenario folder ``path``; raise InputError for the first problem.

    ``sensors.toml`` is required; the others are optional (absent → empty frames, or ``airfields=None``).
    Plots must come from a psr/ssr sensor of sensors.toml and observations from an observer.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(folder, "not a folder; expected a scenario folder holding sensors.toml")
    if not (folder / SENSORS).exists():
        raise InputError(folder / SENSORS, "file not found; every scenario needs sensors.toml")
    sensors, meta = read_sensors_toml(folder / SENSORS)
    radars = {s.id for s in sensors if s.kind in RADAR_KINDS}
    observers = {s.id for s in sensors if s.kind == "observer"}

    if (folder / PLOTS).exists():
        plots = read_plots_jsonl(folder / PLOTS, known_sensors=radars)
    else:
        _refuse_binary(folder, PLOTS_BINARY, PLOTS)
        plots = empty_frame(PLOT_COLUMNS)
    if (folder / ADSB).exists():
        adsb = read_sbs(folder / ADSB)
    else:
        _refuse_binary(folder, ADSB_BINARY, ADSB)
        adsb = empty_frame(ADSB_COLUMNS)
    observations = (read_observations_jsonl(folder / OBSERVATIONS, known_sensors=observers)
                    if (folder / OBSERVATIONS).exists() else empty_frame(OBSERVATION_COLUMNS))
    flightplans = (read_flightplans_csv(folder / FLIGHTPLANS)
                   if (folder / FLIGHTPLANS).exists() else empty_frame(FLIGHTPLAN_COLUMNS))
    airfields = read_airfields_csv(folder / AIRFIELDS) if (folder / AIRFIELDS).exists() else None
    return Scenario(path=folder, sensors=sensors, plots=plots, adsb=adsb, observations=observations,
                    flightplans=flightplans, airfields=airfields, date=meta["date"], start=meta["start"])


def _refuse_binary(folder: Path, names: tuple[str, ...], text_name: str) -> None:
    for name in names:
        if (folder / name).exists():
            raise InputError(folder / name, f"the binary reader for {name} is not available yet (a later "
                             f"version adds it); convert the recording to {text_name} meanwhile")
