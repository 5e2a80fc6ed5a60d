"""How fast the leak model finds a leaky unit, and how often it accuses an honest one.

:func:`leak_flag_trials` plays many seasons of alerts. In each, the alerts' predicted sites are drawn over a
pool of VRAEM strips (valley floors of the simulator's world, reused as the air bridge reuses them), each alert
is dispatched by the dispatch policy (:func:`centinela.alerts.dispatch.plan_dispatch`) over the unit register,
one unit leaks, and every alerted flight fails with a base rate for reasons of its own and, when the alert
reached the leaky unit, also with the leak probability. Some outcomes stay unknown. After every alert the
leak posteriors (:func:`centinela.alerts.leaks.leak_posteriors`) are recomputed on what is known so far, as a
live system would, and the first flag of each unit is recorded.

The leaky unit is drawn among the units that receive some but not all of a season's alerts: one that receives
every alert (the operations centre) cannot be separated from the base rate by outcomes at all — the model
refuses to flag it, and the report says so.

:func:`score_flags_against_truth` scores a real run's flags against a simulated scenario's ``truth/leaks.csv``.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from centinela.alerts.leaks import LeakPrior, flagged_units
from centinela.alerts.outcomes import FAILURES

# A season: about a month of alerts at the air bridge's ~4 flights a day, not all of them alerted.
ALERTS_PER_SEASON = 80
# Failures unrelated to leaks: weather, mechanical faults, the crew's caution and our own misreading of an
# arrival (a landing missed or placed at the wrong strip). No published figure: 15% is a middle guess, and
# :func:`leak_flag_trials` takes any other.
BASE_FAILURE_RATE = 0.15
# Share of alerts whose outcome the outputs cannot tell (data end, flight vanished near the site).
UNKNOWN_RATE = 0.1
# Strips in use at a time (the simulator's strips.pool_size default; the air bridge keeps a dozen or so).
STRIP_POOL = 12
# Time from alert to landing: the warning's typical lead (alerts.warning.EtaWindow.typical_time_to_go_s).
LEAD_S = (900.0, 2700.0)
# Units receiving a share of the alerts in this range can be the leaky one (see the module docstring).
LEAKY_SHARE = (0.05, 0.95)
# The default priors on a coarser grid (61 points an axis): thousands of posteriors a run, same flags.
TRIAL_PRIOR = LeakPrior(grid_n=61)


@lru_cache(maxsize=1)
def vraem_strip_candidates() -> pd.DataFrame:
    """Valley-floor sites where the simulator's world puts clandestine strips (lat, lon), computed once."""
    from centinela.sim.config import default_config
    from centinela.sim.scenario import _parse_start, _terrain
    from centinela.sim.world import build_world

    cfg = default_config()
    world = build_world(cfg, _terrain(cfg), _parse_start(cfg["start"]), np.random.default_rng(0))
    return world.narco_candidates[["lat", "lon"]].reset_index(drop=True)


def season_alerts(rng: np.random.Generator, n_alerts: int = ALERTS_PER_SEASON) -> pd.DataFrame:
    """A season of alerts (the columns dispatch reads) on strips drawn from a pool; busier strips get more."""
    candidates = vraem_strip_candidates()
    pool = candidates.iloc[rng.choice(len(candidates), size=STRIP_POOL, replace=False)]
    weights = rng.dirichlet(np.ones(STRIP_POOL))
    pick = rng.choice(STRIP_POOL, size=n_alerts, p=weights)
    t_issued = np.cumsum(rng.uniform(0.1, 1.0, n_alerts) * 86_400.0)
    return pd.DataFrame({
        "alert_id": [f"A{k:04d}" for k in range(n_alerts)],
        "t_issued": t_issued,
        "eta": t_issued + rng.uniform(*LEAD_S, n_alerts),
        "eta_window_s": rng.uniform(600.0, 1500.0, n_alerts),
        "sigma_site_m": rng.uniform(300.0, 3000.0, n_alerts),
        "predicted_site": [{"lat": float(pool["lat"].iloc[i]), "lon": float(pool["lon"].iloc[i]),
                            "airstrip_id": f"S{i}"} for i in pick],
    })


def leak_flag_trials(n_seeds: int = 50, leak_prob: float = 0.5, *, base_failure_rate: float = BASE_FAILURE_RATE,
                     n_alerts: int = ALERTS_PER_SEASON, unknown_rate: float = UNKNOWN_RATE,
                     units: pd.DataFrame | None = None, prior: LeakPrior = TRIAL_PRIOR) -> pd.DataFrame:
    """One row per (seed, unit that received an alert): ``seed``, ``unit_id``, ``leaky``, ``n_shared`` (alerts
    it received in the season), ``shared_to_flag`` (alerts it had received when first flagged; NaN if never),
    ``ever_flagged``, ``leak_prob``, ``base_failure_rate``.

    >>> df = leak_flag_trials(n_seeds=1, n_alerts=20)
    >>> int(df["leaky"].sum())
    1
    """
    from centinela.alerts.dispatch import plan_dispatch
    from centinela.alerts.units import default_units

    units = default_units() if units is None else units
    rows = []
    for seed in range(n_seeds):
        rng = np.random.default_rng([seed, 9])
        alerts = season_alerts(rng, n_alerts)
        dispatch = plan_dispatch(alerts, units)[["alert_id", "unit_id"]].astype(str)
        share = dispatch["unit_id"].value_counts() / n_alerts
        eligible = sorted(share[(share >= LEAKY_SHARE[0]) & (share <= LEAKY_SHARE[1])].index)
        leaky = eligible[int(rng.integers(len(eligible)))]
        reached = set(dispatch.loc[dispatch["unit_id"] == leaky, "alert_id"])
        base_fail = rng.random(n_alerts) < base_failure_rate
        leak_fail = np.array([a in reached for a in alerts["alert_id"]]) & (rng.random(n_alerts) < leak_prob)
        known = rng.random(n_alerts) >= unknown_rate
        outcome = np.where(~known, "unknown", np.where(base_fail | leak_fail, "aborted", "arrived"))
        outcomes = pd.DataFrame({"alert_id": alerts["alert_id"], "outcome": outcome})
        rows += _sequential_flags(seed, dispatch, outcomes, leaky, prior)
    out = pd.DataFrame(rows)
    out["leak_prob"] = leak_prob
    out["base_failure_rate"] = base_failure_rate
    return out


