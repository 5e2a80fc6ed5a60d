"""Evaluation against truth: a tiny hand-built world (two air-bridge flights, a military helicopter, a mission
plane and an airliner), outputs derived from its truth with known errors, and checks that every metric moves
the way it must."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from centinela import model
from centinela.evaluate import evaluate_frames, metrics_table
from centinela.evaluate.assessment import assessment_metrics
from centinela.geo.frames import bearing_deg, destination, haversine_m

T0 = 1_780_000_000.0  # 2026-05-28 UTC
STATE_STEP_S = 5.0
TRACK_STEP_S = 10.0

# site -> (lat, lon, clandestine)
SITES = {
    "S1": (-12.40, -73.90, True),
    "S2": (-12.80, -73.60, True),
    "BASE": (-12.60, -74.10, False),
    "MISSION": (-12.20, -73.70, False),
}
# truth_id -> kind, origin (lat, lon), landing site, landing time, ground time (s), flight time (s)
FLIGHTS = {
    "N1": ("narco", (-12.0, -72.6), "S1", T0 + 3_600.0, 600.0, 2_400.0),
    "N2": ("narco", (-13.2, -72.5), "S2", T0 + 9_000.0, 900.0, 2_400.0),
    "M1": ("military", (-12.9, -73.8), "BASE", T0 + 5_400.0, 1_200.0, 1_200.0),
    "P1": ("mission", (-11.8, -73.2), "MISSION", T0 + 6_000.0, 600.0, 1_800.0),
}
AIRLINER = ("A1", "airline", (-11.5, -74.5), (-13.3, -72.6), T0 + 1_000.0, T0 + 10_000.0)


def _leg(truth_id: str, a: tuple[float, float], b: tuple[float, float], t_a: float, t_b: float) -> pd.DataFrame:
    t = np.arange(t_a, t_b + 1e-9, STATE_STEP_S)
    frac = (t - t_a) / (t_b - t_a)
    lat, lon = destination(a[0], a[1], bearing_deg(a[0], a[1], b[0], b[1]), frac * haversine_m(a[0], a[1], b[0], b[1]))
    return pd.DataFrame({"t": t, "truth_id": truth_id, "lat": lat, "lon": lon, "alt_m": 1_500.0,
                         "on_ground": False, "transponder": False})


def make_truth() -> model.Truth:
    states, events, flights = [], [], []
    for truth_id, (kind, origin, site, t_land, ground_s, flight_s) in FLIGHTS.items():
        lat, lon, clandestine = SITES[site]
        inbound = _leg(truth_id, origin, (lat, lon), t_land - flight_s, t_land)
        inbound.loc[inbound.index[-1], "on_ground"] = True
        ground_t = np.arange(t_land + STATE_STEP_S, t_land + ground_s, STATE_STEP_S)
        ground = pd.DataFrame({"t": ground_t, "truth_id": truth_id, "lat": lat, "lon": lon, "alt_m": 600.0,
                               "on_ground": True, "transponder": False})
        outbound = _leg(truth_id, (lat, lon), origin, t_land + ground_s, t_land + ground_s + flight_s)
        outbound.loc[outbound.index[0], "on_ground"] = True
        states += [inbound, ground, outbound]
        events += [
            {"kind": "landing", "truth_id": truth_id, "t": t_land, "lat": lat, "lon": lon, "site": site,
             "clandestine": clandestine},
            {"kind": "takeoff", "truth_id": truth_id, "t": t_land + ground_s, "lat": lat, "lon": lon, "site": site,
             "clandestine": clandestine},
        ]
        flights.append({"truth_id": truth_id, "kind": kind, "callsign": None, "icao24": None})
    truth_id, kind, a, b, t_a, t_b = AIRLINER
    states.append(_leg(truth_id, a, b, t_a, t_b).assign(alt_m=10_000.0, transponder=True))
    flights.append({"truth_id": truth_id, "kind": kind, "callsign": "LPE2101", "icao24": "e80123"})
    return model.Truth(
        states=model.conform(pd.concat(states, ignore_index=True).sort_values("t", kind="stable"),
                             model.TRUTH_STATE_COLUMNS).reset_index(drop=True),
        flights=model.conform(pd.DataFrame(flights), model.TRUTH_FLIGHT_COLUMNS),
        events=model.conform(pd.DataFrame(events), model.TRUTH_EVENT_COLUMNS),
    )


def _jitter(lat: np.ndarray, lon: np.ndarray, sigma_m: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Move each point a Gaussian distance (σ per axis) in a random direction."""
    if sigma_m == 0:
        return np.asarray(lat, float), np.asarray(lon, float)
    de, dn = rng.normal(0.0, sigma_m, (2, len(lat)))
    return destination(lat, lon, np.degrees(np.arctan2(de, dn)), np.hypot(de, dn))


