"""Who receives an alert: the smallest set of units that can act in time on the predicted site, plus the roles
the policy names — and nobody else unless a second authorised person approves, with a reason.

The seeds' lesson: three times prosecutors shared when and where a plane would land, and three times it never
came; the fourth time they told no one and police seized plane, pilot and 357 kg. Every extra recipient is a
chance for the warning to reach the traffickers, so the default distribution is minimal:

- **Acting units** (``policy.acting_kinds``, police by default) with at least ``policy.min_clearance``, whose area
  of responsibility contains the predicted site, and that reach it in time. A unit's reach time is
  ``ready_min + distance / speed_kmh`` (straight-line distance; the speed is effective, winding roads included);
  the time available is the time left until the ETA plus the ground operation (~10 minutes on the ground,
  DESIGN.md): the plane is still on the strip that long after it lands. The ``policy.units_needed`` fastest
  units are chosen; none when no unit can make it (the alert then goes to the named roles only, for the
  investigation).
- **Named roles**: for each kind in ``policy.named_kinds``, the one unit of that kind flagged ``always`` whose area
  contains the site (the nearest such when several do, the nearest ``always`` unit of the kind when none does):
  the duty prosecutor who must authorise the operation, and the operations centre.

Military units are never in the default distribution (the seeds' three leaks went through the military); a
policy may make them acting units.

Alerts from other tools or live feeds may lack a part (CONTRACT.md allows them); they are still dispatched, and
the ``reason`` says what was missing:

- **No ETA** (``eta`` missing or null): nothing to race, so the reach test is skipped; the fastest acting units
  whose area contains the site are chosen, and the named roles as usual.
- **No site** (``predicted_site`` missing or null, or without coordinates): no unit can be checked to cover the
  site or to reach it, so no acting unit is chosen. Of the named roles, only those the policy would choose
  wherever the site is: a kind with a single ``always`` unit in the register (the operations centre of the
  packaged register). A kind with several (the prosecutors, each for its own area) gets none: the operations
  centre forwards the alert (``centinela widen``, with a second person) once it knows where the plane goes.
  A register without such a role leaves the alert with no recipient; ``centinela dispatch`` says so.

Which register: ``--units`` when given, else the scenario's own ``units.toml``, else the packaged one
(:func:`choose_units_register`: ``centinela dispatch``, ``widen`` and the demo choose with it, and the operations
centre's ``centinela.server.dispatching.units_register``).

>>> import pandas as pd
>>> from centinela.alerts.units import default_units
>>> alerts = pd.DataFrame([{"alert_id": "A1", "t_issued": 0.0, "eta": 3600.0, "eta_window_s": 1200.0,
...     "predicted_site": {"lat": -12.45, "lon": -73.95, "airstrip_id": "S1"}, "sigma_site_m": 2000.0}])
>>> plan_dispatch(alerts, default_units())["unit_id"].tolist()
['DIRANDRO-LLOCHEGUA', 'FISCALIA-TID-PICHARI', 'VRAEM-OPS']
>>> no_site = alerts.assign(predicted_site=[None])
>>> plan_dispatch(no_site, default_units())[["unit_id", "reason"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
[['VRAEM-OPS', 'named: the only command (site unknown: no unit can be checked to reach it in time; no
  prosecutor chosen: the site decides which)']]
"""
from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from centinela.alerts.units import UNITS_FILE, default_units_path
from centinela.errors import InputError
from centinela.geo.frames import haversine_m
from centinela.io._csvfile import read_csv_table, write_csv_table

DISPATCH_COLUMNS = ["alert_id", "unit_id", "reason", "t_dispatched", "widened_by", "approved_by"]
_DTYPES = {"alert_id": "string", "unit_id": "string", "reason": "string", "t_dispatched": "float64",
           "widened_by": "string", "approved_by": "string"}
DISPATCH_CSV = "dispatch.csv"

# The ground operation of the air bridge lasts about 10 minutes (DESIGN.md: spread 5-20): the plane is on the
# strip that long after it lands, so a unit that arrives within it still finds it.
GROUND_OPERATION_S = 600.0
# Clearance needed to receive an alert (units.toml: 0..3). Local police stations and outposts (1) do not.
MIN_CLEARANCE = 2


