"""Turning the clocks of sensor formats into UTC epoch seconds.

ASTERIX reports only a time of day (I140, seconds since UTC midnight) and Beast frames only a free-running
12 MHz counter; ``sensors.toml`` gives the missing date (``date = "YYYY-MM-DD"``) and, for relative clocks,
the UTC time of the first frame (``start = "HH:MM:SS"``).

>>> day = day_start_epoch_s("2026-06-01")
>>> day
1780272000.0
>>> start_epoch_s("2026-06-01", "10:45:00") - day
38700.0
>>> # a recording that runs over midnight: the time of day wraps, the epoch keeps going
>>> (time_of_day_to_epoch_s(np.array([86399.5, 0.25, 1.0]), day) - day).tolist()
[86399.5, 86400.25, 86401.0]
"""
from __future__ import annotations

from datetime import UTC, datetime
from datetime import date as _date
from datetime import time as _time

import numpy as np

SECONDS_PER_DAY = 86_400.0


def day_start_epoch_s(date: str) -> float:
    """UTC midnight of ``date`` ("YYYY-MM-DD") in epoch seconds. Raises ValueError on a bad date."""
    d = _date.fromisoformat(str(date))
    return datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()


def start_epoch_s(date: str, start: str | None) -> float:
    """Epoch seconds of ``date`` at ``start`` ("HH:MM:SS[.fff]", UTC; midnight when None)."""
    if start is None:
        return day_start_epoch_s(date)
    t = _time.fromisoformat(str(start))
    return day_start_epoch_s(date) + t.hour * 3600 + t.minute * 60 + t.second + t.microsecond * 1e-6


def time_of_day_to_epoch_s(tod_s: np.ndarray, day_start_s: float) -> np.ndarray:
    """Times of day (s since UTC midnight), in recording order, to epoch seconds.

    The first value is taken to fall on the day that starts at ``day_start_s``. A later value that is more
    than half a day below its predecessor has crossed midnight (and one more than half a day above has
    crossed back, as a late record just after midnight does), so the times are unwrapped with a period of
    one day before the day start is added.
    """
    tod = np.asarray(tod_s, dtype=np.float64)
    if tod.size == 0:
        return tod.copy()
    return day_start_s + np.unwrap(tod, period=SECONDS_PER_DAY)


def time_of_day_near_epoch_s(tod_s: np.ndarray, reference_s: float | np.ndarray) -> np.ndarray:
    """Times of day to the epoch seconds nearest ``reference_s`` (e.g. the arrival time of a live packet),
    which is right as long as the sensor's clock and ours differ by less than half a day."""
    tod = np.asarray(tod_s, dtype=np.float64)
    ref = np.asarray(reference_s, dtype=np.float64)
    day0 = np.floor(ref / SECONDS_PER_DAY) * SECONDS_PER_DAY
    t = day0 + tod
    return t + SECONDS_PER_DAY * np.round((ref - t) / SECONDS_PER_DAY)
