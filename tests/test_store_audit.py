"""The store's audit table as a hash chain: every dispatch, read and widening is an entry; tampering with the
rows through SQL is found and named; a version-1 database is chained when it is opened."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from centinela.alerts.audit import verify_chain
from centinela.server.sample import sample_outputs
from centinela.store import Store, add_user, schema

FAST_SCRYPT_N = 2**10


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "c.db")
    store.load_outputs(sample_outputs(), "day1", dispatch_to_units=["VRAEM-OPS"])
    return store


def _users(store):
    return (add_user(store, "op", "pw", role="operator", unit="VRAEM-OPS", scrypt_n=FAST_SCRYPT_N),
            add_user(store, "lima", "pw", role="analyst", unit="LIMA-HQ", scrypt_n=FAST_SCRYPT_N),
            add_user(store, "root", "pw", role="admin", unit="IT", scrypt_n=FAST_SCRYPT_N))


def test_dispatches_reads_and_widenings_form_one_verified_chain(store):
    op, lima, _ = _users(store)
    store.read_alerts(op, "GET /api/alerts")
    request = store.request_widening("day1", "AL-0001", "LIMA-HQ", requested_by="op", reason="HQ briefs the judge")
    with pytest.raises(PermissionError, match="second person"):
        store.approve_widening(request, approved_by="op", reason="me", authorised={"op"})
    with pytest.raises(PermissionError, match="not authorised"):
        store.approve_widening(request, approved_by="lima", reason="ok", authorised={"root"})
    assert store.read_alerts(lima, "x").empty  # nothing changed before the approval
    store.approve_widening(request, approved_by="root", reason="agreed", authorised={"root"})
    assert store.read_alerts(lima, "GET /api/alerts")["alert_id"].tolist() == ["AL-0001"]
    with pytest.raises(KeyError):
        store.approve_widening(request, approved_by="root", reason="again", authorised={"root"})

    entries = store.audit_entries()
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("dispatch", "load"), ("read", "op"), ("widen_request", "op"), ("widen_approve", "root"), ("read", "lima")]
    assert entries[3]["details"]["reason"] == "HQ briefs the judge"
    assert entries[3]["details"]["approval_reason"] == "agreed"
    assert store.verify_audit().ok and store.audit_head()["seq"] == 4
    dispatch = store.dispatch_frame(run_id="day1")
    assert dispatch[["unit_id", "widened_by", "approved_by"]].fillna("").values.tolist() == [
        ["VRAEM-OPS", "", ""], ["LIMA-HQ", "op", "root"]]
    assert store.audit_log()["username"].tolist() == ["op", "lima"]  # reads only, as before
    assert len(store.audit_log(actions=None)) == 5


def test_sql_tampering_with_the_audit_rows_is_named(store, tmp_path):
    op, _, _ = _users(store)
    for _ in range(5):
        store.read_alerts(op, "GET /api/alerts")
    anchor = store.audit_head()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    with engine.begin() as conn:  # someone with the database file hides that op read the alert at seq 2
        conn.execute(sa.text("UPDATE audit SET username = 'nobody' WHERE seq = 2"))
    assert [(p.seq, p.kind) for p in store.verify_audit().problems] == [(2, "edited")]
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit SET username = 'op' WHERE seq = 2"))
        conn.execute(sa.text("DELETE FROM audit WHERE seq = 4"))
    assert [(p.seq, p.kind) for p in store.verify_audit().problems] == [(4, "removed")]
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit WHERE seq = 5"))  # now the tail: only the anchor knows
    assert [(p.seq, p.kind) for p in store.verify_audit([anchor]).problems] == [(4, "removed"), (5, "removed")]


def test_a_version_1_database_is_chained_when_opened(tmp_path):
    path = tmp_path / "v1.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    v1_audit = sa.Table("audit", sa.MetaData(),
                        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                        sa.Column("t", sa.Float, nullable=False), sa.Column("username", sa.String(100), nullable=False),
                        sa.Column("unit", sa.String(100)), sa.Column("run_id", sa.String(200), nullable=False),
                        sa.Column("alert_id", sa.String(100), nullable=False), sa.Column("alert_key", sa.Integer),
                        sa.Column("endpoint", sa.String(200), nullable=False),
                        sa.Index("ix_audit_alert", "run_id", "alert_id"), sa.Index("ix_audit_t", "t"))
    with engine.begin() as conn:  # today's schema taken back to version 1
        schema.metadata.create_all(conn)
        for table in ("audit", "alert_copies", "widening_requests"):
            conn.execute(sa.text(f"DROP TABLE {table}"))
        for column in ("reason", "widened_by", "approved_by"):
            conn.execute(sa.text(f"ALTER TABLE alert_recipients DROP COLUMN {column}"))
        v1_audit.metadata.create_all(conn)
        conn.execute(schema.schema_version.insert().values(version=1, applied_at=0.0, description="initial schema"))
        conn.execute(v1_audit.insert(), [
            {"t": 100.0 + k, "username": "op", "unit": "VRAEM-OPS", "run_id": "day1", "alert_id": "AL-0001",
             "alert_key": 1, "endpoint": "GET /api/alerts"} for k in range(3)])
    store = Store(path)
    with store.engine.connect() as conn:
        assert schema.current_version(conn) == schema.SCHEMA_VERSION
    assert store.audit_log()[["t", "username", "endpoint"]].values.tolist() == [
        [100.0 + k, "op", "GET /api/alerts"] for k in range(3)]
    assert verify_chain(store.audit_entries()).ok
    store.load_outputs(sample_outputs(), "day1", dispatch_to_units=["VRAEM-OPS"])  # the new tables work
    assert store.audit_head()["seq"] == 3 and store.verify_audit().ok
