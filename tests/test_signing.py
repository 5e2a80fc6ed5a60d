"""Ed25519 signatures of exports: made with real keys on disk, checked the way a court would, offline."""
from __future__ import annotations

import json
import stat

import pytest
from click.testing import CliRunner

from centinela.alerts.audit import AuditLog
from centinela.alerts.commands_audit import EXIT_TAMPERED, export_command, verify_export_command
from centinela.alerts.signing import (
    canonical_json,
    generate_keypair,
    load_public_key,
    read_document,
    sign_export,
    verify_export,
)
from centinela.errors import InputError
from centinela.io.outputs import write_outputs
from centinela.server.sample import sample_outputs


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    return generate_keypair(folder)


def test_keys_are_written_private_and_never_overwritten(keys):
    private, public = keys
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert b"PUBLIC KEY" in public.read_bytes()
    with pytest.raises(InputError, match="already there"):
        generate_keypair(private.parent)


def test_a_signed_export_verifies_after_a_round_trip_and_fails_when_changed(keys, tmp_path):
    private, public = keys
    payload = {"alert": {"alert_id": "AL-1", "eta": 1780312530.123, "site": [-12.45, -73.85]}, "note": "café"}
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(sign_export(payload, private), indent=2))
    doc = read_document(path)
    assert verify_export(doc, public) and verify_export(doc, private)
    assert doc["payload"] == json.loads(canonical_json(payload))

    for change in (lambda d: d["payload"]["alert"].update(eta=1780312590.123),
                   lambda d: d["payload"].update(extra=1),
                   lambda d: d.update(signature=d["signature"][:-4] + "AAA="),
                   lambda d: d.update(key_fingerprint="0" * 64)):
        changed = json.loads(json.dumps(doc))
        change(changed)
        assert verify_export(changed, public) is False

    other_private, other_public = generate_keypair(tmp_path / "other")
    assert verify_export(doc, other_public) is False  # signed by someone else
    forged = sign_export(payload, other_private)
    forged["key_fingerprint"] = doc["key_fingerprint"]
    assert verify_export(forged, public) is False


def test_bad_documents_and_keys_are_input_errors(keys, tmp_path):
    _, public = keys
    with pytest.raises(InputError, match="format"):
        verify_export({"payload": {}}, public)
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(InputError, match="not JSON"):
        read_document(tmp_path / "x.json")
    (tmp_path / "k.pem").write_text("nonsense")
    with pytest.raises(InputError):
        load_public_key(tmp_path / "k.pem")


def test_export_and_verify_export_commands(keys, tmp_path):
    private, public = keys
    out = tmp_path / "out"
    write_outputs(sample_outputs(), out)
    runner = CliRunner()
    made = runner.invoke(export_command, [str(out), "AL-0001", "--key", str(private), "--actor", "fiscal"])
    assert made.exit_code == 0, made.output
    exported = out / "exports" / "AL-0001.signed.json"
    doc = read_document(exported)
    assert doc["payload"]["alert"]["predicted_site"]["airstrip_id"] == "AS-0001"
    audit = AuditLog(out / "audit.jsonl")
    assert [(e["action"], e["actor"]) for e in audit.entries()] == [("export", "fiscal")]
    assert doc["payload"]["audit_head"] == audit.head()

    good = runner.invoke(verify_export_command, [str(exported), "--public-key", str(public)])
    assert good.exit_code == 0 and good.output.startswith("valid: alert")
    doc["payload"]["alert"]["eta"] += 300.0
    exported.write_text(json.dumps(doc))
    bad = runner.invoke(verify_export_command, [str(exported), "--public-key", str(public)])
    assert bad.exit_code == EXIT_TAMPERED and "NOT VALID" in bad.output

    missing = runner.invoke(export_command, [str(out), "AL-9999", "--key", str(private)])
    assert isinstance(missing.exception, InputError) and "AL-9999" in str(missing.exception)
    no_copy = runner.invoke(export_command, [str(out), "AL-0001", "--key", str(private), "--unit", "X"])
    assert isinstance(no_copy.exception, InputError)
