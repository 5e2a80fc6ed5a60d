"""Who receives the alerts the operations centre loads or is fed: the same rules as ``centinela dispatch``.

- An outputs folder that ``centinela dispatch OUT`` has dispatched (``dispatch.csv`` and ``copies.jsonl``) is
  loaded with exactly those recipients and those marked copies (:func:`read_register`): the copy a unit reads
  on the map is the one in the register, so ``centinela trace-leak`` and ``/api/trace-leak`` attribute a leak
  of either.
- Otherwise each alert goes where the dispatch policy sends it (:func:`plan_distribution`: the smallest set
  of units that can act in time plus the named roles, centinela.alerts.dispatch), each recipient with a copy
  marked at dispatch (centinela.alerts.marking).

``centinela serve --dispatch-to UNIT`` overrides both (every alert to the units named; copies marked at their
first read): for a unit the register does not know, or a test.

The units register the policy dispatches over is chosen as ``centinela dispatch`` chooses it
(:func:`units_register`: ``--units``, else the replayed folder's own ``units.toml`` or its recorded scenario's, else the packaged
one).

The store records the recipients and copies and writes one audit entry per dispatch
(``Store.load_outputs``/``Store.append`` with ``**distribution.store_args()``).

>>> from centinela.alerts.units import default_units
>>> from centinela.server.sample import sample_outputs
>>> plan = plan_distribution(sample_outputs().alerts, default_units(), rng_seed=1)
>>> plan.dispatch["unit_id"].tolist() == plan.copies["unit_id"].tolist(), "VRAEM-OPS" in set(plan.dispatch["unit_id"])
(True, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from centinela.alerts.dispatch import (
    DISPATCH_CSV,
    DispatchPolicy,
    UnitsRegister,
    choose_units_register,
    plan_dispatch,
    read_dispatch_csv,
)
from centinela.alerts.marking import COPIES_JSONL, marked_copies, read_copies
from centinela.alerts.units import read_register as read_units_register

# Who the audit says dispatched: the register's author, or the policy applied by the server.
REGISTER_ACTOR = "centinela dispatch"
POLICY_ACTOR = "dispatch policy"
# The policy `centinela dispatch` applies without options (frozen: safe to share).
DEFAULT_POLICY = DispatchPolicy()


@dataclass(frozen=True)
class Distribution:
    """Recipients (centinela.alerts.dispatch.DISPATCH_COLUMNS), their marked copies
    (centinela.alerts.marking.COPY_COLUMNS) and who dispatched them (the audit's actor)."""

    dispatch: pd.DataFrame
    copies: pd.DataFrame
    by: str

    def store_args(self) -> dict[str, Any]:
        """Keyword arguments of Store.load_outputs / Store.append that record this distribution."""
        return {"dispatch": self.dispatch, "copies": self.copies, "dispatched_by": self.by}


def read_register(out_dir: str | Path) -> Distribution | None:
    """The distribution ``centinela dispatch`` wrote into ``out_dir``, or None when it has no
    ``dispatch.csv`` and ``copies.jsonl``. InputError (from the readers) for a malformed file."""
    out = Path(out_dir)
    if not ((out / DISPATCH_CSV).is_file() and (out / COPIES_JSONL).is_file()):
        return None
    return Distribution(read_dispatch_csv(out / DISPATCH_CSV), read_copies(out / COPIES_JSONL), REGISTER_ACTOR)


def plan_distribution(alerts: pd.DataFrame, units: pd.DataFrame, policy: DispatchPolicy = DEFAULT_POLICY,
                      rng_seed: int | None = None) -> Distribution:
    """Dispatch ``alerts`` (ALERT_COLUMNS) by ``policy`` over the ``units`` register and mark every recipient's
    copy. An alert that states no site uncertainty is marked as centinela.alerts.marking says.
    ``rng_seed`` is for tests only: real marks must be secret."""
    dispatch = plan_dispatch(alerts, units, policy)
    copies = marked_copies(alerts, dispatch, rng_seed=rng_seed)
    return Distribution(dispatch, copies, POLICY_ACTOR)


def units_register(units_path: str | Path | None = None, folder: str | Path | None = None
                   ) -> tuple[pd.DataFrame, list[str], UnitsRegister]:
    """The units, the approvers and the register the operations centre dispatches over, chosen by the rule of
    ``centinela dispatch`` (centinela.alerts.dispatch.choose_units_register): ``units_path`` when given, else
    the replayed ``folder``'s own ``units.toml`` (a scenario folder may carry one), else that of the scenario
    ``analyze`` recorded in it (``run.json``), else the packaged register.

    >>> units, approvers, register = units_register()
    >>> register.source, "VRAEM-OPS" in set(units["unit_id"]), len(approvers) > 0
    ('packaged', True, True)
    """
    register = choose_units_register(units_path, folder, folder)
    units, approvers = read_units_register(register.path)
    return units, approvers, register
