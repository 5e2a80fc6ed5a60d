"""Leak statistics: alert outcomes from outputs, the Bayesian leak model, its report fragment and CLI."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from centinela.alerts.leaks import (
    FLAG_BAYES_FACTOR,
    LeakPrior,
    leak_posteriors,
    leak_section_html,
    seeds_bayes_factors,
    unit_posterior,
)
from centinela.alerts.outcomes import alert_outcomes

SITE = {"lat": -12.45, "lon": -73.95, "airstrip_id": "S1"}


def _alert(alert_id: str, flight: str, t_issued: float = 1000.0, eta: float = 2800.0) -> dict:
    return {"alert_id": alert_id, "track_ids": [f"T{flight}"], "flight_id": flight, "score": 0.99,
            "t_issued": t_issued, "indicators": ["night"], "predicted_site": dict(SITE), "eta": eta,
            "eta_window_s": 600.0, "sigma_site_m": 800.0}


def _track(flight: str, t, lat, lon, vn, ve) -> pd.DataFrame:
    n = len(t)
    return pd.DataFrame({"t": np.asarray(t, float), "track_id": f"T{flight}", "lat": lat, "lon": lon,
                         "alt_m": np.nan, "vn_mps": vn, "ve_mps": ve, "sigma_pos_m": 50.0,
                         "flight_id": [flight] * n})


# --- outcomes -------------------------------------------------------------------------------------------------
def test_outcomes_tell_arrival_diversion_abort_and_unknown():
    alerts = pd.DataFrame([_alert("A1", "F1"), _alert("A2", "F2"), _alert("A3", "F3"), _alert("A4", "F4"),
                           _alert("A5", "F5"), _alert("A6", "F6", eta=20_000.0)])
    events = pd.DataFrame([
        # arrives at the predicted site inside the window
        {"kind": "ground_stop", "t": 2700.0, "t_end": 3300.0, "lat": -12.452, "lon": -73.951, "track_ids": ["TF1"]},
        # lands 30 km away
        {"kind": "landing", "t": 2600.0, "t_end": 2600.0, "lat": -12.18, "lon": -73.95, "track_ids": ["TF2"],
         "flight_id": "F2"},
        # crosses into Bolivia with no landing
        {"kind": "border_crossing", "t": 4000.0, "t_end": 4000.0, "lat": -12.5, "lon": -69.0, "track_ids": ["TF3"],
         "evidence": {"from": "PER", "to": "BOL"}},
        # lands at the site two hours late: waited the police out
        {"kind": "landing", "t": 2800.0 + 7200.0, "t_end": 2800.0 + 7200.0, "lat": -12.45, "lon": -73.95,
         "track_ids": ["TF4"]},
        # a landing BEFORE the alert does not count for it
        {"kind": "landing", "t": 500.0, "t_end": 500.0, "lat": -12.45, "lon": -73.95, "track_ids": ["TF5"]},
    ])
    tracks = pd.concat([
        # F5: heads for the site, then flies away east (turned back) and vanishes
        _track("F5", [1000, 1300, 1600], [-12.45, -12.45, -12.45], [-74.5, -74.3, -74.6], [0, 0, 0],
               [60, 60, -60]),
        # F6: still inbound when the data end, ETA far after them
        _track("F6", [1000, 1300], [-12.45, -12.45], [-74.6, -74.5], [0, 0], [60, 60]),
        _track("F1", [1000, 12000], [-12.45, -12.45], [-74.3, -73.95], [0, 0], [60, 0]),
    ], ignore_index=True)
    out = alert_outcomes(alerts, events, tracks).set_index("alert_id")
    assert out.loc["A1", "outcome"] == "arrived"
    assert out.loc["A2", "outcome"] == "diverted" and "km from the predicted site" in out.loc["A2", "detail"]
    assert out.loc["A3", "outcome"] == "aborted" and "PER to BOL" in out.loc["A3", "detail"]
    assert out.loc["A4", "outcome"] == "diverted" and "after the ETA window" in out.loc["A4", "detail"]
    assert out.loc["A5", "outcome"] == "aborted" and out.loc["A5", "detail"].startswith("turned back")
    assert out.loc["A6", "outcome"] == "unknown"


def test_outcomes_vanishing_near_the_site_is_unknown_not_abort():
    alerts = pd.DataFrame([_alert("A1", "F1")])
    tracks = _track("F1", [1000, 1500, 20000], [-12.45, -12.45, -12.0], [-74.2, -73.97, -73.0], [0, 0, 0],
                    [60, 60, 0])
    tracks = tracks.iloc[:2]  # the flight's last plots: 2 km short of the strip, heading for it
    other = _track("X", [20000], [-12.0], [-73.0], [0], [0])  # the data run on long after the window
    out = alert_outcomes(alerts, pd.DataFrame(columns=["kind", "t"]), pd.concat([tracks, other]))
    assert out["outcome"].tolist() == ["unknown"]


def test_outcomes_of_no_alerts_is_an_empty_table():
    out = alert_outcomes(pd.DataFrame(columns=["alert_id"]), None)
    assert len(out) == 0 and list(out.columns) == ["alert_id", "outcome", "detail", "t_outcome"]


# --- the model ------------------------------------------------------------------------------------------------
def _season(rng, n_alerts: int, leaky: str | None, leak_prob: float, base: float = 0.15):
    """Alerts to one to three of 6 units at random: units share alerts, so confounding must be explained away."""
    units = [f"U{k}" for k in range(6)]
    rows, outcomes = [], []
    for a in range(n_alerts):
        got = list(rng.choice(units, size=int(rng.integers(1, 4)), replace=False))
        for u in dict.fromkeys(got):
            rows.append({"alert_id": f"A{a}", "unit_id": u})
        fail = rng.random() < base or (leaky in got and rng.random() < leak_prob)
        outcomes.append({"alert_id": f"A{a}", "outcome": "aborted" if fail else "arrived"})
    return pd.DataFrame(rows), pd.DataFrame(outcomes)


def test_a_leaky_unit_is_flagged_and_its_colleagues_are_not():
    dispatch, outcomes = _season(np.random.default_rng(3), 120, "U2", 0.8)
    post = leak_posteriors(dispatch, outcomes).set_index("unit_id")
    assert post.loc["U2", "flagged"] and post.loc["U2", "p_leaks"] > 0.99
    assert post.loc["U2", "leak_lo"] < 0.8 < post.loc["U2", "leak_hi"]
    assert not post.drop(index="U2")["flagged"].any()
    assert (post.drop(index="U2")["leak_lo"] == 0).all()  # intervals of honest units start at "no leak"
    assert 0.05 < post.loc["U2", "base_rate"] < 0.3


def test_no_unit_is_flagged_when_nobody_leaks_and_unknowns_are_ignored():
    dispatch, outcomes = _season(np.random.default_rng(5), 90, None, 0.0)
    post = leak_posteriors(dispatch, outcomes)
    assert not post["flagged"].any()
    more = pd.concat([outcomes, pd.DataFrame({"alert_id": ["Z1"], "outcome": ["unknown"]})])
    also = pd.concat([dispatch, pd.DataFrame({"alert_id": ["Z1"], "unit_id": ["U1"]})])
    assert leak_posteriors(also, more)["n_shared"].sum() == post["n_shared"].sum()


def test_units_that_always_receive_the_same_alerts_are_reported_together():
    dispatch = pd.DataFrame({"alert_id": [f"A{k}" for k in range(10) for _ in (0, 1)][:20] + ["B1", "B2", "B3"],
                             "unit_id": ["MIL", "PROS"] * 10 + ["POL"] * 3})
    outcomes = pd.DataFrame({"alert_id": [f"A{k}" for k in range(10)] + ["B1", "B2", "B3"],
                             "outcome": ["aborted"] * 9 + ["arrived"] * 4})
    units = pd.DataFrame({"unit_id": ["MIL", "PROS", "POL", "IDLE"]})
    post = leak_posteriors(dispatch, outcomes, units).set_index("unit_id")
    assert post.loc["MIL", "bayes_factor"] == pytest.approx(post.loc["PROS", "bayes_factor"])
    assert "PROS" in post.loc["MIL", "note"] and "cannot tell" in post.loc["MIL", "note"]
    assert post.loc["IDLE", "n_shared"] == 0 and not post.loc["IDLE", "flagged"]


def test_a_unit_that_receives_every_alert_is_never_flagged():
    dispatch = pd.DataFrame({"alert_id": [f"A{k}" for k in range(20)], "unit_id": "OPS"})
    outcomes = pd.DataFrame({"alert_id": [f"A{k}" for k in range(20)], "outcome": "aborted"})
    post = leak_posteriors(dispatch, outcomes)
    assert not post["flagged"].any() and "too few to compare" in post["note"].iloc[0]


def test_the_seeds_numbers_are_suggestive_not_proof():
    seeds = seeds_bayes_factors()
    default = seeds.iloc[0]
    assert 1 < default["bayes_factor"] < 100 and default["leak_lo"] == 0.0
    # The evidence hangs on the base rate one assumes: strong if flights rarely fail anyway, weak if often.
    known = seeds[seeds["base_rate_prior"].str.startswith("known")]
    assert known["bayes_factor"].is_monotonic_decreasing
    assert known["bayes_factor"].iloc[0] > 100 > FLAG_BAYES_FACTOR > known["bayes_factor"].iloc[-1]
    # And with one alert that did not reach the unit there is nothing to compare against: no flag.
    dispatch = pd.DataFrame({"alert_id": ["A1", "A2", "A3", "A4"], "unit_id": ["MIL"] * 3 + ["POL"]})
    outcomes = pd.DataFrame({"alert_id": ["A1", "A2", "A3", "A4"], "outcome": ["aborted"] * 3 + ["arrived"]})
    assert not leak_posteriors(dispatch, outcomes).set_index("unit_id").loc["MIL", "flagged"]


def test_grid_posterior_matches_the_closed_form_without_others():
    # With the base rate known exactly and a uniform slab, P(data | leaks) has a closed form (Beta integrals).
    b = 0.2
    prior = LeakPrior(base_a=b * 1e6, base_b=(1 - b) * 1e6, grid_n=2001)
    shared = np.array([1] * 8 + [0] * 10, bool)
    failed = np.array([1, 1, 1, 1, 1, 0, 0, 0] + [1] + [0] * 9, bool)
    got = unit_posterior(shared, failed, prior=prior)
    from scipy import integrate

    k, m = 5, 3  # failures and arrivals among the shared alerts
    z1, _ = integrate.quad(lambda lam: (1 - (1 - b) * (1 - lam)) ** k * ((1 - b) * (1 - lam)) ** m, 0, 1)
    z0 = b**k * (1 - b) ** m
    assert got.log_bayes_factor == pytest.approx(np.log(z1 / z0), abs=0.02)


# --- report and CLI -------------------------------------------------------------------------------------------
def test_leak_section_shows_every_unit_with_its_interval():
    dispatch, outcomes = _season(np.random.default_rng(3), 60, "U2", 0.8)
    html = leak_section_html(leak_posteriors(dispatch, outcomes))
    assert html.count("<svg") == 6 and "U2 <b class='not'>flagged</b>" in html
    assert "No alert" in leak_section_html(pd.DataFrame())


def test_leaks_command_reads_runs_and_writes_the_table(tmp_path):
    from centinela.alerts.commands_leaks import leaks_command
    from centinela.alerts.dispatch import write_dispatch_csv
    from centinela.io.outputs import write_alerts_jsonl, write_events_jsonl

    runs = []
    for r in range(2):
        out = tmp_path / f"run{r}"
        out.mkdir()
        alerts = pd.DataFrame([_alert(f"A{k}", f"F{k}") for k in range(8)])
        # Flights alerted to POL-1 (odd ones) land 40 km away; the others arrive.
        events = pd.DataFrame([{"kind": "landing", "t": 2700.0, "t_end": 2700.0, "lat": -12.45 + (0.36 if k % 2 else 0),
                                "lon": -73.95, "track_ids": [f"TF{k}"], "airstrip_id": None, "confidence": 0.9}
                               for k in range(8)])
        write_alerts_jsonl(alerts, out / "alerts.jsonl")
        write_events_jsonl(events, out / "events.jsonl")
        dispatch = pd.DataFrame([{"alert_id": f"A{k}", "unit_id": "POL-1" if k % 2 else "POL-2", "reason": "acts",
                                  "t_dispatched": 1000.0, "widened_by": None, "approved_by": None}
                                 for k in range(8)])
        write_dispatch_csv(dispatch, out / "dispatch.csv")
        runs.append(str(out))
    result = CliRunner().invoke(leaks_command, [*runs, "--to", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert "16 alerts: 8 arrived, 0 aborted, 8 diverted" in result.output
    table = pd.read_csv(tmp_path / "report" / "leaks.csv").set_index("unit_id")
    assert table.loc["POL-1", "n_shared"] == 8 and table.loc["POL-1", "flagged"]
    assert not table.loc["POL-2", "flagged"]
    assert "FISCALIA-TID-PICHARI" in table.index  # the register's units that received nothing are listed too

    missing = CliRunner().invoke(leaks_command, [str(tmp_path / "report")])
    assert missing.exit_code != 0 and "alerts.jsonl" in str(missing.exception or missing.output)


def test_leaks_csv_round_trip_keeps_types_and_empty_notes(tmp_path):
    from centinela.alerts.leaks import LEAK_COLUMNS, read_leaks_csv, write_leaks_csv

    table = pd.DataFrame([{"unit_id": "U1", "n_shared": 6, "n_failed_shared": 5, "n_not_shared": 20,
                           "n_failed_not_shared": 2, "leak_mean": 0.6, "leak_lo": 0.3, "leak_hi": 0.85,
                           "p_leaks": 0.99, "bayes_factor": 120.0, "base_rate": 0.1, "flagged": True, "note": ""}])
    write_leaks_csv(table, tmp_path / "leaks.csv")
    back = read_leaks_csv(tmp_path / "leaks.csv")
    assert list(back.columns) == LEAK_COLUMNS
    assert back["note"].iloc[0] == "" and bool(back["flagged"].iloc[0]) is True
    assert int(back["n_shared"].iloc[0]) == 6 and float(back["bayes_factor"].iloc[0]) == 120.0
