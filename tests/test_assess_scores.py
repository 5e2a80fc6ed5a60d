"""Scores from the shipped model on hand-made flights: calibrated probabilities with their reasons."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from centinela import model
from centinela.assess import assess, load_model
from centinela.assess.examples import airliner_with_plan, dark_dawn_stop, helicopter_hop
from centinela.assess.explanations import HELICOPTER_HOP
from centinela.assess.indicators import FLIGHT_INDICATORS


def scored(case) -> pd.DataFrame:
    return assess(case.scenario, case.outputs, registered=case.registered)


def test_dark_dawn_stop_on_a_clandestine_strip_scores_high():
    out = scored(dark_dawn_stop())
    assert (out["score"] > 0.8).all()
    terms = json.loads(out["contributions"].iloc[0])
    assert terms["no_transponder"] > 0 and terms["no_flight_plan"] > 0
    assert terms.get("unregistered_landing", 0.0) >= 0, "a suspicious indicator never speaks for the flight"
    assert list(terms) == sorted(terms, key=lambda k: -abs(terms[k])), "largest contribution first"


def test_airliner_with_flight_plan_and_adsb_scores_low():
    out = scored(airliner_with_plan())
    assert (out["score"] < 0.05).all()
    assert "airline" in out["explanations"].iloc[0]


def test_army_helicopter_hop_keeps_the_helicopter_explanation():
    out = scored(helicopter_hop())
    assert HELICOPTER_HOP in out["explanations"].iloc[0]


def test_scores_are_probabilities_and_follow_the_contract():
    out = pd.concat([scored(c) for c in (dark_dawn_stop(), airliner_with_plan(), helicopter_hop())])
    assert list(out.columns[:2]) == list(model.ASSESSMENT_COLUMNS)
    assert out["score"].between(0.0, 1.0).all()
    assert (out["score"] == out["flight_score"]).all()


def test_shipped_model_is_plain_json_with_every_indicator():
    m = load_model()
    assert m.flight.features == FLIGHT_INDICATORS
    assert np.all(np.diff(m.flight.calibration_y) >= 0), "the calibration is monotone"
    assert 0.0 <= min(m.flight.calibration_y) and max(m.flight.calibration_y) <= 1.0
