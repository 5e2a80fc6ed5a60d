"""The store: analysis and live results in SQLite (one file, WAL) or PostgreSQL, behind one class.

``Store(url)`` takes a SQLAlchemy URL (``sqlite:///path.db``, ``postgresql+psycopg://user@host:port/db``) or a
plain file path (SQLite). Loads take the frames of :class:`centinela.model.Outputs`; queries give DataFrames
with the columns of :mod:`centinela.model` plus ``run_id``.

Alerts are need-to-know: :meth:`Store.read_alerts` is the only way to their contents, it returns only the
alerts dispatched to the reading user or the user's unit — each recipient its own marked copy when the store
has a ``marker`` — and it writes one audit entry per alert it returns, in the same transaction. The audit is a
hash chain (:mod:`centinela.alerts.audit`): dispatches, reads, exports and widenings are entries of it, and
:meth:`Store.verify_audit` says which entry was edited, removed, reordered or inserted.

>>> import tempfile, pandas as pd
>>> from centinela.model import Outputs, conform, TRACK_COLUMNS
>>> store = Store(tempfile.mkdtemp() + "/c.db")
>>> tracks = conform(pd.DataFrame({"t": [0.0, 10.0], "track_id": ["T1", "T1"], "lat": [-12.5, -12.51],
...                                "lon": [-73.9, -73.89]}), TRACK_COLUMNS)
>>> store.load_outputs(Outputs(tracks=tracks), run_id="day1")
>>> store.tracks(0.0, 5.0)[["run_id", "track_id", "lat"]].values.tolist()
[['day1', 'T1', -12.5]]
"""
from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from centinela import model
from centinela.alerts.audit import AuditVerdict, chain_entry, verify_chain
from centinela.errors import InputError
from centinela.store import schema as s
from centinela.store.users import (
    ROLES,
    SCRYPT_N,
    User,
    hash_password,
    new_token,
    token_digest,
    verify_password,
)

# One operations-centre shift: a login lasts this long.
SESSION_TTL_S = 12 * 3600.0
# SQLite waits this long for a writer (the live feed) before failing a read with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5000

# (lon_min, lat_min, lon_max, lat_max), WGS84 degrees
BBox = tuple[float, float, float, float]

TRACK_FIELDS = list(model.TRACK_COLUMNS) + list(model.TRACK_OPTIONAL_COLUMNS)
# Another process appended to the audit between our read of its head and our write (the unique seq refused
# ours): try the whole transaction again, this many times.
AUDIT_RETRIES = 5
AUDIT_COLUMNS = ["t", "username", "unit", "run_id", "alert_id", "endpoint", "action", "seq"]
COPY_COLUMNS = ["run_id", "alert_id", "unit_id", "copy_ref", "text", "marks", "created_at"]
WIDENING_COLUMNS = ["id", "run_id", "alert_id", "unit", "requested_by", "reason", "requested_at", "status",
                    "approved_by", "approval_reason", "approved_at"]

# A recipient's marked copy: ``marker(alert_record, recipient, existing_copies)`` returns {"alert": the record as
# this recipient sees it, "copy_ref": str, "text": the marked bulletin, "marks": JSON text}; ``existing_copies``
# (alert_id, unit_id, copy_ref, text, marks) are the alert's copies so far. When they hold the recipient's own
# (dispatched with its copy), the marker must give that copy back: same copy_ref, text and marks. See
# centinela.server.marking.
Marker = Callable[[dict, str, pd.DataFrame], dict]


def _engine(url: str | Path) -> sa.Engine:
    text = str(url)
    if "://" not in text:
        text = f"sqlite:///{Path(text).expanduser().resolve()}"
    engine = sa.create_engine(text, future=True)
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            # WAL lets the map read while the live feed writes; NORMAL sync is safe with WAL (no corruption,
            # at worst the last commit is lost on power failure).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()
    return engine


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA:
        return None
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def _to_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=_json_default, allow_nan=False)


def _from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _id_list(value: Any) -> list[str]:
    """A ``track_ids`` cell (list, array, JSON text or one id) as a list of strings."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if _is_missing(value):
        return []
    if isinstance(value, str) and value.startswith("["):
        return [str(v) for v in json.loads(value)]
    return [str(value)]


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts for executemany, with NaN/NA as None (SQLite and PostgreSQL treat NaN differently)."""
    if df.empty:
        return []
    plain = df.astype(object)
    return plain.where(plain.notna(), None).to_dict("records")


def _column_values(column: pd.Series) -> list[Any]:
    """One column as Python values with None for missing ones, converted a whole column at a time."""
    if column.dtype.kind == "f":
        values = column.to_numpy(dtype=float)
        return np.where(np.isnan(values), None, values).tolist()
    plain = column.astype(object)
    return plain.where(plain.notna(), None).tolist()


def _bulk_insert(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """Insert a large frame (columns named as the table's) in the connection's transaction, by the fastest
    path each database has: PostgreSQL's COPY, SQLite's executemany on positional rows. This skips
    SQLAlchemy's per-row parameter handling, which costs more than the database's own work here."""
    names = ", ".join(frame.columns)
    if conn.dialect.name == "postgresql":
        with (conn.connection.driver_connection.cursor() as cursor,
              cursor.copy(f"COPY {table.name} ({names}) FROM STDIN (FORMAT CSV, NULL '')") as copy):
            copy.write(frame.to_csv(index=False, header=False, na_rep=""))
        return
    rows = list(zip(*(_column_values(frame[c]) for c in frame.columns)))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(frame.columns))})", rows)


def _extras(df: pd.DataFrame, known: Iterable[str]) -> list[str | None]:
    """The columns a stage added beyond the contract, one JSON object per row (None when there are none)."""
    extra = [c for c in df.columns if c not in set(known)]
    if not extra:
        return [None] * len(df)
    rows = df[extra].astype(object)
    rows = rows.where(rows.notna(), None)
    return [_to_json(r) for r in rows.to_dict("records")]


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("not a password")


def _float_or_none(value: Any) -> float | None:
    return None if _is_missing(value) else float(value)


def _audit_details(details: dict[str, Any]) -> dict[str, Any]:
    """Details with the types their audit columns give back (text ids, an integer key), so the hash that is
    computed now is the one recomputed from the row."""
    out = {k: v for k, v in details.items() if not _is_missing(v)}
    for name in ("unit", "run_id", "alert_id", "endpoint"):
        if name in out:
            out[name] = str(out[name])
    if "alert_key" in out:
        out["alert_key"] = int(out["alert_key"])
    return out



class AlreadyDistributed(RuntimeError):
    """A first distribution was asked for an alert that already has recipients: widening it needs a request
    and a second person's approval instead."""

