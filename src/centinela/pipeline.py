"""The analysis pipeline: scenario folder in, contract outputs out.

One streaming core serves batch and live alike: measurements are fed to :class:`centinela.track.Tracker`
in time-ordered batches, exactly as a live feed would, and the later stages run on what it emits.
``Outputs.stages`` records which stages ran (the report shows it).

>>> from centinela.pipeline import STAGES
>>> STAGES
('track', 'detect', 'airstrips', 'assess', 'alert')
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from centinela.model import Outputs, Scenario

STAGES = ("track", "detect", "airstrips", "assess", "alert")

# progress(stage, fraction_done)
Progress = Callable[[str, float], None]


def run_stages(
    scenario: Scenario,
    *,
    previous_airstrips: pd.DataFrame | None = None,
    progress: Progress | None = None,
    until: str = "alert",
) -> Outputs:
    """Run the stages on ``scenario`` in order, up to and including ``until`` (one of :data:`STAGES`),
    and return the outputs (nothing is written). Stages after ``until`` leave their outputs empty.

    Never reads the scenario's ``truth/`` folder: ``scenario`` holds only the contract's inputs.
    """
    from centinela.alerts import warn
    from centinela.assess import assess
    from centinela.detect import detect_events, update_airstrips
    from centinela.io.airfields import registered_airfields
    from centinela.track import track

    if until not in STAGES:
        raise ValueError(f"until must be one of {STAGES}, got {until!r}")
    last = STAGES.index(until)
    report = progress or (lambda stage, fraction: None)
    outputs = Outputs(stages={stage: "not run (stopped earlier)" for stage in STAGES[last + 1:]})
    registered = registered_airfields(scenario.airfields)
    terrain = scenario_terrain(scenario)

    def stage(name: str, run: Callable[[], None]) -> bool:
        """Run one stage with its progress; False once past ``until``."""
        if STAGES.index(name) > last:
            return False
        report(name, 0.0)
        run()
        outputs.stages[name] = "ran"
        report(name, 1.0)
        return True

    def run_track() -> None:
        outputs.tracks = track(scenario, progress=lambda f: report("track", f))

    def run_detect() -> None:
        outputs.events = detect_events(outputs.tracks, sensors=scenario.sensors, terrain=terrain,
                                       registered=registered)

    def run_airstrips() -> None:
        outputs.airstrips, outputs.events = update_airstrips(outputs.events, registered, previous_airstrips)

    def run_assess() -> None:
        outputs.assessments = assess(scenario, outputs, terrain=terrain, registered=registered)

    def run_alert() -> None:
        outputs.alerts = warn(scenario, outputs, terrain=terrain, registered=registered)

    for name, run in zip(STAGES, (run_track, run_detect, run_airstrips, run_assess, run_alert), strict=True):
        if not stage(name, run):
            break
    return outputs


def scenario_terrain(scenario: Scenario):
    """The terrain analysis uses: the scenario's own DEM (``terrain.tif``) when it has one, else None."""
    from centinela.geo.terrain import default_terrain

    return default_terrain(scenario.path)


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
    from centinela import __version__

    run = {"scenario": str(Path(scenario_dir).resolve()), "centinela_version": __version__,
           "previous_airstrips": str(Path(previous_airstrips).resolve()) if previous_airstrips else None}
    write_outputs(outputs, out_dir, report_html=html, run=run)
    if progress:
        progress("report", 1.0)
    return outputs
