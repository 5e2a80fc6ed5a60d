"""The operations centre dispatches as `centinela dispatch` does, against a real SQLite store through FastAPI's
TestClient: a folder's register (dispatch.csv + copies.jsonl) is served as recorded, otherwise the dispatch
policy chooses the recipients, on load and as live alerts arrive; the audit stays intact."""
from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner
from fastapi.testclient import TestClient

from centinela.alerts.commands_dispatch import dispatch_command, trace_leak_command
from centinela.alerts.dispatch import MIN_CLEARANCE, plan_dispatch, read_dispatch_csv
from centinela.alerts.marking import read_copies
from centinela.alerts.units import default_units
from centinela.io.outputs import write_outputs
from centinela.server import create_app, load_replay
from centinela.server.live import Batch, ReplayFeed
from centinela.server.sample import sample_outputs
from centinela.store import Store, add_user

FAST_SCRYPT_N = 2**10  # tests only
# Cleared (clearance 3) in the packaged register, but far from the VRAEM: the policy never chooses it.
NOT_CHOSEN = "DIRANDRO-ANALYSIS-LIMA"


def outputs_with_sigma():
    """The sample picture; its alert states a site uncertainty, as analyze's alerts do."""
    outputs = sample_outputs()
    outputs.alerts = outputs.alerts.assign(sigma_site_m=1500.0)
    return outputs


def add_users(store: Store, units) -> dict[str, str]:
    """One operator per unit (user name = unit in lower case) and an administrator; returns {unit: user}."""
    names = {unit: unit.lower() for unit in units}
    for unit, name in names.items():
        add_user(store, name, f"{name}-pw", role="operator", unit=unit, scrypt_n=FAST_SCRYPT_N)
    add_user(store, "root", "root-pw", role="admin", unit="IT", scrypt_n=FAST_SCRYPT_N)
    return names