def make_outputs(truth: model.Truth, sigma_m: float = 0.0, seed: int = 0) -> model.Outputs:
    """Outputs a perfect system would write, with positions jittered by ``sigma_m``: one track per truth
    flight (airborne states every 10 s), a ground stop per landing, one strip per site, kind-true scores and
    an alert 20 minutes before each air-bridge landing."""
    rng = np.random.default_rng(seed)
    s = truth.states
    s = s[~s["on_ground"].to_numpy(bool) & (np.round(s["t"].to_numpy(float)) % TRACK_STEP_S == 0)]
    lat, lon = _jitter(s["lat"].to_numpy(), s["lon"].to_numpy(), sigma_m, rng)
    tracks = pd.DataFrame({"t": s["t"].to_numpy(), "track_id": ("T-" + s["truth_id"].astype(str)).to_numpy(),
                           "lat": lat, "lon": lon, "alt_m": np.nan, "vn_mps": 0.0, "ve_mps": 0.0,
                           "sigma_pos_m": 100.0})

    landings = truth.events[truth.events["kind"] == "landing"].reset_index(drop=True)
    lat, lon = _jitter(landings["lat"].to_numpy(), landings["lon"].to_numpy(), sigma_m, rng)
    events = pd.DataFrame({"kind": "ground_stop", "t": landings["t"].to_numpy(), "t_end": landings["t"] + 600.0,
                           "lat": lat, "lon": lon, "track_ids": [["T-" + i] for i in landings["truth_id"]],
                           "airstrip_id": landings["site"].to_numpy(), "confidence": 0.9})

    sites = landings.drop_duplicates("site")
    lat, lon = _jitter(sites["lat"].to_numpy(), sites["lon"].to_numpy(), sigma_m, rng)
    airstrips = pd.DataFrame({"id": sites["site"].to_numpy(), "lat": lat, "lon": lon,
                              "registered": False, "icao": None, "landings": 1, "first_seen": T0,
                              "last_seen": T0, "confidence": 0.8})

    kinds = truth.flights.set_index("truth_id")["kind"]
    assessments = pd.DataFrame({"track_id": "T-" + kinds.index.astype(str),
                                "score": np.where(kinds.to_numpy() == "narco", 0.9, 0.1)})

    narco = landings[landings["truth_id"].isin(kinds[kinds == "narco"].index)]
    alerts = pd.DataFrame({
        "alert_id": ["AL-" + i for i in narco["truth_id"]],
        "track_ids": [["T-" + i] for i in narco["truth_id"]],
        "score": 0.9,
        "t_issued": narco["t"].to_numpy() - 1_200.0,
        "indicators": [["no transponder"]] * len(narco),
        "predicted_site": [{"lat": a, "lon": o, "airstrip_id": s} for a, o, s in zip(narco["lat"], narco["lon"], narco["site"])],
        "eta": narco["t"].to_numpy(),
        "eta_window_s": 600.0,
    })
    return model.Outputs(
        tracks=model.conform(tracks, model.TRACK_COLUMNS),
        events=model.conform(events, model.EVENT_COLUMNS),
        airstrips=model.conform(airstrips, model.AIRSTRIP_COLUMNS),
        assessments=model.conform(assessments, model.ASSESSMENT_COLUMNS),
        alerts=model.conform(alerts, model.ALERT_COLUMNS),
        stages={stage: "ran" for stage in ("track", "detect", "airstrips", "assess", "alert")},
    )


