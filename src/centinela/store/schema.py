"""The database schema (SQLAlchemy Core, one definition for SQLite and PostgreSQL) and its migrations.

Tables hold what ``analyze`` writes (tracks, events, airstrips, assessments, alerts; one ``runs`` row per load)
and what the operations centre needs on top: users and their sessions, the units or users each alert is
dispatched to (``alert_recipients``), each recipient's marked copy (``alert_copies``), requests to widen a
distribution (``widening_requests``) and the hash-chained, append-only ``audit`` of every dispatch, read, export
and change of distribution.

List-valued output fields (an event's or alert's ``track_ids``) are stored twice: as JSON text, to give the
value back exactly, and in the link tables ``event_tracks`` / ``alert_tracks``, so "everything about track X"
is an indexed lookup. JSON goes in TEXT columns: the same bytes on both databases, no dialect types.

Migrations: a versioned table rather than Alembic. One MetaData serves both databases, so a new database is
made with ``create_all`` and stamped with :data:`SCHEMA_VERSION` (what Alembic itself recommends for fresh
databases); an existing one runs the ordered steps of :data:`UPGRADES` above its recorded version, each in
the transaction that records it. That keeps Alembic's guarantees for a schema this small without its ini
file, environment script and revision folder. Moving to Alembic later means stamping the revision that
matches the version.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable

import sqlalchemy as sa

SCHEMA_VERSION = 2

metadata = sa.MetaData()

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),  # analyze | replay | live
    sa.Column("source", sa.Text),  # the outputs folder or feed it came from
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("stages", sa.Text),  # JSON of model.Outputs.stages
)

tracks = sa.Table(
    "tracks", metadata,
    sa.Column("run_key", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("t", sa.Float, nullable=False),
    sa.Column("track_id", sa.String(100), nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("alt_m", sa.Float),
    sa.Column("vn_mps", sa.Float),
    sa.Column("ve_mps", sa.Float),
    sa.Column("sigma_pos_m", sa.Float),
    sa.Column("flight_id", sa.String(100)),
    sa.Column("icao24", sa.String(6)),
    sa.Column("callsign", sa.String(20)),
    sa.Column("squawk", sa.String(4)),
    sa.Column("sensors", sa.Text),
    # The map's query: a time window, then a bounding box read from the same index entries.
    sa.Index("ix_tracks_t_lat_lon", "t", "lat", "lon"),
    # A flight's dossier: every update of one track in time order.
    sa.Index("ix_tracks_track_id_t", "track_id", "t"),
    sa.Index("ix_tracks_flight_id", "flight_id"),
    sa.Index("ix_tracks_run", "run_key"),
)

events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_key", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("t", sa.Float, nullable=False),
    sa.Column("t_end", sa.Float),
    sa.Column("lat", sa.Float),
    sa.Column("lon", sa.Float),
    sa.Column("track_ids", sa.Text),  # JSON list
    sa.Column("airstrip_id", sa.String(100)),
    sa.Column("confidence", sa.Float),
    sa.Column("extra", sa.Text),  # JSON of the optional fields the detector added (evidence, ...)
    sa.Index("ix_events_t", "t"),
    sa.Index("ix_events_airstrip_id", "airstrip_id"),
    sa.Index("ix_events_run", "run_key"),
)

event_tracks = sa.Table(
    "event_tracks", metadata,
    sa.Column("event_key", sa.Integer, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    sa.Column("track_id", sa.String(100), nullable=False),
    sa.Index("ix_event_tracks_track_id", "track_id"),
    sa.Index("ix_event_tracks_event", "event_key"),
)

airstrips = sa.Table(
    "airstrips", metadata,
    sa.Column("run_key", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("registered", sa.Boolean, nullable=False),
    sa.Column("icao", sa.String(10)),
    sa.Column("landings", sa.Integer),
    sa.Column("first_seen", sa.Float),
    sa.Column("last_seen", sa.Float),
    sa.Column("confidence", sa.Float),
    sa.Column("extra", sa.Text),
)

assessments = sa.Table(
    "assessments", metadata,
    sa.Column("run_key", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("track_id", sa.String(100), primary_key=True),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("extra", sa.Text),  # JSON of optional columns: indicators, explanations, ...
    sa.Index("ix_assessments_track_id", "track_id"),
)

alerts = sa.Table(
    "alerts", metadata,
    # A surrogate key: alert_id is unique within a run only, and recipients and audit need one handle.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_key", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("alert_id", sa.String(100), nullable=False),
    sa.Column("track_ids", sa.Text, nullable=False),  # JSON list
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("t_issued", sa.Float, nullable=False),
    sa.Column("indicators", sa.Text),  # JSON list or dict
    sa.Column("site_lat", sa.Float),
    sa.Column("site_lon", sa.Float),
    sa.Column("site_airstrip_id", sa.String(100)),
    sa.Column("eta", sa.Float),
    sa.Column("eta_window_s", sa.Float),
    sa.Column("extra", sa.Text),
    sa.UniqueConstraint("run_key", "alert_id", name="uq_alerts_run_alert_id"),
    sa.Index("ix_alerts_t_issued", "t_issued"),
)

alert_tracks = sa.Table(
    "alert_tracks", metadata,
    sa.Column("alert_key", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("track_id", sa.String(100), nullable=False),
    sa.Index("ix_alert_tracks_track_id", "track_id"),
    sa.Index("ix_alert_tracks_alert", "alert_key"),
)

users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("unit", sa.String(100), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

sessions = sa.Table(
    "sessions", metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),  # the token itself is never stored
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

alert_recipients = sa.Table(
    "alert_recipients", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_key", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("unit", sa.String(100)),  # every user of this unit may read the alert ...
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE")),  # ... or this one user
    sa.Column("dispatched_at", sa.Float, nullable=False),
    sa.Column("dispatched_by", sa.String(100)),
    # Version 2: why this recipient, and for a widened distribution who asked and who approved.
    sa.Column("reason", sa.Text),
    sa.Column("widened_by", sa.String(100)),
    sa.Column("approved_by", sa.String(100)),
    sa.CheckConstraint("unit IS NOT NULL OR user_id IS NOT NULL", name="ck_alert_recipients_someone"),
    sa.Index("ix_alert_recipients_alert", "alert_key"),
    sa.Index("ix_alert_recipients_unit", "unit"),
    sa.Index("ix_alert_recipients_user", "user_id"),
)

# Append-only and hash-chained (centinela.alerts.audit): each row is one entry {seq, t, actor (username),
# action, details, prev_hash, hash}. The details a query filters on (unit, run_id, alert_id, alert_key,
# endpoint) have their own columns and are folded back into ``details`` when the chain is verified, so every
# column is covered by the hash. Names and ids are kept as text, without foreign keys, so that replacing a
# run or removing a user never erases who read what.
audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("t", sa.Float, nullable=False),
    sa.Column("username", sa.String(100), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),  # read | dispatch | export | widen_request | ...
    sa.Column("unit", sa.String(100)),
    sa.Column("run_id", sa.String(200)),
    sa.Column("alert_id", sa.String(100)),
    sa.Column("alert_key", sa.Integer),  # alerts.id at the time of the entry
    sa.Column("endpoint", sa.String(200)),
    sa.Column("details", sa.Text),  # canonical JSON of the other details
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # Two writers that read the same head cannot both append: the second fails instead of forking the chain.
    sa.UniqueConstraint("seq", name="uq_audit_seq"),
    sa.UniqueConstraint("prev_hash", name="uq_audit_prev_hash"),
    sa.Index("ix_audit_alert", "run_id", "alert_id"),
    sa.Index("ix_audit_t", "t"),
)

# Each recipient's individually marked copy of an alert (centinela.alerts.marking), made at its first read and
# served unchanged after: what a recipient saw is what a leak is traced against.
alert_copies = sa.Table(
    "alert_copies", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_key", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("recipient", sa.String(100), nullable=False),  # a unit, or "user:NAME" for a user dispatch
    sa.Column("copy_ref", sa.String(100), nullable=False),
    sa.Column("alert", sa.Text, nullable=False),  # JSON: the alert record as this recipient sees it
    sa.Column("text", sa.Text),  # the marked bulletin
    sa.Column("marks", sa.Text),  # JSON: what was varied, for tracing
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("alert_key", "recipient", name="uq_alert_copies_recipient"),
)

# Two-person widening of a distribution: a request (who, which unit, why), then an approval by someone else.
widening_requests = sa.Table(
    "widening_requests", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_key", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("unit", sa.String(100), nullable=False),
    sa.Column("requested_by", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("requested_at", sa.Float, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # pending | approved
    sa.Column("approved_by", sa.String(100)),
    sa.Column("approval_reason", sa.Text),
    sa.Column("approved_at", sa.Float),
    sa.Index("ix_widening_requests_alert", "alert_key"),
)

schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.Float, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
)


def _chain_the_audit(conn: sa.Connection) -> None:
    """Version 2: the audit becomes a hash chain. The version-1 rows (reads) are chained in the order they were
    written, as action ``read``; marked copies and widening requests get their tables."""
    from centinela.alerts.audit import chain_entry

    conn.execute(sa.text("DROP INDEX IF EXISTS ix_audit_alert"))
    conn.execute(sa.text("DROP INDEX IF EXISTS ix_audit_t"))
    conn.execute(sa.text("ALTER TABLE audit RENAME TO audit_v1"))
    if conn.dialect.name == "postgresql":  # the old key's index and id sequence keep their names otherwise
        conn.execute(sa.text("ALTER INDEX audit_pkey RENAME TO audit_v1_pkey"))
        conn.execute(sa.text("ALTER SEQUENCE audit_id_seq RENAME TO audit_v1_id_seq"))
    metadata.create_all(conn, tables=[audit, alert_copies, widening_requests])
    for name, kind in (("reason", "TEXT"), ("widened_by", "VARCHAR(100)"), ("approved_by", "VARCHAR(100)")):
        conn.execute(sa.text(f"ALTER TABLE alert_recipients ADD COLUMN {name} {kind}"))
    old = conn.execute(sa.text("SELECT t, username, unit, run_id, alert_id, alert_key, endpoint FROM audit_v1 "
                               "ORDER BY id")).mappings().all()
    head, rows = None, []
    for row in old:
        details = {k: row[k] for k in AUDIT_DETAIL_COLUMNS}
        head = chain_entry(head, "read", row["username"], details, t=row["t"])
        rows.append(audit_row(head))
    if rows:
        conn.execute(audit.insert(), rows)
    conn.execute(sa.text("DROP TABLE audit_v1"))


# Details with a column of their own in the audit table (the rest go to its ``details`` JSON).
AUDIT_DETAIL_COLUMNS = ("unit", "run_id", "alert_id", "alert_key", "endpoint")


def audit_row(entry: dict) -> dict:
    """An audit entry (centinela.alerts.audit) as a row of the ``audit`` table."""
    details = dict(entry["details"])
    row = {k: details.pop(k, None) for k in AUDIT_DETAIL_COLUMNS}
    row.update(seq=entry["seq"], t=entry["t"], username=entry["actor"], action=entry["action"],
               details=json.dumps(details, sort_keys=True) if details else None,
               prev_hash=entry["prev_hash"], hash=entry["hash"])
    return row


def audit_entry(row) -> dict:
    """A row of the ``audit`` table back as the entry it was written from (what verify_chain checks)."""
    details = json.loads(row["details"]) if row["details"] else {}
    details.update({k: row[k] for k in AUDIT_DETAIL_COLUMNS if row[k] is not None})
    return {"seq": row["seq"], "t": row["t"], "actor": row["username"], "action": row["action"],
            "details": details, "prev_hash": row["prev_hash"], "hash": row["hash"]}


# version -> (description, step). A step gets a connection inside a transaction and moves the schema from
# version - 1 to version.
UPGRADES: dict[int, tuple[str, Callable[[sa.Connection], None]]] = {
    2: ("hash-chained audit, marked copies, widening requests", _chain_the_audit),
}


class SchemaError(RuntimeError):
    """The database was written by a newer Centinela, or an upgrade step is missing."""


def current_version(conn: sa.Connection) -> int | None:
    """The schema version recorded in the database, or None for a database Centinela never touched."""
    if not sa.inspect(conn).has_table("schema_version"):
        return None
    return conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()


def migrate(engine: sa.Engine) -> int:
    """Bring the database to :data:`SCHEMA_VERSION` and return the version it was at (0 when new)."""
    with engine.begin() as conn:
        found = current_version(conn)
        if found is None:
            metadata.create_all(conn)
            conn.execute(schema_version.insert().values(
                version=SCHEMA_VERSION, applied_at=time.time(), description="initial schema"))
            return 0
        if found > SCHEMA_VERSION:
            raise SchemaError(f"the database has schema version {found}; this Centinela knows up to "
                              f"{SCHEMA_VERSION}: upgrade Centinela")
    for version in range(found + 1, SCHEMA_VERSION + 1):
        if version not in UPGRADES:
            raise SchemaError(f"no upgrade step to schema version {version}")
        description, step = UPGRADES[version]
        with engine.begin() as conn:
            step(conn)
            conn.execute(schema_version.insert().values(
                version=version, applied_at=time.time(), description=description))
    return found
