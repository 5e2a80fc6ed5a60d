"""Leaky recipients in the simulator, the season trials, and scoring flags against truth/leaks.csv."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from centinela.sim import simulate
from centinela.sim.config import resolve_config

# Around dawn, so the day's air-bridge flights land inside the window.
WINDOW = {"days": 0.25, "seed": 2, "config": {"start": "2026-06-01T08:00:00Z"}}


def _with_leaks(abort_probability: float) -> dict:
    # The operations centre receives every alert (dispatch policy), so every narco flight meets the leak.
    return {**WINDOW["config"], "leaks": {"units": {"VRAEM-OPS": {"leak_probability": 1.0,
                                                                  "abort_probability": abort_probability,
                                                                  "delay_min": 5.0}}}}


@pytest.fixture(scope="module")
def aborted(tmp_path_factory):
    path = tmp_path_factory.mktemp("leaks") / "abort"
    simulate(path, days=WINDOW["days"], seed=WINDOW["seed"], config=_with_leaks(1.0))
    return path


def test_a_leak_turns_the_flight_back_to_bolivia(aborted):
    from centinela.io.truth import read_truth

    leaks = pd.read_csv(aborted / "truth" / "leaks.csv")
    assert list(leaks.columns)[:4] == ["truth_id", "unit_id", "leaked", "outcome"]
    ops = leaks[leaks["unit_id"] == "VRAEM-OPS"]
    assert len(ops) >= 1 and ops["leaked"].all() and (ops["outcome"] == "aborted").all()
    assert not leaks.loc[leaks["unit_id"] != "VRAEM-OPS", "leaked"].any()
    truth = read_truth(aborted)
    for tid in ops["truth_id"]:
        landings = truth.events[(truth.events["truth_id"] == tid) & (truth.events["kind"] == "landing")]
        assert landings["site"].astype(str).str.startswith("BOL").all()  # never landed in the VRAEM
    assert (aborted / "units.toml").exists()  # the register alerts were dispatched over is an input


def test_a_diverted_flight_lands_on_another_strip(tmp_path):
    from centinela.io.truth import read_truth

    path = tmp_path / "divert"
    simulate(path, days=WINDOW["days"], seed=WINDOW["seed"], config=_with_leaks(0.0))
    baseline = tmp_path / "honest"
    simulate(baseline, **WINDOW)
    leaks = pd.read_csv(path / "truth" / "leaks.csv")
    diverted = leaks.loc[leaks["outcome"] == "diverted", "truth_id"].unique()
    assert len(diverted) >= 1
    moved, honest = read_truth(path).events, read_truth(baseline).events
    for tid in diverted:
        def strip(ev: pd.DataFrame, tid: str = tid) -> set:
            return set(ev[(ev["truth_id"] == tid) & (ev["kind"] == "landing")
                          & ev["site"].astype(str).str.startswith("VR")]["site"])
        assert strip(moved) and strip(moved) != strip(honest)
    assert not (baseline / "truth" / "leaks.csv").exists() and not (baseline / "units.toml").exists()


def test_leak_configuration_is_checked():
    cfg = resolve_config("easy", {"leaks": {"units": {"CE-VRAEM": {"leak_probability": 0.3}}}})
    assert cfg["leaks"]["units"]["CE-VRAEM"] == {"leak_probability": 0.3, "abort_probability": 0.5, "delay_min": 5.0}
    with pytest.raises(ValueError, match="leaks.units.CE-VRAEM.leak_probabilty"):
        resolve_config("easy", {"leaks": {"units": {"CE-VRAEM": {"leak_probabilty": 0.3}}}})
    with pytest.raises(ValueError, match="not in the unit register"):
        simulate("/nonexistent/never-written", days=0.05, seed=1,
                 config={"start": "2026-06-01T10:00:00Z", "leaks": {"units": {"NOBODY": {}}}})


def test_leak_parameters_are_documented():
    from pathlib import Path

    from centinela.sim.config import leak_parameters_markdown

    doc = (Path(__file__).resolve().parents[1] / "docs" / "need_to_know.md").read_text()
    assert leak_parameters_markdown() in doc


def test_season_trials_find_the_leaky_unit_and_spare_honest_ones():
    from centinela.evaluate.leaks import leak_flag_trials, summarise_leak_trials

    df = leak_flag_trials(n_seeds=4, leak_prob=0.9, n_alerts=40)
    assert df["leaky"].sum() == 4 and set(df.columns) >= {"seed", "unit_id", "shared_to_flag", "ever_flagged"}
    summary = summarise_leak_trials(df).iloc[0]
    assert summary["leaky_flagged_share"] >= 0.75
    assert summary["honest_wrongly_flagged_share"] <= 0.2
    flagged = df[df["ever_flagged"]]
    assert (flagged["shared_to_flag"] <= flagged["n_shared"]).all()


def test_flags_are_scored_against_truth(aborted):
    from centinela.evaluate.leaks import score_flags_against_truth

    posteriors = pd.DataFrame({"unit_id": ["VRAEM-OPS", "DIRANDRO-KIMBIRI"], "flagged": [True, True]})
    score = score_flags_against_truth(posteriors, aborted)
    assert score["leaky_units"] == 1 and score["leaky_flagged"] == 1
    assert score["honest_flagged"] == 1 and score["honest_flagged_share"] == pytest.approx(1 / score["honest_units"])
    assert score_flags_against_truth(posteriors, aborted / "truth") is None
    assert np.isfinite(score["leaky_flagged_share"])