@pytest.fixture(scope="module")
def truth() -> model.Truth:
    return make_truth()


@pytest.fixture(scope="module")
def perfect(truth) -> dict:
    return evaluate_frames(truth, make_outputs(truth))


def test_perfect_outputs_score_perfectly(perfect):
    land, strips, assess, alerts, tracking = (perfect[k] for k in ("landings", "airstrips", "assessment", "alerts", "tracking"))
    assert land["true_landings"] == 4 and land["true_narco_landings"] == 2
    assert land["narco_landing_recall"] == 1.0 and land["narco_landing_precision"] == 1.0
    assert land["landing_recall_all"] == 1.0 and land["landing_precision_all"] == 1.0
    assert land["narco_landing_error_median_m"] == pytest.approx(0.0, abs=1e-3)
    assert strips["true_clandestine_strips"] == 2
    # The two legitimate sites are catalogued as unregistered too: correct strips, but not clandestine ones.
    assert strips["clandestine_strip_recall"] == 1.0 and strips["clandestine_strip_precision"] == 0.5
    assert assess["assessment_auc_tracks"] == 1.0 and assess["assessment_auc_flights"] == 1.0
    assert assess["assessed_tracks_matched"] == 5
    assert alerts["narco_flights_alerted_fraction"] == 1.0 and alerts["false_alerts"] == 0
    assert alerts["alert_lead_time_median_s"] == pytest.approx(1_200.0)
    assert alerts["alert_site_and_eta_fraction"] == 1.0
    assert tracking["gospa_mean_m"] == pytest.approx(0.0, abs=1.0)
    assert tracking["truth_coverage_fraction"] == 1.0
    assert perfect["summary"]["tracks_matched_to_truth"] == 5
    assert perfect["summary"]["truth_flights_narco"] == 2


def test_position_noise_raises_location_errors_and_gospa_localisation(truth, perfect):
    noisy = [evaluate_frames(truth, make_outputs(truth, sigma_m=sigma, seed=1)) for sigma in (100.0, 300.0)]
    loc = [m["tracking"]["gospa_localisation_mean_m"] for m in [perfect, *noisy]]
    assert loc[0] < loc[1] < loc[2]
    # Mean horizontal error of a 2-D Gaussian with σ per axis is σ·√(π/2).
    assert noisy[1]["tracking"]["position_error_mean_m"] == pytest.approx(300.0 * math.sqrt(math.pi / 2), rel=0.15)
    assert 0 < noisy[0]["landings"]["narco_landing_error_median_m"] < noisy[1]["landings"]["narco_landing_error_median_m"]
    assert noisy[1]["airstrips"]["strip_error_median_m"] > noisy[0]["airstrips"]["strip_error_median_m"] > 0
    # Tracks still follow their flights, so the assessment is unchanged.
    assert noisy[1]["assessment"]["assessment_auc_tracks"] == 1.0


def test_dropping_a_narco_landing_lowers_recall_not_precision(truth):
    outputs = make_outputs(truth)
    outputs.events = outputs.events[outputs.events["airstrip_id"] != "S2"].reset_index(drop=True)
    land = evaluate_frames(truth, outputs)["landings"]
    assert land["narco_landing_recall"] == 0.5
    assert land["narco_landing_precision"] == 1.0
    assert land["landing_recall_all"] == 0.75


def test_landing_outside_the_time_or_distance_gate_does_not_count(truth):
    outputs = make_outputs(truth)
    events = outputs.events.copy()
    s1 = events["airstrip_id"] == "S1"
    events.loc[s1, "t"] += 16 * 60.0  # past the 15-minute window
    s2 = events["airstrip_id"] == "S2"
    events.loc[s2, "lat"] += 0.025  # about 2.8 km north of the strip
    outputs.events = events
    land = evaluate_frames(truth, outputs)["landings"]
    assert land["narco_landing_recall"] == 0.0
    assert land["narco_landing_precision"] == 0.0  # both narco outputs now match nothing


