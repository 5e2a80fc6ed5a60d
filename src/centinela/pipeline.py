"""The analysis pipeline: scenario folder in, contract outputs out.

One streaming core serves batch and live alike: measurements are fed to :class:`centinela.track.Tracker`
in time-ordered batches, exactly as a live feed would, and the later stages run on what it emits. A stage
that is not built yet leaves its output empty and says so in ``Outputs.stages`` (the report shows it).

>>> from centinela.pipeline import STAGES
>>> STAGES
('track', 'detect', 'airstrips', 'assess', 'alert')
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from centinela.model import Outputs, Scenario

STAGES = ("track", "detect", "airstrips", "assess", "alert")

# progress(stage, fraction_done)
Progress = Callable[[str, float], None]


def _optional(module: str, name: str):
    """The stage function ``module.name``, or None while that stage is not built."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def run_stages(
    scenario: Scenario,
    *,
    previous_airstrips: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> Outputs:
    """Run every built stage on ``scenario`` and return the outputs (nothing is written).

    Never reads the scenario's ``truth/`` folder: ``scenario`` holds only the contract's inputs.
    """
    report = progress or (lambda stage, fraction: None)
    outputs = Outputs()

    track = _optional("centinela.track", "track")
    if track is None:
        outputs.stages["track"] = "not built yet: tracks are empty"
        for stage in STAGES[1:]:
            outputs.stages[stage] = "skipped: needs tracks"
        return outputs
    outputs.tracks = track(scenario, progress=lambda f: report("track", f))
    outputs.stages["track"] = "ran"

    from centinela.io.airfields import registered_airfields

    registered = registered_airfields(scenario.airfields)
    terrain = _scenario_terrain(scenario)

    detect_events = _optional("centinela.detect", "detect_events")
    update_airstrips = _optional("centinela.detect", "update_airstrips")
    if detect_events is None:
        outputs.stages["detect"] = "not built yet: events are empty"
    else:
        report("detect", 0.0)
        outputs.events = detect_events(
            outputs.tracks, sensors=scenario.sensors, terrain=terrain, registered=registered
        )
        outputs.stages["detect"] = "ran"
        report("detect", 1.0)
    if update_airstrips is None or detect_events is None:
        outputs.stages["airstrips"] = "not built yet: the airstrip catalogue is empty"
    else:
        outputs.airstrips, outputs.events = update_airstrips(outputs.events, registered, previous_airstrips)
        outputs.stages["airstrips"] = "ran"

    assess = _optional("centinela.assess", "assess")
    if assess is None:
        outputs.stages["assess"] = "not built yet: no scores"
    else:
        report("assess", 0.0)
        outputs.assessments = assess(scenario, outputs, terrain=terrain, registered=registered)
        outputs.stages["assess"] = "ran"
        report("assess", 1.0)

    warn = _optional("centinela.alerts", "warn")
    if warn is None:
        outputs.stages["alert"] = "not built yet: no alerts"
    else:
        outputs.alerts = warn(scenario, outputs, terrain=terrain, registered=registered)
        outputs.stages["alert"] = "ran"
    return outputs


def _scenario_terrain(scenario: Scenario):
    """The terrain model analysis uses: the built-in synthetic VRAEM model while no real DEM is given."""
    terrain_module = _optional("centinela.geo.terrain", "default_terrain")
    return terrain_module(scenario.path) if terrain_module else None


def analyze(
    scenario_dir: str | Path,
    out_dir: str | Path,
    *,
    previous_airstrips: str | Path | None = None,
    progress: Progress | None = None,
) -> Outputs:
    """Read a scenario folder, run every stage, and write the contract's outputs into ``out_dir``.

    Outputs are written all-or-nothing (see :func:`centinela.io.outputs.write_outputs`).
    """
    from centinela.io.outputs import read_airstrips_geojson, write_outputs
    from centinela.io.scenario import read_scenario
    from centinela.report import render_report

    scenario = read_scenario(scenario_dir)
    previous = read_airstrips_geojson(previous_airstrips) if previous_airstrips else None
    outputs = run_stages(scenario, previous_airstrips=previous, progress=progress)
    if progress:
        progress("report", 0.0)
    html = render_report(scenario, outputs)
    write_outputs(outputs, out_dir, report_html=html)
    if progress:
        progress("report", 1.0)
    return outputs
