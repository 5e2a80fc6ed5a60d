"""Need to know in the operations centre, against a real SQLite store through FastAPI's TestClient: every path
tried as an uncleared user, marked copies per recipient, signed exports, two-person widening, leak tracing and
statistics, and the audit's verification. (The live stream's clearance is tried in test_server.py.)"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from centinela.alerts.marking import FALLBACK_SIGMA_SITE_M
from centinela.alerts.signing import generate_keypair, verify_export
from centinela.alerts.units import default_units
from centinela.geo.frames import haversine_m
from centinela.server import create_app
from centinela.server.sample import STRIP, sample_outputs
from centinela.store import Store, add_user

FAST_SCRYPT_N = 2**10
APPROVER = "jefe.ops.vraem"  # named in the packaged register's approvers
USERS = {  # name: (role, unit)
    "op": ("operator", "VRAEM-OPS"),
    "ana": ("analyst", "VRAEM-OPS"),
    "pol": ("operator", "DIRANDRO-PICHARI"),
    "lima": ("analyst", "DIRANDRO-ANALYSIS-LIMA"),  # cleared in the register, but not sent this alert
    "outsider": ("operator", "PNP-SAN-FRANCISCO"),
    "root": ("admin", "IT"),
    APPROVER: ("operator", "VRAEM-OPS"),
}
PATH_VALUES = {"run_id": "day1", "alert_id": "AL-0001", "track_id": "T-NARCO", "airstrip_id": "AS-0001",
               "request_id": "1"}


@pytest.fixture
def setup(tmp_path):
    store = Store(tmp_path / "c.db")
    store.load_outputs(sample_outputs(), "day1", dispatch_to_units=["VRAEM-OPS", "DIRANDRO-PICHARI"])
    for name, (role, unit) in USERS.items():
        add_user(store, name, f"{name}-pw", role=role, unit=unit, scrypt_n=FAST_SCRYPT_N)
    private, public = generate_keypair(tmp_path / "keys")
    app = create_app(store, signing_key=private, approvers=[APPROVER], units=default_units())
    return store, app, public, tmp_path


def login(app, name: str) -> TestClient:
    client = TestClient(app)
    assert client.post("/api/login", json={"username": name, "password": f"{name}-pw"}).status_code == 200
    return client


def _same_answer(a, b) -> bool:
    """Two error answers that differ only in the ids the caller sent."""
    strip = lambda r: (r.status_code, re.sub(r"AL-\d+|\d+", "ID", r.text))
    return strip(a) == strip(b)


def test_an_uncleared_user_learns_nothing_on_any_path(setup):
    store, app, _, _ = setup
    op = login(app, "op")
    seen = op.get("/api/alerts/day1/AL-0001").json()  # what a leak of the alert would look like
    # The marked site to 6 decimals (0.1 m): the copy's own random shift makes it unique, whereas 4 decimals
    # (10 m) can coincide with a track position near the strip that the air picture rightly shows everyone.
    secrets = {seen["copy_ref"], f"{seen['predicted_site']['lat']:.6f}", str(int(seen["eta"]))}
    for name in ("lima", "outsider"):
        client = login(app, name)
        gets = [r for r in app.routes if isinstance(r, APIRoute) and "GET" in r.methods and r.path.startswith("/api")]
        assert len(gets) >= 15
        for route in gets:
            path = re.sub(r"{(\w+)}", lambda m: PATH_VALUES[m.group(1)], route.path)
            for query in ({}, {"run_id": "day1", "alert_id": "AL-0001", "action": "all"}):
                answer = client.get(path, params=query)
                # An error may repeat the id the caller sent; a success must not mention the alert at all.
                leaked = [s for s in secrets | ({"AL-0001"} if answer.is_success else set()) if s in answer.text]
                assert not leaked, (name, path, query, leaked)
        # Errors do not tell "not cleared" from "does not exist".
        for suffix in ("", "/export"):
            assert _same_answer(client.get(f"/api/alerts/day1/AL-0001{suffix}"),
                                client.get(f"/api/alerts/day1/AL-9999{suffix}"))
        widen = {"unit": "DIRANDRO-AYACUCHO", "reason": "curious"}
        assert _same_answer(client.post("/api/alerts/day1/AL-0001/widen", json=widen),
                            client.post("/api/alerts/day1/AL-9999/widen", json=widen))
        assert client.get("/api/alerts/day1/AL-0001").status_code == 404
        assert client.get("/api/flights/T-NARCO").json()["alerts"] == []
    # The analyst's leak search covers the alerts cleared to the analyst only.
    traced = login(app, "lima").post("/api/trace-leak", json={"text": seen["bulletin"]}).json()
    assert traced["verdict"] == "too small to tell" and traced["ranking"] == []
    assert store.widening_requests().empty


def test_each_recipient_reads_its_own_marked_copy_and_a_leak_traces_back(setup):
    store, app, _, _ = setup
    op, ana, pol, root = (login(app, n) for n in ("op", "ana", "pol", "root"))
    a_op, a_ana, a_pol = (c.get("/api/alerts/day1/AL-0001").json() for c in (op, ana, pol))
    assert a_op == a_ana  # one copy per unit, served unchanged at every read
    assert a_op["copy_ref"] != a_pol["copy_ref"]
    assert a_op["predicted_site"] != a_pol["predicted_site"]
    for copy in (a_op, a_pol):  # operationally the same: within a tenth of the site's uncertainty
        _, lat, lon = STRIP
        shift_m = haversine_m(lat, lon, copy["predicted_site"]["lat"], copy["predicted_site"]["lon"])
        assert shift_m <= 0.1 * FALLBACK_SIGMA_SITE_M + 2
        assert copy["eta_lo"] <= copy["eta"] <= copy["eta_hi"] and copy["eta_window_s"] >= 300.0
    assert op.get("/api/alerts").json()[0]["copy_ref"] == a_op["copy_ref"]
    assert op.get("/api/flights/T-NARCO").json()["alerts"][0]["copy_ref"] == a_op["copy_ref"]
    reads = store.audit_log()
    assert set(reads["username"]) == {"op", "ana", "pol"}

    three_lines = "\n".join(a_pol["bulletin"].splitlines()[2:5])  # a retyped fragment of pol's copy
    for text, unit in ((a_op["bulletin"], "VRAEM-OPS"), (three_lines, "DIRANDRO-PICHARI")):
        traced = root.post("/api/trace-leak", json={"text": text}).json()
        assert traced["verdict"] == "attributed" and traced["top_unit"] == unit, traced
    assert login(app, "op").post("/api/trace-leak", json={"text": "x"}).status_code == 403
    assert [e["action"] for e in store.audit_entries()][-2:] == ["trace_leak", "trace_leak"]


def test_exports_are_signed_marked_audited_and_anchor_the_audit(setup):
    store, app, public, _ = setup
    op = login(app, "op")
    doc = op.get("/api/alerts/day1/AL-0001/export").json()
    assert verify_export(doc, public)
    assert doc["payload"]["alert"]["copy_ref"] == op.get("/api/alerts/day1/AL-0001").json()["copy_ref"]
    exports = store.audit_log(actions=["export"])
    assert exports[["username", "alert_id"]].values.tolist() == [["op", "AL-0001"]]
    head = doc["payload"]["audit_head"]
    assert head["seq"] >= int(exports["seq"].iloc[0])
    assert store.verify_audit([head]).ok
    evidence = op.get("/api/flights/T-NARCO/export").json()
    assert verify_export(evidence, public) and evidence["payload"]["dossier"]["alerts"][0]["alert_id"] == "AL-0001"
    unsigned = create_app(store)  # a server without a key says so
    assert login(unsigned, "op").get("/api/alerts/day1/AL-0001/export").status_code == 503


def test_widening_needs_a_reason_and_a_second_authorised_person(setup):
    store, app, _, _ = setup
    op, lima, approver, root = (login(app, n) for n in ("op", "lima", APPROVER, "root"))
    assert op.post("/api/alerts/day1/AL-0001/widen", json={"unit": "DIRANDRO-ANALYSIS-LIMA", "reason": " "}
                   ).status_code == 400
    asked = op.post("/api/alerts/day1/AL-0001/widen", json={"unit": "DIRANDRO-ANALYSIS-LIMA",
                                                            "reason": "Lima analysis links it to a network"})
    request_id = asked.json()["request_id"]
    assert op.post(f"/api/widening/{request_id}/approve", json={"reason": "mine"}).status_code == 404
    assert lima.get("/api/alerts").json() == []
    own = approver.post("/api/alerts/day1/AL-0001/widen", json={"unit": "BASE-VIZCATAN", "reason": "army"})
    own_id = own.json()["request_id"]
    assert approver.post(f"/api/widening/{own_id}/approve", json={"reason": "ok"}).status_code == 403  # same person
    low = root.post(f"/api/widening/{own_id}/approve", json={"reason": "ok"})
    assert low.status_code == 403 and "clearance" in low.text  # the register: BASE-VIZCATAN is not cleared
    assert root.post(f"/api/widening/{request_id}/approve", json={"reason": ""}).status_code == 400
    done = approver.post(f"/api/widening/{request_id}/approve", json={"reason": "needed for the case"})
    assert done.status_code == 200, done.text
    assert [a["alert_id"] for a in lima.get("/api/alerts").json()] == ["AL-0001"]
    assert [r["status"] for r in root.get("/api/widening").json()] == ["approved", "pending"]
    assert [r["id"] for r in op.get("/api/widening").json()] == [request_id]  # requesters see their own
    actions = [e["action"] for e in store.audit_entries()]
    assert actions.count("widen_request") == 2 and actions.count("widen_approve") == 1


def test_leak_statistics_and_the_audit_check_are_served_and_audited(setup):
    store, app, _, tmp_path = setup
    ana, op, root = (login(app, n) for n in ("ana", "op", "root"))
    op.get("/api/alerts")
    leaks = ana.get("/api/leaks").json()
    assert {"VRAEM-OPS", "DIRANDRO-PICHARI"} <= {r["unit_id"] for r in leaks}
    row = next(r for r in leaks if r["unit_id"] == "VRAEM-OPS")
    assert 0.0 <= row["leak_lo"] <= row["leak_mean"] <= row["leak_hi"] <= 1.0 and row["flagged"] is False
    assert op.get("/api/leaks").status_code == 403
    assert ana.get("/api/audit/verify").status_code == 403
    verdict = root.get("/api/audit/verify").json()
    assert verdict["ok"] is True and verdict["problems"] == []
    with sa.create_engine(f"sqlite:///{tmp_path / 'c.db'}").begin() as conn:
        conn.execute(sa.text("UPDATE audit SET unit = 'SOMEONE-ELSE' WHERE seq = 1"))
    verdict = root.get("/api/audit/verify").json()
    assert verdict["ok"] is False and verdict["problems"][0] == {
        "seq": 1, "kind": "edited", "message": "seq 1's content no longer matches its hash"}
    checkpoint = root.post("/api/audit/checkpoint").json()
    assert checkpoint["payload"]["audit_head"] == store.audit_head()
    actions = [e["action"] for e in store.audit_entries()]
    assert {"leak_posteriors", "audit_verify", "audit_checkpoint"} <= set(actions)
