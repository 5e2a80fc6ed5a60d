"""Fuzzing the audit trail: tamper with real logs one entry at a time and see whether ``verify_chain`` notices.

Each trial writes a real JSON-lines log (:class:`centinela.alerts.audit.AuditLog`) of an operations-centre
shift — dispatches, reads, exports, widening requests and approvals — then applies one tampering to the file's
lines and verifies the result twice: with the log alone, and with one anchor (the head as a signed checkpoint
or export recorded it before the tampering). Kinds:

- ``edit``: one field of one entry changed in place (actor, action, time, a detail, the seq);
- ``edit_rehash``: the same, with that entry's own hash recomputed to match;
- ``delete``: one entry removed (first, last or anywhere);
- ``reorder``: two entries swapped (neighbours half of the time);
- ``insert``: a forged entry, linked to the entry before it with a valid hash, placed before the last entry
  (one placed after the last is an ordinary append: see the module doc of centinela.alerts.audit);
- ``truncate``: the last one to three entries cut off;
- ``rechain``: one entry changed and every later hash recomputed, a rewrite consistent with itself.

The last two are caught only with the anchor; that is what anchors are for. A file log keeps one itself: its
``<log>.head`` (:func:`centinela.alerts.audit.head_file`) holds the head as of the last append, so the anchored
column is also what ``centinela audit verify FILE`` finds when only the log was tampered with.

>>> df = audit_fuzz_trials(n_trials=14, seed=1)
>>> float(summarise_audit_fuzz(df).set_index("kind").loc["edit", "detected_anchored"])
1.0
"""
from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from centinela.alerts.audit import AuditLog, chain_entry, entry_hash, verify_chain

TAMPER_KINDS = ("edit", "edit_rehash", "delete", "reorder", "insert", "truncate", "rechain")
# Logs per run and their lengths: long enough that a tampering lands in the middle, the ends and the
# neighbourhood of each; trials take turns over the logs.
N_LOGS = 10
MIN_ENTRIES, MAX_ENTRIES = 12, 80
UNITS = ("POL-PICHARI", "POL-MAZAMARI", "FISCALIA-AYACUCHO", "EP-VRAEM", "DIRANDRO-LIMA")
ACTORS = ("system", "ana", "bob", "carla", "dario", "root")
EDITABLE = ("actor", "action", "t", "details", "seq")


def _write_shift_log(path: Path, rng: np.random.Generator) -> list[dict[str, Any]]:
    """A plausible shift's log written through AuditLog; returns its entries as read back from the file."""
    log = AuditLog(path, durable=False)
    t = 1_780_300_000.0
    for k in range(int(rng.integers(MIN_ENTRIES, MAX_ENTRIES + 1))):
        t += float(rng.exponential(90.0))
        alert = f"AL-{int(rng.integers(1, 9)):04d}"
        unit = str(rng.choice(UNITS))
        action = str(rng.choice(["dispatch", "read", "read", "read", "export", "widen_request", "widen_approve"]))
        details: dict[str, Any] = {"run_id": "day1", "alert_id": alert, "unit": unit}
        if action == "read":
            details["endpoint"] = str(rng.choice(["GET /api/alerts", "WS /api/live"]))
        if action.startswith("widen"):
            details["reason"] = "the helicopter unit must cover the second strip"
        if action == "export":
            details["copy_ref"] = f"R{int(rng.integers(10**5, 10**6))}"
        log.append(action, "system" if action == "dispatch" else str(rng.choice(ACTORS)), t=t, **details)
    return log.entries()


def _edit(entry: dict[str, Any], rng: np.random.Generator, fields: tuple[str, ...] = EDITABLE) -> None:
    """Change one of ``fields`` of ``entry`` to another plausible value."""
    field = str(rng.choice(fields))
    if field == "actor":
        entry["actor"] = entry["actor"] + "x" if rng.random() < 0.5 else "someone-else"
    elif field == "action":
        entry["action"] = "read" if entry["action"] != "read" else "dispatch"
    elif field == "t":
        entry["t"] = entry["t"] + float(rng.choice([-3600.0, -1.0, 0.001, 60.0]))
    elif field == "seq":
        entry["seq"] = entry["seq"] + int(rng.choice([-1, 1, 7]))
    else:
        details = entry["details"]
        details["unit"] = "DIRANDRO-LIMA" if details.get("unit") != "DIRANDRO-LIMA" else "POL-PICHARI"