@dataclass(frozen=True)
class DispatchPolicy:
    """Who an alert goes to. ``acting_kinds``: kinds of unit that go to the site; ``units_needed``: how many of
    them an interdiction needs; ``named_kinds``: roles that always receive the alerts in their area."""

    acting_kinds: tuple[str, ...] = ("police",)
    units_needed: int = 1
    named_kinds: tuple[str, ...] = ("prosecutor", "command")
    min_clearance: int = MIN_CLEARANCE
    ground_operation_s: float = GROUND_OPERATION_S


def empty_dispatch() -> pd.DataFrame:
    """A dispatch table with no rows."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in _DTYPES.items()})


def write_dispatch_csv(dispatch: pd.DataFrame, path: str | Path) -> None:
    """Write a dispatch table (atomically)."""
    write_csv_table(dispatch, path, _DTYPES, ["alert_id", "unit_id"], "dispatch")


def read_dispatch_csv(path: str | Path) -> pd.DataFrame:
    """Read ``dispatch.csv`` into :data:`DISPATCH_COLUMNS`; InputError names the line and field."""
    df, _ = read_csv_table(path, _DTYPES, ["alert_id", "unit_id", "t_dispatched"])
    return df[DISPATCH_COLUMNS].astype(_DTYPES)


def reach_times_s(units: pd.DataFrame, lat: float, lon: float) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's time to reach (lat, lon) in seconds (inf for units without means) and its distance in m."""
    distance_m = haversine_m(units["lat"].to_numpy(float), units["lon"].to_numpy(float), lat, lon)
    speed_mps = units["speed_kmh"].to_numpy(float) / 3.6
    moving = (units["means"].astype(str).to_numpy() != "none") & (speed_mps > 0)
    travel_s = np.divide(distance_m, speed_mps, out=np.full(len(units), np.inf), where=moving)
    return units["ready_min"].to_numpy(float) * 60.0 + travel_s, np.asarray(distance_m, float)


def plan_dispatch(alerts: pd.DataFrame, units: pd.DataFrame, policy: DispatchPolicy = DispatchPolicy()
                  ) -> pd.DataFrame:
    """One row per (alert, recipient) with :data:`DISPATCH_COLUMNS`; ``t_dispatched`` is the alert's
    ``t_issued`` (the plan is made when the alert is raised); ``widened_by``/``approved_by`` are null."""
    rows = []
    for alert in alerts.to_dict("records"):
        for unit_id, reason in _recipients(alert, units, policy):
            rows.append({"alert_id": str(alert["alert_id"]), "unit_id": unit_id, "reason": reason,
                         "t_dispatched": float(alert["t_issued"]), "widened_by": None, "approved_by": None})
    if not rows:
        return empty_dispatch()
    return pd.DataFrame(rows, columns=DISPATCH_COLUMNS).astype(_DTYPES)


def _recipients(alert: dict, units: pd.DataFrame, policy: DispatchPolicy) -> list[tuple[str, str]]:
    cleared = units[units["clearance"].to_numpy(int) >= policy.min_clearance].reset_index(drop=True)
    kinds = cleared["kind"].astype(str).to_numpy()
    always = cleared["always"].to_numpy(bool)
    site = predicted_site_lat_lon(alert)
    if site is None:
        return _recipients_without_site(cleared, kinds, always, policy)
    reach_s, distance_m = reach_times_s(cleared, *site)
    in_area = distance_m <= cleared["area_radius_m"].to_numpy(float)
    eta = finite_or_none(alert.get("eta"))
    # Without an ETA there is nothing to race: every unit that covers the site and can move qualifies.
    available_s = np.inf if eta is None else eta - float(alert["t_issued"]) + policy.ground_operation_s

    out: list[tuple[str, str]] = []
    acting = np.flatnonzero(np.isin(kinds, policy.acting_kinds) & in_area & np.isfinite(reach_s)
                            & (reach_s <= available_s))
    for i in acting[np.argsort(reach_s[acting], kind="stable")][:policy.units_needed]:
        reason = (f"acts: reaches the site in {reach_s[i] / 60:.0f} min by {cleared.at[i, 'means']} "
                  f"({distance_m[i] / 1000:.0f} km), "
                  + (f"{available_s / 60:.0f} min available" if eta is not None
                     else "ETA unknown: not checked against the landing"))
        out.append((str(cleared.at[i, "unit_id"]), reason))
    note = "ETA unknown" if eta is None else ""
    if len(out) < policy.units_needed:
        can = "can reach the site" if eta is None else "can reach the site in time"
        missing = f"no cleared unit {can}" if not out else f"fewer units than needed {can}"
        note = f"{note}; {missing}" if note else missing
    for kind in policy.named_kinds:
        candidates = np.flatnonzero(always & (kinds == kind))
        if len(candidates) == 0:
            continue
        covering = candidates[in_area[candidates]]
        pool = covering if len(covering) else candidates
        i = pool[np.argmin(distance_m[pool])]
        where = "its area" if len(covering) else "no one's area; nearest"
        reason = f"named: {kind} for {where}" + (f" ({note})" if note else "")
        out.append((str(cleared.at[i, "unit_id"]), reason))
    # A unit both acting and named is listed once, as acting (the first reason given for it).
    first_reason: dict[str, str] = {}
    for unit, reason in out:
        first_reason.setdefault(unit, reason)
    return list(first_reason.items())


