"""Tracker benchmark: Centinela against a standard Stone Soup tracker on the same plots, accuracy against the
posterior Cramér–Rao bound, and the real-time margin on the busiest simulated hour.

    .venv/bin/python bench/bench_tracker.py            # everything (about 20 minutes on 2 shared cores, nearly all Stone Soup)
    .venv/bin/python bench/bench_tracker.py --quick    # smaller scenes, for a smoke test

Needs the ``bench`` extra (``pip install -e .[bench]`` → stonesoup). Prints a Markdown section to paste into
bench/README.md.

Scenes: two primary radars 80 km apart (σr 50 m, σθ 0.15°, Pd 0.9, 20 false plots per scan each, 10-s scans,
150 km range) and N aircraft at once, each flying straight legs and standard-rate turns at 40–80 m/s and
2,500 m. Both trackers get the same plots, batch by batch and sensor by sensor; Stone Soup gets each plot as
bearing and ground range from its radar in the same plane (the slant-range correction done for it).

Stone Soup tracker: near-constant-velocity model, extended Kalman filter on bearing/range, Mahalanobis
distance hypothesiser (gate 99.97 %, as Centinela's), GNN with 2-D assignment behind Stone Soup's k-d tree
pre-gating (``DetectionKDTreeGNN2D``), multi-measurement initiator (3 updates), deletion after 60 s without
update — the configuration of its tutorials, with its fastest association.
"""
from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from centinela import model
from centinela.evaluate.gospa import gospa_metrics
from centinela.geo.frames import LocalFrame, geodetic_to_aer
from centinela.track import Tracker, TrackerParams, motion, track
from centinela.track.convert import SensorGeometry
from centinela.track.measurements import batch_bounds, default_batch_s, measurement_table

ORIGIN = (-12.5, -73.8)
T0 = 1_780_000_000.0
ALT_M = 2_500.0
SCAN_S = 10.0


# --- scene -----------------------------------------------------------------------------------------------
def radars(clutter_per_scan: float = 20.0, pd: float = 0.9) -> list[model.Sensor]:
    frame = LocalFrame(*ORIGIN)
    out = []
    for i, east_m in enumerate((-40_000.0, 40_000.0)):
        lat, lon, _ = frame.to_geodetic(east_m, 0.0, 0.0)
        out.append(model.Sensor(f"PSR-{i + 1}", "psr", float(lat), float(lon), 800.0, scan_s=SCAN_S,
                                range_max_m=150_000.0, sigma_range_m=50.0, sigma_azimuth_deg=0.15, pd=pd,
                                clutter_per_scan=clutter_per_scan))
    return out


def flights(n: int, duration_s: float, rng: np.random.Generator) -> pd.DataFrame:
    """Truth every second: straight legs of 60–180 s and ±3 °/s turns of 20–60 s, 40–80 m/s."""
    t = np.arange(0.0, duration_s + 1.0)
    rows = []
    frame = LocalFrame(*ORIGIN)
    for k in range(n):
        rate = np.zeros_like(t)
        s = rng.uniform(0, 120)
        while s < duration_s:
            turn = rng.uniform(20, 60)
            rate[(t >= s) & (t < s + turn)] = rng.choice([-3.0, 3.0])
            s += turn + rng.uniform(60, 180)
        heading = np.radians(rng.uniform(0, 360) + np.concatenate([[0.0], np.cumsum(rate[:-1])]))
        speed = rng.uniform(40, 80)
        r0, b0 = 90_000.0 * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
        east = r0 * np.sin(b0) + np.concatenate([[0.0], np.cumsum(speed * np.sin(heading[:-1]))])
        north = r0 * np.cos(b0) + np.concatenate([[0.0], np.cumsum(speed * np.cos(heading[:-1]))])
        lat, lon, _ = frame.to_geodetic(east, north, 0.0)
        rows.append(pd.DataFrame({"t": T0 + t, "truth_id": f"A{k:03d}", "lat": lat, "lon": lon, "alt_m": ALT_M,
                                  "on_ground": False, "transponder": False, "turning": rate != 0}))
    return pd.concat(rows, ignore_index=True)


