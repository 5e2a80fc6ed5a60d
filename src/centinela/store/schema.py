"""The database schema (SQLAlchemy Core, one definition for SQLite and PostgreSQL) and its migrations.

Tables hold what ``analyze`` writes (tracks, events, airstrips, assessments, alerts; one ``runs`` row per load)
and what the operations centre needs on top: users and their sessions, the units or users each alert is
dispatched to (``alert_recipients``) and an append-only ``audit`` of every read of an alert.

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

import time
from collections.abc import Callable

import sqlalchemy as sa

SCHEMA_VERSION = 1

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
    sa.CheckConstraint("unit IS NOT NULL OR user_id IS NOT NULL", name="ck_alert_recipients_someone"),
    sa.Index("ix_alert_recipients_alert", "alert_key"),
    sa.Index("ix_alert_recipients_unit", "unit"),
    sa.Index("ix_alert_recipients_user", "user_id"),
)

# Append-only. Keeps names and ids as text, without foreign keys, so that replacing a run or removing a user
# never erases who read what.
audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("t", sa.Float, nullable=False),
    sa.Column("username", sa.String(100), nullable=False),
    sa.Column("unit", sa.String(100)),
    sa.Column("run_id", sa.String(200), nullable=False),
    sa.Column("alert_id", sa.String(100), nullable=False),
    sa.Column("alert_key", sa.Integer),  # alerts.id at the time of the read
    sa.Column("endpoint", sa.String(200), nullable=False),
    sa.Index("ix_audit_alert", "run_id", "alert_id"),
    sa.Index("ix_audit_t", "t"),
)

schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.Float, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
)

# version -> (description, step). A step gets a connection inside a transaction and moves the schema from
# version - 1 to version. The list is empty until the first change after version 1.
UPGRADES: dict[int, tuple[str, Callable[[sa.Connection], None]]] = {}


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