def test_landings_matched_to_legitimate_flights_are_not_false_narco_landings(truth):
    outputs = make_outputs(truth)
    spurious = outputs.events.iloc[[0]].assign(lat=-13.0, lon=-74.3, airstrip_id="nowhere")
    duplicate = outputs.events[outputs.events["airstrip_id"] == "S1"].assign(t=lambda d: d["t"] + 60.0)
    outputs.events = pd.concat([outputs.events, spurious, duplicate], ignore_index=True)
    land = evaluate_frames(truth, outputs)["landings"]
    # 2 narco matches; the 2 legitimate matches are left out; the spurious and the duplicate are false.
    assert land["narco_landing_precision"] == pytest.approx(2 / 4)
    assert land["landing_precision_all"] == pytest.approx(4 / 6)
    assert land["narco_landing_recall"] == 1.0


def test_a_landing_told_again_as_a_ground_stop_counts_once(truth):
    outputs = make_outputs(truth)
    told_twice = outputs.events.assign(kind="landing", t=lambda d: d["t"] - 30.0, t_end=np.nan)
    other_track = told_twice.iloc[[0]].assign(track_ids=[["T-other"]])  # same place and time, another track
    outputs.events = pd.concat([outputs.events, told_twice, other_track], ignore_index=True)
    land = evaluate_frames(truth, outputs)["landings"]
    assert land["output_landings"] == 5
    assert land["landing_precision_all"] == pytest.approx(4 / 5)


def test_strips_marked_registered_do_not_count_as_clandestine(truth):
    outputs = make_outputs(truth)
    outputs.airstrips.loc[outputs.airstrips["id"] == "S1", "registered"] = True
    strips = evaluate_frames(truth, outputs)["airstrips"]
    assert strips["clandestine_strip_recall"] == 0.5
    assert strips["output_unregistered_strips"] == 3


def test_false_tracks_raise_the_gospa_false_part_only(truth, perfect):
    outputs = make_outputs(truth)
    ghost = outputs.tracks[outputs.tracks["track_id"] == "T-A1"].assign(track_id="ghost", lat=lambda d: d["lat"] + 0.5)
    outputs.tracks = pd.concat([outputs.tracks, ghost], ignore_index=True)
    tracking = evaluate_frames(truth, outputs)["tracking"]
    assert perfect["tracking"]["gospa_false_mean_m"] == 0.0
    assert tracking["gospa_false_mean_m"] > 0.0
    assert tracking["gospa_missed_mean_m"] == perfect["tracking"]["gospa_missed_mean_m"]
    assert tracking["gospa_mean_m"] > perfect["tracking"]["gospa_mean_m"]


def test_dropped_track_raises_the_gospa_missed_part(truth, perfect):
    outputs = make_outputs(truth)
    outputs.tracks = outputs.tracks[outputs.tracks["track_id"] != "T-N1"]
    tracking = evaluate_frames(truth, outputs)["tracking"]
    assert tracking["gospa_missed_mean_m"] > perfect["tracking"]["gospa_missed_mean_m"]
    assert tracking["truth_coverage_fraction"] < 1.0
    assert tracking["gospa_false_mean_m"] == 0.0


def test_random_scores_give_auc_near_one_half_and_kind_scores_give_one():
    rng = np.random.default_rng(3)
    n = 4_000
    association = pd.DataFrame({"track_id": [f"T{i}" for i in range(n)], "truth_id": [f"F{i}" for i in range(n)],
                                "kind": rng.choice(["narco", "airline", "military", "mission"], n)})
    random = pd.DataFrame({"track_id": association["track_id"], "score": rng.random(n)})
    informed = random.assign(score=np.where(association["kind"] == "narco", 0.8, 0.2))
    assert assessment_metrics(random, association)["assessment_auc_tracks"] == pytest.approx(0.5, abs=0.04)
    assert assessment_metrics(informed, association)["assessment_auc_tracks"] == 1.0
    assert assessment_metrics(informed, association)["assessment_brier_tracks"] == pytest.approx(0.04)