def _recipients_without_site(cleared: pd.DataFrame, kinds: np.ndarray, always: np.ndarray,
                             policy: DispatchPolicy) -> list[tuple[str, str]]:
    """No site: no acting unit (none can be checked to reach it); of the named roles, those the policy would
    choose wherever the site is — a kind with a single ``always`` unit."""
    candidates = {kind: np.flatnonzero(always & (kinds == kind)) for kind in policy.named_kinds}
    several = [kind for kind, idx in candidates.items() if len(idx) > 1]
    note = "site unknown: no unit can be checked to reach it in time"
    if several:
        note += f"; no {', '.join(several)} chosen: the site decides which"
    return [(str(cleared.at[idx[0], "unit_id"]), f"named: the only {kind} ({note})")
            for kind, idx in candidates.items() if len(idx) == 1]


def predicted_site_lat_lon(alert: dict) -> tuple[float, float] | None:
    """The alert's predicted site as (lat, lon), or None when it gives none (missing, null, no coordinates).

    >>> predicted_site_lat_lon({"predicted_site": {"lat": -12.5, "lon": -73.8}}), predicted_site_lat_lon({})
    ((-12.5, -73.8), None)
    """
    site = alert.get("predicted_site")
    if not isinstance(site, dict):
        return None
    lat, lon = finite_or_none(site.get("lat")), finite_or_none(site.get("lon"))
    return None if lat is None or lon is None else (lat, lon)


