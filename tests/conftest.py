"""Shared fixtures: one small simulated scenario (and its analysis) for the whole session."""
from __future__ import annotations

import pytest

# A short window around dawn (10:45 UTC in the VRAEM) so air-bridge landings fall inside it.
SMALL_SCENARIO = {"days": 0.3, "seed": 11, "config": {"start": "2026-06-01T07:00:00Z"}}


@pytest.fixture(scope="session")
def small_scenario(tmp_path_factory):
    """A simulated scenario folder of about seven hours around dawn (easy profile)."""
    from centinela.sim import simulate

    path = tmp_path_factory.mktemp("scenario") / "s"
    simulate(path, **SMALL_SCENARIO)
    return path


@pytest.fixture(scope="session")
def small_analysis(small_scenario, tmp_path_factory):
    """The outputs folder of `analyze` on the small scenario."""
    from centinela.pipeline import analyze

    out = tmp_path_factory.mktemp("out") / "o"
    analyze(small_scenario, out)
    return out
