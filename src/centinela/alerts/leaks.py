"""Which recipients leak: a Bayesian model of alerted flights that fail to arrive.

**Model.** Each alerted flight fails (aborts, diverts) for reasons unrelated to leaks — weather, a mechanical
fault, the crew's own caution, our own misprediction of the site — with a base rate ``b`` shared by all alerts.
If the alert reached a unit that leaks, the flight also fails with that unit's leak probability ``λ_u``
(the warning reached the traffickers in time and they acted on it). Causes combine as a noisy-OR:

    P(flight arrives | alert a) = (1 - b) · Π_{u received a} (1 - λ_u)

Priors: ``b ~ Beta(base_a, base_b)`` (weak, mean 0.2: no published figure exists; the data soon dominate), and
for each unit a spike-and-slab — it leaks at all with probability ``prior_leak_prob``, and then
``λ_u ~ Beta(slab_a, slab_b)``; it does not with ``λ_u = 0`` exactly.

**Computation.** For each unit the joint posterior of ``(b, λ_u)`` is evaluated exactly on a grid over
[0, 1]² (with the spike as its own column), so the base rate is learned from every alert at once — those that
reached the unit and those that did not. The other units' effects enter through their posterior mean
``E[1 - λ_v]`` (exact for one alert's outcome when the units' posteriors are independent; a mean-field
approximation across alerts), and the units are updated in turn a few times: a unit that shares alerts with a
leaky one is cleared when the leaky one explains the failures ("explaining away"). Units that received exactly
the same alerts are one group: the data cannot tell them apart, and each member is reported with the group's
posterior and a note naming the others.

**Flag.** A unit is flagged when the Bayes factor for "leaks" over "does not leak" reaches
:data:`FLAG_BAYES_FACTOR` = 10 — "strong" evidence on Jeffreys' (1961) scale (10-30) — and at least
:data:`MIN_NOT_SHARED_TO_FLAG` alerts with a known outcome did not reach it. A Bayes factor is a martingale
for an honest unit, so by Ville's inequality the chance that it *ever* reaches 10, however often it is
recomputed during a season, is at most 1/10; measured over 50 simulated seasons it is ~3% (docs/need_to_know.md,
"Leak statistics", gives the trade-off for other thresholds). The flag uses the Bayes factor, not ``p_leaks``,
so it does not depend on how common one believes leaks are (``prior_leak_prob``).

>>> import pandas as pd
>>> dispatch = pd.DataFrame({"alert_id": ["A1", "A2", "A3", "A4"], "unit_id": ["MIL", "MIL", "MIL", "POL"]})
>>> outcomes = pd.DataFrame({"alert_id": ["A1", "A2", "A3", "A4"],
...                          "outcome": ["aborted", "aborted", "diverted", "arrived"]})
>>> p = leak_posteriors(dispatch, outcomes).set_index("unit_id")
>>> int(p.loc["MIL", "n_failed_shared"]), bool(p.loc["MIL", "flagged"])   # the seeds' numbers do not flag
(3, False)
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from centinela.alerts.outcomes import FAILURES

LEAK_COLUMNS = ["unit_id", "n_shared", "n_failed_shared", "n_not_shared", "n_failed_not_shared", "leak_mean",
                "leak_lo", "leak_hi", "p_leaks", "bayes_factor", "base_rate", "flagged", "note"]
_LEAK_DTYPES = {"unit_id": "string", **dict.fromkeys(LEAK_COLUMNS[1:5], "int64"),
                **dict.fromkeys(LEAK_COLUMNS[5:11], "float64"), "flagged": "bool", "note": "string"}

# Strong evidence (Jeffreys 1961: a Bayes factor of 10-30 is "strong"); by Ville's inequality an honest unit's
# Bayes factor ever reaches it with probability at most 1/10, ~3% measured (see the module docstring).
FLAG_BAYES_FACTOR = 10.0
# Without alerts that did NOT reach a unit there is nothing to compare it against: the base rate would come from
# the prior alone. Three is the least that lets a unit that always sits next to the same colleagues be
# compared at all; the Bayes factor does the rest.
MIN_NOT_SHARED_TO_FLAG = 3
# Credible interval reported for the leak probability.
CREDIBLE_MASS = 0.90
# Rounds of updating the units in turn (the others' means settle in two or three).
MEAN_FIELD_ROUNDS = 4
# ... or fewer, once no unit's mean leak probability moves by more than this.
MEAN_FIELD_TOLERANCE = 1e-3


@dataclass(frozen=True)
class LeakPrior:
    """Priors of the leak model and the grid it is evaluated on.

    ``base_a, base_b``: Beta prior of the base failure rate (default mean 0.2, as informative as 5 alerts);
    ``prior_leak_prob``: prior probability that a unit leaks at all (0.5: no presumption either way, so
    ``p_leaks`` is the evidence's own odds, BF / (1 + BF)); ``slab_a, slab_b``: Beta prior of a leaky unit's leak
    probability (uniform); ``grid_n``: points per axis.
    """

    base_a: float = 1.0
    base_b: float = 4.0
    prior_leak_prob: float = 0.5
    slab_a: float = 1.0
    slab_b: float = 1.0
    grid_n: int = 101

    def grids(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Midpoint grids over (0, 1) of b and λ with their normalised prior weights."""
        return _grids(self)


@lru_cache(maxsize=16)
def _grids(prior: LeakPrior) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x = (np.arange(prior.grid_n) + 0.5) / prior.grid_n
    wb = stats.beta.pdf(x, prior.base_a, prior.base_b)
    ws = stats.beta.pdf(x, prior.slab_a, prior.slab_b)
    return x, wb / wb.sum(), x, ws / ws.sum()


@dataclass(frozen=True)
class UnitPosterior:
    """One unit's (or group's) posterior: leak-probability mean, credible bounds, P(leaks), Bayes factor,
    posterior mean of the base rate."""

    leak_mean: float
    leak_lo: float
    leak_hi: float
    p_leaks: float
    log_bayes_factor: float
    base_rate: float


def unit_posterior(shared: np.ndarray, failed: np.ndarray, others: np.ndarray | None = None,
                   prior: LeakPrior = LeakPrior()) -> UnitPosterior:
    """The exact grid posterior for one unit from per-alert arrays: ``shared`` (the alert reached it),
    ``failed`` (the flight aborted or diverted) and ``others`` (the probability that no *other* recipient's
    leak stopped the flight, Π(1 - E[λ_v]); 1 when omitted). Alerts of unknown outcome must be left out.

    The seeds' numbers — 3 of 3 failures when shared, 1 of 1 arrival when not:

    >>> p = unit_posterior(np.array([1, 1, 1, 0], bool), np.array([1, 1, 1, 0], bool))
    >>> round(float(np.exp(p.log_bayes_factor)), 1), round(p.p_leaks, 2)
    (17.2, 0.95)
    """
    shared, failed = np.asarray(shared, bool), np.asarray(failed, bool)
    others = np.ones(len(shared)) if others is None else np.clip(np.asarray(others, float), 1e-12, 1.0)
    b, wb, lam, ws = prior.grids()
    log1mb, log1ml = np.log1p(-b), np.log1p(-lam)
    # Arrivals: (1 - b) · c · (1 - λ)^x, summed in logs from counts.
    ok = ~failed
    log_ok_b = ok.sum() * log1mb + np.log(others[ok]).sum()
    n_ok_shared = int((ok & shared).sum())
    # Failures: 1 - (1 - b) c (1 - λ)^x, one term per distinct (x, c).
    # c is in (0, 1], so c + 2x keys (x, c) uniquely.
    keys, counts = np.unique(np.round(others[failed], 9) + 2.0 * shared[failed], return_counts=True)
    spike = log_ok_b.copy()  # λ = 0
    slab = log_ok_b[:, None] + n_ok_shared * log1ml[None, :]
    for key, k in zip(keys, counts):
        x, c = key > 1.5, key - 2.0 * (key > 1.5)
        spike = spike + k * np.log1p(-(1.0 - b) * c)
        keep = (1.0 - b)[:, None] * c * ((1.0 - lam)[None, :] if x else 1.0)
        slab = slab + k * np.log1p(-np.minimum(keep, 1.0 - 1e-15))
    log_wb, log_ws = np.log(np.maximum(wb, 1e-300)), np.log(np.maximum(ws, 1e-300))
    spike = spike + log_wb
    slab = slab + log_wb[:, None] + log_ws[None, :]
    log_z0, log_z1 = _logsumexp(spike), _logsumexp(slab)
    log_bf = float(log_z1 - log_z0)
    pi = prior.prior_leak_prob
    p_leaks = float(1.0 / (1.0 + np.exp(np.clip(np.log1p(-pi) - np.log(pi) - log_bf, -700, 700))))
    slab_post = np.exp(slab - log_z1)
    lam_marginal = slab_post.sum(axis=0) * p_leaks
    base_rate = float((1.0 - p_leaks) * (np.exp(spike - log_z0) * b).sum() + p_leaks * (slab_post.sum(axis=1) * b).sum())
    # The leak probability's distribution: mass 1 - p_leaks at 0, the slab's marginal over the grid.
    values = np.r_[0.0, lam]
    mass = np.r_[1.0 - p_leaks, lam_marginal]
    cdf = np.cumsum(mass)
    tail = 0.5 * (1.0 - CREDIBLE_MASS)
    lo = float(values[min(np.searchsorted(cdf, tail), len(values) - 1)])
    hi = float(values[min(np.searchsorted(cdf, 1.0 - tail), len(values) - 1)])
    return UnitPosterior(float((values * mass).sum()), lo, hi, p_leaks, log_bf, base_rate)


def _logsumexp(x: np.ndarray) -> float:
    top = float(x.max())
    return top + float(np.log(np.exp(x - top).sum())) if np.isfinite(top) else top


def leak_posteriors(dispatch: pd.DataFrame, outcomes: pd.DataFrame, units: pd.DataFrame | None = None,
                    prior: LeakPrior = LeakPrior()) -> pd.DataFrame:
    """Every unit's posterior leak probability: :data:`LEAK_COLUMNS`, most suspect first.

    ``dispatch``: alert_id, unit_id (one row per copy sent, ``dispatch.csv``); ``outcomes``: alert_id, outcome
    (:func:`centinela.alerts.outcomes.alert_outcomes`); ``units`` (optional, the register) adds units that
    received nothing. Alerts with outcome ``unknown`` or without an outcome are left out. ``leak_mean``,
    ``leak_lo``, ``leak_hi``: mean and 90% credible interval of the leak probability (0 when the unit does not
    leak, so the interval starts at 0 until the evidence says otherwise); ``p_leaks``: posterior probability that
    it leaks at all; ``bayes_factor``: the evidence for leaking over not; ``base_rate``: posterior mean of the
    base failure rate in that unit's model.
    """
    known = outcomes[outcomes["outcome"].astype(str).isin(("arrived", *FAILURES)).to_numpy(bool)]
    alert_ids = pd.Index(known["alert_id"].astype(str).unique())
    failed = known.drop_duplicates("alert_id").set_index(known.drop_duplicates("alert_id")["alert_id"].astype(str))
    failed = failed["outcome"].astype(str).isin(FAILURES).reindex(alert_ids).to_numpy(bool)
    d = dispatch[["alert_id", "unit_id"]].astype(str).drop_duplicates()
    unit_ids = sorted(set(d["unit_id"]) | (set(units["unit_id"].astype(str)) if units is not None else set()))
    d = d[d["alert_id"].isin(alert_ids)]
    received = np.zeros((len(alert_ids), len(unit_ids)), bool)
    received[alert_ids.get_indexer(d["alert_id"]), pd.Index(unit_ids).get_indexer(d["unit_id"])] = True
    return _posteriors(received, failed, unit_ids, prior)


def group_posteriors(received: np.ndarray, failed: np.ndarray, prior: LeakPrior = LeakPrior()
                     ) -> tuple[np.ndarray, list[UnitPosterior | None]]:
    """The core on arrays: ``received`` (alerts × units, bool), ``failed`` (per alert, bool; known outcomes
    only). Units with identical columns form one group. Returns each unit's group number (-1: received
    nothing) and each group's posterior, from the mean-field loop."""
    group = np.full(received.shape[1], -1)
    _, first, inverse = np.unique(received.T, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    leaders = [j for j in sorted(first) if received[:, j].any()]
    for g, j in enumerate(leaders):
        group[inverse == inverse[j]] = g
    shared = received[:, leaders].T.astype(float)
    mean = np.zeros(len(leaders))
    results: list[UnitPosterior | None] = [None] * len(leaders)
    for _ in range(MEAN_FIELD_ROUNDS if len(leaders) > 1 else 1):
        before = mean.copy()
        for g in range(len(leaders)):
            # log P(no other group's leak stopped the flight), per alert, from the others' current means
            log_keep = np.log1p(-np.minimum(mean, 1 - 1e-9)) @ shared
            log_keep -= np.log1p(-min(mean[g], 1 - 1e-9)) * shared[g]
            results[g] = unit_posterior(shared[g].astype(bool), failed, np.exp(log_keep), prior)
            mean[g] = results[g].leak_mean
        if len(leaders) == 0 or np.abs(mean - before).max() < MEAN_FIELD_TOLERANCE:
            break
    return group, results


def flag_rule(n_shared, n_not_shared, bayes_factor):
    """The flag: strong evidence (Bayes factor ≥ FLAG_BAYES_FACTOR) and enough alerts that did not reach the
    unit to compare against (≥ MIN_NOT_SHARED_TO_FLAG). Works on scalars and arrays."""
    return ((np.asarray(n_shared) > 0) & (np.asarray(n_not_shared) >= MIN_NOT_SHARED_TO_FLAG)
            & (np.asarray(bayes_factor) >= FLAG_BAYES_FACTOR))


def flagged_units(received: np.ndarray, failed: np.ndarray, prior: LeakPrior = LeakPrior()) -> np.ndarray:
    """Per unit (column of ``received``), whether the leak model flags it: the fast path of the trials."""
    group, results = group_posteriors(received, failed, prior)
    log_bf = np.array([results[g].log_bayes_factor if g >= 0 else -np.inf for g in group])
    n_shared = received.sum(axis=0)
    return flag_rule(n_shared, len(failed) - n_shared, np.exp(np.minimum(log_bf, 700.0)))


def _posteriors(received: np.ndarray, failed: np.ndarray, unit_ids: list[str], prior: LeakPrior) -> pd.DataFrame:
    """The table of :func:`leak_posteriors` from the receipt matrix."""
    group, results = group_posteriors(received, failed, prior)
    groups = [list(np.flatnonzero(group == g)) for g in range(len(results))]
    rows = []
    empty = unit_posterior(np.zeros(0, bool), np.zeros(0, bool), None, prior)
    n_alerts = len(failed)
    for j, unit_id in enumerate(unit_ids):
        col = received[:, j]
        g = int(group[j]) if group[j] >= 0 else None
        post = results[g] if g is not None else empty
        n_shared, n_not = int(col.sum()), int((~col).sum())
        notes = []
        if n_shared == 0:
            notes.append("received no alert with a known outcome")
        elif n_not < MIN_NOT_SHARED_TO_FLAG:
            notes.append(f"only {n_not} of {n_alerts} alerts did not reach it: too few to compare against")
        if g is not None and len(groups[g]) > 1:
            mates = [unit_ids[k] for k in groups[g] if k != j]
            notes.append("received exactly the same alerts as " + ", ".join(mates) + ": the data cannot tell "
                         "which of them leaks")
        bf = float(np.exp(min(post.log_bayes_factor, 700.0)))
        rows.append({
            "unit_id": unit_id, "n_shared": n_shared, "n_failed_shared": int((col & failed).sum()),
            "n_not_shared": n_not, "n_failed_not_shared": int((~col & failed).sum()),
            "leak_mean": post.leak_mean, "leak_lo": post.leak_lo, "leak_hi": post.leak_hi, "p_leaks": post.p_leaks,
            "bayes_factor": bf, "base_rate": post.base_rate,
            "flagged": bool(flag_rule(n_shared, n_not, bf)),
            "note": "; ".join(notes),
        })
    out = pd.DataFrame(rows, columns=LEAK_COLUMNS)
    return out.sort_values(["flagged", "bayes_factor", "unit_id"], ascending=[False, False, True],
                           kind="stable").reset_index(drop=True)


def seeds_bayes_factors(base_rates=(0.05, 0.1, 0.2, 0.3, 0.5)) -> pd.DataFrame:
    """What the seeds' numbers — 3 of 3 failures when prosecutors shared, 1 of 1 arrival when they did not —
    say about "the shared-with unit leaks", for the weak default prior of the base rate and for base rates taken
    as known: ``base_rate_prior``, ``bayes_factor``, ``p_leaks`` (even prior odds), the leak probability's mean
    and 90% interval, and ``p_three_failures_by_chance`` (3 of 3 failures with no leak, at a known base rate).

    >>> t = seeds_bayes_factors((0.1, 0.5))
    >>> [round(v) for v in t["bayes_factor"]]
    [17, 4, 276, 4]
    """
    shared = np.array([1, 1, 1, 0], bool)
    failed = np.array([1, 1, 1, 0], bool)
    rows = [{"base_rate_prior": "Beta(1, 4) (default)", **_seeds_row(unit_posterior(shared, failed))},
            {"base_rate_prior": "Beta(1, 1) (uniform)",
             **_seeds_row(unit_posterior(shared, failed, prior=LeakPrior(base_a=1.0, base_b=1.0)))}]
    for b in base_rates:
        # A base rate taken as known: a Beta prior so narrow it is a point (grid resolution).
        known = LeakPrior(base_a=b * 1e5, base_b=(1 - b) * 1e5, grid_n=401)
        rows.append({"base_rate_prior": f"known: {b:g}", **_seeds_row(unit_posterior(shared, failed, prior=known)),
                     "p_three_failures_by_chance": b**3})
    out = pd.DataFrame(rows)
    return out


def _seeds_row(p: UnitPosterior) -> dict:
    return {"bayes_factor": float(np.exp(p.log_bayes_factor)), "p_leaks": p.p_leaks, "leak_mean": p.leak_mean,
            "leak_lo": p.leak_lo, "leak_hi": p.leak_hi}


# --- report -------------------------------------------------------------------------------------------------
def leak_section_html(posteriors: pd.DataFrame) -> str:
    """An HTML fragment for report.html: each unit's leak probability (mean and 90% interval, drawn as an inline
    SVG bar), P(leaks), the Bayes factor and the counts behind them; flagged units first.

    >>> frag = leak_section_html(pd.DataFrame([{"unit_id": "U1", "n_shared": 6, "n_failed_shared": 5,
    ...     "n_not_shared": 20, "n_failed_not_shared": 2, "leak_mean": 0.6, "leak_lo": 0.3, "leak_hi": 0.85,
    ...     "p_leaks": 0.99, "bayes_factor": 120.0, "base_rate": 0.1, "flagged": True, "note": ""}]))
    >>> "U1" in frag and "<svg" in frag and "flagged" in frag
    True
    """
    intro = (f"<p>For each recipient, how often alerted flights failed to arrive (aborted or diverted) when the "
             f"alert reached it, against when it did not, with a base rate of failures that have nothing to do "
             f"with leaks. A unit is flagged only on strong evidence (Bayes factor ≥ {FLAG_BAYES_FACTOR:g}); an "
             f"interval starting at 0 means the data are consistent with no leak. An excess of failures can also "
             f"come from a unit's visible movements, not only from a leak: a flag starts an inquiry, it proves "
             f"nothing.</p>")
    if posteriors is None or len(posteriors) == 0:
        return "<section id='leaks'><h2>Leak statistics</h2>" + intro + "<p>No alert with a known outcome.</p></section>"
    # Units that received nothing have only the prior to show: named in one line instead of a row each.
    received = posteriors[posteriors["n_shared"].to_numpy(int) > 0]
    idle = sorted(posteriors.loc[posteriors["n_shared"].to_numpy(int) == 0, "unit_id"].astype(str))
    rows = []
    for r in received.to_dict("records"):
        status = "<b class='not'>flagged</b>" if r["flagged"] else ""
        rows.append(
            f"<tr><td>{html.escape(str(r['unit_id']))} {status}</td><td>{_interval_svg(r)}</td>"
            f"<td>{r['leak_mean']:.2f} [{r['leak_lo']:.2f}, {r['leak_hi']:.2f}]</td><td>{r['p_leaks']:.2f}</td>"
            f"<td>{_bf_text(r['bayes_factor'])}</td>"
            f"<td>{r['n_failed_shared']}/{r['n_shared']}</td><td>{r['n_failed_not_shared']}/{r['n_not_shared']}</td>"
            f"<td>{html.escape(str(r['note']))}</td></tr>")
    head = ("<tr><th>unit</th><th>leak probability (0 to 1)</th><th>mean [90% interval]</th><th>P(leaks)</th>"
            "<th>Bayes factor</th><th>failed / alerts it received</th><th>failed / alerts it did not</th>"
            "<th>note</th></tr>")
    idle_text = (f"<p>No alert reached {len(idle)} other unit(s) of the register (prior only): "
                 f"{html.escape(', '.join(idle))}.</p>" if idle else "")
    return ("<section id='leaks'><h2>Leak statistics</h2>" + intro + "<table>" + head + "".join(rows)
            + "</table>" + idle_text + "</section>")


def _bf_text(bf: float) -> str:
    return f"{bf:.3g}" if bf < 1e4 else f"{bf:.1e}"


def _interval_svg(r: dict, width: int = 160, height: int = 14) -> str:
    x = lambda v: 2 + (width - 4) * float(v)
    colour = "#c0392b" if r["flagged"] else "#555"
    return (f"<svg width='{width}' height='{height}' role='img' aria-label='leak probability interval'>"
            f"<line x1='2' y1='{height / 2}' x2='{width - 2}' y2='{height / 2}' stroke='#ddd'/>"
            f"<line x1='{x(r['leak_lo']):.1f}' y1='{height / 2}' x2='{x(r['leak_hi']):.1f}' y2='{height / 2}' "
            f"stroke='{colour}' stroke-width='4'/>"
            f"<circle cx='{x(r['leak_mean']):.1f}' cy='{height / 2}' r='3.5' fill='{colour}'/></svg>")


def write_leaks_csv(posteriors: pd.DataFrame, path: str | Path) -> None:
    """Write the :func:`leak_posteriors` table as ``leaks.csv`` (typed, atomic)."""
    from centinela.io._csvfile import write_csv_table

    write_csv_table(posteriors, path, _LEAK_DTYPES, LEAK_COLUMNS, "leak posteriors")


def read_leaks_csv(path: str | Path) -> pd.DataFrame:
    """Read ``leaks.csv`` back into :data:`LEAK_COLUMNS` (an empty note stays an empty string)."""
    from centinela.io._csvfile import read_csv_table

    df, _ = read_csv_table(path, _LEAK_DTYPES, LEAK_COLUMNS)
    return df[LEAK_COLUMNS].astype(_LEAK_DTYPES).fillna({"note": ""})
