"""The audit trail: an append-only, hash-chained log of every dispatch, read, export and change of distribution.

Each entry is ``{seq, t, actor, action, details, prev_hash, hash}``: ``seq`` counts from 0, ``prev_hash`` is the
previous entry's ``hash`` (:data:`GENESIS_HASH` for the first) and ``hash`` is the SHA-256 of the canonical JSON
(:func:`centinela.alerts.signing.canonical_json`) of the other six fields. Every entry thus commits to all the
entries before it. The same entries live in a JSON-lines file (:class:`AuditLog`) or in the store's ``audit``
table (:meth:`centinela.store.Store.audit_entries`); :func:`verify_chain` checks either.

What the chain proves, and what it cannot (docs/need_to_know.md, "Audit and signatures"):

- an entry edited in place, removed from the middle, moved, or forged into the middle is found, and named;
- cutting off the tail, or rewriting an entry and re-computing every later hash ("re-chaining"), leaves a
  log that is consistent with itself. Only an *anchor* made earlier catches these: the ``(seq, hash)`` of the
  head as it was, kept where the log's keeper cannot change it — a signed checkpoint held off the server, or
  the ``audit_head`` that every signed export carries (the court holds those). Whatever was appended after the
  newest anchor can still be cut or rewritten unseen;
- a forged entry appended at the end looks like any new entry: the chain protects the past, not who writes.

A file log keeps its own unsigned anchor: every append rewrites ``<log>.head`` with the new head, and
:meth:`AuditLog.verify` (hence ``centinela audit verify FILE``) checks the log against it. Whoever edits only the
log — deleting its last entry included — is caught; whoever edits both files is caught only by a signed anchor.

>>> import tempfile
>>> log = AuditLog(tempfile.mkdtemp() + "/audit.jsonl")
>>> _ = log.append("dispatch", "system", alert_id="AL-1", unit="POL-PICHARI")
>>> _ = log.append("read", "ana", alert_id="AL-1", endpoint="GET /api/alerts")
>>> verify_chain(log.entries()).ok
True
>>> entries = log.entries()
>>> entries[0]["details"]["unit"] = "POL-LIMA"          # someone edits who received the alert
>>> verify_chain(entries).problems
[AuditProblem(seq=0, kind='edited', message="seq 0's content no longer matches its hash")]
"""
from __future__ import annotations

import bisect
import fcntl
import hashlib
import json
import os
import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from centinela.alerts.signing import canonical_json, plain_json
from centinela.errors import InputError
from centinela.io._common import atomic_write_text

GENESIS_HASH = "0" * 64
HASHED_FIELDS = ("seq", "t", "actor", "action", "details", "prev_hash")
ENTRY_FIELDS = (*HASHED_FIELDS, "hash")
PROBLEM_KINDS = ("edited", "removed", "reordered", "inserted")
# A gap this long is reported as one problem (naming the range) rather than one per missing entry.
MAX_GAP_LISTED = 10
# Bytes read at a time from the end of a log file when looking for its last entry.
TAIL_CHUNK_BYTES = 4096


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of the entry's hashed fields (every field but ``hash``)."""
    return hashlib.sha256(canonical_json({k: entry.get(k) for k in HASHED_FIELDS})).hexdigest()


def chain_entry(head: dict[str, Any] | None, action: str, actor: str, details: dict[str, Any] | None = None,
                *, t: float | None = None) -> dict[str, Any]:
    """The entry that follows ``head`` (None: the first entry of a log). ``t`` defaults to now (epoch s).

    >>> first = chain_entry(None, "read", "ana", {"alert_id": "AL-1"}, t=0.0)
    >>> first["seq"], first["prev_hash"] == GENESIS_HASH, chain_entry(first, "read", "bob", t=1.0)["seq"]
    (0, True, 1)
    """
    if not action or not actor:
        raise ValueError("an audit entry needs an action and an actor")
    entry = {
        "seq": 0 if head is None else int(head["seq"]) + 1,
        "t": float(time.time() if t is None else t),
        "actor": str(actor),
        "action": str(action),
        # Stored as it reads back from JSON, so the hash is the same after a round trip through a file or table.
        "details": plain_json({k: v for k, v in (details or {}).items() if v is not None}),
        "prev_hash": GENESIS_HASH if head is None else str(head["hash"]),
    }
    entry["hash"] = entry_hash(entry)
    return entry


class AuditProblem(NamedTuple):
    """One finding of :func:`verify_chain`: the entry (``seq``) and what happened to it."""

    seq: int | None
    kind: str  # one of PROBLEM_KINDS
    message: str