def _tamper(entries: list[dict[str, Any]], kind: str, rng: np.random.Generator) -> tuple[list[dict], set[int]]:
    """A tampered copy of ``entries`` and the seqs of the entries tampered with (both of a swap, the first one
    cut off by a truncation)."""
    out = copy.deepcopy(entries)
    n = len(out)
    if kind in ("edit", "edit_rehash"):
        i = int(rng.integers(n))
        _edit(out[i], rng)
        if kind == "edit_rehash":
            out[i]["hash"] = entry_hash(out[i])
        return out, {entries[i]["seq"]}
    if kind == "delete":
        i = int(rng.integers(n))
        del out[i]
        return out, {entries[i]["seq"]}
    if kind == "reorder":
        i = int(rng.integers(n - 1))
        j = i + 1 if rng.random() < 0.5 else int(rng.integers(i + 1, n))
        out[i], out[j] = out[j], out[i]
        return out, {entries[i]["seq"], entries[j]["seq"]}
    if kind == "insert":
        i = int(rng.integers(n))  # the forged entry goes before entries[i], linked to entries[i - 1]
        before = entries[i - 1] if i else None
        forged = chain_entry(before, "read", "ghost", {"alert_id": "AL-0001", "unit": "POL-PICHARI"},
                             t=entries[i]["t"] - 1.0)
        out.insert(i, forged)
        return out, {forged["seq"]}
    if kind == "truncate":
        cut = int(rng.integers(1, min(3, n - 1) + 1))
        return out[:-cut], {entries[n - cut]["seq"]}
    if kind == "rechain":
        i = int(rng.integers(n))
        _edit(out[i], rng, fields=tuple(f for f in EDITABLE if f != "seq"))  # a careful forger keeps the numbering
        for k in range(i, n):
            out[k]["prev_hash"] = out[k - 1]["hash"] if k else out[k]["prev_hash"]
            out[k]["hash"] = entry_hash(out[k])
        return out, {entries[i]["seq"]}
    raise ValueError(f"unknown tampering {kind!r}")


def _through_file(entries: list[Any]) -> list[Any]:
    """The entries as a verifier reads them back from a file (JSON lines)."""
    return [json.loads(json.dumps(e)) for e in entries]


def audit_fuzz_trials(n_trials: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per trial: trial, kind, n_entries, seq (the first entry tampered with), detected (log alone),
    detected_anchored (with the pre-tampering head as anchor), located (a reported problem names that seq,
    with the anchor), kinds_reported."""
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(prefix="centinela-audit-fuzz-") as folder:
        logs = [_write_shift_log(Path(folder) / f"log{k}.jsonl", rng) for k in range(N_LOGS)]
    rows = []
    for trial in range(n_trials):
        kind = TAMPER_KINDS[trial % len(TAMPER_KINDS)]
        entries = logs[int(rng.integers(len(logs)))]
        anchor = {"seq": entries[-1]["seq"], "hash": entries[-1]["hash"]}
        tampered, seqs_tampered = _tamper(entries, kind, rng)
        tampered = _through_file(tampered)
        alone = verify_chain(tampered)
        anchored = verify_chain(tampered, [anchor])
        reported = {p.seq for p in anchored.problems}
        # A re-chained rewrite can only be placed between two anchors; one anchor at the head places it "at or
        # before" the head, which is what verify_chain says.
        located = bool(reported & seqs_tampered) or (kind == "rechain" and not anchored.ok)
        rows.append({"trial": trial, "kind": kind, "n_entries": len(entries), "seq": min(seqs_tampered),
                     "detected": not alone.ok, "detected_anchored": not anchored.ok, "located": located,
                     "kinds_reported": ",".join(sorted({p.kind for p in anchored.problems}))})
    return pd.DataFrame(rows)


def summarise_audit_fuzz(df: pd.DataFrame) -> pd.DataFrame:
    """Per tampering kind: trials, share detected from the log alone, share detected with an anchor, share
    where the report names the entry tampered with."""
    grouped = df.groupby("kind", sort=False)
    out = pd.DataFrame({"trials": grouped.size(), "detected": grouped["detected"].mean(),
                        "detected_anchored": grouped["detected_anchored"].mean(),
                        "located": grouped["located"].mean()})
    return out.reindex([k for k in TAMPER_KINDS if k in out.index]).reset_index()
