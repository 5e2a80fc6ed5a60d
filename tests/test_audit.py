"""The hash-chained audit trail: a real JSON-lines log, tampered with the ways a keeper of the log could, and
the commands that verify and anchor it."""
from __future__ import annotations

import itertools
import json
import multiprocessing

import pytest
from click.testing import CliRunner

from centinela.alerts.audit import (
    AuditLog,
    chain_entry,
    entry_hash,
    head_file,
    read_audit_jsonl,
    verify_chain,
)
from centinela.alerts.commands_audit import EXIT_TAMPERED, audit_command, keys_command
from centinela.errors import InputError
from centinela.evaluate.audit_fuzz import TAMPER_KINDS, audit_fuzz_trials, summarise_audit_fuzz


@pytest.fixture
def log(tmp_path) -> AuditLog:
    log = AuditLog(tmp_path / "audit.jsonl")
    for k in range(8):
        log.append("read" if k % 2 else "dispatch", f"user{k}", alert_id=f"AL-{k:04d}", unit="POL-PICHARI",
                   t=1_780_300_000.0 + 60 * k)
    return log


def _found(verdict) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in verdict.problems]


def test_an_intact_log_verifies_and_survives_its_file(log):
    entries = log.entries()
    assert [e["seq"] for e in entries] == list(range(8))
    assert all(e["hash"] == entry_hash(e) for e in entries)
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(entries))
    verdict = log.verify()
    assert verdict.ok and verdict.head == {"seq": 7, "hash": entries[-1]["hash"]}
    assert "intact: 8 entries" in verdict.lines()[0]


def test_each_single_tampering_is_named(log):
    entries = log.entries()
    edited = [dict(e) for e in entries]
    edited[3] = {**edited[3], "actor": "nobody"}
    assert _found(verify_chain(edited)) == [(3, "edited")]

    rehashed = [dict(e) for e in entries]
    rehashed[3] = {**rehashed[3], "details": {"alert_id": "AL-9999"}}
    rehashed[3]["hash"] = entry_hash(rehashed[3])
    assert _found(verify_chain(rehashed)) == [(3, "edited")]

    assert _found(verify_chain(entries[:4] + entries[5:])) == [(4, "removed")]
    assert _found(verify_chain(entries[1:])) == [(0, "removed")]

    swapped = entries[:2] + [entries[5], entries[3], entries[4], entries[2]] + entries[6:]
    assert {s for s, kind in _found(verify_chain(swapped)) if kind == "reordered"} <= {2, 5}
    assert {kind for _, kind in _found(verify_chain(swapped))} == {"reordered"}

    forged = chain_entry(entries[3], "read", "ghost", {"alert_id": "AL-0001"}, t=entries[4]["t"] - 1)
    assert _found(verify_chain(entries[:4] + [forged] + entries[4:])) == [(4, "inserted")]


def test_a_cut_tail_or_a_rechained_past_needs_an_anchor(log):
    entries = log.entries()
    anchor = {"seq": 7, "hash": entries[-1]["hash"]}
    assert verify_chain(entries[:6]).ok  # consistent with itself: the chain alone cannot tell
    assert _found(verify_chain(entries[:6], [anchor])) == [(6, "removed"), (7, "removed")]
    rewritten = [dict(e) for e in entries]
    rewritten[2]["actor"] = "someone-else"
    for k in range(2, len(rewritten)):
        rewritten[k]["prev_hash"] = rewritten[k - 1]["hash"]
        rewritten[k]["hash"] = entry_hash(rewritten[k])
    assert verify_chain(rewritten).ok
    assert _found(verify_chain(rewritten, [anchor])) == [(7, "edited")]


def test_an_unreadable_line_is_an_edited_entry(log):
    lines = log.path.read_text().splitlines()
    lines[2] = lines[2][:40]  # a line cut in the middle
    log.path.write_text("\n".join(lines) + "\n")
    entries = read_audit_jsonl(log.path)
    assert isinstance(entries[2], str)
    assert _found(verify_chain(entries)) == [(2, "edited")]
    with pytest.raises(InputError, match="cannot read"):
        read_audit_jsonl(log.path.parent / "missing.jsonl")


def _append_many(path: str, actor: str, n: int) -> None:
    log = AuditLog(path, durable=False)
    for k in range(n):
        log.append("read", actor, alert_id=f"AL-{k}")


def test_two_processes_appending_at_once_keep_one_chain(tmp_path):
    path = str(tmp_path / "audit.jsonl")
    workers = [multiprocessing.get_context("fork").Process(target=_append_many, args=(path, name, 40))
               for name in ("a", "b")]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    verdict = AuditLog(path).verify()
    assert verdict.ok and verdict.n_entries == 80


def test_fuzzing_catches_every_single_entry_tampering():
    df = audit_fuzz_trials(n_trials=350, seed=7)
    summary = summarise_audit_fuzz(df).set_index("kind")
    assert list(summary.index) == list(TAMPER_KINDS)
    # From the log alone: every edit in place, reordering and insertion.
    assert (summary.loc[["edit", "reorder", "insert"], "detected"] == 1.0).all()
    # With one anchor of the head as it was: everything, and the report names the entry.
    assert (summary["detected_anchored"] == 1.0).all()
    assert (summary["located"] == 1.0).all()
    # Without an anchor a cut tail is invisible: the reason anchors exist.
    assert summary.loc["truncate", "detected"] == 0.0


def test_audit_commands_verify_checkpoint_and_anchor(log, tmp_path):
    runner = CliRunner()
    keys = tmp_path / "keys"
    assert runner.invoke(keys_command, ["generate", str(keys)]).exit_code == 0
    private, public = keys / "centinela-ed25519.pem", keys / "centinela-ed25519.pub.pem"
    ok = runner.invoke(audit_command, ["verify", str(log.path)])
    assert ok.exit_code == 0 and "intact: 8 entries" in ok.output
    checkpoint = tmp_path / "checkpoint.json"
    made = runner.invoke(audit_command, ["checkpoint", str(log.path), "--key", str(private), "--to", str(checkpoint)])
    assert made.exit_code == 0, made.output
    assert json.loads(checkpoint.read_text())["payload"]["audit_head"]["seq"] == 8  # the checkpoint is audited

    lines = log.path.read_text().splitlines()
    log.path.write_text("\n".join(lines[:-2]) + "\n")  # cut the last two entries
    assert runner.invoke(audit_command, ["verify", str(log.path)]).exit_code == EXIT_TAMPERED  # the head file
    head_file(log.path).unlink()  # who cuts the tail and also deletes the head file ...
    assert runner.invoke(audit_command, ["verify", str(log.path)]).exit_code == 0  # ... leaves a consistent log
    caught = runner.invoke(audit_command, ["verify", str(log.path), "--anchor", str(checkpoint),
                                           "--public-key", str(public)])
    assert caught.exit_code == EXIT_TAMPERED
    assert "removed   seq 7" in caught.output and "removed   seq 8" in caught.output

    bad = runner.invoke(audit_command, ["verify", str(log.path), "--anchor", str(checkpoint)])
    assert isinstance(bad.exception, InputError) and "--public-key" in str(bad.exception)
    neither = runner.invoke(audit_command, ["verify"])
    assert isinstance(neither.exception, InputError)
