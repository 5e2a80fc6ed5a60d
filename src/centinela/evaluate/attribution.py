"""Attribution trials: how often a leaked copy is traced to the recipient who leaked it, per form of leak.

Each seed makes one alert (a random site in the VRAEM, an uncertainty between 300 m and 40 km, an ETA 10-50 min
ahead with a 10-50 min window, 3-7 named reasons, 0-2 legitimate explanations — the ranges `centinela analyze`
produces) and sends it to ``n_recipients`` units, each with its own marked copy. A few recipients per seed
then leak, in each of these forms:

==================  ========================================================================================
full                the copy as received
fragment3           three consecutive lines of it
retyped             the copy retyped by hand: ~2 % typos (wrong key, missed or doubled letter, swapped
                    letters), coordinates often cut to 4 decimals, times sometimes to the minute, case lost
retyped_fragment3   three consecutive lines, retyped
photo               the copy photographed and transcribed (OCR): look-alike characters confused (0/O, 1/l,
                    5/S, 8/B, rn/m), ~1.5 % other character errors, punctuation lost
photo_fragment3     three consecutive lines of a photographed copy
fragment1           a single line (retyped_fragment1: retyped): often too little, and then it must say so
summary             a message that repeats only the facts: site to 3 decimals, window to the minute (no
                    wording): the honest answer is usually "too small to tell"
==================  ========================================================================================

The trace never sees who leaked. A trial is **correct** when the verdict is ``attributed`` to the leaker,
**wrong** when it is attributed to someone else (the error that matters: it accuses an honest unit),
and otherwise ``ambiguous`` or ``too small to tell``.

>>> df = attribution_trials(n_seeds=2, n_recipients=5, leakers_per_seed=1, forms=("full", "fragment3"))
>>> sorted(df["leak_form"].unique()), bool(df.loc[df["leak_form"] == "full", "correct"].all())
(['fragment3', 'full'], True)
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from centinela.alerts.marking import REASON_WORDINGS, marked_copies
from centinela.alerts.trace import trace_leak

LEAK_FORMS = ("full", "fragment3", "retyped", "retyped_fragment3", "photo", "photo_fragment3", "fragment1",
              "retyped_fragment1", "summary")
# Retyping: 1-2 typos per hundred keystrokes is the usual rate of careful typists; we take the worse end.
TYPO_RATE = 0.02
ROUND_COORDS_P = 0.5  # a retyper often keeps 4 decimals of a coordinate (~10 m)
ROUND_TIME_P = 0.3  # ... and sometimes only the minute of a time
LOWERCASE_P = 0.3
# Photo transcription: look-alike confusions at this rate per eligible character, other errors at OCR_RATE.
OCR_CONFUSION_RATE = 0.1
OCR_RATE = 0.015
_OCR_CONFUSIONS = {"0": "O", "O": "0", "1": "l", "l": "1", "5": "S", "S": "5", "8": "B", "B": "8", "m": "rn"}
# The VRAEM box (DESIGN.md) where the trial alerts' sites fall.
VRAEM_LAT = (-13.3, -11.3)
VRAEM_LON = (-74.6, -73.4)
EXPLANATIONS = ("consistent with a mission or bush flight to a remote strip",
                "consistent with an army helicopter resupply hop",
                "too few updates to judge: may be radar clutter or a fragment of another track")


def trial_alert(rng: np.random.Generator, alert_id: str = "A0001-F1") -> dict:
    """A random alert with the fields and ranges `centinela analyze` gives."""
    t_issued = 1_780_300_000.0 + rng.uniform(0, 86_400)
    reasons = list(rng.choice(sorted(REASON_WORDINGS), size=int(rng.integers(3, 8)), replace=False))
    has_strip = rng.random() < 0.6
    return {"alert_id": alert_id, "t_issued": t_issued, "eta": t_issued + rng.uniform(600, 3_000),
            "eta_window_s": rng.uniform(600, 3_000), "score": rng.uniform(0.8, 1.0), "indicators": reasons,
            "predicted_site": {"lat": rng.uniform(*VRAEM_LAT), "lon": rng.uniform(*VRAEM_LON),
                               "airstrip_id": f"S{int(rng.integers(1, 999))}" if has_strip else None},
            "sigma_site_m": float(np.exp(rng.uniform(np.log(300.0), np.log(40_000.0)))),
            "site_probability": rng.uniform(0.3, 1.0) if has_strip else None,
            "explanations": list(rng.choice(EXPLANATIONS, size=int(rng.integers(0, 3)), replace=False))}


def leak(text: str, form: str, rng: np.random.Generator) -> str:
    """The leaked text of one copy in the given form (see the module doc)."""
    lines = text.splitlines()
    if form == "summary":
        return _summary(text)
    if "fragment" in form:  # fragmentN: N consecutive lines
        n_lines = int(form.rsplit("fragment", 1)[1])
        start = int(rng.integers(0, len(lines) - n_lines + 1))
        lines = lines[start:start + n_lines]
    if form.startswith("retyped"):
        lines = [retype(line, rng) for line in lines]
    elif form.startswith("photo"):
        lines = [ocr(line, rng) for line in lines]
    return "\n".join(lines) + "\n"


def retype(line: str, rng: np.random.Generator) -> str:
    """A line retyped by hand: rounded numbers, lost case, typos."""
    import re

    if rng.random() < ROUND_COORDS_P:
        line = re.sub(r"(-?\d+\.\d{4})\d+", r"\1", line)
    if rng.random() < ROUND_TIME_P:
        line = re.sub(r"(\d{2}:\d{2}):\d{2}", r"\1", line)
    if rng.random() < LOWERCASE_P:
        line = line.lower()
    return _typos(" ".join(line.split()), TYPO_RATE, rng)


def ocr(line: str, rng: np.random.Generator) -> str:
    """A line photographed and transcribed: look-alike confusions, character errors, punctuation lost."""
    chars = [(_OCR_CONFUSIONS[c] if c in _OCR_CONFUSIONS and rng.random() < OCR_CONFUSION_RATE else c)
             for c in line]
    chars = [c for c in chars if not (c in ".,;·" and rng.random() < 0.3)]
    return _typos("".join(chars), OCR_RATE, rng)


def _typos(line: str, rate: float, rng: np.random.Generator) -> str:
    out: list[str] = []
    keys = "abcdefghijklmnopqrstuvwxyz0123456789"
    i = 0
    while i < len(line):
        c = line[i]
        if rng.random() >= rate:
            out.append(c)
        else:
            op = rng.integers(4)
            if op == 0:  # wrong key
                out.append(keys[int(rng.integers(len(keys)))])
            elif op == 1:  # missed
                pass
            elif op == 2:  # doubled
                out += [c, c]
            elif i + 1 < len(line):  # swapped with the next
                out += [line[i + 1], c]
                i += 1
            else:
                out.append(c)
        i += 1
    return "".join(out)


def _summary(text: str) -> str:
    import re

    lat, lon = re.findall(r"(-?\d+\.\d+), (-?\d+\.\d+)", text)[0]
    times = re.findall(r"\b(\d{2}:\d{2}):\d{2}\b", text)
    window = f" between {times[1]} and {times[2]}" if len(times) >= 3 else ""
    return f"plane coming down near {float(lat):.3f} {float(lon):.3f}{window}, be careful\n"


def attribution_trials(n_seeds: int = 50, n_recipients: int = 20, leakers_per_seed: int = 2,
                       forms: tuple[str, ...] = LEAK_FORMS) -> pd.DataFrame:
    """One row per (seed, leaker, form): seed, leak_form, true_unit, top_unit, correct, wrong, verdict,
    posterior_true, n_marks."""
    rows = []
    units = [f"U{k:02d}" for k in range(1, n_recipients + 1)]
    for seed in range(n_seeds):
        rng = np.random.default_rng(seed)
        alert = trial_alert(rng)
        dispatch = pd.DataFrame({"alert_id": alert["alert_id"], "unit_id": units})
        copies = marked_copies(pd.DataFrame([alert]), dispatch, rng_seed=seed)
        for leaker in rng.choice(n_recipients, size=min(leakers_per_seed, n_recipients), replace=False):
            true_unit = units[int(leaker)]
            for form in forms:
                result = trace_leak(leak(copies["text"].iloc[int(leaker)], form, rng), copies)
                ranking = result.ranking
                rows.append({
                    "seed": seed, "leak_form": form, "true_unit": true_unit,
                    "top_unit": str(ranking["unit_id"].iloc[0]), "verdict": result.verdict,
                    "correct": result.verdict == "attributed" and result.top == true_unit,
                    "wrong": result.verdict == "attributed" and result.top != true_unit,
                    "posterior_true": float(ranking.loc[ranking["unit_id"] == true_unit, "posterior"].iloc[0]),
                    "n_marks": result.n_marks,
                })
    return pd.DataFrame(rows)


def summarise_attribution(df: pd.DataFrame) -> pd.DataFrame:
    """Per leak form: trials, share attributed correctly, share whose best-ranked copy is the leaker's,
    share wrongly attributed, ambiguous, too small to tell, median marks read."""
    g = df.groupby("leak_form", sort=False)
    return pd.DataFrame({
        "trials": g.size(),
        "correct": g["correct"].mean(),
        "top_ranked": g.apply(lambda x: (x["top_unit"] == x["true_unit"]).mean(), include_groups=False),
        "wrong": g["wrong"].mean(),
        "ambiguous": g["verdict"].apply(lambda v: (v == "ambiguous").mean()),
        "too_small": g["verdict"].apply(lambda v: (v == "too small to tell").mean()),
        "median_marks": g["n_marks"].median(),
    }).reset_index()
