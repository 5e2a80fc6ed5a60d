"""Alerts: the inbound warning for suspect flights still in the air (:mod:`.warning`).

:func:`warn` gives one alert per suspect flight, raised once at the operating threshold and refined at every
later scan until the flight lands, with the predicted strip and the ETA window (docs/assessment.md).
"""
from __future__ import annotations

from centinela.alerts.warning import warn

__all__ = ["warn"]
