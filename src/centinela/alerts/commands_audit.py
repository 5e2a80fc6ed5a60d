"""Click commands for the audit trail and signatures (the lead adds them to ``centinela``):

- ``audit_command``: ``centinela audit verify [FILE | --db DB] [--anchor DOC --public-key KEY]`` and
  ``centinela audit checkpoint [FILE | --db DB] --key KEY [--to FILE]``;
- ``keys_command``: ``centinela keys generate DIR``;
- ``export_command``: ``centinela export OUT ALERT_ID --key KEY [--unit UNIT]`` (a signed alert, the unit's
  marked copy when given, audited in OUT/audit.jsonl);
- ``verify_export_command``: ``centinela verify-export FILE --public-key KEY``.

Exit codes: 0 intact / valid; 3 when ``audit verify`` finds tampering or ``verify-export`` a bad signature
(the finding is printed); 2 for bad input (InputError), as every centinela command.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import click

from centinela.errors import InputError
from centinela.io._common import atomic_write_text

EXIT_TAMPERED = 3
AUDIT_FILE = "audit.jsonl"  # the audit trail of a file-based workflow, in the outputs folder
EXPORTS_DIR = "exports"

_db_option = click.option("--db", help="Verify the audit table of this store (SQLite file or SQLAlchemy URL) "
                                       "instead of a JSON-lines FILE.")


def _entries_and_sink(log_file: Path | None, db: str | None):
    """The audit entries to check and a function appending one entry to the same log."""
    from centinela.alerts.audit import AuditLog

    if (log_file is None) == (db is None):
        raise InputError("audit", "give either an audit FILE (JSON lines) or --db, not both and not neither")
    if db is not None:
        from centinela.store import Store

        store = Store(db)
        return store.audit_entries(), store.append_audit
    if not log_file.is_file():
        raise InputError(log_file, "no such audit file")
    log = AuditLog(log_file)
    return log.entries(), log.append


def _anchors(paths: tuple[Path, ...], public_key: Path | None) -> list[dict]:
    """The ``audit_head`` of each signed document, after checking its signature."""
    from centinela.alerts.signing import read_document, verify_export

    if paths and public_key is None:
        raise InputError("--anchor", "anchors are trusted only with the signer's key: add --public-key KEY")
    anchors = []
    for path in paths:
        doc = read_document(path)
        if not verify_export(doc, public_key):
            raise InputError(path, f"the signature does not verify with {public_key}: not an anchor to trust")
        head = doc["payload"].get("audit_head")
        if not isinstance(head, dict) or "seq" not in head or "hash" not in head:
            raise InputError(path, "the signed document carries no audit head", field="payload.audit_head")
        anchors.append(head)
    return anchors


@click.group("audit")
def audit_command() -> None:
    """Check and anchor the hash-chained audit trail (a JSON-lines file or a store's audit table)."""


@audit_command.command("verify")
@click.argument("log_file", metavar="[FILE]", required=False, type=click.Path(dir_okay=False, path_type=Path))
@_db_option
@click.option("--anchor", "anchors", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A signed checkpoint or export whose audit head the log must still contain (repeatable).")
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The signer's public key (PEM), to check the anchors' signatures.")
def audit_verify(log_file: Path | None, db: str | None, anchors: tuple[Path, ...], public_key: Path | None) -> None:
    """Say whether the audit trail is intact, or which entries were edited, removed, reordered or inserted.

    \b
    Exit code 0 when intact, 3 when tampering was found.
    Example:
      centinela audit verify runs/s1-out/audit.jsonl
      centinela audit verify --db centinela.db --anchor checkpoint.json --public-key ops.pub.pem
    """
    from centinela.alerts.audit import read_head_file, verify_chain

    entries, _ = _entries_and_sink(log_file, db)
    own_head = read_head_file(log_file) if log_file is not None else []  # the file log's <log>.head
    verdict = verify_chain(entries, [*_anchors(anchors, public_key), *own_head])
    for line in verdict.lines():
        click.echo(line)
    if not verdict.ok:
        raise SystemExit(EXIT_TAMPERED)


@audit_command.command("checkpoint")
@click.argument("log_file", metavar="[FILE]", required=False, type=click.Path(dir_okay=False, path_type=Path))
@_db_option
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The Ed25519 private key (PEM) that signs the checkpoint.")
@click.option("--actor", default="cli", show_default=True, help="Who takes the checkpoint (audited).")
@click.option("--to", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the signed checkpoint here (default: print it).")
def audit_checkpoint(log_file: Path | None, db: str | None, key_path: Path, actor: str, out: Path | None) -> None:
    """Sign the audit's current head. Keep the result off the machine that holds the log: later
    verifications with it (--anchor) catch a cut tail or a rewritten, re-chained past."""
    from centinela.alerts.signing import sign_export

    _, append = _entries_and_sink(log_file, db)
    entry = append("audit_checkpoint", actor)
    head = {"seq": entry["seq"], "hash": entry["hash"]}
    doc = sign_export({"kind": "audit-checkpoint", "audit_head": head, "signed_at": time.time(),
                       "signed_by": actor}, key_path)
    text = json.dumps(doc, indent=1, ensure_ascii=False)
    if out is None:
        click.echo(text)
    else:
        atomic_write_text(out, text + "\n")
        click.echo(f"checkpoint of seq {doc['payload']['audit_head']['seq']} written to {out}")


@click.group("keys")
def keys_command() -> None:
    """Ed25519 signing keys for exports and audit checkpoints."""


@keys_command.command("generate")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def keys_generate(directory: Path) -> None:
    """Write a new key pair into DIRECTORY: the private key (owner-readable only) and the public key to hand
    to whoever must check the signatures (a court, a prosecutor)."""
    from centinela.alerts.signing import fingerprint, generate_keypair, load_public_key

    private_path, public_path = generate_keypair(directory)
    click.echo(f"private key: {private_path}\npublic key:  {public_path}\n"
               f"fingerprint: {fingerprint(load_public_key(public_path))}")


@click.command("export")
@click.argument("out_dir", metavar="OUT", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("alert_id")
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The Ed25519 private key (PEM) that signs the export.")
@click.option("--unit", help="Export this unit's marked copy (from OUT/copies.jsonl) instead of the alert itself.")
@click.option("--actor", default="cli", show_default=True, help="Who exports (audited).")
@click.option("--to", "target", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the signed document (default OUT/exports/ALERT_ID[-UNIT].signed.json).")
def export_command(out_dir: Path, alert_id: str, key_path: Path, unit: str | None, actor: str,
                   target: Path | None) -> None:
    """Sign alert ALERT_ID of the outputs folder OUT for a court: checkable without the server
    (`centinela verify-export`). The export is recorded in OUT/audit.jsonl and the document carries
    the audit's head."""
    from centinela.alerts.audit import AuditLog
    from centinela.alerts.signing import sign_export
    from centinela.io.outputs import read_alerts_jsonl

    alerts = read_alerts_jsonl(out_dir / "alerts.jsonl")
    found = alerts[alerts["alert_id"].astype(str) == alert_id]
    if found.empty:
        raise InputError(out_dir / "alerts.jsonl", f"no alert {alert_id!r}", field="alert_id")
    record = json.loads(found.iloc[[0]].to_json(orient="records", double_precision=15))[0]
    copy_ref = None
    if unit is not None:
        from centinela.alerts.marking import read_copies
        from centinela.server.marking import marked_record

        copies = read_copies(out_dir / "copies.jsonl")
        mine = copies[(copies["alert_id"].astype(str) == alert_id) & (copies["unit_id"].astype(str) == unit)]
        if mine.empty:
            raise InputError(out_dir / "copies.jsonl", f"unit {unit!r} has no copy of alert {alert_id!r}",
                             field="unit_id")
        row = mine.iloc[0]
        copy_ref = str(row["copy_ref"])
        record = marked_record(record, json.loads(row["marks"]), copy_ref, str(row["text"]))
    entry = AuditLog(out_dir / AUDIT_FILE).append("export", actor, alert_id=alert_id, unit=unit, copy_ref=copy_ref,
                                                  source=str(out_dir))
    doc = sign_export({"kind": "alert", "alert": record, "unit": unit, "exported_by": actor,
                       "exported_at": time.time(), "audit_head": {"seq": entry["seq"], "hash": entry["hash"]}},
                      key_path)
    target = target or out_dir / EXPORTS_DIR / f"{alert_id}{'-' + unit if unit else ''}.signed.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    click.echo(f"signed export of {alert_id}{' (copy ' + copy_ref + ' of ' + unit + ')' if unit else ''}: {target}")


@click.command("verify-export")
@click.argument("document", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public-key", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The signer's public key (PEM), obtained from the signer, not from the document.")
def verify_export_command(document: Path, public_key: Path) -> None:
    """Check a signed export or checkpoint offline. Exit code 0 when the signature holds, 3 when it does not."""
    from centinela.alerts.signing import read_document, verify_export

    doc = read_document(document)
    if not verify_export(doc, public_key):
        click.echo(f"NOT VALID: {document} was changed after signing, or not signed by {public_key}")
        raise SystemExit(EXIT_TAMPERED)
    payload = doc["payload"]
    what = payload.get("kind", "document")
    head = payload.get("audit_head") or {}
    click.echo(f"valid: {what} signed by key {doc['key_fingerprint'][:16]}…"
               + (f", audit head seq {head['seq']}" if "seq" in head else ""))