def _sequential_flags(seed: int, dispatch: pd.DataFrame, outcomes: pd.DataFrame, leaky: str,
                      prior: LeakPrior) -> list[dict]:
    """Recompute the flags after every alert with a known outcome; note when each unit is first flagged."""
    alert_ids = pd.Index(outcomes["alert_id"].astype(str))
    unit_ids = sorted(dispatch["unit_id"].unique())
    received = np.zeros((len(alert_ids), len(unit_ids)), bool)
    received[alert_ids.get_indexer(dispatch["alert_id"]), pd.Index(unit_ids).get_indexer(dispatch["unit_id"])] = True
    outcome = outcomes["outcome"].astype(str).to_numpy()
    known = outcome != "unknown"
    failed = np.isin(outcome, FAILURES)
    first_flag = np.full(len(unit_ids), -1)
    for k in np.flatnonzero(known):
        use = known[: k + 1]
        flags = flagged_units(received[: k + 1][use], failed[: k + 1][use], prior)
        first_flag[(first_flag < 0) & flags] = k
    received_so_far = np.cumsum(received, axis=0)  # alerts each unit had received up to each alert
    return [{"seed": seed, "unit_id": unit_id, "leaky": unit_id == leaky, "n_shared": int(received[:, j].sum()),
             "shared_to_flag": float(received_so_far[first_flag[j], j]) if first_flag[j] >= 0 else np.nan,
             "ever_flagged": bool(first_flag[j] >= 0)}
            for j, unit_id in enumerate(unit_ids)]


def summarise_leak_trials(df: pd.DataFrame) -> pd.DataFrame:
    """The issue's figures, one row per (leak_prob, base_failure_rate): ``median_shared_to_flag`` (median over
    seeds of the alerts the leaky unit had received when first flagged; a leaky unit never flagged counts as
    never, so the median is infinite if fewer than half are flagged), ``leaky_flagged_share`` (within the
    season), ``honest_wrongly_flagged_share`` (honest units that received at least one alert and were ever
    flagged), ``seeds_with_a_false_flag`` (share of seasons with at least one honest unit flagged),
    ``honest_units``, ``seeds``."""
    rows = []
    for (leak_prob, base), g in df.groupby(["leak_prob", "base_failure_rate"]):
        leaky, honest = g[g["leaky"]], g[~g["leaky"]]
        to_flag = leaky["shared_to_flag"].fillna(np.inf).to_numpy(float)
        rows.append({
            "leak_prob": leak_prob, "base_failure_rate": base,
            "median_shared_to_flag": float(np.median(to_flag)) if len(to_flag) else np.nan,
            "leaky_flagged_share": float(leaky["ever_flagged"].mean()) if len(leaky) else np.nan,
            "leaky_median_shared_in_season": float(leaky["n_shared"].median()) if len(leaky) else np.nan,
            "honest_wrongly_flagged_share": float(honest["ever_flagged"].mean()) if len(honest) else np.nan,
            "seeds_with_a_false_flag": float(honest.groupby("seed")["ever_flagged"].any().mean()) if len(honest) else np.nan,
            "honest_units": len(honest), "seeds": int(g["seed"].nunique()),
        })
    return pd.DataFrame(rows)


def score_flags_against_truth(posteriors: pd.DataFrame, scenario_dir: str | Path) -> dict | None:
    """Score a run's leak flags against ``truth/leaks.csv`` (None when the scenario has no such file): the
    leaky units of the truth, which of them were flagged, which flagged units are honest.

    ``truth/leaks.csv``: ``truth_id, unit_id, leaked, outcome`` — one row per narco flight and recipient of its
    emulated alert; a unit is leaky in truth when it leaked at least once.
    """
    path = Path(scenario_dir) / "truth" / "leaks.csv"
    if not path.exists():
        return None
    truth = pd.read_csv(path, dtype={"truth_id": "string", "unit_id": "string", "outcome": "string"})
    leaked = truth["leaked"].astype(str).str.lower().isin(("true", "1"))
    leaky = set(truth.loc[leaked, "unit_id"].astype(str))
    flagged = set(posteriors.loc[posteriors["flagged"].astype(bool), "unit_id"].astype(str))
    recipients = set(truth["unit_id"].astype(str)) | set(posteriors["unit_id"].astype(str))
    honest = recipients - leaky
    return {
        "leaky_units": len(leaky),
        "leaky_flagged": len(leaky & flagged),
        "honest_units": len(honest),
        "honest_flagged": len(honest & flagged),
        "leaky_flagged_share": len(leaky & flagged) / len(leaky) if leaky else None,
        "honest_flagged_share": len(honest & flagged) / len(honest) if honest else None,
        "flagged": ", ".join(sorted(flagged)),
        "leaky": ", ".join(sorted(leaky)),
    }
