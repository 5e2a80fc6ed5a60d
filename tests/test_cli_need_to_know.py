"""The need-to-know chain as a user runs it, each command in its own process: dispatch, leak statistics, audit
verification (and its failure on a tampered log), and a signed export checked without the server."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from centinela.io.outputs import write_alerts_jsonl, write_events_jsonl
from centinela.model import EVENT_COLUMNS, empty_frame

CLI = [sys.executable, "-m", "centinela.cli"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, check=False)


def alert(alert_id: str, t: float) -> dict:
    return {"alert_id": alert_id, "track_ids": ["T1"], "score": 0.97, "t_issued": t, "indicators": ["no_transponder"],
            "predicted_site": {"lat": -12.45, "lon": -73.85, "airstrip_id": "S1"}, "eta": t + 1_800.0,
            "eta_window_s": 900.0, "sigma_site_m": 800.0}


def test_dispatch_leaks_audit_and_signed_export_from_the_command_line(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    write_alerts_jsonl(pd.DataFrame([alert("A0001-F1", 1_780_300_000.0), alert("A0002-F2", 1_780_390_000.0)]),
                       out / "alerts.jsonl")
    write_events_jsonl(empty_frame(EVENT_COLUMNS), out / "events.jsonl")

    dispatched = run("dispatch", str(out))
    assert dispatched.returncode == 0, dispatched.stderr
    recipients = pd.read_csv(out / "dispatch.csv")
    assert set(recipients["alert_id"]) == {"A0001-F1", "A0002-F2"}

    leaks = run("leaks", str(out))
    assert leaks.returncode == 0, leaks.stderr
    table = pd.read_csv(out / "leaks.csv")
    assert set(recipients["unit_id"]) <= set(table["unit_id"])
    assert not table["flagged"].any(), "two alerts with unknown outcomes are no evidence against anyone"

    assert run("audit", "verify", str(out / "audit.jsonl")).returncode == 0
    entries = (out / "audit.jsonl").read_text().splitlines()
    edited = json.loads(entries[1])
    edited["actor"] = "someone else"
    (out / "audit.jsonl").write_text("\n".join([entries[0], json.dumps(edited), *entries[2:]]) + "\n")
    tampered = run("audit", "verify", str(out / "audit.jsonl"))
    assert tampered.returncode == 3 and "seq 1" in tampered.stdout + tampered.stderr

    keys = tmp_path / "keys"
    assert run("keys", "generate", str(keys)).returncode == 0
    private = next(p for p in keys.iterdir() if not p.name.endswith(".pub.pem"))
    public = next(p for p in keys.iterdir() if p.name.endswith(".pub.pem"))
    unit = str(recipients["unit_id"].iloc[0])
    exported = run("export", str(out), "A0001-F1", "--key", str(private), "--unit", unit)
    assert exported.returncode == 0, exported.stderr
    document = next((out / "exports").glob("A0001-F1*.json"))
    assert run("verify-export", str(document), "--public-key", str(public)).returncode == 0
    forged = json.loads(document.read_text())
    forged_text = json.dumps(forged).replace("A0001-F1", "A0009-F9")
    (tmp_path / "forged.json").write_text(forged_text)
    assert run("verify-export", str(tmp_path / "forged.json"), "--public-key", str(public)).returncode == 3


def test_simulate_rejects_a_malformed_leaky_unit(tmp_path):
    bad = run("simulate", str(tmp_path / "s"), "--days", "0.05", "--leaky-unit", "DIRANDRO-KIMBIRI")
    assert bad.returncode == 2 and "--leaky-unit" in bad.stderr


def test_output_piped_into_a_reader_that_stops_early_is_not_an_error(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    write_alerts_jsonl(pd.DataFrame([alert("A0001-F1", 1_780_300_000.0)]), out / "alerts.jsonl")
    piped = subprocess.run(f'"{sys.executable}" -m centinela.cli dispatch "{out}" | head -c 0', shell=True,
                           capture_output=True, text=True, check=False)
    assert "internal error" not in piped.stderr and "BrokenPipe" not in piped.stderr, piped.stderr