def test_auc_is_none_when_one_class_is_missing(truth):
    outputs = make_outputs(truth)
    outputs.assessments = outputs.assessments[~outputs.assessments["track_id"].isin(["T-N1", "T-N2"])]
    assess = evaluate_frames(truth, outputs)["assessment"]
    assert assess["assessment_auc_tracks"] is None and assess["assessed_tracks_matched"] == 3


def test_alerts_late_false_and_misplaced(truth):
    outputs = make_outputs(truth)
    alerts = outputs.alerts.copy()
    n1, n2 = alerts["alert_id"] == "AL-N1", alerts["alert_id"] == "AL-N2"
    alerts.loc[n1, "t_issued"] = FLIGHTS["N1"][3] + 4 * 3_600.0  # after N1's only landing: late
    alerts.loc[n2, "eta"] = alerts.loc[n2, "eta"] + 900.0  # landing 15 min before the ETA: outside ±5 min
    false_alert = alerts[n2].assign(alert_id="AL-airliner", track_ids=[["T-A1"]])
    outputs.alerts = pd.concat([alerts, false_alert], ignore_index=True)
    m = evaluate_frames(truth, outputs)
    a = m["alerts"]
    assert a["narco_flights_alerted_fraction"] == 0.5 and a["late_alerts"] == 1
    assert a["false_alerts"] == 1
    assert a["false_alerts_per_day"] == pytest.approx(1 / m["summary"]["scenario_days"])
    assert a["alert_site_within_2km_fraction"] == 1.0 and a["alert_eta_in_window_fraction"] == 0.0
    assert a["alert_eta_error_median_s"] == pytest.approx(900.0)


def test_outcome_labels_are_checked_against_the_truth(truth):
    outputs = make_outputs(truth)
    o = evaluate_frames(truth, outputs)["outcomes"]
    # Both planes landed where and when predicted, and the events say so.
    assert o == {"alert_outcomes_labelled": 2, "alert_outcome_agreement_fraction": 1.0,
                 "alert_outcome_false_failures": 0}
    # One plane's ground stop is placed 20 km off: the outputs call it diverted, the truth says it arrived.
    events = outputs.events.copy()
    first = events.index[events["track_ids"].map(lambda ids: ids == ["T-N1"])][0]
    events.loc[first, "lat"] = events.loc[first, "lat"] + 20_000.0 / 111_195.0
    outputs.events = events
    o = evaluate_frames(truth, outputs)["outcomes"]
    assert o["alert_outcome_false_failures"] == 1 and o["alert_outcome_agreement_fraction"] == 0.5


def test_stated_site_uncertainty_is_checked_against_the_landing(truth):
    outputs = make_outputs(truth)
    assert evaluate_frames(truth, outputs)["alerts"]["alert_site_within_2sigma_fraction"] is None  # none stated
    alerts = outputs.alerts.copy()
    # Both alerts predict their strip exactly; move one 3 km off: inside 2 sigma of 2 km, outside 2 sigma of 1 km.
    moved = alerts["alert_id"] == "AL-N1"
    alerts.loc[moved, "predicted_site"] = [{**s, "lat": s["lat"] + 3_000.0 / 111_195.0}
                                           for s in alerts.loc[moved, "predicted_site"]]
    outputs.alerts = alerts.assign(sigma_site_m=2_000.0)
    assert evaluate_frames(truth, outputs)["alerts"]["alert_site_within_2sigma_fraction"] == 1.0
    outputs.alerts = alerts.assign(sigma_site_m=1_000.0)
    assert evaluate_frames(truth, outputs)["alerts"]["alert_site_within_2sigma_fraction"] == 0.5