def login(client: TestClient, name: str) -> dict[str, str]:
    """Bearer headers for ``name`` (the clients of one app share cookies, so each user carries a token)."""
    response = client.post("/api/login", json={"username": name, "password": f"{name}-pw"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def dispatch_actions(store: Store) -> list[dict]:
    return [e for e in store.audit_entries() if e["action"] == "dispatch"]


def test_a_replayed_folder_with_a_register_serves_each_recipient_its_register_copy(tmp_path):
    out = tmp_path / "out"
    write_outputs(outputs_with_sigma(), out)
    result = CliRunner().invoke(dispatch_command, [str(out), "--seed", "7"])
    assert result.exit_code == 0, result.output
    register, copies = read_dispatch_csv(out / "dispatch.csv"), read_copies(out / "copies.jsonl")
    assert len(register) >= 2 and NOT_CHOSEN not in set(register["unit_id"])

    store = Store(tmp_path / "c.db")
    outputs, run_id = load_replay(store, out)
    assert sorted(store.recipients(run_id, "AL-0001")["unit"]) == sorted(register["unit_id"])
    stored = store.copies(run_id=run_id)
    assert stored[["unit_id", "copy_ref", "text", "marks"]].values.tolist() == \
        copies[["unit_id", "copy_ref", "text", "marks"]].values.tolist()
    users = add_users(store, [*register["unit_id"], NOT_CHOSEN])
    feed = ReplayFeed.from_outputs(outputs, run_id, speed=1e6, tick_s=0.001)
    app = create_app(store, feed=feed, units=default_units(), min_subscribers=1)
    by_unit = copies.set_index("unit_id")
    with TestClient(app) as client:
        vraem = login(client, users["VRAEM-OPS"])
        with client.websocket_connect("/api/live", headers=vraem) as ws:  # the replay, as it is streamed
            streamed = []
            while (message := json.loads(ws.receive_text()))["type"] != "end":
                streamed += message.get("alerts", [])
        assert [a["copy_ref"] for a in streamed] == [by_unit.loc["VRAEM-OPS", "copy_ref"]]
        for unit in register["unit_id"]:
            seen = client.get(f"/api/alerts/{run_id}/AL-0001", headers=login(client, users[unit])).json()
            assert seen["copy_ref"] == by_unit.loc[unit, "copy_ref"], unit
            assert seen["bulletin"] == by_unit.loc[unit, "text"]
            assert seen["predicted_site"]["lat"] == json.loads(by_unit.loc[unit, "marks"])["lat"]
        outsider = login(client, users[NOT_CHOSEN])
        assert client.get(f"/api/alerts/{run_id}/AL-0001", headers=outsider).status_code == 404
        assert client.get("/api/alerts", headers=outsider).json() == []
        # A copy read on the web is attributed both by the server and by the CLI against the register file.
        leaked = client.get(f"/api/alerts/{run_id}/AL-0001", headers=vraem).json()["bulletin"]
        traced = client.post("/api/trace-leak", json={"text": leaked}, headers=login(client, "root")).json()
        assert traced["verdict"] == "attributed" and traced["top_unit"] == "VRAEM-OPS"
    (tmp_path / "leak.txt").write_text("\n".join(leaked.splitlines()[2:5]), encoding="utf-8")
    cli = CliRunner().invoke(trace_leak_command, [str(tmp_path / "leak.txt"), "--copies", str(out / "copies.jsonl")])
    assert cli.exit_code == 0 and cli.output.splitlines()[2].split()[0] == "VRAEM-OPS", cli.output

    entries = dispatch_actions(store)
    assert sorted((e["details"]["unit"], e["details"]["copy_ref"]) for e in entries) == \
        sorted(zip(copies["unit_id"], copies["copy_ref"]))
    assert store.verify_audit().ok
    # The override still wins over the register.
    load_replay(store, out, dispatch_to_units=("LIMA-HQ",))
    assert store.recipients(run_id, "AL-0001")["unit"].tolist() == ["LIMA-HQ"]
    assert store.verify_audit().ok


def test_without_a_register_the_policy_chooses_and_a_cleared_unit_it_did_not_choose_sees_nothing(tmp_path):
    out = tmp_path / "out"
    write_outputs(outputs_with_sigma(), out)
    units = default_units()
    store = Store(tmp_path / "c.db")
    outputs, run_id = load_replay(store, out, units=units)
    chosen = plan_dispatch(outputs.alerts, units)["unit_id"].tolist()
    assert store.recipients(run_id, "AL-0001")["unit"].tolist() == chosen
    assert "VRAEM-OPS" in chosen and NOT_CHOSEN not in chosen
    assert int(units.set_index("unit_id").loc[NOT_CHOSEN, "clearance"]) >= MIN_CLEARANCE
    # Every recipient's copy is made and registered at dispatch, before anyone reads it.
    registered = store.copies(run_id=run_id).set_index("unit_id")["copy_ref"]
    assert sorted(registered.index) == sorted(chosen) and registered.is_unique
    users = add_users(store, [*chosen, NOT_CHOSEN])
    app = create_app(store, units=units)
    with TestClient(app) as client:
        for unit in chosen:
            seen = client.get("/api/alerts", headers=login(client, users[unit])).json()
            assert [a["copy_ref"] for a in seen] == [registered[unit]], unit
        outsider = login(client, users[NOT_CHOSEN])
        assert client.get("/api/alerts", headers=outsider).json() == []
        assert client.get(f"/api/alerts/{run_id}/AL-0001", headers=outsider).status_code == 404
        assert client.get("/api/flights/T-NARCO", headers=outsider).json()["alerts"] == []
    assert [e["details"]["unit"] for e in dispatch_actions(store)] == chosen
    assert all(e["actor"] == "dispatch policy" for e in dispatch_actions(store))
    verdict = store.verify_audit()
    assert verdict.ok and verdict.n_entries == len(chosen) + len(chosen)  # the dispatches, then one read each


def test_a_live_run_dispatches_each_alert_by_the_policy_as_it_arrives(tmp_path):
    outputs = outputs_with_sigma()
    units = default_units()
    chosen = plan_dispatch(outputs.alerts, units)["unit_id"].tolist()
    store = Store(tmp_path / "c.db")
    store.create_run("live-1")
    users = add_users(store, ["VRAEM-OPS", NOT_CHOSEN])
    tracks = outputs.tracks

    async def live_feed():
        t_mid, t_end = float(tracks["t"].median()), float(tracks["t"].max())
        yield Batch(t_mid, "live-1", tracks[tracks["t"] <= t_mid], outputs.alerts.iloc[:0])
        await asyncio.sleep(0.01)
        yield Batch(t_end, "live-1", tracks[tracks["t"] > t_mid], outputs.alerts)

    app = create_app(store, feed=live_feed(), persist_feed=True, units=units, min_subscribers=2)
    with TestClient(app) as client:
        streams = {}
        with (client.websocket_connect("/api/live", headers=login(client, users["VRAEM-OPS"])) as ops,
              client.websocket_connect("/api/live", headers=login(client, users[NOT_CHOSEN])) as lima):
            for unit, ws in (("VRAEM-OPS", ops), (NOT_CHOSEN, lima)):
                streams[unit] = []
                while (message := json.loads(ws.receive_text()))["type"] != "end":
                    streams[unit] += message.get("alerts", [])
    assert store.recipients("live-1", "AL-0001")["unit"].tolist() == chosen
    registered = store.copies(run_id="live-1").set_index("unit_id")["copy_ref"]
    assert sorted(registered.index) == sorted(chosen)
    assert [a["copy_ref"] for a in streams["VRAEM-OPS"]] == [registered["VRAEM-OPS"]]
    assert streams[NOT_CHOSEN] == []
    assert [e["details"]["unit"] for e in dispatch_actions(store)] == chosen
    assert store.verify_audit().ok


def test_an_alert_without_a_predicted_site_goes_to_the_operations_centre(tmp_path):
    outputs = outputs_with_sigma()
    outputs.alerts = outputs.alerts.assign(predicted_site=[{"lat": None, "lon": None, "airstrip_id": None}])
    write_outputs(outputs, tmp_path / "out")
    store = Store(tmp_path / "c.db")
    _, run_id = load_replay(store, tmp_path / "out")
    assert store.recipients(run_id, "AL-0001")["unit"].tolist() == ["VRAEM-OPS"]
    assert store.verify_audit().ok
    # (with the server/marking.py patch, reading it through the API also works: see server_marking.patch)