def radar_plots(sensor: model.Sensor, truth: pd.DataFrame, rng: np.random.Generator, duration_s: float) -> pd.DataFrame:
    """Each aircraft once a scan when the beam passes it (with probability Pd), plus uniform clutter."""
    ids = truth.truth_id.unique()
    n_t = len(truth) // len(ids)
    lat = truth.lat.to_numpy().reshape(len(ids), n_t)
    lon = truth.lon.to_numpy().reshape(len(ids), n_t)
    scans = int(duration_s // sensor.scan_s)
    k = np.arange(scans)
    t_scan = k * sensor.scan_s
    az0, _, _ = geodetic_to_aer(sensor.lat, sensor.lon, sensor.alt_m, lat[:, t_scan.astype(int)],
                                lon[:, t_scan.astype(int)], ALT_M)
    beam = t_scan[None, :] + az0 / 360.0 * sensor.scan_s  # (aircraft, scan), seconds from T0
    tt = np.arange(n_t, dtype=float)
    lat_b = np.stack([np.interp(beam[i], tt, lat[i]) for i in range(len(ids))])
    lon_b = np.stack([np.interp(beam[i], tt, lon[i]) for i in range(len(ids))])
    az, _, rng_m = geodetic_to_aer(sensor.lat, sensor.lon, sensor.alt_m, lat_b, lon_b, ALT_M)
    seen = (rng.random(az.shape) < sensor.pd) & (rng_m < sensor.range_max_m)
    n = int(seen.sum())
    target = pd.DataFrame({
        "t": T0 + beam[seen], "sensor": sensor.id,
        "range_m": rng_m[seen] + rng.normal(0, sensor.sigma_range_m, n),
        "azimuth_deg": (az[seen] + rng.normal(0, sensor.sigma_azimuth_deg, n)) % 360.0,
    })
    count = rng.poisson(sensor.clutter_per_scan, scans)
    kc = np.repeat(k, count)
    az_c = rng.uniform(0, 360, len(kc))
    clutter = pd.DataFrame({"t": T0 + (kc + az_c / 360.0) * sensor.scan_s, "sensor": sensor.id,
                            "range_m": sensor.range_max_m * np.sqrt(rng.uniform(0.005, 1.0, len(kc))),
                            "azimuth_deg": az_c})
    return pd.concat([target, clutter], ignore_index=True)


def scene(n: int, duration_s: float, seed: int) -> tuple[model.Scenario, model.Truth]:
    rng = np.random.default_rng(seed)
    sensors = radars()
    truth = flights(n, duration_s, rng)
    plots = pd.concat([radar_plots(s, truth, rng, duration_s) for s in sensors]).sort_values("t", ignore_index=True)
    scen = model.Scenario(
        path=Path("."), sensors=sensors, plots=model.conform(plots, model.PLOT_COLUMNS),
        adsb=model.empty_frame(model.ADSB_COLUMNS), observations=model.empty_frame(model.OBSERVATION_COLUMNS),
        flightplans=model.empty_frame(model.FLIGHTPLAN_COLUMNS), airfields=None,
    )
    flights_ = pd.DataFrame({"truth_id": truth.truth_id.unique(), "kind": "general"})
    return scen, model.Truth(truth.drop(columns="turning"), flights_, model.empty_frame(model.TRUTH_EVENT_COLUMNS))


# --- Stone Soup --------------------------------------------------------------------------------------------
def stone_soup_track(scen: model.Scenario) -> pd.DataFrame:
    """The same batches and sensor order as Centinela, through a textbook Stone Soup GNN tracker."""
    from stonesoup.dataassociator.tree import DetectionKDTreeGNN2D
    from stonesoup.deleter.time import UpdateTimeDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.nonlinear import CartesianToBearingRange
    from stonesoup.models.transition.linear import CombinedLinearGaussianTransitionModel, ConstantVelocity
    from stonesoup.predictor.kalman import ExtendedKalmanPredictor
    from stonesoup.types.detection import Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.types.update import Update
    from stonesoup.updater.kalman import ExtendedKalmanUpdater

    params = TrackerParams()
    tracker = Tracker(scen.sensors)  # only for its frame and plot conversion, so both see the same plane
    geometry: SensorGeometry = tracker.geometry
    plots = scen.plots
    # Plots → bearing (from the plane's x axis) and ground range from each radar, in the plane.
    detections_by_row = {}
    models = {}
    for k, s in enumerate(geometry.sensors):
        if s.kind not in ("psr", "ssr"):
            continue
        sel = np.flatnonzero((plots.sensor == s.id).to_numpy())
        z, _ = geometry.polar_to_local(np.full(len(sel), k), plots.range_m.to_numpy()[sel],
                                       plots.azimuth_deg.to_numpy()[sel], np.full(len(sel), params.psr_alt_m),
                                       np.zeros(len(sel)))
        origin = geometry.origin_m[k, :2]
        models[s.id] = CartesianToBearingRange(
            ndim_state=4, mapping=(0, 2),
            noise_covar=np.diag([np.radians(s.sigma_azimuth_deg) ** 2, s.sigma_range_m**2]),
            translation_offset=np.array([[origin[0]], [origin[1]]]),
        )
        d = z - origin
        bearing, ground = np.arctan2(d[:, 1], d[:, 0]), np.hypot(d[:, 0], d[:, 1])
        for row, b, r in zip(sel, bearing, ground):
            detections_by_row[row] = (b, r, s.id)
    t_all = plots.t.to_numpy()
    stamp = [dt.datetime.fromtimestamp(x, dt.UTC).replace(tzinfo=None) for x in t_all]
    detections = [Detection(np.array([[b], [r]]), timestamp=stamp[i], measurement_model=models[sid])
                  for i, (b, r, sid) in sorted(detections_by_row.items())]
    sensor_of = plots.sensor.to_numpy()

    q = 1.0  # m²/s³: between Centinela's cruise (0.25) and turn (2.25) noise, best GOSPA of 0.25 / 1 / 4
    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(q), ConstantVelocity(q)])
    predictor = ExtendedKalmanPredictor(transition)
    updater = ExtendedKalmanUpdater(measurement_model=None)
    gate = float(np.sqrt(tracker.gate_d2))
    hypothesiser = DistanceHypothesiser(predictor, updater, measure=Mahalanobis(), missed_distance=gate)
    # Stone Soup's own pre-gating: a k-d tree over each radar's (bearing, range) plots, queried with a radius that
    # in practice bounds range (bearings differ by < 2π rad). Without it (GNNWith2DAssignment alone) every
    # track is predicted to every plot and the run is about ten times slower.
    def gnn(max_range_m: float):
        return DetectionKDTreeGNN2D(hypothesiser, predictor, updater, max_distance=max_range_m)
    associator = gnn(5_000.0)
    initiator = MultiMeasurementInitiator(
        prior_state=GaussianState(np.zeros((4, 1)), np.diag([0.0, params.init_speed_sigma_mps**2, 0.0,
                                                               params.init_speed_sigma_mps**2])),
        deleter=UpdateTimeDeleter(dt.timedelta(seconds=params.tentative_max_gap_s)),
        data_associator=gnn(10_000.0), updater=updater, min_points=params.confirm_hits,
    )
    deleter = UpdateTimeDeleter(dt.timedelta(seconds=params.max_coast_s))

    tracks, every = set(), set()
    for a, b in batch_bounds(t_all, default_batch_s(scen.sensors)):
        for sid in pd.unique(sensor_of[a:b]):
            scan = {detections[i] for i in range(a, b) if sensor_of[i] == sid}
            now = max(d.timestamp for d in scan)
            hypotheses = associator.associate(tracks, scan, now)
            unassociated = set(scan)
            for trk, hyp in hypotheses.items():
                if hyp:
                    trk.append(updater.update(hyp))
                    unassociated.discard(hyp.measurement)
                else:
                    trk.append(hyp.prediction)
            tracks -= deleter.delete_tracks(tracks)
            born = initiator.initiate(unassociated, now)
            tracks |= born
            every |= born
    rows = []
    for n, trk in enumerate(every):
        for state in trk.states:
            if isinstance(state, Update):
                rows.append((state.timestamp.replace(tzinfo=dt.UTC).timestamp(), f"S{n}",
                             float(state.state_vector[0, 0]), float(state.state_vector[2, 0])))
    out = pd.DataFrame(rows, columns=["t", "track_id", "e", "n"])
    lat, lon, _ = tracker.frame.to_geodetic(out.e.to_numpy(), out.n.to_numpy(), 0.0)
    return out.assign(lat=lat, lon=lon).sort_values("t", ignore_index=True)