def test_empty_outputs_score_zero_and_leave_undefined_metrics_none(truth):
    m = evaluate_frames(truth, model.Outputs())
    assert m["landings"]["narco_landing_recall"] == 0.0 and m["landings"]["narco_landing_precision"] is None
    assert m["airstrips"]["clandestine_strip_recall"] == 0.0 and m["airstrips"]["clandestine_strip_precision"] is None
    assert m["assessment"]["assessment_auc_tracks"] is None and m["assessment"]["assessed_tracks"] == 0
    assert m["alerts"]["narco_flights_alerted_fraction"] == 0.0 and m["alerts"]["false_alerts_per_day"] == 0.0
    assert m["alerts"]["alert_lead_time_median_s"] is None
    # No tracks: every airborne flight is missed, c/2 = 1 km for each.
    assert m["tracking"]["gospa_false_mean_m"] == 0.0 and m["tracking"]["gospa_localisation_mean_m"] == 0.0
    assert m["tracking"]["gospa_mean_m"] == m["tracking"]["gospa_missed_mean_m"] > 0
    assert m["tracking"]["truth_coverage_fraction"] == 0.0
    assert m["summary"]["tracks"] == 0


def test_outputs_of_stages_that_did_not_run_give_none(truth):
    outputs = make_outputs(truth)
    outputs.stages = {"track": "not built yet: tracks are empty", "detect": "skipped: needs tracks",
                      "airstrips.geojson": "missing", "assess": "skipped: needs tracks", "alert": "skipped: needs tracks"}
    m = evaluate_frames(truth, outputs)
    for section in ("landings", "airstrips", "assessment", "alerts", "tracking"):
        values = {k: v for k, v in m[section].items() if not k.startswith(("true_", "narco_flights_landed", "gospa_sample_interval"))}
        assert all(v is None for v in values.values()), (section, values)
    assert m["landings"]["true_narco_landings"] == 2  # truth-only counts are still reported


def test_metrics_are_strict_json_and_tabulate(perfect):
    text = json.dumps(perfect, allow_nan=False)
    assert json.loads(text) == perfect
    rows = metrics_table(perfect)
    assert ("landings", "narco_landing_recall", "1.00") in rows
    assert {section for section, _, _ in rows} == set(perfect)
    assert all(isinstance(v, str) for row in rows for v in row)


def test_evaluate_reads_real_files_and_matches_the_in_memory_result(truth, tmp_path):
    from centinela.evaluate import evaluate
    from centinela.io.outputs import write_outputs
    from centinela.io.truth import write_truth

    outputs = make_outputs(truth, sigma_m=100.0, seed=2)
    write_truth(truth, tmp_path / "scenario")
    write_outputs(outputs, tmp_path / "out")
    from_files = evaluate(tmp_path / "scenario", tmp_path / "out")
    in_memory = evaluate_frames(truth, outputs)
    assert from_files.keys() == in_memory.keys()
    for section, values in in_memory.items():
        for name, value in values.items():
            if value is None:
                assert from_files[section][name] is None, (section, name)
            else:
                assert from_files[section][name] == pytest.approx(value, rel=1e-6, abs=0.5), (section, name)


def test_missing_output_files_give_none_without_a_crash(truth, tmp_path):
    from centinela.evaluate import evaluate
    from centinela.io.outputs import write_outputs
    from centinela.io.truth import write_truth

    write_truth(truth, tmp_path / "scenario")
    write_outputs(make_outputs(truth), tmp_path / "out")
    (tmp_path / "out" / "alerts.jsonl").unlink()
    (tmp_path / "out" / "airstrips.geojson").unlink()
    m = evaluate(tmp_path / "scenario", tmp_path / "out")
    assert m["alerts"]["narco_flights_alerted_fraction"] is None and m["alerts"]["alerts"] is None
    assert m["airstrips"]["clandestine_strip_recall"] is None
    assert m["landings"]["narco_landing_recall"] == 1.0  # the files that are there still count

    (tmp_path / "empty").mkdir()
    nothing = evaluate(tmp_path / "scenario", tmp_path / "empty")
    assert nothing["landings"]["narco_landing_recall"] is None
    assert nothing["tracking"]["gospa_mean_m"] is None and nothing["summary"]["tracks"] is None
    assert nothing["summary"]["truth_flights_narco"] == 2