@dataclass
class AuditVerdict:
    """What :func:`verify_chain` found: ``ok`` when the log is intact as far as its anchors reach."""

    ok: bool
    problems: list[AuditProblem] = field(default_factory=list)
    n_entries: int = 0
    head: dict[str, Any] | None = None  # {"seq", "hash"} of the last entry in chain order
    anchors_checked: int = 0

    def lines(self) -> list[str]:
        """A human-readable account, one line per problem."""
        if self.ok:
            head = f", head seq {self.head['seq']} {self.head['hash'][:16]}…" if self.head else ""
            return [f"intact: {self.n_entries} entries{head}, {self.anchors_checked} anchor(s) checked"]
        return [f"{p.kind:<9} seq {'?' if p.seq is None else p.seq}: {p.message}" for p in self.problems]


def _well_formed(entry: Any) -> bool:
    return (isinstance(entry, dict) and all(k in entry for k in ENTRY_FIELDS)
            and isinstance(entry["seq"], int) and not isinstance(entry["seq"], bool)
            and isinstance(entry["hash"], str) and isinstance(entry["prev_hash"], str))


def _implied_seq(seqs: Sequence[int | None], i: int) -> int | None:
    """The seq that entry ``i``'s neighbours imply (used when its own seq field may be the edit)."""
    before = 0 if i == 0 else (None if seqs[i - 1] is None else seqs[i - 1] + 1)
    after = None if i + 1 >= len(seqs) or seqs[i + 1] is None else seqs[i + 1] - 1
    return before if before is not None else after


def _longest_increasing(values: Sequence[int]) -> set[int]:
    """Indices of one longest strictly increasing subsequence of ``values`` (patience sorting, O(n log n))."""
    tails: list[int] = []  # tails[k]: the smallest last value of an increasing run of length k + 1
    tail_at: list[int] = []  # the index of that value
    parent = [-1] * len(values)
    for i, v in enumerate(values):
        k = bisect.bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
            tail_at.append(i)
        else:
            tails[k], tail_at[k] = v, i
        parent[i] = tail_at[k - 1] if k else -1
    keep, i = set(), tail_at[-1] if tail_at else -1
    while i >= 0:
        keep.add(i)
        i = parent[i]
    return keep


def _removed(first: int, last: int, message: str, present: Collection[int] = ()) -> list[AuditProblem]:
    """Entries first..last are missing, except those in ``present`` (there, but unreadable)."""
    if any(first <= s <= last for s in present):
        missing = [s for s in range(first, last + 1) if s not in present]
        return [p for s in missing for p in _removed(s, s, message)]
    if last - first + 1 > MAX_GAP_LISTED:
        return [AuditProblem(first, "removed", f"seq {first} to {last} are missing ({message})")]
    return [AuditProblem(s, "removed", f"seq {s} is missing ({message})") for s in range(first, last + 1)]


