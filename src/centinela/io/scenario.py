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

    plots = _read_plots(folder, sensors, radars, meta)
    adsb = _read_adsb(folder, sensors, meta)
    observations = (read_observations_jsonl(folder / OBSERVATIONS, known_sensors=observers)
                    if (folder / OBSERVATIONS).exists() else empty_frame(OBSERVATION_COLUMNS))
    flightplans = (read_flightplans_csv(folder / FLIGHTPLANS)
                   if (folder / FLIGHTPLANS).exists() else empty_frame(FLIGHTPLAN_COLUMNS))
    airfields = read_airfields_csv(folder / AIRFIELDS) if (folder / AIRFIELDS).exists() else None
    return Scenario(path=folder, sensors=sensors, plots=plots, adsb=adsb, observations=observations,
                    flightplans=flightplans, airfields=airfields, date=meta["date"], start=meta["start"])


def _read_plots(folder: Path, sensors: list, radars: set[str], meta: dict):
    """plots.jsonl, else the same detections as ASTERIX (plots.ast, or a pcap of the UDP stream)."""
    from centinela.sources import read_asterix

    if (folder / PLOTS).exists():
        return read_plots_jsonl(folder / PLOTS, known_sensors=radars)
    if (folder / "plots.ast").exists():
        if meta["date"] is None:
            raise InputError(folder / SENSORS, 'plots.ast carries only the time of day: set date = "YYYY-MM-DD"',
                             field="date")
        return read_asterix(folder / "plots.ast", sensors, date=meta["date"])[0]
    if (folder / "plots.pcap").exists():
        return read_asterix(folder / "plots.pcap", sensors, date=meta["date"])[0]
    return empty_frame(PLOT_COLUMNS)


def _read_adsb(folder: Path, sensors: list, meta: dict):
    """adsb.sbs, else Beast binary (adsb.beast) or raw Mode S hex (adsb.hex), decoded with pyModeS."""
    from centinela.sources import read_beast, read_hex
    from centinela.sources.clock import start_epoch_s

    # CPR surface positions and local decoding need a reference: the first ADS-B receiver.
    receiver = next(((s.lat, s.lon) for s in sensors if s.kind == "adsb"), None)
    if (folder / ADSB).exists():
        return read_sbs(folder / ADSB)
    if (folder / "adsb.beast").exists():
        if meta["date"] is None or meta["start"] is None:
            raise InputError(folder / SENSORS, 'adsb.beast time stamps are relative: set date = "YYYY-MM-DD" '
                             'and start = "HH:MM:SS"', field="start")
        return read_beast(folder / "adsb.beast", t0_s=start_epoch_s(meta["date"], meta["start"]),
                          reference=receiver)[0]
    if (folder / "adsb.hex").exists():
        return read_hex(folder / "adsb.hex", reference=receiver)[0]
    return empty_frame(ADSB_COLUMNS)