def frame_of(scen: model.Scenario) -> LocalFrame:
    return LocalFrame(np.mean([s.lat for s in scen.sensors]), np.mean([s.lon for s in scen.sensors]))


def compare(n: int, duration_s: float, seed: int, with_stone_soup: bool = True) -> dict:
    scen, truth = scene(n, duration_s, seed)
    start = time.perf_counter()
    ours = track(scen)
    ours_s = time.perf_counter() - start
    result = {"aircraft": n, "duration_s": duration_s, "plots": len(scen.plots), "centinela_s": ours_s,
              "centinela_gospa": gospa_metrics(truth, ours, frame_of(scen))}
    if with_stone_soup:
        start = time.perf_counter()
        theirs = stone_soup_track(scen)
        result["stonesoup_s"] = time.perf_counter() - start
        result["stonesoup_gospa"] = gospa_metrics(truth, theirs, frame_of(scen))
    return result


# --- accuracy against the PCRB ------------------------------------------------------------------------------
def pcrb_position_velocity(truth: pd.DataFrame, sensor: model.Sensor, plot_t: np.ndarray, q: float,
                           init_speed_sigma_mps: float, turn_rate_rps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior Cramér–Rao bound (Tichavský, Muravchik, Nehorai 1998) of position and velocity RMSE at the
    plot times of one radar, for a target whose motion follows the path (F: constant velocity, or a
    coordinated turn at the path's rate ``turn_rate_rps`` at each plot time) with process noise ``q`` (m²/s³):

        J(k+1) = (Q + F J(k)⁻¹ Fᵀ)⁻¹ + Pd · Hᵀ R(k+1)⁻¹ H

    with R the polar noise mapped to the plane at the true position (the Jacobian of bearing/range; the
    information of a plot detected with probability Pd is scaled by Pd — the information-reduction factor
    without clutter, so a lower bound), and J(0) from the first plot plus the initiation velocity prior."""
    geometry = SensorGeometry(LocalFrame(*ORIGIN), [sensor])
    lat, lon = np.interp(plot_t, truth.t, truth.lat), np.interp(plot_t, truth.t, truth.lon)
    az, _, r = geodetic_to_aer(sensor.lat, sensor.lon, sensor.alt_m, lat, lon, ALT_M)
    _, R = geometry.polar_to_local(np.zeros(len(plot_t), int), r, az, np.full(len(plot_t), ALT_M),
                                   np.zeros(len(plot_t)))
    H = np.zeros((2, 4))
    H[0, 0] = H[1, 1] = 1.0
    pos, vel = np.empty(len(plot_t)), np.empty(len(plot_t))
    P0 = np.zeros((4, 4))
    P0[:2, :2] = R[0]
    P0[2, 2] = P0[3, 3] = init_speed_sigma_mps**2
    J = np.linalg.inv(P0)
    for k in range(len(plot_t)):
        if k:
            T = plot_t[k] - plot_t[k - 1]
            models = motion.ImmModels(np.array([turn_rate_rps[k]]), np.array([q]), np.array([1.0]), np.ones(1))
            F, Q = (m[0, 0] for m in models.transition(np.array([T])))
            J = np.linalg.inv(Q + F @ np.linalg.inv(J) @ F.T) + sensor.pd * H.T @ np.linalg.inv(R[k]) @ H
        C = np.linalg.inv(J)
        pos[k], vel[k] = np.sqrt(C[0, 0] + C[1, 1]), np.sqrt(C[2, 2] + C[3, 3])
    return pos, vel


def accuracy(runs: int, seed: int) -> pd.DataFrame:
    """Monte-Carlo RMSE of one target 72–102 km from one radar (no clutter), straight and turning, next to the
    PCRB of the same geometry (CV noise for straight legs, the turn models' noise for turns)."""
    p = TrackerParams()
    sensor = radars(clutter_per_scan=0.0)[0]
    rng = np.random.default_rng(seed)
    frame = LocalFrame(*ORIGIN)
    t = np.arange(0.0, 901.0)
    rate = np.where((t >= 300) & (t < 420), 3.0, 0.0) + np.where((t >= 600) & (t < 660), -3.0, 0.0)
    heading = np.radians(20.0 + np.concatenate([[0.0], np.cumsum(rate[:-1])]))
    east = 20_000.0 + np.concatenate([[0.0], np.cumsum(70.0 * np.sin(heading[:-1]))])
    north = 40_000.0 + np.concatenate([[0.0], np.cumsum(70.0 * np.cos(heading[:-1]))])
    lat, lon, _ = frame.to_geodetic(east, north, 0.0)
    truth = pd.DataFrame({"t": T0 + t, "truth_id": "A000", "lat": lat, "lon": lon, "alt_m": ALT_M,
                          "on_ground": False, "transponder": False})
    ve, vn = 70.0 * np.sin(heading), 70.0 * np.cos(heading)
    errors = []
    for _ in range(runs):
        plots = radar_plots(sensor, truth, rng, 900.0)
        scen = model.Scenario(path=Path("."), sensors=[sensor], plots=model.conform(plots, model.PLOT_COLUMNS),
                              adsb=model.empty_frame(model.ADSB_COLUMNS),
                              observations=model.empty_frame(model.OBSERVATION_COLUMNS),
                              flightplans=model.empty_frame(model.FLIGHTPLAN_COLUMNS), airfields=None)
        out = track(scen, max_coast_s=600.0)  # one track per run: the bound is for one filter
        out = out[out.track_id == out.track_id.value_counts().index[0]]
        e, n, _ = frame.to_enu(out.lat, out.lon, ALT_M)
        tt = out.t.to_numpy() - T0
        te, tn, _ = frame.to_enu(np.interp(tt, t, lat), np.interp(tt, t, lon), ALT_M)
        errors.append(pd.DataFrame({
            "t": tt, "pos_err2": (e - te) ** 2 + (n - tn) ** 2,
            "vel_err2": (out.ve_mps - np.interp(tt, t, ve)) ** 2 + (out.vn_mps - np.interp(tt, t, vn)) ** 2,
        }))
    err = pd.concat(errors)
    # Segments: turning while a turn is under way (and 30 s after: the filter's reaction), straight after 60 s.
    turning = np.interp(err.t, t, (np.convolve(rate != 0, np.ones(31), "full")[: len(t)] > 0).astype(float)) > 0.5
    settled = err.t > 60
    plot_t = np.sort(radar_plots(sensor, truth, np.random.default_rng(0), 900.0).t.to_numpy())
    # Two bounds: for the path as flown (deterministic, Q = 0: the limit for an estimator that knew the target
    # flies exactly straight or turns at exactly 3 °/s), and for a near-constant-velocity target with the
    # tracker's own noise (cruise q on straight legs, turn q in turns: the limit for a filter that must allow
    # for manoeuvres of that size).
    bt = plot_t - T0
    # the path's turn rate, counterclockwise positive (the path's rate is clockwise positive, from north)
    omega = -np.radians(np.interp(bt, t, rate))
    bound_exact = pcrb_position_velocity(truth, sensor, plot_t, 0.0, p.init_speed_sigma_mps, omega)
    bound_cv = pcrb_position_velocity(truth, sensor, plot_t, p.cv_accel_psd_m2ps3, p.init_speed_sigma_mps, omega)
    bound_ct = pcrb_position_velocity(truth, sensor, plot_t, p.ct_accel_psd_m2ps3, p.init_speed_sigma_mps, omega)
    turn_b = np.interp(bt, t, (np.convolve(rate != 0, np.ones(31), "full")[: len(t)] > 0).astype(float)) > 0.5
    rows = []
    for name, sel, bound, bsel in (("straight", settled & ~turning, bound_cv, (bt > 60) & ~turn_b),
                                   ("turning", settled & turning, bound_ct, (bt > 60) & turn_b)):
        def rms(b: np.ndarray, sel_b: np.ndarray = bsel) -> float:
            return float(np.sqrt(np.mean(b[sel_b] ** 2)))
        rows.append({
            "segment": name,
            "pos_rmse_m": float(np.sqrt(err.pos_err2[sel].mean())),
            "pos_pcrb_exact_m": rms(bound_exact[0]), "pos_pcrb_q_m": rms(bound[0]),
            "vel_rmse_mps": float(np.sqrt(err.vel_err2[sel].mean())),
            "vel_pcrb_exact_mps": rms(bound_exact[1]), "vel_pcrb_q_mps": rms(bound[1]),
            "samples": int(sel.sum()),
        })
    return pd.DataFrame(rows)


# --- real-time margin ---------------------------------------------------------------------------------------
def real_time_margin(days: float, seed: int) -> dict:
    """Simulate (hard profile), pick the hour with most measurements, time each batch of the tracker on it."""
    import tempfile

    from centinela.io.scenario import read_scenario
    from centinela.sim import simulate

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s"
        simulate(path, days=days, seed=seed, profile="hard")
        scen = read_scenario(path)
    table = measurement_table(scen)
    hour = np.floor((table.t - table.t.min()) / 3600.0)
    busiest = hour.value_counts().idxmax()
    window = table[(hour >= busiest - 0.25) & (hour <= busiest)]  # 15 min of warm-up, then the hour
    tracker = Tracker(scen.sensors)
    arrays = tracker.prepare(window)
    batch_s = default_batch_s(scen.sensors)
    times, counts = [], []
    hour_start = table.t.min() + busiest * 3600.0
    for a, b in batch_bounds(arrays.t, batch_s):
        start = time.perf_counter()
        tracker.step(arrays.take(slice(a, b)))
        elapsed = time.perf_counter() - start
        if arrays.t[a] >= hour_start:
            times.append(elapsed)
            counts.append(b - a)
    times = np.array(times)
    per_10s = times * (10.0 / batch_s)
    return {"measurements_in_hour": int(np.sum(counts)), "batches": len(times), "batch_s": batch_s,
            "mean_ms": 1e3 * per_10s.mean(), "p99_ms": 1e3 * np.percentile(per_10s, 99),
            "max_ms": 1e3 * per_10s.max()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    quick = args.quick
    sizes = [(10, 200.0 if quick else 600.0), (50, 100.0 if quick else 300.0), (200, 60.0 if quick else 120.0)]
    print(f"## Tracker (bench/bench_tracker.py{' --quick' if quick else ''}, {dt.date.today()}, "
          f"Python {platform.python_version()}, {platform.machine()})\n")
    print("### Centinela vs Stone Soup, same plots (2 PSR, Pd 0.9, 20 false plots/scan/radar)\n")
    print("| aircraft | plots | Centinela plots/s | Stone Soup plots/s | speed ratio | GOSPA Centinela (m) "
          "| GOSPA Stone Soup (m) | loc./missed/false Centinela | loc./missed/false Stone Soup |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, duration in sizes:
        r = compare(n, duration, seed=n)
        g, h = r["centinela_gospa"], r["stonesoup_gospa"]
        parts = lambda m: f"{m['gospa_localisation_mean_m']:.0f} / {m['gospa_missed_mean_m']:.0f} / {m['gospa_false_mean_m']:.0f}"
        print(f"| {n} | {r['plots']} | {r['plots'] / r['centinela_s']:,.0f} | {r['plots'] / r['stonesoup_s']:,.0f} "
              f"| {r['stonesoup_s'] / r['centinela_s']:.0f}× | {g['gospa_mean_m']:.0f} | {h['gospa_mean_m']:.0f} "
              f"| {parts(g)} | {parts(h)} |", flush=True)
    print("\nGOSPA: c = 2 km, p = 1, α = 2, every 10 s, centinela.evaluate.gospa (a track is present between two "
          "updates at most 60 s apart).\n")
    print("### Accuracy against the posterior Cramér–Rao bound (one radar, target 72–102 km out, Pd 0.9, "
          f"{5 if quick else 30} runs)\n")
    acc = accuracy(5 if quick else 30, seed=1)
    print("| segment | position RMSE (m) | PCRB as flown (m) | PCRB with the tracker's q (m) | velocity RMSE (m/s) "
          "| PCRB as flown (m/s) | PCRB with q (m/s) | samples |")
    print("|---|---|---|---|---|---|---|---|")
    for r in acc.itertuples():
        print(f"| {r.segment} | {r.pos_rmse_m:.0f} | {r.pos_pcrb_exact_m:.0f} | {r.pos_pcrb_q_m:.0f} "
              f"| {r.vel_rmse_mps:.1f} | {r.vel_pcrb_exact_mps:.1f} | {r.vel_pcrb_q_mps:.1f} | {r.samples} |")
    print("\n### Real-time margin, busiest hour of a simulated day (hard profile)\n")
    rt = real_time_margin(0.25 if quick else 1.0, seed=3)
    print(f"{rt['measurements_in_hour']} measurements in the hour, {rt['batches']} batches of {rt['batch_s']:.0f} s; "
          f"wall time per 10 s of data: mean {rt['mean_ms']:.1f} ms, p99 {rt['p99_ms']:.1f} ms, "
          f"max {rt['max_ms']:.1f} ms (target < 500 ms).", flush=True)


if __name__ == "__main__":
    sys.exit(main())