def verify_chain(entries: Iterable[Any], anchors: Iterable[dict[str, Any]] = ()) -> AuditVerdict:
    """Check a log's entries, in the order they are stored, against their hashes, their chain and ``anchors``.

    ``anchors`` are ``{"seq", "hash"}`` of the head at some earlier moment, taken from places the log's keeper
    cannot change (signed checkpoints, the ``audit_head`` of signed exports; check their signatures first).
    Each problem names the entry and says whether it was edited, removed, reordered or inserted. Unreadable
    entries (not a complete entry object) count as edited.
    """
    entries = list(entries)
    anchors = [a for a in anchors if isinstance(a, dict) and "seq" in a and "hash" in a]
    problems: list[AuditProblem] = []
    n = len(entries)
    seqs: list[int | None] = [e["seq"] if _well_formed(e) else None for e in entries]
    edited: set[int] = set()

    # 1. Entries whose content no longer matches their own hash. The seq field may itself be what was changed:
    # when it does not fit between its neighbours, the entry is named by the seq they imply.
    for i, entry in enumerate(entries):
        if _well_formed(entry) and entry_hash(entry) == entry["hash"]:
            continue
        implied = _implied_seq(seqs, i)
        if seqs[i] is None or (implied is not None and seqs[i] != implied):
            seqs[i] = implied
        edited.add(i)
        what = "content no longer matches its hash" if _well_formed(entry) else "entry is unreadable or incomplete"
        problems.append(AuditProblem(seqs[i], "edited", f"seq {'?' if seqs[i] is None else seqs[i]}'s {what}"))
    # An entry linked to the one before it whose seq does not fit between its neighbours' had its seq changed
    # (and its hash recomputed): it is in its place, with a wrong number.
    for i in range(n):
        if i in edited or seqs[i] is None:
            continue
        implied = _implied_seq(seqs, i)
        prev_hash = entries[i - 1].get("hash") if i and isinstance(entries[i - 1], dict) else GENESIS_HASH
        if implied is not None and seqs[i] != implied and entries[i]["prev_hash"] == prev_hash:
            problems.append(AuditProblem(implied, "edited", f"seq {implied} was renumbered {seqs[i]} and re-hashed"))
            seqs[i] = implied
            edited.add(i)
    readable = [i for i in range(n) if seqs[i] is not None and _well_formed(entries[i])]
    unreadable = {seqs[i] for i in range(n) if seqs[i] is not None and not _well_formed(entries[i])}

    # 2. Entries that do not belong where they stand. Later entries and anchors commit to the genuine ones.
    committed = {entries[i]["prev_hash"] for i in readable} | {str(a["hash"]) for a in anchors}
    hash_of_seq: dict[int, str] = {}
    by_seq: dict[int, list[int]] = defaultdict(list)
    for i in readable:
        by_seq[seqs[i]].append(i)
    dropped: set[int] = set()
    for seq, group in by_seq.items():
        genuine = [i for i in group if entries[i]["hash"] in committed] or group[:1]
        hash_of_seq[seq] = entries[genuine[0]]["hash"]
        for i in group:
            if i != genuine[0]:
                dropped.add(i)
                sure = "" if len(genuine) == 1 and entries[genuine[0]]["hash"] in committed else (
                    " (no later entry or anchor says which of the two is genuine)")
                problems.append(AuditProblem(seq, "inserted", f"a second entry claims seq {seq}{sure}"))
    kept = [i for i in readable if i not in dropped]
    in_order = _longest_increasing([seqs[i] for i in kept])
    for k, i in enumerate(kept):
        if k in in_order or i in edited:
            continue
        seq = seqs[i]
        belongs = entries[i]["hash"] in committed or entries[i]["prev_hash"] == hash_of_seq.get(seq - 1)
        if belongs:
            problems.append(AuditProblem(seq, "reordered", f"seq {seq} is stored out of order (at position {i})"))
        else:
            dropped.add(i)
            problems.append(AuditProblem(seq, "inserted", f"seq {seq} (position {i}) links to no entry of the log"))
    kept = [i for i in kept if i not in dropped]

    # 3. The links, walked in seq order: gaps are removals; a broken link is an entry changed and re-hashed.
    chain = sorted(kept, key=lambda i: (seqs[i], i))
    prev_seq, prev_hash = -1, GENESIS_HASH
    for i in chain:
        seq = seqs[i]
        if seq > prev_seq + 1:
            problems += _removed(prev_seq + 1, seq - 1, "the chain jumps over it", unreadable)
        elif i not in edited and entries[i]["prev_hash"] != prev_hash:
            if prev_seq < 0:
                problems.append(AuditProblem(seq, "edited", f"seq {seq} does not start from the genesis hash"))
            else:
                problems.append(AuditProblem(prev_seq, "edited", (
                    f"seq {prev_seq} is not the entry seq {seq} committed to: it was changed and re-hashed "
                    f"(or seq {seq}'s prev_hash was changed)")))
        prev_seq, prev_hash = seq, entries[i]["hash"]
    head = {"seq": prev_seq, "hash": prev_hash} if chain else None

    # 4. Anchors: the head as it was. A missing seq is a cut tail; another hash is a rewritten, re-chained past.
    present = {seqs[i]: entries[i]["hash"] for i in chain}
    reported = {(p.seq, p.kind) for p in problems}
    for anchor in sorted(anchors, key=lambda a: int(a["seq"])):
        seq = int(anchor["seq"])
        if seq not in present:
            if seq > prev_seq and (seq, "removed") not in reported:
                problems += _removed(prev_seq + 1, seq, f"an anchor commits to seq {seq}: the tail was cut")
                reported |= {(s, "removed") for s in range(prev_seq + 1, seq + 1)}
        elif present[seq] != anchor["hash"] and (seq, "edited") not in reported:
            problems.append(AuditProblem(seq, "edited", (
                f"seq {seq} differs from an anchor of the head at that time: the log up to seq {seq} was "
                "rewritten and re-chained since")))
            reported.add((seq, "edited"))

    # One finding per entry and kind (a re-hashed entry also breaks its successor's link), in seq order.
    problems = list({(p.seq, p.kind): p for p in reversed(problems)}.values())[::-1]
    problems.sort(key=lambda p: (-1 if p.seq is None else p.seq, PROBLEM_KINDS.index(p.kind)))
    return AuditVerdict(ok=not problems, problems=problems, n_entries=n, head=head, anchors_checked=len(anchors))


