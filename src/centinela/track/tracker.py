"""The streaming multi-sensor tracker: time-ordered batches of measurements in, track updates out.

One track set is fed by every sensor (centralised measurement fusion), so an aircraft seen by two radars and
ADS-B is one track. For each batch, each sensor's measurements are processed in turn (ADS-B, then secondary,
then primary radars: the precise and identified ones first):

1. every measurement is converted into the tracker's plane with its own covariance (:mod:`.convert`);
2. candidate (track, plot) pairs come from a k-d tree; each pair is predicted by every IMM model to the
   plot's time and gated on its Mahalanobis distance; identities (Mode S address, callsign) that conflict
   forbid a pair, a matching address widens the gate and raises the score (:mod:`.assign`);
3. one global-nearest-neighbour assignment per sensor; assigned tracks get an IMM update (:mod:`.motion`),
   altitude and identity from the plot; every unassigned plot starts a tentative track.

Then the life cycle: duplicates merge, tentative tracks with ``confirm_hits`` updates confirm (and are linked to
the flight they continue, :mod:`.linking`), tentative tracks that go quiet are dropped, confirmed tracks that
coast longer than ``max_coast_s`` end. A track emits a row for each batch in which it was updated; rows of a
tentative track are held back and emitted when it confirms (so its first positions — a take-off — are kept),
or forgotten if it never does. No row is ever invented for a batch without a measurement.

Tracks live in a struct of arrays (one entry per track, none per plot); predictions are lazy, done per pair
at the time of each plot, so a batch costs in proportion to its plots and their candidate pairs.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from scipy.stats import chi2

from centinela import model
from centinela.errors import InputError
from centinela.geo.frames import LocalFrame
from centinela.track import motion
from centinela.track.assign import candidate_pairs, gnn_assign
from centinela.track.convert import SensorGeometry
from centinela.track.linking import LinkEnds, link_cost, match_links
from centinela.track.params import TrackerParams

TENTATIVE, CONFIRMED = 1, 2
# Sensors of a batch are processed in this order: ADS-B (precise, identified), SSR (identified), PSR.
KIND_ORDER = {"adsb": 0, "ssr": 1, "psr": 2}
# A radar table without range_max_m: the instrumented range of a typical en-route radar (250 NM ≈ 460 km)
# is too generous for a light aircraft; 250 km is the usual PSR detection range for one.
DEFAULT_RANGE_MAX_M = 250_000.0
# ADS-B has no clutter; a vanishingly small false-position density (1 per 10⁶ km²) keeps the LLR finite.
ADSB_FALSE_DENSITY_PER_M2 = 1e-12
# Detection probability of ADS-B for a transmitting aircraft within reception: positions come every second.
ADSB_PD = 0.99
# Scores of a matching Mode S address: an address is all but certain, so a match outweighs any position
# likelihood difference between two close tracks (their log-likelihoods differ by a few units).
ADDRESS_MATCH_LLR = 20.0
# ADS-B ground speed and track give velocity to ±2 m/s per axis (NACv 1: < 10 m/s 95 %, typically far better);
# 5 m/s leaves room for the age of the velocity message.
ADSB_VELOCITY_SIGMA_MPS = 5.0
# Initial climb-rate uncertainty of a new altitude track: light aircraft climb at up to ~5 m/s.
INIT_CLIMB_SIGMA_MPS = 5.0

# Which sensors updated a track in a batch is a bit mask in an int64 (the ADS-B pseudo-sensor included).
MAX_SENSORS = 63

TRACK_OUTPUT_COLUMNS: dict[str, str] = {**model.TRACK_COLUMNS, **model.TRACK_OPTIONAL_COLUMNS}


class _Table:
    """Struct of arrays, one entry per track (or per row): every attribute is an array of equal length."""

    def __init__(self, **columns: np.ndarray):
        self.__dict__.update(columns)

    def __len__(self) -> int:
        return len(next(iter(vars(self).values())))

    def take(self, index: np.ndarray) -> _Table:
        return _Table(**{k: v[index] for k, v in vars(self).items()})

    def extend(self, other: _Table) -> _Table:
        return _Table(**{k: np.concatenate([v, getattr(other, k)]) for k, v in vars(self).items()})


def concat_rows(chunks: list[_Table]) -> _Table:
    """Row tables of several batches → one (one concatenation per column, at the end)."""
    return _Table(**{k: np.concatenate([getattr(c, k) for c in chunks]) for k in vars(chunks[0])})


def _no_tracks(models: int) -> _Table:
    return _Table(
        no=np.empty(0, np.int64), status=np.empty(0, np.int8), flight_no=np.empty(0, np.int64),
        x=np.empty((0, models, 4)), P=np.empty((0, models, 4, 4)), mu=np.empty((0, models)),
        t=np.empty(0), t_first=np.empty(0), xy_first=np.empty((0, 2)), hits=np.empty(0, np.int64),
        score=np.empty(0), alt=np.empty((0, 2)), alt_P=np.empty((0, 2, 2)), alt_t=np.empty(0),
        icao24=np.empty(0, object), squawk=np.empty(0, object), callsign=np.empty(0, object),
        batch_sensors=np.empty(0, np.int64),
    )


def _no_ended() -> _Table:
    return _Table(
        no=np.empty(0, np.int64), flight_no=np.empty(0, np.int64), t=np.empty(0), xy=np.empty((0, 2)),
        v=np.empty((0, 2)), icao24=np.empty(0, object), callsign=np.empty(0, object), linked=np.empty(0, bool),
    )


def _strings(values: pd.Series | None, n: int, *, lower: bool = False) -> np.ndarray:
    """A string column as an object array with None for missing (identities are few per track)."""
    if values is None:
        return np.full(n, None, object)
    s = values.astype("string").str.strip()
    if lower:
        s = s.str.lower()
    return np.array(s.astype(object).where(s.notna() & (s != ""), None), dtype=object)


def _known(values: np.ndarray) -> np.ndarray:
    """Elementwise over an object array of identities: is the value known (not None)?"""
    return pd.notna(values)


def _floats(df: pd.DataFrame, column: str) -> np.ndarray:
    if column not in df.columns:
        return np.full(len(df), np.nan)
    return df[column].to_numpy(dtype=float, na_value=np.nan)


def largest_eigenvalue_2x2(P: np.ndarray) -> np.ndarray:
    """Largest eigenvalue of symmetric 2×2 matrices (..., 2, 2)."""
    half_trace = 0.5 * (P[..., 0, 0] + P[..., 1, 1])
    half_diff = 0.5 * (P[..., 0, 0] - P[..., 1, 1])
    return half_trace + np.sqrt(half_diff**2 + P[..., 0, 1] ** 2)


class Tracker:
    """Streaming multi-sensor, multi-target tracker (see the module docstring).

    ``sensors``: the scenario's sensors (``psr``, ``ssr`` and ``adsb`` are used). ``frame_origin``: latitude,
    longitude of the tracking plane's origin (default: the centroid of the sensors). ``params``: any field of
    :class:`~centinela.track.params.TrackerParams`.

    >>> from centinela.model import Sensor
    >>> tracker = Tracker([Sensor("ADSB-1", "adsb", -12.5, -73.8, 600.0)])
    >>> batch = pd.DataFrame({"t": [0.0], "sensor": ["ADSB-1"], "lat": [-12.5], "lon": [-73.8],
    ...                       "alt_m": [2000.0], "icao24": ["e80123"]})
    >>> len(tracker.update(batch))      # a first position: a tentative track, nothing to report yet
    0
    >>> for k in (1, 2):
    ...     rows = tracker.update(batch.assign(t=10.0 * k, lon=-73.8 + 0.0065 * k))
    >>> rows[["track_id", "icao24"]].values.tolist()[-1], len(rows)   # confirmed: its three rows come out
    (['T1', 'e80123'], 3)
    """

    def __init__(
        self, sensors: list[model.Sensor], frame_origin: tuple[float, float] | None = None, **params: float
    ):
        self.params = p = TrackerParams(**params)
        used = [s for s in sensors if s.kind in KIND_ORDER]
        if frame_origin is None:
            if not used:
                raise ValueError("Tracker needs at least one psr, ssr or adsb sensor, or a frame_origin")
            frame_origin = (float(np.mean([s.lat for s in used])), float(np.mean([s.lon for s in used])))
        if len(used) >= MAX_SENSORS:
            raise ValueError(f"the tracker handles at most {MAX_SENSORS - 1} sensors, got {len(used)}")
        if not any(s.kind == "adsb" for s in used):
            used.append(model.Sensor(p.adsb_sensor_id, "adsb", frame_origin[0], frame_origin[1], 0.0))
        self.frame = LocalFrame(*frame_origin)
        self.geometry = SensorGeometry(self.frame, used)
        self.sensors = used
        self._sensor_ids = pd.Index([s.id for s in used])
        self._is_adsb = np.array([s.kind == "adsb" for s in used])
        self._kind_order = np.array([KIND_ORDER[s.kind] for s in used])
        pd_ = [ADSB_PD if s.kind == "adsb" else (s.pd if s.pd is not None else p.default_pd) for s in used]
        pd_ = np.clip(pd_, 0.05, 0.999)
        self._log_pd = np.log(pd_)
        self._log_miss = np.log(1.0 - pd_)
        density = []
        for s in used:
            if s.kind == "adsb":
                density.append(ADSB_FALSE_DENSITY_PER_M2)
            else:
                clutter = s.clutter_per_scan if s.clutter_per_scan is not None else p.default_clutter_per_scan
                area = np.pi * (s.range_max_m or DEFAULT_RANGE_MAX_M) ** 2
                # At least one false plot per coverage per scan: an optimistic table must not make every
                # distant plot look like a detection.
                density.append(max(clutter, 1.0) / area)
        self._log_false_density = np.log(np.array(density))
        self.models = motion.ImmModels.standard(
            cv_accel_psd_m2ps3=p.cv_accel_psd_m2ps3, ct_accel_psd_m2ps3=p.ct_accel_psd_m2ps3,
            turn_rate_dps=p.turn_rate_dps, cv_sojourn_s=p.cv_sojourn_s, ct_sojourn_s=p.ct_sojourn_s,
        )
        self.gate_d2 = float(chi2.ppf(p.gate_probability, df=2))
        self._tracks = _no_tracks(self.models.count)
        self._ended = _no_ended()
        self._pending: _Table | None = None
        self._links: list[tuple[int, int]] = []
        self._next_no = 1

    # --- public -------------------------------------------------------------------------------------------
    def update(self, measurements: pd.DataFrame) -> pd.DataFrame:
        """Process one time-ordered batch (MEASUREMENT_COLUMNS; a radar plot needs range_m and azimuth_deg,
        an ADS-B position lat and lon) and return the rows of tracks updated or confirmed, sorted by t."""
        return self.rows_to_frame(self.step(measurements))

    def finish(self) -> pd.DataFrame:
        """End of the data: tentative tracks are dropped; confirmed rows were all returned already."""
        self._pending = None
        return self.rows_to_frame(None)

    @property
    def links(self) -> list[tuple[int, int]]:
        """(earlier track number, later track number) of every link made so far (flight and merge links)."""
        return list(self._links)

    def step(self, measurements: pd.DataFrame | _Table) -> _Table | None:
        """Like :meth:`update`, but the rows stay arrays (``rows_to_frame`` makes the frame). ``measurements``
        may also be a slice of :meth:`prepare`'s table, which saves converting each batch from pandas."""
        if len(measurements) == 0:
            return None
        batch = self.prepare(measurements) if isinstance(measurements, pd.DataFrame) else measurements
        # Tracks that went quiet before this batch end first, even when nothing at all came in between.
        self._end_and_drop(float(batch.t.min()))
        tr = self._tracks
        tr.batch_sensors = np.zeros(len(tr), np.int64)
        order = np.lexsort((batch.sensor, self._kind_order[batch.sensor]))
        sensors_in_order = pd.unique(batch.sensor[order])
        for k in sensors_in_order:
            self._scan(int(k), batch.take(np.flatnonzero(batch.sensor == k)))
        t_now = float(batch.t.max())
        self._merge_duplicates(t_now)
        confirmed_now = self._confirm()
        rows = self._rows(np.flatnonzero(self._tracks.batch_sensors != 0))
        self._end_and_drop(t_now)
        return self._emit(rows, confirmed_now)

    def rows_to_frame(self, rows: _Table | None) -> pd.DataFrame:
        """Track rows (arrays) → a frame with TRACK_COLUMNS and TRACK_OPTIONAL_COLUMNS, sorted by t."""
        if rows is None or len(rows) == 0:
            return model.empty_frame(TRACK_OUTPUT_COLUMNS)
        masks, inverse = np.unique(rows.sensors, return_inverse=True)
        names = np.array([",".join(self._sensor_ids[[b for b in range(len(self._sensor_ids)) if m >> b & 1]])
                          for m in masks], dtype=object)
        frame = pd.DataFrame({
            "t": rows.t,
            "track_id": "T" + pd.Series(rows.no).astype(str),
            "lat": rows.lat, "lon": rows.lon, "alt_m": rows.alt_m,
            "vn_mps": rows.vn_mps, "ve_mps": rows.ve_mps, "sigma_pos_m": rows.sigma_pos_m,
            "flight_id": "F" + pd.Series(rows.flight_no).astype(str),
            "icao24": rows.icao24, "callsign": rows.callsign, "squawk": rows.squawk,
            "sensors": names[inverse],
        })
        frame = model.conform(frame, model.TRACK_COLUMNS, model.TRACK_OPTIONAL_COLUMNS)
        return frame.sort_values(["t", "track_id"], kind="stable", ignore_index=True)

    # --- one batch ----------------------------------------------------------------------------------------
    def prepare(self, df: pd.DataFrame) -> _Table:
        """Measurements (MEASUREMENT_COLUMNS) → the arrays the tracker works on, sorted by time; slice with
        ``take`` to feed :meth:`step` batch by batch."""
        if "t" not in df.columns or "sensor" not in df.columns:
            raise InputError("measurements", "a measurement needs the columns 't' and 'sensor'")
        sensor = self._sensor_ids.get_indexer(df["sensor"].astype(str))
        if (sensor < 0).any():
            unknown = sorted(set(df["sensor"][sensor < 0].astype(str)))
            raise InputError("measurements", f"unknown sensor(s) {unknown}; known: {list(self._sensor_ids)}",
                             field="sensor")
        n = len(df)
        batch = _Table(
            t=_floats(df, "t"), sensor=sensor.astype(np.intp),
            range_m=_floats(df, "range_m"), azimuth_deg=_floats(df, "azimuth_deg"), alt_m=_floats(df, "alt_m"),
            lat=_floats(df, "lat"), lon=_floats(df, "lon"),
            vn_mps=_floats(df, "vn_mps"), ve_mps=_floats(df, "ve_mps"),
            icao24=_strings(df.get("icao24"), n, lower=True), squawk=_strings(df.get("squawk"), n),
            callsign=_strings(df.get("callsign"), n),
        )
        return batch.take(np.argsort(batch.t, kind="stable"))

    def _scan(self, k: int, plots: _Table) -> None:
        """Gate, assign and update with the measurements of sensor ``k`` in this batch."""
        p = self.params
        if self._is_adsb[k]:
            plots = self._latest_per_aircraft(plots)
            ok = np.isfinite(plots.lat) & np.isfinite(plots.lon)
        else:
            ok = np.isfinite(plots.range_m) & np.isfinite(plots.azimuth_deg)
        plots = plots.take(np.flatnonzero(ok))
        if len(plots) == 0:
            return
        # Each plot at its own altitude (mode C, ADS-B) or the assumed one: for the coarse search and new tracks.
        alt, alt_sigma = self._plot_altitude(k, plots)
        z0, R0 = self._convert(k, plots, np.arange(len(plots)), alt, alt_sigma)

        tr = self._tracks
        chosen_tracks = chosen_plots = np.empty(0, np.intp)
        if len(tr):
            ti, pj = self._candidates(k, plots, z0, R0)
            if len(ti):
                # A primary plot of a track whose altitude is known is converted at that altitude.
                track_alt, track_alt_sigma = self._track_altitude(ti, plots.t[pj])
                use_track = ~np.isfinite(alt[pj]) | (alt_sigma[pj] > track_alt_sigma)
                h = np.where(use_track, track_alt, alt[pj])
                h_sigma = np.where(use_track, track_alt_sigma, alt_sigma[pj])
                z, R = self._convert(k, plots, pj, h, h_sigma)
                dt = plots.t[pj] - tr.t[ti]
                xp, Pp = motion.predict_models(tr.x[ti], tr.P[ti], dt, self.models)
                _, S, d2 = motion.innovation(xp, Pp, z, R)
                log_lik = motion.log_gaussian_2d(d2, S) + np.log(np.maximum(tr.mu[ti], 1e-300))
                peak = log_lik.max(axis=1)
                llr = peak + np.log(np.exp(log_lik - peak[:, None]).sum(axis=1))
                # Score of "detection of this track" against "false plot": the track-score increment.
                llr += self._log_pd[k] - self._log_false_density[k]
                same_address, conflict = self._identity_terms(ti, plots, pj)
                llr += np.where(same_address, ADDRESS_MATCH_LLR, 0.0)
                llr += self._squawk_terms(ti, plots, pj)
                # Assigning must also beat "track missed, plot false": subtract ln(1 − Pd) for the choice.
                gain = llr - self._log_miss[k]
                d2_min = d2.min(axis=1)
                gated = (d2_min <= self.gate_d2) | (same_address & (d2_min <= p.identity_gate_d2))
                gain = np.where(gated & ~conflict, gain, -np.inf)
                chosen = gnn_assign(ti, pj, gain)
                if len(chosen):
                    chosen_tracks, chosen_plots = ti[chosen], pj[chosen]
                    self._apply(k, chosen_tracks, plots, chosen_plots, z[chosen], R[chosen], dt[chosen])
                    self._tracks.score[chosen_tracks] += llr[chosen]
        fresh = np.ones(len(plots), bool)
        fresh[chosen_plots] = False
        self._start_tracks(k, plots.take(np.flatnonzero(fresh)), z0[fresh], R0[fresh], alt[fresh], alt_sigma[fresh])

    @staticmethod
    def _latest_per_aircraft(plots: _Table) -> _Table:
        """ADS-B: the last position of each aircraft in the batch (positions come every second or so; one
        per batch is what the track reports, and the GNN allows one measurement per track per sensor)."""
        known = _known(plots.icao24)
        if not known.any():
            return plots
        idx_known = np.flatnonzero(known)
        reversed_ids = plots.icao24[idx_known][::-1].astype(str)
        _, first_in_reversed = np.unique(reversed_ids, return_index=True)
        last = idx_known[len(idx_known) - 1 - first_in_reversed]
        keep = np.sort(np.concatenate([last, np.flatnonzero(~known)]))
        return plots.take(keep)

    def _plot_altitude(self, k: int, plots: _Table) -> tuple[np.ndarray, np.ndarray]:
        """Each measurement's own altitude and its sigma; the assumed altitude where it has none."""
        p = self.params
        own_sigma = p.adsb_alt_sigma_m if self._is_adsb[k] else p.mode_c_alt_sigma_m
        has = np.isfinite(plots.alt_m)
        return np.where(has, plots.alt_m, p.psr_alt_m), np.where(has, own_sigma, p.psr_alt_sigma_m)

    def _convert(
        self, k: int, plots: _Table, pj: np.ndarray, alt_m: np.ndarray, alt_sigma_m: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Measurements ``pj`` of sensor ``k`` (targets at the given altitudes) → plane positions, covariances."""
        if self._is_adsb[k]:
            z = self.geometry.geodetic_to_local(plots.lat[pj], plots.lon[pj], alt_m)
            R = np.zeros((len(pj), 2, 2))
            R[:, 0, 0] = R[:, 1, 1] = self.params.adsb_sigma_m**2
            return z, R
        return self.geometry.polar_to_local(
            np.full(len(pj), k), plots.range_m[pj], plots.azimuth_deg[pj], alt_m, alt_sigma_m
        )

    def _candidates(self, k: int, plots: _Table, z0: np.ndarray, R0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coarse (track, plot) pairs: within a radius that bounds the gate of any model at any plot time,
        plus every pair with the same Mode S address."""
        tr = self._tracks
        t_mid = 0.5 * (plots.t.min() + plots.t.max())
        half_span = 0.5 * (plots.t.max() - plots.t.min())
        xc, Pc = motion.combine(tr.x, tr.P, tr.mu)
        dt = np.abs(t_mid - tr.t) + half_span
        centre = xc[:, :2] + xc[:, 2:] * (t_mid - tr.t)[:, None]
        speed = np.hypot(xc[:, 2], xc[:, 3])
        q_max = self.models.accel_psd_m2ps3.max()
        var = (largest_eigenvalue_2x2(Pc[:, :2, :2]) + largest_eigenvalue_2x2(Pc[:, 2:, 2:]) * dt**2
               + q_max * dt**3 / 3.0 + largest_eigenvalue_2x2(R0).max())
        # The coarse radius must hold the identity gate for tracks with an address, the ordinary gate otherwise;
        # the turn models drift ½·ω·v·dt² off the straight line; the plots spread over the batch.
        has_address = _known(tr.icao24)
        gate = np.where(has_address, max(self.gate_d2, self.params.identity_gate_d2), self.gate_d2)
        turn = 0.5 * np.abs(self.models.turn_rate_rps).max() * speed * dt**2
        radius = np.sqrt(gate * var) + turn + speed * half_span
        ti, pj = candidate_pairs(centre, radius, z0)
        # Same-address pairs however far (a track that coasted long, then reappears with its address).
        ti_a, pj_a = self._address_pairs(plots)
        if len(ti_a):
            both = np.unique(np.concatenate([np.stack([ti, pj], 1), np.stack([ti_a, pj_a], 1)]), axis=0)
            ti, pj = both[:, 0], both[:, 1]
        return ti, pj

    def _address_pairs(self, plots: _Table) -> tuple[np.ndarray, np.ndarray]:
        tr = self._tracks
        plot_has = _known(plots.icao24)
        track_has = _known(tr.icao24)
        if not plot_has.any() or not track_has.any():
            return np.empty(0, np.intp), np.empty(0, np.intp)
        index = pd.Index(tr.icao24[track_has].astype(str))
        match = np.full(len(plots), -1)
        if index.is_unique:
            match[plot_has] = index.get_indexer(plots.icao24[plot_has].astype(str))
        else:  # two tracks with one address (a duplicate about to merge): pair with each
            pairs = [(t, j) for j in np.flatnonzero(plot_has) for t in np.flatnonzero(index == plots.icao24[j])]
            if not pairs:
                return np.empty(0, np.intp), np.empty(0, np.intp)
            a = np.array(pairs)
            return np.flatnonzero(track_has)[a[:, 0]], a[:, 1]
        found = match >= 0
        return np.flatnonzero(track_has)[match[found]], np.flatnonzero(found)

    def _track_altitude(self, ti: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tracks' altitude and its sigma at times ``t``; the assumed altitude where a track has none."""
        p = self.params
        tr = self._tracks
        known = np.isfinite(tr.alt_t[ti])
        h = np.full(len(ti), p.psr_alt_m)
        sigma = np.full(len(ti), p.psr_alt_sigma_m)
        if known.any():
            idx = ti[known]
            pred, P = motion.vertical_predict(tr.alt[idx], tr.alt_P[idx], t[known] - tr.alt_t[idx],
                                              p.vertical_accel_psd_m2ps3)
            s = np.sqrt(P[:, 0, 0])
            good = s < p.psr_alt_sigma_m
            h[np.flatnonzero(known)[good]] = pred[good, 0]
            sigma[np.flatnonzero(known)[good]] = s[good]
        return h, sigma

    def _identity_terms(self, ti: np.ndarray, plots: _Table, pj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per pair: the same Mode S address? a conflicting address or callsign (which forbids the pair)?"""
        tr = self._tracks
        a_track, a_plot = tr.icao24[ti], plots.icao24[pj]
        a_known = _known(a_track) & _known(a_plot)
        same = a_known & (a_track == a_plot)
        c_track, c_plot = tr.callsign[ti], plots.callsign[pj]
        c_known = _known(c_track) & _known(c_plot)
        return same, (a_known & ~same) | (c_known & (c_track != c_plot))

    def _squawk_terms(self, ti: np.ndarray, plots: _Table, pj: np.ndarray) -> np.ndarray:
        s_track, s_plot = self._tracks.squawk[ti], plots.squawk[pj]
        known = _known(s_track) & _known(s_plot)
        return np.where(known, np.where(s_track == s_plot, 1.0, -1.0) * self.params.squawk_llr, 0.0)

    def _apply(self, k: int, ti: np.ndarray, plots: _Table, pj: np.ndarray, z: np.ndarray, R: np.ndarray,
               dt: np.ndarray) -> None:
        """IMM update of tracks ``ti`` with their assigned measurements; altitude and identity too."""
        tr = self._tracks
        xp, Pp, c = motion.imm_predict(tr.x[ti], tr.P[ti], tr.mu[ti], dt, self.models)
        tr.x[ti], tr.P[ti], tr.mu[ti] = motion.imm_update(xp, Pp, c, z, R)
        tr.t[ti] = plots.t[pj]
        tr.hits[ti] += 1
        tr.batch_sensors[ti] |= np.int64(1) << k
        self._update_altitude(k, ti, plots, pj)
        for name in ("icao24", "squawk", "callsign"):
            value = getattr(plots, name)[pj]
            known = _known(value)
            getattr(tr, name)[ti[known]] = value[known]

    def _update_altitude(self, k: int, ti: np.ndarray, plots: _Table, pj: np.ndarray) -> None:
        p = self.params
        tr = self._tracks
        has = np.isfinite(plots.alt_m[pj])
        if not has.any():
            return
        ti, pj = ti[has], pj[has]
        var = (p.adsb_alt_sigma_m if self._is_adsb[k] else p.mode_c_alt_sigma_m) ** 2
        z, t = plots.alt_m[pj], plots.t[pj]
        new = ~np.isfinite(tr.alt_t[ti])
        h, P = tr.alt[ti], tr.alt_P[ti]
        h[new] = np.stack([z[new], np.zeros(new.sum())], axis=1)
        P[new] = np.diag([var, INIT_CLIMB_SIGMA_MPS**2])
        old = ~new
        if old.any():
            h[old], P[old] = motion.vertical_predict(h[old], P[old], t[old] - tr.alt_t[ti[old]],
                                                     p.vertical_accel_psd_m2ps3)
            h[old], P[old] = motion.vertical_update(h[old], P[old], z[old], np.full(old.sum(), var))
        tr.alt[ti], tr.alt_P[ti], tr.alt_t[ti] = h, P, t

    def _start_tracks(self, k: int, plots: _Table, z: np.ndarray, R: np.ndarray, alt: np.ndarray,
                      alt_sigma: np.ndarray) -> None:
        """A tentative track for each measurement no track took."""
        n = len(plots)
        if n == 0:
            return
        p = self.params
        m = self.models.count
        v = np.zeros((n, 2))
        v_var = np.full(n, p.init_speed_sigma_mps**2)
        has_v = np.isfinite(plots.vn_mps) & np.isfinite(plots.ve_mps)
        if has_v.any():
            v[has_v] = self._north_east_to_plane(plots.lat[has_v], plots.lon[has_v], plots.vn_mps[has_v],
                                                 plots.ve_mps[has_v])
            v_var[has_v] = ADSB_VELOCITY_SIGMA_MPS**2
        x = np.concatenate([z, v], axis=1)
        P = np.zeros((n, 4, 4))
        P[:, :2, :2] = R
        P[:, 2, 2] = P[:, 3, 3] = v_var
        has_alt = np.isfinite(plots.alt_m)
        numbers = np.arange(self._next_no, self._next_no + n, dtype=np.int64)
        self._next_no += n
        new = _Table(
            no=numbers, status=np.full(n, TENTATIVE, np.int8), flight_no=numbers.copy(),
            x=np.repeat(x[:, None, :], m, axis=1), P=np.repeat(P[:, None], m, axis=1),
            mu=np.tile(self.models.initial_mu, (n, 1)),
            t=plots.t.copy(), t_first=plots.t.copy(), xy_first=z.copy(), hits=np.ones(n, np.int64),
            score=np.zeros(n),
            alt=np.stack([np.where(has_alt, alt, 0.0), np.zeros(n)], axis=1),
            alt_P=np.tile(np.diag([1.0, INIT_CLIMB_SIGMA_MPS**2]), (n, 1, 1)) * 1.0,
            alt_t=np.where(has_alt, plots.t, np.nan),
            icao24=plots.icao24.copy(), squawk=plots.squawk.copy(), callsign=plots.callsign.copy(),
            batch_sensors=np.full(n, np.int64(1) << k, np.int64),
        )
        new.alt_P[:, 0, 0] = alt_sigma**2
        self._tracks = self._tracks.extend(new)

    def _north_east_to_plane(self, lat: np.ndarray, lon: np.ndarray, vn: np.ndarray, ve: np.ndarray) -> np.ndarray:
        """Velocity along local north/east at each point → along the plane's east/north."""
        phi, lam = np.radians(lat), np.radians(lon)
        east_unit = np.stack([-np.sin(lam), np.cos(lam), np.zeros_like(lam)], axis=1)
        north_unit = np.stack([-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi)], axis=1)
        v_ecef = ve[:, None] * east_unit + vn[:, None] * north_unit
        return (v_ecef @ self.frame.rotation.T)[:, :2]

    # --- life cycle ---------------------------------------------------------------------------------------
    def _merge_duplicates(self, t_now: float) -> None:
        """A tentative track on an aircraft that already has a track (close, same velocity, no identity conflict,
        not both seen by one sensor now): drop it, keeping its identity."""
        p = self.params
        tr = self._tracks
        if len(tr) < 2:
            return
        xc, _ = motion.combine(tr.x, tr.P, tr.mu)
        pos = xc[:, :2] + xc[:, 2:] * (t_now - tr.t)[:, None]
        pairs = cKDTree(pos).query_pairs(p.merge_radius_m, output_type="ndarray")
        if len(pairs) == 0:
            return
        i, j = pairs[:, 0], pairs[:, 1]
        close = np.hypot(*(xc[i, 2:] - xc[j, 2:]).T) <= p.merge_speed_mps
        close &= (tr.batch_sensors[i] & tr.batch_sensors[j]) == 0  # one sensor saw both: two aircraft
        # Two confirmed tracks have each stood on their own for several scans: two aircraft in formation.
        close &= (tr.status[i] == TENTATIVE) | (tr.status[j] == TENTATIVE)
        for name in ("icao24", "callsign"):
            a, b = getattr(tr, name)[i], getattr(tr, name)[j]
            close &= ~(_known(a) & _known(b) & (a != b))
        removed = np.zeros(len(tr), bool)
        for a, b in pairs[close]:  # a handful at most: pairs of one aircraft
            if removed[a] or removed[b]:
                continue
            rank_a, rank_b = (tr.status[a], tr.hits[a], -tr.no[a]), (tr.status[b], tr.hits[b], -tr.no[b])
            keep, drop = (a, b) if rank_a >= rank_b else (b, a)
            removed[drop] = True
            for name in ("icao24", "squawk", "callsign"):
                column = getattr(tr, name)
                if column[keep] is None:
                    column[keep] = column[drop]
            tr.batch_sensors[keep] |= tr.batch_sensors[drop]
            if tr.status[drop] == CONFIRMED:
                self._links.append((int(min(tr.no[keep], tr.no[drop])), int(max(tr.no[keep], tr.no[drop]))))
                self._end(np.array([drop]), linked=True)
        if removed.any():
            self._drop_pending(tr.no[removed & (tr.status == TENTATIVE)])
            self._tracks = tr.take(np.flatnonzero(~removed))

    def _confirm(self) -> np.ndarray:
        """Tentative tracks with enough updates become confirmed and are linked to the flight they continue.
        Returns the numbers of the tracks confirmed now."""
        p = self.params
        tr = self._tracks
        now = np.flatnonzero((tr.status == TENTATIVE) & (tr.hits >= p.confirm_hits) & (tr.score >= p.confirm_score))
        if len(now) == 0:
            return np.empty(0, np.int64)
        tr.status[now] = CONFIRMED
        self._link(now)
        return tr.no[now]

    def _link(self, new: np.ndarray) -> None:
        p = self.params
        tr = self._tracks
        xc, _ = motion.combine(tr.x[new], tr.P[new], tr.mu[new])
        first = LinkEnds(tr.t_first[new], tr.xy_first[new], xc[:, 2:], tr.icao24[new], tr.callsign[new])
        # Candidates: ended tracks not yet continued, and confirmed tracks now coasting (last update before the
        # new track's first); a coasting track that is continued ends now.
        ended = self._ended
        ended_ok = np.flatnonzero(~ended.linked)
        alive = np.flatnonzero((tr.status == CONFIRMED) & (tr.t < tr.t_first[new].max()))
        alive = np.setdiff1d(alive, new)
        xa, _ = motion.combine(tr.x[alive], tr.P[alive], tr.mu[alive])
        last = LinkEnds(
            np.concatenate([ended.t[ended_ok], tr.t[alive]]),
            np.concatenate([ended.xy[ended_ok], xa[:, :2]]),
            np.concatenate([ended.v[ended_ok], xa[:, 2:]]),
            np.concatenate([ended.icao24[ended_ok], tr.icao24[alive]]),
            np.concatenate([ended.callsign[ended_ok], tr.callsign[alive]]),
        )
        if len(last.t_s) == 0:
            return
        cost = link_cost(last, first, max_gap_s=p.link_max_gap_s, radius_m=p.link_radius_m,
                         dead_reckoning_miss_m=p.link_dead_reckoning_miss_m, speed_fraction=p.link_speed_fraction)
        old, young = match_links(cost)
        if len(old) == 0:
            return
        old_no = np.concatenate([ended.no[ended_ok], tr.no[alive]])[old]
        old_flight = np.concatenate([ended.flight_no[ended_ok], tr.flight_no[alive]])[old]
        tr.flight_no[new[young]] = old_flight
        self._links.extend(zip(old_no.tolist(), tr.no[new[young]].tolist()))
        from_ended = old < len(ended_ok)
        ended.linked[ended_ok[old[from_ended]]] = True
        self._end(alive[old[~from_ended] - len(ended_ok)], linked=True)

    def _end(self, idx: np.ndarray, *, linked: bool) -> None:
        """Confirmed tracks ``idx`` end: their last state is kept for linking; the caller removes them."""
        tr = self._tracks
        if len(idx) == 0:
            return
        xc, _ = motion.combine(tr.x[idx], tr.P[idx], tr.mu[idx])
        self._ended = self._ended.extend(_Table(
            no=tr.no[idx], flight_no=tr.flight_no[idx], t=tr.t[idx], xy=xc[:, :2], v=xc[:, 2:],
            icao24=tr.icao24[idx], callsign=tr.callsign[idx], linked=np.full(len(idx), linked),
        ))
        tr.status[idx] = 0  # marked for removal by _end_and_drop

    def _end_and_drop(self, t_now: float) -> None:
        p = self.params
        tr = self._tracks
        quiet = t_now - tr.t
        tentative = tr.status == TENTATIVE
        drop = tentative & ((quiet > p.tentative_max_gap_s) | (t_now - tr.t_first > p.confirm_window_s))
        self._drop_pending(tr.no[drop])
        self._end(np.flatnonzero((tr.status == CONFIRMED) & (quiet > p.max_coast_s)), linked=False)
        self._tracks = tr.take(np.flatnonzero(~drop & (tr.status != 0)))
        self._ended = self._ended.take(np.flatnonzero(self._ended.t >= t_now - p.link_max_gap_s))

    # --- output -------------------------------------------------------------------------------------------
    def _rows(self, idx: np.ndarray) -> _Table:
        """One row per track ``idx`` at its last update."""
        p = self.params
        tr = self._tracks
        xc, Pc = motion.combine(tr.x[idx], tr.P[idx], tr.mu[idx])
        t = tr.t[idx]
        alt = np.full(len(idx), np.nan)
        known = np.isfinite(tr.alt_t[idx])
        if known.any():
            k = idx[known]
            h, P = motion.vertical_predict(tr.alt[k], tr.alt_P[k], t[known] - tr.alt_t[k], p.vertical_accel_psd_m2ps3)
            alt[known] = np.where(np.sqrt(P[:, 0, 0]) <= p.max_alt_sigma_m, h[:, 0], np.nan)
        lat, lon = self.geometry.local_to_geodetic(xc[:, 0], xc[:, 1], np.where(np.isfinite(alt), alt, p.psr_alt_m))
        vn, ve = self.geometry.local_velocity_to_north_east(lat, lon, xc[:, 2], xc[:, 3])
        return _Table(
            t=t, no=tr.no[idx], status=tr.status[idx].copy(), lat=lat, lon=lon, alt_m=alt, vn_mps=vn, ve_mps=ve,
            sigma_pos_m=np.sqrt(largest_eigenvalue_2x2(Pc[:, :2, :2])), flight_no=tr.flight_no[idx].copy(),
            icao24=tr.icao24[idx].copy(), callsign=tr.callsign[idx].copy(), squawk=tr.squawk[idx].copy(),
            sensors=tr.batch_sensors[idx].copy(),
        )

    def _emit(self, rows: _Table, confirmed_now: np.ndarray) -> _Table | None:
        """Confirmed tracks' rows go out; tentative ones wait in ``_pending`` until their track confirms."""
        tentative = rows.status == TENTATIVE
        held = rows.take(np.flatnonzero(tentative))
        out = rows.take(np.flatnonzero(~tentative))
        if self._pending is not None and len(confirmed_now):
            release = np.isin(self._pending.no, confirmed_now)
            if release.any():
                released = self._pending.take(np.flatnonzero(release))
                # The track's flight is known only now that it confirmed and was linked.
                flight = pd.Series(self._tracks.flight_no, index=self._tracks.no)
                released.flight_no = flight.reindex(released.no).fillna(-1).to_numpy(np.int64)
                out = released.extend(out)
                self._pending = self._pending.take(np.flatnonzero(~release))
        if len(held):
            self._pending = held if self._pending is None else self._pending.extend(held)
        return out

    def _drop_pending(self, numbers: np.ndarray) -> None:
        if self._pending is not None and len(numbers):
            self._pending = self._pending.take(np.flatnonzero(~np.isin(self._pending.no, numbers)))
