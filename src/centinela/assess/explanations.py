"""Legitimate explanations a score cannot rule out.

Army helicopters, mission planes, bush pilots and airliners share many indicators with the air bridge: the army
flies dark between bases, missionaries land on dirt strips at dawn. Whatever the score, an analyst must see which
innocent story still fits the facts. Each explanation below is a rule over the indicators that says when the
facts are *consistent* with that story; a flight gets every story its indicators do not contradict.

>>> import pandas as pd
>>> heli = pd.DataFrame([{"slow_flight": 0.3, "starts_at_base": 1.0, "lands_at_base": 0.0, "from_bolivia": 0.0,
...                       "to_bolivia": 0.0, "fast_flight": 0.0, "no_flight_plan": 1.0, "no_transponder": 1.0,
...                       "light_plane_speed": 0.4, "unregistered_landing": 1.0, "starts_at_airfield": 0.0,
...                       "ends_at_airfield": 0.0, "short_track": 0.01}])
>>> explain(heli)[0]
['consistent with an army helicopter resupply hop']
"""
from __future__ import annotations

import numpy as np
import pandas as pd

HELICOPTER_HOP = "consistent with an army helicopter resupply hop"
MILITARY_BASE = "starts or ends at a military base: consistent with a military flight"
MISSION_FLIGHT = "consistent with a mission or bush flight to a remote strip"
AIRLINE = "consistent with scheduled airline or turboprop traffic"
GENERAL_AVIATION = "consistent with a general-aviation flight between registered airfields"
FRAGMENT = "too few updates to judge: may be radar clutter or a fragment of another track"

# A flight that spends a tenth of its airborne time slower than a light plane can fly is a rotorcraft (or the
# tracker lost speed in a turn; a tenth is several minutes on an hour's flight, more than turns explain).
HELICOPTER_SLOW_SHARE = 0.1
# Fewer than 12 updates (two minutes at a 10 s scan) is too little to tell a flight from clutter.
FRAGMENT_MAX_UPDATES = 12


def explain(table: pd.DataFrame) -> list[list[str]]:
    """For each row of an indicator table, the legitimate explanations its indicators do not rule out."""
    def col(name: str) -> np.ndarray:
        return table[name].to_numpy(float) if name in table else np.zeros(len(table))

    crossed = (col("from_bolivia") > 0) | (col("to_bolivia") > 0)
    at_base = (col("starts_at_base") > 0) | (col("lands_at_base") > 0)
    slow = col("slow_flight") >= HELICOPTER_SLOW_SHARE
    identified = (col("no_transponder") < 0.5) | (col("no_flight_plan") < 0.5)
    registered_ends = (col("starts_at_airfield") > 0) & (col("ends_at_airfield") > 0)
    rules = [
        (HELICOPTER_HOP, ~crossed & (slow | at_base) & (col("fast_flight") < 0.5)),
        (MILITARY_BASE, ~crossed & at_base & ~slow),
        (MISSION_FLIGHT, ~crossed & identified & (col("light_plane_speed") > 0.3) & (col("fast_flight") < 0.5)
         & ~registered_ends),
        (AIRLINE, (col("fast_flight") >= 0.5) & identified),
        (GENERAL_AVIATION, registered_ends & ~crossed),
        (FRAGMENT, col("short_track") > 1.0 / FRAGMENT_MAX_UPDATES),
    ]
    out: list[list[str]] = [[] for _ in range(len(table))]
    for text, applies in rules:
        for i in np.flatnonzero(applies):
            out[i].append(text)
    # A military-base explanation adds nothing when the helicopter hop already says it.
    return [[e for e in row if not (e == MILITARY_BASE and HELICOPTER_HOP in row)] for row in out]
