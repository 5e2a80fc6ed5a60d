"""Training is reproducible: the same seeds give the same model file, byte for byte (tiny setting)."""
from __future__ import annotations

import json

import pytest

from centinela.assess import train
from centinela.assess.scoring import ModelFile
from centinela.assess.training import parse_seeds

# Two and a half hours around dawn (10:00 UTC = 05:00 local) hold air-bridge landings and a few confounders.
TINY = {"days": 0.1, "profiles": ("easy",), "sim_config": {"start": "2026-06-01T10:00:00Z"}}


def test_same_seeds_give_the_same_model(tmp_path):
    first = train([10_000], tmp_path / "a.json", **TINY)
    second = train([10_000], tmp_path / "b.json", **TINY)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert first["model_sha256"] == second["model_sha256"]
    model = ModelFile.load(tmp_path / "a.json")
    assert model.info["seeds"] == [10_000]
    assert len(model.flight.coef) == len(model.flight.features)
    assert json.loads((tmp_path / "a.json").read_text())["format"] == "centinela-assess-model/1"


def test_training_refuses_evaluation_seeds(tmp_path):
    with pytest.raises(ValueError, match="10000"):
        train([7], tmp_path / "m.json", **TINY)


def test_seed_ranges_parse():
    assert parse_seeds("10000-10002,10010") == [10_000, 10_001, 10_002, 10_010]


def test_train_command_explains_itself():
    from click.testing import CliRunner

    from centinela.assess.cli import train_command

    result = CliRunner().invoke(train_command, ["--help"])
    assert result.exit_code == 0
    assert "--seeds" in result.output and "Example" in result.output


def test_site_probability_is_fitted_to_how_often_the_site_was_right():
    import numpy as np
    import pandas as pd

    from centinela.assess.training import fit_site_spread

    rng = np.random.default_rng(3)
    # 400 strip predictions, right with probability share / 2; 200 dead-reckoned, right 1 time in 20.
    share = rng.uniform(0.1, 1.0, 400)
    strip = pd.DataFrame({"basis": "strip", "site_share": share, "site_ok": rng.random(400) < share / 2})
    dead = pd.DataFrame({"basis": "dawn", "site_share": np.nan, "site_ok": rng.random(200) < 0.05})
    predictions = pd.concat([strip, dead], ignore_index=True).assign(
        w=1.0, site_err_m=10_000.0, site_distance_m=30_000.0)
    spread, info = fit_site_spread(predictions)
    p = spread.hit_probability(["strip"] * 3 + ["dawn"], [0.2, 0.6, 1.0, np.nan])
    assert np.all(np.diff(p[:3]) >= 0), "a larger share is never less likely to be right"
    assert abs(p[0] - 0.1) < 0.1 and abs(p[2] - 0.5) < 0.15, "about half the share, as constructed"
    assert abs(p[3] - 0.05) < 0.04
    assert info["site_hit_strip_samples"] == 400 and info["site_hit_dead_reckoned_samples"] == 200


def test_the_strip_eta_window_covers_the_landings_when_applied_to_the_stated_time_to_go():
    import numpy as np
    import pandas as pd

    from centinela.alerts.warning import EtaWindow
    from centinela.assess.training import fit_eta_window

    rng = np.random.default_rng(5)
    # Planes that do not fly straight: they land 1.0-2.2 times the stated time to go after the prediction.
    stated = rng.uniform(300.0, 1800.0, 500)
    to_go = stated * rng.uniform(1.0, 2.2, 500)
    predictions = pd.DataFrame({"basis": "strip", "to_go": to_go, "err": to_go - stated, "w": 1.0,
                                "site_ok": False, "at_issue": False})
    window, _ = fit_eta_window(predictions, EtaWindow())
    inside = np.abs(to_go - stated) <= window.width_s(stated) / 2
    assert 0.85 <= inside.mean() <= 0.95


def test_the_approach_time_is_what_the_landings_took_beyond_a_straight_flight_and_narrows_the_window():
    import numpy as np
    import pandas as pd

    from centinela.alerts.warning import APPROACH_EXTRA_S, EtaWindow
    from centinela.assess.training import fit_eta_window

    rng = np.random.default_rng(7)
    # Each landing came 7 min (+-5) after a straight flight would have; the provisional ETA added one minute.
    straight = rng.uniform(300.0, 1800.0, 400)
    to_go = straight + rng.normal(420.0, 300.0, 400)
    stated = straight + APPROACH_EXTRA_S
    predictions = pd.DataFrame({"basis": "strip", "to_go": to_go, "err": to_go - stated, "w": 1.0,
                                "site_ok": True, "at_issue": False, "straight_s": straight})
    without, _ = fit_eta_window(predictions.drop(columns="straight_s"), EtaWindow())
    window, info = fit_eta_window(predictions, EtaWindow())
    assert without.approach_s == APPROACH_EXTRA_S, "no straight-flight times, nothing to fit"
    assert abs(window.approach_s - 420.0) < 60.0 and info["eta_approach_s"] == window.approach_s
    eta_to_go = straight + window.approach_s
    inside = np.abs(to_go - eta_to_go) <= window.width_s(eta_to_go) / 2
    assert 0.85 <= inside.mean() <= 0.97
    assert np.median(window.width_s(eta_to_go)) < 0.6 * np.median(without.width_s(stated))