class Store:
    """Analysis results, users, alert dispatch and audit in one database (see the module doc).

    ``marker`` makes each recipient's individually marked copy of an alert at its first read (the server
    installs centinela.server.marking's); without one, recipients read the alert as analysed.
    """

    def __init__(self, url: str | Path, *, marker: Marker | None = None):
        self.engine = _engine(url)
        self.marker = marker
        # One writer at a time appends to the audit chain in this process; the unique seq guards the rest.
        self._audit_lock = threading.RLock()
        s.migrate(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    # --- runs -------------------------------------------------------------------------------------------

    def load_outputs(self, outputs: model.Outputs, run_id: str, *, kind: str = "analyze", source: str | None = None,
                     replace: bool = False, dispatch_to_units: Sequence[str] = (), dispatch: pd.DataFrame | None = None,
                     copies: pd.DataFrame | None = None, dispatched_by: str = "load") -> None:
        """Store every frame of ``outputs`` as run ``run_id`` and dispatch its alerts (see :meth:`append`).

        A run id already in the store raises ValueError unless ``replace`` (its rows, recipients included,
        are then replaced; the audit is kept).
        """
        with self.engine.begin() as conn:
            existing = conn.execute(sa.select(s.runs.c.id).where(s.runs.c.run_id == run_id)).scalar()
            if existing is not None:
                if not replace:
                    raise ValueError(f"run {run_id!r} is already in the store (use replace=True to reload it)")
                self._delete_run(conn, existing)
            conn.execute(s.runs.insert().values(run_id=run_id, kind=kind, source=source, created_at=time.time(),
                                                stages=_to_json(outputs.stages)))
        self.append(run_id, tracks=outputs.tracks, events=outputs.events, airstrips=outputs.airstrips,
                    assessments=outputs.assessments, alerts=outputs.alerts, dispatch_to_units=dispatch_to_units,
                    dispatch=dispatch, copies=copies, dispatched_by=dispatched_by)

    def create_run(self, run_id: str, *, kind: str = "live", source: str | None = None) -> None:
        """Open an empty run for results that arrive in batches (a live feed); no-op when it exists."""
        with self.engine.begin() as conn:
            if conn.execute(sa.select(s.runs.c.id).where(s.runs.c.run_id == run_id)).scalar() is None:
                conn.execute(s.runs.insert().values(run_id=run_id, kind=kind, source=source, created_at=time.time()))

    def append(self, run_id: str, *, tracks: pd.DataFrame | None = None, events: pd.DataFrame | None = None,
               airstrips: pd.DataFrame | None = None, assessments: pd.DataFrame | None = None,
               alerts: pd.DataFrame | None = None, dispatch_to_units: Sequence[str] = (),
               dispatch: pd.DataFrame | None = None, copies: pd.DataFrame | None = None,
               dispatched_by: str = "load") -> list[int]:
        """Add rows to an existing run in one transaction; return the keys of the alerts added.

        Airstrips and assessments of the run are upserted by id (a live catalogue or score changes). The new
        alerts go to every unit of ``dispatch_to_units`` and to the recipients of ``dispatch``
        (centinela.alerts.dispatch.DISPATCH_COLUMNS: alert_id, unit_id, reason, t_dispatched, widened_by,
        approved_by); ``copies`` (centinela.alerts.marking.COPY_COLUMNS) are the recipients' marked copies,
        kept as they are and served from the first read on. Each dispatch is an audit entry by
        ``dispatched_by``. InputError when ``dispatch`` or ``copies`` name an alert not among ``alerts``.
        """
        def work(conn: sa.Connection) -> list[int]:
            run_key = self._run_key(conn, run_id)
            if tracks is not None and not tracks.empty:
                self._insert_tracks(conn, run_key, tracks)
            if events is not None and not events.empty:
                self._insert_events(conn, run_key, events)
            if airstrips is not None and not airstrips.empty:
                self._upsert_airstrips(conn, run_key, airstrips)
            if assessments is not None and not assessments.empty:
                self._upsert_assessments(conn, run_key, assessments)
            if alerts is None or alerts.empty:
                return []
            keys = self._insert_alerts(conn, run_key, alerts)
            ids = [str(a) for a in alerts["alert_id"]]
            self._dispatch_new(conn, run_id, dict(zip(ids, keys)), dispatch_to_units, dispatch, copies,
                               dispatched_by)
            return keys

        dispatching = bool(dispatch_to_units) or (dispatch is not None and len(dispatch) > 0)
        if alerts is not None and not alerts.empty and dispatching:
            return self._audited(work)
        with self.engine.begin() as conn:
            return work(conn)

    def runs(self) -> pd.DataFrame:
        """One row per run: run_id, kind, source, created_at, stages (dict), tracks (number of updates)."""
        n_tracks = (sa.select(s.tracks.c.run_key, sa.func.count().label("tracks"))
                    .group_by(s.tracks.c.run_key).subquery())
        query = (sa.select(s.runs.c.run_id, s.runs.c.kind, s.runs.c.source, s.runs.c.created_at, s.runs.c.stages,
                           sa.func.coalesce(n_tracks.c.tracks, 0).label("tracks"))
                 .select_from(s.runs.outerjoin(n_tracks, n_tracks.c.run_key == s.runs.c.id))
                 .order_by(s.runs.c.id))
        with self.engine.connect() as conn:
            df = pd.DataFrame(conn.execute(query).mappings().all(),
                              columns=["run_id", "kind", "source", "created_at", "stages", "tracks"])
        df["stages"] = df["stages"].map(_from_json)
        return df

    def delete_run(self, run_id: str) -> None:
        with self.engine.begin() as conn:
            self._delete_run(conn, self._run_key(conn, run_id))

    def time_span(self) -> tuple[float, float] | None:
        """(first, last) track time over all runs, or None when there are no tracks."""
        with self.engine.connect() as conn:
            lo, hi = conn.execute(sa.select(sa.func.min(s.tracks.c.t), sa.func.max(s.tracks.c.t))).one()
        return None if lo is None else (float(lo), float(hi))

    # --- air picture ------------------------------------------------------------------------------------

    def tracks(self, t0_s: float, t1_s: float, bbox: BBox | None = None, *, run_id: str | None = None,
               track_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Track updates with t0_s <= t <= t1_s (inside ``bbox`` when given), in time order, with ``score``.

        Columns: run_id, the TRACK_COLUMNS and TRACK_OPTIONAL_COLUMNS, and ``score`` (the track's assessment,
        NaN when it has none).
        """
        tr, asm = s.tracks, s.assessments
        query = (sa.select(tr.c.run_key, *[tr.c[c] for c in TRACK_FIELDS], asm.c.score)
                 .select_from(tr.outerjoin(asm, sa.and_(asm.c.run_key == tr.c.run_key,
                                                        asm.c.track_id == tr.c.track_id)))
                 .where(tr.c.t.between(t0_s, t1_s)))
        if bbox is not None:
            lon_min, lat_min, lon_max, lat_max = bbox
            query = query.where(tr.c.lat.between(lat_min, lat_max), tr.c.lon.between(lon_min, lon_max))
        if track_ids is not None:
            query = query.where(tr.c.track_id.in_(list(track_ids)))
        return self._track_frame(self._select(query, run_id, tr.c.run_key).order_by(tr.c.t, tr.c.track_id))

    def track_history(self, track_id: str, *, run_id: str | None = None) -> pd.DataFrame:
        """Every update of ``track_id`` and of the tracks linked to it by ``flight_id``, in time order.

        Without ``run_id``, the latest run that holds the track. Same columns as :meth:`tracks`.
        """
        tr, asm = s.tracks, s.assessments
        with self.engine.connect() as conn:
            run_key = self._latest_run_with(conn, s.tracks, track_id, run_id)
            if run_key is None:
                return self._track_frame(None)
            flight_ids = conn.execute(sa.select(tr.c.flight_id).distinct().where(
                tr.c.run_key == run_key, tr.c.track_id == track_id, tr.c.flight_id.is_not(None))).scalars().all()
        same_flight = tr.c.track_id == track_id
        if flight_ids:
            same_flight = sa.or_(same_flight, tr.c.flight_id.in_(flight_ids))
        query = (sa.select(tr.c.run_key, *[tr.c[c] for c in TRACK_FIELDS], asm.c.score)
                 .select_from(tr.outerjoin(asm, sa.and_(asm.c.run_key == tr.c.run_key,
                                                        asm.c.track_id == tr.c.track_id)))
                 .where(tr.c.run_key == run_key, same_flight).order_by(tr.c.t))
        return self._track_frame(query)

    def events(self, t0_s: float | None = None, t1_s: float | None = None, bbox: BBox | None = None, *,
               kinds: Sequence[str] | None = None, run_id: str | None = None, track_ids: Sequence[str] | None = None,
               airstrip_id: str | None = None) -> pd.DataFrame:
        """Events (EVENT_COLUMNS + run_id, extra fields merged back as columns), in time order."""
        ev = s.events
        query = sa.select(ev)
        if t0_s is not None:
            query = query.where(ev.c.t >= t0_s)
        if t1_s is not None:
            query = query.where(ev.c.t <= t1_s)
        if bbox is not None:
            lon_min, lat_min, lon_max, lat_max = bbox
            query = query.where(ev.c.lat.between(lat_min, lat_max), ev.c.lon.between(lon_min, lon_max))
        if kinds is not None:
            query = query.where(ev.c.kind.in_(list(kinds)))
        if airstrip_id is not None:
            query = query.where(ev.c.airstrip_id == airstrip_id)
        if track_ids is not None:
            linked = sa.select(s.event_tracks.c.event_key).where(s.event_tracks.c.track_id.in_(list(track_ids)))
            query = query.where(ev.c.id.in_(linked))
        query = self._select(query, run_id, ev.c.run_key).order_by(ev.c.t, ev.c.id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            run_names = self._run_names(conn)
        df = pd.DataFrame(rows, columns=[c.name for c in ev.columns])
        df["track_ids"] = df["track_ids"].map(_from_json)
        out = self._with_extras(df, model.EVENT_COLUMNS)
        out.insert(0, "run_id", df["run_key"].map(run_names).astype("string"))
        return out

    def airstrips(self, *, run_id: str | None = None, seen_before_s: float | None = None) -> pd.DataFrame:
        """The airstrip catalogue (AIRSTRIP_COLUMNS + run_id).

        Without ``run_id``, each strip as the latest run that has it knows it (the catalogue accumulates from
        run to run). ``seen_before_s`` keeps strips first seen by then (a replay must not show the future).
        """
        ap = s.airstrips
        query = self._select(sa.select(ap), run_id, ap.c.run_key)
        if seen_before_s is not None:
            query = query.where(sa.or_(ap.c.first_seen.is_(None), ap.c.first_seen <= seen_before_s))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(ap.c.run_key)).mappings().all()
            run_names = self._run_names(conn)
        df = pd.DataFrame(rows, columns=[c.name for c in ap.columns])
        df = df.drop_duplicates("id", keep="last").sort_values("id", kind="stable").reset_index(drop=True)
        out = self._with_extras(df, model.AIRSTRIP_COLUMNS)
        out.insert(0, "run_id", df["run_key"].map(run_names).astype("string"))
        return out

    def assessments(self, *, run_id: str | None = None, track_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Scores (ASSESSMENT_COLUMNS + run_id + any extra columns the assessment wrote)."""
        asm = s.assessments
        query = self._select(sa.select(asm), run_id, asm.c.run_key)
        if track_ids is not None:
            query = query.where(asm.c.track_id.in_(list(track_ids)))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(asm.c.run_key, asm.c.track_id)).mappings().all()
            run_names = self._run_names(conn)
        df = pd.DataFrame(rows, columns=[c.name for c in asm.columns])
        out = self._with_extras(df, model.ASSESSMENT_COLUMNS)
        out.insert(0, "run_id", df["run_key"].map(run_names).astype("string"))
        return out

    # --- users and sessions -----------------------------------------------------------------------------

    def add_user(self, username: str, password: str, role: str, unit: str, *, scrypt_n: int = SCRYPT_N) -> User:
        """Create a user; ValueError for an unknown role, an empty name or unit, or a name already taken."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if not username.strip() or not unit.strip():
            raise ValueError("username and unit must not be empty")
        with self.engine.begin() as conn:
            if conn.execute(sa.select(s.users.c.id).where(s.users.c.username == username)).scalar() is not None:
                raise ValueError(f"user {username!r} already exists")
            key = conn.execute(s.users.insert().values(
                username=username, password_hash=hash_password(password, scrypt_n=scrypt_n), role=role, unit=unit,
                active=True, created_at=time.time())).inserted_primary_key[0]
        return User(int(key), username, role, unit)

    def users(self) -> pd.DataFrame:
        """username, role, unit, active, created_at (never the password hashes)."""
        u = s.users
        query = sa.select(u.c.username, u.c.role, u.c.unit, u.c.active, u.c.created_at).order_by(u.c.username)
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(query).mappings().all(),
                                columns=["username", "role", "unit", "active", "created_at"])

    def set_active(self, username: str, active: bool) -> None:
        """Disable (or re-enable) a user; disabling ends the user's sessions."""
        with self.engine.begin() as conn:
            key = self._user_key(conn, username)
            conn.execute(s.users.update().where(s.users.c.id == key).values(active=active))
            if not active:
                conn.execute(s.sessions.delete().where(s.sessions.c.user_id == key))

    def login(self, username: str, password: str, *, ttl_s: float = SESSION_TTL_S) -> tuple[str, User] | None:
        """A new session token and the user, or None for a wrong name or password or a disabled user."""
        u = s.users
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(u).where(u.c.username == username)).mappings().first()
        if row is None:
            # Spend the same time as for a real user, so response times do not reveal which names exist.
            verify_password(password, _dummy_hash())
            return None
        if not row["active"] or not verify_password(password, row["password_hash"]):
            return None
        token, digest = new_token()
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(s.sessions.delete().where(s.sessions.c.expires_at < now))
            conn.execute(s.sessions.insert().values(token_sha256=digest, user_id=row["id"], created_at=now,
                                                    expires_at=now + ttl_s))
        return token, User(int(row["id"]), row["username"], row["role"], row["unit"])

    def user_for_token(self, token: str) -> User | None:
        """The user of a live session token, or None."""
        u, se = s.users, s.sessions
        query = (sa.select(u.c.id, u.c.username, u.c.role, u.c.unit)
                 .select_from(se.join(u, u.c.id == se.c.user_id))
                 .where(se.c.token_sha256 == token_digest(token), se.c.expires_at > time.time(), u.c.active))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else User(int(row.id), row.username, row.role, row.unit)

    def logout(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(s.sessions.delete().where(s.sessions.c.token_sha256 == token_digest(token)))

    # --- alerts: dispatch, need to know, audit ----------------------------------------------------------

    def dispatch(self, run_id: str, alert_id: str, *, units: Sequence[str] = (), usernames: Sequence[str] = (),
                 by: str | None = None, first_only: bool = False) -> None:
        """Make an alert readable by every member of ``units`` and by the users ``usernames`` (audited).
        ``first_only``: only as the alert's first distribution — AlreadyDistributed when it has recipients
        (checked in the same transaction as the insert, so two such requests cannot both pass)."""
        def work(conn: sa.Connection) -> None:
            key = self._alert_key(conn, run_id, alert_id)
            if first_only and conn.execute(sa.select(sa.func.count()).select_from(s.alert_recipients)
                                           .where(s.alert_recipients.c.alert_key == key)).scalar():
                raise AlreadyDistributed(f"alert {alert_id!r} of run {run_id!r} already has recipients")
            now = time.time()
            rows = [{"alert_key": key, "unit": unit, "user_id": None, "dispatched_at": now, "dispatched_by": by}
                    for unit in units]
            rows += [{"alert_key": key, "unit": None, "user_id": self._user_key(conn, name), "dispatched_at": now,
                      "dispatched_by": by} for name in usernames]
            if rows:
                conn.execute(s.alert_recipients.insert(), rows)
                where = {"run_id": run_id, "alert_id": alert_id, "alert_key": key}
                self._append_audit(conn, [("dispatch", by or "system", {**where, "unit": u}) for u in units] + [
                    ("dispatch", by or "system", {**where, "recipient": f"user:{name}"}) for name in usernames])

        self._audited(work)

    def is_cleared(self, user: User, run_id: str, alert_id: str) -> bool:
        """Whether the alert exists and was dispatched to ``user`` or the user's unit (not audited: no content)."""
        r = s.alert_recipients
        query = (sa.select(sa.func.count()).select_from(
            r.join(s.alerts, s.alerts.c.id == r.c.alert_key).join(s.runs, s.runs.c.id == s.alerts.c.run_key))
            .where(s.runs.c.run_id == run_id, s.alerts.c.alert_id == alert_id,
                   sa.or_(r.c.user_id == user.id, r.c.unit == user.unit)))
        with self.engine.connect() as conn:
            return bool(conn.execute(query).scalar())

    def cleared_alerts(self, user: User) -> set[tuple[str, str]]:
        """(run_id, alert_id) of every alert ``user`` is cleared for (not audited: identifiers only)."""
        r = s.alert_recipients
        query = (sa.select(s.runs.c.run_id, s.alerts.c.alert_id).distinct().select_from(
            r.join(s.alerts, s.alerts.c.id == r.c.alert_key).join(s.runs, s.runs.c.id == s.alerts.c.run_key))
            .where(sa.or_(r.c.user_id == user.id, r.c.unit == user.unit)))
        with self.engine.connect() as conn:
            return {(row.run_id, row.alert_id) for row in conn.execute(query)}

    def dispatch_frame(self, *, run_id: str | None = None) -> pd.DataFrame:
        """Who each alert went to, as centinela.alerts.dispatch writes it (alert_id, unit_id, reason,
        t_dispatched, widened_by, approved_by) plus run_id; a user dispatch is unit ``user:NAME``."""
        r, u = s.alert_recipients, s.users
        query = (sa.select(s.runs.c.run_id, s.alerts.c.alert_id, r.c.unit, u.c.username, r.c.dispatched_at,
                           r.c.dispatched_by, r.c.reason, r.c.widened_by, r.c.approved_by)
                 .select_from(r.join(s.alerts, s.alerts.c.id == r.c.alert_key)
                              .join(s.runs, s.runs.c.id == s.alerts.c.run_key).outerjoin(u, u.c.id == r.c.user_id)))
        if run_id is not None:
            query = query.where(s.runs.c.run_id == run_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(r.c.id)).mappings().all()
        return pd.DataFrame({
            "run_id": [row["run_id"] for row in rows], "alert_id": [row["alert_id"] for row in rows],
            "unit_id": [row["unit"] if row["unit"] is not None else f"user:{row['username']}" for row in rows],
            "reason": [row["reason"] or f"dispatched by {row['dispatched_by'] or 'system'}" for row in rows],
            "t_dispatched": [row["dispatched_at"] for row in rows],
            "widened_by": [row["widened_by"] for row in rows], "approved_by": [row["approved_by"] for row in rows]},
            columns=["run_id", "alert_id", "unit_id", "reason", "t_dispatched", "widened_by", "approved_by"])

    def alerts_for_statistics(self, *, run_id: str | None = None) -> pd.DataFrame:
        """Every alert as analysed, NOT filtered by clearance and not audited: for computations whose results
        show no alert (leak statistics). Never return these rows to a user; :meth:`read_alerts` is for that."""
        a = s.alerts
        query = sa.select(a, s.runs.c.run_id).select_from(a.join(s.runs, s.runs.c.id == a.c.run_key))
        if run_id is not None:
            query = query.where(s.runs.c.run_id == run_id)
        with self.engine.connect() as conn:
            return self._alert_frame(conn.execute(query.order_by(a.c.t_issued, a.c.id)).mappings().all())

    def recipients(self, run_id: str, alert_id: str) -> pd.DataFrame:
        """Who an alert was dispatched to: unit, username (one of them null), dispatched_at, dispatched_by."""
        r, u = s.alert_recipients, s.users
        with self.engine.connect() as conn:
            key = self._alert_key(conn, run_id, alert_id)
            query = (sa.select(r.c.unit, u.c.username, r.c.dispatched_at, r.c.dispatched_by)
                     .select_from(r.outerjoin(u, u.c.id == r.c.user_id)).where(r.c.alert_key == key).order_by(r.c.id))
            return pd.DataFrame(conn.execute(query).mappings().all(),
                                columns=["unit", "username", "dispatched_at", "dispatched_by"])

    def read_alerts(self, user: User, endpoint: str, *, t0_s: float | None = None, t1_s: float | None = None,
                    run_id: str | None = None, alert_ids: Sequence[tuple[str, str]] | None = None,
                    track_ids: Sequence[str] | None = None, action: str = "read") -> pd.DataFrame:
        """The alerts ``user`` is cleared for, and an audit entry (``action``: read or export; user, time, alert,
        ``endpoint``, the copy's reference) for each.

        Filters: issued within [t0_s, t1_s], of run ``run_id``, among ``alert_ids`` ((run_id, alert_id)
        pairs), or about one of ``track_ids``. Columns: run_id, ALERT_COLUMNS, any extra fields, in order of
        issue.
        """
        a, r = s.alerts, s.alert_recipients
        cleared = sa.select(r.c.alert_key).where(sa.or_(r.c.user_id == user.id, r.c.unit == user.unit))
        query = sa.select(a, s.runs.c.run_id).select_from(a.join(s.runs, s.runs.c.id == a.c.run_key)).where(
            a.c.id.in_(cleared))
        if t0_s is not None:
            query = query.where(a.c.t_issued >= t0_s)
        if t1_s is not None:
            query = query.where(a.c.t_issued <= t1_s)
        if run_id is not None:
            query = query.where(s.runs.c.run_id == run_id)
        if alert_ids is not None:
            pairs = list(alert_ids)
            if not pairs:
                return self._alert_frame([])
            query = query.where(sa.tuple_(s.runs.c.run_id, a.c.alert_id).in_(pairs))
        if track_ids is not None:
            linked = sa.select(s.alert_tracks.c.alert_key).where(s.alert_tracks.c.track_id.in_(list(track_ids)))
            query = query.where(a.c.id.in_(linked))
        query = query.order_by(a.c.t_issued, a.c.id)

        def work(conn: sa.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(query).mappings().all()
            if not rows:
                return []
            via_unit = set(conn.execute(sa.select(r.c.alert_key).where(
                r.c.alert_key.in_([row["id"] for row in rows]), r.c.unit == user.unit)).scalars())
            records, entries = [], []
            for row in rows:
                record = self._alert_record(row)
                recipient = user.unit if row["id"] in via_unit else f"user:{user.username}"
                if self.marker is not None:
                    record = self._marked_copy(conn, row["id"], recipient, record)
                records.append(record)
                entries.append((action, user.username, {
                    "unit": user.unit, "run_id": row["run_id"], "alert_id": row["alert_id"], "alert_key": row["id"],
                    "endpoint": endpoint, "recipient": recipient, "copy_ref": record.get("copy_ref")}))
            self._append_audit(conn, entries)
            return records

        return self._records_frame(self._audited(work))

    def audit_log(self, *, reader: User | None = None, run_id: str | None = None, alert_id: str | None = None,
                  since_s: float | None = None, actions: Sequence[str] | None = ("read",)) -> pd.DataFrame:
        """Audit entries (t, username, unit, run_id, alert_id, endpoint, action, seq), oldest first: the reads
        of alerts unless ``actions`` names others (None: every action).

        With ``reader``, only the entries about alerts that ``reader`` is cleared for (an analyst sees who else
        read the alerts of the unit, not the rest).
        """
        au, r = s.audit, s.alert_recipients
        query = sa.select(*[au.c[c] for c in AUDIT_COLUMNS])
        if actions is not None:
            query = query.where(au.c.action.in_(list(actions)))
        if reader is not None:
            cleared = (sa.select(s.runs.c.run_id, s.alerts.c.alert_id)
                       .select_from(s.alerts.join(s.runs, s.runs.c.id == s.alerts.c.run_key)
                                    .join(r, r.c.alert_key == s.alerts.c.id))
                       .where(sa.or_(r.c.user_id == reader.id, r.c.unit == reader.unit)))
            query = query.where(sa.tuple_(au.c.run_id, au.c.alert_id).in_(cleared))
        if run_id is not None:
            query = query.where(au.c.run_id == run_id)
        if alert_id is not None:
            query = query.where(au.c.alert_id == alert_id)
        if since_s is not None:
            query = query.where(au.c.t >= since_s)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(au.c.id)).mappings().all()
        return pd.DataFrame(rows, columns=AUDIT_COLUMNS)

    def append_audit(self, action: str, actor: str, **details: Any) -> dict[str, Any]:
        """Add one entry to the audit chain (an export, a trace, a verification ...) and return it."""
        return self._audited(lambda conn: self._append_audit(conn, [(action, actor, details)]))[0]

    def audit_entries(self) -> list[dict[str, Any]]:
        """Every audit entry as written (seq, t, actor, action, details, prev_hash, hash), in storage order."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(s.audit).order_by(s.audit.c.id)).mappings().all()
        return [s.audit_entry(row) for row in rows]

    def audit_head(self) -> dict[str, Any] | None:
        """``{"seq", "hash"}`` of the newest audit entry: what checkpoints and signed exports anchor."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(s.audit.c.seq, s.audit.c.hash).order_by(s.audit.c.seq.desc())
                               .limit(1)).first()
        return None if row is None else {"seq": int(row.seq), "hash": row.hash}

    def verify_audit(self, anchors: Iterable[dict[str, Any]] = ()) -> AuditVerdict:
        """:func:`centinela.alerts.audit.verify_chain` over the audit table."""
        return verify_chain(self.audit_entries(), anchors)

    # --- marked copies and widening ---------------------------------------------------------------------

    def copies(self, *, run_id: str | None = None, alert_id: str | None = None) -> pd.DataFrame:
        """The marked copies handed out so far (run_id, alert_id, unit_id — the recipient —, copy_ref, text,
        marks, created_at): the register a leak is traced against."""
        c, a = s.alert_copies, s.alerts
        query = (sa.select(s.runs.c.run_id, a.c.alert_id, c.c.recipient.label("unit_id"), c.c.copy_ref, c.c.text,
                           c.c.marks, c.c.created_at)
                 .select_from(c.join(a, a.c.id == c.c.alert_key).join(s.runs, s.runs.c.id == a.c.run_key)))
        query = _where_run_and_alert(query, run_id, alert_id)
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(query.order_by(c.c.id)).mappings().all(), columns=COPY_COLUMNS)

    def request_widening(self, run_id: str, alert_id: str, unit: str, *, requested_by: str, reason: str) -> int:
        """Ask for ``unit`` to receive the alert too; returns the request id (audited). Nothing changes until
        someone else approves it (:meth:`approve_widening`). InputError without a reason or unit."""
        if not reason or not reason.strip():
            raise InputError("widening", "widening an alert's distribution needs a reason", field="reason")
        if not unit or not unit.strip():
            raise InputError("widening", "name the unit that should receive the alert", field="unit")

        def work(conn: sa.Connection) -> int:
            key = self._alert_key(conn, run_id, alert_id)
            request_id = conn.execute(s.widening_requests.insert().values(
                alert_key=key, unit=unit.strip(), requested_by=requested_by, reason=reason.strip(),
                requested_at=time.time(), status="pending")).inserted_primary_key[0]
            self._append_audit(conn, [("widen_request", requested_by, {
                "run_id": run_id, "alert_id": alert_id, "alert_key": key, "unit": unit.strip(),
                "request_id": int(request_id), "reason": reason.strip()})])
            return int(request_id)

        return self._audited(work)

    def approve_widening(self, request_id: int, *, approved_by: str, reason: str, authorised: Collection[str],
                         units: pd.DataFrame | None = None) -> dict[str, Any]:
        """Approve a pending request: the unit becomes a recipient (audited as ``widen_approve``).

        The rules are centinela.alerts.dispatch.check_widening's: PermissionError when the approver is the requester
        or not in ``authorised``, or (with the ``units`` register) the unit's clearance is too low;
        InputError on an empty reason or a unit that already receives the alert; KeyError for an unknown
        or already decided request.
        """
        from centinela.alerts.dispatch import check_widening

        if not reason or not reason.strip():
            raise InputError("widening", "approving a widening needs a reason", field="reason")
        w, r = s.widening_requests, s.alert_recipients

        def work(conn: sa.Connection) -> dict[str, Any]:
            row = conn.execute(sa.select(w, s.alerts.c.alert_id, s.runs.c.run_id).select_from(
                w.join(s.alerts, s.alerts.c.id == w.c.alert_key).join(s.runs, s.runs.c.id == s.alerts.c.run_key))
                .where(w.c.id == request_id, w.c.status == "pending")).mappings().first()
            if row is None:
                raise KeyError(f"no pending widening request {request_id}")
            current = conn.execute(sa.select(r.c.unit).where(r.c.alert_key == row["alert_key"],
                                                             r.c.unit.is_not(None))).scalars().all()
            check_widening(current, row["alert_id"], row["unit"], requested_by=row["requested_by"],
                           approved_by=approved_by, reason=row["reason"], authorised=authorised, units=units)
            now = time.time()
            conn.execute(r.insert().values(alert_key=row["alert_key"], unit=row["unit"], dispatched_at=now,
                                           dispatched_by=approved_by, reason=f"widened: {row['reason']}",
                                           widened_by=row["requested_by"], approved_by=approved_by))
            conn.execute(w.update().where(w.c.id == request_id).values(
                status="approved", approved_by=approved_by, approval_reason=reason.strip(), approved_at=now))
            self._append_audit(conn, [("widen_approve", approved_by, {
                "run_id": row["run_id"], "alert_id": row["alert_id"], "alert_key": row["alert_key"],
                "unit": row["unit"], "request_id": int(request_id), "requested_by": row["requested_by"],
                "reason": row["reason"], "approval_reason": reason.strip()})])
            return {"request_id": int(request_id), "run_id": row["run_id"], "alert_id": row["alert_id"],
                    "unit": row["unit"], "requested_by": row["requested_by"], "approved_by": approved_by}

        return self._audited(work)

    def widening_requests(self, *, run_id: str | None = None, alert_id: str | None = None,
                          status: str | None = None) -> pd.DataFrame:
        """Requests to widen distributions, oldest first (WIDENING_COLUMNS)."""
        w = s.widening_requests
        query = (sa.select(w.c.id, s.runs.c.run_id, s.alerts.c.alert_id, w.c.unit, w.c.requested_by, w.c.reason,
                           w.c.requested_at, w.c.status, w.c.approved_by, w.c.approval_reason, w.c.approved_at)
                 .select_from(w.join(s.alerts, s.alerts.c.id == w.c.alert_key)
                              .join(s.runs, s.runs.c.id == s.alerts.c.run_key)))
        query = _where_run_and_alert(query, run_id, alert_id)
        if status is not None:
            query = query.where(w.c.status == status)
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(query.order_by(w.c.id)).mappings().all(), columns=WIDENING_COLUMNS)

    # --- internals --------------------------------------------------------------------------------------

    def _audited(self, work: Callable[[sa.Connection], Any]) -> Any:
        """Run ``work(conn)`` in one transaction that may append to the audit chain, serialised with the other
        audit writers of this process; retried when another process appended first."""
        for attempt in range(AUDIT_RETRIES):
            try:
                with self._audit_lock, self.engine.begin() as conn:
                    return work(conn)
            except sa.exc.IntegrityError as e:
                if attempt == AUDIT_RETRIES - 1 or "audit" not in str(e.orig):
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _append_audit(conn: sa.Connection, records: Sequence[tuple[str, str, dict[str, Any]]]) -> list[dict]:
        """Chain (action, actor, details) entries after the head, in the caller's transaction (see _audited)."""
        if not records:
            return []
        if conn.dialect.name == "postgresql":  # other processes' appends wait for this transaction
            conn.execute(sa.text("LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE"))
        last = conn.execute(sa.select(s.audit.c.seq, s.audit.c.hash).order_by(s.audit.c.seq.desc()).limit(1)).first()
        head = None if last is None else {"seq": int(last.seq), "hash": last.hash}
        entries = []
        for action, actor, details in records:
            head = chain_entry(head, action, actor, _audit_details(details))
            entries.append(head)
        conn.execute(s.audit.insert(), [s.audit_row(e) for e in entries])
        return entries

    def _dispatch_new(self, conn: sa.Connection, run_id: str, keys: dict[str, int], units: Sequence[str],
                      dispatch: pd.DataFrame | None, copies: pd.DataFrame | None, by: str) -> None:
        """Recipients, marked copies and one audit entry per dispatch for the alerts just inserted (``keys``:
        alert_id -> key), in append's transaction."""
        now = time.time()
        rows = [{"alert_key": k, "unit": u, "dispatched_at": now, "dispatched_by": by}
                for k in keys.values() for u in units]
        audit = [("dispatch", by, {"run_id": run_id, "alert_id": a, "alert_key": k, "unit": u})
                 for a, k in keys.items() for u in units]
        refs = {}
        if copies is not None and len(copies):
            copy_rows = []
            for copy in copies.to_dict("records"):
                key = self._key_in(keys, copy["alert_id"], "copies")
                refs[(str(copy["alert_id"]), str(copy["unit_id"]))] = str(copy["copy_ref"])
                # The record the recipient reads is made from these marks at the first read (the store's marker):
                # JSON null until then.
                copy_rows.append({"alert_key": key, "recipient": str(copy["unit_id"]), "copy_ref": str(copy["copy_ref"]),
                                  "alert": "null", "text": copy["text"], "marks": copy["marks"], "created_at": now})
            conn.execute(s.alert_copies.insert(), copy_rows)
        for d in ([] if dispatch is None else dispatch.to_dict("records")):
            alert_id, unit = str(d["alert_id"]), str(d["unit_id"])
            key = self._key_in(keys, alert_id, "dispatch")
            t_sent = _float_or_none(d.get("t_dispatched"))
            extra = {k: None if _is_missing(d.get(k)) else str(d[k]) for k in ("reason", "widened_by", "approved_by")}
            rows.append({"alert_key": key, "unit": unit, "dispatched_at": now if t_sent is None else t_sent,
                         "dispatched_by": by, **extra})
            audit.append(("dispatch", by, {"run_id": run_id, "alert_id": alert_id, "alert_key": key, "unit": unit,
                                           "copy_ref": refs.get((alert_id, unit)),
                                           **{k: v for k, v in extra.items() if v is not None}}))
        if rows:
            conn.execute(s.alert_recipients.insert(), rows)
            self._append_audit(conn, audit)

    @staticmethod
    def _key_in(keys: dict[str, int], alert_id: Any, what: str) -> int:
        if str(alert_id) not in keys:
            raise InputError(what, f"alert {alert_id!r} is not among the alerts being stored", field="alert_id")
        return keys[str(alert_id)]

    def _marked_copy(self, conn: sa.Connection, alert_key: int, recipient: str,
                     record: dict[str, Any]) -> dict[str, Any]:
        """``recipient``'s copy of the alert: the stored one; else the marker's, from the copy's marks when it was
        dispatched with one (a register's copy), or from new marks (stored for tracing)."""
        c = s.alert_copies
        stored = conn.execute(sa.select(c.c.id, c.c.alert).where(
            c.c.alert_key == alert_key, c.c.recipient == recipient)).first()
        if stored is not None and _from_json(stored.alert) is not None:
            return _from_json(stored.alert)
        others = pd.DataFrame(conn.execute(sa.select(
            sa.literal(record["alert_id"]).label("alert_id"), c.c.recipient.label("unit_id"), c.c.copy_ref,
            c.c.text, c.c.marks).where(c.c.alert_key == alert_key)).mappings().all(),
            columns=["alert_id", "unit_id", "copy_ref", "text", "marks"])
        made = self.marker(dict(record), recipient, others)
        alert = {**made["alert"], "run_id": record["run_id"], "alert_id": record["alert_id"],
                 "copy_ref": str(made["copy_ref"])}
        if stored is None:
            conn.execute(c.insert().values(alert_key=alert_key, recipient=recipient, copy_ref=str(made["copy_ref"]),
                                           alert=_to_json(alert), text=made.get("text"), marks=made.get("marks"),
                                           created_at=time.time()))
        else:
            conn.execute(c.update().where(c.c.id == stored.id).values(alert=_to_json(alert)))
        return alert

    def _select(self, query: sa.Select, run_id: str | None, run_column: sa.Column) -> sa.Select:
        if run_id is None:
            return query
        return query.where(run_column == sa.select(s.runs.c.id).where(s.runs.c.run_id == run_id).scalar_subquery())

    @staticmethod
    def _run_key(conn: sa.Connection, run_id: str) -> int:
        key = conn.execute(sa.select(s.runs.c.id).where(s.runs.c.run_id == run_id)).scalar()
        if key is None:
            raise KeyError(f"no run {run_id!r} in the store")
        return int(key)

    @staticmethod
    def _run_names(conn: sa.Connection) -> dict[int, str]:
        return {int(k): name for k, name in conn.execute(sa.select(s.runs.c.id, s.runs.c.run_id))}

    @staticmethod
    def _user_key(conn: sa.Connection, username: str) -> int:
        key = conn.execute(sa.select(s.users.c.id).where(s.users.c.username == username)).scalar()
        if key is None:
            raise KeyError(f"no user {username!r}")
        return int(key)

    def _alert_key(self, conn: sa.Connection, run_id: str, alert_id: str) -> int:
        key = conn.execute(sa.select(s.alerts.c.id).where(
            s.alerts.c.run_key == self._run_key(conn, run_id), s.alerts.c.alert_id == alert_id)).scalar()
        if key is None:
            raise KeyError(f"no alert {alert_id!r} in run {run_id!r}")
        return int(key)

    @staticmethod
    def _latest_run_with(conn: sa.Connection, table: sa.Table, track_id: str, run_id: str | None) -> int | None:
        query = sa.select(sa.func.max(table.c.run_key)).where(table.c.track_id == track_id)
        if run_id is not None:
            query = query.where(table.c.run_key == sa.select(s.runs.c.id).where(
                s.runs.c.run_id == run_id).scalar_subquery())
        return conn.execute(query).scalar()

    @staticmethod
    def _delete_run(conn: sa.Connection, run_key: int) -> None:
        # Explicit, child tables first: SQLite enforces ON DELETE CASCADE only with foreign_keys=ON, and a
        # PostgreSQL cascade through millions of track rows is no faster than this.
        alert_keys = sa.select(s.alerts.c.id).where(s.alerts.c.run_key == run_key)
        event_keys = sa.select(s.events.c.id).where(s.events.c.run_key == run_key)
        conn.execute(s.alert_recipients.delete().where(s.alert_recipients.c.alert_key.in_(alert_keys)))
        conn.execute(s.alert_copies.delete().where(s.alert_copies.c.alert_key.in_(alert_keys)))
        conn.execute(s.widening_requests.delete().where(s.widening_requests.c.alert_key.in_(alert_keys)))
        conn.execute(s.alert_tracks.delete().where(s.alert_tracks.c.alert_key.in_(alert_keys)))
        conn.execute(s.event_tracks.delete().where(s.event_tracks.c.event_key.in_(event_keys)))
        for table in (s.alerts, s.events, s.tracks, s.airstrips, s.assessments):
            conn.execute(table.delete().where(table.c.run_key == run_key))
        conn.execute(s.runs.delete().where(s.runs.c.id == run_key))

    @staticmethod
    def _insert_tracks(conn: sa.Connection, run_key: int, tracks: pd.DataFrame) -> None:
        frame = model.conform(tracks, model.TRACK_COLUMNS, model.TRACK_OPTIONAL_COLUMNS)
        frame = frame.reindex(columns=TRACK_FIELDS)
        frame.insert(0, "run_key", run_key)
        _bulk_insert(conn, s.tracks, frame)

    @staticmethod
    def _insert_events(conn: sa.Connection, run_key: int, events: pd.DataFrame) -> None:
        frame = model.conform(events, model.EVENT_COLUMNS)
        ids = [_id_list(v) for v in frame["track_ids"]]
        rows = frame[[c for c in model.EVENT_COLUMNS if c != "track_ids"]].copy()
        rows.insert(0, "run_key", run_key)
        rows["track_ids"] = [_to_json(v) for v in ids]
        rows["extra"] = _extras(frame, model.EVENT_COLUMNS)
        keys = conn.execute(s.events.insert().returning(s.events.c.id, sort_by_parameter_order=True),
                            _records(rows)).scalars().all()
        links = [{"event_key": k, "track_id": t} for k, tids in zip(keys, ids) for t in tids]
        if links:
            conn.execute(s.event_tracks.insert(), links)

    @staticmethod
    def _upsert_airstrips(conn: sa.Connection, run_key: int, airstrips: pd.DataFrame) -> None:
        frame = model.conform(airstrips, model.AIRSTRIP_COLUMNS)
        rows = frame[list(model.AIRSTRIP_COLUMNS)].copy()
        rows.insert(0, "run_key", run_key)
        rows["extra"] = _extras(frame, model.AIRSTRIP_COLUMNS)
        conn.execute(s.airstrips.delete().where(s.airstrips.c.run_key == run_key,
                                                s.airstrips.c.id.in_(rows["id"].tolist())))
        conn.execute(s.airstrips.insert(), _records(rows))

    @staticmethod
    def _upsert_assessments(conn: sa.Connection, run_key: int, assessments: pd.DataFrame) -> None:
        frame = model.conform(assessments, model.ASSESSMENT_COLUMNS)
        rows = frame[list(model.ASSESSMENT_COLUMNS)].copy()
        rows.insert(0, "run_key", run_key)
        rows["extra"] = _extras(frame, model.ASSESSMENT_COLUMNS)
        conn.execute(s.assessments.delete().where(s.assessments.c.run_key == run_key,
                                                  s.assessments.c.track_id.in_(rows["track_id"].tolist())))
        conn.execute(s.assessments.insert(), _records(rows))

    @staticmethod
    def _insert_alerts(conn: sa.Connection, run_key: int, alerts: pd.DataFrame) -> list[int]:
        frame = model.conform(alerts, model.ALERT_COLUMNS)
        ids = [_id_list(v) for v in frame["track_ids"]]
        sites = [v if isinstance(v, dict) else {} for v in frame["predicted_site"]]
        rows = [{
            "run_key": run_key, "alert_id": str(alert_id), "track_ids": _to_json(tids),
            "score": float(score), "t_issued": float(t_issued),
            "indicators": None if _is_missing(indicators) else _to_json(indicators),
            "site_lat": _float_or_none(site.get("lat")), "site_lon": _float_or_none(site.get("lon")),
            "site_airstrip_id": None if _is_missing(site.get("airstrip_id")) else str(site["airstrip_id"]),
            "eta": _float_or_none(eta), "eta_window_s": _float_or_none(window), "extra": extra,
        } for alert_id, tids, score, t_issued, indicators, site, eta, window, extra in zip(
            frame["alert_id"], ids, frame["score"], frame["t_issued"], frame["indicators"], sites, frame["eta"],
            frame["eta_window_s"], _extras(frame, model.ALERT_COLUMNS))]
        keys = conn.execute(s.alerts.insert().returning(s.alerts.c.id, sort_by_parameter_order=True),
                            rows).scalars().all()
        links = [{"alert_key": k, "track_id": t} for k, tids in zip(keys, ids) for t in tids]
        if links:
            conn.execute(s.alert_tracks.insert(), links)
        return [int(k) for k in keys]

    def _track_frame(self, query: sa.Select | None) -> pd.DataFrame:
        columns = ["run_key", *TRACK_FIELDS, "score"]
        if query is None:
            rows: list = []
            run_names: dict[int, str] = {}
        else:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
                run_names = self._run_names(conn)
        # Column by column from plain tuples: pandas probes each SQLAlchemy Row object for attributes otherwise.
        values = list(zip(*rows)) if rows else [()] * len(columns)
        df = pd.DataFrame({name: pd.Series(col, dtype=object) for name, col in zip(columns, values)})
        out = model.conform(df.drop(columns="run_key"), model.TRACK_COLUMNS, model.TRACK_OPTIONAL_COLUMNS)
        out["score"] = out["score"].astype("float64")
        out.insert(0, "run_id", df["run_key"].map(run_names).astype("string"))
        return out

    @staticmethod
    def _with_extras(df: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
        """The contract columns, then the stage's extra fields unpacked from the ``extra`` JSON."""
        out = model.conform(df[[c for c in columns]], columns)
        if "extra" in df.columns and df["extra"].notna().any():
            extra = pd.DataFrame([_from_json(v) or {} for v in df["extra"]], index=df.index)
            out = pd.concat([out, extra.drop(columns=[c for c in extra.columns if c in out.columns])], axis=1)
        return out

    @staticmethod
    def _alert_record(row: Any) -> dict[str, Any]:
        """An alerts row (joined with its run_id) as the record analyze wrote, plus run_id."""
        return {
            "run_id": row["run_id"], "alert_id": row["alert_id"], "track_ids": _from_json(row["track_ids"]),
            "score": row["score"], "t_issued": row["t_issued"], "indicators": _from_json(row["indicators"]),
            "predicted_site": {"lat": row["site_lat"], "lon": row["site_lon"],
                               "airstrip_id": row["site_airstrip_id"]},
            "eta": row["eta"], "eta_window_s": row["eta_window_s"], **(_from_json(row["extra"]) or {}),
        }

    @staticmethod
    def _alert_frame(rows: Sequence[Any]) -> pd.DataFrame:
        return Store._records_frame([Store._alert_record(row) for row in rows])

    @staticmethod
    def _records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
        df = pd.DataFrame.from_records(records, columns=None if records else ["run_id", *model.ALERT_COLUMNS])
        out = model.conform(df.drop(columns="run_id"), model.ALERT_COLUMNS)
        out.insert(0, "run_id", df["run_id"].astype("string"))
        return out


def _where_run_and_alert(query: sa.Select, run_id: str | None, alert_id: str | None) -> sa.Select:
    """``query`` (which joins the runs and alerts tables) narrowed to one run and one alert when they are given."""
    if run_id is not None:
        query = query.where(s.runs.c.run_id == run_id)
    if alert_id is not None:
        query = query.where(s.alerts.c.alert_id == alert_id)
    return query