# --- the JSON-lines file --------------------------------------------------------------------------------------


def _entry_line(entry: dict[str, Any]) -> bytes:
    return json.dumps({k: entry[k] for k in ENTRY_FIELDS}, ensure_ascii=False, allow_nan=False).encode() + b"\n"


def _last_line(f) -> bytes:
    """The last non-empty line of an open binary file, read backwards from its end."""
    f.seek(0, os.SEEK_END)
    end = f.tell()
    data = b""
    while end > 0 and data.strip().count(b"\n") < 1:
        start = max(0, end - TAIL_CHUNK_BYTES)
        f.seek(start)
        data = f.read(end - start) + data
        end = start
    return data.strip().rsplit(b"\n", 1)[-1]


def read_audit_jsonl(path: str | Path) -> list[Any]:
    """Every line of an audit file, in file order: the entry, or the raw text of a line that is not JSON
    (:func:`verify_chain` reports such lines as edited entries). InputError when the file cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path, f"cannot read the audit log: {e}") from None
    entries: list[Any] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            entries.append(line)
    return entries


def head_file(log_path: str | Path) -> Path:
    """The file beside a log that holds its head as of the last append (``<log>.head``)."""
    log_path = Path(log_path)
    return log_path.with_name(log_path.name + ".head")


def read_head_file(log_path: str | Path) -> list[dict[str, Any]]:
    """The head recorded beside ``log_path`` as a one-anchor list, or [] when there is none (an older log)."""
    path = head_file(log_path)
    if not path.exists():
        return []
    try:
        head = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(path, f"the audit head file is unreadable ({e}): it was damaged or edited") from None
    if not isinstance(head, dict) or "seq" not in head or "hash" not in head:
        raise InputError(path, "the audit head file has no seq and hash: it was damaged or edited")
    return [head]


class AuditLog:
    """An audit trail in a JSON-lines file, one entry a line; appends from several processes are serialised
    by an exclusive lock on the file. ``durable`` syncs each entry to disk before returning (off for fuzzing).
    Each append also records the new head in :func:`head_file`, which :meth:`verify` checks against."""

    def __init__(self, path: str | Path, *, durable: bool = True):
        self.path = Path(path)
        self.durable = durable

    def append(self, action: str, actor: str, *, t: float | None = None, **details: Any) -> dict[str, Any]:
        """Add one entry (``details``: JSON values) after the current head and return it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)  # released when the file closes
            last = _last_line(f)
            head = None
            if last:
                try:
                    head = json.loads(last)
                except json.JSONDecodeError:
                    raise InputError(self.path, "the last entry is unreadable: run `centinela audit verify` "
                                                "before writing more") from None
            entry = chain_entry(head, action, actor, details, t=t)
            f.seek(0, os.SEEK_END)
            f.write(_entry_line(entry))
            f.flush()
            if self.durable:
                os.fsync(f.fileno())
            # Still under the lock: the head file always names the entry just written.
            head_path = head_file(self.path)
            atomic_write_text(head_path, json.dumps({"seq": entry["seq"], "hash": entry["hash"]}) + "\n")
        return entry

    def entries(self) -> list[Any]:
        return read_audit_jsonl(self.path) if self.path.exists() else []

    def head(self) -> dict[str, Any] | None:
        """``{"seq", "hash"}`` of the last entry (what a checkpoint or an export anchors), None when empty.
        Reads only the file's tail."""
        if not self.path.exists():
            return None
        with open(self.path, "rb") as f:
            last = _last_line(f)
        if not last:
            return None
        try:
            entry = json.loads(last)
        except json.JSONDecodeError:
            raise InputError(self.path, "the last entry is unreadable: run `centinela audit verify`") from None
        return {"seq": entry["seq"], "hash": entry["hash"]}

    def verify(self, anchors: Iterable[dict[str, Any]] = ()) -> AuditVerdict:
        """:func:`verify_chain` with ``anchors`` and the log's own head file."""
        return verify_chain(self.entries(), [*anchors, *read_head_file(self.path)])
