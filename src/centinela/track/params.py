"""The tracker's parameters, with their units and where each default comes from.

Every parameter can be overridden by keyword: ``track(scenario, max_coast_s=90.0)`` or
``Tracker(sensors, max_coast_s=90.0)``. An unknown name raises ``TypeError``.

>>> TrackerParams(max_coast_s=90.0).max_coast_s
90.0
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrackerParams:
    # --- batching -----------------------------------------------------------------------------------------
    # Length of one batch of measurements. None: the shortest radar scan period (10 s when there is no radar),
    # so that a batch holds at most one plot of each aircraft from each radar.
    batch_s: float | None = None

    # --- measurement conversion ---------------------------------------------------------------------------
    # A primary radar measures slant range only: its ground range needs the target's altitude. With no
    # altitude from the aircraft (mode C, ADS-B), assume a light aircraft at 2,500 m MSL ± 1,500 m: VRAEM
    # valley floors are 500–1,000 m, ridges reach 4,000 m, and light aircraft fly 300–1,000 m above ground.
    # The uncertainty enters the measurement covariance, so the error it causes is accounted for.
    psr_alt_m: float = 2_500.0
    psr_alt_sigma_m: float = 1_500.0
    # Mode C reports pressure altitude in 100-ft (30 m) steps: the quantisation alone is 30/√12 ≈ 9 m;
    # the rest is the pressure-vs-MSL difference of a non-standard day.
    mode_c_alt_sigma_m: float = 30.0
    # ADS-B horizontal position error: NACp 8 (EPU < 93 m at 95 %) ⇒ about 40 m per axis; 50 m is safe.
    adsb_sigma_m: float = 50.0
    adsb_alt_sigma_m: float = 15.0
    # Identity of the ADS-B pseudo-sensor when the scenario lists no ``adsb`` receiver.
    adsb_sensor_id: str = "ADSB"

    # --- motion models (IMM) ------------------------------------------------------------------------------
    # Power spectral density of the white acceleration noise of the near-constant-velocity model:
    # (0.5 m/s²)² per second — gusts and small speed changes of a light aircraft in cruise.
    cv_accel_psd_m2ps3: float = 0.25
    # Coordinated-turn models: a standard-rate turn (3 °/s, two minutes for 360°) left and right; the noise
    # (1.5 m/s²)²/s covers rates from about 1.5 to 5 °/s and speed changes in the turn.
    turn_rate_dps: float = 3.0
    ct_accel_psd_m2ps3: float = 2.25
    # Mean time spent in a mode before switching: cruise legs last minutes, turns tens of seconds.
    cv_sojourn_s: float = 120.0
    ct_sojourn_s: float = 40.0
    # Vertical motion: a 2-state filter (altitude, climb rate); 0.3 m/s² noise covers 0–10 m/s climbs.
    vertical_accel_psd_m2ps3: float = 0.09
    # alt_m is output only while its standard deviation is below this.
    max_alt_sigma_m: float = 300.0

    # --- gating and assignment ----------------------------------------------------------------------------
    # A plot is a candidate for a track when the Mahalanobis distance falls inside this probability mass
    # of the chi-square(2) distribution (0.9997 ⇒ d² ≤ 16.2).
    gate_probability: float = 0.9997
    # A plot and a track reporting the same Mode S address are matched within a much wider gate: an
    # address is a far stronger association than position.
    identity_gate_d2: float = 400.0
    # Log-likelihood bonus (penalty) for a matching (conflicting) squawk: squawks are reassigned by ATC
    # and shared (7000, 2000), so they only tilt the assignment.
    squawk_llr: float = 3.0
    # Detection probability and clutter count when a sensor's table does not give them.
    default_pd: float = 0.9
    default_clutter_per_scan: float = 10.0

    # --- track initiation and life cycle --------------------------------------------------------------------
    # A track born from one plot has an unknown velocity: 0 ± 80 m/s per axis covers light aircraft
    # (cruise ~70 m/s) and helicopters; ADS-B velocity, when known, replaces it.
    init_speed_sigma_mps: float = 80.0
    # Confirmation: ``confirm_hits`` updates within ``confirm_window_s`` of the first (3 of 5 scans of a
    # 10-s radar); a tentative track with no update for ``tentative_max_gap_s`` (two missed scans) is dropped.
    confirm_hits: int = 3
    # ...and a track score (the summed log-likelihood ratio of its updates against clutter, which depends on the
    # sensor's clutter density) of at least Wald's SPRT threshold ln((1 − β)/α) for a false-confirmation
    # probability α = 1e-5 per tentative track and β = 0.01. Near a radar, in little clutter, three hits pass;
    # far out, where a plot says less, a fourth may be needed.
    confirm_score: float = 11.5
    confirm_window_s: float = 50.0
    tentative_max_gap_s: float = 25.0
    # A confirmed track with no update for this long is deleted: 6 scans of a 10-s radar, so a target with
    # Pd 0.8 is lost by chance once in 15,000 scans, while a landed or hovering aircraft ends quickly.
    max_coast_s: float = 60.0
    # A tentative track closer than this to another track, with a velocity within ``merge_speed_mps``, is a
    # duplicate (born when one sensor's plot missed the track's gate) and is dropped — unless one sensor
    # updated both in the same batch (it saw two objects). Two confirmed tracks are never merged: each has
    # stood on its own for several scans, as aircraft in formation do.
    merge_radius_m: float = 300.0
    merge_speed_mps: float = 10.0

    # --- flight linking -----------------------------------------------------------------------------------
    # A track that ends and one that starts later are one flight when the gap is at most ``link_max_gap_s``
    # (30 min covers a ground stop of 5–20 min plus the time out of radar cover on approach and climb) and
    # either
    # - the new one starts within ``link_radius_m`` of where the old one was last measured (it landed and took
    #   off, or hovered, out of radar sight: a few km covers the approach and climb below the radar horizon), or
    # - it starts where the old one would be by dead reckoning, within ``link_dead_reckoning_miss_m`` (two
    #   tracks' position errors and a little drift) plus ``link_speed_fraction`` of the distance flown unseen
    #   (a heading change of ~10° or a speed change of 20 %): a hole in the radar cover.
    link_max_gap_s: float = 1_800.0
    link_radius_m: float = 5_000.0
    link_dead_reckoning_miss_m: float = 2_000.0
    link_speed_fraction: float = 0.2
