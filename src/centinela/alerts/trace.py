"""Which copy leaked: the likelihood of a leaked text under each recipient's marked copy.

A leak is read line by line. Each line is matched to the bulletin line it came from (its wording, compared
with every template after numbers and codes are masked, so typos do not matter much) and its marks are read:
the wording variant, the numbers by position (coordinates, uncertainty, times), the reference code, the wording
and order of the reasons. Each mark ``m`` then has a likelihood under copy ``k``:

    P(m | k) = (1 - e) * P(m as transcribed | the value copy k shows) + e * g(m)

- the first term is a faithful transcription: the same variant; a number equal to the copy's value rounded *or*
  truncated to the precision the leak shows (so "-11.489" matches every copy whose -11.48xx rounds there, and
  "12:24" every copy whose time is in that minute); a reference code within a few typos (per character error
  ``REF_CHAR_ERROR``, edit distance);
- the second is a corrupted mark (typo, misread, paraphrase) with probability ``e``, whose value is then
  anything: ``g`` is the chance of that particular value (1/number of variants, precision/range of a number).

A copy's likelihood is the product over marks (marks are drawn independently per copy). The posterior over the
copies of the register is proportional to it (uniform prior: every copy is equally suspect beforehand), and a
copy's likelihood ratio compares "this copy" with "another recipient's copy of the same alert" (the mean
likelihood of the others) or, for an alert with a single recipient, with the register's copies of other alerts. The verdict is ``attributed`` when one copy holds ``ATTRIBUTE_POSTERIOR`` of the
posterior, ``ambiguous`` when two or three do together, and ``too small to tell`` otherwise — a leak whose
marks could have come from many copies names no one.

>>> import pandas as pd
>>> from centinela.alerts.marking import marked_copies
>>> alerts = pd.DataFrame([{"alert_id": "A1", "t_issued": 1_780_300_000.0, "eta": 1_780_301_800.0,
...     "eta_window_s": 1200.0, "score": 0.97, "indicators": ["no_transponder", "night", "no_flight_plan"],
...     "predicted_site": {"lat": -12.5, "lon": -73.9, "airstrip_id": "S7"}, "sigma_site_m": 2000.0}])
>>> copies = marked_copies(alerts, pd.DataFrame({"alert_id": "A1", "unit_id": ["U1", "U2", "U3"]}), rng_seed=2)
>>> result = trace_leak(copies["text"].iloc[1], copies)
>>> result.verdict, result.top
('attributed', 'U2')
>>> trace_leak("a plane lands tomorrow", copies).verdict
'too small to tell'
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rapidfuzz.distance import Indel, Levenshtein
from scipy.special import logsumexp

from centinela.alerts.marking import (
    LOCAL_OFFSET_S,
    NO_EXPLANATION,
    REASON_WORDINGS,
    REF_ALPHABET,
    REF_LENGTH,
    TEMPLATES,
    reason_wordings,
)

# Probability that retyping or transcription corrupts one mark: a wording variant (a paraphrase), a number
# (one wrong digit among ~8 at a 1-2 % typo rate), an order (two items swapped). Larger values trust a single
# mark less; the trials (evaluate.attribution) measure how these choices do on retyped and photographed copies.
VARIANT_ERROR = 0.05
NUMBER_ERROR = 0.1
ORDER_ERROR = 0.1
REF_ERROR = 0.1
# Per-character error of a transcribed reference code (typo or misread); beyond 3 edits it is not the code.
REF_CHAR_ERROR = 0.05
REF_MAX_EDITS = 3
# A line is taken for a bulletin line when its masked text is at least this similar to a template (difflib
# ratio), and its wording variant only when the best variant beats the second by this margin.
LINE_MIN_SIMILARITY = 0.6
VARIANT_MIN_MARGIN = 0.08
ITEM_MIN_SIMILARITY = 0.75
# Verdicts: one copy holds this much of the posterior, and is this many times (log10) likelier than another
# recipient's copy -> attributed (with two or three recipients the posterior alone would accept one wording mark);
# two or three copies together -> ambiguous.
ATTRIBUTE_POSTERIOR = 0.95
ATTRIBUTE_MIN_LOG10_LR = 2.0
AMBIGUOUS_MAX_CANDIDATES = 3

_ALPHABET_SIZE = len(REF_ALPHABET)
_SECONDS_PER_DAY = 86_400
# numeric fields of each line, in order: (name, kind) with kind "time" (HH:MM[:SS]) or "number"
_TIME_FIELDS = {"issued": ["issued"], "window": ["lo", "hi"], "eta": ["eta", "local"], "valid": ["valid"]}
# (the first numbers of the line; the issued line's score and the "1 sigma" after the uncertainty are not marks)
_NUMBER_FIELDS = {"site": ["lat", "lon"], "sigma": ["sigma_m"]}
# the range a corrupted number could take (for g): degrees of latitude/longitude, metres of uncertainty
_NUMBER_RANGE = {"lat": 180.0, "lon": 360.0, "sigma_m": 1_000_000.0}

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"(?<![\w:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\w:])")
_NUMBER = re.compile(r"(?<![\w.])[-+−]?\d+(?:\.\d+)?(?![\w.])")
_GLUED = re.compile(r"\b\w*(?:[a-z]\d|\d[a-z])[\w.\-]*", re.IGNORECASE)  # ids: digits glued to letters
_CODE = re.compile(r"(?<![0-9a-z.])([0-9a-z]{4})[-–—]?([0-9a-z]{4})(?![0-9a-z.])", re.IGNORECASE)
_OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"})
_CROCKFORD = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


@dataclass
class TraceResult:
    """``ranking``: unit_id, alert_id, log10_lr, posterior (best first); ``verdict``: attributed | ambiguous |
    too small to tell; ``top``: the attributed unit (None otherwise); ``candidates``: the units an ambiguous
    verdict names; ``n_marks``: how many marks the leak carried."""

    ranking: pd.DataFrame
    verdict: str
    top: str | None
    alert_id: str | None
    n_marks: int
    candidates: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.verdict == "attributed":
            row = self.ranking.iloc[0]
            sole = int((self.ranking["alert_id"] == self.alert_id).sum()) == 1
            against = "the copies of other alerts (the only recipient of this one)" if sole else \
                "another recipient's copy"
            return (f"attributed to {self.top} (copy of alert {self.alert_id}): posterior {row['posterior']:.3f}, "
                    f"likelihood ratio 10^{row['log10_lr']:.1f} against {against} ({self.n_marks} marks read)")
        if self.verdict == "ambiguous":
            return (f"ambiguous between {', '.join(self.candidates)} (alert {self.alert_id}; {self.n_marks} marks "
                    "read): the leak cannot separate them")
        return f"too small to tell: {self.n_marks} marks read, not enough to separate the recipients"


def trace_leak(text: str, copies: pd.DataFrame) -> TraceResult:
    """Rank the copies of the register ``copies`` (marking.COPY_COLUMNS) by how likely each is the source of
    the leaked ``text``."""
    if len(copies) == 0:
        return TraceResult(_empty_ranking(), "too small to tell", None, None, 0)
    marks = [json.loads(m) for m in copies["marks"]]
    observations = read_marks(text, copies, marks)
    loglik = np.array([sum(_log_likelihood(o, m) for o in observations) for m in marks])
    posterior = np.exp(loglik - loglik.max())
    posterior /= posterior.sum()
    alert_ids = copies["alert_id"].astype(str).to_numpy()
    log10_lr = np.zeros(len(copies))
    for alert_id in np.unique(alert_ids):
        idx = np.flatnonzero(alert_ids == alert_id)
        for i in idx:
            # another recipient's copy of the same alert; for an alert with a single recipient (one without a
            # site goes to the operations centre alone), the register's copies of other alerts
            others = loglik[idx[idx != i]] if len(idx) > 1 else loglik[alert_ids != alert_id]
            if len(others):
                log10_lr[i] = (loglik[i] - (logsumexp(others) - math.log(len(others)))) / math.log(10)
    ranking = pd.DataFrame({"unit_id": copies["unit_id"].astype(str).to_numpy(), "alert_id": alert_ids,
                            "log10_lr": log10_lr, "posterior": posterior})
    ranking = ranking.sort_values(["posterior", "log10_lr"], ascending=False, kind="stable").reset_index(drop=True)
    top = ranking.iloc[0]
    n_marks = len(observations)
    if n_marks and top["posterior"] >= ATTRIBUTE_POSTERIOR and top["log10_lr"] >= ATTRIBUTE_MIN_LOG10_LR:
        return TraceResult(ranking, "attributed", str(top["unit_id"]), str(top["alert_id"]), n_marks)
    # ambiguous: a few copies of one alert hold the posterior together, and the others of that alert do not
    head = ranking.iloc[:AMBIGUOUS_MAX_CANDIDATES]
    head = head[head["alert_id"] == top["alert_id"]]
    held = np.cumsum(head["posterior"].to_numpy())
    n = int(np.argmax(held >= ATTRIBUTE_POSTERIOR)) + 1 if (held >= ATTRIBUTE_POSTERIOR).any() else 0
    if n_marks and 0 < n < int((alert_ids == top["alert_id"]).sum()):
        return TraceResult(ranking, "ambiguous", None, str(top["alert_id"]), n_marks, head["unit_id"].iloc[:n].tolist())
    return TraceResult(ranking, "too small to tell", None, None, n_marks)


def _empty_ranking() -> pd.DataFrame:
    return pd.DataFrame({"unit_id": pd.Series(dtype=str), "alert_id": pd.Series(dtype=str),
                         "log10_lr": pd.Series(dtype=float), "posterior": pd.Series(dtype=float)})


# --- reading the marks of a leak ----------------------------------------------------------------------------

def read_marks(text: str, copies: pd.DataFrame, marks: list[dict] | None = None) -> list[tuple]:
    """The marks a leaked text carries, as observations ``(what, key, value, ...)``: see :func:`_log_likelihood`.
    ``copies`` supplies the vocabulary of the alerts (their ids, reasons and explanations); ``marks``, their
    parsed marks when the caller has them already."""
    if marks is None:
        marks = [json.loads(m) for m in copies["marks"]]
    alert_ids = sorted(set(copies["alert_id"].astype(str)), key=len, reverse=True)
    items = _item_vocabulary(marks)
    observations: list[tuple] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        for alert_id in alert_ids:  # a known alert id is the same in every copy: it is not a mark
            line = re.sub(re.escape(alert_id), " ", line, flags=re.IGNORECASE)
        observations += [("ref", code) for code in _codes(line)]
        observations += _list_line(line, items) or _fixed_line(line) or _free_text(line)
    return observations


def _fixed_line(line: str) -> list[tuple]:
    skeleton = _skeleton(line)
    scores = {(kind, v): _similarity(skeleton, s) for (kind, v), s in _template_skeletons().items()}
    (kind, v), best = max(scores.items(), key=lambda kv: kv[1])
    if best < LINE_MIN_SIMILARITY:
        return []
    out: list[tuple] = []
    second = max((s for (k, w), s in scores.items() if k == kind and w != v), default=0.0)
    if best - second >= VARIANT_MIN_MARGIN:
        out.append(("variant", kind, v))
    clean = _ocr(line)
    no_codes = _CODE.sub(lambda m: " " if _is_code(m.group(1) + m.group(2)) else m.group(0), clean)
    no_ids = _GLUED.sub(" ", _DATE.sub(" ", no_codes))
    names = _TIME_FIELDS.get(kind, [])
    times = _TIME.findall(no_ids)
    if names and len(times) == len(names):
        out += [("time", name, int(h) * 3600 + int(m) * 60 + int(sec or 0), 1 if sec else 60)
                for name, (h, m, sec) in zip(names, times, strict=True)]
    names = _NUMBER_FIELDS.get(kind, [])
    numbers = _NUMBER.findall(_TIME.sub(" ", no_ids))
    if names and len(numbers) >= len(names):
        for name, token in zip(names, numbers, strict=False):
            token = token.replace("−", "-")
            decimals = len(token.split(".")[1]) if "." in token else 0
            out.append(("number", name, abs(float(token)), decimals))
    return out


def _free_text(line: str) -> list[tuple]:
    """A line in the leaker's own words: a coordinate pair (two numbers with decimals, the first a latitude) and
    a pair of times ("between A and B": the window) are still marks."""
    clean = _GLUED.sub(" ", _DATE.sub(" ", _ocr(line)))
    out: list[tuple] = []
    times = _TIME.findall(clean)
    if len(times) == 2:
        out += [("time", name, int(h) * 3600 + int(m) * 60 + int(sec or 0), 1 if sec else 60)
                for name, (h, m, sec) in zip(("lo", "hi"), times, strict=True)]
    decimals = [t.replace("−", "-") for t in _NUMBER.findall(_TIME.sub(" ", clean)) if "." in t]
    for lat, lon in zip(decimals[::2], decimals[1::2], strict=False):
        if abs(float(lat)) <= 90 and abs(float(lon)) <= 180:
            out += [("number", name, abs(float(token)), len(token.split(".")[1]))
                    for name, token in (("lat", lat), ("lon", lon))]
            break
    return out


def _list_line(line: str, vocabulary: dict[str, list[tuple]]) -> list[tuple]:
    """The marks of a reasons or explanations line ("Lead-in: item; item; ..."), or [] if it is neither."""
    head, sep, tail = line.partition(":")
    if not sep:
        return []
    parts = [p.strip(" .") for p in tail.split(";") if p.strip(" .")]
    for kind in ("reasons", "explain"):
        found = []
        for part in parts:
            scored = [(_similarity(part.lower(), phrase), entry) for phrase, entry in vocabulary[kind]]
            score, entry = max(scored, key=lambda se: se[0], default=(0.0, None))
            if score >= ITEM_MIN_SIMILARITY:
                found.append(entry)
        if not found:
            continue
        out: list[tuple] = []
        leads = [_similarity(head.lower(), t.split("{items}")[0].rstrip(": ").lower()) for t in TEMPLATES[kind]]
        order = np.argsort(leads)[::-1]
        if leads[order[0]] >= LINE_MIN_SIMILARITY and leads[order[0]] - leads[order[1]] >= VARIANT_MIN_MARGIN:
            out.append(("variant", kind, int(order[0])))
        keys = [key for key, _ in found if key is not None]
        if kind == "reasons":
            out += [("reason_wording", key, w) for key, w in found]
        else:
            out += [("no_explanation", w) for key, w in found if key is None]
        if len(set(keys)) >= 2:
            out.append(("order", kind, list(dict.fromkeys(keys))))
        return out
    return []


def _item_vocabulary(marks: list[dict]) -> dict[str, list[tuple]]:
    """Every phrase a reasons or explanations line may hold, with what it says: (key, wording index)."""
    reasons = set(REASON_WORDINGS) | {k for m in marks for k in m["reason_order"]}
    explanations = {e for m in marks for e in m["explain_order"]}
    return {
        "reasons": [(w.lower(), (key, i)) for key in sorted(reasons) for i, w in enumerate(reason_wordings(key))],
        "explain": ([(e.lower(), (e, 0)) for e in sorted(explanations)]
                    + [(w.lower(), (None, i)) for i, w in enumerate(NO_EXPLANATION)]),
    }


def _codes(line: str) -> list[str]:
    return [_norm_code(m.group(1) + m.group(2)) for m in _CODE.finditer(line) if _is_code(m.group(1) + m.group(2))]


def _is_code(code: str) -> bool:
    """A reference code as printed has a letter and a digit in each group (marking._new_ref); words do not."""
    return all(any(c.isdigit() for c in g) and any(c.isalpha() for c in g) for g in (code[:4], code[4:]))


def _norm_code(code: str) -> str:
    return code.upper().translate(_CROCKFORD)


def _ocr(text: str) -> str:
    """Letters that photo transcription reads for digits (O for 0, l for 1), inside number-like tokens."""
    return re.sub(r"[\dOoIl|][\dOoIl|.:]*", lambda m: m.group(0).translate(_OCR_DIGITS)
                  if sum(c.isdigit() for c in m.group(0)) >= 2 else m.group(0), text)


def _skeleton(line: str) -> str:
    s = _CODE.sub(lambda m: " #r " if _is_code(m.group(1) + m.group(2)) else m.group(0), _ocr(line))
    s = _DATE.sub(" #d ", s)
    s = _TIME.sub(" #t ", s)
    s = _GLUED.sub(" #i ", s)
    s = _NUMBER.sub(" #n ", s)
    return " ".join(s.lower().split())


_SKELETONS: dict[tuple[str, int], str] = {}


def _template_skeletons() -> dict[tuple[str, int], str]:
    if not _SKELETONS:
        fill = {"ref": "#r", "alert_id": "#i", "date": "#d", "issued": "#t", "score": "#n", "lat": "#n",
                "lon": "#n", "strip": ", strip #i", "sigma": "#n", "prob": "", "lo": "#t", "hi": "#t", "eta": "#t",
                "local": "#t", "valid": "#t", "strip_note": ""}
        for kind in TEMPLATES:  # the ten lines and the "not known" lines of an alert that lacks a part
            if kind in ("reasons", "explain"):
                continue
            for v, template in enumerate(TEMPLATES[kind]):
                _SKELETONS[(kind, v)] = " ".join(template.format(**fill).lower().replace("#", " #").split())
    return _SKELETONS


def _similarity(a: str, b: str) -> float:
    """1 for equal strings, 0 for nothing in common (normalised insert/delete distance, like difflib's ratio)."""
    return Indel.normalized_similarity(a, b)


# --- the likelihood of one mark under one copy ---------------------------------------------------------------

def _log_likelihood(observation: tuple, marks: dict) -> float:
    what = observation[0]
    if what == "variant":
        _, kind, v = observation
        # a copy without this line (its alert gave that part, or lacked it) shows none of its variants
        return _categorical(v == marks["variant"].get(kind), len(TEMPLATES[kind]), VARIANT_ERROR)
    if what == "reason_wording":
        _, key, w = observation
        if key not in marks["reason_wording"]:  # this copy names no such reason
            return math.log(VARIANT_ERROR / len(reason_wordings(key)))
        return _categorical(w == marks["reason_wording"][key], len(reason_wordings(key)), VARIANT_ERROR)
    if what == "no_explanation":
        if marks["explain_order"]:
            return math.log(VARIANT_ERROR / len(NO_EXPLANATION))
        return _categorical(observation[1] == marks["no_explanation"], len(NO_EXPLANATION), VARIANT_ERROR)
    if what == "order":
        _, kind, keys = observation
        mine = marks["reason_order" if kind == "reasons" else "explain_order"]
        chance = 1.0 / math.factorial(len(keys))
        if not set(keys) <= set(mine):
            return math.log(ORDER_ERROR * chance)
        consistent = [k for k in mine if k in keys] == keys
        return math.log((1 - ORDER_ERROR) * consistent + ORDER_ERROR * chance)
    if what == "ref":
        return _ref_log_likelihood(observation[1], marks["ref"])
    if what == "time":
        _, name, sod, precision = observation
        shown = marks.get("eta" if name == "local" else name)
        if shown is None:  # a time this copy does not show (its alert gave none): only a corrupted mark fits
            return math.log(NUMBER_ERROR * precision / _SECONDS_PER_DAY)
        if name == "local":
            shown = (shown + LOCAL_OFFSET_S) // 60 * 60
        shown %= _SECONDS_PER_DAY
        match = 0.5 * ((shown // precision * precision == sod) + (_round(shown, precision) % _SECONDS_PER_DAY == sod))
        return math.log((1 - NUMBER_ERROR) * match + NUMBER_ERROR * precision / _SECONDS_PER_DAY)
    if what == "number":
        _, name, value, decimals = observation
        scale = 10.0 ** decimals
        if marks.get(name) is None:  # a number this copy does not show (its alert gave no site)
            return math.log(NUMBER_ERROR / (scale * _NUMBER_RANGE[name]))
        shown = abs(float(marks[name]))
        match = 0.5 * ((abs(math.floor(shown * scale + 1e-9) / scale - value) < 0.5 / scale)
                       + (abs(round(shown * scale) / scale - value) < 0.5 / scale))
        return math.log((1 - NUMBER_ERROR) * match + NUMBER_ERROR / (scale * _NUMBER_RANGE[name]))
    raise ValueError(f"unknown observation {observation!r}")


def _categorical(same: bool, n_variants: int, error: float) -> float:
    return math.log(1 - error if same else error / max(n_variants - 1, 1))


def _round(value: int, step: int) -> int:
    return math.floor(value / step + 0.5) * step


def _ref_log_likelihood(observed: str, ref: str) -> float:
    edits = Levenshtein.distance(observed, ref)
    garbled = REF_ERROR * _ALPHABET_SIZE ** -REF_LENGTH
    if edits > REF_MAX_EDITS:
        return math.log(garbled)
    channel = (1 - REF_CHAR_ERROR) ** (REF_LENGTH - edits) * (REF_CHAR_ERROR / (_ALPHABET_SIZE - 1)) ** edits
    return math.log((1 - REF_ERROR) * channel + garbled)