def test_reliability_curve_bins_scores_against_observed_kinds(truth):
    from centinela.evaluate import reliability_curve

    curve = reliability_curve(truth, make_outputs(truth))
    assert curve["tracks"].sum() == 5
    assert curve["predicted"].tolist() == pytest.approx([0.1, 0.9])
    assert curve["observed"].tolist() == [0.0, 1.0]
    missing = make_outputs(truth)
    missing.stages["assess"] = "not built yet: no scores"
    assert reliability_curve(truth, missing) is None


def test_a_truth_strip_table_gives_the_exact_strip_positions():
    from centinela.evaluate.airstrips import true_clandestine_strips

    truth = make_truth()
    truth.events.loc[truth.events["site"] == "S1", "lat"] += 0.003  # landings ~330 m from the strip's centre
    assert true_clandestine_strips(truth).set_index("site").loc["S1", "lat"] == pytest.approx(SITES["S1"][0] + 0.003)
    truth.strips = pd.DataFrame({"site": ["S1", "UNUSED"], "lat": [SITES["S1"][0], -11.0], "lon": [SITES["S1"][1], -74.0]})
    strips = true_clandestine_strips(truth).set_index("site")
    assert strips.index.tolist() == ["S1", "S2"]  # a strip nobody landed on is not asked for
    assert strips.loc["S1", "lat"] == pytest.approx(SITES["S1"][0])


def test_truth_derived_outputs_on_a_simulated_scenario(small_scenario):
    """The simulator's own truth, scored against outputs made from it: perfect, then with 150 m noise."""
    from centinela.io.truth import read_truth

    truth = read_truth(small_scenario)
    assert (truth.flights["kind"] == "narco").any(), "the small scenario should hold air-bridge traffic"
    perfect = evaluate_frames(truth, make_outputs(truth))
    noisy = evaluate_frames(truth, make_outputs(truth, sigma_m=150.0, seed=4))
    land, strips, tracking = perfect["landings"], perfect["airstrips"], perfect["tracking"]
    assert land["true_narco_landings"] > 0
    assert land["narco_landing_recall"] == 1.0 and land["landing_recall_all"] == 1.0
    assert land["narco_landing_error_median_m"] == pytest.approx(0.0, abs=1.0)
    assert strips["true_clandestine_strips"] > 0 and strips["clandestine_strip_recall"] == 1.0
    assert perfect["assessment"]["assessment_auc_tracks"] == 1.0
    assert perfect["alerts"]["narco_flights_alerted_fraction"] == 1.0 and perfect["alerts"]["false_alerts"] == 0
    # Tracks here are the truth every 10 s; linear interpolation between them cuts the corners of the
    # simulated orbits and turns by metres, never more.
    assert tracking["position_error_mean_m"] < 10.0 and tracking["gospa_false_mean_m"] == 0.0
    assert tracking["truth_coverage_fraction"] > 0.99
    # Every airborne flight is followed by its own track.
    assert perfect["summary"]["tracks_matched_to_truth"] == perfect["summary"]["tracks"]
    # Mean error of 2-D noise with σ per axis is σ·√(π/2) at an update; sampled halfway between two updates,
    # interpolation averages two independent errors and shrinks it by up to √2.
    expected_m = 150.0 * math.sqrt(math.pi / 2)
    assert expected_m / math.sqrt(2) * 0.9 < noisy["tracking"]["position_error_mean_m"] < expected_m * 1.1
    assert noisy["landings"]["narco_landing_error_median_m"] > 10.0
    assert noisy["assessment"]["assessment_auc_tracks"] == 1.0