def finite_or_none(value: object) -> float | None:
    """``value`` as a finite float, or None (missing, null, NaN, not a number)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


@dataclass(frozen=True)
class UnitsRegister:
    """The units register a dispatch uses (``path``) and why (``source``: ``given``, ``scenario`` or
    ``packaged``); ``scenario_dir``, the scenario folder looked in, if any."""

    path: Path
    source: str
    scenario_dir: Path | None = None

    def describe(self) -> str:
        """One line for the user: which file, and why that one."""
        if self.source == "given":
            why = "given with --units"
        elif self.source == "scenario":
            why = "the scenario's own"
        elif self.scenario_dir is not None:
            why = f"no {UNITS_FILE} in {self.scenario_dir}: the packaged VRAEM register"
        else:
            why = "the packaged VRAEM register"
        return f"units register: {self.path} ({why})"


def choose_units_register(units_toml: str | Path | None = None, scenario_dir: str | Path | None = None,
                          out_dir: str | Path | None = None) -> UnitsRegister:
    """The register to dispatch over: ``units_toml`` when given; else the first ``units.toml`` found in
    ``scenario_dir`` or in the scenario that ``analyze`` recorded for ``out_dir`` (``run.json``): the simulator
    writes there the register its leaks were drawn over; else the packaged one.

    >>> choose_units_register().source, choose_units_register("my.toml").source
    ('packaged', 'given')
    """
    from centinela.io.outputs import recorded_scenario

    if units_toml is not None:
        return UnitsRegister(Path(units_toml), "given", None if scenario_dir is None else Path(scenario_dir))
    looked = [Path(scenario_dir)] if scenario_dir is not None else []
    recorded = recorded_scenario(out_dir) if out_dir is not None else None
    if recorded is not None and recorded not in looked:
        looked.append(recorded)
    for folder in looked:
        if (folder / UNITS_FILE).is_file():
            return UnitsRegister(folder / UNITS_FILE, "scenario", folder)
    return UnitsRegister(default_units_path(), "packaged", looked[-1] if looked else None)


def check_widening(current_units: Collection[str], alert_id: str, unit_id: str, *, requested_by: str,
                   approved_by: str, reason: str, authorised: Collection[str], units: pd.DataFrame | None = None,
                   min_clearance: int = MIN_CLEARANCE) -> None:
    """The rules of widening, wherever the distribution is kept (``dispatch.csv`` or the store):
    ``current_units`` are the alert's recipients so far. Raises as :func:`widen` says."""
    requested_by, approved_by, reason = requested_by.strip(), approved_by.strip(), reason.strip()
    if not reason:
        raise InputError("widen", "widening an alert's distribution needs a reason", field="reason")
    if not requested_by:
        raise InputError("widen", "widening needs the name of the person who requests it", field="requested_by")
    if approved_by == requested_by:
        raise PermissionError(f"widening needs a second person: the approver {approved_by!r} is the requester")
    if approved_by not in set(authorised):
        raise PermissionError(f"{approved_by!r} is not authorised to approve widening a distribution")
    if units is not None:
        known = units[units["unit_id"].astype(str) == unit_id]
        if known.empty:
            raise InputError("units.toml", f"no unit {unit_id!r} in the register", field="unit_id")
        if int(known["clearance"].iloc[0]) < min_clearance:
            raise PermissionError(f"unit {unit_id!r} has clearance {int(known['clearance'].iloc[0])}, "
                                  f"below the {min_clearance} an alert needs")
    if unit_id in set(current_units):
        raise InputError("dispatch.csv", f"unit {unit_id!r} already receives alert {alert_id!r}", field="unit_id")


def widen(dispatch: pd.DataFrame, alert_id: str, unit_id: str, *, requested_by: str, approved_by: str,
          reason: str, authorised: Collection[str], units: pd.DataFrame | None = None,
          min_clearance: int = MIN_CLEARANCE, t_dispatched: float | None = None) -> pd.DataFrame:
    """``dispatch`` plus one row giving ``alert_id`` to ``unit_id``, approved by a second authorised person.

    Raises PermissionError when the approver is the requester or is not in ``authorised``, or (when ``units``
    is given) when the unit's clearance is below ``min_clearance``; InputError on an empty reason, an unknown
    alert or unit, or a unit that already receives the alert.

    >>> d = pd.DataFrame([{"alert_id": "A1", "unit_id": "U1", "reason": "acts", "t_dispatched": 0.0,
    ...                    "widened_by": None, "approved_by": None}])
    >>> widen(d, "A1", "U2", requested_by="ana", approved_by="ana", reason="backup", authorised={"ana"})
    Traceback (most recent call last):
    PermissionError: widening needs a second person: the approver 'ana' is the requester
    >>> widen(d, "A1", "U2", requested_by="ana", approved_by="luis", reason="backup", authorised={"luis"},
    ...       t_dispatched=60.0)[["unit_id", "widened_by", "approved_by"]].values.tolist()[-1]
    ['U2', 'ana', 'luis']
    """
    if alert_id not in set(dispatch["alert_id"].astype(str)):
        raise InputError("dispatch.csv", f"no alert {alert_id!r} in the dispatch", field="alert_id")
    current = dispatch.loc[dispatch["alert_id"].astype(str) == alert_id, "unit_id"].astype(str)
    check_widening(set(current), alert_id, unit_id, requested_by=requested_by, approved_by=approved_by,
                   reason=reason, authorised=authorised, units=units, min_clearance=min_clearance)
    requested_by, approved_by, reason = requested_by.strip(), approved_by.strip(), reason.strip()
    row = pd.DataFrame([{"alert_id": alert_id, "unit_id": unit_id, "reason": f"widened: {reason}",
                         "t_dispatched": time.time() if t_dispatched is None else float(t_dispatched),
                         "widened_by": requested_by, "approved_by": approved_by}], columns=DISPATCH_COLUMNS)
    return pd.concat([dispatch.astype(_DTYPES), row.astype(_DTYPES)], ignore_index=True)
